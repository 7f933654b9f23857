//! Programs 3 and 5: expiry (`set_expiry(600)`, `get_expiry_age()`, `get_expiry_date()`,
//! `get_expire_at_browser_close()`, `clear_expired()`), and the same views under the seed's
//! `SESSION_*` settings.

use actix_web::{HttpResponse, Scope};
use serde_json::json;

use super::{Lesson, Page, View, view};
use crate::error::AppError;
use crate::session::{Expiry, Session};

const VIEWS: &[View] = &[
    View {
        name: "set",
        does: "request.session['name'] = 'Sonam'; request.session.set_expiry(600)",
    },
    View {
        name: "get",
        does: "request.session['name'], get_session_cookie_age(), get_expiry_age(), get_expiry_date(), get_expire_at_browser_close()",
    },
    View {
        name: "del",
        does: "request.session.flush(); request.session.clear_expired()",
    },
];

/// `/timeout/`.
pub const LESSON: Lesson = Lesson {
    slug: "timeout",
    title: "Session timeout: set_expiry and the expiry methods",
    summary: "set_expiry(600) gives one session its own lifetime; clear_expired() sweeps the dead ones.",
    templates: "timeout",
    views: VIEWS,
    source: include_str!("timeout.rs"),
    text_cookie_age: super::DJANGO_COOKIE_AGE,
    text_cookie_name: super::DJANGO_COOKIE_NAME,
};

/// `/settings/`: the timeout views under `SESSION_COOKIE_AGE = 400`, a renamed, `Secure`,
/// `HttpOnly` cookie and `SESSION_EXPIRE_AT_BROWSER_CLOSE = True`.
pub const SETTINGS_LESSON: Lesson = Lesson {
    slug: "settings",
    title: "Session settings: name, age, path, Secure, HttpOnly, browser close",
    summary: "Cookie age, name, Secure, HttpOnly and expire-at-browser-close, and how set_expiry overrides them.",
    templates: "timeout",
    views: VIEWS,
    source: include_str!("timeout.rs"),
    text_cookie_age: 400,
    text_cookie_name: "sessionname",
};

pub(super) fn routes(scope: Scope) -> Scope {
    scope
        .service(view("/set/", set))
        .service(view("/get/", get))
        .service(view("/del/", del))
}

async fn set(page: Page, session: Session) -> Result<HttpResponse, AppError> {
    session.insert("name", "Sonam");
    session.set_expiry(Expiry::Seconds(600));
    page.render("set", json!({}), &session)
}

/// Django's view reads `request.session['name']`, a KeyError (500) once the session is gone;
/// here the page says the session has expired.
async fn get(page: Page, session: Session) -> Result<HttpResponse, AppError> {
    let context = match session.get("name") {
        Some(name) => json!({ "name": name }),
        None => json!({ "expired": true }),
    };
    page.render("get", context, &session)
}

/// The page says whether there was a session to end.
pub(super) async fn del(page: Page, session: Session) -> Result<HttpResponse, AppError> {
    // A refused signed cookie keeps its key, as Django's signed-cookie engine keeps it: whether
    // the cookie named a live session is what the load found.
    let had_session = session.found_live_session() || !session.keys().is_empty();
    session.flush().await?;
    let cleared = session.clear_expired().await?;
    page.render(
        "del",
        json!({ "ended_session": had_session, "expired_sessions_removed": cleared }),
        &session,
    )
}
