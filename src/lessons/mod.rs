//! The six lessons, each an actix-web scope with its own session settings, reproducing one
//! Django tutorial program view for view. Where Django would answer 500 (a missing key), a
//! lesson answers 200 and explains what happened.

mod basic;
mod dict;
mod fixed;
mod pagesession;
mod testcookie;
mod timeout;

use std::future::{Ready, ready};
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::Value;

use crate::append_slash::AppendSlash;
use crate::error::AppError;
use crate::inspector::inspect;
use crate::json_object::{Fields as _, JsonObject};
use crate::methods::{self, Methods};
use crate::render::{PageValues, Renderer};
use crate::session::{Session, SessionEngine, SessionMiddleware, SessionSnapshot};

pub use fixed::{FixedParts, TEXT_BASE_URL, ViewParts, local_base_url};

/// A lesson: where it lives, what it is called, which views it has.
#[derive(Debug, Serialize)]
pub struct Lesson {
    /// URL segment and the name of its `lessons/<slug>.md` text and `[lessons.<slug>]` table.
    pub slug: &'static str,
    /// Title on the index and the lesson page.
    pub title: &'static str,
    /// One line on what it teaches.
    pub summary: &'static str,
    /// The template folder of its views.
    pub templates: &'static str,
    /// Its views, in the order a student tries them.
    pub views: &'static [View],
    /// The Rust source of its handlers, shown on the lesson page next to Django's code.
    pub source: &'static str,
    /// The `SESSION_COOKIE_AGE` its text is written for and counts with; a lesson configured
    /// with another age says so above its text.
    pub text_cookie_age: i64,
    /// The `SESSION_COOKIE_NAME` its text shows; a lesson configured with another name, or
    /// with a cookie path other than its own mount path (which its text shows too), says so
    /// above its text.
    pub text_cookie_name: &'static str,
}

/// One view of a lesson.
#[derive(Debug, Serialize)]
pub struct View {
    /// Path segment (`set` for `/basic/set/`) and template name.
    pub name: &'static str,
    /// What the view does, in Django terms.
    pub does: &'static str,
}

impl Lesson {
    /// The path the lesson is mounted at: `/<slug>/` (also its default cookie path).
    pub fn mount_path(&self) -> String {
        format!("/{}/", self.slug)
    }
}

/// Django's default `SESSION_COOKIE_AGE`, two weeks: the age the texts of the lessons with
/// Django's default settings count with.
const DJANGO_COOKIE_AGE: i64 = 1_209_600;

/// Django's default `SESSION_COOKIE_NAME`, the name the texts of the lessons with Django's
/// default settings show.
const DJANGO_COOKIE_NAME: &str = "sessionid";

/// Every lesson, in teaching order.
pub static LESSONS: [Lesson; 6] = [
    basic::LESSON,
    dict::LESSON,
    timeout::LESSON,
    testcookie::LESSON,
    timeout::SETTINGS_LESSON,
    pagesession::LESSON,
];

/// The lesson `slug`, if there is one.
pub fn find(slug: &str) -> Option<&'static Lesson> {
    LESSONS.iter().find(|l| l.slug == slug)
}

/// What a lesson's handlers need besides the session: which lesson they serve, with which
/// settings, and the parts of its pages that never change.
pub struct LessonContext {
    /// The lesson.
    pub lesson: &'static Lesson,
    /// Its session engine (settings, store, clock).
    pub engine: Arc<SessionEngine>,
    /// Its pages' fixed parts, rendered with its settings.
    pub parts: FixedParts,
}

impl LessonContext {
    /// The context of `lesson` on `engine`, its fixed parts rendered by `renderer` (once, at
    /// start-up, for every worker), its text's commands addressed to `base_url`
    /// ([`local_base_url`]).
    pub fn new(
        lesson: &'static Lesson,
        engine: Arc<SessionEngine>,
        renderer: &Renderer,
        base_url: &str,
    ) -> anyhow::Result<Self> {
        let parts = FixedParts::render(lesson, &engine.settings, renderer, base_url)?;
        Ok(LessonContext {
            lesson,
            engine,
            parts,
        })
    }
}

/// Builds the scope of a lesson: its page, its views and its own session middleware.
pub fn scope(
    context: web::Data<LessonContext>,
) -> impl actix_web::dev::HttpServiceFactory + 'static {
    let lesson = context.lesson;
    let engine = context.engine.clone();
    let views = web::scope(&format!("/{}", lesson.slug))
        .app_data(context)
        .service(methods::resource("/", Methods::Read, lesson_page));
    let views = match lesson.slug {
        "basic" => basic::routes(views),
        "dict" => dict::routes(views),
        "timeout" | "settings" => timeout::routes(views),
        "testcookie" => testcookie::routes(views),
        "pagesession" => pagesession::routes(views),
        _ => views,
    };
    views
        .wrap(AppendSlash::default())
        // Outermost, as Django's SessionMiddleware sits outside CommonMiddleware: the
        // APPEND_SLASH redirect still deletes a cookie that names no session.
        .wrap(SessionMiddleware::new(engine))
}

/// A view at `path` answering GET, HEAD and POST, as Django function views do.
fn view<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    methods::resource(path, Methods::ReadAndPost, handler)
}

/// Everything a lesson view renders with.
pub struct Page {
    req: HttpRequest,
    lesson: web::Data<LessonContext>,
    renderer: web::Data<Renderer>,
}

impl FromRequest for Page {
    type Error = AppError;
    type Future = Ready<Result<Page, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let lesson = req.app_data::<web::Data<LessonContext>>().cloned();
        let renderer = req.app_data::<web::Data<Renderer>>().cloned();
        ready(match (lesson, renderer) {
            (Some(lesson), Some(renderer)) => Ok(Page {
                req: req.clone(),
                lesson,
                renderer,
            }),
            _ => Err(AppError::Internal(anyhow::anyhow!(
                "lesson view outside a lesson scope"
            ))),
        })
    }
}

/// The JSON answer of a lesson view: `lesson`, `view`, `context` and `session`, its field
/// names written as they are ([`JsonObject`]).
fn write_view_json(
    out: &mut Vec<u8>,
    lesson: &'static str,
    view: &str,
    context: &Value,
    session: &SessionSnapshot,
) -> serde_json::Result<()> {
    let mut answer = JsonObject::new(out);
    answer.field("lesson", lesson)?;
    answer.field("view", view)?;
    answer.field("context", context)?;
    let mut fields = answer.object("session");
    session.write_fields(&mut fields)?;
    fields.end();
    answer.end();
    Ok(())
}

impl Page {
    /// Renders view `view` of this lesson with `context`, showing the session as it is now
    /// (after the view's changes).
    pub fn render(
        &self,
        view: &str,
        context: Value,
        session: &Session,
    ) -> Result<HttpResponse, AppError> {
        let lesson = self.lesson.lesson;
        let Some(fixed) = self.lesson.parts.view(view) else {
            return Err(AppError::Internal(anyhow::anyhow!(
                "lesson {} has no view {view}",
                lesson.slug
            )));
        };
        let snapshot = session.snapshot();
        let json = |out: &mut Vec<u8>| write_view_json(out, lesson.slug, view, &context, &snapshot);
        // The page shows what the JSON answer holds and, around it, the inspector, beside the
        // view's fixed values ([`ViewParts::context`]).
        let page = |values: &mut PageValues| {
            values.insert("view", view)?;
            values.insert("context", &context)?;
            values.insert("session", &snapshot)?;
            values.insert(
                "inspector",
                &inspect(&self.req, session, self.lesson.engine.clock.now()),
            )
        };
        self.renderer
            .respond_with(&self.req, &fixed.template, &fixed.context, page, json)
    }
}

/// `/<slug>/`: the lesson text and the links to its views. Its inspector looks at the session
/// without touching it, so the page behaves as a Django view that never uses the session.
async fn lesson_page(
    req: HttpRequest,
    lesson: web::Data<LessonContext>,
    renderer: web::Data<Renderer>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    // Beside the page's fixed values ([`FixedParts::lesson_page`]), the inspector.
    let context = |values: &mut PageValues| {
        values.insert(
            "inspector",
            &inspect(&req, &session, lesson.engine.clock.now()),
        )
    };
    let json = |out: &mut Vec<u8>| {
        out.extend_from_slice(&lesson.parts.lesson_page_json);
        Ok(())
    };
    renderer.respond_with(
        &req,
        "lesson.html",
        &lesson.parts.lesson_page,
        context,
        json,
    )
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    #[test]
    fn the_view_answer_is_what_serde_json_writes_for_its_fields() {
        let snapshot = SessionSnapshot {
            items: Rc::new(
                [
                    ("name".to_owned(), json!("Sonam \"S\"")),
                    ("_session_expiry".to_owned(), json!(300)),
                ]
                .into_iter()
                .collect(),
            ),
            cookie_age: 1_209_600,
            expiry_age: crate::session::ExpiryAge::Whole(300),
            expiry_date: chrono::Utc
                .with_ymd_and_hms(2026, 12, 5, 23, 56, 58)
                .unwrap(),
            expire_at_browser_close: false,
            test_cookie_worked: true,
            engine: "db",
        };
        let context = json!({ "name": "Sonam", "missing": ["lname"] });
        let mut written = Vec::new();
        write_view_json(&mut written, "basic", "get", &context, &snapshot).unwrap();

        let expected = json!({
            "lesson": "basic",
            "view": "get",
            "context": context,
            "session": snapshot,
        });
        assert_eq!(String::from_utf8(written).unwrap(), expected.to_string());
        assert_eq!(
            expected["session"]["keys"],
            json!(["name", "_session_expiry"])
        );
        assert_eq!(expected["session"]["expiry_date"], "2026-12-05T23:56:58Z");
    }
}
