//! The session cookie on the wire, lesson by lesson: the exact `Set-Cookie` strings Django
//! writes, sent exactly when Django sends them, plus `Vary: Cookie`.

mod common;

use common::{Browser, http_date, spawn_app, spawn_app_with};

fn is_django_key(key: &str) -> bool {
    key.len() == 32
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

#[actix_web::test]
async fn a_new_session_gets_djangos_default_cookie_scoped_to_the_lesson() {
    // Arrange
    let app = spawn_app().await;
    // Act
    let page = app.get("/basic/set/", None).await;
    // Assert
    assert_eq!(page.status, 200);
    let key = page.cookie_value("sessionid").expect("a session cookie");
    assert!(is_django_key(&key), "{key}");
    assert_eq!(
        page.set_cookie(),
        format!(
            "sessionid={key}; expires={}; HttpOnly; Max-Age=1209600; Path=/basic/; SameSite=Lax",
            http_date(app.now(), 1_209_600)
        )
    );
    assert_eq!(page.vary().as_deref(), Some("Cookie"));
}

#[actix_web::test]
async fn set_expiry_600_sets_max_age_600() {
    let app = spawn_app().await;
    let page = app.get("/timeout/set/", None).await;
    let key = page.cookie_value("sessionid").unwrap();
    assert_eq!(
        page.set_cookie(),
        format!(
            "sessionid={key}; expires={}; HttpOnly; Max-Age=600; Path=/timeout/; SameSite=Lax",
            http_date(app.now(), 600)
        )
    );
}

#[actix_web::test]
async fn settings_lesson_cookie_is_renamed_secure_and_set_expiry_overrides_browser_close() {
    let app = spawn_app().await;
    let page = app.get("/settings/set/", None).await;
    let key = page
        .cookie_value("sessionname")
        .expect("the cookie is renamed");
    assert_eq!(
        page.set_cookie(),
        format!(
            "sessionname={key}; expires={}; HttpOnly; Max-Age=600; Path=/settings/; SameSite=Lax; Secure",
            http_date(app.now(), 600)
        )
    );
    let json = app
        .get_json("/settings/get/", Some(&format!("sessionname={key}")))
        .await
        .json();
    assert_eq!(json["session"]["cookie_age"], 400);
    assert_eq!(json["session"]["expiry_age"], 600);
    assert_eq!(json["session"]["expire_at_browser_close"], false);
}

#[actix_web::test]
async fn expire_at_browser_close_without_set_expiry_gives_a_browser_session_cookie() {
    let app =
        spawn_app_with(&[("APP__LESSONS__TESTCOOKIE__EXPIRE_AT_BROWSER_CLOSE", "true")]).await;
    let page = app.get("/testcookie/set/", None).await;
    let key = page.cookie_value("sessionid").unwrap();
    assert_eq!(
        page.set_cookie(),
        format!("sessionid={key}; HttpOnly; Path=/testcookie/; SameSite=Lax")
    );
    let json = app
        .get_json("/testcookie/check/", Some(&format!("sessionid={key}")))
        .await
        .json();
    assert_eq!(json["session"]["expire_at_browser_close"], true);
    assert_eq!(json["session"]["expiry_age"], 1_209_600);
}

#[actix_web::test]
async fn domain_samesite_and_httponly_settings_shape_the_cookie_and_its_deletion() {
    let app = spawn_app_with(&[
        ("APP__LESSONS__DICT__COOKIE_DOMAIN", ".example.com"),
        ("APP__LESSONS__DICT__COOKIE_SAMESITE", "Strict"),
        ("APP__LESSONS__DICT__COOKIE_HTTPONLY", "false"),
    ])
    .await;
    let page = app.get("/dict/set/", None).await;
    let key = page.cookie_value("sessionid").unwrap();
    assert_eq!(
        page.set_cookie(),
        format!(
            "sessionid={key}; Domain=.example.com; expires={}; Max-Age=1209600; Path=/dict/; SameSite=Strict",
            http_date(app.now(), 1_209_600)
        )
    );
    let flushed = app
        .get("/dict/flush/", Some(&format!("sessionid={key}")))
        .await;
    assert_eq!(
        flushed.set_cookie(),
        "sessionid=\"\"; Domain=.example.com; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/dict/; SameSite=Strict"
    );
}

#[actix_web::test]
async fn a_samesite_policy_is_written_as_the_configuration_spells_it() {
    // Django writes `SESSION_COOKIE_SAMESITE` as it is: "strict" gives `SameSite=strict`, and
    // "nONe" gives `SameSite=nONe` with `Secure` on the deletion cookie.
    let app = spawn_app_with(&[
        ("APP__LESSONS__BASIC__COOKIE_SAMESITE", "strict"),
        ("APP__LESSONS__DICT__COOKIE_SAMESITE", "nONe"),
    ])
    .await;
    let cookie = app.get("/basic/set/", None).await.set_cookie();
    assert!(
        cookie.ends_with("; Path=/basic/; SameSite=strict"),
        "{cookie}"
    );

    let page = app.get("/dict/set/", None).await;
    let key = page.cookie_value("sessionid").unwrap();
    assert!(
        page.set_cookie().ends_with("; Path=/dict/; SameSite=nONe"),
        "{}",
        page.set_cookie()
    );
    let flushed = app
        .get("/dict/flush/", Some(&format!("sessionid={key}")))
        .await;
    assert_eq!(
        flushed.set_cookie(),
        "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/dict/; SameSite=nONe; Secure"
    );
}

#[actix_web::test]
async fn samesite_false_omits_the_attribute() {
    let app = spawn_app_with(&[("APP__SESSION__COOKIE_SAMESITE", "false")]).await;
    let cookie = app.get("/basic/set/", None).await.set_cookie();
    assert!(!cookie.contains("SameSite"), "{cookie}");
}

#[actix_web::test]
async fn a_read_only_view_sends_no_cookie_but_varies_on_cookie() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.get("/basic/set/").await;
    let page = browser.get("/basic/get/").await;
    assert_eq!(page.set_cookies(), Vec::<String>::new());
    assert_eq!(page.vary().as_deref(), Some("Cookie"));
}

#[actix_web::test]
async fn a_page_that_never_touches_the_session_sends_nothing() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.get("/basic/set/").await;
    let page = browser.get("/basic/").await;
    assert_eq!(page.status, 200);
    assert!(page.set_cookies().is_empty());
    assert_eq!(page.vary(), None);
}

#[actix_web::test]
async fn a_key_shorter_than_8_is_deleted_even_by_an_untouched_page() {
    let app = spawn_app().await;
    let page = app.get("/basic/", Some("sessionid=abc")).await;
    assert_eq!(
        page.set_cookie(),
        "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/basic/; SameSite=Lax"
    );
    assert_eq!(page.vary().as_deref(), Some("Cookie"));
}

#[actix_web::test]
async fn an_unknown_key_is_never_adopted() {
    let app = spawn_app().await;
    let unknown = "sessionid=aaaaaaaabbbbbbbbccccccccdddddddd";
    // Untouched: no headers at all.
    let page = app.get("/basic/", Some(unknown)).await;
    assert!(page.set_cookies().is_empty());
    // Read: the cookie is deleted.
    let page = app.get("/basic/get/", Some(unknown)).await;
    assert!(page.set_cookie().starts_with("sessionid=\"\";"));
    // Write: a fresh key, not the one the client chose.
    let page = app.get("/basic/set/", Some(unknown)).await;
    let key = page.cookie_value("sessionid").unwrap();
    assert!(is_django_key(&key));
    assert_ne!(key, "aaaaaaaabbbbbbbbccccccccdddddddd");
    let rows = app.rows().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, key);
}

#[actix_web::test]
async fn flush_deletes_the_cookie_with_djangos_exact_string_and_kills_the_key() {
    let app = spawn_app().await;
    let key = app
        .get("/dict/set/", None)
        .await
        .cookie_value("sessionid")
        .unwrap();
    let cookie = format!("sessionid={key}");
    let page = app.get("/dict/flush/", Some(&cookie)).await;
    assert_eq!(
        page.set_cookie(),
        "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/dict/; SameSite=Lax"
    );
    assert_eq!(page.vary().as_deref(), Some("Cookie"));
    assert!(app.rows().await.is_empty(), "the row is gone");
    // Replaying the flushed key: the data is gone and a write gets a new key.
    let replay = app.get_json("/dict/get/", Some(&cookie)).await;
    assert_eq!(replay.json()["context"]["name"], serde_json::Value::Null);
    let new_key = replay.cookie_value("sessionid").unwrap();
    assert_ne!(new_key, key);
}

#[actix_web::test]
async fn flush_without_a_cookie_sets_no_cookie() {
    let app = spawn_app().await;
    let page = app.get("/dict/flush/", None).await;
    assert!(page.set_cookies().is_empty());
    assert_eq!(page.vary().as_deref(), Some("Cookie"));
}

#[actix_web::test]
async fn save_every_request_refreshes_the_cookie_on_every_response() {
    let app = spawn_app_with(&[("APP__LESSONS__BASIC__SAVE_EVERY_REQUEST", "true")]).await;
    let key = app
        .get("/basic/set/", None)
        .await
        .cookie_value("sessionid")
        .unwrap();
    let cookie = format!("sessionid={key}");
    app.advance(100);
    for path in ["/basic/get/", "/basic/"] {
        let page = app.get(path, Some(&cookie)).await;
        assert_eq!(
            page.set_cookie(),
            format!(
                "sessionid={key}; expires={}; HttpOnly; Max-Age=1209600; Path=/basic/; SameSite=Lax",
                http_date(app.now(), 1_209_600)
            ),
            "{path} refreshes the same key"
        );
    }
    // With no session at all there is nothing to save.
    let page = app.get("/basic/get/", None).await;
    assert!(page.set_cookies().is_empty());
}

#[actix_web::test]
async fn the_last_duplicate_cookie_wins() {
    let app = spawn_app().await;
    let key = app
        .get("/basic/set/", None)
        .await
        .cookie_value("sessionid")
        .unwrap();
    let header = format!("sessionid=zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz; sessionid={key}");
    let json = app.get_json("/basic/get/", Some(&header)).await.json();
    assert_eq!(json["context"]["name"], "Sonam");
    let header = format!("sessionid={key}; sessionid=zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz");
    let json = app.get_json("/basic/get/", Some(&header)).await.json();
    assert_eq!(json["context"]["name"], "Guest");
}

#[actix_web::test]
async fn every_lesson_scopes_its_cookie_to_its_own_path() {
    let app = spawn_app().await;
    for (slug, name) in [
        ("basic", "sessionid"),
        ("dict", "sessionid"),
        ("timeout", "sessionid"),
        ("testcookie", "sessionid"),
        ("settings", "sessionname"),
        ("pagesession", "sessionid"),
    ] {
        let page = app.get(&format!("/{slug}/set/"), None).await;
        let cookie = page.set_cookie();
        assert!(cookie.starts_with(&format!("{name}=")), "{cookie}");
        assert!(cookie.contains(&format!("; Path=/{slug}/;")), "{cookie}");
    }
}

#[actix_web::test]
async fn the_session_key_is_never_rendered() {
    let app = spawn_app().await;
    let key = app
        .get("/basic/set/", None)
        .await
        .cookie_value("sessionid")
        .unwrap();
    let cookie = format!("sessionid={key}");
    for path in ["/basic/get/", "/basic/", "/basic/set/"] {
        let html = app.get(path, Some(&cookie)).await;
        assert!(!html.body.contains(&key), "{path} shows the key");
        let json = app.get_json(path, Some(&cookie)).await;
        assert!(!json.body.contains(&key), "{path} JSON shows the key");
    }
}
