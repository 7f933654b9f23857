//! The `db` engine on PostgreSQL: Django's `django_session` table with the schema Django's
//! PostgreSQL backend creates, so several sessionlab processes (or a Django app with the same
//! `SECRET_KEY`) can share one database.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Row};

use super::{SaveError, SaveMode, SessionCodec, SessionRecord, Store, StoreError};
use crate::session::key::is_storable_session_key;

const ENGINE: &str = "db (PostgreSQL)";

/// Rows deleted per statement by `clear_expired`, so live requests wait at most one chunk.
const CLEAR_CHUNK: i64 = 10_000;

/// How long a request waits for a connection before the store reports itself unavailable
/// (a database that is down must answer 503 quickly, not hang the request).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// The `pg_advisory_xact_lock` key that serialises schema creation between processes starting
/// together: the ASCII bytes of "django_s".
const SCHEMA_LOCK: i64 = 0x646a_616e_676f_5f73;

/// Django's `migrate` for `django.contrib.sessions` (`0001_initial`), as Django 5.2.19's
/// `sqlmigrate sessions 0001` prints it against PostgreSQL 15 (psycopg 3), in the same order,
/// with `IF NOT EXISTS` added so that every start-up can run it:
///
/// ```text
/// CREATE TABLE "django_session" ("session_key" varchar(40) NOT NULL PRIMARY KEY, "session_data" text NOT NULL, "expire_date" timestamp with time zone NOT NULL);
/// CREATE INDEX "django_session_session_key_c0390e0f_like" ON "django_session" ("session_key" varchar_pattern_ops);
/// CREATE INDEX "django_session_expire_date_a5c62663" ON "django_session" ("expire_date");
/// ```
const SCHEMA: [&str; 3] = [
    r#"CREATE TABLE IF NOT EXISTS "django_session" ("session_key" varchar(40) NOT NULL PRIMARY KEY, "session_data" text NOT NULL, "expire_date" timestamp with time zone NOT NULL)"#,
    r#"CREATE INDEX IF NOT EXISTS "django_session_session_key_c0390e0f_like" ON "django_session" ("session_key" varchar_pattern_ops)"#,
    r#"CREATE INDEX IF NOT EXISTS "django_session_expire_date_a5c62663" ON "django_session" ("expire_date")"#,
];

/// Sessions in PostgreSQL's `django_session` table (Django's `db` engine with the
/// `postgresql` database backend).
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    codec: SessionCodec,
}

/// The pool settings every `PgStore` uses: bounded waits, and a liveness check on each
/// checkout so that connections broken by a PostgreSQL restart are replaced, not handed out.
fn pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .min_connections(0)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(true)
        .idle_timeout(Duration::from_secs(600))
        .max_lifetime(Duration::from_secs(3600))
}

impl PgStore {
    /// Connects to the PostgreSQL database at `url` (`postgres://user:pass@host:port/db`, with
    /// libpq-style parameters such as `?options=-c%20search_path%3Dmyschema`) with at most
    /// `max_connections` connections, and creates the `django_session` table and its indexes
    /// when missing, like `manage.py migrate`.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        codec: SessionCodec,
    ) -> anyhow::Result<Self> {
        let shown = redacted(url);
        let options = PgConnectOptions::from_str(url)
            .with_context(|| format!("invalid PostgreSQL URL {shown}"))?;
        let pool = pool_options(max_connections)
            .connect_with(options)
            .await
            .with_context(|| format!("cannot connect to the PostgreSQL database {shown}"))?;
        create_schema(&pool)
            .await
            .with_context(|| format!("cannot create the django_session table in {shown}"))?;
        Ok(PgStore { pool, codec })
    }

    /// How many sessions are stored and not expired at `now`.
    pub async fn count_live(&self, now: DateTime<Utc>) -> Result<i64, StoreError> {
        sqlx::query("SELECT COUNT(*) FROM django_session WHERE expire_date > $1")
            .bind(now)
            .fetch_one(&self.pool)
            .await
            .and_then(|row| row.try_get::<i64, _>(0))
            .map_err(unavailable)
    }
}

/// Runs [`SCHEMA`] in one transaction holding an advisory lock: `CREATE … IF NOT EXISTS` alone
/// is not safe against a concurrent `CREATE` (two processes starting together could both try to
/// create the table's row type and one would fail with a unique violation in `pg_type`).
async fn create_schema(pool: &PgPool) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(SCHEMA_LOCK)
        .execute(&mut *tx)
        .await?;
    for statement in SCHEMA {
        sqlx::query(statement).execute(&mut *tx).await?;
    }
    tx.commit().await
}

/// The URL with its password (if any) masked, for error messages and logs.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Only fails for URLs that cannot have a password, and this one has one.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(unparsable URL)".to_owned(),
    }
}

fn unavailable(error: sqlx::Error) -> StoreError {
    StoreError::new(ENGINE, error)
}

impl Store for PgStore {
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
            "SELECT session_data, expire_date FROM django_session WHERE session_key = $1 AND expire_date > $2",
        )
        .bind(key)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        match row {
            None => Ok(None),
            Some(row) => {
                let text: String = row.try_get(0).map_err(unavailable)?;
                let expire_date: DateTime<Utc> = row.try_get(1).map_err(unavailable)?;
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
        let row = sqlx::query("SELECT 1 FROM django_session WHERE session_key = $1")
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
        // `timestamp with time zone` keeps microseconds, as Python's datetime does, and starts
        // in 4713 BC: a saturated expiry is kept within Python's years.
        let expire_date = super::within_python_years(record.expire_date);
        match mode {
            SaveMode::Create => {
                let result = sqlx::query(
                    "INSERT INTO django_session (session_key, session_data, expire_date) VALUES ($1, $2, $3)",
                )
                .bind(&record.key)
                .bind(data)
                .bind(expire_date)
                .execute(&self.pool)
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
                let done = sqlx::query(
                    "UPDATE django_session SET session_data = $1, expire_date = $2 WHERE session_key = $3",
                )
                .bind(data)
                .bind(expire_date)
                .bind(&record.key)
                .execute(&self.pool)
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
        sqlx::query("DELETE FROM django_session WHERE session_key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn clear_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut removed = 0;
        loop {
            // Each chunk is its own short transaction, found through the expire_date index.
            let done = sqlx::query(
                "DELETE FROM django_session WHERE session_key IN \
                 (SELECT session_key FROM django_session WHERE expire_date < $1 LIMIT $2)",
            )
            .bind(now)
            .bind(CLEAR_CHUNK)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
            removed += done.rows_affected();
            if done.rows_affected() < CLEAR_CHUNK as u64 {
                return Ok(removed);
            }
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(unavailable)
    }
}

/// Test support shared with other modules' tests: a fresh PostgreSQL schema per test.
#[cfg(test)]
pub(crate) mod testing {
    use sqlx::{AssertSqlSafe, Connection, PgConnection};

    use crate::session::key::new_session_key;

    /// The database the tests use, overridable with `SESSIONLAB_TEST_POSTGRES_URL`
    /// (a URL without query parameters).
    pub(crate) fn admin_url() -> String {
        std::env::var("SESSIONLAB_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
    }

    /// A schema with a random name, dropped (with everything in it) when this value is dropped,
    /// also when the test panics.
    pub(crate) struct FreshSchema {
        /// The schema's name (`sessionlab_test_<32 random characters>`).
        pub(crate) name: String,
        /// A connection URL whose `search_path` is this schema only.
        pub(crate) url: String,
    }

    impl FreshSchema {
        /// Creates the schema through an admin connection.
        pub(crate) async fn create() -> FreshSchema {
            let name = format!("sessionlab_test_{}", new_session_key().unwrap());
            let mut admin = PgConnection::connect(&admin_url())
                .await
                .expect("PostgreSQL runs at SESSIONLAB_TEST_POSTGRES_URL or 127.0.0.1:5432");
            sqlx::query(AssertSqlSafe(format!(r#"CREATE SCHEMA "{name}""#)))
                .execute(&mut admin)
                .await
                .unwrap();
            admin.close().await.unwrap();
            let url = format!("{}?options=-c%20search_path%3D{name}", admin_url());
            FreshSchema { name, url }
        }
    }

    impl Drop for FreshSchema {
        fn drop(&mut self) {
            // Drop runs inside the test's single-threaded runtime, which cannot be blocked on:
            // drop the schema from a thread with a runtime of its own, and wait for it.
            let name = self.name.clone();
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(async {
                    let mut admin = PgConnection::connect(&admin_url()).await?;
                    sqlx::query(AssertSqlSafe(format!(r#"DROP SCHEMA "{name}" CASCADE"#)))
                        .execute(&mut admin)
                        .await?;
                    admin.close().await?;
                    anyhow::Ok(())
                })
            })
            .join();
            match dropped {
                Ok(Ok(())) => {}
                Ok(Err(error)) => eprintln!("could not drop schema {}: {error:#}", self.name),
                Err(_) => eprintln!("could not drop schema {}: the thread panicked", self.name),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::time::Instant;

    use chrono::{TimeDelta, TimeZone};
    use serde_json::json;

    use super::testing::{FreshSchema, admin_url};
    use super::*;
    use crate::session::key::new_session_key;
    use crate::session::store::acceptance::{acceptance_suite, suite_now};

    fn codec() -> SessionCodec {
        SessionCodec::new("django-insecure-test-secret-key", &[])
    }

    async fn store_on(schema: &FreshSchema) -> PgStore {
        PgStore::connect(&schema.url, 4, codec()).await.unwrap()
    }

    fn record(key: &str, n: i64, expire_date: DateTime<Utc>) -> SessionRecord {
        SessionRecord {
            key: key.to_owned(),
            data: serde_json::from_value(json!({ "n": n })).unwrap(),
            expire_date,
        }
    }

    #[actix_web::test]
    async fn postgres_store_passes_the_acceptance_suite() {
        let schema = FreshSchema::create().await;
        let store = store_on(&schema).await;
        assert_eq!(store.describe(), "db (PostgreSQL)");
        acceptance_suite(&store).await;
    }

    #[actix_web::test]
    async fn schema_is_the_one_django_sqlmigrate_creates() {
        let schema = FreshSchema::create().await;
        let store = store_on(&schema).await;

        let columns: Vec<(String, String, String, Option<i32>)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text, is_nullable::text, \
                    character_maximum_length::int \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = 'django_session' \
             ORDER BY ordinal_position",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap();
        let indexes: BTreeSet<String> = sqlx::query_scalar(
            "SELECT indexdef FROM pg_indexes \
             WHERE schemaname = current_schema() AND tablename = 'django_session'",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|def: String| def.replace(&format!("{}.", schema.name), ""))
        .collect();

        let text = |s: &str| s.to_owned();
        assert_eq!(
            columns,
            [
                (
                    text("session_key"),
                    text("character varying"),
                    text("NO"),
                    Some(40)
                ),
                (text("session_data"), text("text"), text("NO"), None),
                (
                    text("expire_date"),
                    text("timestamp with time zone"),
                    text("NO"),
                    None
                ),
            ]
        );
        assert_eq!(
            indexes,
            BTreeSet::from([
                text(
                    "CREATE UNIQUE INDEX django_session_pkey ON django_session USING btree (session_key)"
                ),
                text(
                    "CREATE INDEX django_session_expire_date_a5c62663 ON django_session USING btree (expire_date)"
                ),
                text(
                    "CREATE INDEX django_session_session_key_c0390e0f_like ON django_session USING btree (session_key varchar_pattern_ops)"
                ),
            ])
        );
    }

    #[actix_web::test]
    async fn rows_are_djangos_session_data_and_expire_date() {
        let schema = FreshSchema::create().await;
        let store = store_on(&schema).await;
        let key = new_session_key().unwrap();
        let expire_date = Utc.with_ymd_and_hms(2036, 12, 5, 23, 56, 58).unwrap()
            + TimeDelta::microseconds(123_456);
        let rec = SessionRecord {
            key: key.clone(),
            data: serde_json::from_value(json!({"name": "Sonam", "_session_expiry": 600})).unwrap(),
            expire_date,
        };

        store.save(&rec, SaveMode::Create).await.unwrap();

        let (session_data, stored_expiry, as_text): (String, DateTime<Utc>, String) =
            sqlx::query_as(
                "SELECT session_data, expire_date, \
                        to_char(expire_date AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') \
                 FROM django_session WHERE session_key = $1",
            )
            .bind(&key)
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(codec().decode(&session_data, Utc::now()), rec.data);
        assert_eq!(
            session_data.split(':').count(),
            3,
            "Django's value:timestamp:signature"
        );
        assert_eq!(
            stored_expiry, expire_date,
            "expire_date kept to the microsecond"
        );
        assert_eq!(as_text, "2036-12-05 23:56:58.123456");
    }

    #[actix_web::test]
    async fn two_stores_on_one_database_share_sessions() {
        let schema = FreshSchema::create().await;
        let (first, second) = (store_on(&schema).await, store_on(&schema).await);
        let now = suite_now();
        let key = new_session_key().unwrap();

        first
            .save(
                &record(&key, 1, now + TimeDelta::hours(1)),
                SaveMode::Create,
            )
            .await
            .unwrap();
        let seen = second.load(&key, now).await.unwrap();
        second
            .save(
                &record(&key, 2, now + TimeDelta::hours(1)),
                SaveMode::Update,
            )
            .await
            .unwrap();
        let updated = first.load(&key, now).await.unwrap();
        second.delete(&key).await.unwrap();

        assert_eq!(seen.unwrap().data["n"], json!(1));
        assert_eq!(updated.unwrap().data["n"], json!(2));
        assert!(!first.exists(&key).await.unwrap(), "deleted for both");
        assert!(matches!(
            first
                .save(
                    &record(&key, 3, now + TimeDelta::hours(1)),
                    SaveMode::Update
                )
                .await,
            Err(SaveError::Missing)
        ));
    }

    #[actix_web::test]
    async fn stores_starting_together_on_a_fresh_schema_do_not_race() {
        let schema = FreshSchema::create().await;

        let started = futures_util::future::join_all(
            (0..6).map(|_| PgStore::connect(&schema.url, 2, codec())),
        )
        .await;

        for result in &started {
            assert!(
                result.is_ok(),
                "every start-up succeeds: {:?}",
                result.as_ref().err()
            );
        }
    }

    #[actix_web::test]
    async fn clear_expired_removes_every_expired_row_in_chunks() {
        let schema = FreshSchema::create().await;
        let store = store_on(&schema).await;
        let now = suite_now();
        let data = codec().encode(&crate::session::store::SessionData::default(), now);
        sqlx::query(
            "INSERT INTO django_session (session_key, session_data, expire_date) \
             SELECT 'expired' || i, $1, $2 - i * interval '1 second' \
             FROM generate_series(1, 20000) AS i",
        )
        .bind(&data)
        .bind(now)
        .execute(&store.pool)
        .await
        .unwrap();
        let live: Vec<String> = (0..3).map(|_| new_session_key().unwrap()).collect();
        for key in &live {
            store
                .save(
                    &record(key, 1, now + TimeDelta::seconds(1)),
                    SaveMode::Create,
                )
                .await
                .unwrap();
        }

        let removed = store.clear_expired(now).await.unwrap();

        assert_eq!(removed, 20_000);
        assert_eq!(store.count_live(now).await.unwrap(), 3);
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM django_session")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(left, 3, "only the live sessions remain");
        for key in &live {
            assert!(store.load(key, now).await.unwrap().is_some());
        }
    }

    #[actix_web::test]
    async fn count_live_counts_unexpired_sessions_only() {
        let schema = FreshSchema::create().await;
        let store = store_on(&schema).await;
        let now = suite_now();
        for (i, offset) in [-10, 0, 10, 20].into_iter().enumerate() {
            let key = format!("countlive{i}countlive{i}");
            store
                .save(
                    &record(&key, 1, now + TimeDelta::seconds(offset)),
                    SaveMode::Create,
                )
                .await
                .unwrap();
        }

        let live = store.count_live(now).await.unwrap();

        assert_eq!(live, 2, "expire_date > now, as load() sees it");
    }

    #[actix_web::test]
    async fn malformed_keys_never_reach_sql_and_cannot_be_saved() {
        let schema = FreshSchema::create().await;
        let store = store_on(&schema).await;
        let now = suite_now();

        let result = store
            .save(
                &record("x'; DROP TABLE django_session; --", 1, now),
                SaveMode::Create,
            )
            .await;

        match result {
            Err(SaveError::Store(e)) => assert_eq!(e.engine, "db (PostgreSQL)"),
            other => panic!("a malformed key is a store error, got {other:?}"),
        }
        assert_eq!(store.count_live(now - TimeDelta::days(1)).await.unwrap(), 0);
    }

    #[actix_web::test]
    async fn a_database_that_is_down_fails_fast() {
        let closed_port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let url = format!("postgres://postgres@127.0.0.1:{closed_port}/test");

        let started = Instant::now();
        let connected = PgStore::connect(&url, 2, codec()).await;
        let connect_took = started.elapsed();
        // A store whose database went away after start-up, as a request would meet it.
        let store = PgStore {
            pool: pool_options(2).connect_lazy_with(PgConnectOptions::from_str(&url).unwrap()),
            codec: codec(),
        };
        let started = Instant::now();
        let loaded = store.load(&new_session_key().unwrap(), Utc::now()).await;
        let pinged = store.ping().await;
        let requests_took = started.elapsed();

        assert!(
            connected.is_err(),
            "start-up reports the database as unreachable"
        );
        assert!(
            connect_took < Duration::from_secs(10),
            "start-up took {connect_took:?}"
        );
        match loaded {
            Err(e) => assert_eq!(e.engine, "db (PostgreSQL)"),
            Ok(found) => panic!("load without a database must fail, got {found:?}"),
        }
        assert!(pinged.is_err(), "ping reports the outage");
        assert!(
            requests_took < Duration::from_secs(10),
            "requests took {requests_took:?}"
        );
    }

    #[test]
    fn passwords_never_appear_in_messages() {
        assert_eq!(
            redacted("postgres://app:s3cret@db.example:5432/sessions"),
            "postgres://app:***@db.example:5432/sessions"
        );
        assert_eq!(
            redacted("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
    }

    #[actix_web::test]
    async fn the_test_schema_is_dropped_afterwards() {
        let name = {
            let schema = FreshSchema::create().await;
            store_on(&schema).await;
            schema.name.clone()
        };
        let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url())
            .await
            .unwrap();

        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_namespace WHERE nspname = $1")
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .unwrap();

        assert_eq!(left, 0);
    }
}
