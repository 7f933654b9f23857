//! The `sessionlab` binary: bad configuration stops start-up with a message naming the file or
//! variable, the key and the allowed values; `config` redacts the secret; `clearsessions` does
//! what Django's command does.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_sessionlab");

/// A private copy of the committed config directory, plus `extra` files.
fn config_dir_with(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir(&config).unwrap();
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), config.join(entry.file_name())).unwrap();
    }
    for (name, text) in extra {
        std::fs::write(config.join(name), text).unwrap();
    }
    dir
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    command(dir, args, env).output().unwrap()
}

fn command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("APP_CONFIG_DIR", dir.join("config"))
        .env(
            "APP__DATABASE__URL",
            format!("sqlite://{}/db.sqlite3", dir.display()),
        )
        .env("APP__SERVER__PORT", "0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn refused(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(2), "start-up is refused");
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn an_unknown_key_in_a_profile_names_the_file_the_key_and_the_allowed_keys() {
    let dir = config_dir_with(&[("typo.toml", "[session]\ncookie_agee = 3\n")]);
    let err = refused(&run(dir.path(), &["--profile", "typo", "config"], &[]));
    assert!(err.contains("typo.toml"), "{err}");
    assert!(err.contains("cookie_agee"), "{err}");
    assert!(
        err.contains("`cookie_age`"),
        "lists the allowed keys: {err}"
    );
}

#[test]
fn a_bad_value_names_the_key_the_value_and_the_allowed_values() {
    let dir = config_dir_with(&[("lax.toml", "[lessons.basic]\ncookie_samesite = \"Loose\"\n")]);
    let err = refused(&run(dir.path(), &["--profile", "lax", "config"], &[]));
    assert!(err.contains("lax.toml"), "{err}");
    assert!(err.contains("lessons.basic.cookie_samesite"), "{err}");
    assert!(err.contains("Loose"), "{err}");
    assert!(
        err.contains("\"Lax\", \"Strict\", \"None\", false"),
        "{err}"
    );
}

#[test]
fn a_value_of_another_type_in_a_profile_is_refused_where_it_was_converted() {
    // Each was read as another value: `true`, the port 8000, the cookie name "5", a fallback
    // key "" (which signs as well as any).
    for (text, key, allowed) in [
        (
            "[lessons.basic]\ncookie_secure = 1\n",
            "lessons.basic.cookie_secure",
            "allowed values: true, false",
        ),
        (
            "[server]\nport = \"8000\"\n",
            "server.port",
            "an integer without quotes",
        ),
        (
            "[session]\ncookie_name = 5\n",
            "session.cookie_name",
            "a string, in quotes: \"5\"",
        ),
        (
            "secret_key_fallbacks = [\"\"]\n",
            "secret_key_fallbacks",
            "holds an empty key",
        ),
    ] {
        let dir = config_dir_with(&[("typed.toml", text)]);

        let err = refused(&run(dir.path(), &["--profile", "typed", "config"], &[]));

        let file = dir.path().join("config").join("typed.toml");
        assert!(
            err.starts_with(&format!(
                "sessionlab: cannot start: invalid configuration in {}: ",
                file.display()
            )),
            "{text}: {err}"
        );
        assert!(err.contains(&format!("`{key}`")), "{text}: {err}");
        assert!(err.contains(allowed), "{text}: {err}");
    }
}

#[test]
fn a_worker_count_or_redis_pool_the_server_cannot_make_is_refused_before_it_starts() {
    // actix-web panics on more than 512 workers; the Redis pool sets room aside for all its
    // connections and panicked on 2^64 - 1 ("capacity overflow").
    for (profile, variable, value, key, allowed) in [
        (
            "default",
            "APP__SERVER__WORKERS",
            "513",
            "server.workers",
            "from 1 to 512",
        ),
        (
            "redis",
            "APP__CACHES__DEFAULT__POOL_SIZE",
            "18446744073709551615",
            "caches.default.pool_size",
            "from 1 to 10000",
        ),
    ] {
        let dir = config_dir_with(&[]);

        let err = refused(&run(
            dir.path(),
            &["--profile", profile, "serve"],
            &[(variable, value)],
        ));

        assert!(
            err.contains(&format!(
                "environment variable {variable}: `{key}` = {value}"
            )),
            "{err}"
        );
        assert!(err.contains(allowed), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn a_bad_environment_variable_is_named() {
    let dir = config_dir_with(&[]);
    let err = refused(&run(
        dir.path(),
        &["config"],
        &[("APP__SESSION__ENGINE", "memcached")],
    ));
    assert!(err.contains("APP__SESSION__ENGINE"), "{err}");
    assert!(err.contains("memcached"), "{err}");
    assert!(
        err.contains("db, file, cache, cached_db, signed_cookies"),
        "{err}"
    );

    let err = refused(&run(
        dir.path(),
        &["config"],
        &[("APP__LESSONS__PAGESESSION__COOKIE_AGE", "soon")],
    ));
    assert!(
        err.contains("APP__LESSONS__PAGESESSION__COOKIE_AGE"),
        "{err}"
    );
    assert!(err.contains("lessons.pagesession.cookie_age"), "{err}");
}

#[test]
fn an_unknown_lesson_and_an_unknown_profile_are_refused() {
    let dir = config_dir_with(&[("nolesson.toml", "[lessons.intro]\ncookie_age = 3\n")]);
    let err = refused(&run(dir.path(), &["--profile", "nolesson", "config"], &[]));
    assert!(
        err.contains("intro") && err.contains("`pagesession`"),
        "{err}"
    );

    let err = refused(&run(dir.path(), &["--profile", "staging", "config"], &[]));
    assert!(err.contains("unknown profile `staging`"), "{err}");
    assert!(err.contains("available profiles: default"), "{err}");
    let err = refused(&run(dir.path(), &["config"], &[("APP_PROFILE", "staging")]));
    assert!(
        err.contains("unknown profile `staging`"),
        "APP_PROFILE is honoured: {err}"
    );
}

#[test]
fn out_of_range_values_are_refused() {
    let dir = config_dir_with(&[]);
    let err = refused(&run(
        dir.path(),
        &["config"],
        &[("APP__SESSION__COOKIE_AGE", "-5")],
    ));
    assert!(
        err.contains("cookie_age") && err.contains("-5") && err.contains("allowed"),
        "{err}"
    );
    let err = refused(&run(
        dir.path(),
        &["config"],
        &[("APP__SESSION__COOKIE_PATH", "basic")],
    ));
    assert!(
        err.contains("cookie_path") && err.contains("starting with `/`"),
        "{err}"
    );
    let err = refused(&run(
        dir.path(),
        &["config"],
        &[("APP__DATABASE__URL", "mysql://x")],
    ));
    assert!(
        err.contains("database.url") && err.contains("sqlite://"),
        "{err}"
    );
}

#[test]
fn production_refuses_the_development_secret() {
    let dir = config_dir_with(&[]);
    let err = refused(&run(
        dir.path(),
        &["--profile", "production", "config"],
        &[],
    ));
    assert!(
        err.contains("secret_key") && err.contains("APP__SECRET_KEY"),
        "{err}"
    );
    let ok = run(
        dir.path(),
        &["--profile", "production", "config"],
        &[(
            "APP__SECRET_KEY",
            "a-real-secret-of-sufficient-length-0123456789abcdef",
        )],
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn a_profile_given_as_a_path_is_refused_instead_of_loading_without_its_checks() {
    let dir = config_dir_with(&[]);
    for name in ["./production", "../config/production"] {
        let err = refused(&run(dir.path(), &["--profile", name, "config"], &[]));
        assert!(err.contains(&format!("{name:?}")), "{err}");
        assert!(err.contains("letters, digits, `-` and `_`"), "{err}");

        let err = refused(&run(dir.path(), &["config"], &[("APP_PROFILE", name)]));
        assert!(err.contains(&format!("{name:?}")), "APP_PROFILE: {err}");
    }
}

/// The secret key committed in config/default.toml, which anyone can read.
fn development_key() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    sessionlab::config::Settings::load_with_env(&dir, "default", Default::default())
        .unwrap()
        .secret_key
        .expose()
        .to_owned()
}

#[test]
fn production_refuses_the_development_key_as_a_fallback() {
    let dir = config_dir_with(&[]);
    let dev_key = development_key();
    let err = refused(&run(
        dir.path(),
        &["--profile", "production", "config"],
        &[
            (
                "APP__SECRET_KEY",
                "a-real-secret-of-sufficient-length-0123456789abcdef",
            ),
            ("APP__SECRET_KEY_FALLBACKS", &dev_key),
        ],
    ));
    assert!(
        err.contains("secret_key_fallbacks") && err.contains("development key"),
        "{err}"
    );
    assert!(
        !err.contains(&dev_key),
        "the key itself is not printed: {err}"
    );
}

#[test]
fn environment_values_reach_string_settings_exactly_as_written() {
    let dir = config_dir_with(&[]);
    let out = run(
        dir.path(),
        &["config"],
        &[
            ("APP__SESSION__COOKIE_NAME", "0042"),
            ("APP__LESSONS__BASIC__COOKIE_PATH", "/basic/"),
            ("APP__LESSONS__BASIC__COOKIE_AGE", "0060"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["lessons"]["dict"]["session"]["cookie_name"], "0042");
    assert_eq!(json["lessons"]["basic"]["session"]["cookie_age"], 60);
}

#[test]
fn a_cookie_age_with_a_fraction_is_refused_as_not_whole_seconds() {
    let dir = config_dir_with(&[("frac.toml", "[session]\ncookie_age = 59.9\n")]);
    let err = refused(&run(dir.path(), &["--profile", "frac", "config"], &[]));
    assert!(err.contains("frac.toml"), "{err}");
    assert!(
        err.contains("session.cookie_age") && err.contains("59.9"),
        "{err}"
    );
    assert!(err.contains("whole seconds"), "{err}");

    let err = refused(&run(
        dir.path(),
        &["config"],
        &[("APP__SESSION__COOKIE_AGE", "1.5")],
    ));
    assert!(err.contains("APP__SESSION__COOKIE_AGE"), "{err}");
    assert!(err.contains("whole seconds"), "{err}");
}

#[test]
fn a_default_toml_that_is_a_directory_is_named_as_such() {
    let dir = config_dir_with(&[]);
    let default = dir.path().join("config").join("default.toml");
    std::fs::remove_file(&default).unwrap();
    std::fs::create_dir(&default).unwrap();
    let err = refused(&run(dir.path(), &["config"], &[]));
    assert!(err.contains("default.toml is not a file"), "{err}");
}

#[test]
fn config_prints_effective_lesson_settings_without_the_secret() {
    let dir = config_dir_with(&[]);
    let out = run(
        dir.path(),
        &["config"],
        &[
            ("APP__LESSONS__PAGESESSION__COOKIE_AGE", "3"),
            ("APP__LESSONS__PLAYGROUND__COOKIE_AGE", "60"),
        ],
    );
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("django-insecure"), "the secret is redacted");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["secret_key"], "[redacted]");
    assert_eq!(json["lessons"]["pagesession"]["session"]["cookie_age"], 3);
    assert_eq!(
        json["lessons"]["settings"]["session"]["cookie_name"],
        "sessionname"
    );
    assert_eq!(
        json["lessons"]["basic"]["session"]["cookie_path"],
        "/basic/"
    );
    assert_eq!(
        json["lessons"]["basic"]["session"]["cookie_samesite"],
        "Lax"
    );
    assert_eq!(json["playground"]["path"], "/playground/");
    assert_eq!(json["playground"]["session"]["cookie_age"], 60);
    assert_eq!(json["playground"]["session"]["cookie_path"], "/playground/");
}

#[test]
fn config_and_clearsessions_end_quietly_when_their_reader_stops_reading() {
    // Arrange: standard output a pipe whose reading end is already closed, as `| head` leaves
    // it once it has its lines.
    let dir = config_dir_with(&[]);
    for subcommand in ["config", "clearsessions"] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);

        // Act
        let output = command(dir.path(), &[subcommand], &[])
            .stdout(writer)
            .output()
            .unwrap();

        // Assert
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{subcommand}: {stderr}");
        assert!(!stderr.contains("panicked"), "{subcommand}: {stderr}");
    }
}

#[test]
fn clearsessions_deletes_expired_rows_and_keeps_live_ones() {
    let dir = config_dir_with(&[]);
    // The first run creates the database, like `migrate`.
    let out = run(dir.path(), &["clearsessions"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("removed 0 expired"));

    let db = dir.path().join("db.sqlite3");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let remaining = rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        for (key, expire) in [
            ("expiredexpiredexpired00000000001", "2000-01-01 00:00:00"),
            (
                "expiredexpiredexpired00000000002",
                "2020-06-01 12:30:00.250000",
            ),
            ("livelivelivelivelivelive00000003", "2999-01-01 00:00:00"),
        ] {
            sqlx::query("INSERT INTO django_session VALUES (?, 'e30:1r31eq:x', ?)")
                .bind(key)
                .bind(expire)
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
        let out = run(dir.path(), &["clearsessions"], &[]);
        assert!(out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("removed 2 expired"),
            "{out:?}"
        );
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        let keys: Vec<(String,)> = sqlx::query_as("SELECT session_key FROM django_session")
            .fetch_all(&pool)
            .await
            .unwrap();
        keys
    });
    assert_eq!(
        remaining,
        vec![("livelivelivelivelivelive00000003".to_owned(),)]
    );
}

#[test]
fn clearsessions_clears_a_database_under_db_and_cached_db_once() {
    // Arrange: `/dict/` on cached_db, the other lessons on db, one SQLite file; two expired
    // sessions in it.
    let dir = config_dir_with(&[]);
    let env = [("APP__LESSONS__DICT__ENGINE", "cached_db")];
    assert!(run(dir.path(), &["clearsessions"], &env).status.success());
    let db = dir.path().join("db.sqlite3");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        for key in [
            "expiredexpiredexpired00000000001",
            "expiredexpiredexpired00000000002",
        ] {
            sqlx::query(
                "INSERT INTO django_session VALUES (?, 'e30:1r31eq:x', '2000-01-01 00:00:00')",
            )
            .bind(key)
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
    });

    // Act
    let out = run(dir.path(), &["clearsessions"], &env);

    // Assert: the database is cleared once, by the db store, and the cached_db line says so
    // rather than that it removed none.
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .collect::<Vec<_>>(),
        [
            "cached_db:default: cleared with db, on the same database",
            "db: removed 2 expired session(s) from db (SQLite)",
        ]
    );
}

#[test]
fn the_server_refuses_to_start_on_a_taken_port_with_a_clear_message() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let dir = config_dir_with(&[]);
    let out = run(dir.path(), &["serve"], &[("APP__SERVER__PORT", &port)]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );
}

#[test]
fn a_host_that_cannot_be_listened_on_is_named_as_the_host() {
    let dir = config_dir_with(&[]);
    let out = run(
        dir.path(),
        &["serve"],
        &[("APP__SERVER__HOST", "not-a-host.invalid")],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not-a-host.invalid"), "{err}");
    assert!(err.contains("APP__SERVER__HOST"), "{err}");
    assert!(!err.contains("APP__SERVER__PORT"), "{err}");

    // An address of another machine (TEST-NET-1, RFC 5737).
    let out = run(
        dir.path(),
        &["serve"],
        &[("APP__SERVER__HOST", "192.0.2.1")],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot listen on 192.0.2.1:0")
            && err.contains("not an address of this machine"),
        "{err}"
    );
    assert!(!err.contains("APP__SERVER__PORT"), "{err}");
}

#[test]
fn the_sweeper_period_is_checked() {
    let dir = config_dir_with(&[]);
    let err = refused(&run(
        dir.path(),
        &["config"],
        &[("APP__SESSION__CLEAR_EXPIRED_EVERY", "often")],
    ));
    assert!(
        err.contains("clear_expired_every") && err.contains("\"30m\""),
        "{err}"
    );
    let err = refused(&run(
        dir.path(),
        &["config"],
        &[("APP__LESSONS__BASIC__CLEAR_EXPIRED_EVERY", "1h")],
    ));
    assert!(err.contains("only in `[session]`"), "{err}");
}

#[test]
fn an_enabled_instructor_page_needs_a_long_enough_token() {
    let dir = config_dir_with(&[]);
    let err = refused(&run(
        dir.path(),
        &["config"],
        &[("APP__INSTRUCTOR__ENABLED", "true")],
    ));
    assert!(err.contains("APP__INSTRUCTOR__TOKEN"), "{err}");
    let err = refused(&run(
        dir.path(),
        &["config"],
        &[
            ("APP__INSTRUCTOR__ENABLED", "true"),
            ("APP__INSTRUCTOR__TOKEN", "short"),
        ],
    ));
    assert!(
        err.contains("instructor.token") && err.contains("16"),
        "{err}"
    );
}

#[test]
fn production_refuses_insecure_cookies_on_a_public_address() {
    let dir = config_dir_with(&[]);
    let secret = (
        "APP__SECRET_KEY",
        "a-real-secret-of-sufficient-length-0123456789abcdef",
    );
    let err = refused(&run(
        dir.path(),
        &["--profile", "production", "config"],
        &[secret, ("APP__LESSONS__BASIC__COOKIE_SECURE", "false")],
    ));
    assert!(
        err.contains("lesson `basic`") && err.contains("cookie_secure = false"),
        "{err}"
    );
    let behind_proxy = run(
        dir.path(),
        &["--profile", "production", "config"],
        &[
            secret,
            ("APP__LESSONS__BASIC__COOKIE_SECURE", "false"),
            ("APP__SERVER__HOST", "127.0.0.1"),
        ],
    );
    assert!(
        behind_proxy.status.success(),
        "{}",
        String::from_utf8_lossy(&behind_proxy.stderr)
    );
}

#[test]
fn clearsessions_says_when_an_engine_needs_no_clearing() {
    let dir = config_dir_with(&[]);
    let out = run(
        dir.path(),
        &["clearsessions"],
        &[("APP__SESSION__ENGINE", "cache")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "cache:default: nothing to clear; cache (memory) entries expire by themselves"
        ),
        "{text}"
    );

    let out = run(
        dir.path(),
        &["clearsessions"],
        &[("APP__SESSION__ENGINE", "signed_cookies")],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "signed_cookies (basic, dict, timeout, testcookie, settings, pagesession, playground)"
        ),
        "{text}"
    );
    assert!(text.contains("expire by themselves"), "{text}");

    let files = dir.path().join("files");
    std::fs::create_dir(&files).unwrap();
    let out = run(
        dir.path(),
        &["clearsessions"],
        &[
            ("APP__SESSION__ENGINE", "file"),
            ("APP__SESSION__FILE_PATH", files.to_str().unwrap()),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("file:sessionid: removed 0 expired session(s) from file")
    );
}

#[test]
fn clearsessions_on_the_signed_profile_names_every_signed_cookie_scope() {
    let dir = config_dir_with(&[]);
    let config = run(dir.path(), &["--profile", "signed", "config"], &[]);
    let json: serde_json::Value = serde_json::from_slice(&config.stdout).unwrap();
    assert_eq!(json["playground"]["session"]["engine"], "signed_cookies");

    let out = run(dir.path(), &["--profile", "signed", "clearsessions"], &[]);

    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "signed_cookies (basic, dict, timeout, testcookie, settings, pagesession, playground)"
        ),
        "{text}"
    );
}

/// A port nothing listens on at `host`.
fn free_port_on(host: &str) -> u16 {
    std::net::TcpListener::bind((host, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn healthcheck_asks_the_configured_host_and_names_it_when_nothing_answers() {
    let dir = config_dir_with(&[]);
    let port = free_port_on("::1").to_string();
    let env = [("APP__SERVER__HOST", "::1"), ("APP__SERVER__PORT", &port)];
    let mut cmd = Command::new(BIN);
    cmd.args(["serve"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("APP_CONFIG_DIR", dir.path().join("config"))
        .env(
            "APP__DATABASE__URL",
            format!("sqlite://{}/db.sqlite3", dir.path().display()),
        )
        .envs(env)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut server = cmd.spawn().unwrap();

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let healthy = loop {
        let check = run(dir.path(), &["healthcheck"], &env);
        if check.status.success() || std::time::Instant::now() > deadline {
            break check;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(
        healthy.status.success(),
        "the server on [::1] is found: {}",
        String::from_utf8_lossy(&healthy.stderr)
    );

    let down = run(dir.path(), &["healthcheck"], &env);
    assert!(!down.status.success());
    let err = String::from_utf8_lossy(&down.stderr);
    assert!(err.contains(&format!("[::1]:{port}")), "{err}");
}

#[test]
fn an_environment_that_is_not_utf8_is_read_where_it_is_ours_and_ignored_elsewhere() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = config_dir_with(&[]);
    let not_utf8 = OsStr::from_bytes(b"caf\xe9");
    let config = |name: &str| {
        Command::new(BIN)
            .arg("config")
            .env_clear()
            .env("APP_CONFIG_DIR", dir.path().join("config"))
            .env(name, not_utf8)
            .output()
            .unwrap()
    };

    // Another program's variable is none of sessionlab's business.
    let other = config("LC_SOMETHING");
    assert_eq!(
        other.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );

    // One of its own is refused by name, not with a panic.
    let err = refused(&config("APP__SECRET_KEY"));
    assert!(
        err.contains("environment variable APP__SECRET_KEY") && err.contains("not UTF-8"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_variable_with_one_underscore_after_app_is_refused_with_its_spelling() {
    let dir = config_dir_with(&[]);

    let err = refused(&run(
        dir.path(),
        &["config"],
        &[("APP_SERVER__PORT", "9000")],
    ));

    assert!(
        err.contains("environment variable APP_SERVER__PORT")
            && err.contains("allowed: APP__SERVER__PORT"),
        "{err}"
    );
}
