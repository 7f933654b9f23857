//! The subcommands: serving, Django's `clearsessions`, and printing the effective settings.

use chrono::Utc;
use serde_json::json;

use crate::config::{Engine, Settings};
use crate::lessons::LESSONS;
use crate::session::Store;
use crate::startup::{Application, Stores};

/// `sessionlab serve`: runs until Ctrl-C or SIGTERM.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let application = Application::build(settings.clone()).await?;
    tracing::info!(
        profile = %settings.profile,
        "sessionlab is serving the lessons on http://{}:{}/",
        settings.server.host,
        application.port()
    );
    application.run_until_stopped().await?;
    Ok(())
}

/// `sessionlab clearsessions`: deletes expired sessions from every configured store and
/// reports how many went from each.
pub async fn clearsessions(settings: &Settings) -> anyhow::Result<String> {
    let stores = Stores::open(settings).await?;
    let mut report = Vec::new();
    for (spec, store) in stores.iter() {
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
    let signed: Vec<&str> = LESSONS
        .iter()
        .filter(|l| {
            settings.lesson_session(l.slug, &l.mount_path()).engine == Engine::SignedCookies
        })
        .map(|l| l.slug)
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
        "path": crate::playground::MOUNT_PATH,
        "session": crate::playground::session_settings(settings),
    });
    let document = json!({
        "profile": settings.profile,
        "config_dir": settings.config_dir.display().to_string(),
        "secret_key": "[redacted]",
        "secret_key_is_development_key": settings.secret_key.is_development_key(),
        "server": settings.server,
        "database": { "url": redact_password(&settings.database.url), "max_connections": settings.database.max_connections },
        "lessons": lessons,
        "playground": playground,
    });
    serde_json::to_string_pretty(&document).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// `sessionlab healthcheck`: GET /healthz on the configured port over loopback; `Ok` on 200.
pub fn healthcheck(settings: &Settings) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, SocketAddr, TcpStream};
    use std::time::Duration;

    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, settings.server.port));
    let timeout = Duration::from_secs(3);
    let mut stream = TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.write_all(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status_line = answer.lines().next().unwrap_or_default();
    anyhow::ensure!(
        status_line.split_whitespace().nth(1) == Some("200"),
        "/healthz answered {status_line:?}: {}",
        answer.split("\r\n\r\n").nth(1).unwrap_or_default()
    );
    Ok(())
}

/// `url` with any password replaced by `***`.
fn redact_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
