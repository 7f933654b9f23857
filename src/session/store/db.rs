//! The `db` engine: Django's `django_session` table in SQLite, same schema and same value
//! formats, so Django's `clearsessions` or admin could work on the very same file.

use std::fmt::Write as _;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Datelike, Timelike, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use super::{SaveError, SaveMode, SessionCodec, SessionRecord, Store, StoreError};
use crate::config::{DatabaseKind, Settings, database_path_kind};
use crate::session::key::is_storable_session_key;

const ENGINE: &str = "db (SQLite)";

/// Rows deleted per statement by `clear_expired`, so live requests wait at most one chunk.
const CLEAR_CHUNK: i64 = 10_000;

/// Django's `migrate` for `django.contrib.sessions` (`0001_initial`), as `sqlmigrate` prints it.
const SCHEMA: [&str; 2] = [
    r#"CREATE TABLE IF NOT EXISTS "django_session" ("session_key" varchar(40) NOT NULL PRIMARY KEY, "session_data" text NOT NULL, "expire_date" datetime NOT NULL)"#,
    r#"CREATE INDEX IF NOT EXISTS "django_session_expire_date_a5c62663" ON "django_session" ("expire_date")"#,
];

/// Sessions in the `django_session` table.
#[derive(Clone)]
pub struct DbStore {
    pool: SqlitePool,
    codec: SessionCodec,
}

impl DbStore {
    /// Opens (creating when missing) the database named by `[database] url` and creates the
    /// table, like `manage.py migrate`.
    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        let options =
            match database_path_kind(&settings.database.url).map_err(anyhow::Error::msg)? {
                DatabaseKind::SqliteMemory => SqliteConnectOptions::from_str("sqlite::memory:")?,
                DatabaseKind::SqliteFile(_) => {
                    let path = settings
                        .sqlite_path()
                        .context("the database URL names no SQLite file")?;
                    ensure_parent_dir(&path)?;
                    SqliteConnectOptions::new()
                        .filename(&path)
                        .create_if_missing(true)
                }
                DatabaseKind::Postgres => {
                    anyhow::bail!("the SQLite store cannot open a PostgreSQL URL")
                }
            };
        let in_memory = settings.database.url.contains(":memory:");
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(false);
        // An in-memory database lives as long as its one connection.
        let max_connections = if in_memory {
            1
        } else {
            settings.database.max_connections
        };
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .min_connections(u32::from(in_memory))
            .idle_timeout((!in_memory).then(|| Duration::from_secs(600)))
            .max_lifetime((!in_memory).then(|| Duration::from_secs(3600)))
            .acquire_timeout(Duration::from_secs(5))
            // sqlx pings a connection before handing it out by default: for SQLite that is a
            // round trip to the connection's worker thread on every query, for a file that
            // cannot go away like a server can.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .with_context(|| {
                format!("cannot open the SQLite database {}", settings.database.url)
            })?;
        for statement in SCHEMA {
            sqlx::query(statement)
                .execute(&pool)
                .await
                .context("cannot create the django_session table")?;
        }
        Ok(DbStore {
            pool,
            codec: SessionCodec::from_settings(settings),
        })
    }

    /// How many sessions are stored and not expired at `now`.
    pub async fn count_live(&self, now: DateTime<Utc>) -> Result<i64, StoreError> {
        sqlx::query("SELECT COUNT(*) FROM django_session WHERE expire_date > ?")
            .bind(sqlite_datetime(now))
            .fetch_one(&self.pool)
            .await
            .and_then(|row| row.try_get::<i64, _>(0))
            .map_err(unavailable)
    }

    /// Runs a write on a pooled connection. SQLite opens a file (or its write-ahead log) that it
    /// may not write read-only, without a word — a read-only mount, an immutable file, a
    /// permission change — and such a connection stays read-only for its whole life, long after
    /// the file is writable again. A write refused as read-only therefore closes its connection
    /// and is tried again on another (a new one once the idle ones are spent), so the store
    /// recovers with the file, not up to an hour later when the pool retires its connections.
    async fn write<T>(
        &self,
        run: impl AsyncFn(&mut sqlx::SqliteConnection) -> Result<T, sqlx::Error>,
    ) -> Result<T, sqlx::Error> {
        let mut tries_left = self.pool.options().get_max_connections();
        loop {
            let mut conn = self.pool.acquire().await?;
            match run(&mut conn).await {
                Err(error) if is_read_only(&error) && tries_left > 0 => {
                    conn.close_on_drop();
                    tries_left -= 1;
                }
                result => return result,
            }
        }
    }
}

/// Whether `error` is SQLite's `SQLITE_READONLY` (any extended code).
fn is_read_only(error: &sqlx::Error) -> bool {
    const SQLITE_READONLY: i32 = 8;
    matches!(error, sqlx::Error::Database(e)
        if e.code().and_then(|code| code.parse::<i32>().ok())
            .is_some_and(|code| code & 0xff == SQLITE_READONLY))
}

fn ensure_parent_dir(path: &Path) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the data directory {}", parent.display()))?;
    }
    Ok(())
}

fn unavailable(error: sqlx::Error) -> StoreError {
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
        let row = sqlx::query(
            "SELECT session_data, expire_date FROM django_session WHERE session_key = ? AND expire_date > ?",
        )
        .bind(key)
        .bind(sqlite_datetime(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        match row {
            None => Ok(None),
            Some(row) => {
                let text: String = row.try_get(0).map_err(unavailable)?;
                let expire_text: String = row.try_get(1).map_err(unavailable)?;
                let expire_date = parse_sqlite_datetime(&expire_text).ok_or_else(|| {
                    StoreError::new(
                        ENGINE,
                        anyhow::anyhow!("unreadable expire_date {expire_text:?}"),
                    )
                })?;
                Ok(Some(SessionRecord {
                    key: key.to_owned(),
                    data: self.codec.decode(&text, now),
                    expire_date,
                }))
            }
        }
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        if !is_storable_session_key(key) {
            return Ok(false);
        }
        let row = sqlx::query("SELECT 1 FROM django_session WHERE session_key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(row.is_some())
    }

    async fn save(&self, record: &SessionRecord, mode: SaveMode) -> Result<(), SaveError> {
        if !is_storable_session_key(&record.key) {
            return Err(StoreError::new(
                ENGINE,
                anyhow::anyhow!("refusing to store a session under a malformed key"),
            )
            .into());
        }
        // The signing timestamp is informational (Django never checks it for stored data).
        let data = self.codec.encode(&record.data, Utc::now());
        let expire_date = sqlite_datetime(record.expire_date);
        match mode {
            SaveMode::Create => {
                let result = self
                    .write(async |conn| {
                        sqlx::query(
                            "INSERT INTO django_session (session_key, session_data, expire_date) VALUES (?, ?, ?)",
                        )
                        .bind(&record.key)
                        .bind(&data)
                        .bind(&expire_date)
                        .execute(conn)
                        .await
                    })
                    .await;
                match result {
                    Ok(_) => Ok(()),
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                        Err(SaveError::KeyExists)
                    }
                    Err(e) => Err(unavailable(e).into()),
                }
            }
            SaveMode::Update => {
                let done = self
                    .write(async |conn| {
                        sqlx::query(
                            "UPDATE django_session SET session_data = ?, expire_date = ? WHERE session_key = ?",
                        )
                        .bind(&data)
                        .bind(&expire_date)
                        .bind(&record.key)
                        .execute(conn)
                        .await
                    })
                    .await
                    .map_err(unavailable)?;
                if done.rows_affected() == 0 {
                    Err(SaveError::Missing)
                } else {
                    Ok(())
                }
            }
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        if !is_storable_session_key(key) {
            return Ok(());
        }
        self.write(async |conn| {
            sqlx::query("DELETE FROM django_session WHERE session_key = ?")
                .bind(key)
                .execute(conn)
                .await
        })
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn clear_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let cutoff = sqlite_datetime(now);
        let mut removed = 0;
        loop {
            let done = self
                .write(async |conn| {
                    sqlx::query(
                        "DELETE FROM django_session WHERE rowid IN \
                         (SELECT rowid FROM django_session WHERE expire_date < ? LIMIT ?)",
                    )
                    .bind(&cutoff)
                    .bind(CLEAR_CHUNK)
                    .execute(conn)
                    .await
                })
                .await
                .map_err(unavailable)?;
            removed += done.rows_affected();
            if done.rows_affected() < CLEAR_CHUNK as u64 {
                return Ok(removed);
            }
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1 FROM django_session LIMIT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(unavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Settings, config_dir};
    use crate::session::store::acceptance::acceptance_suite;
    use chrono::TimeZone;
    use std::collections::BTreeMap;

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
        sqlx::query("INSERT INTO django_session VALUES (?, ?, ?)")
            .bind("corruptedcorruptedcorrupted12345")
            .bind("this is not signed data")
            .bind(sqlite_datetime(now + chrono::TimeDelta::hours(1)))
            .execute(&store.pool)
            .await
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
