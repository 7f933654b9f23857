//! The effective session settings of one lesson: Django's defaults with the overrides over them.

use serde::Serialize;

use super::engine::Engine;
use super::overrides::SessionOverrides;
use super::samesite::SameSite;

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

    /// `self` with every key that `o` sets replaced by `o`'s value.
    pub(super) fn with(mut self, o: &SessionOverrides) -> Self {
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
