//! The Django-faithful session engine: the `request.session` API under Django's names,
//! its expiry rules, its key format, its middleware, and the stores sessions live in.

pub mod cookie;
mod datetime_text;
pub mod expiry;
pub mod key;
pub mod middleware;
pub mod signed_cookies;
mod state;
pub mod store;

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

pub use expiry::{Clock, Expiry, ExpiryAge, FakeClock, SharedClock, SystemClock};
pub use middleware::SessionMiddleware;
pub use signed_cookies::SignedCookies;
pub use state::CookiePlan;
pub use store::{
    AnyStore, Loaded, SaveError, SaveMode, SessionData, SessionRecord, Store, StoreError,
};

use crate::config::SessionSettings;
use crate::error::AppError;
use crate::json_object::{Fields, StructFields};
use expiry::EXPIRY_KEY;
use state::{Fetched, SessionState};

/// Django's `TEST_COOKIE_NAME`.
pub const TEST_COOKIE_NAME: &str = "testcookie";
/// Django's `TEST_COOKIE_VALUE`.
pub const TEST_COOKIE_VALUE: &str = "worked";

/// How many times `create()` draws a key before giving up (a 165-bit key never collides; a
/// store that keeps saying "exists" is broken).
const CREATE_ATTEMPTS: usize = 8;

/// Where a lesson's session data lives.
#[derive(Clone)]
pub enum SessionBackend {
    /// A server-side store; the cookie carries only the key.
    Store(AnyStore),
    /// `signed_cookies`: the cookie carries the signed data itself.
    SignedCookies(SignedCookies),
}

impl SessionBackend {
    /// The backend's name for logs and error pages.
    pub fn describe(&self) -> &'static str {
        match self {
            SessionBackend::Store(store) => store.describe(),
            SessionBackend::SignedCookies(_) => "signed_cookies",
        }
    }
}

/// Everything a lesson's sessions run with: its settings, its backend and the clock.
pub struct SessionEngine {
    /// The effective session settings.
    pub settings: SessionSettings,
    /// Where the sessions live.
    pub backend: SessionBackend,
    /// Where "now" comes from.
    pub clock: SharedClock,
}

/// Django's `KeyError`: the key is not in the session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("KeyError: {0:?} is not in the session")]
pub struct KeyError(pub String);

/// Why saving a session failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Django's `SessionInterrupted`: the session was deleted by another request meanwhile.
    #[error(
        "the session was deleted (by a concurrent request, or by logging out) before this request could save it"
    )]
    Interrupted,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The operating system had no randomness for a key.
    #[error("no randomness available for a session key: {0}")]
    Random(String),
    /// The signed cookie would be larger than browsers keep.
    #[error(
        "the session is too large for the signed_cookies engine: its cookie would be {size} bytes, and browsers keep at most {max} (store less in the session, or use a server-side engine)"
    )]
    CookieTooLarge {
        /// The cookie's `name=value` length.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The store cannot keep a session this large ([`SaveError::TooLarge`]).
    #[error("{0}")]
    TooLarge(String),
}

impl From<SaveError> for SessionError {
    fn from(e: SaveError) -> Self {
        match e {
            SaveError::Missing => SessionError::Interrupted,
            SaveError::Store(e) => SessionError::Store(e),
            SaveError::KeyExists => SessionError::Interrupted,
            SaveError::TooLarge(message) => SessionError::TooLarge(message),
        }
    }
}

/// `request.session`: a handle on this request's session. Cheap to clone; every clone is the
/// same session. Extracting it loads the session from its store (503 if the store is down).
#[derive(Clone)]
pub struct Session(Rc<RefCell<SessionState>>);

/// The state of a session at one moment, as lesson pages and JSON answers show it. Serialized
/// as `keys` (from the items, in their order), then the fields below in order.
#[derive(Debug, Clone)]
pub struct SessionSnapshot {
    /// `items()`, in insertion order: the data when the snapshot was taken, shared with the
    /// session rather than copied (a change to the session after it changes a copy).
    pub items: Rc<SessionData>,
    /// `get_session_cookie_age()`.
    pub cookie_age: i64,
    /// `get_expiry_age()`.
    pub expiry_age: ExpiryAge,
    /// `get_expiry_date()`.
    pub expiry_date: DateTime<Utc>,
    /// `get_expire_at_browser_close()`.
    pub expire_at_browser_close: bool,
    /// `test_cookie_worked()`.
    pub test_cookie_worked: bool,
    /// The engine's configuration name (`db`).
    pub engine: &'static str,
}

impl SessionSnapshot {
    /// `keys()`, in insertion order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.items.keys().map(String::as_str)
    }

    /// Hands the fields to `fields` in the order they are serialized: `keys` (from the
    /// items), then the items and the rest.
    pub fn write_fields<F: Fields>(&self, fields: &mut F) -> Result<(), F::Error> {
        /// The keys written straight from the items, not copied out of them first.
        struct Keys<'a>(&'a SessionSnapshot);
        impl Serialize for Keys<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.keys())
            }
        }

        /// The items as `[key, value]` pairs, as Python's `list(items())` is written.
        struct Items<'a>(&'a SessionData);
        impl Serialize for Items<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.iter())
            }
        }

        fields.field("keys", &Keys(self))?;
        fields.field("items", &Items(&self.items))?;
        fields.field("cookie_age", &self.cookie_age)?;
        fields.field("expiry_age", &self.expiry_age)?;
        fields.field("expiry_date", &datetime_text::iso8601(self.expiry_date))?;
        fields.field("expire_at_browser_close", &self.expire_at_browser_close)?;
        fields.field("test_cookie_worked", &self.test_cookie_worked)?;
        fields.field("engine", self.engine)
    }
}

impl Serialize for SessionSnapshot {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;

        let mut fields = StructFields(serializer.serialize_struct("SessionSnapshot", 8)?);
        self.write_fields(&mut fields)?;
        fields.0.end()
    }
}

/// Whether `data` holds Django's test cookie (`test_cookie_worked()`).
fn holds_test_cookie(data: &SessionData) -> bool {
    data.get(TEST_COOKIE_NAME).and_then(Value::as_str) == Some(TEST_COOKIE_VALUE)
}

impl Session {
    pub(crate) fn new(engine: Arc<SessionEngine>, cookie_value: Option<String>) -> Self {
        Session(Rc::new(RefCell::new(SessionState::new(
            engine,
            cookie_value,
        ))))
    }

    /// Asks the store for the request's session if that was not done yet.
    pub(crate) async fn ensure_loaded(&self) -> Result<(), StoreError> {
        let (backend, key, now, cookie_age) = {
            let state = self.0.borrow();
            match state.key_to_fetch() {
                Some(key) => (
                    state.backend().clone(),
                    key.to_owned(),
                    state.now(),
                    state.engine.settings.cookie_age,
                ),
                None => return Ok(()),
            }
        };
        let fetched = match backend {
            SessionBackend::Store(store) => match store.load_for_request(&key, now).await? {
                Loaded::Live(record) => {
                    self.0.borrow_mut().stored_expire_date = Some(record.expire_date);
                    Fetched::Found(record.data)
                }
                Loaded::Missing => {
                    tracing::debug!("session cookie names no live session; starting a new one");
                    Fetched::Missing
                }
                Loaded::Expired => Fetched::Expired,
            },
            SessionBackend::SignedCookies(cookies) => match cookies.load(&key, cookie_age, now) {
                Ok(data) => Fetched::Found(data),
                Err(error) => {
                    tracing::info!(
                        target: "sessionlab::security",
                        %error,
                        "signed session cookie not accepted; starting a new session"
                    );
                    Fetched::Reset
                }
            },
        };
        let mut state = self.0.borrow_mut();
        state.found_live = matches!(fetched, Fetched::Found(_));
        state.fetched = fetched;
        Ok(())
    }

    /// Whether the request's cookie named a live session, which the store (or, for signed
    /// cookies, the cookie itself) gave this request: false without a cookie, for a key that
    /// names no session or one that expired, and for a signed cookie that was refused (which
    /// still leaves a key, as Django's signed-cookie engine leaves one).
    pub fn found_live_session(&self) -> bool {
        self.0.borrow().found_live
    }

    /// `request.session.get(key)`.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.0.borrow_mut().data().get(key).cloned()
    }

    /// `request.session.get(key, default)`.
    pub fn get_or(&self, key: &str, default: impl Into<Value>) -> Value {
        self.get(key).unwrap_or_else(|| default.into())
    }

    /// `request.session[key] = value`.
    pub fn insert(&self, key: impl Into<String>, value: impl Into<Value>) {
        self.0.borrow_mut().set(key.into(), value.into());
    }

    /// `del request.session[key]`: a missing key is a [`KeyError`] and changes nothing.
    pub fn remove(&self, key: &str) -> Result<Value, KeyError> {
        let mut state = self.0.borrow_mut();
        let value = state
            .data_mut()
            .shift_remove(key)
            .ok_or_else(|| KeyError(key.to_owned()))?;
        state.modified = true;
        Ok(value)
    }

    /// `key in request.session`.
    pub fn contains(&self, key: &str) -> bool {
        self.0.borrow_mut().data().contains_key(key)
    }

    /// `request.session.keys()`, in insertion order.
    pub fn keys(&self) -> Vec<String> {
        self.0.borrow_mut().data().keys().cloned().collect()
    }

    /// `request.session.values()`, in insertion order.
    pub fn values(&self) -> Vec<Value> {
        self.0.borrow_mut().data().values().cloned().collect()
    }

    /// `request.session.items()`, in insertion order.
    pub fn items(&self) -> Vec<(String, Value)> {
        self.0
            .borrow_mut()
            .data()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// `request.session.pop(key)`: a missing key is a [`KeyError`].
    pub fn pop(&self, key: &str) -> Result<Value, KeyError> {
        self.pop_if_present(key)
            .ok_or_else(|| KeyError(key.to_owned()))
    }

    /// `request.session.pop(key, default)`: modified only if the key was there.
    pub fn pop_or(&self, key: &str, default: impl Into<Value>) -> Value {
        self.pop_if_present(key).unwrap_or_else(|| default.into())
    }

    /// `request.session.pop(key, default)` that says whether the key was there: `None` where
    /// Django returns the default.
    ///
    /// Django's `pop` runs `self.modified = self.modified or key in self._session`: `modified`
    /// is read before the data loads, so when the load itself started the session afresh (a
    /// rejected signed cookie, an expired session file) and the key was not there, the session
    /// ends up unmodified and the response sets no cookie.
    pub fn pop_if_present(&self, key: &str) -> Option<Value> {
        let mut state = self.0.borrow_mut();
        let modified_before_load = state.modified;
        let value = if state.data().contains_key(key) {
            state.data_mut().shift_remove(key)
        } else {
            None
        };
        state.modified = modified_before_load || value.is_some();
        value
    }

    /// `request.session.setdefault(key, value)`: returns the existing value, or stores and
    /// returns `value` (only then is the session modified).
    pub fn setdefault(&self, key: &str, value: impl Into<Value>) -> Value {
        let mut state = self.0.borrow_mut();
        if let Some(existing) = state.data().get(key) {
            return existing.clone();
        }
        let value = value.into();
        state.set(key.to_owned(), value.clone());
        value
    }

    /// `request.session.update(pairs)`: always marks the session modified, even when empty.
    pub fn update<K: Into<String>, V: Into<Value>>(&self, pairs: impl IntoIterator<Item = (K, V)>) {
        let mut state = self.0.borrow_mut();
        let data = state.data_mut();
        for (k, v) in pairs {
            data.insert(k.into(), v.into());
        }
        state.modified = true;
    }

    /// `request.session.clear()`.
    pub fn clear(&self) {
        self.0.borrow_mut().clear();
    }

    /// `request.session.is_empty()`.
    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }

    /// `request.session.modified`.
    pub fn modified(&self) -> bool {
        self.0.borrow().modified
    }

    /// `request.session.modified = value`: `true` forces a save (and a fresh cookie).
    pub fn set_modified(&self, value: bool) {
        self.0.borrow_mut().modified = value;
    }

    /// `request.session.accessed`.
    pub fn accessed(&self) -> bool {
        self.0.borrow().accessed
    }

    /// `request.session.session_key`: `None` until the session has been saved under a key.
    pub fn session_key(&self) -> Option<String> {
        self.0.borrow().key.clone()
    }

    /// `request.session.set_expiry(value)`.
    pub fn set_expiry(&self, expiry: Expiry) {
        let mut state = self.0.borrow_mut();
        let now = state.now();
        match expiry.stored_value(now) {
            Some(value) => state.set(EXPIRY_KEY.to_owned(), value),
            None => {
                // `del self["_session_expiry"]`, with the KeyError swallowed.
                if state.data_mut().shift_remove(EXPIRY_KEY).is_some() {
                    state.modified = true;
                }
            }
        }
    }

    /// `request.session.get_session_cookie_age()`: `SESSION_COOKIE_AGE`.
    pub fn get_session_cookie_age(&self) -> i64 {
        self.0.borrow().engine.settings.cookie_age
    }

    /// `request.session.get_expiry_age()`: seconds from now until the session expires.
    pub fn get_expiry_age(&self) -> ExpiryAge {
        self.0.borrow_mut().expiry_age()
    }

    /// `request.session.get_expiry_date()`.
    pub fn get_expiry_date(&self) -> DateTime<Utc> {
        self.0.borrow_mut().expiry_date()
    }

    /// `request.session.get_expire_at_browser_close()`.
    pub fn get_expire_at_browser_close(&self) -> bool {
        self.0.borrow_mut().expire_at_browser_close()
    }

    /// `request.session.set_test_cookie()`.
    pub fn set_test_cookie(&self) {
        self.insert(TEST_COOKIE_NAME, TEST_COOKIE_VALUE);
    }

    /// `request.session.test_cookie_worked()`.
    pub fn test_cookie_worked(&self) -> bool {
        holds_test_cookie(self.0.borrow_mut().data())
    }

    /// `request.session.delete_test_cookie()`: a [`KeyError`] when there is none.
    pub fn delete_test_cookie(&self) -> Result<(), KeyError> {
        self.remove(TEST_COOKIE_NAME).map(|_| ())
    }

    /// `request.session.flush()`: empties the session, deletes it from the store and drops the
    /// key, so the browser's cookie is deleted and the old key is dead.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (backend, key) = {
            let mut state = self.0.borrow_mut();
            state.clear();
            (state.backend().clone(), state.take_key())
        };
        if let (SessionBackend::Store(store), Some(key)) = (backend, key) {
            store.delete(&key).await?;
        }
        Ok(())
    }

    /// `request.session.cycle_key()`: the same data under a new key; the old key is deleted.
    pub async fn cycle_key(&self) -> Result<(), SessionError> {
        let old_key = {
            let mut state = self.0.borrow_mut();
            state.data();
            state.take_key()
        };
        self.create().await?;
        let backend = self.0.borrow().backend().clone();
        if let (SessionBackend::Store(store), Some(old_key)) = (backend, old_key) {
            store.delete(&old_key).await?;
        }
        Ok(())
    }

    /// `request.session.clear_expired()`: removes every expired session from this store.
    pub async fn clear_expired(&self) -> Result<u64, StoreError> {
        let (backend, now) = {
            let state = self.0.borrow();
            (state.backend().clone(), state.now())
        };
        match backend {
            SessionBackend::Store(store) => store.clear_expired(now).await,
            // Signed cookies expire by themselves; Django's clear_expired does nothing here.
            SessionBackend::SignedCookies(_) => Ok(0),
        }
    }

    /// Django's `create()`: saves the data under a fresh key, drawing again on a collision.
    /// For signed cookies the "key" is the signed data itself.
    async fn create(&self) -> Result<(), SessionError> {
        let backend = self.0.borrow().backend().clone();
        let store = match backend {
            SessionBackend::Store(store) => store,
            SessionBackend::SignedCookies(cookies) => return self.sign_into_key(&cookies),
        };
        for _ in 0..CREATE_ATTEMPTS {
            let key = key::new_session_key().map_err(|e| SessionError::Random(e.to_string()))?;
            let record = self.0.borrow_mut().record(key.clone());
            match store.save(&record, SaveMode::Create).await {
                Ok(()) => {
                    let mut state = self.0.borrow_mut();
                    state.set_key(key);
                    state.modified = true;
                    return Ok(());
                }
                Err(SaveError::KeyExists) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        let error = StoreError::new(
            store.describe(),
            anyhow::anyhow!("the store reported every new session key as taken"),
        );
        crate::session::store::outages::failed(
            store.identity(),
            crate::session::store::outages::Access::Write,
            &error,
        );
        Err(SessionError::Store(error))
    }

    /// The signed-cookie engine's `save()`: the cookie value becomes the signed data.
    fn sign_into_key(&self, cookies: &SignedCookies) -> Result<(), SessionError> {
        let mut state = self.0.borrow_mut();
        let now = state.now();
        let value = cookies.encode(state.data(), now);
        let size = state.engine.settings.cookie_name.len() + 1 + value.len();
        if size > signed_cookies::MAX_COOKIE_BYTES {
            return Err(SessionError::CookieTooLarge {
                size,
                max: signed_cookies::MAX_COOKIE_BYTES,
            });
        }
        state.set_key(value);
        state.modified = true;
        Ok(())
    }

    /// Django's `save()`: creates when there is no key, otherwise updates (and reports a
    /// session deleted meanwhile as [`SessionError::Interrupted`]).
    pub(crate) async fn save(&self) -> Result<(), SessionError> {
        let (backend, key) = {
            let state = self.0.borrow();
            (state.backend().clone(), state.key.clone())
        };
        let store = match backend {
            SessionBackend::Store(store) => store,
            SessionBackend::SignedCookies(cookies) => return self.sign_into_key(&cookies),
        };
        let Some(key) = key else {
            return self.create().await;
        };
        let record = self.0.borrow_mut().record(key);
        store.save(&record, SaveMode::Update).await?;
        Ok(())
    }

    /// The session as lesson pages show it (this reads the session, as a template would):
    /// `items()`, `get_expiry_age()`, `get_expiry_date()` … all at one `now`, read in one go.
    pub fn snapshot(&self) -> SessionSnapshot {
        let mut state = self.0.borrow_mut();
        let now = state.now();
        let settings = &state.engine.settings;
        let (cookie_age, at_browser_close) =
            (settings.cookie_age, settings.expire_at_browser_close);
        let engine = settings.engine.name();
        let items = state.shared_data();
        let expiry = expiry::StoredExpiry::from_value(items.get(expiry::EXPIRY_KEY));
        let test_cookie_worked = holds_test_cookie(&items);
        SessionSnapshot {
            cookie_age,
            expiry_age: expiry.age(cookie_age, now),
            expiry_date: expiry.date(cookie_age, now),
            expire_at_browser_close: expiry.at_browser_close(at_browser_close),
            test_cookie_worked,
            engine,
            items,
        }
    }

    /// What the middleware will do with the session cookie when this response leaves (unless
    /// it is a 5xx), for a request that did (`had_cookie`) or did not carry one. Reading the
    /// plan changes nothing.
    pub fn planned_cookie(&self, had_cookie: bool) -> CookiePlan {
        self.0.borrow().plan(had_cookie)
    }

    /// The expiry date a save at the end of this request would write (`get_expiry_date()`),
    /// read without marking the session accessed.
    pub fn planned_expire_date(&self) -> DateTime<Utc> {
        self.0.borrow().peek_expiry_date()
    }

    /// The session's items as the view would see them, read without marking the session
    /// accessed (so looking does not add `Vary: Cookie`).
    pub fn peek_items(&self) -> Vec<(String, Value)> {
        let state = self.0.borrow();
        state
            .peek()
            .data
            .map(|data| data.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    /// The expiry date the store holds for this request's session, if it was loaded from a
    /// store.
    pub fn stored_expire_date(&self) -> Option<DateTime<Utc>> {
        self.0.borrow().stored_expire_date
    }

    /// The session's settings.
    pub fn settings(&self) -> SessionSettings {
        self.0.borrow().engine.settings.clone()
    }

    /// The backend's description (`db (SQLite)`, `signed_cookies` …).
    pub fn backend_name(&self) -> &'static str {
        self.0.borrow().engine.backend.describe()
    }

    pub(crate) fn state(&self) -> std::cell::RefMut<'_, SessionState> {
        self.0.borrow_mut()
    }

    pub(crate) fn engine(&self) -> Arc<SessionEngine> {
        self.0.borrow().engine.clone()
    }
}

impl FromRequest for Session {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Session, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = req.extensions().get::<Session>().cloned();
        Box::pin(async move {
            let session = session.ok_or(AppError::NoSessionMiddleware)?;
            session.ensure_loaded().await?;
            Ok(session)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::fixtures::load;
    use crate::session::store::DbStore;
    use chrono::{TimeDelta, TimeZone};
    use serde_json::json;

    async fn engine() -> (Arc<SessionEngine>, Arc<FakeClock>) {
        let settings = load("default", &[("APP__DATABASE__URL", "sqlite::memory:")]).unwrap();
        let clock = Arc::new(FakeClock::new(
            Utc.with_ymd_and_hms(2026, 11, 21, 23, 56, 58).unwrap(),
        ));
        let engine = SessionEngine {
            settings: SessionSettings::django_defaults("/"),
            backend: SessionBackend::Store(AnyStore::Db(
                DbStore::connect(&settings).await.unwrap(),
            )),
            clock: clock.clone(),
        };
        (Arc::new(engine), clock)
    }

    async fn new_session() -> (Session, Arc<FakeClock>) {
        let (engine, clock) = engine().await;
        (Session::new(engine, None), clock)
    }

    #[actix_web::test]
    async fn a_new_session_is_empty_untouched_and_unmodified() {
        let (s, _) = new_session().await;
        assert!(s.is_empty());
        assert!(!s.accessed());
        assert!(!s.modified());
        assert_eq!(s.get("x"), None);
        assert!(s.accessed(), "any read marks the session accessed");
        assert!(!s.modified());
    }

    #[actix_web::test]
    async fn dict_methods_follow_djangos_flag_rules() {
        let (s, _) = new_session().await;
        assert_eq!(s.setdefault("age", "26"), json!("26"));
        assert!(s.modified(), "setdefault of an absent key modifies");
        s.set_modified(false);
        assert_eq!(s.setdefault("age", "27"), json!("26"));
        assert!(!s.modified(), "setdefault of a present key does not");

        assert_eq!(s.pop_or("missing", 1), json!(1));
        assert!(
            !s.modified(),
            "pop of a missing key with a default does not modify"
        );
        assert_eq!(s.pop("missing"), Err(KeyError("missing".into())));
        assert_eq!(s.pop("age"), Ok(json!("26")));
        assert!(s.modified());

        s.set_modified(false);
        s.update(Vec::<(String, Value)>::new());
        assert!(s.modified(), "update always modifies, even with nothing");

        s.set_modified(false);
        assert_eq!(s.remove("nope"), Err(KeyError("nope".into())));
        assert!(!s.modified(), "a failed del changes nothing");
    }

    #[actix_web::test]
    async fn get_or_gives_the_default_until_the_key_is_set_and_then_the_value() {
        // Arrange
        let (s, _) = new_session().await;
        let before = s.get_or("name", "Guest");

        // Act
        s.insert("name", "Sonam");

        // Assert
        assert_eq!(before, json!("Guest"));
        assert_eq!(s.get_or("name", "Guest"), json!("Sonam"));
        assert!(!s.is_empty(), "a value makes the session not empty");
    }

    #[actix_web::test]
    async fn order_is_insertion_order_and_survives_deletes_and_overwrites() {
        let (s, _) = new_session().await;
        s.update([("a", 1), ("b", 2), ("c", 3), ("d", 4)]);
        s.remove("b").unwrap();
        s.insert("a", 10);
        s.insert("e", 5);
        assert_eq!(s.keys(), ["a", "c", "d", "e"]);
        assert_eq!(s.values(), [json!(10), json!(3), json!(4), json!(5)]);
        assert_eq!(s.items()[0], ("a".to_owned(), json!(10)));
        assert!(s.contains("d") && !s.contains("b"));
    }

    #[actix_web::test]
    async fn a_snapshot_keeps_the_session_as_it_was_when_taken() {
        let (s, _) = new_session().await;
        s.update([("a", 1), ("b", 2)]);
        let before = s.snapshot();
        s.insert("a", 10);
        s.remove("b").unwrap();
        s.set_expiry(Expiry::Seconds(600));
        let after = s.snapshot();
        assert_eq!(before.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(before.items.get("a"), Some(&json!(1)));
        assert_eq!(before.expiry_age, s.get_session_cookie_age());
        assert_eq!(after.keys().collect::<Vec<_>>(), ["a", EXPIRY_KEY]);
        assert_eq!(after.items.get("a"), Some(&json!(10)));
        assert_eq!(after.expiry_age, 600);
        assert_eq!(
            serde_json::to_value(&before).unwrap()["items"],
            json!([["a", 1], ["b", 2]])
        );
        s.clear();
        assert!(s.items().is_empty());
        assert_eq!(after.items.len(), 2, "clear() leaves a snapshot alone");
    }

    #[actix_web::test]
    async fn set_expiry_stores_djangos_values() {
        let (s, clock) = new_session().await;
        let now = clock.now();
        s.set_expiry(Expiry::Seconds(600));
        assert_eq!(s.get(EXPIRY_KEY), Some(json!(600)));
        assert_eq!(s.keys(), [EXPIRY_KEY]);
        assert_eq!(s.get_expiry_age(), 600);
        assert!(
            !s.get_expire_at_browser_close(),
            "set_expiry(600) is a cookie with a lifetime"
        );

        s.set_expiry(Expiry::After(TimeDelta::seconds(120)));
        assert_eq!(s.get(EXPIRY_KEY), Some(json!("2026-11-21T23:58:58+00:00")));
        clock.advance(TimeDelta::milliseconds(1));
        assert_eq!(
            s.get_expiry_age(),
            119,
            "floored: time passed since set_expiry"
        );

        s.set_expiry(Expiry::At(
            (now + TimeDelta::milliseconds(300_500)).fixed_offset(),
        ));
        assert_eq!(s.get_expiry_date(), now + TimeDelta::milliseconds(300_500));

        s.set_expiry(Expiry::Seconds(0));
        assert!(s.get_expire_at_browser_close());
        assert_eq!(s.get_expiry_age(), 1_209_600);

        s.set_expiry(Expiry::Seconds(-10));
        assert_eq!(s.get_expiry_age(), -10);

        s.set_expiry(Expiry::GlobalPolicy);
        assert_eq!(s.get(EXPIRY_KEY), None);
        assert_eq!(s.get_expiry_age(), 1_209_600);
        assert!(
            !s.get_expire_at_browser_close(),
            "back to SESSION_EXPIRE_AT_BROWSER_CLOSE, False by default"
        );
        s.set_modified(false);
        s.set_expiry(Expiry::GlobalPolicy);
        assert!(!s.modified(), "removing an absent expiry changes nothing");
    }

    #[actix_web::test]
    async fn test_cookie_is_a_key_with_the_value_worked() {
        let (s, _) = new_session().await;
        assert!(!s.test_cookie_worked());
        s.set_test_cookie();
        assert_eq!(s.get(TEST_COOKIE_NAME), Some(json!("worked")));
        assert!(s.test_cookie_worked());
        s.delete_test_cookie().unwrap();
        assert_eq!(s.delete_test_cookie(), Err(KeyError("testcookie".into())));
        s.insert(TEST_COOKIE_NAME, "other");
        assert!(!s.test_cookie_worked());
    }

    #[actix_web::test]
    async fn save_creates_then_updates_and_flush_forgets_the_key() {
        let (s, _) = new_session().await;
        s.insert("name", "Sonam");
        s.save().await.unwrap();
        let key = s.session_key().unwrap();
        assert_eq!(key.len(), 32);
        s.insert("lname", "Jha");
        s.save().await.unwrap();
        assert_eq!(
            s.session_key().as_deref(),
            Some(key.as_str()),
            "an update keeps the key"
        );

        let engine = s.engine();
        let reloaded = Session::new(engine.clone(), Some(key.clone()));
        reloaded.ensure_loaded().await.unwrap();
        assert_eq!(reloaded.keys(), ["name", "lname"]);

        reloaded.flush().await.unwrap();
        assert!(reloaded.is_empty());
        assert_eq!(reloaded.session_key(), None);
        let SessionBackend::Store(store) = &engine.backend else {
            unreachable!("a db engine")
        };
        assert!(store.load(&key, Utc::now()).await.unwrap().is_none());
    }

    #[actix_web::test]
    async fn found_live_session_only_for_a_cookie_naming_a_live_session() {
        // Arrange: a live session, an expired one, a key no session has, and no cookie.
        let (engine, clock) = engine().await;
        let mut saved = Vec::new();
        for seconds in [600, -10] {
            let s = Session::new(engine.clone(), None);
            s.insert("n", seconds);
            s.set_expiry(Expiry::Seconds(seconds));
            s.save().await.unwrap();
            saved.push(s.session_key());
        }
        clock.advance(TimeDelta::seconds(1));
        let requests = [
            saved[0].clone(),
            saved[1].clone(),
            Some("0".repeat(32)),
            None,
        ]
        .map(|cookie| Session::new(engine.clone(), cookie));

        // Act
        for request in &requests {
            request.ensure_loaded().await.unwrap();
        }

        // Assert
        let found = requests.each_ref().map(Session::found_live_session);
        assert_eq!(found, [true, false, false, false]);
    }

    #[actix_web::test]
    async fn cycle_key_keeps_the_data_under_a_new_key_and_deletes_the_old_one() {
        // Arrange: a saved session.
        let (s, clock) = new_session().await;
        s.insert("name", "Sonam");
        s.save().await.unwrap();
        let old = s.session_key().unwrap();

        // Act
        s.cycle_key().await.unwrap();

        // Assert: Django's `cycle_key()`: a new key holding the data, the old row gone.
        let new = s.session_key().unwrap();
        assert_ne!(new, old);
        assert_eq!(new.len(), 32);
        assert_eq!(s.keys(), ["name"]);
        let engine = s.engine();
        let SessionBackend::Store(store) = &engine.backend else {
            unreachable!("a db engine")
        };
        assert!(store.load(&old, clock.now()).await.unwrap().is_none());
        let stored = store.load(&new, clock.now()).await.unwrap().unwrap();
        assert_eq!(stored.data.get("name"), Some(&json!("Sonam")));
    }

    #[actix_web::test]
    async fn clear_expired_removes_the_expired_sessions_and_counts_them() {
        // Arrange: two sessions already expired when saved and one that lives ten minutes.
        let (engine, clock) = engine().await;
        let mut keys = Vec::new();
        for seconds in [-10, -20, 600] {
            let s = Session::new(engine.clone(), None);
            s.insert("n", seconds);
            s.set_expiry(Expiry::Seconds(seconds));
            s.save().await.unwrap();
            keys.push(s.session_key().unwrap());
        }
        clock.advance(TimeDelta::seconds(1));
        let s = Session::new(engine.clone(), None);

        // Act
        let removed = s.clear_expired().await.unwrap();

        // Assert
        assert_eq!(removed, 2);
        assert_eq!(s.clear_expired().await.unwrap(), 0, "nothing left to clear");
        let SessionBackend::Store(store) = &engine.backend else {
            unreachable!("a db engine")
        };
        assert!(store.load(&keys[2], clock.now()).await.unwrap().is_some());
    }

    #[actix_web::test]
    async fn a_signed_cookie_of_4093_bytes_is_saved_and_one_byte_more_is_refused() {
        // Arrange: data that does not compress much, and the length of its signed value.
        let clock = Arc::new(FakeClock::new(
            Utc.with_ymd_and_hms(2026, 11, 21, 23, 56, 58).unwrap(),
        ));
        let cookies = SignedCookies::new("test-secret-key-for-reference", &[]);
        let mut state = 12_345u32;
        let blob: String = (0..2_900)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                char::from(b'a' + ((state >> 16) % 26) as u8)
            })
            .collect();
        let data: SessionData = serde_json::from_value(json!({ "blob": blob })).unwrap();
        let value_len = cookies.encode(&data, clock.now()).len();
        // A cookie name that makes `name=value` exactly `max` bytes long.
        let session_of = |name_len: usize| {
            let settings = SessionSettings {
                engine: crate::config::Engine::SignedCookies,
                cookie_name: "s".repeat(name_len),
                ..SessionSettings::django_defaults("/")
            };
            let engine = SessionEngine {
                settings,
                backend: SessionBackend::SignedCookies(cookies.clone()),
                clock: clock.clone(),
            };
            let s = Session::new(Arc::new(engine), None);
            s.insert("blob", blob.clone());
            s
        };
        let max = signed_cookies::MAX_COOKIE_BYTES;
        let fits = session_of(max - 1 - value_len);
        let too_large = session_of(max - value_len);

        // Act
        let saved = fits.save().await;
        let refused = too_large.save().await;

        // Assert
        assert!(saved.is_ok(), "{saved:?}");
        assert_eq!(fits.session_key().map(|v| v.len()), Some(value_len));
        assert!(
            matches!(
                refused,
                Err(SessionError::CookieTooLarge { size, max: 4093 }) if size == 4094
            ),
            "{refused:?}"
        );
        assert_eq!(too_large.session_key(), None);
    }

    #[actix_web::test]
    async fn a_loaded_session_can_be_looked_at_without_being_accessed() {
        // Arrange: a session saved with the default age, read back by a later request.
        let (s, clock) = new_session().await;
        s.insert("name", "Sonam");
        s.save().await.unwrap();
        let saved_at = clock.now();
        clock.advance(TimeDelta::seconds(30));
        let later = Session::new(s.engine(), s.session_key());
        later.ensure_loaded().await.unwrap();

        // Act
        let items = later.peek_items();
        let stored = later.stored_expire_date();
        let backend = later.backend_name();

        // Assert: what the inspector shows, and the session still untouched (no Vary).
        assert_eq!(items, [("name".to_owned(), json!("Sonam"))]);
        assert_eq!(stored, Some(saved_at + TimeDelta::days(14)));
        assert_eq!(backend, "db (SQLite)");
        assert!(!later.accessed());
        assert_eq!(
            s.stored_expire_date(),
            None,
            "a new session was never loaded"
        );
    }

    #[actix_web::test]
    async fn a_short_cookie_value_is_no_key_at_all() {
        let (engine, _) = engine().await;
        let s = Session::new(engine, Some("abc".into()));
        assert_eq!(s.session_key(), None);
        assert!(s.is_empty());
    }
}
