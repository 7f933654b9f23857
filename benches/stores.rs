//! Micro-benchmarks of each store's `load` and `save` (Django's `load()` and `save()`), one
//! session of the basic lesson at a time, on real storage: SQLite and files in a temp dir,
//! the memory cache, Redis under a private key prefix (every key written expires within two
//! minutes) and PostgreSQL in a fresh schema (dropped at the end). A store whose service is
//! down is skipped with a note. Run with `cargo bench --bench stores`.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use criterion::{
    BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};
use serde_json::json;
use sessionlab::config::{Settings, config_dir};
use sessionlab::session::key::new_session_key;
use sessionlab::session::store::{
    DbStore, FileStore, MemoryStore, PgStore, RedisSettings, RedisStore, SessionCodec,
};
use sessionlab::session::{SaveMode, SessionData, SessionRecord, Store};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tokio::runtime::Runtime;

const SECRET_KEY: &str = "django-insecure-sessionlab-development-only-key-8c1f2a7e93d54b06";
const REDIS_URL: &str = "redis://127.0.0.1:6379/0";

fn postgres_url() -> String {
    std::env::var("SESSIONLAB_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn codec() -> SessionCodec {
    SessionCodec::new(SECRET_KEY, &[])
}

/// A fresh record of the basic lesson's session, alive for two minutes.
fn record() -> SessionRecord {
    let data: SessionData = [("name", json!("Sonam")), ("lname", json!("rathore"))]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    SessionRecord {
        key: new_session_key().expect("the OS has randomness"),
        data,
        expire_date: Utc::now() + TimeDelta::minutes(2),
    }
}

/// `load` of one existing session, `save` updating it, and `save` creating a new one.
fn bench_store(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    name: &str,
    store: &impl Store,
) {
    let existing = record();
    rt.block_on(store.save(&existing, SaveMode::Create))
        .expect("the first save works");
    group.bench_function(format!("{name}/load"), |b| {
        b.to_async(rt).iter(|| async {
            let loaded = store.load(&existing.key, Utc::now()).await;
            assert!(matches!(loaded, Ok(Some(_))), "{name}: the session loads");
        })
    });
    group.bench_function(format!("{name}/save_update"), |b| {
        b.to_async(rt).iter(|| async {
            let saved = store.save(&existing, SaveMode::Update).await;
            assert!(saved.is_ok(), "{name}: the update works");
        })
    });
    group.bench_function(format!("{name}/save_create"), |b| {
        b.to_async(rt).iter_batched(
            record,
            |fresh| async move {
                let saved = store.save(&fresh, SaveMode::Create).await;
                assert!(saved.is_ok(), "{name}: the create works");
            },
            criterion::BatchSize::SmallInput,
        )
    });
}

fn stores(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut group = c.benchmark_group("store");
    group.measurement_time(Duration::from_secs(3));

    // Memory cache.
    let memory = MemoryStore::new(64 * 1024 * 1024);
    bench_store(&mut group, &rt, "memory", &memory);

    // SQLite, Django's table, in a temp dir.
    let dir = tempfile::tempdir().expect("a temp dir");
    let env = BTreeMap::from([(
        "APP__DATABASE__URL".to_owned(),
        format!("sqlite://{}/sessions.sqlite3", dir.path().display()),
    )]);
    let settings = Settings::load_with_env(&config_dir(), "default", env).expect("settings");
    let db = rt
        .block_on(DbStore::connect(&settings))
        .expect("SQLite opens");
    bench_store(&mut group, &rt, "db_sqlite", &db);

    // One file per session.
    let files = tempfile::tempdir().expect("a temp dir");
    let file = FileStore::open(files.path(), "sessionid", codec()).expect("the dir is usable");
    bench_store(&mut group, &rt, "file", &file);

    // Redis, under a private prefix.
    let mut redis = RedisSettings::new(REDIS_URL);
    redis.key_prefix = format!("bench-{}:", new_session_key().expect("randomness"));
    match RedisStore::connect(&redis) {
        Ok(store) if rt.block_on(store.ping()).is_ok() => {
            bench_store(&mut group, &rt, "redis", &store)
        }
        _ => println!("note: Redis is not answering at {REDIS_URL}; skipping the redis store"),
    }

    // PostgreSQL, in a fresh schema.
    match rt.block_on(FreshSchema::create()) {
        Ok(schema) => {
            match rt.block_on(PgStore::connect(&schema.url, 8, codec())) {
                Ok(store) => bench_store(&mut group, &rt, "db_postgres", &store),
                Err(error) => println!("note: PostgreSQL store unusable ({error:#}); skipped"),
            }
            rt.block_on(schema.drop_schema());
        }
        Err(error) => println!("note: PostgreSQL is not answering ({error:#}); skipping it"),
    }
    group.finish();
}

/// A schema of its own for the PostgreSQL store, dropped when the benchmark is done.
struct FreshSchema {
    name: String,
    url: String,
}

impl FreshSchema {
    async fn create() -> anyhow::Result<Self> {
        let name = format!("sessionlab_bench_{}", new_session_key()?);
        let mut admin = tokio::time::timeout(
            Duration::from_secs(3),
            PgConnection::connect(&postgres_url()),
        )
        .await??;
        sqlx::query(AssertSqlSafe(format!(r#"CREATE SCHEMA "{name}""#)))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        let url = format!("{}?options=-c%20search_path%3D{name}", postgres_url());
        Ok(FreshSchema { name, url })
    }

    async fn drop_schema(self) {
        let dropped = async {
            let mut admin = PgConnection::connect(&postgres_url()).await?;
            sqlx::query(AssertSqlSafe(format!(
                r#"DROP SCHEMA "{}" CASCADE"#,
                self.name
            )))
            .execute(&mut admin)
            .await?;
            admin.close().await?;
            anyhow::Ok(())
        };
        if let Err(error) = dropped.await {
            eprintln!("could not drop schema {}: {error:#}", self.name);
        }
    }
}

criterion_group!(benches, stores);
criterion_main!(benches);
