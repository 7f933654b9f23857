//! sessionlab teaches Django's session framework lesson by lesson, on a session engine that
//! behaves like Django's over HTTP: the same cookie attributes, expiry arithmetic, key format
//! and flush/cycle semantics, with the data in Django's own `django_session` format.
//!
//! A tour, one line a module:
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// Django's `APPEND_SLASH` for the lesson, playground and instructor scopes.
pub mod append_slash;
/// Files compiled into the binary: templates, lesson texts, CSS and scripts.
pub mod assets;
/// A deadline for request bodies, so that a slow client cannot hold a connection forever.
pub mod body_deadline;
/// The command line: `serve`, `clearsessions`, `config`, `healthcheck`.
pub mod cli;
/// What the subcommands do.
pub mod commands;
/// Layered TOML + environment configuration, validated with precise messages.
pub mod config;
/// The one error type, its status codes and what the visitor is told.
pub mod error;
/// Which address a request was sent to, and whether a proxy's `X-Forwarded-*` say it.
pub mod forwarded;
/// The session inspector on every lesson page: cookies in, cookie out, the stored record.
pub mod inspector;
/// `/instructor/`: profile, effective settings, live sessions, clearing expired ones.
pub mod instructor;
/// JSON objects with fixed field names, written without escaping the names.
pub mod json_object;
/// The six lessons, one scope each, with their own session settings.
pub mod lessons;
/// Which HTTP methods each address answers, and the 405 the others get.
pub mod methods;
/// `/playground/`: any session operation, with its effect on the cookie and the store.
pub mod playground;
/// Session values as Python's `repr()` prints them, for pages that speak Python.
pub mod python;
/// Tera pages and JSON answers from the same context.
pub mod render;
/// The index, `/healthz`, static files and error pages.
pub mod routes;
/// The protective headers of every answer, the Content-Security-Policy by kind of answer.
pub mod security_headers;
/// The Django-faithful session engine: API, expiry, keys, middleware, stores.
pub mod session;
/// Django's `django.core.signing`, byte for byte.
pub mod signing;
/// Binds the listener and assembles the app.
pub mod startup;
/// Logging set-up.
pub mod telemetry;
