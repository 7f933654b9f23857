//! The address a request was sent to — its scheme and host — as the origin checks compare it
//! with `Origin` and `Referer`. `Forwarded`, `X-Forwarded-Proto` and `X-Forwarded-Host` are
//! believed only when a reverse proxy in front is said to set them: any client can send them,
//! and believing them from anyone would let a request name its own "own origin". Django trusts
//! neither by default (`USE_X_FORWARDED_HOST = False`, `SECURE_PROXY_SSL_HEADER = None`).

use actix_web::HttpRequest;
use actix_web::http::header::HOST;
use actix_web::web;

use crate::config::Settings;
use crate::startup::AppState;

/// Whether the server believes `Forwarded` and `X-Forwarded-*`: `[server]
/// trust_forwarded_headers` (Django's `USE_X_FORWARDED_HOST` and `SECURE_PROXY_SSL_HEADER`
/// together), false unless a reverse proxy in front sets them. This is the one place the
/// decision is read.
pub fn trusted(settings: &Settings) -> bool {
    settings.server.trust_forwarded_headers
}

/// A request's scheme and host, as a browser writes them in an `Origin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// `http` or `https` (Django's `request.scheme`).
    pub scheme: String,
    /// The host and port, if any (Django's `request.get_host()`).
    pub host: String,
}

impl Address {
    /// `scheme://host`, this site's origin.
    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.host)
    }

    /// Whether the request came over HTTPS (Django's `request.is_secure()`).
    pub fn is_secure(&self) -> bool {
        self.scheme == "https"
    }
}

/// The address `req` was sent to. With `trust`, what `Forwarded` (`proto=`, `host=`) or
/// `X-Forwarded-Proto` and `X-Forwarded-Host` say, as actix-web reads them; without, the
/// connection's own scheme and the `Host` header, as Django reads them by default.
pub fn address(req: &HttpRequest, trust: bool) -> Address {
    if trust {
        let info = req.connection_info();
        return Address {
            scheme: info.scheme().to_owned(),
            host: info.host().to_owned(),
        };
    }
    let config = req.app_config();
    let host = req
        .headers()
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or_else(|| config.host());
    // The connection's scheme, not the request target's: `POST https://…` over plain http
    // is still plain http (Django's `wsgi.url_scheme`).
    let scheme = if config.secure() { "https" } else { "http" };
    Address {
        scheme: scheme.to_owned(),
        host: host.to_owned(),
    }
}

/// The address of `req` as the server's settings say to read it ([`trusted`]); a request
/// outside the app (no [`AppState`]) believes no forwarded header.
pub fn request_address(req: &HttpRequest) -> Address {
    let trust = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| trusted(&state.settings));
    address(req, trust)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::fixtures::load;
    use actix_web::test::TestRequest;

    fn forwarded_request() -> HttpRequest {
        TestRequest::post()
            .uri("/playground/set/")
            .insert_header(("Host", "127.0.0.1:8000"))
            .insert_header(("X-Forwarded-Proto", "https"))
            .insert_header(("X-Forwarded-Host", "evil.example"))
            .to_http_request()
    }

    #[test]
    fn forwarded_headers_are_ignored_unless_trusted() {
        // Arrange
        let req = forwarded_request();

        // Act
        let address = address(&req, false);

        // Assert
        assert_eq!(address.origin(), "http://127.0.0.1:8000");
        assert!(!address.is_secure());
    }

    #[test]
    fn trusted_forwarded_headers_name_the_address() {
        let x_forwarded = address(&forwarded_request(), true);
        assert_eq!(x_forwarded.origin(), "https://evil.example");
        assert!(x_forwarded.is_secure());

        let forwarded = TestRequest::post()
            .insert_header(("Host", "127.0.0.1:8000"))
            .insert_header(("Forwarded", "proto=https;host=lab.example"))
            .to_http_request();
        assert_eq!(address(&forwarded, true).origin(), "https://lab.example");
        assert_eq!(address(&forwarded, false).origin(), "http://127.0.0.1:8000");
    }

    #[test]
    fn an_absolute_request_target_does_not_change_the_scheme() {
        // Arrange: `POST https://127.0.0.1:8000/…` sent over plain http.
        let req = TestRequest::post()
            .uri("https://127.0.0.1:8000/playground/set/")
            .insert_header(("Host", "127.0.0.1:8000"))
            .to_http_request();

        // Act
        let untrusted = address(&req, false);

        // Assert
        assert_eq!(untrusted.origin(), "http://127.0.0.1:8000");
    }

    #[test]
    fn without_a_host_header_the_authority_is_the_host() {
        // An HTTP/2 request names its host in `:authority`, which actix-web puts in the URI.
        let req = TestRequest::get()
            .uri("http://lab.example:8443/")
            .to_http_request();
        assert_eq!(address(&req, false).host, "lab.example:8443");
    }

    #[test]
    fn forwarded_headers_are_trusted_only_when_the_settings_say_so() {
        // Arrange: the default settings, and the same with a trusted proxy in front.
        let by_default = load("default", &[]).unwrap();
        let behind_a_proxy = load(
            "default",
            &[("APP__SERVER__TRUST_FORWARDED_HEADERS", "true")],
        )
        .unwrap();

        // Act and Assert
        assert!(!trusted(&by_default));
        assert!(trusted(&behind_a_proxy));
    }

    #[test]
    fn a_request_outside_the_app_believes_no_forwarded_header() {
        assert_eq!(
            request_address(&forwarded_request()).origin(),
            "http://127.0.0.1:8000"
        );
    }
}
