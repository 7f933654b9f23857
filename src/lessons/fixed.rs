//! The parts of a lesson's pages that are the same on every request — the list of its views,
//! its text with the source of its handlers, its settings table — rendered once at start-up
//! from their templates under `templates/parts/`, and each page's fixed template values
//! (its title, its settings) converted once to Tera values. A request then converts and
//! renders only what depends on it (the view's result, the session, the inspector); the fixed
//! values join its context as shared references (Tera's strings, lists and maps are
//! reference-counted), not as copies. The lesson page's JSON answer, fixed whole, is written
//! once too.

use std::borrow::Cow;
use std::net::SocketAddr;

use anyhow::Context as _;
use serde::Serialize;
use tera::Value;

use super::{Lesson, View};
use crate::config::{SessionSettings, loopback_for_wildcard};
use crate::render::Renderer;

/// The address the lesson texts' commands are written with (`curl … http://127.0.0.1:8000/basic/set/`),
/// the default profile's: the Markdown keeps it, so that it reads as a file, and each text is
/// rendered with the server's own address in its place ([`local_base_url`]).
pub const TEXT_BASE_URL: &str = "http://127.0.0.1:8000";

/// The address a command run on this machine reaches the server at, listening on `listening`
/// (the bound address, so port 0 is the port the OS chose): an unspecified host (`0.0.0.0`,
/// `::`, every interface) is reached at the loopback of its family, and an IPv6 address is
/// written in brackets (`http://[::1]:8000`).
pub fn local_base_url(listening: SocketAddr) -> String {
    let ip = loopback_for_wildcard(listening.ip()).unwrap_or(listening.ip());
    // `SocketAddr`'s own text brackets an IPv6 address, and leaves out a scope id of 0.
    format!("http://{}", SocketAddr::new(ip, listening.port()))
}

/// `html` with the commands' address, [`TEXT_BASE_URL`], replaced by `base_url`.
fn addressed_to<'a>(html: &'a str, base_url: &str) -> Cow<'a, str> {
    if base_url == TEXT_BASE_URL {
        return Cow::Borrowed(html);
    }
    // With the slash after the port, so that a port that merely starts with 8000 is left alone.
    Cow::Owned(html.replace(&format!("{TEXT_BASE_URL}/"), &format!("{base_url}/")))
}

/// A lesson's fixed parts and values.
pub struct FixedParts {
    /// The lesson page's template values: `title`, `settings`, `text_cookie_age` and
    /// `text_cookie_name` (the lesson's [`Lesson::text_cookie_age`] and
    /// [`Lesson::text_cookie_name`]), `mount_path`, and as HTML `lesson_heading`
    /// (the text's title), `views_nav`, `lesson_text` (the rest of the text) and
    /// `settings_table`.
    pub lesson_page: tera::Context,
    /// The lesson page's JSON answer: `lesson`, `title`, `views` (their names) and `settings`.
    pub lesson_page_json: Vec<u8>,
    /// Each view's, in the lesson's order.
    views: Vec<ViewParts>,
}

/// The fixed parts of one view's page.
pub struct ViewParts {
    /// The view's name, `set` for `/basic/set/`.
    pub name: &'static str,
    /// Its template, `<lesson templates>/<name>.html`.
    pub template: String,
    /// Its template values: `title`, `mount_path`, `settings`, and as HTML `views_nav` (the
    /// lesson's views with this one marked current).
    pub context: tera::Context,
}

/// What `parts/views_nav.html` renders with.
#[derive(Serialize)]
struct ViewsNav<'a> {
    lesson: &'a Lesson,
    mount_path: &'a str,
    heading: &'a str,
    /// The view marked `aria-current`, if one is.
    current: Option<&'a str>,
}

/// What `parts/lesson_text.html` renders with.
#[derive(Serialize)]
struct LessonText<'a> {
    lesson: &'a Lesson,
    text: &'a str,
    /// The address the text's commands name, which `static/commands.js` replaces with the
    /// one the page was opened at.
    base_url: &'a str,
}

/// What `parts/settings_table.html` renders with.
#[derive(Serialize)]
struct SettingsTable<'a> {
    settings: &'a SessionSettings,
}

impl FixedParts {
    /// Renders the fixed parts of `lesson` with its session `settings`, the commands in its
    /// text addressed to `base_url` ([`local_base_url`]); a template that fails stops start-up.
    pub fn render(
        lesson: &'static Lesson,
        settings: &SessionSettings,
        renderer: &Renderer,
        base_url: &str,
    ) -> anyhow::Result<Self> {
        let slug = lesson.slug;
        let mount_path = lesson.mount_path();
        let views_nav = |heading: &str, current: Option<&str>| {
            let nav = ViewsNav {
                lesson,
                mount_path: &mount_path,
                heading,
                current,
            };
            renderer
                .render("parts/views_nav.html", &nav)
                .with_context(|| format!("rendering the list of views of lesson {slug}"))
        };
        let text = renderer
            .lesson_html(slug)
            .with_context(|| format!("lessons/{slug}.md is missing"))?;
        let text = addressed_to(text, base_url);
        let settings_value = Value::try_from_serializable(settings)
            .with_context(|| format!("the settings of lesson {slug} as template values"))?;
        // What the lesson page and every view page show alike.
        let mut shared = tera::Context::new();
        shared.insert_value("title", Value::from(lesson.title));
        shared.insert_value("settings", settings_value);
        shared.insert_value("mount_path", Value::from(mount_path.as_str()));

        let mut lesson_page = shared.clone();
        // The text's title first, then the list of views, then the rest of the text: the
        // headings go 1, 2, … in the order they are read.
        let (heading, text) = split_title(&text);
        lesson_page.insert_value("lesson_heading", Value::from(heading));
        lesson_page.insert_value("text_cookie_age", Value::from(lesson.text_cookie_age));
        lesson_page.insert_value("text_cookie_name", Value::from(lesson.text_cookie_name));
        lesson_page.insert_value("views_nav", Value::from(views_nav("Views", None)?));
        let lesson_text = renderer
            .render(
                "parts/lesson_text.html",
                &LessonText {
                    lesson,
                    text,
                    base_url,
                },
            )
            .with_context(|| format!("rendering the text of lesson {slug}"))?;
        lesson_page.insert_value("lesson_text", Value::from(lesson_text));
        let settings_table = renderer
            .render("parts/settings_table.html", &SettingsTable { settings })
            .with_context(|| format!("rendering the settings of lesson {slug}"))?;
        lesson_page.insert_value("settings_table", Value::from(settings_table));
        let lesson_page_json = serde_json::to_vec(&serde_json::json!({
            "lesson": slug,
            "title": lesson.title,
            "views": lesson.views.iter().map(|v| v.name).collect::<Vec<_>>(),
            "settings": settings,
        }))
        .with_context(|| format!("the JSON answer of lesson {slug}"))?;

        let views = lesson
            .views
            .iter()
            .map(|&View { name, .. }| {
                let mut context = shared.clone();
                context.insert_value("views_nav", Value::from(views_nav("Next", Some(name))?));
                Ok(ViewParts {
                    name,
                    template: format!("{}/{name}.html", lesson.templates),
                    context,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(FixedParts {
            lesson_page,
            lesson_page_json,
            views,
        })
    }

    /// The fixed parts of view `name`, if the lesson has it.
    pub fn view(&self, name: &str) -> Option<&ViewParts> {
        self.views.iter().find(|view| view.name == name)
    }
}

/// A lesson text's title (its first `<h1>…</h1>`, the Markdown's `# …` line) and the text after
/// it; no title when the text does not start with one.
fn split_title(html: &str) -> (&str, &str) {
    if !html.starts_with("<h1>") {
        return ("", html);
    }
    match html.find("</h1>") {
        Some(end) => html.split_at(end + "</h1>".len()),
        None => ("", html),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::fixtures::load;
    use crate::lessons::LESSONS;

    /// The parts of lesson `slug` with the committed default profile's settings.
    fn parts_of(slug: &str) -> FixedParts {
        let lesson = crate::lessons::find(slug).unwrap();
        let settings = load("default", &[])
            .unwrap()
            .lesson_session(slug, &lesson.mount_path());
        FixedParts::render(lesson, &settings, &Renderer::load().unwrap(), TEXT_BASE_URL).unwrap()
    }

    /// The text value `key` of `values`.
    fn text<'a>(values: &'a tera::Context, key: &str) -> &'a str {
        values.get(key).and_then(Value::as_str).unwrap()
    }

    #[test]
    fn each_view_marks_itself_current_in_its_list_of_views() {
        for lesson in &LESSONS {
            let parts = parts_of(lesson.slug);
            for view in lesson.views {
                let values = &parts.view(view.name).unwrap().context;
                let nav = text(values, "views_nav");
                let current = format!(
                    "<a href=\"/{}/{}/\" aria-current=\"page\">",
                    lesson.slug, view.name
                );
                assert_eq!(nav.matches("aria-current").count(), 1, "{nav}");
                assert!(nav.contains(&current), "{nav}");
                assert_eq!(nav.matches("<li>").count(), lesson.views.len());
                assert_eq!(text(values, "title"), lesson.title);
                assert_eq!(text(values, "mount_path"), lesson.mount_path());
            }
            let nav = text(&parts.lesson_page, "views_nav");
            assert!(!nav.contains("aria-current"), "{nav}");
        }
    }

    #[test]
    fn the_lesson_page_values_hold_the_text_the_escaped_source_and_the_settings() {
        let parts = parts_of("settings");

        let lesson_text = text(&parts.lesson_page, "lesson_text");
        assert!(!lesson_text.contains("<h1>"), "the title is apart");
        assert!(lesson_text.contains("<h2>What this lesson teaches</h2>"));
        assert!(
            lesson_text.contains("Result&lt;HttpResponse, AppError&gt;"),
            "the handlers' source is there, escaped"
        );
        let table = text(&parts.lesson_page, "settings_table");
        assert!(
            table.contains("<code>&#x27;sessionname&#x27;</code>"),
            "{table}"
        );
        assert!(
            table.contains("<td><code>400</code> (seconds)</td>"),
            "{table}"
        );
        assert!(
            table.contains("<code>&#x27;django.contrib.sessions.backends.db&#x27;</code>"),
            "{table}"
        );
        for (setting, python) in [
            ("SESSION_COOKIE_SECURE", "True"),
            ("SESSION_COOKIE_HTTPONLY", "True"),
            ("SESSION_COOKIE_SAMESITE", "&#x27;Lax&#x27;"),
            ("SESSION_EXPIRE_AT_BROWSER_CLOSE", "True"),
            ("SESSION_SAVE_EVERY_REQUEST", "False"),
            ("SESSION_COOKIE_DOMAIN", "None"),
        ] {
            assert!(
                table.contains(&format!(
                    "<th scope=\"row\">{setting}</th><td><code>{python}</code>"
                )),
                "{setting} = {python}: {table}"
            );
        }
        let settings = parts.lesson_page.get("settings").unwrap();
        assert_eq!(
            settings
                .get_from_path("cookie_name")
                .and_then(|v| v.as_str().map(str::to_owned)),
            Some("sessionname".to_owned())
        );
        assert_eq!(parts.view("get").unwrap().template, "timeout/get.html");
        assert!(parts.view("nope").is_none());
    }

    #[test]
    fn each_lesson_text_is_titled_with_the_lesson_s_title() {
        for lesson in &LESSONS {
            let parts = parts_of(lesson.slug);
            assert_eq!(
                text(&parts.lesson_page, "lesson_heading"),
                format!("<h1>{}</h1>", lesson.title),
                "lessons/{}.md's first line is `# {}`",
                lesson.slug,
                lesson.title
            );
        }
    }

    #[test]
    fn commands_run_on_this_machine_reach_the_server_at_its_listening_address() {
        let url = |address: &str| local_base_url(address.parse().unwrap());

        assert_eq!(url("127.0.0.1:8000"), TEXT_BASE_URL);
        assert_eq!(url("0.0.0.0:8080"), "http://127.0.0.1:8080");
        assert_eq!(url("[::]:8000"), "http://[::1]:8000");
        assert_eq!(url("[::1]:9000"), "http://[::1]:9000");
        assert_eq!(url("192.168.1.20:8000"), "http://192.168.1.20:8000");
        assert_eq!(url("[fd00::5]:8000"), "http://[fd00::5]:8000");
    }

    #[test]
    fn a_text_is_addressed_to_the_server_only_where_it_names_the_default_address() {
        let html = "<code>curl http://127.0.0.1:8000/basic/set/</code> http://127.0.0.1:80001/";

        assert_eq!(addressed_to(html, TEXT_BASE_URL), html);
        assert_eq!(
            addressed_to(html, "http://[::1]:9000"),
            "<code>curl http://[::1]:9000/basic/set/</code> http://127.0.0.1:80001/"
        );
    }

    #[test]
    fn a_title_is_split_from_the_text_after_it() {
        assert_eq!(
            split_title("<h1>T</h1>\n<p>x</p>"),
            ("<h1>T</h1>", "\n<p>x</p>")
        );
        assert_eq!(split_title("<p>x</p>"), ("", "<p>x</p>"));
    }

    #[test]
    fn the_lesson_page_json_names_the_lesson_its_views_and_its_settings() {
        let parts = parts_of("settings");

        let answer: serde_json::Value = serde_json::from_slice(&parts.lesson_page_json).unwrap();
        assert_eq!(answer["lesson"], "settings");
        assert_eq!(
            answer["title"],
            crate::lessons::find("settings").unwrap().title
        );
        assert_eq!(answer["views"], serde_json::json!(["set", "get", "del"]));
        assert_eq!(answer["settings"]["cookie_name"], "sessionname");
        assert_eq!(answer["settings"]["cookie_age"], 400);
        assert_eq!(answer["settings"]["cookie_path"], "/settings/");
    }
}
