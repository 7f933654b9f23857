//! Opening SQLite connections to the sessions database, and telling SQLite's errors apart.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use rusqlite::{Connection, ErrorCode, OpenFlags};

/// How long a write waits for another process's lock before the request answers 503.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The size, in bytes, the write-ahead log is cut back to when it restarts: above what it
/// reaches between restarts (about 100 MB, see [`super::checkpointer`]), since cutting a file
/// back frees its blocks and growing it again allocates them, both slow on a busy disk.
const WAL_SIZE_LIMIT: i64 = 128 * 1024 * 1024;

/// Django's `migrate` for `django.contrib.sessions` (`0001_initial`), as `sqlmigrate` prints it.
const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS "django_session" ("session_key" varchar(40) NOT NULL PRIMARY KEY, "session_data" text NOT NULL, "expire_date" datetime NOT NULL);
CREATE INDEX IF NOT EXISTS "django_session_expire_date_a5c62663" ON "django_session" ("expire_date");
"#;

/// Which database the store's connections open.
#[derive(Debug, Clone)]
pub(super) enum Database {
    /// A file, in write-ahead-log mode.
    File(PathBuf),
    /// `sqlite::memory:`: a private in-memory database, named so that every connection of this
    /// store (and only of this store) shares it; it lives while the writer's connection does.
    Memory(String),
}

impl Database {
    /// A fresh in-memory database, unique to this process and this call.
    pub(super) fn new_memory() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Database::Memory(format!(
            "file:sessionlab-{}-{n}?mode=memory&cache=shared",
            std::process::id()
        ))
    }

    /// Opens a connection with the settings every connection of the store shares.
    pub(super) fn open(&self) -> rusqlite::Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = match self {
            Database::File(path) => Connection::open_with_flags(path, flags)?,
            Database::Memory(uri) => {
                let conn =
                    Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_SHARED_CACHE)?;
                // Connections sharing an in-memory database lock whole tables; a reader that
                // does not take those locks never waits for the writer's open transaction.
                conn.pragma_update(None, "read_uncommitted", true)?;
                conn
            }
        };
        conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(conn)
    }

    /// Opens the writer's connection: write-ahead log, `synchronous = NORMAL` (a commit is
    /// durable once the log reaches the disk at the next checkpoint; a power cut may lose the
    /// last commits but never corrupts the file), no automatic checkpoints (see
    /// [`super::checkpointer`]), and Django's table.
    pub(super) fn open_writer(&self) -> rusqlite::Result<Connection> {
        let conn = self.open()?;
        if matches!(self, Database::File(_)) {
            conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
            // The checkpointer thread copies the log back, the writer only its last frames.
            conn.query_row("PRAGMA wal_autocheckpoint = 0", [], |_| Ok(()))?;
            // A log that grew (a long read holding old frames, a burst) is cut back to this
            // when it starts again, rather than keeping its largest size on disk.
            conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // `clear_expired`'s rebuild parks the live sessions in a temporary table: in memory,
        // not in a file of its own.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.execute_batch(SCHEMA)?;
        Ok(conn)
    }
}

/// Creates the folder a database file goes in.
pub(super) fn ensure_parent_dir(path: &Path) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the data directory {}", parent.display()))?;
    }
    Ok(())
}

/// Whether `error` is SQLite's `SQLITE_READONLY` (any extended code).
pub(super) fn is_read_only(error: &rusqlite::Error) -> bool {
    error.sqlite_error_code() == Some(ErrorCode::ReadOnly)
}

/// Whether `error` is another connection holding a lock (`SQLITE_BUSY` or `SQLITE_LOCKED`).
pub(super) fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Whether `error` is a primary-key or unique constraint violation (the key is taken).
pub(super) fn is_unique_violation(error: &rusqlite::Error) -> bool {
    const SQLITE_CONSTRAINT_PRIMARYKEY: i32 = 1555;
    const SQLITE_CONSTRAINT_UNIQUE: i32 = 2067;
    error.sqlite_error().is_some_and(|e| {
        matches!(
            e.extended_code,
            SQLITE_CONSTRAINT_PRIMARYKEY | SQLITE_CONSTRAINT_UNIQUE
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_to_one_memory_database_share_it_and_no_other() {
        let first = Database::new_memory();
        let writer = first.open_writer().unwrap();
        writer
            .execute(
                "INSERT INTO django_session VALUES ('k', 'd', '9999-01-01 00:00:00')",
                [],
            )
            .unwrap();
        let reader = first.open().unwrap();
        let count: i64 = reader
            .query_row("SELECT COUNT(*) FROM django_session", [], |row| row.get(0))
            .unwrap();
        assert_eq!(count, 1);
        let other = Database::new_memory().open_writer().unwrap();
        let count: i64 = other
            .query_row("SELECT COUNT(*) FROM django_session", [], |row| row.get(0))
            .unwrap();
        assert_eq!(count, 0);
    }

    #[test]
    fn a_file_writer_logs_ahead_checkpoints_never_by_itself_and_cuts_its_log_back() {
        let dir = tempfile::tempdir().unwrap();
        let writer = Database::File(dir.path().join("sessions.sqlite3"))
            .open_writer()
            .unwrap();
        let pragma = |name: &str| -> String {
            writer
                .query_row(&format!("PRAGMA {name}"), [], |row| {
                    row.get::<_, rusqlite::types::Value>(0)
                })
                .map(|value| match value {
                    rusqlite::types::Value::Integer(n) => n.to_string(),
                    rusqlite::types::Value::Text(text) => text,
                    other => format!("{other:?}"),
                })
                .unwrap()
        };
        assert_eq!(pragma("journal_mode"), "wal");
        assert_eq!(pragma("wal_autocheckpoint"), "0");
        assert_eq!(pragma("journal_size_limit"), WAL_SIZE_LIMIT.to_string());
        assert_eq!(pragma("synchronous"), "1", "NORMAL");
    }

    #[test]
    fn a_taken_key_is_told_apart_from_other_failures() {
        let db = Database::new_memory().open_writer().unwrap();
        let insert = "INSERT INTO django_session VALUES ('k', 'd', '9999-01-01 00:00:00')";
        db.execute(insert, []).unwrap();
        let taken = db.execute(insert, []).unwrap_err();
        assert!(is_unique_violation(&taken));
        assert!(!is_read_only(&taken) && !is_busy(&taken));
        let missing_table = db.execute("DELETE FROM nowhere", []).unwrap_err();
        assert!(!is_unique_violation(&missing_table));
    }
}
