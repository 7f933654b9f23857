//! Pages and JSON from the same context: Tera templates (autoescaped, all extending
//! `base.html`) for browsers, the context itself for `Accept: application/json`.

use std::collections::HashMap;

use actix_web::http::header::{self, Header, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use anyhow::Context as _;
use pulldown_cmark::{Options, Parser, html};
use serde::Serialize;
use tera::Tera;

use crate::assets::{LessonTexts, Templates};
use crate::error::AppError;
use crate::python;

/// The `Content-Type` of a JSON answer. Header values built once, at compile time: a `Mime` or
/// a `&str` handed to `content_type` is checked byte by byte and copied into a new header value
/// on every answer.
pub const JSON_CONTENT_TYPE: HeaderValue = HeaderValue::from_static("application/json");

/// The `Content-Type` of an HTML page.
pub const HTML_CONTENT_TYPE: HeaderValue = HeaderValue::from_static("text/html; charset=utf-8");

/// Templates and lesson texts, parsed once at start-up and shared by every worker.
pub struct Renderer {
    tera: Tera,
    lesson_html: HashMap<String, String>,
}

impl Renderer {
    /// Parses every template and renders every lesson text; a broken one stops start-up.
    pub fn load() -> anyhow::Result<Self> {
        let mut templates = Vec::new();
        for name in Templates::iter() {
            let file =
                Templates::get(&name).with_context(|| format!("template {name} vanished"))?;
            let text = String::from_utf8(file.data.into_owned())
                .with_context(|| format!("template {name} is not UTF-8"))?;
            templates.push((name.into_owned(), text));
        }
        let mut tera = page_engine();
        tera.add_raw_templates(templates)
            .context("the templates under templates/ do not parse")?;

        let mut lesson_html = HashMap::new();
        for name in LessonTexts::iter() {
            let Some(slug) = name.strip_suffix(".md") else {
                continue;
            };
            let file =
                LessonTexts::get(&name).with_context(|| format!("lesson {name} vanished"))?;
            let text = String::from_utf8(file.data.into_owned())
                .with_context(|| format!("lesson text {name} is not UTF-8"))?;
            lesson_html.insert(slug.to_owned(), markdown_to_html(&text));
        }
        Ok(Renderer { tera, lesson_html })
    }

    /// The lesson text of `slug`, as HTML.
    pub fn lesson_html(&self, slug: &str) -> Option<&str> {
        self.lesson_html.get(slug).map(String::as_str)
    }

    /// Renders `template` with `context`.
    pub fn render(&self, template: &str, context: &impl Serialize) -> Result<String, AppError> {
        let context = tera::Context::from_serialize(context)?;
        Ok(self.tera.render(template, &context)?)
    }

    /// Renders `template` with the values of `fixed`, built once for every request, and those
    /// `add_values` inserts over them (a per-request value replaces a fixed one of its name).
    fn render_over(
        &self,
        template: &str,
        fixed: &tera::Context,
        add_values: impl FnOnce(&mut PageValues) -> Result<(), AppError>,
    ) -> Result<String, AppError> {
        // A clone of the fixed values shares their contents (Tera's strings, lists and maps
        // are reference-counted); each per-request value is converted alone, under a name that
        // stays borrowed, rather than as one serialized struct merged into them.
        let mut values = PageValues(fixed.clone());
        add_values(&mut values)?;
        Ok(self.tera.render(template, &values.0)?)
    }

    /// Answers with `template` rendered from `context`, or with `json` when the client asked
    /// for JSON.
    pub fn respond(
        &self,
        req: &HttpRequest,
        template: &str,
        context: &impl Serialize,
        json: &impl Serialize,
    ) -> Result<HttpResponse, AppError> {
        negotiate(
            req,
            || self.render(template, context),
            |out: &mut Vec<u8>| serde_json::to_writer(out, json),
        )
    }

    /// [`Renderer::respond`] for a page made of `fixed` values and the values `add_values`
    /// inserts over them ([`PageValues`]), called only when the page is rendered (a JSON answer
    /// does not pay for what only the page shows, the lesson views' inspector), and a JSON
    /// answer written by `write_json` into its body.
    pub fn respond_with(
        &self,
        req: &HttpRequest,
        template: &str,
        fixed: &tera::Context,
        add_values: impl FnOnce(&mut PageValues) -> Result<(), AppError>,
        write_json: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
    ) -> Result<HttpResponse, AppError> {
        negotiate(
            req,
            || self.render_over(template, fixed, add_values),
            write_json,
        )
    }
}

/// The values a page is rendered with: its fixed values, and those of the request added over
/// them by [`PageValues::insert`].
pub struct PageValues(tera::Context);

impl PageValues {
    /// Sets `name` to `value`, replacing a fixed value of that name. A value Tera cannot hold
    /// is an error, where `tera::Context::insert` would panic.
    pub fn insert(
        &mut self,
        name: &'static str,
        value: &(impl Serialize + ?Sized),
    ) -> Result<(), AppError> {
        self.0
            .insert_value(name, tera::Value::try_from_serializable(value)?);
        Ok(())
    }
}

/// A 200 with the JSON `write_json` writes when the client asked for JSON, else with the page
/// `render_page` renders (only then).
fn negotiate(
    req: &HttpRequest,
    render_page: impl FnOnce() -> Result<String, AppError>,
    write_json: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
) -> Result<HttpResponse, AppError> {
    if wants_json(req) {
        return json_response(write_json);
    }
    Ok(HttpResponse::Ok()
        .content_type(HTML_CONTENT_TYPE)
        .body(render_page()?))
}

/// A 200 with the JSON `write_json` writes, into a buffer sized for a lesson answer (about
/// 330 bytes) rather than grown from serde_json's 128 by copying.
fn json_response(
    write_json: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
) -> Result<HttpResponse, AppError> {
    let mut body = Vec::with_capacity(JSON_ANSWER_CAPACITY);
    write_json(&mut body)
        .map_err(|error| AppError::Internal(anyhow::Error::new(error).context("JSON answer")))?;
    Ok(HttpResponse::Ok()
        .content_type(JSON_CONTENT_TYPE)
        .body(body))
}

/// The buffer a JSON answer starts with.
const JSON_ANSWER_CAPACITY: usize = 512;

/// A Tera that renders as the pages are rendered: `.html` templates autoescaped by
/// [`escape_html`], with the filters `json_encode`, `python_repr`, `python_str` and
/// `html_datetime`.
fn page_engine() -> Tera {
    let mut tera = Tera::new();
    tera.autoescape_on([".html"]);
    tera.set_escape_fn(escape_html);
    tera.register_filter("json_encode", json_encode);
    tera.register_filter("python_repr", python_repr);
    tera.register_filter("python_str", python_str);
    tera.register_filter("html_datetime", html_datetime);
    tera
}

/// An ISO 8601 date and time as the pages show it (`2026-12-21T13:29:21.108171Z`, to the
/// microsecond as Django keeps it) in the form a `<time datetime>` attribute takes, whose
/// fraction of a second has at most three digits (`2026-12-21T13:29:21.108Z`). Any other text
/// is left as it is.
fn html_datetime(
    value: &tera::Value,
    _: tera::Kwargs,
    _: &tera::State,
) -> tera::TeraResult<String> {
    let text = value
        .as_str()
        .ok_or_else(|| tera::Error::message(format!("html_datetime: {value} is not text")))?;
    Ok(milliseconds_at_most(text))
}

/// `text` with the digits of its fraction of a second (after its first `.`) cut to three.
fn milliseconds_at_most(text: &str) -> String {
    let Some(dot) = text.find('.') else {
        return text.to_owned();
    };
    let fraction = &text[dot + 1..];
    let digits = fraction
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(fraction.len());
    let kept = dot + 1 + digits.min(3);
    let rest = dot + 1 + digits;
    format!("{}{}", &text[..kept], &text[rest..])
}

/// The autoescape of the pages: Tera 1's, which Tera 2 narrowed. Besides `& < > "` it escapes
/// `'` and `/` (OWASP's rule for text that may land in an attribute), so a student's key or
/// value can never close an attribute, whichever quotes it is in.
fn escape_html(input: &str, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let bytes = input.as_bytes();
    let mut unescaped_from = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let escaped: &[u8] = match byte {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'"' => b"&quot;",
            b'\'' => b"&#x27;",
            b'/' => b"&#x2F;",
            _ => continue,
        };
        out.write_all(&bytes[unescaped_from..at])?;
        out.write_all(escaped)?;
        unescaped_from = at + 1;
    }
    out.write_all(&bytes[unescaped_from..])
}

/// Tera 1's `json_encode`, which Tera 2 does not have: `value` as compact JSON (the page's
/// autoescape then escapes it, as any text).
fn json_encode(value: &tera::Value, _: tera::Kwargs, _: &tera::State) -> tera::TeraResult<String> {
    serde_json::to_string(value)
        .map_err(|error| tera::Error::message(format!("json_encode: {error}")))
}

/// Python's `repr()` of `value` as JSON reads it ([`python::repr`]): `True`, `None`,
/// `'Sonam'`, `{'a': [1, 2]}`.
fn python_repr(value: &tera::Value, _: tera::Kwargs, _: &tera::State) -> tera::TeraResult<String> {
    Ok(python::repr(&as_json(value)?))
}

/// Python's `str()` of `value` ([`python::str_of`]), what a Django template prints for
/// `{{ value }}`: a string as it is, anything else as its `repr()`.
fn python_str(value: &tera::Value, _: tera::Kwargs, _: &tera::State) -> tera::TeraResult<String> {
    Ok(python::str_of(&as_json(value)?).into_owned())
}

/// A template value as the JSON value it came from.
fn as_json(value: &tera::Value) -> tera::TeraResult<serde_json::Value> {
    serde_json::to_value(value)
        .map_err(|error| tera::Error::message(format!("a template value as JSON: {error}")))
}

/// CommonMark with tables, as the lesson texts are written. Each code block is in the Tab order
/// (`<pre tabindex="0">`): a line longer than the page is scrolled to sideways, which a student
/// without a mouse can do only once the block has the focus (WCAG 2.1.1).
pub fn markdown_to_html(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len() * 2);
    html::push_html(&mut out, Parser::new_ext(markdown, Options::ENABLE_TABLES));
    // The writer opens every code block, fenced or indented, with exactly `<pre>`; a `<pre>`
    // in the text itself is escaped.
    out.replace("<pre>", "<pre tabindex=\"0\">")
}

/// Whether the client ranks JSON above HTML in its `Accept` header.
pub fn wants_json(req: &HttpRequest) -> bool {
    // The answers to the headers nearly every client sends (`curl -H 'Accept:
    // application/json'`, a browser's `text/html,…`, none at all) are known without parsing
    // and ranking every media range, which costs more than the rest of a JSON answer's
    // content negotiation together.
    let mut values = req.headers().get_all(header::ACCEPT);
    match (values.next().map(|value| value.as_bytes()), values.next()) {
        (None, _) => false,
        (Some(b"application/json"), None) => true,
        (Some(value), None) if value == b"text/html" || value.starts_with(b"text/html,") => false,
        _ => ranks_json_first(req),
    }
}

/// The full reading of the `Accept` header: JSON (or `application/*`) ranked above HTML,
/// `text/*` and `*/*`. A media range with `q=0` is one the client refuses, not a preference.
fn ranks_json_first(req: &HttpRequest) -> bool {
    let Ok(accept) = header::Accept::parse(req) else {
        return false;
    };
    // `ranked` sorts by quality, highest first, so the refused ranges are the last ones.
    let acceptable = accept
        .iter()
        .filter(|range| range.quality > header::Quality::ZERO)
        .count();
    for mime in accept.ranked().into_iter().take(acceptable) {
        match (mime.type_(), mime.subtype()) {
            (mime::APPLICATION, mime::JSON | mime::STAR) => return true,
            (mime::TEXT, mime::HTML | mime::STAR) | (mime::STAR, mime::STAR) => return false,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    /// A request whose `Accept` header is `accept`.
    fn accepting(accept: &str) -> HttpRequest {
        TestRequest::default()
            .insert_header(("Accept", accept))
            .to_http_request()
    }

    #[test]
    fn json_is_chosen_only_when_ranked_above_html() {
        assert!(wants_json(&accepting("application/json")));
        let browser = accepting("text/html,application/xhtml+xml,*/*;q=0.8");
        assert!(!wants_json(&browser));
        assert!(!wants_json(&accepting("application/json;q=0.5, text/html")));
        assert!(!wants_json(&TestRequest::default().to_http_request()));
    }

    #[test]
    fn a_refused_or_wildcard_range_is_read_as_the_client_means_it() {
        let wants = |accept: &str| wants_json(&accepting(accept));
        assert!(!wants("application/json;q=0"), "JSON refused");
        assert!(
            !wants("application/json;q=0, */*;q=0.1"),
            "JSON refused, anything else taken"
        );
        assert!(
            wants("text/html;q=0, application/json;q=0.1"),
            "HTML refused"
        );
        assert!(wants("application/*"), "any application type: JSON");
        assert!(wants("application/*, text/*;q=0.5"));
        assert!(!wants("text/*"), "any text type: HTML");
        assert!(!wants("text/*, application/json;q=0.5"));
        assert!(!wants("image/png"), "neither: HTML, the default");
    }

    #[test]
    fn the_shortcuts_agree_with_the_full_ranking() {
        let ranked = |accept: &str| {
            let req = accepting(accept);
            (wants_json(&req), ranks_json_first(&req))
        };
        for accept in [
            "application/json",
            "text/html",
            "text/html,application/json",
            "text/html, application/json;q=1",
            "text/html;q=0.1, application/json",
            "application/json;q=0.1, text/html",
            "application/json, text/html",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        ] {
            let (shortcut, full) = ranked(accept);
            assert_eq!(shortcut, full, "{accept}");
        }
        assert!(ranked("text/html;q=0.1, application/json").0);
    }

    #[test]
    fn pages_escape_what_could_end_text_or_an_attribute() {
        let mut out = Vec::new();
        escape_html("<a href='/x'>\"Tom & Jerry\"</a> ünïcode", &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "&lt;a href=&#x27;&#x2F;x&#x27;&gt;&quot;Tom &amp; Jerry&quot;&lt;&#x2F;a&gt; ünïcode"
        );
    }

    #[test]
    fn a_page_joins_its_fixed_values_and_the_request_s_own() {
        let mut renderer = Renderer::load().unwrap();
        renderer
            .tera
            .add_raw_template("t.html", "{{ title }}: {{ view }} ({{ kind }})")
            .unwrap();
        let mut fixed = tera::Context::new();
        fixed.insert("title", "Set & get");
        fixed.insert("kind", "fixed");
        let html = renderer
            .render_over("t.html", &fixed, |values| {
                values.insert("view", "get")?;
                values.insert("kind", "this request's")
            })
            .unwrap();
        assert_eq!(html, "Set &amp; get: get (this request&#x27;s)");
        assert_eq!(
            fixed.get("kind").map(|v| v.to_string()).as_deref(),
            Some("fixed")
        );
    }

    #[test]
    fn json_encode_writes_compact_json_in_insertion_order() {
        let mut tera = page_engine();
        tera.add_raw_template("t.html", "{{ v | json_encode }}")
            .unwrap();
        let value: serde_json::Value =
            serde_json::from_str(r#"{"z": [1, 2.5, null], "a": "x"}"#).unwrap();
        let html = tera
            .render(
                "t.html",
                &tera::Context::from_serialize(&serde_json::json!({ "v": value })).unwrap(),
            )
            .unwrap();
        assert_eq!(
            html,
            "{&quot;z&quot;:[1,2.5,null],&quot;a&quot;:&quot;x&quot;}"
        );
    }

    #[test]
    fn python_filters_write_values_as_python_prints_them() {
        let mut tera = page_engine();
        tera.add_raw_template("t.html", "{{ v | python_repr }} / {{ v | python_str }}")
            .unwrap();
        let render = |json: &str| {
            let value: serde_json::Value = serde_json::from_str(json).unwrap();
            tera.render(
                "t.html",
                &tera::Context::from_serialize(&serde_json::json!({ "v": value })).unwrap(),
            )
            .unwrap()
        };
        assert_eq!(render("true"), "True / True");
        assert_eq!(render("null"), "None / None");
        assert_eq!(render("1.0"), "1.0 / 1.0");
        assert_eq!(render("26"), "26 / 26");
        assert_eq!(
            render(r#""Sonam""#),
            "&#x27;Sonam&#x27; / Sonam",
            "escaped as any text"
        );
        assert_eq!(
            render(r#"{"z": [1, 2.5, null], "a": "x"}"#),
            "{&#x27;z&#x27;: [1, 2.5, None], &#x27;a&#x27;: &#x27;x&#x27;} / {&#x27;z&#x27;: [1, 2.5, None], &#x27;a&#x27;: &#x27;x&#x27;}"
        );
    }

    #[test]
    fn code_blocks_can_take_the_focus_and_other_text_is_left_as_written() {
        let html = markdown_to_html(
            "Write `<pre>` for it:\n\n```python\nx = 1\n```\n\n    indented\n\n| a |\n|---|\n| 1 |\n",
        );

        assert_eq!(
            html,
            "<p>Write <code>&lt;pre&gt;</code> for it:</p>\n\
             <pre tabindex=\"0\"><code class=\"language-python\">x = 1\n</code></pre>\n\
             <pre tabindex=\"0\"><code>indented\n</code></pre>\n\
             <table><thead><tr><th>a</th></tr></thead><tbody>\n<tr><td>1</td></tr>\n</tbody></table>\n"
        );
    }

    #[test]
    fn a_time_s_datetime_keeps_milliseconds_at_most() {
        for (shown, attribute) in [
            ("2026-12-21T13:29:21.108171Z", "2026-12-21T13:29:21.108Z"),
            (
                "2026-12-21T13:29:21.108171+00:00",
                "2026-12-21T13:29:21.108+00:00",
            ),
            ("2026-12-21T13:29:21.1Z", "2026-12-21T13:29:21.1Z"),
            ("2026-12-21T13:29:21.123456789Z", "2026-12-21T13:29:21.123Z"),
            ("2026-12-21T13:29:21Z", "2026-12-21T13:29:21Z"),
            ("2026-12-21T13:29:21.108171", "2026-12-21T13:29:21.108"),
        ] {
            assert_eq!(milliseconds_at_most(shown), attribute, "{shown}");
        }
        let mut tera = page_engine();
        tera.add_raw_template("t.html", "{{ at | html_datetime }}")
            .unwrap();
        let html = tera
            .render(
                "t.html",
                &tera::Context::from_serialize(
                    &serde_json::json!({ "at": "2026-12-21T13:29:21.108171Z" }),
                )
                .unwrap(),
            )
            .unwrap();
        assert_eq!(html, "2026-12-21T13:29:21.108Z");
    }

    #[test]
    fn every_template_and_lesson_text_loads() {
        let renderer = Renderer::load().unwrap();
        for slug in crate::lessons::LESSONS.iter().map(|lesson| lesson.slug) {
            let html = renderer.lesson_html(slug).unwrap();
            assert!(html.contains("<h1>"), "{slug} has a title");
        }
    }
}
