//! One request's session, with Django's `SessionBase` rules: lazy loading, the `accessed` and
//! `modified` flags, emptiness, and what `save()` writes. No I/O happens here; the
//! [`Session`](super::Session) handle and the middleware do the awaiting.

use std::rc::Rc;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::expiry::{EXPIRY_KEY, ExpiryAge, StoredExpiry};
use super::key::{is_storable_session_key, is_valid_session_key};
use super::store::{SessionData, SessionRecord};
use super::{SessionBackend, SessionEngine};

/// What the store said about the request's key, before the view looked at the data.
#[derive(Debug)]
pub(crate) enum Fetched {
    /// Not asked yet.
    No,
    /// A live session with this data.
    Found(SessionData),
    /// No such session (never was, expired, or deleted).
    Missing,
    /// A signed cookie that was forged, tampered with or expired: Django's signed-cookie
    /// engine starts a new, empty session that is saved (re-signed) at the end.
    Reset,
    /// A session file that had expired: Django's file engine deletes it and creates an empty
    /// session under a new key in its place, which the response's cookie carries.
    Expired,
}

/// The state behind a [`Session`](super::Session) handle.
pub(crate) struct SessionState {
    pub(crate) engine: Arc<SessionEngine>,
    /// Django's `_session_key`: `None` until there is a valid key.
    pub(crate) key: Option<String>,
    /// Where Django's file engine has already created a new session in place of an expired
    /// one, and so holds a key, sessionlab draws that key when the session is saved: until
    /// then `key` is `None` but the session is not empty.
    pub(crate) key_pending: bool,
    /// Django's `_session_cache`: `None` until the data was first used. Shared with the
    /// snapshots taken of it ([`SessionState::shared_data`]); a change after a snapshot
    /// changes a copy.
    cache: Option<Rc<SessionData>>,
    pub(crate) fetched: Fetched,
    /// Django's `accessed`.
    pub(crate) accessed: bool,
    /// Django's `modified`.
    pub(crate) modified: bool,
    /// The expiry date the store holds for the request's session, once loaded.
    pub(crate) stored_expire_date: Option<DateTime<Utc>>,
    /// Whether the request's cookie named a live session: the store had it, or its signed
    /// cookie was accepted.
    pub(crate) found_live: bool,
}

/// What the middleware will do with the cookie when the response leaves (see
/// [`Session::planned_cookie`](crate::session::Session::planned_cookie)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookiePlan {
    /// No `Set-Cookie`.
    Keep,
    /// A deletion cookie: the browser's cookie names a session that is gone or empty.
    Delete,
    /// A `Set-Cookie` with the session's key (a new one when `new_key`), and `Max-Age`/`Expires`
    /// unless it is a browser-session cookie.
    Set {
        /// Whether the key is drawn afresh at save time.
        new_key: bool,
        /// `(Max-Age, Expires)`, or `None` for a browser-session cookie.
        lifetime: Option<(i64, DateTime<Utc>)>,
    },
}

/// The session's data as the view would see it, read without touching Django's flags.
pub(crate) struct Peek<'a> {
    /// The data, or `None` when the view would see an empty session.
    pub data: Option<&'a SessionData>,
    /// The key names no live session, so a save will draw a new one.
    pub key_is_dead: bool,
}

/// Logs a session cookie that cannot be a session key (a store's keys are 8 to 40 characters
/// of `[a-z0-9]`): it names no session, and a new one starts. Its value is not logged.
fn log_if_garbage(cookie_value: &str) {
    if !is_storable_session_key(cookie_value) {
        tracing::info!(
            target: "sessionlab::security",
            length = cookie_value.len(),
            "session cookie is not a session key; ignoring it and starting a new session"
        );
    }
}

impl SessionState {
    /// Django's `SessionStore(session_key)`: an invalid key (shorter than 8) is dropped at once.
    pub(crate) fn new(engine: Arc<SessionEngine>, cookie_value: Option<String>) -> Self {
        if let (SessionBackend::Store(_), Some(value)) = (&engine.backend, &cookie_value) {
            log_if_garbage(value);
        }
        SessionState {
            engine,
            key: cookie_value.filter(|k| is_valid_session_key(k)),
            key_pending: false,
            cache: None,
            fetched: Fetched::No,
            accessed: false,
            modified: false,
            stored_expire_date: None,
            found_live: false,
        }
    }

    /// The key the store must be asked about before the data can be used, if any.
    pub(crate) fn key_to_fetch(&self) -> Option<&str> {
        match (&self.cache, &self.fetched) {
            (None, Fetched::No) => self.key.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn backend(&self) -> &SessionBackend {
        &self.engine.backend
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.engine.clock.now()
    }

    /// Django's `_session`: marks the session accessed and materialises the data, dropping the
    /// key when the store had no such session (so a write gets a fresh key: no fixation).
    fn cache(&mut self) -> &mut Rc<SessionData> {
        self.accessed = true;
        if self.cache.is_none() {
            let data = match std::mem::replace(&mut self.fetched, Fetched::Missing) {
                Fetched::Found(data) => data,
                Fetched::Missing => {
                    self.key = None;
                    SessionData::default()
                }
                Fetched::Reset => {
                    self.modified = true;
                    SessionData::default()
                }
                Fetched::Expired => {
                    self.key = None;
                    self.key_pending = true;
                    self.modified = true;
                    SessionData::default()
                }
                Fetched::No => {
                    if self.key.is_some() {
                        // The handle and the middleware fetch before any use; reaching this
                        // would be a bug, and the safe reading is "no such session".
                        tracing::error!(
                            "session data used before it was loaded; treating it as missing"
                        );
                        self.key = None;
                    }
                    SessionData::default()
                }
            };
            self.cache = Some(Rc::new(data));
        }
        self.cache.get_or_insert_with(Rc::default)
    }

    /// The data as the view reads it ([`SessionState::cache`]: marks the session accessed).
    pub(crate) fn data(&mut self) -> &SessionData {
        self.cache()
    }

    /// The data as the view changes it (marks the session accessed, not modified: the caller
    /// does that when it changed something).
    pub(crate) fn data_mut(&mut self) -> &mut SessionData {
        Rc::make_mut(self.cache())
    }

    /// The data, shared rather than copied, for a snapshot (marks the session accessed).
    pub(crate) fn shared_data(&mut self) -> Rc<SessionData> {
        Rc::clone(self.cache())
    }

    /// The data without marking the session accessed or dropping a dead key: the inspector
    /// looks without changing what the middleware will do.
    pub(crate) fn peek(&self) -> Peek<'_> {
        let (data, key_is_dead) = match (&self.cache, &self.fetched) {
            (Some(cache), _) => (Some(&**cache), false),
            (None, Fetched::Found(data)) => (Some(data), false),
            (None, Fetched::Missing | Fetched::Reset | Fetched::Expired) => {
                (None, self.key.is_some())
            }
            (None, Fetched::No) => (None, false),
        };
        Peek { data, key_is_dead }
    }

    /// What `process_response` will do with the cookie if the response is not a 5xx, given
    /// the state right now (the same rules as the middleware, read without side effects).
    pub(crate) fn plan(&self, had_cookie: bool) -> CookiePlan {
        let settings = &self.engine.settings;
        let empty = self.is_empty();
        if had_cookie && empty {
            return CookiePlan::Delete;
        }
        if !(self.modified || settings.save_every_request) || empty {
            return CookiePlan::Keep;
        }
        let signed = matches!(self.engine.backend, SessionBackend::SignedCookies(_));
        CookiePlan::Set {
            new_key: self.key.is_none() || self.peek().key_is_dead || signed,
            lifetime: self.cookie_lifetime(self.peek_expiry()),
        }
    }

    /// The `_session_expiry` a save would read, read without marking the session accessed.
    fn peek_expiry(&self) -> StoredExpiry {
        StoredExpiry::from_value(self.peek().data.and_then(|d| d.get(EXPIRY_KEY)))
    }

    /// The expiry date a save would write now (`get_expiry_date()`), read without marking the
    /// session accessed.
    pub(crate) fn peek_expiry_date(&self) -> DateTime<Utc> {
        self.peek_expiry()
            .date(self.engine.settings.cookie_age, self.now())
    }

    /// `Max-Age` and `Expires` for a session whose `_session_expiry` reads as `expiry`, or
    /// `None` for a browser-session cookie (`get_expire_at_browser_close()`).
    pub(crate) fn cookie_lifetime(&self, expiry: StoredExpiry) -> Option<(i64, DateTime<Utc>)> {
        let settings = &self.engine.settings;
        if expiry.at_browser_close(settings.expire_at_browser_close) {
            return None;
        }
        let now = self.now();
        // Django: `max_age = get_expiry_age()`, the cookie's `Max-Age` is `int(max_age)` and
        // its `expires` is `time.time() + max_age`.
        let age = expiry.age(settings.cookie_age, now);
        Some((age.max_age(), super::expiry::add_age(now, age)))
    }

    /// Django's `is_empty()`: no key and no data. Does not load or mark anything.
    pub(crate) fn is_empty(&self) -> bool {
        self.key.is_none()
            && !self.key_pending
            && self.cache.as_deref().is_none_or(SessionData::is_empty)
    }

    /// Gives up the session's key, or the one pending: the session has none any more.
    pub(crate) fn take_key(&mut self) -> Option<String> {
        self.key_pending = false;
        self.key.take()
    }

    /// The session's key from now on (a save gave it one).
    pub(crate) fn set_key(&mut self, key: String) {
        self.key_pending = false;
        self.key = Some(key);
    }

    /// The stored `_session_expiry`, read as Django's expiry methods read it.
    pub(crate) fn stored_expiry(&mut self) -> StoredExpiry {
        StoredExpiry::from_value(self.data().get(EXPIRY_KEY))
    }

    /// `get_expiry_age()`.
    pub(crate) fn expiry_age(&mut self) -> ExpiryAge {
        let now = self.now();
        self.stored_expiry()
            .age(self.engine.settings.cookie_age, now)
    }

    /// `get_expiry_date()`.
    pub(crate) fn expiry_date(&mut self) -> DateTime<Utc> {
        let now = self.now();
        self.stored_expiry()
            .date(self.engine.settings.cookie_age, now)
    }

    /// `get_expire_at_browser_close()`.
    pub(crate) fn expire_at_browser_close(&mut self) -> bool {
        self.stored_expiry()
            .at_browser_close(self.engine.settings.expire_at_browser_close)
    }

    /// `clear()`: empties the data and marks the session modified.
    pub(crate) fn clear(&mut self) {
        // Django clears without loading, so a stale cookie key survives and the save that
        // follows fails with a 400. Loading first drops such a key and the save just creates.
        self.data_mut().clear();
        self.modified = true;
    }

    /// The record `save()` writes under `key`: the data and `get_expiry_date()`.
    pub(crate) fn record(&mut self, key: String) -> SessionRecord {
        let expire_date = self.expiry_date();
        SessionRecord {
            key,
            data: self.data().clone(),
            expire_date,
        }
    }

    /// Puts the value of a key, keeping its position when it exists (as a dict does).
    pub(crate) fn set(&mut self, key: String, value: Value) {
        self.data_mut().insert(key, value);
        self.modified = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SessionSettings;
    use crate::session::expiry::{Expiry, FakeClock};
    use crate::session::store::{AnyStore, MemoryStore};
    use chrono::{TimeDelta, TimeZone};
    use serde_json::json;

    const KEY: &str = "0n7rg9den4j7yzdeftps27n1xf2j6jow";
    const TWO_WEEKS: i64 = 1_209_600;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, 23, 56, 58).unwrap()
    }

    /// A request's session as the middleware holds it once the store has answered `fetched`
    /// for the request's cookie.
    fn session(settings: SessionSettings, cookie: Option<&str>, fetched: Fetched) -> SessionState {
        let engine = SessionEngine {
            settings,
            backend: SessionBackend::Store(AnyStore::Memory(MemoryStore::new(1 << 20))),
            clock: Arc::new(FakeClock::new(now())),
        };
        let mut state = SessionState::new(Arc::new(engine), cookie.map(str::to_owned));
        if state.key.is_some() {
            state.fetched = fetched;
        }
        state
    }

    fn defaults() -> SessionSettings {
        SessionSettings::django_defaults("/")
    }

    fn stored(name: &str) -> Fetched {
        let mut data = SessionData::default();
        data.insert("name".to_owned(), json!(name));
        Fetched::Found(data)
    }

    fn two_weeks() -> Option<(i64, DateTime<Utc>)> {
        Some((TWO_WEEKS, now() + TimeDelta::seconds(TWO_WEEKS)))
    }

    #[test]
    fn a_new_session_written_to_gets_a_new_key_with_the_cookie_age() {
        // Django (a): `request.session['name'] = 'Sonam'` without a cookie.
        let mut s = session(defaults(), None, Fetched::No);
        s.set("name".to_owned(), json!("Sonam"));
        assert_eq!(
            s.plan(false),
            CookiePlan::Set {
                new_key: true,
                lifetime: two_weeks()
            }
        );
    }

    #[test]
    fn an_existing_session_written_to_keeps_its_key() {
        let mut s = session(defaults(), Some(KEY), stored("Sonam"));
        s.set("lname".to_owned(), json!("Jha"));
        assert_eq!(
            s.plan(true),
            CookiePlan::Set {
                new_key: false,
                lifetime: two_weeks()
            }
        );
    }

    #[test]
    fn a_session_only_read_sets_no_cookie_unless_every_request_saves() {
        // Django (g): a read-only view sets nothing, with SESSION_SAVE_EVERY_REQUEST it
        // refreshes the cookie under the same key.
        let mut s = session(defaults(), Some(KEY), stored("Sonam"));
        assert_eq!(s.data().get("name"), Some(&json!("Sonam")));
        assert_eq!(s.plan(true), CookiePlan::Keep);

        let every = SessionSettings {
            save_every_request: true,
            ..defaults()
        };
        let mut s = session(every.clone(), Some(KEY), stored("Sonam"));
        assert_eq!(s.data().get("name"), Some(&json!("Sonam")));
        assert_eq!(
            s.plan(true),
            CookiePlan::Set {
                new_key: false,
                lifetime: two_weeks()
            }
        );
        // And still nothing for an empty session without a cookie.
        let mut s = session(every, None, Fetched::No);
        assert!(s.data().is_empty());
        assert_eq!(s.plan(false), CookiePlan::Keep);
    }

    #[test]
    fn no_cookie_and_nothing_written_sets_nothing() {
        // Django (e′): `flush()` with no cookie, or a read, sends no Set-Cookie.
        let mut s = session(defaults(), None, Fetched::No);
        assert_eq!(s.data().get("name"), None);
        assert_eq!(s.plan(false), CookiePlan::Keep);
        s.clear();
        assert!(s.modified);
        assert_eq!(s.plan(false), CookiePlan::Keep);
    }

    #[test]
    fn a_cookie_naming_no_session_is_deleted_when_read_and_replaced_when_written() {
        // Django: an unknown key that the view reads gets a deletion cookie; one it writes
        // gets a new random key (no session fixation).
        let mut s = session(defaults(), Some(KEY), Fetched::Missing);
        assert_eq!(s.data().get("name"), None);
        assert_eq!(s.plan(true), CookiePlan::Delete);
        s.set("name".to_owned(), json!("Sonam"));
        assert_eq!(
            s.plan(true),
            CookiePlan::Set {
                new_key: true,
                lifetime: two_weeks()
            }
        );
    }

    #[test]
    fn a_cookie_too_short_for_a_key_is_deleted_even_when_untouched() {
        // Django: cookie `abc` with a view that never touches the session.
        let s = session(defaults(), Some("abc"), Fetched::No);
        assert!(s.is_empty());
        assert_eq!(s.plan(true), CookiePlan::Delete);
    }

    #[test]
    fn emptiness_needs_no_key_and_no_data() {
        // Django's `is_empty()`: `not self._session_key and not self._session_cache`.
        assert!(session(defaults(), None, Fetched::No).is_empty());
        let keyed = session(defaults(), Some(KEY), stored("Sonam"));
        assert!(!keyed.is_empty(), "a key alone is not empty, loaded or not");
        let mut fresh = session(defaults(), None, Fetched::No);
        fresh.set("name".to_owned(), json!("Sonam"));
        assert!(!fresh.is_empty(), "data alone is not empty");
        // An expired file session holds the key its replacement will be saved under.
        let mut expired = session(defaults(), Some(KEY), Fetched::Expired);
        assert!(expired.data().is_empty());
        assert_eq!(expired.key, None);
        assert!(!expired.is_empty());
    }

    #[test]
    fn a_signed_cookie_session_written_to_is_always_signed_anew() {
        // Django's signed_cookies engine: the cookie value is the signed data, so every save
        // writes a new one, even for a session the request's cookie already held.
        let engine = SessionEngine {
            settings: defaults(),
            backend: SessionBackend::SignedCookies(super::super::SignedCookies::new(
                "test-secret-key-for-reference",
                &[],
            )),
            clock: Arc::new(FakeClock::new(now())),
        };
        let mut s = SessionState::new(Arc::new(engine), Some(KEY.to_owned()));
        s.fetched = stored("Sonam");
        s.set("lname".to_owned(), json!("Jha"));
        assert_eq!(
            s.plan(true),
            CookiePlan::Set {
                new_key: true,
                lifetime: two_weeks()
            }
        );
    }

    #[test]
    fn a_browser_session_cookie_has_no_lifetime() {
        // Django (c): `set_expiry(0)` gives neither `Max-Age` nor `expires`.
        let mut s = session(defaults(), None, Fetched::No);
        let now = s.now();
        if let Some(value) = Expiry::Seconds(0).stored_value(now) {
            s.set(EXPIRY_KEY.to_owned(), value);
        }
        assert_eq!(
            s.plan(false),
            CookiePlan::Set {
                new_key: true,
                lifetime: None
            }
        );
    }
}
