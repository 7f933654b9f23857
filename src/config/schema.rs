//! Every key a configuration file may hold, with the TOML type it takes, so that a file that
//! writes a value of another type (`cookie_secure = 1`, `port = "8000"`, `cookie_name = 5`) is
//! refused, where the `config` crate would convert it without a word (`1` to `true`, `5` to
//! `"5"`). An environment variable is text, which each key's reader parses.

use config::{Map, Value, ValueKind};

use super::read::COUNT_ALLOWED;

/// The TOML type a key takes in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A string in quotes.
    Text,
    /// `true` or `false`.
    Flag,
    /// An integer, with what it allows.
    WholeNumber(&'static str),
    /// A list of strings (`secret_key_fallbacks`).
    KeyList,
    /// A policy name in quotes, or `false` (`cookie_samesite`).
    SameSite,
}

/// The keys at the top of a file, outside any section.
pub(super) const TOP_KEYS: [(&str, Kind); 2] = [
    ("secret_key", Kind::Text),
    ("secret_key_fallbacks", Kind::KeyList),
];

/// `[server]`.
pub(super) const SERVER_KEYS: [(&str, Kind); 4] = [
    ("host", Kind::Text),
    ("port", Kind::WholeNumber(super::server::PORT_ALLOWED)),
    ("workers", Kind::WholeNumber(super::server::WORKERS_ALLOWED)),
    ("trust_forwarded_headers", Kind::Flag),
];

/// `[database]`.
pub(super) const DATABASE_KEYS: [(&str, Kind); 2] = [
    ("url", Kind::Text),
    ("max_connections", Kind::WholeNumber(COUNT_ALLOWED)),
];

/// `[session]` and each `[lessons.<slug>]`.
pub(super) const SESSION_KEYS: [(&str, Kind); 13] = [
    ("engine", Kind::Text),
    (
        "cookie_age",
        Kind::WholeNumber(super::overrides::COOKIE_AGE_ALLOWED),
    ),
    ("cookie_name", Kind::Text),
    ("cookie_domain", Kind::Text),
    ("cookie_path", Kind::Text),
    ("cookie_secure", Kind::Flag),
    ("cookie_httponly", Kind::Flag),
    ("cookie_samesite", Kind::SameSite),
    ("expire_at_browser_close", Kind::Flag),
    ("save_every_request", Kind::Flag),
    ("file_path", Kind::Text),
    ("cache_alias", Kind::Text),
    ("clear_expired_every", Kind::Text),
];

/// Each `[caches.<alias>]`.
pub(super) const CACHE_KEYS: [(&str, Kind); 6] = [
    ("backend", Kind::Text),
    ("url", Kind::Text),
    ("key_prefix", Kind::Text),
    ("max_bytes", Kind::WholeNumber(COUNT_ALLOWED)),
    (
        "pool_size",
        Kind::WholeNumber(super::cache::POOL_SIZE_ALLOWED),
    ),
    ("timeout_ms", Kind::WholeNumber(COUNT_ALLOWED)),
];

/// `[instructor]`.
pub(super) const INSTRUCTOR_KEYS: [(&str, Kind); 2] =
    [("enabled", Kind::Flag), ("token", Kind::Text)];

/// The kind of the key at `path` (`["lessons", "basic", "cookie_age"]`), if there is such a
/// key.
pub(super) fn kind_of(path: &[&str]) -> Option<Kind> {
    let (keys, key): (&[(&str, Kind)], &str) = match path {
        [key] => (&TOP_KEYS, key),
        ["server", key] => (&SERVER_KEYS, key),
        ["database", key] => (&DATABASE_KEYS, key),
        ["session", key] | ["lessons", _, key] => (&SESSION_KEYS, key),
        ["caches", _, key] => (&CACHE_KEYS, key),
        ["instructor", key] => (&INSTRUCTOR_KEYS, key),
        _ => return None,
    };
    keys.iter()
        .find(|(name, _)| *name == key)
        .map(|(_, kind)| *kind)
}

/// The sections of a file; `[lessons]` and `[caches]` hold one table per lesson or alias.
pub(super) const SECTIONS: [&str; 6] = [
    "server",
    "database",
    "session",
    "lessons",
    "caches",
    "instructor",
];

/// Checks that no section of a file is a list (`[[session]]`, `server = [1]`), which the
/// reader would name by its first item (`session[0]`) as a string it expected; any other value
/// in place of a table is refused by the reader, with the form the section takes.
pub(super) fn check_file_sections(values: &Map<String, Value>) -> Result<(), String> {
    for (name, value) in values
        .iter()
        .filter(|(name, _)| SECTIONS.contains(&name.as_str()))
    {
        let tables = match &value.kind {
            ValueKind::Array(_) => return Err(a_list_for_a_table(name)),
            ValueKind::Table(tables) if matches!(name.as_str(), "lessons" | "caches") => tables,
            _ => continue,
        };
        for (inner, value) in tables {
            if matches!(value.kind, ValueKind::Array(_)) {
                return Err(a_list_for_a_table(&format!("{name}.{inner}")));
            }
        }
    }
    Ok(())
}

fn a_list_for_a_table(section: &str) -> String {
    format!(
        "key `{section}`: invalid type: a list (such as [[{section}]]), expected one table: [{section}]"
    )
}

/// Checks that every value of a file has its key's TOML type; the error names the key, as
/// dotted in the file, what was written and what the key takes. Keys that are not in the
/// schema are left to the reader, which refuses them with the keys allowed.
pub(super) fn check_file_types(values: &Map<String, Value>) -> Result<(), String> {
    let mut path = Vec::new();
    check_table(values, &mut path)
}

fn check_table<'a>(table: &'a Map<String, Value>, path: &mut Vec<&'a str>) -> Result<(), String> {
    for (key, value) in table {
        path.push(key);
        match (&value.kind, kind_of(path)) {
            (_, Some(kind)) => check_value(path, &value.kind, kind)?,
            (ValueKind::Table(inner), None) => check_table(inner, path)?,
            _ => {}
        }
        path.pop();
    }
    Ok(())
}

fn check_value(path: &[&str], value: &ValueKind, kind: Kind) -> Result<(), String> {
    let fits = match (kind, value) {
        (Kind::Text, ValueKind::String(_)) | (Kind::Flag, ValueKind::Boolean(_)) => true,
        (Kind::WholeNumber(_), kind) => is_integer(kind),
        (Kind::KeyList, ValueKind::Array(keys)) => keys
            .iter()
            .all(|key| matches!(key.kind, ValueKind::String(_))),
        // `true` is refused by the policy's reader, with the policies allowed.
        (Kind::SameSite, ValueKind::Boolean(_)) => true,
        (Kind::SameSite, ValueKind::String(text)) => !text.eq_ignore_ascii_case("false"),
        _ => false,
    };
    if fits {
        return Ok(());
    }
    // A secret written with the wrong type is still a secret: the message names only its type.
    let secret = matches!(
        path,
        ["secret_key" | "secret_key_fallbacks"] | ["instructor", "token"]
    );
    let (written, expected) = match secret {
        true => (secret_type_name(value), expected(kind, None)),
        false => (written(value), expected(kind, Some(value))),
    };
    Err(format!(
        "key `{}`: invalid type: {written}, expected {expected}",
        path.join(".")
    ))
}

fn is_integer(kind: &ValueKind) -> bool {
    matches!(
        kind,
        ValueKind::I64(_) | ValueKind::I128(_) | ValueKind::U64(_) | ValueKind::U128(_)
    )
}

/// What was written, as a reader of the file would name it.
fn written(value: &ValueKind) -> String {
    match value {
        ValueKind::String(text) => format!("string {text:?}"),
        ValueKind::Boolean(flag) => format!("boolean `{flag}`"),
        ValueKind::Float(number) => format!("floating point `{number}`"),
        ValueKind::Table(_) | ValueKind::Array(_) | ValueKind::Nil => type_name(value).to_owned(),
        number => format!("integer `{number}`"),
    }
}

/// The TOML type of a secret's `value`, and of the first key of a list that is not a string.
fn secret_type_name(value: &ValueKind) -> String {
    let not_text = |key: &&Value| !matches!(key.kind, ValueKind::String(_));
    match value {
        ValueKind::Array(keys) => match keys.iter().find(not_text) {
            Some(key) => format!("a list holding {}", type_name(&key.kind)),
            None => type_name(value).to_owned(),
        },
        _ => type_name(value).to_owned(),
    }
}

/// The TOML type of `value`.
fn type_name(value: &ValueKind) -> &'static str {
    match value {
        ValueKind::String(_) => "a string",
        ValueKind::Boolean(_) => "a boolean",
        ValueKind::Float(_) => "a floating point number",
        ValueKind::Table(_) => "a table",
        ValueKind::Array(_) => "a list",
        ValueKind::Nil => "nothing",
        _ => "an integer",
    }
}

/// What `kind` takes, with how to write `value` (when it may be shown) where it was nearly
/// right: a number or a boolean for a string.
fn expected(kind: Kind, value: Option<&ValueKind>) -> String {
    match kind {
        Kind::Text => match value {
            Some(
                scalar @ (ValueKind::Boolean(_)
                | ValueKind::I64(_)
                | ValueKind::I128(_)
                | ValueKind::U64(_)
                | ValueKind::U128(_)
                | ValueKind::Float(_)),
            ) => format!("a string, in quotes: \"{scalar}\""),
            _ => "a string, in quotes".to_owned(),
        },
        Kind::Flag => "a boolean, without quotes; allowed values: true, false".to_owned(),
        Kind::WholeNumber(allowed) => format!("{allowed}, an integer without quotes"),
        Kind::KeyList => "a list of keys in quotes, such as [\"old-key\"] (keys separated by commas only in the environment variable)".to_owned(),
        Kind::SameSite => "a SameSite policy; allowed values: \"Lax\", \"Strict\", \"None\", false (without quotes)".to_owned(),
    }
}
