//! The rules that look at the settings as a whole, once every source is read: the production
//! profile's, the caches the lessons name, and the cookie name the playground needs for itself.

use super::cache::CacheBackend;
use super::engine::Engine;
use super::lessons::LESSON_SLUGS;
use super::secret::{Secret, development_key_kind};
use super::settings::Settings;

/// The profile that refuses development secrets.
pub const PRODUCTION_PROFILE: &str = "production";

impl Settings {
    /// No session cookie is named like the playground's CSRF cookie (`csrftoken`) on a path
    /// that reaches the playground: each would overwrite the other in the browser (a playground
    /// answer could carry both, a fresh token and the session's deletion cookie that removes
    /// it, where Django's response keeps one cookie of a name), and the playground would take
    /// the session key for its token and write it into its page.
    pub(super) fn check_cookie_names(&self) -> Result<(), String> {
        use crate::playground::{MOUNT_PATH, csrf};
        for slug in LESSON_SLUGS {
            let session = self.lesson_session(slug, &format!("/{slug}/"));
            if session.cookie_name == csrf::COOKIE_NAME
                && cookie_path_covers(&session.cookie_path, MOUNT_PATH)
            {
                return Err(format!(
                    "{} names its session cookie {:?} on the path {:?}, which reaches {MOUNT_PATH}, where the playground's CSRF cookie has that name; allowed: any other `cookie_name`, or a `cookie_path` outside {MOUNT_PATH}",
                    scope_name(slug),
                    session.cookie_name,
                    session.cookie_path
                ));
            }
        }
        Ok(())
    }

    /// Every cache has a backend and a Redis cache a URL, used or not (a cache that a
    /// variable with a misspelled alias set up has neither), and every lesson on a cache
    /// engine names a configured cache.
    pub(super) fn check_cache_aliases(&self) -> Result<(), String> {
        for (alias, cache) in &self.caches {
            match cache.backend {
                None => {
                    return Err(format!(
                        "`caches.{alias}.backend` is not set; allowed values: {} (is `{alias}` the alias meant?)",
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
        for slug in LESSON_SLUGS {
            let session = self.lesson_session(slug, "/");
            if !matches!(session.engine, Engine::Cache | Engine::CachedDb) {
                continue;
            }
            let alias = &session.cache_alias;
            self.caches.get(alias).ok_or_else(|| {
                let known: Vec<&str> = self.caches.keys().map(String::as_str).collect();
                format!(
                    "{} uses the `{}` engine with `cache_alias` = {alias:?}, but there is no `[caches.{alias}]`; configured caches: {}",
                    scope_name(slug),
                    session.engine,
                    if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                )
            })?;
        }
        Ok(())
    }

    /// Whether the production rules apply: the profile is `production` in any case (a file
    /// system that ignores case reads production.toml for `Production` too).
    fn is_production(&self) -> bool {
        self.profile.eq_ignore_ascii_case(PRODUCTION_PROFILE)
    }

    /// The `production` profile's rules: no development key (`development_key` is the one
    /// committed in default.toml) and no key Django's deployment checks call weak as
    /// `secret_key` or among `secret_key_fallbacks`, and no clear-text session cookie on a
    /// public address.
    pub(super) fn check_profile_rules(&self, development_key: Option<&str>) -> Result<(), String> {
        if !self.is_production() {
            return Ok(());
        }
        if let Some(kind) = development_key_kind(&self.secret_key, development_key) {
            return Err(format!(
                "`secret_key` is {kind}, which the `{PRODUCTION_PROFILE}` profile refuses; set a secret of your own with APP__SECRET_KEY"
            ));
        }
        if let Some(weakness) = weak_key(&self.secret_key) {
            return Err(format!(
                "`secret_key` {weakness}, which the `{PRODUCTION_PROFILE}` profile refuses (Django's check security.W009); allowed: {MIN_SECRET_KEY_LENGTH} or more random characters, at least {MIN_SECRET_KEY_UNIQUE} of them different, set with APP__SECRET_KEY"
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
            if let Some(weakness) = weak_key(key) {
                return Err(format!(
                    "`secret_key_fallbacks` key {} of {} {weakness}, which the `{PRODUCTION_PROFILE}` profile refuses (Django's check security.W025): anything signed with it would still be accepted; allowed: {MIN_SECRET_KEY_LENGTH} or more random characters, at least {MIN_SECRET_KEY_UNIQUE} of them different (set APP__SECRET_KEY_FALLBACKS without it)",
                    index + 1,
                    fallbacks.len()
                ));
            }
        }
        let local = matches!(self.server.host.as_str(), "127.0.0.1" | "localhost" | "::1");
        for slug in LESSON_SLUGS {
            if !local && !self.lesson_session(slug, "/").cookie_secure {
                return Err(format!(
                    "{} has `cookie_secure = false` while the server listens on {}: over plain http from another host the session cookie travels in clear text, which the `{PRODUCTION_PROFILE}` profile refuses; allowed: cookie_secure = true (serve over https), or listen on 127.0.0.1 behind a TLS proxy",
                    scope_name(slug),
                    self.server.host
                ));
            }
        }
        Ok(())
    }
}

/// The fewest characters of a production secret key (Django's `SECRET_KEY_MIN_LENGTH`).
const MIN_SECRET_KEY_LENGTH: usize = 50;
/// The fewest different characters of a production secret key (`SECRET_KEY_MIN_UNIQUE_CHARACTERS`).
const MIN_SECRET_KEY_UNIQUE: usize = 5;

/// Why `key` is too weak to sign a deployment's sessions, as Django's check security.W009
/// finds it (characters counted as Python counts them), without showing the key.
fn weak_key(key: &Secret) -> Option<String> {
    let length = key.expose().chars().count();
    let unique = key
        .expose()
        .chars()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if length < MIN_SECRET_KEY_LENGTH {
        Some(format!("has {length} characters"))
    } else if unique < MIN_SECRET_KEY_UNIQUE {
        Some(format!("has only {unique} different characters"))
    } else {
        None
    }
}

/// How a refusal names the scope whose `[lessons.<slug>]` settings it is about: the
/// playground is not a lesson.
fn scope_name(slug: &str) -> String {
    if slug == crate::playground::SLUG {
        "the playground".to_owned()
    } else {
        format!("lesson `{slug}`")
    }
}

/// RFC 6265's path-match: whether a cookie on `cookie_path` is sent to `request_path`.
fn cookie_path_covers(cookie_path: &str, request_path: &str) -> bool {
    match request_path.strip_prefix(cookie_path) {
        Some(rest) => cookie_path.ends_with('/') || rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_PROFILE;
    use crate::config::fixtures::{committed_config, load, refusal, with_test_profile};

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

        let error = refusal(dir.path(), "Production", &[]);

        assert!(error.contains("development key"), "{error}");
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
            format!(
                "an-older-real-key-of-sufficient-length-0123456789abcdef, {}",
                development_key()
            ),
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
    fn production_refuses_a_secret_key_django_calls_weak_without_showing_it() {
        for (key, weakness) in [
            ("short-but-real-0123456789", "has 25 characters"),
            (&"ab".repeat(30), "has only 2 different characters"),
            // Characters, not bytes, as Python's len() counts them.
            (&"é1234".repeat(9), "has 45 characters"),
        ] {
            let error = refusal(
                &committed_config(),
                PRODUCTION_PROFILE,
                &[("APP__SECRET_KEY", key)],
            );

            assert!(
                error.contains(&format!("`secret_key` {weakness}"))
                    && error.contains("allowed: 50 or more random characters"),
                "{error}"
            );
            assert!(!error.contains(key), "{error}");
        }
        assert!(load(PRODUCTION_PROFILE, &[("APP__SECRET_KEY", REAL_KEY)]).is_ok());
    }

    #[test]
    fn a_cache_no_lesson_uses_still_needs_a_backend_and_a_redis_cache_a_url() {
        for (env, refused) in [
            // A misspelled alias sets up a cache of its own, which nothing used.
            (
                ("APP__CACHES__DEFUALT__URL", "redis://10.0.0.5:6379/0"),
                "`caches.defualt.backend` is not set; allowed values: memory, redis",
            ),
            (
                ("APP__CACHES__SPARE__BACKEND", "redis"),
                "`caches.spare` is a Redis cache without `url`",
            ),
        ] {
            let error = refusal(&committed_config(), DEFAULT_PROFILE, &[env]);

            assert!(error.contains(refused), "{error}");
            assert!(
                error.contains(&format!("environment variable {}", env.0)),
                "{error}"
            );
        }
    }

    #[test]
    fn production_refuses_a_fallback_key_django_calls_weak_without_showing_it() {
        for (fallbacks, weakness) in [
            ("short-but-real-0123456789", "key 1 of 1 has 25 characters"),
            (
                "an-older-real-key-of-sufficient-length-0123456789abcdef, abababababababababababababababababababababababababab",
                "key 2 of 2 has only 2 different characters",
            ),
        ] {
            let error = refusal(
                &committed_config(),
                PRODUCTION_PROFILE,
                &[
                    ("APP__SECRET_KEY", REAL_KEY),
                    ("APP__SECRET_KEY_FALLBACKS", fallbacks),
                ],
            );

            assert!(
                error.contains(&format!("`secret_key_fallbacks` {weakness}"))
                    && error.contains("security.W025")
                    && error.contains("allowed: 50 or more random characters"),
                "{error}"
            );
            assert!(!error.contains("short-but-real"), "{error}");
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
                    "an-older-real-key-of-sufficient-length-0123456789abcdef",
                ),
            ],
        )
        .unwrap();

        assert_eq!(
            settings.fallback_keys(),
            ["an-older-real-key-of-sufficient-length-0123456789abcdef"]
        );
    }

    #[test]
    fn a_session_cookie_named_like_the_csrf_cookie_is_refused_where_it_reaches_the_playground() {
        for (env, named) in [
            (
                vec![("APP__LESSONS__PLAYGROUND__COOKIE_NAME", "csrftoken")],
                "the playground names",
            ),
            (
                vec![
                    ("APP__SESSION__COOKIE_NAME", "csrftoken"),
                    ("APP__SESSION__COOKIE_PATH", "/"),
                ],
                "lesson `basic` names",
            ),
            (
                vec![
                    ("APP__LESSONS__BASIC__COOKIE_NAME", "csrftoken"),
                    ("APP__LESSONS__BASIC__COOKIE_PATH", "/playground"),
                ],
                "lesson `basic` names",
            ),
        ] {
            let error = refusal(&committed_config(), DEFAULT_PROFILE, &env);

            assert!(error.contains(named), "{env:?}: {error}");
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
    fn a_cache_engine_needs_a_configured_cache_with_a_backend_and_a_redis_url() {
        // Each profile alone: a cache without a backend, or a Redis one without a URL, is
        // refused whether or not a lesson names it.
        for (profile, engine, alias, expected) in [
            (
                "[caches.remote]\nbackend = \"redis\"\nurl = \"redis://127.0.0.1:6379/0\"\n",
                "cache",
                "nowhere",
                "lesson `basic` uses the `cache` engine with `cache_alias` = \"nowhere\", but there is no `[caches.nowhere]`; configured caches: default, remote",
            ),
            (
                "[caches.bare]\nmax_bytes = 1024\n",
                "cached_db",
                "bare",
                "`caches.bare.backend` is not set; allowed values: memory, redis",
            ),
            (
                "[caches.remote]\nbackend = \"redis\"\n",
                "db",
                "default",
                "`caches.remote` is a Redis cache without `url`",
            ),
        ] {
            let dir = with_test_profile(profile);
            let env = [
                ("APP__LESSONS__BASIC__ENGINE", engine),
                ("APP__LESSONS__BASIC__CACHE_ALIAS", alias),
            ];

            let error = refusal(dir.path(), "test", &env);

            assert!(error.contains(expected), "{env:?}: {error}");
        }
        // A memory cache needs no URL; a lesson on a database engine names no cache at all.
        for (engine, alias) in [("cache", "default"), ("db", "nowhere")] {
            let env = [
                ("APP__LESSONS__BASIC__ENGINE", engine),
                ("APP__LESSONS__BASIC__CACHE_ALIAS", alias),
            ];
            let settings = load(DEFAULT_PROFILE, &env).unwrap();
            assert_eq!(
                settings.lesson_session("basic", "/basic/").cache_alias,
                alias
            );
        }
    }

    #[test]
    fn production_refuses_a_clear_text_session_cookie_only_on_a_public_address() {
        let insecure = [
            ("APP__SECRET_KEY", REAL_KEY),
            ("APP__LESSONS__DICT__COOKIE_SECURE", "false"),
        ];

        let error = refusal(&committed_config(), PRODUCTION_PROFILE, &insecure);

        assert!(
            error.contains(
                "lesson `dict` has `cookie_secure = false` while the server listens on 0.0.0.0"
            ),
            "{error}"
        );
        for host in ["127.0.0.1", "localhost", "::1"] {
            let env = [insecure[0], insecure[1], ("APP__SERVER__HOST", host)];
            let settings = load(PRODUCTION_PROFILE, &env).unwrap();
            assert!(!settings.lesson_session("dict", "/dict/").cookie_secure);
        }
    }
}
