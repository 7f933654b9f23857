//! The inspector shows exactly the `Set-Cookie` the response carries (value masked), lists
//! the cookies the browser sent, and never changes what the middleware does.

mod common;

use common::{Browser, Page, spawn_app};
use sessionlab::inspector::mask;

fn unescape(html: &str) -> String {
    html.replace("&quot;", "\"")
        .replace("&#x2F;", "/")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The header the inspector shows, unescaped.
fn shown_header(page: &Page) -> Option<String> {
    let start = page.body.find("<code class=\"header\">Set-Cookie: ")?;
    let rest = &page.body[start + "<code class=\"header\">Set-Cookie: ".len()..];
    Some(unescape(&rest[..rest.find("</code>")?]))
}

/// The real header with its value masked the way the inspector masks it.
fn masked(actual: &str, shown_value: &str) -> String {
    let (pair, attrs) = actual.split_once(';').unwrap();
    let (name, _) = pair.split_once('=').unwrap();
    format!("{name}={shown_value};{attrs}")
}

#[actix_web::test]
async fn the_shown_set_cookie_is_the_one_sent() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);

    // A new session: the key is new, so it is shown as "(new value)".
    let set = browser.get("/basic/set/").await;
    let actual = set.set_cookie();
    assert_eq!(shown_header(&set).unwrap(), masked(&actual, "(new value)"));
    assert!(
        set.body
            .contains("The session cookie <code>sessionid</code> did not come with this request")
    );

    // An existing session, modified: the same key, masked.
    let key = set.cookie_value("sessionid").unwrap();
    let again = browser.get("/basic/set/").await;
    assert_eq!(
        shown_header(&again).unwrap(),
        masked(&again.set_cookie(), &mask(&key))
    );
    let sent = format!(
        "<code>sessionid={}</code> <strong>this lesson's session cookie</strong>",
        mask(&key)
    );
    assert!(
        again.body.contains(&sent),
        "the cookie the browser sent is listed, masked"
    );

    // Read only: nothing sent, nothing shown.
    let get = browser.get("/basic/get/").await;
    assert!(get.set_cookies().is_empty());
    assert_eq!(shown_header(&get), None);

    // Flushed: the deletion cookie, shown exactly.
    let flushed = browser.get("/timeout/set/").await;
    assert!(shown_header(&flushed).is_some());
    let deleted = browser.get("/timeout/del/").await;
    assert_eq!(shown_header(&deleted).unwrap(), deleted.set_cookie());
}

#[actix_web::test]
async fn the_lesson_page_inspects_without_touching_the_session() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.get("/dict/set/").await;
    let page = browser.get("/dict/").await;
    assert!(page.set_cookies().is_empty());
    assert_eq!(
        page.vary(),
        None,
        "looking did not mark the session accessed"
    );
    assert!(page.body.contains("Session inspector"));
    assert!(
        page.body.contains("<code>name</code>"),
        "the stored items are shown"
    );
    assert!(page.body.contains("seconds left"));
}

#[actix_web::test]
async fn the_session_key_never_appears_unmasked() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    let key = browser
        .get("/basic/set/")
        .await
        .cookie_value("sessionid")
        .unwrap();
    for path in ["/basic/", "/basic/get/", "/basic/set/"] {
        let page = browser.get(path).await;
        assert!(!page.body.contains(&key), "{path} shows the key");
    }
}

/// The inspector's "seconds left", if it shows one.
fn seconds_left(page: &Page) -> Option<i64> {
    let start = page.body.find("data-seconds-left=\"")? + "data-seconds-left=\"".len();
    let rest = &page.body[start..];
    rest[..rest.find('"')?].parse().ok()
}

#[actix_web::test]
async fn the_stored_record_is_shown_as_this_response_leaves_it() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);

    // No cookie, nothing saved.
    let first = browser.get("/pagesession/get/").await;
    assert!(
        first
            .body
            .contains("No session is stored for this request.")
    );
    assert!(
        first
            .body
            .contains("The browser sent no session cookie and the session was not modified")
    );
    assert_eq!(seconds_left(&first), None);

    // A save: the record as written, with the whole age left.
    let set = browser.get("/pagesession/set/").await;
    assert!(set.body.contains("This response saves the session."));
    assert_eq!(seconds_left(&set), Some(20));

    // The sliding get saves again: 20 seconds left after it, not the 13 left before it.
    app.advance(7);
    let slid = browser.get("/pagesession/get/").await;
    assert!(slid.set_cookie().contains("; Max-Age=20;"));
    assert!(slid.body.contains("This response saves the session."));
    assert_eq!(seconds_left(&slid), Some(20));

    // A read that saves nothing: the record as loaded, and its time left.
    let _ = browser.get("/basic/set/").await;
    app.advance(100);
    let read = browser.get("/basic/get/").await;
    assert!(read.set_cookies().is_empty());
    assert!(
        read.body
            .contains("Loaded for this request and left as it was.")
    );
    assert_eq!(seconds_left(&read), Some(1_209_600 - 100));
    assert!(
        read.body
            .contains("so nothing is saved and the browser keeps the cookie it has")
    );

    // A delete: the session is gone and the cookie with it; no time left to show.
    let deleted = browser.get("/pagesession/del/").await;
    assert!(deleted.set_cookie().contains("Max-Age=0"));
    assert!(
        deleted
            .body
            .contains("No session is stored under the browser's cookie any more")
    );
    assert_eq!(seconds_left(&deleted), None);
    assert!(
        !deleted.body.contains("<code>name</code>"),
        "no items shown"
    );
}

#[actix_web::test]
async fn a_browser_that_refuses_cookies_is_named_among_the_reasons_the_cookie_did_not_come() {
    let app = spawn_app().await;

    // A browser that refuses cookies: set/ sends the cookie, check/ gets none back.
    let set = app.get("/testcookie/set/", None).await;
    assert!(set.set_cookie().starts_with("sessionid="));
    let check = app.get("/testcookie/check/", None).await;

    assert!(check.body.contains("<p class=\"answer\">False</p>"));
    assert!(
        check
            .body
            .contains("The browser refuses cookies from this site (blocked in its settings)"),
        "{}",
        check.body
    );
}

/// `GET /settings/get/` (a `Secure` cookie) with `host` as the `Host` header; the page's text.
async fn settings_get_from(address: &str, host: &str) -> String {
    settings_get_with(address, host, "").await
}

/// `GET /settings/get/` with `host` as the `Host` header and `headers` (lines ending in CRLF)
/// besides; the page's text.
async fn settings_get_with(address: &str, host: &str, headers: &str) -> String {
    let request = format!(
        "GET /settings/get/ HTTP/1.1\r\nHost: {host}\r\n{headers}Accept: text/html\r\nConnection: close\r\n\r\n"
    );
    let answer = common::raw_request(address, request.as_bytes())
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "Host: {host}");
    unescape(&String::from_utf8_lossy(&answer.body))
}

#[actix_web::test]
async fn a_secure_cookie_over_http_is_blamed_on_the_host_named_whole_with_or_without_a_port() {
    // Arrange
    let app = spawn_app().await;
    const BLAME: &str = "This lesson's cookie is Secure, and this page came over plain http";

    // Act
    let loopback = settings_get_from(&app.address, "[::1]").await;
    let loopback_with_port = settings_get_from(&app.address, "[::1]:8000").await;
    let other = settings_get_from(&app.address, "[2001:db8::1]").await;
    let other_with_port = settings_get_from(&app.address, "[2001:db8::1]:8000").await;

    // Assert: the IPv6 loopback is as local as 127.0.0.1, and another address is named whole.
    assert!(!loopback.contains(BLAME), "{loopback}");
    assert!(!loopback_with_port.contains(BLAME), "{loopback_with_port}");
    for page in [&other, &other_with_port] {
        assert!(
            page.contains(&format!(
                "{BLAME} from [2001:db8::1], which is not localhost"
            )),
            "{page}"
        );
    }
}

#[actix_web::test]
async fn a_secure_cookie_behind_a_proxy_not_believed_points_at_the_setting_that_believes_it() {
    // Arrange: the server does not trust forwarded headers (the default).
    let app = spawn_app().await;
    const SETTING: &str = "trust_forwarded_headers = true";

    // Act: a page a proxy says came over https, in either header, and one it says came over
    // plain http.
    let forwarded = settings_get_with(
        &app.address,
        "class.example",
        "Forwarded: proto=https;host=class.example\r\n",
    )
    .await;
    let x_forwarded = settings_get_with(
        &app.address,
        "class.example",
        "X-Forwarded-Proto: https\r\n",
    )
    .await;
    let plain =
        settings_get_with(&app.address, "class.example", "X-Forwarded-Proto: http\r\n").await;

    // Assert
    for page in [&forwarded, &x_forwarded] {
        assert!(page.contains(SETTING), "{page}");
        assert!(
            !page.contains("the browser neither stores nor sends it"),
            "{page}"
        );
    }
    assert!(!plain.contains(SETTING), "{plain}");
    assert!(
        plain.contains(
            "from class.example, which is not localhost: the browser neither stores nor sends it"
        ),
        "{plain}"
    );
}
