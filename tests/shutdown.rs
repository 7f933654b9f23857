//! Graceful shutdown of the real binary under load: SIGTERM while clients keep writing new
//! sessions. The process must exit 0 within the shutdown timeout, no request may get a 5xx,
//! and every write the server acknowledged (a 200 with its `Set-Cookie`, read in full) must
//! be in the database afterwards.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::Server;
use futures_util::future::join_all;

/// Concurrent clients.
const CLIENTS: usize = 16;
/// Acknowledged writes before SIGTERM is sent.
const WRITES_BEFORE_SIGTERM: usize = 300;
/// actix-web's graceful shutdown timeout (sessionlab keeps the default): requests in flight
/// get this long to finish before the workers are stopped.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// What one client saw.
#[derive(Default, Debug)]
struct Report {
    /// Session keys of the writes acknowledged with a 200 and a `Set-Cookie`.
    acknowledged: Vec<String>,
    /// Every status received.
    statuses: Vec<u16>,
    /// Requests whose connection closed before a whole answer arrived.
    cut: usize,
    /// Whether the client ended on a refused connection (rather than the deadline).
    refused: bool,
}

/// `GET /basic/set/` over and over, each time without a cookie (a new session), until the
/// server refuses the connection.
async fn client(address: String, acknowledged: Arc<AtomicUsize>, deadline: Instant) -> Report {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut report = Report::default();
    while Instant::now() < deadline {
        let res = match http
            .get(format!("{address}/basic/set/"))
            .header("Accept", "application/json")
            .send()
            .await
        {
            Ok(res) => res,
            Err(e) if e.is_connect() => {
                report.refused = true;
                break;
            }
            Err(_) => {
                report.cut += 1;
                continue;
            }
        };
        let status = res.status().as_u16();
        let key = res
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .and_then(|pair| pair.strip_prefix("sessionid="))
            .map(str::to_owned);
        // Acknowledged only once the whole answer has arrived.
        if res.bytes().await.is_err() {
            report.cut += 1;
            continue;
        }
        report.statuses.push(status);
        if status == 200 {
            report
                .acknowledged
                .push(key.expect("a 200 from /basic/set/ hands out the session"));
            acknowledged.fetch_add(1, Ordering::SeqCst);
        }
    }
    report
}

#[actix_web::test]
async fn sigterm_under_load_exits_0_in_time_and_loses_no_acknowledged_write() {
    // Arrange: the real binary on SQLite in a temporary directory.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sessions.sqlite3");
    let url = format!("sqlite://{}", db.display());
    let mut server = Server::start(&[("APP__DATABASE__URL", &url), ("APP__SERVER__WORKERS", "2")]);
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(90);

    // Act: clients write; once enough writes are acknowledged, SIGTERM; clients go on until
    // the server refuses them.
    let clients = join_all(
        (0..CLIENTS).map(|_| client(server.address.clone(), acknowledged.clone(), deadline)),
    );
    let terminate = async {
        while acknowledged.load(Ordering::SeqCst) < WRITES_BEFORE_SIGTERM {
            assert!(Instant::now() < deadline, "the clients never got going");
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
        server.terminate();
        Instant::now()
    };
    let (reports, terminated_at) = futures_util::future::join(clients, terminate).await;
    let status = server.wait_for_exit(SHUTDOWN_TIMEOUT + Duration::from_secs(5));
    let exited_after = terminated_at.elapsed();

    // Assert: a clean exit, in time.
    let status = status.unwrap_or_else(|| {
        panic!("still running {SHUTDOWN_TIMEOUT:?} after SIGTERM");
    });
    assert!(status.success(), "exit status {status:?}");
    assert!(exited_after < SHUTDOWN_TIMEOUT + Duration::from_secs(5));

    // Assert: every client stopped on a refused connection, and no answer was a 5xx.
    let statuses: Vec<u16> = reports.iter().flat_map(|r| r.statuses.clone()).collect();
    assert!(
        reports.iter().all(|r| r.refused),
        "a client hit the deadline before the server went away"
    );
    assert!(
        statuses.iter().all(|s| *s < 500),
        "5xx answers: {:?}",
        statuses.iter().filter(|s| **s >= 500).collect::<Vec<_>>()
    );

    // Assert: every acknowledged write is in the database.
    let acked: Vec<&String> = reports.iter().flat_map(|r| &r.acknowledged).collect();
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let rows: Vec<(String,)> = sqlx::query_as("SELECT session_key FROM django_session")
        .fetch_all(&pool)
        .await
        .unwrap();
    let (verdict,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    let stored: std::collections::HashSet<&str> = rows.iter().map(|(k,)| k.as_str()).collect();
    let lost: Vec<&&String> = acked
        .iter()
        .filter(|k| !stored.contains(k.as_str()))
        .collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    assert_eq!(verdict, "ok");
    let cut: usize = reports.iter().map(|r| r.cut).sum();
    let log = server.log.lock().unwrap().join("\n");
    assert!(log.contains("graceful shutdown"), "{log}");
    println!(
        "shutdown: {} acknowledged writes ({} before SIGTERM), {} rows, {cut} requests cut off \
         unacknowledged, exit {status} {exited_after:?} after SIGTERM",
        acked.len(),
        WRITES_BEFORE_SIGTERM,
        rows.len(),
    );
}
