//! Reading the configuration: each source alone, so that a refusal names the one at fault, then
//! all of them layered into `Settings`, which the checks then look at as a whole.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use config::Config;

use super::database::{DatabaseSettings, URL_ALLOWED};
use super::error::ConfigError;
use super::instructor::instructor_settings;
use super::raw::RawSettings;
use super::schema::{check_file_sections, check_file_types};
use super::secret::{SECRET_KEY_ALLOWED, Secret};
use super::server::{HOST_ALLOWED, PORT_ALLOWED, ServerSettings};
use super::settings::Settings;
use super::sources::{app_variables, layered_sources};

impl Settings {
    /// Loads `profile` from `config_dir` plus the process environment.
    /// Only `APP_…` variables are looked at, so that other variables need not be UTF-8.
    pub fn load(config_dir: &Path, profile: &str) -> Result<Settings, ConfigError> {
        Self::load_with_env(config_dir, profile, app_variables()?)
    }

    /// Loads `profile` from `config_dir`, with `env` standing in for the process environment.
    pub fn load_with_env(
        config_dir: &Path,
        profile: &str,
        env: BTreeMap<String, String>,
    ) -> Result<Settings, ConfigError> {
        let sources = layered_sources(config_dir, profile, env)?;

        // Each source alone first, so an error names the one at fault.
        let mut development_key = None;
        for (index, named) in sources.iter().enumerate() {
            let invalid = |message: String| ConfigError::Invalid {
                source_name: named.name.clone(),
                message,
            };
            // A file's values have TOML's types, which the `config` crate would convert.
            let values = match named.typed {
                true => Some(named.source.collect().map_err(|e| invalid(describe(e)))?),
                false => None,
            };
            if let Some(values) = &values {
                check_file_sections(values).map_err(invalid)?;
            }
            let raw: RawSettings = Config::builder()
                .add_source(vec![config::Source::clone_into_box(named.source.as_ref())])
                .build()
                .and_then(Config::try_deserialize)
                .map_err(|e| invalid(describe(e)))?;
            raw.validate().map_err(invalid)?;
            if let Some(values) = &values {
                check_file_types(values).map_err(invalid)?;
            }
            // The first source is default.toml, whose key is public.
            if index == 0 {
                development_key = raw.secret_key;
            }
        }

        let merged_name = sources
            .iter()
            .map(|named| named.name.as_str())
            .collect::<Vec<_>>()
            .join(" + ");
        let mut builder = Config::builder();
        for named in sources {
            builder = builder.add_source(vec![named.source]);
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
            .ok_or_else(|| invalid(not_set("secret_key", SECRET_KEY_ALLOWED)))?;
        let raw_server = raw.server.unwrap_or_default();
        let server = ServerSettings {
            host: raw_server
                .host
                .ok_or_else(|| invalid(not_set("server.host", HOST_ALLOWED)))?,
            port: raw_server
                .port
                .ok_or_else(|| invalid(not_set("server.port", PORT_ALLOWED)))?,
            workers: raw_server.workers,
            trust_forwarded_headers: raw_server.trust_forwarded_headers.unwrap_or(false),
        };
        let raw_database = raw.database.unwrap_or_default();
        let database = DatabaseSettings {
            url: raw_database
                .url
                .ok_or_else(|| invalid(not_set("database.url", URL_ALLOWED)))?,
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
}

/// The refusal of a setting that no source sets, with the values it takes.
fn not_set(key: &str, allowed: &str) -> String {
    format!("`{key}` is not set; allowed: {allowed}")
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
        // The file is named before the message, by its full path; the crate names it again
        // after the parser's message, as it was given.
        config::ConfigError::FileParse { cause, .. } => cause.to_string().trim_end().to_owned(),
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
    use crate::config::fixtures::{load, refusal};
    use crate::config::{DEFAULT_PROFILE, SameSite};

    #[test]
    fn a_setting_no_source_sets_is_refused_with_the_values_it_takes() {
        let dir = tempfile::tempdir().unwrap();
        let default_toml = dir.path().join("default.toml");
        for (text, key, allowed) in [
            ("", "secret_key", "any non-empty string"),
            (
                "secret_key = \"k\"\n",
                "server.host",
                "an address or host name",
            ),
            (
                "secret_key = \"k\"\n[server]\nhost = \"127.0.0.1\"\n",
                "server.port",
                "a port number from 0 to 65535",
            ),
            (
                "secret_key = \"k\"\n[server]\nhost = \"127.0.0.1\"\nport = 0\n",
                "database.url",
                "sqlite://relative/path.sqlite3",
            ),
        ] {
            std::fs::write(&default_toml, text).unwrap();

            let error = refusal(dir.path(), DEFAULT_PROFILE, &[]);

            assert!(
                error.contains(&default_toml.display().to_string())
                    && error.contains(&format!("`{key}` is not set; allowed: {allowed}")),
                "{error}"
            );
        }
    }

    #[test]
    fn a_file_that_is_not_toml_is_named_once_with_the_line_at_fault() {
        let dir = crate::config::fixtures::with_test_profile("[session]\ncookie_age = \n");

        let error = refusal(dir.path(), "test", &[]);

        let file = dir.path().join("test.toml").display().to_string();
        assert!(
            error.starts_with(&format!(
                "invalid configuration in {file}: TOML parse error at line 2"
            )),
            "{error}"
        );
        assert_eq!(error.matches("test.toml").count(), 1, "{error}");
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
}
