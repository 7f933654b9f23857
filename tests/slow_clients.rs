//! Clients that announce a request body and then send it slowly, or not at all. actix-web
//! bounds the time a request head may take (5 s) but not its body: without a deadline of its
//! own, each such client holds a connection, and a file descriptor, for as long as it likes,
//! and enough of them leave no connection for the students.

mod common;

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::{TestApp, spawn_app_with};

/// How long the test waits for the server to give up on a body: the deadline (10 s) and a
/// margin for a debug build on a busy machine.
const WAIT: Duration = Duration::from_secs(30);

/// Sends `head`, then the bytes of `body` one every `pause` (all at once when `pause` is
/// zero) and then nothing more, and reads until the server closes the connection or `WAIT`
/// passes. The answer's status, whether the connection was closed, and the answer's text.
async fn send_slowly(
    app: &TestApp,
    head: String,
    body: &[u8],
    pause: Duration,
) -> (u16, bool, String) {
    let started = Instant::now();
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let dribble = async {
        for byte in body {
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
        }
        // Then hold the connection open, sending nothing.
        std::future::pending::<()>().await
    };
    let read = async {
        let mut answer = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return (answer, true),
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    };
    let (answer, closed) = tokio::select! {
        answer = read => answer,
        _ = dribble => unreachable!("the dribble never ends"),
        _ = tokio::time::sleep(WAIT.saturating_sub(started.elapsed())) => (Vec::new(), false),
    };
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, closed, text)
}

fn post_head(path: &str, length: usize, cookie: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\n\
         Cookie: {cookie}\r\n\r\n"
    )
}

#[actix_web::test]
async fn a_body_that_does_not_arrive_in_time_is_a_408_and_the_connection_is_closed() {
    // Arrange: a student's playground token, and the instructor area enabled.
    let app = spawn_app_with(&[
        ("APP__INSTRUCTOR__ENABLED", "true"),
        ("APP__INSTRUCTOR__TOKEN", "instructor-token-for-tests-0123"),
    ])
    .await;
    let page = app.get_json("/playground/", None).await;
    let token = page.json()["csrf_token"].as_str().unwrap().to_owned();
    let cookie = format!("csrftoken={token}");
    let form = format!("key=k&value=1&csrfmiddlewaretoken={token}");

    // Act: one client dribbles a playground form a byte a second and stops before its end;
    // another sends an instructor sign-in head and no body at all.
    let dribbling = send_slowly(
        &app,
        post_head("/playground/set/", form.len() + 100, &cookie),
        form.as_bytes(),
        Duration::from_secs(1),
    );
    let silent = send_slowly(
        &app,
        post_head("/instructor/login/", 100, ""),
        b"",
        Duration::ZERO,
    );
    let (dribbling, silent) = tokio::join!(dribbling, silent);

    // Assert: each is answered 408, told why, and let go; the server still serves.
    for (what, (status, closed, text)) in [
        ("the dribbled form", dribbling),
        ("the sign-in without a body", silent),
    ] {
        assert_eq!((status, closed), (408, true), "{what}: {text}");
        assert!(
            text.contains("\"status\":408") && text.contains("did not arrive within 10 seconds"),
            "{what}: {text}"
        );
    }
    assert_eq!(app.get("/basic/get/", None).await.status, 200);
}

#[actix_web::test]
async fn a_body_sent_in_time_is_read_as_before() {
    // Arrange
    let app = spawn_app_with(&[]).await;
    let page = app.get_json("/playground/", None).await;
    let token = page.json()["csrf_token"].as_str().unwrap().to_owned();
    let cookie = format!("csrftoken={token}");
    let form = format!("key=k&value=1&csrfmiddlewaretoken={token}");
    let head = post_head("/playground/set/", form.len(), &cookie)
        .replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n");

    // Act: the whole form, a little slowly (well inside the deadline).
    let answer = send_slowly(&app, head, form.as_bytes(), Duration::from_millis(20)).await;

    // Assert
    let (status, closed, text) = answer;
    assert_eq!((status, closed), (200, true), "{text}");
    assert!(text.contains("\"operation\":\"set\""), "{text}");
}
