//! Differential tests: the same clicks sent to a real Django 5.2 running the tutorial programs
//! (`tests/django/lessons_site`, served by `tests/django/serve_lessons.py`) and to sessionlab,
//! and the session parts of the two answers compared step by step: the status, whether the
//! session cookie is set or deleted, each of its attributes (name, `Domain`, `Path`, `Max-Age`,
//! the distance of `expires` from the answer's clock, `SameSite`, `Secure`, `HttpOnly`, in
//! Django's order), the deletion cookie's exact text, the key's form and whether it changed,
//! `Vary`, `Cache-Control`, and the session each side reports after the view (items, cookie age,
//! expiry age and date, browser close, test cookie).
//!
//! Both sides run on one stopped clock that the scenario moves: sessionlab on its
//! [`FakeClock`], Django on `time.time()` and `timezone.now()` stopped by the serving script and
//! moved by an `X-Test-Clock` header. (sessionlab's `Date` header is the wall clock, not the
//! test clock, so `expires` is measured against each side's clock: Django's `Date`, sessionlab's
//! [`FakeClock`].)
//!
//! Beside the hand-written scenarios, seeded random walks (`django_differential/walks.rs`)
//! string the same steps together in orders no one wrote, and the playground's CSRF check is
//! compared case by case (`django_differential/csrf.rs`).
//!
//! Needs Python with Django 5.2: `scripts/test.sh` creates `target/django-venv`; set
//! `SESSIONLAB_DJANGO_PYTHON` to use another interpreter. Without one, these tests say so and
//! pass only when `SESSIONLAB_REQUIRE_DJANGO` is unset (as for a bare `cargo test`).

mod common;
#[path = "django_differential/csrf.rs"]
mod csrf;
#[path = "django_differential/walks.rs"]
mod walks;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, SubsecRound, TimeDelta, Utc};
use common::{TestApp, django_python, is_generated_key, spawn_with_settings, test_settings};
use reqwest::Method;
use reqwest::header::{CACHE_CONTROL, DATE, SET_COOKIE, VARY};
use serde_json::{Value, json};
use sessionlab::session::FakeClock;

/// A `SESSION_*` setting's value, as Django's settings module and sessionlab's environment
/// variables both write it.
#[derive(Clone, Copy, Debug)]
enum Setting {
    Int(i64),
    Bool(bool),
    Text(&'static str),
}

impl Setting {
    fn json(self) -> Value {
        match self {
            Setting::Int(n) => json!(n),
            Setting::Bool(b) => json!(b),
            Setting::Text(s) => json!(s),
        }
    }

    fn env(self) -> String {
        match self {
            Setting::Int(n) => n.to_string(),
            Setting::Bool(b) => b.to_string(),
            Setting::Text(s) => s.to_owned(),
        }
    }
}

/// One thing the student (or the test) does.
#[derive(Clone, Copy, Debug)]
enum Step<'a> {
    /// GET a view of the lesson (a path under its mount point: `set/`, `get/`, `` for the
    /// lesson's own page), with the browser's cookies.
    Click(&'a str),
    /// GET a view where the seed's Django view raises `KeyError` (`request.session['name']`
    /// once the session is gone, `delete_test_cookie()` with no test cookie): Django answers
    /// 500 where the lesson answers 200 and explains, as README.md promises. Not compared:
    /// the status, the answer's contents, and a save that only the 200 allows (Django saves
    /// nothing on a 5xx). Compared still: a deletion cookie and `Vary`, which Django's
    /// SessionMiddleware sends on a 500 too.
    ClickWhereDjangoRaises(&'a str),
    /// GET a view whose seed raises `KeyError` in some states and not in others (a random
    /// walk does not know which): compared as [`Step::ClickWhereDjangoRaises`] when Django
    /// answers 500, as [`Step::Click`] otherwise.
    ClickWhereDjangoMayRaise(&'a str),
    /// Both clocks move forward this many seconds.
    Wait(i64),
    /// The browser's session cookie is replaced with this value: an unknown key (`RANDOM_KEY`,
    /// a fresh one), a short one, a tampered signed value.
    Forge(&'a str),
    /// The browser's session cookie, whatever it is, has its last character changed: a key
    /// that names no session, or a signed value whose signature no longer matches.
    Tamper,
    /// The browser loses its session cookie (cleared by the student, another browser).
    LoseCookie,
    /// The browser's session cookie is replaced with the one that the other lesson's `set/`
    /// hands a browser without cookies: a live session of the same store, with that lesson's
    /// data, brought over by hand (a lesson's cookie never reaches another's path).
    BorrowFrom(&'a str),
    /// GET a view with this `Cookie` header instead of the browser's: `{name}` is the session
    /// cookie's name, `{value}` the browser's session cookie (quoted, doubled, spaced out).
    SendCookie(&'a str, &'a str),
    /// HEAD a view, with the browser's cookies: Django runs the view as for GET.
    Head(&'a str),
    /// POST the playground's form for an operation (`set/`, `cycle_key/` …) with these fields
    /// and the CSRF token of the browser's `csrftoken` cookie in `X-CSRFToken`. A field's
    /// value `{clock+N}` (or `{clock-N}`) is the date N seconds from the clock of the step.
    Post(&'a str, &'a [(&'a str, &'a str)]),
    /// POST a playground form that breaks one of its limits (a key of no characters or more
    /// than 64, a value over 4096 bytes, an integer wider than 64 bits): sent to sessionlab
    /// alone, which must refuse it with a 400 and no session cookie, as README.md says of the
    /// playground's bounded inputs; Django has no such limits, so it is not asked.
    PostBeyondLimit(&'a str, &'a [(&'a str, &'a str)]),
    /// GET a view whose session expired by its integer `set_expiry()`, which Django's
    /// signed_cookies engine ignores (its `load` checks only the signature's age, Django
    /// ticket #19201) and its file engine never counts down (`get_expiry_age()` of an int is
    /// the int): Django still reads the session, sessionlab enforces the expiry on every
    /// engine, as README.md says. Only that is checked here: Django's view still finds
    /// `name`, the lesson reports it expired.
    ClickPastSetExpiry(&'a str),
}

/// [`Step::Forge`] with a fresh 32-character key that names no session.
const RANDOM_KEY: &str = "<random key>";

/// A scenario: one lesson, on one engine, with Django's `settings` given to sessionlab as its
/// `[session]` table. The lesson's own settings still apply over them: sessionlab's
/// `[lessons.<slug>]` in config/default.toml, and in Django the seed program's settings.py
/// (`tests/django/lessons_site/settings.py`).
struct Scenario<'a> {
    name: &'a str,
    lesson: &'a str,
    engine: &'a str,
    settings: &'a [(&'a str, Setting)],
    steps: &'a [Step<'a>],
}

use Setting::{Bool, Int, Text};
use Step::{
    BorrowFrom, Click, ClickPastSetExpiry, ClickWhereDjangoMayRaise as MayRaise,
    ClickWhereDjangoRaises as Raises, Forge, Head, LoseCookie, Post, PostBeyondLimit, SendCookie,
    Tamper, Wait,
};

/// Each lesson's views in the orders a student clicks them, on the default `db` engine.
const LESSON_FLOWS: &[Scenario] = &[
    Scenario {
        name: "basic: get, set, get, del, get, del again, set",
        lesson: "basic",
        engine: "db",
        settings: &[],
        steps: &[
            Click("get/"),
            Click("set/"),
            Click("get/"),
            Click("del/"),
            Click("get/"),
            Click("del/"),
            Click("set/"),
            Click("get/"),
        ],
    },
    Scenario {
        name: "dict: set, get twice, del, get, flush, get, flush without a cookie",
        lesson: "dict",
        engine: "db",
        settings: &[],
        steps: &[
            Click("set/"),
            Click("get/"),
            Click("get/"),
            Click("del/"),
            Click("get/"),
            Click("flush/"),
            Click("get/"),
            Click("flush/"),
        ],
    },
    Scenario {
        name: "timeout: set_expiry(600), alive at 599 s, expired at 600 s, set, del, get",
        lesson: "timeout",
        engine: "db",
        settings: &[],
        steps: &[
            Click("set/"),
            Wait(599),
            Click("get/"),
            Wait(1),
            Raises("get/"),
            Click("set/"),
            Click("get/"),
            Click("del/"),
            Raises("get/"),
            Click("del/"),
        ],
    },
    Scenario {
        name: "testcookie: check, set, check, del, check, del again, set",
        lesson: "testcookie",
        engine: "db",
        settings: &[],
        steps: &[
            Click("check/"),
            Click("set/"),
            Click("check/"),
            Click("del/"),
            Click("check/"),
            Raises("del/"),
            Click("set/"),
        ],
    },
    Scenario {
        name: "settings: del, set (600 s overrides browser close), get, expired, set, del, get",
        lesson: "settings",
        engine: "db",
        settings: &[],
        steps: &[
            Click("del/"),
            Click("set/"),
            Click("get/"),
            Wait(601),
            Raises("get/"),
            Click("set/"),
            Click("del/"),
            Raises("get/"),
        ],
    },
    Scenario {
        name: "pagesession: set, the session slides on each get, expires 20 s after the last, del",
        lesson: "pagesession",
        engine: "db",
        settings: &[],
        steps: &[
            Click("set/"),
            Wait(15),
            Click("get/"),
            Wait(15),
            Click("get/"),
            Wait(20),
            Click("get/"),
            Click("set/"),
            Click("del/"),
            Click("get/"),
        ],
    },
    Scenario {
        name: "basic: a key that names no session is dropped on read and never adopted",
        lesson: "basic",
        engine: "db",
        settings: &[],
        steps: &[
            Forge(RANDOM_KEY),
            Click(""),
            Click("get/"),
            Forge(RANDOM_KEY),
            Click("set/"),
            Click("get/"),
        ],
    },
    Scenario {
        name: "basic: a key shorter than 8 is deleted by an untouched page and a slash redirect",
        lesson: "basic",
        engine: "db",
        settings: &[],
        steps: &[Forge("abc"), Click(""), Forge("abc"), Click("get")],
    },
];

/// Each session setting sessionlab supports, on its own.
const SETTING_FLOWS: &[Scenario] = &[
    Scenario {
        name: "SESSION_SAVE_EVERY_REQUEST",
        lesson: "basic",
        engine: "db",
        settings: &[("SESSION_SAVE_EVERY_REQUEST", Bool(true))],
        steps: &[
            Click(""),
            Click("get/"),
            Click("set/"),
            Wait(10),
            Click("get/"),
            Click(""),
            Forge(RANDOM_KEY),
            Click(""),
            Click("del/"),
            Click("get/"),
        ],
    },
    Scenario {
        name: "SESSION_EXPIRE_AT_BROWSER_CLOSE on basic",
        lesson: "basic",
        engine: "db",
        settings: &[("SESSION_EXPIRE_AT_BROWSER_CLOSE", Bool(true))],
        steps: &[Click("set/"), Click("get/"), Click("del/")],
    },
    Scenario {
        name: "SESSION_EXPIRE_AT_BROWSER_CLOSE under set_expiry(600)",
        lesson: "timeout",
        engine: "db",
        settings: &[("SESSION_EXPIRE_AT_BROWSER_CLOSE", Bool(true))],
        steps: &[Click("set/"), Click("get/"), Click("del/")],
    },
    Scenario {
        name: "SESSION_COOKIE_AGE = 5",
        lesson: "basic",
        engine: "db",
        settings: &[("SESSION_COOKIE_AGE", Int(5))],
        steps: &[
            Click("set/"),
            Wait(4),
            Click("get/"),
            Wait(1),
            Click("get/"),
            Click("set/"),
        ],
    },
    Scenario {
        name: "SESSION_COOKIE_AGE = 1",
        lesson: "basic",
        engine: "db",
        settings: &[("SESSION_COOKIE_AGE", Int(1))],
        steps: &[Click("set/"), Click("get/"), Wait(1), Click("get/")],
    },
    Scenario {
        name: "SESSION_COOKIE_AGE = 0",
        lesson: "basic",
        engine: "db",
        settings: &[("SESSION_COOKIE_AGE", Int(0))],
        steps: &[
            Click("set/"),
            Click("get/"),
            Forge(RANDOM_KEY),
            Click("get/"),
        ],
    },
    Scenario {
        name: "SESSION_COOKIE_AGE = 5 under set_expiry(600)",
        lesson: "timeout",
        engine: "db",
        settings: &[("SESSION_COOKIE_AGE", Int(5))],
        steps: &[Click("set/"), Wait(10), Click("get/")],
    },
    Scenario {
        name: "SESSION_COOKIE_SAMESITE = 'Lax'",
        lesson: "dict",
        engine: "db",
        settings: &[("SESSION_COOKIE_SAMESITE", Text("Lax"))],
        steps: &[Click("set/"), Click("get/"), Click("flush/")],
    },
    Scenario {
        name: "SESSION_COOKIE_SAMESITE = 'Strict'",
        lesson: "dict",
        engine: "db",
        settings: &[("SESSION_COOKIE_SAMESITE", Text("Strict"))],
        steps: &[Click("set/"), Click("get/"), Click("flush/")],
    },
    Scenario {
        name: "SESSION_COOKIE_SAMESITE = 'strict' (as spelt)",
        lesson: "dict",
        engine: "db",
        settings: &[("SESSION_COOKIE_SAMESITE", Text("strict"))],
        steps: &[Click("set/"), Click("flush/")],
    },
    Scenario {
        name: "SESSION_COOKIE_SAMESITE = 'None'",
        lesson: "dict",
        engine: "db",
        settings: &[("SESSION_COOKIE_SAMESITE", Text("None"))],
        steps: &[Click("set/"), Click("get/"), Click("flush/")],
    },
    Scenario {
        name: "SESSION_COOKIE_SAMESITE = False",
        lesson: "dict",
        engine: "db",
        settings: &[("SESSION_COOKIE_SAMESITE", Bool(false))],
        steps: &[Click("set/"), Click("get/"), Click("flush/")],
    },
    Scenario {
        name: "SESSION_COOKIE_SECURE",
        lesson: "dict",
        engine: "db",
        settings: &[("SESSION_COOKIE_SECURE", Bool(true))],
        steps: &[Click("set/"), Click("get/"), Click("flush/")],
    },
    Scenario {
        name: "SESSION_COOKIE_HTTPONLY = False",
        lesson: "dict",
        engine: "db",
        settings: &[("SESSION_COOKIE_HTTPONLY", Bool(false))],
        steps: &[Click("set/"), Click("get/"), Click("flush/")],
    },
    Scenario {
        name: "SESSION_COOKIE_DOMAIN",
        lesson: "dict",
        engine: "db",
        settings: &[("SESSION_COOKIE_DOMAIN", Text(".example.com"))],
        steps: &[Click("set/"), Click("get/"), Click("flush/")],
    },
    Scenario {
        name: "SESSION_COOKIE_PATH = '/'",
        lesson: "dict",
        engine: "db",
        settings: &[("SESSION_COOKIE_PATH", Text("/"))],
        steps: &[Click("set/"), Click("get/"), Click("flush/")],
    },
    Scenario {
        name: "SESSION_COOKIE_PATH outside the lesson",
        lesson: "dict",
        engine: "db",
        settings: &[("SESSION_COOKIE_PATH", Text("/elsewhere/"))],
        steps: &[Click("set/"), Click("get/"), Click("flush/")],
    },
    Scenario {
        name: "SESSION_COOKIE_NAME",
        lesson: "dict",
        engine: "db",
        settings: &[("SESSION_COOKIE_NAME", Text("mysession"))],
        steps: &[Click("set/"), Click("get/"), Click("flush/")],
    },
    Scenario {
        name: "SESSION_COOKIE_NAME with the __Secure- prefix",
        lesson: "dict",
        engine: "db",
        settings: &[("SESSION_COOKIE_NAME", Text("__Secure-sid"))],
        steps: &[Click("set/"), Click("flush/")],
    },
    Scenario {
        name: "SESSION_COOKIE_NAME with the __Host- prefix",
        lesson: "dict",
        engine: "db",
        settings: &[("SESSION_COOKIE_NAME", Text("__Host-sid"))],
        steps: &[Click("set/"), Click("flush/")],
    },
];

/// The lesson flows on the other engines.
const ENGINE_FLOWS: &[Scenario] = &[
    Scenario {
        name: "signed_cookies: basic",
        lesson: "basic",
        engine: "signed_cookies",
        settings: &[],
        steps: &[
            Click("set/"),
            Click("get/"),
            Click("del/"),
            Click("get/"),
            Click("set/"),
        ],
    },
    Scenario {
        name: "signed_cookies: dict with flush",
        lesson: "dict",
        engine: "signed_cookies",
        settings: &[],
        steps: &[Click("set/"), Click("get/"), Click("flush/"), Click("get/")],
    },
    Scenario {
        name: "signed_cookies: testcookie",
        lesson: "testcookie",
        engine: "signed_cookies",
        settings: &[],
        steps: &[
            Click("set/"),
            Click("check/"),
            Click("del/"),
            Click("check/"),
        ],
    },
    Scenario {
        name: "signed_cookies: timeout before its expiry",
        lesson: "timeout",
        engine: "signed_cookies",
        settings: &[],
        steps: &[Click("set/"), Wait(300), Click("get/"), Click("del/")],
    },
    Scenario {
        name: "signed_cookies: pagesession slides, then the signature's age runs out",
        lesson: "pagesession",
        engine: "signed_cookies",
        settings: &[],
        steps: &[
            Click("set/"),
            Wait(15),
            Click("get/"),
            Wait(15),
            Click("get/"),
            Wait(21),
            Click("get/"),
        ],
    },
    Scenario {
        name: "signed_cookies: a tampered cookie resets to a signed empty session",
        lesson: "basic",
        engine: "signed_cookies",
        settings: &[],
        steps: &[
            Forge("eyJuYW1lIjoiU29uYW0ifQ:1r31eq:oI7ntp6CFbD6gpVkvAa9HQXFeGnWDiNBsh2VSmVzhPk"),
            Click("get/"),
            Click("get/"),
        ],
    },
    Scenario {
        name: "cache: basic",
        lesson: "basic",
        engine: "cache",
        settings: &[],
        steps: &[Click("set/"), Click("get/"), Click("del/"), Click("get/")],
    },
    Scenario {
        name: "cache: timeout, expired at 600 s",
        lesson: "timeout",
        engine: "cache",
        settings: &[],
        steps: &[
            Click("set/"),
            Wait(599),
            Click("get/"),
            Wait(1),
            Raises("get/"),
            Click("set/"),
            Click("del/"),
        ],
    },
    Scenario {
        name: "cached_db: dict with flush",
        lesson: "dict",
        engine: "cached_db",
        settings: &[],
        steps: &[Click("set/"), Click("get/"), Click("flush/"), Click("get/")],
    },
    Scenario {
        name: "cached_db: timeout, expired at 600 s",
        lesson: "timeout",
        engine: "cached_db",
        settings: &[],
        steps: &[
            Click("set/"),
            Wait(599),
            Click("get/"),
            Wait(1),
            Raises("get/"),
            Click("set/"),
            Click("del/"),
        ],
    },
    Scenario {
        name: "file: basic",
        lesson: "basic",
        engine: "file",
        settings: &[],
        steps: &[Click("set/"), Click("get/"), Click("del/"), Click("get/")],
    },
    Scenario {
        name: "file: dict with flush",
        lesson: "dict",
        engine: "file",
        settings: &[],
        steps: &[Click("set/"), Click("get/"), Click("flush/"), Click("get/")],
    },
    Scenario {
        name: "file: pagesession slides, then expires 20 s after the last get",
        lesson: "pagesession",
        engine: "file",
        settings: &[],
        steps: &[
            Click("set/"),
            Wait(15),
            Click("get/"),
            Wait(15),
            Click("get/"),
            Wait(20),
            Click("get/"),
            Click("get/"),
            Click("del/"),
        ],
    },
    Scenario {
        name: "file: SESSION_COOKIE_AGE = 5, at 4 and 5 s",
        lesson: "basic",
        engine: "file",
        settings: &[("SESSION_COOKIE_AGE", Int(5))],
        steps: &[
            Click("set/"),
            Wait(4),
            Click("get/"),
            Wait(1),
            Click("get/"),
            Click("set/"),
        ],
    },
    Scenario {
        name: "file: the settings lesson",
        lesson: "settings",
        engine: "file",
        settings: &[],
        steps: &[Click("set/"), Click("get/"), Click("del/"), Raises("get/")],
    },
    Scenario {
        name: "file: testcookie: check, set, check, del, check, del again, set",
        lesson: "testcookie",
        engine: "file",
        settings: &[],
        steps: &[
            Click("check/"),
            Click("set/"),
            Click("check/"),
            Click("del/"),
            Click("check/"),
            Raises("del/"),
            Click("set/"),
        ],
    },
    Scenario {
        name: "cached_db: settings: del, set (600 s overrides browser close), get, expired, set, del, get",
        lesson: "settings",
        engine: "cached_db",
        settings: &[],
        steps: &[
            Click("del/"),
            Click("set/"),
            Click("get/"),
            Wait(601),
            Raises("get/"),
            Click("set/"),
            Click("del/"),
            Raises("get/"),
        ],
    },
    Scenario {
        name: "cache: pagesession: set, the session slides on each get, expires 20 s after the last, del",
        lesson: "pagesession",
        engine: "cache",
        settings: &[],
        steps: &[
            Click("set/"),
            Wait(15),
            Click("get/"),
            Wait(15),
            Click("get/"),
            Wait(20),
            Click("get/"),
            Click("set/"),
            Click("del/"),
            Click("get/"),
        ],
    },
    Scenario {
        name: "cached_db: pagesession: set, the session slides on each get, expires 20 s after the last, del",
        lesson: "pagesession",
        engine: "cached_db",
        settings: &[],
        steps: &[
            Click("set/"),
            Wait(15),
            Click("get/"),
            Wait(15),
            Click("get/"),
            Wait(20),
            Click("get/"),
            Click("set/"),
            Click("del/"),
            Click("get/"),
        ],
    },
    Scenario {
        name: "file: SESSION_SAVE_EVERY_REQUEST",
        lesson: "basic",
        engine: "file",
        settings: &[("SESSION_SAVE_EVERY_REQUEST", Bool(true))],
        steps: &[
            Click(""),
            Click("get/"),
            Click("set/"),
            Wait(10),
            Click("get/"),
            Click(""),
            Forge(RANDOM_KEY),
            Click(""),
            Click("del/"),
            Click("get/"),
        ],
    },
    Scenario {
        name: "cache: SESSION_SAVE_EVERY_REQUEST",
        lesson: "basic",
        engine: "cache",
        settings: &[("SESSION_SAVE_EVERY_REQUEST", Bool(true))],
        steps: &[
            Click(""),
            Click("get/"),
            Click("set/"),
            Wait(10),
            Click("get/"),
            Click(""),
            Forge(RANDOM_KEY),
            Click(""),
            Click("del/"),
            Click("get/"),
        ],
    },
];

/// Requests a student's browser sends less often: odd `Cookie` headers, HEAD, a 404, the
/// boundaries of expiry.
const EDGE_FLOWS: &[Scenario] = &[
    Scenario {
        name: "basic: a quoted, a doubled and a spaced-out Cookie header",
        lesson: "basic",
        engine: "db",
        settings: &[],
        steps: &[
            Click("set/"),
            SendCookie("get/", "{name}=\"{value}\""),
            SendCookie("get/", " {name} = {value} ; other=1"),
            SendCookie("get/", "{name}=abc; {name}={value}"),
            SendCookie("get/", "{name}={value}; {name}=abc"),
        ],
    },
    Scenario {
        name: "basic: HEAD runs the view",
        lesson: "basic",
        engine: "db",
        settings: &[],
        steps: &[Head("set/"), Click("get/"), Head("del/"), Click("get/")],
    },
    Scenario {
        name: "basic: a 404 inside the lesson",
        lesson: "basic",
        engine: "db",
        settings: &[],
        steps: &[Forge("abc"), Click("nope/"), Click("set/"), Click("nope/")],
    },
    Scenario {
        name: "SESSION_SAVE_EVERY_REQUEST: a 404 and a slash redirect inside the lesson",
        lesson: "basic",
        engine: "db",
        settings: &[("SESSION_SAVE_EVERY_REQUEST", Bool(true))],
        steps: &[
            Click("nope/"),
            Click("set/"),
            Wait(10),
            Click("nope/"),
            Wait(10),
            Click("get"),
            Forge("abc"),
            Click("get"),
        ],
    },
    Scenario {
        name: "basic: a key of 8 characters is a key that names no session, one of 7 is none",
        lesson: "basic",
        engine: "db",
        settings: &[],
        steps: &[
            Forge("abcdefgh"),
            Click(""),
            Click("get/"),
            Forge("abcdefg"),
            Click(""),
            Forge("abcdefgh"),
            Click("set/"),
        ],
    },
    Scenario {
        name: "SESSION_SAVE_EVERY_REQUEST: an expired session on a page that never reads it",
        lesson: "timeout",
        engine: "db",
        settings: &[("SESSION_SAVE_EVERY_REQUEST", Bool(true))],
        steps: &[Click("set/"), Wait(600), Click(""), Raises("get/")],
    },
    Scenario {
        name: "file: SESSION_SAVE_EVERY_REQUEST, a page session that expired on pages that never read it",
        lesson: "pagesession",
        engine: "file",
        settings: &[("SESSION_SAVE_EVERY_REQUEST", Bool(true))],
        steps: &[
            Click("set/"),
            Wait(20),
            Click(""),
            Click("get/"),
            Wait(25),
            Click(""),
            Click(""),
        ],
    },
    Scenario {
        name: "signed_cookies: SESSION_SAVE_EVERY_REQUEST, a page session that expired on pages that never read it",
        lesson: "pagesession",
        engine: "signed_cookies",
        settings: &[("SESSION_SAVE_EVERY_REQUEST", Bool(true))],
        steps: &[
            Click("set/"),
            Wait(20),
            Click(""),
            Click("get/"),
            Wait(25),
            Click(""),
            Click(""),
        ],
    },
    Scenario {
        name: "file: keys that cannot name a file",
        lesson: "basic",
        engine: "file",
        settings: &[],
        steps: &[
            Forge("ABCDEFGHIJ"),
            Click("get/"),
            Forge("..%2F..%2Fetc%2Fpasswd"),
            Click("get/"),
            Click("set/"),
        ],
    },
    Scenario {
        name: "signed_cookies: SESSION_COOKIE_AGE = 5, the signature's age at 5 and 6 s",
        lesson: "basic",
        engine: "signed_cookies",
        settings: &[("SESSION_COOKIE_AGE", Int(5))],
        steps: &[
            Click("set/"),
            Wait(5),
            Click("get/"),
            Wait(1),
            Click("get/"),
        ],
    },
    Scenario {
        name: "signed_cookies: the settings lesson",
        lesson: "settings",
        engine: "signed_cookies",
        settings: &[],
        steps: &[Click("set/"), Wait(399), Click("get/"), Click("del/")],
    },
    Scenario {
        name: "signed_cookies: pagesession 20 s after the last get",
        lesson: "pagesession",
        engine: "signed_cookies",
        settings: &[],
        steps: &[
            Click("set/"),
            Wait(10),
            Click("get/"),
            Wait(20),
            Click("get/"),
        ],
    },
    Scenario {
        name: "signed_cookies: timeout past set_expiry(600)",
        lesson: "timeout",
        engine: "signed_cookies",
        settings: &[],
        steps: &[Click("set/"), Wait(601), ClickPastSetExpiry("get/")],
    },
    Scenario {
        name: "file: timeout past set_expiry(600)",
        lesson: "timeout",
        engine: "file",
        settings: &[],
        steps: &[
            Click("set/"),
            Wait(599),
            Click("get/"),
            Wait(2),
            ClickPastSetExpiry("get/"),
        ],
    },
    Scenario {
        name: "signed_cookies: SESSION_COOKIE_AGE = 0, the signature's age at 0 and 1 s",
        lesson: "basic",
        engine: "signed_cookies",
        settings: &[("SESSION_COOKIE_AGE", Int(0))],
        steps: &[Click("set/"), Click("get/"), Wait(1), Click("get/")],
    },
    Scenario {
        name: "basic: an empty session cookie, and the lesson page with a live session",
        lesson: "basic",
        engine: "db",
        settings: &[],
        steps: &[
            SendCookie("", "{name}="),
            SendCookie("get/", "{name}="),
            Click("set/"),
            Click(""),
            Head("get/"),
        ],
    },
    Scenario {
        name: "timeout: flush of a session that expired",
        lesson: "timeout",
        engine: "db",
        settings: &[],
        steps: &[Click("set/"), Wait(700), Click("del/"), Click("del/")],
    },
    Scenario {
        name: "signed_cookies: SESSION_SAVE_EVERY_REQUEST re-signs on every answer",
        lesson: "basic",
        engine: "signed_cookies",
        settings: &[("SESSION_SAVE_EVERY_REQUEST", Bool(true))],
        steps: &[
            Click("set/"),
            Wait(5),
            Click("get/"),
            Wait(5),
            Click(""),
            Click("del/"),
        ],
    },
    Scenario {
        name: "signed_cookies: SESSION_EXPIRE_AT_BROWSER_CLOSE",
        lesson: "basic",
        engine: "signed_cookies",
        settings: &[("SESSION_EXPIRE_AT_BROWSER_CLOSE", Bool(true))],
        steps: &[Click("set/"), Click("get/")],
    },
    Scenario {
        name: "signed_cookies: a short, an unsigned and a tampered cookie",
        lesson: "basic",
        engine: "signed_cookies",
        settings: &[],
        steps: &[
            Forge("abc"),
            Click("get/"),
            Forge("abcdefghijkl"),
            Click(""),
            Click("get/"),
            Forge("eyJuYW1lIjoiU29uYW0ifQ:1r31eq:oI7ntp6CFbD6gpVkvAa9HQXFeGnWDiNBsh2VSmVzhPk"),
            Click("set/"),
        ],
    },
    Scenario {
        name: "cached_db: a key that names no session",
        lesson: "basic",
        engine: "cached_db",
        settings: &[],
        steps: &[
            Forge(RANDOM_KEY),
            Click("get/"),
            Forge(RANDOM_KEY),
            Click("set/"),
        ],
    },
    Scenario {
        name: "cache: SESSION_COOKIE_AGE = 5, at 4 and 5 s",
        lesson: "basic",
        engine: "cache",
        settings: &[("SESSION_COOKIE_AGE", Int(5))],
        steps: &[
            Click("set/"),
            Wait(4),
            Click("get/"),
            Wait(1),
            Click("get/"),
        ],
    },
];

/// The playground's session methods, each POSTed as its form sends it.
const PLAYGROUND_FLOWS: &[Scenario] = &[
    Scenario {
        name: "playground: set, setdefault, pop, delete, KeyErrors, clear",
        lesson: "playground",
        engine: "db",
        settings: &[],
        steps: &[
            Click(""),
            Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
            Post("setdefault/", &[("key", "age"), ("value", "26")]),
            Post("setdefault/", &[("key", "age"), ("value", "27")]),
            Post("pop/", &[("key", "age"), ("default", "")]),
            Post("pop/", &[("key", "age"), ("default", "")]),
            Post("pop/", &[("key", "age"), ("default", "\"none\"")]),
            Post("delete/", &[("key", "missing")]),
            Post(
                "set/",
                &[
                    ("key", "nested"),
                    ("value", "{\"z\": [1, 2.5, null], \"a\": \"é\"}"),
                ],
            ),
            Post("delete/", &[("key", "name")]),
            Post("clear/", &[]),
            Click(""),
            Post("flush/", &[]),
            Post("clear/", &[]),
        ],
    },
    Scenario {
        name: "playground: test_cookie_worked() is the value 'worked' under 'testcookie'",
        lesson: "playground",
        engine: "db",
        settings: &[],
        steps: &[
            Click(""),
            Post("set/", &[("key", "testcookie"), ("value", "\"worked\"")]),
            Click(""),
            Post("set/", &[("key", "testcookie"), ("value", "\"Worked\"")]),
            Post("set/", &[("key", "testcookie"), ("value", "true")]),
            Post("set/", &[("key", "testcookie"), ("value", "[\"worked\"]")]),
            Post("pop/", &[("key", "testcookie"), ("default", "")]),
        ],
    },
    Scenario {
        name: "playground: cycle_key and flush",
        lesson: "playground",
        engine: "db",
        settings: &[],
        steps: &[
            Click(""),
            Post("cycle_key/", &[]),
            Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
            Post("cycle_key/", &[]),
            Click(""),
            Post("flush/", &[]),
            Post("cycle_key/", &[]),
        ],
    },
    Scenario {
        name: "playground: set_expiry with seconds, 0, a negative number, None, a datetime and a timedelta",
        lesson: "playground",
        engine: "db",
        settings: &[],
        steps: &[
            Click(""),
            Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
            Post("set_expiry/", &[("kind", "seconds"), ("value", "600")]),
            Wait(100),
            Click(""),
            Post("set_expiry/", &[("kind", "seconds"), ("value", "0")]),
            Post("set_expiry/", &[("kind", "timedelta"), ("value", "120")]),
            Wait(30),
            Click(""),
            Post(
                "set_expiry/",
                &[
                    ("kind", "datetime"),
                    ("value", "2099-12-24T18:00:00.250000+01:00"),
                ],
            ),
            Click(""),
            Post(
                "set_expiry/",
                &[("kind", "datetime"), ("value", "2099-12-24T18:00:00")],
            ),
            Post("set_expiry/", &[("kind", "none"), ("value", "")]),
            Post("set_expiry/", &[("kind", "seconds"), ("value", "-10")]),
            Click(""),
        ],
    },
    Scenario {
        name: "playground: set_expiry(None) with no expiry to remove, and a date in the past",
        lesson: "playground",
        engine: "db",
        settings: &[],
        steps: &[
            Click(""),
            Post("set_expiry/", &[("kind", "none"), ("value", "")]),
            Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
            Post("set_expiry/", &[("kind", "none"), ("value", "")]),
            Post(
                "set_expiry/",
                &[("kind", "datetime"), ("value", "2000-01-01T00:00:00+00:00")],
            ),
            Click(""),
            Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
        ],
    },
    Scenario {
        name: "playground: timedelta(0) is a date, not 0; _session_expiry 0.0, null, [] and 0.5",
        lesson: "playground",
        engine: "db",
        settings: &[],
        steps: &[
            Click(""),
            Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
            Post("set_expiry/", &[("kind", "timedelta"), ("value", "0")]),
            Click(""),
            Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
            Post("set_expiry/", &[("kind", "timedelta"), ("value", "-5")]),
            Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
            Post("set_expiry/", &[("kind", "seconds"), ("value", "1")]),
            Wait(1),
            Click(""),
            Post("set/", &[("key", "_session_expiry"), ("value", "0.0")]),
            Post("set/", &[("key", "_session_expiry"), ("value", "null")]),
            Post("set/", &[("key", "_session_expiry"), ("value", "[]")]),
            Post("set/", &[("key", "_session_expiry"), ("value", "0.5")]),
            Click(""),
        ],
    },
    Scenario {
        name: "playground: signed_cookies, set, cycle_key, set_expiry, flush",
        lesson: "playground",
        engine: "signed_cookies",
        settings: &[],
        steps: &[
            Click(""),
            Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
            Post("cycle_key/", &[]),
            Post("set_expiry/", &[("kind", "timedelta"), ("value", "120")]),
            Click(""),
            Post("flush/", &[]),
        ],
    },
    Scenario {
        name: "playground: signed_cookies signs the bytes of Python's json.dumps, compressed when shorter",
        lesson: "playground",
        engine: "signed_cookies",
        settings: &[],
        steps: &[
            Click(""),
            Post("set/", &[("key", "k0"), ("value", "1e-9")]),
            Post("set/", &[("key", "k1"), ("value", "1e16")]),
            Post("set/", &[("key", "k2"), ("value", "-0.0")]),
            Post("set/", &[("key", "k3"), ("value", "100.0")]),
            Post("set/", &[("key", "k4"), ("value", "12345678901234567")]),
            Post(
                "set/",
                &[("key", "k5"), ("value", "\"\\u00e9\\ud83d\\ude00\"")],
            ),
            Post(
                "set/",
                &[
                    ("key", "k6"),
                    ("value", "\"\\u0000\\u001f\\u007f</script>&\""),
                ],
            ),
            Post(
                "set/",
                &[
                    ("key", "k7"),
                    ("value", "{\"b\": [true, false, null], \"a\": {\"\": 1}}"),
                ],
            ),
            Post(
                "set/",
                &[
                    ("key", "k8"),
                    (
                        "value",
                        "\"abababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababab\"",
                    ),
                ],
            ),
            Click(""),
        ],
    },
    Scenario {
        name: "playground: signed_cookies, the integer -0 is the int 0, the floats -0.0 and -0e0 keep their sign",
        lesson: "playground",
        engine: "signed_cookies",
        settings: &[],
        steps: &[
            Click(""),
            Post("set/", &[("key", "zero"), ("value", "-0")]),
            Post(
                "set/",
                &[
                    ("key", "zeros"),
                    ("value", "[-0, -0.0, -0e0, {\"-0\": -0}]"),
                ],
            ),
            Post("pop/", &[("key", "missing"), ("default", "-0")]),
            Post("setdefault/", &[("key", "other"), ("value", "-0")]),
            Click(""),
        ],
    },
    Scenario {
        name: "playground: signed_cookies, integers within 64 bits are kept whole, wider ones refused",
        lesson: "playground",
        engine: "signed_cookies",
        settings: &[],
        steps: &[
            Click(""),
            Post("set/", &[("key", "max"), ("value", "18446744073709551615")]),
            Post(
                "set/",
                &[("key", "min"), ("value", "[-9223372036854775808]")],
            ),
            PostBeyondLimit(
                "set/",
                &[("key", "wide"), ("value", "18446744073709551616")],
            ),
            PostBeyondLimit(
                "setdefault/",
                &[("key", "wide"), ("value", "{\"a\": -9223372036854775809}")],
            ),
            PostBeyondLimit(
                "pop/",
                &[
                    ("key", "wide"),
                    ("default", "123456789012345678901234567890"),
                ],
            ),
            Click(""),
        ],
    },
    Scenario {
        name: "playground: cache, a forged key, set, cycle_key, delete the last key, flush",
        lesson: "playground",
        engine: "cache",
        settings: &[],
        steps: &PLAYGROUND_ON_ANOTHER_ENGINE,
    },
    Scenario {
        name: "playground: cached_db, a forged key, set, cycle_key, delete the last key, flush",
        lesson: "playground",
        engine: "cached_db",
        settings: &[],
        steps: &PLAYGROUND_ON_ANOTHER_ENGINE,
    },
    Scenario {
        name: "playground: file, a forged key, set, cycle_key, delete the last key, flush",
        lesson: "playground",
        engine: "file",
        settings: &[],
        steps: &PLAYGROUND_ON_ANOTHER_ENGINE,
    },
    Scenario {
        name: "playground: db, each method on a session past its age",
        lesson: "playground",
        engine: "db",
        settings: &[("SESSION_COOKIE_AGE", Int(60))],
        steps: &PLAYGROUND_PAST_ITS_AGE,
    },
    Scenario {
        name: "playground: db, each method on a key that names no session",
        lesson: "playground",
        engine: "db",
        settings: &[],
        steps: &PLAYGROUND_ON_AN_UNKNOWN_KEY,
    },
    Scenario {
        name: "playground: file, each method on a session past its age",
        lesson: "playground",
        engine: "file",
        settings: &[("SESSION_COOKIE_AGE", Int(60))],
        steps: &PLAYGROUND_PAST_ITS_AGE,
    },
    Scenario {
        name: "playground: file, each method on a key that names no session",
        lesson: "playground",
        engine: "file",
        settings: &[],
        steps: &PLAYGROUND_ON_AN_UNKNOWN_KEY,
    },
    Scenario {
        name: "playground: cache, each method on a session past its age",
        lesson: "playground",
        engine: "cache",
        settings: &[("SESSION_COOKIE_AGE", Int(60))],
        steps: &PLAYGROUND_PAST_ITS_AGE,
    },
    Scenario {
        name: "playground: cache, each method on a key that names no session",
        lesson: "playground",
        engine: "cache",
        settings: &[],
        steps: &PLAYGROUND_ON_AN_UNKNOWN_KEY,
    },
    Scenario {
        name: "playground: cached_db, each method on a session past its age",
        lesson: "playground",
        engine: "cached_db",
        settings: &[("SESSION_COOKIE_AGE", Int(60))],
        steps: &PLAYGROUND_PAST_ITS_AGE,
    },
    Scenario {
        name: "playground: cached_db, each method on a key that names no session",
        lesson: "playground",
        engine: "cached_db",
        settings: &[],
        steps: &PLAYGROUND_ON_AN_UNKNOWN_KEY,
    },
    Scenario {
        name: "playground: signed_cookies, each method on a session past its age",
        lesson: "playground",
        engine: "signed_cookies",
        settings: &[("SESSION_COOKIE_AGE", Int(60))],
        steps: &PLAYGROUND_SIGNED_PAST_ITS_AGE,
    },
    Scenario {
        name: "playground: signed_cookies, each method on a tampered cookie",
        lesson: "playground",
        engine: "signed_cookies",
        settings: &[],
        steps: &PLAYGROUND_ON_A_TAMPERED_COOKIE,
    },
];

/// Every session method but `clear()`, each on a session that outlived its
/// `SESSION_COOKIE_AGE` of 60 s, for the engines that keep sessions on the server: Django's
/// expired row, cache entry or file is a session that is not there, which each method meets
/// as its engine's `load` leaves it. (`clear()` is left out: it does not load in Django, so
/// the dead key stays and the save revives or fails on it, where sessionlab's `clear()` loads
/// first, as docs/ARCHITECTURE.md says.)
const PLAYGROUND_PAST_ITS_AGE: [Step; 37] = [
    Click(""),
    Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
    Wait(61),
    Post("flush/", &[]),
    Click(""),
    Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
    Wait(61),
    Post("cycle_key/", &[]),
    Click(""),
    Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
    Wait(61),
    Post("set_expiry/", &[("kind", "none"), ("value", "")]),
    Click(""),
    Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
    Wait(61),
    Post("set_expiry/", &[("kind", "seconds"), ("value", "600")]),
    Click(""),
    Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
    Wait(61),
    Post("pop/", &[("key", "name"), ("default", "\"x\"")]),
    Click(""),
    Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
    Wait(61),
    Post("pop/", &[("key", "name"), ("default", "")]),
    Click(""),
    Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
    Wait(61),
    Post("setdefault/", &[("key", "age"), ("value", "26")]),
    Click(""),
    Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
    Wait(61),
    Post("delete/", &[("key", "name")]),
    Click(""),
    Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
    Wait(61),
    Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
    Click(""),
];

/// The same on signed cookies, `clear()` included: an expired signature resets the session
/// to a signed `{}` whether `clear()` loads first or not.
const PLAYGROUND_SIGNED_PAST_ITS_AGE: [Step; 41] = [
    Click(""),
    Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
    Wait(61),
    Post("clear/", &[]),
    Click(""),
    Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
    Wait(61),
    Post("flush/", &[]),
    Click(""),
    Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
    Wait(61),
    Post("cycle_key/", &[]),
    Click(""),
    Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
    Wait(61),
    Post("set_expiry/", &[("kind", "none"), ("value", "")]),
    Click(""),
    Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
    Wait(61),
    Post("set_expiry/", &[("kind", "seconds"), ("value", "600")]),
    Click(""),
    Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
    Wait(61),
    Post("pop/", &[("key", "name"), ("default", "\"x\"")]),
    Click(""),
    Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
    Wait(61),
    Post("pop/", &[("key", "name"), ("default", "")]),
    Click(""),
    Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
    Wait(61),
    Post("setdefault/", &[("key", "age"), ("value", "26")]),
    Click(""),
    Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
    Wait(61),
    Post("delete/", &[("key", "name")]),
    Click(""),
    Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
    Wait(61),
    Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
    Click(""),
];

/// Every session method but `clear()` (see [`PLAYGROUND_PAST_ITS_AGE`]) under a cookie
/// naming a key the store never issued.
const PLAYGROUND_ON_AN_UNKNOWN_KEY: [Step; 19] = [
    Click(""),
    Forge(RANDOM_KEY),
    Post("flush/", &[]),
    Forge(RANDOM_KEY),
    Post("cycle_key/", &[]),
    Forge(RANDOM_KEY),
    Post("set_expiry/", &[("kind", "none"), ("value", "")]),
    Forge(RANDOM_KEY),
    Post("set_expiry/", &[("kind", "seconds"), ("value", "600")]),
    Forge(RANDOM_KEY),
    Post("pop/", &[("key", "name"), ("default", "\"x\"")]),
    Forge(RANDOM_KEY),
    Post("pop/", &[("key", "name"), ("default", "")]),
    Forge(RANDOM_KEY),
    Post("setdefault/", &[("key", "age"), ("value", "26")]),
    Forge(RANDOM_KEY),
    Post("delete/", &[("key", "name")]),
    Forge(RANDOM_KEY),
    Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
];

/// Every session method, `clear()` included, under a tampered signed cookie.
const PLAYGROUND_ON_A_TAMPERED_COOKIE: [Step; 21] = [
    Click(""),
    Forge("eyJuYW1lIjoiU29uYW0ifQ:1r31eq:oI7ntp6CFbD6gpVkvAa9HQXFeGnWDiNBsh2VSmVzhPk"),
    Post("clear/", &[]),
    Forge("eyJuYW1lIjoiU29uYW0ifQ:1r31eq:oI7ntp6CFbD6gpVkvAa9HQXFeGnWDiNBsh2VSmVzhPk"),
    Post("flush/", &[]),
    Forge("eyJuYW1lIjoiU29uYW0ifQ:1r31eq:oI7ntp6CFbD6gpVkvAa9HQXFeGnWDiNBsh2VSmVzhPk"),
    Post("cycle_key/", &[]),
    Forge("eyJuYW1lIjoiU29uYW0ifQ:1r31eq:oI7ntp6CFbD6gpVkvAa9HQXFeGnWDiNBsh2VSmVzhPk"),
    Post("set_expiry/", &[("kind", "none"), ("value", "")]),
    Forge("eyJuYW1lIjoiU29uYW0ifQ:1r31eq:oI7ntp6CFbD6gpVkvAa9HQXFeGnWDiNBsh2VSmVzhPk"),
    Post("set_expiry/", &[("kind", "seconds"), ("value", "600")]),
    Forge("eyJuYW1lIjoiU29uYW0ifQ:1r31eq:oI7ntp6CFbD6gpVkvAa9HQXFeGnWDiNBsh2VSmVzhPk"),
    Post("pop/", &[("key", "name"), ("default", "\"x\"")]),
    Forge("eyJuYW1lIjoiU29uYW0ifQ:1r31eq:oI7ntp6CFbD6gpVkvAa9HQXFeGnWDiNBsh2VSmVzhPk"),
    Post("pop/", &[("key", "name"), ("default", "")]),
    Forge("eyJuYW1lIjoiU29uYW0ifQ:1r31eq:oI7ntp6CFbD6gpVkvAa9HQXFeGnWDiNBsh2VSmVzhPk"),
    Post("setdefault/", &[("key", "age"), ("value", "26")]),
    Forge("eyJuYW1lIjoiU29uYW0ifQ:1r31eq:oI7ntp6CFbD6gpVkvAa9HQXFeGnWDiNBsh2VSmVzhPk"),
    Post("delete/", &[("key", "name")]),
    Forge("eyJuYW1lIjoiU29uYW0ifQ:1r31eq:oI7ntp6CFbD6gpVkvAa9HQXFeGnWDiNBsh2VSmVzhPk"),
    Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
];

/// The playground's steps for the stores the lessons' flows try less.
const PLAYGROUND_ON_ANOTHER_ENGINE: [Step; 9] = [
    Click(""),
    Forge(RANDOM_KEY),
    Click(""),
    Forge(RANDOM_KEY),
    Post("set/", &[("key", "name"), ("value", "\"Sonam\"")]),
    Post("cycle_key/", &[]),
    Post("delete/", &[("key", "name")]),
    Click(""),
    Post("flush/", &[]),
];

#[actix_web::test]
async fn the_playground_answers_as_django_does() {
    run_all(PLAYGROUND_FLOWS).await;
}

/// The playground's CSRF check (`django_differential/csrf.rs`): one POST per case, each
/// passed or refused for the same reason by both.
#[actix_web::test]
async fn the_playground_csrf_check_answers_as_django_does() {
    let Some(python) = django_python() else {
        return;
    };
    let differences = csrf::differences(&python).await;
    assert!(
        differences.is_empty(),
        "sessionlab and Django differ:\n{}",
        differences.join("\n")
    );
}

#[actix_web::test]
async fn every_lesson_flow_answers_as_django_does() {
    run_all(LESSON_FLOWS).await;
}

#[actix_web::test]
async fn every_session_setting_answers_as_django_does() {
    run_all(SETTING_FLOWS).await;
}

#[actix_web::test]
async fn the_other_engines_answer_as_django_does() {
    run_all(ENGINE_FLOWS).await;
}

#[actix_web::test]
async fn odd_requests_and_expiry_boundaries_answer_as_django_does() {
    run_all(EDGE_FLOWS).await;
}

/// Seeded random walks through the lessons and the playground (`walks.rs`), each compared
/// step by step as the scenarios above are; a failure names each walk's seed and lists its
/// steps, and `SESSIONLAB_WALK_SEED=<seed>` runs that walk alone.
#[actix_web::test]
async fn random_walks_answer_as_django_does() {
    let Some(python) = django_python() else {
        return;
    };
    let mut failures = Vec::new();
    for seed in walks::seeds() {
        let walk = walks::Walk::new(seed);
        let forms = walk.forms();
        let steps = walk.steps(&forms);
        let scenario = Scenario {
            name: &walk.name,
            lesson: walk.lesson,
            engine: walk.engine,
            settings: &walk.settings,
            steps: &steps,
        };
        let divergences = run(&python, &scenario).await;
        if !divergences.is_empty() {
            failures.push(format!(
                "{}\n[{}] its steps:\n{}",
                divergences.join("\n"),
                walk.name,
                walk.listing()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "sessionlab and Django differ on {} walk(s):\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Runs every scenario, then fails with every divergence found, not only the first.
async fn run_all(scenarios: &[Scenario<'_>]) {
    let Some(python) = django_python() else {
        return;
    };
    let mut divergences = Vec::new();
    for scenario in scenarios {
        divergences.extend(run(&python, scenario).await);
    }
    assert!(
        divergences.is_empty(),
        "sessionlab and Django differ:\n{}",
        divergences.join("\n")
    );
}

/// The Django project of the seed programs, served on a port of its own.
struct DjangoSite {
    child: Child,
    address: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl DjangoSite {
    fn start(python: &Path, scenario: &Scenario<'_>, secret_key: &str, now: DateTime<Utc>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let settings: serde_json::Map<String, Value> = scenario
            .settings
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.json()))
            .collect();
        let config = json!({
            "lesson": scenario.lesson,
            "engine": scenario.engine,
            "data_dir": dir.path(),
            "secret_key": secret_key,
            "settings": settings,
            "now": now.timestamp(),
        });
        let log = dir.path().join("django.log");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/django/serve_lessons.py");
        let mut child = Command::new(python)
            .arg(script)
            .env("LESSONS_SITE_SCENARIO", config.to_string())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let Some(port) = first.trim().strip_prefix("port ") else {
            let _ = child.kill();
            panic!(
                "Django did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        let address = format!("http://127.0.0.1:{port}");
        DjangoSite {
            child,
            address,
            log,
            _dir: dir,
        }
    }
}

impl Drop for DjangoSite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser's cookies for one host: by name and path, sent where the path covers the
/// request, dropped on `Max-Age` of 0 or less.
#[derive(Default)]
struct Jar {
    cookies: BTreeMap<(String, String), String>,
}

impl Jar {
    fn store<'a>(&mut self, set_cookies: impl IntoIterator<Item = &'a String>) {
        for header in set_cookies {
            let cookie = SetCookie::parse(header);
            let path = cookie.attribute("Path").unwrap_or("/").to_owned();
            let gone = cookie
                .attribute("Max-Age")
                .is_some_and(|age| age.parse::<i64>().unwrap() <= 0);
            let id = (cookie.name.clone(), path);
            if gone {
                self.cookies.remove(&id);
            } else {
                self.cookies.insert(id, cookie.value.clone());
            }
        }
    }

    fn header_for(&self, path: &str) -> Option<String> {
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .filter(|((_, cookie_path), _)| path.starts_with(cookie_path.as_str()))
            .map(|((name, _), value)| format!("{name}={value}"))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|((n, _), _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Drops cookie `name`, on whatever path.
    fn remove(&mut self, name: &str) {
        self.cookies.retain(|(n, _), _| n != name);
    }

    /// Changes the last character of cookie `name`'s value, if there is one: to the next of
    /// `[a-z0-9]` in turn, so that tampering again never gives the value back.
    fn tamper(&mut self, name: &str) {
        const TURN: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        for ((n, _), value) in &mut self.cookies {
            if n == name
                && let Some(last) = value.pop()
            {
                let at = TURN.iter().position(|&c| char::from(c) == last);
                value.push(at.map_or('a', |at| char::from(TURN[(at + 1) % TURN.len()])));
            }
        }
    }

    fn forge(&mut self, name: &str, path: &str, value: &str) {
        self.cookies.retain(|(n, _), _| n != name);
        self.cookies
            .insert((name.to_owned(), path.to_owned()), value.to_owned());
    }
}

/// A `Set-Cookie` value taken apart: the name, the value, the attributes in their order.
struct SetCookie {
    name: String,
    value: String,
    attributes: Vec<(String, Option<String>)>,
}

impl SetCookie {
    fn parse(header: &str) -> Self {
        let mut parts = header.split(';').map(str::trim);
        let (name, value) = parts.next().unwrap().split_once('=').unwrap();
        let attributes = parts
            .map(|part| match part.split_once('=') {
                Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                None => (part.to_owned(), None),
            })
            .collect();
        SetCookie {
            name: name.to_owned(),
            value: value.to_owned(),
            attributes,
        }
    }

    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_deref())
    }

    /// The attribute names, in order: Django's sorted `Domain`, `expires`, `HttpOnly`, …
    fn attribute_names(&self) -> Vec<&str> {
        self.attributes.iter().map(|(k, _)| k.as_str()).collect()
    }

    /// What the value is: a deletion, a key of Django's form, or a signed session.
    fn value_form(&self) -> &'static str {
        if self.value == "\"\"" {
            "deletion (\"\")"
        } else if is_generated_key(&self.value) {
            "a key of 32 × [a-z0-9]"
        } else if self.value.split(':').count() == 3 {
            "a signed value"
        } else {
            "something else"
        }
    }
}

/// What is compared of a step's two answers.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Everything.
    Compare,
    /// [`Step::ClickWhereDjangoRaises`]: all but the status, the contents and a save.
    DjangoRaises,
    /// [`Step::ClickPastSetExpiry`]: only that Django still reads the session and the lesson
    /// does not.
    PastSetExpiry,
}

/// One side's answer to one step, read whole.
struct Answer {
    status: u16,
    set_cookies: Vec<String>,
    vary: Option<String>,
    cache_control: Option<String>,
    /// The side's clock when it answered.
    now: DateTime<Utc>,
    json: Option<Value>,
}

/// The playground's CSRF cookie (Django's `CSRF_COOKIE_NAME`).
const CSRF_COOKIE: &str = "csrftoken";

/// One request of a step, to either side.
struct Request<'a> {
    method: Method,
    url: String,
    cookie: Option<String>,
    /// Django's clock for this request (`X-Test-Clock`).
    clock: Option<DateTime<Utc>>,
    /// The form of a POST.
    form: &'a [(String, String)],
    /// Sent as `X-CSRFToken` with a form.
    csrf_token: Option<&'a str>,
}

async fn fetch(
    client: &reqwest::Client,
    request: Request<'_>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = client
        .request(request.method.clone(), request.url)
        .header("Accept", "application/json");
    if let Some(cookie) = request.cookie {
        req = req.header("Cookie", cookie);
    }
    if let Some(at) = request.clock {
        req = req.header("X-Test-Clock", at.timestamp().to_string());
    }
    if request.method == Method::POST {
        req = req
            .header("X-CSRFToken", request.csrf_token.unwrap_or(""))
            .form(request.form);
    }
    let res = req.send().await.expect("the server answers");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.text().await.unwrap())
}

fn answer(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &str,
    now: DateTime<Utc>,
) -> Answer {
    let text = |name| {
        headers
            .get(name)
            .map(|v: &reqwest::header::HeaderValue| v.to_str().unwrap().to_owned())
    };
    Answer {
        status,
        set_cookies: headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().trim().to_owned())
            .collect(),
        vary: text(VARY),
        cache_control: text(CACHE_CONTROL),
        now,
        json: serde_json::from_str(body).ok(),
    }
}

/// Runs `scenario` against both and returns what differs, one line each.
async fn run(python: &Path, scenario: &Scenario<'_>) -> Vec<String> {
    let start = Utc::now().trunc_subsecs(0);
    let data_dir = tempfile::tempdir().unwrap();
    let files = data_dir.path().join("files");
    std::fs::create_dir(&files).unwrap();
    let mut env: Vec<(String, String)> = vec![
        ("APP__SESSION__ENGINE".into(), scenario.engine.into()),
        (
            "APP__SESSION__FILE_PATH".into(),
            files.to_str().unwrap().into(),
        ),
    ];
    for (name, value) in scenario.settings {
        let key = name.strip_prefix("SESSION_").unwrap();
        env.push((format!("APP__SESSION__{key}"), value.env()));
    }
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let settings = test_settings(data_dir.path(), &pairs);
    let mount = format!("/{}/", scenario.lesson);
    let session = settings.lesson_session(scenario.lesson, &mount);
    let django = DjangoSite::start(python, scenario, settings.secret_key.expose(), start);
    let app = spawn_with_settings(settings, data_dir, Arc::new(FakeClock::new(start))).await;

    let mut ours = Jar::default();
    let mut theirs = Jar::default();
    let mut django_now = start;
    let mut divergences = Vec::new();
    for (i, step) in scenario.steps.iter().enumerate() {
        let (method, view, cookie, mode) = match *step {
            Wait(seconds) => {
                app.advance(seconds);
                django_now += TimeDelta::seconds(seconds);
                continue;
            }
            Forge(value) => {
                let value = match value {
                    RANDOM_KEY => sessionlab::session::key::new_session_key().unwrap(),
                    other => other.to_owned(),
                };
                ours.forge(&session.cookie_name, &session.cookie_path, &value);
                theirs.forge(&session.cookie_name, &session.cookie_path, &value);
                continue;
            }
            Tamper => {
                ours.tamper(&session.cookie_name);
                theirs.tamper(&session.cookie_name);
                continue;
            }
            LoseCookie => {
                ours.remove(&session.cookie_name);
                theirs.remove(&session.cookie_name);
                continue;
            }
            BorrowFrom(lesson) => {
                let label = format!("[{}] step {} borrow from /{lesson}/", scenario.name, i + 1);
                let cookie = (session.cookie_name.as_str(), session.cookie_path.as_str());
                let sides = [
                    (&app.address, None, &mut ours),
                    (&django.address, Some(django_now), &mut theirs),
                ];
                for (address, clock, jar) in sides {
                    let url = format!("{address}/{lesson}/set/");
                    if let Err(why) = borrow(&app.client, url, clock, cookie, jar).await {
                        divergences.push(format!("{label}: {why}"));
                    }
                }
                continue;
            }
            PostBeyondLimit(view, form) => {
                let path = format!("{mount}{view}");
                let refused = post_beyond_limit(&app, &path, form, &ours).await;
                if refused.status != 400 || sets_session_cookie(&refused, &session.cookie_name) {
                    divergences.push(format!(
                        "[{}] step {} POST {path}: a form beyond the playground's limits got {} and {:?}, where README.md promises a 400 that changes nothing",
                        scenario.name,
                        i + 1,
                        refused.status,
                        refused.set_cookies
                    ));
                }
                continue;
            }
            Click(view) => (Method::GET, view, None, Mode::Compare),
            Raises(view) => (Method::GET, view, None, Mode::DjangoRaises),
            MayRaise(view) => (Method::GET, view, None, Mode::Compare),
            ClickPastSetExpiry(view) => (Method::GET, view, None, Mode::PastSetExpiry),
            Head(view) => (Method::HEAD, view, None, Mode::Compare),
            SendCookie(view, header) => (Method::GET, view, Some(header), Mode::Compare),
            Post(view, _) => (Method::POST, view, None, Mode::Compare),
        };
        let form = match *step {
            Post(_, fields) => at_clock(fields, app.now()),
            _ => Vec::new(),
        };
        let path = format!("{mount}{view}");
        let label = format!("[{}] step {} {method} {path}", scenario.name, i + 1);
        let before = (
            ours.value(&session.cookie_name).map(str::to_owned),
            theirs.value(&session.cookie_name).map(str::to_owned),
        );
        // The browser's cookies, or the header the step writes with the browser's value.
        let cookie_header = |jar: &Jar| match cookie {
            None => jar.header_for(&path),
            Some(header) => Some(
                header
                    .replace("{name}", &session.cookie_name)
                    .replace("{value}", jar.value(&session.cookie_name).unwrap_or("")),
            ),
        };

        let (status, headers, body) = fetch(
            &app.client,
            Request {
                method: method.clone(),
                url: format!("{}{path}", app.address),
                cookie: cookie_header(&ours),
                clock: None,
                form: &form,
                csrf_token: ours.value(CSRF_COOKIE),
            },
        )
        .await;
        let sessionlab = answer(status, &headers, &body, app.now());
        let (status, headers, body) = fetch(
            &app.client,
            Request {
                method,
                url: format!("{}{path}", django.address),
                cookie: cookie_header(&theirs),
                clock: Some(django_now),
                form: &form,
                csrf_token: theirs.value(CSRF_COOKIE),
            },
        )
        .await;
        let date = headers
            .get(DATE)
            .and_then(|d| DateTime::parse_from_rfc2822(d.to_str().unwrap()).ok())
            .map(|d| d.with_timezone(&Utc));
        assert_eq!(
            date,
            Some(django_now),
            "{label}: Django's Date is its stopped clock"
        );
        let django_answer = answer(status, &headers, &body, django_now);
        // A view that raises in some states only: whether it did is Django's status.
        let mode = match *step {
            MayRaise(_) if django_answer.status == 500 => Mode::DjangoRaises,
            _ => mode,
        };
        if matches!(step, Post(..)) && (sessionlab.status == 403 || django_answer.status == 403) {
            divergences.push(format!(
                "{label}: the POST was refused (CSRF): sessionlab {}, Django {}",
                sessionlab.status, django_answer.status
            ));
        }
        // Where Django's view raised, the lesson's 200 may save and hand out a session cookie
        // Django held back (see `compare`); the browser is kept as Django left it, so that
        // the steps after it still compare one state (README.md: a lesson explains where
        // Django answers 500).
        let held_back = mode == Mode::DjangoRaises
            && !sets_session_cookie(&django_answer, &session.cookie_name);
        ours.store(
            sessionlab
                .set_cookies
                .iter()
                .filter(|c| !(held_back && SetCookie::parse(c).name == session.cookie_name)),
        );
        theirs.store(&django_answer.set_cookies);

        let mut found = Vec::new();
        compare(
            &mut found,
            &session.cookie_name,
            &sessionlab,
            &django_answer,
            mode,
            &before,
            (
                ours.value(&session.cookie_name),
                theirs.value(&session.cookie_name),
            ),
        );
        divergences.extend(found.into_iter().map(|line| format!("{label}: {line}")));
    }
    if !divergences.is_empty() {
        divergences.push(format!(
            "[{}] Django's log:\n{}",
            scenario.name,
            std::fs::read_to_string(&django.log).unwrap_or_default()
        ));
    }
    stop(app).await;
    divergences
}

async fn stop(app: TestApp) {
    drop(app.stop().await);
}

/// A form's fields with each `{clock+N}` or `{clock-N}` written as the date N seconds from
/// `now`, in the ISO 8601 form the playground's datetime field takes.
fn at_clock(fields: &[(&str, &str)], now: DateTime<Utc>) -> Vec<(String, String)> {
    let date = |value: &str| {
        let seconds: i64 = value
            .strip_prefix("{clock")?
            .strip_suffix('}')?
            .trim_start_matches('+')
            .parse()
            .ok()?;
        Some((now + TimeDelta::seconds(seconds)).to_rfc3339_opts(SecondsFormat::Secs, false))
    };
    fields
        .iter()
        .map(|(name, value)| {
            (
                (*name).to_owned(),
                date(value).unwrap_or_else(|| (*value).to_owned()),
            )
        })
        .collect()
}

/// [`Step::PostBeyondLimit`]: POSTs `form` to sessionlab alone, with the browser's cookies.
async fn post_beyond_limit(app: &TestApp, path: &str, form: &[(&str, &str)], jar: &Jar) -> Answer {
    let (status, headers, body) = fetch(
        &app.client,
        Request {
            method: Method::POST,
            url: format!("{}{path}", app.address),
            cookie: jar.header_for(path),
            clock: None,
            form: &at_clock(form, app.now()),
            csrf_token: jar.value(CSRF_COOKIE),
        },
    )
    .await;
    answer(status, &headers, &body, app.now())
}

/// [`Step::BorrowFrom`] on one side: GETs `url` (another lesson's `set/`) without cookies and
/// puts the session cookie it hands out in `jar`, as this lesson's.
async fn borrow(
    client: &reqwest::Client,
    url: String,
    clock: Option<DateTime<Utc>>,
    (name, path): (&str, &str),
    jar: &mut Jar,
) -> Result<(), String> {
    let (status, headers, _) = fetch(
        client,
        Request {
            method: Method::GET,
            url: url.clone(),
            cookie: None,
            clock,
            form: &[],
            csrf_token: None,
        },
    )
    .await;
    let cookie = headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(SetCookie::parse)
        .find(|c| c.name == name && c.value != "\"\"");
    match (status, cookie) {
        (200, Some(cookie)) => {
            jar.forge(name, path, &cookie.value);
            Ok(())
        }
        (status, _) => Err(format!("{url} answered {status} without a session cookie")),
    }
}

/// Adds to `found` every way the two answers to one step differ.
fn compare(
    found: &mut Vec<String>,
    cookie_name: &str,
    ours: &Answer,
    theirs: &Answer,
    mode: Mode,
    before: &(Option<String>, Option<String>),
    after: (Option<&str>, Option<&str>),
) {
    if mode == Mode::PastSetExpiry {
        let name = |a: &Answer| a.json.as_ref().map(|j| j["context"].clone());
        if name(theirs) != Some(json!({ "name": "Sonam" }))
            || name(ours) != Some(json!({ "expired": true }))
        {
            found.push(format!(
                "past set_expiry: sessionlab {:?}, Django {:?}, where Django reads the session and sessionlab does not",
                name(ours),
                name(theirs)
            ));
        }
        return;
    }
    let django_raises = mode == Mode::DjangoRaises;
    let mut differ = |what: &str, ours: &dyn std::fmt::Debug, theirs: &dyn std::fmt::Debug| {
        let (ours, theirs) = (format!("{ours:?}"), format!("{theirs:?}"));
        if ours != theirs {
            found.push(format!("{what}: sessionlab {ours}, Django {theirs}"));
        }
    };
    if django_raises {
        // Django's seed view raises KeyError (500); the lesson answers 200 and explains.
        differ(
            "status where Django raises",
            &(ours.status, 500),
            &(200, theirs.status),
        );
    } else {
        differ("status", &ours.status, &theirs.status);
    }
    differ("Vary", &ours.vary, &theirs.vary);
    differ("Cache-Control", &ours.cache_control, &theirs.cache_control);

    // Every cookie but the playground's CSRF cookie, which is not the session's: Django sends
    // it again on every page that renders a token (`get_token()` renews it), the playground
    // only to a browser without a valid one.
    let names = |a: &Answer| -> Vec<String> {
        a.set_cookies
            .iter()
            .map(|c| SetCookie::parse(c).name)
            .filter(|name| name != CSRF_COOKIE || cookie_name == CSRF_COOKIE)
            .collect()
    };
    let session_cookie = |a: &Answer| {
        a.set_cookies
            .iter()
            .map(|c| SetCookie::parse(c))
            .find(|c| c.name == cookie_name)
    };
    // Django saves nothing on a 5xx: where its view raised, the lesson's 200 may save (a
    // SESSION_SAVE_EVERY_REQUEST refresh) and hand out the cookie Django held back. A deletion
    // cookie does not depend on the status, so it is still compared.
    let saved_where_django_raised = django_raises
        && session_cookie(theirs).is_none()
        && session_cookie(ours).is_some_and(|c| c.value != "\"\"");
    if !saved_where_django_raised {
        differ("Set-Cookie names", &names(ours), &names(theirs));
    }
    if let (Some(o), Some(t)) = (session_cookie(ours), session_cookie(theirs)) {
        differ("cookie value", &o.value_form(), &t.value_form());
        differ(
            "cookie attributes",
            &o.attribute_names(),
            &t.attribute_names(),
        );
        for attribute in ["Domain", "Max-Age", "Path", "SameSite"] {
            differ(attribute, &o.attribute(attribute), &t.attribute(attribute));
        }
        if t.value == "\"\"" {
            // A deletion cookie: Django's exact text.
            differ(
                "deletion cookie",
                &o_text(ours, cookie_name),
                &o_text(theirs, cookie_name),
            );
        } else {
            let left = |c: &SetCookie, a: &Answer| {
                c.attribute("expires").map(|e| {
                    let at = DateTime::parse_from_rfc2822(&e.replace("GMT", "+0000")).unwrap();
                    (at.with_timezone(&Utc) - a.now).num_seconds()
                })
            };
            differ(
                "expires − the answer's clock",
                &left(&o, ours),
                &left(&t, theirs),
            );
            if let (Some(max_age), Some(left)) = (t.attribute("Max-Age"), left(&t, theirs)) {
                differ(
                    "Django's expires − Date against its Max-Age",
                    &max_age.parse::<i64>().unwrap(),
                    &left,
                );
            }
            if o.value_form() == "a signed value" {
                // The same data, secret key and clock: Django's very bytes.
                differ("signed cookie", &o.value, &t.value);
            }
        }
        let changed = |before: &Option<String>, after: Option<&str>| match (before, after) {
            (Some(b), Some(a)) => Some(b != a),
            _ => None,
        };
        differ(
            "the key changed",
            &changed(&before.0, after.0),
            &changed(&before.1, after.1),
        );
    }

    if django_raises {
        return;
    }
    // Django's views answer JSON with the session (not its 404, redirects or HEAD answers);
    // the lesson's view must then too.
    let Some(t) = theirs.json.as_ref().filter(|t| t["session"].is_object()) else {
        return;
    };
    let Some(o) = ours.json.as_ref().filter(|o| o["session"].is_object()) else {
        differ("the session in JSON", &ours.json, &t["session"]);
        return;
    };
    // The view's context; the playground answers its `result` and `raised` beside the session.
    if let Some(context) = t["context"].as_object() {
        for (key, value) in context {
            let ours = match o.get("context") {
                Some(context) => &context[key],
                None => &o[key],
            };
            differ(&format!("context {key}"), ours, value);
        }
    }
    let (o, t) = (&o["session"], &t["session"]);
    for field in [
        "items",
        "cookie_age",
        "expiry_age",
        "expire_at_browser_close",
        "test_cookie_worked",
    ] {
        differ(&format!("session {field}"), &o[field], &t[field]);
    }
    let left = |v: &Value, now: DateTime<Utc>| {
        v.as_str()
            .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
            .map(|d| (d.with_timezone(&Utc) - now).num_seconds())
    };
    differ(
        "session expiry_date − the answer's clock",
        &left(&o["expiry_date"], ours.now),
        &left(&t["expiry_date"], theirs.now),
    );
}

/// Whether `answer` sets cookie `name` (a deletion included).
fn sets_session_cookie(answer: &Answer, name: &str) -> bool {
    answer
        .set_cookies
        .iter()
        .any(|c| SetCookie::parse(c).name == name)
}

/// The `Set-Cookie` text of cookie `name` in `answer`.
fn o_text(answer: &Answer, name: &str) -> Option<String> {
    answer
        .set_cookies
        .iter()
        .find(|c| SetCookie::parse(c).name == name)
        .cloned()
}
