//! `/playground/`: every `request.session` operation a Django view can call, one form each,
//! and what it did to the session, the cookie and the store. Each POST is answered by the page
//! itself (not a redirect), so the inspector shows the `Set-Cookie` of that very response.
//!
//! The playground has its own session settings (Django's defaults ← `[session]` ←
//! `[lessons.playground]`), its own session middleware and cookie path, and Django's CSRF
//! protection on every form ([`csrf`](crate::playground::csrf)). Inputs are bounded ([`forms`](crate::playground::forms)); a broken limit is a 400
//! that names it, and leaves the session as it was.

pub mod csrf;
pub mod forms;
pub mod urlsplit;

use std::future::{Ready, ready};
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_LENGTH, HeaderValue, SET_COOKIE, TRANSFER_ENCODING};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, guard, web};
use futures_util::future::LocalBoxFuture;
use serde::Serialize;
use serde_json::{Value, json};

use crate::append_slash::AppendSlash;
use crate::config::{Engine, SessionSettings, Settings};
use crate::error::AppError;
use crate::inspector::{Inspection, inspect, mask};
use crate::methods::{self, Methods};
use crate::python::{repr, repr_str};
use crate::render::{Renderer, wants_json};
use crate::session::cookie::request_cookie;
use crate::session::expiry::{EXPIRY_KEY, python_isoformat};
use crate::session::{
    CookiePlan, Expiry, Session, SessionEngine, SessionMiddleware, SessionSnapshot,
};
use csrf::CsrfToken;
use forms::{FormError, LIMITS, Limits, RawForm};

/// The playground's name in `[lessons.<slug>]`.
pub const SLUG: &str = "playground";
/// Where it is mounted, and its default cookie path.
pub const MOUNT_PATH: &str = "/playground/";

/// The operations, in the order the page offers them: the path segment (also the
/// `operation` of the JSON answer) and the Django call it makes.
pub const OPERATIONS: [(&str, &str); 8] = [
    ("set", "request.session[key] = value"),
    ("delete", "del request.session[key]"),
    ("setdefault", "request.session.setdefault(key, value)"),
    ("pop", "request.session.pop(key[, default])"),
    ("clear", "request.session.clear()"),
    ("flush", "request.session.flush()"),
    ("cycle_key", "request.session.cycle_key()"),
    ("set_expiry", "request.session.set_expiry(value)"),
];

/// The playground's session settings: Django's defaults ← `[session]` ← `[lessons.playground]`,
/// the cookie path defaulting to `/playground/`.
pub fn session_settings(settings: &Settings) -> SessionSettings {
    settings.lesson_session(SLUG, MOUNT_PATH)
}

/// What the handlers share: the playground's session engine.
struct Playground {
    engine: Arc<SessionEngine>,
}

/// Builds the `/playground/` scope behind its own session middleware.
pub fn scope(engine: Arc<SessionEngine>) -> impl actix_web::dev::HttpServiceFactory + 'static {
    let form_config = web::FormConfig::default()
        .limit(forms::MAX_FORM_BYTES)
        .error_handler(|error, _req| AppError::BadInput(forms::body_error_message(&error)).into());
    let views = web::scope("/playground")
        .app_data(web::Data::new(Playground {
            engine: engine.clone(),
        }))
        .app_data(form_config)
        .service(methods::resource("/", Methods::Read, page))
        .service(operation("set", set))
        .service(operation("delete", delete))
        .service(operation("setdefault", setdefault))
        .service(operation("pop", pop))
        .service(operation("clear", clear))
        .service(operation("flush", flush))
        .service(operation("cycle_key", cycle_key))
        .service(operation("set_expiry", set_expiry));
    views
        .wrap(AppendSlash::default())
        // Outermost, as Django's SessionMiddleware sits outside CommonMiddleware: the
        // APPEND_SLASH redirect still deletes a cookie that names no session.
        .wrap(SessionMiddleware::new(engine))
}

/// The resource of the operation `name`: POST only, as Django's `require_POST` views. A GET
/// or HEAD of it (the address bar shows it after a form was sent) is still the 405, one that
/// explains ([`opened_as_a_page`]); any other method gets the plain one.
fn operation<F, Args>(name: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    let explanation = opened_as_a_page(name);
    methods::resource(&format!("/{name}/"), Methods::Post, handler).route(
        web::route()
            .guard(guard::Any(guard::Get()).or(guard::Head()))
            .to(move || {
                let refused = AppError::MethodNotAllowed {
                    allow: Methods::Post,
                    message: explanation.clone(),
                };
                async move { Err::<HttpResponse, _>(refused) }
            }),
    )
}

/// What `GET /playground/<name>/` is told: Django's `require_POST` answers 405 with
/// `Allow: POST`, and so does this, saying that the operation is sent by the playground's form
/// (the error page links back to it).
fn opened_as_a_page(name: &str) -> String {
    let call = OPERATIONS
        .iter()
        .find(|(operation, _)| *operation == name)
        .map_or("this operation", |(_, call)| call);
    format!(
        "{MOUNT_PATH}{name}/ runs {call} when the playground's form sends it with POST, and answers nothing else, as a Django view under @require_POST: opening it as a page (from the address bar, or by reloading the page a form answered) is refused. Use the form on the playground page."
    )
}

/// The POSTed form fields. As Django's `request.POST`, no body reads as no fields at all (a
/// script may send only an `X-CSRFToken` header), and a field sent twice is its last value. A body that is not
/// `application/x-www-form-urlencoded` (multipart, JSON) is a 400 that says so, rather than
/// an empty form whose first missing field would be blamed; a form body over the limit, or
/// unreadable, is a 400 too.
struct Fields(RawForm);

impl FromRequest for Fields {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Fields, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type = req.content_type();
        if content_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            let form = web::Form::<Vec<(String, String)>>::from_request(req, payload);
            return Box::pin(
                async move { Ok(Fields(RawForm::from_fields(form.await?.into_inner()))) },
            );
        }
        let fields = if has_body(req) {
            Err(AppError::BadInput(forms::not_urlencoded_message(content_type)).into())
        } else {
            Ok(Fields(RawForm::default()))
        };
        Box::pin(ready(fields))
    }
}

/// Whether the request comes with a body: a `Content-Length` above 0, or a chunked one.
fn has_body(req: &HttpRequest) -> bool {
    let headers = req.headers();
    headers.contains_key(TRANSFER_ENCODING)
        || headers
            .get(CONTENT_LENGTH)
            .and_then(|length| length.to_str().ok())
            .is_some_and(|length| length.trim() != "0")
}

/// Everything a playground handler renders with.
struct Ctx {
    req: HttpRequest,
    playground: web::Data<Playground>,
    renderer: web::Data<Renderer>,
}

impl FromRequest for Ctx {
    type Error = AppError;
    type Future = Ready<Result<Ctx, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let playground = req.app_data::<web::Data<Playground>>().cloned();
        let renderer = req.app_data::<web::Data<Renderer>>().cloned();
        ready(match (playground, renderer) {
            (Some(playground), Some(renderer)) => Ok(Ctx {
                req: req.clone(),
                playground,
                renderer,
            }),
            _ => Err(AppError::Internal(anyhow::anyhow!(
                "playground view outside the playground scope"
            ))),
        })
    }
}

/// What one operation did.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The operation (`setdefault`).
    pub operation: &'static str,
    /// What the Django call returned, as JSON (`null` for `None`).
    pub result: Value,
    /// The exception Django raised (`KeyError: 'name'`), if any.
    pub raised: Option<String>,
    /// What Django did, in words.
    pub message: String,
}

impl Outcome {
    fn new(operation: &'static str, result: Value, message: String) -> Self {
        Outcome {
            operation,
            result,
            raised: None,
            message,
        }
    }
}

/// The CSRF part of the page.
#[derive(Serialize)]
struct CsrfView<'a> {
    /// The token every form carries.
    token: &'a str,
    /// The token, masked, as the page shows it.
    masked: String,
    /// The `Set-Cookie` for the token (its value masked), when this response sets it.
    set_cookie: Option<String>,
}

/// A form the playground refused (a 400): which, why, and what was typed into it, so that the
/// page shows the reason next to that form and puts the input back.
#[derive(Serialize)]
struct Refusal<'a> {
    /// The operation whose form it was (`set`).
    operation: &'static str,
    /// Why, naming the rule that was broken.
    message: &'a str,
    /// The fields as sent (absent ones empty).
    typed: Typed<'a>,
}

/// A refused form's fields, as typed.
#[derive(Serialize)]
struct Typed<'a> {
    key: &'a str,
    value: &'a str,
    default: &'a str,
    kind: &'a str,
}

impl<'a> Typed<'a> {
    fn of(form: &'a RawForm) -> Self {
        let field = |f: &'a Option<String>| f.as_deref().unwrap_or("");
        Typed {
            key: field(&form.key),
            value: field(&form.value),
            default: field(&form.default),
            kind: field(&form.kind),
        }
    }
}

/// The page's template context.
#[derive(Serialize)]
struct PageContext<'a> {
    outcome: Option<&'a Outcome>,
    refused: Option<Refusal<'a>>,
    session: &'a SessionSnapshot,
    settings: &'a SessionSettings,
    inspector: Inspection,
    csrf: CsrfView<'a>,
    limits: Limits,
    operations: &'static [(&'static str, &'static str)],
}

impl Ctx {
    /// Django's CSRF check for this POST, then its fields.
    fn checked(&self, Fields(form): Fields) -> Result<RawForm, AppError> {
        csrf::check(&self.req, form.csrfmiddlewaretoken.as_deref())?;
        Ok(form)
    }

    /// The answer to an operation: what it did ([`Ctx::answer`]), or why its form was
    /// refused ([`Ctx::refuse`]).
    fn outcome(
        &self,
        session: &Session,
        operation: &'static str,
        form: &RawForm,
        result: Result<Outcome, FormError>,
    ) -> Result<HttpResponse, AppError> {
        match result {
            Ok(outcome) => self.answer(session, Some(outcome)),
            Err(error) => self.refuse(session, operation, form, error),
        }
    }

    /// A 400 for a refused form, the session left as it was. A JSON client gets the error
    /// answer every 400 has; a browser gets the playground page itself, the reason shown next
    /// to the form and what was typed put back in it, so that nothing is lost.
    fn refuse(
        &self,
        session: &Session,
        operation: &'static str,
        form: &RawForm,
        error: FormError,
    ) -> Result<HttpResponse, AppError> {
        if wants_json(&self.req) {
            return Err(error.into());
        }
        tracing::info!(status = 400, "{error}");
        let refusal = Refusal {
            operation,
            message: &error.0,
            typed: Typed::of(form),
        };
        let mut response = self.respond(session, None, Some(refusal))?;
        *response.status_mut() = StatusCode::BAD_REQUEST;
        Ok(response)
    }

    /// The playground page (or JSON) after `outcome`, showing the session as it is now.
    fn answer(
        &self,
        session: &Session,
        outcome: Option<Outcome>,
    ) -> Result<HttpResponse, AppError> {
        self.respond(session, outcome, None)
    }

    /// The playground page (or JSON): after `outcome`, or with the form `refused`.
    fn respond(
        &self,
        session: &Session,
        outcome: Option<Outcome>,
        refused: Option<Refusal<'_>>,
    ) -> Result<HttpResponse, AppError> {
        let engine = &self.playground.engine;
        let now = engine.clock.now();
        let token = CsrfToken::for_request(self.req.headers()).map_err(|e| {
            AppError::Internal(anyhow::Error::new(e).context("no randomness for a CSRF token"))
        })?;
        let set_cookie = token.needs_cookie.then(|| {
            csrf::cookie_header(&token.value, MOUNT_PATH, engine.settings.cookie_secure, now)
        });
        let snapshot = session.snapshot();
        let json = match &outcome {
            Some(outcome) => json!({
                "operation": outcome.operation,
                "result": outcome.result,
                "raised": outcome.raised,
                "message": outcome.message,
                "session": snapshot,
            }),
            None => json!({
                "session": snapshot,
                "csrf_token": token.value,
                "operations": OPERATIONS
                    .iter()
                    .map(|(name, _)| (name.to_string(), json!(format!("{MOUNT_PATH}{name}/"))))
                    .collect::<serde_json::Map<_, _>>(),
                "limits": LIMITS,
            }),
        };
        let context = PageContext {
            outcome: outcome.as_ref(),
            refused,
            session: &snapshot,
            settings: &engine.settings,
            inspector: inspect(&self.req, session, now),
            csrf: CsrfView {
                token: &token.value,
                masked: mask(&token.value),
                set_cookie: set_cookie
                    .as_ref()
                    .map(|c| c.replacen(&token.value, &mask(&token.value), 1)),
            },
            limits: LIMITS,
            operations: &OPERATIONS,
        };
        let mut response =
            self.renderer
                .respond(&self.req, "playground/page.html", &context, &json)?;
        if let Some(cookie) = set_cookie {
            let value = HeaderValue::from_str(&cookie).map_err(|e| {
                AppError::Internal(anyhow::Error::new(e).context("the CSRF cookie header"))
            })?;
            response.headers_mut().append(SET_COOKIE, value);
        }
        Ok(response)
    }
}

/// A session that stores nothing server-side cannot take a key back: the note that says so.
fn signed_cookie_note(settings: &SessionSettings) -> &'static str {
    if settings.engine == Engine::SignedCookies {
        " With the signed_cookies engine nothing is stored on the server, so a copy of the old cookie stays valid until it expires: its data is signed, not looked up."
    } else {
        ""
    }
}

/// The error Django would end the request with, caught and explained.
fn key_error(operation: &'static str, call: &str, key: &str, hint: &str) -> Outcome {
    let k = repr_str(key);
    Outcome {
        operation,
        result: Value::Null,
        raised: Some(format!("KeyError: {k}")),
        message: format!(
            "{call} raised KeyError: {k} is not in the session. In a Django view this uncaught exception ends in a 500 error page; the playground catches it and answers 200. The session was not changed. {hint}"
        ),
    }
}

/// `GET /playground/`: the forms, the session and the inspector.
async fn page(ctx: Ctx, session: Session) -> Result<HttpResponse, AppError> {
    ctx.answer(&session, None)
}

/// `request.session[key] = value`.
async fn set(ctx: Ctx, session: Session, fields: Fields) -> Result<HttpResponse, AppError> {
    let form = ctx.checked(fields)?;
    ctx.outcome(&session, "set", &form, set_outcome(&session, &form))
}

fn set_outcome(session: &Session, form: &RawForm) -> Result<Outcome, FormError> {
    let key = forms::key(form)?;
    let value = forms::json_value(form)?;
    let previous = session.get(&key);
    forms::room_for(session.keys().len(), previous.is_some(), &key)?;
    session.insert(key.clone(), value.clone());
    let call = format!("request.session[{}] = {}", repr_str(&key), repr(&value));
    let mut message = match previous {
        Some(old) => format!(
            "{call} replaced {}; the key keeps its place in keys(). The session is marked modified, so it is saved and the cookie is sent again.",
            repr(&old)
        ),
        None => format!(
            "{call} added the key at the end of keys(). The session is marked modified, so it is saved and the cookie is sent."
        ),
    };
    if key == EXPIRY_KEY {
        message.push_str(" This is the key set_expiry() keeps its value under, so the session's expiry changes with it.");
    }
    Ok(Outcome::new("set", Value::Null, message))
}

/// `del request.session[key]`.
async fn delete(ctx: Ctx, session: Session, fields: Fields) -> Result<HttpResponse, AppError> {
    let form = ctx.checked(fields)?;
    ctx.outcome(&session, "delete", &form, delete_outcome(&session, &form))
}

fn delete_outcome(session: &Session, form: &RawForm) -> Result<Outcome, FormError> {
    let key = forms::key(form)?;
    let k = repr_str(&key);
    let call = format!("del request.session[{k}]");
    let outcome = match session.remove(&key) {
        Ok(old) => {
            let mut message = format!(
                "{call} removed the key (its value was {}). The session is marked modified, so it is saved.",
                repr(&old)
            );
            if session.keys().is_empty() {
                message.push_str(" It now holds no keys but keeps its session key: Django saves it empty and the cookie stays. Only flush() deletes the session.");
            }
            Outcome::new("delete", Value::Null, message)
        }
        Err(_) => key_error(
            "delete",
            &call,
            &key,
            &format!(
                "To remove a key that may be absent, write request.session.pop({k}, None), or test first whether {k} in request.session is True."
            ),
        ),
    };
    Ok(outcome)
}

/// `request.session.setdefault(key, value)`.
async fn setdefault(ctx: Ctx, session: Session, fields: Fields) -> Result<HttpResponse, AppError> {
    let form = ctx.checked(fields)?;
    ctx.outcome(
        &session,
        "setdefault",
        &form,
        setdefault_outcome(&session, &form),
    )
}

fn setdefault_outcome(session: &Session, form: &RawForm) -> Result<Outcome, FormError> {
    let key = forms::key(form)?;
    let value = forms::json_value(form)?;
    let present = session.contains(&key);
    forms::room_for(session.keys().len(), present, &key)?;
    let returned = session.setdefault(&key, value.clone());
    let call = format!("setdefault({}, {})", repr_str(&key), repr(&value));
    let returned_repr = repr(&returned);
    let message = if present {
        format!(
            "{call} returned {returned_repr}; the key was present, so nothing changed (the session is not marked modified)."
        )
    } else {
        format!(
            "{call} returned {returned_repr}; the key was absent, so it was stored and the session is marked modified."
        )
    };
    Ok(Outcome::new("setdefault", returned, message))
}

/// `request.session.pop(key)` or `request.session.pop(key, default)`.
async fn pop(ctx: Ctx, session: Session, fields: Fields) -> Result<HttpResponse, AppError> {
    let form = ctx.checked(fields)?;
    ctx.outcome(&session, "pop", &form, pop_outcome(&session, &form))
}

fn pop_outcome(session: &Session, form: &RawForm) -> Result<Outcome, FormError> {
    let key = forms::key(form)?;
    let default = forms::optional_default(form)?;
    let k = repr_str(&key);
    let outcome = match default {
        None => match session.pop(&key) {
            Ok(value) => {
                let message = format!(
                    "pop({k}) returned {} and removed the key. The session is marked modified.",
                    repr(&value)
                );
                Outcome::new("pop", value, message)
            }
            Err(_) => key_error(
                "pop",
                &format!("pop({k})"),
                &key,
                &format!(
                    "Without a default, pop() of a missing key raises; pop({k}, None) would have returned None."
                ),
            ),
        },
        Some(default) => {
            let d = repr(&default);
            match session.pop_if_present(&key) {
                Some(value) => {
                    let message = format!(
                        "pop({k}, {d}) returned {}, the stored value, and removed the key; the default was not needed. The session is marked modified.",
                        repr(&value)
                    );
                    Outcome::new("pop", value, message)
                }
                None => {
                    let message = format!(
                        "pop({k}, {d}) returned the default {d}; the key was absent, so nothing changed (the session is not marked modified)."
                    );
                    Outcome::new("pop", default, message)
                }
            }
        }
    };
    Ok(outcome)
}

/// `request.session.clear()`.
async fn clear(ctx: Ctx, session: Session, fields: Fields) -> Result<HttpResponse, AppError> {
    ctx.checked(fields)?;
    let keys = session.keys();
    session.clear();
    let listed: Vec<String> = keys.iter().map(|k| repr_str(k)).collect();
    let mut message = if keys.is_empty() {
        "clear() found no keys to remove; the session is marked modified all the same.".to_owned()
    } else {
        format!(
            "clear() removed every key ({}: {}); the session is marked modified.",
            keys.len(),
            listed.join(", ")
        )
    };
    message.push_str(what_clear_leaves(&ctx.req, &session));
    if keys.iter().any(|k| k == EXPIRY_KEY) {
        message.push_str(" _session_expiry went too: the expiry is back to the global policy.");
    }
    ctx.answer(&session, Some(Outcome::new("clear", Value::Null, message)))
}

/// What happens to the key and the cookie of a session `clear()` emptied, as the middleware
/// will do it: a cookie that named no live session was dropped when the session loaded, which
/// Django's `clear()`, which does not load, leaves to the save (docs/ARCHITECTURE.md).
fn what_clear_leaves(req: &HttpRequest, session: &Session) -> &'static str {
    let had_cookie = request_cookie(req.headers(), &session.settings().cookie_name).is_some();
    match session.planned_cookie(had_cookie) {
        CookiePlan::Set { .. } if session.found_live_session() => {
            " It keeps its session key, so the empty session is saved under the same key and the cookie is sent again. Unlike flush(), clear() leaves the key valid."
        }
        CookiePlan::Set { .. } => {
            " The cookie named no live session, and this engine's load gave an empty session in its place (the file engine makes a new one under a new key for an expired file; the signed-cookie engine signs a new cookie for one it refused): that empty session is saved and its cookie sent."
        }
        CookiePlan::Delete => {
            " The cookie named no live session (a key the store never issued, or one that expired or was flushed), so loading dropped its key: the session is empty and has no key, so nothing is saved and the browser is told to delete the cookie."
        }
        CookiePlan::Keep => {
            " The session has no key yet, so there is nothing to save and no cookie is set."
        }
    }
}

/// `request.session.flush()`.
async fn flush(ctx: Ctx, session: Session, fields: Fields) -> Result<HttpResponse, AppError> {
    ctx.checked(fields)?;
    // Reading the keys first drops a cookie key that names no session, as Django's load does.
    let count = session.keys().len();
    let old_key = session.session_key();
    session.flush().await?;
    let snapshot_note = signed_cookie_note(&ctx.playground.engine.settings);
    let message = match old_key {
        Some(old) => format!(
            "flush() deleted the session {} ({count} key(s)) from the store, emptied it and dropped its key. The browser is told to delete its cookie (Max-Age=0), and the old key is dead: sending it again finds no session. Django's logout() calls flush().{snapshot_note}",
            mask(&old)
        ),
        None => "flush() found no stored session: the session had no key, so there was nothing to delete. It is empty and has no key.".to_owned(),
    };
    ctx.answer(&session, Some(Outcome::new("flush", Value::Null, message)))
}

/// `request.session.cycle_key()`.
async fn cycle_key(ctx: Ctx, session: Session, fields: Fields) -> Result<HttpResponse, AppError> {
    ctx.checked(fields)?;
    let count = session.keys().len();
    let old_key = session.session_key();
    session.cycle_key().await?;
    let new_key = session.session_key().map(|k| mask(&k)).unwrap_or_default();
    let note = signed_cookie_note(&ctx.playground.engine.settings);
    let message = match old_key {
        Some(old) => format!(
            "cycle_key() saved the same data ({count} key(s)) under a new session key ({new_key}) and deleted the old one ({}) from the store. The browser gets the new key in this response; the old key is dead. Django's login() calls it, so that a key planted in a victim's browser before login (session fixation) is worthless afterwards.{note}",
            mask(&old)
        ),
        None => format!(
            "cycle_key() saved the session ({count} key(s)) under a new session key ({new_key}); there was no old key to delete."
        ),
    };
    ctx.answer(
        &session,
        Some(Outcome::new("cycle_key", Value::Null, message)),
    )
}

/// Django's spelling of the `set_expiry` argument.
fn python_call(expiry: Expiry) -> String {
    match expiry {
        Expiry::Seconds(seconds) => format!("set_expiry({seconds})"),
        Expiry::GlobalPolicy => "set_expiry(None)".to_owned(),
        Expiry::At(at) => format!(
            "set_expiry(datetime.fromisoformat('{}'))",
            python_isoformat(at)
        ),
        Expiry::After(delta) => format!("set_expiry(timedelta(seconds={}))", delta.num_seconds()),
    }
}

/// `request.session.set_expiry(value)`.
async fn set_expiry(ctx: Ctx, session: Session, fields: Fields) -> Result<HttpResponse, AppError> {
    let form = ctx.checked(fields)?;
    let outcome = set_expiry_outcome(&session, &form, &ctx.playground.engine.settings);
    ctx.outcome(&session, "set_expiry", &form, outcome)
}

fn set_expiry_outcome(
    session: &Session,
    form: &RawForm,
    settings: &SessionSettings,
) -> Result<Outcome, FormError> {
    let expiry = forms::expiry(form)?;
    let had_expiry = session.contains(EXPIRY_KEY);
    if expiry != Expiry::GlobalPolicy {
        forms::room_for(session.keys().len(), had_expiry, EXPIRY_KEY)?;
    }
    session.set_expiry(expiry);
    let call = python_call(expiry);
    let stored = session
        .get(EXPIRY_KEY)
        .map(|v| repr(&v))
        .unwrap_or_default();
    let age = session.get_expiry_age();
    let cookie_age = session.get_session_cookie_age();
    let message = match expiry {
        Expiry::Seconds(0) => format!(
            "{call} stored _session_expiry = 0: the session expires when the browser closes. The cookie is sent without Max-Age or expires (a browser-session cookie); on the server the session lives get_expiry_age() = SESSION_COOKIE_AGE = {cookie_age} seconds."
        ),
        Expiry::Seconds(seconds) if seconds < 0 => format!(
            "{call} stored _session_expiry = {seconds}: the session is already expired. The cookie is sent with Max-Age={seconds}, so the browser drops it at once, and the store keeps the session with an expiry date in the past, so the next request finds no session."
        ),
        Expiry::Seconds(seconds) => format!(
            "{call} stored _session_expiry = {seconds}: the session now expires {seconds} seconds after its last save (get_expiry_age() = {seconds}), and the cookie is sent with Max-Age={seconds}."
        ),
        Expiry::At(_) if !age.is_positive() => format!(
            "{call} stored _session_expiry = {stored}: that moment has passed (get_expiry_age() = {age}), so the session is already expired and the cookie is sent with Max-Age={age}."
        ),
        Expiry::At(_) => format!(
            "{call} stored _session_expiry = {stored}: the session expires at that moment, however often it is saved meanwhile (get_expiry_age() = {age} seconds from now, the cookie's Max-Age)."
        ),
        Expiry::After(delta) => format!(
            "{call} stored _session_expiry = {stored}: Django turns a timedelta into now + timedelta and stores that date, so the session expires at a fixed moment ({age} seconds from now), not {} seconds after each save.",
            delta.num_seconds()
        ),
        Expiry::GlobalPolicy if had_expiry => format!(
            "{call} removed _session_expiry: back to the global policy (SESSION_COOKIE_AGE = {cookie_age} seconds, SESSION_EXPIRE_AT_BROWSER_CLOSE = {}). The session is marked modified.",
            repr(&Value::Bool(settings.expire_at_browser_close))
        ),
        Expiry::GlobalPolicy => format!(
            "{call}: there was no _session_expiry to remove, so nothing changed (the session is not marked modified); the global policy applies."
        ),
    };
    Ok(Outcome::new("set_expiry", Value::Null, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone, Utc};

    #[test]
    fn set_expiry_arguments_are_spelled_as_in_python() {
        assert_eq!(python_call(Expiry::Seconds(-10)), "set_expiry(-10)");
        assert_eq!(python_call(Expiry::GlobalPolicy), "set_expiry(None)");
        assert_eq!(
            python_call(Expiry::At(
                Utc.with_ymd_and_hms(2026, 12, 24, 18, 0, 0)
                    .unwrap()
                    .fixed_offset()
            )),
            "set_expiry(datetime.fromisoformat('2026-12-24T18:00:00+00:00'))"
        );
        assert_eq!(
            python_call(Expiry::After(TimeDelta::seconds(120))),
            "set_expiry(timedelta(seconds=120))"
        );
    }

    #[test]
    fn every_operation_has_a_route_and_a_django_call() {
        let names: Vec<&str> = OPERATIONS.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            [
                "set",
                "delete",
                "setdefault",
                "pop",
                "clear",
                "flush",
                "cycle_key",
                "set_expiry"
            ]
        );
    }
}
