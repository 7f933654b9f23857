//! `[database]`: the SQLite file or the PostgreSQL database of the `db` and `cached_db` engines.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::read::count;

/// `[database]`.
#[derive(Debug, Clone, Serialize)]
pub struct DatabaseSettings {
    /// `sqlite://path` (relative paths from the project root) or `sqlite::memory:`.
    pub url: String,
    /// PostgreSQL's pool size (SQLite keeps a reading connection per thread and one writer).
    pub max_connections: u32,
}

/// `[database]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table [database] with keys url, max_connections"
)]
pub(super) struct RawDatabase {
    pub(super) url: Option<String>,
    #[serde(default, deserialize_with = "count")]
    pub(super) max_connections: Option<u32>,
}

/// What a `[database] url` points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseKind {
    /// A SQLite file (relative paths are from the project root).
    SqliteFile(PathBuf),
    /// A private in-memory SQLite database.
    SqliteMemory,
    /// A PostgreSQL database (`postgres://user@host:port/db`).
    Postgres,
}

/// The values `database.url` takes.
pub(super) const URL_ALLOWED: &str = "sqlite://relative/path.sqlite3, sqlite:///absolute/path.sqlite3, sqlite::memory: or postgres://user@host:5432/database";

/// Parses a `[database] url`; the error lists the accepted forms.
pub fn database_path_kind(url: &str) -> Result<DatabaseKind, String> {
    if url == "sqlite::memory:" || url == "sqlite://:memory:" {
        return Ok(DatabaseKind::SqliteMemory);
    }
    if let Some(rest) = url.strip_prefix("sqlite://") {
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() {
            return Err(format!(
                "`database.url` = {url:?} names no file; allowed: {URL_ALLOWED}"
            ));
        }
        return Ok(DatabaseKind::SqliteFile(PathBuf::from(path)));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return url::Url::parse(url)
            .map(|_| DatabaseKind::Postgres)
            .map_err(|e| {
                format!(
                    "`database.url` is not a valid PostgreSQL URL ({e}); allowed: {URL_ALLOWED}"
                )
            });
    }
    Err(format!(
        "`database.url` = {url:?} is not a database URL; allowed: {URL_ALLOWED}"
    ))
}
