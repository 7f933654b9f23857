//! Django's `SessionMiddleware` for one actix-web scope: gives every request a lazily loaded
//! [`Session`], and after the view decides, as `process_response` does, whether to save the
//! session, hand out or delete the cookie, and add `Vary: Cookie`.

use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{self, HeaderValue};
use actix_web::{Error, HttpMessage};
use futures_util::future::LocalBoxFuture;

use super::cookie::{deletion_cookie, request_cookie, session_cookie};
use super::{CookiePlan, Session, SessionEngine, SessionError};
use crate::error::AppError;

/// Wraps a scope so that its handlers can extract a [`Session`] configured by `engine`.
#[derive(Clone)]
pub struct SessionMiddleware {
    engine: Arc<SessionEngine>,
}

impl SessionMiddleware {
    /// Sessions for one scope, with that scope's settings and store.
    pub fn new(engine: Arc<SessionEngine>) -> Self {
        SessionMiddleware { engine }
    }
}

impl<S, B> Transform<S, ServiceRequest> for SessionMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = SessionService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(SessionService {
            service: Rc::new(service),
            engine: self.engine.clone(),
        }))
    }
}

/// The per-worker service built by [`SessionMiddleware`].
pub struct SessionService<S> {
    service: Rc<S>,
    engine: Arc<SessionEngine>,
}

impl<S, B> Service<ServiceRequest> for SessionService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = self.service.clone();
        let engine = self.engine.clone();
        Box::pin(async move {
            let cookie = request_cookie(req.headers(), &engine.settings.cookie_name);
            let had_cookie = cookie.is_some();
            let session = Session::new(engine, cookie);
            req.extensions_mut().insert(session.clone());

            let mut res = service.call(req).await?;
            match process_response(&session, had_cookie, &mut res).await {
                Ok(()) => Ok(res.map_into_left_body()),
                Err(error) => {
                    let (request, _) = res.into_parts();
                    Ok(ServiceResponse::from_err(AppError::from(error), request)
                        .map_into_right_body())
                }
            }
        })
    }
}

/// Django's `SessionMiddleware.process_response`: the decision is [`CookiePlan`], the same
/// rules the inspector shows; this carries it out.
async fn process_response<B>(
    session: &Session,
    had_cookie: bool,
    res: &mut ServiceResponse<B>,
) -> Result<(), SessionError> {
    let engine = session.engine();
    let settings = &engine.settings;
    // Django reads `accessed` and `is_empty()` before anything below loads the session.
    let (accessed, plan) = {
        let state = session.state();
        (state.accessed, state.plan(had_cookie))
    };
    let mut need_vary = accessed;
    match plan {
        CookiePlan::Keep => {}
        CookiePlan::Delete => {
            // The browser holds a cookie for a session that is gone: delete the cookie.
            set_cookie_header(res, deletion_cookie(settings));
            need_vary = true;
        }
        CookiePlan::Set { .. } => {
            session.ensure_loaded().await?;
            // As Django's `get_expire_at_browser_close()` does here: reading the data drops a
            // dead key, so the save below creates a fresh one.
            let lifetime = {
                let mut state = session.state();
                let expiry = state.stored_expiry();
                state.cookie_lifetime(expiry)
            };
            // A server error saves nothing and sets no cookie.
            if res.status().as_u16() < 500 {
                session.save().await?;
                if let Some(key) = session.session_key() {
                    set_cookie_header(res, session_cookie(settings, &key, lifetime));
                }
                need_vary = true;
            }
        }
    }
    if need_vary {
        patch_vary_cookie(res);
    }
    Ok(())
}

fn set_cookie_header<B>(res: &mut ServiceResponse<B>, value: String) {
    // From the `String` itself: the header value takes its buffer instead of a copy.
    match HeaderValue::try_from(value) {
        Ok(value) => {
            res.headers_mut().append(header::SET_COOKIE, value);
        }
        Err(error) => tracing::error!(%error, "could not write the session cookie header"),
    }
}

/// Django's `patch_vary_headers(response, ("Cookie",))`: the names the view set, split at
/// commas as Django's `\s*,\s*` splits them, gain `Cookie` unless one is `cookie` in any
/// case; the header is then written back as Django writes it, the names joined with `", "`,
/// or just `*` when one of them is `*`.
fn patch_vary_cookie<B>(res: &mut ServiceResponse<B>) {
    const COOKIE: HeaderValue = HeaderValue::from_static("Cookie");
    let headers = res.headers_mut();
    let set: Vec<&str> = headers
        .get_all(header::VARY)
        .filter_map(|v| v.to_str().ok())
        .collect();
    // Nothing to merge with (every answer of the lessons): the constant, without a buffer.
    if set.is_empty() {
        headers.insert(header::VARY, COOKIE);
        return;
    }
    // Several `Vary` headers are one comma-separated list (RFC 9110, 5.3).
    let joined = set.join(", ");
    let mut names = split_header_list(&joined);
    if !names.iter().any(|name| name.eq_ignore_ascii_case("cookie")) {
        names.push("Cookie");
    }
    let value = if names.contains(&"*") {
        "*".to_owned()
    } else {
        names.join(", ")
    };
    if let Ok(value) = HeaderValue::try_from(value) {
        headers.insert(header::VARY, value);
    }
}

/// Django's `cc_delim_re.split(value)`: the text between commas, without the whitespace next
/// to each comma (the value's own leading and trailing whitespace, and empty names, stay).
fn split_header_list(value: &str) -> Vec<&str> {
    let pieces: Vec<&str> = value.split(',').collect();
    let last = pieces.len() - 1;
    pieces
        .iter()
        .enumerate()
        .map(|(i, piece)| {
            let piece = if i > 0 { piece.trim_start() } else { piece };
            if i < last { piece.trim_end() } else { piece }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use actix_web::http::StatusCode;
    use actix_web::http::header::HeaderName;
    use actix_web::test::{TestRequest, call_service, init_service};
    use actix_web::{App, HttpResponse, web};
    use chrono::Utc;
    use serde_json::json;

    use super::*;
    use crate::config::SessionSettings;
    use crate::session::store::MemoryStore;
    use crate::session::{AnyStore, FakeClock, SessionBackend, Store};

    /// Django's defaults on the in-process cache, so a test can read what was saved.
    fn engine() -> (Arc<SessionEngine>, MemoryStore) {
        let store = MemoryStore::new(1 << 20);
        let engine = SessionEngine {
            settings: SessionSettings::django_defaults("/"),
            backend: SessionBackend::Store(AnyStore::Memory(store.clone())),
            clock: Arc::new(FakeClock::at_wall_clock()),
        };
        (Arc::new(engine), store)
    }

    /// Sets `n` to the number in the path and answers with the status in the query.
    async fn set_n(session: Session, n: web::Path<i64>, query: web::Query<Status>) -> HttpResponse {
        session.insert("n", n.into_inner());
        HttpResponse::build(StatusCode::from_u16(query.status).unwrap()).finish()
    }

    #[derive(serde::Deserialize)]
    struct Status {
        status: u16,
    }

    async fn flush(session: Session) -> HttpResponse {
        session.flush().await.unwrap();
        HttpResponse::Ok().finish()
    }

    /// Reads the session and answers with the `Vary` headers given in the query, one per `&`.
    async fn read_with_vary(session: Session, req: actix_web::HttpRequest) -> HttpResponse {
        let _ = session.get("n");
        let mut res = HttpResponse::Ok();
        for value in req.query_string().split('&').filter(|v| !v.is_empty()) {
            let value = value.replace("%20", " ");
            res.append_header((header::VARY, value));
        }
        res.finish()
    }

    async fn untouched() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    /// One request through the middleware, with `cookie` as its session cookie: the answer's
    /// status, its `Set-Cookie` headers and its `Vary` headers.
    async fn call(
        engine: &Arc<SessionEngine>,
        uri: &str,
        cookie: Option<&str>,
    ) -> (StatusCode, Vec<String>, Vec<String>) {
        let app = init_service(
            App::new()
                .wrap(SessionMiddleware::new(engine.clone()))
                .route("/set/{n}", web::get().to(set_n))
                .route("/flush", web::get().to(flush))
                .route("/read", web::get().to(read_with_vary))
                .route("/untouched", web::get().to(untouched)),
        )
        .await;
        let mut req = TestRequest::get().uri(uri);
        if let Some(cookie) = cookie {
            req = req.insert_header((header::COOKIE, format!("sessionid={cookie}")));
        }
        let res = call_service(&app, req.to_request()).await;
        let all = |name: HeaderName| -> Vec<String> {
            res.headers()
                .get_all(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .collect()
        };
        (res.status(), all(header::SET_COOKIE), all(header::VARY))
    }

    /// The session key a `Set-Cookie` header hands out.
    fn key_of(set_cookie: &str) -> &str {
        let value = set_cookie.strip_prefix("sessionid=").unwrap();
        &value[..value.find(';').unwrap()]
    }

    async fn stored_n(store: &MemoryStore, key: &str) -> Option<serde_json::Value> {
        let record = store.load(key, Utc::now()).await.unwrap()?;
        Some(record.data["n"].clone())
    }

    #[actix_web::test]
    async fn a_modified_session_is_saved_and_its_key_handed_out_with_vary_cookie() {
        // Arrange
        let (engine, store) = engine();

        // Act
        let (status, set_cookie, vary) = call(&engine, "/set/1?status=200", None).await;

        // Assert
        assert_eq!(status, StatusCode::OK);
        assert_eq!(set_cookie.len(), 1, "{set_cookie:?}");
        assert_eq!(
            stored_n(&store, key_of(&set_cookie[0])).await,
            Some(json!(1))
        );
        assert_eq!(vary, ["Cookie"]);
    }

    #[actix_web::test]
    async fn a_server_error_saves_nothing_and_sets_no_cookie() {
        // Arrange: a session holding n = 1.
        let (engine, store) = engine();
        let (_, set_cookie, _) = call(&engine, "/set/1?status=200", None).await;
        let key = key_of(&set_cookie[0]).to_owned();

        // Act: the view sets n = 2, then answers 500, or the 499 just below.
        let (status, after_500, vary) = call(&engine, "/set/2?status=500", Some(&key)).await;
        let kept = stored_n(&store, &key).await;
        let (_, after_499, _) = call(&engine, "/set/3?status=499", Some(&key)).await;

        // Assert: as Django's `if response.status_code < 500`.
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(after_500.is_empty(), "{after_500:?}");
        assert_eq!(kept, Some(json!(1)));
        assert_eq!(vary, ["Cookie"], "the session was accessed");
        assert_eq!(key_of(&after_499[0]), key);
        assert_eq!(stored_n(&store, &key).await, Some(json!(3)));
    }

    #[actix_web::test]
    async fn the_cookie_of_a_flushed_session_is_deleted() {
        // Arrange
        let (engine, _) = engine();
        let (_, set_cookie, _) = call(&engine, "/set/1?status=200", None).await;
        let key = key_of(&set_cookie[0]).to_owned();

        // Act
        let (_, deleted, vary) = call(&engine, "/flush", Some(&key)).await;

        // Assert
        assert_eq!(deleted.len(), 1, "{deleted:?}");
        assert!(deleted[0].starts_with("sessionid=\"\";"), "{deleted:?}");
        assert!(deleted[0].contains("Max-Age=0"), "{deleted:?}");
        assert_eq!(vary, ["Cookie"]);
    }

    #[actix_web::test]
    async fn a_session_the_view_never_touched_changes_no_header() {
        let (engine, _) = engine();
        let (_, set_cookie, _) = call(&engine, "/set/1?status=200", None).await;
        let key = key_of(&set_cookie[0]).to_owned();

        let (_, set_cookie, vary) = call(&engine, "/untouched", Some(&key)).await;

        assert!(set_cookie.is_empty(), "{set_cookie:?}");
        assert!(vary.is_empty(), "{vary:?}");
    }

    #[actix_web::test]
    async fn vary_gains_cookie_beside_the_views_names_as_django_patches_it() {
        let (engine, _) = engine();
        for (query, expected) in [
            ("", "Cookie"),
            ("Accept-Encoding", "Accept-Encoding, Cookie"),
            ("Accept-Encoding&Origin", "Accept-Encoding, Origin, Cookie"),
            ("Origin,%20%20COOKIE", "Origin, COOKIE"),
            ("Origin&*", "*"),
        ] {
            let (_, _, vary) = call(&engine, &format!("/read?{query}"), None).await;
            assert_eq!(vary, [expected], "{query}");
        }
    }

    #[test]
    fn a_header_list_is_split_at_commas_without_the_whitespace_around_them() {
        assert_eq!(split_header_list(" a , b ,c "), [" a", "b", "c "]);
        assert_eq!(split_header_list("a,,b"), ["a", "", "b"]);
        assert_eq!(split_header_list(" a "), [" a "]);
    }
}
