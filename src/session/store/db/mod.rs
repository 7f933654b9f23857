//! The `db` engine: Django's `django_session` table in SQLite, same schema and same value
//! formats, so Django's `clearsessions` or admin could work on the very same file.
//!
//! Reads run on the asking thread, each thread with a connection of its own ([`readers`]);
//! writes go to one writer thread that commits what has queued up together ([`writer`]); a
//! third thread copies the write-ahead log back into the file ([`checkpointer`]). When the
//! file at the path is no longer the one they have open (deleted, or a backup moved in its
//! place), they all move to the file there, as a restart would ([`moving`]).

mod checkpointer;
mod connection;
mod current_file;
mod file_check;
mod inbox;
mod moving;
mod readers;
mod writer;

use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use self::checkpointer::{CatchUp, CheckpointConnection, Checkpointer};
use self::connection::{Database, LockWait, ensure_parent_dir, is_busy};
use self::current_file::CurrentFile;
pub(crate) use self::file_check::FileGone;
use self::file_check::OpenedFile;
use self::moving::Mover;
use self::readers::Readers;
use self::writer::{Write, WriteError, Writer};
use super::{SaveError, SaveMode, SessionCodec, SessionRecord, Store, StoreError};
use crate::config::{DatabaseKind, Settings, database_path_kind};
use crate::session::key::is_storable_session_key;

const ENGINE: &str = "db (SQLite)";

/// Rows deleted per transaction by `clear_expired`, so that live writes queued behind it wait
/// for one chunk at most.
const CLEAR_CHUNK: i64 = 2_000;

/// `clear_expired` empties the table and puts the live sessions back, rather than deleting in
/// chunks, when at least this many sessions expired ...
const REBUILD_MIN_EXPIRED: i64 = 20_000;
/// ... at most this many are live (putting them back is the part of the rebuild that grows
/// with them; 50,000 take about a tenth of a second) ...
const REBUILD_MAX_LIVE: i64 = 50_000;
/// ... and the expired outnumber the live this many times.
const REBUILD_EXPIRED_PER_LIVE: i64 = 4;

/// Sessions in the `django_session` table.
#[derive(Clone)]
pub struct DbStore {
    readers: Arc<Readers>,
    writer: Writer,
    /// Present for a file; stops with the last clone of the store.
    _checkpointer: Option<Arc<Checkpointer>>,
    /// The file the connections are on, which `ping` checks is still there and writable.
    current: Arc<CurrentFile>,
    codec: SessionCodec,
    /// [`Store::identity`]: the database's path (or its in-memory name).
    identity: Arc<str>,
}

impl DbStore {
    /// Opens (creating when missing) the database named by `[database] url` (a relative path
    /// from the project root), signing session data with the configured `secret_key`, and
    /// creates the table, like `manage.py migrate`.
    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        let database =
            match database_path_kind(&settings.database.url).map_err(anyhow::Error::msg)? {
                DatabaseKind::SqliteMemory => Database::new_memory(),
                DatabaseKind::SqliteFile(_) => Database::File(
                    settings
                        .sqlite_path()
                        .context("the database URL names no SQLite file")?,
                ),
                DatabaseKind::Postgres => {
                    anyhow::bail!("the SQLite store cannot open a PostgreSQL URL")
                }
            };
        let codec = SessionCodec::from_settings(settings);
        Self::start(database, &settings.database.url, codec).await
    }

    /// Opens (creating when missing) the SQLite database at `url` and creates the table, like
    /// `manage.py migrate`, without sessionlab's configuration: for an application of its own
    /// (see [`ActixSessionStore`](super::ActixSessionStore)). `url` is
    /// `sqlite://relative/path.sqlite3` (from the current directory),
    /// `sqlite:///absolute/path.sqlite3` or `sqlite::memory:`; session data is signed with
    /// `codec`'s key, as Django signs it with `SECRET_KEY`.
    pub async fn open(url: &str, codec: SessionCodec) -> anyhow::Result<Self> {
        let database = match database_path_kind(url).map_err(anyhow::Error::msg)? {
            DatabaseKind::SqliteMemory => Database::new_memory(),
            // Resolved now, so that the store keeps its file if the process changes directory.
            DatabaseKind::SqliteFile(path) => Database::File(
                std::path::absolute(&path)
                    .with_context(|| format!("cannot resolve the path of {url}"))?,
            ),
            DatabaseKind::Postgres => {
                anyhow::bail!("the SQLite store cannot open a PostgreSQL URL (PgStore can)")
            }
        };
        Self::start(database, url, codec).await
    }

    /// Opens `database` (named `url` in messages), creates the table and starts the threads.
    async fn start(database: Database, url: &str, codec: SessionCodec) -> anyhow::Result<Self> {
        if let Database::File(path) = &database {
            ensure_parent_dir(path)?;
        }
        let opening = database.clone();
        let conn = tokio::task::spawn_blocking(move || opening.open_writer())
            .await
            .context("opening the SQLite database was interrupted")?
            .with_context(|| format!("cannot open the SQLite database {url}"))?;
        // Noted just after SQLite opened (or created) it: the file every connection must be on.
        let opened = match &database {
            Database::File(path) => Some(OpenedFile::note(path).with_context(|| {
                format!("cannot read the SQLite database file {}", path.display())
            })?),
            Database::Memory(_) => None,
        };
        let current = Arc::new(CurrentFile::new(opened.clone()));
        let readers = Arc::new(Readers::new(database.clone(), Arc::clone(&current)));
        let catch_up = CatchUp::default();
        let checkpointing = CheckpointConnection::default();
        let mover = opened.map(|opened| {
            Mover::new(
                opened,
                Arc::clone(&current),
                Arc::clone(&readers),
                checkpointing.clone(),
            )
        });
        let writer = Writer::start(database.clone(), conn, mover, catch_up.clone())
            .context("cannot start the SQLite writer thread")?;
        let checkpointer = match &database {
            Database::File(path) => Some(Arc::new(
                Checkpointer::start(path.clone(), Arc::clone(&current), checkpointing, catch_up)
                    .context("cannot start the SQLite checkpoint thread")?,
            )),
            Database::Memory(_) => None,
        };
        let identity = match &database {
            Database::File(path) => format!("{ENGINE} at {}", path.display()),
            Database::Memory(name) => format!("{ENGINE} at {name}"),
        };
        Ok(DbStore {
            readers,
            writer,
            _checkpointer: checkpointer,
            current,
            codec,
            identity: identity.into(),
        })
    }

    /// How many sessions are stored and not expired at `now`.
    pub async fn count_live(&self, now: DateTime<Utc>) -> Result<i64, StoreError> {
        let now = sqlite_datetime(now);
        self.read(move |conn| {
            conn.prepare_cached("SELECT COUNT(*) FROM django_session WHERE expire_date > ?1")?
                .query_row(params![now], |row| row.get(0))
        })
        .await
    }

    /// Runs `read` on this thread's connection without waiting for locks; if another
    /// connection holds one (rare in write-ahead-log mode: a checkpoint restarting the log,
    /// another process's recovery), the read waits for it on the blocking pool instead of
    /// holding up this thread's other requests.
    async fn read<T: Send + 'static>(
        &self,
        read: impl Fn(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        match self.readers.read(LockWait::Never, &read) {
            Err(error) if is_busy(&error) => {
                let readers = Arc::clone(&self.readers);
                tokio::task::spawn_blocking(move || readers.read(LockWait::UpToBusyTimeout, read))
                    .await
                    .map_err(|e| StoreError::new(ENGINE, e))?
                    .map_err(unavailable)
            }
            result => result.map_err(unavailable),
        }
    }

    async fn write(&self, write: Write) -> Result<usize, WriteError> {
        self.writer.write(write).await
    }

    /// Whether the table looks like a rebuild's case (see [`Store::clear_expired`]): counted
    /// without a lock, and never further than the thresholds need.
    async fn few_live_among_many_expired(&self, cutoff: &str) -> Result<bool, StoreError> {
        let cutoff = cutoff.to_owned();
        self.read(move |conn| {
            let count = |sql: &str, limit: i64| -> rusqlite::Result<i64> {
                conn.prepare_cached(sql)?
                    .query_row(params![cutoff, limit], |row| row.get(0))
            };
            let expired = count(
                "SELECT COUNT(*) FROM (SELECT 1 FROM django_session \
                 WHERE expire_date < ?1 LIMIT ?2)",
                // Past this many expired, the live ones allowed stop growing (at the cap).
                REBUILD_MAX_LIVE * REBUILD_EXPIRED_PER_LIVE,
            )?;
            if expired < REBUILD_MIN_EXPIRED {
                return Ok(false);
            }
            let most_live = (expired / REBUILD_EXPIRED_PER_LIVE).min(REBUILD_MAX_LIVE);
            let live = count(
                "SELECT COUNT(*) FROM (SELECT 1 FROM django_session \
                 WHERE expire_date >= ?1 LIMIT ?2)",
                most_live + 1,
            )?;
            Ok(live <= most_live)
        })
        .await
    }
}

fn unavailable(error: impl Into<anyhow::Error>) -> StoreError {
    StoreError::new(ENGINE, error)
}

/// Django's SQLite representation of an aware datetime (`USE_TZ = True`): naive UTC text,
/// microseconds only when non-zero, so text comparison orders rows by time. Dates outside the
/// years 1 to 9999 are written as the nearest end (a five-digit or signed year would sort
/// before the present, so a session set to expire in the year 20000 would never load).
pub fn sqlite_datetime(at: DateTime<Utc>) -> String {
    crate::session::datetime_text::sqlite_datetime_text(super::within_python_years(at))
}

/// Reads an `expire_date` as written by us or by Django (`2026-12-05 23:56:58[.123456]`).
pub fn parse_sqlite_datetime(text: &str) -> Option<DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|naive| naive.and_utc())
}

impl Store for DbStore {
    fn describe(&self) -> &'static str {
        ENGINE
    }

    fn identity(&self) -> &str {
        &self.identity
    }

    async fn load(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRecord>, StoreError> {
        if !is_storable_session_key(key) {
            return Ok(None);
        }
        let (owned_key, cutoff) = (key.to_owned(), sqlite_datetime(now));
        let row = self
            .read(move |conn| {
                conn.prepare_cached(
                    "SELECT session_data, expire_date FROM django_session \
                     WHERE session_key = ?1 AND expire_date > ?2",
                )?
                .query_row(params![owned_key, cutoff], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })
                .optional()
            })
            .await?;
        let Some((text, expire_text)) = row else {
            return Ok(None);
        };
        let expire_date = parse_sqlite_datetime(&expire_text).ok_or_else(|| {
            unavailable(anyhow::anyhow!("unreadable expire_date {expire_text:?}"))
        })?;
        Ok(Some(SessionRecord {
            key: key.to_owned(),
            data: self.codec.decode(&text, now),
            expire_date,
        }))
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        if !is_storable_session_key(key) {
            return Ok(false);
        }
        let key = key.to_owned();
        self.read(move |conn| {
            conn.prepare_cached("SELECT 1 FROM django_session WHERE session_key = ?1")?
                .exists(params![key])
        })
        .await
    }

    async fn save(&self, record: &SessionRecord, mode: SaveMode) -> Result<(), SaveError> {
        if !is_storable_session_key(&record.key) {
            return Err(unavailable(anyhow::anyhow!(
                "refusing to store a session under a malformed key"
            ))
            .into());
        }
        // The signing timestamp is informational (Django never checks it for stored data).
        let (key, data) = (
            record.key.clone(),
            self.codec.encode(&record.data, Utc::now()),
        );
        let expire_date = sqlite_datetime(record.expire_date);
        let write = match mode {
            SaveMode::Create => Write::Insert {
                key,
                data,
                expire_date,
            },
            SaveMode::Update => Write::Update {
                key,
                data,
                expire_date,
            },
        };
        match self.write(write).await {
            Ok(0) => Err(SaveError::Missing),
            Ok(_) => Ok(()),
            Err(WriteError::KeyTaken) => Err(SaveError::KeyExists),
            Err(error) => Err(unavailable(error).into()),
        }
    }

    async fn set_expire_date(
        &self,
        key: &str,
        expire_date: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        if !is_storable_session_key(key) {
            return Ok(false);
        }
        let write = Write::SetExpireDate {
            key: key.to_owned(),
            expire_date: sqlite_datetime(expire_date),
            now: sqlite_datetime(now),
        };
        self.write(write)
            .await
            .map(|changed| changed > 0)
            .map_err(unavailable)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        if !is_storable_session_key(key) {
            return Ok(());
        }
        let key = key.to_owned();
        self.write(Write::Delete { key })
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    /// Django's `DELETE … WHERE expire_date < now`, done so that live writes are held up as
    /// little as possible. Deleting row by row costs about 10 µs a row here (three B-trees, and
    /// a random page of the key index per row), so a large backlog of expired sessions with
    /// few live ones — a classroom's table after the holidays — is cleared by emptying the
    /// table and putting the live rows back, in one short transaction; anything else is
    /// deleted in chunks of 2,000 rows, each its own transaction.
    async fn clear_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let cutoff = sqlite_datetime(now);
        if self.few_live_among_many_expired(&cutoff).await? {
            let write = Write::KeepOnlyLive {
                cutoff: cutoff.clone(),
            };
            return self
                .write(write)
                .await
                .map(|rows| rows as u64)
                .map_err(unavailable);
        }
        let mut removed = 0;
        loop {
            let chunk = Write::ClearChunk {
                cutoff: cutoff.clone(),
                limit: CLEAR_CHUNK,
            };
            let rows = self.write(chunk).await.map_err(unavailable)?;
            removed += rows as u64;
            if (rows as i64) < CLEAR_CHUNK {
                return Ok(removed);
            }
        }
    }

    /// Reads from the file and checks it is still the one at the path, and writable. When it
    /// is not, the writer is asked to check it too before the answer, so that a file deleted
    /// or replaced is moved from (and one refused is tried again) without waiting for a write.
    async fn ping(&self) -> Result<(), StoreError> {
        if let Some(problem) = self.current.problem() {
            // Its outcome is the problem already found, or the write that failed for it.
            let _ = self.write(Write::Check).await;
            return Err(StoreError::new(ENGINE, anyhow::anyhow!(problem)));
        }
        self.read(|conn| {
            conn.prepare_cached("SELECT 1 FROM django_session LIMIT 1")?
                .exists([])
                .map(|_| ())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::fixtures::load;
    use crate::session::store::acceptance::acceptance_suite;
    use chrono::TimeZone;
    use std::path::Path;

    async fn store_in(dir: &Path) -> DbStore {
        let url = format!("sqlite://{}/sessions.sqlite3", dir.display());
        let settings = load("default", &[("APP__DATABASE__URL", &url)]).unwrap();
        DbStore::connect(&settings).await.unwrap()
    }

    #[actix_web::test]
    async fn sqlite_store_passes_the_acceptance_suite() {
        let dir = tempfile::tempdir().unwrap();
        acceptance_suite(&store_in(dir.path()).await).await;
    }

    #[actix_web::test]
    async fn in_memory_sqlite_store_passes_the_acceptance_suite() {
        let settings = load("default", &[("APP__DATABASE__URL", "sqlite::memory:")]).unwrap();
        acceptance_suite(&DbStore::connect(&settings).await.unwrap()).await;
    }

    #[actix_web::test]
    async fn corrupted_session_data_reads_as_an_empty_session() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path()).await;
        let now = Utc::now();
        rusqlite::Connection::open(dir.path().join("sessions.sqlite3"))
            .unwrap()
            .execute(
                "INSERT INTO django_session VALUES (?1, ?2, ?3)",
                params![
                    "corruptedcorruptedcorrupted12345",
                    "this is not signed data",
                    sqlite_datetime(now + chrono::TimeDelta::hours(1))
                ],
            )
            .unwrap();
        let loaded = store
            .load("corruptedcorruptedcorrupted12345", now)
            .await
            .unwrap()
            .map(|record| record.data);
        assert_eq!(
            loaded,
            Some(crate::session::store::SessionData::default()),
            "the key is kept, the data is empty"
        );
    }

    /// Fills a fresh store's table with `expired` sessions due an hour before `now` and `live`
    /// ones due in a day, as Django's rows; returns the live rows.
    fn fill(
        dir: &Path,
        now: DateTime<Utc>,
        expired: usize,
        live: usize,
    ) -> Vec<(String, String, String)> {
        let mut conn = rusqlite::Connection::open(dir.join("sessions.sqlite3")).unwrap();
        let tx = conn.transaction().unwrap();
        let mut live_rows = Vec::new();
        for n in 0..expired + live {
            let is_live = n >= expired;
            let date = if is_live {
                now + chrono::TimeDelta::days(1) + chrono::TimeDelta::seconds(n as i64)
            } else {
                now - chrono::TimeDelta::hours(1) - chrono::TimeDelta::seconds(n as i64)
            };
            let row = (
                format!("{n:0>32}"),
                format!("data-{n}"),
                sqlite_datetime(date),
            );
            tx.execute(
                "INSERT INTO django_session VALUES (?1, ?2, ?3)",
                params![row.0, row.1, row.2],
            )
            .unwrap();
            if is_live {
                live_rows.push(row);
            }
        }
        tx.commit().unwrap();
        live_rows
    }

    fn rows_and_schema(dir: &Path) -> (Vec<(String, String, String)>, Vec<String>) {
        let conn = rusqlite::Connection::open(dir.join("sessions.sqlite3")).unwrap();
        let rows = conn
            .prepare("SELECT session_key, session_data, expire_date FROM django_session ORDER BY session_key")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let schema = conn
            .prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<Vec<String>, _>>()
            .unwrap();
        (rows, schema)
    }

    #[actix_web::test]
    async fn a_large_backlog_is_cleared_by_a_rebuild_that_keeps_the_live_rows_and_djangos_schema() {
        // Arrange: 25,000 expired sessions and 100 live ones.
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path()).await;
        let now = Utc::now();
        let live = fill(dir.path(), now, 25_000, 100);
        let (_, schema_before) = rows_and_schema(dir.path());
        assert!(
            store
                .few_live_among_many_expired(&sqlite_datetime(now))
                .await
                .unwrap()
        );

        // Act
        let removed = store.clear_expired(now).await.unwrap();

        // Assert: every expired row gone, the live ones byte for byte, the table still Django's.
        assert_eq!(removed, 25_000);
        let (rows, schema_after) = rows_and_schema(dir.path());
        assert_eq!(rows, live);
        assert_eq!(schema_after, schema_before);
        assert_eq!(
            store.clear_expired(now).await.unwrap(),
            0,
            "nothing left to clear"
        );
    }

    #[actix_web::test]
    async fn many_live_sessions_send_clear_expired_to_chunked_deletes() {
        // Arrange: more live sessions than a rebuild puts back (25,000 expired, 10,000 live).
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path()).await;
        let now = Utc::now();
        let live = fill(dir.path(), now, 25_000, 10_000);
        assert!(
            !store
                .few_live_among_many_expired(&sqlite_datetime(now))
                .await
                .unwrap()
        );

        // Act
        let removed = store.clear_expired(now).await.unwrap();

        // Assert
        assert_eq!(removed, 25_000);
        assert_eq!(rows_and_schema(dir.path()).0, live);
    }

    #[test]
    fn datetimes_use_djangos_sqlite_text_form() {
        let at = Utc.with_ymd_and_hms(2026, 12, 5, 23, 56, 58).unwrap();
        assert_eq!(sqlite_datetime(at), "2026-12-05 23:56:58");
        let micro = at + chrono::TimeDelta::microseconds(42);
        assert_eq!(sqlite_datetime(micro), "2026-12-05 23:56:58.000042");
        assert_eq!(
            parse_sqlite_datetime("2026-12-05 23:56:58.000042"),
            Some(micro)
        );
        assert_eq!(parse_sqlite_datetime("2026-12-05 23:56:58"), Some(at));
    }

    #[test]
    fn datetimes_are_written_as_chronos_format_writes_them() {
        let reference = |at: DateTime<Utc>| {
            let micros = at.timestamp_subsec_micros();
            let whole = at.format("%Y-%m-%d %H:%M:%S");
            if micros == 0 {
                whole.to_string()
            } else {
                format!("{whole}.{micros:06}")
            }
        };
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        for moment in [
            at,
            at + chrono::TimeDelta::microseconds(1),
            at + chrono::TimeDelta::nanoseconds(999_999_999),
            Utc.with_ymd_and_hms(9, 9, 9, 9, 9, 9).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            DateTime::<Utc>::UNIX_EPOCH,
        ] {
            assert_eq!(sqlite_datetime(moment), reference(moment), "{moment:?}");
        }
    }

    #[test]
    fn dates_beyond_pythons_years_are_written_as_its_ends() {
        // A saturated expiry (`set_expiry(huge)`) must still sort after the present as text:
        // chrono's `+262143-12-31` would sort before `2026-…` and the session would never load.
        assert_eq!(
            sqlite_datetime(DateTime::<Utc>::MAX_UTC),
            "9999-12-31 23:59:59.999999"
        );
        assert_eq!(
            sqlite_datetime(DateTime::<Utc>::MIN_UTC),
            "0001-01-01 00:00:00"
        );
        let now = sqlite_datetime(Utc::now());
        assert!(sqlite_datetime(DateTime::<Utc>::MAX_UTC) > now);
        assert!(sqlite_datetime(DateTime::<Utc>::MIN_UTC) < now);
        // A leap second's fraction is written from its own start, and reads back the same.
        let leap = parse_sqlite_datetime("2026-12-31 23:59:60.5").unwrap();
        assert_eq!(sqlite_datetime(leap), "2026-12-31 23:59:60.500000");
    }
}
