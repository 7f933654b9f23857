//! There is no Docker engine where these tests run, so the compose file is kept honest by
//! reading it: the profile and environment it sets must exist and load, the Dockerfile must
//! agree with it, and the binary must serve with exactly that profile and environment against
//! a real Redis. The only substitutions are what Docker itself provides: the `redis` host name
//! (here 127.0.0.1), the `/data` volume (here a temp dir) and the published port.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sessionlab::config::{Settings, config_dir};
use yaml_rust2::{Yaml, YamlLoader};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn compose() -> Yaml {
    let text = std::fs::read_to_string(root().join("docker-compose.yml")).unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

fn app_environment(compose: &Yaml) -> BTreeMap<String, String> {
    compose["services"]["app"]["environment"]
        .as_hash()
        .expect("app.environment is a map")
        .iter()
        .map(|(k, v)| {
            let value = match v {
                Yaml::String(s) => s.clone(),
                Yaml::Integer(i) => i.to_string(),
                Yaml::Boolean(b) => b.to_string(),
                other => panic!("unexpected value {other:?}"),
            };
            (k.as_str().unwrap().to_owned(), value)
        })
        .collect()
}

#[test]
fn the_compose_file_describes_app_and_redis_with_healthchecks_and_a_volume() {
    let c = compose();
    let app = &c["services"]["app"];
    assert_eq!(app["build"].as_str(), Some("."));
    let ports: Vec<&str> = app["ports"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(ports, ["8000:8000"]);
    let volumes: Vec<&str> = app["volumes"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(volumes, ["sessionlab-data:/data"]);
    assert!(
        !c["volumes"]["sessionlab-data"].is_badvalue(),
        "the named volume is declared"
    );
    let check: Vec<&str> = app["healthcheck"]["test"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(check, ["CMD", "/app/sessionlab", "healthcheck"]);
    assert_eq!(
        app["depends_on"]["redis"]["condition"].as_str(),
        Some("service_healthy")
    );
    let redis = &c["services"]["redis"];
    assert!(redis["image"].as_str().unwrap().starts_with("redis:"));
    assert!(!redis["healthcheck"].is_badvalue());
}

#[test]
fn the_profile_and_environment_it_sets_load() {
    let env = app_environment(&compose());
    let profile = env.get("APP_PROFILE").expect("APP_PROFILE is set");
    assert!(
        config_dir().join(format!("{profile}.toml")).is_file(),
        "config/{profile}.toml exists"
    );
    let app_vars: BTreeMap<String, String> = env
        .iter()
        .filter(|(k, _)| k.starts_with("APP__"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let settings = Settings::load_with_env(&config_dir(), profile, app_vars)
        .unwrap_or_else(|e| panic!("the compose environment does not load: {e}"));
    assert_eq!(
        settings.server.host, "0.0.0.0",
        "reachable through the published port"
    );
    assert_eq!(settings.server.port, 8000);
    let basic = settings.lesson_session("basic", "/basic/");
    assert_eq!(basic.engine.name(), "cached_db");
    assert_eq!(
        settings.cache(&basic.cache_alias).unwrap().url.as_deref(),
        Some("redis://redis:6379/0")
    );
}

#[test]
fn the_dockerfile_agrees_with_the_compose_file() {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let env = app_environment(&compose());
    assert!(dockerfile.contains(&format!("APP_PROFILE={}", env["APP_PROFILE"])));
    assert!(dockerfile.contains("EXPOSE 8000"));
    assert!(dockerfile.contains("AS build"), "multi-stage");
    let user = dockerfile
        .lines()
        .find(|l| l.starts_with("USER "))
        .expect("a USER line");
    assert_ne!(user.trim(), "USER root", "runs as a non-root user");
    assert!(dockerfile.contains("CMD [\"/app/sessionlab\", \"healthcheck\"]"));
    assert!(dockerfile.contains("APP_CONFIG_DIR=/app/config"));
    assert!(dockerfile.contains("cargo build --release --locked"));
}

/// Runs `sessionlab` with the compose environment, adjusted only for what Docker provides.
fn compose_command(args: &[&str], data: &Path, port: u16) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sessionlab"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (key, value) in app_environment(&compose()) {
        let value = value
            .replace("redis://redis:", "redis://127.0.0.1:")
            .replace("sqlite:///data/", &format!("sqlite://{}/", data.display()));
        cmd.env(key, value);
    }
    cmd.env("APP__SERVER__PORT", port.to_string());
    cmd
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_binary_serves_with_the_compose_profile_and_environment_against_real_redis() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = compose_command(&["serve"], data.path(), port)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let healthy = loop {
        let status = compose_command(&["healthcheck"], data.path(), port)
            .status()
            .unwrap();
        if status.success() || Instant::now() > deadline {
            break status.success();
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(healthy, "the container's healthcheck passes");

    // A session goes to Redis (cached_db prefix) and to SQLite on the volume.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let key = rt.block_on(async {
        let res = reqwest::get(format!("http://127.0.0.1:{port}/basic/set/"))
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
        cookie
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("sessionid=")
            .to_owned()
    });
    let client = redis::Client::open("redis://127.0.0.1:6379/0").unwrap();
    let mut conn = client.get_connection().unwrap();
    let redis_key = format!("django.contrib.sessions.cached_db{key}");
    let exists: bool = redis::cmd("EXISTS")
        .arg(&redis_key)
        .query(&mut conn)
        .unwrap();
    let _: () = redis::cmd("DEL").arg(&redis_key).query(&mut conn).unwrap();
    assert!(exists, "the session is in Redis");
    assert!(
        data.path().join("sessions.sqlite3").is_file(),
        "and in SQLite on the volume"
    );

    server.kill().unwrap();
    server.wait().unwrap();
    let down = compose_command(&["healthcheck"], data.path(), port)
        .status()
        .unwrap();
    assert!(
        !down.success(),
        "the healthcheck fails when the server is gone"
    );
}
