//! Headers every answer carries: no MIME sniffing, no framing, no referrer to other sites, and
//! a Content-Security-Policy chosen by the kind of answer. A page may load only sessionlab's
//! own assets; a JSON answer is not rendered and loads nothing, so it allows nothing (OWASP's
//! policy for APIs, and 140 bytes shorter on every JSON answer). A header the handler set
//! itself is kept.

use std::future::{Ready, ready};

use actix_web::Error;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{
    self, CONTENT_SECURITY_POLICY, HeaderMap, HeaderName, HeaderValue, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use futures_util::future::{MapOk, TryFutureExt};

/// The policy of an HTML page (or any answer that is not JSON).
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                           img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; \
                           base-uri 'none'; object-src 'none'";

/// The policy of a JSON answer.
const JSON_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

// The header values, checked once at compile time: `HeaderValue::from_static` called at run
// time checks every byte of its text on every answer (the page policy is 180 bytes).
const NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");
const DENY: HeaderValue = HeaderValue::from_static("DENY");
const SAME_ORIGIN: HeaderValue = HeaderValue::from_static("same-origin");
const PAGE_POLICY_VALUE: HeaderValue = HeaderValue::from_static(PAGE_POLICY);
const JSON_POLICY_VALUE: HeaderValue = HeaderValue::from_static(JSON_POLICY);

/// Adds the security headers to every answer of the service it wraps (error pages included,
/// when it wraps the error handlers).
pub struct SecurityHeaders;

impl<S, B> Transform<S, ServiceRequest> for SecurityHeaders
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = SecurityHeadersService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(SecurityHeadersService { service }))
    }
}

/// The wrapped service of [`SecurityHeaders`].
pub struct SecurityHeadersService<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for SecurityHeadersService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = MapOk<S::Future, fn(ServiceResponse<B>) -> ServiceResponse<B>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        self.service.call(req).map_ok(with_security_headers)
    }
}

fn with_security_headers<B>(mut res: ServiceResponse<B>) -> ServiceResponse<B> {
    add_security_headers(res.headers_mut());
    res
}

/// Adds each security header `headers` does not have yet.
fn add_security_headers(headers: &mut HeaderMap) {
    let policy = if is_json(headers) {
        JSON_POLICY_VALUE
    } else {
        PAGE_POLICY_VALUE
    };
    let wanted: [(HeaderName, HeaderValue); 4] = [
        (X_CONTENT_TYPE_OPTIONS, NOSNIFF),
        (X_FRAME_OPTIONS, DENY),
        (REFERRER_POLICY, SAME_ORIGIN),
        (CONTENT_SECURITY_POLICY, policy),
    ];
    for (name, value) in wanted {
        if !headers.contains_key(&name) {
            headers.insert(name, value);
        }
    }
}

/// Whether the answer's media type (the `Content-Type` before any parameter) is JSON.
fn is_json(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).is_some_and(|value| {
        let essence = value
            .as_bytes()
            .split(|&b| b == b';')
            .next()
            .unwrap_or_default();
        essence
            .trim_ascii()
            .eq_ignore_ascii_case(b"application/json")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(headers: &HeaderMap, name: HeaderName) -> &str {
        headers
            .get(&name)
            .expect("the header is set")
            .to_str()
            .unwrap()
    }

    fn headers_for(content_type: Option<&'static str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(content_type) = content_type {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        add_security_headers(&mut headers);
        headers
    }

    #[test]
    fn json_answers_allow_nothing_and_everything_else_only_its_own_origin() {
        for (content_type, policy) in [
            (Some("application/json"), JSON_POLICY),
            (Some("application/json; charset=utf-8"), JSON_POLICY),
            (Some("Application/JSON"), JSON_POLICY),
            (Some("application/jsonp"), PAGE_POLICY),
            (Some("text/html; charset=utf-8"), PAGE_POLICY),
            (Some("text/css"), PAGE_POLICY),
            (Some("not a media type"), PAGE_POLICY),
            (None, PAGE_POLICY),
        ] {
            let headers = headers_for(content_type);
            assert_eq!(
                value(&headers, CONTENT_SECURITY_POLICY),
                policy,
                "{content_type:?}"
            );
            assert_eq!(value(&headers, X_CONTENT_TYPE_OPTIONS), "nosniff");
            assert_eq!(value(&headers, X_FRAME_OPTIONS), "DENY");
            assert_eq!(value(&headers, REFERRER_POLICY), "same-origin");
        }
    }

    #[test]
    fn a_header_the_handler_set_is_kept() {
        let mut headers = HeaderMap::new();
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
        add_security_headers(&mut headers);
        assert_eq!(value(&headers, X_FRAME_OPTIONS), "SAMEORIGIN");
        assert_eq!(value(&headers, CONTENT_SECURITY_POLICY), PAGE_POLICY);
        assert_eq!(headers.get_all(X_FRAME_OPTIONS).count(), 1);
    }

    #[test]
    fn every_value_of_a_header_the_handler_set_is_kept_in_order() {
        let mut headers = HeaderMap::new();
        headers.append(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("img-src *"),
        );
        headers.append(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("script-src 'none'"),
        );
        add_security_headers(&mut headers);
        let policies: Vec<&str> = headers
            .get_all(CONTENT_SECURITY_POLICY)
            .map(|value| value.to_str().unwrap())
            .collect();
        assert_eq!(policies, ["img-src *", "script-src 'none'"]);
        assert_eq!(value(&headers, X_CONTENT_TYPE_OPTIONS), "nosniff");
    }
}
