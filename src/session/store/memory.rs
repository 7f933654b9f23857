//! The `cache` engine on an in-process cache (Django's `LocMemCache` behind
//! `SESSION_ENGINE = "django.contrib.sessions.backends.cache"`): bounded in bytes, each session
//! gone at its `expire_date`, nothing shared between processes and nothing kept on restart.
//!
//! The cache is [`quick_cache`]'s sharded, weighted cache (S3-FIFO eviction, a lock per
//! shard, no background threads). It has no expiry of its own, so each entry carries the
//! moments it dies: lookups treat a dead entry as absent at once, and a purge at most once a
//! minute (run by the next save) frees the memory of those nobody asked for again.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use quick_cache::sync::{Cache, EntryAction, EntryResult};
use quick_cache::{DefaultHashBuilder, OptionsBuilder, Weighter};

use super::{SaveError, SaveMode, SessionData, SessionRecord, Store, StoreError};
use crate::session::key::is_storable_session_key;
use crate::signing::python_json_bytes;

const ENGINE: &str = "cache (memory)";

/// Bytes the weigher adds to every entry for what it costs beyond its key and data: the
/// cache's slot (key and value inline, eviction-queue links), its hash-table slot, the `Arc`
/// header of the data, and the allocator's headers and rounding of the two heap blocks (key
/// and data).
///
/// Measured with `examples/memory_footprint.rs` (release build, glibc malloc, the basic
/// lesson's two keys, 32-byte session keys, 1 000 000 sessions): the process's resident memory
/// grows by 195 bytes per session, 138 beyond key and data. The rest of this figure is for the
/// eviction policy's ghost entries (hashes of recently evicted keys, kept once the cache is
/// full). The weigher counts it, so `max_bytes` bounds real memory.
pub const ENTRY_OVERHEAD_BYTES: u32 = 160;

/// Shortest life on the wall clock of a stored session (as for Redis, which refuses `EX 0`):
/// a session saved already due is still kept this long (its key stays taken), and `load`,
/// which compares with the request's `now`, hides it meanwhile.
const MIN_TTL: Duration = Duration::from_secs(1);

/// Least time between two purges of dead entries.
const PURGE_INTERVAL_NANOS: i64 = 60 * 1_000_000_000;

/// The session weight the cache's shard count is planned for (see [`OptionsBuilder`]); it
/// only shapes the cache, it bounds nothing.
const TYPICAL_SESSION_BYTES: u64 = 256;

/// The least room a shard gets. Each shard holds an equal part of `max_bytes` and refuses an
/// entry heavier than its part, so a small cache gets fewer shards: the largest session the
/// playground can build (50 values of 4 KiB) must still fit.
const MIN_SHARD_BYTES: u64 = 1024 * 1024;

/// Shards for a cache of `max_bytes`: four per core (quick_cache's default), fewer when that
/// would leave a shard less than [`MIN_SHARD_BYTES`]; a power of two.
fn shard_count(max_bytes: u64) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let wanted = (cores * 4).next_power_of_two();
    let fitting = usize::try_from(max_bytes / MIN_SHARD_BYTES).unwrap_or(usize::MAX);
    // The largest power of two that fits (at least one shard).
    wanted.min(1 << fitting.max(1).ilog2())
}

/// What the cache keeps per session, in 32 bytes plus the data: when the session expires, when
/// the entry dies on the wall clock, and the data as the bytes of Python-style JSON (compact,
/// insertion order kept), shared by the clones every `get` makes.
#[derive(Clone)]
struct Cached {
    /// `expire_date` in nanoseconds since the epoch; dates past 2262 are kept as 2262, which
    /// is still "not expired".
    expire_nanos: i64,
    /// When the entry is gone for every purpose on the wall clock: `expire_date`, or
    /// [`MIN_TTL`] after the save if that is later.
    dies_nanos: i64,
    data: Arc<[u8]>,
}

impl Cached {
    fn of(record: &SessionRecord, saved_at: DateTime<Utc>) -> Self {
        let mut cached = Cached {
            expire_nanos: 0,
            dies_nanos: 0,
            data: python_json_bytes(&record.data).into(),
        };
        cached.set_expire_date(record.expire_date, saved_at);
        cached
    }

    /// Moves the expiry to `expire_date`, as a save at `saved_at` would set it.
    fn set_expire_date(&mut self, expire_date: DateTime<Utc>, saved_at: DateTime<Utc>) {
        let earliest_death = nanos(saved_at).saturating_add(MIN_TTL.as_nanos() as i64);
        self.expire_nanos = nanos(expire_date);
        self.dies_nanos = self.expire_nanos.max(earliest_death);
    }

    fn expire_date(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(self.expire_nanos)
    }

    /// Django loads a session only while `expire_date > now`.
    fn is_expired_at(&self, now: DateTime<Utc>) -> bool {
        self.expire_nanos <= nanos(now)
    }

    /// Whether the entry is gone on the wall clock (`wall_nanos`): absent for every purpose.
    fn is_dead_at(&self, wall_nanos: i64) -> bool {
        self.dies_nanos <= wall_nanos
    }
}

/// `at` in nanoseconds since the epoch, saturating outside 1677..2262.
fn nanos(at: DateTime<Utc>) -> i64 {
    at.timestamp_nanos_opt().unwrap_or(if at.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

fn wall_nanos() -> i64 {
    nanos(Utc::now())
}

/// The weigher: approximate bytes an entry costs (key, data, [`ENTRY_OVERHEAD_BYTES`]).
#[derive(Clone)]
struct Bytes;

impl Weighter<String, Cached> for Bytes {
    fn weight(&self, key: &String, value: &Cached) -> u64 {
        weigh(key, value)
    }
}

fn weigh(key: &str, value: &Cached) -> u64 {
    (key.len() as u64)
        .saturating_add(value.data.len() as u64)
        .saturating_add(u64::from(ENTRY_OVERHEAD_BYTES))
}

type SessionCache = Cache<String, Cached, Bytes>;

/// Sessions in this process's memory, Django's `cache` engine on a local-memory cache. When
/// the configured bytes are used up, the least valuable sessions are evicted (their visitors
/// get a new, empty session, as with a full memcached).
#[derive(Clone)]
pub struct MemoryStore {
    cache: Arc<SessionCache>,
    /// Wall-clock nanoseconds of the last purge of dead entries.
    last_purge: Arc<AtomicI64>,
    /// `max_bytes`, for messages.
    max_bytes: u64,
    /// The weight under which the cache surely keeps a new entry (see [`MemoryStore::create`]).
    surely_kept: u64,
    /// [`Store::identity`]: each cache in this process is a store of its own, numbered.
    identity: Arc<str>,
}

impl MemoryStore {
    /// A store holding at most about `max_bytes` of sessions (key + data + a fixed overhead
    /// per session for the cache's own bookkeeping, 160 bytes).
    pub fn new(max_bytes: u64) -> Self {
        let estimated_sessions = (max_bytes / TYPICAL_SESSION_BYTES).max(1);
        let shards = shard_count(max_bytes);
        let options = OptionsBuilder::new()
            .shards(shards)
            .estimated_items_capacity(usize::try_from(estimated_sessions).unwrap_or(usize::MAX))
            .weight_capacity(max_bytes)
            .build()
            .unwrap_or_else(|error| unreachable!("both options are set: {error}"));
        let cache = Cache::with_options(
            options,
            Bytes,
            DefaultHashBuilder::default(),
            Default::default(),
        );
        static OPENED: AtomicU64 = AtomicU64::new(0);
        let number = OPENED.fetch_add(1, Ordering::Relaxed) + 1;
        MemoryStore {
            identity: format!("{ENGINE} no. {number} of this process").into(),
            cache: Arc::new(cache),
            last_purge: Arc::new(AtomicI64::new(wall_nanos())),
            max_bytes,
            // A shard holds at least its share of `max_bytes` (quick_cache may merge shards,
            // never split them) and admits entries up to most of it: half is surely admitted.
            surely_kept: max_bytes / shards as u64 / 2,
        }
    }

    /// How many sessions the cache holds, after dropping those dead on the wall clock
    /// (sessions that expired on a fake clock but not yet on the wall clock count).
    pub async fn count_live(&self) -> u64 {
        self.purge(wall_nanos());
        self.cache.len() as u64
    }

    /// Drops every entry dead at `wall_nanos`.
    fn purge(&self, wall_nanos: i64) {
        self.cache
            .retain(|_, cached| !cached.is_dead_at(wall_nanos));
    }

    /// Purges when the last purge is [`PURGE_INTERVAL_NANOS`] old; only one caller wins.
    fn purge_when_due(&self, wall_nanos: i64) {
        let last = self.last_purge.load(Ordering::Relaxed);
        if wall_nanos.saturating_sub(last) >= PURGE_INTERVAL_NANOS
            && self
                .last_purge
                .compare_exchange(last, wall_nanos, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.purge(wall_nanos);
        }
    }

    /// Django's `cache.add`: stores the session unless its key is taken by a live entry.
    fn create(&self, record: &SessionRecord) -> Result<(), SaveError> {
        let now = Utc::now();
        let wall = nanos(now);
        self.purge_when_due(wall);
        let value = Cached::of(record, now);
        // `Some(ZERO)`: a create of the same key in progress elsewhere means the key is taken.
        let entry = self
            .cache
            .entry(record.key.as_str(), Some(Duration::ZERO), |_, existing| {
                if existing.is_dead_at(wall) {
                    EntryAction::ReplaceWithGuard
                } else {
                    EntryAction::Retain(())
                }
            });
        match entry {
            EntryResult::Vacant(guard) | EntryResult::Replaced(guard, _) => {
                let weight = weigh(&record.key, &value);
                // A guard loses its slot only to a plain insert (which this store never makes)
                // or to a `delete` of this same new key racing the create: as if the delete
                // came just after it.
                let _ = guard.insert(value);
                // quick_cache does not admit an entry heavier than most of its shard, and says
                // nothing: such a session would be reported saved and be gone. Only a heavy
                // one is looked up again.
                if weight > self.surely_kept && !self.cache.contains_key(record.key.as_str()) {
                    return Err(SaveError::TooLarge(format!(
                        "the session is too large for the in-process cache: it weighs {weight} \
                         bytes, more than the cache keeps of one entry with max_bytes = {} \
                         (store less in the session, or raise max_bytes)",
                        self.max_bytes
                    )));
                }
                Ok(())
            }
            EntryResult::Retained(()) | EntryResult::Timeout => Err(SaveError::KeyExists),
            EntryResult::Removed(..) => Err(unexpected("create")),
        }
    }

    /// Replaces only a live entry, in one step: a session deleted (or expired) meanwhile by
    /// another request is not brought back (Django's `UpdateError`).
    fn update(&self, record: &SessionRecord) -> Result<(), SaveError> {
        let now = Utc::now();
        let wall = nanos(now);
        let value = Cached::of(record, now);
        let entry = self
            .cache
            .entry(record.key.as_str(), Some(Duration::ZERO), |_, existing| {
                if existing.is_dead_at(wall) {
                    EntryAction::Remove
                } else {
                    *existing = value;
                    EntryAction::Retain(())
                }
            });
        match entry {
            EntryResult::Retained(()) => Ok(()),
            // Dropping the guard of a vacant key leaves it vacant.
            EntryResult::Removed(..) | EntryResult::Vacant(_) | EntryResult::Timeout => {
                Err(SaveError::Missing)
            }
            EntryResult::Replaced(..) => Err(unexpected("update")),
        }
    }

    /// The live entry under `key`, if any.
    fn live_entry(&self, key: &str) -> Option<Cached> {
        self.cache
            .get(key)
            .filter(|cached| !cached.is_dead_at(wall_nanos()))
    }
}

fn unexpected(operation: &str) -> SaveError {
    StoreError::new(
        ENGINE,
        anyhow::anyhow!("unexpected cache outcome of a session {operation}"),
    )
    .into()
}

impl std::fmt::Debug for Cached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cached")
            .field("expire_date", &self.expire_date())
            .field("data_bytes", &self.data.len())
            .finish()
    }
}

impl Store for MemoryStore {
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
        let Some(cached) = self.live_entry(key) else {
            return Ok(None);
        };
        if cached.is_expired_at(now) {
            return Ok(None);
        }
        let data = serde_json::from_slice::<SessionData>(&cached.data).unwrap_or_else(|error| {
            // Only this module writes these bytes, so this is a bug, not an attack; still, a
            // session that cannot be read is an empty one, never an error page.
            tracing::warn!(
                target: "sessionlab::security",
                %error,
                "Session data corrupted; reading it as an empty session"
            );
            SessionData::default()
        });
        Ok(Some(SessionRecord {
            key: key.to_owned(),
            data,
            expire_date: cached.expire_date(),
        }))
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        // Django's `key in cache`: the key is taken while the cache holds it.
        Ok(is_storable_session_key(key) && self.live_entry(key).is_some())
    }

    async fn save(&self, record: &SessionRecord, mode: SaveMode) -> Result<(), SaveError> {
        if !is_storable_session_key(&record.key) {
            return Err(StoreError::new(
                ENGINE,
                anyhow::anyhow!("refusing to store a session under a malformed key"),
            )
            .into());
        }
        match mode {
            SaveMode::Create => self.create(record),
            SaveMode::Update => self.update(record),
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
        let saved_at = Utc::now();
        let wall = nanos(saved_at);
        let entry = self.cache.entry(key, Some(Duration::ZERO), |_, existing| {
            if existing.is_dead_at(wall) {
                EntryAction::Remove
            } else if existing.is_expired_at(now) {
                EntryAction::Retain(false)
            } else {
                existing.set_expire_date(expire_date, saved_at);
                EntryAction::Retain(true)
            }
        });
        Ok(matches!(entry, EntryResult::Retained(true)))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        if is_storable_session_key(key) {
            self.cache.remove(key);
        }
        Ok(())
    }

    /// Django's cache engine does nothing here: each session is gone by itself at its
    /// `expire_date` (and `load` never returns one past `now` meanwhile).
    async fn clear_expired(&self, _now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(0)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::key::new_session_key;
    use crate::session::store::acceptance::{acceptance_suite, suite_now};
    use chrono::TimeDelta;
    use serde_json::json;

    fn record(data: SessionData, expire_date: DateTime<Utc>) -> SessionRecord {
        SessionRecord {
            key: new_session_key().unwrap(),
            data,
            expire_date,
        }
    }

    fn data(pairs: &[(&str, serde_json::Value)]) -> SessionData {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[actix_web::test]
    async fn memory_store_passes_the_acceptance_suite() {
        acceptance_suite(&MemoryStore::new(64 * 1024 * 1024)).await;
    }

    #[actix_web::test]
    async fn a_new_session_larger_than_the_cache_keeps_is_not_reported_saved() {
        // Arrange: a cache of 100 KB and a session of 150 KB (an actix-session application's,
        // or the playground's on a cache configured that small).
        let store = MemoryStore::new(100_000);
        let now = suite_now();
        let large = record(
            data(&[("blob", json!("x".repeat(150_000)))]),
            now + TimeDelta::hours(1),
        );

        // Act
        let saved = store.save(&large, SaveMode::Create).await;

        // Assert: the save fails, naming the bound, rather than succeeding with nothing kept;
        // a session that fits is kept as before.
        let Err(error @ SaveError::TooLarge(_)) = saved else {
            panic!("a session the cache cannot keep was reported saved: {saved:?}");
        };
        assert!(error.to_string().contains("max_bytes"), "{error}");
        assert_eq!(store.load(&large.key, now).await.unwrap(), None);
        let small = record(data(&[("n", json!(1))]), now + TimeDelta::hours(1));
        store.save(&small, SaveMode::Create).await.unwrap();
        assert!(store.load(&small.key, now).await.unwrap().is_some());
    }

    #[actix_web::test]
    async fn eviction_keeps_the_cache_within_its_byte_bound() {
        // Arrange: room for 1 MiB; each session weighs about 1.5 KB, so about 700 fit.
        let max_bytes = 1024 * 1024;
        let store = MemoryStore::new(max_bytes);
        let now = suite_now();
        let payload = json!("x".repeat(1000));

        // Act / Assert: write about 28 times that; whenever the cache has done its pending
        // work, its weighed size is within the bound.
        let mut live = 0;
        for written in 1..=20_000 {
            let rec = record(
                data(&[("blob", payload.clone())]),
                now + TimeDelta::hours(1),
            );
            store.save(&rec, SaveMode::Create).await.unwrap();
            if written % 2_000 == 0 {
                live = store.count_live().await;
                let weighed = store.cache.weight();
                assert!(
                    weighed <= max_bytes,
                    "weighted size {weighed} > {max_bytes} after {written} sessions"
                );
            }
        }

        // Assert: the cache is full of sessions, not emptied, and not overfull.
        assert!(live > 100, "the cache still holds sessions: {live}");
        assert!(live < 1000, "at most 1 MiB worth of sessions: {live}");
    }

    #[actix_web::test]
    async fn expiry_follows_the_now_it_is_given() {
        // Arrange: a session due in an hour, with a clock we move by hand.
        let store = MemoryStore::new(1024 * 1024);
        let now = suite_now();
        let rec = record(data(&[("n", json!(1))]), now + TimeDelta::hours(1));
        store.save(&rec, SaveMode::Create).await.unwrap();

        // Act / Assert: live a second before, gone at and after expire_date, yet its key is
        // still taken (Django's `exists` is about the key) until the cache drops it, and
        // `clear_expired` leaves that to the cache.
        let before = now + TimeDelta::hours(1) - TimeDelta::seconds(1);
        assert!(store.load(&rec.key, before).await.unwrap().is_some());
        assert!(
            store
                .load(&rec.key, rec.expire_date)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .load(&rec.key, now + TimeDelta::days(2))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            store.clear_expired(now + TimeDelta::days(2)).await.unwrap(),
            0,
            "Django's cache engine sweeps nothing"
        );
        assert!(store.exists(&rec.key).await.unwrap());
        match store.save(&rec, SaveMode::Create).await {
            Err(SaveError::KeyExists) => {}
            other => panic!("the key is still taken, got {other:?}"),
        }
        store.delete(&rec.key).await.unwrap();
    }

    #[actix_web::test]
    async fn the_cache_drops_a_session_at_its_expire_date_on_the_wall_clock() {
        // Arrange: a session already due is kept for the minimum TTL only.
        let store = MemoryStore::new(1024 * 1024);
        let rec = record(data(&[("n", json!(1))]), Utc::now() - TimeDelta::seconds(5));
        store.save(&rec, SaveMode::Create).await.unwrap();
        assert!(store.exists(&rec.key).await.unwrap(), "kept for MIN_TTL");

        // Act: wait the minimum TTL out.
        tokio::time::sleep(MIN_TTL + Duration::from_millis(200)).await;

        // Assert: gone for every purpose, and an update cannot bring it back.
        assert!(!store.exists(&rec.key).await.unwrap());
        match store.save(&rec, SaveMode::Update).await {
            Err(SaveError::Missing) => {}
            other => panic!("an expired session cannot be updated, got {other:?}"),
        }
        assert_eq!(store.count_live().await, 0);
    }

    #[test]
    fn an_entry_lives_to_its_expire_date_and_at_least_the_minimum_on_the_wall_clock() {
        let now = suite_now();
        let min = MIN_TTL.as_nanos() as i64;
        let later = Cached::of(
            &record(SessionData::default(), now + TimeDelta::seconds(600)),
            now,
        );
        assert_eq!(later.dies_nanos, later.expire_nanos);
        assert!(!later.is_dead_at(nanos(now + TimeDelta::seconds(599))));
        assert!(later.is_dead_at(nanos(now + TimeDelta::seconds(600))));
        let due = Cached::of(
            &record(SessionData::default(), now - TimeDelta::days(1)),
            now,
        );
        assert_eq!(due.dies_nanos, nanos(now) + min);
        assert!(due.is_expired_at(now), "hidden from load at once");
        let far = Cached::of(
            &record(SessionData::default(), DateTime::<Utc>::MAX_UTC),
            now,
        );
        assert!(!far.is_expired_at(now) && !far.is_dead_at(nanos(now)));
    }

    #[actix_web::test]
    async fn the_largest_playground_session_fits_even_a_one_mebibyte_cache() {
        // Arrange: 50 values of 4 KiB (the playground's limits), in the smallest cache a
        // shard is planned for.
        let store = MemoryStore::new(MIN_SHARD_BYTES);
        let big: Vec<(String, serde_json::Value)> = (0..50)
            .map(|n| (format!("key{n}"), json!("x".repeat(4096))))
            .collect();
        let rec = record(big.into_iter().collect(), suite_now() + TimeDelta::hours(1));

        // Act
        store.save(&rec, SaveMode::Create).await.unwrap();

        // Assert
        let loaded = store.load(&rec.key, suite_now()).await.unwrap();
        assert_eq!(loaded.map(|r| r.data), Some(rec.data));
    }

    #[test]
    fn shards_are_a_power_of_two_and_never_smaller_than_a_mebibyte() {
        assert_eq!(shard_count(MIN_SHARD_BYTES / 2), 1);
        assert_eq!(shard_count(MIN_SHARD_BYTES), 1);
        assert_eq!(shard_count(3 * MIN_SHARD_BYTES), 2);
        for max_bytes in [1u64 << 20, 5 << 20, 64 << 20, 1 << 34] {
            let shards = shard_count(max_bytes) as u64;
            assert!(shards.is_power_of_two());
            assert!(
                max_bytes / shards >= MIN_SHARD_BYTES,
                "{max_bytes}: {shards}"
            );
        }
    }

    #[actix_web::test]
    async fn a_purge_frees_dead_entries_and_keeps_live_ones() {
        // Arrange: one session dead on the wall clock a second from now, one live for an hour.
        let store = MemoryStore::new(1024 * 1024);
        let now = Utc::now();
        let due = record(data(&[("n", json!(1))]), now);
        let live = record(data(&[("n", json!(2))]), now + TimeDelta::hours(1));
        store.save(&due, SaveMode::Create).await.unwrap();
        store.save(&live, SaveMode::Create).await.unwrap();
        assert_eq!(store.cache.len(), 2);

        // Act: a purge as seen two seconds later.
        store.purge(nanos(now + TimeDelta::seconds(2)));

        // Assert: only the live one still takes memory.
        assert_eq!(store.cache.len(), 1);
        assert!(store.cache.get(live.key.as_str()).is_some());
    }

    #[actix_web::test]
    async fn concurrent_creates_of_one_key_let_exactly_one_win() {
        // Arrange: 16 threads, released together, each creating the same key with its own data.
        const WRITERS: usize = 16;
        let store = MemoryStore::new(1024 * 1024);
        let key = new_session_key().unwrap();
        let expire_date = suite_now() + TimeDelta::hours(1);
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(WRITERS));
        let handle = tokio::runtime::Handle::current();

        // Act: the cache needs no runtime driver, so each blocking thread drives its own save.
        let tasks: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let (store, barrier, handle) = (store.clone(), barrier.clone(), handle.clone());
                let rec = SessionRecord {
                    key: key.clone(),
                    data: data(&[("writer", json!(writer))]),
                    expire_date,
                };
                tokio::task::spawn_blocking(move || {
                    barrier.wait();
                    let outcome = handle.block_on(store.save(&rec, SaveMode::Create));
                    (writer, outcome)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                (writer, Ok(())) => winners.push(writer),
                (_, Err(SaveError::KeyExists)) => {}
                (_, Err(other)) => panic!("a losing create must be KeyExists, got {other:?}"),
            }
        }

        // Assert: one winner, and its data is what is stored.
        assert_eq!(winners.len(), 1, "exactly one create wins: {winners:?}");
        let loaded = store.load(&key, suite_now()).await.unwrap().unwrap();
        assert_eq!(loaded.data["writer"], json!(winners[0]));
    }

    #[actix_web::test]
    async fn stored_bytes_are_python_style_json_in_insertion_order() {
        let store = MemoryStore::new(1024 * 1024);
        let rec = record(
            data(&[("z", json!("café")), ("a", json!(1.0))]),
            suite_now() + TimeDelta::hours(1),
        );
        store.save(&rec, SaveMode::Create).await.unwrap();
        let cached = store.cache.get(rec.key.as_str()).unwrap();
        assert_eq!(&*cached.data, br#"{"z":"caf\u00e9","a":1.0}"#.as_slice());
        assert_eq!(
            weigh(&rec.key, &cached),
            32 + 25 + u64::from(ENTRY_OVERHEAD_BYTES)
        );
    }
}
