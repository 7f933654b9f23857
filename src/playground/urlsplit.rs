//! Python's `urllib.parse.urlsplit` and `geturl()`, as far as Django's CSRF check reads a
//! `Referer` with them: which text is malformed, what its scheme and `netloc` are (the
//! `host[:port]` as written, with any `user@`, neither lower-cased nor stripped of a default
//! port), and the URL the refusal names. A WHATWG parser (the `url` crate) reads the same header
//! otherwise: it lower-cases the host, drops `:443` and the user, and finds a host in
//! `https:lab.example`, so it would accept what Django refuses.
//!
//! Followed as CPython 3.11 does it: leading C0 controls and spaces are stripped, tabs and line
//! breaks removed anywhere, the scheme is lower-cased, and a bracketed host must be an IPv6
//! address (with an optional `%zone`) or an `IPvFuture` (`v1.x`). Not followed: the NFKC check
//! of a `netloc` holding non-ASCII characters, which no browser's `Referer` does.

use std::net::{Ipv4Addr, Ipv6Addr};

/// A URL split as `urlsplit` splits it: `scheme://netloc/path?query#fragment`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitUrl {
    /// The scheme, lower-cased; empty when there is none.
    pub scheme: String,
    /// What follows `//` up to the first `/`, `?` or `#`, as written; empty when there is none.
    pub netloc: String,
    /// The path.
    pub path: String,
    /// What follows the first `?` (before any `#`).
    pub query: String,
    /// What follows the first `#`.
    pub fragment: String,
}

/// Text `urlsplit` refuses with `ValueError` (an unmatched bracket, a bracketed host that is
/// no IPv6 address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUrl;

/// The characters a scheme may hold (Python's `scheme_chars`).
fn is_scheme_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')
}

/// Python's `urllib.parse.urlsplit(url)`.
pub fn urlsplit(url: &str) -> Result<SplitUrl, InvalidUrl> {
    let cleaned: String = url
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let mut rest = cleaned.as_str();
    let mut scheme = String::new();
    if let Some(colon) = rest.find(':')
        && colon > 0
        && rest.starts_with(|c: char| c.is_ascii_alphabetic())
        && rest[..colon].chars().all(is_scheme_char)
    {
        scheme = rest[..colon].to_ascii_lowercase();
        rest = &rest[colon + 1..];
    }
    let mut netloc = "";
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        (netloc, rest) = after.split_at(end);
        check_brackets(netloc)?;
    }
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    Ok(SplitUrl {
        scheme,
        netloc: netloc.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        fragment: fragment.to_owned(),
    })
}

/// `urlsplit`'s check of the brackets in a `netloc`: both or neither, and what the first pair
/// holds an IPv6 address or an `IPvFuture`.
fn check_brackets(netloc: &str) -> Result<(), InvalidUrl> {
    match (netloc.find('['), netloc.contains(']')) {
        (None, false) => Ok(()),
        (Some(open), true) => {
            let inside = &netloc[open + 1..];
            let host = inside.split_once(']').map_or(inside, |(host, _)| host);
            if is_bracketed_host(host) {
                Ok(())
            } else {
                Err(InvalidUrl)
            }
        }
        _ => Err(InvalidUrl),
    }
}

/// Python's `_check_bracketed_host`: `v<hex>.<anything>`, or an IPv6 address (not IPv4) with
/// an optional non-empty `%zone`, as `ipaddress.ip_address` reads it.
fn is_bracketed_host(host: &str) -> bool {
    if let Some(future) = host.strip_prefix('v') {
        return future.split_once('.').is_some_and(|(version, rest)| {
            !version.is_empty()
                && version.bytes().all(|b| b.is_ascii_hexdigit())
                && !rest.is_empty()
        });
    }
    if host.parse::<Ipv4Addr>().is_ok() {
        return false;
    }
    let address = match host.split_once('%') {
        Some((address, zone)) if !zone.is_empty() && !zone.contains('%') => address,
        Some(_) => return false,
        None => host,
    };
    address.parse::<Ipv6Addr>().is_ok()
}

impl SplitUrl {
    /// Python's `SplitResult.geturl()` (`urlunsplit`) for a URL with a scheme and a `netloc`,
    /// the only kind Django names in a refusal: an empty query or fragment loses its `?` or `#`.
    pub fn geturl(&self) -> String {
        let mut out = format!("{}://{}", self.scheme, self.netloc);
        if !self.path.is_empty() && !self.path.starts_with('/') {
            out.push('/');
        }
        out.push_str(&self.path);
        if !self.query.is_empty() {
            out.push('?');
            out.push_str(&self.query);
        }
        if !self.fragment.is_empty() {
            out.push('#');
            out.push_str(&self.fragment);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(url: &str) -> (String, String, String, String, String) {
        let s = urlsplit(url).unwrap();
        (s.scheme, s.netloc, s.path, s.query, s.fragment)
    }

    fn parts(p: [&str; 5]) -> (String, String, String, String, String) {
        let [a, b, c, d, e] = p.map(str::to_owned);
        (a, b, c, d, e)
    }

    #[test]
    fn urls_split_as_python_splits_them() {
        // Each expectation is what CPython 3.11's urlsplit answered for the same text.
        let cases: &[(&str, [&str; 5])] = &[
            (
                "https://lab.example:443/p?q#f",
                ["https", "lab.example:443", "/p", "q", "f"],
            ),
            (
                "HTTPS://Lab.Example/",
                ["https", "Lab.Example", "/", "", ""],
            ),
            ("https:lab.example/", ["https", "", "lab.example/", "", ""]),
            ("https:///p", ["https", "", "/p", "", ""]),
            ("//lab.example/", ["", "lab.example", "/", "", ""]),
            ("localhost:8000/x", ["localhost", "", "8000/x", "", ""]),
            (
                "https://lab.example?x",
                ["https", "lab.example", "", "x", ""],
            ),
            (
                "https://lab.example#x/y?z",
                ["https", "lab.example", "", "", "x/y?z"],
            ),
            ("https://[::1]:8000/", ["https", "[::1]:8000", "/", "", ""]),
            ("https://[::1%eth0]/", ["https", "[::1%eth0]", "/", "", ""]),
            ("https://[v1.x]/", ["https", "[v1.x]", "/", "", ""]),
            ("https://[::1]]/", ["https", "[::1]]", "/", "", ""]),
            (
                "https://u:p@lab.example/",
                ["https", "u:p@lab.example", "/", "", ""],
            ),
            (
                "1https://lab.example/",
                ["", "", "1https://lab.example/", "", ""],
            ),
            (
                "ht tps://lab.example/",
                ["", "", "ht tps://lab.example/", "", ""],
            ),
            (
                "\u{1} https://lab.example/",
                ["https", "lab.example", "/", "", ""],
            ),
            ("https://a\r\nb/", ["https", "ab", "/", "", ""]),
            (
                "https://lab.\texample/",
                ["https", "lab.example", "/", "", ""],
            ),
            ("é:x", ["", "", "é:x", "", ""]),
            ("not a url", ["", "", "not a url", "", ""]),
        ];
        for (url, expected) in cases {
            assert_eq!(split(url), parts(*expected), "{url:?}");
        }
    }

    #[test]
    fn unmatched_brackets_and_bracketed_non_ipv6_hosts_are_invalid() {
        for url in [
            "https://[::1/",
            "https://x]/",
            "https://[1.2.3.4]/",
            "https://[::1%]/",
            "https://[vz.x]/",
            "https://[[::1]/",
            "https://[lab.example]/",
        ] {
            assert_eq!(urlsplit(url), Err(InvalidUrl), "{url:?}");
        }
        for url in [
            "https://[::ffff:1.2.3.4]/",
            "https://[0::1]/",
            "https://a[::1]b/",
        ] {
            assert!(urlsplit(url).is_ok(), "{url:?}");
        }
    }

    #[test]
    fn geturl_drops_an_empty_query_and_fragment() {
        let url = |text: &str| urlsplit(text).unwrap().geturl();
        assert_eq!(url("https://evil.example/x?#"), "https://evil.example/x");
        assert_eq!(
            url("https://evil.example/x?y=1#z"),
            "https://evil.example/x?y=1#z"
        );
        assert_eq!(url("HTTPS://Evil.Example"), "https://Evil.Example");
        assert_eq!(url("https://evil.example?q"), "https://evil.example?q");
    }
}
