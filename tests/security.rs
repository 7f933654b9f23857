//! Security properties over HTTP: protective headers on every answer, key rotation with
//! `secret_key_fallbacks`, keys from the OS CSPRNG.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::{spawn_app, spawn_with_settings, test_settings};
use sessionlab::session::FakeClock;

#[actix_web::test]
async fn every_answer_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/basic/",
        "/basic/set/",
        "/nope/",
        "/static/style.css",
        "/healthz",
    ] {
        let page = app.get(path, None).await;
        assert_security_headers(path, &page.headers);
    }
}

#[actix_web::test]
async fn json_answers_allow_nothing_to_load() {
    let app = spawn_app().await;
    for path in ["/basic/set/", "/dict/get/", "/nope/", "/healthz"] {
        let page = app.get_json(path, None).await;
        assert_eq!(page.headers["content-type"], "application/json", "{path}");
        assert_security_headers(path, &page.headers);
    }
}

fn assert_security_headers(path: &str, h: &reqwest::header::HeaderMap) {
    assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
    assert_eq!(h["x-frame-options"], "DENY", "{path}");
    assert_eq!(h["referrer-policy"], "same-origin", "{path}");
    let csp = h["content-security-policy"].to_str().unwrap();
    // A JSON answer loads nothing, so it allows nothing; a page only its own origin.
    let default_src = if h["content-type"] == "application/json" {
        "default-src 'none'"
    } else {
        "default-src 'self'"
    };
    assert!(
        csp.contains(default_src) && csp.contains("frame-ancestors 'none'"),
        "{path}: {csp}"
    );
    assert!(
        !csp.contains("unsafe-inline"),
        "{path}: no inline scripts or styles allowed"
    );
}

#[actix_web::test]
async fn pages_use_no_inline_scripts_or_styles() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/basic/",
        "/dict/get/",
        "/timeout/set/",
        "/playground/",
    ] {
        let body = app.get(path, None).await.body;
        assert!(!body.contains("<script>"), "{path} has an inline script");
        assert!(!body.contains("<style"), "{path} has an inline style");
        assert!(!body.contains(" style=\""), "{path} has a style attribute");
        assert!(!body.contains(" onclick="), "{path} has an inline handler");
    }
}

#[actix_web::test]
async fn rotating_the_secret_key_keeps_sessions_through_the_fallbacks() {
    // Arrange: sessions written under the old key.
    let data_dir = tempfile::tempdir().unwrap();
    let old = "old-secret-key-0123456789-0123456789-0123456789";
    let settings = test_settings(data_dir.path(), &[("APP__SECRET_KEY", old)]);
    let before =
        spawn_with_settings(settings, data_dir, Arc::new(FakeClock::at_wall_clock())).await;
    let key = before
        .get("/basic/set/", None)
        .await
        .cookie_value("sessionid")
        .unwrap();
    let data_dir = before.stop().await;

    // Act: the new key, with the old one as a fallback.
    let rotated = test_settings(
        data_dir.path(),
        &[
            (
                "APP__SECRET_KEY",
                "new-secret-key-9876543210-9876543210-9876543210",
            ),
            ("APP__SECRET_KEY_FALLBACKS", old),
        ],
    );
    assert_eq!(rotated.secret_key_fallbacks.len(), 1);
    let after = spawn_with_settings(rotated, data_dir, Arc::new(FakeClock::at_wall_clock())).await;
    let cookie = format!("sessionid={key}");
    let page = after.get_json("/basic/get/", Some(&cookie)).await.json();

    // Assert: the old session still reads; without the fallback it would not.
    assert_eq!(page["context"]["name"], "Sonam");
    let data_dir = after.stop().await;
    let no_fallback = test_settings(
        data_dir.path(),
        &[(
            "APP__SECRET_KEY",
            "new-secret-key-9876543210-9876543210-9876543210",
        )],
    );
    let strict =
        spawn_with_settings(no_fallback, data_dir, Arc::new(FakeClock::at_wall_clock())).await;
    let page = strict.get_json("/basic/get/", Some(&cookie)).await.json();
    assert_eq!(
        page["context"]["name"], "Guest",
        "data signed with an unknown key reads as empty"
    );
}

#[test]
fn session_keys_are_unique_over_100_000_draws_and_use_the_whole_alphabet() {
    let mut seen = HashSet::with_capacity(100_000);
    let mut counts = [0u32; 36];
    for _ in 0..100_000 {
        let key = sessionlab::session::key::new_session_key().unwrap();
        assert_eq!(key.len(), 32);
        for b in key.bytes() {
            let i = sessionlab::session::key::VALID_KEY_CHARS
                .iter()
                .position(|c| *c == b)
                .unwrap();
            counts[i] += 1;
        }
        assert!(seen.insert(key), "a repeated key");
    }
    // 3.2 M characters over 36 symbols: each about 88 889; a biased generator would stray far.
    let expected = 3_200_000.0 / 36.0;
    for (i, n) in counts.iter().enumerate() {
        let deviation = (f64::from(*n) - expected).abs() / expected;
        assert!(deviation < 0.02, "character {i} drawn {n} times");
    }
}

#[actix_web::test]
async fn a_cookie_that_is_no_session_key_is_logged_without_its_value() {
    // Arrange: the real binary, whose log lines the helper keeps.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/sessions.sqlite3", dir.path().display());
    let server = common::Server::start(&[("APP__DATABASE__URL", &url)]);
    let client = reqwest::Client::new();
    let get = |cookie: &'static str| {
        client
            .get(format!("{}/basic/get/", server.address))
            .header("Cookie", cookie)
            .send()
    };
    let lines_with = |text: &str| -> Vec<String> {
        let log = server.log.lock().unwrap();
        log.iter()
            .filter(|line| line.contains(text))
            .cloned()
            .collect()
    };

    // Act: a well-formed key that names no session, then garbage.
    let unknown = get("sessionid=aaaaaaaabbbbbbbbccccccccdddddddd")
        .await
        .unwrap();
    let garbage = get("sessionid=../../etc/passwd%00GARBAGE").await.unwrap();
    // The access log's line for a request follows whatever the request logged.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while lines_with("\"GET /basic/get/ HTTP/1.1\" 200").len() < 2
        && std::time::Instant::now() < deadline
    {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    // Assert: both are a fresh session; only the garbage is a security line (an expired or
    // deleted key is ordinary), and its value is not in it.
    assert_eq!(
        (unknown.status().as_u16(), garbage.status().as_u16()),
        (200, 200)
    );
    let lines = lines_with("sessionlab::security");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("session cookie is not a session key"),
        "{}",
        lines[0]
    );
    assert!(
        !lines[0].contains("passwd"),
        "the value is not logged: {}",
        lines[0]
    );
}

/// A playground `set` with a well-formed token in both the `csrftoken` cookie and the form,
/// sent with `headers`, as JSON: the status and the error's message.
async fn playground_set_with(app: &common::TestApp, headers: &[(&str, &str)]) -> (u16, String) {
    const TOKEN: &str = "abcdefghijklmnopqrstuvwxyzABCDEF";
    let mut req = app
        .client
        .post(format!("{}/playground/set/", app.address))
        .header("Accept", "application/json")
        .header("Cookie", format!("csrftoken={TOKEN}"))
        .form(&[("key", "a"), ("value", "1"), ("csrfmiddlewaretoken", TOKEN)]);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    (status, message.to_owned())
}

#[actix_web::test]
async fn forwarded_headers_from_a_client_do_not_make_another_site_this_one() {
    // Arrange: no proxy in front (the default), so X-Forwarded-* and Forwarded come from the
    // client; the site's own Origin passes.
    let app = spawn_app().await;
    let own_origin = app.address.clone();
    assert_eq!(
        playground_set_with(&app, &[("Origin", &own_origin)])
            .await
            .0,
        200
    );

    for forged in [
        vec![
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "evil.example"),
        ],
        vec![("Forwarded", "proto=https;host=evil.example")],
    ] {
        // Act: a POST from https://evil.example whose headers say this site is that one.
        let mut headers = forged.clone();
        headers.push(("Origin", "https://evil.example"));
        let (status, error) = playground_set_with(&app, &headers).await;

        // Assert: refused as Django refuses it when it trusts neither header.
        assert_eq!(status, 403, "{forged:?}: {error}");
        assert!(
            error.starts_with(
                "CSRF verification failed. Request aborted. Reason: Origin checking failed - https://evil.example does not match any trusted origins."
            ),
            "{forged:?}: {error}"
        );
    }
}

#[actix_web::test]
async fn behind_a_proxy_said_to_set_them_the_forwarded_headers_name_this_site() {
    // Arrange: `[server] trust_forwarded_headers = true`, as behind a reverse proxy that serves
    // https://lessons.example and sets the headers itself.
    let app = common::spawn_app_with(&[("APP__SERVER__TRUST_FORWARDED_HEADERS", "true")]).await;
    let proxy_origin = [("Origin", "https://lessons.example")];

    for forwarded in [
        vec![
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "lessons.example"),
        ],
        vec![("Forwarded", "proto=https;host=lessons.example")],
    ] {
        // Act: the proxied site's own form.
        let mut headers = forwarded.clone();
        headers.extend(proxy_origin);
        let (status, error) = playground_set_with(&app, &headers).await;

        // Assert: the site's address is the proxy's, as Django's with SECURE_PROXY_SSL_HEADER
        // and USE_X_FORWARDED_HOST.
        assert_eq!(status, 200, "{forwarded:?}: {error}");
    }

    // The same Origin without the proxy's headers is another site.
    let (status, error) = playground_set_with(&app, &proxy_origin).await;
    assert_eq!(status, 403, "{error}");
}
