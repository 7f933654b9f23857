//! The page session: a 20-second session that slides forward on every visit to `get/`
//! because the view sets `request.session.modified = True`.

use actix_web::{HttpResponse, Scope};
use serde_json::json;

use super::{Lesson, Page, View, view};
use crate::error::AppError;
use crate::session::Session;

/// `/pagesession/`.
pub const LESSON: Lesson = Lesson {
    slug: "pagesession",
    title: "Page session: a 20-second session that stays alive while you use it",
    summary: "SESSION_COOKIE_AGE = 20 and modified = True: the session lives 20 seconds past the last visit.",
    templates: "pagesession",
    views: &[
        View {
            name: "set",
            does: "request.session['name'] = 'Sonam'",
        },
        View {
            name: "get",
            does: "if 'name' in request.session: request.session.modified = True",
        },
        View {
            name: "del",
            does: "request.session.flush(); request.session.clear_expired()",
        },
    ],
    source: include_str!("pagesession.rs"),
    text_cookie_age: 20,
    text_cookie_name: super::DJANGO_COOKIE_NAME,
};

pub(super) fn routes(scope: Scope) -> Scope {
    scope
        .service(view("/set/", set))
        .service(view("/get/", get))
        // The same view as the timeout lesson's: flush() then clear_expired().
        .service(view("/del/", super::timeout::del))
}

async fn set(page: Page, session: Session) -> Result<HttpResponse, AppError> {
    session.insert("name", "Sonam");
    page.render("set", json!({}), &session)
}

async fn get(page: Page, session: Session) -> Result<HttpResponse, AppError> {
    let context = match session.get("name") {
        Some(name) => {
            // Saving again pushes the expiry 20 seconds past this visit.
            session.set_modified(true);
            json!({ "name": name })
        }
        None => json!({ "expired": true }),
    };
    page.render("get", context, &session)
}
