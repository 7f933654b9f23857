//! Which HTTP methods each address answers, and what the others get.
//!
//! actix-web's `route(path, web::get().to(…))` shortcut puts the method's guard on the whole
//! address: a `HEAD` where `GET` is answered, or a `PUT` anywhere, falls through to the 404
//! page, as if the address did not exist. Here every address is a resource that answers its
//! methods (`HEAD` wherever `GET` is, as RFC 9110 asks of every server; the body is left out
//! by actix-web's encoder) and any other with 405 Method Not Allowed and an `Allow` header,
//! as Django's `require_http_methods` answers, rendered as the other error pages are.

use actix_web::http::header::ALLOW;
use actix_web::{FromRequest, Handler, HttpResponse, Resource, Responder, guard, web};

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

impl Methods {
    /// The `Allow` header's value.
    pub fn allow(self) -> &'static str {
        match self {
            Methods::Read => "GET, HEAD",
            Methods::ReadAndPost => "GET, HEAD, POST",
            Methods::Post => "POST",
        }
    }

    fn guard(self) -> guard::AnyGuard {
        match self {
            Methods::Read => guard::Any(guard::Get()).or(guard::Head()),
            Methods::ReadAndPost => guard::Any(guard::Get()).or(guard::Head()).or(guard::Post()),
            Methods::Post => guard::Any(guard::Post()),
        }
    }
}

/// The resource at `path`: `handler` on `methods`, a 405 naming them on any other method.
pub fn resource<F, Args>(path: &str, methods: Methods, handler: F) -> Resource
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    let allow = methods.allow();
    web::resource(path)
        .route(web::route().guard(methods.guard()).to(handler))
        .default_service(web::to(move || async move {
            let response = HttpResponse::MethodNotAllowed()
                .insert_header((ALLOW, allow))
                .finish();
            // An error, so that the error pages render it (keeping the `Allow` header).
            Err::<HttpResponse, _>(actix_web::error::InternalError::from_response(
                format!("this address answers {allow} only"),
                response,
            ))
        }))
}

#[cfg(test)]
mod tests {
    use actix_web::http::{Method, StatusCode};
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
        for (methods, method) in [
            (Methods::Read, Method::POST),
            (Methods::Read, Method::PUT),
            (Methods::Read, Method::OPTIONS),
            (Methods::ReadAndPost, Method::DELETE),
            (Methods::ReadAndPost, Method::PATCH),
            (Methods::Post, Method::GET),
            (Methods::Post, Method::HEAD),
        ] {
            let (status, allow, body) = call(methods, method.clone()).await;
            assert_eq!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{methods:?} {method}"
            );
            assert_eq!(
                allow.as_deref(),
                Some(methods.allow()),
                "{methods:?} {method}"
            );
            assert_ne!(body, "answered", "{methods:?} {method}");
        }
    }
}
