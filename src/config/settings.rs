//! `Settings`: everything sessionlab runs with, and what the rest of it asks of them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::cache::CacheSettings;
use super::database::{DatabaseKind, DatabaseSettings, database_path_kind};
use super::instructor::InstructorSettings;
use super::lessons::LessonOverrides;
use super::overrides::{SessionOverrides, parse_sweep_period};
use super::secret::Secret;
use super::server::ServerSettings;
use super::session::SessionSettings;

/// Everything sessionlab runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The active profile name.
    pub profile: String,
    /// The directory the configuration files were read from.
    pub config_dir: PathBuf,
    /// The folder relative paths are resolved against (the parent of `config_dir`).
    pub project_root: PathBuf,
    /// Django's `SECRET_KEY`.
    pub secret_key: Secret,
    /// Django's `SECRET_KEY_FALLBACKS`: older keys still accepted when reading signed data.
    pub secret_key_fallbacks: Vec<Secret>,
    /// `[server]`.
    pub server: ServerSettings,
    /// `[database]`.
    pub database: DatabaseSettings,
    /// `[session]` as written.
    pub session: SessionOverrides,
    /// `[lessons.<slug>]` as written.
    pub lessons: LessonOverrides,
    /// `[caches.<alias>]`.
    pub caches: BTreeMap<String, CacheSettings>,
    /// `[instructor]`.
    pub instructor: InstructorSettings,
}

impl Settings {
    /// The merged settings of cache `alias`.
    pub fn cache(&self, alias: &str) -> Option<&CacheSettings> {
        self.caches.get(alias)
    }

    /// The effective session settings of the lesson `slug` mounted at `mount_path`.
    pub fn lesson_session(&self, slug: &str, mount_path: &str) -> SessionSettings {
        let layered = match self.lessons.get(slug) {
            Some(lesson) => self.session.layered(lesson),
            None => self.session.clone(),
        };
        SessionSettings::django_defaults(mount_path).with(&layered)
    }

    /// `SESSION_FILE_PATH` for `session`: `file_path` resolved against the project root, or
    /// `data/sessions/` there when unset.
    pub fn session_file_dir(&self, session: &SessionSettings) -> PathBuf {
        match &session.file_path {
            Some(path) if Path::new(path).is_absolute() => PathBuf::from(path),
            Some(path) => self.project_root.join(path),
            None => self.default_file_dir(),
        }
    }

    /// Whether `dir` is the default session file directory (created on demand; a configured
    /// one must already exist, as Django requires).
    pub fn uses_default_file_dir(&self, dir: &Path) -> bool {
        dir == self.default_file_dir()
    }

    fn default_file_dir(&self) -> PathBuf {
        self.project_root.join("data").join("sessions")
    }

    /// `SECRET_KEY_FALLBACKS` as plain strings, for the signers.
    pub fn fallback_keys(&self) -> Vec<String> {
        self.secret_key_fallbacks
            .iter()
            .map(|s| s.expose().to_owned())
            .collect()
    }

    /// How often the background sweeper deletes expired sessions, if at all.
    pub fn clear_expired_every(&self) -> Option<std::time::Duration> {
        self.session
            .clear_expired_every
            .as_deref()
            .and_then(|text| parse_sweep_period(text).ok())
    }

    /// The SQLite database file named by `[database] url`, resolved against the project root,
    /// or `None` for an in-memory database.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        match database_path_kind(&self.database.url) {
            Ok(DatabaseKind::SqliteFile(path)) => Some(if path.is_absolute() {
                path
            } else {
                self.project_root.join(path)
            }),
            _ => None,
        }
    }
}
