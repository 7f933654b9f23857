//! `/instructor/`: off by default, opened by the token (compared in constant time), slowed
//! down after repeated failures; shows the profile, each lesson's settings and live sessions,
//! and clears expired sessions.

mod common;

use common::{TestApp, spawn_app_with};

const TOKEN: &str = "instructor-token-for-tests-0123";

fn enabled() -> [(&'static str, &'static str); 2] {
    [
        ("APP__INSTRUCTOR__ENABLED", "true"),
        ("APP__INSTRUCTOR__TOKEN", TOKEN),
    ]
}

async fn post_form(
    app: &common::TestApp,
    path: &str,
    body: &str,
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(format!("{}{path}", app.address))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body.to_owned());
    if let Some(cookie) = cookie {
        req = req.header("Cookie", cookie);
    }
    req.send().await.unwrap()
}

/// The dashboard as JSON, signed in with the bearer token.
async fn dashboard_json(app: &TestApp) -> serde_json::Value {
    app.client
        .get(format!("{}/instructor/", app.address))
        .header("Accept", "application/json")
        .header("Authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[actix_web::test]
async fn the_instructor_page_is_off_unless_enabled() {
    let app = spawn_app_with(&[]).await;
    assert_eq!(app.get("/instructor/", None).await.status, 404);
}

#[actix_web::test]
async fn the_forms_answer_post_only_and_the_dashboard_get_and_head() {
    let app = spawn_app_with(&enabled()).await;
    for path in [
        "/instructor/login/",
        "/instructor/logout/",
        "/instructor/clear-expired/",
    ] {
        let page = app.get(path, None).await;
        assert_eq!(page.status, 405, "GET {path}");
        assert_eq!(page.headers["allow"], "POST", "GET {path}");
    }
    let page = app
        .request(reqwest::Method::DELETE, "/instructor/", None, "text/html")
        .await;
    assert_eq!(page.status, 405);
    assert_eq!(page.headers["allow"], "GET, HEAD");
    let page = app
        .request(reqwest::Method::HEAD, "/instructor/", None, "text/html")
        .await;
    assert_eq!(page.status, 200);
}

#[actix_web::test]
async fn the_address_without_its_slash_leads_to_the_instructor_page() {
    // Arrange: the address as an instructor types it, as the lessons' and the playground's
    // are answered (Django's APPEND_SLASH).
    let app = spawn_app_with(&enabled()).await;

    // Act
    let page = app.get("/instructor", None).await;
    let form = app.get("/instructor/login", None).await;

    // Assert
    assert_eq!(page.status, 301);
    assert_eq!(page.headers["location"], "/instructor/");
    assert_eq!(form.status, 301);
    assert_eq!(form.headers["location"], "/instructor/login/");
}

#[actix_web::test]
async fn signing_in_shows_the_dashboard_without_secrets() {
    let app = spawn_app_with(&enabled()).await;
    let login = app.get("/instructor/", None).await;
    assert_eq!(login.status, 200);
    assert!(login.body.contains("Instructor token"));

    let res = post_form(&app, "/instructor/login/", &format!("token={TOKEN}"), None).await;
    assert_eq!(res.status(), 303);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Path=/instructor/")
    );
    let cookie = cookie.split(';').next().unwrap().to_owned();

    app.get("/basic/set/", None).await;
    app.get("/dict/set/", None).await;
    let page = app.get("/instructor/", Some(&cookie)).await;
    assert!(page.body.contains("Active profile: <code>default</code>"));
    assert!(
        page.body.contains("cookie_name=sessionname"),
        "the settings lesson's settings are shown"
    );
    assert!(!page.body.contains(app.settings.secret_key.expose()));
    assert!(!page.body.contains(TOKEN));

    let json = dashboard_json(&app).await;
    assert_eq!(json["profile"], "default");
    let basic = &json["lessons"][0];
    assert_eq!(basic["slug"], "basic");
    assert_eq!(
        basic["live_sessions"], 2,
        "two sessions in the shared db store"
    );
}

#[actix_web::test]
async fn the_sign_in_cookie_is_secure_where_session_cookies_are() {
    for (cookie_secure, expected) in [("false", false), ("true", true)] {
        let mut overrides = enabled().to_vec();
        overrides.push(("APP__SESSION__COOKIE_SECURE", cookie_secure));
        let app = spawn_app_with(&overrides).await;

        let sign_in = post_form(&app, "/instructor/login/", &format!("token={TOKEN}"), None).await;
        let sign_out = post_form(&app, "/instructor/logout/", "", None).await;

        for (what, res) in [("sign-in", sign_in), ("sign-out", sign_out)] {
            assert_eq!(res.status(), 303, "{what}");
            let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
            assert!(
                cookie.starts_with("sessionlab_instructor="),
                "{what}: {cookie}"
            );
            assert_eq!(
                cookie.split("; ").any(|attribute| attribute == "Secure"),
                expected,
                "{what} with cookie_secure = {cookie_secure}: {cookie}"
            );
        }
    }
}

#[actix_web::test]
async fn the_dashboard_shows_the_playground_and_its_own_store() {
    let mut overrides = enabled().to_vec();
    overrides.push(("APP__LESSONS__PLAYGROUND__ENGINE", "cache"));
    let app = spawn_app_with(&overrides).await;

    let json = dashboard_json(&app).await;

    let rows = json["lessons"].as_array().unwrap();
    let playground = rows
        .iter()
        .find(|row| row["slug"] == "playground")
        .unwrap_or_else(|| panic!("no playground row in {json}"));
    assert_eq!(playground["path"], "/playground/");
    assert_eq!(playground["settings"]["engine"], "cache");
    assert_eq!(playground["store"], "cache (memory)");
    assert_eq!(playground["live_sessions"], 0);
    assert_eq!(rows.len(), 7, "six lessons and the playground");
}

#[actix_web::test]
async fn a_sign_in_from_another_origin_says_so_and_uses_up_no_attempts() {
    let app = spawn_app_with(&enabled()).await;
    let from = |origin: &'static str| {
        app.client
            .post(format!("{}/instructor/login/", app.address))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Origin", origin)
            .body(format!("token={TOKEN}"))
            .send()
    };

    // As the instructor's own form arrives through a proxy that serves https without
    // saying so, more times than wrong tokens are allowed.
    for _ in 0..7 {
        let res = from("https://class.example").await.unwrap();
        assert_eq!(res.status(), 403);
        let body = res.text().await.unwrap();
        assert!(
            body.contains("came from https:&#x2F;&#x2F;class.example")
                && body.contains("X-Forwarded-Proto"),
            "{body}"
        );
        assert!(!body.contains("not the instructor token"), "{body}");
    }

    let res = post_form(&app, "/instructor/login/", &format!("token={TOKEN}"), None).await;
    assert_eq!(res.status(), 303, "the right token still signs in");
}

#[actix_web::test]
async fn a_sign_in_whose_origin_is_not_ascii_or_came_twice_is_refused_as_from_another_origin() {
    // Arrange: the right token, under an Origin that is not visible ASCII, and under two
    // Origin headers, this site's own first.
    let app = spawn_app_with(&enabled()).await;
    let sign_in = |origins: Vec<reqwest::header::HeaderValue>| {
        let mut request = app
            .client
            .post(format!("{}/instructor/login/", app.address))
            .header("Content-Type", "application/x-www-form-urlencoded");
        for origin in origins {
            request = request.header("Origin", origin);
        }
        request.body(format!("token={TOKEN}")).send()
    };
    let own = reqwest::header::HeaderValue::from_str(&app.address).unwrap();
    let not_ascii = reqwest::header::HeaderValue::from_bytes(b"http://caf\xe9.example").unwrap();
    let evil = reqwest::header::HeaderValue::from_static("http://evil.example");

    // Act
    let refused_not_ascii = sign_in(vec![not_ascii]).await.unwrap();
    let refused_twice = sign_in(vec![own.clone(), evil]).await.unwrap();
    let accepted = sign_in(vec![own]).await.unwrap();

    // Assert: each is a 403 naming the Origin as it came (the two copies joined, as Django
    // reads a header sent twice), where either was taken for a sign-in from this site.
    assert_eq!(refused_not_ascii.status(), 403);
    let body = refused_not_ascii.text().await.unwrap();
    assert!(
        body.contains("came from http:&#x2F;&#x2F;caf\u{e9}.example"),
        "{body}"
    );
    assert_eq!(refused_twice.status(), 403);
    let body = refused_twice.text().await.unwrap();
    assert!(body.contains(",http:&#x2F;&#x2F;evil.example"), "{body}");
    assert_eq!(
        accepted.status(),
        303,
        "this site's own Origin alone still signs in"
    );
}

#[actix_web::test]
async fn a_client_not_signed_in_gets_the_form_as_a_page_and_a_bearer_challenge_as_json() {
    // Arrange
    let app = spawn_app_with(&enabled()).await;

    // Act
    let page = app.get("/instructor/", None).await;
    let json = app.get_json("/instructor/", None).await;
    let wrong_form = post_form(&app, "/instructor/login/", "token=guess-guess-guess", None).await;
    let clear = post_form(&app, "/instructor/clear-expired/", "", None).await;

    // Assert: a browser gets the sign-in form, as Django's admin shows it; every 401 names
    // the scheme it takes (RFC 9110: a 401 must carry WWW-Authenticate).
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Instructor token"));
    assert!(page.headers.get("www-authenticate").is_none());
    assert_eq!(json.status, 401);
    let challenge = "Bearer realm=\"sessionlab instructor\"";
    assert_eq!(json.headers["www-authenticate"], challenge);
    for (what, res) in [("wrong token", wrong_form), ("clear-expired", clear)] {
        assert_eq!(res.status(), 401, "{what}");
        assert_eq!(res.headers()["www-authenticate"], challenge, "{what}");
    }
}

#[actix_web::test]
async fn a_wrong_token_asked_for_as_json_is_answered_in_json() {
    // Arrange
    let app = spawn_app_with(&enabled()).await;

    // Act
    let res = app
        .client
        .post(format!("{}/instructor/login/", app.address))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json")
        .body("token=guess-guess-guess-guess")
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["status"], 401);
    assert_eq!(
        body["error"]["message"],
        "That is not the instructor token."
    );
}

#[actix_web::test]
async fn wrong_tokens_are_refused_and_then_slowed_down() {
    let app = spawn_app_with(&enabled()).await;
    for _ in 0..5 {
        let res = post_form(
            &app,
            "/instructor/login/",
            "token=guess-guess-guess-guess",
            None,
        )
        .await;
        assert_eq!(res.status(), 401);
    }
    let blocked = post_form(&app, "/instructor/login/", &format!("token={TOKEN}"), None).await;
    assert_eq!(
        blocked.status(),
        429,
        "even the right token waits after five failures"
    );
    let bearer = app
        .client
        .get(format!("{}/instructor/", app.address))
        .header("Accept", "application/json")
        .header("Authorization", "Bearer nope")
        .send()
        .await
        .unwrap();
    assert_eq!(
        bearer.status(),
        429,
        "the bearer header is a sign-in too, slowed down as the form is"
    );
}

/// `GET /instructor/` as JSON with `Authorization: Bearer <token>`, on a connection of its own.
async fn bearer_status(app: &TestApp, token: &str) -> u16 {
    let request = format!(
        "GET /instructor/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\
         Authorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    common::raw_request(&app.address, request.as_bytes())
        .await
        .unwrap()
        .status
}

/// `POST /instructor/login/` with `token`, on a connection of its own.
async fn sign_in_status(app: &TestApp, token: &str) -> u16 {
    let body = format!("token={token}");
    let request = format!(
        "POST /instructor/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    common::raw_request(&app.address, request.as_bytes())
        .await
        .unwrap()
        .status
}

#[actix_web::test]
async fn wrong_bearer_tokens_use_up_the_attempts_as_wrong_forms_do() {
    // Arrange
    let app = spawn_app_with(&enabled()).await;
    assert_eq!(
        bearer_status(&app, TOKEN).await,
        200,
        "the right token opens"
    );

    // Act: guesses in the Authorization header, where the form's limit did not look.
    let mut guesses = Vec::new();
    for i in 0..6 {
        guesses.push(bearer_status(&app, &format!("guess-guess-guess-{i:04}")).await);
    }

    // Assert: five refusals, then the address waits, with the header and with the form.
    assert_eq!(guesses, [401, 401, 401, 401, 401, 429]);
    assert_eq!(bearer_status(&app, TOKEN).await, 429);
    assert_eq!(sign_in_status(&app, TOKEN).await, 429);
}

#[actix_web::test]
async fn failed_sign_ins_are_counted_by_the_server_not_by_each_worker() {
    // Arrange: two workers (the tests' setting); each connection of its own, so that they
    // are spread over both, as an attacker's would be.
    let app = spawn_app_with(&enabled()).await;
    assert_eq!(app.settings.server.workers, Some(2));

    // Act
    let mut answers = Vec::new();
    for i in 0..6 {
        answers.push(sign_in_status(&app, &format!("guess-guess-guess-{i:04}")).await);
    }

    // Assert: five failures in all, not five per worker.
    assert_eq!(answers, [401, 401, 401, 401, 401, 429]);
    assert_eq!(sign_in_status(&app, TOKEN).await, 429);
}

#[actix_web::test]
async fn clear_expired_removes_expired_sessions_and_needs_the_instructor() {
    // Arrange: one session past the page session's 20 seconds, one alive.
    let app = spawn_app_with(&enabled()).await;
    app.get("/pagesession/set/", None).await;
    app.get("/basic/set/", None).await;
    app.advance(21);

    // Act
    let anonymous = post_form(&app, "/instructor/clear-expired/", "", None).await;
    let left_by_anonymous = app.rows().await.len();
    let res = app
        .client
        .post(format!("{}/instructor/clear-expired/", app.address))
        .header("Accept", "application/json")
        .header("Authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();

    // Assert: refused until signed in; a JSON client gets the count at once.
    assert_eq!(anonymous.status(), 401);
    assert_eq!(left_by_anonymous, 2);
    assert_eq!(res.status(), 200);
    let json: serde_json::Value = res.json().await.unwrap();
    assert_eq!(json["removed"], 1);
    assert_eq!(json["message"], "Removed 1 expired session(s).");
    assert_eq!(json["profile"], "default");
    assert_eq!(app.rows().await.len(), 1);
}

#[actix_web::test]
async fn the_clear_expired_button_sends_the_browser_on_to_the_dashboard_with_the_count() {
    // Arrange: a signed-in instructor and one expired session.
    let app = spawn_app_with(&enabled()).await;
    let cookie = sign_in_cookie(&app).await;
    app.get("/pagesession/set/", None).await;
    app.advance(21);

    // Act: the button's form, then the page the browser is sent on to (Post/Redirect/Get:
    // reloading it shows it again, where reloading the POST's own answer posted again).
    let res = post_form(&app, "/instructor/clear-expired/", "", Some(&cookie)).await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let page = app.get(&location, Some(&cookie)).await;
    let again = app.get(&location, Some(&cookie)).await;

    // Assert
    assert_eq!(res.status(), 303);
    assert_eq!(location, "/instructor/?removed=1");
    assert!(res.headers().get("set-cookie").is_none());
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Removed 1 expired session(s).") && page.body.contains("Active profile"),
        "{}",
        page.body
    );
    assert_eq!(again.body, page.body, "a reload only shows the page again");
    assert!(app.rows().await.is_empty());
}

#[actix_web::test]
async fn the_dashboard_shows_a_count_of_removed_sessions_only_when_it_is_one() {
    // Arrange
    let app = spawn_app_with(&enabled()).await;
    let cookie = sign_in_cookie(&app).await;

    // Act
    let plain = app.get("/instructor/", Some(&cookie)).await;
    let zero = app.get("/instructor/?removed=0", Some(&cookie)).await;
    let odd = [
        "/instructor/?removed=",
        "/instructor/?removed=many",
        "/instructor/?removed=-1",
        "/instructor/?removed=%2B3",
        "/instructor/?removed=3%3Cb%3E",
        "/instructor/?removed=99999999999999999999999",
    ];
    let mut odd_pages = Vec::new();
    for path in odd {
        odd_pages.push((path, app.get(path, Some(&cookie)).await));
    }

    // Assert: a number is shown, anything else is a dashboard without a message.
    assert!(
        !plain.body.contains("expired session(s)."),
        "{}",
        plain.body
    );
    assert!(zero.body.contains("Removed 0 expired session(s)."));
    for (path, page) in odd_pages {
        assert_eq!(page.status, 200, "{path}");
        assert!(page.body.contains("Active profile"), "{path}");
        assert!(!page.body.contains("expired session(s)."), "{path}");
    }
}

#[actix_web::test]
async fn clearing_from_another_origin_is_refused_naming_the_origin() {
    // Arrange: a signed-in instructor (by the cookie, and by the bearer token).
    let app = spawn_app_with(&enabled()).await;
    let cookie = sign_in_cookie(&app).await;
    app.get("/pagesession/set/", None).await;
    app.advance(21);

    // Act: another site's page posts the button's form.
    let by_cookie = app
        .client
        .post(format!("{}/instructor/clear-expired/", app.address))
        .header("Origin", "http://evil.example")
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    let by_bearer = app
        .client
        .post(format!("{}/instructor/clear-expired/", app.address))
        .header("Origin", "http://evil.example")
        .header("Authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();

    // Assert: refused as the sign-in and sign-out are, saying where it came from; nothing
    // removed.
    for (what, res) in [("cookie", by_cookie), ("bearer", by_bearer)] {
        assert_eq!(res.status(), 403, "{what}");
        let body = res.text().await.unwrap();
        assert!(
            body.contains(
                "This request to clear expired sessions came from http:&#x2F;&#x2F;evil.example"
            ),
            "{what}: {body}"
        );
        assert!(
            !body.contains("Sign in with the instructor token"),
            "{what}: {body}"
        );
    }
    assert_eq!(app.rows().await.len(), 1);
}

#[actix_web::test]
async fn a_sign_out_from_another_origin_is_refused_and_keeps_the_instructor_signed_in() {
    // Arrange: a signed-in instructor.
    let app = spawn_app_with(&enabled()).await;
    let sign_in = post_form(&app, "/instructor/login/", &format!("token={TOKEN}"), None).await;
    let cookie = sign_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    // Act: another site's page posts the sign-out form (Django's LogoutView is POST-only and
    // CSRF-protected for this reason).
    let foreign = app
        .client
        .post(format!("{}/instructor/logout/", app.address))
        .header("Origin", "http://evil.example")
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();

    // Assert: refused, no cookie touched; the instructor's own form still signs out.
    assert_eq!(foreign.status(), 403);
    assert!(foreign.headers().get("set-cookie").is_none());
    let body = foreign.text().await.unwrap();
    assert!(
        body.contains("came from http:&#x2F;&#x2F;evil.example"),
        "{body}"
    );
    let own = post_form(&app, "/instructor/logout/", "", Some(&cookie)).await;
    assert_eq!(own.status(), 303);
    assert!(
        own.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
}

#[actix_web::test]
async fn a_sign_in_whose_forwarded_headers_name_its_own_origin_is_refused() {
    // Arrange: no proxy in front (the default), so the headers come from the client.
    let app = spawn_app_with(&enabled()).await;
    let forged = |headers: &'static [(&'static str, &'static str)]| {
        let mut req = app
            .client
            .post(format!("{}/instructor/login/", app.address))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Origin", "https://evil.example")
            .body(format!("token={TOKEN}"));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.send()
    };

    for headers in [
        &[
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "evil.example"),
        ][..],
        &[("Forwarded", "proto=https;host=evil.example")][..],
    ] {
        // Act: another site's page posts the sign-in, its headers saying this site is that one.
        let res = forged(headers).await.unwrap();

        // Assert: refused as from another origin, this site's own named from its Host.
        assert_eq!(res.status(), 403, "{headers:?}");
        assert!(res.headers().get("set-cookie").is_none(), "{headers:?}");
        let body = res.text().await.unwrap();
        let own = app.address.replace('/', "&#x2F;");
        assert!(
            body.contains(&format!("not from this site ({own})")),
            "{headers:?}: {body}"
        );
        assert!(body.contains("trust_forwarded_headers"), "{body}");
    }
}

/// Signs in with the form: the `name=value` of the sign-in cookie.
async fn sign_in_cookie(app: &TestApp) -> String {
    let res = post_form(app, "/instructor/login/", &format!("token={TOKEN}"), None).await;
    assert_eq!(res.status(), 303);
    res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// `GET /instructor/` with `cookie`, on a connection of its own: the status and the body.
async fn dashboard_with(app: &TestApp, cookie: &str, accept: &str) -> (u16, String) {
    let request = format!(
        "GET /instructor/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: {accept}\r\n\
         Cookie: {cookie}\r\nConnection: close\r\n\r\n"
    );
    let res = common::raw_request(&app.address, request.as_bytes())
        .await
        .unwrap();
    (res.status, res.text())
}

#[actix_web::test]
async fn a_copy_of_the_cookie_opens_nothing_after_sign_out_on_any_worker() {
    // Arrange: two workers (the tests' setting); a signed-in instructor, and a copy of the
    // cookie taken while signed in (a shared computer, a proxy's log).
    let app = spawn_app_with(&enabled()).await;
    let copy = sign_in_cookie(&app).await;
    let other_browser = sign_in_cookie(&app).await;
    for _ in 0..4 {
        let (status, body) = dashboard_with(&app, &copy, "text/html").await;
        assert_eq!(status, 200);
        assert!(body.contains("Active profile"), "signed in: {body}");
    }

    // Act
    let sign_out = post_form(&app, "/instructor/logout/", "", Some(&copy)).await;
    assert_eq!(sign_out.status(), 303);

    // Assert: on connections of their own, spread over both workers, the copy gets the
    // sign-in page (and a 401 as JSON); another browser's sign-in goes on.
    for _ in 0..4 {
        let (status, body) = dashboard_with(&app, &copy, "text/html").await;
        assert_eq!(status, 200);
        assert!(
            body.contains("Instructor token") && !body.contains("Active profile"),
            "signed out: {body}"
        );
        let (status, _) = dashboard_with(&app, &copy, "application/json").await;
        assert_eq!(status, 401);
        let clear = post_form(&app, "/instructor/clear-expired/", "", Some(&copy)).await;
        assert_eq!(clear.status(), 401);
        // The button pressed on a dashboard left open: the form again, saying why.
        let clear = clear.text().await.unwrap();
        assert!(
            clear.contains("Instructor token")
                && clear.contains("Your sign-in has ended, so no expired sessions were cleared"),
            "{clear}"
        );
    }
    let (status, body) = dashboard_with(&app, &other_browser, "text/html").await;
    assert_eq!(status, 200);
    assert!(body.contains("Active profile"), "{body}");
}

#[actix_web::test]
async fn a_sign_in_does_not_outlive_its_server() {
    // Arrange: a sign-in on one server, and another started with the same settings (the
    // same secret key and token), as after a restart.
    let before = spawn_app_with(&enabled()).await;
    let cookie = sign_in_cookie(&before).await;
    let after = spawn_app_with(&enabled()).await;
    assert_eq!(
        before.settings.secret_key.expose(),
        after.settings.secret_key.expose()
    );

    // Act
    let (status, body) = dashboard_with(&after, &cookie, "text/html").await;

    // Assert: the sign-in page, as for a cookie signed out before the restart.
    assert_eq!(status, 200);
    assert!(body.contains("Instructor token"), "{body}");
    assert_eq!(dashboard_with(&before, &cookie, "text/html").await.0, 200);
}

#[actix_web::test]
async fn no_answer_of_the_instructors_pages_may_be_cached() {
    // Arrange: Django's `never_cache`, as its admin and login views send it.
    const NEVER_CACHE: &str = "max-age=0, no-cache, no-store, must-revalidate, private";
    let app = spawn_app_with(&enabled()).await;
    let cookie = sign_in_cookie(&app).await;

    // Act
    let sign_in = post_form(&app, "/instructor/login/", &format!("token={TOKEN}"), None).await;
    let login_page = app.get("/instructor/", None).await;
    let dashboard = app.get("/instructor/", Some(&cookie)).await;
    let json = app
        .client
        .get(format!("{}/instructor/", app.address))
        .header("Accept", "application/json")
        .header("Authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    let wrong = post_form(&app, "/instructor/login/", "token=guess-guess-guess", None).await;

    // Assert
    assert!(dashboard.body.contains("Active profile"));
    for (what, status, headers) in [
        ("sign-in", sign_in.status().as_u16(), sign_in.headers()),
        ("login page", login_page.status, &login_page.headers),
        ("dashboard", dashboard.status, &dashboard.headers),
        ("dashboard as JSON", json.status().as_u16(), json.headers()),
        ("wrong token", wrong.status().as_u16(), wrong.headers()),
    ] {
        assert_eq!(
            headers.get("cache-control").map(|v| v.to_str().unwrap()),
            Some(NEVER_CACHE),
            "{what} ({status})"
        );
    }
}
