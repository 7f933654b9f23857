//! Run-time choice of engine: [`Store`] uses `async fn`, so it is not object-safe; this enum
//! forwards each call to the engine the configuration chose.

use chrono::{DateTime, Utc};

use super::{DbStore, FileStore, PgStore, SaveError, SaveMode, SessionRecord, Store, StoreError};

/// Any of sessionlab's stores.
#[derive(Clone)]
pub enum AnyStore {
    /// The `db` engine on SQLite.
    Db(DbStore),
    /// The `db` engine on PostgreSQL.
    Postgres(PgStore),
    /// The `file` engine.
    File(FileStore),
}

impl AnyStore {
    /// How many live sessions the store holds, where it can tell.
    pub async fn count_live(&self, now: DateTime<Utc>) -> Result<Option<i64>, StoreError> {
        match self {
            AnyStore::Db(s) => s.count_live(now).await.map(Some),
            AnyStore::Postgres(s) => s.count_live(now).await.map(Some),
            AnyStore::File(s) => s.count_live(now).await.map(Some),
        }
    }
}

impl Store for AnyStore {
    fn describe(&self) -> &'static str {
        match self {
            AnyStore::Db(s) => s.describe(),
            AnyStore::Postgres(s) => s.describe(),
            AnyStore::File(s) => s.describe(),
        }
    }

    async fn load(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRecord>, StoreError> {
        match self {
            AnyStore::Db(s) => s.load(key, now).await,
            AnyStore::Postgres(s) => s.load(key, now).await,
            AnyStore::File(s) => s.load(key, now).await,
        }
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        match self {
            AnyStore::Db(s) => s.exists(key).await,
            AnyStore::Postgres(s) => s.exists(key).await,
            AnyStore::File(s) => s.exists(key).await,
        }
    }

    async fn save(&self, record: &SessionRecord, mode: SaveMode) -> Result<(), SaveError> {
        match self {
            AnyStore::Db(s) => s.save(record, mode).await,
            AnyStore::Postgres(s) => s.save(record, mode).await,
            AnyStore::File(s) => s.save(record, mode).await,
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self {
            AnyStore::Db(s) => s.delete(key).await,
            AnyStore::Postgres(s) => s.delete(key).await,
            AnyStore::File(s) => s.delete(key).await,
        }
    }

    async fn clear_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        match self {
            AnyStore::Db(s) => s.clear_expired(now).await,
            AnyStore::Postgres(s) => s.clear_expired(now).await,
            AnyStore::File(s) => s.clear_expired(now).await,
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        match self {
            AnyStore::Db(s) => s.ping().await,
            AnyStore::Postgres(s) => s.ping().await,
            AnyStore::File(s) => s.ping().await,
        }
    }
}
