//! The real server on a random port, with a clock the test moves, spoken to over HTTP.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::header::{HeaderMap, SET_COOKIE, VARY};
use sessionlab::config::{Settings, config_dir};
use sessionlab::session::FakeClock;
use sessionlab::startup::Application;

/// A running sessionlab with its own data directory and a fake clock.
pub struct TestApp {
    pub address: String,
    pub clock: Arc<FakeClock>,
    pub data_dir: tempfile::TempDir,
    pub client: reqwest::Client,
    pub settings: Settings,
    handle: actix_web::dev::ServerHandle,
}

/// A response, read whole.
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// Every `Set-Cookie` header value.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    /// The single `Set-Cookie` value, failing if there is not exactly one.
    pub fn set_cookie(&self) -> String {
        let all = self.set_cookies();
        assert_eq!(all.len(), 1, "expected one Set-Cookie, got {all:?}");
        all.into_iter().next().unwrap()
    }

    /// The value the `Set-Cookie` gives cookie `name`, if any.
    pub fn cookie_value(&self, name: &str) -> Option<String> {
        self.set_cookies().iter().find_map(|c| {
            let (pair, _) = c.split_once(';').unwrap_or((c, ""));
            let (n, v) = pair.split_once('=')?;
            (n == name).then(|| v.to_owned())
        })
    }

    pub fn vary(&self) -> Option<String> {
        self.headers
            .get(VARY)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Loads the committed configuration with `overrides` as environment variables, on port 0 and
/// a database in `data_dir`.
pub fn test_settings(data_dir: &std::path::Path, overrides: &[(&str, &str)]) -> Settings {
    let mut env = BTreeMap::from([
        ("APP__SERVER__PORT".to_owned(), "0".to_owned()),
        ("APP__SERVER__WORKERS".to_owned(), "2".to_owned()),
        (
            "APP__DATABASE__URL".to_owned(),
            format!("sqlite://{}/sessions.sqlite3", data_dir.display()),
        ),
    ]);
    for (k, v) in overrides {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    Settings::load_with_env(&config_dir(), "default", env).expect("test settings load")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    let data_dir = tempfile::tempdir().unwrap();
    let settings = test_settings(data_dir.path(), overrides);
    spawn_with_settings(settings, data_dir, Arc::new(FakeClock::at_wall_clock())).await
}

pub async fn spawn_with_settings(
    settings: Settings,
    data_dir: tempfile::TempDir,
    clock: Arc<FakeClock>,
) -> TestApp {
    sessionlab::telemetry::init_for_tests();
    let app = Application::build_with_clock(settings.clone(), clock.clone())
        .await
        .expect("the app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    actix_web::rt::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        address,
        clock,
        data_dir,
        client,
        settings,
        handle,
    }
}

impl TestApp {
    /// GET `path` with the `Cookie` header `cookie` (if any), as HTML.
    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Page {
        self.request(reqwest::Method::GET, path, cookie, "text/html")
            .await
    }

    /// GET `path` asking for JSON.
    pub async fn get_json(&self, path: &str, cookie: Option<&str>) -> Page {
        self.request(reqwest::Method::GET, path, cookie, "application/json")
            .await
    }

    /// GET `path` (a view that saves) without a cookie; the key of the new session it made.
    pub async fn new_session(&self, path: &str) -> String {
        let page = self.get_json(path, None).await;
        page.cookie_value("sessionid")
            .unwrap_or_else(|| panic!("{path} made no session: {} {}", page.status, page.body))
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        cookie: Option<&str>,
        accept: &str,
    ) -> Page {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.address))
            .header("Accept", accept);
        if let Some(cookie) = cookie {
            req = req.header("Cookie", cookie);
        }
        let res = req.send().await.expect("the server answers");
        Page {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: res.text().await.unwrap(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        sessionlab::session::Clock::now(self.clock.as_ref())
    }

    pub fn advance(&self, seconds: i64) {
        self.clock.advance(TimeDelta::seconds(seconds));
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.path().join("sessions.sqlite3")
    }

    /// Reads the `django_session` rows straight from the SQLite file.
    pub async fn rows(&self) -> Vec<(String, String, String)> {
        let url = format!("sqlite://{}", self.db_path().display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT session_key, session_data, expire_date FROM django_session ORDER BY expire_date")
                .fetch_all(&pool)
                .await
                .unwrap();
        pool.close().await;
        rows
    }

    pub async fn stop(self) -> tempfile::TempDir {
        self.handle.stop(true).await;
        self.data_dir
    }
}

/// A minimal browser cookie jar for one host: keeps cookies by (name, path), sends the ones
/// whose path covers the request, drops them on `Max-Age<=0`.
#[derive(Default, Clone)]
pub struct Jar {
    cookies: BTreeMap<(String, String), String>,
}

impl Jar {
    pub fn store(&mut self, page: &Page) {
        for header in page.set_cookies() {
            let mut parts = header.split(';').map(str::trim);
            let (name, value) = parts.next().unwrap().split_once('=').unwrap();
            let mut path = "/".to_owned();
            let mut delete = false;
            for attr in parts {
                if let Some(p) = attr.strip_prefix("Path=") {
                    path = p.to_owned();
                }
                if let Some(age) = attr.strip_prefix("Max-Age=") {
                    delete = age.parse::<i64>().unwrap() <= 0;
                }
            }
            let id = (name.to_owned(), path);
            if delete {
                self.cookies.remove(&id);
            } else {
                self.cookies.insert(id, value.to_owned());
            }
        }
    }

    pub fn header_for(&self, request_path: &str) -> Option<String> {
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .filter(|((_, path), _)| request_path.starts_with(path.as_str()))
            .map(|((name, _), value)| format!("{name}={value}"))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    pub fn len(&self) -> usize {
        self.cookies.len()
    }
}

/// A browser-like client: a jar plus the app.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub jar: Jar,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            jar: Jar::default(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let cookie = self.jar.header_for(path);
        let page = self.app.get(path, cookie.as_deref()).await;
        self.jar.store(&page);
        page
    }

    pub async fn get_json(&mut self, path: &str) -> Page {
        let cookie = self.jar.header_for(path);
        let page = self.app.get_json(path, cookie.as_deref()).await;
        self.jar.store(&page);
        page
    }
}

/// `now + seconds` as the cookie `expires` attribute.
pub fn http_date(at: DateTime<Utc>, seconds: i64) -> String {
    sessionlab::session::expiry::http_date(at + TimeDelta::seconds(seconds))
}

/// A PostgreSQL schema of its own for one test, dropped when the guard goes.
pub struct PgSchema {
    pub name: String,
    pub url: String,
}

/// The PostgreSQL server the tests use (`SESSIONLAB_TEST_POSTGRES_URL` overrides it).
pub fn postgres_admin_url() -> String {
    std::env::var("SESSIONLAB_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

impl PgSchema {
    pub async fn create() -> PgSchema {
        let name = format!(
            "sessionlab_it_{}",
            sessionlab::session::key::new_session_key().unwrap()
        );
        let admin = postgres_admin_url();
        let pool = sqlx::PgPool::connect(&admin)
            .await
            .expect("PostgreSQL is running");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{name}\"")))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let url = format!("{admin}?options=-c%20search_path%3D{name}");
        PgSchema { name, url }
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let name = self.name.clone();
        let admin = postgres_admin_url();
        // Its own thread and runtime: Drop may run inside (or outside) an async runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(pool) = sqlx::PgPool::connect(&admin).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP SCHEMA IF EXISTS \"{name}\" CASCADE"
                    )))
                    .execute(&pool)
                    .await;
                    pool.close().await;
                }
            });
        })
        .join();
    }
}

/// A TCP forwarder in front of a real service that a test can cut off and restore, to play
/// "the database went away and came back" without touching the shared service.
pub struct FaultyProxy {
    pub port: u16,
    upstream: String,
    cut: Arc<std::sync::atomic::AtomicBool>,
    generation: Arc<std::sync::atomic::AtomicU64>,
}

impl FaultyProxy {
    /// Starts forwarding 127.0.0.1:<port> to `upstream` (host:port).
    pub async fn start(upstream: &str) -> FaultyProxy {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let generation = Arc::new(AtomicU64::new(0));
        let proxy = FaultyProxy {
            port,
            upstream: upstream.to_owned(),
            cut: cut.clone(),
            generation: generation.clone(),
        };
        let upstream = upstream.to_owned();
        actix_web::rt::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if cut.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let cut = cut.clone();
                let born = generation.load(Ordering::SeqCst);
                let generation = generation.clone();
                actix_web::rt::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let copy = tokio::io::copy_bidirectional(&mut client, &mut server);
                    let watch = async {
                        while !cut.load(Ordering::SeqCst)
                            && generation.load(Ordering::SeqCst) == born
                        {
                            actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
                        }
                    };
                    tokio::select! { _ = copy => {}, _ = watch => {} }
                });
            }
        });
        proxy
    }

    /// Drops every open connection and refuses new ones.
    pub async fn cut(&self) {
        use std::sync::atomic::Ordering;
        self.cut.store(true, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
        // Let every forwarding task notice and close its sockets.
        actix_web::rt::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    /// Accepts and forwards connections again.
    pub fn restore(&self) {
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// `url` (a database or Redis URL naming the upstream's address) with the proxy's address
    /// instead, so that a client given it connects through the proxy.
    pub fn reroute(&self, url: &str) -> String {
        assert!(
            url.contains(&self.upstream),
            "{url} does not name the proxied {}",
            self.upstream
        );
        url.replace(&self.upstream, &format!("127.0.0.1:{}", self.port))
    }
}

/// A Redis key prefix of its own for one test; its keys are deleted when the guard goes.
pub struct RedisPrefix {
    pub prefix: String,
}

/// The Redis server the tests use (`SESSIONLAB_TEST_REDIS_URL` overrides it): database 9, not
/// the default 0, so that whatever else the machine keeps in Redis does not slow their scans.
pub fn redis_url() -> String {
    std::env::var("SESSIONLAB_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/9".to_owned())
}

impl RedisPrefix {
    pub fn new() -> RedisPrefix {
        RedisPrefix {
            prefix: format!(
                "sessionlab-it-{}:",
                sessionlab::session::key::new_session_key().unwrap()
            ),
        }
    }

    /// The keys under this prefix. By `SCAN`, not `KEYS`: on a Redis holding many other keys,
    /// `KEYS` stops the server for as long as it walks them all (a second for a million), and
    /// the tests running beside this one would see their Redis time out. (`SCAN` may return
    /// a key twice while Redis resizes its table; each is listed once.)
    pub fn keys(&self) -> Vec<String> {
        let client = redis::Client::open(redis_url()).unwrap();
        let mut conn = client.get_connection().unwrap();
        redis::cmd("SCAN")
            .cursor_arg(0)
            .arg("MATCH")
            .arg(format!("{}*", self.prefix))
            .arg("COUNT")
            .arg(1000)
            .clone()
            .iter::<String>(&mut conn)
            .unwrap()
            .collect::<Result<std::collections::BTreeSet<_>, _>>()
            .unwrap()
            .into_iter()
            .collect()
    }

    /// Deletes every key under this prefix (a cache wipe).
    pub fn wipe(&self) {
        let keys = self.keys();
        if keys.is_empty() {
            return;
        }
        let client = redis::Client::open(redis_url()).unwrap();
        let mut conn = client.get_connection().unwrap();
        let _: () = redis::cmd("DEL").arg(keys).query(&mut conn).unwrap();
    }
}

impl Drop for RedisPrefix {
    fn drop(&mut self) {
        self.wipe();
    }
}

/// An answer read off the wire by [`raw_request`].
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Header names in lower case, values as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// Every value of header `name` (lower case).
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The value the answer's `Set-Cookie` gives cookie `name`, if any.
    pub fn cookie_value(&self, name: &str) -> Option<String> {
        self.header_values("set-cookie").into_iter().find_map(|c| {
            let (pair, _) = c.split_once(';').unwrap_or((c, ""));
            let (n, v) = pair.split_once('=')?;
            (n == name).then(|| v.to_owned())
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// Sends `request` byte for byte to `address` (`http://127.0.0.1:<port>`) and reads the answer
/// until the server closes the connection (send `Connection: close`), within 30 seconds. For
/// requests no HTTP client library would send: NUL bytes, heads that never end.
///
/// A server that answers before reading all of a large request may reset the connection while
/// it is still being written: the write error is ignored and the answer read all the same.
pub async fn raw_request(address: &str, request: &[u8]) -> std::io::Result<RawResponse> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = address.trim_start_matches("http://");
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(host).await?;
        let _ = stream.write_all(request).await;
        let mut answer = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                // A reset after the answer arrived ends the answer, not the test.
                Err(e) if !answer.is_empty() => {
                    let _ = e;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        parse_raw_response(&answer, request.starts_with(b"HEAD "))
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), exchange)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in 30 s"))?
}

/// The answer's status, headers and body. The answer to a HEAD (`to_head`) has no body
/// whatever its `Content-Length` says: whatever came after its head is returned as the body.
fn parse_raw_response(answer: &[u8], to_head: bool) -> std::io::Result<RawResponse> {
    let invalid = |why: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{why}: {:?}",
                String::from_utf8_lossy(&answer[..answer.len().min(200)])
            ),
        )
    };
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| invalid("no complete answer head"))?;
    let head = std::str::from_utf8(&answer[..end]).map_err(|_| invalid("head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid("no status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &answer[end + 4..];
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let body = if to_head {
        rest.to_vec()
    } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut body = Vec::new();
        let mut at = 0;
        loop {
            let line_end = rest[at..]
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| invalid("truncated chunk"))?;
            let size_text = std::str::from_utf8(&rest[at..at + line_end])
                .map_err(|_| invalid("bad chunk size"))?;
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| invalid("bad chunk size"))?;
            at += line_end + 2;
            if size == 0 {
                break;
            }
            let chunk = rest
                .get(at..at + size)
                .ok_or_else(|| invalid("truncated chunk"))?;
            body.extend_from_slice(chunk);
            at += size + 2;
        }
        body
    } else if let Some(length) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        rest.get(..length)
            .ok_or_else(|| invalid("body shorter than its Content-Length"))?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok(RawResponse {
        status,
        headers,
        body,
    })
}

/// The server on one session engine (for every lesson and the playground), with whatever must
/// outlive it: the file engine's directory, a Redis prefix, a PostgreSQL schema.
pub struct EngineApp {
    pub app: TestApp,
    pub engine: &'static str,
    /// The file engine's directory (`<data dir>/files`).
    pub files: Option<PathBuf>,
    pub redis: Option<RedisPrefix>,
    pub schema: Option<PgSchema>,
}

/// Spawns the server with `engine`: `sqlite`, `postgres`, `file`, `signed_cookies`,
/// `cache_memory`, `cache_redis`, `cached_db_memory` or `cached_db_redis`; `extra` overrides
/// more settings.
pub async fn spawn_engine(engine: &'static str, extra: &[(&str, &str)]) -> EngineApp {
    let data_dir = tempfile::tempdir().unwrap();
    let mut files = None;
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
            let dir = data_dir.path().join("files");
            std::fs::create_dir(&dir).unwrap();
            set("APP__SESSION__ENGINE", "file");
            set("APP__SESSION__FILE_PATH", dir.to_str().unwrap());
            files = Some(dir);
        }
        "signed_cookies" => set("APP__SESSION__ENGINE", "signed_cookies"),
        "cache_memory" => set("APP__SESSION__ENGINE", "cache"),
        "cached_db_memory" => set("APP__SESSION__ENGINE", "cached_db"),
        "cache_redis" | "cached_db_redis" => {
            set("APP__SESSION__ENGINE", engine.trim_end_matches("_redis"));
            set("APP__CACHES__DEFAULT__BACKEND", "redis");
            let prefix = RedisPrefix::new();
            set("APP__CACHES__DEFAULT__URL", &redis_url());
            set("APP__CACHES__DEFAULT__KEY_PREFIX", &prefix.prefix);
            redis = Some(prefix);
        }
        other => panic!("unknown engine {other}"),
    }
    for (k, v) in extra {
        set(k, v);
    }
    let pairs: Vec<(&str, &str)> = overrides
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let settings = test_settings(data_dir.path(), &pairs);
    let app = spawn_with_settings(settings, data_dir, Arc::new(FakeClock::at_wall_clock())).await;
    EngineApp {
        app,
        engine,
        files,
        redis,
        schema,
    }
}

/// A port nothing listens on at `host`: the OS's choice for a listener that is closed at once
/// (a store's URL that must refuse connections, a server's port to come).
pub fn free_port_on(host: &str) -> u16 {
    std::net::TcpListener::bind((host, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether `key` has the form of a key sessionlab makes: 32 characters of `[a-z0-9]`.
pub fn is_generated_key(key: &str) -> bool {
    key.len() == 32
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A `sessionlab serve` process of the real binary; its address is read from its start-up log,
/// which is then drained (and kept, for assertions) so the server never blocks on the pipe.
pub struct Server {
    pub child: std::process::Child,
    pub address: String,
    pub log: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    /// Starts the binary with `env` over the default configuration, on port 0.
    pub fn start(env: &[(&str, &str)]) -> Server {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};
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
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let address = loop {
            let line = lines.next().expect("the server logs its address").unwrap();
            log.lock().unwrap().push(line.clone());
            if let Some(at) = line.find("http://127.0.0.1:") {
                break line[at..]
                    .trim_end_matches(|c: char| c != '/')
                    .trim_end_matches('/')
                    .to_owned();
            }
        };
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        Server {
            child,
            address,
            log,
        }
    }

    /// Sends SIGTERM, as a service manager stops a service.
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits up to `limit` for the process to exit; `None` if it is still running.
    pub fn wait_for_exit(
        &mut self,
        limit: std::time::Duration,
    ) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Python interpreter with Django 5.2 for the tests that compare with Django itself:
/// `SESSIONLAB_DJANGO_PYTHON`, or the venv `scripts/test.sh` creates at target/django-venv.
/// Without one the caller skips (saying so) unless `SESSIONLAB_REQUIRE_DJANGO` is set, as it
/// is under `scripts/test.sh`, where a missing Django fails the test.
pub fn django_python() -> Option<PathBuf> {
    let python = std::env::var_os("SESSIONLAB_DJANGO_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/django-venv/bin/python")
        });
    if python.exists() {
        return Some(python);
    }
    assert!(
        std::env::var_os("SESSIONLAB_REQUIRE_DJANGO").is_none(),
        "Django is required but {} does not exist (run scripts/test.sh)",
        python.display()
    );
    eprintln!(
        "skipping: no Django interpreter at {} (run scripts/test.sh)",
        python.display()
    );
    None
}

/// A size-limited tmpfs mounted over a directory, unmounted when dropped (lazily, so a failing
/// test leaves no mount behind even with files still open).
pub struct SmallFilesystem {
    mount_point: PathBuf,
}

impl SmallFilesystem {
    /// Mounts `size` of tmpfs over `dir`, or says why it cannot (mounting needs root).
    pub fn mount(dir: &std::path::Path, size: &str) -> Result<SmallFilesystem, String> {
        let out = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed (it needs root): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(SmallFilesystem {
            mount_point: dir.to_owned(),
        })
    }

    /// Writes a filler file until the filesystem refuses more; returns its path.
    pub fn fill(&self) -> PathBuf {
        use std::io::Write as _;
        let path = self.mount_point.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let block = [0u8; 1024];
        loop {
            match file.write_all(&block) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(28) => return path, // ENOSPC
                Err(e) => panic!("filling the filesystem failed otherwise: {e}"),
            }
        }
    }
}

impl Drop for SmallFilesystem {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.mount_point)
            .status();
    }
}

/// Runs the script `tests/django/<script>` with the Django interpreter `python` and `args`,
/// and returns the JSON it prints; fails the test with Django's stderr when it fails.
pub fn run_django(python: &std::path::Path, script: &str, args: &[&str]) -> serde_json::Value {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/django")
        .join(script);
    let out = std::process::Command::new(python)
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "django failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
