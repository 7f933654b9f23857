//! Model-based properties of the session API, on every engine: any sequence of session
//! operations, spread over requests through the real `SessionMiddleware` (in-process, with a
//! view that runs the operations), gives the same return values, keys, values and ORDER as a
//! model with Python dict semantics, the same `accessed`/`modified` flags as Django's
//! `SessionBase` (reference §1 table), the same `Set-Cookie` decisions as Django's
//! `process_response`, and, saved and loaded again through the store, the model's data back
//! (or nothing, once the model says the session expired).
//!
//! Keys come from a small alphabet (including `_session_expiry`) so that overwrites, deletes
//! and custom expiries collide. The model (`fuzz/src/django.rs`) is written from Django's code.

mod common;
#[path = "../fuzz/src/django.rs"]
mod django;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::http::header::{COOKIE, SET_COOKIE};
use actix_web::{App, HttpRequest, HttpResponse, test as actix_test, web};
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use common::{PgSchema, RedisPrefix, redis_url};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};
use sessionlab::config::{SessionSettings, Settings, config_dir};
use sessionlab::session::expiry::EXPIRY_KEY;
use sessionlab::session::store::{
    AnyStore, CachedDbStore, DbStore, FileStore, MemoryStore, PgStore, RedisSettings, RedisStore,
    SessionCodec, Store,
};
use sessionlab::session::{
    Clock, Expiry, FakeClock, Session, SessionBackend, SessionEngine, SessionMiddleware,
    SignedCookies,
};

/// Cases per engine and the longest operation sequence: the whole file stays within seconds.
/// `PROPTEST_CASES=2000 cargo test --test session_model` runs a longer search.
const CASES: u32 = 64;
const MAX_OPS: usize = 20;
const SECRET: &str = "session-model-secret-key-for-tests";

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES)
}

/// The key alphabet: three plain keys and Django's expiry key.
const KEYS: [&str; 4] = ["a", "b", "c", EXPIRY_KEY];

// ---------------------------------------------------------------------------------------------
// Operations.

/// A value to store; dates are relative to the clock when the operation runs.
#[derive(Debug, Clone)]
enum Val {
    Json(Value),
    /// `python_isoformat(now + seconds + micros)`.
    DateIn(i64, i64),
}

/// The argument of `set_expiry`, relative to the clock when it runs.
#[derive(Debug, Clone)]
enum ExpiryArg {
    Seconds(i64),
    /// `Expiry::At(now + seconds + micros)`.
    At(i64, i64),
    /// `Expiry::After(seconds + micros)`.
    After(i64, i64),
    GlobalPolicy,
}

#[derive(Debug, Clone)]
enum Op {
    Insert(usize, Val),
    Remove(usize),
    Pop(usize),
    PopOr(usize, Val),
    SetDefault(usize, Val),
    Update(Vec<(usize, Val)>),
    Get(usize),
    Contains(usize),
    Keys,
    Clear,
    SetExpiry(ExpiryArg),
    Flush,
    CycleKey,
    /// `request.session.modified = False`.
    ResetModified,
    /// `get_expiry_age()`, `get_expiry_date()`, `get_expire_at_browser_close()`.
    ExpiryAnswers,
    /// The clock moves (seconds).
    Advance(i64),
    /// The response leaves; the browser sends its cookie with the next request.
    EndRequest,
}

/// How an engine's cache judges time: Redis and the memory cache drop entries by the wall
/// clock, so a custom expiry a few seconds away could vanish while a case runs. Those engines
/// get expiries of 0 or less, or of at least [`MIN_WALL_TTL`] seconds.
#[derive(Debug, Clone, Copy)]
struct Limits {
    short_expiries: bool,
}

const MIN_WALL_TTL: i64 = 20;

/// Seconds for an expiry (or a date's offset from now); with `extremes`, also values past
/// Python's datetime range, where sessionlab saturates at chrono's ends.
fn seconds(limits: Limits, extremes: bool) -> BoxedStrategy<i64> {
    let safe = prop_oneof![
        Just(0i64),
        Just(-1),
        Just(-10),
        Just(MIN_WALL_TTL),
        Just(600),
        Just(3600),
        Just(1_209_600),
        -100_000i64..=0,
        MIN_WALL_TTL..100_000_000,
    ];
    let short = if limits.short_expiries {
        (1i64..MIN_WALL_TTL).boxed()
    } else {
        Just(0i64).boxed()
    };
    let extreme = if extremes {
        prop_oneof![Just(i64::MAX), Just(i64::MIN), Just(400_000_000_000i64)].boxed()
    } else {
        Just(0i64).boxed()
    };
    prop_oneof![8 => safe, 1 => short, 1 => extreme].boxed()
}

fn plain_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![
            Just(0.1f64),
            Just(-0.0),
            Just(1e16),
            Just(1.5e-7),
            -1e9f64..1e9
        ]
        .prop_map(Value::from),
        "[a-z\u{e9}\u{65e5}\u{1f600}\"\\\\\n]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z]{0,3}", inner), 0..4)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// What `_session_expiry` may be given directly (`session["_session_expiry"] = …`).
fn expiry_val(limits: Limits) -> BoxedStrategy<Val> {
    let booleans = if limits.short_expiries {
        any::<bool>().boxed()
    } else {
        Just(false).boxed()
    };
    prop_oneof![
        seconds(limits, true).prop_map(|s| Val::Json(json!(s))),
        (seconds(limits, false), 0i64..1_000_000).prop_map(|(s, us)| Val::DateIn(s, us)),
        booleans.prop_map(|b| Val::Json(json!(b))),
        Just(Val::Json(Value::Null)),
        prop_oneof![Just("garbage"), Just(""), Just("2026-13-01")]
            .prop_map(|s| Val::Json(json!(s))),
        Just(Val::Json(json!([1]))),
    ]
    .boxed()
}

/// A key and a value fitting it.
fn entry(limits: Limits) -> impl Strategy<Value = (usize, Val)> {
    prop_oneof![
        4 => (0usize..3, plain_value().prop_map(Val::Json)),
        1 => expiry_val(limits).prop_map(|v| (3, v)),
    ]
}

fn key() -> impl Strategy<Value = usize> {
    prop_oneof![4 => 0usize..3, 1 => Just(3usize)]
}

fn expiry_arg(limits: Limits) -> impl Strategy<Value = ExpiryArg> {
    prop_oneof![
        seconds(limits, true).prop_map(ExpiryArg::Seconds),
        (seconds(limits, false), 0i64..1_000_000).prop_map(|(s, us)| ExpiryArg::At(s, us)),
        (seconds(limits, false), 0i64..1_000_000).prop_map(|(s, us)| ExpiryArg::After(s, us)),
        Just(ExpiryArg::GlobalPolicy),
    ]
}

fn op(limits: Limits) -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => entry(limits).prop_map(|(k, v)| Op::Insert(k, v)),
        2 => key().prop_map(Op::Remove),
        1 => key().prop_map(Op::Pop),
        2 => (key(), plain_value()).prop_map(|(k, v)| Op::PopOr(k, Val::Json(v))),
        2 => entry(limits).prop_map(|(k, v)| Op::SetDefault(k, v)),
        2 => prop::collection::vec(entry(limits), 0..3).prop_map(Op::Update),
        2 => key().prop_map(Op::Get),
        1 => key().prop_map(Op::Contains),
        1 => Just(Op::Keys),
        1 => Just(Op::Clear),
        3 => expiry_arg(limits).prop_map(Op::SetExpiry),
        1 => Just(Op::Flush),
        1 => Just(Op::CycleKey),
        1 => Just(Op::ResetModified),
        2 => Just(Op::ExpiryAnswers),
        1 => prop_oneof![
            Just(1i64),
            Just(MIN_WALL_TTL),
            Just(600),
            Just(3600),
            Just(1_209_600),
            Just(1_209_601)
        ]
        .prop_map(Op::Advance),
        4 => Just(Op::EndRequest),
    ]
}

/// Per-case settings: the session's lifetime rules.
#[derive(Debug, Clone)]
struct CaseSettings {
    cookie_age: i64,
    expire_at_browser_close: bool,
    save_every_request: bool,
}

fn case_settings() -> impl Strategy<Value = CaseSettings> {
    (
        prop_oneof![Just(1_209_600i64), Just(400), Just(MIN_WALL_TTL)],
        any::<bool>(),
        prop::bool::weighted(0.25),
    )
        .prop_map(
            |(cookie_age, expire_at_browser_close, save_every_request)| CaseSettings {
                cookie_age,
                expire_at_browser_close,
                save_every_request,
            },
        )
}

// ---------------------------------------------------------------------------------------------
// The model.

/// What a request's session found in the store, applied on first use (Django loads lazily).
#[derive(Debug, Clone)]
enum Pending {
    /// Already applied (or a session without a cookie: nothing to load).
    Applied,
    Found(django::PyDict),
    /// No live session under the cookie's key: the key is dropped on first use.
    Missing,
    /// A signed cookie that is expired: Django's signed-cookie `load()` calls `create()`,
    /// which marks the session modified.
    Reset,
    /// A session file that expired: Django's file `load()` deletes it and calls `create()`,
    /// so the session is modified and holds a (new) key.
    Expired,
}

/// One saved session: in a store under a key, or in a signed cookie.
#[derive(Debug, Clone)]
struct Saved {
    data: django::PyDict,
    expire_date: DateTime<Utc>,
    /// Unix seconds at the save (the signing time of a signed cookie).
    saved_at: i64,
}

#[derive(Debug)]
struct Model {
    signed: bool,
    /// The file engine: an expired session read is replaced by a new one (`Pending::Expired`).
    renews_expired: bool,
    /// The new key Django's file `create()` gave in place of an expired session, which
    /// sessionlab draws at the save: no `session_key` yet, but not empty.
    key_pending: bool,
    settings: CaseSettings,
    /// The session's data as the view sees it, once `pending` is applied.
    data: django::PyDict,
    pending: Pending,
    /// `session_key`, as an index into `keys`.
    key: Option<usize>,
    accessed: bool,
    modified: bool,
    /// Every key handed out, in order (the real key strings).
    keys: Vec<String>,
    /// What the store (or, for signed cookies, each cookie) holds, by key index.
    saved: HashMap<usize, Saved>,
    /// The cookie the browser sends, by key index.
    browser: Option<usize>,
}

impl Model {
    fn new(signed: bool, renews_expired: bool, settings: CaseSettings) -> Self {
        Model {
            signed,
            renews_expired,
            key_pending: false,
            settings,
            data: django::PyDict::default(),
            pending: Pending::Applied,
            key: None,
            accessed: false,
            modified: false,
            keys: Vec::new(),
            saved: HashMap::new(),
            browser: None,
        }
    }

    /// A new request carrying the browser's cookie.
    fn start_request(&mut self, now: DateTime<Utc>) {
        self.accessed = false;
        self.modified = false;
        self.data = django::PyDict::default();
        self.key = self.browser;
        self.key_pending = false;
        self.pending = match self.browser {
            None => Pending::Applied,
            Some(k) => match self.saved.get(&k) {
                Some(saved) if self.alive(saved, now) => Pending::Found(saved.data.clone()),
                _ if self.signed => Pending::Reset,
                Some(_) if self.renews_expired => Pending::Expired,
                _ => Pending::Missing,
            },
        };
        if let (Pending::Expired, Some(k)) = (&self.pending, self.browser) {
            // The load deletes the expired file.
            self.saved.remove(&k);
        }
    }

    /// Whether a saved session still loads at `now`.
    fn alive(&self, saved: &Saved, now: DateTime<Utc>) -> bool {
        if self.signed {
            // The signature's age (whole seconds) is at most SESSION_COOKIE_AGE, and the
            // session's own expiry, if it has one, counted from the signing time, is still
            // ahead. Without one the signature alone bounds it: a cookie exactly
            // SESSION_COOKIE_AGE old still loads, as in Django (`age > max_age` refuses).
            let age = now.timestamp() - saved.saved_at;
            let signed_at = DateTime::from_timestamp(saved.saved_at, 0).expect("in range");
            let expiry = django::read_expiry(saved.data.get(EXPIRY_KEY));
            let own_expiry = match expiry {
                django::ModelExpiry::Date(_) => true,
                django::ModelExpiry::Seconds(seconds) => seconds != 0,
                django::ModelExpiry::Float(seconds) => seconds != 0.0,
                django::ModelExpiry::Unset | django::ModelExpiry::Unreadable => false,
            };
            age <= self.settings.cookie_age
                && (!own_expiry
                    || django::expiry_date(expiry, self.settings.cookie_age, signed_at) > now)
        } else {
            saved.expire_date > now
        }
    }

    /// Django's `_session`: marks accessed and loads on first use.
    fn touch(&mut self) {
        self.accessed = true;
        match std::mem::replace(&mut self.pending, Pending::Applied) {
            Pending::Applied => {}
            Pending::Found(data) => self.data = data,
            Pending::Missing => self.key = None,
            Pending::Reset => self.modified = true,
            Pending::Expired => {
                self.key = None;
                self.key_pending = true;
                self.modified = true;
            }
        }
    }

    /// The data a look without loading shows (`peek_items`).
    fn visible(&self) -> Vec<(String, Value)> {
        match &self.pending {
            Pending::Found(data) => data.items(),
            Pending::Applied => self.data.items(),
            Pending::Missing | Pending::Reset | Pending::Expired => Vec::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.key.is_none()
            && !self.key_pending
            && match &self.pending {
                Pending::Applied => self.data.is_empty(),
                _ => true,
            }
    }

    fn expiry(&self) -> django::ModelExpiry {
        django::read_expiry(self.data.get(EXPIRY_KEY))
    }

    /// What `save()` writes now: the data and `get_expiry_date()`.
    fn saved_now(&self, now: DateTime<Utc>) -> Saved {
        Saved {
            data: self.data.clone(),
            expire_date: django::expiry_date(self.expiry(), self.settings.cookie_age, now),
            saved_at: now.timestamp(),
        }
    }
}

fn materialize(val: &Val, now: DateTime<Utc>) -> Value {
    match val {
        Val::Json(v) => v.clone(),
        Val::DateIn(s, us) => Value::String(django::python_isoformat(
            now + TimeDelta::seconds(*s) + TimeDelta::microseconds(*us),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Running a case.

/// What the view shares with the test: the operations of the current request, the model,
/// and the first failure.
struct Script {
    ops: Vec<Op>,
    model: Model,
    clock: Arc<FakeClock>,
    failure: Option<String>,
}

type Shared = Rc<RefCell<Script>>;

macro_rules! check {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(format!($($arg)+));
        }
    };
}

/// The view: runs this request's operations on the session and on the model.
async fn view(req: HttpRequest, session: Session) -> HttpResponse {
    let shared = req
        .app_data::<Shared>()
        .expect("the script is installed")
        .clone();
    let ops = std::mem::take(&mut shared.borrow_mut().ops);
    for (i, op) in ops.iter().enumerate() {
        if let Err(failure) = apply(&shared, &session, op).await {
            shared.borrow_mut().failure = Some(format!("op {i} of the request, {op:?}: {failure}"));
            break;
        }
    }
    HttpResponse::Ok().body("ok")
}

/// One operation on the session and the model, then the flags, emptiness, key presence and
/// data (in order) compared.
async fn apply(shared: &Shared, session: &Session, op: &Op) -> Result<(), String> {
    let clock = shared.borrow().clock.clone();
    let now = clock.now();
    let k = |i: &usize| KEYS[*i];
    // Operations that await (flush, cycle_key) must not hold the model borrowed.
    match op {
        Op::Flush => {
            session.flush().await.map_err(|e| format!("flush: {e}"))?;
            let mut script = shared.borrow_mut();
            let m = &mut script.model;
            m.touch();
            m.data.clear();
            m.modified = true;
            m.key_pending = false;
            if let Some(old) = m.key.take()
                && !m.signed
            {
                m.saved.remove(&old);
            }
        }
        Op::CycleKey => {
            let before = session.session_key();
            session
                .cycle_key()
                .await
                .map_err(|e| format!("cycle_key: {e}"))?;
            let after = session.session_key().ok_or("cycle_key left no key")?;
            let mut script = shared.borrow_mut();
            let m = &mut script.model;
            m.touch();
            let old = m.key.take();
            m.key_pending = false;
            let id = new_key(m, &after)?;
            check!(
                before.as_deref() != Some(after.as_str()) || m.signed,
                "the same key again"
            );
            let saved = m.saved_now(now);
            m.saved.insert(id, saved);
            m.key = Some(id);
            m.modified = true;
            if let Some(old) = old
                && !m.signed
            {
                m.saved.remove(&old);
            }
        }
        op => {
            let mut script = shared.borrow_mut();
            let m = &mut script.model;
            match op {
                Op::Insert(i, v) => {
                    m.touch();
                    let v = materialize(v, now);
                    session.insert(k(i), v.clone());
                    m.data.set(k(i), v);
                    m.modified = true;
                }
                Op::Remove(i) | Op::Pop(i) => {
                    let got = if matches!(op, Op::Remove(_)) {
                        session.remove(k(i))
                    } else {
                        session.pop(k(i))
                    };
                    // Django's `pop`: `self.modified = self.modified or key in self._session`,
                    // `modified` read before the load; `del` sets it after a removal.
                    let modified_before_load = m.modified;
                    m.touch();
                    let want = m.data.remove(k(i));
                    if matches!(op, Op::Pop(_)) {
                        m.modified = modified_before_load || want.is_some();
                    } else if want.is_some() {
                        m.modified = true;
                    }
                    check!(
                        got.as_ref().ok() == want.as_ref(),
                        "got {got:?}, model {want:?}"
                    );
                }
                Op::PopOr(i, d) => {
                    let d = materialize(d, now);
                    let got = session.pop_or(k(i), d.clone());
                    let modified_before_load = m.modified;
                    m.touch();
                    let removed = m.data.remove(k(i));
                    m.modified = modified_before_load || removed.is_some();
                    let want = removed.unwrap_or(d);
                    check!(got == want, "got {got:?}, model {want:?}");
                }
                Op::SetDefault(i, v) => {
                    let v = materialize(v, now);
                    let got = session.setdefault(k(i), v.clone());
                    m.touch();
                    let want = match m.data.get(k(i)) {
                        Some(existing) => existing.clone(),
                        None => {
                            m.data.set(k(i), v.clone());
                            m.modified = true;
                            v
                        }
                    };
                    check!(got == want, "got {got:?}, model {want:?}");
                }
                Op::Update(pairs) => {
                    let pairs: Vec<(&str, Value)> = pairs
                        .iter()
                        .map(|(i, v)| (k(i), materialize(v, now)))
                        .collect();
                    session.update(pairs.clone());
                    m.touch();
                    for (key, v) in pairs {
                        m.data.set(key, v);
                    }
                    m.modified = true;
                }
                Op::Get(i) => {
                    let got = session.get(k(i));
                    m.touch();
                    check!(got.as_ref() == m.data.get(k(i)), "got {got:?}");
                }
                Op::Contains(i) => {
                    let got = session.contains(k(i));
                    m.touch();
                    check!(got == m.data.contains(k(i)), "got {got}");
                }
                Op::Keys => {
                    let got = session.keys();
                    m.touch();
                    check!(
                        got == m.data.keys(),
                        "got {got:?}, model {:?}",
                        m.data.keys()
                    );
                    let values = session.values();
                    let want: Vec<Value> = m.data.items().into_iter().map(|(_, v)| v).collect();
                    check!(values == want, "values {values:?}, model {want:?}");
                }
                Op::Clear => {
                    session.clear();
                    m.touch();
                    m.data.clear();
                    m.modified = true;
                }
                Op::SetExpiry(arg) => {
                    let delta =
                        |s: &i64, us: &i64| TimeDelta::seconds(*s) + TimeDelta::microseconds(*us);
                    let expiry = match arg {
                        ExpiryArg::Seconds(s) => Expiry::Seconds(*s),
                        ExpiryArg::At(s, us) => Expiry::At((now + delta(s, us)).fixed_offset()),
                        ExpiryArg::After(s, us) => Expiry::After(delta(s, us)),
                        ExpiryArg::GlobalPolicy => Expiry::GlobalPolicy,
                    };
                    session.set_expiry(expiry);
                    m.touch();
                    let stored = match arg {
                        ExpiryArg::Seconds(s) => Some(json!(s)),
                        ExpiryArg::At(s, us) | ExpiryArg::After(s, us) => Some(Value::String(
                            django::python_isoformat(django::add_delta(now, delta(s, us))),
                        )),
                        ExpiryArg::GlobalPolicy => None,
                    };
                    match stored {
                        Some(v) => {
                            m.data.set(EXPIRY_KEY, v);
                            m.modified = true;
                        }
                        None => {
                            if m.data.remove(EXPIRY_KEY).is_some() {
                                m.modified = true;
                            }
                        }
                    }
                }
                Op::ResetModified => {
                    session.set_modified(false);
                    m.modified = false;
                }
                Op::ExpiryAnswers => {
                    let age = session.get_expiry_age();
                    let date = session.get_expiry_date();
                    let close = session.get_expire_at_browser_close();
                    m.touch();
                    let e = m.expiry();
                    let cookie_age = m.settings.cookie_age;
                    let want_age = django::expiry_age(e, cookie_age, now);
                    let want_date = django::expiry_date(e, cookie_age, now);
                    let want_close =
                        django::expire_at_browser_close(e, m.settings.expire_at_browser_close);
                    check!(want_age.is(age), "age {age:?}, model {want_age:?}");
                    check!(date == want_date, "date {date:?}, model {want_date:?}");
                    check!(
                        close == want_close,
                        "browser close {close}, model {want_close}"
                    );
                }
                Op::Advance(s) => clock.advance(TimeDelta::seconds(*s)),
                Op::Flush | Op::CycleKey | Op::EndRequest => unreachable!("handled above"),
            }
        }
    }
    let script = shared.borrow();
    let m = &script.model;
    check!(
        session.accessed() == m.accessed,
        "accessed {}, model {}",
        session.accessed(),
        m.accessed
    );
    check!(
        session.modified() == m.modified,
        "modified {}, model {}",
        session.modified(),
        m.modified
    );
    check!(
        session.is_empty() == m.is_empty(),
        "is_empty {}, model {}",
        session.is_empty(),
        m.is_empty()
    );
    let key = session.session_key();
    check!(
        key.is_some() == m.key.is_some(),
        "session_key {key:?}, model {:?}",
        m.key.map(|i| &m.keys[i])
    );
    if let (Some(key), Some(id)) = (&key, m.key) {
        check!(
            *key == m.keys[id],
            "session_key {key}, model {}",
            m.keys[id]
        );
    }
    let items = session.peek_items();
    check!(
        items == m.visible(),
        "items {items:?}, model {:?}",
        m.visible()
    );
    Ok(())
}

/// Records a key the session just got: new for a store (never handed out before), or, for
/// signed cookies, the same cookie as before when the same data was signed at the same second.
fn new_key(m: &mut Model, key: &str) -> Result<usize, String> {
    if let Some(id) = m.keys.iter().position(|k| k == key) {
        check!(m.signed, "the store handed out the key {key} twice");
        return Ok(id);
    }
    if !m.signed {
        check!(
            key.len() == 32
                && key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
            "a new key must be 32 × [a-z0-9]: {key:?}"
        );
    }
    m.keys.push(key.to_owned());
    Ok(m.keys.len() - 1)
}

/// The `Set-Cookie` values of a response.
fn set_cookies(res: &actix_web::dev::ServiceResponse) -> Vec<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .map(|v| v.to_str().expect("ASCII").to_owned())
        .collect()
}

/// The model's `process_response`, compared with the response; then the browser keeps what
/// it was given and the saved session is checked straight in the store.
async fn end_request(
    shared: &Shared,
    had_cookie: bool,
    cookies: &[String],
    backend: &SessionBackend,
) -> Result<(), String> {
    let Some(StoredCheck {
        value,
        want,
        now,
        cookie_age,
    }) = process_response(shared, had_cookie, cookies)?
    else {
        return Ok(());
    };
    // Straight from the store (or the cookie): the model's data, in order, while it lives.
    let loaded = match backend {
        SessionBackend::Store(store) => store
            .load(&value, now)
            .await
            .map_err(|e| format!("load: {e}"))?
            .map(|record| record.data),
        SessionBackend::SignedCookies(cookies) => cookies.load(&value, cookie_age, now).ok(),
    };
    // Compared as lists of entries: a map's equality would not see the order.
    let loaded: Option<Vec<(String, Value)>> = loaded.map(|data| data.into_iter().collect());
    let want: Option<Vec<(String, Value)>> = want.map(|data| data.into_iter().collect());
    check!(loaded == want, "the store gives {loaded:?}, model {want:?}");
    Ok(())
}

/// After a save: what the store (or the cookie) must give back.
struct StoredCheck {
    /// The cookie's value: the session key, or the signed data.
    value: String,
    /// The model's data, or `None` when the model says the session has already expired.
    want: Option<Map<String, Value>>,
    now: DateTime<Utc>,
    cookie_age: i64,
}

/// What the model says `process_response` does, checked against the `Set-Cookie` headers.
fn process_response(
    shared: &Shared,
    had_cookie: bool,
    cookies: &[String],
) -> Result<Option<StoredCheck>, String> {
    let mut script = shared.borrow_mut();
    let now = script.clock.now();
    let m = &mut script.model;
    let empty = m.is_empty();
    if had_cookie && empty {
        check!(cookies.len() == 1, "one deletion cookie, got {cookies:?}");
        check!(
            cookies[0].starts_with("sessionid=\"\"; expires=Thu, 01 Jan 1970"),
            "{cookies:?}"
        );
        m.browser = None;
        return Ok(None);
    }
    if !((m.modified || m.settings.save_every_request) && !empty) {
        check!(cookies.is_empty(), "nothing to save, yet {cookies:?}");
        return Ok(None);
    }
    m.touch();
    let e = m.expiry();
    let max_age = (!django::expire_at_browser_close(e, m.settings.expire_at_browser_close))
        .then(|| django::expiry_age(e, m.settings.cookie_age, now).int());
    check!(cookies.len() == 1, "one session cookie, got {cookies:?}");
    let cookie = &cookies[0];
    let value = cookie
        .strip_prefix("sessionid=")
        .and_then(|rest| rest.split(';').next())
        .ok_or(format!("not a session cookie: {cookie}"))?;
    let got_max_age = cookie
        .split("; ")
        .find_map(|attr| attr.strip_prefix("Max-Age="))
        .map(|v| v.parse::<i64>().expect("a number"));
    check!(
        got_max_age == max_age,
        "Max-Age {got_max_age:?}, model {max_age:?}: {cookie}"
    );
    let id = match m.key {
        Some(id) if !m.signed => {
            check!(
                m.keys[id] == value,
                "an update keeps the key: {value} vs {}",
                m.keys[id]
            );
            id
        }
        _ => new_key(m, value)?,
    };
    m.key_pending = false;
    let saved = m.saved_now(now);
    m.saved.insert(id, saved.clone());
    m.key = Some(id);
    m.browser = Some(id);
    let want = m.alive(&saved, now).then(|| saved.data.to_map());
    if want.is_none() && m.renews_expired {
        // `end_request` loads it to check, and the file engine's load deletes an expired file.
        m.saved.remove(&id);
    }
    Ok(Some(StoredCheck {
        value: value.to_owned(),
        want,
        now,
        cookie_age: m.settings.cookie_age,
    }))
}

/// One case: the operations, split into requests at `EndRequest`, always ending with one more
/// request that reads the session back.
async fn run_case(
    backend: &SessionBackend,
    clock: &Arc<FakeClock>,
    settings: &CaseSettings,
    mut ops: Vec<Op>,
) -> Result<(), String> {
    clock.set(Utc::now().trunc_subsecs(0));
    let mut session_settings = SessionSettings::django_defaults("/");
    session_settings.cookie_age = settings.cookie_age;
    session_settings.expire_at_browser_close = settings.expire_at_browser_close;
    session_settings.save_every_request = settings.save_every_request;
    let engine = Arc::new(SessionEngine {
        settings: session_settings,
        backend: backend.clone(),
        clock: clock.clone(),
    });
    let signed = matches!(backend, SessionBackend::SignedCookies(_));
    let renews_expired = matches!(backend, SessionBackend::Store(AnyStore::File(_)));
    let shared: Shared = Rc::new(RefCell::new(Script {
        ops: Vec::new(),
        model: Model::new(signed, renews_expired, settings.clone()),
        clock: clock.clone(),
        failure: None,
    }));
    let app = actix_test::init_service(
        App::new().app_data(shared.clone()).service(
            web::resource("/")
                .wrap(SessionMiddleware::new(engine))
                .to(view),
        ),
    )
    .await;
    ops.extend([Op::EndRequest, Op::Keys, Op::EndRequest]);
    let requests: Vec<Vec<Op>> = ops
        .split(|op| matches!(op, Op::EndRequest))
        .map(<[Op]>::to_vec)
        .collect();
    for (n, request_ops) in requests.into_iter().enumerate() {
        let cookie = {
            let mut script = shared.borrow_mut();
            script.ops = request_ops;
            let now = script.clock.now();
            script.model.start_request(now);
            script.model.browser.map(|id| script.model.keys[id].clone())
        };
        let mut req = actix_test::TestRequest::get().uri("/");
        if let Some(cookie) = &cookie {
            req = req.insert_header((COOKIE, format!("sessionid={cookie}")));
        }
        let res = actix_test::call_service(&app, req.to_request()).await;
        let status = res.status();
        let cookies = set_cookies(&res);
        let body = actix_test::read_body(res).await;
        if let Some(failure) = shared.borrow_mut().failure.take() {
            return Err(format!("request {n}: {failure}"));
        }
        check!(
            status == 200,
            "request {n}: status {status}: {}",
            String::from_utf8_lossy(&body)
        );
        end_request(&shared, cookie.is_some(), &cookies, backend)
            .await
            .map_err(|e| format!("end of request {n}: {e}"))?;
    }
    Ok(())
}

/// Runs the property on one engine: `CASES` random cases, shrunk on failure.
fn run_engine(name: &str, limits: Limits, open: impl AsyncFnOnce() -> (SessionBackend, Guards)) {
    let system = actix_web::rt::System::new();
    let (backend, guards) = system.block_on(open());
    let clock = Arc::new(FakeClock::at_wall_clock());
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        case_settings(),
        prop::collection::vec(op(limits), 0..MAX_OPS),
    );
    let result = runner.run(&strategy, |(settings, ops)| {
        system
            .block_on(run_case(&backend, &clock, &settings, ops))
            .map_err(TestCaseError::fail)
    });
    drop(guards);
    if let Err(error) = result {
        panic!("{name}: {error}");
    }
}

/// What must outlive an engine's test: a PostgreSQL schema, a Redis prefix, a directory.
#[derive(Default)]
struct Guards {
    _schema: Option<PgSchema>,
    _redis: Option<RedisPrefix>,
    _dir: Option<tempfile::TempDir>,
}

const WALL_TTL: Limits = Limits {
    short_expiries: false,
};
const ANY_TTL: Limits = Limits {
    short_expiries: true,
};

async fn sqlite() -> DbStore {
    let env = std::collections::BTreeMap::from([(
        "APP__DATABASE__URL".to_owned(),
        "sqlite::memory:".to_owned(),
    )]);
    let settings = Settings::load_with_env(&config_dir(), "default", env).expect("settings");
    DbStore::connect(&settings).await.expect("SQLite in memory")
}

fn redis(prefix: &RedisPrefix) -> RedisStore {
    let mut settings = RedisSettings::new(redis_url());
    settings.key_prefix = prefix.prefix.clone();
    RedisStore::connect(&settings).expect("Redis settings")
}

fn codec() -> SessionCodec {
    SessionCodec::new(SECRET, &[])
}

#[test]
fn the_db_engine_on_sqlite_follows_the_model() {
    run_engine("db (SQLite)", ANY_TTL, async || {
        let store = AnyStore::Db(sqlite().await);
        (SessionBackend::Store(store), Guards::default())
    });
}

#[test]
fn the_db_engine_on_postgres_follows_the_model() {
    run_engine("db (PostgreSQL)", ANY_TTL, async || {
        let schema = PgSchema::create().await;
        let store = PgStore::connect(&schema.url, 2, codec())
            .await
            .expect("PostgreSQL");
        let guards = Guards {
            _schema: Some(schema),
            ..Guards::default()
        };
        (SessionBackend::Store(AnyStore::Postgres(store)), guards)
    });
}

#[test]
fn the_file_engine_follows_the_model() {
    run_engine("file", ANY_TTL, async || {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = FileStore::open(dir.path(), "sessionid", codec()).expect("the directory");
        let guards = Guards {
            _dir: Some(dir),
            ..Guards::default()
        };
        (SessionBackend::Store(AnyStore::File(store)), guards)
    });
}

#[test]
fn the_cache_engine_in_memory_follows_the_model() {
    run_engine("cache (memory)", WALL_TTL, async || {
        let store = AnyStore::Memory(MemoryStore::new(64 * 1024 * 1024));
        (SessionBackend::Store(store), Guards::default())
    });
}

#[test]
fn the_cache_engine_on_redis_follows_the_model() {
    run_engine("cache (Redis)", WALL_TTL, async || {
        let prefix = RedisPrefix::new();
        let store = AnyStore::Redis(redis(&prefix));
        let guards = Guards {
            _redis: Some(prefix),
            ..Guards::default()
        };
        (SessionBackend::Store(store), guards)
    });
}

#[test]
fn the_cached_db_engine_over_memory_follows_the_model() {
    run_engine("cached_db (SQLite + memory)", WALL_TTL, async || {
        let db = AnyStore::Db(sqlite().await);
        let cache = AnyStore::Memory(MemoryStore::new(64 * 1024 * 1024));
        let store = AnyStore::CachedDb(Arc::new(CachedDbStore::new(db, cache)));
        (SessionBackend::Store(store), Guards::default())
    });
}

#[test]
fn the_cached_db_engine_over_redis_follows_the_model() {
    run_engine("cached_db (SQLite + Redis)", WALL_TTL, async || {
        let prefix = RedisPrefix::new();
        let db = AnyStore::Db(sqlite().await);
        let cache = AnyStore::Redis(redis(&prefix));
        let store = AnyStore::CachedDb(Arc::new(CachedDbStore::new(db, cache)));
        let guards = Guards {
            _redis: Some(prefix),
            ..Guards::default()
        };
        (SessionBackend::Store(store), guards)
    });
}

#[test]
fn the_signed_cookies_engine_follows_the_model() {
    run_engine("signed_cookies", ANY_TTL, async || {
        let cookies = SignedCookies::new(SECRET, &[]);
        (SessionBackend::SignedCookies(cookies), Guards::default())
    });
}

/// The case the random runs found only now and then: a signed cookie with no expiry of its
/// own, read back exactly SESSION_COOKIE_AGE seconds after it was signed, still loads.
#[test]
fn a_signed_cookie_exactly_as_old_as_the_cookie_age_follows_the_model() {
    let system = actix_web::rt::System::new();
    let backend = SessionBackend::SignedCookies(SignedCookies::new(SECRET, &[]));
    let clock = Arc::new(FakeClock::at_wall_clock());
    let settings = CaseSettings {
        cookie_age: 1_209_600,
        expire_at_browser_close: false,
        save_every_request: false,
    };
    let ops = vec![
        Op::Insert(0, Val::Json(Value::Null)),
        Op::EndRequest,
        Op::Advance(settings.cookie_age),
    ];
    let outcome = system.block_on(run_case(&backend, &clock, &settings, ops));
    assert_eq!(outcome, Ok(()));
}

/// The store API as a reader of foreign data: values written under the prefix by someone else
/// read as an empty session (or nothing), never as an error.
#[test]
fn foreign_values_in_redis_read_as_empty_sessions() {
    let system = actix_web::rt::System::new();
    let prefix = RedisPrefix::new();
    let store = redis(&prefix);
    let client = redis::Client::open(redis_url()).expect("Redis URL");
    let conn = RefCell::new(client.get_connection().expect("Redis runs"));
    let key = "foreignforeignforeignforeign0001";
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let values = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        Just(br#"{"e":"9999-12-31T23:59:59Z","d":{"a":1}}"#.to_vec()),
        Just(br#"{"e":"1970-01-01T00:00:00Z","d":{}}"#.to_vec()),
        Just(br#"{"e":"not a date","d":{"a":1}}"#.to_vec()),
        Just(br#"{"d":{"a":1}}"#.to_vec()),
    ];
    let result = runner.run(&values, |bytes| {
        let _: () = redis::cmd("SET")
            .arg(format!("{}{key}", prefix.prefix))
            .arg(&bytes)
            .arg("EX")
            .arg(60)
            .query(&mut *conn.borrow_mut())
            .expect("SET");
        let loaded = system
            .block_on(store.load(key, Utc::now()))
            .map_err(|e| TestCaseError::fail(format!("load failed: {e}")))?;
        match sessionlab::session::store::decoders::redis_value(&bytes) {
            Ok((expire, data)) if expire > Utc::now() => {
                prop_assert_eq!(loaded.map(|r| r.data), Some(data));
            }
            Ok(_) => prop_assert!(loaded.is_none()),
            Err(_) => prop_assert_eq!(loaded.map(|r| r.data), Some(Default::default())),
        }
        Ok(())
    });
    drop(prefix);
    result.unwrap();
}
