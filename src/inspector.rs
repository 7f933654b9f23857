//! The session inspector shown on every lesson page: the cookies the browser sent, the
//! `Set-Cookie` this response carries (each attribute explained), the stored record as the
//! response leaves it (saved, unchanged, deleted or absent) with its time left, and, when the
//! session cookie did not come back, the likely reason. It only looks: inspecting never marks
//! the session accessed or changes what the middleware sends.

use actix_web::HttpRequest;
use actix_web::http::header::COOKIE;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::config::SessionSettings;
use crate::forwarded;
use crate::session::cookie::{deletion_cookie, session_cookie};
use crate::session::expiry::floor_seconds;
use crate::session::{CookiePlan, Session};

/// A cookie the browser sent, its value masked.
#[derive(Debug, Serialize)]
pub struct CookieSeen {
    /// The cookie's name.
    pub name: String,
    /// The first characters of the value, then `…` and the length.
    pub masked_value: String,
    /// Whether it is this lesson's session cookie.
    pub is_session_cookie: bool,
}

/// One attribute of the `Set-Cookie` header, with what it makes the browser do.
#[derive(Debug, Serialize)]
pub struct AttributeExplained {
    /// `Path`, `Max-Age` …
    pub name: String,
    /// Its value (empty for flags such as `HttpOnly`).
    pub value: String,
    /// What it means.
    pub meaning: String,
}

/// The `Set-Cookie` of this response.
#[derive(Debug, Serialize)]
pub struct ResponseCookie {
    /// `"set"`, `"delete"` or `"none"`.
    pub action: &'static str,
    /// The header, its value masked.
    pub header: Option<String>,
    /// Its attributes, explained.
    pub attributes: Vec<AttributeExplained>,
    /// Why the middleware does this.
    pub reason: String,
}

/// What the store holds for the session once this response has left.
#[derive(Debug, Serialize)]
pub struct RecordView {
    /// Where it lives (`db (SQLite)`, `signed_cookies` …).
    pub engine: &'static str,
    /// What this response does to it.
    pub state: RecordState,
    /// Its items, in insertion order.
    pub items: Vec<(String, Value)>,
    /// When the store considers it expired: as this response saves it, or as it was loaded.
    pub expire_date: Option<DateTime<Utc>>,
    /// Seconds until then, from now.
    pub seconds_left: Option<i64>,
}

/// What a response does to the stored session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordState {
    /// This response saves it (and sends its cookie).
    Saved,
    /// It was loaded for this request and is left as it was.
    Unchanged,
    /// No session is stored under the browser's cookie any more (flushed, expired or never
    /// there), and this response deletes the cookie.
    Deleted,
    /// There is no session: no cookie came, and nothing is saved.
    Absent,
}

/// Everything the inspector shows.
#[derive(Debug, Serialize)]
pub struct Inspection {
    /// The cookies the browser sent with this request.
    pub request_cookies: Vec<CookieSeen>,
    /// Whether the lesson's session cookie was among them.
    pub session_cookie_sent: bool,
    /// What this response does to the cookie.
    pub response_cookie: ResponseCookie,
    /// The stored record.
    pub record: RecordView,
    /// Likely reasons the session cookie did not come back (empty when it did).
    pub diagnosis: Vec<String>,
}

/// Inspects `session` for the request `req` (after the view ran).
pub fn inspect(req: &HttpRequest, session: &Session, now: DateTime<Utc>) -> Inspection {
    let settings = session.settings();
    let request_cookies = request_cookies(req, &settings.cookie_name);
    let session_cookie_sent = request_cookies.iter().any(|c| c.is_session_cookie);
    let plan = session.planned_cookie(session_cookie_sent);
    Inspection {
        response_cookie: explain_plan(&plan, &settings, session, session_cookie_sent),
        record: record_after(&plan, session, now),
        diagnosis: if session_cookie_sent {
            Vec::new()
        } else {
            diagnose(req, &settings)
        },
        request_cookies,
        session_cookie_sent,
    }
}

/// `abcd…(32)`: enough to tell cookies apart, not enough to steal one.
pub fn mask(value: &str) -> String {
    let shown: String = value.chars().take(4).collect();
    format!("{shown}…({} chars)", value.chars().count())
}

fn request_cookies(req: &HttpRequest, session_cookie: &str) -> Vec<CookieSeen> {
    let mut seen = Vec::new();
    for header in req.headers().get_all(COOKIE) {
        let text = String::from_utf8_lossy(header.as_bytes());
        for pair in text.split(';') {
            let (name, value) = pair.split_once('=').unwrap_or(("", pair));
            let name = name.trim();
            if name.is_empty() && value.trim().is_empty() {
                continue;
            }
            seen.push(CookieSeen {
                name: name.to_owned(),
                masked_value: mask(value.trim()),
                is_session_cookie: name == session_cookie,
            });
        }
    }
    seen
}

/// The stored session as it will be once the response has left: what a save writes, or what
/// was loaded and stays.
fn record_after(plan: &CookiePlan, session: &Session, now: DateTime<Utc>) -> RecordView {
    let engine = session.backend_name();
    let (state, expire_date) = match plan {
        CookiePlan::Set { .. } => (RecordState::Saved, Some(session.planned_expire_date())),
        CookiePlan::Delete => (RecordState::Deleted, None),
        CookiePlan::Keep if session.is_empty() => (RecordState::Absent, None),
        CookiePlan::Keep => (RecordState::Unchanged, session.stored_expire_date()),
    };
    let items = match state {
        RecordState::Saved | RecordState::Unchanged => session.peek_items(),
        RecordState::Deleted | RecordState::Absent => Vec::new(),
    };
    RecordView {
        engine,
        state,
        items,
        expire_date,
        seconds_left: expire_date.map(|at| floor_seconds(at - now)),
    }
}

/// Why no `Set-Cookie` goes out, in the words of the case at hand.
fn why_no_cookie(session: &Session, cookie_sent: bool) -> &'static str {
    if cookie_sent {
        "The session was not modified (and SESSION_SAVE_EVERY_REQUEST is off), so nothing is saved and the browser keeps the cookie it has."
    } else if session.is_empty() && session.modified() {
        "The session is marked modified, but it is empty and has no key: there is nothing to save, and no cookie to set or delete."
    } else {
        "The browser sent no session cookie and the session was not modified, so nothing is saved and no cookie is set."
    }
}

fn explain_plan(
    plan: &CookiePlan,
    settings: &SessionSettings,
    session: &Session,
    cookie_sent: bool,
) -> ResponseCookie {
    match plan {
        CookiePlan::Keep => ResponseCookie {
            action: "none",
            header: None,
            attributes: Vec::new(),
            reason: why_no_cookie(session, cookie_sent).into(),
        },
        CookiePlan::Delete => {
            let header = deletion_cookie(settings);
            ResponseCookie {
                action: "delete",
                attributes: explain(&header),
                header: Some(header),
                reason: "The browser sent a session cookie but the session is now empty (flushed, expired or unknown), so the cookie is deleted.".into(),
            }
        }
        CookiePlan::Set { new_key, lifetime } => {
            let shown_key = match (new_key, session.session_key()) {
                (false, Some(key)) => mask(&key),
                _ => "(new value)".to_owned(),
            };
            // Built with a stand-in value so the masked key is shown as is, not cookie-quoted.
            let header = session_cookie(settings, "KEY", *lifetime).replacen("KEY", &shown_key, 1);
            ResponseCookie {
                action: "set",
                attributes: explain(&header),
                header: Some(header),
                reason: if *new_key {
                    "The session was modified and has no live key yet, so it is saved under a new key that the browser gets now.".into()
                } else {
                    "The session was modified (or SESSION_SAVE_EVERY_REQUEST is on), so it is saved and the cookie's lifetime starts again.".into()
                },
            }
        }
    }
}

/// Each attribute of a `Set-Cookie` value with what it makes the browser do.
pub fn explain(header: &str) -> Vec<AttributeExplained> {
    let mut parts = header.split("; ");
    let mut out = Vec::new();
    if let Some((name, _)) = parts.next().and_then(|p| p.split_once('=')) {
        out.push(AttributeExplained {
            name: name.to_owned(),
            value: String::new(),
            meaning: format!(
                "The cookie's name (SESSION_COOKIE_NAME): the browser sends it back as {name}=…"
            ),
        });
    }
    for part in parts {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        let meaning = match name {
            "Domain" => format!("Sent to {value} and its subdomains (SESSION_COOKIE_DOMAIN)."),
            "expires" if value.starts_with("Thu, 01 Jan 1970") => {
                "A date in the past: the browser deletes the cookie now.".to_owned()
            }
            "expires" => format!("The browser keeps the cookie until {value} (for browsers that ignore Max-Age)."),
            "HttpOnly" => "JavaScript cannot read it: it is not in document.cookie (SESSION_COOKIE_HTTPONLY).".to_owned(),
            "Max-Age" if value == "0" || value.starts_with('-') => {
                "Zero or less: the browser deletes the cookie at once.".to_owned()
            }
            "Max-Age" => format!("The browser keeps the cookie {value} seconds: get_expiry_age() at save time."),
            "Path" => format!("Sent only with requests for URLs under {value} (SESSION_COOKIE_PATH)."),
            "SameSite" => match value {
                "Lax" => "Sent on same-site requests and top-level links from other sites, not on cross-site subrequests (SESSION_COOKIE_SAMESITE).".to_owned(),
                "Strict" => "Sent only on same-site requests, never when arriving from another site.".to_owned(),
                _ => "Sent on cross-site requests too; browsers require Secure with it.".to_owned(),
            },
            "Secure" => "Sent only over HTTPS, or to http://localhost and http://127.0.0.1, which browsers count as secure (SESSION_COOKIE_SECURE).".to_owned(),
            _ => String::new(),
        };
        out.push(AttributeExplained {
            name: name.to_owned(),
            value: value.to_owned(),
            meaning,
        });
    }
    if !header.contains("Max-Age=") {
        out.push(AttributeExplained {
            name: "(no Max-Age, no expires)".to_owned(),
            value: String::new(),
            meaning: "A browser-session cookie: the browser drops it when it closes (get_expire_at_browser_close() is True).".to_owned(),
        });
    }
    out
}

/// Why the browser may not have sent this lesson's session cookie.
fn diagnose(req: &HttpRequest, settings: &SessionSettings) -> Vec<String> {
    let mut reasons = Vec::new();
    let address = forwarded::request_address(req);
    let host = domain(&address.host);
    let local = matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]")
        || host.ends_with(".localhost");
    if settings.cookie_secure && !address.is_secure() && !local {
        // Forwarded headers that the server does not believe, but that say https: the
        // browser's page was likely https at a proxy, and the cookie kept; the fix is a setting.
        if forwarded::address(req, true).is_secure() {
            reasons.push(format!(
                "This lesson's cookie is Secure, and this page came to the server over plain http from {host}, but with a forwarded header (Forwarded or X-Forwarded-Proto) saying the browser used https, which the server does not believe: if a reverse proxy in front serves https and sets that header, the browser does keep the cookie, and [server] trust_forwarded_headers = true (APP__SERVER__TRUST_FORWARDED_HEADERS=true) makes the server see the request as https."
            ));
        } else {
            reasons.push(format!(
                "This lesson's cookie is Secure, and this page came over plain http from {host}, which is not localhost: the browser neither stores nor sends it. Use https, or open the page as http://127.0.0.1."
            ));
        }
    }
    if !req.path().starts_with(&settings.cookie_path) {
        reasons.push(format!(
            "The cookie's Path is {}, which does not cover {}: the browser keeps the cookie but does not send it here.",
            settings.cookie_path,
            req.path()
        ));
    }
    reasons.push(
        "No session yet: the cookie is set by the first view that modifies the session.".to_owned(),
    );
    reasons.push("It expired in the browser (after Max-Age seconds, or when the browser closed for a browser-session cookie), or a flush() deleted it.".to_owned());
    reasons.push("The browser refuses cookies from this site (blocked in its settings), or the client keeps none (curl without -c and -b): the cookie was set, but it never comes back.".to_owned());
    reasons
}

/// The domain of a `Host` header as Django's `split_domain_port` takes it: lower-cased, without
/// its port and a trailing dot (`LOCALHOST.:8000` → `localhost`); an IPv6 address in brackets
/// is whole (`[::1]`, `[::1]:8000` → `[::1]`), where the text after its last colon is part of
/// the address, not a port.
fn domain(host: &str) -> String {
    let host = host.to_ascii_lowercase();
    if host.ends_with(']') {
        return host;
    }
    let name = host
        .rsplit_once(':')
        .map_or(host.as_str(), |(name, _)| name);
    name.strip_suffix('.').unwrap_or(name).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_is_taken_off_a_host_and_an_ipv6_address_is_kept_whole() {
        assert_eq!(domain("127.0.0.1:8000"), "127.0.0.1");
        assert_eq!(domain("localhost"), "localhost");
        assert_eq!(domain("[::1]"), "[::1]");
        assert_eq!(domain("[::1]:8000"), "[::1]");
        assert_eq!(domain("[2001:db8::1]"), "[2001:db8::1]");
    }

    #[test]
    fn a_host_is_compared_lower_cased_and_without_its_trailing_dot() {
        assert_eq!(domain("LOCALHOST:8000"), "localhost");
        assert_eq!(domain("localhost.:8000"), "localhost");
        assert_eq!(domain("Class.Example."), "class.example");
        assert_eq!(domain("[2001:DB8::1]:8000"), "[2001:db8::1]");
    }

    #[test]
    fn masks_keep_four_characters_and_the_length() {
        assert_eq!(mask("0n7rg9den4j7yzdeftps27n1xf2j6jow"), "0n7r…(32 chars)");
        assert_eq!(mask(""), "…(0 chars)");
    }

    #[test]
    fn every_attribute_of_a_session_cookie_is_explained() {
        let attrs = explain(
            "sessionid=abcd; expires=Sat, 05 Dec 2026 23:56:58 GMT; HttpOnly; Max-Age=1209600; Path=/basic/; SameSite=Lax; Secure",
        );
        let names: Vec<&str> = attrs.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "sessionid",
                "expires",
                "HttpOnly",
                "Max-Age",
                "Path",
                "SameSite",
                "Secure"
            ]
        );
        assert!(attrs.iter().all(|a| !a.meaning.is_empty()));
        assert!(attrs[3].meaning.contains("1209600 seconds"));
        assert!(attrs[4].meaning.contains("/basic/"));
    }

    #[test]
    fn deletion_and_browser_session_cookies_say_so() {
        let deletion = explain(
            "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax",
        );
        assert!(deletion[1].meaning.contains("deletes the cookie now"));
        assert!(deletion[2].meaning.contains("at once"));
        let browser = explain("sessionid=abcd; HttpOnly; Path=/; SameSite=Lax");
        assert!(
            browser
                .last()
                .unwrap()
                .meaning
                .contains("browser-session cookie")
        );
    }
}
