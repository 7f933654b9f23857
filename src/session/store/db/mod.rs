//! The `db` engine: Django's `django_session` table in SQLite, same schema and same value
//! formats, so Django's `clearsessions` or admin could work on the very same file.
//!
//! Reads run on the asking thread, each thread with a connection of its own ([`readers`]);
//! writes go to one writer thread that commits what has queued up together ([`writer`]); a
//! third thread copies the write-ahead log back into the file ([`checkpointer`]).

mod checkpointer;
mod connection;
mod readers;
mod writer;

use std::fmt::Write as _;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Datelike, Timelike, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use self::checkpointer::Checkpointer;
use self::connection::{BUSY_TIMEOUT, Database, ensure_parent_dir, is_busy};
use self::readers::Readers;
use self::writer::{Write, WriteError, Writer};
use super::{SaveError, SaveMode, SessionCodec, SessionRecord, Store, StoreError};
use crate::config::{DatabaseKind, Settings, database_path_kind};
use crate::session::key::is_storable_session_key;

const ENGINE: &str = "db (SQLite)";

/// Rows deleted per transaction by `clear_expired`, so that live writes queued behind it wait
/// for one chunk at most.
const CLEAR_CHUNK: i64 = 2_000;

/// Sessions in the `django_session` table.
#[derive(Clone)]
pub struct DbStore {
    readers: Arc<Readers>,
    writer: Writer,
    /// Present for a file; stops with the last clone of the store.
    _checkpointer: Option<Arc<Checkpointer>>,
    codec: SessionCodec,
}

impl DbStore {
    /// Opens (creating when missing) the database named by `[database] url` and creates the
    /// table, like `manage.py migrate`.
    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        let database =
            match database_path_kind(&settings.database.url).map_err(anyhow::Error::msg)? {
                DatabaseKind::SqliteMemory => Database::new_memory(),
                DatabaseKind::SqliteFile(_) => {
                    let path = settings
                        .sqlite_path()
                        .context("the database URL names no SQLite file")?;
                    ensure_parent_dir(&path)?;
                    Database::File(path)
                }
                DatabaseKind::Postgres => {
                    anyhow::bail!("the SQLite store cannot open a PostgreSQL URL")
                }
            };
        let opening = database.clone();
        let conn = tokio::task::spawn_blocking(move || opening.open_writer())
            .await
            .context("opening the SQLite database was interrupted")?
            .with_context(|| {
                format!("cannot open the SQLite database {}", settings.database.url)
            })?;
        let writer = Writer::start(database.clone(), conn)
            .context("cannot start the SQLite writer thread")?;
        let checkpointer = match &database {
            Database::File(_) => Some(Arc::new(
                Checkpointer::start(database.clone())
                    .context("cannot start the SQLite checkpoint thread")?,
            )),
            Database::Memory(_) => None,
        };
        Ok(DbStore {
            readers: Arc::new(Readers::new(database)),
            writer,
            _checkpointer: checkpointer,
            codec: SessionCodec::from_settings(settings),
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
        match self.readers.read(std::time::Duration::ZERO, &read) {
            Err(error) if is_busy(&error) => {
                let readers = Arc::clone(&self.readers);
                tokio::task::spawn_blocking(move || readers.read(BUSY_TIMEOUT, read))
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
}

fn unavailable(error: impl Into<anyhow::Error>) -> StoreError {
    StoreError::new(ENGINE, error)
}

/// Django's SQLite representation of an aware datetime (`USE_TZ = True`): naive UTC text,
/// microseconds only when non-zero, so text comparison orders rows by time. Dates outside the
/// years 1 to 9999 are written as the nearest end (a five-digit or signed year would sort
/// before the present, so a session set to expire in the year 20000 would never load).
pub fn sqlite_datetime(at: DateTime<Utc>) -> String {
    let at = super::within_python_years(at);
    let micros = at.timestamp_subsec_micros();
    // Every load formats `now`: write the fields directly rather than through chrono's
    // `format`, which parses its pattern on each call (a tenth of a session load's work).
    // Leap seconds keep chrono's spelling.
    let mut text = if micros < 1_000_000 {
        let mut text = String::with_capacity(26);
        let _ = write!(
            text,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            at.year(),
            at.month(),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        );
        text
    } else {
        at.format("%Y-%m-%d %H:%M:%S").to_string()
    };
    // A leap second's fraction counts from its own start (`:60.5`, not `:60.1500000`).
    let micros = micros % 1_000_000;
    if micros != 0 {
        let _ = write!(text, ".{micros:06}");
    }
    text
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

    async fn clear_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let cutoff = sqlite_datetime(now);
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

    async fn ping(&self) -> Result<(), StoreError> {
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
    use crate::config::{Settings, config_dir};
    use crate::session::store::acceptance::acceptance_suite;
    use chrono::TimeZone;
    use std::collections::BTreeMap;
    use std::path::Path;

    async fn store_in(dir: &Path) -> DbStore {
        let url = format!("sqlite://{}/sessions.sqlite3", dir.display());
        let env = BTreeMap::from([("APP__DATABASE__URL".to_owned(), url)]);
        let settings = Settings::load_with_env(&config_dir(), "default", env).unwrap();
        DbStore::connect(&settings).await.unwrap()
    }

    #[actix_web::test]
    async fn sqlite_store_passes_the_acceptance_suite() {
        let dir = tempfile::tempdir().unwrap();
        acceptance_suite(&store_in(dir.path()).await).await;
    }

    #[actix_web::test]
    async fn in_memory_sqlite_store_passes_the_acceptance_suite() {
        let env = BTreeMap::from([(
            "APP__DATABASE__URL".to_owned(),
            "sqlite::memory:".to_owned(),
        )]);
        let settings = Settings::load_with_env(&config_dir(), "default", env).unwrap();
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
            Some(crate::session::store::SessionData::new()),
            "the key is kept, the data is empty"
        );
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
