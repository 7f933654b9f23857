//! The `cache` engine on an in-process cache (Django's `LocMemCache` behind
//! `SESSION_ENGINE = "django.contrib.sessions.backends.cache"`): bounded in bytes, each session
//! dropped at its `expire_date`, nothing shared between processes and nothing kept on restart.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use moka::Expiry;
use moka::future::Cache;
use moka::ops::compute::{CompResult, Op};

use super::{SaveError, SaveMode, SessionData, SessionRecord, Store, StoreError};
use crate::session::key::is_storable_session_key;
use crate::signing::python_json_bytes;

const ENGINE: &str = "cache (memory)";

/// Bytes the weigher adds to every entry for what it costs beyond its key and data: moka's
/// entry node, hash-table slot, access-order deque and timer-wheel nodes, the `Arc`s around key
/// and value, this module's 24-byte `Cached`, and the allocator's own bookkeeping.
///
/// Measured (release build, 32-byte keys, 10 000 to 1 000 000 sessions): a counting global
/// allocator sees 289–300 bytes requested per session beyond key and data (moka alone, with
/// per-entry expiry, `u64` keys and `()` values: 257–261); the process's resident memory grows
/// by about 422 bytes per session beyond key and data with glibc's malloc (about eight
/// allocations per entry, each with its header and rounding). The weigher counts the resident
/// figure, so `max_bytes` bounds real memory.
pub const ENTRY_OVERHEAD_BYTES: u32 = 424;

/// Shortest lifetime handed to the cache (as for Redis, which refuses `EX 0`): an entry that
/// is already due still lives this long, and `load`, which compares with `now`, hides it.
const MIN_TTL: Duration = Duration::from_secs(1);

/// What the cache keeps per session, in 24 bytes plus the data: when the session expires, and
/// the data as the bytes of Python-style JSON (compact, insertion order kept). A `Box`, not an
/// `Arc`: the reference counts would cost 16 bytes per session for as long as it lives, the
/// copy each `get` makes only for the moment it is decoded.
#[derive(Clone)]
struct Cached {
    /// `expire_date` in nanoseconds since the epoch (8 bytes instead of `DateTime`'s 12 + 4 of
    /// padding); dates past 2262 are kept as 2262, which is still "not expired".
    expire_nanos: i64,
    data: Box<[u8]>,
}

impl Cached {
    fn of(record: &SessionRecord) -> Self {
        Cached {
            expire_nanos: nanos(record.expire_date),
            data: python_json_bytes(&record.data).into_boxed_slice(),
        }
    }

    fn expire_date(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(self.expire_nanos)
    }

    /// Django loads a session only while `expire_date > now`.
    fn is_expired_at(&self, now: DateTime<Utc>) -> bool {
        self.expire_nanos <= nanos(now)
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

/// Drops every entry at its own `expire_date` (judged on the wall clock), re-computed on update.
struct UntilExpireDate;

impl Expiry<Box<str>, Cached> for UntilExpireDate {
    fn expire_after_create(
        &self,
        _key: &Box<str>,
        value: &Cached,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(time_to_live(value.expire_date(), Utc::now()))
    }

    fn expire_after_update(
        &self,
        _key: &Box<str>,
        value: &Cached,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(time_to_live(value.expire_date(), Utc::now()))
    }
}

/// How long the cache keeps an entry expiring at `expire_date`, seen at `now`: at least
/// [`MIN_TTL`].
fn time_to_live(expire_date: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (expire_date - now)
        .to_std()
        .map_or(MIN_TTL, |ttl| ttl.max(MIN_TTL))
}

/// The weigher: approximate bytes an entry costs (key, data, [`ENTRY_OVERHEAD_BYTES`]).
fn weigh(key: &str, value: &Cached) -> u32 {
    let bytes = key.len().saturating_add(value.data.len());
    u32::try_from(bytes)
        .unwrap_or(u32::MAX)
        .saturating_add(ENTRY_OVERHEAD_BYTES)
}

/// Sessions in this process's memory, Django's `cache` engine on a local-memory cache. When
/// the configured bytes are used up, the least valuable sessions are evicted (their visitors
/// get a new, empty session, as with a full memcached).
#[derive(Clone)]
pub struct MemoryStore {
    cache: Cache<Box<str>, Cached>,
}

impl MemoryStore {
    /// A store holding at most about `max_bytes` of sessions (key + data + a fixed
    /// [`ENTRY_OVERHEAD_BYTES`] per session).
    pub fn new(max_bytes: u64) -> Self {
        let cache = Cache::<Box<str>, Cached>::builder()
            .name("sessions")
            .max_capacity(max_bytes)
            .weigher(|key, value| weigh(key, value))
            .expire_after(UntilExpireDate)
            .build();
        MemoryStore { cache }
    }

    /// How many sessions the cache holds, after it has applied pending evictions and
    /// expirations (sessions that expired on a fake clock but not yet on the wall clock count).
    pub async fn count_live(&self) -> u64 {
        self.cache.run_pending_tasks().await;
        self.cache.entry_count()
    }

    async fn create(&self, record: &SessionRecord) -> Result<(), SaveError> {
        let value = Cached::of(record);
        let entry = self
            .cache
            .entry(Box::from(record.key.as_str()))
            .or_insert_with(async move { value })
            .await;
        // `is_fresh`: this call inserted it, so nobody held the key (Django's `cache.add`).
        if entry.is_fresh() {
            Ok(())
        } else {
            Err(SaveError::KeyExists)
        }
    }

    async fn update(&self, record: &SessionRecord) -> Result<(), SaveError> {
        let value = Cached::of(record);
        // Replace only what is there, in one step: a session deleted (or expired) meanwhile
        // by another request is not brought back (Django's `UpdateError`).
        let result = self
            .cache
            .entry(Box::from(record.key.as_str()))
            .and_compute_with(|existing| async move {
                match existing {
                    Some(_) => Op::Put(value),
                    None => Op::Nop,
                }
            })
            .await;
        match result {
            CompResult::ReplacedWith(_) => Ok(()),
            CompResult::StillNone(_) => Err(SaveError::Missing),
            other => Err(StoreError::new(
                ENGINE,
                anyhow::anyhow!("unexpected cache outcome of an update: {other:?}"),
            )
            .into()),
        }
    }
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

    async fn load(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRecord>, StoreError> {
        if !is_storable_session_key(key) {
            return Ok(None);
        }
        let Some(cached) = self.cache.get(key).await else {
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
            SessionData::new()
        });
        Ok(Some(SessionRecord {
            key: key.to_owned(),
            data,
            expire_date: cached.expire_date(),
        }))
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        // Django's `key in cache`: the key is taken while the cache holds it.
        Ok(is_storable_session_key(key) && self.cache.contains_key(key))
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
            SaveMode::Create => self.create(record).await,
            SaveMode::Update => self.update(record).await,
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        if is_storable_session_key(key) {
            self.cache.invalidate(key).await;
        }
        Ok(())
    }

    /// Django's cache engine does nothing here: the cache drops each session by itself at its
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
                let weighed = store.cache.weighted_size();
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
    fn time_to_live_runs_to_the_expire_date_and_is_at_least_a_second() {
        let now = suite_now();
        assert_eq!(
            time_to_live(now + TimeDelta::seconds(600), now),
            Duration::from_secs(600)
        );
        assert_eq!(time_to_live(now, now), MIN_TTL);
        let far = DateTime::<Utc>::MAX_UTC;
        assert!(!Cached::of(&record(SessionData::new(), far)).is_expired_at(now));
        assert_eq!(time_to_live(now - TimeDelta::days(1), now), MIN_TTL);
        assert_eq!(
            time_to_live(now + TimeDelta::milliseconds(1500), now),
            Duration::from_millis(1500)
        );
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

        // Act: moka needs no runtime driver, so each blocking thread drives its own save.
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
        let cached = store.cache.get(rec.key.as_str()).await.unwrap();
        assert_eq!(&*cached.data, br#"{"z":"caf\u00e9","a":1.0}"#.as_slice());
        assert_eq!(weigh(&rec.key, &cached), 32 + 25 + ENTRY_OVERHEAD_BYTES);
    }
}
