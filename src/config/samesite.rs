//! `SESSION_COOKIE_SAMESITE`: a policy in any case, or `false`, written back as configured.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// `SESSION_COOKIE_SAMESITE`: `Lax`, `Strict`, `None`, or `false` to omit the attribute. A
/// policy is recognised in any case, as Django compares it, and is written in the cookie as the
/// configuration spells it, as Django writes the setting's own text (`"strict"` gives
/// `SameSite=strict`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SameSite {
    /// `SameSite=Lax` (Django's default), with the setting's text.
    Lax(Cow<'static, str>),
    /// `SameSite=Strict`, with the setting's text.
    Strict(Cow<'static, str>),
    /// `SameSite=None` (browsers then require `Secure`), with the setting's text.
    None(Cow<'static, str>),
    /// No `SameSite` attribute (`SESSION_COOKIE_SAMESITE = False`).
    Omit,
}

impl SameSite {
    /// `"Lax"`.
    pub const LAX: SameSite = SameSite::Lax(Cow::Borrowed("Lax"));
    /// `"Strict"`.
    pub const STRICT: SameSite = SameSite::Strict(Cow::Borrowed("Strict"));
    /// `"None"`.
    pub const NONE: SameSite = SameSite::None(Cow::Borrowed("None"));

    /// The attribute value as Django writes it (the setting's own text), or `None` when
    /// omitted.
    pub fn attribute(&self) -> Option<&str> {
        match self {
            SameSite::Lax(text) | SameSite::Strict(text) | SameSite::None(text) => Some(text),
            SameSite::Omit => None,
        }
    }

    /// Whether the policy is `None`, in any spelling (Django's `samesite.lower() == "none"`).
    pub fn is_none_policy(&self) -> bool {
        matches!(self, SameSite::None(_))
    }
}

impl Serialize for SameSite {
    /// As written in configuration: `"Lax"`, `"Strict"`, `"None"` (in its spelling) or `false`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.attribute() {
            Some(name) => s.serialize_str(name),
            None => s.serialize_bool(false),
        }
    }
}

impl<'de> Deserialize<'de> for SameSite {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SameSiteVisitor)
    }
}

/// Reads `cookie_samesite`: a policy name (in any case, as Django compares them) or `false`.
struct SameSiteVisitor;

impl SameSiteVisitor {
    const ALLOWED: &'static str = "allowed values: \"Lax\", \"Strict\", \"None\", false";
}

impl Visitor<'_> for SameSiteVisitor {
    type Value = SameSite;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a SameSite policy; {}", Self::ALLOWED)
    }

    fn visit_bool<E: de::Error>(self, flag: bool) -> Result<SameSite, E> {
        match flag {
            false => Ok(SameSite::Omit),
            true => Err(E::custom(format!(
                "`true` is not a SameSite policy; {}",
                Self::ALLOWED
            ))),
        }
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<SameSite, E> {
        // The usual spellings without a copy; any other kept as written.
        let text = |usual: &'static str| match name == usual {
            true => Cow::Borrowed(usual),
            false => Cow::Owned(name.to_owned()),
        };
        match name.to_ascii_lowercase().as_str() {
            "lax" => Ok(SameSite::Lax(text("Lax"))),
            "strict" => Ok(SameSite::Strict(text("Strict"))),
            "none" => Ok(SameSite::None(text("None"))),
            "false" => Ok(SameSite::Omit),
            _ => Err(E::custom(format!(
                "unknown SameSite policy `{name}`; {}",
                Self::ALLOWED
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SameSite;
    use crate::config::fixtures::{refusal, with_test_profile};

    #[test]
    fn a_policy_is_recognised_in_any_case_and_written_as_configured() {
        for (configured, none_policy) in [
            ("Lax", false),
            ("lax", false),
            ("Strict", false),
            ("strict", false),
            ("None", true),
            ("none", true),
            ("NONE", true),
        ] {
            // Act
            let policy: SameSite = serde_json::from_value(serde_json::json!(configured))
                .unwrap_or_else(|e| panic!("{configured}: {e}"));

            // Assert: Django writes the setting's own text, and tells `None` in any case.
            assert_eq!(policy.attribute(), Some(configured));
            assert_eq!(policy.is_none_policy(), none_policy, "{configured}");
        }
        let omitted: SameSite = serde_json::from_value(serde_json::json!(false)).unwrap();
        assert_eq!(omitted.attribute(), None);
    }

    #[test]
    fn a_samesite_number_is_refused_with_the_allowed_values() {
        let dir = with_test_profile("[session]\ncookie_samesite = 0\n");

        let error = refusal(dir.path(), "test", &[]);

        assert!(error.contains("session.cookie_samesite"), "{error}");
        assert!(
            error.contains("\"Lax\", \"Strict\", \"None\", false"),
            "{error}"
        );
        assert!(!error.contains("untagged"), "{error}");
    }
}
