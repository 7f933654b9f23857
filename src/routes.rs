//! The pages outside the lessons: the index, `/healthz`, static files, and the error pages
//! every failure ends up on.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::json;

use crate::assets::StaticFiles;
use crate::error::AppError;
use crate::lessons::{LESSONS, Lesson};
use crate::render::{HTML_CONTENT_TYPE, JSON_CONTENT_TYPE, Renderer, wants_json};
use crate::session::Store;
use crate::startup::AppState;

#[derive(Serialize)]
struct IndexContext {
    lessons: Vec<IndexEntry>,
    profile: String,
}

/// A lesson in the list, with the `SESSION_COOKIE_AGE` it runs with here when that is not the
/// one its title and text count with.
#[derive(Serialize)]
struct IndexEntry {
    #[serde(flatten)]
    lesson: &'static Lesson,
    other_cookie_age: Option<i64>,
}

/// `/`: the list of lessons.
pub async fn index(
    req: HttpRequest,
    state: web::Data<AppState>,
    renderer: web::Data<Renderer>,
) -> Result<HttpResponse, AppError> {
    // Each lesson's settings as its engine was built with them at start-up.
    let lessons = state
        .engines
        .iter()
        .map(|(lesson, engine)| {
            let age = engine.settings.cookie_age;
            IndexEntry {
                lesson,
                other_cookie_age: (age != lesson.text_cookie_age).then_some(age),
            }
        })
        .collect();
    let context = IndexContext {
        lessons,
        profile: state.settings.profile.clone(),
    };
    let json = json!({
        "lessons": LESSONS.iter().map(|l| json!({
            "slug": l.slug,
            "title": l.title,
            "path": l.mount_path(),
        })).collect::<Vec<_>>(),
    });
    renderer.respond(&req, "index.html", &context, &json)
}

/// One store's entry in `/healthz`.
#[derive(Serialize)]
struct StoreHealth {
    store: &'static str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The `/healthz` answer: the overall status and each store's, by name.
#[derive(Serialize)]
struct Health {
    status: &'static str,
    #[serde(serialize_with = "serialize_as_map")]
    stores: Vec<(String, StoreHealth)>,
}

/// The stores as a JSON object (their names are unique), without building a map first.
fn serialize_as_map<S: serde::Serializer>(
    stores: &[(String, StoreHealth)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(stores.iter().map(|(name, health)| (name, health)))
}

/// `/healthz`: 200 when every store answers, 503 (naming the failing store) otherwise. A store
/// on the database of a store checked before it (`cached_db` after `db`) is reported with
/// that check's failure, not checked again: a second check could find a move the first one
/// made (a SQLite file replaced) done already, and report the database both ways.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let mut stores: Vec<(String, StoreHealth)> = Vec::new();
    let mut healthy = true;
    for (spec, store) in state.stores.iter() {
        let database_failure = state.stores.shares_database_with(spec).and_then(|first| {
            let first = first.name();
            stores
                .iter()
                .find(|(name, _)| *name == first)
                .and_then(|(_, health)| health.error.clone())
        });
        if let Some(error) = database_failure {
            let health = StoreHealth {
                store: store.describe(),
                status: "unavailable",
                error: Some(error),
            };
            stores.push((spec.name(), health));
            continue;
        }
        let health = match store.ping().await {
            Ok(()) => StoreHealth {
                store: store.describe(),
                status: "ok",
                error: None,
            },
            // The failure is logged by the log of store failures, once and not at each probe.
            Err(error) => {
                healthy = false;
                StoreHealth {
                    store: store.describe(),
                    status: "unavailable",
                    error: Some(error.to_string()),
                }
            }
        };
        stores.push((spec.name(), health));
    }
    let (status, text) = if healthy {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    };
    HttpResponse::build(status)
        .content_type(JSON_CONTENT_TYPE)
        .json(Health {
            status: text,
            stores,
        })
}

/// `/static/{file}`: files compiled into the binary. Each answer carries the file's digest as
/// its `ETag` and asks the browser to check it before using a copy it keeps (`no-cache`), so a
/// page never runs an older script or style sheet than the server's; the check of an unchanged
/// file is a `304` without a body.
pub async fn static_file(
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let name = path.into_inner();
    let file = StaticFiles::get(&name).ok_or(AppError::NotFound)?;
    let etag = digest_tag(&file.metadata.sha256_hash());
    let cached_copy_is_current = match req.get_header::<header::IfNoneMatch>() {
        Some(header::IfNoneMatch::Any) => true,
        Some(header::IfNoneMatch::Items(tags)) => tags.iter().any(|tag| tag.weak_eq(&etag)),
        None => false,
    };
    let mut answer = if cached_copy_is_current {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    answer
        .insert_header(header::ETag(etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    if cached_copy_is_current {
        return Ok(answer.finish());
    }
    Ok(answer
        .content_type(mime_for(&name))
        .body(file.data.into_owned()))
}

/// A strong entity tag from the first 16 bytes of a file's SHA-256 digest, in hex.
fn digest_tag(digest: &[u8; 32]) -> header::EntityTag {
    let hex: String = digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    header::EntityTag::new_strong(hex)
}

fn mime_for(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// Anything unrouted: a 404 page.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}

#[derive(Serialize)]
struct ErrorContext<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
    /// A refused playground form leads back to the playground.
    back_to_playground: bool,
    /// An error under a lesson's path (a mistyped view, such as `/testcookie/get/`) leads back
    /// to that lesson and lists its views.
    lesson: Option<LessonLink>,
}

/// A lesson as an error page links to it: its title, its path and its views' paths.
#[derive(Serialize)]
struct LessonLink {
    title: &'static str,
    path: String,
    views: Vec<String>,
}

impl LessonLink {
    /// The lesson whose mount path `path` is under, if there is one.
    fn under(path: &str) -> Option<LessonLink> {
        let lesson = LESSONS
            .iter()
            .find(|lesson| path.starts_with(&lesson.mount_path()))?;
        let mount_path = lesson.mount_path();
        Some(LessonLink {
            title: lesson.title,
            views: lesson
                .views
                .iter()
                .map(|view| format!("{mount_path}{}/", view.name))
                .collect(),
            path: mount_path,
        })
    }
}

/// Turns every 4xx/5xx error into a page (or JSON) that says what happened; the cause was
/// logged where the error arose.
pub fn render_error<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // Answers a handler built on purpose (such as /healthz's JSON) pass through untouched.
    if res.response().error().is_none() {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (title, message) = match res
        .response()
        .error()
        .and_then(|e| e.as_error::<AppError>())
    {
        Some(error) => (error.title().to_owned(), error.to_string()),
        None => (
            status.canonical_reason().unwrap_or("Error").to_owned(),
            default_message(status),
        ),
    };
    let (req, response) = res.into_parts();
    let context = ErrorContext {
        status: status.as_u16(),
        title: &title,
        message: &message,
        back_to_playground: req.path().starts_with(crate::playground::MOUNT_PATH),
        lesson: LessonLink::under(req.path()),
    };
    let rendered = if wants_json(&req) {
        Some((
            JSON_CONTENT_TYPE,
            json!({ "error": { "status": status.as_u16(), "title": title, "message": message } })
                .to_string(),
        ))
    } else {
        req.app_data::<web::Data<Renderer>>()
            .and_then(|renderer| match renderer.render("error.html", &context) {
                Ok(html) => Some((HTML_CONTENT_TYPE, html)),
                Err(error) => {
                    tracing::error!(cause = %error.cause_chain(), "the error page could not be rendered");
                    None
                }
            })
    };
    let mut response = match rendered {
        Some((content_type, body)) => {
            let mut new = response.set_body(BoxBody::new(body));
            new.headers_mut().insert(header::CONTENT_TYPE, content_type);
            new
        }
        None => response.map_into_boxed_body(),
    };
    response.headers_mut().remove(header::CONTENT_LENGTH);
    let res = ServiceResponse::new(req, response).map_body(|_, body| EitherBody::right(body));
    Ok(ErrorHandlerResponse::Response(res))
}

fn default_message(status: StatusCode) -> String {
    match status {
        s if s.is_server_error() => "Something went wrong on the server.".into(),
        _ => "The request could not be handled.".into(),
    }
}
