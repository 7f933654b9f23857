//! `[caches.<alias>]`: Django's `CACHES` for the cache engines, in memory or on Redis.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::read::{WholeNumber, count, one_of};

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
#[serde(
    deny_unknown_fields,
    expecting = "a table [caches.<alias>] with keys backend, url, key_prefix, max_bytes, pool_size, timeout_ms"
)]
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
    #[serde(default, deserialize_with = "pool_size")]
    pub pool_size: Option<usize>,
    /// Redis: connect, wait and response timeout in milliseconds (default 2000).
    #[serde(default, deserialize_with = "count")]
    pub timeout_ms: Option<u64>,
}

impl CacheSettings {
    /// Checks every value that is set; the error names the key and the allowed values.
    pub(super) fn validate(&self, alias: &str) -> Result<(), String> {
        check_alias(alias)?;
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
            ("timeout_ms", self.timeout_ms == Some(0)),
        ]
        .into_iter()
        .find_map(|(key, is_zero)| is_zero.then_some(key));
        if let Some(key) = zero {
            return Err(format!(
                "`caches.{alias}.{key}` = 0; allowed: a whole number, 1 or more"
            ));
        }
        if let Some(size) = self.pool_size
            && !(1..=MAX_POOL_SIZE).contains(&size)
        {
            return Err(format!(
                "`caches.{alias}.pool_size` = {size} is out of range; allowed: {POOL_SIZE_ALLOWED}"
            ));
        }
        Ok(())
    }
}

/// An alias is lower-case letters, digits and single `_`, so that `APP__CACHES__<ALIAS>__…`
/// reaches it: the variable's name is read in lower case and split at `__`, and would set up a
/// cache of its own beside `[caches.MyCache]` or `[caches.my__cache]`, leaving it as it was.
fn check_alias(alias: &str) -> Result<(), String> {
    let plain = !alias.is_empty()
        && !alias.contains("__")
        && alias
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    match plain {
        true => Ok(()),
        false => Err(format!(
            "`[caches.{alias}]` is not a cache alias that APP__CACHES__{}__… can set; allowed: lower-case letters, digits and single `_`, such as `default` or `sessions_2`",
            alias.to_ascii_uppercase()
        )),
    }
}

/// The most connections a Redis pool holds: Redis's own default `maxclients` (the pool sets
/// room aside for all of them when it is made).
const MAX_POOL_SIZE: usize = 10_000;

/// The values `caches.<alias>.pool_size` takes.
pub(super) const POOL_SIZE_ALLOWED: &str =
    "a whole number from 1 to 10000 (Redis's default maxclients)";

fn pool_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    WholeNumber::read(d, POOL_SIZE_ALLOWED)
}

/// Reads `[caches]`: one table per alias. Anything else is refused with that form, where a map
/// read by serde alone would be "expected a map".
pub(super) fn cache_tables<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<BTreeMap<String, CacheSettings>>, D::Error> {
    d.deserialize_map(CacheTables).map(Some)
}

/// Reads the tables of `[caches]`, by alias.
struct CacheTables;

impl<'de> Visitor<'de> for CacheTables {
    type Value = BTreeMap<String, CacheSettings>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tables [caches.<alias>], one per cache, such as [caches.default]")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut tables: A) -> Result<Self::Value, A::Error> {
        let mut caches = BTreeMap::new();
        while let Some((alias, cache)) = tables.next_entry()? {
            caches.insert(alias, cache);
        }
        Ok(caches)
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

#[cfg(test)]
mod tests {
    use crate::config::fixtures::{load, refusal, with_test_profile};

    #[test]
    fn a_cache_size_or_timeout_of_zero_names_its_key() {
        // `pool_size` has a range of its own (config/refusals.rs).
        for key in ["max_bytes", "timeout_ms"] {
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
    fn a_cache_alias_its_variables_cannot_reach_is_refused() {
        for alias in ["MyCache", "my__cache", "\"my-cache\"", "\"\""] {
            let dir = with_test_profile(&format!("[caches.{alias}]\nbackend = \"memory\"\n"));

            let error = refusal(dir.path(), "test", &[]);

            assert!(error.contains("test.toml"), "{error}");
            assert!(
                error.contains(&format!("`[caches.{}]`", alias.trim_matches('"'))),
                "{error}"
            );
            assert!(error.contains("allowed: lower-case letters"), "{error}");
        }
        // A plain alias is reached by its variables.
        let dir = with_test_profile("[caches.sessions_2]\nbackend = \"memory\"\n");
        let settings = crate::config::Settings::load_with_env(
            dir.path(),
            "test",
            [(
                "APP__CACHES__SESSIONS_2__MAX_BYTES".to_owned(),
                "1024".to_owned(),
            )]
            .into(),
        )
        .unwrap();
        assert_eq!(settings.cache("sessions_2").unwrap().max_bytes, Some(1024));
    }

    #[test]
    fn an_unknown_cache_backend_is_refused_with_the_allowed_values() {
        let dir = with_test_profile("[caches.default]\nbackend = \"memcached\"\n");

        let error = refusal(dir.path(), "test", &[]);

        assert!(error.contains("caches.default.backend"), "{error}");
        assert!(error.contains("memcached"), "{error}");
        assert!(error.contains("allowed values: memory, redis"), "{error}");
    }
}
