//! Layered configuration: `config/default.toml` ← `config/<profile>.toml` ← `APP__SECTION__KEY`
//! environment variables, validated so that a bad setting stops start-up with a message naming
//! where it came from, the key, the bad value and what is allowed.
//!
//! `sources` finds the directory, the profile and the variables; `load` reads each source
//! alone, then all of them layered; `raw` is one source as written, and each section has its
//! module (`server`, `database`, `cache`, `instructor`, `overrides` for `[session]`, `lessons`)
//! with its keys and their checks; the values with names of their own (`engine`, `samesite`,
//! `secret`) read themselves through `read`; `schema` lists every key with the TOML type a file
//! must give it; `checks` holds the rules that look at all the settings at once; `settings` and
//! `session` are what the rest of sessionlab reads.

mod cache;
mod checks;
mod database;
mod engine;
mod error;
#[cfg(test)]
pub(crate) mod fixtures;
mod instructor;
mod lessons;
mod load;
mod overrides;
mod raw;
mod read;
#[cfg(test)]
mod refusals;
mod samesite;
mod schema;
mod secret;
mod server;
mod session;
mod settings;
mod sources;

pub use cache::{CacheBackend, CacheSettings, without_password};
pub use checks::PRODUCTION_PROFILE;
pub use database::{DatabaseKind, DatabaseSettings, database_path_kind};
pub use engine::Engine;
pub use error::ConfigError;
pub use instructor::{InstructorSettings, MIN_INSTRUCTOR_TOKEN};
pub use lessons::{LESSON_SLUGS, LessonOverrides};
pub use overrides::{MAX_COOKIE_AGE, SessionOverrides};
pub use samesite::SameSite;
pub use secret::{INSECURE_KEY_PREFIX, Secret};
pub use server::{ServerSettings, loopback_for_wildcard};
pub use session::SessionSettings;
pub use settings::Settings;
pub use sources::{
    CONFIG_DIR_VAR, DEFAULT_PROFILE, ENV_PREFIX, PROFILE_VAR, available_profiles, config_dir,
};
