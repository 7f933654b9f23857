//! The playground's CSRF check against Django 5.2's `CsrfViewMiddleware`: one POST per case,
//! the same headers, cookie and token sent to the playground of both, and the two answers
//! compared: whether the POST passed, and, where it was refused, the reason (Django's test
//! site answers a refusal with the reason, `lessons_site.views.csrf_failure`; sessionlab's 403
//! gives it after "Reason: ").
//!
//! Over HTTPS (the cases that send `X-Forwarded-Proto: https`, which the test site's
//! `SECURE_PROXY_SSL_HEADER` and sessionlab's `trust_forwarded_headers` both believe) a POST
//! without an `Origin` goes through the `Referer` check.

use std::path::Path;
use std::sync::Arc;

use chrono::{SubsecRound, Utc};
use serde_json::Value;
use sessionlab::session::FakeClock;

use super::{DjangoSite, Scenario, spawn_with_settings, test_settings};

/// The cookie's token in every case that does not name another.
const TOKEN: &str = "abcdefghijklmnopqrstuvwxyzABCDEF";
/// [`TOKEN`] masked by Django's `_mask_cipher_secret`.
const MASKED: &str = "xy2oLAABABGwbZLtrzBKa05ZoihJrf0wxz4rPFGIIKQHncZIHQT3ulrmMHHaTIu1";
/// `TOKEN.upper()` masked by Django's `_mask_cipher_secret`.
const MASKED_UPPER: &str = "2210ScESHuiUCuMYk8W1P7C4MmETdCr1stttmHapf3Sve7qD0PEKzSoRAb4kF5Vw";

/// One POST to `/playground/set/`. In a header's value `{host}` is the side's own
/// `127.0.0.1:<port>` and `{port}` its port.
struct Case<'a> {
    name: &'a str,
    headers: &'a [(&'a str, &'a str)],
    /// The `csrftoken` cookie's value; `None` sends no cookie.
    cookie: Option<&'a str>,
    /// The `csrfmiddlewaretoken` fields, in order: none, one, or one sent twice.
    fields: &'a [&'a str],
}

const fn case<'a>(
    name: &'a str,
    headers: &'a [(&'a str, &'a str)],
    cookie: Option<&'a str>,
    fields: &'a [&'a str],
) -> Case<'a> {
    Case {
        name,
        headers,
        cookie,
        fields,
    }
}

const HTTPS: (&str, &str) = ("X-Forwarded-Proto", "https");
const LOCALHOST: (&str, &str) = ("Host", "localhost");

const CASES: &[Case] = &[
    // The Origin: this site's scheme://host exactly, as the Host header writes it.
    case(
        "same Origin",
        &[("Origin", "http://{host}")],
        Some(TOKEN),
        &[TOKEN],
    ),
    case(
        "Origin with an upper-case scheme",
        &[("Origin", "HTTP://{host}")],
        Some(TOKEN),
        &[TOKEN],
    ),
    case(
        "Origin in lower case to an upper-case Host",
        &[
            ("Host", "LOCALHOST:{port}"),
            ("Origin", "http://localhost:{port}"),
        ],
        Some(TOKEN),
        &[TOKEN],
    ),
    case(
        "Origin as an upper-case Host writes it",
        &[
            ("Host", "LOCALHOST:{port}"),
            ("Origin", "http://LOCALHOST:{port}"),
        ],
        Some(TOKEN),
        &[TOKEN],
    ),
    case(
        "Origin with an explicit :80",
        &[LOCALHOST, ("Origin", "http://localhost:80")],
        Some(TOKEN),
        &[TOKEN],
    ),
    case(
        "Origin with a trailing slash",
        &[("Origin", "http://{host}/")],
        Some(TOKEN),
        &[TOKEN],
    ),
    case(
        "Origin with a path",
        &[("Origin", "http://{host}/playground/")],
        Some(TOKEN),
        &[TOKEN],
    ),
    case("null Origin", &[("Origin", "null")], Some(TOKEN), &[TOKEN]),
    case(
        "same Origin sent twice",
        &[("Origin", "http://{host}"), ("Origin", "http://{host}")],
        Some(TOKEN),
        &[TOKEN],
    ),
    case(
        "https Origin with an explicit :443",
        &[HTTPS, LOCALHOST, ("Origin", "https://localhost:443")],
        Some(TOKEN),
        &[TOKEN],
    ),
    case(
        "https Origin, foreign Referer not looked at",
        &[
            HTTPS,
            ("Origin", "https://{host}"),
            ("Referer", "https://evil.example/"),
        ],
        Some(TOKEN),
        &[TOKEN],
    ),
    // Over HTTPS without an Origin: the Referer, its host[:port] as written.
    case("https without Referer", &[HTTPS], Some(TOKEN), &[TOKEN]),
    case(
        "https same Referer",
        &[HTTPS, ("Referer", "https://{host}/playground/")],
        Some(TOKEN),
        &[TOKEN],
    ),
    case(
        "https Referer with an upper-case scheme",
        &[HTTPS, ("Referer", "HTTPS://{host}/playground/")],
        Some(TOKEN),
        &[TOKEN],
    ),
    case(
        "https Referer without the default port",
        &[
            HTTPS,
            LOCALHOST,
            ("Referer", "https://localhost/playground/"),
        ],
        Some(TOKEN),
        &[TOKEN],
    ),
    case(
        "https Referer with an explicit :443",
        &[
            HTTPS,
            LOCALHOST,
            ("Referer", "https://localhost:443/playground/"),
        ],
        Some(TOKEN),
        &[TOKEN],
    ),
    case(
        "https Referer with an upper-case host",
        &[
            HTTPS,
            LOCALHOST,
            ("Referer", "https://LOCALHOST/playground/"),
        ],
        Some(TOKEN),
        &[TOKEN],
    ),
    case(
        "https Referer in lower case from an upper-case Host",
        &[
            HTTPS,
            ("Host", "LOCALHOST"),
            ("Referer", "https://localhost/playground/"),
        ],
        Some(TOKEN),
        &[TOKEN],
    ),
    case(
        "https Referer with a user",
        &[HTTPS, LOCALHOST, ("Referer", "https://u@localhost/")],
        Some(TOKEN),
        &[TOKEN],
    ),
    case(
        "https Referer over http",
        &[HTTPS, ("Referer", "http://{host}/playground/")],
        Some(TOKEN),
        &[TOKEN],
    ),
    case(
        "https Referer without //",
        &[HTTPS, LOCALHOST, ("Referer", "https:localhost/")],
        Some(TOKEN),
        &[TOKEN],
    ),
    case(
        "https Referer with an unclosed bracket",
        &[HTTPS, ("Referer", "https://[::1/")],
        Some(TOKEN),
        &[TOKEN],
    ),
    case(
        "https foreign Referer with an empty query",
        &[HTTPS, ("Referer", "https://evil.example/x?#")],
        Some(TOKEN),
        &[TOKEN],
    ),
    // The token: where it is looked for, its length and alphabet, masked or not.
    case("no token", &[], Some(TOKEN), &[]),
    case("empty field, no header", &[], Some(TOKEN), &[""]),
    case(
        "empty field, token in the header",
        &[("X-CSRFToken", TOKEN)],
        Some(TOKEN),
        &[""],
    ),
    case("empty header", &[("X-CSRFToken", "")], Some(TOKEN), &[]),
    case(
        "wrong field over a right header",
        &[("X-CSRFToken", TOKEN)],
        Some(TOKEN),
        &["x"],
    ),
    case(
        "header sent twice",
        &[("X-CSRFToken", TOKEN), ("X-CSRFToken", TOKEN)],
        Some(TOKEN),
        &[],
    ),
    case(
        "field sent twice, the right token last",
        &[],
        Some(TOKEN),
        &["x", TOKEN],
    ),
    case(
        "field sent twice, the right token first",
        &[],
        Some(TOKEN),
        &[TOKEN, "x"],
    ),
    case("masked field", &[], Some(TOKEN), &[MASKED]),
    case(
        "masked header",
        &[("X-CSRFToken", MASKED)],
        Some(TOKEN),
        &[],
    ),
    case("masked cookie", &[], Some(MASKED), &[TOKEN]),
    case(
        "masked field of another secret",
        &[],
        Some(TOKEN),
        &[MASKED_UPPER],
    ),
    case(
        "masked header of another secret",
        &[("X-CSRFToken", MASKED_UPPER)],
        Some(TOKEN),
        &[],
    ),
    case(
        "63 characters",
        &[],
        Some(TOKEN),
        &["xy2oLAABABGwbZLtrzBKa05ZoihJrf0wxz4rPFGIIKQHncZIHQT3ulrmMHHaTIu"],
    ),
    case(
        "32 characters, one not ASCII",
        &[],
        Some(TOKEN),
        &["abcdefghijklmnopqrstuvwxyzABCDEé"],
    ),
    case(
        "a character outside the alphabet",
        &[],
        Some(TOKEN),
        &["abcdefghijklmnopqrstuvwxyzABCDE-"],
    ),
    case("no cookie", &[], None, &[TOKEN]),
    case("empty cookie", &[], Some(""), &[TOKEN]),
    case(
        "cookie of 33 characters",
        &[],
        Some("abcdefghijklmnopqrstuvwxyzABCDEFG"),
        &[TOKEN],
    ),
];

/// What one side made of a case: passed, or refused with this reason (the side's port
/// written `{port}`), or another answer.
#[derive(Debug, PartialEq)]
enum Outcome {
    Passed,
    Refused(String),
    Other(u16, String),
}

async fn send(client: &reqwest::Client, address: &str, case: &Case<'_>) -> Outcome {
    let host = address.trim_start_matches("http://");
    let port = host.rsplit(':').next().unwrap_or_default();
    let fill = |text: &str| text.replace("{host}", host).replace("{port}", port);
    let mut req = client
        .post(format!("{address}/playground/set/"))
        .header("Accept", "application/json");
    for (name, value) in case.headers {
        req = req.header(*name, fill(value));
    }
    if let Some(cookie) = case.cookie {
        req = req.header("Cookie", format!("csrftoken={cookie}"));
    }
    let mut form = vec![("key", "k"), ("value", "1")];
    for field in case.fields {
        form.push(("csrfmiddlewaretoken", field));
    }
    let res = req.form(&form).send().await.expect("the server answers");
    let status = res.status().as_u16();
    let body = res.text().await.unwrap_or_default();
    let json: Value = serde_json::from_str(&body).unwrap_or_default();
    // Django's test site gives its reason alone; sessionlab's message gives it after
    // "Reason: ", followed by a word of advice.
    let reason = json["reason"].as_str().map(str::to_owned).or_else(|| {
        json["error"]["message"]
            .as_str()
            .and_then(|m| m.strip_prefix("CSRF verification failed. Request aborted. Reason: "))
            .map(str::to_owned)
    });
    match (status, reason) {
        (200, _) => Outcome::Passed,
        (403, Some(reason)) => Outcome::Refused(reason.replace(port, "{port}")),
        (status, _) => Outcome::Other(status, body),
    }
}

/// Runs every case against both and returns what differs, one line each.
pub async fn differences(python: &Path) -> Vec<String> {
    let start = Utc::now().trunc_subsecs(0);
    let data_dir = tempfile::tempdir().unwrap();
    let settings = test_settings(
        data_dir.path(),
        &[("APP__SERVER__TRUST_FORWARDED_HEADERS", "true")],
    );
    let scenario = Scenario {
        name: "csrf",
        lesson: "playground",
        engine: "db",
        settings: &[],
        steps: &[],
    };
    let django = DjangoSite::start(python, &scenario, settings.secret_key.expose(), start);
    let app = spawn_with_settings(settings, data_dir, Arc::new(FakeClock::new(start))).await;
    let mut found = Vec::new();
    let (mut passed, mut refused) = (0, 0);
    for case in CASES {
        let ours = send(&app.client, &app.address, case).await;
        let theirs = send(&app.client, &django.address, case).await;
        match theirs {
            Outcome::Passed => passed += 1,
            Outcome::Refused(_) => refused += 1,
            Outcome::Other(..) => {}
        }
        let agree = match (&ours, &theirs) {
            // sessionlab's reason is followed by its advice.
            (Outcome::Refused(ours), Outcome::Refused(theirs)) => {
                ours.starts_with(&format!("{theirs} "))
            }
            _ => ours == theirs,
        };
        if !agree {
            found.push(format!(
                "[csrf] {}: sessionlab {ours:?}, Django {theirs:?}",
                case.name
            ));
        }
    }
    // Enough of each answer that a check always passing, or always refusing, would differ.
    if passed < 8 || refused < 20 {
        found.push(format!(
            "[csrf] Django passed {passed} and refused {refused} of {} cases",
            CASES.len()
        ));
    }
    drop(app.stop().await);
    found
}
