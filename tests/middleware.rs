//! Django's `SessionMiddleware.process_response` rules that no lesson view exercises, checked
//! on the middleware itself with purpose-built views: 5xx never saves (but still deletes a
//! cookie that names no session), a session deleted meanwhile is a 400, `cycle_key`,
//! corrupted data, and a stale key that is cleared.

mod common;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{SET_COOKIE, VARY};
use actix_web::{App, HttpResponse, test, web};
use sessionlab::config::SessionSettings;
use sessionlab::session::store::{AnyStore, DbStore, MemoryStore};
use sessionlab::session::{
    FakeClock, Session, SessionBackend, SessionEngine, SessionMiddleware, SignedCookies, Store,
};

struct Fixture {
    store: AnyStore,
    engine: Arc<SessionEngine>,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let settings = common::test_settings(dir.path(), &[]);
    let store = AnyStore::Db(DbStore::connect(&settings).await.unwrap());
    let engine = Arc::new(SessionEngine {
        settings: SessionSettings::django_defaults("/"),
        backend: SessionBackend::Store(store.clone()),
        clock: Arc::new(FakeClock::at_wall_clock()),
    });
    Fixture {
        store,
        engine,
        _dir: dir,
    }
}

fn cookie_key<B>(res: &actix_web::dev::ServiceResponse<B>) -> Option<String> {
    let header = res.headers().get(SET_COOKIE)?.to_str().unwrap();
    let value = header.split(';').next()?.strip_prefix("sessionid=")?;
    Some(value.to_owned())
}

async fn count_rows(store: &AnyStore) -> Option<i64> {
    store.count_live(chrono::Utc::now()).await.unwrap()
}

#[actix_web::test]
async fn a_server_error_saves_nothing_and_sets_no_cookie() {
    let f = fixture().await;
    let app = test::init_service(
        App::new()
            .wrap(SessionMiddleware::new(f.engine.clone()))
            .route(
                "/fail/{status}/",
                web::get().to(|session: Session, status: web::Path<u16>| async move {
                    session.insert("name", "Sonam");
                    HttpResponse::build(StatusCode::from_u16(status.into_inner()).unwrap()).finish()
                }),
            ),
    )
    .await;
    for status in [500, 503] {
        let res = test::call_service(
            &app,
            test::TestRequest::get()
                .uri(&format!("/fail/{status}/"))
                .to_request(),
        )
        .await;
        assert_eq!(res.status().as_u16(), status);
        assert!(
            res.headers().get(SET_COOKIE).is_none(),
            "{status}: no cookie"
        );
        assert_eq!(res.headers().get(VARY).unwrap(), "Cookie");
    }
    assert_eq!(count_rows(&f.store).await, Some(0), "no row was created");
    let res = test::call_service(
        &app,
        test::TestRequest::get().uri("/fail/499/").to_request(),
    )
    .await;
    assert!(cookie_key(&res).is_some(), "499 saves normally");
    assert_eq!(count_rows(&f.store).await, Some(1));
}

#[actix_web::test]
async fn a_server_error_still_deletes_a_cookie_that_names_no_session() {
    // Django's process_response takes the deletion branch before it looks at the status:
    // only the save waits for a status under 500.
    let f = fixture().await;
    let app = test::init_service(
        App::new()
            .wrap(SessionMiddleware::new(f.engine.clone()))
            .route(
                "/fail/",
                web::get().to(|| async { HttpResponse::InternalServerError().finish() }),
            )
            .route(
                "/flush-and-fail/",
                web::get().to(|session: Session| async move {
                    session.flush().await.unwrap();
                    HttpResponse::ServiceUnavailable().finish()
                }),
            ),
    )
    .await;
    let deletion =
        "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax";
    for (uri, cookie) in [
        ("/fail/", "sessionid=abc".to_owned()),
        (
            "/flush-and-fail/",
            "sessionid=aaaaaaaabbbbbbbbccccccccdddddddd".to_owned(),
        ),
    ] {
        let res = test::call_service(
            &app,
            test::TestRequest::get()
                .uri(uri)
                .insert_header(("Cookie", cookie))
                .to_request(),
        )
        .await;
        assert!(res.status().is_server_error(), "{uri}");
        let cookies: Vec<&str> = res
            .headers()
            .get_all(SET_COOKIE)
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(cookies, vec![deletion], "{uri}");
        assert_eq!(res.headers().get(VARY).unwrap(), "Cookie", "{uri}");
    }
}

#[actix_web::test]
async fn a_session_deleted_while_the_request_runs_is_a_400() {
    let f = fixture().await;
    deleted_while_the_request_runs(&f.store, f.engine.clone()).await;
    assert_eq!(
        count_rows(&f.store).await,
        Some(0),
        "the deleted session stays deleted"
    );
}

#[actix_web::test]
async fn a_cache_session_deleted_while_the_request_runs_is_a_400() {
    // Django's cache engine: the update finds no entry (`UpdateError`), as the db engine's
    // finds no row.
    let store = AnyStore::Memory(MemoryStore::new(1 << 20));
    let engine = Arc::new(SessionEngine {
        settings: SessionSettings::django_defaults("/"),
        backend: SessionBackend::Store(store.clone()),
        clock: Arc::new(FakeClock::at_wall_clock()),
    });
    deleted_while_the_request_runs(&store, engine).await;
}

/// Django's `SessionInterrupted`: another request deletes the session while this one, which
/// then writes to it, is still running. The answer is a 400 with no cookie, and the session
/// stays deleted.
async fn deleted_while_the_request_runs(store: &AnyStore, engine: Arc<SessionEngine>) {
    let deleting = store.clone();
    let app = test::init_service(
        App::new()
            .wrap(SessionMiddleware::new(engine))
            .route(
                "/set/",
                web::get().to(|session: Session| async move {
                    session.insert("name", "Sonam");
                    HttpResponse::Ok().finish()
                }),
            )
            .route(
                "/race/",
                web::get().to(move |session: Session| {
                    let store = deleting.clone();
                    async move {
                        // Another request logs out while this one is still working.
                        let key = session.session_key().unwrap();
                        store.delete(&key).await.unwrap();
                        session.insert("visits", 2);
                        HttpResponse::Ok().finish()
                    }
                }),
            ),
    )
    .await;
    let res = test::call_service(&app, test::TestRequest::get().uri("/set/").to_request()).await;
    let key = cookie_key(&res).unwrap();
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/race/")
            .insert_header(("Cookie", format!("sessionid={key}")))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.headers().get(SET_COOKIE).is_none());
    assert!(
        store
            .load(&key, chrono::Utc::now())
            .await
            .unwrap()
            .is_none(),
        "the deleted session stays deleted"
    );
}

#[actix_web::test]
async fn cycle_key_keeps_the_data_under_a_new_key_and_kills_the_old_one() {
    let f = fixture().await;
    let app = test::init_service(
        App::new()
            .wrap(SessionMiddleware::new(f.engine.clone()))
            .route(
                "/set/",
                web::get().to(|session: Session| async move {
                    session.insert("user", "sonam");
                    HttpResponse::Ok().finish()
                }),
            )
            .route(
                "/cycle/",
                web::get().to(|session: Session| async move {
                    session.cycle_key().await.unwrap();
                    HttpResponse::Ok().finish()
                }),
            ),
    )
    .await;
    let old = cookie_key(
        &test::call_service(&app, test::TestRequest::get().uri("/set/").to_request()).await,
    )
    .unwrap();
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/cycle/")
            .insert_header(("Cookie", format!("sessionid={old}")))
            .to_request(),
    )
    .await;
    let new = cookie_key(&res).expect("the new key is sent");
    assert_ne!(new, old);
    let now = chrono::Utc::now();
    assert!(
        f.store.load(&old, now).await.unwrap().is_none(),
        "old key is dead"
    );
    let data = f
        .store
        .load(&new, now)
        .await
        .unwrap()
        .expect("new key lives");
    assert_eq!(data.data["user"], "sonam");
}

#[actix_web::test]
async fn clearing_a_session_whose_key_is_stale_creates_a_fresh_one_instead_of_failing() {
    let f = fixture().await;
    let app = test::init_service(
        App::new()
            .wrap(SessionMiddleware::new(f.engine.clone()))
            .route(
                "/clear-and-set/",
                web::get().to(|session: Session| async move {
                    session.clear();
                    session.insert("fresh", true);
                    HttpResponse::Ok().finish()
                }),
            ),
    )
    .await;
    let stale = "qqqqqqqqwwwwwwwweeeeeeeerrrrrrrr";
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/clear-and-set/")
            .insert_header(("Cookie", format!("sessionid={stale}")))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let key = cookie_key(&res).unwrap();
    assert_ne!(key, stale);
}

#[actix_web::test]
async fn clearing_an_expired_session_drops_its_key_instead_of_reviving_it() {
    // Django's clear() does not load, so the key of an expired row stays and the save after it
    // updates that row: the dead key comes back with `{}` and a fresh cookie (the cache engine
    // finds no entry and answers 400). sessionlab's clear() loads first, as every other method
    // does (docs/ARCHITECTURE.md): the dead key is dropped, and the cookie that named it is
    // deleted.
    let dir = tempfile::tempdir().unwrap();
    let settings = common::test_settings(dir.path(), &[]);
    let store = AnyStore::Db(DbStore::connect(&settings).await.unwrap());
    let clock = Arc::new(FakeClock::at_wall_clock());
    let mut session_settings = SessionSettings::django_defaults("/");
    session_settings.cookie_age = 60;
    let engine = Arc::new(SessionEngine {
        settings: session_settings,
        backend: SessionBackend::Store(store.clone()),
        clock: clock.clone(),
    });
    let app = test::init_service(
        App::new()
            .wrap(SessionMiddleware::new(engine))
            .route(
                "/set/",
                web::get().to(|session: Session| async move {
                    session.insert("name", "Sonam");
                    HttpResponse::Ok().finish()
                }),
            )
            .route(
                "/clear/",
                web::get().to(|session: Session| async move {
                    session.clear();
                    HttpResponse::Ok().finish()
                }),
            ),
    )
    .await;
    let key = cookie_key(
        &test::call_service(&app, test::TestRequest::get().uri("/set/").to_request()).await,
    )
    .unwrap();
    clock.advance(chrono::TimeDelta::seconds(61));

    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/clear/")
            .insert_header(("Cookie", format!("sessionid={key}")))
            .to_request(),
    )
    .await;

    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers().get(SET_COOKIE).unwrap(),
        "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax"
    );
    let now = sessionlab::session::Clock::now(clock.as_ref());
    assert!(
        store.load(&key, now).await.unwrap().is_none(),
        "the expired session stays dead"
    );
}

#[actix_web::test]
async fn modified_alone_saves_only_a_session_there_is() {
    // Django (h) and (h′): `request.session.modified = True` in a view that never reads the
    // session. Without a cookie the session is empty: nothing is saved, and nothing accessed
    // it, so there is no Vary either. With a live session's cookie it is saved again under its
    // key. With a key that names no session, the save's load drops the key and creates a new,
    // empty session.
    let f = fixture().await;
    let app = test::init_service(
        App::new()
            .wrap(SessionMiddleware::new(f.engine.clone()))
            .route(
                "/set/",
                web::get().to(|session: Session| async move {
                    session.insert("name", "Sonam");
                    HttpResponse::Ok().finish()
                }),
            )
            .route(
                "/touch/",
                web::get().to(|session: Session| async move {
                    session.set_modified(true);
                    HttpResponse::Ok().finish()
                }),
            ),
    )
    .await;
    let touch = |cookie: Option<String>| {
        let mut req = test::TestRequest::get().uri("/touch/");
        if let Some(cookie) = cookie {
            req = req.insert_header(("Cookie", cookie));
        }
        req.to_request()
    };

    let res = test::call_service(&app, touch(None)).await;
    assert!(
        res.headers().get(SET_COOKIE).is_none(),
        "no session, no cookie"
    );
    assert!(res.headers().get(VARY).is_none(), "nothing accessed it");
    assert_eq!(count_rows(&f.store).await, Some(0));

    let key = cookie_key(
        &test::call_service(&app, test::TestRequest::get().uri("/set/").to_request()).await,
    )
    .unwrap();
    let res = test::call_service(&app, touch(Some(format!("sessionid={key}")))).await;
    assert_eq!(
        cookie_key(&res).as_deref(),
        Some(key.as_str()),
        "saved again"
    );
    assert!(
        res.headers()
            .get(SET_COOKIE)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("; Max-Age=1209600; ")
    );
    assert_eq!(res.headers().get(VARY).unwrap(), "Cookie");

    let unknown = "aaaaaaaabbbbbbbbccccccccdddddddd";
    let res = test::call_service(&app, touch(Some(format!("sessionid={unknown}")))).await;
    let fresh = cookie_key(&res).expect("a new session");
    assert!(common::is_generated_key(&fresh) && fresh != unknown && fresh != key);
    assert_eq!(res.headers().get(VARY).unwrap(), "Cookie");
    let now = chrono::Utc::now();
    let saved = f.store.load(&fresh, now).await.unwrap().expect("saved");
    assert!(saved.data.is_empty(), "an empty session: {:?}", saved.data);
    assert!(f.store.load(unknown, now).await.unwrap().is_none());
}

#[actix_web::test]
async fn a_key_error_is_seen_by_the_view_and_changes_nothing() {
    let f = fixture().await;
    let app = test::init_service(
        App::new()
            .wrap(SessionMiddleware::new(f.engine.clone()))
            .route(
                "/del/",
                web::get().to(|session: Session| async move {
                    let error = session.remove("missing").unwrap_err();
                    HttpResponse::Ok().body(error.to_string())
                }),
            ),
    )
    .await;
    let res = test::call_service(&app, test::TestRequest::get().uri("/del/").to_request()).await;
    assert!(
        res.headers().get(SET_COOKIE).is_none(),
        "nothing was modified"
    );
    let body = test::read_body(res).await;
    assert_eq!(body, "KeyError: \"missing\" is not in the session");
}

fn signed_engine(max_age: i64) -> Arc<SessionEngine> {
    let mut settings = SessionSettings::django_defaults("/");
    settings.cookie_age = max_age;
    Arc::new(SessionEngine {
        settings,
        backend: SessionBackend::SignedCookies(SignedCookies::new("secret-for-signed-tests", &[])),
        clock: Arc::new(FakeClock::at_wall_clock()),
    })
}

#[actix_web::test]
async fn a_signed_cookie_too_large_for_browsers_is_an_error_page_not_a_truncated_cookie() {
    let app = test::init_service(
        App::new()
            .wrap(SessionMiddleware::new(signed_engine(1_209_600)))
            .route(
                "/big/{n}/",
                web::get().to(|session: Session, n: web::Path<usize>| async move {
                    // Random data barely compresses.
                    let n = n.into_inner();
                    let noise: String = (0..n.div_ceil(32))
                        .map(|_| sessionlab::session::key::new_session_key().unwrap())
                        .collect();
                    session.insert("blob", noise);
                    HttpResponse::Ok().finish()
                }),
            ),
    )
    .await;
    let ok = test::call_service(
        &app,
        test::TestRequest::get().uri("/big/1000/").to_request(),
    )
    .await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(cookie_key(&ok).is_some());

    let res = test::call_service(
        &app,
        test::TestRequest::get().uri("/big/8000/").to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(
        res.headers().get(SET_COOKIE).is_none(),
        "no truncated cookie is sent"
    );
    let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    assert!(
        body.contains("too large for the signed_cookies engine"),
        "{body}"
    );
    assert!(body.contains("4093"), "{body}");
}

#[actix_web::test]
async fn a_tampered_signed_cookie_becomes_a_new_empty_signed_session() {
    let app = test::init_service(
        App::new()
            .wrap(SessionMiddleware::new(signed_engine(1_209_600)))
            .route(
                "/set/",
                web::get().to(|session: Session| async move {
                    session.insert("admin", false);
                    HttpResponse::Ok().finish()
                }),
            )
            .route(
                "/get/",
                web::get()
                    .to(|session: Session| async move { HttpResponse::Ok().json(session.items()) }),
            ),
    )
    .await;
    let value = cookie_key(
        &test::call_service(&app, test::TestRequest::get().uri("/set/").to_request()).await,
    )
    .unwrap();
    // {"admin":true} with the original signature.
    let (_, rest) = value.split_once(':').unwrap();
    let forged = format!("eyJhZG1pbiI6dHJ1ZX0:{rest}");
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/get/")
            .insert_header(("Cookie", format!("sessionid={forged}")))
            .to_request(),
    )
    .await;
    // As Django's signed_cookies engine: the session resets to a signed `{}`.
    let reset = cookie_key(&res).expect("a fresh signed cookie");
    assert!(reset.starts_with("e30:"), "{reset}");
    let body = test::read_body(res).await;
    assert_eq!(body, "[]");
}

#[actix_web::test]
async fn vary_gains_cookie_once_after_what_the_view_set() {
    let f = fixture().await;
    let app = test::init_service(
        App::new()
            .wrap(SessionMiddleware::new(f.engine.clone()))
            .route(
                "/vary/",
                web::get().to(
                    |session: Session, query: web::Query<Vec<(String, String)>>| async move {
                        let _ = session.get("name");
                        let mut res = HttpResponse::Ok();
                        for (_, value) in query.into_inner() {
                            res.append_header((VARY, value));
                        }
                        res.finish()
                    },
                ),
            ),
    )
    .await;
    // As Django's `patch_vary_headers`: existing values are kept in order, `Cookie` is added
    // unless a value is already `Cookie` (in any case), the list is written back joined with
    // `", "`, and a list holding `*` becomes `*` alone.
    let cases = [
        ("/vary/", "Cookie"),
        ("/vary/?v=Accept-Encoding", "Accept-Encoding, Cookie"),
        (
            "/vary/?v=Accept,%20Origin&v=User-Agent",
            "Accept, Origin, User-Agent, Cookie",
        ),
        ("/vary/?v=Accept,%20COOKIE", "Accept, COOKIE"),
        ("/vary/?v=*", "*"),
        ("/vary/?v=Accept,%20*", "*"),
        ("/vary/?v=Accept&v=*", "*"),
        ("/vary/?v=Accept,Cookie", "Accept, Cookie"),
        ("/vary/?v=Accept%20%20,%20Origin", "Accept, Origin, Cookie"),
    ];
    for (uri, expected) in cases {
        let res = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
        let vary: Vec<&str> = res
            .headers()
            .get_all(VARY)
            .map(|value| value.to_str().unwrap())
            .collect();
        assert_eq!(vary.join(", "), expected, "{uri}");
    }
}
