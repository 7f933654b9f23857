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
