//! Opening SQLite connections to the sessions database, and telling SQLite's errors apart.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use rusqlite::{Connection, ErrorCode, OpenFlags};

/// How long a write waits for another process's lock before the request answers 503.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How often a connection waiting for a lock tries again. SQLite's own busy timeout sleeps
/// 1, 2, 5, 10 … 50, 100 ms between tries, so a write held up by a lock taken for 70 ms (a
/// `clearsessions` rebuild in another process) woke 30 ms or more after it was let go; at 1 ms,
/// a waiting write starts within a millisecond of the lock's release, and a thread wakes a
/// thousand times a second only while it waits.
const LOCK_RETRY_INTERVAL: Duration = Duration::from_millis(1);

/// How a connection meets a lock another connection holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LockWait {
    /// It is told at once (`SQLITE_BUSY`): a request's thread, which must not block.
    Never,
    /// It tries again every [`LOCK_RETRY_INTERVAL`] for up to [`BUSY_TIMEOUT`].
    UpToBusyTimeout,
}

/// Sets how `conn` meets another connection's lock.
pub(super) fn wait_for_locks(conn: &Connection, wait: LockWait) -> rusqlite::Result<()> {
    match wait {
        LockWait::Never => conn.busy_handler(None),
        LockWait::UpToBusyTimeout => conn.busy_handler(Some(retry_after_an_interval)),
    }
}

/// SQLite's busy handler for [`LockWait::UpToBusyTimeout`]: sleeps one interval and asks for
/// another try, until the lock has been waited for [`BUSY_TIMEOUT`]. SQLite calls it on the
/// thread running the statement, with the tries made so far for this lock (0 on the first
/// call), so the start of the wait is kept per thread.
fn retry_after_an_interval(earlier_tries: i32) -> bool {
    thread_local! {
        static WAITING_SINCE: Cell<Instant> = Cell::new(Instant::now());
    }
    let now = Instant::now();
    if earlier_tries == 0 {
        WAITING_SINCE.set(now);
    }
    if now.duration_since(WAITING_SINCE.get()) >= BUSY_TIMEOUT {
        return false;
    }
    std::thread::sleep(LOCK_RETRY_INTERVAL);
    true
}

/// The size, in bytes, the write-ahead log is cut back to when it restarts: above what it
/// reaches between restarts (about 100 MB, see [`super::checkpointer`]), since cutting a file
/// back frees its blocks and growing it again allocates them, both slow on a busy disk.
const WAL_SIZE_LIMIT: i64 = 128 * 1024 * 1024;

/// Django's `migrate` for `django.contrib.sessions` (`0001_initial`), as `sqlmigrate` prints it.
const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS "django_session" ("session_key" varchar(40) NOT NULL PRIMARY KEY, "session_data" text NOT NULL, "expire_date" datetime NOT NULL);
CREATE INDEX IF NOT EXISTS "django_session_expire_date_a5c62663" ON "django_session" ("expire_date");
"#;

/// Django's table of applied migrations, as its `migrate` creates it.
const DJANGO_MIGRATIONS: &str = r#"
CREATE TABLE IF NOT EXISTS "django_migrations" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "app" varchar(255) NOT NULL, "name" varchar(255) NOT NULL, "applied" datetime NOT NULL);
"#;

/// Records `sessions.0001_initial` as applied in `django_migrations`, as Django's `migrate`
/// does when it creates the table: without it, a Django project's `migrate` on this database
/// tries to create `django_session` again and stops with "table already exists". Nothing is
/// written when the record is there (a database Django migrated, or opened before).
fn record_the_migration(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(DJANGO_MIGRATIONS)?;
    let recorded = conn
        .prepare(
            "SELECT 1 FROM \"django_migrations\" WHERE \"app\" = 'sessions' AND \"name\" = '0001_initial'",
        )?
        .exists([])?;
    if !recorded {
        // Django's text for an aware datetime in SQLite: naive UTC with microseconds.
        let applied = crate::session::datetime_text::sqlite_datetime_text(chrono::Utc::now());
        conn.execute(
            "INSERT INTO \"django_migrations\" (\"app\", \"name\", \"applied\") VALUES ('sessions', '0001_initial', ?1)",
            [applied],
        )?;
    }
    Ok(())
}

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

    /// Opens a connection to the file as it is, with the settings every connection of the
    /// store shares; it waits for locks as `wait` says. A file that is not there is an error,
    /// not a new empty database in its place: only the writer's connection creates it
    /// ([`Database::open_writer`]), at start, or later once it has checked that the file at
    /// the path is the one it opened.
    pub(super) fn open(&self, wait: LockWait) -> rusqlite::Result<Connection> {
        self.open_with(wait, OpenFlags::empty())
    }

    fn open_with(&self, wait: LockWait, create: OpenFlags) -> rusqlite::Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = match self {
            Database::File(path) => Connection::open_with_flags(path, flags | create)?,
            Database::Memory(uri) => {
                let conn = Connection::open_with_flags(
                    uri,
                    flags | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_SHARED_CACHE,
                )?;
                // Connections sharing an in-memory database lock whole tables; a reader that
                // does not take those locks never waits for the writer's open transaction.
                conn.pragma_update(None, "read_uncommitted", true)?;
                conn
            }
        };
        wait_for_locks(&conn, wait)?;
        Ok(conn)
    }

    /// Opens the writer's connection: write-ahead log, `synchronous = NORMAL` (a commit is
    /// durable once the log reaches the disk at the next checkpoint; a power cut may lose the
    /// last commits but never corrupts the file), no automatic checkpoints (see
    /// [`super::checkpointer`]), and Django's table.
    pub(super) fn open_writer(&self) -> rusqlite::Result<Connection> {
        let conn = self.open_with(LockWait::UpToBusyTimeout, OpenFlags::SQLITE_OPEN_CREATE)?;
        if matches!(self, Database::File(_)) {
            conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
            // The checkpointer thread copies the log back, the writer only its last frames.
            conn.query_row("PRAGMA wal_autocheckpoint = 0", [], |_| Ok(()))?;
            // A log that grew (a long read holding old frames, a burst) is cut back to this
            // when it starts again, rather than keeping its largest size on disk.
            conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // The page cache keeps SQLite's default size (2 MiB): a larger one reads fewer pages
        // but costs more CPU a new session, since a commit after a B-tree split that swapped
        // page numbers scans the whole cache (BENCHMARKS.md, "Why a larger page cache costs
        // the writer more").
        // `clear_expired`'s rebuild parks the live sessions in a temporary table: in memory,
        // not in a file of its own.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.execute_batch(SCHEMA)?;
        if let Err(error) = record_the_migration(&conn) {
            // The sessions are served all the same; only Django's `migrate` is affected.
            tracing::warn!(
                %error,
                "cannot record sessions.0001_initial in django_migrations; Django's migrate on this database needs --fake-initial"
            );
        }
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
        let reader = first.open(LockWait::UpToBusyTimeout).unwrap();
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

    /// A database file in a temp dir, with Django's table, and a connection to it that holds
    /// the write lock: a send on the returned sender commits a row and lets it go; dropping the
    /// sender rolls back.
    fn locked_database() -> (tempfile::TempDir, Database, std::sync::mpsc::Sender<()>) {
        let dir = tempfile::tempdir().unwrap();
        let database = Database::File(dir.path().join("sessions.sqlite3"));
        drop(database.open_writer().unwrap());
        let holder = database.open(LockWait::Never).unwrap();
        holder.execute_batch("BEGIN IMMEDIATE").unwrap();
        let (release, released) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            if released.recv().is_err() {
                return;
            }
            holder
                .execute(
                    "INSERT INTO django_session VALUES ('held', 'd', '9999-01-01 00:00:00')",
                    [],
                )
                .unwrap();
            holder.execute_batch("COMMIT").unwrap();
        });
        (dir, database, release)
    }

    #[test]
    fn a_waiting_write_goes_through_once_the_lock_is_let_go() {
        let (_dir, database, release) = locked_database();
        let writer = database.open_writer().unwrap();
        let letting_go = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            release.send(()).unwrap();
        });
        writer
            .execute(
                "INSERT INTO django_session VALUES ('waited', 'd', '9999-01-01 00:00:00')",
                [],
            )
            .unwrap();
        letting_go.join().unwrap();
        let count: i64 = writer
            .query_row("SELECT COUNT(*) FROM django_session", [], |row| row.get(0))
            .unwrap();
        assert_eq!(count, 2, "the holder's row and the waiting write's");
    }

    #[test]
    fn a_connection_that_never_waits_is_told_the_lock_is_taken() {
        let (_dir, database, _release) = locked_database();
        let conn = database.open(LockWait::Never).unwrap();
        let error = conn
            .execute(
                "INSERT INTO django_session VALUES ('k', 'd', '9999-01-01 00:00:00')",
                [],
            )
            .unwrap_err();
        assert!(is_busy(&error), "{error}");
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
