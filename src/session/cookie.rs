//! The session cookie on the wire: reading it from `Cookie` headers as Django's `parse_cookie`
//! does (the last duplicate wins) and writing `Set-Cookie` values byte-for-byte as Django
//! writes them (attributes sorted by name: `Domain`, `expires`, `HttpOnly`, `Max-Age`, `Path`,
//! `SameSite`, `Secure`).

use std::borrow::Cow;
use std::fmt::Write as _;

use actix_web::http::header::{COOKIE, HeaderMap};
use chrono::{DateTime, Utc};

use super::datetime_text::push_http_date;
use crate::config::SessionSettings;

/// The `Expires` value of a deletion cookie.
pub const EPOCH_HTTP_DATE: &str = "Thu, 01 Jan 1970 00:00:00 GMT";

/// The value of the cookie `name` in the request's `Cookie` headers, as Django reads it:
/// `;`-separated pairs, whitespace trimmed, quotes removed, the last duplicate winning.
/// Bytes that are not UTF-8 are replaced, so such a value can never match a real key.
pub fn request_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found = None;
    for header in headers.get_all(COOKIE) {
        // Valid UTF-8 (every real browser's header) is borrowed after one fast check.
        let text = match std::str::from_utf8(header.as_bytes()) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(header.as_bytes()),
        };
        for chunk in text.split(';') {
            let (key, value) = chunk.split_once('=').unwrap_or(("", chunk));
            if key.trim() == name {
                found = Some(unquote(value.trim()));
            }
        }
    }
    found
}

/// Python's `http.cookies._unquote`: strips surrounding double quotes and undoes `\"`, `\\`
/// and three-digit octal escapes (`\ooo`, first digit 0–3, is the character `chr(0oooo)`).
fn unquote(value: &str) -> String {
    let Some(inner) = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .filter(|_| value.len() >= 2)
    else {
        return value.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        let rest = chars.as_str();
        if c != '\\' || rest.is_empty() {
            out.push(c);
            continue;
        }
        let octal = rest.as_bytes().get(..3).filter(|d| {
            (b'0'..=b'3').contains(&d[0]) && d[1..].iter().all(|c| (b'0'..=b'7').contains(c))
        });
        match octal {
            Some(d) => {
                let code = d.iter().fold(0u8, |n, c| n * 8 + (c - b'0'));
                out.push(char::from(code));
                chars = rest[3..].chars();
            }
            None => {
                // `\x` is `x` (Python's `.` does not match a newline, which no header holds).
                out.extend(chars.next());
            }
        }
    }
    out
}

/// The `Set-Cookie` value that hands the browser its session: `Max-Age` and `Expires` when the
/// session has a lifetime, neither for a browser-session cookie. Written piece by piece into
/// one buffer of the right size: every saved session writes one, and `format!` cost more than
/// the rest of the cookie.
pub fn session_cookie(
    settings: &SessionSettings,
    value: &str,
    lifetime: Option<(i64, DateTime<Utc>)>,
) -> String {
    let value = quote(value);
    // Besides these texts, the attribute names, the date, Max-Age's digits and the SameSite
    // value take at most 120 bytes.
    let mut out = String::with_capacity(
        settings.cookie_name.len()
            + value.len()
            + settings.cookie_domain.as_ref().map_or(0, String::len)
            + settings.cookie_path.len()
            + 128,
    );
    out.push_str(&settings.cookie_name);
    out.push('=');
    out.push_str(&value);
    if let Some(domain) = &settings.cookie_domain {
        out.push_str("; Domain=");
        out.push_str(domain);
    }
    if let Some((_, expires)) = lifetime {
        out.push_str("; expires=");
        push_http_date(&mut out, expires);
    }
    if settings.cookie_httponly {
        out.push_str("; HttpOnly");
    }
    if let Some((max_age, _)) = lifetime {
        out.push_str("; Max-Age=");
        out.push_str(itoa::Buffer::new().format(max_age));
    }
    out.push_str("; Path=");
    out.push_str(&settings.cookie_path);
    if let Some(samesite) = settings.cookie_samesite.attribute() {
        out.push_str("; SameSite=");
        out.push_str(samesite);
    }
    if settings.cookie_secure {
        out.push_str("; Secure");
    }
    out
}

/// Django's `response.delete_cookie(name, path, domain, samesite)`: an empty quoted value,
/// `Max-Age=0`, the epoch as `Expires`, no `HttpOnly`; `Secure` only where browsers demand it.
pub fn deletion_cookie(settings: &SessionSettings) -> String {
    let name = &settings.cookie_name;
    let mut out = format!("{name}=\"\"");
    if let Some(domain) = &settings.cookie_domain {
        let _ = write!(out, "; Domain={domain}");
    }
    let _ = write!(
        out,
        "; expires={EPOCH_HTTP_DATE}; Max-Age=0; Path={}",
        settings.cookie_path
    );
    if let Some(samesite) = settings.cookie_samesite.attribute() {
        let _ = write!(out, "; SameSite={samesite}");
    }
    let secure = name.starts_with("__Secure-")
        || name.starts_with("__Host-")
        || settings.cookie_samesite.is_none_policy();
    if secure {
        out.push_str("; Secure");
    }
    out
}

/// Python's `http.cookies._quote` for the values we write: session keys and signed values are
/// made of legal characters and go out as they are; anything else is quoted and escaped.
fn quote(value: &str) -> Cow<'_, str> {
    const LEGAL: &[u8] = b"!#$%&'*+-.^_`|~:";
    let legal = |b: u8| b.is_ascii_alphanumeric() || LEGAL.contains(&b);
    if !value.is_empty() && value.bytes().all(legal) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for b in value.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b if legal(b) || b == b' ' || b"(),/<=>?@[]{}".contains(&b) => out.push(b as char),
            b => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out.push('"');
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SameSite;
    use actix_web::http::header::HeaderValue;
    use chrono::TimeZone;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(COOKIE, HeaderValue::from_bytes(v).unwrap());
        }
        map
    }

    fn settings() -> SessionSettings {
        SessionSettings::django_defaults("/")
    }

    #[test]
    fn the_last_duplicate_cookie_wins_across_headers() {
        let h = headers(&[b"sessionid=first; other=x", b"sessionid=second"]);
        assert_eq!(request_cookie(&h, "sessionid").as_deref(), Some("second"));
        let h = headers(&[b" sessionid = spaced ;x=1"]);
        assert_eq!(request_cookie(&h, "sessionid").as_deref(), Some("spaced"));
        assert_eq!(request_cookie(&h, "missing"), None);
    }

    #[test]
    fn quoted_values_are_unquoted_like_python() {
        let h = headers(&[br#"sessionid="a\"b\\c\073d""#]);
        assert_eq!(
            request_cookie(&h, "sessionid").as_deref(),
            Some("a\"b\\c;d")
        );
        let h = headers(&[br#"sessionid="""#]);
        assert_eq!(request_cookie(&h, "sessionid").as_deref(), Some(""));
        // `\351` is the character U+00E9, as `chr(0o351)` is, not a lone byte.
        let h = headers(&[br#"sessionid="caf\351 \303\251""#]);
        assert_eq!(
            request_cookie(&h, "sessionid").as_deref(),
            Some("caf\u{e9} \u{c3}\u{a9}")
        );
    }

    #[test]
    fn only_three_digit_escapes_starting_0_to_3_are_octal() {
        // Python's `_unquote` reads `\[0-3][0-7][0-7]` as octal; any other backslash just
        // keeps the character after it: `"\400"` is `400`, `"\08x"` is `08x`.
        let h = headers(&[br#"sessionid="\400""#]);
        assert_eq!(request_cookie(&h, "sessionid").as_deref(), Some("400"));
        let h = headers(&[br#"sessionid="\08x""#]);
        assert_eq!(request_cookie(&h, "sessionid").as_deref(), Some("08x"));
    }

    #[test]
    fn non_utf8_bytes_do_not_panic() {
        let h = headers(&[b"sessionid=ab\xffcdefgh"]);
        let value = request_cookie(&h, "sessionid").unwrap();
        assert!(value.contains('\u{fffd}'));
    }

    #[test]
    fn session_cookie_matches_djangos_default_string() {
        let expires = Utc.with_ymd_and_hms(2026, 12, 5, 23, 56, 58).unwrap();
        let cookie = session_cookie(
            &settings(),
            "0n7rg9den4j7yzdeftps27n1xf2j6jow",
            Some((1_209_600, expires)),
        );
        assert_eq!(
            cookie,
            "sessionid=0n7rg9den4j7yzdeftps27n1xf2j6jow; expires=Sat, 05 Dec 2026 23:56:58 GMT; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax"
        );
    }

    #[test]
    fn browser_session_cookie_has_no_lifetime_and_secure_comes_last() {
        let mut s = settings();
        s.cookie_name = "sessionname".into();
        s.cookie_path = "/home".into();
        s.cookie_secure = true;
        assert_eq!(
            session_cookie(&s, "zvxe1234", None),
            "sessionname=zvxe1234; HttpOnly; Path=/home; SameSite=Lax; Secure"
        );
    }

    #[test]
    fn domain_comes_first_and_httponly_can_be_off() {
        let mut s = settings();
        s.cookie_domain = Some(".example.com".into());
        s.cookie_samesite = SameSite::STRICT;
        s.cookie_httponly = false;
        let expires = Utc.with_ymd_and_hms(2026, 12, 5, 23, 56, 58).unwrap();
        assert_eq!(
            session_cookie(&s, "abcdefgh", Some((1_209_600, expires))),
            "sessionid=abcdefgh; Domain=.example.com; expires=Sat, 05 Dec 2026 23:56:58 GMT; Max-Age=1209600; Path=/; SameSite=Strict"
        );
        assert_eq!(
            deletion_cookie(&s),
            "sessionid=\"\"; Domain=.example.com; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Strict"
        );
    }

    #[test]
    fn deletion_cookie_matches_django() {
        assert_eq!(
            deletion_cookie(&settings()),
            "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax"
        );
        let mut s = settings();
        s.cookie_samesite = SameSite::NONE;
        assert!(deletion_cookie(&s).ends_with("; SameSite=None; Secure"));
        s.cookie_samesite = SameSite::Omit;
        assert!(!deletion_cookie(&s).contains("SameSite"));
    }

    #[test]
    fn a_prefixed_cookie_name_gets_a_secure_deletion_cookie() {
        // Django's `delete_cookie` sets `Secure` for a `__Secure-` or `__Host-` name, which
        // browsers otherwise refuse, whatever the SameSite policy.
        let mut s = settings();
        s.cookie_name = "__Secure-sessionid".into();
        assert_eq!(
            deletion_cookie(&s),
            "__Secure-sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax; Secure"
        );
        s.cookie_name = "__Host-sid".into();
        assert_eq!(
            deletion_cookie(&s),
            "__Host-sid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax; Secure"
        );
    }

    #[test]
    fn negative_max_age_is_written_as_is() {
        let expires = Utc.with_ymd_and_hms(2026, 11, 21, 23, 56, 48).unwrap();
        let cookie = session_cookie(&settings(), "abcdefgh", Some((-10, expires)));
        assert!(cookie.contains("; Max-Age=-10;"), "{cookie}");
    }

    #[test]
    fn illegal_characters_are_quoted() {
        assert_eq!(quote(""), "\"\"");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote("a;b"), "\"a\\073b\"");
        assert_eq!(quote("e30:1r31eq:abc-_"), "e30:1r31eq:abc-_");
    }
}
