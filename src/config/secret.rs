//! Django's `SECRET_KEY` and `SECRET_KEY_FALLBACKS`: keys that never print themselves, read
//! from a list or from a comma-separated variable, and told apart from development keys.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, Visitor};

/// Secret keys with this prefix are development keys (Django's convention for generated keys).
pub const INSECURE_KEY_PREFIX: &str = "django-insecure-";

/// The values `secret_key` takes.
pub(super) const SECRET_KEY_ALLOWED: &str =
    "any non-empty string (50 or more random characters in production)";

/// A secret that never prints itself.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself, for the code that signs with it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Whether this is a development key (`django-insecure-…`).
    pub fn is_development_key(&self) -> bool {
        self.0.starts_with(INSECURE_KEY_PREFIX)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(\"[redacted]\")")
    }
}

/// What kind of development key `key` is, if it is one: the key committed in default.toml
/// (`committed`), or any key with Django's `django-insecure-` prefix (its check security.W009).
pub(super) fn development_key_kind(key: &Secret, committed: Option<&str>) -> Option<String> {
    if committed == Some(key.expose()) {
        Some("the development key committed in default.toml".into())
    } else if key.is_development_key() {
        Some(format!(
            "a development key (it starts with `{INSECURE_KEY_PREFIX}`)"
        ))
    } else {
        None
    }
}

/// A TOML list, or (from an environment variable) one comma-separated string.
pub(super) fn list_or_comma_separated<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<String>>, D::Error> {
    d.deserialize_any(KeyList).map(Some)
}

/// Reads `secret_key_fallbacks`: a list of strings, or one string of comma-separated keys.
struct KeyList;

impl<'de> Visitor<'de> for KeyList {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a list of keys, such as [\"old-key\"], or (in an environment variable) keys separated by commas",
        )
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Vec<String>, E> {
        Ok(text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect())
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let mut keys = Vec::new();
        while let Some(key) = seq.next_element()? {
            keys.push(key);
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;
    use crate::config::fixtures::{load_from, refusal, with_test_profile};

    #[test]
    fn a_secret_never_prints_itself() {
        let secret = Secret::new("s3cret-value");

        assert_eq!(format!("{secret:?}"), "Secret(\"[redacted]\")");
        assert_eq!(secret.expose(), "s3cret-value");
    }

    #[test]
    fn fallbacks_are_read_from_a_toml_list_as_written() {
        let dir = with_test_profile("secret_key_fallbacks = [\"old-one\", \" old, two \"]\n");

        let settings = load_from(dir.path(), "test", &[]).unwrap();

        assert_eq!(settings.fallback_keys(), ["old-one", " old, two "]);
    }

    #[test]
    fn a_fallbacks_value_that_is_not_a_list_is_refused_with_the_allowed_form() {
        let dir = with_test_profile("secret_key_fallbacks = 5\n");

        let error = refusal(dir.path(), "test", &[]);

        assert!(error.contains("secret_key_fallbacks"), "{error}");
        assert!(error.contains("a list of keys"), "{error}");
        assert!(!error.contains("untagged"), "{error}");
    }
}
