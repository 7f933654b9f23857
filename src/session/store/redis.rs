//! The `cache` engine on Redis (Django's `cache` sessions over `RedisCache`): sessions shared by
//! every process that uses the same Redis and key prefix, each key expiring by Redis's own TTL
//! at the session's `expire_date`. A Redis that is down makes requests fail fast with a 503; it
//! never stops the server from starting, and the pool reconnects by itself when Redis is back.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use deadpool::managed::{self, Metrics, Object, QueueMode, RecycleError, RecycleResult};
use deadpool_redis::{Manager, Runtime};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Cmd, FromRedisValue, IntoConnectionInfo, RedisError};
use serde::{Deserialize, Serialize};

use super::{SaveError, SaveMode, SessionData, SessionRecord, Store, StoreError, send_again};
use crate::session::key::is_storable_session_key;
use crate::signing::python_json_bytes;

const ENGINE: &str = "cache (Redis)";

/// Django's `django.contrib.sessions.backends.cache.KEY_PREFIX`.
pub const DEFAULT_KEY_PREFIX: &str = "django.contrib.sessions.cache";

/// The longest TTL given to Redis: a century (Redis refuses expiry times that overflow).
const MAX_TTL_SECS: i64 = 100 * 366 * 24 * 3600;

/// Keys asked for per `SCAN` step.
const SCAN_COUNT: usize = 1000;

/// Where and how to reach Redis.
#[derive(Clone)]
pub struct RedisSettings {
    /// `redis://[user][:password@]host[:port][/db]` (no TLS in this build).
    pub url: String,
    /// The Redis key of a session is this followed by the session key. [`RedisSettings::new`]
    /// sets `django.contrib.sessions.cache`, the prefix Django's cache engine gives session
    /// keys; to keep several applications apart on one Redis, put a prefix of their own before
    /// it (`myapp:django.contrib.sessions.cache`), as sessionlab does with a cache's
    /// `key_prefix`.
    pub key_prefix: String,
    /// Most connections open at once (the commands of concurrent requests share them).
    pub pool_size: usize,
    /// Longest wait for a new connection to be established.
    pub connect_timeout: Duration,
    /// Longest wait for a free connection when all are busy.
    pub wait_timeout: Duration,
    /// Longest wait for Redis to answer a command.
    pub response_timeout: Duration,
}

impl RedisSettings {
    /// Settings for `url` with Django's key prefix, 16 connections and 2-second timeouts.
    pub fn new(url: impl Into<String>) -> Self {
        RedisSettings {
            url: url.into(),
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            pool_size: 16,
            connect_timeout: Duration::from_secs(2),
            wait_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(2),
        }
    }
}

/// Shows the URL without its password.
impl fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &redacted(&self.url))
            .field("key_prefix", &self.key_prefix)
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("wait_timeout", &self.wait_timeout)
            .field("response_timeout", &self.response_timeout)
            .finish()
    }
}

fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Setting a password fails only for URLs that cannot have one.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "<malformed URL>".to_owned(),
    }
}

/// What is stored under a session's key: `{"e": expire_date, "d": data}` as Python-style JSON,
/// `e` first (a reader with `redis-cli GET` sees the expiry at once).
#[derive(Serialize)]
struct StoredRef<'a> {
    e: String,
    d: &'a SessionData,
}

/// `Store::set_expire_date` in one step on the Redis server: the stored value with its `e`
/// replaced and the data as it was, under the new TTL, if the value is ours and its `e` is
/// after `now`. The texts compare as times: [`expiry_text`] writes them all in one width.
/// KEYS[1]: the session's key; ARGV: `now` and the new expiry as stored, the new TTL.
const SET_EXPIRE_DATE_SCRIPT: &str = r#"
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
local head = '{"e":"'
if string.sub(value, 1, #head) ~= head then return 0 end
local close = string.find(value, '"', #head + 1, true)
if not close or string.sub(value, #head + 1, close - 1) <= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], head .. ARGV[2] .. string.sub(value, close), 'EX', ARGV[3])
return 1
"#;

#[derive(Deserialize)]
struct Stored {
    e: String,
    d: SessionData,
}

/// deadpool-redis's connections, handed out without its check on every checkout: its
/// `recycle` sends `UNWATCH` + `PING` and waits for the answer each time a connection leaves
/// the pool, which doubled the round trips of every session load and save. Here a connection
/// that a command failed on is marked [`Shared::broken`] and dropped at its next checkout
/// instead, and a command that finds a reused connection dropped (Redis restarted) is sent
/// again on another one ([`RedisStore::query`]).
struct Connections(Manager);

/// A pooled connection. Commands do not hold it: each takes a handle (a multiplexed
/// connection is a handle onto one socket and its driver task) and puts the connection back
/// before sending, so concurrent requests pipeline their commands over the same socket, as
/// actix-session's Redis store does over its one connection.
struct Shared {
    conn: MultiplexedConnection,
    /// Set by any command that failed on this connection.
    broken: Arc<AtomicBool>,
}

impl managed::Manager for Connections {
    type Type = Shared;
    type Error = RedisError;

    async fn create(&self) -> Result<Shared, RedisError> {
        Ok(Shared {
            conn: self.0.create().await?,
            broken: Arc::default(),
        })
    }

    async fn recycle(&self, shared: &mut Shared, _: &Metrics) -> RecycleResult<RedisError> {
        if shared.broken.load(Ordering::Relaxed) {
            return Err(RecycleError::message("a command failed on this connection"));
        }
        Ok(())
    }
}

type Pool = managed::Pool<Connections>;

/// Sessions in Redis under `key_prefix + session_key`, one string value each, with a TTL.
#[derive(Clone)]
pub struct RedisStore {
    pool: Pool,
    key_prefix: Arc<str>,
    /// [`Store::identity`]: the URL without its password, and the key prefix.
    identity: Arc<str>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("key_prefix", &self.key_prefix)
            .field("pool", &self.pool.status())
            .finish()
    }
}

impl RedisStore {
    /// Builds the connection pool. No connection is opened yet, so a Redis that is down does
    /// not stop start-up (its requests answer 503 until it is back); a malformed URL, a TLS URL
    /// or a pool size of 0 is an error.
    pub fn connect(settings: &RedisSettings) -> anyhow::Result<Self> {
        anyhow::ensure!(
            settings.pool_size > 0,
            "the Redis pool size must be at least 1"
        );
        let info = settings
            .url
            .as_str()
            .into_connection_info()
            .with_context(|| format!("the Redis URL {} is malformed", redacted(&settings.url)))?;
        let connection = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(settings.connect_timeout))
            .set_response_timeout(Some(settings.response_timeout));
        let manager = Manager::new_with_config(info, connection)
            .context("cannot use the Redis connection settings")?;
        let pool = Pool::builder(Connections(manager))
            .max_size(settings.pool_size)
            .wait_timeout(Some(settings.wait_timeout))
            .create_timeout(Some(settings.connect_timeout))
            .recycle_timeout(Some(settings.response_timeout))
            // The connection put back last is handed out first, so the commands of concurrent
            // requests gather on one connection and go out (and their answers come back) in
            // batches; first-in-first-out spread them over every connection the pool had
            // opened, with about half as many commands per read on Redis's side
            // (BENCHMARKS.md, change 27). The others stay open for a burst.
            .queue_mode(QueueMode::Lifo)
            .runtime(Runtime::Tokio1)
            .build()
            .context("cannot build the Redis connection pool")?;
        Ok(RedisStore {
            pool,
            key_prefix: settings.key_prefix.as_str().into(),
            identity: format!(
                "{ENGINE} at {} under {}",
                redacted(&settings.url),
                settings.key_prefix
            )
            .into(),
        })
    }

    /// Runs `cmd` on a pooled connection, shared with the commands of other requests (see
    /// [`Shared`]). A connection a command fails on is replaced at its next checkout; a reused
    /// connection found dropped (Redis restarted while it sat idle) is replaced and the command
    /// sent again, as the checkout check of deadpool-redis would have done before sending it.
    async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        let mut retries = 0;
        loop {
            let (mut conn, broken, reused) = {
                let shared = self.pool.get().await.map_err(unavailable)?;
                let reused = Object::metrics(&shared).recycled.is_some();
                (shared.conn.clone(), Arc::clone(&shared.broken), reused)
            };
            match cmd.query_async(&mut conn).await {
                Ok(value) => return Ok(value),
                Err(error) => {
                    broken.store(true, Ordering::Relaxed);
                    let dropped = error.is_connection_dropped();
                    if !send_again(&self.pool, reused, dropped, retries) {
                        return Err(unavailable(error));
                    }
                    retries += 1;
                }
            }
        }
    }

    /// How many keys under the prefix Redis holds (live sessions: Redis drops expired keys
    /// itself). `SCAN` may report a key twice while Redis resizes its table, so this is exact
    /// only on a quiet keyspace.
    pub async fn count_live(&self) -> Result<i64, StoreError> {
        let mut count: i64 = 0;
        let mut cursor = 0;
        loop {
            let (next, keys) = self.scan_step(cursor).await?;
            count = count.saturating_add(i64::try_from(keys.len()).unwrap_or(i64::MAX));
            match next {
                0 => return Ok(count),
                next => cursor = next,
            }
        }
    }

    /// One `SCAN` step over the keys under the prefix: the next cursor (0 at the end) and a
    /// batch of keys.
    async fn scan_step(&self, cursor: u64) -> Result<(u64, Vec<Vec<u8>>), StoreError> {
        self.query(
            redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{}*", escape_glob(&self.key_prefix)))
                .arg("COUNT")
                .arg(SCAN_COUNT),
        )
        .await
    }

    fn cache_key(&self, session_key: &str) -> String {
        let mut key = String::with_capacity(self.key_prefix.len() + session_key.len());
        key.push_str(&self.key_prefix);
        key.push_str(session_key);
        key
    }

    async fn set(
        &self,
        record: &SessionRecord,
        condition: &str,
    ) -> Result<Option<String>, StoreError> {
        let value = python_json_bytes(&StoredRef {
            e: expiry_text(record.expire_date),
            d: &record.data,
        });
        self.query(
            redis::cmd("SET")
                .arg(self.cache_key(&record.key))
                .arg(value)
                .arg(condition)
                .arg("EX")
                .arg(ttl_seconds(record.expire_date, Utc::now())),
        )
        .await
    }
}

fn unavailable(error: impl Into<anyhow::Error>) -> StoreError {
    StoreError::new(ENGINE, error)
}

/// `prefix` as a `SCAN MATCH` pattern that matches it literally.
fn escape_glob(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 4);
    for ch in prefix.chars() {
        if matches!(ch, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// The stored form of an expiry: RFC 3339 in UTC with nanoseconds, so it reads back exactly.
/// Years stay within 1970..=9999: RFC 3339 has four-digit years, and an expiry before 1970 is
/// as past as any other.
fn expiry_text(at: DateTime<Utc>) -> String {
    let earliest = DateTime::<Utc>::UNIX_EPOCH;
    let latest = Utc
        .with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    crate::session::datetime_text::rfc3339_nanos(at.clamp(earliest, latest))
}

/// Redis's TTL for a session expiring at `expire_date`, seen at `now`: whole seconds, rounded
/// up, at least 1 (Redis refuses 0) and at most [`MAX_TTL_SECS`].
fn ttl_seconds(expire_date: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    let left = expire_date - now;
    let whole = left.num_seconds() + i64::from(left.subsec_nanos() > 0);
    whole.clamp(1, MAX_TTL_SECS)
}

impl Store for RedisStore {
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
        let cache_key = self.cache_key(key);
        let value: Option<Vec<u8>> = self.query(redis::cmd("GET").arg(&cache_key)).await?;
        let Some(value) = value else {
            return Ok(None);
        };
        let (expire_date, data) = match decode(&value) {
            Ok(decoded) => decoded,
            Err(error) => {
                // Someone else wrote under our prefix: an empty session, never an error page,
                // living as long as Redis keeps the key.
                tracing::warn!(
                    target: "sessionlab::security",
                    error = format!("{error:#}"),
                    "Session data corrupted; reading it as an empty session"
                );
                let millis: i64 = self.query(redis::cmd("PTTL").arg(&cache_key)).await?;
                // -2: gone meanwhile; -1: no TTL (not ours), kept for the default minimum.
                let left = match millis {
                    -2 => return Ok(None),
                    -1 => TimeDelta::seconds(1),
                    millis => TimeDelta::milliseconds(millis),
                };
                (Utc::now() + left, SessionData::default())
            }
        };
        if expire_date <= now {
            return Ok(None);
        }
        Ok(Some(SessionRecord {
            key: key.to_owned(),
            data,
            expire_date,
        }))
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        if !is_storable_session_key(key) {
            return Ok(false);
        }
        let found: i64 = self
            .query(redis::cmd("EXISTS").arg(self.cache_key(key)))
            .await?;
        Ok(found > 0)
    }

    async fn save(&self, record: &SessionRecord, mode: SaveMode) -> Result<(), SaveError> {
        if !is_storable_session_key(&record.key) {
            return Err(StoreError::new(
                ENGINE,
                anyhow::anyhow!("refusing to store a session under a malformed key"),
            )
            .into());
        }
        // `SET … NX` is Django's `cache.add`; `SET … XX` is its `get`-then-`set`, in one step.
        // Redis answers nil when the condition does not hold.
        match (mode, self.set(record, condition(mode)).await?) {
            (_, Some(_)) => Ok(()),
            (SaveMode::Create, None) => Err(SaveError::KeyExists),
            (SaveMode::Update, None) => Err(SaveError::Missing),
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
        let changed: i64 = self
            .query(
                redis::cmd("EVAL")
                    .arg(SET_EXPIRE_DATE_SCRIPT)
                    .arg(1)
                    .arg(self.cache_key(key))
                    .arg(expiry_text(now))
                    .arg(expiry_text(expire_date))
                    .arg(ttl_seconds(expire_date, Utc::now())),
            )
            .await?;
        Ok(changed == 1)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        if !is_storable_session_key(key) {
            return Ok(());
        }
        let _removed: i64 = self
            .query(redis::cmd("DEL").arg(self.cache_key(key)))
            .await?;
        Ok(())
    }

    /// Django's cache engine does nothing here: Redis drops each key at its TTL (and `load`
    /// never returns a session past `now` meanwhile).
    async fn clear_expired(&self, _now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(0)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let _pong: String = self.query(&redis::cmd("PING")).await?;
        Ok(())
    }
}

/// Reads a stored value back: its expiry and its data. Public (through
/// [`super::decoders`]) only so that the fuzz targets can reach it.
pub fn decode(value: &[u8]) -> anyhow::Result<(DateTime<Utc>, SessionData)> {
    let stored: Stored = serde_json::from_slice(value).context("not a stored session")?;
    let expire_date = match crate::session::datetime_text::parse_rfc3339_nanos(&stored.e) {
        Some(at) => at,
        None => DateTime::parse_from_rfc3339(&stored.e)
            .context("the stored expiry is not RFC 3339")?
            .with_timezone(&Utc),
    };
    Ok((expire_date, stored.d))
}

fn condition(mode: SaveMode) -> &'static str {
    match mode {
        SaveMode::Create => "NX",
        SaveMode::Update => "XX",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::key::new_session_key;
    use crate::session::store::acceptance::{acceptance_suite, suite_now};
    use serde_json::json;
    use std::net::TcpListener;
    use std::process::{Child, Command, Stdio};
    use std::time::Instant;

    /// The shared Redis the tests use (`SESSIONLAB_TEST_REDIS_URL` overrides it): database 9,
    /// as the integration tests, away from whatever else the machine keeps in database 0.
    fn redis_url() -> String {
        std::env::var("SESSIONLAB_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379/9".to_owned())
    }

    /// Settings with a prefix no other test (or run) uses.
    fn unique_settings(url: &str) -> RedisSettings {
        RedisSettings {
            key_prefix: format!("sessionlab-test-{}:", new_session_key().unwrap()),
            ..RedisSettings::new(url)
        }
    }

    /// Deletes every key under the store's prefix, so a test leaves nothing behind.
    async fn purge(store: &RedisStore) {
        let mut cursor = 0;
        loop {
            let (next, keys) = store.scan_step(cursor).await.unwrap();
            if !keys.is_empty() {
                let mut conn = store.pool.get().await.unwrap();
                let _: i64 = redis::cmd("DEL")
                    .arg(keys)
                    .query_async(&mut conn.conn)
                    .await
                    .unwrap();
            }
            match next {
                0 => break,
                next => cursor = next,
            }
        }
        assert_eq!(store.count_live().await.unwrap(), 0);
    }

    fn record(pairs: &[(&str, serde_json::Value)], expire_date: DateTime<Utc>) -> SessionRecord {
        SessionRecord {
            key: new_session_key().unwrap(),
            data: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            expire_date,
        }
    }

    #[actix_web::test]
    async fn redis_store_passes_the_acceptance_suite() {
        let store = RedisStore::connect(&unique_settings(&redis_url())).unwrap();
        acceptance_suite(&store).await;
        purge(&store).await;
    }

    #[actix_web::test]
    async fn the_connection_put_back_last_carries_the_next_commands() {
        // Arrange: two connections open at once, put back in turn.
        let store = RedisStore::connect(&unique_settings(&redis_url())).unwrap();
        let first = store.pool.get().await.unwrap();
        let second = store.pool.get().await.unwrap();
        drop(first);
        drop(second);

        // Act: commands one after another.
        let mut ids = Vec::new();
        for _ in 0..4 {
            let id: i64 = store.query(redis::cmd("CLIENT").arg("ID")).await.unwrap();
            ids.push(id);
        }

        // Assert: all on the connection put back last (first-in-first-out would alternate),
        // the other one still open for a burst.
        assert!(ids.windows(2).all(|pair| pair[0] == pair[1]), "{ids:?}");
        assert_eq!(store.pool.status().size, 2);
    }

    #[actix_web::test]
    async fn redis_ttl_follows_the_expiry() {
        // Arrange
        let store = RedisStore::connect(&unique_settings(&redis_url())).unwrap();
        let rec = record(&[("n", json!(1))], Utc::now() + TimeDelta::seconds(600));

        // Act
        store.save(&rec, SaveMode::Create).await.unwrap();
        let mut conn = store.pool.get().await.unwrap();
        let ttl: i64 = redis::cmd("TTL")
            .arg(store.cache_key(&rec.key))
            .query_async(&mut conn.conn)
            .await
            .unwrap();
        drop(conn);

        // Assert: `set_expiry(600)` gives Redis a TTL of about 600 s, like Django's timeout.
        assert!((595..=600).contains(&ttl), "TTL {ttl}");
        assert_eq!(store.count_live().await.unwrap(), 1);
        purge(&store).await;
    }

    #[actix_web::test]
    async fn the_stored_value_is_the_expiry_then_the_data_in_order() {
        let store = RedisStore::connect(&unique_settings(&redis_url())).unwrap();
        let expire_date = Utc.with_ymd_and_hms(2999, 1, 2, 3, 4, 5).unwrap();
        let rec = record(&[("z", json!("café")), ("a", json!(1))], expire_date);
        store.save(&rec, SaveMode::Create).await.unwrap();
        let mut conn = store.pool.get().await.unwrap();
        let raw: String = redis::cmd("GET")
            .arg(store.cache_key(&rec.key))
            .query_async(&mut conn.conn)
            .await
            .unwrap();
        drop(conn);
        assert_eq!(
            raw,
            r#"{"e":"2999-01-02T03:04:05.000000000Z","d":{"z":"caf\u00e9","a":1}}"#
        );
        purge(&store).await;
    }

    #[actix_web::test]
    async fn a_foreign_value_under_the_prefix_reads_as_an_empty_session() {
        // Arrange: something that is not ours, under a session key, for 100 s.
        let store = RedisStore::connect(&unique_settings(&redis_url())).unwrap();
        let key = new_session_key().unwrap();
        let mut conn = store.pool.get().await.unwrap();
        let _: () = redis::cmd("SET")
            .arg(store.cache_key(&key))
            .arg(b"\x80\x04pickled by Django".as_slice())
            .arg("EX")
            .arg(100)
            .query_async(&mut conn.conn)
            .await
            .unwrap();
        drop(conn);

        // Act
        let now = Utc::now();
        let loaded = store
            .load(&key, now)
            .await
            .unwrap()
            .expect("the key is kept");

        // Assert: empty data, living as long as Redis keeps it.
        assert_eq!(loaded.data, SessionData::default());
        let left = loaded.expire_date - now;
        assert!(
            left > TimeDelta::seconds(98) && left <= TimeDelta::seconds(101),
            "{left}"
        );
        purge(&store).await;
    }

    #[actix_web::test]
    async fn two_stores_on_one_prefix_share_sessions() {
        // Arrange: two stores, as two processes would have, on the same Redis and prefix.
        let settings = unique_settings(&redis_url());
        let writer = RedisStore::connect(&settings).unwrap();
        let reader = RedisStore::connect(&settings).unwrap();
        let now = suite_now();
        let rec = record(&[("name", json!("Sonam"))], now + TimeDelta::hours(1));

        // Act
        writer.save(&rec, SaveMode::Create).await.unwrap();

        // Assert: the other one reads it, refuses to create it again, and sees its deletion.
        let loaded = reader.load(&rec.key, now).await.unwrap().unwrap();
        assert_eq!(loaded.data["name"], json!("Sonam"));
        assert!(matches!(
            reader.save(&rec, SaveMode::Create).await,
            Err(SaveError::KeyExists)
        ));
        writer.delete(&rec.key).await.unwrap();
        assert!(!reader.exists(&rec.key).await.unwrap());
        purge(&writer).await;
    }

    #[actix_web::test]
    async fn prefixes_with_glob_characters_are_matched_literally() {
        // Arrange: a prefix full of glob syntax, and a sibling it would match as a pattern.
        let base = unique_settings(&redis_url()).key_prefix;
        let globby = RedisSettings {
            key_prefix: format!("{base}[a-z]*?\\^-:"),
            ..RedisSettings::new(redis_url())
        };
        let sibling = RedisSettings {
            key_prefix: format!("{base}b*?\\^-:"),
            ..RedisSettings::new(redis_url())
        };
        let (globby, sibling) = (
            RedisStore::connect(&globby).unwrap(),
            RedisStore::connect(&sibling).unwrap(),
        );
        let expire_date = suite_now() + TimeDelta::hours(1);

        // Act
        globby
            .save(&record(&[], expire_date), SaveMode::Create)
            .await
            .unwrap();
        sibling
            .save(&record(&[], expire_date), SaveMode::Create)
            .await
            .unwrap();

        // Assert: each counts only its own.
        assert_eq!(globby.count_live().await.unwrap(), 1);
        assert_eq!(sibling.count_live().await.unwrap(), 1);
        purge(&globby).await;
        purge(&sibling).await;
    }

    #[test]
    fn ttls_round_up_to_whole_seconds_within_redis_limits() {
        let now = suite_now();
        assert_eq!(ttl_seconds(now + TimeDelta::seconds(600), now), 600);
        assert_eq!(
            ttl_seconds(now + TimeDelta::milliseconds(599_001), now),
            600
        );
        assert_eq!(ttl_seconds(now, now), 1);
        assert_eq!(ttl_seconds(now - TimeDelta::days(3), now), 1);
        assert_eq!(ttl_seconds(DateTime::<Utc>::MAX_UTC, now), MAX_TTL_SECS);
    }

    #[test]
    fn expiry_text_reads_back_exactly_within_rfc_3339_years() {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap() + TimeDelta::nanoseconds(7);
        assert_eq!(expiry_text(at), "2026-01-02T03:04:05.000000007Z");
        let value = python_json_bytes(&StoredRef {
            e: expiry_text(at),
            d: &SessionData::default(),
        });
        assert_eq!(decode(&value).unwrap(), (at, SessionData::default()));
        assert_eq!(
            expiry_text(DateTime::<Utc>::MIN_UTC),
            "1970-01-01T00:00:00.000000000Z"
        );
        assert_eq!(
            expiry_text(DateTime::<Utc>::MAX_UTC),
            "9999-12-31T23:59:59.000000000Z"
        );
    }

    #[test]
    fn glob_escaping_and_password_redaction() {
        assert_eq!(escape_glob("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
        let shown = format!("{:?}", RedisSettings::new("redis://u:secret@host:6379/1"));
        assert!(shown.contains("redis://u:***@host:6379/1"), "{shown}");
        assert!(!format!("{:?}", RedisSettings::new("redis://:pw@h")).contains("pw"));
    }

    #[actix_web::test]
    async fn connecting_is_lazy_but_a_malformed_url_is_refused() {
        // A malformed URL or a TLS URL (not built in) is a configuration error.
        assert!(RedisStore::connect(&RedisSettings::new("not a url")).is_err());
        assert!(RedisStore::connect(&RedisSettings::new("http://127.0.0.1:6379")).is_err());
        assert!(RedisStore::connect(&RedisSettings::new("rediss://127.0.0.1:6379")).is_err());
        let empty_pool = RedisSettings {
            pool_size: 0,
            ..RedisSettings::new(redis_url())
        };
        assert!(RedisStore::connect(&empty_pool).is_err());

        // Nothing listens on a just-freed port: start-up works, requests fail fast.
        let port = free_port();
        let store = RedisStore::connect(&RedisSettings::new(format!("redis://127.0.0.1:{port}")))
            .expect("a down Redis does not stop start-up");
        let started = Instant::now();
        let error = store.ping().await.expect_err("nobody answers");
        assert_eq!(error.engine, "cache (Redis)");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[actix_web::test]
    async fn a_refused_connection_is_told_once_on_the_page_and_in_the_log() {
        let port = free_port();
        let store =
            RedisStore::connect(&RedisSettings::new(format!("redis://127.0.0.1:{port}"))).unwrap();

        let error = store.ping().await.expect_err("nobody answers");

        // What /healthz shows, then the 503's log line (the page itself says neither).
        let shown = error.to_string();
        assert_eq!(shown.matches("Connection refused").count(), 1, "{shown}");
        let logged = crate::error::AppError::SessionStore(error).cause_chain();
        assert_eq!(logged.matches("Connection refused").count(), 1, "{logged}");
    }

    fn free_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    /// A private `redis-server` on `port`, killed when dropped (even when a test panics).
    struct PrivateRedis {
        child: Child,
        _dir: tempfile::TempDir,
    }

    impl PrivateRedis {
        fn start(port: u16) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .arg("--dir")
                .arg(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server is installed");
            PrivateRedis { child, _dir: dir }
        }

        /// Sends `SIGSTOP`/`SIGCONT`/… to the server.
        fn signal(&self, name: &str) {
            let status = Command::new("kill")
                .arg(format!("-{name}"))
                .arg(self.child.id().to_string())
                .status()
                .unwrap();
            assert!(status.success(), "kill -{name} failed");
        }

        fn kill(mut self) {
            self.child.kill().unwrap();
            self.child.wait().unwrap();
        }
    }

    impl Drop for PrivateRedis {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// Pings until Redis answers, for at most 10 s; returns how long it took.
    async fn wait_until_up(store: &RedisStore) -> Duration {
        let started = Instant::now();
        loop {
            match store.ping().await {
                Ok(()) => return started.elapsed(),
                Err(error) if started.elapsed() > Duration::from_secs(10) => {
                    panic!("redis-server did not come up: {error}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// `fut` must finish (with an error) within 5 s: a Redis outage never hangs a request.
    async fn fails_fast<T: fmt::Debug, E: fmt::Display>(
        what: &str,
        fut: impl Future<Output = Result<T, E>>,
    ) -> E {
        let started = Instant::now();
        let outcome = tokio::time::timeout(Duration::from_secs(5), fut)
            .await
            .unwrap_or_else(|_| panic!("{what} hung for 5 s while Redis was down"));
        let error = outcome.expect_err(what);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{what}: {:?}",
            started.elapsed()
        );
        error
    }

    #[actix_web::test]
    async fn an_outage_fails_fast_and_the_same_store_recovers() {
        // Arrange: a private Redis, and a store that has used a connection from its pool.
        let port = free_port();
        let redis = PrivateRedis::start(port);
        let store =
            RedisStore::connect(&unique_settings(&format!("redis://127.0.0.1:{port}"))).unwrap();
        wait_until_up(&store).await;
        let now = suite_now();
        let before = record(&[("n", json!(1))], now + TimeDelta::hours(1));
        store.save(&before, SaveMode::Create).await.unwrap();
        assert!(store.load(&before.key, now).await.unwrap().is_some());

        // Act 1: Redis dies.
        redis.kill();

        // Assert 1: every operation reports the store as unavailable, promptly.
        let error = fails_fast("load", store.load(&before.key, now)).await;
        assert_eq!(error.engine, "cache (Redis)");
        let error = fails_fast("update", store.save(&before, SaveMode::Update)).await;
        assert!(matches!(error, SaveError::Store(_)), "{error:?}");
        let fresh = record(&[("n", json!(2))], now + TimeDelta::hours(1));
        let error = fails_fast("create", store.save(&fresh, SaveMode::Create)).await;
        assert!(matches!(error, SaveError::Store(_)), "{error:?}");
        fails_fast("exists", store.exists(&before.key)).await;
        fails_fast("delete", store.delete(&before.key)).await;
        fails_fast("ping", store.ping()).await;
        fails_fast("count_live", store.count_live()).await;

        // Act 2: Redis comes back on the same port.
        let redis = PrivateRedis::start(port);
        let took = wait_until_up(&store).await;

        // Assert 2: the very same store works again without being rebuilt (the pool threw the
        // broken connections away and opened new ones). The session saved before the outage is
        // gone: this Redis keeps nothing on disk (`--save "" --appendonly no`), so a restart
        // empties it and its visitors start new sessions.
        assert!(took < Duration::from_secs(10));
        assert!(
            store.load(&before.key, now).await.unwrap().is_none(),
            "lost in the restart"
        );
        assert!(matches!(
            store.save(&before, SaveMode::Update).await,
            Err(SaveError::Missing)
        ));
        store.save(&fresh, SaveMode::Create).await.unwrap();
        let loaded = store.load(&fresh.key, now).await.unwrap().unwrap();
        assert_eq!(loaded.data["n"], json!(2));
        assert_eq!(store.count_live().await.unwrap(), 1);
        purge(&store).await;
        redis.kill();
    }

    #[actix_web::test]
    async fn a_redis_that_stops_answering_times_out_instead_of_hanging() {
        // Arrange: a private Redis, frozen (SIGSTOP) after the pool has a connection to it: the
        // kernel still accepts connections, but nothing ever answers.
        let port = free_port();
        let redis = PrivateRedis::start(port);
        let settings = RedisSettings {
            connect_timeout: Duration::from_millis(500),
            wait_timeout: Duration::from_millis(500),
            response_timeout: Duration::from_millis(500),
            ..unique_settings(&format!("redis://127.0.0.1:{port}"))
        };
        let store = RedisStore::connect(&settings).unwrap();
        wait_until_up(&store).await;
        let now = suite_now();
        let rec = record(&[("n", json!(1))], now + TimeDelta::hours(1));
        store.save(&rec, SaveMode::Create).await.unwrap();
        redis.signal("STOP");

        // Act / Assert: each call gives up after the configured timeouts.
        for _ in 0..3 {
            let started = Instant::now();
            let error = fails_fast("load", store.load(&rec.key, now)).await;
            assert_eq!(error.engine, "cache (Redis)");
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "{:?}",
                started.elapsed()
            );
        }
        fails_fast("update", store.save(&rec, SaveMode::Update)).await;

        // Act 2: Redis thaws; the same store answers again, with the session intact.
        redis.signal("CONT");
        wait_until_up(&store).await;
        assert!(store.load(&rec.key, now).await.unwrap().is_some());
        purge(&store).await;
        redis.kill();
    }
}
