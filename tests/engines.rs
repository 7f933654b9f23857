//! One acceptance suite of lesson flows (set/get/order/expiry/flush/test cookie/sliding/
//! clear_expired/no fixation), run over HTTP against every session engine on real storage: SQLite,
//! PostgreSQL, files, and signed cookies (cache engines join as they are configured).

mod common;

use common::{
    Browser, PgSchema, RedisPrefix, TestApp, http_date, is_generated_key, redis_url,
    spawn_with_settings, test_settings,
};
use serde_json::json;
use sessionlab::session::FakeClock;
use std::sync::Arc;

/// An engine under test: its settings, and whatever must outlive the server.
struct Engine {
    name: &'static str,
    signed: bool,
    _schema: Option<PgSchema>,
    _redis: Option<RedisPrefix>,
}

async fn spawn(engine: &'static str) -> (TestApp, Engine) {
    let data_dir = tempfile::tempdir().unwrap();
    let files = data_dir.path().join("files");
    std::fs::create_dir(&files).unwrap();
    let mut schema = None;
    let mut redis = None;
    let mut overrides: Vec<(String, String)> = Vec::new();
    let mut set = |k: &str, v: &str| overrides.push((k.to_owned(), v.to_owned()));
    match engine {
        "sqlite" => {}
        "postgres" => {
            let s = PgSchema::create().await;
            set("APP__DATABASE__URL", &s.url);
            schema = Some(s);
        }
        "file" => {
            set("APP__SESSION__ENGINE", "file");
            set("APP__SESSION__FILE_PATH", files.to_str().unwrap());
        }
        "signed_cookies" => set("APP__SESSION__ENGINE", "signed_cookies"),
        "cache_memory" => set("APP__SESSION__ENGINE", "cache"),
        "cached_db_memory" => set("APP__SESSION__ENGINE", "cached_db"),
        "cache_redis" | "cached_db_redis" => {
            let engine_name = engine.trim_end_matches("_redis");
            set("APP__SESSION__ENGINE", engine_name);
            set("APP__CACHES__DEFAULT__BACKEND", "redis");
            let redis_prefix = RedisPrefix::new();
            set("APP__CACHES__DEFAULT__URL", &redis_url());
            set("APP__CACHES__DEFAULT__KEY_PREFIX", &redis_prefix.prefix);
            redis = Some(redis_prefix);
        }
        other => panic!("unknown engine {other}"),
    }
    let pairs: Vec<(&str, &str)> = overrides
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let settings = test_settings(data_dir.path(), &pairs);
    let app = spawn_with_settings(settings, data_dir, Arc::new(FakeClock::at_wall_clock())).await;
    let engine = Engine {
        name: engine,
        signed: engine == "signed_cookies",
        _schema: schema,
        _redis: redis,
    };
    (app, engine)
}

async fn set_get_delete_in_insertion_order(app: &TestApp, engine: &Engine) {
    let mut browser = Browser::new(app);
    let set = browser.get_json("/basic/set/").await;
    assert_eq!(set.status, 200, "{}: {}", engine.name, set.body);
    let key = set.cookie_value("sessionid").unwrap();
    assert_eq!(
        set.set_cookie(),
        format!(
            "sessionid={key}; expires={}; HttpOnly; Max-Age=1209600; Path=/basic/; SameSite=Lax",
            http_date(app.now(), 1_209_600)
        )
    );
    if !engine.signed {
        assert!(
            key.len() == 32
                && key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
    }
    let get = browser.get_json("/basic/get/").await.json();
    assert_eq!(
        get["context"],
        json!({"name": "Sonam", "lname": "rathore"}),
        "{}",
        engine.name
    );
    assert_eq!(get["session"]["keys"], json!(["name", "lname"]));
    let del = browser.get_json("/basic/del/").await.json();
    assert_eq!(del["context"]["deleted"], true);
    let after = browser.get_json("/basic/get/").await.json();
    assert_eq!(after["context"], json!({"name": "Guest", "lname": "Guest"}));
}

async fn dict_methods_and_flush(app: &TestApp, engine: &Engine) {
    let mut browser = Browser::new(app);
    browser.get_json("/dict/set/").await;
    let get = browser.get_json("/dict/get/").await.json();
    assert_eq!(
        get["context"]["keys"],
        json!(["name", "lname", "age"]),
        "{}",
        engine.name
    );
    let again = browser.get_json("/dict/get/").await;
    assert!(
        again.set_cookies().is_empty(),
        "{}: setdefault of a present key saves nothing",
        engine.name
    );
    let old = browser.jar.header_for("/dict/").unwrap();
    let flushed = browser.get_json("/dict/flush/").await;
    assert!(
        flushed.set_cookie().starts_with("sessionid=\"\";"),
        "{}",
        engine.name
    );
    let replay = app.get_json("/dict/get/", Some(&old)).await.json();
    if engine.signed {
        // A signed cookie carries its data: flush cannot revoke a copy kept elsewhere.
        assert_eq!(replay["context"]["name"], "Sonam");
    } else {
        assert_eq!(
            replay["context"]["name"],
            serde_json::Value::Null,
            "{}: flushed key is dead",
            engine.name
        );
    }
}

async fn expiry_is_enforced_server_side(app: &TestApp, engine: &Engine) {
    let mut browser = Browser::new(app);
    let set = browser.get_json("/timeout/set/").await;
    assert!(
        set.set_cookie().contains("; Max-Age=600;"),
        "{}",
        engine.name
    );
    app.advance(599);
    let live = browser.get_json("/timeout/get/").await.json();
    assert_eq!(live["context"], json!({"name": "Sonam"}), "{}", engine.name);
    assert_eq!(live["session"]["expiry_age"], 600);
    app.advance(2);
    let expired = browser.get_json("/timeout/get/").await.json();
    assert_eq!(
        expired["context"],
        json!({"expired": true}),
        "{}: expired server-side",
        engine.name
    );
}

async fn test_cookie_flow(app: &TestApp, engine: &Engine) {
    let mut browser = Browser::new(app);
    browser.get_json("/testcookie/set/").await;
    let check = browser.get_json("/testcookie/check/").await.json();
    assert_eq!(check["context"]["worked"], true, "{}", engine.name);
    let del = browser.get_json("/testcookie/del/").await.json();
    assert_eq!(del["context"]["deleted"], true);
    let del_again = browser.get_json("/testcookie/del/").await;
    assert_eq!(del_again.status, 200);
    assert_eq!(del_again.json()["context"]["deleted"], false);
}

async fn sliding_page_session(app: &TestApp, engine: &Engine) {
    let mut browser = Browser::new(app);
    let set = browser.get_json("/pagesession/set/").await;
    let first = set.cookie_value("sessionid").unwrap();
    for _ in 0..3 {
        app.advance(15);
        let page = browser.get_json("/pagesession/get/").await;
        assert_eq!(
            page.json()["context"],
            json!({"name": "Sonam"}),
            "{}",
            engine.name
        );
        assert!(page.set_cookie().contains("; Max-Age=20;"));
    }
    app.advance(21);
    let expired = browser.get_json("/pagesession/get/").await;
    assert_eq!(
        expired.json()["context"],
        json!({"expired": true}),
        "{}",
        engine.name
    );
    // What the response does with the cookie is each Django engine's own: the file engine
    // deletes the expired file and creates a new session in its place, signed cookies start
    // afresh with a signed `{}`, the others delete the cookie.
    let cookie = expired.set_cookie();
    let value = expired.cookie_value("sessionid").unwrap_or_default();
    match engine.name {
        "file" => {
            assert!(is_generated_key(&value) && value != first, "{cookie}");
            assert!(cookie.contains("; Max-Age=20;"), "{cookie}");
        }
        "signed_cookies" => {
            assert!(value.starts_with("e30:"), "{cookie}");
            assert!(cookie.contains("; Max-Age=20;"), "{cookie}");
        }
        _ => assert!(
            cookie.starts_with("sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0;"),
            "{}: {cookie}",
            engine.name
        ),
    }
}

async fn settings_lesson_cookie(app: &TestApp, engine: &Engine) {
    let page = app.get_json("/settings/set/", None).await;
    let value = page.cookie_value("sessionname").unwrap();
    assert_eq!(
        page.set_cookie(),
        format!(
            "sessionname={value}; expires={}; HttpOnly; Max-Age=600; Path=/settings/; SameSite=Lax; Secure",
            http_date(app.now(), 600)
        ),
        "{}",
        engine.name
    );
}

async fn forged_or_unknown_cookies_are_never_adopted(app: &TestApp, engine: &Engine) {
    let forged =
        "sessionid=eyJuYW1lIjoiTWFsbG9yeSJ9:1r31eq:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let unknown = "sessionid=aaaaaaaabbbbbbbbccccccccdddddddd";
    for cookie in [forged, unknown] {
        let page = app.get_json("/basic/get/", Some(cookie)).await;
        assert_eq!(page.status, 200, "{}", engine.name);
        assert_eq!(
            page.json()["context"]["name"],
            "Guest",
            "{}: {cookie}",
            engine.name
        );
        let set = app.get_json("/basic/set/", Some(cookie)).await;
        let value = set.cookie_value("sessionid").unwrap();
        assert_ne!(format!("sessionid={value}"), cookie, "{}", engine.name);
    }
}

async fn clear_expired_removes_the_expired_sessions_of_the_engines_that_keep_them(
    app: &TestApp,
    engine: &Engine,
) {
    // Django's clear_expired: the db and cached_db engines delete the rows past their
    // expire_date, the file engine deletes the expired files, and the cache and
    // signed_cookies engines have nothing to do (cache entries and cookies expire by
    // themselves).
    let mut expiring = Browser::new(app);
    expiring.get_json("/timeout/set/").await;
    app.get_json("/timeout/set/", None).await;
    app.advance(601);
    let mut live = Browser::new(app);
    live.get_json("/timeout/set/").await;

    let swept = live.get_json("/timeout/del/").await.json();
    let again = expiring.get_json("/timeout/del/").await.json();

    let expected = match engine.name {
        "cache_memory" | "cache_redis" | "signed_cookies" => 0,
        _ => 2,
    };
    assert_eq!(
        swept["context"]["expired_sessions_removed"], expected,
        "{}",
        engine.name
    );
    assert_eq!(swept["context"]["ended_session"], true, "{}", engine.name);
    assert_eq!(
        again["context"],
        json!({"ended_session": false, "expired_sessions_removed": 0}),
        "{}: nothing left to clear, and the expired session is not ended twice",
        engine.name
    );
}

macro_rules! engine_suite {
    ($($engine:ident),* $(,)?) => {$(
        mod $engine {
            use super::*;

            #[actix_web::test]
            async fn set_get_delete() {
                let (app, engine) = spawn(stringify!($engine)).await;
                set_get_delete_in_insertion_order(&app, &engine).await;
            }

            #[actix_web::test]
            async fn dict_and_flush() {
                let (app, engine) = spawn(stringify!($engine)).await;
                dict_methods_and_flush(&app, &engine).await;
            }

            #[actix_web::test]
            async fn expiry() {
                let (app, engine) = spawn(stringify!($engine)).await;
                expiry_is_enforced_server_side(&app, &engine).await;
            }

            #[actix_web::test]
            async fn test_cookie() {
                let (app, engine) = spawn(stringify!($engine)).await;
                test_cookie_flow(&app, &engine).await;
            }

            #[actix_web::test]
            async fn sliding() {
                let (app, engine) = spawn(stringify!($engine)).await;
                sliding_page_session(&app, &engine).await;
            }

            #[actix_web::test]
            async fn settings_cookie() {
                let (app, engine) = spawn(stringify!($engine)).await;
                settings_lesson_cookie(&app, &engine).await;
            }

            #[actix_web::test]
            async fn clear_expired() {
                let (app, engine) = spawn(stringify!($engine)).await;
                clear_expired_removes_the_expired_sessions_of_the_engines_that_keep_them(&app, &engine).await;
            }

            #[actix_web::test]
            async fn no_fixation() {
                let (app, engine) = spawn(stringify!($engine)).await;
                forged_or_unknown_cookies_are_never_adopted(&app, &engine).await;
            }
        }
    )*};
}

engine_suite!(
    sqlite,
    postgres,
    file,
    signed_cookies,
    cache_memory,
    cache_redis,
    cached_db_memory,
    cached_db_redis,
);

#[actix_web::test]
async fn cache_redis_sessions_live_in_redis_with_the_sessions_ttl() {
    let (app, engine) = spawn("cache_redis").await;
    let prefix = &engine._redis.as_ref().unwrap().prefix;
    let key = app
        .get("/timeout/set/", None)
        .await
        .cookie_value("sessionid")
        .unwrap();
    let redis_key = format!("{prefix}django.contrib.sessions.cache{key}");
    assert_eq!(
        engine._redis.as_ref().unwrap().keys(),
        vec![redis_key.clone()]
    );
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let ttl: i64 = redis::cmd("TTL").arg(&redis_key).query(&mut conn).unwrap();
    assert!(
        (595..=600).contains(&ttl),
        "set_expiry(600) lives 600 s in Redis, got {ttl}"
    );
}

#[actix_web::test]
async fn cached_db_survives_a_cache_wipe() {
    let (app, engine) = spawn("cached_db_redis").await;
    let mut browser = Browser::new(&app);
    browser.get_json("/basic/set/").await;
    let redis = engine._redis.as_ref().unwrap();
    assert_eq!(redis.keys().len(), 1, "written through to the cache");
    assert!(redis.keys()[0].contains("django.contrib.sessions.cached_db"));
    redis.wipe();
    let page = browser.get_json("/basic/get/").await.json();
    assert_eq!(
        page["context"]["name"], "Sonam",
        "read back from the database"
    );
    assert_eq!(redis.keys().len(), 1, "and the cache was refilled");
}

#[actix_web::test]
async fn a_session_file_is_named_by_the_cookie_name_then_the_key() {
    // Django's file engine has no prefix setting of its own: the file is
    // `SESSION_FILE_PATH/<SESSION_COOKIE_NAME><key>`, holding the encoded data.
    let (app, _engine) = spawn("file").await;
    let settings_key = app
        .get_json("/settings/set/", None)
        .await
        .cookie_value("sessionname")
        .unwrap();
    let basic_key = app.new_session("/basic/set/").await;

    let files = app.data_dir.path().join("files");
    let mut names: Vec<String> = std::fs::read_dir(&files)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            format!("sessionid{basic_key}"),
            format!("sessionname{settings_key}")
        ]
    );
    let text = std::fs::read_to_string(files.join(format!("sessionid{basic_key}"))).unwrap();
    assert_eq!(text.split(':').count(), 3, "signed data: {text}");
}
