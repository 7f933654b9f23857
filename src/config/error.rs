//! The error of loading the configuration: each variant a message that names the source, the
//! key and what is allowed.

use std::path::PathBuf;

use super::sources::{CONFIG_DIR_VAR, PROFILE_VAR};

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
