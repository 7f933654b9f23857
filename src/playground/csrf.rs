//! Django's cross-site request forgery protection (`CsrfViewMiddleware`) for the playground's
//! forms: a `csrftoken` cookie, the same token in a hidden `csrfmiddlewaretoken` field of every
//! form (or an `X-CSRFToken` header from a script), and the `Origin` check. A POST that fails
//! is refused with 403 and the reason Django's own failure page gives.
//!
//! One simplification: Django (since 4.1) masks the form token with a fresh pad on every page,
//! a defence against BREACH compression attacks; the playground puts the cookie's token in its
//! forms as it is, so a student can compare the two by eye.

use std::fmt;

use actix_web::HttpRequest;
use actix_web::http::header::{HeaderMap, ORIGIN, REFERER};
use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::forwarded;
use crate::session::cookie::request_cookie;
use crate::session::expiry::{add_seconds, http_date};

/// Django's `CSRF_COOKIE_NAME`.
pub const COOKIE_NAME: &str = "csrftoken";
/// The hidden form field Django's `{% csrf_token %}` writes.
pub const FORM_FIELD: &str = "csrfmiddlewaretoken";
/// Django's `CSRF_HEADER_NAME` (`HTTP_X_CSRFTOKEN`), as a script sends it.
pub const HEADER_NAME: &str = "X-CSRFToken";
/// Django's `CSRF_SECRET_LENGTH`.
pub const TOKEN_LENGTH: usize = 32;
/// Django's `CSRF_COOKIE_AGE`: 52 weeks.
pub const COOKIE_AGE: i64 = 31_449_600;
/// Django's `CSRF_ALLOWED_CHARS`: `string.ascii_letters + string.digits`.
const TOKEN_CHARS: &[u8; 62] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Draws a new token, 32 characters of `[a-zA-Z0-9]`, from the operating system's CSPRNG
/// (Django's `_get_new_csrf_string`).
pub fn new_token() -> Result<String, getrandom::Error> {
    // 248 = 4 * 62: bytes at or above it are redrawn so every character is equally likely.
    const ACCEPT_BELOW: u8 = 248;
    let mut token = String::with_capacity(TOKEN_LENGTH);
    let mut buf = [0u8; 48];
    while token.len() < TOKEN_LENGTH {
        getrandom::fill(&mut buf)?;
        for &b in buf.iter().filter(|&&b| b < ACCEPT_BELOW) {
            if token.len() == TOKEN_LENGTH {
                break;
            }
            token.push(char::from(TOKEN_CHARS[usize::from(b % 62)]));
        }
    }
    Ok(token)
}

/// What is wrong with a token's form (Django's `InvalidTokenFormat`), if anything.
fn format_problem(token: &str) -> Option<&'static str> {
    if token.len() != TOKEN_LENGTH {
        Some("has incorrect length")
    } else if !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Some("has invalid characters")
    } else {
        None
    }
}

/// The token a page's forms carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrfToken {
    /// The token.
    pub value: String,
    /// Whether it was drawn for this response (the request had no usable cookie), so the
    /// response must set the cookie ([`cookie_header`]).
    pub is_new: bool,
}

impl CsrfToken {
    /// Django's `get_token(request)`: the request's `csrftoken` cookie when it is well formed,
    /// otherwise a new token.
    pub fn for_request(headers: &HeaderMap) -> Result<CsrfToken, getrandom::Error> {
        match request_cookie(headers, COOKIE_NAME) {
            Some(value) if format_problem(&value).is_none() => Ok(CsrfToken {
                value,
                is_new: false,
            }),
            _ => Ok(CsrfToken {
                value: new_token()?,
                is_new: true,
            }),
        }
    }
}

/// The `Set-Cookie` value for `token`, with Django's CSRF cookie defaults (a year's
/// `Max-Age`, `SameSite=Lax`, readable by scripts) on the playground's `path`.
pub fn cookie_header(token: &str, path: &str, secure: bool, now: DateTime<Utc>) -> String {
    let expires = http_date(add_seconds(now, COOKIE_AGE));
    let mut out = format!(
        "{COOKIE_NAME}={token}; expires={expires}; Max-Age={COOKIE_AGE}; Path={path}; SameSite=Lax"
    );
    if secure {
        out.push_str("; Secure");
    }
    out
}

/// Where the request's token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// The `csrfmiddlewaretoken` form field.
    Form,
    /// The `X-CSRFToken` header.
    Header,
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Form => f.write_str("POST"),
            // Django names the header by its `request.META` key, `HTTP_X_CSRFTOKEN`, put back
            // into a header name by `HttpHeaders.parse_header_name`: `X-Csrftoken`.
            TokenSource::Header => f.write_str("the 'X-Csrftoken' HTTP header"),
        }
    }
}

/// Why a POST was refused, worded as Django's `CsrfViewMiddleware` words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// An `Origin` header that is not this site's `scheme://host`.
    BadOrigin(String),
    /// An HTTPS request with neither `Origin` nor `Referer`.
    NoReferer,
    /// A `Referer` that is not a URL with a scheme and a host.
    MalformedReferer,
    /// An `http:` `Referer` on an HTTPS request.
    InsecureReferer,
    /// A `Referer` from another host.
    BadReferer(String),
    /// No `csrftoken` cookie.
    NoCookie,
    /// A `csrftoken` cookie that is not 32 characters of `[a-zA-Z0-9]`.
    BadCookie(&'static str),
    /// Neither the form field nor the header.
    TokenMissing,
    /// A token that is not 32 characters of `[a-zA-Z0-9]`.
    BadToken(TokenSource, &'static str),
    /// A well-formed token that is not the cookie's.
    IncorrectToken(TokenSource),
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::BadOrigin(origin) => write!(
                f,
                "Origin checking failed - {origin} does not match any trusted origins."
            ),
            Rejection::NoReferer => f.write_str("Referer checking failed - no Referer."),
            Rejection::MalformedReferer => {
                f.write_str("Referer checking failed - Referer is malformed.")
            }
            Rejection::InsecureReferer => {
                f.write_str("Referer checking failed - Referer is insecure while host is secure.")
            }
            Rejection::BadReferer(referer) => write!(
                f,
                "Referer checking failed - {referer} does not match any trusted origins."
            ),
            Rejection::NoCookie => f.write_str("CSRF cookie not set."),
            Rejection::BadCookie(problem) => write!(f, "CSRF cookie {problem}."),
            Rejection::TokenMissing => f.write_str("CSRF token missing."),
            Rejection::BadToken(source, problem) => {
                write!(f, "CSRF token from {source} {problem}.")
            }
            Rejection::IncorrectToken(source) => write!(f, "CSRF token from {source} incorrect."),
        }
    }
}

impl Rejection {
    /// What the visitor can make of it.
    fn advice(&self) -> String {
        match self {
            Rejection::BadOrigin(_) | Rejection::BadReferer(_) => "The form was submitted from another site, and Django accepts a POST only from a page of its own site: this is the attack CSRF protection exists to stop. If it is this site's own page, reached through a reverse proxy (https, or another host name), the proxy must set X-Forwarded-Proto and X-Forwarded-Host (or Forwarded) and sessionlab must be started with [server] trust_forwarded_headers = true, as Django needs SECURE_PROXY_SSL_HEADER and USE_X_FORWARDED_HOST.".to_owned(),
            Rejection::NoReferer | Rejection::MalformedReferer | Rejection::InsecureReferer => "Over HTTPS Django also requires a Referer from this site when the browser sends no Origin; check that your browser or an extension does not strip it.".to_owned(),
            Rejection::NoCookie | Rejection::BadCookie(_) => format!("The browser did not send a usable {COOKIE_NAME} cookie. Open /playground/ again (the page sets the cookie) and make sure cookies are allowed for this site."),
            Rejection::TokenMissing => format!("The POST carried neither a {FORM_FIELD} field (what {{% csrf_token %}} writes into a Django form) nor an {HEADER_NAME} header."),
            Rejection::BadToken(..) | Rejection::IncorrectToken(_) => format!("The token sent with the POST is not the one in your {COOKIE_NAME} cookie (the form may be stale, or it was not made by this site). Reload /playground/ and try again."),
        }
    }
}

impl From<Rejection> for AppError {
    fn from(rejection: Rejection) -> Self {
        AppError::Forbidden(format!(
            "CSRF verification failed. Request aborted. Reason: {rejection} {}",
            rejection.advice()
        ))
    }
}

/// What the check looks at, gathered from one request.
#[derive(Debug, Clone, Default)]
pub struct CsrfInput {
    /// This site as a browser writes an origin: `scheme://host[:port]`.
    pub own_origin: String,
    /// Whether the request came over HTTPS.
    pub secure: bool,
    /// The `Origin` header.
    pub origin: Option<String>,
    /// The `Referer` header.
    pub referer: Option<String>,
    /// The `csrftoken` cookie.
    pub cookie: Option<String>,
    /// The `csrfmiddlewaretoken` form field.
    pub form_token: Option<String>,
    /// The `X-CSRFToken` header.
    pub header_token: Option<String>,
}

impl CsrfInput {
    /// Gathers the input of the check from `req` and its form field. This site's origin is
    /// the request's `Host` and the connection's scheme; `Forwarded` and `X-Forwarded-*` count
    /// only where the server trusts them ([`forwarded::trusted`]), as Django's check reads
    /// `request.get_host()` and `request.is_secure()`.
    pub fn from_request(req: &HttpRequest, form_token: Option<&str>) -> CsrfInput {
        Self::addressed_to(req, &forwarded::request_address(req), form_token)
    }

    /// Gathers the input of the check from `req`, sent to `address`, and its form field.
    pub fn addressed_to(
        req: &HttpRequest,
        address: &forwarded::Address,
        form_token: Option<&str>,
    ) -> CsrfInput {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        CsrfInput {
            own_origin: address.origin(),
            secure: address.is_secure(),
            origin: header(ORIGIN.as_str()),
            referer: header(REFERER.as_str()),
            cookie: request_cookie(req.headers(), COOKIE_NAME),
            form_token: form_token.map(str::to_owned),
            header_token: header(HEADER_NAME),
        }
    }

    /// Django's `CsrfViewMiddleware.process_view` for an unsafe method (POST): the origin
    /// first, then the cookie, then the token, compared in constant time.
    pub fn verify(&self) -> Result<(), Rejection> {
        if let Some(origin) = &self.origin {
            if !origin.eq_ignore_ascii_case(&self.own_origin) {
                return Err(Rejection::BadOrigin(origin.clone()));
            }
        } else if self.secure {
            self.check_referer()?;
        }
        let cookie = self.cookie.as_deref().ok_or(Rejection::NoCookie)?;
        if let Some(problem) = format_problem(cookie) {
            return Err(Rejection::BadCookie(problem));
        }
        // Django reads the form field first and falls back to the header when the field is
        // empty; a header that is there but empty is a token of the wrong length, not a
        // missing one.
        let (source, token) = match self.form_token.as_deref().filter(|t| !t.is_empty()) {
            Some(token) => (TokenSource::Form, token),
            None => match self.header_token.as_deref() {
                Some(token) => (TokenSource::Header, token),
                None => return Err(Rejection::TokenMissing),
            },
        };
        if let Some(problem) = format_problem(token) {
            return Err(Rejection::BadToken(source, problem));
        }
        if bool::from(token.as_bytes().ct_eq(cookie.as_bytes())) {
            Ok(())
        } else {
            Err(Rejection::IncorrectToken(source))
        }
    }

    /// Django's Referer check for HTTPS requests without an `Origin` header.
    fn check_referer(&self) -> Result<(), Rejection> {
        let referer = self.referer.as_deref().ok_or(Rejection::NoReferer)?;
        let url = url::Url::parse(referer).map_err(|_| Rejection::MalformedReferer)?;
        let Some(host) = url.host_str() else {
            return Err(Rejection::MalformedReferer);
        };
        if url.scheme() != "https" {
            return Err(Rejection::InsecureReferer);
        }
        let netloc = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let own_host = self
            .own_origin
            .split_once("://")
            .map_or(self.own_origin.as_str(), |(_, host)| host);
        if netloc.eq_ignore_ascii_case(own_host) {
            Ok(())
        } else {
            Err(Rejection::BadReferer(referer.to_owned()))
        }
    }
}

/// Checks a POST to the playground: `Ok` when it may change the session.
pub fn check(req: &HttpRequest, form_token: Option<&str>) -> Result<(), Rejection> {
    CsrfInput::from_request(req, form_token).verify()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use chrono::TimeZone;

    const TOKEN: &str = "abcdefghijklmnopqrstuvwxyzABCDEF";

    fn good() -> CsrfInput {
        CsrfInput {
            own_origin: "http://127.0.0.1:8000".into(),
            secure: false,
            origin: Some("http://127.0.0.1:8000".into()),
            referer: None,
            cookie: Some(TOKEN.into()),
            form_token: Some(TOKEN.into()),
            header_token: None,
        }
    }

    #[test]
    fn new_tokens_are_32_alphanumerics_and_differ() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_eq!(a.len(), TOKEN_LENGTH);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()), "{a}");
        assert_ne!(a, b);
        let used: std::collections::HashSet<u8> = (0..500)
            .flat_map(|_| new_token().unwrap().into_bytes())
            .collect();
        assert_eq!(used.len(), 62, "every character of [a-zA-Z0-9] appears");
    }

    #[test]
    fn a_matching_token_from_the_form_or_the_header_passes() {
        assert_eq!(good().verify(), Ok(()));
        let header = CsrfInput {
            form_token: None,
            header_token: Some(TOKEN.into()),
            ..good()
        };
        assert_eq!(header.verify(), Ok(()));
        let empty_field = CsrfInput {
            form_token: Some(String::new()),
            header_token: Some(TOKEN.into()),
            origin: None,
            ..good()
        };
        assert_eq!(
            empty_field.verify(),
            Ok(()),
            "an empty field falls back to the header; no Origin over http is fine"
        );
    }

    #[test]
    fn a_foreign_or_null_origin_is_refused_before_the_token_is_looked_at() {
        let foreign = CsrfInput {
            origin: Some("http://evil.example".into()),
            ..good()
        };
        assert_eq!(
            foreign.verify(),
            Err(Rejection::BadOrigin("http://evil.example".into()))
        );
        assert_eq!(
            foreign.verify().unwrap_err().to_string(),
            "Origin checking failed - http://evil.example does not match any trusted origins."
        );
        for origin in ["null", "https://127.0.0.1:8000", "http://127.0.0.1:8001"] {
            let other = CsrfInput {
                origin: Some(origin.into()),
                ..good()
            };
            assert!(
                matches!(other.verify(), Err(Rejection::BadOrigin(_))),
                "{origin}"
            );
        }
    }

    #[test]
    fn every_token_character_is_equally_likely() {
        // Arrange: 5,000 tokens are 160,000 characters, 2,581 of each of the 62 on average,
        // give or take about 50 (one standard deviation).
        let tokens = 5_000;
        let mut counts = [0u32; 62];

        // Act
        for _ in 0..tokens {
            for b in new_token().unwrap().bytes() {
                counts[TOKEN_CHARS.iter().position(|&c| c == b).unwrap()] += 1;
            }
        }

        // Assert: every count within 12% (over 6 deviations) of the mean, as Django's
        // `secrets.choice` draws. A character drawn 5 times in 249 byte values instead of 4 in
        // 248 would come out 25% more often than the others.
        let expected = f64::from(tokens * TOKEN_LENGTH as u32) / 62.0;
        for (at, &count) in counts.iter().enumerate() {
            let deviation = (f64::from(count) - expected).abs() / expected;
            assert!(
                deviation < 0.12,
                "{:?} drawn {count} times, expected about {expected:.0}",
                char::from(TOKEN_CHARS[at])
            );
        }
    }

    #[test]
    fn missing_malformed_and_wrong_tokens_say_which() {
        let no_cookie = CsrfInput {
            cookie: None,
            ..good()
        };
        assert_eq!(no_cookie.verify(), Err(Rejection::NoCookie));
        let short_cookie = CsrfInput {
            cookie: Some("abc".into()),
            ..good()
        };
        assert_eq!(
            short_cookie.verify().unwrap_err().to_string(),
            "CSRF cookie has incorrect length."
        );
        let missing = CsrfInput {
            form_token: None,
            ..good()
        };
        assert_eq!(missing.verify(), Err(Rejection::TokenMissing));
        let bad_chars = CsrfInput {
            form_token: Some(format!("{}!", &TOKEN[..31])),
            ..good()
        };
        assert_eq!(
            bad_chars.verify().unwrap_err().to_string(),
            "CSRF token from POST has invalid characters."
        );
        let wrong = CsrfInput {
            form_token: Some(TOKEN.to_ascii_uppercase()),
            ..good()
        };
        assert_eq!(
            wrong.verify().unwrap_err().to_string(),
            "CSRF token from POST incorrect."
        );
        let wrong_header = CsrfInput {
            form_token: None,
            header_token: Some(TOKEN.to_ascii_lowercase()),
            ..good()
        };
        assert_eq!(
            wrong_header.verify(),
            Err(Rejection::IncorrectToken(TokenSource::Header))
        );
    }

    #[test]
    fn a_header_token_is_named_as_django_names_it() {
        // Django 5.2's reasons for a wrong and an empty `X-CSRFToken` header, which it names
        // from `request.META` as `X-Csrftoken`; an empty header is there, so not "missing".
        let wrong = CsrfInput {
            form_token: None,
            header_token: Some(TOKEN.to_ascii_lowercase()),
            ..good()
        };
        assert_eq!(
            wrong.verify().unwrap_err().to_string(),
            "CSRF token from the 'X-Csrftoken' HTTP header incorrect."
        );
        let empty = CsrfInput {
            form_token: None,
            header_token: Some(String::new()),
            ..good()
        };
        assert_eq!(
            empty.verify().unwrap_err().to_string(),
            "CSRF token from the 'X-Csrftoken' HTTP header has incorrect length."
        );
    }

    #[test]
    fn https_without_origin_needs_a_same_host_https_referer() {
        let secure = |referer: Option<&str>| CsrfInput {
            own_origin: "https://lab.example".into(),
            secure: true,
            origin: None,
            referer: referer.map(str::to_owned),
            ..good()
        };
        assert_eq!(secure(None).verify(), Err(Rejection::NoReferer));
        assert_eq!(
            secure(Some("not a url")).verify(),
            Err(Rejection::MalformedReferer)
        );
        assert_eq!(
            secure(Some("http://lab.example/playground/")).verify(),
            Err(Rejection::InsecureReferer)
        );
        assert!(matches!(
            secure(Some("https://evil.example/")).verify(),
            Err(Rejection::BadReferer(_))
        ));
        assert_eq!(
            secure(Some("https://lab.example/playground/")).verify(),
            Ok(())
        );
    }

    #[test]
    fn the_request_is_read_from_its_headers() {
        let req = TestRequest::post()
            .uri("/playground/set/")
            .insert_header(("Host", "127.0.0.1:8000"))
            .insert_header(("Origin", "http://127.0.0.1:8000"))
            .insert_header(("Cookie", format!("sessionid=x; csrftoken={TOKEN}")))
            .insert_header((HEADER_NAME, TOKEN))
            .to_http_request();
        let input = CsrfInput::from_request(&req, None);
        assert_eq!(input.own_origin, "http://127.0.0.1:8000");
        assert_eq!(input.cookie.as_deref(), Some(TOKEN));
        assert_eq!(input.header_token.as_deref(), Some(TOKEN));
        assert_eq!(check(&req, None), Ok(()));
        assert!(check(&req, Some("x")).is_err(), "the form field wins");
    }

    /// A POST from `origin` carrying the token, whose `X-Forwarded-*` say this site is
    /// `https://evil.example`.
    fn forwarded_post(origin: &str) -> HttpRequest {
        TestRequest::post()
            .uri("/playground/set/")
            .insert_header(("Host", "127.0.0.1:8000"))
            .insert_header(("Origin", origin.to_owned()))
            .insert_header(("X-Forwarded-Proto", "https"))
            .insert_header(("X-Forwarded-Host", "evil.example"))
            .insert_header(("Cookie", format!("csrftoken={TOKEN}")))
            .to_http_request()
    }

    #[test]
    fn untrusted_forwarded_headers_do_not_change_this_sites_origin() {
        // Arrange
        let req = forwarded_post("https://evil.example");

        // Act
        let input = CsrfInput::from_request(&req, Some(TOKEN));

        // Assert: this site is its Host over the connection's scheme, as Django's default.
        assert_eq!(input.own_origin, "http://127.0.0.1:8000");
        assert!(!input.secure);
        assert_eq!(
            check(&req, Some(TOKEN)),
            Err(Rejection::BadOrigin("https://evil.example".into()))
        );
    }

    #[test]
    fn a_trusted_proxys_headers_are_this_sites_origin() {
        // Arrange: behind a proxy that serves https://evil.example and is trusted to say so.
        let req = forwarded_post("https://evil.example");
        let address = forwarded::address(&req, true);

        // Act
        let input = CsrfInput::addressed_to(&req, &address, Some(TOKEN));

        // Assert
        assert_eq!(input.own_origin, "https://evil.example");
        assert!(input.secure);
        assert_eq!(input.verify(), Ok(()));
        let plain = CsrfInput::addressed_to(
            &forwarded_post("http://127.0.0.1:8000"),
            &address,
            Some(TOKEN),
        );
        assert!(matches!(plain.verify(), Err(Rejection::BadOrigin(_))));
    }

    #[test]
    fn a_plain_http_request_needs_no_origin_or_referer() {
        // Arrange: a POST over http with the token and neither header, as Django accepts it
        // (the Referer check is for HTTPS only).
        let req = TestRequest::post()
            .uri("/playground/set/")
            .insert_header(("Host", "127.0.0.1:8000"))
            .insert_header(("Cookie", format!("csrftoken={TOKEN}")))
            .to_http_request();

        // Act
        let input = CsrfInput::from_request(&req, Some(TOKEN));

        // Assert
        assert!(!input.secure);
        assert_eq!(input.origin, None);
        assert_eq!(check(&req, Some(TOKEN)), Ok(()));
    }

    #[test]
    fn a_page_reuses_a_good_cookie_and_replaces_a_bad_one() {
        let with = |cookie: &str| {
            TestRequest::get()
                .insert_header(("Cookie", cookie.to_owned()))
                .to_http_request()
        };
        let kept = CsrfToken::for_request(with(&format!("csrftoken={TOKEN}")).headers()).unwrap();
        assert_eq!(
            kept,
            CsrfToken {
                value: TOKEN.into(),
                is_new: false
            }
        );
        let replaced = CsrfToken::for_request(with("csrftoken=short").headers()).unwrap();
        assert!(replaced.is_new);
        assert_eq!(replaced.value.len(), TOKEN_LENGTH);
    }

    #[test]
    fn the_cookie_has_djangos_defaults_on_the_playground_path() {
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 23, 56, 58).unwrap();
        assert_eq!(
            cookie_header(TOKEN, "/playground/", false, now),
            format!(
                "csrftoken={TOKEN}; expires=Sat, 20 Nov 2027 23:56:58 GMT; Max-Age=31449600; Path=/playground/; SameSite=Lax"
            )
        );
        assert!(cookie_header(TOKEN, "/playground/", true, now).ends_with("; Secure"));
        assert!(!cookie_header(TOKEN, "/playground/", false, now).contains("HttpOnly"));
    }

    #[test]
    fn a_rejection_becomes_a_403_that_says_csrf_verification_failed() {
        let error = AppError::from(Rejection::TokenMissing);
        assert_eq!(
            actix_web::ResponseError::status_code(&error),
            actix_web::http::StatusCode::FORBIDDEN
        );
        let text = error.to_string();
        assert!(
            text.starts_with(
                "CSRF verification failed. Request aborted. Reason: CSRF token missing."
            ),
            "{text}"
        );
        // Then what to do about it: here, where the token goes.
        let advice = text
            .strip_prefix("CSRF verification failed. Request aborted. Reason: CSRF token missing. ")
            .unwrap_or_default();
        assert!(
            advice.contains(FORM_FIELD) && advice.contains(HEADER_NAME),
            "{text}"
        );
    }

    #[test]
    fn each_kind_of_rejection_gets_its_own_advice() {
        let cookie = AppError::from(Rejection::NoCookie).to_string();
        assert!(cookie.contains("Open /playground/ again"), "{cookie}");
        let origin = AppError::from(Rejection::BadOrigin("http://evil.example".into())).to_string();
        assert!(origin.contains("submitted from another site"), "{origin}");
        let token = AppError::from(Rejection::IncorrectToken(TokenSource::Form)).to_string();
        assert!(token.contains("Reload /playground/"), "{token}");
    }
}
