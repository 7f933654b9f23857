//! `/playground/` over HTTP: every operation's effect on the session, the `Set-Cookie` and the
//! store; Django's CSRF protection; the input limits (a 400 that names the limit and leaves the
//! session unchanged); and escaping of whatever a student types.

mod common;

use chrono::{SecondsFormat, TimeDelta};
use common::{Jar, Page, TestApp, http_date, spawn_app, spawn_app_with};
use reqwest::Method;
use serde_json::{Value, json};
use sessionlab::session::expiry::python_isoformat;

const HTML: &str = "text/html";
/// Form fields, as `(name, value)`.
type Fields<'a> = Vec<(&'a str, &'a str)>;
const JSON: &str = "application/json";

/// A student at the playground: a cookie jar, the CSRF token the page handed out, and extra
/// headers to send (an `Origin`, say).
struct Student<'a> {
    app: &'a TestApp,
    jar: Jar,
    token: String,
}

/// How a POST carries its CSRF token.
enum Token<'a> {
    /// The page's token, in the `csrfmiddlewaretoken` field.
    Field,
    /// The page's token, in an `X-CSRFToken` header.
    Header,
    /// This text in the field.
    Given(&'a str),
    /// None at all.
    Absent,
}

impl<'a> Student<'a> {
    /// Opens `/playground/`, which hands out the `csrftoken` cookie.
    async fn arrive(app: &'a TestApp) -> Student<'a> {
        let mut student = Student {
            app,
            jar: Jar::default(),
            token: String::new(),
        };
        let page = student.get(HTML).await;
        student.token = page
            .cookie_value("csrftoken")
            .expect("the first visit sets the csrftoken cookie");
        student
    }

    async fn get(&mut self, accept: &str) -> Page {
        let cookie = self.jar.header_for("/playground/");
        let page = self
            .app
            .request(Method::GET, "/playground/", cookie.as_deref(), accept)
            .await;
        self.jar.store(&page);
        page
    }

    /// The session as `GET /playground/` shows it (JSON).
    async fn session(&mut self) -> Value {
        let page = self.get(JSON).await;
        assert_eq!(page.status, 200, "{}", page.body);
        page.json()["session"].clone()
    }

    /// POSTs `fields` to `/playground/<operation>/`, as a browser would from the page.
    async fn post(&mut self, operation: &str, fields: &[(&str, &str)]) -> Page {
        self.send(operation, fields, Token::Field, &[], HTML).await
    }

    /// The same, asking for JSON.
    async fn post_json(&mut self, operation: &str, fields: &[(&str, &str)]) -> Page {
        self.send(operation, fields, Token::Field, &[], JSON).await
    }

    async fn send(
        &mut self,
        operation: &str,
        fields: &[(&str, &str)],
        token: Token<'_>,
        headers: &[(&str, &str)],
        accept: &str,
    ) -> Page {
        let path = format!("/playground/{operation}/");
        let mut form: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut req = self
            .app
            .client
            .post(format!("{}{path}", self.app.address))
            .header("Accept", accept);
        match token {
            Token::Field => form.push(("csrfmiddlewaretoken".into(), self.token.clone())),
            Token::Given(text) => form.push(("csrfmiddlewaretoken".into(), text.to_owned())),
            Token::Header => req = req.header("X-CSRFToken", self.token.clone()),
            Token::Absent => {}
        }
        if let Some(cookie) = self.jar.header_for(&path) {
            req = req.header("Cookie", cookie);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let res = req.form(&form).send().await.expect("the server answers");
        let page = Page {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: res.text().await.unwrap(),
        };
        self.jar.store(&page);
        page
    }

    /// The `sessionid` cookie the jar holds.
    fn session_cookie(&self) -> Option<String> {
        self.jar
            .header_for("/playground/")?
            .split("; ")
            .find_map(|pair| pair.strip_prefix("sessionid=").map(str::to_owned))
    }
}

fn items(session: &Value) -> Value {
    session["items"].clone()
}

/// Asserts a refused POST: `status`, the message in the answer, and no cookie.
fn assert_refused(page: &Page, status: u16, says: &str) {
    assert_eq!(page.status, status, "{}", page.body);
    assert!(
        page.body.contains(says),
        "the answer says {says:?}: {}",
        page.body
    );
    assert!(
        page.set_cookies().is_empty(),
        "a refused POST sets no cookie: {:?}",
        page.set_cookies()
    );
}

#[actix_web::test]
async fn the_page_hands_out_a_csrf_cookie_and_puts_its_token_in_every_form() {
    // Arrange
    let app = spawn_app().await;
    let mut student = Student {
        app: &app,
        jar: Jar::default(),
        token: String::new(),
    };

    // Act
    let first = student.get(HTML).await;

    // Assert
    assert_eq!(first.status, 200);
    let cookie = first.set_cookie();
    let token = first.cookie_value("csrftoken").unwrap();
    assert_eq!(token.len(), 32);
    assert!(token.bytes().all(|b| b.is_ascii_alphanumeric()), "{token}");
    assert_eq!(
        cookie,
        format!(
            "csrftoken={token}; expires={}; Max-Age=31449600; Path=/playground/; SameSite=Lax",
            http_date(app.now(), 31_449_600)
        ),
        "Django's CSRF cookie defaults, not HttpOnly, on the playground's path"
    );
    let field = format!("<input type=\"hidden\" name=\"csrfmiddlewaretoken\" value=\"{token}\">");
    assert_eq!(first.body.matches(&field).count(), 8, "one per form");
    for heading in [
        "Session playground",
        "Operations",
        "Session inspector",
        "CSRF protection",
    ] {
        assert!(first.body.contains(heading), "{heading}");
    }
    for id in ["set-key", "set-value", "pop-default", "expiry-value"] {
        assert!(
            first.body.contains(&format!("<label for=\"{id}\">")),
            "{id} has a label"
        );
    }

    let again = student.get(HTML).await;
    assert!(
        again.set_cookies().is_empty(),
        "a browser with the cookie keeps it"
    );
    assert!(again.body.contains(&field), "the same token in the forms");
    let json = student.get(JSON).await.json();
    assert_eq!(json["csrf_token"], token.as_str());
    assert_eq!(json["operations"]["set_expiry"], "/playground/set_expiry/");
    assert_eq!(json["session"]["keys"], json!([]));
}

#[actix_web::test]
async fn the_index_links_the_playground_and_the_playground_follows_append_slash() {
    let app = spawn_app().await;
    let index = app.get("/", None).await;
    assert!(index.body.contains("href=\"/playground/\""));
    let redirect = app.get("/playground", None).await;
    assert_eq!(redirect.status, 301);
    assert_eq!(redirect.headers["location"], "/playground/");
}

#[actix_web::test]
async fn opening_an_operation_s_address_is_a_405_that_explains_and_leads_back() {
    // Arrange
    let app = spawn_app().await;

    // Act: the address bar shows /playground/set/ after a form was sent; open it again.
    let page = app.get("/playground/set/", None).await;
    let json = app.get_json("/playground/cycle_key/", None).await;
    let head = app
        .request(Method::HEAD, "/playground/flush/", None, HTML)
        .await;
    let put = app
        .request(Method::PUT, "/playground/set/", None, HTML)
        .await;

    // Assert: still Django's require_POST 405, now saying why and where to go.
    assert_eq!(page.status, 405, "operations are POST only");
    assert_eq!(page.headers["allow"], "POST");
    assert!(
        page.body.contains(
            "&#x2F;playground&#x2F;set&#x2F; runs request.session[key] = value when the playground&#x27;s form sends it with POST"
        ),
        "{}",
        page.body
    );
    assert!(page.body.contains("@require_POST"));
    assert!(
        page.body
            .contains("<a href=\"/playground/\">Back to the playground</a>")
    );
    assert!(page.set_cookies().is_empty(), "no session, no CSRF cookie");
    assert_eq!(json.status, 405);
    assert_eq!(json.headers["allow"], "POST");
    assert_eq!(json.json()["error"]["status"], 405);
    assert!(
        json.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("/playground/cycle_key/ runs request.session.cycle_key() when")
    );
    assert_eq!(head.status, 405);
    assert_eq!(head.headers["allow"], "POST");
    assert_eq!(put.status, 405, "other methods get the plain 405");
    assert_eq!(put.headers["allow"], "POST");
    assert!(
        put.body
            .contains("This address does not answer PUT: it answers POST only."),
        "{}",
        put.body
    );
}

#[actix_web::test]
async fn set_stores_json_values_in_order_and_sets_the_session_cookie() {
    // Arrange
    let app = spawn_app().await;
    let mut student = Student::arrive(&app).await;

    // Act
    let first = student
        .post("set", &[("key", "name"), ("value", "\"Sonam\"")])
        .await;

    // Assert
    assert_eq!(first.status, 200, "{}", first.body);
    let key = first.cookie_value("sessionid").unwrap();
    assert_eq!(
        first.set_cookie(),
        format!(
            "sessionid={key}; expires={}; HttpOnly; Max-Age=1209600; Path=/playground/; SameSite=Lax",
            http_date(app.now(), 1_209_600)
        )
    );
    assert!(
        first
            .body
            .contains("request.session[&#x27;name&#x27;] = &#x27;Sonam&#x27; added the key"),
        "{}",
        first.body
    );
    let answer = student
        .post_json("set", &[("key", "data"), ("value", "{\"a\":[1,2]}")])
        .await
        .json();
    let top: Vec<&str> = answer
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(top, ["operation", "result", "raised", "message", "session"]);
    assert_eq!(answer["operation"], "set");
    assert_eq!(answer["result"], Value::Null);
    student
        .post("set", &[("key", "age"), ("value", " 42 ")])
        .await;
    let replaced = student
        .post_json("set", &[("key", "name"), ("value", "\"Jha\"")])
        .await
        .json();
    assert!(
        replaced["message"]
            .as_str()
            .unwrap()
            .contains("replaced 'Sonam'"),
        "{replaced}"
    );
    assert_eq!(
        items(&replaced["session"]),
        json!([["name", "Jha"], ["data", {"a": [1, 2]}], ["age", 42]]),
        "a replaced key keeps its place"
    );
    let rows = app.rows().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, key, "every save went to the same key");
}

#[actix_web::test]
async fn invalid_json_is_explained_beside_its_form_which_keeps_what_was_typed() {
    // Arrange
    let app = spawn_app().await;
    let mut student = Student::arrive(&app).await;
    student.post("set", &[("key", "a"), ("value", "1")]).await;

    // Act: Sonam without quotes.
    let page = student
        .post("set", &[("key", "name"), ("value", "Sonam")])
        .await;
    let json = student
        .post_json("set", &[("key", "name"), ("value", "Sonam")])
        .await;

    // Assert: a 400 that is the playground page itself, the reason next to the form.
    assert_refused(&page, 400, "The value is not valid JSON");
    assert!(page.body.contains("Strings need double quotes"));
    assert!(page.body.contains("<h1>Session playground</h1>"));
    assert!(
        page.body
            .contains("<h2 id=\"refused-heading\">The form was refused: <code>set</code></h2>"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<p class=\"form-error\" id=\"set-error\">The value is not valid JSON"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<td><code>a</code></td><td><code>1</code></td>"),
        "the session is still shown"
    );
    assert!(
        page.body.contains(
            "name=\"key\" required autocomplete=\"off\" spellcheck=\"false\" value=\"name\">"
        ),
        "the key typed is kept: {}",
        page.body
    );
    assert!(
        page.body
            .contains("aria-describedby=\"set-value-hint\">Sonam</textarea>"),
        "the value typed is kept"
    );
    assert_eq!(
        page.body.matches("class=\"form-error\"").count(),
        1,
        "only the refused form says so"
    );
    assert_eq!(json.status, 400);
    assert!(
        json.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("The value is not valid JSON"),
        "{}",
        json.body
    );
    assert_eq!(items(&student.session().await), json!([["a", 1]]));
}

#[actix_web::test]
async fn a_refused_set_expiry_form_keeps_its_kind_and_value() {
    let app = spawn_app().await;
    let mut student = Student::arrive(&app).await;

    let page = student
        .post("set_expiry", &[("kind", "datetime"), ("value", "tomorrow")])
        .await;

    assert_refused(&page, 400, "is not an ISO-8601 date");
    assert!(
        page.body
            .contains("name=\"kind\" value=\"datetime\" checked>"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("value=\"seconds\" checked>"));
    assert!(page.body.contains("value=\"tomorrow\">"));
}

#[actix_web::test]
async fn a_body_that_is_not_a_url_encoded_form_is_a_400_naming_its_type() {
    // Arrange
    let app = spawn_app().await;
    let mut student = Student::arrive(&app).await;
    student.post("set", &[("key", "a"), ("value", "1")]).await;
    let before = student.session().await;
    let boundary = "sessionlabboundary";
    let multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nb\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"value\"\r\n\r\n1\r\n--{boundary}--\r\n"
    );
    let bodies = [
        (
            format!("multipart/form-data; boundary={boundary}"),
            multipart,
            "multipart/form-data",
        ),
        (
            "application/json".to_owned(),
            r#"{"key": "b", "value": 1}"#.to_owned(),
            "application/json",
        ),
    ];

    for (content_type, body, named) in bodies {
        // Act: `curl -F key=b -F value=1 -H "X-CSRFToken: …"`, or a script sending JSON.
        let answer = app
            .client
            .post(format!("{}/playground/set/", app.address))
            .header("Accept", JSON)
            .header("Content-Type", &content_type)
            .header("X-CSRFToken", &student.token)
            .header("Cookie", student.jar.header_for("/playground/").unwrap())
            .body(body)
            .send()
            .await
            .unwrap();

        // Assert
        assert_eq!(answer.status().as_u16(), 400, "{content_type}");
        let message = answer.json::<Value>().await.unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            message.contains("application/x-www-form-urlencoded"),
            "{message}"
        );
        assert!(
            message.contains(&format!("this request's body is {named}.")),
            "{message}"
        );
        assert!(!message.contains("The key is empty"), "{message}");
    }
    assert_eq!(student.session().await, before, "nothing changed");
}

#[actix_web::test]
async fn delete_removes_a_key_and_a_missing_key_is_a_keyerror_explained_on_a_200_page() {
    // Arrange
    let app = spawn_app().await;
    let mut student = Student::arrive(&app).await;
    student.post("set", &[("key", "a"), ("value", "1")]).await;
    student.post("set", &[("key", "b"), ("value", "2")]).await;

    // Act
    let deleted = student.post_json("delete", &[("key", "a")]).await;
    let missing = student.post("delete", &[("key", "nope")]).await;
    let missing_json = student.post_json("delete", &[("key", "nope")]).await;

    // Assert
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.set_cookies().len(), 1, "deleting modifies: saved");
    assert_eq!(items(&deleted.json()["session"]), json!([["b", 2]]));
    assert_eq!(missing.status, 200, "Django would answer 500");
    assert!(
        missing.body.contains("raised KeyError: &#x27;nope&#x27;"),
        "{}",
        missing.body
    );
    assert!(missing.body.contains("500 error page"));
    assert!(
        missing.set_cookies().is_empty(),
        "nothing changed, nothing saved"
    );
    let json = missing_json.json();
    assert_eq!(json["raised"], "KeyError: 'nope'");
    assert_eq!(json["result"], Value::Null);
    assert_eq!(items(&json["session"]), json!([["b", 2]]));
}

#[actix_web::test]
async fn setdefault_stores_only_when_absent_and_returns_the_stored_value() {
    let app = spawn_app().await;
    let mut student = Student::arrive(&app).await;

    let first = student
        .post_json("setdefault", &[("key", "age"), ("value", "\"26\"")])
        .await;
    let second = student
        .post_json("setdefault", &[("key", "age"), ("value", "\"27\"")])
        .await;

    let json = first.json();
    assert_eq!(json["result"], "26");
    assert!(
        json["message"].as_str().unwrap().starts_with(
            "setdefault('age', '26') returned '26'; the key was absent, so it was stored"
        ),
        "{json}"
    );
    assert_eq!(
        first.set_cookies().len(),
        1,
        "a stored default is a modification"
    );
    let json = second.json();
    assert_eq!(json["result"], "26");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("the key was present, so nothing changed"),
        "{json}"
    );
    assert!(second.set_cookies().is_empty(), "not modified: no cookie");
    assert_eq!(items(&json["session"]), json!([["age", "26"]]));
}

#[actix_web::test]
async fn pop_returns_the_value_or_the_default_and_raises_without_one() {
    let app = spawn_app().await;
    let mut student = Student::arrive(&app).await;
    student
        .post("set", &[("key", "a"), ("value", "[1, 2]")])
        .await;
    student
        .post("set", &[("key", "b"), ("value", "true")])
        .await;

    let popped = student.post_json("pop", &[("key", "a")]).await.json();
    assert_eq!(popped["result"], json!([1, 2]));
    assert_eq!(popped["session"]["keys"], json!(["b"]));

    let stored_not_default = student
        .post_json("pop", &[("key", "b"), ("default", "0")])
        .await
        .json();
    assert_eq!(stored_not_default["result"], true);

    let defaulted = student
        .post_json("pop", &[("key", "a"), ("default", "null")])
        .await;
    assert_eq!(defaulted.json()["result"], Value::Null);
    assert_eq!(defaulted.json()["raised"], Value::Null);
    assert!(
        defaulted.json()["message"]
            .as_str()
            .unwrap()
            .contains("pop('a', None) returned the default None;")
    );
    assert!(defaulted.set_cookies().is_empty());

    let raised = student.post("pop", &[("key", "a"), ("default", "")]).await;
    assert_eq!(raised.status, 200);
    assert!(raised.body.contains("pop(&#x27;a&#x27;) raised KeyError"));
}

#[actix_web::test]
async fn messages_and_results_are_written_as_python_writes_them() {
    let app = spawn_app().await;
    let mut student = Student::arrive(&app).await;
    let message = |page: Page| page.json()["message"].as_str().unwrap().to_owned();

    let cases = [
        (
            "set",
            vec![("key", "flag"), ("value", "true")],
            "request.session['flag'] = True added",
        ),
        (
            "set",
            vec![("key", "off"), ("value", "false")],
            "request.session['off'] = False added",
        ),
        (
            "set",
            vec![("key", "t"), ("value", "\"text\"")],
            "request.session['t'] = 'text' added",
        ),
        (
            "set",
            vec![("key", "d"), ("value", "{\"a\": 1}")],
            "request.session['d'] = {'a': 1} added",
        ),
        (
            "set",
            vec![("key", "l"), ("value", "[1, 2.5]")],
            "request.session['l'] = [1, 2.5] added",
        ),
        (
            "set",
            vec![("key", "t"), ("value", "null")],
            "request.session['t'] = None replaced 'text';",
        ),
        (
            "setdefault",
            vec![("key", "z"), ("value", "null")],
            "setdefault('z', None) returned None;",
        ),
        (
            "pop",
            vec![("key", "nokey"), ("default", "null")],
            "pop('nokey', None) returned the default None;",
        ),
        (
            "pop",
            vec![("key", "d"), ("default", "false")],
            "pop('d', False) returned {'a': 1}, the stored value",
        ),
        ("delete", vec![("key", "l")], "(its value was [1, 2.5])"),
        (
            "set_expiry",
            vec![("kind", "datetime"), ("value", "2030-01-01T00:00:00+00:00")],
            "stored _session_expiry = '2030-01-01T00:00:00+00:00'",
        ),
    ];
    for (operation, fields, says) in cases {
        let said = message(student.post_json(operation, &fields).await);
        assert!(said.contains(says), "{operation}: {said}");
        for json_word in [" true", " false", " null", "\""] {
            assert!(!said.contains(json_word), "{operation}: {said}");
        }
    }
    let page = student
        .post("pop", &[("key", "flag"), ("default", "null")])
        .await;
    assert!(
        page.body
            .contains("<p id=\"answer-value\">Returned: <code>True</code></p>"),
        "{}",
        page.body
    );
    let json = student
        .post_json("setdefault", &[("key", "n"), ("value", "null")])
        .await
        .json();
    assert_eq!(json["result"], Value::Null, "the JSON answer stays JSON");
}

#[actix_web::test]
async fn clear_empties_the_session_but_keeps_its_key() {
    let app = spawn_app().await;
    let mut student = Student::arrive(&app).await;
    student.post("set", &[("key", "a"), ("value", "1")]).await;
    let key = student.session_cookie().unwrap();

    let cleared = student.post_json("clear", &[]).await;

    assert_eq!(cleared.status, 200);
    assert_eq!(
        cleared.cookie_value("sessionid").as_deref(),
        Some(key.as_str()),
        "saved empty under the same key"
    );
    assert_eq!(cleared.json()["session"]["keys"], json!([]));
    let rows = app.rows().await;
    assert_eq!(rows.len(), 1, "the row stays, with empty data");
    assert_eq!(rows[0].0, key);
}

#[actix_web::test]
async fn clear_on_a_session_past_its_age_says_the_cookie_is_deleted() {
    // Arrange: a session, then its two weeks pass.
    let app = spawn_app().await;
    let mut student = Student::arrive(&app).await;
    student.post("set", &[("key", "a"), ("value", "1")]).await;
    let live = student.post_json("clear", &[]).await;
    assert!(
        live.json()["message"]
            .as_str()
            .unwrap()
            .contains("It keeps its session key"),
        "{}",
        live.body
    );
    student.post("set", &[("key", "a"), ("value", "1")]).await;
    app.clock.advance(TimeDelta::seconds(1_209_601));

    // Act
    let cleared = student.post_json("clear", &[]).await;

    // Assert: loading dropped the dead key, so the empty, keyless session deletes the cookie,
    // and the answer says so instead of "no cookie is set".
    assert_eq!(cleared.status, 200);
    assert_eq!(
        cleared.set_cookie(),
        "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/playground/; SameSite=Lax"
    );
    let message = cleared.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("the browser is told to delete the cookie"),
        "{message}"
    );
    assert!(!message.contains("no cookie is set"), "{message}");
}

#[actix_web::test]
async fn flush_deletes_the_session_and_sends_a_deletion_cookie() {
    // Arrange
    let app = spawn_app().await;
    let mut student = Student::arrive(&app).await;
    student.post("set", &[("key", "a"), ("value", "1")]).await;
    let old = student.session_cookie().unwrap();

    // Act
    let flushed = student.post("flush", &[]).await;

    // Assert
    assert_eq!(flushed.status, 200);
    assert_eq!(
        flushed.set_cookie(),
        "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/playground/; SameSite=Lax"
    );
    assert!(flushed.body.contains("flush() deleted the session"));
    assert!(app.rows().await.is_empty(), "gone from the store");
    assert_eq!(student.session_cookie(), None, "the browser dropped it");
    let replayed = app
        .request(
            Method::GET,
            "/playground/",
            Some(&format!("sessionid={old}")),
            JSON,
        )
        .await;
    assert_eq!(
        replayed.json()["session"]["keys"],
        json!([]),
        "the old key is dead"
    );
}

#[actix_web::test]
async fn cycle_key_moves_the_data_to_a_new_key_and_kills_the_old_one() {
    // Arrange
    let app = spawn_app().await;
    let mut student = Student::arrive(&app).await;
    student
        .post("set", &[("key", "user"), ("value", "\"sonam\"")])
        .await;
    let old = student.session_cookie().unwrap();

    // Act
    let cycled = student.post_json("cycle_key", &[]).await;

    // Assert
    assert_eq!(cycled.status, 200);
    let new = cycled.cookie_value("sessionid").unwrap();
    assert_ne!(new, old);
    assert_eq!(new.len(), 32);
    assert_eq!(items(&cycled.json()["session"]), json!([["user", "sonam"]]));
    let rows = app.rows().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, new, "only the new key is stored");
    let with_old = app
        .request(
            Method::GET,
            "/playground/",
            Some(&format!("sessionid={old}")),
            JSON,
        )
        .await;
    assert_eq!(with_old.json()["session"]["keys"], json!([]));
    assert!(
        with_old
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("sessionid=\"\";") && c.contains("Max-Age=0")),
        "the dead key's cookie is deleted"
    );
    assert_eq!(items(&student.session().await), json!([["user", "sonam"]]));
    let in_html = student.post("cycle_key", &[]).await;
    let newest = in_html.cookie_value("sessionid").unwrap();
    assert!(
        !in_html.body.contains(&newest) && !in_html.body.contains(&new),
        "keys are shown masked, never whole"
    );
    assert!(
        in_html
            .body
            .contains(&format!("{}…(32 chars)", &newest[..4]))
    );
}

#[actix_web::test]
async fn set_expiry_with_seconds_shapes_the_cookie_and_shows_in_keys() {
    let app = spawn_app().await;
    let mut student = Student::arrive(&app).await;
    student.post("set", &[("key", "a"), ("value", "1")]).await;
    let key = student.session_cookie().unwrap();

    // 600: Max-Age=600, and `_session_expiry` is an ordinary key.
    let six_hundred = student
        .post_json("set_expiry", &[("kind", "seconds"), ("value", "600")])
        .await;
    assert_eq!(
        six_hundred.set_cookie(),
        format!(
            "sessionid={key}; expires={}; HttpOnly; Max-Age=600; Path=/playground/; SameSite=Lax",
            http_date(app.now(), 600)
        )
    );
    let session = &six_hundred.json()["session"];
    assert_eq!(session["keys"], json!(["a", "_session_expiry"]));
    assert_eq!(session["expiry_age"], 600);
    let html = student.get(HTML).await;
    assert!(html.body.contains("<code>_session_expiry</code>"));

    // 0: a browser-session cookie.
    let zero = student
        .post_json("set_expiry", &[("kind", "seconds"), ("value", "0")])
        .await;
    assert_eq!(
        zero.set_cookie(),
        format!("sessionid={key}; HttpOnly; Path=/playground/; SameSite=Lax")
    );
    assert_eq!(zero.json()["session"]["expire_at_browser_close"], true);

    // None: back to the global policy.
    let none = student
        .post_json("set_expiry", &[("kind", "none"), ("value", "")])
        .await;
    assert!(none.set_cookie().contains("Max-Age=1209600"));
    assert_eq!(none.json()["session"]["keys"], json!(["a"]));

    // -10: already expired; the browser drops the cookie and the store has nothing live.
    let negative = student
        .post_json("set_expiry", &[("kind", "seconds"), ("value", "-10")])
        .await;
    assert!(
        negative.set_cookie().contains("; Max-Age=-10; "),
        "{}",
        negative.set_cookie()
    );
    assert!(
        negative.json()["message"]
            .as_str()
            .unwrap()
            .contains("already expired")
    );
    assert_eq!(student.session_cookie(), None);
    let replayed = app
        .request(
            Method::GET,
            "/playground/",
            Some(&format!("sessionid={key}")),
            JSON,
        )
        .await;
    assert_eq!(replayed.json()["session"]["keys"], json!([]));
}

#[actix_web::test]
async fn a_float_session_expiry_is_kept_a_float_as_django_keeps_it() {
    let app = spawn_app().await;
    let mut student = Student::arrive(&app).await;
    student.post("set", &[("key", "a"), ("value", "1")]).await;
    let key = student.session_cookie().unwrap();

    // Half a second: Max-Age=int(0.5)=0 and the session dies within the second; not the
    // browser-session cookie an int 0 would give.
    let half = student
        .post_json("set", &[("key", "_session_expiry"), ("value", "0.5")])
        .await;
    assert_eq!(
        half.set_cookie(),
        format!(
            "sessionid={key}; expires={}; HttpOnly; Max-Age=0; Path=/playground/; SameSite=Lax",
            http_date(app.now(), 0)
        )
    );
    let session = &half.json()["session"];
    assert_eq!(session["expiry_age"], 0.5);
    assert_eq!(session["expire_at_browser_close"], false);
    app.advance(1);
    assert_eq!(
        student.session().await["keys"],
        json!([]),
        "expired on the server a second later"
    );

    // 600.5 seconds: Max-Age=600, and the age as Python returns it.
    student.post("set", &[("key", "a"), ("value", "1")]).await;
    let later = student
        .post_json("set", &[("key", "_session_expiry"), ("value", "600.5")])
        .await;
    assert!(
        later.set_cookie().contains("; Max-Age=600; "),
        "{}",
        later.set_cookie()
    );
    assert_eq!(later.json()["session"]["expiry_age"], 600.5);
}

#[actix_web::test]
async fn set_expiry_with_a_datetime_or_a_timedelta_stores_a_date() {
    let app = spawn_app().await;
    let mut student = Student::arrive(&app).await;
    student.post("set", &[("key", "a"), ("value", "1")]).await;

    // A datetime a day from now, written naive: taken as UTC.
    let at = app.now() + TimeDelta::days(1);
    let naive = at.format("%Y-%m-%dT%H:%M:%S").to_string();
    let dated = student
        .post_json("set_expiry", &[("kind", "datetime"), ("value", &naive)])
        .await;
    assert_eq!(dated.status, 200, "{}", dated.body);
    let json = dated.json();
    assert_eq!(
        json["session"]["items"][1],
        json!(["_session_expiry", python_isoformat(at)])
    );
    assert_eq!(json["session"]["expiry_age"], 86_400);
    assert!(dated.set_cookie().contains("; Max-Age=86400; "));

    // The same moment with an offset: stored with that offset, as `value.isoformat()` does.
    let in_paris = at.with_timezone(&chrono::FixedOffset::east_opt(3600).unwrap());
    let offset_text = in_paris.format("%Y-%m-%dT%H:%M:%S+01:00").to_string();
    let dated = student
        .post_json(
            "set_expiry",
            &[("kind", "datetime"), ("value", &offset_text)],
        )
        .await
        .json();
    assert_eq!(
        dated["session"]["items"][1],
        json!(["_session_expiry", offset_text])
    );
    assert_eq!(dated["session"]["expiry_age"], 86_400);

    // A timedelta: Django stores now + delta as a date.
    let delta = student
        .post_json("set_expiry", &[("kind", "timedelta"), ("value", "120")])
        .await;
    let json = delta.json();
    let expected = app.now() + TimeDelta::seconds(120);
    assert_eq!(
        json["session"]["items"][1],
        json!(["_session_expiry", python_isoformat(expected)])
    );
    assert_eq!(
        json["session"]["expiry_date"],
        expected.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    );
    assert!(delta.set_cookie().contains("; Max-Age=120; "));
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .starts_with("set_expiry(timedelta(seconds=120))")
    );

    // The example from the page, and a nonsense date.
    let example = student
        .post_json(
            "set_expiry",
            &[("kind", "datetime"), ("value", "2026-12-24T18:00:00+00:00")],
        )
        .await;
    assert_eq!(
        example.json()["session"]["items"][1],
        json!(["_session_expiry", "2026-12-24T18:00:00+00:00"])
    );
    let before = student.session().await;
    let bad = student
        .post("set_expiry", &[("kind", "datetime"), ("value", "tomorrow")])
        .await;
    assert_refused(&bad, 400, "is not an ISO-8601 date&#x2F;time");
    assert_eq!(student.session().await["items"], before["items"]);
}

#[actix_web::test]
async fn csrf_refuses_posts_without_the_right_token_or_from_another_origin() {
    // Arrange
    let app = spawn_app().await;
    let mut student = Student::arrive(&app).await;
    student.post("set", &[("key", "a"), ("value", "1")]).await;
    let fields = [("key", "a"), ("value", "2")];
    let wrong = "abcdefghijklmnopqrstuvwxyzABCDEF";

    // Act + Assert: each refusal is a 403 that says why, and changes nothing.
    let cases: [(Token, Fields, &str); 4] = [
        (Token::Absent, vec![], "CSRF token missing."),
        (
            Token::Given(wrong),
            vec![],
            "CSRF token from POST incorrect.",
        ),
        (
            Token::Given("short"),
            vec![],
            "CSRF token from POST has incorrect length.",
        ),
        (
            Token::Field,
            vec![("Origin", "http://evil.example")],
            "Origin checking failed - http:&#x2F;&#x2F;evil.example does not match any trusted origins.",
        ),
    ];
    for (token, headers, reason) in cases {
        let page = student.send("set", &fields, token, &headers, HTML).await;
        assert_refused(&page, 403, "CSRF verification failed");
        assert!(page.body.contains(reason), "{reason}: {}", page.body);
    }
    let json = student.send("set", &fields, Token::Absent, &[], JSON).await;
    assert_eq!(json.status, 403);
    assert_eq!(json.json()["error"]["status"], 403);
    assert!(
        json.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("CSRF verification failed. Request aborted. Reason: CSRF token missing.")
    );
    assert_eq!(items(&student.session().await), json!([["a", 1]]));

    // Without the cookie, even the right token fails.
    let cookieless = app
        .client
        .post(format!("{}/playground/set/", app.address))
        .form(&[
            ("key", "a"),
            ("value", "3"),
            ("csrfmiddlewaretoken", &student.token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(cookieless.status().as_u16(), 403);
    assert!(
        cookieless
            .text()
            .await
            .unwrap()
            .contains("CSRF cookie not set.")
    );

    // The right token passes: in the form with the site's own Origin, or in the header.
    let own_origin = app.address.clone();
    let same_origin = student
        .send(
            "set",
            &fields,
            Token::Field,
            &[("Origin", &own_origin)],
            JSON,
        )
        .await;
    assert_eq!(same_origin.status, 200, "{}", same_origin.body);
    let header = student
        .send(
            "set",
            &[("key", "b"), ("value", "3")],
            Token::Header,
            &[],
            JSON,
        )
        .await;
    assert_eq!(header.status, 200, "{}", header.body);
    assert_eq!(
        items(&header.json()["session"]),
        json!([["a", 2], ["b", 3]])
    );
    // A script may send no form at all, only the header.
    let bare = student
        .app
        .client
        .post(format!("{}/playground/clear/", app.address))
        .header("Accept", JSON)
        .header("X-CSRFToken", &student.token)
        .header("Cookie", student.jar.header_for("/playground/").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status().as_u16(), 200);
}

#[actix_web::test]
async fn a_masked_csrf_cookie_is_kept_as_its_secret_and_rewritten_unmasked() {
    // Arrange: the cookie as Django before 4.1 wrote it, a 64-character masked token (here
    // `abcdefghijklmnopqrstuvwxyzABCDEF` masked by Django 5.2's `_mask_cipher_secret`).
    let app = spawn_app().await;
    let secret = "abcdefghijklmnopqrstuvwxyzABCDEF";
    let masked = "xy2oLAABABGwbZLtrzBKa05ZoihJrf0wxz4rPFGIIKQHncZIHQT3ulrmMHHaTIu1";
    let cookie = format!("csrftoken={masked}");

    // Act
    let page = app.get_json("/playground/", Some(&cookie)).await;
    let post = app
        .client
        .post(format!("{}/playground/set/", app.address))
        .header("Accept", JSON)
        .header("Cookie", &cookie)
        .form(&[
            ("csrfmiddlewaretoken", secret),
            ("key", "k"),
            ("value", "1"),
        ])
        .send()
        .await
        .unwrap();

    // Assert: the page's token is the secret and the cookie is written again as the secret,
    // as Django 5.2 answers; a POST with the secret passes the masked cookie's check.
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.json()["csrf_token"], secret);
    assert_eq!(page.cookie_value("csrftoken").as_deref(), Some(secret));
    assert_eq!(post.status().as_u16(), 200);
}

#[actix_web::test]
async fn every_limit_is_a_400_that_names_it_and_leaves_the_session_unchanged() {
    // Arrange
    let app = spawn_app().await;
    let mut student = Student::arrive(&app).await;
    student.post("set", &[("key", "a"), ("value", "1")]).await;
    let long_key = "k".repeat(65);
    let big_value = format!("\"{}\"", "x".repeat(4095));
    let huge_form = "x".repeat(17 * 1024);
    let cases: Vec<(&str, Fields, &str)> = vec![
        (
            "set",
            vec![("key", &long_key), ("value", "1")],
            "The key has 65 characters; the playground allows at most 64.",
        ),
        (
            "set",
            vec![("key", ""), ("value", "1")],
            "The key is empty: a key must have 1 to 64 characters.",
        ),
        (
            "setdefault",
            vec![("key", "tab\there"), ("value", "1")],
            "The key contains a control character (U+0009 at position 4)",
        ),
        (
            "set",
            vec![("key", "b"), ("value", &big_value)],
            "The value is 4097 bytes of JSON; the playground allows at most 4096 bytes.",
        ),
        (
            "set",
            vec![("key", "b"), ("value", &huge_form)],
            "the playground accepts at most 16384 bytes (16 KiB) per form",
        ),
        (
            "set_expiry",
            vec![("kind", "seconds"), ("value", "99999999999")],
            "at most 1000000000 seconds",
        ),
    ];
    let before = student.session().await;

    for (operation, fields, message) in cases {
        // Act
        let page = student.post(operation, &fields).await;
        // Assert
        assert_refused(&page, 400, message);
        let json = student
            .send(operation, &fields, Token::Field, &[], JSON)
            .await;
        assert_eq!(json.status, 400);
        assert!(
            json.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains(message),
            "{}",
            json.body
        );
        assert_eq!(student.session().await, before, "{operation}: unchanged");
    }
}

#[actix_web::test]
async fn the_page_names_the_integers_a_value_keeps_exactly() {
    // Arrange
    let app = spawn_app().await;
    let mut student = Student::arrive(&app).await;

    // Act
    let page = student.get(HTML).await;
    let json = student.get(JSON).await.json();

    // Assert: the range the refusal of a wider integer names, on the page and in the JSON
    assert!(
        page.body.contains(
            "integers from -9223372036854775808 to 18446744073709551615 are kept exactly"
        ),
        "{}",
        page.body
    );
    assert_eq!(json["limits"]["integer_min"], json!(i64::MIN));
    assert_eq!(json["limits"]["integer_max"], json!(u64::MAX));
}

#[actix_web::test]
async fn a_session_holds_at_most_50_keys() {
    let app = spawn_app().await;
    let mut student = Student::arrive(&app).await;
    for i in 0..50 {
        let key = format!("k{i}");
        let page = student.post("set", &[("key", &key), ("value", "0")]).await;
        assert_eq!(page.status, 200);
    }
    let before = student.session().await;

    let fifty_first = student
        .post("set", &[("key", "one-more"), ("value", "0")])
        .await;
    let by_setdefault = student
        .post("setdefault", &[("key", "one-more"), ("value", "0")])
        .await;
    let by_set_expiry = student
        .post("set_expiry", &[("kind", "seconds"), ("value", "60")])
        .await;
    let replacing = student.post("set", &[("key", "k0"), ("value", "1")]).await;

    for page in [&fifty_first, &by_setdefault, &by_set_expiry] {
        assert_refused(page, 400, "the playground&#x27;s limit is 50");
    }
    assert_eq!(replacing.status, 200, "replacing a key adds none");
    let after = student.session().await;
    assert_eq!(after["keys"], before["keys"]);
    assert_eq!(after["items"][0], json!(["k0", 1]));
}

#[actix_web::test]
async fn what_a_student_types_comes_back_escaped() {
    let app = spawn_app().await;
    let mut student = Student::arrive(&app).await;
    let script = "<script>alert(1)</script>";

    let page = student
        .post(
            "set",
            &[("key", script), ("value", "\"<script>alert(1)</script>\"")],
        )
        .await;
    let missing = student.post("delete", &[("key", "<b>x</b>")]).await;

    assert_eq!(page.status, 200);
    assert!(!page.body.contains(script), "{}", page.body);
    assert!(
        page.body
            .contains("<code>&lt;script&gt;alert(1)&lt;&#x2F;script&gt;</code>"),
        "the key in the session table"
    );
    assert!(
        page.body
            .contains("&quot;&lt;script&gt;alert(1)&lt;&#x2F;script&gt;&quot;"),
        "the value"
    );
    assert!(!missing.body.contains("<b>x</b>"));
    assert!(missing.body.contains("&lt;b&gt;x&lt;&#x2F;b&gt;"));
    assert_eq!(
        student.session().await["keys"],
        json!([script]),
        "stored as typed"
    );
}

#[actix_web::test]
async fn the_playground_has_its_own_layered_settings_and_store() {
    // Arrange: the playground alone on the file engine with a short cookie age.
    let files = tempfile::tempdir().unwrap();
    let dir = files.path().display().to_string();
    let app = spawn_app_with(&[
        ("APP__LESSONS__PLAYGROUND__ENGINE", "file"),
        ("APP__LESSONS__PLAYGROUND__FILE_PATH", &dir),
        ("APP__LESSONS__PLAYGROUND__COOKIE_AGE", "60"),
        ("APP__LESSONS__PLAYGROUND__COOKIE_NAME", "playid"),
    ])
    .await;
    let mut student = Student::arrive(&app).await;

    // Act
    let page = student
        .post_json("set", &[("key", "a"), ("value", "1")])
        .await;

    // Assert
    let key = page.cookie_value("playid").expect("its own cookie name");
    assert!(
        page.set_cookie()
            .contains("; Max-Age=60; Path=/playground/;")
    );
    assert_eq!(page.json()["session"]["engine"], "file");
    assert!(
        files.path().join(format!("playid{key}")).exists(),
        "a session file"
    );
    assert!(
        app.rows().await.is_empty(),
        "nothing in the lessons' database"
    );
    let lesson = app.get_json("/basic/set/", None).await;
    assert!(
        lesson
            .set_cookie()
            .contains("Max-Age=1209600; Path=/basic/;"),
        "the lessons keep theirs"
    );
}

#[actix_web::test]
async fn pop_of_an_absent_key_undoes_the_reset_of_a_tampered_signed_cookie_as_django_does() {
    // Arrange: Django's `pop` reads `modified` before the load that resets the session.
    let app = spawn_app_with(&[("APP__LESSONS__PLAYGROUND__ENGINE", "signed_cookies")]).await;
    let student = Student::arrive(&app).await;
    let tampered = "eyJuYW1lIjoiUyJ9:1xaTa2:XXXXcCJ0bqPBsaaqnflOEsNM7mO6q6W8s-vq0TYKzPk";
    let cookie = format!("csrftoken={}; sessionid={tampered}", student.token);
    let pop = |fields: Fields<'static>| {
        app.client
            .post(format!("{}/playground/pop/", app.address))
            .header("Accept", JSON)
            .header("Cookie", &cookie)
            .header("X-CSRFToken", &student.token)
            .form(&fields)
            .send()
    };

    // Act
    let absent = pop(vec![("key", "x"), ("default", "1")]).await.unwrap();
    let absent_cookies = absent.headers().get_all("set-cookie").iter().count();
    let absent_json: Value = absent.json().await.unwrap();
    let read = app
        .request(Method::GET, "/playground/", Some(&cookie), JSON)
        .await;

    // Assert: the pop leaves the reset session unmodified, so no cookie; a plain read of the
    // same cookie gets the signed empty session.
    assert_eq!(absent_json["result"], 1);
    assert_eq!(absent_json["session"]["keys"], json!([]));
    assert_eq!(absent_cookies, 0, "no Set-Cookie after the pop");
    let reset = read
        .cookie_value("sessionid")
        .expect("a read resets the session");
    assert!(reset.starts_with("e30:"), "{reset}");
}

#[actix_web::test]
async fn on_signed_cookies_the_data_travels_in_the_cookie_and_flush_says_copies_stay_valid() {
    // Arrange
    let app = spawn_app_with(&[("APP__LESSONS__PLAYGROUND__ENGINE", "signed_cookies")]).await;
    let mut student = Student::arrive(&app).await;

    // Act
    let set = student
        .post_json("set", &[("key", "a"), ("value", "1")])
        .await;
    let old = student.session_cookie().unwrap();
    let cycled = student.post_json("cycle_key", &[]).await;
    let flushed = student.post_json("flush", &[]).await;

    // Assert
    assert_eq!(set.json()["session"]["engine"], "signed_cookies");
    assert!(old.contains(':'), "a signed value, not a key: {old}");
    assert_eq!(items(&cycled.json()["session"]), json!([["a", 1]]));
    assert!(flushed.set_cookie().contains("Max-Age=0"));
    assert!(
        flushed.json()["message"]
            .as_str()
            .unwrap()
            .contains("a copy of the old cookie stays valid"),
        "{}",
        flushed.body
    );
    assert!(app.rows().await.is_empty(), "nothing stored server-side");
    let replayed = app
        .request(
            Method::GET,
            "/playground/",
            Some(&format!("sessionid={old}")),
            JSON,
        )
        .await;
    assert_eq!(
        items(&replayed.json()["session"]),
        json!([["a", 1]]),
        "a signed cookie cannot be revoked"
    );
}

#[actix_web::test]
async fn a_session_larger_than_its_in_process_cache_keeps_is_a_400_that_says_so() {
    // Arrange: the playground on the in-process cache, configured to hold 4 KiB in all.
    let app = spawn_app_with(&[
        ("APP__LESSONS__PLAYGROUND__ENGINE", "cache"),
        ("APP__CACHES__DEFAULT__BACKEND", "memory"),
        ("APP__CACHES__DEFAULT__MAX_BYTES", "4096"),
    ])
    .await;
    let mut student = Student::arrive(&app).await;
    let big_value = format!("\"{}\"", "x".repeat(4000));

    // Act
    let page = student
        .post("set", &[("key", "blob"), ("value", &big_value)])
        .await;

    // Assert: refused as the request's own doing (trying again would not help), with the
    // limit to raise; nothing kept, no cookie. A session that fits is kept as ever.
    assert_refused(
        &page,
        400,
        "the session is too large for the in-process cache",
    );
    assert!(page.body.contains("max_bytes = 4096"), "{}", page.body);
    assert_eq!(student.session_cookie(), None);
    let page = student.post("set", &[("key", "n"), ("value", "1")]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(items(&student.session().await), json!([["n", 1]]));
}
