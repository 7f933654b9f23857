//! Running sessionlab: the background sweeper, `/healthz`, and several processes sharing one
//! store.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{PgSchema, spawn_app_with};

#[actix_web::test]
async fn the_sweeper_deletes_expired_sessions_in_the_background() {
    let app = spawn_app_with(&[("APP__SESSION__CLEAR_EXPIRED_EVERY", "1s")]).await;
    app.get("/pagesession/set/", None).await;
    app.get("/basic/set/", None).await;
    assert_eq!(app.rows().await.len(), 2);
    app.advance(21);
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.rows().await.len() != 1 {
        assert!(Instant::now() < deadline, "the sweeper did not run");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn healthz_reports_each_store() {
    let app = spawn_app_with(&[("APP__LESSONS__SETTINGS__ENGINE", "signed_cookies")]).await;
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status, 200);
    let json = health.json();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["stores"]["db"]["status"], "ok");
    assert_eq!(json["stores"]["db"]["store"], "db (SQLite)");
    // The whole answer, in this order: nothing else is said about a healthy store.
    assert_eq!(
        health.body,
        r#"{"status":"ok","stores":{"db":{"store":"db (SQLite)","status":"ok"}}}"#
    );
}

/// A `sessionlab serve` process; its port is read from its start-up log.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sessionlab"));
        cmd.arg("serve")
            .env("APP__SERVER__PORT", "0")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let address = loop {
            let line = lines.next().expect("the server logs its address").unwrap();
            if let Some(at) = line.find("http://127.0.0.1:") {
                let rest = &line[at..];
                break rest
                    .trim_end_matches(|c: char| c != '/')
                    .trim_end_matches('/')
                    .to_owned();
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, address }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn get(client: &reqwest::Client, url: String, cookie: Option<&str>) -> reqwest::Response {
    let mut req = client.get(url).header("Accept", "application/json");
    if let Some(cookie) = cookie {
        req = req.header("Cookie", cookie);
    }
    req.send().await.unwrap()
}

#[actix_web::test]
async fn two_processes_on_one_postgresql_database_serve_the_same_sessions() {
    let schema = PgSchema::create().await;
    let env = [("APP__DATABASE__URL", schema.url.as_str())];
    let (a, b) = (Server::start(&env), Server::start(&env));
    let client = reqwest::Client::new();

    let set = get(&client, format!("{}/dict/set/", a.address), None).await;
    let cookie = set.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let on_b: serde_json::Value = get(&client, format!("{}/dict/get/", b.address), Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        on_b["context"]["name"], "Sonam",
        "process B reads what A wrote"
    );
    let flushed = get(&client, format!("{}/dict/flush/", b.address), Some(&cookie)).await;
    assert_eq!(flushed.status(), 200);
    let on_a: serde_json::Value = get(&client, format!("{}/dict/get/", a.address), Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        on_a["context"]["name"],
        serde_json::Value::Null,
        "B's flush ended it for A"
    );
}

#[actix_web::test]
async fn two_processes_on_one_redis_serve_the_same_sessions() {
    let prefix = common::RedisPrefix::new();
    let redis_url = common::redis_url();
    let env = [
        ("APP__SESSION__ENGINE", "cache"),
        ("APP__CACHES__DEFAULT__BACKEND", "redis"),
        ("APP__CACHES__DEFAULT__URL", redis_url.as_str()),
        ("APP__CACHES__DEFAULT__KEY_PREFIX", prefix.prefix.as_str()),
        ("APP__DATABASE__URL", "sqlite::memory:"),
    ];
    let (a, b) = (Server::start(&env), Server::start(&env));
    let client = reqwest::Client::new();
    let set = get(&client, format!("{}/testcookie/set/", a.address), None).await;
    let cookie = set.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let on_b: serde_json::Value = get(
        &client,
        format!("{}/testcookie/check/", b.address),
        Some(&cookie),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        on_b["context"]["worked"], true,
        "process B reads what A wrote to Redis"
    );
}

#[actix_web::test]
async fn the_access_log_has_a_line_per_request_unless_its_target_is_silenced() {
    for (filter, logged) in [("info", true), ("info,sessionlab::access=off", false)] {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/sessions.sqlite3", dir.path().display());
        // The shared helper keeps the server's log lines.
        let server = common::Server::start(&[("APP__DATABASE__URL", &url), ("RUST_LOG", filter)]);
        let client = reqwest::Client::new();
        let health = get(&client, format!("{}/healthz", server.address), None).await;
        assert_eq!(health.status(), 200);
        // The line is written after the answer is sent: give it a moment.
        let deadline = Instant::now() + Duration::from_secs(2);
        let found = loop {
            let found = server
                .log
                .lock()
                .unwrap()
                .iter()
                .any(|line| line.contains("\"GET /healthz HTTP/1.1\" 200"));
            if found || Instant::now() > deadline {
                break found;
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(found, logged, "RUST_LOG={filter}");
    }
}

#[actix_web::test]
async fn the_log_has_no_colour_codes_when_it_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/sessions.sqlite3", dir.path().display());
    // Its standard error is a pipe, as under docker, systemd or `2> file`.
    let server = common::Server::start(&[("APP__DATABASE__URL", &url)]);
    let client = reqwest::Client::new();
    assert_eq!(
        get(&client, format!("{}/healthz", server.address), None)
            .await
            .status(),
        200
    );
    let deadline = Instant::now() + Duration::from_secs(2);
    while !server
        .log
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("/healthz"))
    {
        assert!(Instant::now() < deadline, "the access line is logged");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }

    let log = server.log.lock().unwrap().clone();

    let coloured: Vec<&String> = log.iter().filter(|line| line.contains('\u{1b}')).collect();
    assert!(coloured.is_empty(), "escape codes in the log: {coloured:?}");
    assert!(
        log.iter()
            .any(|line| line.contains(" INFO sessionlab::commands: sessionlab is serving")),
        "{log:?}"
    );
}

#[actix_web::test]
async fn a_store_that_does_not_answer_at_start_is_named_in_the_log() {
    let closed_port = common::free_port_on("127.0.0.1");
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/sessions.sqlite3", dir.path().display());
    let redis = format!("redis://127.0.0.1:{closed_port}/9");

    // The server starts (Redis is an outage, not a refusal), and says so before any request.
    let server = common::Server::start(&[
        ("APP__DATABASE__URL", url.as_str()),
        ("APP__SESSION__ENGINE", "cache"),
        ("APP__CACHES__DEFAULT__BACKEND", "redis"),
        ("APP__CACHES__DEFAULT__URL", redis.as_str()),
        ("APP__CACHES__DEFAULT__TIMEOUT_MS", "500"),
    ]);

    let log = server.log.lock().unwrap().clone();
    let warning = log
        .iter()
        .find(|line| line.contains("does not answer at start"))
        .unwrap_or_else(|| panic!("no warning in {log:?}"));
    assert!(
        warning.contains(" WARN ")
            && warning.contains("store=cache:default")
            && warning.contains("Connection refused"),
        "{warning}"
    );
}

#[actix_web::test]
async fn a_rust_log_that_does_not_parse_is_named_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/sessions.sqlite3", dir.path().display());

    let server = common::Server::start(&[
        ("APP__DATABASE__URL", url.as_str()),
        ("RUST_LOG", "warn,sessionlab=loud"),
    ]);

    let log = server.log.lock().unwrap().clone();
    let warning = log
        .iter()
        .find(|line| line.contains("RUST_LOG is not a log filter"))
        .unwrap_or_else(|| panic!("no warning in {log:?}"));
    assert!(
        warning.contains(" WARN ") && warning.contains("info,tokio_postgres=warn"),
        "{warning}"
    );
}
