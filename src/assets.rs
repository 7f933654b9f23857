//! Files compiled into the binary (templates, lesson texts, CSS and scripts), so that one
//! executable is the whole app and a classroom needs no network. Debug builds read them from
//! disk: an edited static file shows on reload, an edited template or lesson text at the next
//! start (they are parsed once, at start-up), without a build.

use rust_embed::RustEmbed;

/// `templates/`: Tera templates, all extending `base.html`.
#[derive(RustEmbed)]
#[folder = "templates/"]
pub struct Templates;

/// `lessons/`: the lesson texts, Markdown.
#[derive(RustEmbed)]
#[folder = "lessons/"]
pub struct LessonTexts;

/// `static/`: CSS and scripts, served under `/static/`.
#[derive(RustEmbed)]
#[folder = "static/"]
pub struct StaticFiles;
