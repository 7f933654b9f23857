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
