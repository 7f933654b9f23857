//! The `cached_db` engine: Django's write-through cache over the database. Reads try the cache
//! first and fall back to the database (refilling the cache); writes go to the database, then
//! the cache. The database is the truth: a failing cache is logged, never fatal.

use chrono::{DateTime, Utc};

use super::{SaveError, SaveMode, SessionRecord, Store, StoreError};

/// A cache in front of a database store.
#[derive(Clone)]
pub struct CachedDbStore<Db, Cache> {
    db: Db,
    cache: Cache,
}

impl<Db: Store, Cache: Store> CachedDbStore<Db, Cache> {
    /// `cache` in front of `db`.
    pub fn new(db: Db, cache: Cache) -> Self {
        CachedDbStore { db, cache }
    }

    /// The database behind the cache.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Django's `cache.set(key, data, timeout)`: puts the record in the cache whether or not
    /// it is there already. Failures are logged (Django: "Error saving to cache").
    async fn put_in_cache(&self, record: &SessionRecord) {
        let mut result = self.cache.save(record, SaveMode::Update).await;
        if matches!(result, Err(SaveError::Missing)) {
            result = self.cache.save(record, SaveMode::Create).await;
            if matches!(result, Err(SaveError::KeyExists)) {
                result = self.cache.save(record, SaveMode::Update).await;
            }
        }
        if let Err(error) = result {
            tracing::warn!(cache = self.cache.describe(), %error, "Error saving to cache");
        }
    }

    async fn forget_in_cache(&self, key: &str) {
        if let Err(error) = self.cache.delete(key).await {
            tracing::warn!(cache = self.cache.describe(), %error, "Error deleting from cache");
        }
    }
}

impl<Db: Store, Cache: Store> Store for CachedDbStore<Db, Cache> {
    fn describe(&self) -> &'static str {
        "cached_db"
    }

    async fn load(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRecord>, StoreError> {
        match self.cache.load(key, now).await {
            Ok(Some(record)) => return Ok(Some(record)),
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(cache = self.cache.describe(), %error, "cache unavailable; reading the database");
            }
        }
        let record = self.db.load(key, now).await?;
        if let Some(record) = &record {
            self.put_in_cache(record).await;
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
        self.db.save(record, mode).await?;
        self.put_in_cache(record).await;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.db.delete(key).await?;
        self.forget_in_cache(key).await;
        Ok(())
    }

    async fn clear_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        // Cache entries expire by themselves; the database keeps the truth.
        self.db.clear_expired(now).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        if let Err(error) = self.cache.ping().await {
            tracing::warn!(%error, "the cache of a cached_db store is down; serving from the database");
        }
        self.db.ping().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Settings, config_dir};
    use crate::session::store::DbStore;
    use crate::session::store::acceptance::{acceptance_suite, suite_now};
    use serde_json::json;
    use std::collections::BTreeMap;

    async fn memory_db() -> DbStore {
        let env = BTreeMap::from([(
            "APP__DATABASE__URL".to_owned(),
            "sqlite::memory:".to_owned(),
        )]);
        let settings = Settings::load_with_env(&config_dir(), "default", env).unwrap();
        DbStore::connect(&settings).await.unwrap()
    }

    fn record(key: &str) -> SessionRecord {
        SessionRecord {
            key: key.to_owned(),
            data: json!({"name": "Sonam"}).as_object().unwrap().clone(),
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
