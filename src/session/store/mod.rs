//! Where sessions live. One trait shaped like Django's `SessionBase` storage methods
//! (`load`/`exists`/`save(must_create)`/`delete`/`clear_expired`, and `set_expire_date` for
//! actix-session), one file per engine, and
//! [`AnyStore`] to pick an engine at run time; [`ActixSessionStore`] lends any of them to
//! actix-session.

pub mod acceptance;
pub mod actix;
mod any;
mod cached_db;
mod codec;
mod db;
mod file;
mod memory;
pub(crate) mod outages;
mod payload;
mod postgres;
mod redis;
#[cfg(target_os = "linux")]
mod unnamed_file;

pub use actix::ActixSessionStore;
pub use any::AnyStore;
pub use cached_db::CachedDbStore;
pub use codec::SessionCodec;
pub use db::DbStore;
pub use file::FileStore;
pub use memory::MemoryStore;
pub use payload::SessionPayload;
pub use postgres::PgStore;
pub use redis::{RedisSettings, RedisStore};

/// The pure decoders the stores apply to what they read back, exposed for the fuzz targets and
/// property tests (`fuzz/`, `tests/properties.rs`). Not an API: the stores are.
#[doc(hidden)]
pub mod decoders {
    pub use super::db::{parse_sqlite_datetime, sqlite_datetime};
    pub use super::redis::decode as redis_value;
}

use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

/// A session's data: a JSON object that keeps insertion order, as Python's dict does, hashed
/// with foldhash (a session's few keys are looked up several times a request; SipHash, the
/// standard map's hasher, cost more than the lookups themselves).
pub type SessionData = indexmap::IndexMap<String, Value, foldhash::fast::RandomState>;

/// What a store keeps for one session (Django's `django_session` row).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// `session_key`.
    pub key: String,
    /// The decoded `session_data`.
    pub data: SessionData,
    /// `expire_date`: after it, the session is gone.
    pub expire_date: DateTime<Utc>,
}

/// What a request's session finds in a store ([`Store::load_for_request`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Loaded {
    /// A live session.
    Live(SessionRecord),
    /// No such session: there never was one, it was deleted, or it expired.
    Missing,
    /// A session that had expired, which the store has just deleted. Only a store whose Django
    /// engine starts a new session in its place says so (the file engine's `load()` calls
    /// `create()`): the request goes on with an empty session under a new key, which the
    /// response's cookie carries. The other engines answer an expired session as
    /// [`Loaded::Missing`], and the browser's cookie is deleted.
    Expired,
}

impl Loaded {
    /// The live session's record, if there is one.
    pub fn into_record(self) -> Option<SessionRecord> {
        match self {
            Loaded::Live(record) => Some(record),
            Loaded::Missing | Loaded::Expired => None,
        }
    }
}

/// Django's `must_create` flag of `save()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveMode {
    /// `must_create=True`: fail with [`SaveError::KeyExists`] if the key is taken.
    Create,
    /// `must_create=False`: fail with [`SaveError::Missing`] if the session is gone.
    Update,
}

impl SaveMode {
    /// The mode that succeeds where this one failed only on the key's presence (a create on a
    /// taken key, an update on a missing one).
    pub fn other(self) -> SaveMode {
        match self {
            SaveMode::Create => SaveMode::Update,
            SaveMode::Update => SaveMode::Create,
        }
    }
}

/// `at` within the years 1 to 9999 that Python's `datetime` (and so Django's `expire_date`)
/// holds. Expiry arithmetic saturates at chrono's ends (years ±262 143), which neither SQLite's
/// text dates (four-digit years, compared as text) nor PostgreSQL's `timestamptz` (from
/// 4713 BC) hold; a date past either end is as past, or as far away, as the end itself.
pub(crate) fn within_python_years(at: DateTime<Utc>) -> DateTime<Utc> {
    let first = NaiveDate::from_ymd_opt(1, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0));
    let last = NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_micro_opt(23, 59, 59, 999_999));
    match (first, last) {
        (Some(first), Some(last)) => at.clamp(first.and_utc(), last.and_utc()),
        _ => at,
    }
}

/// The store could not be reached or refused to work; the request answers 503.
#[derive(Debug, thiserror::Error)]
#[error(
    "the session store ({engine}) is unavailable: {}",
    crate::error::chain_text(.source.as_ref())
)]
pub struct StoreError {
    /// Which store failed, for the log and the error page.
    pub engine: &'static str,
    /// The underlying failure.
    #[source]
    pub source: anyhow::Error,
}

impl StoreError {
    /// Wraps a store failure.
    pub fn new(engine: &'static str, source: impl Into<anyhow::Error>) -> Self {
        StoreError {
            engine,
            source: source.into(),
        }
    }

    /// Why the store failed, in words a visitor may read: the kind of failure found among the
    /// causes (a full disk, a read-only file system, a lock another process holds), never a
    /// path, an address or a message of the storage's own, which stay in the log.
    pub fn cause_for_visitor(&self) -> &'static str {
        self.source
            .chain()
            .find_map(kind_of_failure)
            .unwrap_or("it failed or did not answer (the server's log has the details)")
    }
}

/// The visitor's words for `error`, when it is a failure of a kind they can be told.
fn kind_of_failure(error: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    use std::io::ErrorKind;
    if error.is::<db::FileGone>() {
        return Some("its database file was deleted or replaced while the server runs");
    }
    if let Some(error) = error.downcast_ref::<std::io::Error>() {
        return match error.kind() {
            ErrorKind::StorageFull | ErrorKind::QuotaExceeded => Some("the disk is full"),
            ErrorKind::ReadOnlyFilesystem => Some("its storage is read-only"),
            ErrorKind::PermissionDenied => Some("permission to its files is denied"),
            ErrorKind::NotFound => Some("a file or directory it needs is missing"),
            ErrorKind::ConnectionRefused => Some("it refuses connections"),
            ErrorKind::TimedOut => Some("it did not answer in time"),
            _ => None,
        };
    }
    let sqlite = error.downcast_ref::<rusqlite::ffi::Error>()?;
    match sqlite.code {
        rusqlite::ErrorCode::DiskFull => Some("the disk is full"),
        rusqlite::ErrorCode::ReadOnly => Some("its storage is read-only"),
        rusqlite::ErrorCode::PermissionDenied => Some("permission to its files is denied"),
        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
            Some("the database is locked by another process")
        }
        rusqlite::ErrorCode::CannotOpen => Some("its database file cannot be opened"),
        rusqlite::ErrorCode::NotADatabase => Some("its database file is not a SQLite database"),
        _ => None,
    }
}

/// Whether a query that failed on a connection of `pool` is sent again on another: only when
/// the connection was `reused` (it sat idle in the pool) and the server had `ended` it (a
/// restart), and at most once per connection the pool may hold (`retries` so far). The pool's
/// size is read last, when the rest holds: `status()` takes the pool's lock.
fn send_again<M: deadpool::managed::Manager>(
    pool: &deadpool::managed::Pool<M>,
    reused: bool,
    ended: bool,
    retries: usize,
) -> bool {
    reused && ended && retries < pool.status().max_size
}

/// Why a `save()` failed.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// Django's `CreateError`: the key is taken (draw another one).
    #[error("a session with this key already exists")]
    KeyExists,
    /// Django's `UpdateError`: the session was deleted (by another request) meanwhile.
    #[error("the session was deleted before it could be saved")]
    Missing,
    /// The store cannot keep a session this large; the text gives its size and the limit.
    /// Trying again would fail again, so it is the request's error, not an outage.
    #[error("{0}")]
    TooLarge(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A session store with Django's storage semantics. Keys handed to a store have passed
/// [`crate::session::key::is_storable_session_key`] where it matters; stores check again
/// wherever a key could reach a path or a query.
pub trait Store {
    /// The engine's name for logs, `/healthz` and the inspector (`"db (SQLite)"`).
    fn describe(&self) -> &'static str;

    /// What tells this store from another of its engine, for the log of store failures
    /// (`store/outages.rs`): the engine and where the store keeps its sessions (a database's path or
    /// URL, a cache's URL and key prefix, a directory), never a password. Two lessons on one
    /// store share it; by default, the engine's name.
    fn identity(&self) -> &str {
        self.describe()
    }

    /// Django's `load()`: the record of a live session (its data and expiry date), `None` when
    /// there is no such session or it expired at or before `now`. Data that cannot be decoded
    /// reads as empty (and is logged).
    fn load(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<SessionRecord>, StoreError>>;

    /// [`Store::load`] as a request's session reads it: a store whose Django engine replaces an
    /// expired session with a new one reports [`Loaded::Expired`] instead of
    /// [`Loaded::Missing`].
    fn load_for_request(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Loaded, StoreError>> {
        async move {
            Ok(match self.load(key, now).await? {
                Some(record) => Loaded::Live(record),
                None => Loaded::Missing,
            })
        }
    }

    /// Django's `exists()`: whether the key is taken (expired or not).
    fn exists(&self, key: &str) -> impl Future<Output = Result<bool, StoreError>>;

    /// Django's `save(must_create)`.
    fn save(
        &self,
        record: &SessionRecord,
        mode: SaveMode,
    ) -> impl Future<Output = Result<(), SaveError>>;

    /// Moves the `expire_date` of the session live at `now` under `key` to `expire_date`,
    /// leaving its data as it is, in one step, so that data another request saves meanwhile is
    /// kept (actix-session's `update_ttl`; Django's storage has no such method). `false` when
    /// there is no such session.
    fn set_expire_date(
        &self,
        key: &str,
        expire_date: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>>;

    /// Django's `delete()`; deleting a missing session is not an error.
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>>;

    /// Django's `clear_expired()`: removes sessions that expired before `now`; returns how
    /// many were removed.
    fn clear_expired(&self, now: DateTime<Utc>) -> impl Future<Output = Result<u64, StoreError>>;

    /// Whether the store answers (for `/healthz`).
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>>;
}
