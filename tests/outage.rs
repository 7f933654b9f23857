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

/// The instructor token of [`each_store_is_told_apart_once_per_failure_not_per_request`].
const INSTRUCTOR_TOKEN: &str = "outage-instructor-token-0123";

/// GETs `path` from `server` (as JSON, with the instructor's token) and gives its status.
async fn status_of(client: &reqwest::Client, server: &common::Server, path: &str) -> u16 {
    client
        .get(format!("{}{path}", server.address))
        .header("Accept", "application/json")
        .header("Authorization", format!("Bearer {INSTRUCTOR_TOKEN}"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// GETs `path` until it answers 200, for up to 15 s; whether it did.
async fn until_served(client: &reqwest::Client, server: &common::Server, path: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if status_of(client, server, path).await == 200 {
            return true;
        }
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

#[actix_web::test]
async fn each_store_is_told_apart_once_per_failure_not_per_request() {
    // Arrange: the real binary, its log kept, with two Redis caches, `one` and `two`, each
    // reached through a proxy of its own: `/basic/` on `one`, `/dict/` on `two`, `/timeout/` on
    // cached_db with `one` in front of the database; the instructor's dashboard open.
    let (one, two) = (
        FaultyProxy::start("127.0.0.1:6379").await,
        FaultyProxy::start("127.0.0.1:6379").await,
    );
    let (url_one, url_two) = (
        one.reroute(&common::redis_url()),
        two.reroute(&common::redis_url()),
    );
    let prefix = common::RedisPrefix::new();
    let data = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/sessions.sqlite3", data.path().display());
    let settings: [(&'static str, &str); 17] = [
        ("APP__DATABASE__URL", &database),
        ("APP__CACHES__ONE__BACKEND", "redis"),
        ("APP__CACHES__ONE__URL", &url_one),
        ("APP__CACHES__ONE__KEY_PREFIX", &prefix.prefix),
        ("APP__CACHES__ONE__TIMEOUT_MS", "2000"),
        ("APP__CACHES__TWO__BACKEND", "redis"),
        ("APP__CACHES__TWO__URL", &url_two),
        ("APP__CACHES__TWO__KEY_PREFIX", &prefix.prefix),
        ("APP__CACHES__TWO__TIMEOUT_MS", "2000"),
        ("APP__LESSONS__BASIC__ENGINE", "cache"),
        ("APP__LESSONS__BASIC__CACHE_ALIAS", "one"),
        ("APP__LESSONS__DICT__ENGINE", "cache"),
        ("APP__LESSONS__DICT__CACHE_ALIAS", "two"),
        ("APP__LESSONS__TIMEOUT__ENGINE", "cached_db"),
        ("APP__LESSONS__TIMEOUT__CACHE_ALIAS", "one"),
        ("APP__INSTRUCTOR__ENABLED", "true"),
        ("APP__INSTRUCTOR__TOKEN", INSTRUCTOR_TOKEN),
    ];
    let env: Vec<(&str, String)> = settings
        .iter()
        .map(|(name, value)| (*name, (*value).to_owned()))
        .collect();
    // Started off this thread, whose runtime runs the proxies the server's start-up check
    // goes through.
    let server = actix_web::rt::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(n, v)| (*n, v.as_str())).collect();
        common::Server::start(&env)
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let statuses = |paths: &'static [&'static str], rounds: usize| {
        let (client, server) = (&client, &server);
        async move {
            let mut statuses = Vec::new();
            for _ in 0..rounds {
                for path in paths {
                    statuses.push(status_of(client, server, path).await);
                }
            }
            statuses
        }
    };
    const ROUNDS: usize = 8;
    const EVERY_PAGE: &[&str] = &[
        "/basic/set/",
        "/dict/set/",
        "/timeout/set/",
        "/healthz",
        "/instructor/",
    ];

    // Act: both Redis go away for eight rounds of every page; `one` comes back while `two`
    // fails eight requests more; then `two` comes back, and every page is served again.
    one.cut().await;
    two.cut().await;
    let both_down = statuses(EVERY_PAGE, ROUNDS).await;
    one.restore();
    let one_back = until_served(&client, &server, "/basic/set/").await;
    let two_down = statuses(&["/dict/set/"], ROUNDS).await;
    two.restore();
    let two_back = until_served(&client, &server, "/dict/set/").await;
    let healthy = until_served(&client, &server, "/healthz").await;
    let served = statuses(EVERY_PAGE, 1).await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;

    // Assert: the pages answered each request as ever (503 for a store that is down, cached_db
    // served from its database, the dashboard without the counts it could not make).
    assert_eq!(both_down, [503, 503, 200, 503, 200].repeat(ROUNDS));
    assert_eq!(two_down, [503; ROUNDS]);
    assert!(one_back && two_back && healthy, "the stores came back");
    assert_eq!(served, [200; 5]);
    let log = server.log.lock().unwrap().clone();
    let lines = |what: &str, store: &str| -> Vec<usize> {
        (0..log.len())
            .filter(|&at| log[at].contains(what) && log[at].contains(store))
            .collect()
    };
    // Each store as the log names it: its engine, its URL and its key prefix.
    let store_one = format!(
        "store=\"cache (Redis) at {url_one} under {}django.contrib.sessions.cache\"",
        prefix.prefix
    );
    let store_two = format!(
        "store=\"cache (Redis) at {url_two} under {}django.contrib.sessions.cache\"",
        prefix.prefix
    );
    let cache_of_cached_db = format!(
        "store=\"cache (Redis) at {url_one} under {}django.contrib.sessions.cached_db\"",
        prefix.prefix
    );
    // No warning at each request: not `Error saving to cache`, `health check failed` nor
    // `could not count live sessions`; the failures are the log of store failures' alone.
    let warnings: Vec<&String> = log.iter().filter(|line| line.contains(" WARN ")).collect();
    assert_eq!(warnings, Vec::<&String>::new());
    let errors: Vec<&String> = log.iter().filter(|line| line.contains(" ERROR ")).collect();
    assert_eq!(errors.len(), 8, "{errors:#?}");
    for (store, accesses) in [
        (&store_one, &["writes", "reads", "health checks"][..]),
        (&store_two, &["writes", "reads", "health checks"][..]),
        (&cache_of_cached_db, &["writes", "health checks"][..]),
    ] {
        for access in accesses {
            let failed = lines(
                &format!(" ERROR sessionlab::session::store::outages: {access} fail: "),
                store,
            );
            let ended = lines(&format!("answers again: {access} succeed"), store);
            assert_eq!(failed.len(), 1, "{access} of {store}: {log:#?}");
            assert_eq!(ended.len(), 1, "{access} of {store}: {log:#?}");
            assert!(failed[0] < ended[0], "{log:#?}");
        }
    }
    // `two`'s failure was told before `one` came back, and went on through `one`'s recovery.
    let (two_failed, one_ended, two_ended) = (
        lines("writes fail: ", &store_two)[0],
        lines("answers again: writes succeed", &store_one)[0],
        lines("answers again: writes succeed", &store_two)[0],
    );
    assert!(two_failed < one_ended && one_ended < two_ended, "{log:#?}");
    let failed_in_all: usize = log[two_ended]
        .split("after ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no count in {}", log[two_ended]));
    assert!(failed_in_all >= 2 * ROUNDS, "{}", log[two_ended]);
}
