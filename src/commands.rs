//! The subcommands: serving, Django's `clearsessions`, and printing the effective settings.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use serde_json::json;

use crate::config::{Engine, ServerSettings, Settings, loopback_for_wildcard, without_password};
use crate::lessons::LESSONS;
use crate::playground;
use crate::session::Store;
use crate::startup::{Application, Stores, session_scopes};

/// `sessionlab serve`: runs until Ctrl-C or SIGTERM.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let application = Application::build(settings.clone()).await?;
    tracing::info!(
        profile = %settings.profile,
        "sessionlab is serving the lessons on {}",
        lessons_url(&settings.server, application.port())
    );
    application.run_until_stopped().await?;
    Ok(())
}

/// Where to open the lessons, for the start-up line: `[server] host` on `port` as in a URL
/// (an IPv6 address in brackets); a wildcard host, which the server listens on but a browser
/// cannot open, is shown as this machine's loopback address, the wildcard named after it.
fn lessons_url(server: &ServerSettings, port: u16) -> String {
    let listening = ServerSettings {
        port,
        ..server.clone()
    };
    let host = server.host.trim_start_matches('[').trim_end_matches(']');
    match host.parse().ok().and_then(loopback_for_wildcard) {
        Some(loopback) => format!(
            "http://{}/ (listening on every interface, {host})",
            SocketAddr::new(loopback, port)
        ),
        None => format!("http://{}/", listening.address()),
    }
}

/// `sessionlab clearsessions`: deletes expired sessions from every configured store and
/// reports how many went from each; a database under several stores (`db` and `cached_db`)
/// is cleared once, and the others' lines name the store that cleared it.
pub async fn clearsessions(settings: &Settings) -> anyhow::Result<String> {
    let stores = Stores::open(settings).await?;
    let mut report = Vec::new();
    for (spec, store) in stores.iter() {
        if let Some(first) = stores.shares_database_with(spec) {
            report.push(format!(
                "{}: cleared with {}, on the same database",
                spec.name(),
                first.name()
            ));
            continue;
        }
        if store.expires_by_itself() {
            report.push(format!(
                "{}: nothing to clear; {} entries expire by themselves",
                spec.name(),
                store.describe()
            ));
            continue;
        }
        let removed = store.clear_expired(Utc::now()).await?;
        report.push(format!(
            "{}: removed {removed} expired session(s) from {}",
            spec.name(),
            store.describe()
        ));
    }
    let signed: Vec<&str> = session_scopes(settings)
        .filter(|(_, session)| session.engine == Engine::SignedCookies)
        .map(|(slug, _)| slug)
        .collect();
    if !signed.is_empty() {
        report.push(format!(
            "signed_cookies ({}): nothing to clear; signed cookies expire by themselves",
            signed.join(", ")
        ));
    }
    report.sort();
    Ok(report.join("\n"))
}

/// `sessionlab config`: every lesson's (and the playground's) effective session settings, as
/// JSON (no secrets).
pub fn describe_config(settings: &Settings) -> String {
    let lessons: serde_json::Map<String, serde_json::Value> = LESSONS
        .iter()
        .map(|lesson| {
            let effective = settings.lesson_session(lesson.slug, &lesson.mount_path());
            (
                lesson.slug.to_owned(),
                json!({ "path": lesson.mount_path(), "session": effective }),
            )
        })
        .collect();
    let playground = json!({
        "path": playground::MOUNT_PATH,
        "session": playground::session_settings(settings),
    });
    let document = json!({
        "profile": settings.profile,
        "config_dir": settings.config_dir.display().to_string(),
        "secret_key": "[redacted]",
        "secret_key_is_development_key": settings.secret_key.is_development_key(),
        "server": settings.server,
        "database": { "url": without_password(&settings.database.url), "max_connections": settings.database.max_connections },
        "lessons": lessons,
        "playground": playground,
    });
    serde_json::to_string_pretty(&document).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Writes a command's report to standard output. A reader that stops reading early
/// (`sessionlab config | head`) closes the pipe: the rest was not wanted, so that ends the
/// command as a success, where `println!` panicked on it.
pub fn print_report(report: &str) -> anyhow::Result<()> {
    print_report_to(&mut std::io::stdout().lock(), report)
}

fn print_report_to(out: &mut impl Write, report: &str) -> anyhow::Result<()> {
    match writeln!(out, "{report}").and_then(|()| out.flush()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => result.context("cannot write to standard output"),
    }
}

/// `sessionlab healthcheck`: GET /healthz from the configured host and port; `Ok` on 200.
pub fn healthcheck(settings: &Settings) -> anyhow::Result<()> {
    let addrs = healthcheck_addrs(&settings.server)?;
    let (stream, address) = connect_any(&addrs)?;
    let answer =
        get_healthz(stream, address).with_context(|| format!("no answer from {address}"))?;
    let status_line = answer.lines().next().unwrap_or_default();
    anyhow::ensure!(
        status_line.split_whitespace().nth(1) == Some("200"),
        "/healthz on {address} answered {status_line:?}: {}",
        answer.split("\r\n\r\n").nth(1).unwrap_or_default()
    );
    Ok(())
}

/// Where `healthcheck` finds the server: the addresses of `[server] host`, with a wildcard
/// replaced by the loopback address of its family ([`loopback_for_wildcard`]).
fn healthcheck_addrs(server: &ServerSettings) -> anyhow::Result<Vec<SocketAddr>> {
    let mut addrs = server
        .socket_addrs()
        .with_context(|| format!("cannot resolve {}", server.address()))?;
    anyhow::ensure!(!addrs.is_empty(), "{} has no address", server.address());
    for addr in &mut addrs {
        if let Some(loopback) = loopback_for_wildcard(addr.ip()) {
            addr.set_ip(loopback);
        }
    }
    Ok(addrs)
}

/// A connection to the first of `addrs` that accepts one; the error names each address tried.
fn connect_any(addrs: &[SocketAddr]) -> anyhow::Result<(TcpStream, SocketAddr)> {
    let mut failures = Vec::new();
    for &address in addrs {
        match TcpStream::connect_timeout(&address, HEALTHCHECK_TIMEOUT) {
            Ok(stream) => return Ok((stream, address)),
            Err(error) => failures.push(format!("cannot connect to {address}: {error}")),
        }
    }
    anyhow::bail!("{}", failures.join("; "))
}

/// Sends `GET /healthz` on `stream` and reads the whole answer.
fn get_healthz(mut stream: TcpStream, address: SocketAddr) -> std::io::Result<String> {
    stream.set_read_timeout(Some(HEALTHCHECK_TIMEOUT))?;
    stream.write_all(format!("GET /healthz HTTP/1.0\r\nHost: {address}\r\n\r\n").as_bytes())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

/// How long `healthcheck` waits to connect, and then for the answer.
const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(3);

#[cfg(test)]
mod tests {
    use super::*;

    fn server(host: &str, port: u16) -> ServerSettings {
        ServerSettings {
            host: host.into(),
            port,
            workers: None,
            trust_forwarded_headers: false,
        }
    }

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn healthcheck_asks_the_configured_host_with_wildcards_made_loopback() {
        let asked = |host| healthcheck_addrs(&server(host, 8000)).unwrap();

        assert_eq!(asked("0.0.0.0"), [addr("127.0.0.1:8000")]);
        assert_eq!(asked("::"), [addr("[::1]:8000")]);
        assert_eq!(asked("::1"), [addr("[::1]:8000")]);
        assert_eq!(asked("127.0.0.2"), [addr("127.0.0.2:8000")]);
    }

    #[test]
    fn the_start_up_line_gives_an_address_a_browser_can_open() {
        let url = |host| lessons_url(&server(host, 0), 8123);

        assert_eq!(url("127.0.0.1"), "http://127.0.0.1:8123/");
        assert_eq!(url("localhost"), "http://localhost:8123/");
        assert_eq!(url("::1"), "http://[::1]:8123/");
        assert_eq!(url("[::1]"), "http://[::1]:8123/");
        assert_eq!(
            url("0.0.0.0"),
            "http://127.0.0.1:8123/ (listening on every interface, 0.0.0.0)"
        );
        assert_eq!(
            url("::"),
            "http://[::1]:8123/ (listening on every interface, ::)"
        );
    }

    #[test]
    fn a_failed_connection_names_the_address_tried() {
        let port = std::net::TcpListener::bind("[::1]:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();

        let error = connect_any(&[addr(&format!("[::1]:{port}"))]).unwrap_err();

        let message = error.to_string();
        assert!(
            message.starts_with(&format!("cannot connect to [::1]:{port}: ")),
            "{message}"
        );
    }

    /// A writer that refuses every write with `kind`.
    struct Refusing(std::io::ErrorKind);

    impl Write for Refusing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(self.0.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_report_whose_reader_has_gone_is_no_failure_but_another_write_error_is() {
        let mut written = Vec::new();

        print_report_to(&mut written, "db: removed 0").unwrap();
        let gone = print_report_to(&mut Refusing(std::io::ErrorKind::BrokenPipe), "report");
        let full = print_report_to(&mut Refusing(std::io::ErrorKind::StorageFull), "report");

        assert_eq!(written, b"db: removed 0\n");
        assert!(gone.is_ok(), "{gone:?}");
        let error = format!("{:#}", full.unwrap_err());
        assert!(error.contains("cannot write to standard output"), "{error}");
    }
}
