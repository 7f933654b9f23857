//! Seeded random walks: scenarios made of the hand-written scenarios' steps, in orders no one
//! wrote, so that the comparison with Django meets states its authors did not think of.
//!
//! A walk is one lesson (or the playground) on one engine, perhaps under one setting, and
//! [`STEPS`] steps drawn by proptest's `TestRng`, keyed with the walk's seed ([`generator`]):
//! the lesson's views, the playground's operations with keys and values from [`KEYS`] and
//! [`VALUES`], clock moves to one second before, at and after the expiries in force, cookies
//! lost, forged, tampered with or brought from another lesson, forms beyond the playground's
//! limits.
//!
//! The generator keeps out of the differences sessionlab makes on purpose (README.md,
//! docs/ARCHITECTURE.md "Where sessionlab differs from Django on purpose"), each where it
//! draws the step that would meet one:
//! - a view that raises `KeyError` in Django is [`Step::ClickWhereDjangoMayRaise`];
//! - on `file` and `signed_cookies`, whose Django engines do not enforce an integer
//!   `set_expiry()` (and on `signed_cookies` any `set_expiry()`), the clock never reaches an
//!   expiry of that kind once one was set, and `signed_cookies` is given none in the past;
//! - the playground's `clear()` is drawn on a server-side engine only while the browser's
//!   session is surely alive (Django's `clear()` does not load, sessionlab's does);
//! - a form beyond the playground's limits is [`Step::PostBeyondLimit`], sent to sessionlab
//!   alone, and only where its answer changes no cookie;
//! - the basic and dict lessons borrow no cookie from timeout ([`DONORS_OF_LNAME`]), and no
//!   walk on `file` forges a key with characters its Django engine refuses (`cookie_move`).

use proptest::prelude::RngExt;
use proptest::test_runner::{RngAlgorithm, TestRng};

use super::{RANDOM_KEY, Setting, Step};

/// Steps in a walk.
pub const STEPS: usize = 15;

/// Walks in the suite, seeds 1 to `WALKS` (`SESSIONLAB_WALKS` changes the number).
pub const WALKS: u64 = 40;

/// The seeds to walk: `SESSIONLAB_WALK_SEED=<seed>` for one walk alone, or
/// `<first>..<last>` for those (decimal or `0x…`), else 1 to `SESSIONLAB_WALKS` (default
/// [`WALKS`]).
pub fn seeds() -> Vec<u64> {
    let number = |name: &str, text: &str| {
        let parsed = match text.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => text.parse(),
        };
        parsed.unwrap_or_else(|e| panic!("{name}: {text:?} is not a number: {e}"))
    };
    if let Ok(text) = std::env::var("SESSIONLAB_WALK_SEED") {
        let name = "SESSIONLAB_WALK_SEED";
        return match text.split_once("..") {
            Some((first, last)) => (number(name, first)..=number(name, last)).collect(),
            None => vec![number(name, &text)],
        };
    }
    let walks = std::env::var("SESSIONLAB_WALKS").map_or(WALKS, |n| number("SESSIONLAB_WALKS", &n));
    (1..=walks).collect()
}

/// The lessons a walk may take, with the views it clicks. Views whose seed raises `KeyError`
/// in some states are apart; `own_age` is the lesson's own `SESSION_COOKIE_AGE`
/// (config/default.toml, `tests/django/lessons_site/settings.py`).
struct Lesson {
    slug: &'static str,
    views: &'static [&'static str],
    may_raise: &'static [&'static str],
    own_age: Option<i64>,
    /// Whether its `set/` calls `set_expiry(600)`.
    sets_expiry: bool,
}

const LESSONS: [Lesson; 6] = [
    Lesson {
        slug: "basic",
        views: &["", "set/", "get/", "del/"],
        may_raise: &[],
        own_age: None,
        sets_expiry: false,
    },
    Lesson {
        slug: "dict",
        views: &["", "set/", "get/", "del/", "flush/"],
        may_raise: &[],
        own_age: None,
        sets_expiry: false,
    },
    Lesson {
        slug: "timeout",
        views: &["", "set/", "del/"],
        may_raise: &["get/"],
        own_age: None,
        sets_expiry: true,
    },
    Lesson {
        slug: "testcookie",
        views: &["", "set/", "check/"],
        may_raise: &["del/"],
        own_age: None,
        sets_expiry: false,
    },
    Lesson {
        slug: "settings",
        views: &["", "set/", "del/"],
        may_raise: &["get/"],
        own_age: Some(400),
        sets_expiry: true,
    },
    Lesson {
        slug: "pagesession",
        views: &["", "set/", "get/", "del/"],
        may_raise: &[],
        own_age: Some(20),
        sets_expiry: false,
    },
];

/// Lessons whose `set/` a walk may borrow a cookie from: those with no settings of their own,
/// so that both sides make the session under the walk's settings.
const DONORS: [&str; 4] = ["basic", "dict", "timeout", "testcookie"];

/// The donors of the basic and dict lessons: not timeout, whose session has `name` without
/// `lname`. Their `del/` raises `KeyError` on it in Django after deleting `name`, so nothing
/// is saved, where the lesson deletes what it finds, says what was missing and saves (on
/// purpose: `src/lessons/basic.rs`), and the two sessions part ways from there.
const DONORS_OF_LNAME: [&str; 3] = ["basic", "dict", "testcookie"];

const ENGINES: [&str; 5] = ["db", "file", "cache", "cached_db", "signed_cookies"];

/// At most one setting per walk (none, more often than not).
const SETTINGS: [(&str, Setting); 4] = [
    ("SESSION_SAVE_EVERY_REQUEST", Setting::Bool(true)),
    ("SESSION_COOKIE_AGE", Setting::Int(5)),
    ("SESSION_COOKIE_AGE", Setting::Int(60)),
    ("SESSION_EXPIRE_AT_BROWSER_CLOSE", Setting::Bool(true)),
];

/// Playground keys: ordinary, non-ASCII, numeric-looking, with spaces, the test cookie's, a
/// form's special characters, the longest allowed.
const KEYS: [&str; 13] = [
    "name",
    "age",
    "é",
    "ключ",
    "🙂",
    "1",
    "007",
    "1e3",
    " name",
    "testcookie",
    "a&b=c+d%20",
    "<b>",
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
];

/// Playground values, as JSON typed into the form (a long string is added by [`Walk::value`]).
const VALUES: [&str; 23] = [
    "\"Sonam\"",
    "\"\"",
    "26",
    "-0",
    "1.5",
    "1e16",
    "0.1",
    "12345678901234567890",
    "true",
    "null",
    "[]",
    "{}",
    " [1, \"two\", {\"3\": null}] ",
    "{\"b\": 1, \"a\": {\"\": [true]}}",
    "\"é🙂\"",
    "\"\\u00e9\\ud83d\\ude00\"",
    "\"0123\"",
    "\"1e3\"",
    "\"worked\"",
    "\"line\\nbreak\\ttab\"",
    "\"</script>&amp;\"",
    "\"\\u0000\"",
    "1E+2",
];

/// A step as the generator draws it: a playground form owns its (random) fields.
#[derive(Debug)]
enum Move {
    Step(Step<'static>),
    Post {
        view: &'static str,
        fields: Vec<(&'static str, String)>,
        beyond_limit: bool,
    },
}

/// One walk: a scenario drawn from its seed.
pub struct Walk {
    pub name: String,
    pub lesson: &'static str,
    pub engine: &'static str,
    pub settings: Vec<(&'static str, Setting)>,
    moves: Vec<Move>,
}

/// What the generator knows of the walk so far, to aim its clock moves and keep out of the
/// differences made on purpose.
struct Drawing {
    rng: TestRng,
    engine: &'static str,
    /// The `SESSION_COOKIE_AGE` in force and the expiries set since (seconds after a save),
    /// to aim the clock at.
    expiries: Vec<i64>,
    /// The clock, in seconds since the start.
    now: i64,
    /// Seconds since the last request.
    idle: i64,
    /// On `file` and `signed_cookies`: the earliest moment at which an expiry that Django's
    /// engine does not enforce could run out; the clock stays before it.
    deadline: Option<i64>,
    /// Whether the browser's session may be dead (forged, tampered with, expired).
    maybe_dead: bool,
    /// Whether the walk runs under `SESSION_SAVE_EVERY_REQUEST`.
    save_every_request: bool,
}

impl Walk {
    /// The walk of `seed`.
    pub fn new(seed: u64) -> Self {
        let mut rng = generator(seed);
        let playground = rng.random_range(0..4) == 0;
        let lesson = (!playground).then(|| &LESSONS[rng.random_range(0..LESSONS.len())]);
        let engine = rng.pick(&ENGINES);
        let settings: Vec<_> = if rng.random_ratio(35, 100) {
            vec![rng.pick(&SETTINGS)]
        } else {
            Vec::new()
        };
        let scenario_age = settings.iter().find_map(|(name, value)| match value {
            Setting::Int(age) if *name == "SESSION_COOKIE_AGE" => Some(*age),
            _ => None,
        });
        let age = lesson
            .and_then(|l| l.own_age)
            .or(scenario_age)
            .unwrap_or(1_209_600);
        let mut drawing = Drawing {
            rng,
            engine,
            expiries: vec![age],
            now: 0,
            idle: 0,
            deadline: None,
            maybe_dead: false,
            save_every_request: settings
                .iter()
                .any(|(name, _)| *name == "SESSION_SAVE_EVERY_REQUEST"),
        };
        let moves = match lesson {
            Some(lesson) => drawing.lesson_moves(lesson),
            None => drawing.playground_moves(),
        };
        let slug = lesson.map_or("playground", |l| l.slug);
        let setting = settings
            .iter()
            .map(|(name, value)| format!(", {name} = {}", value.env()))
            .collect::<String>();
        Walk {
            name: format!("walk {seed} (SESSIONLAB_WALK_SEED={seed}): {slug} on {engine}{setting}"),
            lesson: slug,
            engine,
            settings,
            moves,
        }
    }

    /// Each playground form's fields, borrowed, in the order of the walk.
    pub fn forms(&self) -> Vec<Vec<(&str, &str)>> {
        self.moves
            .iter()
            .filter_map(|m| match m {
                Move::Post { fields, .. } => {
                    Some(fields.iter().map(|(k, v)| (*k, v.as_str())).collect())
                }
                Move::Step(_) => None,
            })
            .collect()
    }

    /// The walk's steps, its forms' fields borrowed from `forms` (made by [`Walk::forms`]).
    pub fn steps<'a>(&'a self, forms: &'a [Vec<(&'a str, &'a str)>]) -> Vec<Step<'a>> {
        let mut forms = forms.iter();
        self.moves
            .iter()
            .map(|m| match m {
                Move::Step(step) => *step,
                Move::Post {
                    view, beyond_limit, ..
                } => {
                    let fields = forms.next().expect("a form for each POST").as_slice();
                    if *beyond_limit {
                        Step::PostBeyondLimit(view, fields)
                    } else {
                        Step::Post(view, fields)
                    }
                }
            })
            .collect()
    }

    /// The walk's steps, one a line, long values cut, for a failure's message.
    pub fn listing(&self) -> String {
        self.moves
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let mut text = format!("{m:?}");
                if text.len() > 160 {
                    let cut = (0..=160).rev().find(|&at| text.is_char_boundary(at));
                    text.truncate(cut.unwrap_or(0));
                    text.push('…');
                }
                format!("  {}. {text}", i + 1)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Lesson {
    /// The lessons this one may borrow a cookie from: none for a lesson with settings of its
    /// own, as Django's one settings module would make the other lesson's session under
    /// them, where sessionlab makes it under the other lesson's.
    fn donors(&self) -> &'static [&'static str] {
        match self.slug {
            _ if self.own_age.is_some() => &[],
            "basic" | "dict" => &DONORS_OF_LNAME,
            _ => &DONORS,
        }
    }
}

impl Drawing {
    fn lesson_moves(&mut self, lesson: &Lesson) -> Vec<Move> {
        let quiet: Vec<&'static str> = lesson.views.to_vec();
        let mut moves = Vec::with_capacity(STEPS);
        while moves.len() < STEPS {
            let roll = self.rng.random_range(0..100);
            let step = match roll {
                0..=44 => {
                    let all = quiet.len() + lesson.may_raise.len();
                    let at = self.rng.random_range(0..all);
                    if at < quiet.len() {
                        Step::Click(quiet[at])
                    } else {
                        Step::ClickWhereDjangoMayRaise(lesson.may_raise[at - quiet.len()])
                    }
                }
                45..=64 => match self.wait() {
                    Some(seconds) => Step::Wait(seconds),
                    None => continue,
                },
                65..=69 => Step::Head(self.rng.pick(&quiet)),
                70..=74 => Step::SendCookie(
                    self.rng.pick(&quiet),
                    self.rng.pick(&[
                        "{name}=\"{value}\"",
                        " {name} = {value} ; other=1",
                        "{name}=abc; {name}={value}",
                    ]),
                ),
                75..=79 => {
                    // The slash redirect of a view (APPEND_SLASH).
                    let view = self.rng.pick(&quiet);
                    match view.strip_suffix('/') {
                        Some(bare) => Step::Click(bare),
                        None => continue,
                    }
                }
                80..=94 => match self.cookie_move(lesson.donors()) {
                    Some(step) => step,
                    None => continue,
                },
                _ => match self.wait() {
                    Some(seconds) => Step::Wait(seconds),
                    None => continue,
                },
            };
            self.after(&step, lesson.sets_expiry);
            moves.push(Move::Step(step));
        }
        moves
    }

    fn playground_moves(&mut self) -> Vec<Move> {
        // The first visit gives the browser its CSRF cookie.
        let mut moves = vec![Move::Step(Step::Click(""))];
        while moves.len() < STEPS {
            let roll = self.rng.random_range(0..100);
            let next = match roll {
                0..=49 => match self.operation() {
                    Some(post) => post,
                    None => continue,
                },
                50..=59 => Move::Step(Step::Click("")),
                60..=74 => match self.wait() {
                    Some(seconds) => Move::Step(Step::Wait(seconds)),
                    None => continue,
                },
                75..=89 => match self.cookie_move(&DONORS) {
                    Some(step) => Move::Step(step),
                    None => continue,
                },
                // A refused form's answer still saves the session under
                // SESSION_SAVE_EVERY_REQUEST, and deletes a cookie that names no session, as
                // Django's does (any status under 500): it is sent to one side alone only
                // where it changes no cookie.
                90..=94 if !self.save_every_request && !self.maybe_dead => self.beyond_limit(),
                90..=94 => continue,
                _ => Move::Step(Step::Head("")),
            };
            if let Move::Step(step) = &next {
                self.after(step, false);
            }
            moves.push(next);
        }
        moves
    }

    /// A cookie lost, forged, tampered with or brought from one of `donors`.
    fn cookie_move(&mut self, donors: &[&'static str]) -> Option<Step<'static>> {
        Some(match self.rng.random_range(0..6) {
            0 => Step::Forge(RANDOM_KEY),
            // A signed value's `:` and capitals are characters Django's file engine refuses
            // in a key: its flush(), which does not load first, then raises
            // SuspiciousOperation (a 400 without a cookie), where sessionlab drops the cookie
            // as for any key that names no session (RELIABILITY.md, random walks).
            1 if self.engine == "file" => Step::Forge(self.rng.pick(&["abc", "abcdefgh"])),
            1 => Step::Forge(self.rng.pick(&[
                "abc",
                "abcdefgh",
                "eyJuYW1lIjoiU29uYW0ifQ:1r31eq:oI7ntp6CFbD6gpVkvAa9HQXFeGnWDiNBsh2VSmVzhPk",
            ])),
            2 | 3 => Step::Tamper,
            4 => Step::LoseCookie,
            _ if !donors.is_empty() => Step::BorrowFrom(self.rng.pick(donors)),
            _ => return None,
        })
    }

    /// A clock move: a few seconds, or to one second before, at or after an expiry counted
    /// from the last request; never to an expiry Django's engine would not enforce.
    fn wait(&mut self) -> Option<i64> {
        let aimed = if self.rng.random_ratio(50, 100) {
            self.rng.pick(&self.expiries) + self.rng.pick(&[-1, 0, 1]) - self.idle
        } else {
            0
        };
        let mut seconds = if aimed > 0 {
            aimed
        } else {
            self.rng.pick(&[1, 2, 5, 10, 30])
        };
        if let Some(deadline) = self.deadline {
            seconds = seconds.min(deadline - 1 - self.now);
        }
        (seconds > 0).then_some(seconds)
    }

    /// Keeps track of the clock, the expiries set and whether the session may be dead.
    fn after(&mut self, step: &Step<'_>, set_sets_expiry: bool) {
        match step {
            Step::Wait(seconds) => {
                self.now += seconds;
                self.idle += seconds;
                self.maybe_dead = true;
                return;
            }
            Step::Forge(_) | Step::Tamper => self.maybe_dead = true,
            Step::LoseCookie => self.maybe_dead = false,
            Step::BorrowFrom(donor) => {
                self.maybe_dead = false;
                if *donor == "timeout" {
                    self.integer_expiry(600);
                }
            }
            Step::Click("set/") | Step::Head("set/") | Step::SendCookie("set/", _)
                if set_sets_expiry =>
            {
                self.integer_expiry(600)
            }
            // The playground's page loads the session: a dead one's cookie is deleted.
            Step::Click("") => self.maybe_dead = false,
            _ => {}
        }
        self.idle = 0;
    }

    /// An integer `set_expiry(seconds)`, which Django's `file` and `signed_cookies` engines do
    /// not enforce.
    fn integer_expiry(&mut self, seconds: i64) {
        if seconds <= 0 {
            return;
        }
        self.expiries.push(seconds);
        if matches!(self.engine, "file" | "signed_cookies") {
            self.not_past(seconds);
        }
    }

    /// An expiry given as a date or a `timedelta`, which only `signed_cookies` ignores.
    fn dated_expiry(&mut self, seconds: i64) {
        if seconds > 0 {
            self.expiries.push(seconds);
        }
        if self.engine == "signed_cookies" {
            self.not_past(seconds);
        }
    }

    fn not_past(&mut self, seconds: i64) {
        let at = self.now + seconds;
        self.deadline = Some(self.deadline.map_or(at, |d| d.min(at)));
    }

    fn key(&mut self) -> String {
        self.rng.pick(&KEYS).to_owned()
    }

    /// A JSON value: one of [`VALUES`], or a long string (shorter on `signed_cookies`, whose
    /// cookie holds at most 4093 bytes).
    fn value(&mut self) -> String {
        if self.rng.random_ratio(8, 100) {
            let length = if self.engine == "signed_cookies" {
                300
            } else {
                4000
            };
            return format!("\"{}\"", "ab".repeat(length / 2));
        }
        self.rng.pick(&VALUES).to_owned()
    }

    /// One playground operation with random arguments, or none when the one drawn would meet
    /// a difference made on purpose.
    fn operation(&mut self) -> Option<Move> {
        let signed = self.engine == "signed_cookies";
        let (view, fields): (&str, Vec<(&str, String)>) = match self.rng.random_range(0..9) {
            0 | 1 => ("set/", vec![("key", self.key()), ("value", self.value())]),
            2 => (
                "setdefault/",
                vec![("key", self.key()), ("value", self.value())],
            ),
            3 => {
                let default = if self.rng.random_ratio(50, 100) {
                    self.value()
                } else {
                    String::new()
                };
                ("pop/", vec![("key", self.key()), ("default", default)])
            }
            4 => ("delete/", vec![("key", self.key())]),
            5 if signed || !self.maybe_dead => ("clear/", vec![]),
            5 => return None,
            6 => (self.rng.pick(&["flush/", "cycle_key/"]), vec![]),
            _ => ("set_expiry/", self.expiry_fields()),
        };
        self.idle = 0;
        if view != "clear/" {
            self.maybe_dead = self.maybe_dead && view == "set_expiry/";
        }
        Some(Move::Post {
            view,
            fields,
            beyond_limit: false,
        })
    }

    /// `set_expiry()`'s fields, noting the expiry it sets.
    fn expiry_fields(&mut self) -> Vec<(&'static str, String)> {
        let signed = self.engine == "signed_cookies";
        let form = |kind: &str, value: String| vec![("kind", kind.to_owned()), ("value", value)];
        let fields: Vec<(&str, String)> = match self.rng.random_range(0..4) {
            0 => form("none", String::new()),
            1 => {
                let seconds = if signed {
                    self.rng.pick(&[0, 60, 600])
                } else {
                    self.rng.pick(&[0, 1, 5, 20, 60, 600, -10])
                };
                self.integer_expiry(seconds);
                self.maybe_dead |= seconds < 0;
                form("seconds", seconds.to_string())
            }
            2 => {
                let seconds = if signed {
                    self.rng.pick(&[60, 600])
                } else {
                    self.rng.pick(&[0, 1, 60, 600, -5])
                };
                self.dated_expiry(seconds);
                self.maybe_dead |= seconds <= 0;
                form("timedelta", seconds.to_string())
            }
            _ => {
                let seconds = if signed {
                    self.rng.pick(&[60, 600])
                } else {
                    self.rng.pick(&[-60, 1, 60, 600])
                };
                if self.rng.random_ratio(20, 100) {
                    return form("datetime", "2099-12-24T18:00:00+01:00".into());
                }
                self.dated_expiry(seconds);
                self.maybe_dead |= seconds <= 0;
                form("datetime", format!("{{clock{seconds:+}}}"))
            }
        };
        fields
    }

    /// A form beyond one of the playground's limits: a key of no characters or of 65, an integer
    /// wider than 64 bits, a value over 4096 bytes.
    fn beyond_limit(&mut self) -> Move {
        let (view, fields): (&str, Vec<(&str, String)>) = match self.rng.random_range(0..4) {
            0 => ("set/", vec![("key", String::new()), ("value", "1".into())]),
            1 => (
                "setdefault/",
                vec![("key", "k".repeat(65)), ("value", "1".into())],
            ),
            2 => {
                let wide = self.rng.pick(&[
                    "18446744073709551616",
                    "[-9223372036854775809]",
                    "{\"n\": 123456789012345678901234567890}",
                ]);
                ("set/", vec![("key", self.key()), ("value", wide.into())])
            }
            _ => (
                "set/",
                vec![
                    ("key", self.key()),
                    ("value", format!("\"{}\"", "x".repeat(4095))),
                ],
            ),
        };
        Move::Post {
            view,
            fields,
            beyond_limit: true,
        }
    }
}

/// The generator of the walk of `seed`: proptest's ChaCha20, keyed with the seed's eight bytes
/// written four times over, so that a seed draws the same walk on every machine. (A new major
/// version of rand, whose ranges and ratios turn its output into steps, may draw other walks
/// from the same seeds.)
fn generator(seed: u64) -> TestRng {
    TestRng::from_seed(RngAlgorithm::ChaCha, &seed.to_le_bytes().repeat(4))
}

/// Draws one of a few items, each as likely (rand's `IndexedRandom::choose`, which proptest
/// does not re-export).
trait Pick {
    fn pick<T: Copy>(&mut self, items: &[T]) -> T;
}

impl Pick for TestRng {
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.random_range(0..items.len())]
    }
}
