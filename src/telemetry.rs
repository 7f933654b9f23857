//! Logging: `tracing` to stderr, filtered by `RUST_LOG` (default: info, access log included).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls are ignored (tests start many servers).
pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tokio_postgres=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
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
