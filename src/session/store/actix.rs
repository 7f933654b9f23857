//! actix-session interoperability: any sessionlab [`Store`] as an actix-session
//! [`SessionStore`], so a plain `actix_session::SessionMiddleware` app can keep its sessions in
//! the `django_session` table (or any other sessionlab engine), in Django's own format.
//!
//! # The mapping
//! actix-session hands a store a `HashMap<String, String>` whose values are JSON texts (what
//! `serde_json::to_string` made of each `Session::insert`). Django keeps one JSON object. So each
//! value is parsed and kept as a real JSON value (a Django app reading the same table sees
//! `{"counter": 3}`, not `{"counter": "3"}`); on load each value is written back with
//! `serde_json::to_string`, which gives actix-session exactly the text it stored. A text that
//! is not JSON (actix-session never writes one) is kept as a JSON string. A value that would not
//! load back as the same text is refused with a serialization error rather than silently
//! changed: an integer wider than 64 bits (`serde_json` reads it back as a float), or JSON not
//! in `serde_json`'s compact form (which `Session::insert` never writes).
//!
//! Keys are Django's: 32 characters of `[a-z0-9]` from [`new_session_key`], never
//! actix-session's 64-character ones. The TTL becomes the record's `expire_date`
//! (`now + ttl`, in whole seconds, within Python's years 1 to 9999), with "now" from a
//! [`SharedClock`] so tests can move time.

use std::collections::HashMap;
use std::sync::Arc;

use actix_session::storage::{
    LoadError, SaveError as ActixSaveError, SessionKey, SessionStore, UpdateError,
};
use actix_web::cookie::time::Duration;
use anyhow::anyhow;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{SaveError, SaveMode, SessionData, SessionRecord, Store};
use crate::session::expiry::add_seconds;
use crate::session::key::{is_storable_session_key, new_session_key};
use crate::session::{SharedClock, SystemClock};

/// actix-session's `SessionState` (a crate-private alias there).
type ActixState = HashMap<String, String>;

/// How many fresh keys `save` draws before giving up (a 165-bit key never collides; a store
/// that keeps answering "exists" is broken).
const CREATE_ATTEMPTS: usize = 8;

/// A sessionlab [`Store`] seen through actix-session's [`SessionStore`] trait.
///
/// ```no_run
/// use actix_session::{SessionMiddleware, Session};
/// use actix_web::{App, HttpServer, cookie::Key, web};
/// use sessionlab::session::store::{ActixSessionStore, DbStore, SessionCodec};
///
/// # async fn run() -> anyhow::Result<()> {
/// // Django's `SECRET_KEY`: a Django app with the same key reads these sessions.
/// let secret_key = std::env::var("SECRET_KEY")?;
/// let codec = SessionCodec::new(&secret_key, &[]);
/// let store = DbStore::open("sqlite://sessions.sqlite3", codec).await?;
/// // The cookie's key, 64 bytes or more; read it from the configuration in a real app.
/// let key = Key::try_from(&[7u8; 64][..])?;
/// HttpServer::new(move || {
///     App::new()
///         .wrap(SessionMiddleware::builder(ActixSessionStore::new(store.clone()), key.clone()).build())
///         .route("/", web::get().to(|session: Session| async move {
///             let n = session.get::<i32>("counter").ok().flatten().unwrap_or(0) + 1;
///             let _ = session.insert("counter", n);
///             n.to_string()
///         }))
/// })
/// .bind(("127.0.0.1", 8080))?
/// .run()
/// .await?;
/// # Ok(())
/// # }
/// ```
///
/// Extending a session's TTL (`TtlExtensionPolicy::OnEveryRequest`) changes only its expiry
/// ([`Store::set_expire_date`]): data a concurrent request saves meanwhile is kept.
///
/// An expired session never loads, but the `db` and `file` engines keep its row or file until
/// [`Store::clear_expired`] removes it (Django's `clearsessions`; Redis and the in-process
/// cache drop it by themselves): call it now and then, through [`ActixSessionStore::store`]
/// or a clone of the store, from a task of the application's.
///
/// # Errors
/// A store that fails (unreachable, full, refusing) gives actix-session `LoadError::Other`,
/// `SaveError::Other` or `UpdateError::Other` (an `anyhow::Error` from `update_ttl` and
/// `delete`), whose source is the [`StoreError`](super::StoreError); actix-session's middleware
/// answers each with an empty 500, where sessionlab's own middleware answers 503. A value that
/// would not load back as the text `Session::insert` made of it is a `Serialization` error,
/// also a 500, and nothing is written. `load` never fails with `LoadError::Deserialization`:
/// stored data that does not decode (signed with another key, corrupted) loads as an empty
/// session, as Django reads it.
pub struct ActixSessionStore<S> {
    store: S,
    clock: SharedClock,
}

impl<S> ActixSessionStore<S> {
    /// Wraps `store`, with expiry dates from the wall clock.
    pub fn new(store: S) -> Self {
        Self::with_clock(store, Arc::new(SystemClock))
    }

    /// Wraps `store`, with "now" (for expiry dates and for what counts as expired) from `clock`.
    pub fn with_clock(store: S, clock: SharedClock) -> Self {
        ActixSessionStore { store, clock }
    }

    /// The wrapped store.
    pub fn store(&self) -> &S {
        &self.store
    }
}

impl<S: Store> ActixSessionStore<S> {
    /// Saves `data` under a fresh key, drawing again while the key is taken (Django's
    /// `create()`).
    async fn create(
        &self,
        data: SessionData,
        expire_date: DateTime<Utc>,
    ) -> Result<SessionKey, ActixSaveError> {
        let mut record = SessionRecord {
            key: String::new(),
            data,
            expire_date,
        };
        for _ in 0..CREATE_ATTEMPTS {
            record.key = new_session_key().map_err(|e| {
                ActixSaveError::Other(anyhow!("no randomness available for a session key: {e}"))
            })?;
            match self.store.save(&record, SaveMode::Create).await {
                Ok(()) => {
                    return SessionKey::try_from(record.key)
                        .map_err(|e| ActixSaveError::Other(e.into()));
                }
                Err(SaveError::KeyExists) => continue,
                Err(e @ SaveError::Missing) => {
                    return Err(ActixSaveError::Other(anyhow::Error::new(e).context(
                        format!(
                            "the {} store answered a create like an update",
                            self.store.describe()
                        ),
                    )));
                }
                Err(SaveError::Store(e)) => return Err(ActixSaveError::Other(e.into())),
                Err(e @ SaveError::TooLarge(_)) => return Err(ActixSaveError::Other(e.into())),
            }
        }
        Err(ActixSaveError::Other(anyhow!(
            "the {} store said each of {CREATE_ATTEMPTS} fresh session keys already existed",
            self.store.describe()
        )))
    }
}

/// Python's `datetime.min` and `datetime.max` (to the second) as Unix timestamps.
const PYTHON_MIN_TIMESTAMP: i64 = -62_135_596_800;
const PYTHON_MAX_TIMESTAMP: i64 = 253_402_300_799;

/// `now + ttl` in whole seconds, saturating at the ends of Python's calendar (years 1 to 9999):
/// Django cannot store a date beyond them, and the SQLite store's text dates only sort in time
/// order within four-digit years (an actix-session TTL of `Duration::MAX` would otherwise
/// store a date that reads as long expired).
fn expire_date(now: DateTime<Utc>, ttl: &Duration) -> DateTime<Utc> {
    let date = add_seconds(now, ttl.whole_seconds());
    match (
        DateTime::from_timestamp(PYTHON_MIN_TIMESTAMP, 0),
        DateTime::from_timestamp(PYTHON_MAX_TIMESTAMP, 0),
    ) {
        (Some(earliest), Some(latest)) => date.clamp(earliest, latest),
        _ => date,
    }
}

impl<S: Store + 'static> SessionStore for ActixSessionStore<S> {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<ActixState>, LoadError> {
        let key = session_key.as_ref();
        if !is_storable_session_key(key) {
            return Ok(None);
        }
        let data = self
            .store
            .load(key, self.clock.now())
            .await
            .map_err(|e| LoadError::Other(e.into()))?;
        data.map(|record| data_to_state(&record.data))
            .transpose()
            .map_err(LoadError::Deserialization)
    }

    async fn save(
        &self,
        session_state: ActixState,
        ttl: &Duration,
    ) -> Result<SessionKey, ActixSaveError> {
        let data = state_to_data(session_state).map_err(ActixSaveError::Serialization)?;
        self.create(data, expire_date(self.clock.now(), ttl)).await
    }

    async fn update(
        &self,
        session_key: SessionKey,
        session_state: ActixState,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let data = state_to_data(session_state).map_err(UpdateError::Serialization)?;
        let expires = expire_date(self.clock.now(), ttl);
        // A key this store could never have issued names no session: like a deleted one, the
        // state goes under a new key.
        let data = if is_storable_session_key(session_key.as_ref()) {
            let record = SessionRecord {
                key: session_key.as_ref().to_owned(),
                data,
                expire_date: expires,
            };
            match self.store.save(&record, SaveMode::Update).await {
                Ok(()) => return Ok(session_key),
                // Deleted (or expired and cleared) meanwhile: actix-session's stores then save
                // the state under a new key, so a stale key is never brought back to life.
                Err(SaveError::Missing) => record.data,
                Err(e @ SaveError::KeyExists) => {
                    return Err(UpdateError::Other(anyhow::Error::new(e).context(format!(
                        "the {} store answered an update like a create",
                        self.store.describe()
                    ))));
                }
                Err(SaveError::Store(e)) => return Err(UpdateError::Other(e.into())),
                Err(e @ SaveError::TooLarge(_)) => return Err(UpdateError::Other(e.into())),
            }
        } else {
            data
        };
        self.create(data, expires).await.map_err(|e| match e {
            ActixSaveError::Serialization(e) => UpdateError::Serialization(e),
            ActixSaveError::Other(e) => UpdateError::Other(e),
        })
    }

    async fn update_ttl(&self, session_key: &SessionKey, ttl: &Duration) -> anyhow::Result<()> {
        let key = session_key.as_ref();
        if !is_storable_session_key(key) {
            return Ok(());
        }
        let now = self.clock.now();
        // Gone or expired: nothing to extend (actix-session's Redis store: `EXPIRE` on a missing
        // key is a no-op).
        let _extended = self
            .store
            .set_expire_date(key, expire_date(now, ttl), now)
            .await?;
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> anyhow::Result<()> {
        let key = session_key.as_ref();
        if !is_storable_session_key(key) {
            return Ok(());
        }
        Ok(self.store.delete(key).await?)
    }
}

/// actix-session's state → our data: each JSON text becomes the value it encodes (a text that
/// is not JSON becomes a JSON string). Keys are sorted, so the same state is always stored as
/// the same bytes whatever the `HashMap`'s order.
fn state_to_data(state: ActixState) -> anyhow::Result<SessionData> {
    let mut entries: Vec<(String, String)> = state.into_iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut data = SessionData::default();
    for (key, text) in entries {
        let value = match serde_json::from_str::<Value>(&text) {
            Ok(value) => {
                let written = serde_json::to_string(&value)?;
                // The texts stay out of the message: they are session data, and errors get logged.
                if written != text {
                    return Err(anyhow!(
                        "the value of session key {key:?} would not load back as the text that \
                         was stored: numbers are kept as 64-bit integers or floats, and JSON in \
                         serde_json's compact form"
                    ));
                }
                value
            }
            Err(_) => Value::String(text),
        };
        data.insert(key, value);
    }
    Ok(data)
}

/// Our data → actix-session's state: each value as its JSON text.
fn data_to_state(data: &SessionData) -> anyhow::Result<ActixState> {
    let state = data
        .iter()
        .map(|(key, value)| serde_json::to_string(value).map(|text| (key.clone(), text)))
        .collect::<serde_json::Result<ActixState>>()?;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use serde_json::json;

    fn state(entries: &[(&str, &str)]) -> ActixState {
        entries
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn json_texts_are_stored_as_values_and_come_back_as_the_same_texts() {
        #[derive(Serialize)]
        struct Profile {
            name: &'static str,
            tags: Vec<&'static str>,
            score: Option<f64>,
        }
        let profile = Profile {
            name: "Ada \"the first\" Lovelace",
            tags: vec!["math", "ünïcode", "tab\there"],
            score: Some(0.1),
        };
        let texts = [
            serde_json::to_string(&42_i32).unwrap(),
            serde_json::to_string(&-7_i64).unwrap(),
            serde_json::to_string(&u64::MAX).unwrap(),
            serde_json::to_string(&1.5e300_f64).unwrap(),
            serde_json::to_string(&true).unwrap(),
            serde_json::to_string(&"a string").unwrap(),
            serde_json::to_string(&Option::<i32>::None).unwrap(),
            serde_json::to_string(&profile).unwrap(),
        ];
        let names = [
            "int", "neg", "u64max", "float", "bool", "string", "none", "profile",
        ];
        let original: ActixState = names
            .iter()
            .zip(&texts)
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();

        let data = state_to_data(original.clone()).unwrap();
        assert_eq!(data["int"], json!(42));
        assert_eq!(data["string"], json!("a string"));
        assert_eq!(data["none"], Value::Null);
        assert_eq!(
            data["profile"],
            json!({"name": "Ada \"the first\" Lovelace", "tags": ["math", "ünïcode", "tab\there"], "score": 0.1})
        );
        assert_eq!(data_to_state(&data).unwrap(), original);
    }

    #[test]
    fn a_text_that_is_not_json_is_stored_as_a_json_string() {
        let data = state_to_data(state(&[("raw", "not json"), ("empty", "")])).unwrap();
        assert_eq!(data["raw"], json!("not json"));
        assert_eq!(data["empty"], json!(""));
        let back = data_to_state(&data).unwrap();
        assert_eq!(back["raw"], r#""not json""#);
        assert_eq!(back["empty"], r#""""#);
    }

    #[test]
    fn keys_are_stored_in_sorted_order() {
        let data = state_to_data(state(&[("b", "1"), ("c", "2"), ("a", "3")])).unwrap();
        assert_eq!(data.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn an_integer_wider_than_64_bits_is_refused_rather_than_changed() {
        let text = serde_json::to_string(&u128::MAX).unwrap();
        let error = state_to_data(state(&[("big", &text)])).unwrap_err();
        assert!(error.to_string().contains("\"big\""), "{error}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]
        #[test]
        fn floats_come_back_as_the_same_text(bits in proptest::prelude::any::<u64>()) {
            let f = f64::from_bits(bits);
            proptest::prop_assume!(f.is_finite());
            let text = serde_json::to_string(&f).unwrap();
            let data = state_to_data(state(&[("f", &text)])).unwrap();
            proptest::prop_assert_eq!(&data_to_state(&data).unwrap()["f"], &text);
        }
    }

    #[test]
    fn the_ttl_becomes_an_expiry_date_in_whole_seconds_within_pythons_calendar() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert_eq!(
            expire_date(now, &Duration::milliseconds(90_900)),
            now + chrono::TimeDelta::seconds(90)
        );
        let max = expire_date(now, &Duration::MAX);
        assert_eq!(max.to_rfc3339(), "9999-12-31T23:59:59+00:00");
        let min = expire_date(now, &Duration::MIN);
        assert_eq!(min.to_rfc3339(), "0001-01-01T00:00:00+00:00");
        assert_eq!(
            expire_date(now, &Duration::seconds(-5)),
            now - chrono::TimeDelta::seconds(5)
        );
    }
}
