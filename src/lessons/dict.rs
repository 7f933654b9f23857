//! Program 2: the session as a dictionary — `keys()`, `items()`, `setdefault()` and `flush()`.

use actix_web::{HttpResponse, Scope};
use serde_json::json;

use super::{Lesson, Page, View, view};
use crate::error::AppError;
use crate::session::Session;

/// `/dict/`.
pub const LESSON: Lesson = Lesson {
    slug: "dict",
    title: "The session as a dictionary: keys, items, setdefault and flush",
    summary: "keys(), items() and setdefault() keep insertion order; flush() ends the session for good.",
    templates: "dict",
    views: &[
        View {
            name: "set",
            does: "request.session['name'] = 'Sonam'; request.session['lname'] = 'Ronaldo'",
        },
        View {
            name: "get",
            does: "get('name'), get('lname'), keys(), items(), setdefault('age', '26')",
        },
        View {
            name: "del",
            does: "del request.session['name'], request.session['lname']",
        },
        View {
            name: "flush",
            does: "request.session.flush()",
        },
    ],
    source: include_str!("dict.rs"),
    text_cookie_age: super::DJANGO_COOKIE_AGE,
    text_cookie_name: super::DJANGO_COOKIE_NAME,
};

pub(super) fn routes(scope: Scope) -> Scope {
    scope
        .service(view("/set/", set))
        .service(view("/get/", get))
        // The same view as program 1's.
        .service(view("/del/", super::basic::del))
        .service(view("/flush/", flush))
}

async fn set(page: Page, session: Session) -> Result<HttpResponse, AppError> {
    session.insert("name", "Sonam");
    session.insert("lname", "Ronaldo");
    page.render("set", json!({}), &session)
}

/// Django's `keys()` and `items()` are live views, so the template shows `age` even though the
/// view calls `setdefault` after them: the same is shown here by reading them afterwards.
async fn get(page: Page, session: Session) -> Result<HttpResponse, AppError> {
    let name = session.get("name");
    let lname = session.get("lname");
    let age = session.setdefault("age", "26");
    let keys = session.keys();
    let items = session.items();
    page.render(
        "get",
        json!({ "name": name, "lname": lname, "age": age, "keys": keys, "items": items }),
        &session,
    )
}

async fn flush(page: Page, session: Session) -> Result<HttpResponse, AppError> {
    let had_data = !session.keys().is_empty();
    session.flush().await?;
    page.render("flush", json!({ "flushed": had_data }), &session)
}
