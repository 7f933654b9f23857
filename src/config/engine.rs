//! `SESSION_ENGINE`: the five engines, by the names configuration gives them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::read::one_of;

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
