//! Every lesson's flow over HTTP, as a student clicks through it, checked on the JSON
//! rendering of each view (the same context the HTML page is rendered from).

mod common;

use common::{Browser, http_date, raw_request, spawn_app, spawn_app_with};
use serde_json::json;

#[actix_web::test]
async fn basic_sets_gets_and_deletes_name_and_lname() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);

    let before = browser.get_json("/basic/get/").await.json();
    assert_eq!(
        before["context"],
        json!({"name": "Guest", "lname": "Guest"})
    );

    browser.get_json("/basic/set/").await;
    let after = browser.get_json("/basic/get/").await.json();
    assert_eq!(
        after["context"],
        json!({"name": "Sonam", "lname": "rathore"})
    );
    assert_eq!(after["session"]["keys"], json!(["name", "lname"]));
    assert_eq!(
        after["session"]["items"],
        json!([["name", "Sonam"], ["lname", "rathore"]])
    );

    let key = browser.jar.header_for("/basic/").unwrap();
    let deleted = browser.get_json("/basic/del/").await;
    assert_eq!(
        deleted.json()["context"],
        json!({"deleted": true, "missing": []})
    );
    // Emptied but not flushed: Django saves the empty session under the same key.
    assert_eq!(
        format!("sessionid={}", deleted.cookie_value("sessionid").unwrap()),
        key
    );
    let rows = app.rows().await;
    assert_eq!(rows.len(), 1, "the row is kept with empty data");

    let gone = browser.get_json("/basic/get/").await.json();
    assert_eq!(gone["context"], json!({"name": "Guest", "lname": "Guest"}));
    let again = browser.get_json("/basic/del/").await.json();
    assert_eq!(again["context"]["deleted"], false);
}

#[actix_web::test]
async fn dict_keeps_insertion_order_and_setdefault_keeps_the_first_value() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.get_json("/dict/set/").await;

    let first = browser.get_json("/dict/get/").await;
    let json = first.json();
    assert_eq!(json["context"]["keys"], json!(["name", "lname", "age"]));
    assert_eq!(
        json["context"]["items"],
        json!([["name", "Sonam"], ["lname", "Ronaldo"], ["age", "26"]])
    );
    assert_eq!(json["context"]["age"], "26");
    assert_eq!(
        first.set_cookies().len(),
        1,
        "setdefault added a key: saved"
    );

    let second = browser.get_json("/dict/get/").await;
    assert!(
        second.set_cookies().is_empty(),
        "setdefault on a present key changes nothing"
    );
    assert_eq!(second.json()["context"]["age"], "26");

    let flushed = browser.get_json("/dict/flush/").await;
    assert_eq!(flushed.json()["context"]["flushed"], true);
    assert_eq!(flushed.json()["session"]["keys"], json!([]));
    assert_eq!(browser.jar.len(), 0, "the browser dropped the cookie");
}

#[actix_web::test]
async fn dict_get_shows_the_seed_template_s_three_loops_as_django_prints_them() {
    // Arrange
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.get("/dict/set/").await;

    // Act
    let page = browser.get("/dict/get/").await;

    // Assert: `{{key}}`, `{{item}}` (a tuple's repr) and `{{key}} {{value}}` (str of the value).
    assert_eq!(page.status, 200);
    let loops = [
        (
            "{% for key in keys %}{{key}}{% endfor %}",
            "<code>name</code> <code>lname</code> <code>age</code>",
        ),
        (
            "{% for item in items %}{{item}}{% endfor %}",
            "<code>(&#x27;name&#x27;, &#x27;Sonam&#x27;)</code> <code>(&#x27;lname&#x27;, &#x27;Ronaldo&#x27;)</code> <code>(&#x27;age&#x27;, &#x27;26&#x27;)</code>",
        ),
        (
            "{% for key, value in items %}{{key}} {{value}}{% endfor %}",
            "<code>name Sonam</code> <code>lname Ronaldo</code> <code>age 26</code>",
        ),
    ];
    let mut from = 0;
    for (template, output) in loops {
        let heading = format!("<h3><code>{template}</code></h3>\n<p class=\"loop\">{output}</p>");
        let at = page.body[from..]
            .find(&heading)
            .unwrap_or_else(|| panic!("{heading} after byte {from}: {}", page.body));
        from += at + heading.len();
    }
}

#[actix_web::test]
async fn pages_show_python_values_where_they_name_python() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.get("/timeout/set/").await;

    let timeout = browser.get("/timeout/get/").await;
    // No set_expiry() yet: SESSION_EXPIRE_AT_BROWSER_CLOSE = True decides.
    let expire_at_close = app.get("/settings/get/", None).await;
    let lesson = app.get("/basic/", None).await;
    let settings_lesson = app.get("/settings/", None).await;

    assert!(
        timeout
            .body
            .contains("<li>False: <code>get_expire_at_browser_close()</code></li>"),
        "{}",
        timeout.body
    );
    assert!(
        timeout
            .body
            .contains("<dt>get_expire_at_browser_close()</dt><dd>False</dd>")
    );
    assert!(
        timeout
            .body
            .contains("<td><code>_session_expiry</code></td><td><code>600</code></td>")
    );
    assert!(
        expire_at_close
            .body
            .contains("<dt>get_expire_at_browser_close()</dt><dd>True</dd>"),
        "{}",
        expire_at_close.body
    );
    for (page, secure, close) in [
        (&lesson, "False", "False"),
        (&settings_lesson, "True", "True"),
    ] {
        for row in [
            "<th scope=\"row\">SESSION_ENGINE</th><td><code>&#x27;django.contrib.sessions.backends.db&#x27;</code></td>".to_owned(),
            format!("<th scope=\"row\">SESSION_COOKIE_SECURE</th><td><code>{secure}</code></td>"),
            "<th scope=\"row\">SESSION_COOKIE_HTTPONLY</th><td><code>True</code></td>".to_owned(),
            "<th scope=\"row\">SESSION_COOKIE_SAMESITE</th><td><code>&#x27;Lax&#x27;</code></td>".to_owned(),
            format!("<th scope=\"row\">SESSION_EXPIRE_AT_BROWSER_CLOSE</th><td><code>{close}</code></td>"),
            "<th scope=\"row\">SESSION_COOKIE_DOMAIN</th><td><code>None</code> (host-only)</td>".to_owned(),
        ] {
            assert!(page.body.contains(&row), "{row}: {}", page.body);
        }
    }
    for page in [&timeout, &expire_at_close, &lesson, &settings_lesson] {
        for json_word in [">false<", ">true<", ">null<", "> false", "> true"] {
            assert!(!page.body.contains(json_word), "{json_word}: {}", page.body);
        }
    }
}

#[actix_web::test]
async fn timeout_expires_after_600_seconds_and_explains_instead_of_failing() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    let set = browser.get_json("/timeout/set/").await.json();
    assert_eq!(set["session"]["keys"], json!(["name", "_session_expiry"]));
    assert_eq!(set["session"]["items"][1], json!(["_session_expiry", 600]));

    app.advance(599);
    let live = browser.get_json("/timeout/get/").await.json();
    assert_eq!(live["context"], json!({"name": "Sonam"}));
    assert_eq!(live["session"]["cookie_age"], 1_209_600);
    assert_eq!(
        live["session"]["expiry_age"], 600,
        "an int expiry is returned as is"
    );
    assert_eq!(live["session"]["expire_at_browser_close"], false);
    let expected_date = (app.now() + chrono::TimeDelta::seconds(600))
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    assert_eq!(live["session"]["expiry_date"], expected_date);

    app.advance(2);
    let expired = browser.get_json("/timeout/get/").await;
    assert_eq!(expired.status, 200, "Django would raise KeyError here");
    assert_eq!(expired.json()["context"], json!({"expired": true}));
    assert!(
        expired.set_cookie().contains("Max-Age=0"),
        "the dead cookie is deleted"
    );

    let html = app.get("/timeout/get/", None).await;
    assert!(
        html.body.contains("Your session has expired"),
        "{}",
        html.body
    );
}

#[actix_web::test]
async fn timeout_del_says_whether_there_was_a_session_to_end() {
    // Arrange: a browser with a live session, one whose session expired; and no cookie at all.
    let app = spawn_app().await;
    let mut live = Browser::new(&app);
    live.get("/timeout/set/").await;
    let mut expired = Browser::new(&app);
    expired.get("/timeout/set/").await;
    app.advance(601);
    live.get("/timeout/set/").await;

    // Act
    let ended = live.get("/timeout/del/").await;
    let dead = expired.get("/timeout/del/").await;
    let never = app.get("/timeout/del/", None).await;
    let never_json = app.get_json("/timeout/del/", None).await.json();

    // Assert
    assert!(
        ended
            .body
            .contains("<code>flush()</code> ended this session"),
        "{}",
        ended.body
    );
    assert!(
        ended
            .body
            .contains("You session has been deleted successfully")
    );
    for page in [&dead, &never] {
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains("There was no session to delete"),
            "{}",
            page.body
        );
        assert!(!page.body.contains("ended this session"), "{}", page.body);
    }
    assert_eq!(never_json["context"]["ended_session"], false);
    assert!(
        dead.set_cookie().contains("Max-Age=0"),
        "the dead cookie is deleted all the same"
    );
}

#[actix_web::test]
async fn timeout_del_flushes_and_clears_expired_sessions() {
    let app = spawn_app().await;
    // Two sessions that will expire, one that will not.
    app.get("/timeout/set/", None).await;
    app.get("/timeout/set/", None).await;
    app.advance(601);
    let mut browser = Browser::new(&app);
    browser.get_json("/timeout/set/").await;
    assert_eq!(app.rows().await.len(), 3);

    let page = browser.get_json("/timeout/del/").await;
    assert_eq!(page.json()["context"]["expired_sessions_removed"], 2);
    assert_eq!(page.json()["context"]["ended_session"], true);
    assert!(page.set_cookie().starts_with("sessionid=\"\";"));
    assert!(app.rows().await.is_empty());
}

#[actix_web::test]
async fn testcookie_flow_and_deleting_a_missing_test_cookie_is_explained() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    let none = browser.get_json("/testcookie/check/").await.json();
    assert_eq!(none["context"], json!({"worked": false}));

    browser.get_json("/testcookie/set/").await;
    let worked = browser.get_json("/testcookie/check/").await.json();
    assert_eq!(worked["context"], json!({"worked": true}));
    assert_eq!(
        worked["session"]["items"],
        json!([["testcookie", "worked"]])
    );
    assert_eq!(worked["session"]["test_cookie_worked"], true);

    let deleted = browser.get_json("/testcookie/del/").await;
    assert_eq!(deleted.json()["context"], json!({"deleted": true}));
    assert_eq!(
        deleted.set_cookies().len(),
        1,
        "deleting modifies the session"
    );

    let again = browser.get("/testcookie/del/").await;
    assert_eq!(
        again.status, 200,
        "Django raises KeyError('testcookie') here"
    );
    assert!(again.body.contains("There was no test cookie to delete"));
    let after = browser.get_json("/testcookie/check/").await.json();
    assert_eq!(after["context"], json!({"worked": false}));
}

#[actix_web::test]
async fn pagesession_slides_while_visited_and_expires_20_seconds_after_the_last_visit() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    let set = browser.get_json("/pagesession/set/").await;
    let key = set.cookie_value("sessionid").unwrap();

    for _ in 0..3 {
        app.advance(15);
        let page = browser.get_json("/pagesession/get/").await;
        assert_eq!(page.json()["context"], json!({"name": "Sonam"}));
        assert_eq!(
            page.set_cookie(),
            format!(
                "sessionid={key}; expires={}; HttpOnly; Max-Age=20; Path=/pagesession/; SameSite=Lax",
                http_date(app.now(), 20)
            ),
            "modified = True re-saves under the same key with a fresh 20 s"
        );
    }
    app.advance(21);
    let expired = browser.get_json("/pagesession/get/").await;
    assert_eq!(expired.json()["context"], json!({"expired": true}));
    assert!(expired.set_cookie().contains("Max-Age=0"));
}

#[actix_web::test]
async fn settings_lesson_runs_the_timeout_views_under_its_own_settings() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.get_json("/settings/set/").await;
    app.advance(500);
    let page = browser.get_json("/settings/get/").await.json();
    assert_eq!(page["lesson"], "settings");
    assert_eq!(page["context"], json!({"name": "Sonam"}));
    assert_eq!(page["session"]["cookie_age"], 400);
    app.advance(101);
    let expired = browser.get_json("/settings/get/").await.json();
    assert_eq!(expired["context"], json!({"expired": true}));
}

#[actix_web::test]
async fn json_answers_have_the_documented_shape() {
    let app = spawn_app().await;
    let page = app.get_json("/basic/set/", None).await.json();
    let top: Vec<&str> = page
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(top, ["lesson", "view", "context", "session"]);
    assert_eq!(page["lesson"], "basic");
    assert_eq!(page["view"], "set");
    let session: Vec<&str> = page["session"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        session,
        [
            "keys",
            "items",
            "cookie_age",
            "expiry_age",
            "expiry_date",
            "expire_at_browser_close",
            "test_cookie_worked",
            "engine"
        ]
    );
    assert_eq!(page["session"]["engine"], "db");
}

#[actix_web::test]
async fn views_answer_post_as_well_as_get() {
    let app = spawn_app().await;
    let page = app
        .request(
            reqwest::Method::POST,
            "/basic/set/",
            None,
            "application/json",
        )
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.json()["session"]["keys"], json!(["name", "lname"]));
}

#[actix_web::test]
async fn every_page_answers_head_as_get_without_the_body() {
    let app = spawn_app().await;
    let pages = [
        "/",
        "/healthz",
        "/static/style.css",
        "/basic/",
        "/settings/",
        "/basic/get/",
        "/testcookie/check/",
        "/playground/",
    ];
    for path in pages {
        let get = app.get(path, None).await;
        assert_eq!(get.status, 200, "GET {path}");
        let head = raw_request(
            &app.address,
            format!("HEAD {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
        assert_eq!(head.status, 200, "HEAD {path}");
        assert_eq!(
            head.header_values("content-type"),
            [get.headers["content-type"].to_str().unwrap()],
            "HEAD {path}"
        );
        assert!(head.body.is_empty(), "HEAD {path} sent a body");
    }
}

#[actix_web::test]
async fn other_methods_are_a_405_naming_the_ones_an_address_answers() {
    let app = spawn_app().await;
    let addresses = [
        ("/", "GET, HEAD"),
        ("/healthz", "GET, HEAD"),
        ("/static/style.css", "GET, HEAD"),
        ("/basic/", "GET, HEAD"),
        ("/playground/", "GET, HEAD"),
        ("/basic/set/", "GET, HEAD, POST"),
        ("/dict/flush/", "GET, HEAD, POST"),
        ("/playground/set/", "POST"),
    ];
    for (path, allow) in addresses {
        for method in [reqwest::Method::PUT, reqwest::Method::DELETE] {
            let page = app
                .request(method.clone(), path, None, "application/json")
                .await;
            assert_eq!(page.status, 405, "{method} {path}");
            assert_eq!(page.headers["allow"], allow, "{method} {path}");
            assert_eq!(page.json()["error"]["status"], 405, "{method} {path}");
            assert!(
                page.set_cookies().is_empty(),
                "{method} {path} made a session"
            );
        }
    }
    let page = app
        .request(reqwest::Method::OPTIONS, "/basic/get/", None, "text/html")
        .await;
    assert_eq!(page.status, 405);
    assert!(
        page.body
            .contains("This address does not answer OPTIONS: it answers GET, HEAD, POST only."),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("<title>Method not allowed"),
        "{}",
        page.body
    );
    // An address that does not exist stays a 404 whatever the method.
    let page = app
        .request(
            reqwest::Method::PUT,
            "/basic/nope/",
            None,
            "application/json",
        )
        .await;
    assert_eq!(page.status, 404);
}

#[actix_web::test]
async fn index_lesson_pages_and_unknown_paths() {
    let app = spawn_app().await;
    let index = app.get_json("/", None).await.json();
    let slugs: Vec<&str> = index["lessons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["slug"].as_str().unwrap())
        .collect();
    assert_eq!(
        slugs,
        [
            "basic",
            "dict",
            "timeout",
            "testcookie",
            "settings",
            "pagesession"
        ]
    );

    for slug in slugs {
        let page = app.get(&format!("/{slug}/"), None).await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains(&format!("href=\"/{slug}/set/\"")),
            "{slug} links its views"
        );
        assert!(page.body.contains("<h1>"), "{slug} renders its lesson text");
        assert!(
            page.body
                .contains("async fn set(page: Page, session: Session)"),
            "{slug} shows its Rust handlers"
        );
    }

    let missing = app.get("/basic/nope/", None).await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("Page not found"));
    let missing_json = app.get_json("/nope/", None).await;
    assert_eq!(missing_json.status, 404);
    assert_eq!(missing_json.json()["error"]["status"], 404);

    let redirect = app.get("/basic/get", None).await;
    assert_eq!(redirect.status, 301);
    assert_eq!(redirect.headers["location"], "/basic/get/");
    assert!(redirect.set_cookies().is_empty());
    // APPEND_SLASH redirects only to a path that has a view, and never merges slashes.
    for path in ["/basic/nope", "/basic//get/", "/basic//get"] {
        let page = app.get(path, None).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(page.body.contains("Page not found"), "{path}");
    }
    // The session middleware sits outside the redirect, as in Django: a cookie naming no
    // session is deleted on the way.
    let redirect = app.get("/basic/get", Some("sessionid=abc")).await;
    assert_eq!(redirect.status, 301);
    assert_eq!(
        redirect.set_cookie(),
        "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/basic/; SameSite=Lax"
    );
    assert_eq!(redirect.vary().as_deref(), Some("Cookie"));
}

#[actix_web::test]
async fn html_pages_extend_the_base_template_and_escape_values() {
    let app = spawn_app().await;
    let page = app.get("/dict/get/", None).await;
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        page.body
            .contains("<link rel=\"stylesheet\" href=\"/static/style.css\">")
    );
    // setdefault stored "26", shown as Python prints it, and escaped.
    assert!(
        page.body
            .contains("<td><code>age</code></td><td><code>&#x27;26&#x27;</code></td>"),
        "{}",
        page.body
    );
    // `request.session.get('name')` of an empty session is None, printed as Django prints it.
    assert!(
        page.body.contains("<p class=\"answer\">None None</p>"),
        "{}",
        page.body
    );
    let css = app.get("/static/style.css", None).await;
    assert_eq!(css.status, 200);
    assert!(
        css.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
}

#[actix_web::test]
async fn a_static_file_is_checked_by_its_digest_before_a_kept_copy_is_used() {
    let app = spawn_app().await;

    let script = app.get("/static/inspector.js", None).await;

    assert_eq!(script.status, 200);
    assert_eq!(script.headers["cache-control"], "no-cache");
    let etag = script.headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.len() == 34 && etag.starts_with('"'), "{etag}");
    let css = app.get("/static/style.css", None).await;
    assert_ne!(
        css.headers["etag"],
        etag.as_str(),
        "each file has its own tag"
    );

    let revalidate = |tag: &str| {
        app.client
            .get(format!("{}/static/inspector.js", app.address))
            .header("If-None-Match", tag.to_owned())
            .send()
    };
    let unchanged = revalidate(&etag).await.unwrap();
    assert_eq!(unchanged.status(), 304);
    assert_eq!(unchanged.headers()["etag"], etag.as_str());
    assert!(unchanged.text().await.unwrap().is_empty());
    let weak = revalidate(&format!("W/{etag}")).await.unwrap();
    assert_eq!(weak.status(), 304, "If-None-Match compares weakly");

    let older = revalidate("\"0123456789abcdef0123456789abcdef\"")
        .await
        .unwrap();
    assert_eq!(older.status(), 200);
    assert_eq!(older.text().await.unwrap(), script.body);
}

#[actix_web::test]
async fn a_lesson_page_answers_its_views_and_settings_as_json() {
    let app = spawn_app().await;

    let page = app.get_json("/settings/", None).await;

    assert_eq!(page.status, 200);
    assert_eq!(
        page.headers["content-type"].to_str().unwrap(),
        "application/json"
    );
    let answer = page.json();
    assert_eq!(answer["lesson"], "settings");
    assert_eq!(answer["views"], json!(["set", "get", "del"]));
    assert_eq!(answer["settings"]["cookie_name"], "sessionname");
    assert_eq!(answer["settings"]["cookie_age"], 400);
    assert_eq!(
        page.cookie_value("sessionname"),
        None,
        "the lesson page never touches the session"
    );
}

/// The headings of `html`, in order: their level and their text (tags dropped, the entities
/// the pages use decoded).
fn headings(html: &str) -> Vec<(u8, String)> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find("<h") {
        rest = &rest[at + 2..];
        let Some(level) = rest.bytes().next().filter(|b| (b'1'..=b'6').contains(b)) else {
            continue;
        };
        if !matches!(rest.as_bytes().get(1), Some(b'>' | b' ')) {
            continue;
        }
        let open_end = rest.find('>').unwrap() + 1;
        let close = format!("</h{}>", level as char);
        let end = rest.find(&close).expect("a closed heading");
        found.push((level - b'0', text_of(&rest[open_end..end])));
        rest = &rest[end..];
    }
    found
}

/// The text of an HTML fragment: tags dropped, entities decoded.
fn text_of(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&#x27;", "'")
        .replace("&#x2F;", "/")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The text of the page's `<title>`.
fn title_of(html: &str) -> String {
    let start = html.find("<title>").expect("a title") + "<title>".len();
    let end = html.find("</title>").expect("a closed title");
    text_of(&html[start..end])
}

/// Asserts the headings of the page at `path` start with its one `<h1>` and never skip a
/// level going down; returns the `<h1>`'s text.
fn assert_heading_order(path: &str, html: &str) -> String {
    let found = headings(html);
    assert_eq!(found.first().map(|h| h.0), Some(1), "{path}: {found:?}");
    assert_eq!(
        found.iter().filter(|h| h.0 == 1).count(),
        1,
        "{path} has one h1: {found:?}"
    );
    for pair in found.windows(2) {
        assert!(
            pair[1].0 <= pair[0].0 + 1,
            "{path}: h{} after h{} skips a level: {found:?}",
            pair[1].0,
            pair[0].0
        );
    }
    found[0].1.clone()
}

#[actix_web::test]
async fn every_lesson_page_opens_with_its_h1_and_is_titled_as_it() {
    let app = spawn_app().await;
    let index = app.get_json("/", None).await.json();
    let lessons = index["lessons"].as_array().unwrap().clone();
    assert_eq!(lessons.len(), 6);

    for lesson in &lessons {
        let slug = lesson["slug"].as_str().unwrap();
        let title = lesson["title"].as_str().unwrap();
        let path = format!("/{slug}/");
        let page = app.get(&path, None).await;

        let h1 = assert_heading_order(&path, &page.body);

        assert_eq!(h1, title, "{path}: the h1 is the lesson's title");
        assert_eq!(
            title_of(&page.body),
            format!("{title} · sessionlab"),
            "{path}"
        );

        let mut browser = Browser::new(&app);
        let views = app.get_json(&path, None).await.json()["views"].clone();
        for view in views.as_array().unwrap() {
            let view = view.as_str().unwrap();
            let path = format!("/{slug}/{view}/");
            let page = browser.get(&path).await;
            assert_heading_order(&path, &page.body);
            assert_eq!(
                title_of(&page.body),
                format!("{view}/ · {title} · sessionlab"),
                "{path}"
            );
        }
    }
}

#[actix_web::test]
async fn a_mistyped_view_of_a_lesson_leads_back_to_that_lesson_and_its_views() {
    let app = spawn_app().await;

    // The test cookie lesson reads with check/, not get/ as the other lessons do.
    let page = app.get("/testcookie/get/", None).await;

    assert_eq!(page.status, 404);
    assert!(page.body.contains("Page not found"));
    for view in ["set", "check", "del"] {
        assert!(
            page.body.contains(&format!(
                "<a href=\"/testcookie/{view}/\"><code>/testcookie/{view}/</code></a>"
            )),
            "{view}/ is offered: {}",
            page.body
        );
    }
    assert!(page.body.contains(
        "<a href=\"/testcookie/\">Back to the lesson: Test cookies: does this browser accept cookies?</a>"
    ));

    // Outside the lessons, only the way back to the list of lessons.
    let elsewhere = app.get("/nope/", None).await;
    assert_eq!(elsewhere.status, 404);
    assert!(!elsewhere.body.contains("Back to the lesson:"));
}

#[actix_web::test]
async fn a_lesson_run_with_another_cookie_age_than_its_text_says_so_above_the_text() {
    let configured = spawn_app_with(&[("APP__LESSONS__PAGESESSION__COOKIE_AGE", "5")]).await;
    let committed = spawn_app().await;

    let page = configured.get("/pagesession/", None).await;

    assert_eq!(page.status, 200);
    let notice = "<p class=\"notice\">This server runs this lesson with <code>SESSION_COOKIE_AGE = 5</code>,\nwhere the text below counts with <code>20</code>: read 5 seconds wherever\nit says 20, and scale the waits it suggests to match.";
    assert!(page.body.contains(notice), "{}", page.body);
    let heading = page.body.find("<h1>").unwrap();
    let text = page.body.find("What this lesson teaches").unwrap();
    let shown = page.body.find(notice).unwrap();
    assert!(
        heading < shown && shown < text,
        "between the title and the text"
    );

    // With the committed settings every text counts with the age that runs.
    for lesson in sessionlab::lessons::LESSONS
        .iter()
        .map(|lesson| lesson.slug)
    {
        let page = committed.get(&format!("/{lesson}/"), None).await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains("class=\"notice\""), "/{lesson}/");
    }
    let other = configured.get("/basic/", None).await;
    assert!(!other.body.contains("class=\"notice\""));

    // The list of lessons says it beside the lesson, whose title gives the text's age.
    let index = configured.get("/", None).await;
    let entry = index.body.find("href=\"/pagesession/\"").unwrap();
    let listed = "<p class=\"notice\">Runs here with <code>SESSION_COOKIE_AGE = 5</code>, where its text counts with <code>20</code>.</p>";
    let shown = index
        .body
        .find(listed)
        .unwrap_or_else(|| panic!("{}", index.body));
    assert!(entry < shown, "under the page session's entry");
    assert_eq!(index.body.matches("class=\"notice\"").count(), 1);
    let index = committed.get("/", None).await;
    assert!(!index.body.contains("class=\"notice\""), "{}", index.body);
}

#[actix_web::test]
async fn a_lesson_run_with_another_cookie_name_or_path_than_its_text_says_so_above_the_text() {
    // Arrange: Django's own cookie path for every lesson, and another name for the first.
    let app = spawn_app_with(&[
        ("APP__SESSION__COOKIE_PATH", "/"),
        ("APP__LESSONS__BASIC__COOKIE_NAME", "sid"),
    ])
    .await;

    // Act
    let basic = app.get("/basic/", None).await;
    let settings = app.get("/settings/", None).await;

    // Assert: each says what runs and what its text shows, between its title and its text.
    let notice = "<p class=\"notice\">This server names this lesson's session cookie <code>sid</code> and sends it\nwith <code>Path=&#x2F;</code>, where the text below shows <code>sessionid</code> and\n<code>Path=&#x2F;basic&#x2F;</code>.";
    let shown = basic
        .body
        .find(notice)
        .unwrap_or_else(|| panic!("{}", basic.body));
    assert!(basic.body.find("<h1>").unwrap() < shown);
    assert!(shown < basic.body.find("What this lesson teaches").unwrap());
    assert!(
        settings.body.contains("<code>sessionname</code> and sends it\nwith <code>Path=&#x2F;</code>, where the text below shows <code>sessionname</code> and\n<code>Path=&#x2F;settings&#x2F;</code>."),
        "{}",
        settings.body
    );
}

#[actix_web::test]
async fn the_texts_commands_name_the_address_the_server_listens_on() {
    for host in ["127.0.0.1", "0.0.0.0"] {
        // Arrange: a port of the OS's choosing, not the 8000 the texts are written with; on
        // every interface, a command on this machine reaches the server at 127.0.0.1.
        let app = spawn_app_with(&[("APP__SERVER__HOST", host)]).await;
        assert_ne!(app.address, "http://127.0.0.1:8000");

        for lesson in sessionlab::lessons::LESSONS
            .iter()
            .map(|lesson| lesson.slug)
        {
            // Act
            let page = app.get(&format!("/{lesson}/"), None).await;

            // Assert
            let command = format!("-c jar -b jar {}/{lesson}/", app.address);
            assert!(
                page.body.contains(&command),
                "{host} /{lesson}/: {}",
                page.body
            );
            assert!(
                !page.body.contains("127.0.0.1:8000"),
                "{host} /{lesson}/: {}",
                page.body
            );
        }
    }
}

#[actix_web::test]
async fn a_lesson_page_gives_its_script_the_address_its_commands_name() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let page = app.get("/basic/", None).await;
    let script = app.get("/static/commands.js", None).await;

    // Assert: the text says which address its commands were written with, and the page loads
    // the script that writes them with the address in the browser's bar instead.
    // (Tera writes the slashes of an attribute as `&#x2F;`, which the browser reads back.)
    let html = page.body.replace("&#x2F;", "/");
    assert!(
        html.contains(&format!(
            "<article class=\"lesson-text\" data-base-url=\"{}\">",
            app.address
        )),
        "{html}"
    );
    assert!(
        page.body
            .contains(r#"<script src="/static/commands.js" defer></script>"#),
        "{}",
        page.body
    );
    assert_eq!(script.status, 200);
    assert!(script.body.contains("data-base-url"), "{}", script.body);
}

#[actix_web::test]
async fn flush_pages_say_a_signed_cookie_copy_stays_valid_where_the_engine_keeps_no_store() {
    // Arrange: the dict and timeout lessons on signed_cookies, where the session is the cookie.
    let app = spawn_app_with(&[
        ("APP__LESSONS__DICT__ENGINE", "signed_cookies"),
        ("APP__LESSONS__TIMEOUT__ENGINE", "signed_cookies"),
    ])
    .await;
    for (lesson, end) in [("dict", "flush"), ("timeout", "del")] {
        let mut browser = Browser::new(&app);
        browser.get(&format!("/{lesson}/set/")).await;
        let copy = browser.jar.header_for(&format!("/{lesson}/")).unwrap();

        // Act
        let page = browser.get(&format!("/{lesson}/{end}/")).await;
        let replayed = app
            .get_json(&format!("/{lesson}/get/"), Some(&copy))
            .await
            .json();

        // Assert: the page says what the replay shows.
        assert!(page.set_cookie().contains("Max-Age=0"), "{lesson}");
        assert!(
            page.body.contains("a copy of the old cookie kept")
                && !page.body.contains("can never be used again")
                && !page.body.contains("deleted it from the store"),
            "{lesson}: {}",
            page.body
        );
        assert_eq!(replayed["context"]["name"], "Sonam", "{lesson}");
    }
}

#[actix_web::test]
async fn del_says_clear_expired_has_nothing_to_do_where_the_engine_keeps_no_expired_sessions() {
    // Arrange: the timeout lesson on the cache engine (the in-process memory cache), the page
    // session on signed cookies, and the settings lesson on the database.
    let app = spawn_app_with(&[
        ("APP__LESSONS__TIMEOUT__ENGINE", "cache"),
        ("APP__LESSONS__PAGESESSION__ENGINE", "signed_cookies"),
    ])
    .await;
    let mut cached = Browser::new(&app);
    cached.get("/timeout/set/").await;

    // Act
    let ended = cached.get("/timeout/del/").await;
    let none_cached = app.get("/timeout/del/", None).await;
    let none_signed = app.get("/pagesession/del/", None).await;
    let none_stored = app.get("/settings/del/", None).await;

    // Assert: Django's cache and signed-cookie engines have no clear_expired() work to do,
    // as the timeout lesson's text says; the database has, and its count is given.
    let said = |page: &common::Page| {
        text_of(&page.body)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(ended.body.contains("ended this session"), "{}", ended.body);
    for page in [&ended, &none_cached] {
        let text = said(page);
        assert!(
            text.contains("nothing to do, as in Django: the cache drops each session by itself"),
            "{text}"
        );
        assert!(!text.contains("expired session(s)"), "{text}");
    }
    let text = said(&none_signed);
    assert!(
        text.contains("clear_expired() had nothing to remove: with the signed_cookies engine no session is kept on the server"),
        "{text}"
    );
    assert!(!text.contains("expired session(s)"), "{text}");
    let text = said(&none_stored);
    assert!(
        text.contains("clear_expired() removed 0 expired session(s) from the store."),
        "{text}"
    );
}

#[actix_web::test]
async fn pages_that_speak_of_the_session_key_say_the_cookie_is_the_data_on_signed_cookies() {
    // Arrange: program 1 on signed_cookies, program 2 on the database.
    let app = spawn_app_with(&[("APP__LESSONS__BASIC__ENGINE", "signed_cookies")]).await;
    let mut signed = Browser::new(&app);
    let mut stored = Browser::new(&app);

    // Act
    let signed_set = signed.get("/basic/set/").await;
    let signed_del = signed.get("/basic/del/").await;
    let stored_set = stored.get("/dict/set/").await;
    let stored_del = stored.get("/dict/del/").await;

    // Assert: on signed cookies the cookie holds the data and changes with it; on the
    // database it holds the key, which an emptied session keeps.
    assert!(signed_set.body.contains("the signed session data itself"));
    assert_ne!(
        signed_set.cookie_value("sessionid"),
        signed_del.cookie_value("sessionid")
    );
    assert!(
        !signed_del.body.contains("The session key stays"),
        "{}",
        signed_del.body
    );
    assert!(signed_del.body.contains("sends a new cookie"));
    assert!(stored_set.body.contains("header with the session key."));
    assert_eq!(
        stored_set.cookie_value("sessionid"),
        stored_del.cookie_value("sessionid")
    );
    assert!(stored_del.body.contains("The session key stays"));
}

#[actix_web::test]
async fn flush_ends_only_the_visitors_own_session_as_the_dict_lesson_says() {
    // Arrange: two visitors of the dict lesson.
    let app = spawn_app().await;
    let mut one = Browser::new(&app);
    let mut other = Browser::new(&app);
    one.get_json("/dict/set/").await;
    other.get_json("/dict/set/").await;

    // Act
    let flushed = one.get_json("/dict/flush/").await;

    // Assert: the first visitor's session is gone, the other's is not.
    assert!(flushed.set_cookie().contains("Max-Age=0"));
    assert_eq!(app.rows().await.len(), 1);
    let others = other.get_json("/dict/get/").await.json();
    assert_eq!(others["context"]["name"], "Sonam");
    let page = app.get("/dict/", None).await;
    assert!(
        page.body
            .contains("<strong>this visitor&#x27;s</strong> session")
            || page
                .body
                .contains("<strong>this visitor's</strong> session"),
        "the lesson says whose session flush() removes"
    );
}
