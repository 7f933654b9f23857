//! `[lessons]`: the seven scopes with session settings of their own, by slug.

use serde::Deserialize;

use super::overrides::SessionOverrides;

/// Every scope with its own session settings: the six lessons and the playground.
pub const LESSON_SLUGS: [&str; 7] = [
    "basic",
    "dict",
    "timeout",
    "testcookie",
    "settings",
    "pagesession",
    "playground",
];

/// `[lessons]`: one optional table of session overrides per lesson.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table [lessons] of tables named by lesson: basic, dict, timeout, testcookie, settings, pagesession, playground"
)]
pub struct LessonOverrides {
    /// `/basic/`.
    pub basic: Option<SessionOverrides>,
    /// `/dict/`.
    pub dict: Option<SessionOverrides>,
    /// `/timeout/`.
    pub timeout: Option<SessionOverrides>,
    /// `/testcookie/`.
    pub testcookie: Option<SessionOverrides>,
    /// `/settings/`.
    pub settings: Option<SessionOverrides>,
    /// `/pagesession/`.
    pub pagesession: Option<SessionOverrides>,
    /// `/playground/`.
    pub playground: Option<SessionOverrides>,
}

impl LessonOverrides {
    /// The overrides of the lesson `slug` (none for an unknown slug).
    pub fn get(&self, slug: &str) -> Option<&SessionOverrides> {
        match slug {
            "basic" => self.basic.as_ref(),
            "dict" => self.dict.as_ref(),
            "timeout" => self.timeout.as_ref(),
            "testcookie" => self.testcookie.as_ref(),
            "settings" => self.settings.as_ref(),
            "pagesession" => self.pagesession.as_ref(),
            "playground" => self.playground.as_ref(),
            _ => None,
        }
    }

    /// Each lesson that has overrides, with its slug.
    pub(super) fn each(&self) -> impl Iterator<Item = (&'static str, &SessionOverrides)> {
        [
            ("basic", &self.basic),
            ("dict", &self.dict),
            ("timeout", &self.timeout),
            ("testcookie", &self.testcookie),
            ("settings", &self.settings),
            ("pagesession", &self.pagesession),
            ("playground", &self.playground),
        ]
        .into_iter()
        .filter_map(|(slug, o)| o.as_ref().map(|o| (slug, o)))
    }
}
