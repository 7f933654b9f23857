//! Hostile requests against the running server: one table, run on several session engines.
//! Each row is a name, the request (the bytes on the wire), and the outcome it must get — a
//! clean 4xx, a fresh empty session, or the prepared session the row names. No row may get a
//! 5xx or take a worker down, and afterwards the stores hold nothing a hostile key put there.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use base64::Engine as _;
use chrono::TimeDelta;
use serde_json::{Value, json};
use sessionlab::session::SignedCookies;
use sessionlab::session::store::SessionData;

use common::{EngineApp, RawResponse, is_generated_key, raw_request, spawn_engine};

/// `/basic/`'s `SESSION_COOKIE_AGE` (Django's default, two weeks).
const COOKIE_AGE: i64 = 1_209_600;

/// A session prepared before the table, told apart by its `lname`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Label {
    /// Written by `/basic/set/`: `name = 'Sonam'`, `lname = 'rathore'`.
    Basic,
    /// Written by `/dict/set/`: `name = 'Sonam'`, `lname = 'Ronaldo'`.
    Dict,
}

impl Label {
    fn lname(self) -> &'static str {
        match self {
            Label::Basic => "rathore",
            Label::Dict => "Ronaldo",
        }
    }
}

/// The outcome a row must get.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// One of these 4xx statuses, with this text in the answer, and no session cookie.
    Refused(&'static [u16], &'static str),
    /// 200 and a fresh, empty session; a write then starts a new session under a new key.
    Fresh,
    /// 200 and the prepared session with this label.
    Reads(Label),
    /// 200, and the answer's session holds exactly this key, set to 1.
    SetsKey(&'static str),
}

/// Whose cookies a playground POST carries.
#[derive(Clone, Copy)]
enum Who {
    /// The student's: `csrftoken` and their `sessionid`.
    Student,
    /// Only the student's `csrftoken` (a new session, the student's stays as it was).
    CsrfOnly,
    /// None.
    Nobody,
}

/// What a row sends.
enum Send {
    /// `GET /basic/get/` with these `Cookie` header lines (raw bytes, one header each); for an
    /// [`Expect::Fresh`] row, then `GET /basic/set/` with the same lines.
    Cookies(Vec<Vec<u8>>),
    /// These bytes, exactly.
    Raw(Vec<u8>),
    /// A POST of this form body (raw bytes) to `/playground/<op>/` with `who`'s cookies.
    Playground {
        op: &'static str,
        body: Vec<u8>,
        who: Who,
    },
}

struct Row {
    name: &'static str,
    send: Send,
    expect: Expect,
    /// What the `signed_cookies` engine answers instead, where a signed cookie differs from a
    /// key on purpose (it carries its data, so a copy stays valid until it expires).
    on_signed_cookies: Option<Expect>,
}

/// What the rows refer to: prepared sessions, signed cookies made by the test, the student.
struct Prepared {
    /// Cookie value of a [`Label::Basic`] session.
    basic: String,
    /// Cookie value of a [`Label::Dict`] session.
    dict: String,
    /// Cookie value of a [`Label::Basic`] session that `/dict/flush/` then flushed.
    flushed: String,
    /// `{name, lname}` signed with the settings' secret one minute past `COOKIE_AGE` ago.
    signed_too_old: String,
    /// The same, signed one minute short of `COOKIE_AGE` ago.
    signed_nearly_too_old: String,
    /// Signed now, with another secret.
    signed_other_secret: String,
    /// A genuine signature over another payload.
    forged: String,
    /// A file outside the file engine's directory, by absolute path.
    victim: String,
    /// The student's `Cookie` header for `/playground/`: `csrftoken` and `sessionid`.
    student_cookies: String,
    /// The student's CSRF token.
    csrf: String,
}

fn cookie_line(text: impl AsRef<[u8]>) -> Vec<u8> {
    text.as_ref().to_vec()
}

fn session_cookie(value: &str) -> Vec<u8> {
    format!("sessionid={value}").into_bytes()
}

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        serializer.append_pair(k, v);
    }
    serializer.finish().into_bytes()
}

/// The hostile table.
fn table(p: &Prepared) -> Vec<Row> {
    let cookies = |name, lines: Vec<Vec<u8>>, expect| Row {
        name,
        send: Send::Cookies(lines),
        expect,
        on_signed_cookies: None,
    };
    let playground = |name, op, body: Vec<u8>, expect| Row {
        name,
        send: Send::Playground {
            op,
            body,
            who: Who::Student,
        },
        expect,
        on_signed_cookies: None,
    };
    let token = p.csrf.as_str();
    let many_cookies: String = (0..3000)
        .map(|i| format!("c{i}=v{i}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut non_utf8_body = b"key=".to_vec();
    non_utf8_body.extend_from_slice(b"\xff\xfe\xc3(");
    non_utf8_body.extend_from_slice(format!("&value=1&csrfmiddlewaretoken={token}").as_bytes());
    let nested = format!("{}{}", "[".repeat(2000), "]".repeat(2000));
    let value_4097 = format!("\"{}\"", "x".repeat(4095));
    let key_65 = "k".repeat(65);
    let key_10k = "k".repeat(10_000);
    // A head that fills actix-web's 128 KiB request-head buffer and never ends.
    let mut endless_head =
        b"GET /basic/get/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: sessionid=".to_vec();
    endless_head.resize(128 * 1024, b'a');

    vec![
        cookies("no cookie at all", vec![], Expect::Fresh),
        cookies(
            "empty value",
            vec![cookie_line("sessionid=")],
            Expect::Fresh,
        ),
        cookies(
            "empty quoted value",
            vec![cookie_line("sessionid=\"\"")],
            Expect::Fresh,
        ),
        cookies(
            "only separators",
            vec![cookie_line(";;;;=;=;sessionid; =; ;")],
            Expect::Fresh,
        ),
        cookies(
            "7 characters, under Django's minimum of 8",
            vec![cookie_line("sessionid=abcdefg")],
            Expect::Fresh,
        ),
        cookies(
            "upper-case copy of a live key",
            vec![session_cookie(&p.basic.to_uppercase())],
            Expect::Fresh,
        ),
        cookies(
            "a live key with one more character",
            vec![session_cookie(&format!("{}a", p.basic))],
            Expect::Fresh,
        ),
        cookies(
            "41 characters, over the column's 40",
            vec![session_cookie(&"a".repeat(41))],
            Expect::Fresh,
        ),
        cookies(
            "32 characters with dashes and underscores",
            vec![cookie_line("sessionid=aaaa-bbbb_cccc-dddd_eeee-ffff_gggg")],
            Expect::Fresh,
        ),
        cookies(
            "non-ASCII UTF-8",
            vec![cookie_line("sessionid=日本語のクッキー値ですよ")],
            Expect::Fresh,
        ),
        cookies(
            "NUL after a live key",
            vec![[session_cookie(&p.basic), b"\0".to_vec()].concat()],
            Expect::Refused(&[400], ""),
        ),
        cookies(
            "NUL bytes only",
            vec![cookie_line(b"sessionid=\0\0\0\0\0\0\0\0\0\0")],
            Expect::Refused(&[400], ""),
        ),
        cookies(
            "percent-encoded NUL bytes",
            vec![cookie_line("sessionid=%00%00%00%00%00%00%00%00")],
            Expect::Fresh,
        ),
        cookies(
            "bytes that are not UTF-8",
            vec![cookie_line(b"sessionid=\xff\xfe\xfd\xfc\xc3\x28abcdefgh")],
            Expect::Fresh,
        ),
        cookies(
            "a live key followed by a byte that is not UTF-8",
            vec![[session_cookie(&p.basic), b"\xff".to_vec()].concat()],
            Expect::Fresh,
        ),
        cookies(
            "path traversal ../../etc/passwd",
            vec![cookie_line("sessionid=../../etc/passwd")],
            Expect::Fresh,
        ),
        cookies(
            "path traversal ../victim, next to the store",
            vec![cookie_line("sessionid=../victim")],
            Expect::Fresh,
        ),
        cookies(
            "percent-encoded traversal ..%2F..%2Fetc%2Fpasswd",
            vec![cookie_line("sessionid=..%2F..%2F..%2F..%2Fetc%2Fpasswd")],
            Expect::Fresh,
        ),
        cookies(
            "octal-escaped slashes in a quoted value",
            vec![cookie_line("sessionid=\"..\\057..\\057etc\\057passwd\"")],
            Expect::Fresh,
        ),
        cookies(
            "absolute path /etc/passwd",
            vec![cookie_line("sessionid=/etc/passwd")],
            Expect::Fresh,
        ),
        cookies(
            "absolute path of a file outside the store",
            vec![session_cookie(&p.victim)],
            Expect::Fresh,
        ),
        cookies(
            "traversal that names a live session file",
            vec![session_cookie(&format!("../files/sessionid{}", p.basic))],
            Expect::Fresh,
        ),
        cookies(
            "a live key, quoted",
            vec![session_cookie(&format!("\"{}\"", p.basic))],
            Expect::Reads(Label::Basic),
        ),
        cookies(
            "a live key with spaces around name and value",
            vec![cookie_line(format!("  sessionid  =  {}  ", p.basic))],
            Expect::Reads(Label::Basic),
        ),
        cookies(
            "duplicate session cookies, basic then dict: the last wins",
            vec![cookie_line(format!(
                "sessionid={}; sessionid={}",
                p.basic, p.dict
            ))],
            Expect::Reads(Label::Dict),
        ),
        cookies(
            "duplicate session cookies, dict then basic: the last wins",
            vec![cookie_line(format!(
                "sessionid={}; sessionid={}",
                p.dict, p.basic
            ))],
            Expect::Reads(Label::Basic),
        ),
        cookies(
            "duplicate session cookies, a live one then garbage: the last wins",
            vec![cookie_line(format!(
                "sessionid={}; sessionid=garbage-garbage",
                p.basic
            ))],
            Expect::Fresh,
        ),
        cookies(
            "duplicate session cookies in two Cookie headers: the last wins",
            vec![session_cookie(&p.basic), session_cookie(&p.dict)],
            Expect::Reads(Label::Dict),
        ),
        cookies(
            "3000 cookies, none of them the session's",
            vec![cookie_line(&many_cookies)],
            Expect::Fresh,
        ),
        cookies(
            "3000 cookies, then a live session cookie",
            vec![cookie_line(format!(
                "{many_cookies}; sessionid={}",
                p.basic
            ))],
            Expect::Reads(Label::Basic),
        ),
        cookies(
            "a 20 KB Cookie header: one 20 KB session value",
            vec![session_cookie(&"a".repeat(20 * 1024))],
            Expect::Fresh,
        ),
        cookies(
            "a 100 KB Cookie header: one 100 KB session value",
            vec![session_cookie(&"a".repeat(100 * 1024))],
            Expect::Fresh,
        ),
        cookies(
            "a 100 KB Cookie header: 100 KB of other cookies, then a live one",
            vec![cookie_line(format!(
                "junk={}; sessionid={}",
                "j".repeat(100 * 1024),
                p.basic
            ))],
            Expect::Reads(Label::Basic),
        ),
        Row {
            name: "a request head over 128 KiB that never ends",
            send: Send::Raw(endless_head),
            expect: Expect::Refused(&[431], ""),
            on_signed_cookies: None,
        },
        cookies(
            "forged signed cookie: a genuine signature over another payload",
            vec![session_cookie(&p.forged)],
            Expect::Fresh,
        ),
        cookies(
            "signed cookie signed with another secret",
            vec![session_cookie(&p.signed_other_secret)],
            Expect::Fresh,
        ),
        cookies(
            "signed cookie older than its max age",
            vec![session_cookie(&p.signed_too_old)],
            Expect::Fresh,
        ),
        Row {
            on_signed_cookies: Some(Expect::Reads(Label::Basic)),
            ..cookies(
                "signed cookie just younger than its max age",
                vec![session_cookie(&p.signed_nearly_too_old)],
                Expect::Fresh,
            )
        },
        Row {
            on_signed_cookies: Some(Expect::Reads(Label::Basic)),
            ..cookies(
                "replayed key of a flushed session",
                vec![session_cookie(&p.flushed)],
                Expect::Fresh,
            )
        },
        playground(
            "playground: a JSON value of 4097 bytes",
            "set",
            form(&[
                ("key", "big"),
                ("value", &value_4097),
                ("csrfmiddlewaretoken", token),
            ]),
            Expect::Refused(
                &[400],
                "The value is 4097 bytes of JSON; the playground allows at most 4096 bytes.",
            ),
        ),
        playground(
            "playground: a key of 65 characters",
            "set",
            form(&[
                ("key", &key_65),
                ("value", "1"),
                ("csrfmiddlewaretoken", token),
            ]),
            Expect::Refused(
                &[400],
                "The key has 65 characters; the playground allows at most 64.",
            ),
        ),
        playground(
            "playground: a key of 10,000 characters",
            "setdefault",
            form(&[
                ("key", &key_10k),
                ("value", "1"),
                ("csrfmiddlewaretoken", token),
            ]),
            Expect::Refused(
                &[400],
                "The key has 10000 characters; the playground allows at most 64.",
            ),
        ),
        playground(
            "playground: JSON nested 2,000 deep",
            "set",
            form(&[
                ("key", "deep"),
                ("value", &nested),
                ("csrfmiddlewaretoken", token),
            ]),
            Expect::Refused(&[400], "The value is not valid JSON"),
        ),
        playground(
            "playground: a JSON number out of range",
            "set",
            form(&[
                ("key", "n"),
                ("value", "1e400"),
                ("csrfmiddlewaretoken", token),
            ]),
            Expect::Refused(&[400], "The value is not valid JSON"),
        ),
        playground(
            "playground: a form body of 17 KiB",
            "set",
            form(&[
                ("key", "b"),
                ("value", &"x".repeat(17 * 1024)),
                ("csrfmiddlewaretoken", token),
            ]),
            Expect::Refused(
                &[400],
                "the playground accepts at most 16384 bytes (16 KiB) per form",
            ),
        ),
        playground(
            "playground: a form body of 1 MiB",
            "set",
            form(&[
                ("key", "b"),
                ("value", &"x".repeat(1024 * 1024)),
                ("csrfmiddlewaretoken", token),
            ]),
            Expect::Refused(
                &[400],
                "the playground accepts at most 16384 bytes (16 KiB) per form",
            ),
        ),
        // As Django's QueryDict (`errors="replace"`): bytes that are not UTF-8 become U+FFFD.
        Row {
            name: "playground: a form body that is not UTF-8",
            send: Send::Playground {
                op: "set",
                body: non_utf8_body,
                who: Who::CsrfOnly,
            },
            expect: Expect::SetsKey("\u{fffd}\u{fffd}\u{fffd}("),
            on_signed_cookies: None,
        },
        playground(
            "playground: a forged CSRF token",
            "set",
            form(&[
                ("key", "a"),
                ("value", "1"),
                ("csrfmiddlewaretoken", "abcdefghijklmnopqrstuvwxyzABCDEF"),
            ]),
            Expect::Refused(&[403], "CSRF token from POST incorrect."),
        ),
        playground(
            "playground: a CSRF token with characters outside its alphabet",
            "set",
            form(&[
                ("key", "a"),
                ("value", "1"),
                ("csrfmiddlewaretoken", "../../etc/passwd&&&&&&&&&&&&&&&&"),
            ]),
            Expect::Refused(&[403], "CSRF token from POST has invalid characters."),
        ),
        Row {
            name: "playground: the right token without the csrftoken cookie",
            send: Send::Playground {
                op: "set",
                body: form(&[("key", "a"), ("value", "1"), ("csrfmiddlewaretoken", token)]),
                who: Who::Nobody,
            },
            expect: Expect::Refused(&[403], "CSRF cookie not set."),
            on_signed_cookies: None,
        },
    ]
}

fn get_request(path: &str, cookie_lines: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nConnection: close\r\n"
    )
    .into_bytes();
    for line in cookie_lines {
        out.extend_from_slice(b"Cookie: ");
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn post_request(path: &str, cookie: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
        body.len()
    )
    .into_bytes();
    if let Some(cookie) = cookie {
        out.extend_from_slice(format!("Cookie: {cookie}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

async fn send(e: &EngineApp, row: &str, bytes: &[u8]) -> RawResponse {
    let answer = raw_request(&e.app.address, bytes)
        .await
        .unwrap_or_else(|err| panic!("{} / {row}: no answer: {err}", e.engine));
    assert!(
        answer.status < 500,
        "{} / {row}: answered {}: {}",
        e.engine,
        answer.status,
        answer.text()
    );
    answer
}

/// The `sessionid` the answer hands out, unless it is the deletion cookie.
fn handed_out_session(answer: &RawResponse) -> Option<String> {
    answer.cookie_value("sessionid").filter(|v| v != "\"\"")
}

fn check_refused(e: &EngineApp, row: &str, answer: &RawResponse, statuses: &[u16], says: &str) {
    assert!(
        statuses.contains(&answer.status),
        "{} / {row}: expected {statuses:?}, got {}: {}",
        e.engine,
        answer.status,
        answer.text()
    );
    assert!(
        answer.text().contains(says),
        "{} / {row}: the answer names {says:?}: {}",
        e.engine,
        answer.text()
    );
    assert_eq!(
        handed_out_session(answer),
        None,
        "{} / {row}: a refused request hands out no session",
        e.engine
    );
}

fn check_read(e: &EngineApp, row: &str, answer: &RawResponse, expect: Expect) {
    let label = match expect {
        Expect::Refused(statuses, says) => return check_refused(e, row, answer, statuses, says),
        Expect::SetsKey(key) => {
            assert_eq!(
                answer.status,
                200,
                "{} / {row}: {}",
                e.engine,
                answer.text()
            );
            assert_eq!(
                answer.json()["session"]["items"],
                json!([[key, 1]]),
                "{} / {row}",
                e.engine
            );
            assert!(handed_out_session(answer).is_some(), "{} / {row}", e.engine);
            return;
        }
        Expect::Fresh => None,
        Expect::Reads(label) => Some(label),
    };
    assert_eq!(
        answer.status,
        200,
        "{} / {row}: {}",
        e.engine,
        answer.text()
    );
    let json = answer.json();
    match label {
        None => {
            assert_eq!(
                json["context"],
                json!({"name": "Guest", "lname": "Guest"}),
                "{} / {row}: a fresh session",
                e.engine
            );
            assert_eq!(json["session"]["keys"], json!([]), "{} / {row}", e.engine);
            // The cookie is deleted, or (signed_cookies) replaced by a signed empty session.
            if let Some(value) = handed_out_session(answer) {
                assert!(
                    e.engine == "signed_cookies" && value.starts_with("e30:"),
                    "{} / {row}: a read hands out no session: {value}",
                    e.engine
                );
            }
        }
        Some(label) => {
            assert_eq!(
                json["context"],
                json!({"name": "Sonam", "lname": label.lname()}),
                "{} / {row}: reads the {label:?} session",
                e.engine
            );
            assert_eq!(json["session"]["keys"], json!(["name", "lname"]));
            assert_eq!(handed_out_session(answer), None, "{} / {row}", e.engine);
        }
    }
}

/// A write with a hostile cookie starts a new session under a key of the server's making.
fn check_fresh_write(e: &EngineApp, p: &Prepared, row: &str, answer: &RawResponse) {
    assert_eq!(
        answer.status,
        200,
        "{} / {row}: {}",
        e.engine,
        answer.text()
    );
    let value = handed_out_session(answer)
        .unwrap_or_else(|| panic!("{} / {row}: the write hands out a session", e.engine));
    if e.engine == "signed_cookies" {
        let data = SignedCookies::from_settings(&e.app.settings)
            .load(&value, COOKIE_AGE, e.app.now())
            .unwrap_or_else(|err| panic!("{} / {row}: {err}", e.engine));
        let entries: Vec<(String, Value)> = data.into_iter().collect();
        assert_eq!(
            entries,
            [
                ("name".into(), json!("Sonam")),
                ("lname".into(), json!("rathore"))
            ]
        );
    } else {
        assert!(
            is_generated_key(&value),
            "{} / {row}: a key of the server's making: {value}",
            e.engine
        );
        assert!(
            ![&p.basic, &p.dict, &p.flushed].contains(&&value),
            "{} / {row}: a new key",
            e.engine
        );
    }
}

async fn run_row(e: &EngineApp, p: &Prepared, row: &Row) {
    let expect = match (e.engine, row.on_signed_cookies) {
        ("signed_cookies", Some(instead)) => instead,
        _ => row.expect,
    };
    match &row.send {
        Send::Cookies(lines) => {
            let read = send(e, row.name, &get_request("/basic/get/", lines)).await;
            check_read(e, row.name, &read, expect);
            if let Expect::Fresh = expect {
                let write = send(e, row.name, &get_request("/basic/set/", lines)).await;
                check_fresh_write(e, p, row.name, &write);
            }
        }
        Send::Raw(bytes) => {
            let answer = send(e, row.name, bytes).await;
            check_read(e, row.name, &answer, expect);
        }
        Send::Playground { op, body, who } => {
            let csrf_only = format!("csrftoken={}", p.csrf);
            let cookie = match who {
                Who::Student => Some(p.student_cookies.as_str()),
                Who::CsrfOnly => Some(csrf_only.as_str()),
                Who::Nobody => None,
            };
            let answer = send(
                e,
                row.name,
                &post_request(&format!("/playground/{op}/"), cookie, body),
            )
            .await;
            check_read(e, row.name, &answer, expect);
        }
    }
}

/// Prepares the sessions and cookies the rows refer to.
async fn prepare(e: &EngineApp) -> Prepared {
    let app = &e.app;
    let basic = app.new_session("/basic/set/").await;
    let dict = app.new_session("/dict/set/").await;
    let flushed = app.new_session("/basic/set/").await;
    let flush = app
        .get_json("/dict/flush/", Some(&format!("sessionid={flushed}")))
        .await;
    assert_eq!(flush.status, 200);

    let data: SessionData =
        serde_json::from_value(json!({"name": "Sonam", "lname": "rathore"})).unwrap();
    let ours = SignedCookies::from_settings(&app.settings);
    let now = app.now();
    let signed_too_old = ours.encode(&data, now - TimeDelta::seconds(COOKIE_AGE + 60));
    let signed_nearly_too_old = ours.encode(&data, now - TimeDelta::seconds(COOKIE_AGE - 60));
    let signed_other_secret =
        SignedCookies::new("another-secret-another-secret-another", &[]).encode(&data, now);
    let genuine = ours.encode(&data, now);
    let (_, signature) = genuine.split_once(':').unwrap();
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(br#"{"name":"Mallory","lname":"rathore"}"#);
    let forged = format!("{payload}:{signature}");

    let victim = app.data_dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();

    // The student: the csrftoken cookie, then a session holding one marker.
    let first = app.get_json("/playground/", None).await;
    let csrf = first.cookie_value("csrftoken").unwrap();
    let set = app
        .client
        .post(format!("{}/playground/set/", app.address))
        .header("Accept", "application/json")
        .header("Cookie", format!("csrftoken={csrf}"))
        .form(&[
            ("key", "marker"),
            ("value", "\"keep\""),
            ("csrfmiddlewaretoken", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    let session = set
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|v| {
            v.to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .strip_prefix("sessionid=")
                .map(str::to_owned)
        })
        .unwrap();
    Prepared {
        basic,
        dict,
        flushed,
        signed_too_old,
        signed_nearly_too_old,
        signed_other_secret,
        forged,
        victim: victim.display().to_string(),
        student_cookies: format!("csrftoken={csrf}; sessionid={session}"),
        csrf,
    }
}

async fn student_items(e: &EngineApp, p: &Prepared) -> Value {
    let page = e
        .app
        .get_json("/playground/", Some(&p.student_cookies))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.json()["session"]["items"].clone()
}

/// Every path under `root`, relative to it.
fn tree(root: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            found.insert(path.strip_prefix(root).unwrap().display().to_string());
            if path.is_dir() {
                pending.push(path);
            }
        }
    }
    found
}

/// The names in `dir` that start with `sessionid`.
fn sessionid_names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("sessionid"))
        .collect()
}

/// What a store holds afterwards: only keys of the server's making.
async fn assert_stores_hold_only_generated_keys(e: &EngineApp, before: &BTreeSet<String>) {
    let data_dir = e.app.data_dir.path();
    match e.engine {
        "sqlite" => {
            let rows = e.app.rows().await;
            assert!(!rows.is_empty());
            for (key, _, _) in rows {
                assert!(is_generated_key(&key), "a malformed key in SQLite: {key:?}");
            }
        }
        "file" => {
            let files = e.files.as_ref().unwrap();
            let names = tree(files);
            assert!(!names.is_empty());
            for name in &names {
                let key = name.strip_prefix("sessionid").unwrap_or("");
                assert!(
                    is_generated_key(key),
                    "only <cookie name><32 [a-z0-9]> files in the store: {name:?}"
                );
            }
            // Nothing new outside the store's directory.
            let outside: BTreeSet<String> = tree(data_dir)
                .into_iter()
                .filter(|path| !path.starts_with("files/"))
                .collect();
            assert_eq!(&outside, before, "nothing created outside the store");
            assert_eq!(
                std::fs::read_to_string(data_dir.join("victim")).unwrap(),
                "precious"
            );
        }
        "cache_redis" => {
            let prefix = format!(
                "{}django.contrib.sessions.cache",
                e.redis.as_ref().unwrap().prefix
            );
            let keys = e.redis.as_ref().unwrap().keys();
            assert!(!keys.is_empty());
            for key in keys {
                let session_key = key.strip_prefix(&prefix).unwrap_or("");
                assert!(
                    is_generated_key(session_key),
                    "a malformed Redis key: {key}"
                );
            }
        }
        _ => {}
    }
    let parent = data_dir.parent().unwrap();
    assert_eq!(
        sessionid_names(parent),
        BTreeSet::new(),
        "no session file beside the data directory"
    );
}

async fn hostile_table_on(engine: &'static str) {
    // Arrange
    let e = spawn_engine(engine, &[]).await;
    let p = prepare(&e).await;
    let student_before = student_items(&e, &p).await;
    assert_eq!(student_before, json!([["marker", "keep"]]));
    let data_dir = e.app.data_dir.path();
    let outside_before: BTreeSet<String> = tree(data_dir)
        .into_iter()
        .filter(|path| !path.starts_with("files/"))
        .collect();
    let passwd_before = std::fs::metadata("/etc/passwd")
        .ok()
        .map(|m| m.modified().ok());
    let rows = table(&p);

    // Act + Assert, row by row
    for row in &rows {
        run_row(&e, &p, row).await;
        assert_eq!(
            student_items(&e, &p).await,
            student_before,
            "{engine} / {}: the student's session is unchanged",
            row.name
        );
    }

    // Assert: the server still answers, the prepared sessions are intact, the stores clean.
    let health = e.app.get("/healthz", None).await;
    assert_eq!(health.status, 200, "{engine}: {}", health.body);
    for (value, label) in [(&p.basic, Label::Basic), (&p.dict, Label::Dict)] {
        let read = send(
            &e,
            "afterwards",
            &get_request("/basic/get/", &[session_cookie(value)]),
        )
        .await;
        check_read(&e, "afterwards", &read, Expect::Reads(label));
    }
    assert_stores_hold_only_generated_keys(&e, &outside_before).await;
    assert_eq!(
        std::fs::metadata("/etc/passwd")
            .ok()
            .map(|m| m.modified().ok()),
        passwd_before
    );
    println!("{engine}: {} hostile rows passed", rows.len());
}

#[actix_web::test]
async fn hostile_requests_on_sqlite() {
    hostile_table_on("sqlite").await;
}

#[actix_web::test]
async fn hostile_requests_on_files() {
    hostile_table_on("file").await;
}

#[actix_web::test]
async fn hostile_requests_on_signed_cookies() {
    hostile_table_on("signed_cookies").await;
}

#[actix_web::test]
async fn hostile_requests_on_redis() {
    hostile_table_on("cache_redis").await;
}

/// The playground allows 50 values of 4096 bytes, far more than a signed cookie carries: with
/// the `signed_cookies` engine, the write that would overflow the cookie is refused with a 4xx
/// that names the limit, hands out no cookie, and the session stays as it was.
#[actix_web::test]
async fn a_session_too_large_for_its_signed_cookie_is_a_400_not_a_5xx() {
    // Arrange: a student with a session on the signed_cookies engine.
    let e = spawn_engine("signed_cookies", &[]).await;
    let p = prepare(&e).await;
    let noise = |_| {
        let text: String = (0..100)
            .map(|_| sessionlab::session::key::new_session_key().unwrap())
            .collect();
        format!("\"{}\"", &text[..3000])
    };
    let mut cookies = p.student_cookies.clone();
    let mut items = json!([["marker", "keep"]]);
    let mut refused = None;

    // Act: add incompressible 3000-byte values until the cookie cannot hold them.
    for i in 0..4 {
        let body = form(&[
            ("key", &format!("k{i}")),
            ("value", &noise(i)),
            ("csrfmiddlewaretoken", &p.csrf),
        ]);
        let answer = send(
            &e,
            "too large",
            &post_request("/playground/set/", Some(&cookies), &body),
        )
        .await;
        if answer.status != 200 {
            refused = Some(answer);
            break;
        }
        let session = handed_out_session(&answer).unwrap();
        cookies = format!("csrftoken={}; sessionid={session}", p.csrf);
        items = answer.json()["session"]["items"].clone();
    }

    // Assert
    let refused = refused.expect("some write overflows the cookie");
    check_refused(
        &e,
        "too large",
        &refused,
        &[400],
        "too large for the signed_cookies engine",
    );
    assert!(refused.text().contains("4093"), "{}", refused.text());
    let still = e.app.get_json("/playground/", Some(&cookies)).await;
    assert_eq!(still.status, 200);
    assert_eq!(
        still.json()["session"]["items"],
        items,
        "the session as it was"
    );
    assert!(
        items.as_array().unwrap().len() >= 2,
        "at least one value fitted"
    );
}

/// Django's `APPEND_SLASH` redirect names the path alone (`get_full_path_with_slash`), never a
/// host. A request whose target is in absolute form (`GET http://evil.example/basic/set`,
/// which HTTP/1.1 allows and some proxies pass on as they got it) must not put that host in
/// the `Location`: a permanent redirect to another site, cacheable by default, is an open
/// redirect that a cache keyed by `Host` would serve to every student.
#[actix_web::test]
async fn the_append_slash_redirect_never_leads_to_another_host() {
    // Arrange
    let e = spawn_engine("sqlite", &[]).await;
    let redirect = |target: &str| {
        format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .into_bytes()
    };

    for (target, location) in [
        ("/basic/set", "/basic/set/"),
        (
            "/basic/set?next=//evil.example",
            "/basic/set/?next=//evil.example",
        ),
        ("http://evil.example/basic/set", "/basic/set/"),
        ("https://evil.example/playground?x=1", "/playground/?x=1"),
        ("http://evil.example:80@other.example/basic", "/basic/"),
        ("ftp://evil.example/dict/get", "/dict/get/"),
    ] {
        // Act
        let answer = send(&e, target, &redirect(target)).await;

        // Assert
        assert_eq!(answer.status, 301, "{target}: {}", answer.text());
        assert_eq!(answer.header_values("location"), [location], "{target}");
    }
    // Paths that would lead elsewhere once a browser resolved them are not redirected at all.
    for target in [
        "//evil.example",
        "/basic//evil.example",
        "/basic/%2F%2Fevil.example",
        "/basic/\\evil.example",
        "/basic/%5Cevil.example",
        "//evil.example/basic/set",
    ] {
        let answer = send(&e, target, &redirect(target)).await;
        assert_eq!(answer.status, 404, "{target}");
        assert!(answer.header_values("location").is_empty(), "{target}");
    }
}

/// POSTs the playground `op` with `fields`, the CSRF token `csrf` and the session cookie
/// `session`; the answer's status and the `sessionid` it hands out (not a deletion).
async fn playground_op(
    e: &EngineApp,
    op: &str,
    fields: &[(&str, &str)],
    csrf: &str,
    session: &str,
) -> (u16, Option<String>) {
    let mut pairs = fields.to_vec();
    pairs.push(("csrfmiddlewaretoken", csrf));
    let request = post_request(
        &format!("/playground/{op}/"),
        Some(&format!("csrftoken={csrf}; sessionid={session}")),
        &form(&pairs),
    );
    let answer = send(e, op, &request).await;
    (answer.status, handed_out_session(&answer))
}

/// Session fixation: a well-formed key that the store never issued (one an attacker chose and
/// planted in a victim's browser), or one whose session was cycled away or flushed, is never
/// adopted — every write under it starts a session under a key of the server's making, on
/// every engine that keeps sessions on the server.
#[actix_web::test]
async fn a_key_the_store_did_not_issue_is_never_adopted_on_any_server_side_engine() {
    for engine in [
        "sqlite",
        "postgres",
        "file",
        "cache_memory",
        "cache_redis",
        "cached_db_memory",
        "cached_db_redis",
    ] {
        // Arrange: a planted key, and a live session whose key is then cycled away.
        let e = spawn_engine(engine, &[]).await;
        let planted = sessionlab::session::key::new_session_key().unwrap();
        let first = e.app.get_json("/playground/", None).await;
        let csrf = first.cookie_value("csrftoken").unwrap();
        let (_, live) = playground_op(&e, "set", &[("key", "k"), ("value", "1")], &csrf, "-").await;
        let live = live.expect("a new session");
        let (status, cycled) = playground_op(&e, "cycle_key", &[], &csrf, &live).await;
        assert_eq!(status, 200, "{engine}");
        assert_ne!(cycled.as_deref(), Some(live.as_str()), "{engine}");

        // Act and Assert: each write under a key the store does not hold.
        for (stale, what) in [(&planted, "planted"), (&live, "cycled away")] {
            let lesson = e
                .app
                .get_json("/basic/set/", Some(&format!("sessionid={stale}")))
                .await;
            let ops: [(&str, &[(&str, &str)]); 4] = [
                ("set", &[("key", "k"), ("value", "1")]),
                ("setdefault", &[("key", "k"), ("value", "1")]),
                ("cycle_key", &[]),
                ("set_expiry", &[("kind", "seconds"), ("value", "600")]),
            ];
            let mut handed_out = vec![("basic/set", lesson.cookie_value("sessionid"))];
            for (op, fields) in ops {
                let (status, key) = playground_op(&e, op, fields, &csrf, stale).await;
                assert_eq!(status, 200, "{engine} / {what} / {op}");
                handed_out.push((op, key));
            }
            let (status, flushed) = playground_op(&e, "flush", &[], &csrf, stale).await;
            assert_eq!(status, 200, "{engine} / {what} / flush");
            assert_eq!(flushed, None, "{engine} / {what}: flush hands out no key");
            for (op, key) in handed_out {
                let key = key.unwrap_or_else(|| panic!("{engine} / {what} / {op}: no key"));
                assert!(
                    is_generated_key(&key) && key != *stale,
                    "{engine} / {what} / {op}: adopted or odd key {key}"
                );
            }
            // Nothing was stored under the stale key either.
            let read = e
                .app
                .get_json("/basic/get/", Some(&format!("sessionid={stale}")))
                .await;
            assert_eq!(read.json()["context"]["name"], "Guest", "{engine} / {what}");
        }
    }
}
