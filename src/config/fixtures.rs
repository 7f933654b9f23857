//! What the configuration tests share (and the crate's other unit tests, [`load`]): the
//! committed configuration, read with an environment of the test's own, or copied beside a
//! profile of the test's own.

use std::path::{Path, PathBuf};

use super::{ConfigError, Settings};

/// The committed `config/` directory.
pub(super) fn committed_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
}

/// Loads `profile` from the committed configuration with `env` as the environment.
pub(crate) fn load(profile: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    load_from(&committed_config(), profile, env)
}

/// Loads `profile` from `dir` with `env` as the environment.
pub(super) fn load_from(
    dir: &Path,
    profile: &str,
    env: &[(&str, &str)],
) -> Result<Settings, ConfigError> {
    let env = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::load_with_env(dir, profile, env)
}

/// A copy of the committed configuration plus a profile `test` holding `text`.
pub(super) fn with_test_profile(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(committed_config()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    std::fs::write(dir.path().join("test.toml"), text).unwrap();
    dir
}

/// The message of a configuration that must be refused.
pub(super) fn refusal(dir: &Path, profile: &str, env: &[(&str, &str)]) -> String {
    match load_from(dir, profile, env) {
        Ok(_) => panic!("the configuration is accepted"),
        Err(error) => error.to_string(),
    }
}
