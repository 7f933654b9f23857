//! `/instructor/`: what an instructor running a class needs — the active profile, each
//! lesson's and the playground's effective settings (secret redacted), live sessions per
//! store, and a button that clears expired sessions. Off unless configured; opened with a
//! token from the environment, compared in constant time, with repeated failures slowed down
//! per client (`instructor/failures.rs`); the sign-in cookie it sets ends at sign-out
//! (`instructor/sign_in.rs`).

mod failures;
mod sign_in;

use std::net::IpAddr;

use actix_web::dev::HttpServiceFactory;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::append_slash::AppendSlash;
use crate::config::{SessionSettings, Settings};
use crate::error::{AppError, INSTRUCTOR_CHALLENGE};
use crate::forwarded;
use crate::methods::{self, Methods};
use crate::playground;
use crate::render::{HTML_CONTENT_TYPE, Renderer, wants_json};
use crate::session::Store;
use crate::startup::AppState;
use failures::FailureLimiter;
use sign_in::{SIGN_IN_SECONDS, SignIns, token_matches};

/// The cookie that keeps an instructor signed in.
const COOKIE: &str = "sessionlab_instructor";
/// What the instructor's pages keep for the whole server, made once and shared by every
/// worker's scope: made per worker, the limiter would allow `failures::MAX_FAILURES` per worker
/// (connections are spread over the workers), and a sign-out would end the sign-in on one
/// worker only.
pub struct Access {
    failures: FailureLimiter,
    sign_ins: SignIns,
}

impl Access {
    /// No failure and no sign-in yet, under a secret of this process: a restart ends every
    /// sign-in.
    pub fn new() -> anyhow::Result<Access> {
        let sign_ins = SignIns::new().map_err(|e| {
            anyhow::anyhow!("cannot draw the instructor's sign-in secret from the OS: {e}")
        })?;
        Ok(Access {
            failures: FailureLimiter::default(),
            sign_ins,
        })
    }
}

/// Django's `never_cache` (`add_never_cache_headers`), as on its admin and login views: what
/// the instructor's pages show is for the instructor, so no cache, shared or not, keeps it.
pub const NEVER_CACHE: &str = "max-age=0, no-cache, no-store, must-revalidate, private";

/// The `/instructor/` scope (present only when enabled), with the server's one [`Access`].
/// Every answer of it carries [`NEVER_CACHE`]; `/instructor`, as typed, is sent on to
/// `/instructor/` as a lesson's address is ([`AppendSlash`]).
pub fn scope(access: web::Data<Access>) -> impl HttpServiceFactory {
    web::scope("/instructor")
        .wrap(AppendSlash::default())
        .wrap(DefaultHeaders::new().add((header::CACHE_CONTROL, NEVER_CACHE)))
        .app_data(access)
        .service(methods::resource("/", Methods::Read, dashboard))
        .service(methods::resource("/login/", Methods::Post, login))
        .service(methods::resource("/logout/", Methods::Post, logout))
        .service(methods::resource(
            "/clear-expired/",
            Methods::Post,
            clear_expired,
        ))
}

/// Signed in by the cookie, or by `Authorization: Bearer <token>`. The header is a sign-in
/// like the form's, so it is limited as the form is: a wrong token counts as a failure of the
/// client (its IPv4 address or IPv6 /64), and a client that used up its attempts is refused
/// (429) whatever token it sends.
fn is_signed_in(req: &HttpRequest, state: &AppState, access: &Access) -> Result<bool, AppError> {
    let failures = &access.failures;
    let settings = &state.settings;
    if let Some(bearer) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        let ip = client_ip(req);
        if failures.is_blocked(ip) {
            return Err(AppError::TooManyAttempts);
        }
        if token_matches(settings, bearer.trim()) {
            return Ok(true);
        }
        failures.fail(ip);
        tracing::warn!(%ip, "failed instructor sign-in with a bearer token");
        return Ok(false);
    }
    Ok(req.cookie(COOKIE).is_some_and(|cookie| {
        access
            .sign_ins
            .is_signed_in(settings, cookie.value(), state.clock.now().timestamp())
    }))
}

fn client_ip(req: &HttpRequest) -> IpAddr {
    req.peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// The request's `Origin` and this site's own, when they differ. This site's own is the
/// request's `Host` and the connection's scheme, or what a trusted proxy says of them
/// ([`forwarded::trusted`]). The `Origin` is read as the playground's CSRF check reads it,
/// byte for character and every copy of the header joined: one that is not visible ASCII, or
/// that came twice, is compared as it came, never taken for no `Origin` at all.
fn foreign_origin(req: &HttpRequest) -> Option<(String, String)> {
    let origin = playground::csrf::header_text(req.headers(), header::ORIGIN.as_str())?;
    let here = forwarded::request_address(req).origin();
    (origin != here).then_some((origin, here))
}

#[derive(Serialize)]
struct LessonRow {
    slug: &'static str,
    path: String,
    settings: SessionSettings,
    store: &'static str,
    live_sessions: Option<i64>,
}

#[derive(Serialize)]
struct Dashboard {
    profile: String,
    lessons: Vec<LessonRow>,
    /// How many expired sessions the button has just removed, when the page follows it.
    removed: Option<u64>,
    /// What the button did, said as the page shows it.
    message: Option<String>,
}

/// The query of the dashboard the button sends the browser on to: `?removed=<count>`.
#[derive(Deserialize)]
struct AfterClear {
    removed: Option<String>,
}

/// The count of `?removed=<count>`, when it is one: anything else (a word, a sign, a number
/// past `u64`) shows no message rather than an error, as a page that followed no button.
fn removed_shown(req: &HttpRequest) -> Option<u64> {
    let query = web::Query::<AfterClear>::from_query(req.query_string()).ok()?;
    let removed = query.into_inner().removed?;
    if removed.is_empty() || !removed.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    removed.parse().ok()
}

async fn dashboard_data(state: &AppState, removed: Option<u64>) -> Dashboard {
    let now = state.clock.now();
    let mut lessons = Vec::new();
    let scopes = state
        .engines
        .iter()
        .map(|(lesson, engine)| (lesson.slug, lesson.mount_path(), engine))
        .chain([(
            playground::SLUG,
            playground::MOUNT_PATH.to_owned(),
            &state.playground,
        )]);
    for (slug, path, engine) in scopes {
        let (store, live_sessions) = match &engine.backend {
            crate::session::SessionBackend::Store(store) => {
                // A failure is logged by the log of store failures, once and not at each view
                // of the dashboard; the count is left out.
                let count = store.count_live(now).await.ok().flatten();
                (store.describe(), count)
            }
            crate::session::SessionBackend::SignedCookies(_) => ("signed_cookies", None),
        };
        lessons.push(LessonRow {
            slug,
            path,
            settings: engine.settings.clone(),
            store,
            live_sessions,
        });
    }
    Dashboard {
        profile: state.settings.profile.clone(),
        lessons,
        removed,
        message: removed.map(|removed| format!("Removed {removed} expired session(s).")),
    }
}

async fn render_dashboard(
    req: &HttpRequest,
    state: &AppState,
    renderer: &Renderer,
    removed: Option<u64>,
) -> Result<HttpResponse, AppError> {
    let data = dashboard_data(state, removed).await;
    renderer.respond(req, "instructor/dashboard.html", &data, &data)
}

/// The dashboard, or to a visitor not signed in the sign-in form: a 200 page to a browser, as
/// Django's admin shows its login form (a 401 would be a failure in the browser's history and
/// tools where nothing has failed yet), and a 401 with a `Bearer` challenge to a client that
/// asks for JSON, which has no form to fill in.
async fn dashboard(
    req: HttpRequest,
    state: web::Data<AppState>,
    renderer: web::Data<Renderer>,
    access: web::Data<Access>,
) -> Result<HttpResponse, AppError> {
    if is_signed_in(&req, &state, &access)? {
        return render_dashboard(&req, &state, &renderer, removed_shown(&req)).await;
    }
    if wants_json(&req) {
        return Err(AppError::Unauthorized(
            "Sign in with the instructor token.".into(),
        ));
    }
    let body = renderer.render("instructor/login.html", &json!({ "error": null }))?;
    Ok(HttpResponse::Ok()
        .content_type(HTML_CONTENT_TYPE)
        .body(body))
}

/// A 401 for a request that needed a sign-in it did not have: to a client that asks for JSON
/// the error saying `why`, to a browser the sign-in form with `form`'s message (its `error` or
/// its `notice`); both with the instructor's `Bearer` challenge.
fn refused_sign_in(
    req: &HttpRequest,
    renderer: &Renderer,
    why: &str,
    form: &serde_json::Value,
) -> Result<HttpResponse, AppError> {
    if wants_json(req) {
        return Err(AppError::Unauthorized(why.into()));
    }
    let body = renderer.render("instructor/login.html", form)?;
    Ok(HttpResponse::Unauthorized()
        .insert_header((header::WWW_AUTHENTICATE, INSTRUCTOR_CHALLENGE))
        .content_type(HTML_CONTENT_TYPE)
        .body(body))
}

/// What the sign-in form says to a browser that pressed a button of the dashboard after its
/// sign-in had ended (eight hours on, signed out elsewhere, or the server restarted).
const SIGN_IN_ENDED: &str = "Your sign-in has ended, so no expired sessions were cleared: sign in again, then press the button again.";

/// The sign-in form.
#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
}

async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    renderer: web::Data<Renderer>,
    access: web::Data<Access>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let limiter = &access.failures;
    let ip = client_ip(&req);
    if limiter.is_blocked(ip) {
        return Err(AppError::TooManyAttempts);
    }
    // Not a wrong token, so not counted as one: a page of another site could otherwise use
    // up the instructor's attempts. Said as it is, since behind a proxy that serves https
    // without telling (X-Forwarded-Proto), or that is not trusted to tell, the instructor's own
    // form arrives this way.
    refuse_another_origin(&req, "sign-in")?;
    if !token_matches(&state.settings, &form.token) {
        limiter.fail(ip);
        tracing::warn!(%ip, "failed instructor sign-in");
        let error = "That is not the instructor token.";
        return refused_sign_in(&req, &renderer, error, &json!({ "error": error }));
    }
    let value = access
        .sign_ins
        .sign_in(&state.settings, state.clock.now().timestamp())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot draw a sign-in number: {e}")))?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("instructor token vanished")))?;
    let cookie = format!(
        "{COOKIE}={value}; HttpOnly; Max-Age={SIGN_IN_SECONDS}; Path=/instructor/; SameSite=Strict{}",
        secure_attribute(&state.settings)
    );
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/instructor/"))
        .insert_header((
            header::SET_COOKIE,
            HeaderValue::from_str(&cookie).map_err(|e| AppError::Internal(e.into()))?,
        ))
        .finish())
}

/// Refuses `req`, a form of the instructor's (`what`: `sign-in`, …), when it was posted from
/// another origin ([`foreign_origin`]): a 403 that says what came from where and what to do,
/// and a warning in the log.
fn refuse_another_origin(req: &HttpRequest, what: &str) -> Result<(), AppError> {
    let Some((origin, here)) = foreign_origin(req) else {
        return Ok(());
    };
    tracing::warn!(ip = %client_ip(req), %origin, %here, "instructor {what} from another origin refused");
    Err(AppError::Forbidden(format!(
        "This {what} came from {origin}, not from this site ({here}). Use this site's own /instructor/ page; behind a reverse proxy (one that serves https, or under another host name), have the proxy set X-Forwarded-Proto and X-Forwarded-Host (or Forwarded) and start sessionlab with [server] trust_forwarded_headers = true (APP__SERVER__TRUST_FORWARDED_HEADERS=true), so that sessionlab believes them and knows its address."
    )))
}

/// Signs out: the sign-in ends on the server, so a copy of its cookie opens nothing after it,
/// and the browser is told to drop the cookie. A sign-out posted by another site is refused,
/// as Django's `LogoutView` (POST only, CSRF-protected) refuses it: any page could otherwise
/// sign the instructor out.
async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: web::Data<Access>,
) -> Result<HttpResponse, AppError> {
    refuse_another_origin(&req, "sign-out")?;
    if let Some(cookie) = req.cookie(COOKIE) {
        access.sign_ins.sign_out(
            &state.settings,
            cookie.value(),
            state.clock.now().timestamp(),
        );
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/instructor/"))
        .insert_header((
            header::SET_COOKIE,
            format!(
                "{COOKIE}=\"\"; Max-Age=0; Path=/instructor/; SameSite=Strict{}",
                secure_attribute(&state.settings)
            ),
        ))
        .finish())
}

/// `; Secure` when `[session] cookie_secure` is set (as in the `production` profile): the
/// sign-in cookie is then kept off plain http like every session cookie, as Django's admin
/// login follows `SESSION_COOKIE_SECURE`.
fn secure_attribute(settings: &Settings) -> &'static str {
    if settings.session.cookie_secure.unwrap_or(false) {
        "; Secure"
    } else {
        ""
    }
}

/// Clears expired sessions from every store, then sends the browser on (303) to the
/// dashboard, which says how many went (`?removed=<count>`): Post/Redirect/Get, as Django's
/// admin answers its actions, so reloading the page shows it again rather than posting again.
/// A client that asks for JSON gets the dashboard's JSON at once, the count in `removed`.
/// A POST from another site is refused as the sign-in and sign-out are, before the sign-in is
/// looked at (the cookie is `SameSite=Strict` as well).
async fn clear_expired(
    req: HttpRequest,
    state: web::Data<AppState>,
    renderer: web::Data<Renderer>,
    access: web::Data<Access>,
) -> Result<HttpResponse, AppError> {
    refuse_another_origin(&req, "request to clear expired sessions")?;
    if !is_signed_in(&req, &state, &access)? {
        // A browser whose sign-in ran out while the dashboard stood open: the form again,
        // saying why, rather than an error page with no way back in.
        return refused_sign_in(
            &req,
            &renderer,
            "Sign in with the instructor token.",
            &json!({ "error": null, "notice": SIGN_IN_ENDED }),
        );
    }
    let now = state.clock.now();
    let mut removed = 0;
    for (_, store) in state.stores.to_clear() {
        match store.clear_expired(now).await {
            Ok(n) => removed += n,
            // Logged by the log of store failures, once and not at each press of the button.
            Err(error) => return Err(AppError::SessionStore(error)),
        }
    }
    if wants_json(&req) {
        return render_dashboard(&req, &state, &renderer, Some(removed)).await;
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/instructor/?removed={removed}")))
        .finish())
}
