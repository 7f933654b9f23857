//! Wire compatibility with Django itself: a Django 5.2 app with the same `SECRET_KEY` reads
//! the sessions sessionlab writes, and sessionlab reads Django's, for the `db` engine (the
//! same SQLite file) and the `signed_cookies` engine (the same cookie).
//!
//! Needs Python with Django 5.2: `scripts/test.sh` creates `target/django-venv`; set
//! `SESSIONLAB_DJANGO_PYTHON` to use another interpreter. Without one, these tests say so and
//! pass only when `SESSIONLAB_REQUIRE_DJANGO` is unset (as for a bare `cargo test`).

mod common;

use std::path::Path;

use common::{django_python, spawn_app_with, spawn_with_settings, test_settings};
use serde_json::{Value, json};
use sessionlab::session::FakeClock;
use std::sync::Arc;

fn django(python: &Path, args: &[&str]) -> Value {
    common::run_django(python, "django_sessions.py", args)
}

fn secret(settings: &sessionlab::config::Settings) -> String {
    settings.secret_key.expose().to_owned()
}

#[actix_web::test]
async fn django_reads_a_session_sessionlab_stored_in_the_database() {
    let Some(python) = django_python() else {
        return;
    };
    let app = spawn_app_with(&[]).await;
    let page = app.get("/timeout/set/", None).await;
    let key = page.cookie_value("sessionid").unwrap();

    let read = django(
        &python,
        &[
            "db-read",
            app.db_path().to_str().unwrap(),
            &secret(&app.settings),
            &key,
        ],
    );
    assert_eq!(
        read["data"],
        json!({"name": "Sonam", "_session_expiry": 600})
    );
    assert_eq!(
        read["expiry_age"], 600,
        "Django reads our expiry the same way"
    );
}

#[actix_web::test]
async fn sessionlab_reads_a_session_django_stored_in_the_database() {
    let Some(python) = django_python() else {
        return;
    };
    let app = spawn_app_with(&[]).await;
    // sessionlab created the table; Django writes into it.
    let data = json!({"name": "Django", "lname": "Reinhardt", "nested": {"z": [1, 2], "a": "é"}});
    let written = django(
        &python,
        &[
            "db-write",
            app.db_path().to_str().unwrap(),
            &secret(&app.settings),
            &data.to_string(),
        ],
    );
    let key = written["key"].as_str().unwrap();
    let page = app
        .get_json("/basic/get/", Some(&format!("sessionid={key}")))
        .await
        .json();
    assert_eq!(
        page["context"],
        json!({"name": "Django", "lname": "Reinhardt"})
    );
    assert_eq!(page["session"]["keys"], json!(["name", "lname", "nested"]));
    assert_eq!(page["session"]["items"][2][1], data["nested"]);
}

#[actix_web::test]
async fn django_reads_sessionlabs_signed_cookie() {
    let Some(python) = django_python() else {
        return;
    };
    let app = spawn_app_with(&[("APP__SESSION__ENGINE", "signed_cookies")]).await;
    let page = app.get("/basic/set/", None).await;
    let value = page.cookie_value("sessionid").unwrap();
    let read = django(
        &python,
        &["cookie-read", &secret(&app.settings), &value, "1209600"],
    );
    assert_eq!(read["data"], json!({"name": "Sonam", "lname": "rathore"}));
    let tampered = value.replacen('e', "f", 1);
    let read = django(
        &python,
        &["cookie-read", &secret(&app.settings), &tampered, "1209600"],
    );
    assert_eq!(
        read["data"],
        Value::Null,
        "Django rejects a tampered cookie too"
    );
}

#[actix_web::test]
async fn sessionlab_reads_djangos_signed_cookie() {
    let Some(python) = django_python() else {
        return;
    };
    let data_dir = tempfile::tempdir().unwrap();
    let settings = test_settings(
        data_dir.path(),
        &[("APP__SESSION__ENGINE", "signed_cookies")],
    );
    let secret = secret(&settings);
    let app = spawn_with_settings(settings, data_dir, Arc::new(FakeClock::at_wall_clock())).await;
    let long_name = "Reinhardt ".repeat(50);
    let data = json!({"name": "Django", "lname": long_name});
    let signed = django(&python, &["cookie-sign", &secret, &data.to_string()]);
    let value = signed["value"].as_str().unwrap();
    assert!(value.starts_with('.'), "long data is compressed by Django");
    let page = app
        .get_json("/basic/get/", Some(&format!("sessionid={value}")))
        .await
        .json();
    assert_eq!(
        page["context"],
        json!({"name": "Django", "lname": long_name})
    );
}

#[actix_web::test]
async fn django_reads_sessionlabs_compressed_signed_cookie() {
    let Some(python) = django_python() else {
        return;
    };
    // Arrange: the playground's CSRF cookie, and a value long enough to be compressed.
    let app = spawn_app_with(&[("APP__SESSION__ENGINE", "signed_cookies")]).await;
    let token = app
        .get("/playground/", None)
        .await
        .cookie_value("csrftoken")
        .unwrap();
    let long_name = "Reinhardt é ".repeat(50);

    // Act: request.session['long'] = long_name, with the signed-cookie engine.
    let res = app
        .client
        .post(format!("{}/playground/set/", app.address))
        .header("Cookie", format!("csrftoken={token}"))
        .form(&[
            ("csrfmiddlewaretoken", token.as_str()),
            ("key", "long"),
            ("value", &json!(long_name).to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let value = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.strip_prefix("sessionid="))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .next()
        .expect("the session cookie");

    // Assert: compressed (a leading `.`), and Django's signing.loads reads it back.
    assert!(value.starts_with('.'), "long data is compressed: {value}");
    let read = django(
        &python,
        &["cookie-read", &secret(&app.settings), &value, "1209600"],
    );
    assert_eq!(read["data"], json!({ "long": long_name }));
}
