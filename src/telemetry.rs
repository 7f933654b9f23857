//! Logging: `tracing` to stderr, filtered by `RUST_LOG` (default: info, access log included).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls are ignored (tests start many servers).
/// Colours only on a terminal: in `docker compose logs`, a journal or a file, escape codes
/// would be noise around every field.
/// A `RUST_LOG` that does not parse is logged as a warning, then the default applies.
pub fn init() {
    const DEFAULT_FILTER: &str = "info,tokio_postgres=warn";
    let (filter, refused) = match EnvFilter::try_from_default_env() {
        Ok(filter) => (filter, None),
        Err(error) => (
            EnvFilter::new(DEFAULT_FILTER),
            std::env::var_os(EnvFilter::DEFAULT_ENV).map(|_| error),
        ),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colours_wanted(std::io::stderr().is_terminal()))
        .try_init();
    if let Some(error) = refused {
        tracing::warn!(
            %error,
            "RUST_LOG is not a log filter (such as \"info\" or \"warn,sessionlab::access=info\"); logging with the default, \"{DEFAULT_FILTER}\""
        );
    }
}

/// Whether to colour the log: on a terminal, unless `NO_COLOR` is set (no-color.org).
fn colours_wanted(on_terminal: bool) -> bool {
    on_terminal && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

/// Quieter logging for tests: warnings and errors only unless `RUST_LOG` says otherwise,
/// through the test harness's captured output.
pub fn init_for_tests() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}
