//! Django's `APPEND_SLASH` for a scope: `/basic/set` answers 301 to `/basic/set/` when that
//! path has a view and `/basic/set` has none (`CommonMiddleware.should_redirect_with_slash`);
//! any other path — `/basic/nosuch`, `/basic//get/` — goes on to the scope, which answers 404
//! as Django's resolver does. actix-web-lab's [`NormalizePath`](actix_web_lab::middleware::NormalizePath) writes the redirect. A path
//! ending in a slash — every request a lesson's links and forms make — goes straight to the
//! scope without a lookup in the routes.
//!
//! The redirect names the path and query alone, as Django's does: a request target in absolute
//! form (`GET http://other.example/basic/set`) is not sent back to its own host.
//!
//! Wrap it inside the scope's session middleware: Django's `SessionMiddleware` sits outside
//! `CommonMiddleware`, so the redirect still deletes a cookie that names no session.

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::Error;
use actix_web::body::EitherBody;
use actix_web::dev::{
    ResourceMap, Service, ServiceRequest, ServiceResponse, Transform, forward_ready,
};
use actix_web::http::StatusCode;
use actix_web::http::Uri;
use actix_web::middleware::TrailingSlash;
use actix_web_lab::middleware::NormalizePath;
use futures_util::future::{Either, MapOk, TryFutureExt};

/// Wraps a scope with Django's `APPEND_SLASH` (permanent redirects).
pub struct AppendSlash(NormalizePath);

impl Default for AppendSlash {
    fn default() -> Self {
        AppendSlash(
            NormalizePath::new(TrailingSlash::Always)
                .use_redirects_with(StatusCode::MOVED_PERMANENTLY),
        )
    }
}

/// Django's `should_redirect_with_slash`: `path` has no view and `path/` has one. Paths with a
/// run of slashes are left alone (Django never merges them, and `NormalizePath` would), as is
/// the empty path, which no HTTP/1 request has.
fn should_append_slash(path: &str, routes: &ResourceMap) -> bool {
    !path.is_empty()
        && !path.ends_with('/')
        && !path.contains("//")
        && !routes.has_resource(path)
        && routes.has_resource(&format!("{path}/"))
}

/// Drops the scheme and host of a request target in absolute form, which `NormalizePath` would
/// copy into the `Location`: a permanent redirect to another site, which a cache keyed by
/// `Host` would serve to everyone. Django's `get_full_path_with_slash` gives the path alone.
fn keep_only_path_and_query(req: &mut ServiceRequest) {
    let uri = &mut req.head_mut().uri;
    if uri.authority().is_some()
        && let Some(path_and_query) = uri.path_and_query().cloned()
    {
        *uri = Uri::from(path_and_query);
    }
}

/// The scope's service, shared by the direct route and the one through `NormalizePath`.
pub struct Shared<S> {
    service: Rc<S>,
}

impl<S: Service<ServiceRequest>> Service<ServiceRequest> for Shared<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        self.service.call(req)
    }
}

type Normalizing<S> = <NormalizePath as Transform<Shared<S>, ServiceRequest>>::Transform;

type Answer<B> = ServiceResponse<EitherBody<B, ()>>;

impl<S, B> Transform<S, ServiceRequest> for AppendSlash
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    S::Future: 'static,
{
    type Response = Answer<B>;
    type Error = Error;
    type Transform = AppendSlashService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let service = Rc::new(service);
        ready(
            self.0
                .new_transform(Shared {
                    service: Rc::clone(&service),
                })
                .into_inner()
                .map(|normalizing| AppendSlashService {
                    service,
                    normalizing,
                }),
        )
    }
}

/// The per-worker service built by [`AppendSlash`].
pub struct AppendSlashService<S>
where
    S: Service<ServiceRequest>,
    NormalizePath: Transform<Shared<S>, ServiceRequest>,
{
    service: Rc<S>,
    normalizing: Normalizing<S>,
}

impl<S, B> Service<ServiceRequest> for AppendSlashService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    S::Future: 'static,
{
    type Response = Answer<B>;
    type Error = Error;
    #[allow(clippy::type_complexity)]
    type Future = Either<
        MapOk<S::Future, fn(ServiceResponse<B>) -> Answer<B>>,
        <Normalizing<S> as Service<ServiceRequest>>::Future,
    >;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        if should_append_slash(req.path(), req.resource_map()) {
            keep_only_path_and_query(&mut req);
            Either::Right(self.normalizing.call(req))
        } else {
            let into_answer: fn(ServiceResponse<B>) -> Answer<B> =
                ServiceResponse::map_into_left_body;
            Either::Left(self.service.call(req).map_ok(into_answer))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::{TestRequest, call_service, init_service, read_body};
    use actix_web::{App, HttpResponse, http::header, web};

    /// An answer's status, `Location` and body.
    async fn answer(
        res: ServiceResponse<impl actix_web::body::MessageBody>,
    ) -> (u16, String, String) {
        let location = res
            .headers()
            .get(header::LOCATION)
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let status = res.status().as_u16();
        let body = String::from_utf8(read_body(res).await.to_vec()).unwrap();
        (status, location, body)
    }

    #[actix_web::test]
    async fn only_a_path_whose_slashed_form_has_a_view_is_redirected() {
        let scope = web::scope("/basic")
            .route(
                "/",
                web::get().to(|| async { HttpResponse::Ok().body("page") }),
            )
            .route(
                "/set/",
                web::get().to(|| async { HttpResponse::Ok().body("set") }),
            )
            .wrap(AppendSlash::default());
        let app = init_service(App::new().service(scope)).await;
        for (path, expected) in [
            ("/basic/set", (301, "/basic/set/", "")),
            ("/basic/set?x=1", (301, "/basic/set/?x=1", "")),
            ("/basic", (301, "/basic/", "")),
            ("/basic/set/", (200, "", "set")),
            ("/basic/set/?x=1", (200, "", "set")),
            ("/basic/", (200, "", "page")),
            // Django answers these 404: no view at `/basic/nosuch/`, and runs of slashes are
            // not merged.
            ("/basic/nosuch", (404, "", "")),
            ("/basic//set/", (404, "", "")),
            ("/basic///set", (404, "", "")),
            ("/basic//set", (404, "", "")),
            // A target in absolute form is sent back to the path alone.
            (
                "http://evil.example/basic/set?x=1",
                (301, "/basic/set/?x=1", ""),
            ),
            ("https://evil.example/basic", (301, "/basic/", "")),
            ("http://evil.example/basic/set/", (200, "", "set")),
        ] {
            let request = TestRequest::get().uri(path).to_request();
            let (status, location, body) = answer(call_service(&app, request).await).await;
            assert_eq!(
                (status, location.as_str(), body.as_str()),
                expected,
                "{path}"
            );
        }
    }
}
