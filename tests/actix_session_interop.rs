//! actix-session's own `SessionMiddleware`, unchanged, keeping its sessions in sessionlab's
//! stores through `ActixSessionStore`: one suite of checks, run for every store in one line
//! each (see `interop_suite!` at the bottom).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::Arc;

use actix_session::config::{PersistentSession, TtlExtensionPolicy};
use actix_session::storage::{SessionKey, SessionStore};
use actix_session::{Session, SessionMiddleware};
use actix_web::body::MessageBody;
use actix_web::cookie::time::Duration;
use actix_web::cookie::{Cookie, CookieJar, Key};
use actix_web::dev::{Service, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{App, test, web};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
mod common;

use sessionlab::config::{Settings, config_dir};
use sessionlab::session::store::{ActixSessionStore, AnyStore, DbStore, SaveError, StoreError};
use sessionlab::session::store::{
    CachedDbStore, FileStore, MemoryStore, PgStore, RedisSettings, RedisStore, SessionCodec,
};
use sessionlab::session::{Clock, FakeClock, SaveMode, SessionData, SessionRecord, Store};

/// actix-session's default cookie name.
const COOKIE: &str = "id";

// ---------------------------------------------------------------------------------------------
// The app: a counter, plus routes for purge, renew and values of several types.

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Address {
    city: String,
    zip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    name: String,
    tags: Vec<String>,
    score: Option<f64>,
    address: Address,
}

/// Every value `/values` stores, read back with `Session::get`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Values {
    greeting: String,
    answer: i32,
    beyond_f64: i64,
    ratio: f64,
    flag: bool,
    nothing: Option<String>,
    profile: Profile,
}

fn sample_values() -> Values {
    Values {
        greeting: "héllo \"wörld\"\n\t</script>".to_owned(),
        answer: 42,
        // Not representable as an f64: proves integers are not squeezed through floats.
        beyond_f64: -9_007_199_254_740_993,
        ratio: 0.1,
        flag: true,
        nothing: None,
        profile: Profile {
            name: "Ada".to_owned(),
            tags: vec!["math".to_owned(), "engines".to_owned()],
            score: Some(2.5e-8),
            address: Address {
                city: "London".to_owned(),
                zip: None,
            },
        },
    }
}

fn counter(session: &Session) -> i32 {
    session.get::<i32>("counter").unwrap().unwrap_or(0)
}

async fn increment(session: Session) -> String {
    let n = counter(&session) + 1;
    session.insert("counter", n).unwrap();
    n.to_string()
}

async fn peek(session: Session) -> String {
    counter(&session).to_string()
}

async fn purge(session: Session) -> &'static str {
    session.purge();
    "purged"
}

async fn renew(session: Session) -> String {
    session.renew();
    counter(&session).to_string()
}

async fn set_values(session: Session) -> &'static str {
    let v = sample_values();
    session.insert("greeting", v.greeting).unwrap();
    session.insert("answer", v.answer).unwrap();
    session.insert("beyond_f64", v.beyond_f64).unwrap();
    session.insert("ratio", v.ratio).unwrap();
    session.insert("flag", v.flag).unwrap();
    session.insert("nothing", v.nothing).unwrap();
    session.insert("profile", v.profile).unwrap();
    "stored"
}

/// `Session::get` of a key that must be there.
fn present<T: serde::de::DeserializeOwned>(session: &Session, key: &str) -> T {
    session
        .get(key)
        .unwrap()
        .unwrap_or_else(|| panic!("{key} is in the session"))
}

async fn get_values(session: Session) -> web::Json<Values> {
    web::Json(Values {
        greeting: present(&session, "greeting"),
        answer: present(&session, "answer"),
        beyond_f64: present(&session, "beyond_f64"),
        ratio: present(&session, "ratio"),
        flag: present(&session, "flag"),
        nothing: present(&session, "nothing"),
        profile: present(&session, "profile"),
    })
}

async fn set_u128(session: Session) -> &'static str {
    session.insert("huge", u128::MAX).unwrap();
    "stored"
}

fn app<S: Store + 'static>(
    sessions: SessionMiddleware<ActixSessionStore<S>>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .wrap(sessions)
        .route("/counter", web::get().to(increment))
        .route("/peek", web::get().to(peek))
        .route("/purge", web::post().to(purge))
        .route("/renew", web::post().to(renew))
        .route("/values", web::post().to(set_values))
        .route("/values", web::get().to(get_values))
        .route("/u128", web::post().to(set_u128))
}

/// actix-session with a persistent cookie and a `ttl`-second TTL, on a store whose clock the
/// test moves.
fn persistent<S: Store + 'static>(
    store: ActixSessionStore<S>,
    key: &Key,
    ttl: i64,
    policy: TtlExtensionPolicy,
) -> SessionMiddleware<ActixSessionStore<S>> {
    SessionMiddleware::builder(store, key.clone())
        .session_lifecycle(
            PersistentSession::default()
                .session_ttl(Duration::seconds(ttl))
                .session_ttl_extension_policy(policy),
        )
        .build()
}

// ---------------------------------------------------------------------------------------------
// Talking to the app.

/// A response, read whole.
struct Reply {
    status: StatusCode,
    /// The session cookie the response sets (or removes), if any.
    cookie: Option<Cookie<'static>>,
    body: String,
}

async fn send<A, B>(app: &A, request: test::TestRequest, cookie: Option<&Cookie<'static>>) -> Reply
where
    A: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let request = match cookie {
        Some(cookie) => request.cookie(cookie.clone()),
        None => request,
    };
    // What the server would send for an error: actix-session turns a store failure into one.
    let response = match app.call(request.to_request()).await {
        Ok(response) => response,
        Err(error) => {
            return Reply {
                status: error.as_response_error().status_code(),
                cookie: None,
                body: error.to_string(),
            };
        }
    };
    let status = response.status();
    let cookie = response
        .response()
        .cookies()
        .find(|c| c.name() == COOKIE)
        .map(|c| c.into_owned());
    let body = test::read_body(response).await;
    Reply {
        status,
        cookie,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

async fn get<A, B>(app: &A, path: &str, cookie: Option<&Cookie<'static>>) -> Reply
where
    A: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    send(app, test::TestRequest::get().uri(path), cookie).await
}

async fn post<A, B>(app: &A, path: &str, cookie: Option<&Cookie<'static>>) -> Reply
where
    A: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    send(app, test::TestRequest::post().uri(path), cookie).await
}

/// The session key inside actix-session's (encrypted, by default) cookie.
fn session_key(cookie: &Cookie<'static>, key: &Key) -> String {
    let mut jar = CookieJar::new();
    jar.add_original(cookie.clone());
    let value = jar
        .private(key)
        .get(cookie.name())
        .expect("the session cookie decrypts with the app's key")
        .value()
        .to_owned();
    assert!(
        value.len() == 32
            && value
                .bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9')),
        "a Django session key: {value:?}"
    );
    value
}

/// A store on which the first `load` after a change is set is followed, before it answers,
/// by that change's save: another request's write landing between a read and a write.
struct ChangedAfterRead<S> {
    inner: S,
    change: Rc<RefCell<Option<SessionRecord>>>,
}

impl<S: Store> Store for ChangedAfterRead<S> {
    fn describe(&self) -> &'static str {
        self.inner.describe()
    }

    async fn load(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let record = self.inner.load(key, now).await?;
        let change = self.change.borrow_mut().take();
        if let Some(change) = change {
            self.inner.save(&change, SaveMode::Update).await.unwrap();
        }
        Ok(record)
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.inner.exists(key).await
    }

    async fn save(&self, record: &SessionRecord, mode: SaveMode) -> Result<(), SaveError> {
        self.inner.save(record, mode).await
    }

    async fn set_expire_date(
        &self,
        key: &str,
        expire_date: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.inner.set_expire_date(key, expire_date, now).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }

    async fn clear_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.clear_expired(now).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}

fn data(value: Value) -> SessionData {
    serde_json::from_value(value).expect("a JSON object")
}

fn actix_state(entries: &[(&str, &str)]) -> HashMap<String, String> {
    entries
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn actix_key(key: &str) -> SessionKey {
    SessionKey::try_from(key.to_owned()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The checks, each generic over the store.

mod checks {
    use super::*;

    pub async fn counter_persists_across_requests<S: Store + Clone + 'static>(store: S) {
        // Arrange: actix-session exactly as its docs set it up (private cookie, browser session).
        let key = Key::generate();
        let app = test::init_service(app(SessionMiddleware::new(
            ActixSessionStore::new(store.clone()),
            key.clone(),
        )))
        .await;

        // Act
        let first = get(&app, "/counter", None).await;
        let cookie = first.cookie.clone().expect("a session cookie");
        let second = get(&app, "/counter", Some(&cookie)).await;
        let third = get(&app, "/counter", second.cookie.as_ref()).await;
        let stranger = get(&app, "/counter", None).await;

        // Assert
        assert_eq!(
            [&first.body, &second.body, &third.body, &stranger.body],
            ["1", "2", "3", "1"]
        );
        let k = session_key(&cookie, &key);
        assert_eq!(session_key(third.cookie.as_ref().unwrap(), &key), k);
        assert_ne!(session_key(stranger.cookie.as_ref().unwrap(), &key), k);
        assert_eq!(
            store.load(&k, Utc::now()).await.unwrap().map(|r| r.data),
            Some(data(json!({"counter": 3}))),
            "stored as a JSON number, as Django would store it"
        );
    }

    pub async fn purge_deletes_the_record<S: Store + Clone + 'static>(store: S) {
        // Arrange
        let key = Key::generate();
        let app = test::init_service(app(SessionMiddleware::new(
            ActixSessionStore::new(store.clone()),
            key.clone(),
        )))
        .await;
        let cookie = get(&app, "/counter", None).await.cookie.unwrap();
        let old_key = session_key(&cookie, &key);
        assert!(store.exists(&old_key).await.unwrap());

        // Act
        let purged = post(&app, "/purge", Some(&cookie)).await;

        // Assert: the record is gone and the cookie removed; the old cookie starts afresh.
        assert_eq!(purged.status, StatusCode::OK);
        let removal = purged.cookie.expect("a removal cookie");
        assert_eq!(removal.value(), "");
        assert_eq!(removal.max_age(), Some(Duration::ZERO));
        assert!(!store.exists(&old_key).await.unwrap());
        let again = get(&app, "/counter", Some(&cookie)).await;
        assert_eq!(again.body, "1");
        assert_ne!(session_key(&again.cookie.unwrap(), &key), old_key);
    }

    pub async fn renew_moves_data_to_a_new_key<S: Store + Clone + 'static>(store: S) {
        // Arrange
        let key = Key::generate();
        let app = test::init_service(app(SessionMiddleware::new(
            ActixSessionStore::new(store.clone()),
            key.clone(),
        )))
        .await;
        let old_cookie = get(&app, "/counter", None).await.cookie.unwrap();
        let old_cookie = get(&app, "/counter", Some(&old_cookie))
            .await
            .cookie
            .unwrap();
        let old_key = session_key(&old_cookie, &key);

        // Act
        let renewed = post(&app, "/renew", Some(&old_cookie)).await;

        // Assert
        assert_eq!(renewed.body, "2");
        let new_cookie = renewed.cookie.expect("a cookie for the new key");
        let new_key = session_key(&new_cookie, &key);
        assert_ne!(new_key, old_key);
        assert!(
            !store.exists(&old_key).await.unwrap(),
            "the old key is dead"
        );
        assert_eq!(
            store
                .load(&new_key, Utc::now())
                .await
                .unwrap()
                .map(|r| r.data),
            Some(data(json!({"counter": 2})))
        );
        assert_eq!(get(&app, "/counter", Some(&new_cookie)).await.body, "3");
        assert_eq!(get(&app, "/counter", Some(&old_cookie)).await.body, "1");
    }

    pub async fn an_expired_session_loads_as_a_new_empty_session<S: Store + Clone + 'static>(
        store: S,
    ) {
        // Arrange: a 60-second TTL, on a clock the test moves.
        let clock = Arc::new(FakeClock::at_wall_clock());
        let key = Key::generate();
        let sessions = ActixSessionStore::with_clock(store.clone(), clock.clone());
        let app = test::init_service(app(persistent(
            sessions,
            &key,
            60,
            TtlExtensionPolicy::OnStateChanges,
        )))
        .await;
        let cookie = get(&app, "/counter", None).await.cookie.unwrap();
        let old_key = session_key(&cookie, &key);

        // Act + Assert: alive at 59 s (and the change restarts the TTL) ...
        clock.advance(TimeDelta::seconds(59));
        let alive = get(&app, "/counter", Some(&cookie)).await;
        assert_eq!(alive.body, "2");
        assert_eq!(session_key(&alive.cookie.unwrap(), &key), old_key);
        // ... and gone 61 s after that change.
        clock.advance(TimeDelta::seconds(61));
        let expired = get(&app, "/peek", Some(&cookie)).await;
        assert_eq!(expired.body, "0", "an empty session");
        assert!(
            expired.cookie.is_none(),
            "an empty new session sets no cookie"
        );
        assert!(store.load(&old_key, clock.now()).await.unwrap().is_none());
        let fresh = get(&app, "/counter", Some(&cookie)).await;
        assert_eq!(fresh.body, "1");
        assert_ne!(session_key(&fresh.cookie.unwrap(), &key), old_key);
    }

    pub async fn the_ttl_is_extended_on_every_request_when_configured<
        S: Store + Clone + 'static,
    >(
        store: S,
    ) {
        // Arrange
        let clock = Arc::new(FakeClock::at_wall_clock());
        let key = Key::generate();
        let sessions = ActixSessionStore::with_clock(store.clone(), clock.clone());
        let app = test::init_service(app(persistent(
            sessions,
            &key,
            60,
            TtlExtensionPolicy::OnEveryRequest,
        )))
        .await;
        let cookie = get(&app, "/counter", None).await.cookie.unwrap();

        // Act + Assert: read-only requests (`update_ttl`) keep it alive past the first 60 s ...
        clock.advance(TimeDelta::seconds(50));
        assert_eq!(get(&app, "/peek", Some(&cookie)).await.body, "1");
        clock.advance(TimeDelta::seconds(50));
        assert_eq!(get(&app, "/peek", Some(&cookie)).await.body, "1");
        // ... and it still expires 60 s after the last one.
        clock.advance(TimeDelta::seconds(61));
        assert_eq!(get(&app, "/peek", Some(&cookie)).await.body, "0");
    }

    pub async fn a_ttl_extension_keeps_a_change_saved_meanwhile<S: Store + Clone + 'static>(
        store: S,
    ) {
        // Arrange: a session, and another request's change to it that lands as soon as this
        // request has read it (or after this request, if it never reads it).
        let clock = Arc::new(FakeClock::at_wall_clock());
        let change = Rc::new(RefCell::new(None));
        let interleaved = ChangedAfterRead {
            inner: store.clone(),
            change: Rc::clone(&change),
        };
        let actix = ActixSessionStore::with_clock(interleaved, clock.clone());
        let ttl = Duration::seconds(60);
        let key = actix
            .save(actix_state(&[("counter", "1")]), &ttl)
            .await
            .unwrap();
        clock.advance(TimeDelta::seconds(50));
        *change.borrow_mut() = Some(SessionRecord {
            key: key.as_ref().to_owned(),
            data: data(json!({"counter": 2})),
            expire_date: clock.now() + TimeDelta::seconds(60),
        });

        // Act: a read-only request under `TtlExtensionPolicy::OnEveryRequest`.
        actix.update_ttl(&key, &ttl).await.unwrap();
        let after = change.borrow_mut().take();
        if let Some(record) = after {
            store.save(&record, SaveMode::Update).await.unwrap();
        }

        // Assert
        assert_eq!(
            store
                .load(key.as_ref(), clock.now())
                .await
                .unwrap()
                .map(|r| r.data),
            Some(data(json!({"counter": 2}))),
            "the other request's change is kept"
        );
    }

    pub async fn values_of_several_types_round_trip<S: Store + Clone + 'static>(store: S) {
        // Arrange
        let key = Key::generate();
        let app = test::init_service(app(SessionMiddleware::new(
            ActixSessionStore::new(store.clone()),
            key.clone(),
        )))
        .await;

        // Act
        let stored = post(&app, "/values", None).await;
        let cookie = stored.cookie.expect("a session cookie");
        let read = get(&app, "/values", Some(&cookie)).await;

        // Assert: actix-session reads back what it wrote ...
        assert_eq!(read.status, StatusCode::OK);
        let values: Values = serde_json::from_str(&read.body).unwrap();
        assert_eq!(values, sample_values());
        // ... and the record holds plain JSON values, keys in sorted order.
        let record = store
            .load(&session_key(&cookie, &key), Utc::now())
            .await
            .unwrap()
            .unwrap()
            .data;
        assert_eq!(
            record,
            data(json!({
                "answer": 42,
                "beyond_f64": -9_007_199_254_740_993_i64,
                "flag": true,
                "greeting": "héllo \"wörld\"\n\t</script>",
                "nothing": null,
                "profile": {
                    "name": "Ada",
                    "tags": ["math", "engines"],
                    "score": 2.5e-8,
                    "address": {"city": "London", "zip": null}
                },
                "ratio": 0.1
            }))
        );
        let keys: Vec<&str> = record.keys().map(String::as_str).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted);
    }

    pub async fn the_session_store_contract_holds<S: Store + Clone + 'static>(store: S) {
        // Arrange
        let clock = Arc::new(FakeClock::at_wall_clock());
        let actix = ActixSessionStore::with_clock(store.clone(), clock.clone());
        let ttl = Duration::seconds(60);
        let state = actix_state(&[("counter", "1"), ("name", r#""ferris""#)]);

        // save: fresh Django keys, the state back exactly, the TTL as the expiry date.
        let k1 = actix.save(state.clone(), &ttl).await.unwrap();
        let k2 = actix.save(state.clone(), &ttl).await.unwrap();
        assert_ne!(k1, k2);
        assert_eq!(k1.as_ref().len(), 32);
        assert_eq!(actix.load(&k1).await.unwrap(), Some(state.clone()));
        clock.advance(TimeDelta::seconds(61));
        assert_eq!(actix.load(&k1).await.unwrap(), None, "expired");

        // update: same key while the session lives.
        let k3 = actix.save(state.clone(), &ttl).await.unwrap();
        let k3_name = k3.as_ref().to_owned();
        let changed = actix_state(&[("counter", "2")]);
        let k3_after = actix.update(k3, changed.clone(), &ttl).await.unwrap();
        assert_eq!(k3_after.as_ref(), k3_name);
        assert_eq!(actix.load(&k3_after).await.unwrap(), Some(changed.clone()));

        // update of a deleted session: a new key; the old one stays dead.
        actix.delete(&k3_after).await.unwrap();
        let k4 = actix
            .update(actix_key(&k3_name), changed.clone(), &ttl)
            .await
            .unwrap();
        assert_ne!(k4.as_ref(), k3_name);
        assert_eq!(actix.load(&k4).await.unwrap(), Some(changed.clone()));
        assert_eq!(actix.load(&actix_key(&k3_name)).await.unwrap(), None);

        // update_ttl: extends a live session, ignores a missing one.
        clock.advance(TimeDelta::seconds(50));
        actix.update_ttl(&k4, &ttl).await.unwrap();
        clock.advance(TimeDelta::seconds(50));
        assert_eq!(actix.load(&k4).await.unwrap(), Some(changed));
        actix.update_ttl(&actix_key(&k3_name), &ttl).await.unwrap();
        assert_eq!(actix.load(&actix_key(&k3_name)).await.unwrap(), None);

        // An absurd TTL saturates instead of overflowing into the past.
        let forever = actix.save(state.clone(), &Duration::MAX).await.unwrap();
        clock.advance(TimeDelta::days(365 * 100));
        assert_eq!(actix.load(&forever).await.unwrap(), Some(state.clone()));

        // Keys sessionlab could never have issued name no session, and are never stored under.
        let bogus = actix_key("../../etc/passwd");
        assert_eq!(actix.load(&bogus).await.unwrap(), None);
        actix.delete(&bogus).await.unwrap();
        actix.update_ttl(&bogus, &ttl).await.unwrap();
        let k5 = actix.update(bogus, state.clone(), &ttl).await.unwrap();
        assert_ne!(k5.as_ref(), "../../etc/passwd");
        assert_eq!(actix.load(&k5).await.unwrap(), Some(state));

        // A session written through sessionlab's own API reads as actix-session's JSON texts.
        let django_key = "djangowrotethissessionkey0000001";
        let record = SessionRecord {
            key: django_key.to_owned(),
            data: data(json!({"counter": 5, "user": {"id": 7}, "note": "hi"})),
            expire_date: clock.now() + TimeDelta::seconds(60),
        };
        store.save(&record, SaveMode::Create).await.unwrap();
        assert_eq!(
            actix.load(&actix_key(django_key)).await.unwrap(),
            Some(actix_state(&[
                ("counter", "5"),
                ("user", r#"{"id":7}"#),
                ("note", r#""hi""#)
            ]))
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Checks that do not depend on the store.

#[actix_web::test]
async fn a_value_json_cannot_keep_exactly_is_refused_with_a_500() {
    // Arrange
    let (store, _dir) = sqlite_store().await;
    let app = test::init_service(app(SessionMiddleware::new(
        ActixSessionStore::new(store),
        Key::generate(),
    )))
    .await;

    // Act: u128::MAX would come back as a float.
    let reply = post(&app, "/u128", None).await;

    // Assert
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(reply.cookie.is_none());
}

#[actix_web::test]
async fn a_store_that_is_down_is_a_500_without_a_cookie() {
    // Arrange: Redis where nothing listens, and a cookie naming a session in it.
    let mut settings = RedisSettings::new("redis://127.0.0.1:1/");
    settings.connect_timeout = std::time::Duration::from_millis(500);
    let key = Key::generate();
    let app = test::init_service(app(SessionMiddleware::new(
        ActixSessionStore::new(RedisStore::connect(&settings).unwrap()),
        key.clone(),
    )))
    .await;
    let mut jar = CookieJar::new();
    jar.private_mut(&key)
        .add(Cookie::new(COOKIE, "abcdefgh12345678abcdefgh12345678"));
    let cookie = jar.get(COOKIE).unwrap().clone();

    // Act: a new session's save, an existing one's load.
    let saved = get(&app, "/counter", None).await;
    let loaded = get(&app, "/peek", Some(&cookie)).await;

    // Assert
    for reply in [saved, loaded] {
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(reply.cookie.is_none());
    }
}

#[actix_web::test]
async fn a_db_store_opened_by_url_keeps_sessions_in_that_file_signed_with_that_key() {
    // Arrange: no sessionlab configuration, as an application of its own opens the store.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app").join("sessions.sqlite3");
    let codec = SessionCodec::new("the application's own secret", &[]);
    let store = DbStore::open(&format!("sqlite://{}", path.display()), codec.clone())
        .await
        .unwrap();
    let actix = ActixSessionStore::new(store);

    // Act
    let key = actix
        .save(actix_state(&[("counter", "1")]), &Duration::seconds(60))
        .await
        .unwrap();

    // Assert: the row is in that file, signed with that key and not the development one.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let (stored,): (String,) =
        sqlx::query_as("SELECT session_data FROM django_session WHERE session_key = ?")
            .bind(key.as_ref())
            .fetch_one(&pool)
            .await
            .unwrap();
    let now = Utc::now();
    assert_eq!(codec.decode(&stored, now), data(json!({"counter": 1})));
    let development = Settings::load_with_env(&config_dir(), "default", BTreeMap::new()).unwrap();
    assert!(
        SessionCodec::from_settings(&development)
            .decode(&stored, now)
            .is_empty()
    );
}

// ---------------------------------------------------------------------------------------------
// The stores. Add a store with one `interop_suite!` line.

/// The `db` engine on a SQLite file in a fresh temporary directory.
async fn sqlite_store() -> (DbStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/s.sqlite3", dir.path().display());
    let env = BTreeMap::from([("APP__DATABASE__URL".to_owned(), url)]);
    let settings = Settings::load_with_env(&config_dir(), "default", env).unwrap();
    (DbStore::connect(&settings).await.unwrap(), dir)
}

/// The `db` engine on an in-memory SQLite database.
async fn sqlite_memory_store() -> (DbStore, ()) {
    let env = BTreeMap::from([(
        "APP__DATABASE__URL".to_owned(),
        "sqlite::memory:".to_owned(),
    )]);
    let settings = Settings::load_with_env(&config_dir(), "default", env).unwrap();
    (DbStore::connect(&settings).await.unwrap(), ())
}

/// Runs every check in `checks` against the store `$make` builds: an async expression giving
/// `(store, guard)`, the guard kept alive for the test (a temporary directory, a schema …).
macro_rules! interop_suite {
    ($name:ident, $make:expr) => {
        mod $name {
            use super::*;
            interop_suite!(@checks $make;
                counter_persists_across_requests,
                purge_deletes_the_record,
                renew_moves_data_to_a_new_key,
                an_expired_session_loads_as_a_new_empty_session,
                the_ttl_is_extended_on_every_request_when_configured,
                a_ttl_extension_keeps_a_change_saved_meanwhile,
                values_of_several_types_round_trip,
                the_session_store_contract_holds,
            );
        }
    };
    (@checks $make:expr; $($check:ident,)+) => {
        $(
            #[actix_web::test]
            async fn $check() {
                let (store, _guard) = $make.await;
                checks::$check(store).await;
            }
        )+
    };
}

/// The `db` engine on a SQLite file opened by its URL, without sessionlab's configuration.
async fn sqlite_opened_store() -> (DbStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/app/sessions.sqlite3", dir.path().display());
    let codec = SessionCodec::new("interop-secret", &[]);
    (DbStore::open(&url, codec).await.unwrap(), dir)
}

interop_suite!(sqlite_file, sqlite_store());
interop_suite!(sqlite_opened, sqlite_opened_store());
interop_suite!(sqlite_memory, sqlite_memory_store());
interop_suite!(any_store_db, async {
    let (store, dir) = sqlite_store().await;
    (AnyStore::Db(store), dir)
});

/// The `file` engine in a fresh temporary directory.
async fn file_store() -> (FileStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(
        dir.path(),
        "sessionid",
        SessionCodec::new("interop-secret", &[]),
    )
    .unwrap();
    (store, dir)
}

/// The `db` engine on PostgreSQL, in a schema of its own.
async fn postgres_store() -> (PgStore, common::PgSchema) {
    let schema = common::PgSchema::create().await;
    let store = PgStore::connect(&schema.url, 4, SessionCodec::new("interop-secret", &[]))
        .await
        .unwrap();
    (store, schema)
}

interop_suite!(file, file_store());
interop_suite!(postgres, postgres_store());

/// The `cache` engine in this process.
async fn memory_store() -> (MemoryStore, ()) {
    (MemoryStore::new(16 * 1024 * 1024), ())
}

/// The `cache` engine on Redis, under a key prefix of its own (wiped afterwards).
async fn redis_store() -> (RedisStore, common::RedisPrefix) {
    let prefix = common::RedisPrefix::new();
    let mut settings = RedisSettings::new(common::redis_url());
    settings.key_prefix = format!("{}django.contrib.sessions.cache", prefix.prefix);
    (RedisStore::connect(&settings).unwrap(), prefix)
}

/// The `cached_db` engine: Redis in front of SQLite.
async fn cached_db_store() -> (AnyStore, (tempfile::TempDir, common::RedisPrefix)) {
    let (db, dir) = sqlite_store().await;
    let (cache, prefix) = redis_store().await;
    let store = CachedDbStore::new(AnyStore::Db(db), AnyStore::Redis(cache));
    (AnyStore::CachedDb(Arc::new(store)), (dir, prefix))
}

interop_suite!(memory, memory_store());
interop_suite!(redis, redis_store());
interop_suite!(cached_db, cached_db_store());
