//! Bad input and failing storage: no cookie value ever causes a 5xx, a store that fails is a
//! 503 page that says so and the server recovers by itself, sessions survive a restart.

mod common;

use common::{Browser, spawn_app, spawn_with_settings, test_settings};
use sessionlab::session::FakeClock;
use std::sync::Arc;

#[actix_web::test]
async fn no_cookie_value_causes_a_server_error() {
    let app = spawn_app().await;
    let long = "a".repeat(4000);
    let hostile: Vec<String> = vec![
        "sessionid=".into(),
        "sessionid=\"\"".into(),
        "sessionid=abc".into(),
        "sessionid=ABCDEFGHIJKLMNOPQRSTUVWXYZ123456".into(),
        "sessionid=../../../../etc/passwd".into(),
        "sessionid=..%2F..%2Fetc%2Fpasswd".into(),
        "sessionid=%00%00%00%00%00%00%00%00%00".into(),
        "sessionid=\"quoted\\\"value\\073\"".into(),
        format!("sessionid={long}"),
        "sessionid=e30:1r31eq:forged-signature-forged-signature".into(),
        "sessionid=aaaaaaaabbbbbbbbccccccccdddddddd; sessionid=x".into(),
        ";;;;=;=;sessionid".into(),
        "sessionid=日本語のクッキー値です".into(),
        (0..300)
            .map(|i| format!("c{i}=v{i}"))
            .collect::<Vec<_>>()
            .join("; "),
    ];
    for cookie in &hostile {
        for path in [
            "/basic/",
            "/basic/get/",
            "/basic/set/",
            "/dict/get/",
            "/timeout/get/",
            "/testcookie/del/",
            "/dict/flush/",
        ] {
            let page = app.get(path, Some(cookie)).await;
            assert!(
                page.status < 500,
                "{path} with {cookie:.60} answered {}",
                page.status
            );
        }
    }
    // Non-UTF-8 bytes in the header.
    let raw = reqwest::header::HeaderValue::from_bytes(b"sessionid=\xff\xfe\xfdabcdefgh").unwrap();
    let res = app
        .client
        .get(format!("{}/basic/get/", app.address))
        .header("Cookie", raw)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn corrupted_stored_data_reads_as_an_empty_session_without_a_cookie_change() {
    let app = spawn_app().await;
    let key = app
        .get("/basic/set/", None)
        .await
        .cookie_value("sessionid")
        .unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", app.db_path().display()))
        .await
        .unwrap();
    sqlx::query("UPDATE django_session SET session_data = 'eyJ0YW1wZXJlZCI6dHJ1ZX0:1r31eq:bad'")
        .execute(&pool)
        .await
        .unwrap();
    let page = app
        .get_json("/basic/get/", Some(&format!("sessionid={key}")))
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.json()["context"]["name"], "Guest");
    assert_eq!(page.json()["session"]["keys"], serde_json::json!([]));
    assert!(
        page.set_cookies().is_empty(),
        "Django keeps the key and sends nothing"
    );
}

#[actix_web::test]
async fn a_failing_store_is_a_503_page_and_the_server_recovers_by_itself() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.get("/basic/set/").await;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", app.db_path().display()))
        .await
        .unwrap();
    sqlx::query("ALTER TABLE django_session RENAME TO django_session_away")
        .execute(&pool)
        .await
        .unwrap();

    let page = browser.get("/basic/get/").await;
    assert_eq!(page.status, 503);
    assert!(
        page.body.contains("session store is unavailable"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<h1>Session store unavailable</h1>"));
    let json = browser.get_json("/basic/set/").await;
    assert_eq!(json.status, 503);
    assert_eq!(json.json()["error"]["status"], 503);
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status, 503);
    assert_eq!(health.json()["stores"]["db"]["status"], "unavailable");

    sqlx::query("ALTER TABLE django_session_away RENAME TO django_session")
        .execute(&pool)
        .await
        .unwrap();
    let page = browser.get_json("/basic/get/").await;
    assert_eq!(page.status, 200, "recovered without a restart");
    assert_eq!(
        page.json()["context"]["name"],
        "Sonam",
        "the session written before survived"
    );
    assert_eq!(app.get("/healthz", None).await.status, 200);
}

#[actix_web::test]
async fn sessions_survive_a_restart() {
    let app = spawn_app().await;
    let settings = app.settings.clone();
    let key = app
        .get("/basic/set/", None)
        .await
        .cookie_value("sessionid")
        .unwrap();
    let data_dir = app.stop().await;

    let again = spawn_with_settings(settings, data_dir, Arc::new(FakeClock::at_wall_clock())).await;
    let page = again
        .get_json("/basic/get/", Some(&format!("sessionid={key}")))
        .await;
    assert_eq!(page.json()["context"]["name"], "Sonam");
}

#[actix_web::test]
async fn the_database_is_created_with_djangos_schema() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("not/yet/there");
    let settings = test_settings(&nested, &[]);
    let app = spawn_with_settings(settings, dir, Arc::new(FakeClock::at_wall_clock())).await;
    let pool =
        sqlx::SqlitePool::connect(&format!("sqlite://{}/sessions.sqlite3", nested.display()))
            .await
            .unwrap();
    let ddl: Vec<(String,)> = sqlx::query_as(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'django_session' ORDER BY type DESC",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        ddl[0].0,
        r#"CREATE TABLE "django_session" ("session_key" varchar(40) NOT NULL PRIMARY KEY, "session_data" text NOT NULL, "expire_date" datetime NOT NULL)"#
    );
    assert!(
        ddl.iter()
            .any(|(sql,)| sql.contains("django_session_expire_date_a5c62663"))
    );
    drop(app);
}
