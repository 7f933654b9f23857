//! Files compiled into the binary (templates, lesson texts, CSS), so that one executable is the
//! whole app and a classroom needs no network. Debug builds read them from disk, so edits show
//! on reload.

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
