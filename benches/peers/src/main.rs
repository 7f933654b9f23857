//! `sessionlab-peers KIND PORT [REDIS_URL KEY_PREFIX]`: one tiny session server, for side-by-side
//! numbers with sessionlab's basic lesson. KIND is `actix-cookie` (actix-session's signed cookie
//! store), `actix-redis` (actix-session's Redis store) or `axum-memory` (tower-sessions' memory
//! store). Each serves `/set/` (insert name=Sonam, lname=rathore), `/get/` (read both; Guest
//! when missing) and `/healthz` (no session), answering small JSON, on 127.0.0.1:PORT with one
//! worker thread per core, as sessionlab's actix server does. With the `mimalloc` feature they
//! allocate with mimalloc, as sessionlab's binary does.

use std::net::SocketAddr;

use serde_json::json;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage =
        "usage: sessionlab-peers actix-cookie|actix-redis|axum-memory PORT [REDIS_URL KEY_PREFIX]";
    let (Some(kind), Some(port)) = (args.get(1), args.get(2).and_then(|p| p.parse::<u16>().ok()))
    else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    match kind.as_str() {
        "actix-cookie" | "actix-redis" => {
            let redis = (kind == "actix-redis").then(|| {
                let url = args
                    .get(3)
                    .cloned()
                    .unwrap_or_else(|| "redis://127.0.0.1:6379/0".into());
                let prefix = args.get(4).cloned().unwrap_or_else(|| "peer-actix:".into());
                (url, prefix)
            });
            actix_web::rt::System::new().block_on(actix::serve(addr, redis))
        }
        "axum-memory" => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(axum_memory::serve(addr)),
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
}

mod actix {
    use super::*;
    use actix_session::config::CookieContentSecurity;
    use actix_session::storage::{CookieSessionStore, RedisSessionStore};
    use actix_session::{Session, SessionMiddleware};
    use actix_web::cookie::Key;
    use actix_web::{App, HttpResponse, HttpServer, web};

    async fn set(session: Session) -> actix_web::Result<HttpResponse> {
        session.insert("name", "Sonam")?;
        session.insert("lname", "rathore")?;
        Ok(HttpResponse::Ok().json(json!({ "set": true })))
    }

    async fn get(session: Session) -> actix_web::Result<HttpResponse> {
        let name = session
            .get::<String>("name")?
            .unwrap_or_else(|| "Guest".into());
        let lname = session
            .get::<String>("lname")?
            .unwrap_or_else(|| "Guest".into());
        Ok(HttpResponse::Ok().json(json!({ "name": name, "lname": lname })))
    }

    async fn healthz() -> HttpResponse {
        HttpResponse::Ok().json(json!({ "status": "ok" }))
    }

    pub async fn serve(addr: SocketAddr, redis: Option<(String, String)>) -> std::io::Result<()> {
        let key = Key::generate();
        match redis {
            None => {
                HttpServer::new(move || {
                    // Signed, not encrypted: what Django's signed_cookies engine does.
                    let sessions =
                        SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
                            .cookie_secure(false)
                            .cookie_content_security(CookieContentSecurity::Signed)
                            .build();
                    App::new()
                        .route("/healthz", web::get().to(healthz))
                        .service(
                            web::scope("")
                                .wrap(sessions)
                                .route("/set/", web::get().to(set))
                                .route("/get/", web::get().to(get)),
                        )
                })
                .bind(addr)?
                .run()
                .await
            }
            Some((url, prefix)) => {
                let store = RedisSessionStore::builder(url)
                    .cache_keygen(move |key| format!("{prefix}{key}"))
                    .build()
                    .await
                    .map_err(std::io::Error::other)?;
                HttpServer::new(move || {
                    let sessions = SessionMiddleware::builder(store.clone(), key.clone())
                        .cookie_secure(false)
                        .build();
                    App::new()
                        .route("/healthz", web::get().to(healthz))
                        .service(
                            web::scope("")
                                .wrap(sessions)
                                .route("/set/", web::get().to(set))
                                .route("/get/", web::get().to(get)),
                        )
                })
                .bind(addr)?
                .run()
                .await
            }
        }
    }
}

mod axum_memory {
    use super::*;
    use axum::routing::get;
    use axum::{Json, Router};
    use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

    async fn set(session: Session) -> Result<Json<serde_json::Value>, String> {
        session
            .insert("name", "Sonam")
            .await
            .map_err(|e| e.to_string())?;
        session
            .insert("lname", "rathore")
            .await
            .map_err(|e| e.to_string())?;
        Ok(Json(json!({ "set": true })))
    }

    async fn get_view(session: Session) -> Result<Json<serde_json::Value>, String> {
        let name: Option<String> = session.get("name").await.map_err(|e| e.to_string())?;
        let lname: Option<String> = session.get("lname").await.map_err(|e| e.to_string())?;
        Ok(Json(json!({
            "name": name.unwrap_or_else(|| "Guest".into()),
            "lname": lname.unwrap_or_else(|| "Guest".into()),
        })))
    }

    async fn healthz() -> Json<serde_json::Value> {
        Json(json!({ "status": "ok" }))
    }

    pub async fn serve(addr: SocketAddr) -> std::io::Result<()> {
        let sessions = SessionManagerLayer::new(MemoryStore::default()).with_secure(false);
        let app = Router::new()
            .route("/set/", get(set))
            .route("/get/", get(get_view))
            .layer(sessions)
            .route("/healthz", get(healthz));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        // Stops on SIGTERM, as the actix-web peers do, so that the process exits normally
        // (an instrumented build writes its profile then: scripts/build-pgo.sh).
        axum::serve(listener, app)
            .with_graceful_shutdown(terminated())
            .await
    }

    async fn terminated() {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
}
