//! The `db` engine on PostgreSQL: Django's `django_session` table with the schema Django's
//! PostgreSQL backend creates, so several sessionlab processes (or a Django app with the same
//! `SECRET_KEY`) can share one database.

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use deadpool::Runtime;
use deadpool::managed::{self, Metrics, Object, RecycleError, RecycleResult};
use tokio_postgres::error::{Severity, SqlState};
use tokio_postgres::{Client, Config, NoTls, Statement};

use super::{SaveError, SaveMode, SessionCodec, SessionRecord, Store, StoreError, send_again};
use crate::session::key::is_storable_session_key;

const ENGINE: &str = "db (PostgreSQL)";

/// Rows deleted per statement by `clear_expired`, so live requests wait at most one chunk.
const CLEAR_CHUNK: i64 = 10_000;

/// How long a request waits for a connection (or for a new one to be opened) before the store
/// reports itself unavailable (a database that is down must answer 503 quickly, not hang the
/// request).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a request's query may take before the store reports itself unavailable (and the
/// connection it ran on is replaced): a database that stops answering without closing its
/// connections must not hold requests forever.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a connection is used before it is replaced by a fresh one (at a checkout), so that
/// no backend lives for ever.
const MAX_LIFETIME: Duration = Duration::from_secs(3600);

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

/// The statements of a request's work, prepared once on each connection when it is opened, so
/// that each runs in one round trip (bind, execute, sync).
struct Statements {
    load: Statement,
    exists: Statement,
    insert: Statement,
    update: Statement,
    delete: Statement,
}

impl Statements {
    /// Prepares every statement, pipelined on `client` (one round trip for all of them).
    async fn prepare(client: &Client) -> Result<Statements, tokio_postgres::Error> {
        let (load, exists, insert, update, delete) = tokio::try_join!(
            client.prepare(
                "SELECT session_data, expire_date FROM django_session WHERE session_key = $1 AND expire_date > $2"
            ),
            client.prepare("SELECT 1 FROM django_session WHERE session_key = $1"),
            client.prepare(
                "INSERT INTO django_session (session_key, session_data, expire_date) VALUES ($1, $2, $3)"
            ),
            client.prepare(
                "UPDATE django_session SET session_data = $1, expire_date = $2 WHERE session_key = $3"
            ),
            client.prepare("DELETE FROM django_session WHERE session_key = $1"),
        )?;
        Ok(Statements {
            load,
            exists,
            insert,
            update,
            delete,
        })
    }
}

/// A pooled connection: the client (its socket is driven by a task of its own), its prepared
/// statements, and whether a query failed on it. Reads do not hold it (see [`Use`]).
struct Connection {
    client: Client,
    statements: Statements,
    broken: AtomicBool,
}

/// Opens connections for the pool and checks them at checkout without a round trip: a
/// connection is replaced when a query failed on it, when PostgreSQL closed it (its driver task
/// has ended, as on a server restart), or when it is older than [`MAX_LIFETIME`]. (A pool that
/// sent a query to test each connection at checkout, and another at release, tripled the round
/// trips of every session load and save: BENCHMARKS.md, change 28.)
struct Connections {
    config: Config,
    /// Whether `django_session` is known to exist: created at start-up, or, when PostgreSQL
    /// did not answer then, by the first connection opened once it does.
    schema_ready: AtomicBool,
}

impl Connections {
    /// Opens a connection and spawns the task that drives its socket.
    async fn open(&self) -> Result<Client, tokio_postgres::Error> {
        let (client, connection) = self.config.connect(NoTls).await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "a PostgreSQL connection ended");
            }
        });
        Ok(client)
    }
}

impl managed::Manager for Connections {
    type Type = Arc<Connection>;
    type Error = tokio_postgres::Error;

    async fn create(&self) -> Result<Arc<Connection>, tokio_postgres::Error> {
        let mut client = self.open().await?;
        if !self.schema_ready.load(Ordering::Acquire) {
            create_schema(&mut client).await?;
            self.schema_ready.store(true, Ordering::Release);
        }
        let statements = Statements::prepare(&client).await?;
        Ok(Arc::new(Connection {
            client,
            statements,
            broken: AtomicBool::new(false),
        }))
    }

    async fn recycle(
        &self,
        connection: &mut Arc<Connection>,
        metrics: &Metrics,
    ) -> RecycleResult<tokio_postgres::Error> {
        if connection.broken.load(Ordering::Relaxed) {
            Err(RecycleError::message("a query failed on this connection"))
        } else if connection.client.is_closed() {
            Err(RecycleError::message("PostgreSQL closed this connection"))
        } else if metrics.age() > MAX_LIFETIME {
            Err(RecycleError::message(
                "this connection reached its lifetime",
            ))
        } else {
            Ok(())
        }
    }
}

type Pool = managed::Pool<Connections>;

/// How a query uses its pooled connection.
#[derive(Clone, Copy)]
enum Use {
    /// Reads take a handle and put the connection back before sending, so the reads of
    /// concurrent requests are pipelined over the connections the pool holds (tokio-postgres
    /// sends a query without waiting for the answers to those before it, and PostgreSQL
    /// answers them in order), where a read holding its connection waited for a free one and
    /// then for its own round trip.
    Shared,
    /// Writes hold the connection until they are answered: each commit waits for PostgreSQL's
    /// write-ahead log to reach the disk, and commits pipelined on one backend would wait for
    /// those ahead of them in turn; on connections of their own they are flushed together.
    Exclusive,
}

/// A query on a pooled connection, as [`PgStore::run`] takes it.
type Query<'c, T> = Pin<Box<dyn Future<Output = Result<T, tokio_postgres::Error>> + 'c>>;

/// The third argument of [`PgStore::run`]'s queries: its type tells the compiler that what the
/// query borrows (for `'a`) outlives the connection it is given (for `'c`).
type Outlives<'c, 'a> = &'c &'a ();

/// Sessions in PostgreSQL's `django_session` table (Django's `db` engine with the
/// `postgresql` database backend).
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    codec: SessionCodec,
}

impl PgStore {
    /// Connects to the PostgreSQL database at `url` (`postgres://user:pass@host:port/db`, with
    /// libpq-style parameters such as `?options=-c%20search_path%3Dmyschema`) with at most
    /// `max_connections` connections, and creates the `django_session` table and its indexes
    /// when missing, like `manage.py migrate`.
    ///
    /// A database that does not answer (not started yet, restarting, out of reach) is an
    /// outage, not a reason to refuse to start: the store is returned, requests are a 503 until
    /// PostgreSQL answers, and the first connection then creates the table. A database that
    /// answers with a refusal the configuration must fix (a wrong password, no such database,
    /// TLS asked of this build without TLS) is an error.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        codec: SessionCodec,
    ) -> anyhow::Result<Self> {
        let shown = redacted(url);
        let store = PgStore::lazy(url, max_connections, codec)
            .with_context(|| format!("invalid PostgreSQL URL {shown}"))?;
        let connections = store.pool.manager();
        let mut client = match connections.open().await {
            Ok(client) => client,
            // Start-up logs the outage with the other stores' (`Stores::open`'s caller).
            Err(error) if !is_refusal(&error) => return Ok(store),
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("cannot connect to the PostgreSQL database {shown}"));
            }
        };
        create_schema(&mut client)
            .await
            .with_context(|| format!("cannot create the django_session table in {shown}"))?;
        connections.schema_ready.store(true, Ordering::Release);
        // The first pooled connection, opened now so that its statements are known to prepare.
        drop(
            store
                .pool
                .get()
                .await
                .with_context(|| format!("cannot use the django_session table in {shown}"))?,
        );
        Ok(store)
    }

    /// A store on `url` whose connections are opened when requests need them.
    fn lazy(url: &str, max_connections: u32, codec: SessionCodec) -> anyhow::Result<Self> {
        let mut config = Config::from_str(url)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(ACQUIRE_TIMEOUT);
        }
        let pool = Pool::builder(Connections {
            config,
            schema_ready: AtomicBool::new(false),
        })
        .max_size(usize::try_from(max_connections.max(1))?)
        .wait_timeout(Some(ACQUIRE_TIMEOUT))
        .create_timeout(Some(ACQUIRE_TIMEOUT))
        .recycle_timeout(Some(ACQUIRE_TIMEOUT))
        .runtime(Runtime::Tokio1)
        .build()?;
        Ok(PgStore { pool, codec })
    }

    /// Runs `query` on a pooled connection, shared with other reads or held ([`Use`]), within
    /// [`QUERY_TIMEOUT`]. A connection a query fails on is replaced at its next checkout; a
    /// reused connection found closed (PostgreSQL restarted while it sat idle, before its
    /// driver task noticed) is replaced and the query sent again, up to once per connection the
    /// pool may hold.
    async fn run<'a, T>(
        &self,
        usage: Use,
        query: impl for<'c> Fn(&'c Client, &'c Statements, Outlives<'c, 'a>) -> Query<'c, T>,
    ) -> Result<T, StoreError> {
        let mut retries = 0;
        loop {
            let pooled = self.pool.get().await.map_err(unavailable)?;
            let reused = Object::metrics(&pooled).recycled.is_some();
            let connection = Arc::clone(&pooled);
            // A read gives the connection back to the pool before it is sent; a write keeps it
            // until it is answered.
            let _held = match usage {
                Use::Shared => {
                    drop(pooled);
                    None
                }
                Use::Exclusive => Some(pooled),
            };
            let outcome = tokio::time::timeout(
                QUERY_TIMEOUT,
                query(&connection.client, &connection.statements, &&()),
            )
            .await;
            let error = match outcome {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(error)) => error,
                Err(elapsed) => {
                    connection.broken.store(true, Ordering::Relaxed);
                    return Err(unavailable(anyhow::anyhow!(
                        "PostgreSQL did not answer within {QUERY_TIMEOUT:?} ({elapsed})"
                    )));
                }
            };
            connection.broken.store(true, Ordering::Relaxed);
            if !send_again(&self.pool, reused, connection_ended(&error), retries) {
                return Err(unavailable(error));
            }
            retries += 1;
        }
    }

    /// How many sessions are stored and not expired at `now`.
    pub async fn count_live(&self, now: DateTime<Utc>) -> Result<i64, StoreError> {
        self.run(Use::Shared, |client, _, _| {
            Box::pin(async move {
                let row = client
                    .query_one(
                        "SELECT COUNT(*) FROM django_session WHERE expire_date > $1",
                        &[&now],
                    )
                    .await?;
                row.try_get(0)
            })
        })
        .await
    }
}

/// Whether `error` means the connection is gone: closed, or ended by the server (a `FATAL`
/// error, such as "terminating connection due to administrator command" on a restart).
fn connection_ended(error: &tokio_postgres::Error) -> bool {
    error.is_closed()
        || error
            .as_db_error()
            .is_some_and(|db| db.parsed_severity() == Some(Severity::Fatal))
}

/// Runs [`SCHEMA`] in one transaction holding an advisory lock: `CREATE … IF NOT EXISTS` alone
/// is not safe against a concurrent `CREATE` (two processes starting together could both try to
/// create the table's row type and one would fail with a unique violation in `pg_type`).
async fn create_schema(client: &mut Client) -> Result<(), tokio_postgres::Error> {
    let transaction = client.transaction().await?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
        .await?;
    for statement in SCHEMA {
        transaction.batch_execute(statement).await?;
    }
    transaction.commit().await
}

/// Whether a failed connection was PostgreSQL (or this build) refusing what the configuration
/// asks, which waiting will not mend: authentication (SQLSTATE class 28), a database that does
/// not exist (3D000), or TLS (`sslmode=require`), which this build does not include. Anything
/// else (refused or timed-out connections, "the database system is starting up") is an outage.
fn is_refusal(error: &tokio_postgres::Error) -> bool {
    let refused_by_server = error.as_db_error().is_some_and(|e| {
        e.code().code().starts_with("28") || *e.code() == SqlState::INVALID_CATALOG_NAME
    });
    let tls_asked = std::error::Error::source(error)
        .is_some_and(|source| source.is::<tokio_postgres::tls::NoTlsError>());
    refused_by_server || tls_asked
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

fn unavailable(error: impl Into<anyhow::Error>) -> StoreError {
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
        let row = self
            .run(Use::Shared, |client, statements, _| {
                Box::pin(async move {
                    let row = client.query_opt(&statements.load, &[&key, &now]).await?;
                    row.map(|row| {
                        Ok::<_, tokio_postgres::Error>((row.try_get(0)?, row.try_get(1)?))
                    })
                    .transpose()
                })
            })
            .await?;
        Ok(row.map(
            |(text, expire_date): (String, DateTime<Utc>)| SessionRecord {
                key: key.to_owned(),
                data: self.codec.decode(&text, now),
                expire_date,
            },
        ))
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        if !is_storable_session_key(key) {
            return Ok(false);
        }
        self.run(Use::Shared, |client, statements, _| {
            Box::pin(async move {
                let row = client.query_opt(&statements.exists, &[&key]).await?;
                Ok(row.is_some())
            })
        })
        .await
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
        let (key, data) = (record.key.as_str(), data.as_str());
        match mode {
            SaveMode::Create => {
                let created = self
                    .run(Use::Exclusive, |client, statements, _| {
                        Box::pin(async move {
                            match client
                                .execute(&statements.insert, &[&key, &data, &expire_date])
                                .await
                            {
                                Ok(_) => Ok(true),
                                Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                                    Ok(false)
                                }
                                Err(e) => Err(e),
                            }
                        })
                    })
                    .await?;
                if created {
                    Ok(())
                } else {
                    Err(SaveError::KeyExists)
                }
            }
            SaveMode::Update => {
                let updated = self
                    .run(Use::Exclusive, |client, statements, _| {
                        Box::pin(async move {
                            client
                                .execute(&statements.update, &[&data, &expire_date, &key])
                                .await
                        })
                    })
                    .await?;
                if updated == 0 {
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
        self.run(Use::Exclusive, |client, statements, _| {
            Box::pin(async move { client.execute(&statements.delete, &[&key]).await })
        })
        .await?;
        Ok(())
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
        let expire_date = super::within_python_years(expire_date);
        // Rare (actix-session's `TtlExtensionPolicy::OnEveryRequest`): not one of the
        // statements every connection prepares.
        let changed = self
            .run(Use::Exclusive, |client, _, _| {
                Box::pin(async move {
                    client
                        .execute(
                            "UPDATE django_session SET expire_date = $2 \
                             WHERE session_key = $1 AND expire_date > $3",
                            &[&key, &expire_date, &now],
                        )
                        .await
                })
            })
            .await?;
        Ok(changed > 0)
    }

    async fn clear_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut removed = 0;
        loop {
            // Each chunk is its own short transaction, found through the expire_date index.
            // The outer `expire_date < $1` is checked again on a row that a save committed
            // after the chunk was chosen (PostgreSQL re-reads a row updated meanwhile and
            // re-applies only the outer conditions): a session given a new expiry meanwhile is
            // kept, where the key's presence in the chunk alone would delete it.
            let deleted = self
                .run(Use::Exclusive, |client, _, _| {
                    Box::pin(async move {
                        client
                            .execute(
                                "DELETE FROM django_session WHERE session_key IN \
                                 (SELECT session_key FROM django_session WHERE expire_date < $1 LIMIT $2) \
                                 AND expire_date < $1",
                                &[&now, &CLEAR_CHUNK],
                            )
                            .await
                    })
                })
                .await?;
            removed += deleted;
            if deleted < CLEAR_CHUNK as u64 {
                return Ok(removed);
            }
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.run(Use::Shared, |client, _, _| {
            Box::pin(client.batch_execute("SELECT 1"))
        })
        .await
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

    /// A connection of the tests' own to the schema, to look at what the store wrote.
    async fn look_into(schema: &FreshSchema) -> sqlx::PgPool {
        sqlx::PgPool::connect(&schema.url).await.unwrap()
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
        store_on(&schema).await;
        let sql = look_into(&schema).await;

        let columns: Vec<(String, String, String, Option<i32>)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text, is_nullable::text, \
                    character_maximum_length::int \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = 'django_session' \
             ORDER BY ordinal_position",
        )
        .fetch_all(&sql)
        .await
        .unwrap();
        let indexes: BTreeSet<String> = sqlx::query_scalar(
            "SELECT indexdef FROM pg_indexes \
             WHERE schemaname = current_schema() AND tablename = 'django_session'",
        )
        .fetch_all(&sql)
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
            .fetch_one(&look_into(&schema).await)
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

    /// A store of at most `max_connections` whose connections carry the schema's name as
    /// their `application_name`, so that `pg_stat_activity` tells them apart.
    async fn named_store(schema: &FreshSchema, max_connections: u32) -> PgStore {
        let url = format!("{}&application_name={}", schema.url, schema.name);
        PgStore::connect(&url, max_connections, codec())
            .await
            .unwrap()
    }

    /// A connection of the test's own to the admin database.
    async fn admin() -> sqlx::PgConnection {
        <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url())
            .await
            .unwrap()
    }

    /// How many connections a [`named_store`] on `schema` has open.
    async fn open_connections(schema: &FreshSchema) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1")
            .bind(&schema.name)
            .fetch_one(&mut admin().await)
            .await
            .unwrap()
    }

    /// A session saved under a new key with `n` in its data, live for an hour after `now`.
    async fn saved_session(store: &PgStore, n: i64, now: DateTime<Utc>) -> String {
        let key = new_session_key().unwrap();
        store
            .save(
                &record(&key, n, now + TimeDelta::hours(1)),
                SaveMode::Create,
            )
            .await
            .unwrap();
        key
    }

    #[actix_web::test]
    async fn connections_postgresql_closed_are_replaced_without_a_failed_request() {
        // Arrange: a session, and every connection of the store opened (writes hold theirs,
        // so three at once take three).
        let schema = FreshSchema::create().await;
        let store = named_store(&schema, 3).await;
        let now = suite_now();
        let key = saved_session(&store, 7, now).await;
        let rewrite = record(&key, 7, now + TimeDelta::hours(1));
        let rewritten =
            futures_util::future::join_all((0..3).map(|_| store.save(&rewrite, SaveMode::Update)))
                .await;
        assert!(rewritten.iter().all(Result::is_ok), "{rewritten:?}");
        assert_eq!(open_connections(&schema).await, 3);

        // Act: PostgreSQL ends every one of them, as a restart does.
        let ended: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
        )
        .bind(&schema.name)
        .fetch_all(&mut admin().await)
        .await
        .unwrap();
        let loaded = futures_util::future::join_all((0..3).map(|_| store.load(&key, now))).await;

        // Assert: every request found the session on a fresh connection.
        assert_eq!(ended, [true, true, true]);
        for result in loaded {
            assert_eq!(result.unwrap().unwrap().data["n"], json!(7));
        }
        assert!(store.ping().await.is_ok());
    }

    #[actix_web::test]
    async fn concurrent_reads_share_one_connection() {
        // Arrange: a store of three connections at most, one of them open, and a session.
        let schema = FreshSchema::create().await;
        let store = named_store(&schema, 3).await;
        let now = suite_now();
        let key = saved_session(&store, 5, now).await;

        // Act: sixteen loads at once.
        let loaded = futures_util::future::join_all((0..16).map(|_| store.load(&key, now))).await;

        // Assert: all answered, pipelined on the one connection the store had opened.
        for result in loaded {
            assert_eq!(result.unwrap().unwrap().data["n"], json!(5));
        }
        assert_eq!(open_connections(&schema).await, 1);
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
        let sql = look_into(&schema).await;
        let now = suite_now();
        let data = codec().encode(&crate::session::store::SessionData::default(), now);
        sqlx::query(
            "INSERT INTO django_session (session_key, session_data, expire_date) \
             SELECT 'expired' || i, $1, $2 - i * interval '1 second' \
             FROM generate_series(1, 20000) AS i",
        )
        .bind(&data)
        .bind(now)
        .execute(&sql)
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
            .fetch_one(&sql)
            .await
            .unwrap();
        assert_eq!(left, 3, "only the live sessions remain");
        for key in &live {
            assert!(store.load(key, now).await.unwrap().is_some());
        }
    }

    #[actix_web::test]
    async fn clear_expired_keeps_a_session_saved_with_a_new_expiry_while_it_runs() {
        let schema = FreshSchema::create().await;
        let store = store_on(&schema).await;
        let sql = look_into(&schema).await;
        let now = suite_now();
        let key = new_session_key().unwrap();
        store
            .save(
                &record(&key, 1, now - TimeDelta::seconds(10)),
                SaveMode::Create,
            )
            .await
            .unwrap();
        // A save that gives the expired session a new expiry, committed while the clear runs:
        // its row is locked until then.
        let mut save = sql.begin().await.unwrap();
        sqlx::query("UPDATE django_session SET expire_date = $2 WHERE session_key = $1")
            .bind(&key)
            .bind(now + TimeDelta::hours(1))
            .execute(&mut *save)
            .await
            .unwrap();
        let save_xid: String = sqlx::query_scalar("SELECT txid_current()::text")
            .fetch_one(&mut *save)
            .await
            .unwrap();

        let clear = actix_web::rt::spawn({
            let store = store.clone();
            async move { store.clear_expired(now).await }
        });
        let started = Instant::now();
        loop {
            let waiting: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM pg_locks \
                 WHERE locktype = 'transactionid' AND NOT granted AND transactionid::text = $1)",
            )
            .bind(&save_xid)
            .fetch_one(&sql)
            .await
            .unwrap();
            if waiting {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the clear never reached the row"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        save.commit().await.unwrap();
        let removed = clear.await.unwrap().unwrap();

        assert_eq!(removed, 0, "the session was no longer expired");
        let kept = store.load(&key, now).await.unwrap();
        assert_eq!(
            kept.map(|record| record.expire_date),
            Some(now + TimeDelta::hours(1)),
            "the session saved meanwhile is kept"
        );
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
    async fn a_database_that_refuses_what_is_configured_stops_start_up() {
        let mut missing = url::Url::parse(&admin_url()).unwrap();
        missing.set_path(&format!(
            "sessionlab_no_such_database_{}",
            new_session_key().unwrap()
        ));
        let tls = format!("{}?sslmode=require", admin_url());

        for url in [missing.to_string(), tls] {
            let connected = PgStore::connect(&url, 2, codec()).await;

            let Err(error) = connected else {
                panic!("{url}: waiting would not mend this, so start-up must stop");
            };
            let message = format!("{error:#}");
            assert!(
                message.starts_with("cannot connect to the PostgreSQL database")
                    && (message.contains("does not exist") || message.contains("TLS")),
                "{message}"
            );
        }
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
        // The store start-up got, as a request would meet it.
        let store = connected.expect("a database that does not answer is an outage, not a refusal");
        let started = Instant::now();
        let loaded = store.load(&new_session_key().unwrap(), Utc::now()).await;
        let pinged = store.ping().await;
        let requests_took = started.elapsed();

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
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_namespace WHERE nspname = $1")
            .bind(&name)
            .fetch_one(&mut admin().await)
            .await
            .unwrap();

        assert_eq!(left, 0);
    }
}
