//! A store that goes away: 503 pages that say so while it is down, recovery without a restart
//! when it returns, and the sessions written before the fault still there.

mod common;

use std::time::{Duration, Instant};

use common::{Browser, FaultyProxy, PgSchema, spawn_app_with};

#[actix_web::test]
async fn postgresql_going_away_is_a_503_and_the_server_recovers_by_itself() {
    // Arrange: sessionlab talks to PostgreSQL through a proxy the test controls.
    let schema = PgSchema::create().await;
    let proxy = FaultyProxy::start("127.0.0.1:5432").await;
    let url = proxy.reroute(&schema.url);
    let app = spawn_app_with(&[("APP__DATABASE__URL", &url)]).await;
    let mut browser = Browser::new(&app);
    assert_eq!(browser.get_json("/basic/set/").await.status, 200);

    // Act: the database disappears.
    proxy.cut().await;
    let started = Instant::now();
    let down = browser.get("/basic/get/").await;
    let health = app.get("/healthz", None).await;

    // Assert: a prompt 503 that says what is wrong.
    assert_eq!(down.status, 503, "{}", down.body);
    assert!(down.body.contains("session store is unavailable"));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "answered promptly"
    );
    assert_eq!(health.status, 503);
    assert_eq!(health.json()["stores"]["db"]["status"], "unavailable");
    let json = browser.get_json("/basic/set/").await;
    assert_eq!(json.status, 503);

    // The database returns: no restart, and the earlier session is intact.
    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(15);
    let back = loop {
        let page = browser.get_json("/basic/get/").await;
        if page.status == 200 || Instant::now() > deadline {
            break page;
        }
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(back.status, 200, "recovered by itself");
    assert_eq!(back.json()["context"]["name"], "Sonam");
    assert_eq!(app.get("/healthz", None).await.status, 200);
    drop(schema);
}

#[actix_web::test]
async fn redis_going_away_is_a_503_and_the_server_recovers_by_itself() {
    let prefix = common::RedisPrefix::new();
    let proxy = FaultyProxy::start("127.0.0.1:6379").await;
    let app = spawn_app_with(&[
        ("APP__SESSION__ENGINE", "cache"),
        ("APP__CACHES__DEFAULT__BACKEND", "redis"),
        (
            "APP__CACHES__DEFAULT__URL",
            &proxy.reroute(&common::redis_url()),
        ),
        ("APP__CACHES__DEFAULT__KEY_PREFIX", &prefix.prefix),
        ("APP__CACHES__DEFAULT__TIMEOUT_MS", "500"),
    ])
    .await;
    let mut browser = Browser::new(&app);
    assert_eq!(browser.get_json("/basic/set/").await.status, 200);

    proxy.cut().await;
    let started = Instant::now();
    let down = browser.get("/basic/get/").await;
    assert_eq!(down.status, 503, "{}", down.body);
    assert!(down.body.contains("session store is unavailable"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered promptly"
    );
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status, 503);
    assert_eq!(
        health.json()["stores"]["cache:default"]["status"],
        "unavailable"
    );

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(15);
    let back = loop {
        let page = browser.get_json("/basic/get/").await;
        if page.status == 200 || Instant::now() > deadline {
            break page;
        }
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(back.status, 200, "recovered by itself");
    // Only the connection went away, not Redis: the session written before is intact.
    assert_eq!(back.json()["context"]["name"], "Sonam");
}

/// A server on `cached_db` whose Redis is reached through a proxy the test can cut, under a
/// key prefix of its own.
async fn cached_db_behind_a_proxy() -> (common::TestApp, FaultyProxy, common::RedisPrefix) {
    let prefix = common::RedisPrefix::new();
    let proxy = FaultyProxy::start("127.0.0.1:6379").await;
    let app = spawn_app_with(&[
        ("APP__SESSION__ENGINE", "cached_db"),
        ("APP__CACHES__DEFAULT__BACKEND", "redis"),
        (
            "APP__CACHES__DEFAULT__URL",
            &proxy.reroute(&common::redis_url()),
        ),
        ("APP__CACHES__DEFAULT__KEY_PREFIX", &prefix.prefix),
        ("APP__CACHES__DEFAULT__TIMEOUT_MS", "300"),
    ])
    .await;
    (app, proxy, prefix)
}

#[actix_web::test]
async fn cached_db_keeps_serving_from_the_database_when_its_cache_is_down() {
    let (app, proxy, _prefix) = cached_db_behind_a_proxy().await;
    let mut browser = Browser::new(&app);
    browser.get_json("/basic/set/").await;
    proxy.cut().await;
    let page = browser.get_json("/basic/get/").await;
    assert_eq!(page.status, 200, "the database is the truth");
    assert_eq!(page.json()["context"]["name"], "Sonam");
    let write = browser.get_json("/dict/set/").await;
    assert_eq!(
        write.status, 200,
        "a cache failure on write is logged, not fatal"
    );
    // A new session goes to the database and the cache at once: the database's is enough.
    let mut newcomer = Browser::new(&app);
    assert_eq!(newcomer.get_json("/basic/set/").await.status, 200);
    let read = newcomer.get_json("/basic/get/").await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json()["context"]["name"], "Sonam");
    assert_eq!(app.get("/healthz", None).await.status, 200);
}

#[actix_web::test]
async fn cached_db_never_serves_what_its_cache_missed_while_it_was_down() {
    // Arrange: a session in the database and the cache, then the cache goes away.
    let (app, proxy, prefix) = cached_db_behind_a_proxy().await;
    let set = app.get_json("/timeout/set/", None).await;
    let cookie = format!("sessionid={}", set.cookie_value("sessionid").unwrap());
    assert_eq!(prefix.keys().len(), 1, "the session is in the cache");
    proxy.cut().await;

    // Act: the session is flushed while the cache cannot be told; then the cache returns.
    let flushed = app.get_json("/timeout/del/", Some(&cookie)).await;
    assert_eq!(flushed.status, 200, "{}", flushed.body);
    proxy.restore();
    let replayed = app.get_json("/timeout/get/", Some(&cookie)).await;

    // Assert: the old cookie names no session, though Redis still held it; and Redis no
    // longer does.
    assert_eq!(replayed.status, 200, "{}", replayed.body);
    assert_eq!(
        replayed.json()["context"],
        serde_json::json!({"expired": true})
    );
    assert!(prefix.keys().is_empty(), "the cache was put right");
}

#[actix_web::test]
async fn postgresql_down_at_start_is_a_503_and_the_server_recovers_by_itself() {
    // Arrange: PostgreSQL (behind a proxy the test controls) does not answer yet.
    let schema = PgSchema::create().await;
    let proxy = FaultyProxy::start("127.0.0.1:5432").await;
    proxy.cut().await;
    let url = proxy.reroute(&schema.url);

    // Act: the server starts all the same.
    let app = spawn_app_with(&[("APP__DATABASE__URL", &url)]).await;
    let mut browser = Browser::new(&app);
    let down = browser.get("/basic/set/").await;
    let health = app.get("/healthz", None).await;

    // Assert: the outage is a 503 that says so, until PostgreSQL answers; then the table is
    // created and sessions are served without a restart.
    assert_eq!(down.status, 503, "{}", down.body);
    assert!(down.body.contains("session store is unavailable"));
    assert!(down.set_cookies().is_empty(), "no cookie on a 503");
    assert_eq!(health.status, 503);
    assert_eq!(health.json()["stores"]["db"]["status"], "unavailable");

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(15);
    let set = loop {
        let page = browser.get_json("/basic/set/").await;
        if page.status == 200 || Instant::now() > deadline {
            break page;
        }
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(set.status, 200, "recovered by itself");
    let read = browser.get_json("/basic/get/").await;
    assert_eq!(read.json()["context"]["name"], "Sonam");
    assert_eq!(app.get("/healthz", None).await.status, 200);
    drop(schema);
}
