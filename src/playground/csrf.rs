//! Django's cross-site request forgery protection (`CsrfViewMiddleware`) for the playground's
//! forms: a `csrftoken` cookie, the same token in a hidden `csrfmiddlewaretoken` field of every
//! form (or an `X-CSRFToken` header from a script), the `Origin` check and, over HTTPS without
//! an `Origin`, the `Referer` check. A POST that fails is refused with 403 and the reason
//! Django's own failure page gives. Each comparison is as strict as Django 5.2's: the `Origin`
//! must be this site's `scheme://host` character for character (no case folding, no `:80`),
//! and a `Referer`'s host and port as written, read by Python's `urlsplit`
//! ([`urlsplit`](crate::playground::urlsplit)), must be this site's host (`:443` or upper case
//! is another host).
//!
//! One simplification: Django (since 4.1) masks the form token with a fresh pad on every page,
//! a defence against BREACH compression attacks; the playground puts the cookie's token in its
//! forms as it is, so a student can compare the two by eye. A masked token (64 characters) is
//! still accepted wherever Django accepts one, in the form, the header or the cookie.

use std::fmt;

use actix_web::HttpRequest;
use actix_web::http::header::{HeaderMap, ORIGIN, REFERER};
use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::forwarded;
use crate::playground::urlsplit::{InvalidUrl, urlsplit};
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
/// Django's `CSRF_TOKEN_LENGTH`: a token masked with a pad of its own length.
pub const MASKED_TOKEN_LENGTH: usize = 2 * TOKEN_LENGTH;
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

/// What is wrong with a token's form (Django's `_check_token_format`), if anything: it must
/// be 32 characters (a secret) or 64 (a masked one), counted as Python counts them, all of
/// `[a-zA-Z0-9]`.
fn format_problem(token: &str) -> Option<&'static str> {
    let chars = token.chars().count();
    if chars != TOKEN_LENGTH && chars != MASKED_TOKEN_LENGTH {
        Some("has incorrect length")
    } else if !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Some("has invalid characters")
    } else {
        None
    }
}

/// The secret a well-formed token stands for (Django's `_unmask_cipher_token`): a 32-character
/// token is the secret; a 64-character one is a pad and the secret shifted by it, character by
/// character along [`TOKEN_CHARS`].
fn secret_of(token: &str) -> String {
    let Some((pad, cipher)) = token
        .split_at_checked(TOKEN_LENGTH)
        .filter(|_| token.len() == MASKED_TOKEN_LENGTH)
    else {
        return token.to_owned();
    };
    let index = |c: u8| TOKEN_CHARS.iter().position(|&t| t == c).unwrap_or(0);
    cipher
        .bytes()
        .zip(pad.bytes())
        .map(|(c, p)| char::from(TOKEN_CHARS[(index(c) + 62 - index(p)) % 62]))
        .collect()
}

/// The token a page's forms carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrfToken {
    /// The token.
    pub value: String,
    /// Whether the response must set the cookie ([`cookie_header`]): the token was drawn for
    /// it (the request had no usable cookie), or the cookie held it masked, as Django wrote it
    /// before 4.1, and Django then writes the secret itself.
    pub needs_cookie: bool,
}

impl CsrfToken {
    /// Django's `get_token(request)`: the secret of the request's `csrftoken` cookie when it
    /// is well formed, otherwise a new token.
    pub fn for_request(headers: &HeaderMap) -> Result<CsrfToken, getrandom::Error> {
        match request_cookie(headers, COOKIE_NAME) {
            Some(value) if format_problem(&value).is_none() => Ok(CsrfToken {
                needs_cookie: value.len() != TOKEN_LENGTH,
                value: secret_of(&value),
            }),
            _ => Ok(CsrfToken {
                value: new_token()?,
                needs_cookie: true,
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
    /// A `csrftoken` cookie that is not 32 or 64 characters of `[a-zA-Z0-9]`.
    BadCookie(&'static str),
    /// Neither the form field nor the header.
    TokenMissing,
    /// A token that is not 32 or 64 characters of `[a-zA-Z0-9]`.
    BadToken(TokenSource, &'static str),
    /// A well-formed token whose secret is not the cookie's.
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
    /// The `Origin` header, as Django reads it (`header_text`).
    pub origin: Option<String>,
    /// The `Referer` header, as Django reads it (`header_text`).
    pub referer: Option<String>,
    /// The `csrftoken` cookie.
    pub cookie: Option<String>,
    /// The `csrfmiddlewaretoken` form field.
    pub form_token: Option<String>,
    /// The `X-CSRFToken` header, as Django reads it (`header_text`).
    pub header_token: Option<String>,
}

/// A request header as Django finds it in `request.META` under WSGI: each byte one character
/// (ISO-8859-1, so a token's length is its length in bytes), and a header sent more than once
/// its values joined by commas, as wsgiref and gunicorn join them.
pub(crate) fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut values = headers.get_all(name).peekable();
    values.peek()?;
    let joined: Vec<String> = values
        .map(|value| value.as_bytes().iter().map(|&b| char::from(b)).collect())
        .collect();
    Some(joined.join(","))
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
        let header = |name: &str| header_text(req.headers(), name);
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
    /// first, then the cookie, then the token, whose secret is compared with the cookie's in
    /// constant time. The `Origin` must be this site's origin exactly, as Django compares it
    /// (`CSRF_TRUSTED_ORIGINS`, which would list others, is not modelled).
    pub fn verify(&self) -> Result<(), Rejection> {
        if let Some(origin) = &self.origin {
            if *origin != self.own_origin {
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
        let (token, cookie) = (secret_of(token), secret_of(cookie));
        if bool::from(token.as_bytes().ct_eq(cookie.as_bytes())) {
            Ok(())
        } else {
            Err(Rejection::IncorrectToken(source))
        }
    }

    /// Django's Referer check for HTTPS requests without an `Origin` header: a URL with a
    /// scheme and a host (as `urlsplit` reads it), `https`, whose `host[:port]` as written is
    /// this site's host ([`is_same_domain`]).
    fn check_referer(&self) -> Result<(), Rejection> {
        let referer = self.referer.as_deref().ok_or(Rejection::NoReferer)?;
        let url = urlsplit(referer).map_err(|InvalidUrl| Rejection::MalformedReferer)?;
        if url.scheme.is_empty() || url.netloc.is_empty() {
            return Err(Rejection::MalformedReferer);
        }
        if url.scheme != "https" {
            return Err(Rejection::InsecureReferer);
        }
        let own_host = self
            .own_origin
            .split_once("://")
            .map_or(self.own_origin.as_str(), |(_, host)| host);
        if is_same_domain(&url.netloc, own_host) {
            Ok(())
        } else {
            Err(Rejection::BadReferer(url.geturl()))
        }
    }
}

/// Django's `is_same_domain(host, pattern)`: `host` is `pattern` lower-cased, or, for a
/// pattern that starts with a dot, any subdomain of it. `host` itself is not lower-cased.
fn is_same_domain(host: &str, pattern: &str) -> bool {
    let pattern = pattern.to_lowercase();
    let within = pattern
        .strip_prefix('.')
        .is_some_and(|domain| host.ends_with(&pattern) || host == domain);
    !pattern.is_empty() && (within || host == pattern)
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
    /// [`TOKEN`] masked by Django 5.2's `_mask_cipher_secret`.
    const MASKED: &str = "xy2oLAABABGwbZLtrzBKa05ZoihJrf0wxz4rPFGIIKQHncZIHQT3ulrmMHHaTIu1";
    /// `TOKEN.upper()` masked by Django 5.2's `_mask_cipher_secret`.
    const MASKED_UPPER: &str = "2210ScESHuiUCuMYk8W1P7C4MmETdCr1stttmHapf3Sve7qD0PEKzSoRAb4kF5Vw";

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
                needs_cookie: false
            }
        );
        let replaced = CsrfToken::for_request(with("csrftoken=short").headers()).unwrap();
        assert!(replaced.needs_cookie);
        assert_eq!(replaced.value.len(), TOKEN_LENGTH);
    }

    #[test]
    fn a_page_keeps_the_secret_of_a_masked_cookie_and_writes_it_unmasked() {
        // Arrange: the cookie Django before 4.1 wrote, a masked token.
        let req = TestRequest::get()
            .insert_header(("Cookie", format!("csrftoken={MASKED}")))
            .to_http_request();

        // Act
        let token = CsrfToken::for_request(req.headers()).unwrap();

        // Assert: Django 5.2's page answers with `Set-Cookie: csrftoken=<the secret>`.
        assert_eq!(
            token,
            CsrfToken {
                value: TOKEN.into(),
                needs_cookie: true
            }
        );
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

    /// The check's answer to `input`: `Ok`, or the reason its 403 gives.
    fn reason(input: &CsrfInput) -> Result<(), String> {
        input.verify().map_err(|rejection| rejection.to_string())
    }

    #[test]
    fn the_origin_must_be_this_sites_origin_character_for_character() {
        // Each answer is Django 5.2's for the same request to Host lab.example over http.
        let from = |origin: &str| CsrfInput {
            own_origin: "http://lab.example".into(),
            origin: Some(origin.into()),
            ..good()
        };
        assert_eq!(reason(&from("http://lab.example")), Ok(()));
        for origin in [
            "http://LAB.EXAMPLE",
            "HTTP://lab.example",
            "http://lab.example:80",
            "http://lab.example/",
            "http://lab.example/playground/",
            "https://lab.example",
            "null",
            "",
        ] {
            assert_eq!(
                reason(&from(origin)),
                Err(format!(
                    "Origin checking failed - {origin} does not match any trusted origins."
                )),
                "{origin:?}"
            );
        }
        // This site's origin is its Host as sent: an upper-case Host wants the same Origin.
        let upper_host = |origin: &str| CsrfInput {
            own_origin: "http://LAB.example".into(),
            ..from(origin)
        };
        assert_eq!(reason(&upper_host("http://LAB.example")), Ok(()));
        assert!(reason(&upper_host("http://lab.example")).is_err());
        let https = |origin: &str| CsrfInput {
            own_origin: "https://lab.example".into(),
            secure: true,
            referer: Some("https://evil.example/".into()),
            ..from(origin)
        };
        assert_eq!(
            reason(&https("https://lab.example")),
            Ok(()),
            "with an Origin, the Referer is not looked at"
        );
        assert_eq!(
            reason(&https("https://lab.example:443")),
            Err(
                "Origin checking failed - https://lab.example:443 does not match any trusted origins."
                    .into()
            )
        );
    }

    #[test]
    fn the_referer_is_read_as_django_reads_it() {
        // Each answer is Django 5.2's for a POST over https to Host lab.example with no Origin.
        let from = |referer: &str| CsrfInput {
            own_origin: "https://lab.example".into(),
            secure: true,
            origin: None,
            referer: Some(referer.into()),
            ..good()
        };
        let bad = |url: &str| {
            Err(format!(
                "Referer checking failed - {url} does not match any trusted origins."
            ))
        };
        let malformed = Err("Referer checking failed - Referer is malformed.".to_owned());
        let insecure =
            Err("Referer checking failed - Referer is insecure while host is secure.".to_owned());
        let cases: &[(&str, Result<(), String>)] = &[
            ("https://lab.example/playground/", Ok(())),
            ("https://lab.example", Ok(())),
            ("HTTPS://lab.example/playground/", Ok(())),
            ("https://lab.\texample/", Ok(())),
            (
                "https://lab.example:443/playground/",
                bad("https://lab.example:443/playground/"),
            ),
            (
                "https://LAB.example/playground/",
                bad("https://LAB.example/playground/"),
            ),
            ("https://u:p@lab.example/", bad("https://u:p@lab.example/")),
            ("https://lab.example./", bad("https://lab.example./")),
            ("https://lab.example:abc/", bad("https://lab.example:abc/")),
            (
                "https://evil.example/x?y=1#z",
                bad("https://evil.example/x?y=1#z"),
            ),
            ("https://evil.example/x?#", bad("https://evil.example/x")),
            ("http://lab.example/playground/", insecure.clone()),
            ("http://evil.example/", insecure.clone()),
            ("ftp://lab.example/", insecure),
            ("not a url", malformed.clone()),
            ("", malformed.clone()),
            ("https:///path", malformed.clone()),
            ("https:lab.example/", malformed.clone()),
            ("https://[::1/", malformed.clone()),
            ("https://[1.2.3.4]/", malformed),
        ];
        for (referer, expected) in cases {
            assert_eq!(&reason(&from(referer)), expected, "{referer:?}");
        }
    }

    #[test]
    fn the_referer_must_carry_the_port_the_host_header_carries() {
        // Django compares with `request.get_host()`, the Host header as sent.
        let at = |host: &str, referer: &str| CsrfInput {
            own_origin: format!("https://{host}"),
            secure: true,
            origin: None,
            referer: Some(referer.into()),
            ..good()
        };
        assert!(matches!(
            at("lab.example:443", "https://lab.example/").verify(),
            Err(Rejection::BadReferer(_))
        ));
        assert_eq!(
            at("lab.example:443", "https://lab.example:443/").verify(),
            Ok(())
        );
        assert_eq!(
            at("lab.example:8443", "https://lab.example:8443/").verify(),
            Ok(())
        );
        assert_eq!(
            at("LAB.EXAMPLE", "https://lab.example/").verify(),
            Ok(()),
            "the Host is lower-cased, the Referer is not"
        );
    }

    #[test]
    fn a_masked_token_is_accepted_wherever_django_accepts_one() {
        let with = |cookie: &str, form: Option<&str>, header: Option<&str>| CsrfInput {
            cookie: Some(cookie.into()),
            form_token: form.map(str::to_owned),
            header_token: header.map(str::to_owned),
            ..good()
        };
        assert_eq!(reason(&with(TOKEN, Some(MASKED), None)), Ok(()));
        assert_eq!(reason(&with(TOKEN, None, Some(MASKED))), Ok(()));
        assert_eq!(reason(&with(MASKED, Some(TOKEN), None)), Ok(()));
        assert_eq!(reason(&with(MASKED, Some(MASKED), None)), Ok(()));
        assert_eq!(
            reason(&with(TOKEN, Some(MASKED_UPPER), None)),
            Err("CSRF token from POST incorrect.".into())
        );
        assert_eq!(
            reason(&with(TOKEN, None, Some(MASKED_UPPER))),
            Err("CSRF token from the 'X-Csrftoken' HTTP header incorrect.".into())
        );
        assert_eq!(
            reason(&with(MASKED_UPPER, Some(TOKEN), None)),
            Err("CSRF token from POST incorrect.".into())
        );
    }

    #[test]
    fn a_token_of_another_form_says_what_is_wrong_with_it() {
        // Each answer is Django 5.2's.
        let form = |token: &str| CsrfInput {
            form_token: Some(token.into()),
            ..good()
        };
        let cookie = |value: &str| CsrfInput {
            cookie: Some(value.into()),
            ..good()
        };
        let length = Err("CSRF token from POST has incorrect length.".to_owned());
        let characters = Err("CSRF token from POST has invalid characters.".to_owned());
        assert_eq!(reason(&form(&MASKED[..63])), length);
        assert_eq!(reason(&form(&format!("{TOKEN}a"))), length);
        assert_eq!(reason(&form("!!")), length, "the length is checked first");
        assert_eq!(reason(&form(&format!("{}!", &MASKED[..63]))), characters);
        assert_eq!(
            reason(&form(&format!("{}é", &TOKEN[..31]))),
            characters,
            "32 characters, one of them not ASCII, as Python counts them"
        );
        assert_eq!(
            reason(&cookie("")),
            Err("CSRF cookie has incorrect length.".into())
        );
        assert_eq!(
            reason(&cookie(&format!("{TOKEN}a"))),
            Err("CSRF cookie has incorrect length.".into())
        );
        assert_eq!(
            reason(&cookie(&format!("{}-", &MASKED[..63]))),
            Err("CSRF cookie has invalid characters.".into())
        );
        let no_token = CsrfInput {
            cookie: Some("abc".into()),
            form_token: None,
            ..good()
        };
        assert_eq!(
            reason(&no_token),
            Err("CSRF cookie has incorrect length.".into()),
            "the cookie is checked before the token is looked for"
        );
        let empty_field = CsrfInput {
            form_token: Some(String::new()),
            ..good()
        };
        assert_eq!(reason(&empty_field), Err("CSRF token missing.".into()));
    }

    #[test]
    fn unmasking_undoes_djangos_pad() {
        assert_eq!(secret_of(MASKED), TOKEN);
        assert_eq!(secret_of(MASKED_UPPER), TOKEN.to_ascii_uppercase());
        assert_eq!(secret_of(TOKEN), TOKEN, "a secret is its own");
    }

    #[test]
    fn headers_are_read_byte_for_byte_and_joined_as_wsgi_joins_them() {
        // Arrange: a token header with a UTF-8 "é" (two bytes), an Origin sent twice.
        let mut token = TOKEN.as_bytes()[..30].to_vec();
        token.extend_from_slice("é".as_bytes());
        let req = TestRequest::post()
            .insert_header(("Host", "lab.example"))
            .append_header(("Origin", "http://lab.example"))
            .append_header(("Origin", "http://lab.example"))
            .insert_header((
                HEADER_NAME,
                actix_web::http::header::HeaderValue::from_bytes(&token).unwrap(),
            ))
            .insert_header(("Cookie", format!("csrftoken={TOKEN}")))
            .to_http_request();

        // Act
        let input = CsrfInput::from_request(&req, None);

        // Assert: Django reads 32 characters of ISO-8859-1 ("Ã©"), and one Origin of both.
        assert_eq!(
            input.header_token.as_deref(),
            Some(format!("{}Ã©", &TOKEN[..30]).as_str())
        );
        assert_eq!(
            input.origin.as_deref(),
            Some("http://lab.example,http://lab.example")
        );
        assert_eq!(
            reason(&CsrfInput {
                origin: None,
                ..input
            }),
            Err("CSRF token from the 'X-Csrftoken' HTTP header has invalid characters.".into())
        );
    }

    #[test]
    fn same_domain_is_djangos_is_same_domain() {
        assert!(is_same_domain("lab.example", "LAB.example"));
        assert!(!is_same_domain("LAB.example", "lab.example"));
        assert!(is_same_domain("a.lab.example", ".lab.example"));
        assert!(is_same_domain("lab.example", ".lab.example"));
        assert!(!is_same_domain("evillab.example", ".lab.example"));
        assert!(!is_same_domain("", ""));
        assert!(!is_same_domain("lab.example:443", "lab.example"));
    }
}
