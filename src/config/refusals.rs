//! Every key the configuration accepts, refused well: each bad value of each key, written in a
//! profile file and set through its `APP__…` variable, must stop loading with a message that
//! names that one source, the key as dotted in the file, and what the key allows. The keys come
//! from the readers themselves, so a key added later without an entry here fails the test.

use std::collections::BTreeSet;

use super::fixtures::{committed_config, load, with_test_profile};
use super::lessons::LESSON_SLUGS;
use super::schema::{self, Kind};
use super::{DEFAULT_PROFILE, Settings};

/// Each key, dotted as in a file (one lesson and one cache standing for all), with the values
/// of the right type that it refuses, and a part of what the refusal must say it allows.
const BAD_VALUES: &[(&str, &[(&str, &str)])] = &[
    ("secret_key", &[("\"\"", "any non-empty string")]),
    (
        "secret_key_fallbacks",
        &[
            ("[\"\"]", "holds an empty key"),
            ("[\"old\", \" \"]", "holds an empty key"),
        ],
    ),
    (
        "server.host",
        &[
            ("\"\"", "an address or host name"),
            ("\" \"", "an address or host name"),
        ],
    ),
    (
        "server.port",
        &[("-1", "from 0 to 65535"), ("65536", "from 0 to 65535")],
    ),
    // actix-web panics on more than 512 workers.
    (
        "server.workers",
        &[("0", WORKERS), ("-1", WORKERS), ("513", WORKERS)],
    ),
    ("server.trust_forwarded_headers", &[]),
    (
        "database.url",
        &[
            ("\"\"", "sqlite://relative/path.sqlite3"),
            ("\"mysql://db\"", "sqlite://relative/path.sqlite3"),
            ("\"sqlite://\"", "sqlite://relative/path.sqlite3"),
        ],
    ),
    (
        "database.max_connections",
        &[("0", "1 or more"), ("5000000000", "1 or more")],
    ),
    (
        "session.engine",
        &[
            ("\"redis\"", ENGINES),
            ("\"\"", ENGINES),
            ("\"DB\"", ENGINES),
        ],
    ),
    (
        "session.cookie_age",
        &[
            ("-1", "from 0 to 3153600000"),
            ("3153600001", "from 0 to 3153600000"),
        ],
    ),
    (
        "session.cookie_name",
        &[
            ("\"\"", COOKIE_NAME),
            ("\"a b\"", COOKIE_NAME),
            ("\"a;b\"", COOKIE_NAME),
        ],
    ),
    (
        "session.cookie_domain",
        &[("\"a b\"", "a host name"), ("\"a;b\"", "a host name")],
    ),
    (
        "session.cookie_path",
        &[
            ("\"\"", COOKIE_PATH),
            ("\"basic/\"", COOKIE_PATH),
            ("\"/a;b\"", COOKIE_PATH),
        ],
    ),
    ("session.cookie_secure", &[]),
    ("session.cookie_httponly", &[]),
    (
        "session.cookie_samesite",
        &[("\"Loose\"", SAMESITE), ("\"\"", SAMESITE)],
    ),
    ("session.expire_at_browser_close", &[]),
    ("session.save_every_request", &[]),
    (
        "session.file_path",
        &[
            ("\"\"", "an existing directory"),
            ("\" \"", "an existing directory"),
        ],
    ),
    (
        "session.cache_alias",
        &[("\"\"", "the alias of a `[caches.<alias>]` table")],
    ),
    (
        "session.clear_expired_every",
        &[
            ("\"\"", "such as \"90s\""),
            ("\"soon\"", "such as \"90s\""),
            ("\"5\"", "such as \"90s\""),
            ("\"0s\"", "1s or more"),
        ],
    ),
    ("lessons.basic.engine", &[("\"redis\"", ENGINES)]),
    (
        "lessons.basic.cookie_age",
        &[("-1", "from 0 to 3153600000")],
    ),
    ("lessons.basic.cookie_name", &[("\"\"", COOKIE_NAME)]),
    ("lessons.basic.cookie_domain", &[("\"a b\"", "a host name")]),
    ("lessons.basic.cookie_path", &[("\"basic/\"", COOKIE_PATH)]),
    ("lessons.basic.cookie_secure", &[]),
    ("lessons.basic.cookie_httponly", &[]),
    ("lessons.basic.cookie_samesite", &[("\"Loose\"", SAMESITE)]),
    ("lessons.basic.expire_at_browser_close", &[]),
    ("lessons.basic.save_every_request", &[]),
    (
        "lessons.basic.file_path",
        &[("\"\"", "an existing directory")],
    ),
    (
        "lessons.basic.cache_alias",
        &[("\"\"", "the alias of a `[caches.<alias>]` table")],
    ),
    (
        "lessons.basic.clear_expired_every",
        &[("\"1h\"", "allowed only in `[session]`")],
    ),
    (
        "caches.default.backend",
        &[("\"memcached\"", BACKENDS), ("\"\"", BACKENDS)],
    ),
    (
        "caches.default.url",
        &[
            ("\"\"", REDIS_URL),
            ("\"http://redis\"", REDIS_URL),
            ("\"rediss://redis\"", REDIS_URL),
            ("\"redis://redis:63 79\"", REDIS_URL),
        ],
    ),
    // Any text is a prefix, the empty one none.
    ("caches.default.key_prefix", &[]),
    (
        "caches.default.max_bytes",
        &[("0", "1 or more"), ("-1", "1 or more")],
    ),
    (
        "caches.default.pool_size",
        // The pool sets room aside for all its connections at once.
        &[
            ("0", POOL_SIZE),
            ("-1", POOL_SIZE),
            ("10001", POOL_SIZE),
            ("4294967296", POOL_SIZE),
        ],
    ),
    (
        "caches.default.timeout_ms",
        &[("0", "1 or more"), ("-1", "1 or more")],
    ),
    ("instructor.enabled", &[]),
    // Too short a token is refused only with the page enabled (load.rs's tests).
    (
        "instructor.token",
        &[
            ("\"                \"", "not all blank"),
            ("\"\t \"", "not all blank"),
        ],
    ),
];

const WORKERS: &str = "a whole number from 1 to 512";
const POOL_SIZE: &str = "a whole number from 1 to 10000";
const ENGINES: &str = "allowed values: db, file, cache, cached_db, signed_cookies";
const COOKIE_NAME: &str = "allowed: letters, digits and";
const COOKIE_PATH: &str = "allowed: a path starting with `/`";
const SAMESITE: &str = "allowed values: \"Lax\", \"Strict\", \"None\", false";
const BACKENDS: &str = "allowed values: memory, redis";
const REDIS_URL: &str = "allowed: redis://host:port/db";

/// The values of another TOML type that a file may not give a key of `kind`, and a part of
/// what the refusal must say the key takes.
fn wrong_types(kind: Kind) -> Vec<(&'static str, &'static str)> {
    match kind {
        Kind::Text => vec![
            ("5", "a string"),
            ("true", "a string"),
            ("1.5", "a string"),
            ("{ a = 1 }", "a string"),
            ("[\"x\"]", "a string"),
        ],
        Kind::Flag => vec![
            ("1", FLAG),
            ("0", FLAG),
            ("0.5", FLAG),
            ("\"yes\"", FLAG),
            ("\"true\"", FLAG),
            ("[true]", FLAG),
        ],
        Kind::WholeNumber(allowed) => vec![
            ("\"8\"", allowed),
            ("1.5", allowed),
            ("true", allowed),
            ("{ a = 1 }", allowed),
        ],
        Kind::KeyList => vec![
            ("5", "a list of keys"),
            ("\"old,older\"", "a list of keys"),
            ("[5]", "a list of keys"),
            ("{ a = 1 }", "a list of keys"),
        ],
        Kind::SameSite => vec![
            ("\"false\"", SAMESITE),
            ("0", SAMESITE),
            ("true", SAMESITE),
            ("[\"Lax\"]", SAMESITE),
        ],
    }
}

const FLAG: &str = "allowed values: true, false";

/// Text that a variable may not give a key of `kind` (what it takes is checked above).
fn bad_texts(kind: Kind) -> Vec<(&'static str, &'static str)> {
    match kind {
        Kind::Text | Kind::KeyList => vec![],
        Kind::Flag => vec![("maybe", FLAG), ("", FLAG)],
        Kind::WholeNumber(allowed) => vec![
            ("x", allowed),
            ("1.5", allowed),
            ("", allowed),
            (" 8", allowed),
        ],
        Kind::SameSite => vec![("true", SAMESITE), ("Loose", SAMESITE)],
    }
}

/// The variable that sets `key` (`session.cookie_age` → `APP__SESSION__COOKIE_AGE`).
fn variable(key: &str) -> String {
    format!("APP__{}", key.replace('.', "__").to_ascii_uppercase())
}

/// `key = value` as a file writes it, in its section.
fn file_text(key: &str, value: &str) -> String {
    match key.rsplit_once('.') {
        Some((section, name)) => format!("[{section}]\n{name} = {value}\n"),
        None => format!("{key} = {value}\n"),
    }
}

/// The kind of `key`, dotted.
fn kind(key: &str) -> Kind {
    let path: Vec<&str> = key.split('.').collect();
    schema::kind_of(&path).unwrap_or_else(|| panic!("`{key}` is not in the schema"))
}

/// The text of the refusal `result` is, failing `case` if it is no refusal.
fn refusal_text(result: Result<Settings, super::ConfigError>, case: &str) -> String {
    match result {
        Ok(_) => panic!("{case}: accepted"),
        Err(error) => error.to_string(),
    }
}

/// Asserts that `key`'s variable set to `text` is refused by that variable alone, naming
/// `key` and `allowed`.
fn assert_variable_refused(key: &str, text: &str, allowed: &str) {
    let name = variable(key);
    let result = load(DEFAULT_PROFILE, &[(&name, text)]);
    let source = format!("environment variable {name}");
    assert_refused(
        result,
        &source,
        key,
        &[allowed],
        &format!("{name}={text:?}"),
    );
}

/// Asserts that `result` is a refusal by `source` alone, naming `key` and one of `allowed`.
fn assert_refused(
    result: Result<Settings, super::ConfigError>,
    source: &str,
    key: &str,
    allowed: &[&str],
    case: &str,
) {
    let message = refusal_text(result, case);
    assert!(
        message.starts_with(&format!("invalid configuration in {source}: ")),
        "{case}: {message}"
    );
    assert!(message.contains(&format!("`{key}`")), "{case}: {message}");
    assert!(
        allowed.iter().any(|a| message.contains(a)),
        "{case}: {message}"
    );
    assert!(!message.contains("untagged"), "{case}: {message}");
}

/// Loads the committed configuration with a profile `test` holding `text`.
fn load_profile(text: &str) -> (tempfile::TempDir, Result<Settings, super::ConfigError>) {
    let dir = with_test_profile(text);
    let result = Settings::load_with_env(dir.path(), "test", Default::default());
    (dir, result)
}

#[test]
fn every_bad_value_of_every_key_is_refused_from_a_file_and_from_its_variable() {
    for (key, values) in BAD_VALUES {
        for (value, allowed) in *values {
            let (dir, result) = load_profile(&file_text(key, value));
            let file = dir.path().join("test.toml").display().to_string();
            assert_refused(result, &file, key, &[allowed], &format!("{key} = {value}"));

            // A list has no form of its own in a variable (keys separated by commas).
            if matches!(kind(key), Kind::KeyList) {
                continue;
            }
            assert_variable_refused(key, value.trim_matches('"'), allowed);
        }
    }
}

#[test]
fn every_key_refuses_a_value_of_another_type_in_a_file_and_unparsable_text_in_its_variable() {
    for (key, values) in BAD_VALUES {
        for (value, expected) in wrong_types(kind(key)) {
            let (dir, result) = load_profile(&file_text(key, value));
            let file = dir.path().join("test.toml").display().to_string();
            // A key with values of its own (an engine) may be refused by naming them.
            let mut allowed = vec![expected];
            allowed.extend(values.iter().map(|(_, allowed)| *allowed));
            assert_refused(result, &file, key, &allowed, &format!("{key} = {value}"));
        }
        for (text, expected) in bad_texts(kind(key)) {
            assert_variable_refused(key, text, expected);
        }
    }
}

#[test]
fn every_key_misspelled_is_refused_with_the_keys_of_its_section() {
    for (key, _) in BAD_VALUES {
        let misspelled = format!("{key}x");
        let (section, name) = misspelled.rsplit_once('.').unwrap_or(("", &misspelled));
        let siblings: Vec<&str> = section_keys(key);

        let (_dir, file) = load_profile(&file_text(&misspelled, "1"));
        let env = load(DEFAULT_PROFILE, &[(&variable(&misspelled), "1")]);

        for (result, case) in [(file, "file"), (env, "variable")] {
            let message = refusal_text(result, &format!("{misspelled} ({case})"));
            assert!(
                message.contains(&format!("unknown field `{name}`")),
                "{case}: {message}"
            );
            if !section.is_empty() {
                assert!(
                    message.contains(&format!("key `{section}`")),
                    "{case}: {message}"
                );
            }
            for sibling in siblings.iter() {
                assert!(
                    message.contains(&format!("`{sibling}`")),
                    "{case}: {message}"
                );
            }
        }
    }
}

#[test]
fn every_section_written_as_a_list_is_refused_naming_the_section() {
    for (text, section) in [
        ("[[server]]\nport = 1\n", "server"),
        ("[[database]]\nmax_connections = 1\n", "database"),
        ("[[session]]\ncookie_age = 1\n", "session"),
        ("lessons = [1]\n", "lessons"),
        ("[[lessons.basic]]\ncookie_age = 1\n", "lessons.basic"),
        ("caches = [1]\n", "caches"),
        (
            "[[caches.default]]\nbackend = \"memory\"\n",
            "caches.default",
        ),
        ("[[instructor]]\nenabled = false\n", "instructor"),
    ] {
        let (dir, result) = load_profile(text);

        let file = dir.path().join("test.toml").display().to_string();
        let expected = format!("expected one table: [{section}]");
        assert_refused(result, &file, section, &[&expected], text);
    }
}

/// The keys of the section `key` is in, as the schema lists them.
fn section_keys(key: &str) -> Vec<&'static str> {
    let path: Vec<&str> = key.split('.').collect();
    let keys: &[(&str, Kind)] = match path.as_slice() {
        [_] => &schema::TOP_KEYS,
        ["server", _] => &schema::SERVER_KEYS,
        ["database", _] => &schema::DATABASE_KEYS,
        ["session", _] | ["lessons", _, _] => &schema::SESSION_KEYS,
        ["caches", _, _] => &schema::CACHE_KEYS,
        ["instructor", _] => &schema::INSTRUCTOR_KEYS,
        _ => panic!("`{key}` is in no section"),
    };
    keys.iter().map(|(name, _)| *name).collect()
}

/// The keys the reader of `section` accepts, as its refusal of an unknown key lists them.
fn keys_the_reader_accepts(section: &str) -> BTreeSet<String> {
    let probe = if section.is_empty() {
        "probe_key".to_owned()
    } else {
        format!("{section}.probe_key")
    };
    let (_dir, result) = load_profile(&file_text(&probe, "1"));
    let Err(error) = result else {
        panic!("{probe} is accepted")
    };
    let message = error.to_string();
    let (_, listed) = message
        .split_once("expected ")
        .unwrap_or_else(|| panic!("no key listed: {message}"));
    listed
        .split('`')
        .skip(1)
        .step_by(2)
        .map(String::from)
        .collect()
}

#[test]
fn the_table_and_the_schema_hold_every_key_the_readers_accept() {
    let mut accepted = BTreeSet::new();
    for section in [
        "",
        "server",
        "database",
        "session",
        "lessons.basic",
        "caches.default",
        "instructor",
    ] {
        for key in keys_the_reader_accepts(section) {
            if section.is_empty() && schema::SECTIONS.contains(&key.as_str()) {
                continue;
            }
            accepted.insert(if section.is_empty() {
                key
            } else {
                format!("{section}.{key}")
            });
        }
    }
    let table: BTreeSet<String> = BAD_VALUES.iter().map(|(key, _)| key.to_string()).collect();

    let mut in_schema = BTreeSet::new();
    for (section, keys) in [
        ("", &schema::TOP_KEYS[..]),
        ("server.", &schema::SERVER_KEYS),
        ("database.", &schema::DATABASE_KEYS),
        ("session.", &schema::SESSION_KEYS),
        ("lessons.basic.", &schema::SESSION_KEYS),
        ("caches.default.", &schema::CACHE_KEYS),
        ("instructor.", &schema::INSTRUCTOR_KEYS),
    ] {
        in_schema.extend(keys.iter().map(|(key, _)| format!("{section}{key}")));
    }

    assert_eq!(
        table, accepted,
        "keys in the table, keys the readers accept"
    );
    assert_eq!(
        in_schema, accepted,
        "keys in the schema, keys the readers accept"
    );
    assert_eq!(
        keys_the_reader_accepts("lessons"),
        LESSON_SLUGS.iter().map(|s| s.to_string()).collect()
    );
}

#[test]
fn every_key_of_the_committed_profiles_is_in_the_table() {
    let table: BTreeSet<String> = BAD_VALUES.iter().map(|(key, _)| key.to_string()).collect();
    for profile in super::available_profiles(&committed_config()) {
        let file = committed_config().join(format!("{profile}.toml"));
        let values = config::Source::collect(&config::File::from(file)).unwrap();
        let mut keys = Vec::new();
        dotted_keys(&values, "", &mut keys);
        for key in keys {
            // One lesson and one cache stand for all in the table.
            let mut parts: Vec<&str> = key.split('.').collect();
            match parts.as_slice() {
                ["lessons", _, _] => parts[1] = "basic",
                ["caches", _, _] => parts[1] = "default",
                _ => {}
            }
            let key = parts.join(".");
            assert!(
                table.contains(&key),
                "{profile}.toml: `{key}` is not in the table"
            );
        }
    }
}

fn dotted_keys(values: &config::Map<String, config::Value>, prefix: &str, keys: &mut Vec<String>) {
    for (key, value) in values {
        let dotted = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match &value.kind {
            config::ValueKind::Table(inner) => dotted_keys(inner, &dotted, keys),
            _ => keys.push(dotted),
        }
    }
}

#[test]
fn every_key_of_the_right_type_still_loads_from_a_file() {
    let good = |kind: Kind| match kind {
        Kind::Text => "\"text\"",
        Kind::Flag => "true",
        Kind::WholeNumber(_) => "8",
        Kind::KeyList => "[\"an-older-key\"]",
        Kind::SameSite => "false",
    };
    // Values that a key's own checks refuse whatever their type, replaced by good ones.
    let value_for = |key: &str| match key {
        "database.url" => "\"sqlite::memory:\"",
        "session.engine" | "lessons.basic.engine" => "\"file\"",
        "session.cookie_path" | "lessons.basic.cookie_path" => "\"/\"",
        "session.clear_expired_every" => "\"1h\"",
        "session.cache_alias" | "lessons.basic.cache_alias" => "\"default\"",
        "caches.default.backend" => "\"memory\"",
        "caches.default.url" => "\"redis://127.0.0.1:6379/0\"",
        "instructor.enabled" => "false",
        "lessons.basic.clear_expired_every" => "",
        key => good(kind(key)),
    };
    for (key, _) in BAD_VALUES {
        let value = value_for(key);
        if value.is_empty() {
            continue;
        }
        let (_dir, result) = load_profile(&file_text(key, value));

        assert!(
            result.is_ok(),
            "{key} = {value}: {}",
            result.err().map(|e| e.to_string()).unwrap_or_default()
        );
    }
}
