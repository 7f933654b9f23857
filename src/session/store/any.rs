//! Run-time choice of engine: [`Store`] uses `async fn`, so it is not object-safe; this enum
//! forwards each call to the engine the configuration chose, and notes its outcome for the log
//! of store failures ([`super::outages`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::outages::{self, Access};
use super::{
    CachedDbStore, DbStore, FileStore, Loaded, MemoryStore, PgStore, RedisStore, SaveError,
    SaveMode, SessionRecord, Store, StoreError,
};
use crate::session::key::is_storable_session_key;

/// Any of sessionlab's stores.
#[derive(Clone)]
pub enum AnyStore {
    /// The `db` engine on SQLite.
    Db(DbStore),
    /// The `db` engine on PostgreSQL.
    Postgres(PgStore),
    /// The `file` engine.
    File(FileStore),
    /// The `cache` engine in this process.
    Memory(MemoryStore),
    /// The `cache` engine on Redis.
    Redis(RedisStore),
    /// The `cached_db` engine: a cache (memory or Redis) over a database.
    CachedDb(Arc<CachedDbStore<AnyStore, AnyStore>>),
}

/// A boxed store future. `CachedDb` holds `AnyStore`s, so its calls must be boxed to give the
/// recursive future a size; the others are boxed too, because an unboxed `match` over the
/// engines makes every `AnyStore` future as large as the largest engine's (about 7 KB with sqlx's
/// and the Redis client's), and the session middleware's futures that hold them were copied
/// whole on every request (see BENCHMARKS.md). One small allocation per store call instead.
type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Forwards `$call` to whichever store `$any` holds, as a [`Boxed`] future.
macro_rules! forward {
    ($any:expr, $s:ident => $call:expr) => {{
        let boxed: Boxed<'_, _> = match $any {
            AnyStore::Db($s) => Box::pin($call),
            AnyStore::Postgres($s) => Box::pin($call),
            AnyStore::File($s) => Box::pin($call),
            AnyStore::Memory($s) => Box::pin($call),
            AnyStore::Redis($s) => Box::pin($call),
            AnyStore::CachedDb($s) => Box::pin($call),
        };
        boxed.await
    }};
}

impl AnyStore {
    /// How many live sessions the store holds (the instructor's dashboard), a read noted for
    /// the log of store failures as the others are.
    pub async fn count_live(&self, now: DateTime<Utc>) -> Result<Option<i64>, StoreError> {
        let result = self.count_live_unnoted(now).await;
        outages::note(self.identity(), Access::Read, result.as_ref().err(), || {
            true
        });
        result
    }

    async fn count_live_unnoted(&self, now: DateTime<Utc>) -> Result<Option<i64>, StoreError> {
        let count = match self {
            AnyStore::Db(s) => s.count_live(now).await?,
            AnyStore::Postgres(s) => s.count_live(now).await?,
            AnyStore::File(s) => s.count_live(now).await?,
            AnyStore::Memory(s) => i64::try_from(s.count_live().await).unwrap_or(i64::MAX),
            AnyStore::Redis(s) => s.count_live().await?,
            AnyStore::CachedDb(s) => {
                let boxed: Boxed<'_, _> = Box::pin(s.db().count_live(now));
                return boxed.await;
            }
        };
        Ok(Some(count))
    }

    /// Notes the outcome of a call about the session `key` for the log of store failures
    /// ([`outages`]). A failure always counts; a success only when the key could name a stored
    /// session: a store answers a call about any other key (a cookie of eight characters or
    /// more that is no key of ours) at once, without asking its storage, and that answer
    /// ended a failure going on in the log, which told it again at the next request.
    fn note_about(&self, key: &str, access: Access, failure: Option<&StoreError>) {
        outages::note(self.identity(), access, failure, || {
            is_storable_session_key(key)
        });
    }

    /// [`Store::ping`] left out of the log of store failures: the check at start-up, which
    /// warns of a store that does not answer in words of its own. A `cached_db` store's cache
    /// is still noted, by the cache.
    pub async fn ping_at_start(&self) -> Result<(), StoreError> {
        forward!(self, s => s.ping())
    }

    /// Whether expired sessions vanish by themselves (caches), so `clearsessions` has nothing
    /// to do.
    pub fn expires_by_itself(&self) -> bool {
        matches!(self, AnyStore::Memory(_) | AnyStore::Redis(_))
    }
}

impl Store for AnyStore {
    fn describe(&self) -> &'static str {
        match self {
            AnyStore::Db(s) => s.describe(),
            AnyStore::Postgres(s) => s.describe(),
            AnyStore::File(s) => s.describe(),
            AnyStore::Memory(s) => s.describe(),
            AnyStore::Redis(s) => s.describe(),
            AnyStore::CachedDb(s) => s.describe(),
        }
    }

    fn identity(&self) -> &str {
        match self {
            AnyStore::Db(s) => s.identity(),
            AnyStore::Postgres(s) => s.identity(),
            AnyStore::File(s) => s.identity(),
            AnyStore::Memory(s) => s.identity(),
            AnyStore::Redis(s) => s.identity(),
            AnyStore::CachedDb(s) => s.identity(),
        }
    }

    async fn load(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let result = forward!(self, s => s.load(key, now));
        self.note_about(key, Access::Read, result.as_ref().err());
        result
    }

    async fn load_for_request(&self, key: &str, now: DateTime<Utc>) -> Result<Loaded, StoreError> {
        let result = forward!(self, s => s.load_for_request(key, now));
        self.note_about(key, Access::Read, result.as_ref().err());
        result
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        let result = forward!(self, s => s.exists(key));
        self.note_about(key, Access::Read, result.as_ref().err());
        result
    }

    async fn save(&self, record: &SessionRecord, mode: SaveMode) -> Result<(), SaveError> {
        let result = forward!(self, s => s.save(record, mode));
        let failure = match &result {
            Err(SaveError::Store(error)) => Some(error),
            _ => None,
        };
        self.note_about(&record.key, Access::Write, failure);
        result
    }

    async fn set_expire_date(
        &self,
        key: &str,
        expire_date: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = forward!(self, s => s.set_expire_date(key, expire_date, now));
        self.note_about(key, Access::Write, result.as_ref().err());
        result
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let result = forward!(self, s => s.delete(key));
        self.note_about(key, Access::Write, result.as_ref().err());
        result
    }

    async fn clear_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let result = forward!(self, s => s.clear_expired(now));
        // A cache has nothing to clear and answers without asking its storage (Redis drops
        // expired keys itself), so its answer tells nothing of a failure going on.
        outages::note(
            self.identity(),
            Access::Write,
            result.as_ref().err(),
            || !self.expires_by_itself(),
        );
        result
    }

    /// The health check (`/healthz`, and a `cached_db` store's check of its cache), noted
    /// for the log of store failures: a store that fails it is told once, not at each probe.
    async fn ping(&self) -> Result<(), StoreError> {
        let result = forward!(self, s => s.ping());
        outages::note(
            self.identity(),
            Access::Check,
            result.as_ref().err(),
            || true,
        );
        result
    }
}
