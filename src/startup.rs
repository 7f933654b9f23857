//! Builds the running server: opens the stores, binds the listener first (so tests can ask for
//! port 0 and read the real port back), and mounts one scope per lesson, each behind its own
//! session middleware.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{ErrorHandlers, Logger};
use actix_web::{App, HttpServer, web};
use anyhow::Context;

use crate::config::{Engine, Settings};
use crate::lessons::{self, LESSONS};
use crate::render::Renderer;
use crate::routes;
use crate::session::store::{AnyStore, DbStore};
use crate::session::{SessionEngine, SharedClock, SystemClock};

/// The stores the configuration needs, one per engine, shared by the lessons using it.
#[derive(Clone)]
pub struct Stores {
    by_engine: HashMap<Engine, AnyStore>,
}

impl Stores {
    /// Opens every store some lesson's settings name.
    pub async fn open(settings: &Settings) -> anyhow::Result<Self> {
        let mut by_engine = HashMap::new();
        for lesson in &LESSONS {
            let engine = settings
                .lesson_session(lesson.slug, &lesson.mount_path())
                .engine;
            if by_engine.contains_key(&engine) {
                continue;
            }
            let store = match engine {
                Engine::Db => AnyStore::Db(DbStore::connect(settings).await?),
                other => {
                    anyhow::bail!("the `{other}` session engine is not available in this build")
                }
            };
            by_engine.insert(engine, store);
        }
        Ok(Stores { by_engine })
    }

    /// The store of `engine`.
    pub fn get(&self, engine: Engine) -> Option<&AnyStore> {
        self.by_engine.get(&engine)
    }

    /// Every open store with its engine.
    pub fn iter(&self) -> impl Iterator<Item = (Engine, &AnyStore)> {
        self.by_engine.iter().map(|(e, s)| (*e, s))
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
    /// The clock.
    pub clock: SharedClock,
}

/// A server bound to its port, not yet running.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Builds the server with the wall clock.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// Builds the server with `clock` as its notion of now (tests move a fake one).
    pub async fn build_with_clock(settings: Settings, clock: SharedClock) -> anyhow::Result<Self> {
        let address = format!("{}:{}", settings.server.host, settings.server.port);
        let listener = TcpListener::bind(&address).with_context(|| {
            format!("cannot listen on {address} (set APP__SERVER__PORT to another port)")
        })?;
        let port = listener.local_addr()?.port();
        let stores = Stores::open(&settings).await?;
        let renderer = web::Data::new(Renderer::load()?);
        let engines = LESSONS
            .iter()
            .map(|lesson| {
                let lesson_settings = settings.lesson_session(lesson.slug, &lesson.mount_path());
                let store = stores
                    .get(lesson_settings.engine)
                    .cloned()
                    .with_context(|| format!("no store for the {} lesson", lesson.slug))?;
                Ok((
                    lesson,
                    Arc::new(SessionEngine {
                        settings: lesson_settings,
                        store,
                        clock: clock.clone(),
                    }),
                ))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let workers = settings.server.workers;
        let state = web::Data::new(AppState {
            settings,
            stores,
            engines,
            clock,
        });
        let mut server = HttpServer::new(move || {
            let mut app = App::new()
                .wrap(ErrorHandlers::new().default_handler(routes::render_error))
                .wrap(Logger::new("%a \"%r\" %s %b %Dms").log_target("sessionlab::access"))
                .app_data(state.clone())
                .app_data(renderer.clone())
                .route("/", web::get().to(routes::index))
                .route("/healthz", web::get().to(routes::healthz))
                .route("/static/{file}", web::get().to(routes::static_file));
            for &(lesson, ref engine) in &state.engines {
                app = app.service(lessons::scope(lesson, engine.clone()));
            }
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
