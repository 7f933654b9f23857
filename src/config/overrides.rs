//! `[session]` and `[lessons.<slug>]` as written: Django's session settings, each optional,
//! laid one over the other and checked with the key and the allowed values.

use serde::{Deserialize, Deserializer};

use super::engine::Engine;
use super::read::{WholeNumber, refuse_blank};
use super::samesite::SameSite;

/// The session settings as written in `[session]` or `[lessons.<slug>]`: every key optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table of session settings, such as engine and cookie_age"
)]
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
    pub(super) fn layered(&self, over: &SessionOverrides) -> SessionOverrides {
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
    pub(super) fn validate(&self, section: &str) -> Result<(), String> {
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
        refuse_blank(
            &format!("{section}.file_path"),
            self.file_path.as_deref(),
            "an existing directory, absolute or relative to the project root (absent: data/sessions/)",
        )?;
        refuse_blank(
            &format!("{section}.cache_alias"),
            self.cache_alias.as_deref(),
            "the alias of a `[caches.<alias>]` table, such as \"default\"",
        )?;
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

/// Parses `clear_expired_every`: a human duration of at least one second.
pub(super) fn parse_sweep_period(text: &str) -> Result<std::time::Duration, String> {
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

/// The allowed values of `cookie_age` (range checked in [`SessionOverrides::validate`]).
pub(super) const COOKIE_AGE_ALLOWED: &str = "whole seconds from 0 to 3153600000 (100 years)";

fn cookie_age<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    WholeNumber::read(d, COOKIE_AGE_ALLOWED)
}

/// The largest accepted `cookie_age`: one hundred years.
pub const MAX_COOKIE_AGE: i64 = 100 * 365 * 24 * 3600;

fn is_cookie_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_cookie_attribute_byte(b: u8) -> bool {
    (0x20..0x7f).contains(&b) && b != b';'
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_PROFILE;
    use crate::config::fixtures::{committed_config, refusal, with_test_profile};

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
    fn the_cookie_age_message_names_the_largest_age_accepted() {
        assert!(COOKIE_AGE_ALLOWED.contains(&MAX_COOKIE_AGE.to_string()));
    }
}
