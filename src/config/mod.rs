//! Layered configuration: `config/default.toml` ← `config/<profile>.toml` ← `APP__SECTION__KEY`
//! environment variables, validated so that a bad setting stops start-up with a message naming
//! where it came from, the key, the bad value and what is allowed.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use config::{Config, Environment, File, FileFormat};
use serde::de::{self, Unexpected, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// The profile used when neither `--profile` nor `APP_PROFILE` names one.
pub const DEFAULT_PROFILE: &str = "default";
/// Every scope with its own session settings: the six lessons and the playground.
pub const LESSON_SLUGS: [&str; 7] = [
    "basic",
    "dict",
    "timeout",
    "testcookie",
    "settings",
    "pagesession",
    "playground",
];

/// The profile that refuses development secrets.
pub const PRODUCTION_PROFILE: &str = "production";
/// Secret keys with this prefix are development keys (Django's convention for generated keys).
pub const INSECURE_KEY_PREFIX: &str = "django-insecure-";
/// Prefix of the environment variables that override configuration (`APP__SERVER__PORT`).
pub const ENV_PREFIX: &str = "APP";
/// Environment variable naming the configuration directory.
pub const CONFIG_DIR_VAR: &str = "APP_CONFIG_DIR";
/// Environment variable naming the profile.
pub const PROFILE_VAR: &str = "APP_PROFILE";

/// Every way loading the configuration can fail; each message names the source and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration directory is missing, or is not a directory.
    #[error(
        "configuration directory {dir} {problem} (set {CONFIG_DIR_VAR} to the folder holding default.toml)"
    )]
    MissingDir {
        /// The directory looked for.
        dir: PathBuf,
        /// What is wrong with it: it does not exist, or it is a file.
        problem: &'static str,
    },
    /// The configuration directory exists but holds no `default.toml` file.
    #[error(
        "{file} {problem}: every profile is read over it, so it must be a TOML file (set {CONFIG_DIR_VAR} to the folder holding default.toml)"
    )]
    BadDefaultFile {
        /// The path where `default.toml` should be.
        file: PathBuf,
        /// What is wrong with it: it is missing, or not a file.
        problem: &'static str,
    },
    /// The profile name is not a plain name (it would name a file outside the directory, or
    /// dodge the production checks with `./production`).
    #[error(
        "invalid profile name {profile:?} (from --profile or {PROFILE_VAR}); allowed: a plain name of letters, digits, `-` and `_`, such as `production`, naming config/<name>.toml"
    )]
    BadProfileName {
        /// The name asked for.
        profile: String,
    },
    /// The requested profile has no file.
    #[error("unknown profile `{profile}`: there is no {file}; available profiles: {available}")]
    UnknownProfile {
        /// The profile asked for.
        profile: String,
        /// The file that would define it.
        file: PathBuf,
        /// The profiles that exist.
        available: String,
    },
    /// A source could not be read or holds a bad key or value.
    #[error("invalid configuration in {source_name}: {message}")]
    Invalid {
        /// The file or environment variable(s) at fault.
        source_name: String,
        /// What is wrong, with the key and the allowed values.
        message: String,
    },
}

/// `SESSION_ENGINE`: where session data lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// `django.contrib.sessions.backends.db`: the `django_session` table.
    Db,
    /// `django.contrib.sessions.backends.file`: one file per session.
    File,
    /// `django.contrib.sessions.backends.cache`: a cache only.
    Cache,
    /// `django.contrib.sessions.backends.cached_db`: write-through cache over the database.
    CachedDb,
    /// `django.contrib.sessions.backends.signed_cookies`: the data is the cookie.
    SignedCookies,
}

impl Engine {
    /// Every engine name, as written in configuration.
    pub const NAMES: [&'static str; 5] = ["db", "file", "cache", "cached_db", "signed_cookies"];
    /// Engines this build can serve.
    pub const AVAILABLE: [Engine; 5] = [
        Engine::Db,
        Engine::File,
        Engine::Cache,
        Engine::CachedDb,
        Engine::SignedCookies,
    ];

    /// The configuration name of the engine.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Db => "db",
            Engine::File => "file",
            Engine::Cache => "cache",
            Engine::CachedDb => "cached_db",
            Engine::SignedCookies => "signed_cookies",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "db" => Engine::Db,
            "file" => Engine::File,
            "cache" => Engine::Cache,
            "cached_db" => Engine::CachedDb,
            "signed_cookies" => Engine::SignedCookies,
            _ => return None,
        })
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Engine {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        one_of(d, "engine", &Engine::NAMES, Engine::parse)
    }
}

/// A setting that takes one of `names` (the ones `parse` reads); any other text is refused
/// with a message that names the `kind` of setting and lists the allowed values.
fn one_of<'de, D: Deserializer<'de>, T>(
    d: D,
    kind: &str,
    names: &[&str],
    parse: fn(&str) -> Option<T>,
) -> Result<T, D::Error> {
    let s = String::deserialize(d)?;
    parse(&s).ok_or_else(|| {
        de::Error::custom(format!(
            "unknown {kind} `{s}`; allowed values: {}",
            names.join(", ")
        ))
    })
}

/// `SESSION_COOKIE_SAMESITE`: `Lax`, `Strict`, `None`, or `false` to omit the attribute. A
/// policy is recognised in any case, as Django compares it, and is written in the cookie as the
/// configuration spells it, as Django writes the setting's own text (`"strict"` gives
/// `SameSite=strict`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SameSite {
    /// `SameSite=Lax` (Django's default), with the setting's text.
    Lax(Cow<'static, str>),
    /// `SameSite=Strict`, with the setting's text.
    Strict(Cow<'static, str>),
    /// `SameSite=None` (browsers then require `Secure`), with the setting's text.
    None(Cow<'static, str>),
    /// No `SameSite` attribute (`SESSION_COOKIE_SAMESITE = False`).
    Omit,
}

impl SameSite {
    /// `"Lax"`.
    pub const LAX: SameSite = SameSite::Lax(Cow::Borrowed("Lax"));
    /// `"Strict"`.
    pub const STRICT: SameSite = SameSite::Strict(Cow::Borrowed("Strict"));
    /// `"None"`.
    pub const NONE: SameSite = SameSite::None(Cow::Borrowed("None"));

    /// The attribute value as Django writes it (the setting's own text), or `None` when
    /// omitted.
    pub fn attribute(&self) -> Option<&str> {
        match self {
            SameSite::Lax(text) | SameSite::Strict(text) | SameSite::None(text) => Some(text),
            SameSite::Omit => None,
        }
    }

    /// Whether the policy is `None`, in any spelling (Django's `samesite.lower() == "none"`).
    pub fn is_none_policy(&self) -> bool {
        matches!(self, SameSite::None(_))
    }
}

impl Serialize for SameSite {
    /// As written in configuration: `"Lax"`, `"Strict"`, `"None"` (in its spelling) or `false`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.attribute() {
            Some(name) => s.serialize_str(name),
            None => s.serialize_bool(false),
        }
    }
}

impl<'de> Deserialize<'de> for SameSite {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SameSiteVisitor)
    }
}

/// Reads `cookie_samesite`: a policy name (in any case, as Django compares them) or `false`.
struct SameSiteVisitor;

impl SameSiteVisitor {
    const ALLOWED: &'static str = "allowed values: \"Lax\", \"Strict\", \"None\", false";
}

impl Visitor<'_> for SameSiteVisitor {
    type Value = SameSite;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a SameSite policy; {}", Self::ALLOWED)
    }

    fn visit_bool<E: de::Error>(self, flag: bool) -> Result<SameSite, E> {
        match flag {
            false => Ok(SameSite::Omit),
            true => Err(E::custom(format!(
                "`true` is not a SameSite policy; {}",
                Self::ALLOWED
            ))),
        }
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<SameSite, E> {
        // The usual spellings without a copy; any other kept as written.
        let text = |usual: &'static str| match name == usual {
            true => Cow::Borrowed(usual),
            false => Cow::Owned(name.to_owned()),
        };
        match name.to_ascii_lowercase().as_str() {
            "lax" => Ok(SameSite::Lax(text("Lax"))),
            "strict" => Ok(SameSite::Strict(text("Strict"))),
            "none" => Ok(SameSite::None(text("None"))),
            "false" => Ok(SameSite::Omit),
            _ => Err(E::custom(format!(
                "unknown SameSite policy `{name}`; {}",
                Self::ALLOWED
            ))),
        }
    }
}

/// The session settings as written in `[session]` or `[lessons.<slug>]`: every key optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionOverrides {
    /// `SESSION_ENGINE`.
    pub engine: Option<Engine>,
    /// `SESSION_COOKIE_AGE`, seconds.
    #[serde(default, deserialize_with = "cookie_age")]
    pub cookie_age: Option<i64>,
    /// `SESSION_COOKIE_NAME`.
    pub cookie_name: Option<String>,
    /// `SESSION_COOKIE_DOMAIN`; empty means none.
    pub cookie_domain: Option<String>,
    /// `SESSION_COOKIE_PATH`; absent means the lesson's mount path.
    pub cookie_path: Option<String>,
    /// `SESSION_COOKIE_SECURE`.
    pub cookie_secure: Option<bool>,
    /// `SESSION_COOKIE_HTTPONLY`.
    pub cookie_httponly: Option<bool>,
    /// `SESSION_COOKIE_SAMESITE`.
    pub cookie_samesite: Option<SameSite>,
    /// `SESSION_EXPIRE_AT_BROWSER_CLOSE`.
    pub expire_at_browser_close: Option<bool>,
    /// `SESSION_SAVE_EVERY_REQUEST`.
    pub save_every_request: Option<bool>,
    /// `SESSION_FILE_PATH` (file engine).
    pub file_path: Option<String>,
    /// `SESSION_CACHE_ALIAS` (cache engines).
    pub cache_alias: Option<String>,
    /// How often a background task deletes expired sessions (`"1h"`, `"30m"`); only in
    /// `[session]`. Absent: never (run `sessionlab clearsessions` instead).
    pub clear_expired_every: Option<String>,
}

impl SessionOverrides {
    /// `self` with every key that `over` sets replaced by `over`'s value.
    fn layered(&self, over: &SessionOverrides) -> SessionOverrides {
        SessionOverrides {
            engine: over.engine.or(self.engine),
            cookie_age: over.cookie_age.or(self.cookie_age),
            cookie_name: over
                .cookie_name
                .clone()
                .or_else(|| self.cookie_name.clone()),
            cookie_domain: over
                .cookie_domain
                .clone()
                .or_else(|| self.cookie_domain.clone()),
            cookie_path: over
                .cookie_path
                .clone()
                .or_else(|| self.cookie_path.clone()),
            cookie_secure: over.cookie_secure.or(self.cookie_secure),
            cookie_httponly: over.cookie_httponly.or(self.cookie_httponly),
            cookie_samesite: over
                .cookie_samesite
                .clone()
                .or_else(|| self.cookie_samesite.clone()),
            expire_at_browser_close: over
                .expire_at_browser_close
                .or(self.expire_at_browser_close),
            save_every_request: over.save_every_request.or(self.save_every_request),
            file_path: over.file_path.clone().or_else(|| self.file_path.clone()),
            cache_alias: over
                .cache_alias
                .clone()
                .or_else(|| self.cache_alias.clone()),
            clear_expired_every: self.clear_expired_every.clone(),
        }
    }

    /// Checks every value that is set; the error names the key and the allowed values.
    fn validate(&self, section: &str) -> Result<(), String> {
        if let Some(every) = &self.clear_expired_every {
            if section != "session" {
                return Err(format!(
                    "`{section}.clear_expired_every` is not a lesson setting; allowed only in `[session]`"
                ));
            }
            parse_sweep_period(every)?;
        }
        if let Some(engine) = self.engine
            && !Engine::AVAILABLE.contains(&engine)
        {
            let available: Vec<_> = Engine::AVAILABLE.iter().map(|e| e.name()).collect();
            return Err(format!(
                "`{section}.engine` = \"{engine}\" is not available in this build; available engines: {}",
                available.join(", ")
            ));
        }
        if let Some(age) = self.cookie_age
            && !(0..=MAX_COOKIE_AGE).contains(&age)
        {
            return Err(format!(
                "`{section}.cookie_age` = {age} is out of range; allowed: whole seconds from 0 to {MAX_COOKIE_AGE}"
            ));
        }
        if let Some(name) = &self.cookie_name
            && (name.is_empty() || !name.bytes().all(is_cookie_token_byte))
        {
            return Err(format!(
                "`{section}.cookie_name` = {name:?} is not a cookie name; allowed: letters, digits and !#$%&'*+-.^_`|~"
            ));
        }
        if let Some(path) = &self.cookie_path
            && (!path.starts_with('/') || !path.bytes().all(is_cookie_attribute_byte))
        {
            return Err(format!(
                "`{section}.cookie_path` = {path:?} is not a cookie path; allowed: a path starting with `/`, without `;`, spaces or control characters"
            ));
        }
        if let Some(domain) = &self.cookie_domain
            && !domain
                .bytes()
                .all(|b| is_cookie_attribute_byte(b) && b != b' ')
        {
            return Err(format!(
                "`{section}.cookie_domain` = {domain:?} is not a cookie domain; allowed: a host name such as \".example.com\", or \"\" for none"
            ));
        }
        Ok(())
    }
}

/// RFC 6265's path-match: whether a cookie on `cookie_path` is sent to `request_path`.
fn cookie_path_covers(cookie_path: &str, request_path: &str) -> bool {
    match request_path.strip_prefix(cookie_path) {
        Some(rest) => cookie_path.ends_with('/') || rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// Parses `clear_expired_every`: a human duration of at least one second.
fn parse_sweep_period(text: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(text) {
        Ok(period) if period >= std::time::Duration::from_secs(1) => Ok(period),
        Ok(_) => Err(format!(
            "`session.clear_expired_every` = {text:?} is too short; allowed: 1s or more, such as \"30m\" or \"1h\""
        )),
        Err(e) => Err(format!(
            "`session.clear_expired_every` = {text:?} is not a duration ({e}); allowed: such as \"90s\", \"30m\", \"1h\""
        )),
    }
}

/// A TOML list, or (from an environment variable) one comma-separated string.
fn list_or_comma_separated<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<String>>, D::Error> {
    d.deserialize_any(KeyList).map(Some)
}

/// Reads `secret_key_fallbacks`: a list of strings, or one string of comma-separated keys.
struct KeyList;

impl<'de> Visitor<'de> for KeyList {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a list of keys, such as [\"old-key\"], or (in an environment variable) keys separated by commas",
        )
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Vec<String>, E> {
        Ok(text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect())
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let mut keys = Vec::new();
        while let Some(key) = seq.next_element()? {
            keys.push(key);
        }
        Ok(keys)
    }
}

/// Reads a whole number: an integer in TOML, its digits in an environment variable. A
/// fraction or a number out of the type's range is refused with `allowed` in the message
/// (the `config` crate alone would round 59.9 to 60).
struct WholeNumber<T> {
    allowed: &'static str,
    number: PhantomData<T>,
}

impl<T> WholeNumber<T> {
    fn read<'de, D>(d: D, allowed: &'static str) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: TryFrom<i64> + TryFrom<u64>,
    {
        d.deserialize_any(WholeNumber {
            allowed,
            number: PhantomData,
        })
        .map(Some)
    }
}

impl<T: TryFrom<i64> + TryFrom<u64>> Visitor<'_> for WholeNumber<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.allowed)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        T::try_from(v).map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        T::try_from(v).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        match (text.parse::<i64>(), text.parse::<u64>()) {
            (Ok(v), _) => self.visit_i64(v),
            (_, Ok(v)) => self.visit_u64(v),
            _ => Err(E::invalid_value(Unexpected::Str(text), &self)),
        }
    }
}

/// The allowed values of `cookie_age` (range checked in [`SessionOverrides::validate`]).
const COOKIE_AGE_ALLOWED: &str = "whole seconds from 0 to 3153600000 (100 years)";

fn cookie_age<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    WholeNumber::read(d, COOKIE_AGE_ALLOWED)
}

fn port<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    WholeNumber::read(d, "a port number from 0 to 65535 (0: any free port)")
}

fn count<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64> + TryFrom<u64>,
{
    WholeNumber::read(d, "a whole number, 1 or more")
}

/// The largest accepted `cookie_age`: one hundred years.
pub const MAX_COOKIE_AGE: i64 = 100 * 365 * 24 * 3600;

fn is_cookie_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_cookie_attribute_byte(b: u8) -> bool {
    (0x20..0x7f).contains(&b) && b != b';'
}

/// `[server]`.
#[derive(Debug, Clone, Serialize)]
pub struct ServerSettings {
    /// Address to listen on.
    pub host: String,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// Worker threads; absent means one per core.
    pub workers: Option<usize>,
}

impl ServerSettings {
    /// `host:port` as in a URL, an IPv6 address in brackets (`[::1]:8000`).
    pub fn address(&self) -> String {
        match self.bare_host() {
            host if host.contains(':') => format!("[{host}]:{}", self.port),
            host => format!("{host}:{}", self.port),
        }
    }

    /// The socket addresses `host` and `port` stand for (a host name is looked up).
    pub fn socket_addrs(&self) -> std::io::Result<Vec<SocketAddr>> {
        (self.bare_host(), self.port)
            .to_socket_addrs()
            .map(Iterator::collect)
    }

    /// The host without the brackets an IPv6 address may be written in.
    fn bare_host(&self) -> &str {
        self.host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(&self.host)
    }
}

/// `[server]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    host: Option<String>,
    #[serde(default, deserialize_with = "port")]
    port: Option<u16>,
    #[serde(default, deserialize_with = "count")]
    workers: Option<usize>,
}

/// `[database]`.
#[derive(Debug, Clone, Serialize)]
pub struct DatabaseSettings {
    /// `sqlite://path` (relative paths from the project root) or `sqlite::memory:`.
    pub url: String,
    /// PostgreSQL's pool size (SQLite keeps a reading connection per thread and one writer).
    pub max_connections: u32,
}

/// `[database]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: Option<String>,
    #[serde(default, deserialize_with = "count")]
    max_connections: Option<u32>,
}

/// A cache's kind (`[caches.<alias>] backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheBackend {
    /// In this process, bounded (Django's `LocMemCache`).
    Memory,
    /// A Redis server (Django's `RedisCache`).
    Redis,
}

impl CacheBackend {
    /// Every backend name, as written in configuration.
    pub const NAMES: [&'static str; 2] = ["memory", "redis"];

    fn parse(s: &str) -> Option<Self> {
        match s {
            "memory" => Some(CacheBackend::Memory),
            "redis" => Some(CacheBackend::Redis),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for CacheBackend {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        one_of(
            d,
            "cache backend",
            &CacheBackend::NAMES,
            CacheBackend::parse,
        )
    }
}

/// `[caches.<alias>]`: one of Django's `CACHES`, for the `cache` and `cached_db` engines.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
    /// `"memory"` or `"redis"`.
    pub backend: Option<CacheBackend>,
    /// Redis: `redis://host:port/db`.
    pub url: Option<String>,
    /// Prepended to Django's session key prefix (to share one Redis between apps or tests).
    pub key_prefix: Option<String>,
    /// Memory: the most bytes the cache holds before evicting (default 64 MiB).
    #[serde(default, deserialize_with = "count")]
    pub max_bytes: Option<u64>,
    /// Redis: connections in the pool (default 16).
    #[serde(default, deserialize_with = "count")]
    pub pool_size: Option<usize>,
    /// Redis: connect, wait and response timeout in milliseconds (default 2000).
    #[serde(default, deserialize_with = "count")]
    pub timeout_ms: Option<u64>,
}

impl CacheSettings {
    fn validate(&self, alias: &str) -> Result<(), String> {
        if let Some(url) = &self.url {
            let shown = without_password(url);
            // The redis crate is built without TLS (Cargo.toml): it would refuse the URL only
            // when the store opens, without naming the setting.
            if url.starts_with("rediss://") {
                return Err(format!(
                    "`caches.{alias}.url` = {shown:?} asks for TLS, which this build of sessionlab does not include; allowed: redis://host:port/db"
                ));
            }
            if !url.starts_with("redis://") {
                return Err(format!(
                    "`caches.{alias}.url` = {shown:?} is not a Redis URL; allowed: redis://host:port/db"
                ));
            }
            // Not shown: a URL that does not parse cannot have its password masked.
            if let Err(error) = url::Url::parse(url) {
                return Err(format!(
                    "`caches.{alias}.url` is not a valid Redis URL ({error}); allowed: redis://host:port/db"
                ));
            }
        }
        let zero = [
            ("max_bytes", self.max_bytes == Some(0)),
            ("pool_size", self.pool_size == Some(0)),
            ("timeout_ms", self.timeout_ms == Some(0)),
        ]
        .into_iter()
        .find_map(|(key, is_zero)| is_zero.then_some(key));
        if let Some(key) = zero {
            return Err(format!(
                "`caches.{alias}.{key}` = 0; allowed: a whole number, 1 or more"
            ));
        }
        Ok(())
    }
}

/// `url` with its password (if any) replaced by `***`, for messages and `sessionlab config`.
pub fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Only fails for URLs that cannot have a password, and this one has one.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// `[instructor]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstructor {
    enabled: Option<bool>,
    token: Option<String>,
}

/// `[instructor]`: the instructor's page at `/instructor/`.
#[derive(Debug, Clone)]
pub struct InstructorSettings {
    /// Whether `/instructor/` exists at all.
    pub enabled: bool,
    /// The token that opens it (`APP__INSTRUCTOR__TOKEN`).
    pub token: Option<Secret>,
}

/// The shortest instructor token accepted.
pub const MIN_INSTRUCTOR_TOKEN: usize = 16;

/// `[lessons]`: one optional table of session overrides per lesson.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LessonOverrides {
    /// `/basic/`.
    pub basic: Option<SessionOverrides>,
    /// `/dict/`.
    pub dict: Option<SessionOverrides>,
    /// `/timeout/`.
    pub timeout: Option<SessionOverrides>,
    /// `/testcookie/`.
    pub testcookie: Option<SessionOverrides>,
    /// `/settings/`.
    pub settings: Option<SessionOverrides>,
    /// `/pagesession/`.
    pub pagesession: Option<SessionOverrides>,
    /// `/playground/`.
    pub playground: Option<SessionOverrides>,
}

impl LessonOverrides {
    /// The overrides of the lesson `slug` (none for an unknown slug).
    pub fn get(&self, slug: &str) -> Option<&SessionOverrides> {
        match slug {
            "basic" => self.basic.as_ref(),
            "dict" => self.dict.as_ref(),
            "timeout" => self.timeout.as_ref(),
            "testcookie" => self.testcookie.as_ref(),
            "settings" => self.settings.as_ref(),
            "pagesession" => self.pagesession.as_ref(),
            "playground" => self.playground.as_ref(),
            _ => None,
        }
    }

    fn each(&self) -> impl Iterator<Item = (&'static str, &SessionOverrides)> {
        [
            ("basic", &self.basic),
            ("dict", &self.dict),
            ("timeout", &self.timeout),
            ("testcookie", &self.testcookie),
            ("settings", &self.settings),
            ("pagesession", &self.pagesession),
            ("playground", &self.playground),
        ]
        .into_iter()
        .filter_map(|(slug, o)| o.as_ref().map(|o| (slug, o)))
    }
}

/// One configuration source as written: every key optional, unknown keys refused.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    secret_key: Option<String>,
    #[serde(default, deserialize_with = "list_or_comma_separated")]
    secret_key_fallbacks: Option<Vec<String>>,
    server: Option<RawServer>,
    database: Option<RawDatabase>,
    session: Option<SessionOverrides>,
    lessons: Option<LessonOverrides>,
    caches: Option<BTreeMap<String, CacheSettings>>,
    instructor: Option<RawInstructor>,
}

impl RawSettings {
    fn validate(&self) -> Result<(), String> {
        if let Some(session) = &self.session {
            session.validate("session")?;
        }
        for (alias, cache) in self.caches.iter().flatten() {
            cache.validate(alias)?;
        }
        if let Some(lessons) = &self.lessons {
            for (slug, o) in lessons.each() {
                o.validate(&format!("lessons.{slug}"))?;
            }
        }
        if let Some(key) = &self.secret_key
            && key.trim().is_empty()
        {
            return Err("`secret_key` is empty; allowed: any non-empty string (50 or more random characters in production)".into());
        }
        if let Some(db) = &self.database {
            if let Some(url) = &db.url {
                database_path_kind(url)?;
            }
            if db.max_connections == Some(0) {
                return Err("`database.max_connections` = 0; allowed: 1 or more".into());
            }
        }
        if let Some(server) = &self.server
            && server.workers == Some(0)
        {
            return Err("`server.workers` = 0; allowed: 1 or more (absent: one per core)".into());
        }
        Ok(())
    }
}

/// The effective session settings of one lesson: Django's defaults ← `[session]` ← `[lessons.<slug>]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionSettings {
    /// `SESSION_ENGINE`.
    pub engine: Engine,
    /// `SESSION_COOKIE_AGE`.
    pub cookie_age: i64,
    /// `SESSION_COOKIE_NAME`.
    pub cookie_name: String,
    /// `SESSION_COOKIE_DOMAIN`.
    pub cookie_domain: Option<String>,
    /// `SESSION_COOKIE_PATH`.
    pub cookie_path: String,
    /// `SESSION_COOKIE_SECURE`.
    pub cookie_secure: bool,
    /// `SESSION_COOKIE_HTTPONLY`.
    pub cookie_httponly: bool,
    /// `SESSION_COOKIE_SAMESITE`.
    pub cookie_samesite: SameSite,
    /// `SESSION_EXPIRE_AT_BROWSER_CLOSE`.
    pub expire_at_browser_close: bool,
    /// `SESSION_SAVE_EVERY_REQUEST`.
    pub save_every_request: bool,
    /// `SESSION_FILE_PATH`.
    pub file_path: Option<String>,
    /// `SESSION_CACHE_ALIAS`.
    pub cache_alias: String,
}

impl SessionSettings {
    /// Django's defaults (`global_settings.py`) with the cookie path set to `mount_path`.
    pub fn django_defaults(mount_path: &str) -> Self {
        SessionSettings {
            engine: Engine::Db,
            cookie_age: 1_209_600,
            cookie_name: "sessionid".into(),
            cookie_domain: None,
            cookie_path: mount_path.into(),
            cookie_secure: false,
            cookie_httponly: true,
            cookie_samesite: SameSite::LAX,
            expire_at_browser_close: false,
            save_every_request: false,
            file_path: None,
            cache_alias: "default".into(),
        }
    }

    fn with(mut self, o: &SessionOverrides) -> Self {
        if let Some(v) = o.engine {
            self.engine = v;
        }
        if let Some(v) = o.cookie_age {
            self.cookie_age = v;
        }
        if let Some(v) = &o.cookie_name {
            self.cookie_name = v.clone();
        }
        if let Some(v) = &o.cookie_domain {
            self.cookie_domain = (!v.is_empty()).then(|| v.clone());
        }
        if let Some(v) = &o.cookie_path {
            self.cookie_path = v.clone();
        }
        if let Some(v) = o.cookie_secure {
            self.cookie_secure = v;
        }
        if let Some(v) = o.cookie_httponly {
            self.cookie_httponly = v;
        }
        if let Some(v) = &o.cookie_samesite {
            self.cookie_samesite = v.clone();
        }
        if let Some(v) = o.expire_at_browser_close {
            self.expire_at_browser_close = v;
        }
        if let Some(v) = o.save_every_request {
            self.save_every_request = v;
        }
        if let Some(v) = &o.file_path {
            self.file_path = Some(v.clone());
        }
        if let Some(v) = &o.cache_alias {
            self.cache_alias = v.clone();
        }
        self
    }
}

/// A secret that never prints itself.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself, for the code that signs with it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Whether this is a development key (`django-insecure-…`).
    pub fn is_development_key(&self) -> bool {
        self.0.starts_with(INSECURE_KEY_PREFIX)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(\"[redacted]\")")
    }
}

/// Everything sessionlab runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The active profile name.
    pub profile: String,
    /// The directory the configuration files were read from.
    pub config_dir: PathBuf,
    /// The folder relative paths are resolved against (the parent of `config_dir`).
    pub project_root: PathBuf,
    /// Django's `SECRET_KEY`.
    pub secret_key: Secret,
    /// Django's `SECRET_KEY_FALLBACKS`: older keys still accepted when reading signed data.
    pub secret_key_fallbacks: Vec<Secret>,
    /// `[server]`.
    pub server: ServerSettings,
    /// `[database]`.
    pub database: DatabaseSettings,
    /// `[session]` as written.
    pub session: SessionOverrides,
    /// `[lessons.<slug>]` as written.
    pub lessons: LessonOverrides,
    /// `[caches.<alias>]`.
    pub caches: BTreeMap<String, CacheSettings>,
    /// `[instructor]`.
    pub instructor: InstructorSettings,
}

impl Settings {
    /// Loads `profile` from `config_dir` plus the process environment.
    /// Only `APP_…` variables are looked at, so that other variables need not be UTF-8.
    pub fn load(config_dir: &Path, profile: &str) -> Result<Settings, ConfigError> {
        let mut env = BTreeMap::new();
        for (name, value) in std::env::vars_os() {
            let Some(name) = name.to_str().filter(|n| n.starts_with(ENV_PREFIX)) else {
                continue;
            };
            let invalid = |message: String| ConfigError::Invalid {
                source_name: format!("environment variable {name}"),
                message,
            };
            if let Some(meant) = misspelled_variable(name) {
                return Err(invalid(format!(
                    "it is not read, as configuration variables start with `{ENV_PREFIX}__` (two underscores); allowed: {meant}"
                )));
            }
            if !name.starts_with(&format!("{ENV_PREFIX}__")) {
                continue;
            }
            let value = value.into_string().map_err(|_| {
                invalid("its value is not UTF-8 text; allowed: UTF-8 text".to_owned())
            })?;
            env.insert(name.to_owned(), value);
        }
        Self::load_with_env(config_dir, profile, env)
    }

    /// Loads `profile` from `config_dir`, with `env` standing in for the process environment.
    pub fn load_with_env(
        config_dir: &Path,
        profile: &str,
        env: BTreeMap<String, String>,
    ) -> Result<Settings, ConfigError> {
        check_profile_name(profile)?;
        check_default_file(config_dir)?;
        let mut sources: Vec<(String, Box<dyn config::Source + Send + Sync>)> = Vec::new();
        let default_file = config_dir.join("default.toml");
        sources.push((
            default_file.display().to_string(),
            Box::new(File::from(default_file.clone()).format(FileFormat::Toml)),
        ));
        if profile != DEFAULT_PROFILE {
            let profile_file = config_dir.join(format!("{profile}.toml"));
            if !profile_file.is_file() {
                return Err(ConfigError::UnknownProfile {
                    profile: profile.into(),
                    file: profile_file,
                    available: available_profiles(config_dir).join(", "),
                });
            }
            sources.push((
                profile_file.display().to_string(),
                Box::new(File::from(profile_file).format(FileFormat::Toml)),
            ));
        }
        // One source per variable, so that an error names the variable. Each value stays the
        // string it is: the key's type decides how it is read (the `config` crate turns a string
        // into the number or boolean a key wants). `try_parsing` would guess a type from the
        // text alone, and a token such as 0001234… would come back as the string "1234…".
        for (name, value) in env {
            let environment = Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("__")
                .separator("__")
                .source(Some([(name.clone(), value)].into_iter().collect()));
            sources.push((
                format!("environment variable {name}"),
                Box::new(environment),
            ));
        }

        // Each source alone first, so an error names the one at fault.
        let mut development_key = None;
        for (index, (name, source)) in sources.iter().enumerate() {
            let raw: RawSettings = Config::builder()
                .add_source(vec![config::Source::clone_into_box(source.as_ref())])
                .build()
                .and_then(Config::try_deserialize)
                .map_err(|e| ConfigError::Invalid {
                    source_name: name.clone(),
                    message: describe(e),
                })?;
            raw.validate().map_err(|message| ConfigError::Invalid {
                source_name: name.clone(),
                message,
            })?;
            // The first source is default.toml, whose key is public.
            if index == 0 {
                development_key = raw.secret_key;
            }
        }

        let merged_name = sources
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(" + ");
        let mut builder = Config::builder();
        for (_, source) in sources {
            builder = builder.add_source(vec![source]);
        }
        let invalid = |message: String| ConfigError::Invalid {
            source_name: merged_name.clone(),
            message,
        };
        let raw: RawSettings = builder
            .build()
            .and_then(Config::try_deserialize)
            .map_err(|e| invalid(describe(e)))?;

        let secret_key = raw
            .secret_key
            .ok_or_else(|| invalid("`secret_key` is not set".into()))?;
        let raw_server = raw.server.unwrap_or_default();
        let server = ServerSettings {
            host: raw_server
                .host
                .ok_or_else(|| invalid("`server.host` is not set".into()))?,
            port: raw_server
                .port
                .ok_or_else(|| invalid("`server.port` is not set".into()))?,
            workers: raw_server.workers,
        };
        let raw_database = raw.database.unwrap_or_default();
        let database = DatabaseSettings {
            url: raw_database
                .url
                .ok_or_else(|| invalid("`database.url` is not set".into()))?,
            max_connections: raw_database.max_connections.unwrap_or(8),
        };
        let project_root = config_dir
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let settings = Settings {
            profile: profile.into(),
            config_dir: config_dir.to_path_buf(),
            project_root,
            secret_key: Secret::new(secret_key),
            secret_key_fallbacks: raw
                .secret_key_fallbacks
                .unwrap_or_default()
                .into_iter()
                .map(Secret::new)
                .collect(),
            server,
            database,
            session: raw.session.unwrap_or_default(),
            lessons: raw.lessons.unwrap_or_default(),
            caches: raw.caches.unwrap_or_default(),
            instructor: instructor_settings(raw.instructor.unwrap_or_default())
                .map_err(&invalid)?,
        };
        settings
            .check_profile_rules(development_key.as_deref())
            .map_err(invalid)?;
        settings.check_cache_aliases().map_err(invalid)?;
        settings.check_cookie_names().map_err(invalid)?;
        Ok(settings)
    }

    /// No session cookie is named like the playground's CSRF cookie (`csrftoken`) on a path
    /// that reaches the playground: each would overwrite the other in the browser (a playground
    /// answer could carry both, a fresh token and the session's deletion cookie that removes
    /// it, where Django's response keeps one cookie of a name), and the playground would take
    /// the session key for its token and write it into its page.
    fn check_cookie_names(&self) -> Result<(), String> {
        use crate::playground::{MOUNT_PATH, csrf};
        for slug in LESSON_SLUGS {
            let session = self.lesson_session(slug, &format!("/{slug}/"));
            if session.cookie_name == csrf::COOKIE_NAME
                && cookie_path_covers(&session.cookie_path, MOUNT_PATH)
            {
                return Err(format!(
                    "lesson `{slug}` names its session cookie {:?} on the path {:?}, which reaches {MOUNT_PATH}, where the playground's CSRF cookie has that name; allowed: any other `cookie_name`, or a `cookie_path` outside {MOUNT_PATH}",
                    session.cookie_name, session.cookie_path
                ));
            }
        }
        Ok(())
    }

    /// Every lesson on a cache engine names a configured cache, and a Redis cache has a URL.
    fn check_cache_aliases(&self) -> Result<(), String> {
        for slug in LESSON_SLUGS {
            let session = self.lesson_session(slug, "/");
            if !matches!(session.engine, Engine::Cache | Engine::CachedDb) {
                continue;
            }
            let alias = &session.cache_alias;
            let cache = self.caches.get(alias).ok_or_else(|| {
                let known: Vec<&str> = self.caches.keys().map(String::as_str).collect();
                format!(
                    "lesson `{slug}` uses the `{}` engine with `cache_alias` = {alias:?}, but there is no `[caches.{alias}]`; configured caches: {}",
                    session.engine,
                    if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                )
            })?;
            match cache.backend {
                None => {
                    return Err(format!(
                        "`caches.{alias}.backend` is not set; allowed values: {}",
                        CacheBackend::NAMES.join(", ")
                    ));
                }
                Some(CacheBackend::Redis) if cache.url.is_none() => {
                    return Err(format!(
                        "`caches.{alias}` is a Redis cache without `url`; set it to redis://host:port/db"
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The merged settings of cache `alias`.
    pub fn cache(&self, alias: &str) -> Option<&CacheSettings> {
        self.caches.get(alias)
    }

    /// Whether the production rules apply: the profile is `production` in any case (a file
    /// system that ignores case reads production.toml for `Production` too).
    fn is_production(&self) -> bool {
        self.profile.eq_ignore_ascii_case(PRODUCTION_PROFILE)
    }

    /// The `production` profile's rules: no development key (`development_key` is the one
    /// committed in default.toml) as `secret_key` or among `secret_key_fallbacks`, and no
    /// clear-text session cookie on a public address.
    fn check_profile_rules(&self, development_key: Option<&str>) -> Result<(), String> {
        if !self.is_production() {
            return Ok(());
        }
        if let Some(kind) = development_key_kind(&self.secret_key, development_key) {
            return Err(format!(
                "`secret_key` is {kind}, which the `{PRODUCTION_PROFILE}` profile refuses; set a secret of your own with APP__SECRET_KEY"
            ));
        }
        let fallbacks = &self.secret_key_fallbacks;
        for (index, key) in fallbacks.iter().enumerate() {
            if let Some(kind) = development_key_kind(key, development_key) {
                return Err(format!(
                    "`secret_key_fallbacks` holds {kind} (key {} of {}), which the `{PRODUCTION_PROFILE}` profile refuses: anything signed with it would still be accepted; allowed: only keys of your own that were once `secret_key` (set APP__SECRET_KEY_FALLBACKS without it)",
                    index + 1,
                    fallbacks.len()
                ));
            }
        }
        let local = matches!(self.server.host.as_str(), "127.0.0.1" | "localhost" | "::1");
        for slug in LESSON_SLUGS {
            if !local && !self.lesson_session(slug, "/").cookie_secure {
                return Err(format!(
                    "lesson `{slug}` has `cookie_secure = false` while the server listens on {}: over plain http from another host the session cookie travels in clear text, which the `{PRODUCTION_PROFILE}` profile refuses; allowed: cookie_secure = true (serve over https), or listen on 127.0.0.1 behind a TLS proxy",
                    self.server.host
                ));
            }
        }
        Ok(())
    }

    /// The effective session settings of the lesson `slug` mounted at `mount_path`.
    pub fn lesson_session(&self, slug: &str, mount_path: &str) -> SessionSettings {
        let layered = match self.lessons.get(slug) {
            Some(lesson) => self.session.layered(lesson),
            None => self.session.clone(),
        };
        SessionSettings::django_defaults(mount_path).with(&layered)
    }

    /// `SESSION_FILE_PATH` for `session`: `file_path` resolved against the project root, or
    /// `data/sessions/` there when unset.
    pub fn session_file_dir(&self, session: &SessionSettings) -> PathBuf {
        match &session.file_path {
            Some(path) if Path::new(path).is_absolute() => PathBuf::from(path),
            Some(path) => self.project_root.join(path),
            None => self.default_file_dir(),
        }
    }

    /// Whether `dir` is the default session file directory (created on demand; a configured
    /// one must already exist, as Django requires).
    pub fn uses_default_file_dir(&self, dir: &Path) -> bool {
        dir == self.default_file_dir()
    }

    fn default_file_dir(&self) -> PathBuf {
        self.project_root.join("data").join("sessions")
    }

    /// `SECRET_KEY_FALLBACKS` as plain strings, for the signers.
    pub fn fallback_keys(&self) -> Vec<String> {
        self.secret_key_fallbacks
            .iter()
            .map(|s| s.expose().to_owned())
            .collect()
    }

    /// How often the background sweeper deletes expired sessions, if at all.
    pub fn clear_expired_every(&self) -> Option<std::time::Duration> {
        self.session
            .clear_expired_every
            .as_deref()
            .and_then(|text| parse_sweep_period(text).ok())
    }

    /// The SQLite database file named by `[database] url`, resolved against the project root,
    /// or `None` for an in-memory database.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        match database_path_kind(&self.database.url) {
            Ok(DatabaseKind::SqliteFile(path)) => Some(if path.is_absolute() {
                path
            } else {
                self.project_root.join(path)
            }),
            _ => None,
        }
    }
}

/// What kind of development key `key` is, if it is one: the key committed in default.toml
/// (`committed`), or any key with Django's `django-insecure-` prefix (its check security.W009).
fn development_key_kind(key: &Secret, committed: Option<&str>) -> Option<String> {
    if committed == Some(key.expose()) {
        Some("the development key committed in default.toml".into())
    } else if key.is_development_key() {
        Some(format!(
            "a development key (it starts with `{INSECURE_KEY_PREFIX}`)"
        ))
    } else {
        None
    }
}

/// The variable `name` was meant to be, when it reads as `APP__SECTION__KEY` written with one
/// underscore after `APP` (`APP_SERVER__PORT`), which would otherwise be ignored without a word.
fn misspelled_variable(name: &str) -> Option<String> {
    let rest = name.strip_prefix(ENV_PREFIX)?.strip_prefix('_')?;
    let one_underscore = !rest.starts_with('_') && rest.contains("__");
    one_underscore.then(|| format!("{ENV_PREFIX}__{rest}"))
}

/// A profile is a plain name: letters, digits, `-` and `_`, so that `config/<name>.toml` is a
/// file in the configuration directory and `production` has exactly one spelling.
fn check_profile_name(profile: &str) -> Result<(), ConfigError> {
    let plain = !profile.is_empty()
        && profile
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plain {
        Ok(())
    } else {
        Err(ConfigError::BadProfileName {
            profile: profile.into(),
        })
    }
}

/// The configuration directory exists and holds `default.toml` as a file.
fn check_default_file(config_dir: &Path) -> Result<(), ConfigError> {
    let file = config_dir.join("default.toml");
    if file.is_file() {
        return Ok(());
    }
    if !config_dir.is_dir() {
        return Err(ConfigError::MissingDir {
            dir: config_dir.to_path_buf(),
            problem: if config_dir.exists() {
                "is not a directory"
            } else {
                "does not exist"
            },
        });
    }
    let problem = if file.exists() {
        "is not a file"
    } else {
        "does not exist"
    };
    Err(ConfigError::BadDefaultFile { file, problem })
}

fn instructor_settings(raw: RawInstructor) -> Result<InstructorSettings, String> {
    let enabled = raw.enabled.unwrap_or(false);
    let token = raw.token.filter(|t| !t.is_empty());
    if enabled {
        match &token {
            None => {
                return Err("`instructor.enabled` is true but `instructor.token` is not set; set APP__INSTRUCTOR__TOKEN to a secret of 16 or more characters".into());
            }
            Some(t) if t.chars().count() < MIN_INSTRUCTOR_TOKEN => {
                return Err(format!(
                    "`instructor.token` is too short; allowed: {MIN_INSTRUCTOR_TOKEN} or more characters"
                ));
            }
            Some(_) => {}
        }
    }
    Ok(InstructorSettings {
        enabled,
        token: token.map(Secret::new),
    })
}

/// What a `[database] url` points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseKind {
    /// A SQLite file (relative paths are from the project root).
    SqliteFile(PathBuf),
    /// A private in-memory SQLite database.
    SqliteMemory,
    /// A PostgreSQL database (`postgres://user@host:port/db`).
    Postgres,
}

/// Parses a `[database] url`; the error lists the accepted forms.
pub fn database_path_kind(url: &str) -> Result<DatabaseKind, String> {
    let allowed = "allowed: sqlite://relative/path.sqlite3, sqlite:///absolute/path.sqlite3, sqlite::memory: or postgres://user@host:5432/database";
    if url == "sqlite::memory:" || url == "sqlite://:memory:" {
        return Ok(DatabaseKind::SqliteMemory);
    }
    if let Some(rest) = url.strip_prefix("sqlite://") {
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() {
            return Err(format!("`database.url` = {url:?} names no file; {allowed}"));
        }
        return Ok(DatabaseKind::SqliteFile(PathBuf::from(path)));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return url::Url::parse(url)
            .map(|_| DatabaseKind::Postgres)
            .map_err(|e| format!("`database.url` is not a valid PostgreSQL URL ({e}); {allowed}"));
    }
    Err(format!(
        "`database.url` = {url:?} is not a database URL; {allowed}"
    ))
}

/// The profiles defined in `config_dir` (file stems), `default` first.
pub fn available_profiles(config_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(config_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            (path.extension()? == "toml").then(|| path.file_stem()?.to_str().map(String::from))?
        })
        .filter(|name| name != DEFAULT_PROFILE)
        .collect();
    names.sort();
    names.insert(0, DEFAULT_PROFILE.into());
    names
}

/// The configuration directory: `APP_CONFIG_DIR`, else `config/` beside this crate's manifest.
pub fn config_dir() -> PathBuf {
    std::env::var_os(CONFIG_DIR_VAR)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("config"))
}

/// Turns a `config` error into one sentence with the key in it.
fn describe(e: config::ConfigError) -> String {
    match e {
        config::ConfigError::At { error, key, .. } => match key {
            Some(key) => format!("key `{key}`: {}", describe(*error)),
            None => describe(*error),
        },
        config::ConfigError::Type {
            unexpected,
            expected,
            key,
            ..
        } => match (key, with_allowed_values(expected)) {
            (Some(key), expected) => {
                format!("key `{key}`: invalid value {unexpected}, expected {expected}")
            }
            (None, expected) => format!("invalid value {unexpected}, expected {expected}"),
        },
        other => other.to_string(),
    }
}

/// What the `config` crate expected, with the values a setting of that type takes where the
/// crate names only the type (`cookie_secure = "maybe"`).
fn with_allowed_values(expected: &'static str) -> &'static str {
    match expected {
        "a boolean" => "a boolean; allowed values: true, false",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed_config() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
    }

    /// Loads `profile` from the committed configuration with `env` as the environment.
    fn load(profile: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load_with_env(&committed_config(), profile, env)
    }

    #[test]
    fn a_profile_name_that_is_not_a_plain_name_is_refused_with_the_allowed_form() {
        for name in [
            "./production",
            "../config/production",
            "production/",
            "/etc/production",
            "pro duction",
            "",
        ] {
            let error = load(name, &[]).unwrap_err();

            assert!(
                matches!(error, ConfigError::BadProfileName { .. }),
                "{name:?}: {error}"
            );
            let message = error.to_string();
            assert!(message.contains(&format!("{name:?}")), "{message}");
            assert!(
                message.contains("letters, digits, `-` and `_`"),
                "{message}"
            );
        }
    }

    #[test]
    fn the_production_rules_apply_to_production_spelled_in_any_case() {
        // What a file system that ignores case does for `--profile Production`.
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            committed_config().join("default.toml"),
            dir.path().join("default.toml"),
        )
        .unwrap();
        std::fs::copy(
            committed_config().join("production.toml"),
            dir.path().join("Production.toml"),
        )
        .unwrap();

        let error = Settings::load_with_env(dir.path(), "Production", BTreeMap::new())
            .unwrap_err()
            .to_string();

        assert!(error.contains("development key"), "{error}");
    }

    /// A copy of the committed configuration plus a profile `test` holding `text`.
    fn with_test_profile(text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(committed_config()).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
        std::fs::write(dir.path().join("test.toml"), text).unwrap();
        dir
    }

    /// The message of a configuration that must be refused.
    fn refusal(dir: &Path, profile: &str, env: &[(&str, &str)]) -> String {
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        match Settings::load_with_env(dir, profile, env) {
            Ok(_) => panic!("the configuration is accepted"),
            Err(error) => error.to_string(),
        }
    }

    /// The key committed in default.toml, which anyone can read.
    fn development_key() -> String {
        load(DEFAULT_PROFILE, &[])
            .unwrap()
            .secret_key
            .expose()
            .to_owned()
    }

    const REAL_KEY: &str = "a-real-secret-of-sufficient-length-0123456789abcdef";

    #[test]
    fn production_refuses_a_development_key_among_the_fallbacks() {
        for fallbacks in [
            development_key(),
            format!("an-older-real-key-0123456789abcdef, {}", development_key()),
            "django-insecure-generated-by-startproject".to_owned(),
        ] {
            let error = refusal(
                &committed_config(),
                PRODUCTION_PROFILE,
                &[
                    ("APP__SECRET_KEY", REAL_KEY),
                    ("APP__SECRET_KEY_FALLBACKS", &fallbacks),
                ],
            );

            assert!(error.contains("secret_key_fallbacks"), "{error}");
            assert!(error.contains("development key"), "{error}");
            assert!(error.contains("APP__SECRET_KEY_FALLBACKS"), "{error}");
        }
    }

    #[test]
    fn production_accepts_fallbacks_of_its_own() {
        let settings = load(
            PRODUCTION_PROFILE,
            &[
                ("APP__SECRET_KEY", REAL_KEY),
                (
                    "APP__SECRET_KEY_FALLBACKS",
                    "an-older-real-key-0123456789abcdef",
                ),
            ],
        )
        .unwrap();

        assert_eq!(
            settings.fallback_keys(),
            ["an-older-real-key-0123456789abcdef"]
        );
    }

    #[test]
    fn environment_strings_stay_exactly_as_written() {
        let settings = load(
            DEFAULT_PROFILE,
            &[
                ("APP__SECRET_KEY", "0123456789"),
                ("APP__SECRET_KEY_FALLBACKS", "0001"),
                ("APP__INSTRUCTOR__ENABLED", "true"),
                ("APP__INSTRUCTOR__TOKEN", "00001234567890123456"),
                ("APP__SESSION__COOKIE_NAME", "0042"),
                ("APP__SESSION__FILE_PATH", "1e5"),
                ("APP__CACHES__DEFAULT__KEY_PREFIX", "1.50"),
            ],
        )
        .unwrap();

        assert_eq!(settings.secret_key.expose(), "0123456789");
        assert_eq!(settings.fallback_keys(), ["0001"]);
        let token = settings.instructor.token.as_ref().unwrap();
        assert_eq!(token.expose(), "00001234567890123456");
        let basic = settings.lesson_session("basic", "/basic/");
        assert_eq!(basic.cookie_name, "0042");
        assert_eq!(basic.file_path.as_deref(), Some("1e5"));
        assert_eq!(
            settings.cache("default").unwrap().key_prefix.as_deref(),
            Some("1.50")
        );
    }

    #[test]
    fn environment_numbers_booleans_and_lists_still_parse() {
        let settings = load(
            DEFAULT_PROFILE,
            &[
                ("APP__SERVER__PORT", "18401"),
                ("APP__SERVER__WORKERS", "3"),
                ("APP__DATABASE__MAX_CONNECTIONS", "4"),
                ("APP__SESSION__COOKIE_AGE", "60"),
                ("APP__SESSION__COOKIE_SECURE", "true"),
                ("APP__SESSION__SAVE_EVERY_REQUEST", "TRUE"),
                ("APP__SESSION__COOKIE_SAMESITE", "false"),
                ("APP__LESSONS__BASIC__COOKIE_SAMESITE", "Strict"),
                ("APP__LESSONS__BASIC__COOKIE_HTTPONLY", "false"),
                ("APP__CACHES__DEFAULT__MAX_BYTES", "1024"),
                ("APP__SECRET_KEY_FALLBACKS", "old-one, old-two"),
            ],
        )
        .unwrap();

        assert_eq!(settings.server.port, 18401);
        assert_eq!(settings.server.workers, Some(3));
        assert_eq!(settings.database.max_connections, 4);
        let dict = settings.lesson_session("dict", "/dict/");
        assert_eq!(dict.cookie_age, 60);
        assert!(dict.cookie_secure);
        assert!(dict.save_every_request);
        assert_eq!(dict.cookie_samesite, SameSite::Omit);
        let basic = settings.lesson_session("basic", "/basic/");
        assert_eq!(basic.cookie_samesite, SameSite::STRICT);
        assert!(!basic.cookie_httponly);
        assert_eq!(settings.cache("default").unwrap().max_bytes, Some(1024));
        assert_eq!(settings.fallback_keys(), ["old-one", "old-two"]);
    }

    #[test]
    fn a_session_cookie_named_like_the_csrf_cookie_is_refused_where_it_reaches_the_playground() {
        for env in [
            vec![("APP__LESSONS__PLAYGROUND__COOKIE_NAME", "csrftoken")],
            vec![
                ("APP__SESSION__COOKIE_NAME", "csrftoken"),
                ("APP__SESSION__COOKIE_PATH", "/"),
            ],
            vec![
                ("APP__LESSONS__BASIC__COOKIE_NAME", "csrftoken"),
                ("APP__LESSONS__BASIC__COOKIE_PATH", "/playground"),
            ],
        ] {
            let error = refusal(&committed_config(), DEFAULT_PROFILE, &env);

            assert!(error.contains("\"csrftoken\""), "{env:?}: {error}");
            assert!(error.contains("CSRF cookie"), "{env:?}: {error}");
        }
        // On its own lesson's path (or one that only looks like the playground's), the name
        // reaches no playground page.
        for env in [
            vec![("APP__LESSONS__BASIC__COOKIE_NAME", "csrftoken")],
            vec![
                ("APP__LESSONS__BASIC__COOKIE_NAME", "csrftoken"),
                ("APP__LESSONS__BASIC__COOKIE_PATH", "/play"),
            ],
        ] {
            let settings = load(DEFAULT_PROFILE, &env).unwrap();
            assert_eq!(
                settings.lesson_session("basic", "/basic/").cookie_name,
                "csrftoken"
            );
        }
    }

    #[test]
    fn a_cookie_age_that_is_not_whole_seconds_is_refused() {
        let dir = with_test_profile("[session]\ncookie_age = 59.9\n");

        let error = refusal(dir.path(), "test", &[]);

        assert!(error.contains("test.toml"), "{error}");
        assert!(error.contains("session.cookie_age"), "{error}");
        assert!(error.contains("59.9"), "{error}");
        assert!(error.contains("whole seconds"), "{error}");

        let error = refusal(
            &committed_config(),
            DEFAULT_PROFILE,
            &[("APP__SESSION__COOKIE_AGE", "1.5")],
        );

        assert!(error.contains("APP__SESSION__COOKIE_AGE"), "{error}");
        assert!(error.contains("1.5"), "{error}");
        assert!(error.contains("whole seconds"), "{error}");
    }

    #[test]
    fn a_port_that_is_not_a_whole_number_is_refused() {
        let dir = with_test_profile("[server]\nport = 8000.5\n");

        let error = refusal(dir.path(), "test", &[]);

        assert!(error.contains("server.port"), "{error}");
        assert!(error.contains("8000.5"), "{error}");
        assert!(error.contains("0 to 65535"), "{error}");
    }

    #[test]
    fn a_boolean_that_is_not_one_is_refused_with_the_allowed_values() {
        let Err(error) = load("default", &[("APP__SESSION__COOKIE_SECURE", "maybe")]) else {
            panic!("`maybe` is not a boolean");
        };

        let message = error.to_string();

        assert!(
            message.contains("APP__SESSION__COOKIE_SECURE")
                && message.contains("`session.cookie_secure`")
                && message.contains("\"maybe\"")
                && message.contains("allowed values: true, false"),
            "{message}"
        );
    }

    #[test]
    fn a_variable_with_one_underscore_after_app_is_told_its_spelling() {
        assert_eq!(
            misspelled_variable("APP_SERVER__PORT").as_deref(),
            Some("APP__SERVER__PORT")
        );
        assert_eq!(
            misspelled_variable("APP_LESSONS__BASIC__COOKIE_AGE").as_deref(),
            Some("APP__LESSONS__BASIC__COOKIE_AGE")
        );
        for name in [
            "APP__SERVER__PORT",
            "APP_PROFILE",
            "APP_CONFIG_DIR",
            "APPLE__X",
            "APP_X",
        ] {
            assert_eq!(misspelled_variable(name), None, "{name}");
        }
    }

    #[test]
    fn a_samesite_number_is_refused_with_the_allowed_values() {
        let dir = with_test_profile("[session]\ncookie_samesite = 0\n");

        let error = refusal(dir.path(), "test", &[]);

        assert!(error.contains("session.cookie_samesite"), "{error}");
        assert!(
            error.contains("\"Lax\", \"Strict\", \"None\", false"),
            "{error}"
        );
        assert!(!error.contains("untagged"), "{error}");
    }

    #[test]
    fn a_fallbacks_value_that_is_not_a_list_is_refused_with_the_allowed_form() {
        let dir = with_test_profile("secret_key_fallbacks = 5\n");

        let error = refusal(dir.path(), "test", &[]);

        assert!(error.contains("secret_key_fallbacks"), "{error}");
        assert!(error.contains("a list of keys"), "{error}");
        assert!(!error.contains("untagged"), "{error}");
    }

    #[test]
    fn a_cache_size_or_timeout_of_zero_names_its_key() {
        for key in ["max_bytes", "pool_size", "timeout_ms"] {
            let variable = format!("APP__CACHES__DEFAULT__{}", key.to_ascii_uppercase());
            let Err(error) = load("default", &[(variable.as_str(), "0")]) else {
                panic!("{key} = 0 is accepted");
            };

            let message = error.to_string();

            assert!(
                message.contains(&format!(
                    "`caches.default.{key}` = 0; allowed: a whole number, 1 or more"
                )),
                "{message}"
            );
        }
    }

    #[test]
    fn a_tls_redis_url_is_refused_as_configuration_without_its_password() {
        let Err(error) = load(
            "redis",
            &[(
                "APP__CACHES__DEFAULT__URL",
                "rediss://:s3cret@redis.example:6380/0",
            )],
        ) else {
            panic!("rediss:// is accepted by a build without TLS");
        };

        let message = error.to_string();

        assert!(
            message.contains("APP__CACHES__DEFAULT__URL")
                && message
                    .contains("`caches.default.url` = \"rediss://:***@redis.example:6380/0\"")
                && message.contains("TLS")
                && message.contains("allowed: redis://host:port/db"),
            "{message}"
        );
        assert!(!message.contains("s3cret"), "{message}");
    }

    #[test]
    fn a_redis_url_that_does_not_parse_is_refused_as_configuration() {
        let Err(error) = load(
            "redis",
            &[("APP__CACHES__DEFAULT__URL", "redis://:s3cret@redis:63 79/0")],
        ) else {
            panic!("a Redis URL with a bad port is accepted");
        };

        let message = error.to_string();

        assert!(
            message.contains("environment variable APP__CACHES__DEFAULT__URL")
                && message.contains(
                    "`caches.default.url` is not a valid Redis URL (invalid port number)"
                )
                && message.contains("allowed: redis://host:port/db"),
            "{message}"
        );
        assert!(!message.contains("s3cret"), "{message}");
    }

    #[test]
    fn an_unknown_cache_backend_is_refused_with_the_allowed_values() {
        let dir = with_test_profile("[caches.default]\nbackend = \"memcached\"\n");

        let error = refusal(dir.path(), "test", &[]);

        assert!(error.contains("caches.default.backend"), "{error}");
        assert!(error.contains("memcached"), "{error}");
        assert!(error.contains("allowed values: memory, redis"), "{error}");
    }

    #[test]
    fn the_cookie_age_message_names_the_largest_age_accepted() {
        assert!(COOKIE_AGE_ALLOWED.contains(&MAX_COOKIE_AGE.to_string()));
    }

    #[test]
    fn a_default_toml_that_is_a_directory_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("default.toml")).unwrap();

        let error = refusal(dir.path(), DEFAULT_PROFILE, &[]);

        assert!(error.contains("default.toml is not a file"), "{error}");
        assert!(!error.contains("does not exist"), "{error}");
    }

    #[test]
    fn a_missing_default_toml_and_a_missing_directory_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();

        let error = refusal(dir.path(), DEFAULT_PROFILE, &[]);
        assert!(error.contains("default.toml does not exist"), "{error}");

        let error = refusal(&dir.path().join("nowhere"), DEFAULT_PROFILE, &[]);
        assert!(
            error.contains("configuration directory") && error.contains("does not exist"),
            "{error}"
        );
    }

    #[test]
    fn a_configuration_directory_that_is_a_file_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        std::fs::write(&file, "").unwrap();

        let error = refusal(&file, DEFAULT_PROFILE, &[]);

        assert!(
            error.contains(&format!(
                "configuration directory {} is not a directory",
                file.display()
            )),
            "{error}"
        );
    }

    #[test]
    fn the_server_address_is_written_as_in_a_url() {
        let server = |host: &str| ServerSettings {
            host: host.into(),
            port: 8000,
            workers: None,
        };

        assert_eq!(server("127.0.0.1").address(), "127.0.0.1:8000");
        assert_eq!(server("localhost").address(), "localhost:8000");
        assert_eq!(server("::1").address(), "[::1]:8000");
        assert_eq!(server("[::1]").address(), "[::1]:8000");
        assert_eq!(
            server("[::1]").socket_addrs().unwrap(),
            ["[::1]:8000".parse::<SocketAddr>().unwrap()]
        );
    }

    #[test]
    fn plain_profile_names_load() {
        for name in ["default", "signed", "cached_db"] {
            let settings = load(name, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));

            assert_eq!(settings.profile, name);
        }
    }
}
