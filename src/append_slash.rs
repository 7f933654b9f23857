//! Django's `APPEND_SLASH` for a scope: `/basic/set` answers 301 to `/basic/set/` (and runs of
//! slashes are merged), by actix-web-lab's [`NormalizePath`]. A path that is already normal —
//! every request a lesson's links and forms make — goes straight to the scope, without the
//! copy and the regular-expression pass `NormalizePath` spends on every request.

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::Error;
use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
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

/// Whether `NormalizePath` would leave `path` as it is: it ends with a slash and has no run of
/// slashes. (An empty path, which no HTTP/1 request has, is left to `NormalizePath`.)
fn is_normal(path: &str) -> bool {
    // A byte scan: `str::contains` sets up a substring search, several times the cost here.
    path.ends_with('/') && !path.as_bytes().windows(2).any(|pair| pair == b"//")
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

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if is_normal(req.path()) {
            let into_answer: fn(ServiceResponse<B>) -> Answer<B> =
                ServiceResponse::map_into_left_body;
            Either::Left(self.service.call(req).map_ok(into_answer))
        } else {
            Either::Right(self.normalizing.call(req))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::{TestRequest, call_service, init_service, read_body};
    use actix_web::{App, HttpResponse, http::header, web};

    #[test]
    fn normal_paths_are_those_normalize_path_leaves_alone() {
        assert!(is_normal("/"));
        assert!(is_normal("/basic/set/"));
        assert!(!is_normal("/basic/set"));
        assert!(!is_normal("/basic//set/"));
        assert!(!is_normal("//"));
        assert!(!is_normal(""));
    }

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
    async fn paths_are_redirected_as_normalize_path_redirects_them_and_normal_ones_served() {
        let scope = || {
            web::scope("/basic").route(
                "/set/",
                web::get().to(|| async { HttpResponse::Ok().body("set") }),
            )
        };
        let ours = init_service(App::new().service(scope().wrap(AppendSlash::default()))).await;
        let theirs = init_service(
            App::new().service(
                scope().wrap(
                    NormalizePath::new(TrailingSlash::Always)
                        .use_redirects_with(StatusCode::MOVED_PERMANENTLY),
                ),
            ),
        )
        .await;
        for (path, expected) in [
            ("/basic/set", (301, "/basic/set/", "")),
            ("/basic/set?x=1", (301, "/basic/set/?x=1", "")),
            ("/basic//set/", (301, "/basic/set/", "")),
            ("/basic///set", (301, "/basic/set/", "")),
            ("/basic/set/", (200, "", "set")),
            ("/basic/set/?x=1", (200, "", "set")),
        ] {
            let get = || TestRequest::get().uri(path).to_request();
            let (status, location, body) = answer(call_service(&ours, get()).await).await;
            assert_eq!(
                (status, location.as_str(), body.as_str()),
                expected,
                "{path}"
            );
            let normalize_path = answer(call_service(&theirs, get()).await).await;
            assert_eq!((status, location, body), normalize_path, "{path}");
        }
    }
}
