//! Which HTTP methods each address answers, and what the others get.
//!
//! actix-web's `route(path, web::get().to(…))` shortcut puts the method's guard on the whole
//! address: a `HEAD` where `GET` is answered, or a `PUT` anywhere, falls through to the 404
//! page, as if the address did not exist. Here every address is a resource that answers its
//! methods (`HEAD` wherever `GET` is, as RFC 9110 asks of every server; the body is left out
//! by actix-web's encoder) and any other with 405 Method Not Allowed and an `Allow` header,
//! as Django's `require_http_methods` answers, rendered as the other error pages are.

use actix_web::http::Method;
use actix_web::{FromRequest, Handler, HttpRequest, HttpResponse, Resource, Responder, guard, web};

use crate::error::AppError;

/// The methods an address answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Methods {
    /// `GET` and `HEAD`: a page or a document that reading does not change.
    Read,
    /// `GET`, `HEAD` and `POST`: a lesson's view, which runs on any of them as a Django
    /// function view does.
    ReadAndPost,
    /// `POST` alone: a form's action, as Django's `require_POST`.
    Post,
}

const READ: &[Method] = &[Method::GET, Method::HEAD];
const READ_AND_POST: &[Method] = &[Method::GET, Method::HEAD, Method::POST];
const POST: &[Method] = &[Method::POST];

impl Methods {
    /// The methods, in the order the `Allow` header names them: what the guard lets through
    /// and the header says are both read from here.
    fn list(self) -> &'static [Method] {
        match self {
            Methods::Read => READ,
            Methods::ReadAndPost => READ_AND_POST,
            Methods::Post => POST,
        }
    }

    /// The `Allow` header's value, such as `GET, HEAD`.
    pub fn allow(self) -> String {
        self.list()
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The resource at `path`: `handler` on `methods`, a 405 naming them on any other method.
pub fn resource<F, Args>(path: &str, methods: Methods, handler: F) -> Resource
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    web::resource(path)
        .route(
            web::route()
                .guard(guard::fn_guard(move |ctx| {
                    methods.list().contains(&ctx.head().method)
                }))
                .to(handler),
        )
        .default_service(web::to(move |req: HttpRequest| {
            // An error, so that the error pages render it (with the `Allow` header).
            let refused = AppError::MethodNotAllowed {
                allow: methods,
                message: format!(
                    "This address does not answer {}: it answers {} only.",
                    req.method(),
                    methods.allow()
                ),
            };
            async move { Err::<HttpResponse, _>(refused) }
        }))
}

#[cfg(test)]
mod tests {
    use actix_web::http::StatusCode;
    use actix_web::http::header::ALLOW;
    use actix_web::{App, test};

    use super::*;

    async fn answer() -> HttpResponse {
        HttpResponse::Ok().body("answered")
    }

    /// The status and `Allow` header of `method` on each kind of resource.
    async fn call(methods: Methods, method: Method) -> (StatusCode, Option<String>, String) {
        let app = test::init_service(App::new().service(resource("/", methods, answer))).await;
        let req = test::TestRequest::default()
            .method(method)
            .uri("/")
            .to_request();
        let res = test::call_service(&app, req).await;
        let status = res.status();
        let allow = res
            .headers()
            .get(ALLOW)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
        (status, allow, body)
    }

    #[actix_web::test]
    async fn each_kind_answers_its_methods() {
        for (methods, method) in [
            (Methods::Read, Method::GET),
            (Methods::Read, Method::HEAD),
            (Methods::ReadAndPost, Method::GET),
            (Methods::ReadAndPost, Method::HEAD),
            (Methods::ReadAndPost, Method::POST),
            (Methods::Post, Method::POST),
        ] {
            let (status, allow, body) = call(methods, method.clone()).await;
            assert_eq!(status, StatusCode::OK, "{methods:?} {method}");
            assert_eq!(allow, None, "{methods:?} {method}");
            assert_eq!(body, "answered", "{methods:?} {method}");
        }
    }

    #[actix_web::test]
    async fn any_other_method_is_a_405_that_names_the_allowed_ones() {
        for (methods, method, named) in [
            (Methods::Read, Method::POST, "GET, HEAD"),
            (Methods::Read, Method::PUT, "GET, HEAD"),
            (Methods::Read, Method::OPTIONS, "GET, HEAD"),
            (Methods::ReadAndPost, Method::DELETE, "GET, HEAD, POST"),
            (Methods::ReadAndPost, Method::PATCH, "GET, HEAD, POST"),
            (Methods::Post, Method::GET, "POST"),
            (Methods::Post, Method::HEAD, "POST"),
        ] {
            let (status, allow, body) = call(methods, method.clone()).await;
            assert_eq!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{methods:?} {method}"
            );
            assert_eq!(allow.as_deref(), Some(named), "{methods:?} {method}");
            assert_eq!(
                body,
                format!("This address does not answer {method}: it answers {named} only."),
                "{methods:?} {method}"
            );
        }
    }
}
