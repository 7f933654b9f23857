//! Program 4: test cookies — does this browser keep cookies at all?

use actix_web::{HttpResponse, Scope};
use serde_json::json;

use super::{Lesson, Page, View, view};
use crate::error::AppError;
use crate::session::Session;

/// `/testcookie/`.
pub const LESSON: Lesson = Lesson {
    slug: "testcookie",
    title: "Test cookies: does this browser accept cookies?",
    summary: "set_test_cookie() on one request, test_cookie_worked() on the next, then delete_test_cookie().",
    templates: "testcookie",
    views: &[
        View {
            name: "set",
            does: "request.session.set_test_cookie()",
        },
        View {
            name: "check",
            does: "request.session.test_cookie_worked()",
        },
        View {
            name: "del",
            does: "request.session.delete_test_cookie()",
        },
    ],
    source: include_str!("testcookie.rs"),
    text_cookie_age: super::DJANGO_COOKIE_AGE,
    text_cookie_name: super::DJANGO_COOKIE_NAME,
};

pub(super) fn routes(scope: Scope) -> Scope {
    scope
        .service(view("/set/", set))
        .service(view("/check/", check))
        .service(view("/del/", del))
}

async fn set(page: Page, session: Session) -> Result<HttpResponse, AppError> {
    session.set_test_cookie();
    page.render("set", json!({}), &session)
}

async fn check(page: Page, session: Session) -> Result<HttpResponse, AppError> {
    let worked = session.test_cookie_worked();
    page.render("check", json!({ "worked": worked }), &session)
}

/// Django raises `KeyError('testcookie')` (a 500) when there is no test cookie to delete.
async fn del(page: Page, session: Session) -> Result<HttpResponse, AppError> {
    let deleted = session.delete_test_cookie().is_ok();
    page.render("del", json!({ "deleted": deleted }), &session)
}
