//! The `cached_db` engine: Django's write-through cache over the database. Reads try the cache
//! first and fall back to the database (refilling the cache); writes go to the database, then
//! the cache, except a new session's, which goes to both at once. The database is the truth: a
//! failing cache is logged, never fatal.
//!
//! Where Django fails its users: when the cache cannot be written (or a key cannot be deleted
//! from it) after the database changed, Django's cache keeps the old session and serves it once
//! the cache answers again: an update lost, a flushed session back. Here such a key is
//! remembered ([`Suspects`]), its reads go to the database, and the first read after the cache
//! is back puts the database's answer in the cache and forgets the key.
//!
//! Django also lets a read put an old session back in the cache: a read that misses the cache
//! reads the database, and if another request updates or deletes the session (a logout) before
//! the read puts what it found in the cache, the cache keeps that old copy and serves it, the
//! logout undone. Likewise an update whose database write comes just before another request's
//! delete, and its cache write just after that request's cache delete, puts the deleted
//! session back in the cache. Here the database writes to each key are counted ([`Changes`]),
//! and a read or an update that finds another write came after its own database read or write
//! takes what it put in the cache out again.

use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::{SaveError, SaveMode, SessionRecord, Store, StoreError};

/// How many keys [`Suspects`] remembers one by one; past that, every read goes to the database.
const MAX_SUSPECTS: usize = 100_000;

/// How many counters [`Changes`] shares out between keys.
const CHANGE_STRIPES: usize = 1024;

/// A cache in front of a database store.
#[derive(Clone)]
pub struct CachedDbStore<Db, Cache> {
    db: Db,
    cache: Cache,
    /// [`Store::identity`]: its cache's and its database's.
    identity: Arc<str>,
    suspects: Arc<Suspects>,
    changes: Arc<Changes>,
}

/// How many times each session was changed in the database by this process, counted per
/// stripe of keys (a key shares its counter with about one in [`CHANGE_STRIPES`] others, which
/// costs at most a needless cache miss). A write counts after its database write and before
/// its cache write. A read that fills the cache notes its key's count before it reads the
/// database: if the count is unchanged after its fill, the fill reached the cache before any
/// later writer's cache write, which then replaces or deletes it; if it changed, the read
/// takes its fill out again. An update notes the count before its database write in the same
/// way, and takes its cache write out again if anyone but itself counted since (a delete whose
/// database write came after the update's, but whose cache delete came before its cache
/// write).
struct Changes {
    stripes: Box<[AtomicU64]>,
    hasher: foldhash::fast::RandomState,
}

impl Changes {
    fn new() -> Self {
        Changes {
            stripes: (0..CHANGE_STRIPES).map(|_| AtomicU64::new(0)).collect(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    fn stripe(&self, key: &str) -> &AtomicU64 {
        let slot = self.hasher.hash_one(key) as usize % self.stripes.len();
        &self.stripes[slot]
    }

    /// The count to compare with later ([`Changes::since`]).
    fn seen(&self, key: &str) -> u64 {
        self.stripe(key).load(Ordering::SeqCst)
    }

    /// `key` was just changed in the database.
    fn note(&self, key: &str) {
        self.stripe(key).fetch_add(1, Ordering::SeqCst);
    }

    /// Whether `key` may have changed since its count was `seen`.
    fn since(&self, key: &str, seen: u64) -> bool {
        self.seen(key) != seen
    }

    /// Whether `key` may have changed since its count was `before`, besides the one change
    /// of the caller's own write, which it noted since.
    fn since_own(&self, key: &str, before: u64) -> bool {
        self.since(key, before.wrapping_add(1))
    }
}

/// The keys whose cache entry may be out of date, because a cache write or delete failed after
/// the database changed. Checking costs one atomic load while there are none.
struct Suspects {
    /// Whether any key is suspect (or all are): reads skip the lock when not.
    any: AtomicBool,
    /// Set once more keys failed than `limit`: the cache is not trusted for any key again in
    /// this process (its entries expire with their sessions).
    all: AtomicBool,
    keys: Mutex<HashSet<String>>,
    limit: usize,
}

impl Suspects {
    fn new(limit: usize) -> Self {
        Suspects {
            any: AtomicBool::new(false),
            all: AtomicBool::new(false),
            keys: Mutex::new(HashSet::new()),
            limit,
        }
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The cache may hold an old entry for `key`.
    fn add(&self, key: &str) {
        let mut keys = self.keys();
        if keys.len() >= self.limit && !keys.contains(key) {
            if !self.all.swap(true, Ordering::Relaxed) {
                tracing::error!(
                    limit = self.limit,
                    "the cache missed more writes than sessionlab remembers one by one; every read now goes to the database"
                );
            }
            keys.clear();
        } else {
            keys.insert(key.to_owned());
        }
        self.any.store(true, Ordering::Release);
    }

    /// Whether the cache's entry for `key` cannot be trusted.
    fn contains(&self, key: &str) -> bool {
        if !self.any.load(Ordering::Acquire) {
            return false;
        }
        self.all.load(Ordering::Relaxed) || self.keys().contains(key)
    }

    /// The cache holds the database's answer for `key` again.
    fn remove(&self, key: &str) {
        let mut keys = self.keys();
        keys.remove(key);
        if keys.is_empty() && !self.all.load(Ordering::Relaxed) {
            self.any.store(false, Ordering::Release);
        }
    }
}

impl<Db: Store, Cache: Store> CachedDbStore<Db, Cache> {
    /// `cache` in front of `db`.
    pub fn new(db: Db, cache: Cache) -> Self {
        Self::with_suspect_limit(db, cache, MAX_SUSPECTS)
    }

    fn with_suspect_limit(db: Db, cache: Cache, limit: usize) -> Self {
        let identity = format!("cached_db: {} over {}", cache.identity(), db.identity());
        CachedDbStore {
            identity: identity.into(),
            db,
            cache,
            suspects: Arc::new(Suspects::new(limit)),
            changes: Arc::new(Changes::new()),
        }
    }

    /// The database behind the cache.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Django's `cache.set(key, data, timeout)`: puts the record in the cache whether or not
    /// it is there already. Failures are logged (Django: "Error saving to cache"). The cache
    /// offers create and update; `likely` is the one to try first (a session just created in
    /// the database, or missing from the cache, is not in the cache; an updated one most
    /// likely is), so the write costs one round trip unless the cache disagrees.
    async fn put_in_cache(&self, record: &SessionRecord, likely: SaveMode) -> bool {
        let first = self.cache.save(record, likely).await;
        self.finish_put_in_cache(record, likely, first).await
    }

    /// The rest of [`Self::put_in_cache`] once the try in `likely` has answered `first`: when
    /// the cache disagreed, the other mode, then `likely` again if a concurrent write or delete
    /// came between the two. Whether the cache now holds the record.
    async fn finish_put_in_cache(
        &self,
        record: &SessionRecord,
        likely: SaveMode,
        first: Result<(), SaveError>,
    ) -> bool {
        let mut result = first;
        if is_the_other_case(&result, likely) {
            result = self.cache.save(record, likely.other()).await;
            if is_the_other_case(&result, likely.other()) {
                result = self.cache.save(record, likely).await;
            }
        }
        match &result {
            Ok(()) => {}
            // The cache's own failure, told by the log of store failures (see `debug_cache`).
            Err(SaveError::Store(error)) => self.debug_cache(error, "Error saving to cache"),
            // The session's (too large for the cache), not the cache's: told each time.
            Err(error) => {
                tracing::warn!(cache = self.cache.identity(), %error, "Error saving to cache")
            }
        }
        result.is_ok()
    }

    /// [`Self::put_in_cache`] after the database changed, the key's changes having stood at
    /// `before` until then: a failure leaves the cache's entry suspect, and a write that came
    /// after this one's database write takes this record out of the cache again (that write's
    /// own cache write may have come first: a session deleted meanwhile would be back).
    async fn write_through(&self, record: &SessionRecord, likely: SaveMode, before: u64) {
        if !self.put_in_cache(record, likely).await {
            self.suspects.add(&record.key);
        } else if self.changes.since_own(&record.key, before) {
            self.forget_in_cache(&record.key).await;
        }
    }

    /// A new session: the database and the cache are written at once rather than in turn
    /// (1.05–1.10× the new sessions a second over Redis while the table is small, level once
    /// SQLite's side dominates: BENCHMARKS.md's change 33). Nobody can read a fresh key before
    /// its cookie is sent, which is after both have answered, so no reader sees the cache ahead
    /// of the database; a session the database refused is taken out of the cache again. Every
    /// create here is on a fresh key (Django's `create()`), and a taken one is what `KeyExists`
    /// reports: given one, the cache may show this record under it to a reader of the other
    /// session until the database has refused it.
    async fn create(&self, record: &SessionRecord) -> Result<(), SaveError> {
        let (saved, cached) = tokio::join!(
            self.db.save(record, SaveMode::Create),
            self.cache.save(record, SaveMode::Create)
        );
        if let Err(error) = saved {
            if cached.is_ok() {
                self.forget_in_cache(&record.key).await;
            }
            return Err(error);
        }
        // A failed cache write leaves nothing under a fresh key: a read misses and asks the
        // database, so the key need not be suspect.
        self.finish_put_in_cache(record, SaveMode::Create, cached)
            .await;
        Ok(())
    }

    /// Puts `record`, which the database answered while the key's changes stood at `seen`, in
    /// the cache, unless a write changed the session since (see [`Changes`]): whether the
    /// cache now holds the database's answer.
    async fn fill_cache(&self, record: &SessionRecord, likely: SaveMode, seen: u64) -> bool {
        // Changed already: that write's own cache write follows, and this record is older.
        if self.changes.since(&record.key, seen) || !self.put_in_cache(record, likely).await {
            return false;
        }
        if self.changes.since(&record.key, seen) {
            // The write's cache write may have come before this fill: take the fill out.
            self.forget_in_cache(&record.key).await;
            return false;
        }
        true
    }

    /// Deletes `key` from the cache; a failure leaves the cache's entry suspect.
    async fn forget_in_cache(&self, key: &str) -> bool {
        match self.cache.delete(key).await {
            Ok(()) => true,
            Err(error) => {
                self.debug_cache(&error, "Error deleting from cache");
                self.suspects.add(key);
                false
            }
        }
    }

    /// Logs the cache's failure at what this store was doing, at debug level only. Django
    /// logs `Error saving to cache` at every save that meets a failing cache, a line per
    /// request while it is down; here the failure is the cache's, a store of its own whose
    /// calls are noted for the log of store failures (an `AnyStore`), which tells it when it
    /// starts, changes, every minute while it lasts and when it ends.
    fn debug_cache(&self, error: &StoreError, what: &str) {
        tracing::debug!(cache = self.cache.identity(), %error, "{what}");
    }

    /// A read of a key whose cache entry may be out of date: the database answers, and once the
    /// cache holds that answer again the key is trusted again.
    async fn load_past_the_cache(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let seen = self.changes.seen(key);
        let record = self.db.load(key, now).await?;
        let repaired = match &record {
            Some(record) => self.fill_cache(record, SaveMode::Update, seen).await,
            None => self.forget_in_cache(key).await,
        };
        if repaired {
            self.suspects.remove(key);
        }
        Ok(record)
    }
}

/// Whether a cache write in `mode` failed only because the key is (create) or is not (update)
/// there, so the other mode would succeed.
fn is_the_other_case(result: &Result<(), SaveError>, mode: SaveMode) -> bool {
    matches!(
        (mode, result),
        (SaveMode::Create, Err(SaveError::KeyExists)) | (SaveMode::Update, Err(SaveError::Missing))
    )
}

impl<Db: Store, Cache: Store> Store for CachedDbStore<Db, Cache> {
    fn describe(&self) -> &'static str {
        "cached_db"
    }

    fn identity(&self) -> &str {
        &self.identity
    }

    async fn load(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRecord>, StoreError> {
        if self.suspects.contains(key) {
            return self.load_past_the_cache(key, now).await;
        }
        match self.cache.load(key, now).await {
            Ok(Some(record)) => return Ok(Some(record)),
            Ok(None) => {}
            Err(error) => self.debug_cache(&error, "cache unavailable; reading the database"),
        }
        let seen = self.changes.seen(key);
        let record = self.db.load(key, now).await?;
        if let Some(record) = &record {
            self.fill_cache(record, SaveMode::Create, seen).await;
        }
        Ok(record)
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        if let Ok(true) = self.cache.exists(key).await {
            return Ok(true);
        }
        self.db.exists(key).await
    }

    async fn save(&self, record: &SessionRecord, mode: SaveMode) -> Result<(), SaveError> {
        if mode == SaveMode::Create {
            return self.create(record).await;
        }
        let before = self.changes.seen(&record.key);
        self.db.save(record, mode).await?;
        self.changes.note(&record.key);
        self.write_through(record, mode, before).await;
        Ok(())
    }

    /// The database first, then the cache's entry, if it has one; a cache that fails leaves
    /// the key suspect (its entry would end at the old expiry), and a write that came after
    /// this one's database write takes the entry out (as in `write_through`).
    async fn set_expire_date(
        &self,
        key: &str,
        expire_date: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let before = self.changes.seen(key);
        if !self.db.set_expire_date(key, expire_date, now).await? {
            return Ok(false);
        }
        self.changes.note(key);
        match self.cache.set_expire_date(key, expire_date, now).await {
            Ok(_) if self.changes.since_own(key, before) => {
                self.forget_in_cache(key).await;
            }
            Ok(_) => {}
            Err(error) => {
                self.debug_cache(&error, "Error saving to cache");
                self.suspects.add(key);
            }
        }
        Ok(true)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.db.delete(key).await?;
        self.changes.note(key);
        self.forget_in_cache(key).await;
        Ok(())
    }

    async fn clear_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        // Cache entries expire by themselves; the database keeps the truth.
        self.db.clear_expired(now).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        if let Err(error) = self.cache.ping().await {
            self.debug_cache(
                &error,
                "the cache of a cached_db store is down; serving from the database",
            );
        }
        self.db.ping().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::fixtures::load;
    use crate::session::store::DbStore;
    use crate::session::store::acceptance::{acceptance_suite, suite_now};
    use serde_json::json;

    async fn memory_db() -> DbStore {
        let settings = load("default", &[("APP__DATABASE__URL", "sqlite::memory:")]).unwrap();
        DbStore::connect(&settings).await.unwrap()
    }

    fn record(key: &str) -> SessionRecord {
        SessionRecord {
            key: key.to_owned(),
            data: serde_json::from_value(json!({"name": "Sonam"})).unwrap(),
            expire_date: suite_now() + chrono::TimeDelta::hours(1),
        }
    }

    #[actix_web::test]
    async fn cached_db_passes_the_acceptance_suite() {
        acceptance_suite(&CachedDbStore::new(memory_db().await, memory_db().await)).await;
    }

    #[actix_web::test]
    async fn writes_go_through_to_both_and_a_wiped_cache_is_refilled_from_the_db() {
        let (db, cache) = (memory_db().await, memory_db().await);
        let store = CachedDbStore::new(db.clone(), cache.clone());
        let key = "cachedcachedcachedcached00000001";
        store.save(&record(key), SaveMode::Create).await.unwrap();
        let now = suite_now();
        assert!(
            db.load(key, now).await.unwrap().is_some(),
            "written to the db"
        );
        assert!(
            cache.load(key, now).await.unwrap().is_some(),
            "and to the cache"
        );

        cache.delete(key).await.unwrap();
        let loaded = store
            .load(key, now)
            .await
            .unwrap()
            .expect("the db still has it");
        assert_eq!(loaded.data["name"], "Sonam");
        assert!(
            cache.load(key, now).await.unwrap().is_some(),
            "the cache was refilled"
        );

        store.delete(key).await.unwrap();
        assert!(db.load(key, now).await.unwrap().is_none());
        assert!(cache.load(key, now).await.unwrap().is_none());
    }

    #[actix_web::test]
    async fn a_new_session_the_database_refuses_is_not_left_in_the_cache() {
        let (db, cache) = (memory_db().await, memory_db().await);
        let store = CachedDbStore::new(db.clone(), cache.clone());
        let key = "cachedcachedcachedcached00000005";
        // The key is taken in the database only (another process's session, not cached).
        let mut theirs = record(key);
        theirs.data.insert("owner".into(), json!("them"));
        db.save(&theirs, SaveMode::Create).await.unwrap();

        let refused = store.save(&record(key), SaveMode::Create).await;
        assert!(matches!(refused, Err(SaveError::KeyExists)), "{refused:?}");
        let now = suite_now();
        assert!(
            cache.load(key, now).await.unwrap().is_none(),
            "the refused record was taken out of the cache"
        );
        let loaded = store.load(key, now).await.unwrap().unwrap();
        assert_eq!(
            loaded.data["owner"], "them",
            "readers see the database's session"
        );
    }

    #[actix_web::test]
    async fn a_new_session_is_not_left_in_the_cache_when_the_database_is_down() {
        let cache = memory_db().await;
        let store = CachedDbStore::new(Down, cache.clone());
        let key = "cachedcachedcachedcached00000006";
        let failed = store.save(&record(key), SaveMode::Create).await;
        assert!(matches!(failed, Err(SaveError::Store(_))), "{failed:?}");
        assert!(
            cache.load(key, suite_now()).await.unwrap().is_none(),
            "the cache holds nothing the database does not"
        );
    }

    /// A database that is down.
    struct Down;

    fn down() -> StoreError {
        StoreError::new("down", anyhow::anyhow!("the database is down"))
    }

    impl Store for Down {
        fn describe(&self) -> &'static str {
            "down"
        }
        async fn load(
            &self,
            _: &str,
            _: DateTime<Utc>,
        ) -> Result<Option<SessionRecord>, StoreError> {
            Err(down())
        }
        async fn exists(&self, _: &str) -> Result<bool, StoreError> {
            Err(down())
        }
        async fn save(&self, _: &SessionRecord, _: SaveMode) -> Result<(), SaveError> {
            Err(down().into())
        }
        async fn set_expire_date(
            &self,
            _: &str,
            _: DateTime<Utc>,
            _: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            Err(down())
        }
        async fn delete(&self, _: &str) -> Result<(), StoreError> {
            Err(down())
        }
        async fn clear_expired(&self, _: DateTime<Utc>) -> Result<u64, StoreError> {
            Err(down())
        }
        async fn ping(&self) -> Result<(), StoreError> {
            Err(down())
        }
    }

    /// A cache that records the writes it is asked for, in order.
    struct Recording {
        inner: DbStore,
        saves: std::cell::RefCell<Vec<SaveMode>>,
    }

    impl Store for Recording {
        fn describe(&self) -> &'static str {
            "recording"
        }
        async fn load(
            &self,
            key: &str,
            now: DateTime<Utc>,
        ) -> Result<Option<SessionRecord>, StoreError> {
            self.inner.load(key, now).await
        }
        async fn exists(&self, key: &str) -> Result<bool, StoreError> {
            self.inner.exists(key).await
        }
        async fn save(&self, record: &SessionRecord, mode: SaveMode) -> Result<(), SaveError> {
            self.saves.borrow_mut().push(mode);
            self.inner.save(record, mode).await
        }
        async fn set_expire_date(
            &self,
            key: &str,
            expire_date: DateTime<Utc>,
            now: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            self.inner.set_expire_date(key, expire_date, now).await
        }
        async fn delete(&self, key: &str) -> Result<(), StoreError> {
            self.inner.delete(key).await
        }
        async fn clear_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
            self.inner.clear_expired(now).await
        }
        async fn ping(&self) -> Result<(), StoreError> {
            self.inner.ping().await
        }
    }

    #[actix_web::test]
    async fn each_write_reaches_the_cache_in_one_write_unless_the_cache_disagrees() {
        let cache = Recording {
            inner: memory_db().await,
            saves: Default::default(),
        };
        let store = CachedDbStore::new(memory_db().await, cache);
        let writes = |store: &CachedDbStore<DbStore, Recording>| store.cache.saves.take();
        let key = "cachedcachedcachedcached00000003";
        store.save(&record(key), SaveMode::Create).await.unwrap();
        assert_eq!(writes(&store), [SaveMode::Create], "a new session");
        store.save(&record(key), SaveMode::Update).await.unwrap();
        assert_eq!(writes(&store), [SaveMode::Update], "an update");

        // The cache lost the session (evicted, restarted): the update creates it there.
        store.cache.inner.delete(key).await.unwrap();
        store.save(&record(key), SaveMode::Update).await.unwrap();
        assert_eq!(writes(&store), [SaveMode::Update, SaveMode::Create]);
        // The cache holds a session the database does not (written by another process
        // between the two): a create overwrites it, as Django's `cache.set` does.
        let other = "cachedcachedcachedcached00000004";
        let mut stale = record(other);
        stale.data.insert("stale".into(), json!(true));
        store
            .cache
            .inner
            .save(&stale, SaveMode::Create)
            .await
            .unwrap();
        store.save(&record(other), SaveMode::Create).await.unwrap();
        assert_eq!(writes(&store), [SaveMode::Create, SaveMode::Update]);
        let cached = store
            .cache
            .inner
            .load(other, suite_now())
            .await
            .unwrap()
            .unwrap();
        assert!(
            !cached.data.contains_key("stale"),
            "the cache has the new data"
        );

        // A read that misses the cache refills it with one create.
        store.cache.inner.delete(key).await.unwrap();
        assert!(store.load(key, suite_now()).await.unwrap().is_some());
        assert_eq!(writes(&store), [SaveMode::Create]);
    }

    /// A cache that can be taken down and brought back.
    struct Flaky {
        inner: DbStore,
        down: std::cell::Cell<bool>,
    }

    impl Flaky {
        fn check(&self) -> Result<(), StoreError> {
            if self.down.get() { Err(down()) } else { Ok(()) }
        }
    }

    impl Store for Flaky {
        fn describe(&self) -> &'static str {
            "flaky"
        }
        async fn load(
            &self,
            key: &str,
            now: DateTime<Utc>,
        ) -> Result<Option<SessionRecord>, StoreError> {
            self.check()?;
            self.inner.load(key, now).await
        }
        async fn exists(&self, key: &str) -> Result<bool, StoreError> {
            self.check()?;
            self.inner.exists(key).await
        }
        async fn save(&self, record: &SessionRecord, mode: SaveMode) -> Result<(), SaveError> {
            self.check()?;
            self.inner.save(record, mode).await
        }
        async fn set_expire_date(
            &self,
            key: &str,
            expire_date: DateTime<Utc>,
            now: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            self.check()?;
            self.inner.set_expire_date(key, expire_date, now).await
        }
        async fn delete(&self, key: &str) -> Result<(), StoreError> {
            self.check()?;
            self.inner.delete(key).await
        }
        async fn clear_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
            self.inner.clear_expired(now).await
        }
        async fn ping(&self) -> Result<(), StoreError> {
            self.check()
        }
    }

    async fn flaky_store(limit: usize) -> CachedDbStore<DbStore, Flaky> {
        let cache = Flaky {
            inner: memory_db().await,
            down: Default::default(),
        };
        CachedDbStore::with_suspect_limit(memory_db().await, cache, limit)
    }

    fn with_counter(key: &str, counter: i64) -> SessionRecord {
        let mut record = record(key);
        record.data.insert("counter".into(), json!(counter));
        record
    }

    /// Saves `keys` with counter 1 while the cache is up, then with counter 2 while it is down.
    async fn updated_while_the_cache_is_down(store: &CachedDbStore<DbStore, Flaky>, keys: &[&str]) {
        for key in keys {
            let first = with_counter(key, 1);
            store.save(&first, SaveMode::Create).await.unwrap();
        }
        store.cache.down.set(true);
        for key in keys {
            let second = with_counter(key, 2);
            store.save(&second, SaveMode::Update).await.unwrap();
        }
    }

    #[actix_web::test]
    async fn writes_the_cache_missed_are_not_undone_when_it_returns() {
        // Arrange: a session in both that the cache misses an update of, and another one.
        let store = flaky_store(MAX_SUSPECTS).await;
        let (updated, flushed) = (
            "cachedcachedcachedcached00000007",
            "cachedcachedcachedcached00000008",
        );
        store
            .save(&record(flushed), SaveMode::Create)
            .await
            .unwrap();
        updated_while_the_cache_is_down(&store, &[updated]).await;

        // Act: the other is flushed while the cache is still down; then the cache comes back.
        store.delete(flushed).await.unwrap();
        store.cache.down.set(false);
        let now = suite_now();
        let read = store.load(updated, now).await.unwrap().unwrap();
        let gone = store.load(flushed, now).await.unwrap();

        // Assert: the database's answers, which the cache now holds too; nothing is suspect.
        assert_eq!(read.data["counter"], 2, "not the cache's old copy");
        assert_eq!(gone, None, "a flushed session stays flushed");
        let cached = store.cache.inner.load(updated, now).await.unwrap().unwrap();
        assert_eq!(cached.data["counter"], 2, "the cache was put right");
        assert_eq!(store.cache.inner.load(flushed, now).await.unwrap(), None);
        assert!(!store.suspects.contains(updated) && !store.suspects.contains(flushed));
    }

    #[actix_web::test]
    async fn a_key_stays_suspect_until_the_cache_holds_the_databases_answer() {
        let store = flaky_store(MAX_SUSPECTS).await;
        let key = "cachedcachedcachedcached00000009";
        updated_while_the_cache_is_down(&store, &[key]).await;
        // Still down: the read comes from the database, and the key stays suspect.
        let read = store.load(key, suite_now()).await.unwrap().unwrap();
        assert_eq!(read.data["counter"], 2);
        assert!(store.suspects.contains(key));
        store.cache.down.set(false);
        store.load(key, suite_now()).await.unwrap();
        assert!(!store.suspects.contains(key));
        assert!(
            !store.suspects.any.load(Ordering::Relaxed),
            "reads skip the lock again"
        );
    }

    #[actix_web::test]
    async fn past_its_limit_the_cache_is_not_trusted_for_any_key() {
        let store = flaky_store(2).await;
        let keys = [
            "cachedcachedcachedcached00000010",
            "cachedcachedcachedcached00000011",
            "cachedcachedcachedcached00000012",
        ];
        updated_while_the_cache_is_down(&store, &keys).await;
        store.cache.down.set(false);
        let untouched = "cachedcachedcachedcached00000013";
        assert!(
            store.suspects.contains(untouched),
            "every key goes to the database"
        );
        for key in keys {
            let read = store.load(key, suite_now()).await.unwrap().unwrap();
            assert_eq!(read.data["counter"], 2, "{key}");
        }
        assert!(
            store.suspects.contains(untouched),
            "for the rest of the process"
        );
    }

    /// A database whose next load or update (`held`), once done, waits until the test lets it
    /// answer.
    struct Held {
        inner: DbStore,
        held: std::cell::Cell<Option<Op>>,
        done: std::cell::RefCell<Option<tokio::sync::oneshot::Sender<()>>>,
        answer: std::cell::RefCell<Option<tokio::sync::oneshot::Receiver<()>>>,
    }

    #[derive(Clone, Copy, PartialEq)]
    enum Op {
        Load,
        Update,
    }

    impl Held {
        /// Tells the test that `op` is done and waits for its go, if `op` is the one held.
        async fn hold(&self, op: Op) {
            if self.held.get() != Some(op) {
                return;
            }
            self.held.set(None);
            let (done, answer) = (self.done.take(), self.answer.take());
            if let (Some(done), Some(answer)) = (done, answer) {
                let _ = done.send(());
                let _ = answer.await;
            }
        }
    }

    impl Store for Held {
        fn describe(&self) -> &'static str {
            "held"
        }
        async fn load(
            &self,
            key: &str,
            now: DateTime<Utc>,
        ) -> Result<Option<SessionRecord>, StoreError> {
            let record = self.inner.load(key, now).await;
            self.hold(Op::Load).await;
            record
        }
        async fn exists(&self, key: &str) -> Result<bool, StoreError> {
            self.inner.exists(key).await
        }
        async fn save(&self, record: &SessionRecord, mode: SaveMode) -> Result<(), SaveError> {
            let saved = self.inner.save(record, mode).await;
            if mode == SaveMode::Update {
                self.hold(Op::Update).await;
            }
            saved
        }
        async fn set_expire_date(
            &self,
            key: &str,
            expire_date: DateTime<Utc>,
            now: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            self.inner.set_expire_date(key, expire_date, now).await
        }
        async fn delete(&self, key: &str) -> Result<(), StoreError> {
            self.inner.delete(key).await
        }
        async fn clear_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
            self.inner.clear_expired(now).await
        }
        async fn ping(&self) -> Result<(), StoreError> {
            self.inner.ping().await
        }
    }

    type HeldStore = std::rc::Rc<CachedDbStore<Held, DbStore>>;

    /// A store whose database holds its next `op`.
    async fn held_store(op: Op) -> HeldStore {
        let db = Held {
            inner: memory_db().await,
            held: Default::default(),
            done: Default::default(),
            answer: Default::default(),
        };
        let store = std::rc::Rc::new(CachedDbStore::new(db, memory_db().await));
        store.db.held.set(Some(op));
        store
    }

    /// Runs `first` until its database step (held) is done, then `meanwhile`, then lets
    /// `first` finish; what `first` answered.
    async fn between_database_and_cache<T: 'static, M: std::future::Future<Output = ()>>(
        store: &HeldStore,
        first: impl std::future::Future<Output = T> + 'static,
        meanwhile: M,
    ) -> T {
        let (done, is_done) = tokio::sync::oneshot::channel();
        let (answer, may_answer) = tokio::sync::oneshot::channel();
        *store.db.done.borrow_mut() = Some(done);
        *store.db.answer.borrow_mut() = Some(may_answer);
        let first = actix_web::rt::spawn(first);
        is_done.await.unwrap();
        meanwhile.await;
        answer.send(()).unwrap();
        first.await.unwrap()
    }

    #[actix_web::test]
    async fn a_session_flushed_while_an_update_writes_through_stays_flushed() {
        let key = "cachedcachedcachedcached00000016";
        let store = held_store(Op::Update).await;
        store
            .save(&with_counter(key, 1), SaveMode::Create)
            .await
            .unwrap();

        let updating = {
            let store = store.clone();
            async move { store.save(&with_counter(key, 2), SaveMode::Update).await }
        };
        let updated = between_database_and_cache(&store, updating, async {
            store.delete(key).await.unwrap();
        })
        .await;

        assert!(updated.is_ok(), "the update came first: {updated:?}");
        let now = suite_now();
        assert_eq!(
            store.load(key, now).await.unwrap(),
            None,
            "not served again"
        );
        assert_eq!(store.cache.load(key, now).await.unwrap(), None);
    }

    /// A session saved with counter 1 and missing from the cache (evicted, or the cache
    /// restarted); a read of it reads the database, then `meanwhile` runs before the read puts
    /// what it found in the cache. The store and the cache, to look at afterwards.
    async fn change_while_a_read_fills_the_cache<F, Fut>(key: &str, meanwhile: F) -> HeldStore
    where
        F: FnOnce(HeldStore) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let store = held_store(Op::Load).await;
        store
            .save(&with_counter(key, 1), SaveMode::Create)
            .await
            .unwrap();
        store.cache.delete(key).await.unwrap();

        let reading = {
            let store = store.clone();
            let key = key.to_owned();
            async move { store.load(&key, suite_now()).await }
        };
        let read = between_database_and_cache(&store, reading, meanwhile(store.clone())).await;

        let read = read.unwrap().unwrap();
        assert_eq!(read.data["counter"], 1, "the read saw the session before");
        store
    }

    #[actix_web::test]
    async fn a_session_flushed_while_a_read_fills_the_cache_stays_flushed() {
        let key = "cachedcachedcachedcached00000014";
        let store = change_while_a_read_fills_the_cache(key, |store| async move {
            store.delete(key).await.unwrap();
        })
        .await;

        let now = suite_now();
        assert_eq!(
            store.load(key, now).await.unwrap(),
            None,
            "not served again"
        );
        assert_eq!(store.cache.load(key, now).await.unwrap(), None);
    }

    #[actix_web::test]
    async fn a_session_updated_while_a_read_fills_the_cache_is_read_as_updated() {
        let key = "cachedcachedcachedcached00000015";
        let store = change_while_a_read_fills_the_cache(key, |store| async move {
            store
                .save(&with_counter(key, 2), SaveMode::Update)
                .await
                .unwrap();
        })
        .await;

        let read = store.load(key, suite_now()).await.unwrap().unwrap();
        assert_eq!(read.data["counter"], 2, "not the copy the read found");
    }

    #[actix_web::test]
    async fn reads_come_from_the_cache_first() {
        let (db, cache) = (memory_db().await, memory_db().await);
        let store = CachedDbStore::new(db.clone(), cache.clone());
        let key = "cachedcachedcachedcached00000002";
        store.save(&record(key), SaveMode::Create).await.unwrap();
        let mut newer = record(key);
        newer.data.insert("from".into(), json!("cache"));
        cache.save(&newer, SaveMode::Update).await.unwrap();
        let loaded = store.load(key, suite_now()).await.unwrap().unwrap();
        assert_eq!(loaded.data["from"], "cache");
    }
}
