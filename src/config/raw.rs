//! One configuration source as written, every key optional and unknown keys refused, checked
//! alone so that a refusal names the file or the variable at fault.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::cache::{CacheSettings, cache_tables};
use super::database::{RawDatabase, database_path_kind};
use super::instructor::RawInstructor;
use super::lessons::LessonOverrides;
use super::overrides::SessionOverrides;
use super::read::refuse_blank;
use super::secret::{SECRET_KEY_ALLOWED, list_or_comma_separated};
use super::server::{HOST_ALLOWED, MAX_WORKERS, RawServer, WORKERS_ALLOWED};

/// One configuration source as written: every key optional, unknown keys refused.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSettings {
    pub(super) secret_key: Option<String>,
    #[serde(default, deserialize_with = "list_or_comma_separated")]
    pub(super) secret_key_fallbacks: Option<Vec<String>>,
    pub(super) server: Option<RawServer>,
    pub(super) database: Option<RawDatabase>,
    pub(super) session: Option<SessionOverrides>,
    pub(super) lessons: Option<LessonOverrides>,
    #[serde(default, deserialize_with = "cache_tables")]
    pub(super) caches: Option<BTreeMap<String, CacheSettings>>,
    pub(super) instructor: Option<RawInstructor>,
}

impl RawSettings {
    /// The keys at the top of a source that hold a value rather than a section.
    pub(super) const VALUE_KEYS: [&'static str; 2] = ["secret_key", "secret_key_fallbacks"];

    /// Checks every value that is set; the error names the key and the allowed values.
    pub(super) fn validate(&self) -> Result<(), String> {
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
            return Err(format!(
                "`secret_key` is empty; allowed: {SECRET_KEY_ALLOWED}"
            ));
        }
        let fallbacks = self.secret_key_fallbacks.as_deref().unwrap_or_default();
        if let Some(index) = fallbacks.iter().position(|key| key.trim().is_empty()) {
            // An empty key would sign as well as any: anyone could forge what it accepts.
            return Err(format!(
                "`secret_key_fallbacks` holds an empty key (key {} of {}); allowed: keys that were once `secret_key`, each {SECRET_KEY_ALLOWED}",
                index + 1,
                fallbacks.len()
            ));
        }
        if let Some(instructor) = &self.instructor {
            instructor.validate()?;
        }
        if let Some(db) = &self.database {
            if let Some(url) = &db.url {
                database_path_kind(url)?;
            }
            if db.max_connections == Some(0) {
                return Err("`database.max_connections` = 0; allowed: 1 or more".into());
            }
        }
        if let Some(server) = &self.server {
            if let Some(workers) = server.workers
                && !(1..=MAX_WORKERS).contains(&workers)
            {
                return Err(format!(
                    "`server.workers` = {workers} is out of range; allowed: {WORKERS_ALLOWED}"
                ));
            }
            refuse_blank("server.host", server.host.as_deref(), HOST_ALLOWED)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use config::{Config, File, FileFormat};

    use super::*;
    use crate::config::fixtures::load;

    /// `text` read as one TOML source.
    fn read(text: &str) -> Result<RawSettings, config::ConfigError> {
        Config::builder()
            .add_source(File::from_str(text, FileFormat::Toml))
            .build()
            .and_then(Config::try_deserialize)
    }

    #[test]
    fn the_value_keys_are_the_keys_at_the_top_that_take_a_string() {
        let Err(unknown) = read("unknown = 1") else {
            panic!("an unknown key is accepted");
        };
        let message = unknown.to_string();
        let listed = message
            .split_once("expected one of ")
            .map(|(_, keys)| keys)
            .unwrap_or_else(|| panic!("no key listed: {message}"));
        let keys: Vec<&str> = listed.split(", ").map(|k| k.trim_matches('`')).collect();

        let values: Vec<&str> = keys
            .iter()
            .copied()
            .filter(|key| read(&format!("{key} = \"text\"")).is_ok())
            .collect();

        assert_eq!(keys.len(), 8, "{message}");
        assert_eq!(values, RawSettings::VALUE_KEYS);
    }

    #[test]
    fn a_section_of_the_wrong_type_is_refused_with_the_form_it_takes() {
        for (variable, key, allowed) in [
            (
                "APP__SERVER",
                "server",
                "a table [server] with keys host, port, workers",
            ),
            (
                "APP__DATABASE",
                "database",
                "a table [database] with keys url",
            ),
            ("APP__SESSION", "session", "a table of session settings"),
            (
                "APP__LESSONS",
                "lessons",
                "a table [lessons] of tables named by lesson: basic",
            ),
            (
                "APP__LESSONS__BASIC",
                "lessons.basic",
                "a table of session settings",
            ),
            (
                "APP__CACHES",
                "caches",
                "tables [caches.<alias>], one per cache",
            ),
            (
                "APP__CACHES__DEFAULT",
                "caches.default",
                "a table [caches.<alias>] with keys backend",
            ),
            (
                "APP__INSTRUCTOR",
                "instructor",
                "a table [instructor] with keys enabled, token",
            ),
        ] {
            let Err(error) = load("default", &[(variable, "5")]) else {
                panic!("{variable}=5 is accepted");
            };

            let message = error.to_string();

            assert!(
                message.contains(&format!("environment variable {variable}:"))
                    && message.contains(&format!("key `{key}`: invalid type: string \"5\""))
                    && message.contains(&format!("expected {allowed}")),
                "{message}"
            );
        }
    }
}
