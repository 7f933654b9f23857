//! The command line: `serve` (the default), `clearsessions`, `config` and `healthcheck`, each
//! with `--profile NAME` (or `APP_PROFILE`).

use clap::{Parser, Subcommand};

use crate::config::{DEFAULT_PROFILE, PROFILE_VAR};

/// sessionlab: Django's session framework, lesson by lesson.
#[derive(Debug, Parser)]
#[command(name = "sessionlab", version, about)]
pub struct Cli {
    /// Configuration profile: config/NAME.toml over config/default.toml (NAME: letters,
    /// digits, `-` and `_`).
    #[arg(long, global = true, env = PROFILE_VAR, default_value = DEFAULT_PROFILE)]
    pub profile: String,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Serve the lessons (the default).
    Serve,
    /// Delete expired sessions from every configured store (Django's `clearsessions`).
    Clearsessions,
    /// Print each lesson's effective session settings (secret redacted).
    Config,
    /// Exit 0 if the server on the configured host and port (0.0.0.0 and :: asked on
    /// loopback) answers /healthz with 200 (for container health checks; no curl needed).
    Healthcheck,
}
