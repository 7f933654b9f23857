//! Program 1: set, get and delete session values (`request.session['name'] = 'Sonam'`).

use actix_web::{HttpResponse, Scope};
use serde_json::json;

use super::{Lesson, Page, View, view};
use crate::error::AppError;
use crate::session::Session;

/// `/basic/`.
pub const LESSON: Lesson = Lesson {
    slug: "basic",
    title: "Set, get and delete session data",
    summary: "request.session works like a dictionary that follows the visitor from request to request.",
    templates: "basic",
    views: &[
        View {
            name: "set",
            does: "request.session['name'] = 'Sonam'; request.session['lname'] = 'rathore'",
        },
        View {
            name: "get",
            does: "request.session.get('name', default='Guest')",
        },
        View {
            name: "del",
            does: "del request.session['name'], request.session['lname']",
        },
    ],
    source: include_str!("basic.rs"),
    text_cookie_age: super::DJANGO_COOKIE_AGE,
    text_cookie_name: super::DJANGO_COOKIE_NAME,
};

pub(super) fn routes(scope: Scope) -> Scope {
    scope
        .service(view("/set/", set))
        .service(view("/get/", get))
        .service(view("/del/", del))
}

async fn set(page: Page, session: Session) -> Result<HttpResponse, AppError> {
    session.insert("name", "Sonam");
    session.insert("lname", "rathore");
    page.render("set", json!({}), &session)
}

async fn get(page: Page, session: Session) -> Result<HttpResponse, AppError> {
    let name = session.get_or("name", "Guest");
    let lname = session.get_or("lname", "Guest");
    page.render("get", json!({ "name": name, "lname": lname }), &session)
}

/// Django's view runs `del` on both keys when `name` is present and fails with a KeyError when
/// `lname` is not; here each key is deleted if present and the page says which were missing.
pub(super) async fn del(page: Page, session: Session) -> Result<HttpResponse, AppError> {
    let mut missing = Vec::new();
    let had_name = session.contains("name");
    if had_name {
        for key in ["name", "lname"] {
            if session.remove(key).is_err() {
                missing.push(key);
            }
        }
    }
    page.render(
        "del",
        json!({ "deleted": had_name, "missing": missing }),
        &session,
    )
}
