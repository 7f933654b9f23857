//! Breaking real things under a running server: the file engine's directory removed and
//! restored, its filesystem full and freed again, SQLite locked by another writer, SQLite made read-only in a way root cannot
//! ignore. Each fault is a 503 page that says the session store is unavailable (never a 500,
//! never a deleted cookie), and the server recovers by itself when the fault goes, with the
//! sessions written before still there and nothing half-written. Redis and PostgreSQL going
//! away are in `tests/outage.rs`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Page, SmallFilesystem, TestApp, is_generated_key, spawn_app, spawn_engine};
use futures_util::future::join_all;
use sqlx::Connection;

/// Asserts the answer is the "session store unavailable" 503 and leaves the cookie alone.
fn assert_unavailable(page: &Page, what: &str) {
    assert_eq!(page.status, 503, "{what}: {}", page.body);
    assert!(
        page.body.contains("session store is unavailable"),
        "{what}: the answer says why: {}",
        page.body
    );
    assert!(
        page.set_cookies().is_empty(),
        "{what}: a store fault sets no cookie (the browser keeps its session): {:?}",
        page.set_cookies()
    );
}

/// Copies the files of `from` into `to` (created), keeping each file's mtime: the file
/// engine keeps a session's expiry date there.
fn copy_sessions(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        std::fs::copy(entry.path(), &target).unwrap();
        let mtime = entry.metadata().unwrap().modified().unwrap();
        std::fs::File::options()
            .write(true)
            .open(&target)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
    }
}

#[actix_web::test]
async fn the_file_stores_directory_removed_is_a_503_and_coming_back_recovers_without_a_restart() {
    // Arrange: two sessions on the file engine, and a copy of its directory.
    let e = spawn_engine("file", &[]).await;
    let app = &e.app;
    let files = e.files.clone().unwrap();
    let basic = app.new_session("/basic/set/").await;
    let dict = app.new_session("/dict/set/").await;
    let backup = app.data_dir.path().join("backup");
    copy_sessions(&files, &backup);
    let cookie = format!("sessionid={basic}");

    // Act: the directory disappears while the server runs.
    std::fs::remove_dir_all(&files).unwrap();

    // Assert: every request that needs the store is a 503 that says so.
    assert_unavailable(&app.get("/basic/get/", Some(&cookie)).await, "read");
    let json = app.get_json("/basic/get/", Some(&cookie)).await;
    assert_unavailable(&json, "read as JSON");
    assert_eq!(json.json()["error"]["status"], 503);
    assert_unavailable(&app.get("/dict/set/", Some(&cookie)).await, "update");
    assert_unavailable(&app.get("/basic/set/", None).await, "create");
    assert_unavailable(&app.get("/dict/flush/", Some(&cookie)).await, "flush");
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status, 503);
    assert_eq!(
        health.json()["stores"]["file:sessionid"]["status"],
        "unavailable"
    );
    assert!(!files.exists(), "a failed request does not recreate it");

    // Act: an empty directory comes back.
    std::fs::create_dir(&files).unwrap();

    // Assert: the server works again without a restart; the old sessions are simply gone.
    assert_eq!(app.get("/healthz", None).await.status, 200);
    let fresh = app.get_json("/basic/set/", None).await;
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    let fresh_key = fresh.cookie_value("sessionid").unwrap();
    assert!(files.join(format!("sessionid{fresh_key}")).is_file());
    let lost = app.get_json("/basic/get/", Some(&cookie)).await;
    assert_eq!(lost.status, 200);
    assert_eq!(lost.json()["context"]["name"], "Guest");

    // Act: the sessions are restored from the copy.
    copy_sessions(&backup, &files);

    // Assert: what was written before the fault reads back, as written.
    for (key, lname) in [(&basic, "rathore"), (&dict, "Ronaldo")] {
        let page = app
            .get_json("/basic/get/", Some(&format!("sessionid={key}")))
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(
            page.json()["context"],
            serde_json::json!({"name": "Sonam", "lname": lname})
        );
    }
    let update = app.get_json("/dict/set/", Some(&cookie)).await;
    assert_eq!(update.status, 200, "updates work again: {}", update.body);
}

/// The SQLite file of `app` over a connection of the test's own, as another process would.
async fn own_connection(app: &TestApp) -> sqlx::SqliteConnection {
    sqlx::SqliteConnection::connect(&format!("sqlite://{}", app.db_path().display()))
        .await
        .unwrap()
}

async fn integrity_check(app: &TestApp) -> String {
    let mut conn = own_connection(app).await;
    let (verdict,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    verdict
}

/// SQLite's busy timeout in sessionlab (`src/session/store/db/connection.rs`; not configurable): a write
/// that finds the database locked waits this long, then fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[actix_web::test]
async fn sqlite_locked_by_another_writer_is_a_503_and_unlocking_recovers_with_nothing_half_written()
{
    // Arrange: one session, then another connection holds the write lock, with an
    // uncommitted row of its own.
    let app = spawn_app().await;
    let key = app.new_session("/basic/set/").await;
    let cookie = format!("sessionid={key}");
    let mut holder = own_connection(&app).await;
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut holder)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO django_session VALUES ('lockholderlockholderlockholder00', 'x', '2999-01-01 00:00:00')",
    )
    .execute(&mut holder)
    .await
    .unwrap();

    // Act: an update, a create and a read, all at once, while the lock is held.
    let started = Instant::now();
    let timed = |page: Page| (page, started.elapsed());
    let (update, create, read) = tokio::join!(
        async { timed(app.get("/dict/set/", Some(&cookie)).await) },
        async { timed(app.get_json("/basic/set/", None).await) },
        async { timed(app.get_json("/basic/get/", Some(&cookie)).await) },
    );

    // Assert: writes wait out the busy timeout, then are a 503 that says why; the read is
    // served at once (WAL: a writer does not block readers).
    for ((page, took), what) in [(update, "update"), (create, "create")] {
        assert_unavailable(&page, what);
        assert!(
            took >= BUSY_TIMEOUT - Duration::from_millis(500) && took < BUSY_TIMEOUT * 3,
            "{what}: gave up after the busy timeout, not {took:?}"
        );
    }
    let (read, read_took) = read;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.json()["context"]["lname"], "rathore");
    assert!(read_took < BUSY_TIMEOUT, "the read waited {read_took:?}");

    // Act: the other writer gives up its transaction.
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    holder.close().await.unwrap();

    // Assert: recovery without a restart, and nothing half-written: the failed update left
    // the old data, the failed create left no row, the other writer's row never landed.
    let again = app.get_json("/dict/set/", Some(&cookie)).await;
    assert_eq!(again.status, 200, "{}", again.body);
    let read = app.get_json("/basic/get/", Some(&cookie)).await;
    assert_eq!(read.json()["context"]["lname"], "Ronaldo");
    let rows = app.rows().await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0, key);
    assert_eq!(integrity_check(&app).await, "ok");
    assert_eq!(app.get("/healthz", None).await.status, 200);
}

/// Files made immutable with `chattr +i` (which root cannot write either), made mutable
/// again when dropped, so a failing test leaves nothing behind that cannot be deleted.
struct Immutable {
    paths: Vec<PathBuf>,
}

impl Immutable {
    /// Makes `paths` immutable, or says why the sandbox does not allow it.
    fn set(paths: &[PathBuf]) -> Result<Immutable, String> {
        let mut guard = Immutable { paths: Vec::new() };
        for path in paths {
            let out = Command::new("chattr")
                .arg("+i")
                .arg(path)
                .output()
                .map_err(|e| format!("cannot run chattr: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "chattr +i {} failed: {}",
                    path.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            guard.paths.push(path.clone());
        }
        // Root ignores permission bits, not the immutable flag: prove it holds for us.
        match std::fs::OpenOptions::new().append(true).open(&paths[0]) {
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Ok(guard),
            Err(e) => Err(format!("unexpected error writing an immutable file: {e}")),
            Ok(_) => Err("this process can still write an immutable file".to_owned()),
        }
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        for path in &self.paths {
            let _ = Command::new("chattr").arg("-i").arg(path).status();
        }
    }
}

#[actix_web::test]
async fn a_read_only_sqlite_database_is_a_503_for_writes_and_recovers_when_writable_again() {
    // Arrange: one session, then the database, its write-ahead log and its directory
    // immutable. Not the `-shm` index: SQLite has it mapped in memory, and the kernel answers
    // a write to a shared mapping of an immutable file with SIGBUS, which kills the process
    // (tried: that is the operating system's verdict, not something a server can answer).
    let app = spawn_app().await;
    let key = app.new_session("/basic/set/").await;
    let cookie = format!("sessionid={key}");
    let db = app.db_path();
    let mut paths = vec![db.clone()];
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    if wal.exists() {
        paths.push(wal);
    }
    paths.push(app.data_dir.path().to_owned());
    // The guard undoes this on drop, even on a failed assertion; only a killed test process
    // would leave these files immutable, so say where they are.
    println!(
        "making {} immutable (if this process is killed: chattr -R -i it)",
        app.data_dir.path().display()
    );
    let guard = match Immutable::set(&paths) {
        Ok(guard) => guard,
        Err(reason) => {
            println!("SKIPPED a_read_only_sqlite_database_…: {reason}");
            return;
        }
    };

    // Act: writes, and reads enough at once that the pool opens new connections meanwhile.
    let update = app.get("/dict/set/", Some(&cookie)).await;
    let create = app.get_json("/basic/set/", None).await;
    let reads = join_all((0..8).map(|_| app.get_json("/basic/get/", Some(&cookie)))).await;
    let health = app.get_json("/healthz", None).await;

    // Assert: writes are a 503 that says why; reads are served, or a 503, never a 500.
    assert_unavailable(&update, "update");
    assert_unavailable(&create, "create");
    assert_eq!(
        health.status, 503,
        "a health check sees it: {}",
        health.body
    );
    assert!(health.body.contains("cannot be written"), "{}", health.body);
    for read in &reads {
        assert!(
            read.status == 200 || read.status == 503,
            "read: {} {}",
            read.status,
            read.body
        );
        if read.status == 200 {
            assert_eq!(read.json()["context"]["lname"], "rathore");
        }
    }
    println!(
        "read-only SQLite: writes 503; reads meanwhile: {:?}",
        reads.iter().map(|r| r.status).collect::<Vec<_>>()
    );

    // Act: writable again.
    drop(guard);

    // Assert: recovery without a restart; the failed writes left nothing behind.
    let deadline = Instant::now() + Duration::from_secs(10);
    let again = loop {
        let page = app.get_json("/dict/set/", Some(&cookie)).await;
        if page.status == 200 || Instant::now() > deadline {
            break page;
        }
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(again.status, 200, "{}", again.body);
    // Every pooled connection takes a write: none was left read-only by the fault.
    let creates = join_all((0..16).map(|_| app.get_json("/basic/set/", None))).await;
    for create in &creates {
        assert_eq!(create.status, 200, "{}", create.body);
    }
    let read = app.get_json("/basic/get/", Some(&cookie)).await;
    assert_eq!(read.json()["context"]["lname"], "Ronaldo");
    let rows = app.rows().await;
    assert_eq!(rows.len(), 17, "{rows:?}");
    assert!(rows.iter().all(|(k, _, _)| is_generated_key(k)));
    assert_eq!(integrity_check(&app).await, "ok");
    assert_eq!(app.get("/healthz", None).await.status, 200);
}

#[actix_web::test]
async fn a_sqlite_database_deleted_under_the_server_fails_its_health_check() {
    // Arrange
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz", None).await.status, 200);

    // Act: the database file goes while the server has it open.
    std::fs::remove_file(app.db_path()).unwrap();
    let health = app.get_json("/healthz", None).await;

    // Assert: SQLite would go on writing to the deleted file; the health check says so.
    assert_eq!(health.status, 503, "{}", health.body);
    assert_eq!(health.json()["stores"]["db"]["status"], "unavailable");
    assert!(
        health.body.contains("was deleted while the server runs"),
        "{}",
        health.body
    );
}

/// The names in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[actix_web::test]
async fn the_file_stores_disk_full_is_a_503_with_nothing_half_written_and_space_back_recovers() {
    // Arrange: the file engine's directory on a 256 KiB filesystem, two sessions on it.
    let e = spawn_engine("file", &[]).await;
    let app = &e.app;
    let files = e.files.clone().unwrap();
    let disk = SmallFilesystem::mount(&files, "256k")
        .unwrap_or_else(|why| panic!("this test fills a small tmpfs, which needs root: {why}"));
    let basic = app.new_session("/basic/set/").await;
    let dict = app.new_session("/dict/set/").await;
    let cookie = format!("sessionid={basic}");
    let basic_file = files.join(format!("sessionid{basic}"));
    let before = std::fs::read(&basic_file).unwrap();
    let sessions = names_in(&files);
    assert_eq!(sessions.len(), 2, "{sessions:?}");

    // Act: the filesystem fills up.
    let filler = disk.fill();

    // Assert: writes are 503 pages that say the store is unavailable; reads still work.
    assert_unavailable(&app.get("/dict/set/", Some(&cookie)).await, "update");
    assert_unavailable(&app.get("/basic/set/", None).await, "create");
    let json = app.get_json("/basic/set/", None).await;
    assert_unavailable(&json, "create as JSON");
    assert_eq!(json.json()["error"]["status"], 503);
    let read = app.get_json("/basic/get/", Some(&cookie)).await;
    assert_eq!(read.status, 200, "reads need no space: {}", read.body);
    assert_eq!(read.json()["context"]["lname"], "rathore");

    // Assert: nothing half-written: the old file is intact, no temp file was left behind.
    assert_eq!(std::fs::read(&basic_file).unwrap(), before);
    let mut expected = sessions.clone();
    expected.push("filler".to_owned());
    expected.sort();
    assert_eq!(names_in(&files), expected);

    // Act: space comes back.
    std::fs::remove_file(&filler).unwrap();

    // Assert: writes work again without a restart, and both sessions read as written.
    let update = app.get_json("/dict/set/", Some(&cookie)).await;
    assert_eq!(update.status, 200, "{}", update.body);
    let fresh = app.get_json("/basic/set/", None).await;
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    for (key, lname) in [(&basic, "Ronaldo"), (&dict, "Ronaldo")] {
        let page = app
            .get_json("/basic/get/", Some(&format!("sessionid={key}")))
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(page.json()["context"]["lname"], lname);
    }
    drop(disk);
}
