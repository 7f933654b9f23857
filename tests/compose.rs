//! There is no Docker engine where these tests run, so the compose file is kept honest by
//! reading it: the profile and environment it sets must exist and load, the Dockerfile must
//! agree with it, its build stage must copy in everything cargo reads, and the binary must
//! serve with exactly that profile and environment against a real Redis. The only
//! substitutions are what Docker itself provides: the `redis` host name (here 127.0.0.1), the
//! `/data` volume (here a temp dir) and the published port.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
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

/// One `COPY` of the build stage: sources in the build context, destination in the image.
#[derive(Debug)]
struct CopyLine {
    sources: Vec<String>,
    destination: String,
}

/// The Dockerfile's instructions, with continuation lines joined and comments dropped.
fn instructions(dockerfile: &str) -> Vec<String> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => current.push_str(head),
            None => {
                current.push_str(line);
                joined.push(std::mem::take(&mut current));
            }
        }
    }
    joined
}

/// The build stage's `WORKDIR` and the `COPY` lines that read the build context.
fn build_stage(dockerfile: &str) -> (String, Vec<CopyLine>) {
    let mut in_build = false;
    let mut workdir = String::from("/");
    let mut copies = Vec::new();
    for instruction in instructions(dockerfile) {
        let words: Vec<&str> = instruction.split_whitespace().collect();
        let Some((keyword, args)) = words.split_first() else {
            continue;
        };
        match keyword.to_ascii_uppercase().as_str() {
            "FROM" => in_build = args.last().is_some_and(|name| *name == "build"),
            "WORKDIR" if in_build => workdir = args.join(" "),
            "COPY" if in_build => {
                assert!(
                    !instruction.contains('['),
                    "the JSON form of COPY is not read here: {instruction}"
                );
                let args: Vec<&str> = args
                    .iter()
                    .copied()
                    .filter(|a| {
                        assert!(
                            !a.starts_with("--from"),
                            "a COPY from another stage: {instruction}"
                        );
                        !a.starts_with("--")
                    })
                    .collect();
                let (destination, sources) = args.split_last().expect("COPY has arguments");
                copies.push(CopyLine {
                    sources: sources.iter().map(|s| s.to_string()).collect(),
                    destination: destination.to_string(),
                });
            }
            _ => {}
        }
    }
    (workdir, copies)
}

/// The `.dockerignore` patterns, each a path in the build context (the only form used here).
fn dockerignore() -> Vec<PathBuf> {
    let text = std::fs::read_to_string(root().join(".dockerignore")).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|pattern| {
            assert!(
                !pattern.contains(['*', '?', '[', '!']),
                "only plain paths are read from .dockerignore: {pattern}"
            );
            PathBuf::from(pattern.trim_start_matches('/').trim_end_matches('/'))
        })
        .collect()
}

/// Copies `source` (relative to the repository) to `target`, leaving out ignored paths, as
/// Docker copies from a build context that `.dockerignore` has trimmed.
fn copy_from_context(source: &Path, target: &Path, ignored: &[PathBuf]) {
    if ignored.iter().any(|i| source.starts_with(i)) {
        return;
    }
    let from = root().join(source);
    if from.is_dir() {
        std::fs::create_dir_all(target).unwrap();
        for entry in std::fs::read_dir(&from).unwrap() {
            let name = entry.unwrap().file_name();
            copy_from_context(&source.join(&name), &target.join(&name), ignored);
        }
    } else {
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&from, target).unwrap_or_else(|e| panic!("COPY {}: {e}", source.display()));
    }
}

/// A directory holding what the build stage's `COPY` lines put in its `WORKDIR`.
fn assemble_build_context() -> tempfile::TempDir {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let (workdir, copies) = build_stage(&dockerfile);
    assert!(!copies.is_empty(), "the build stage copies the sources");
    let ignored = dockerignore();
    let dir = tempfile::tempdir().unwrap();
    for copy in copies {
        // An absolute destination is in the WORKDIR, a relative one from it.
        assert!(
            !copy.destination.starts_with('/') || copy.destination.starts_with(&workdir),
            "COPY outside the WORKDIR {workdir}: {copy:?}"
        );
        let destination = copy
            .destination
            .strip_prefix(workdir.as_str())
            .unwrap_or(&copy.destination)
            .trim_start_matches("./")
            .trim_start_matches('/');
        let destination = dir.path().join(destination);
        for source in &copy.sources {
            let source = Path::new(source);
            let target = if root().join(source).is_file() && copy.destination.ends_with('/') {
                destination.join(source.file_name().unwrap())
            } else {
                destination.clone()
            };
            copy_from_context(source, &target, &ignored);
        }
    }
    dir
}

#[test]
fn the_build_stage_copies_everything_cargo_needs_to_load_the_manifest() {
    let context = assemble_build_context();

    // `cargo build` reads every target of the manifest (the benches too) and Cargo.lock
    // (`--locked`) before it compiles anything; `cargo fetch` does the same, offline, with the
    // host's dependencies from the local cache, and compiles nothing.
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["fetch", "--offline", "--locked", "--target", "host-tuple"])
        .current_dir(context.path())
        .output()
        .unwrap();

    assert!(
        output.status.success(),
        "cargo cannot load the manifest from the Dockerfile's build context: {}",
        String::from_utf8_lossy(&output.stderr)
    );
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
