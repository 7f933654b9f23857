//! Where the configuration comes from: the directory, the profile named by `--profile` or
//! `APP_PROFILE`, and the `APP__…` environment variables, each checked before it is read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use config::{Environment, File, FileFormat};

use super::error::ConfigError;
use super::raw::RawSettings;

/// The profile used when neither `--profile` nor `APP_PROFILE` names one.
pub const DEFAULT_PROFILE: &str = "default";
/// Prefix of the environment variables that override configuration (`APP__SERVER__PORT`).
pub const ENV_PREFIX: &str = "APP";
/// Environment variable naming the configuration directory.
pub const CONFIG_DIR_VAR: &str = "APP_CONFIG_DIR";
/// Environment variable naming the profile.
pub const PROFILE_VAR: &str = "APP_PROFILE";

/// A configuration source with the name a refusal gives it: the file's path, or
/// `environment variable APP__…`.
pub(super) struct NamedSource {
    /// The file's path, or `environment variable APP__…`.
    pub(super) name: String,
    /// Whether its values carry TOML's types (a file), rather than being text to parse (a
    /// variable).
    pub(super) typed: bool,
    /// The source itself.
    pub(super) source: Box<dyn config::Source + Send + Sync>,
}

/// The sources of `profile`, the lowest first: `default.toml`, the profile's file, then one
/// source per variable of `env`.
pub(super) fn layered_sources(
    config_dir: &Path,
    profile: &str,
    env: BTreeMap<String, String>,
) -> Result<Vec<NamedSource>, ConfigError> {
    check_profile_name(profile)?;
    check_default_file(config_dir)?;
    let mut sources: Vec<NamedSource> = Vec::new();
    let default_file = config_dir.join("default.toml");
    sources.push(NamedSource {
        name: default_file.display().to_string(),
        typed: true,
        source: Box::new(File::from(default_file.clone()).format(FileFormat::Toml)),
    });
    if profile != DEFAULT_PROFILE {
        let profile_file = config_dir.join(format!("{profile}.toml"));
        if !profile_file.is_file() {
            return Err(ConfigError::UnknownProfile {
                profile: profile.into(),
                file: profile_file,
                available: available_profiles(config_dir).join(", "),
            });
        }
        sources.push(NamedSource {
            name: profile_file.display().to_string(),
            typed: true,
            source: Box::new(File::from(profile_file).format(FileFormat::Toml)),
        });
    }
    // One source per variable, so that an error names the variable. Each value stays the
    // string it is: the key's type decides how it is read (the `config` crate turns a string
    // into the number or boolean a key wants). `try_parsing` would guess a type from the
    // text alone, and a token such as 0001234… would come back as the string "1234…".
    for (name, value) in env {
        if let Some((meant, named)) = variable_with_one_underscore(&name) {
            return Err(ConfigError::Invalid {
                source_name: format!("environment variable {name}"),
                message: format!(
                    "it is not read, as {named} is named by {meant}, with one underscore after `{ENV_PREFIX}`; allowed: {meant}"
                ),
            });
        }
        let environment = Environment::with_prefix(ENV_PREFIX)
            .prefix_separator("__")
            .separator("__")
            .source(Some([(name.clone(), value)].into_iter().collect()));
        sources.push(NamedSource {
            name: format!("environment variable {name}"),
            typed: false,
            source: Box::new(environment),
        });
    }
    Ok(sources)
}

/// The `APP__…` variables of the process environment, by name. Only `APP…` variables are
/// looked at, so that other variables need not be UTF-8.
pub(super) fn app_variables() -> Result<BTreeMap<String, String>, ConfigError> {
    let mut env = BTreeMap::new();
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str().filter(|n| n.starts_with(ENV_PREFIX)) else {
            continue;
        };
        let invalid = |message: String| ConfigError::Invalid {
            source_name: format!("environment variable {name}"),
            message,
        };
        if let Some(meant) = misspelled_variable(name) {
            return Err(invalid(format!(
                "it is not read, as configuration variables start with `{ENV_PREFIX}__` (two underscores); allowed: {meant}"
            )));
        }
        if !name.starts_with(&format!("{ENV_PREFIX}__")) {
            continue;
        }
        let value = value
            .into_string()
            .map_err(|_| invalid("its value is not UTF-8 text; allowed: UTF-8 text".to_owned()))?;
        env.insert(name.to_owned(), value);
    }
    Ok(env)
}

/// The variable `name` was meant to be, when it reads as `APP__SECTION__KEY` or as a key at the
/// top (`APP__SECRET_KEY`) written with one underscore after `APP` (`APP_SERVER__PORT`,
/// `APP_SECRET_KEY`), which would otherwise be ignored without a word.
fn misspelled_variable(name: &str) -> Option<String> {
    let rest = name.strip_prefix(ENV_PREFIX)?.strip_prefix('_')?;
    let top_level_value = RawSettings::VALUE_KEYS
        .iter()
        .any(|key| rest.eq_ignore_ascii_case(key));
    let one_underscore = !rest.starts_with('_') && (rest.contains("__") || top_level_value);
    one_underscore.then(|| format!("{ENV_PREFIX}__{rest}"))
}

/// The variable `name` was meant to be, with what it names, when it is `APP_PROFILE` or
/// `APP_CONFIG_DIR` written with the two underscores of a setting (`APP__PROFILE`), which would
/// be refused as an unknown key among the settings' keys.
fn variable_with_one_underscore(name: &str) -> Option<(&'static str, &'static str)> {
    [
        (PROFILE_VAR, "the profile"),
        (CONFIG_DIR_VAR, "the configuration directory"),
    ]
    .into_iter()
    .find(|(variable, _)| name.eq_ignore_ascii_case(&variable.replacen('_', "__", 1)))
}

/// A profile is a plain name: letters, digits, `-` and `_`, so that `config/<name>.toml` is a
/// file in the configuration directory and `production` has exactly one spelling.
fn check_profile_name(profile: &str) -> Result<(), ConfigError> {
    let plain = !profile.is_empty()
        && profile
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plain {
        Ok(())
    } else {
        Err(ConfigError::BadProfileName {
            profile: profile.into(),
        })
    }
}

/// The configuration directory exists and holds `default.toml` as a file.
fn check_default_file(config_dir: &Path) -> Result<(), ConfigError> {
    let file = config_dir.join("default.toml");
    if file.is_file() {
        return Ok(());
    }
    if !config_dir.is_dir() {
        return Err(ConfigError::MissingDir {
            dir: config_dir.to_path_buf(),
            problem: if config_dir.exists() {
                "is not a directory"
            } else {
                "does not exist"
            },
        });
    }
    let problem = if file.exists() {
        "is not a file"
    } else {
        "does not exist"
    };
    Err(ConfigError::BadDefaultFile { file, problem })
}

/// The profiles defined in `config_dir` (file stems), `default` first.
pub fn available_profiles(config_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(config_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            (path.extension()? == "toml").then(|| path.file_stem()?.to_str().map(String::from))?
        })
        .filter(|name| name != DEFAULT_PROFILE)
        .collect();
    names.sort();
    names.insert(0, DEFAULT_PROFILE.into());
    names
}

/// The configuration directory: `APP_CONFIG_DIR`, else `config/` beside this crate's manifest.
pub fn config_dir() -> PathBuf {
    std::env::var_os(CONFIG_DIR_VAR)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("config"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::fixtures::{committed_config, load, refusal};

    #[test]
    fn a_profile_name_that_is_not_a_plain_name_is_refused_with_the_allowed_form() {
        for name in [
            "./production",
            "../config/production",
            "production/",
            "/etc/production",
            "pro duction",
            "",
        ] {
            let error = load(name, &[]).unwrap_err();

            assert!(
                matches!(error, ConfigError::BadProfileName { .. }),
                "{name:?}: {error}"
            );
            let message = error.to_string();
            assert!(message.contains(&format!("{name:?}")), "{message}");
            assert!(
                message.contains("letters, digits, `-` and `_`"),
                "{message}"
            );
        }
    }

    #[test]
    fn a_variable_with_one_underscore_after_app_is_told_its_spelling() {
        for (name, meant) in [
            ("APP_SERVER__PORT", "APP__SERVER__PORT"),
            (
                "APP_LESSONS__BASIC__COOKIE_AGE",
                "APP__LESSONS__BASIC__COOKIE_AGE",
            ),
            // A key at the top has no `__` of its own: the secret key would be the public one.
            ("APP_SECRET_KEY", "APP__SECRET_KEY"),
            ("APP_SECRET_KEY_FALLBACKS", "APP__SECRET_KEY_FALLBACKS"),
        ] {
            assert_eq!(misspelled_variable(name).as_deref(), Some(meant), "{name}");
        }
        for name in [
            "APP__SERVER__PORT",
            "APP_PROFILE",
            "APP_CONFIG_DIR",
            "APPLE__X",
            "APP_X",
        ] {
            assert_eq!(misspelled_variable(name), None, "{name}");
        }
    }

    #[test]
    fn the_profile_or_directory_variable_with_two_underscores_is_told_its_spelling() {
        for (variable, meant) in [
            ("APP__PROFILE", PROFILE_VAR),
            ("APP__CONFIG_DIR", CONFIG_DIR_VAR),
        ] {
            let error = refusal(&committed_config(), DEFAULT_PROFILE, &[(variable, "x")]);

            assert!(
                error.contains(&format!("environment variable {variable}:"))
                    && error.contains("it is not read")
                    && error.contains(&format!("allowed: {meant}")),
                "{error}"
            );
        }
    }

    #[test]
    fn a_default_toml_that_is_a_directory_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("default.toml")).unwrap();

        let error = refusal(dir.path(), DEFAULT_PROFILE, &[]);

        assert!(error.contains("default.toml is not a file"), "{error}");
        assert!(!error.contains("does not exist"), "{error}");
    }

    #[test]
    fn a_missing_default_toml_and_a_missing_directory_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();

        let error = refusal(dir.path(), DEFAULT_PROFILE, &[]);
        assert!(error.contains("default.toml does not exist"), "{error}");

        let error = refusal(&dir.path().join("nowhere"), DEFAULT_PROFILE, &[]);
        assert!(
            error.contains("configuration directory") && error.contains("does not exist"),
            "{error}"
        );
    }

    #[test]
    fn a_configuration_directory_that_is_a_file_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        std::fs::write(&file, "").unwrap();

        let error = refusal(&file, DEFAULT_PROFILE, &[]);

        assert!(
            error.contains(&format!(
                "configuration directory {} is not a directory",
                file.display()
            )),
            "{error}"
        );
    }

    #[test]
    fn plain_profile_names_load() {
        for name in ["default", "signed", "cached_db"] {
            let settings = load(name, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));

            assert_eq!(settings.profile, name);
        }
    }
}
