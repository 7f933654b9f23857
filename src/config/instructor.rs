//! `[instructor]`: whether `/instructor/` exists, and the token that opens it.

use serde::Deserialize;

use super::secret::Secret;

/// `[instructor]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table [instructor] with keys enabled, token"
)]
pub(super) struct RawInstructor {
    enabled: Option<bool>,
    token: Option<String>,
}

impl RawInstructor {
    /// Checks the token that is set: blank is neither a token nor none (the empty string).
    pub(super) fn validate(&self) -> Result<(), String> {
        match &self.token {
            Some(token) if !token.is_empty() && token.trim().is_empty() => Err(format!(
                "`instructor.token` is only blanks; allowed: {MIN_INSTRUCTOR_TOKEN} or more characters, not all blank, or \"\" for none"
            )),
            _ => Ok(()),
        }
    }
}

/// `[instructor]`: the instructor's page at `/instructor/`.
#[derive(Debug, Clone)]
pub struct InstructorSettings {
    /// Whether `/instructor/` exists at all.
    pub enabled: bool,
    /// The token that opens it (`APP__INSTRUCTOR__TOKEN`).
    pub token: Option<Secret>,
}

/// The shortest instructor token accepted.
pub const MIN_INSTRUCTOR_TOKEN: usize = 16;

/// The instructor's settings from `[instructor]` as written, refused when the page is enabled
/// without a token long enough.
pub(super) fn instructor_settings(raw: RawInstructor) -> Result<InstructorSettings, String> {
    let enabled = raw.enabled.unwrap_or(false);
    let token = raw.token.filter(|t| !t.is_empty());
    if enabled {
        match &token {
            None => {
                return Err("`instructor.enabled` is true but `instructor.token` is not set; set APP__INSTRUCTOR__TOKEN to a secret of 16 or more characters".into());
            }
            Some(t) if t.chars().count() < MIN_INSTRUCTOR_TOKEN => {
                return Err(format!(
                    "`instructor.token` is too short; allowed: {MIN_INSTRUCTOR_TOKEN} or more characters"
                ));
            }
            Some(_) => {}
        }
    }
    Ok(InstructorSettings {
        enabled,
        token: token.map(Secret::new),
    })
}
