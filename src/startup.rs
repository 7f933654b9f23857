//! Builds the running server: opens the stores, binds the listener first (so tests can ask for
//! port 0 and read the real port back), and mounts one scope per lesson and the playground,
//! each behind its own session middleware.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{Condition, ErrorHandlers, Logger};
use actix_web::{App, HttpServer, web};
use anyhow::Context;

use crate::body_deadline::BodyDeadline;
use crate::config::{
    CacheBackend, DatabaseKind, Engine, ServerSettings, SessionSettings, Settings,
    database_path_kind,
};
use crate::lessons::{self, LESSONS, LessonContext};
use crate::methods::{self, Methods};
use crate::playground;
use crate::render::Renderer;
use crate::routes;
use crate::security_headers::SecurityHeaders;
use crate::session::store::{
    AnyStore, CachedDbStore, DbStore, FileStore, MemoryStore, PgStore, RedisSettings, RedisStore,
    SessionCodec,
};
use crate::session::{
    SessionBackend, SessionEngine, SharedClock, SignedCookies, Store, SystemClock,
};

/// Which store a lesson's settings call for; lessons with equal specs share one store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StoreSpec {
    /// The `db` engine on `[database] url`.
    Db,
    /// The `file` engine: files named `<prefix><key>` in `dir`.
    File {
        /// `SESSION_FILE_PATH`, resolved.
        dir: PathBuf,
        /// The cookie name, Django's file name prefix.
        prefix: String,
    },
    /// The `cache` engine on `[caches.<alias>]`.
    Cache(String),
    /// The `cached_db` engine: `[caches.<alias>]` over `[database] url`.
    CachedDb(String),
}

/// Django's cache key prefix of the `cache` engine.
const CACHE_KEY_PREFIX: &str = "django.contrib.sessions.cache";
/// Django's cache key prefix of the `cached_db` engine.
const CACHED_DB_KEY_PREFIX: &str = "django.contrib.sessions.cached_db";
/// The memory cache's default bound.
const DEFAULT_MEMORY_CACHE_BYTES: u64 = 64 * 1024 * 1024;

impl StoreSpec {
    /// The store `settings` call for, or `None` for engines without one (`signed_cookies`).
    pub fn for_session(
        settings: &Settings,
        session: &SessionSettings,
    ) -> anyhow::Result<Option<StoreSpec>> {
        Ok(match session.engine {
            Engine::Db => Some(StoreSpec::Db),
            Engine::File => Some(StoreSpec::File {
                dir: settings.session_file_dir(session),
                prefix: session.cookie_name.clone(),
            }),
            Engine::Cache => Some(StoreSpec::Cache(session.cache_alias.clone())),
            Engine::CachedDb => Some(StoreSpec::CachedDb(session.cache_alias.clone())),
            Engine::SignedCookies => None,
        })
    }

    /// A short name for `/healthz` and `clearsessions`.
    pub fn name(&self) -> String {
        match self {
            StoreSpec::Db => "db".to_owned(),
            StoreSpec::File { prefix, .. } => format!("file:{prefix}"),
            StoreSpec::Cache(alias) => format!("cache:{alias}"),
            StoreSpec::CachedDb(alias) => format!("cached_db:{alias}"),
        }
    }

    /// Whether the store keeps its sessions in `[database] url`.
    fn is_on_the_database(&self) -> bool {
        matches!(self, StoreSpec::Db | StoreSpec::CachedDb(_))
    }

    /// Opens the store; `database` is the store on `[database] url` once a spec has opened
    /// it, which every spec on the database shares.
    async fn open(
        &self,
        settings: &Settings,
        database: &mut Option<AnyStore>,
    ) -> anyhow::Result<AnyStore> {
        Ok(match self {
            StoreSpec::Cache(alias) => open_cache(settings, alias, CACHE_KEY_PREFIX)?,
            StoreSpec::CachedDb(alias) => {
                let db = open_database(settings, database).await?;
                let cache = open_cache(settings, alias, CACHED_DB_KEY_PREFIX)?;
                AnyStore::CachedDb(Arc::new(CachedDbStore::new(db, cache)))
            }
            StoreSpec::Db => open_database(settings, database).await?,
            StoreSpec::File { dir, prefix } => {
                if settings.uses_default_file_dir(dir) {
                    std::fs::create_dir_all(dir).with_context(|| {
                        format!("cannot create the session file directory {}", dir.display())
                    })?;
                }
                AnyStore::File(FileStore::open(
                    dir,
                    prefix,
                    SessionCodec::from_settings(settings),
                )?)
            }
        })
    }
}

/// The store on `[database] url`: `opened` when a spec opened it already, else opened now and
/// kept there. The `db` engine's store and the database behind every `cached_db` cache are
/// this one store, as Django's engines share the `default` database: on SQLite, one writer,
/// one checkpointer, and one move to the file at the path when the file is deleted or
/// replaced, which every lesson on the database reads from at once (two stores on the file
/// would each go on reading the file they had open until their own next write or health
/// check).
async fn open_database(
    settings: &Settings,
    opened: &mut Option<AnyStore>,
) -> anyhow::Result<AnyStore> {
    if let Some(store) = opened {
        return Ok(store.clone());
    }
    let store = match database_path_kind(&settings.database.url).map_err(anyhow::Error::msg)? {
        DatabaseKind::Postgres => AnyStore::Postgres(
            PgStore::connect(
                &settings.database.url,
                settings.database.max_connections,
                SessionCodec::from_settings(settings),
            )
            .await?,
        ),
        DatabaseKind::SqliteFile(_) | DatabaseKind::SqliteMemory => {
            AnyStore::Db(DbStore::connect(settings).await?)
        }
    };
    Ok(opened.insert(store).clone())
}

/// Opens cache `alias` for sessions under Django's `session_prefix`.
fn open_cache(settings: &Settings, alias: &str, session_prefix: &str) -> anyhow::Result<AnyStore> {
    let cache = settings
        .cache(alias)
        .with_context(|| format!("there is no [caches.{alias}]"))?;
    Ok(match cache.backend {
        Some(CacheBackend::Memory) | None => AnyStore::Memory(MemoryStore::new(
            cache.max_bytes.unwrap_or(DEFAULT_MEMORY_CACHE_BYTES),
        )),
        Some(CacheBackend::Redis) => {
            let url = cache
                .url
                .clone()
                .with_context(|| format!("[caches.{alias}] has no url"))?;
            let mut redis = RedisSettings::new(url);
            redis.key_prefix = format!(
                "{}{session_prefix}",
                cache.key_prefix.as_deref().unwrap_or("")
            );
            if let Some(pool_size) = cache.pool_size {
                redis.pool_size = pool_size;
            }
            if let Some(ms) = cache.timeout_ms {
                let timeout = std::time::Duration::from_millis(ms);
                redis.connect_timeout = timeout;
                redis.wait_timeout = timeout;
                redis.response_timeout = timeout;
            }
            AnyStore::Redis(
                RedisStore::connect(&redis)
                    .with_context(|| format!("cannot set up the Redis cache [caches.{alias}]"))?,
            )
        }
    })
}

/// Every scope with a session of its own, the lessons then the playground, by slug, with its
/// effective session settings.
pub fn session_scopes(
    settings: &Settings,
) -> impl Iterator<Item = (&'static str, SessionSettings)> + '_ {
    LESSONS
        .iter()
        .map(|lesson| {
            (
                lesson.slug,
                settings.lesson_session(lesson.slug, &lesson.mount_path()),
            )
        })
        .chain([(playground::SLUG, playground::session_settings(settings))])
}

/// The stores the configuration needs, each opened once and shared by the lessons using it;
/// the `db` store and each `cached_db` store's database are one store.
#[derive(Clone)]
pub struct Stores {
    by_spec: BTreeMap<StoreSpec, AnyStore>,
}

impl Stores {
    /// Opens every store some lesson's (or the playground's) settings name.
    pub async fn open(settings: &Settings) -> anyhow::Result<Self> {
        let mut by_spec = BTreeMap::new();
        let mut database = None;
        for (_, session) in session_scopes(settings) {
            let Some(spec) = StoreSpec::for_session(settings, &session)? else {
                continue;
            };
            if let Entry::Vacant(slot) = by_spec.entry(spec) {
                let store = slot.key().open(settings, &mut database).await?;
                slot.insert(store);
            }
        }
        Ok(Stores { by_spec })
    }

    /// The first store on the database `spec`'s store keeps its sessions in, when that is
    /// another store (the `db` store, before a `cached_db` store in [`Stores::iter`]); `None`
    /// when `spec`'s store is the first on its database or on none. Its database is that
    /// store's, so `clearsessions`, the instructor's button and `clear_expired_every` clear
    /// it once, through the first store, and `/healthz` reports the first store's check for
    /// it.
    pub fn shares_database_with(&self, spec: &StoreSpec) -> Option<&StoreSpec> {
        if !spec.is_on_the_database() {
            return None;
        }
        self.by_spec
            .keys()
            .find(|first| first.is_on_the_database())
            .filter(|first| *first != spec)
    }

    /// Every store to clear of expired sessions, with its spec: each open store, less those
    /// whose database another one clears ([`Stores::shares_database_with`]).
    pub fn to_clear(&self) -> impl Iterator<Item = (&StoreSpec, &AnyStore)> {
        self.iter()
            .filter(|(spec, _)| self.shares_database_with(spec).is_none())
    }

    /// The backend a lesson with `session` settings uses.
    pub fn backend_for(
        &self,
        settings: &Settings,
        session: &SessionSettings,
    ) -> anyhow::Result<SessionBackend> {
        match StoreSpec::for_session(settings, session)? {
            None => Ok(SessionBackend::SignedCookies(SignedCookies::from_settings(
                settings,
            ))),
            Some(spec) => self
                .by_spec
                .get(&spec)
                .cloned()
                .map(SessionBackend::Store)
                .with_context(|| format!("the {} store was not opened", spec.name())),
        }
    }

    /// Every open store with its spec.
    pub fn iter(&self) -> impl Iterator<Item = (&StoreSpec, &AnyStore)> {
        self.by_spec.iter()
    }

    /// Logs a warning for each store that does not answer now. A store whose connections
    /// are opened on demand (Redis) is no reason to refuse to start, as its outage is served
    /// as one (503 until it answers); but the log says so at start, not at the first request.
    async fn warn_about_unavailable(&self) {
        for (spec, store) in self.iter() {
            if let Err(error) = store.ping_at_start().await {
                tracing::warn!(
                    store = %spec.name(),
                    %error,
                    "a session store does not answer at start; pages that need it are a 503 until it does"
                );
            }
        }
    }
}

/// Everything shared by all workers.
pub struct AppState {
    /// The settings the server runs with.
    pub settings: Settings,
    /// The open stores.
    pub stores: Stores,
    /// Each lesson's session engine, in lesson order.
    pub engines: Vec<(&'static lessons::Lesson, Arc<SessionEngine>)>,
    /// The playground's session engine.
    pub playground: Arc<SessionEngine>,
    /// The clock.
    pub clock: SharedClock,
}

/// A server bound to its port, not yet running.
pub struct Application {
    port: u16,
    server: Server,
}

/// Binds the listener on `[server] host` and `port`. The error names the address and what to
/// change: the host when it is not an address of this machine, the port when it is taken.
fn listen(server: &ServerSettings) -> anyhow::Result<TcpListener> {
    let address = server.address();
    let addrs = server.socket_addrs().with_context(|| {
        format!(
            "cannot listen on {address}: `server.host` = {:?} is neither an IP address nor a host name that resolves; allowed: an address of this machine such as 127.0.0.1, 0.0.0.0 or ::1 (set APP__SERVER__HOST)",
            server.host
        )
    })?;
    TcpListener::bind(&addrs[..]).map_err(|error| {
        let advice = match error.kind() {
            std::io::ErrorKind::AddrInUse => "set APP__SERVER__PORT to another port".to_owned(),
            std::io::ErrorKind::AddrNotAvailable => format!(
                "`server.host` = {:?} is not an address of this machine; allowed: one of its addresses, 0.0.0.0 or :: (set APP__SERVER__HOST)",
                server.host
            ),
            std::io::ErrorKind::PermissionDenied => {
                "ports below 1024 need privileges; set APP__SERVER__PORT to 1024 or more".to_owned()
            }
            _ => "check APP__SERVER__HOST and APP__SERVER__PORT".to_owned(),
        };
        anyhow::Error::new(error).context(format!("cannot listen on {address} ({advice})"))
    })
}

impl Application {
    /// Builds the server with the wall clock.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// Builds the server with `clock` as its notion of now (tests move a fake one).
    pub async fn build_with_clock(settings: Settings, clock: SharedClock) -> anyhow::Result<Self> {
        let listener = listen(&settings.server)?;
        let listening = listener.local_addr()?;
        let port = listening.port();
        let base_url = lessons::local_base_url(listening);
        let stores = Stores::open(&settings).await?;
        stores.warn_about_unavailable().await;
        let renderer = web::Data::new(Renderer::load()?);
        let engines = LESSONS
            .iter()
            .map(|lesson| {
                let lesson_settings = settings.lesson_session(lesson.slug, &lesson.mount_path());
                let backend = stores.backend_for(&settings, &lesson_settings)?;
                Ok((
                    lesson,
                    Arc::new(SessionEngine {
                        settings: lesson_settings,
                        backend,
                        clock: clock.clone(),
                    }),
                ))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let playground_settings = playground::session_settings(&settings);
        let playground_engine = Arc::new(SessionEngine {
            backend: stores.backend_for(&settings, &playground_settings)?,
            settings: playground_settings,
            clock: clock.clone(),
        });
        if let Some(period) = settings.clear_expired_every() {
            actix_web::rt::spawn(sweep_expired_sessions(
                stores.clone(),
                clock.clone(),
                period,
            ));
        }
        let lesson_contexts = engines
            .iter()
            .map(|(lesson, engine)| {
                LessonContext::new(lesson, engine.clone(), &renderer, &base_url).map(web::Data::new)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let workers = settings.server.workers;
        let state = web::Data::new(AppState {
            settings,
            stores,
            engines,
            playground: playground_engine.clone(),
            clock,
        });
        let access_log = access_log_enabled();
        let instructor_access = web::Data::new(crate::instructor::Access::new()?);
        let mut server = HttpServer::new(move || {
            let mut app = App::new()
                .wrap(BodyDeadline)
                .wrap(ErrorHandlers::new().default_handler(routes::render_error))
                .wrap(SecurityHeaders)
                .wrap(Condition::new(access_log, access_logger()))
                .app_data(state.clone())
                .app_data(renderer.clone())
                .service(methods::resource("/", Methods::Read, routes::index))
                .service(methods::resource(
                    "/healthz",
                    Methods::Read,
                    routes::healthz,
                ))
                // A scope: its fixed prefix is matched by comparing text, where a resource
                // with a `{file}` segment would run its regex for every request it does not
                // answer, as every lesson request passes it.
                .service(web::scope("/static").service(methods::resource(
                    "/{file}",
                    Methods::Read,
                    routes::static_file,
                )));
            if state.settings.instructor.enabled {
                app = app.service(crate::instructor::scope(instructor_access.clone()));
            }
            for context in &lesson_contexts {
                app = app.service(lessons::scope(context.clone()));
            }
            app = app.service(playground::scope(playground_engine.clone()));
            app.default_service(web::to(routes::not_found))
        })
        .listen(listener)?;
        if let Some(workers) = workers {
            server = server.workers(workers);
        }
        Ok(Application {
            port,
            server: server.run(),
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until the server is stopped (Ctrl-C, SIGTERM or the handle).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The access log's target: `RUST_LOG=sessionlab::access=off` silences it.
const ACCESS_LOG_TARGET: &str = "sessionlab::access";

/// One line per request: address, request line, status, size and time.
fn access_logger() -> Logger {
    Logger::new("%a \"%r\" %s %b %Dms").log_target(ACCESS_LOG_TARGET)
}

/// Whether the log filter lets access lines through. The logger formats each request's
/// fields before the filter sees them (about a tenth of a lesson answer's work), so it is
/// left out of the stack when they would be dropped anyway (`RUST_LOG=warn`).
fn access_log_enabled() -> bool {
    tracing::enabled!(target: ACCESS_LOG_TARGET, tracing::Level::INFO)
}

/// `[session] clear_expired_every`: Django's `clearsessions`, run by the server itself.
async fn sweep_expired_sessions(stores: Stores, clock: SharedClock, period: std::time::Duration) {
    let mut ticks = actix_web::rt::time::interval(period);
    // The first tick is immediate: start with a clean store.
    loop {
        ticks.tick().await;
        for (spec, store) in stores.to_clear() {
            match store.clear_expired(clock.now()).await {
                Ok(0) => {}
                Ok(removed) => {
                    tracing::info!(store = %spec.name(), removed, "cleared expired sessions")
                }
                // The store's own calls tell the log of store failures (`store/outages.rs`)
                // when a failure starts, changes and ends; a line per sweep would repeat it
                // every `clear_expired_every` while the store is down.
                Err(error) => {
                    tracing::debug!(store = %spec.name(), %error, "could not clear expired sessions")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::fixtures::load;
    use crate::session::store::{SaveMode, SessionRecord, Store};

    /// The stores of the default configuration with `/dict/` on `cached_db`, on an in-memory
    /// SQLite database (each store opened on `sqlite::memory:` is a database of its own).
    async fn db_and_cached_db_in_memory() -> Stores {
        let settings = load(
            "default",
            &[
                ("APP__DATABASE__URL", "sqlite::memory:"),
                ("APP__LESSONS__DICT__ENGINE", "cached_db"),
            ],
        )
        .unwrap();
        Stores::open(&settings).await.unwrap()
    }

    #[actix_web::test]
    async fn the_cached_db_store_reads_the_db_stores_database() {
        // Arrange
        let stores = db_and_cached_db_in_memory().await;
        let cached_db = StoreSpec::CachedDb("default".to_owned());
        let now = chrono::Utc::now();
        let record = SessionRecord {
            key: "sharedsharedsharedshared00000001".to_owned(),
            data: serde_json::from_value(serde_json::json!({"lname": "rathore"})).unwrap(),
            expire_date: now + chrono::TimeDelta::hours(1),
        };

        // Act: a session saved by the `db` store, then read by the `cached_db` one, whose
        // cache never saw it.
        stores.by_spec[&StoreSpec::Db]
            .save(&record, SaveMode::Create)
            .await
            .unwrap();
        let loaded = stores.by_spec[&cached_db]
            .load(&record.key, now)
            .await
            .unwrap();

        // Assert
        assert_eq!(loaded.map(|found| found.data), Some(record.data));
    }

    #[actix_web::test]
    async fn the_database_is_cleared_through_the_first_store_on_it_alone() {
        // Arrange
        let stores = db_and_cached_db_in_memory().await;

        // Act
        let cleared: Vec<(String, Option<String>)> = stores
            .iter()
            .map(|(spec, _)| {
                (
                    spec.name(),
                    stores.shares_database_with(spec).map(StoreSpec::name),
                )
            })
            .collect();
        let to_clear: Vec<String> = stores.to_clear().map(|(spec, _)| spec.name()).collect();

        // Assert
        assert_eq!(
            cleared,
            [
                ("db".to_owned(), None),
                ("cached_db:default".to_owned(), Some("db".to_owned())),
            ]
        );
        assert_eq!(to_clear, ["db"]);
    }
}
