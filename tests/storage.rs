//! The local storage of the `db` (SQLite), `file` and `cached_db` engines failing under a
//! running server: a full disk, a directory made read-only, the database file deleted or
//! replaced, and a database made by Django's own `migrate`. Each fault is a 503 page that names
//! the store and the cause (never a 500, never a deleted cookie, never a write reported saved
//! and then lost), what was saved before stays, the server recovers by itself when the storage
//! comes back, and the log tells the failure once, not once per request. `tests/faults.rs` has
//! the file engine's directory removed and its disk full, SQLite locked and immutable.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{
    Page, PgSchema, Server, SmallFilesystem, TestApp, django_python, postgres_admin_url,
    spawn_engine, spawn_with_settings, test_settings,
};
use serde_json::{Value, json};
use sessionlab::session::FakeClock;
use std::sync::Arc;

/// Asserts the answer is the 503 of a failed store, naming `store` and `cause`, and leaves
/// the browser's cookie alone.
fn assert_unavailable(page: &Page, what: &str, store: &str, cause: &str) {
    assert_eq!(page.status, 503, "{what}: {}", page.body);
    assert!(
        page.body.contains("session store is unavailable"),
        "{what}: {}",
        page.body
    );
    assert!(
        page.body.contains(&format!("Store: {store}.")),
        "{what}: the page names the store: {}",
        page.body
    );
    assert!(
        page.body.contains(&format!("Cause: {cause}.")),
        "{what}: the page gives the cause: {}",
        page.body
    );
    assert!(
        page.set_cookies().is_empty(),
        "{what}: a store fault sets no cookie: {:?}",
        page.set_cookies()
    );
}

/// The `lname` a session's `/basic/get/` shows, as JSON.
async fn lname(app: &TestApp, key: &str) -> Value {
    let page = app
        .get_json("/basic/get/", Some(&format!("sessionid={key}")))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.json()["context"]["lname"].clone()
}

/// Whether this process runs as root (which ignores permission bits, and may mount).
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

/// The server on `engine` (`sqlite` or `cached_db_memory`) with its SQLite database on a
/// 256 KiB filesystem of its own.
async fn spawn_on_a_small_disk(engine: &str) -> Option<(TestApp, SmallFilesystem, PathBuf)> {
    let data_dir = tempfile::tempdir().unwrap();
    let disk_dir = data_dir.path().join("disk");
    std::fs::create_dir(&disk_dir).unwrap();
    let disk = match SmallFilesystem::mount(&disk_dir, "256k") {
        Ok(disk) => disk,
        Err(reason) => {
            println!("SKIPPED the full disk on {engine}: {reason}");
            return None;
        }
    };
    let db = disk_dir.join("sessions.sqlite3");
    let url = format!("sqlite://{}", db.display());
    let mut overrides = vec![("APP__DATABASE__URL", url.as_str())];
    if engine == "cached_db_memory" {
        overrides.push(("APP__SESSION__ENGINE", "cached_db"));
    }
    let settings = test_settings(data_dir.path(), &overrides);
    let app = spawn_with_settings(settings, data_dir, Arc::new(FakeClock::at_wall_clock())).await;
    Some((app, disk, db))
}

async fn sqlite_rows(db: &Path) -> Vec<(String, String)> {
    let url = format!("sqlite://{}", db.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT session_key, expire_date FROM django_session ORDER BY session_key")
            .fetch_all(&pool)
            .await
            .unwrap();
    let (verdict,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(verdict, "ok");
    pool.close().await;
    rows
}

async fn disk_full_on(engine: &str) {
    // Arrange: two sessions on a database whose filesystem is then filled up.
    let Some((app, disk, db)) = spawn_on_a_small_disk(engine).await else {
        return;
    };
    let first = app.new_session("/basic/set/").await;
    let second = app.new_session("/basic/set/").await;
    let filler = disk.fill();

    // Act: new sessions until one does not fit (the write-ahead log reuses the space it has,
    // so the first few may still be written).
    let mut saved = vec![first.clone(), second.clone()];
    let mut refused = None;
    for _ in 0..200 {
        let page = app.get_json("/basic/set/", None).await;
        match page.status {
            200 => saved.push(page.cookie_value("sessionid").unwrap()),
            _ => {
                refused = Some(page);
                break;
            }
        }
    }

    // Assert: the create that did not fit is a 503 that says the disk is full; updates are
    // a 503 too or really saved; reads of what was saved are served as saved.
    let refused = refused.expect("the disk filled up within 200 new sessions");
    // On cached_db too, the store that failed is its database.
    let store = "db (SQLite)";
    assert_unavailable(
        &refused,
        &format!("{engine}: create"),
        store,
        "the disk is full",
    );
    let update = app
        .get_json("/dict/set/", Some(&format!("sessionid={first}")))
        .await;
    let first_lname = if update.status == 200 {
        "Ronaldo"
    } else {
        assert_unavailable(
            &update,
            &format!("{engine}: update"),
            store,
            "the disk is full",
        );
        "rathore"
    };
    assert_eq!(lname(&app, &first).await, first_lname);
    assert_eq!(lname(&app, &second).await, "rathore");

    // Act: space comes back.
    std::fs::remove_file(&filler).unwrap();

    // Assert: writes work again without a restart, and every session answered with a 200
    // is there.
    let update = app
        .get_json("/dict/set/", Some(&format!("sessionid={second}")))
        .await;
    assert_eq!(update.status, 200, "{engine}: {}", update.body);
    let fresh = app.new_session("/basic/set/").await;
    saved.push(fresh);
    assert_eq!(lname(&app, &second).await, "Ronaldo");
    for key in &saved {
        let page = app
            .get_json("/basic/get/", Some(&format!("sessionid={key}")))
            .await;
        assert_eq!(page.json()["context"]["name"], "Sonam", "{engine}: {key}");
    }
    let mut keys: Vec<String> = sqlite_rows(&db).await.into_iter().map(|r| r.0).collect();
    keys.sort();
    saved.sort();
    assert_eq!(keys, saved, "{engine}: exactly the sessions answered 200");
    drop(disk);
}

#[actix_web::test]
async fn a_full_disk_under_sqlite_is_a_503_that_says_so_and_space_back_recovers() {
    disk_full_on("sqlite").await;
}

#[actix_web::test]
async fn a_full_disk_under_cached_db_is_a_503_that_says_so_and_space_back_recovers() {
    disk_full_on("cached_db_memory").await;
}

/// A directory made read-only while the test runs, writable again when dropped: as root, a
/// read-only bind mount of the directory over itself (root ignores permission bits); otherwise
/// its write permission taken away.
enum ReadOnly {
    Mounted(PathBuf),
    Chmodded(PathBuf),
}

impl ReadOnly {
    fn make(dir: &Path) -> Result<ReadOnly, String> {
        if !running_as_root() {
            let mut perms = std::fs::metadata(dir).unwrap().permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o555);
            std::fs::set_permissions(dir, perms).map_err(|e| e.to_string())?;
            return Ok(ReadOnly::Chmodded(dir.to_owned()));
        }
        let run = |args: &[&str]| -> Result<(), String> {
            let out = Command::new("mount")
                .args(args)
                .arg(dir)
                .arg(dir)
                .output()
                .map_err(|e| format!("cannot run mount: {e}"))?;
            match out.status.success() {
                true => Ok(()),
                false => Err(format!(
                    "mount {args:?} failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )),
            }
        };
        run(&["--bind"])?;
        let guard = ReadOnly::Mounted(dir.to_owned());
        run(&["-o", "remount,bind,ro"])?;
        Ok(guard)
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        match self {
            ReadOnly::Mounted(dir) => {
                let _ = Command::new("umount").arg("-l").arg(&*dir).status();
            }
            ReadOnly::Chmodded(dir) => {
                if let Ok(meta) = std::fs::metadata(&*dir) {
                    let mut perms = meta.permissions();
                    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
                    let _ = std::fs::set_permissions(&*dir, perms);
                }
            }
        }
    }
}

#[actix_web::test]
async fn the_file_stores_directory_made_read_only_is_a_503_for_writes_and_recovers() {
    // Arrange: two sessions on the file engine, one of them soon expired.
    let e = spawn_engine("file", &[]).await;
    let app = &e.app;
    let files = e.files.clone().unwrap();
    let live = app.new_session("/basic/set/").await;
    let expiring = app.new_session("/timeout/set/").await;
    let before: Vec<_> = std::fs::read_dir(&files)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let read_only = match ReadOnly::make(&files) {
        Ok(guard) => guard,
        Err(reason) => {
            println!("SKIPPED the read-only directory: {reason}");
            return;
        }
    };
    let cause = match read_only {
        ReadOnly::Mounted(_) => "its storage is read-only",
        ReadOnly::Chmodded(_) => "permission to its files is denied",
    };
    app.advance(601);

    // Act / Assert: reads of live sessions are served; writes, and the read of an expired
    // session (its file must be removed), are a 503 that says why.
    assert_eq!(lname(app, &live).await, "rathore");
    let update = app
        .get_json("/dict/set/", Some(&format!("sessionid={live}")))
        .await;
    assert_unavailable(&update, "update", "file", cause);
    let create = app.get("/basic/set/", None).await;
    assert_unavailable(&create, "create", "file", cause);
    let expired = app
        .get_json("/timeout/get/", Some(&format!("sessionid={expiring}")))
        .await;
    assert_unavailable(&expired, "expired", "file", cause);
    let health = app.get_json("/healthz", None).await;
    assert_eq!(health.status, 503, "{}", health.body);
    assert_eq!(
        health.json()["stores"]["file:sessionid"]["status"],
        "unavailable"
    );

    // Act: writable again.
    drop(read_only);

    // Assert: without a restart, writes work and nothing was lost or left behind.
    let update = app
        .get_json("/dict/set/", Some(&format!("sessionid={live}")))
        .await;
    assert_eq!(update.status, 200, "{}", update.body);
    assert_eq!(lname(app, &live).await, "Ronaldo");
    assert_eq!(app.get("/healthz", None).await.status, 200);
    let after: Vec<_> = std::fs::read_dir(&files)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(after.len(), before.len(), "{after:?}");
}

/// The real binary on a SQLite database in a temp dir, its log kept; and its client.
struct LoggedServer {
    server: Server,
    client: reqwest::Client,
    db: PathBuf,
    _data: tempfile::TempDir,
}

impl LoggedServer {
    fn start() -> LoggedServer {
        Self::start_with(&[])
    }

    /// The server with `env` besides its database's URL.
    fn start_with(env: &[(&str, &str)]) -> LoggedServer {
        let data = tempfile::tempdir().unwrap();
        let db = data.path().join("sessions.sqlite3");
        let url = format!("sqlite://{}", db.display());
        let mut env = env.to_vec();
        env.push(("APP__DATABASE__URL", &url));
        LoggedServer {
            server: Server::start(&env),
            client: reqwest::Client::new(),
            db,
            _data: data,
        }
    }

    /// GET `path` as JSON, with the session `key` (if any).
    async fn get(&self, path: &str, key: Option<&str>) -> Page {
        let mut request = self
            .client
            .get(format!("{}{path}", self.server.address))
            .header("Accept", "application/json");
        if let Some(key) = key {
            request = request.header("Cookie", format!("sessionid={key}"));
        }
        let answer = request.send().await.unwrap();
        Page {
            status: answer.status().as_u16(),
            headers: answer.headers().clone(),
            body: answer.text().await.unwrap(),
        }
    }

    /// A new session (`lname` = "rathore"), by `/basic/set/`; its key.
    async fn new_session(&self) -> String {
        self.new_session_at("/basic/set/").await
    }

    /// A new session, by the view at `path`; its key.
    async fn new_session_at(&self, path: &str) -> String {
        let page = self.get(path, None).await;
        assert_eq!(page.status, 200, "{}", page.body);
        page.cookie_value("sessionid").unwrap()
    }

    /// The `lname` the session `key` shows ("Guest" when it has none).
    async fn lname(&self, key: &str) -> Value {
        let page = self.get("/basic/get/", Some(key)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        page.json()["context"]["lname"].clone()
    }

    /// A copy of the database as it is now, at `copy` (as `sqlite3 .backup` or `VACUUM INTO`
    /// makes one while the server runs).
    fn back_up(&self, copy: &Path) {
        let status = Command::new("sqlite3")
            .arg(&self.db)
            .arg(format!("VACUUM INTO '{}'", copy.display()))
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The lines of the log that contain `text`.
    fn log_lines(&self, text: &str) -> Vec<String> {
        let log = self.server.log.lock().unwrap();
        log.iter()
            .filter(|line| line.contains(text))
            .cloned()
            .collect()
    }
}

/// The cause a visitor is told for a file deleted or replaced under the server.
const GONE: &str = "its database file was deleted or replaced while the server runs";

#[actix_web::test]
async fn a_sqlite_database_deleted_under_the_server_is_a_503_then_a_new_database_serves() {
    // Arrange
    let s = LoggedServer::start();
    let old = s.new_session().await;

    // Act: the database file goes while the server has it open.
    std::fs::remove_file(&s.db).unwrap();
    let refused = s.get("/basic/set/", None).await;
    let new = s.new_session().await;

    // Assert: the write that found the file gone is refused (SQLite would have written it to
    // the deleted file), with a page that says why; the server then serves from a new
    // database at the path, as a restart would, where the old file's session is not.
    assert_unavailable(&refused, "the write that found it", "db (SQLite)", GONE);
    assert_eq!(s.lname(&new).await, "rathore");
    assert_eq!(
        s.lname(&old).await,
        "Guest",
        "the deleted file's session is gone"
    );
    let rows: Vec<String> = sqlite_rows(&s.db).await.into_iter().map(|r| r.0).collect();
    assert_eq!(rows, [new]);
    assert_eq!(s.get("/healthz", None).await.status, 200);
    let moved = s.log_lines("now serves");
    assert_eq!(moved.len(), 1, "told once: {moved:#?}");
    assert!(
        moved[0].contains(" WARN ")
            && moved[0].contains(&format!(
                "the SQLite database file {} was deleted while the server ran: it now serves a new, empty database there; the old file was deleted, and its 1 live session with it",
                s.db.display()
            )),
        "{}",
        moved[0]
    );
}

#[actix_web::test]
async fn a_backup_moved_over_the_sqlite_database_is_served_from_the_next_request() {
    // Arrange: a session in a backup, flushed from the database after it; and another one
    // made after the backup.
    let s = LoggedServer::start();
    let backup = s.db.with_file_name("backup.sqlite3");
    let kept = s.new_session().await;
    s.back_up(&backup);
    assert_eq!(s.get("/dict/flush/", Some(&kept)).await.status, 200);
    assert_eq!(s.lname(&kept).await, "Guest", "flushed");
    let later = s.new_session().await;

    // Act: the backup is moved over the database (a restore with `mv`); the health check
    // finds it.
    std::fs::rename(&backup, &s.db).unwrap();
    let health = s.get("/healthz", None).await;

    // Assert: the health check says so, and the server reads from the backup at once: the
    // session it holds is back, the one made after it is not; writes go to it.
    assert_eq!(health.status, 503, "{}", health.body);
    assert!(
        health.body.contains("was replaced while the server runs"),
        "{}",
        health.body
    );
    assert_eq!(s.get("/healthz", None).await.status, 200);
    assert_eq!(s.lname(&kept).await, "rathore", "read from the backup");
    assert_eq!(s.lname(&later).await, "Guest");
    let new = s.new_session().await;
    let mut rows: Vec<String> = sqlite_rows(&s.db).await.into_iter().map(|r| r.0).collect();
    let mut expected = vec![kept, new];
    rows.sort();
    expected.sort();
    assert_eq!(rows, expected);
    let moved = s.log_lines("now serves");
    assert_eq!(moved.len(), 1, "{moved:#?}");
    assert!(
        moved[0].contains(" WARN ")
            && moved[0].contains(
                "was replaced while the server ran: it now serves the file now there (1 live session); the old file was deleted, and its 1 live session with it"
            ),
        "{}",
        moved[0]
    );
}

#[actix_web::test]
async fn a_sqlite_database_moved_aside_keeps_its_sessions_and_the_log_says_where() {
    // Arrange
    let s = LoggedServer::start();
    let key = s.new_session().await;
    let aside = s.db.with_file_name("kept.sqlite3");

    // Act: the database is moved aside, and the server goes on to a new one.
    std::fs::rename(&s.db, &aside).unwrap();
    assert_unavailable(
        &s.get("/basic/set/", None).await,
        "the write",
        "db (SQLite)",
        GONE,
    );
    assert_eq!(s.lname(&key).await, "Guest");

    // Assert: the file moved aside has the session, its log copied in by the server's last
    // connection to it; the log says where it is.
    let rows: Vec<String> = sqlite_rows(&aside).await.into_iter().map(|r| r.0).collect();
    assert_eq!(rows, [key]);
    let moved = s.log_lines("now serves");
    assert_eq!(moved.len(), 1, "{moved:#?}");
    assert!(
        moved[0].contains(&format!(
            "the old file's 1 live session stay in it, at {}",
            aside.display()
        )),
        "{}",
        moved[0]
    );
}

#[actix_web::test]
async fn under_load_every_session_answered_as_saved_is_in_the_file_moved_aside_or_the_new_one() {
    // Arrange: four clients making sessions one after another, and reading the last back.
    let s = LoggedServer::start();
    let aside = s.db.with_file_name("kept.sqlite3");
    let answered = std::cell::Cell::new(0);
    let client = |_| async {
        let mut outcomes = Vec::new();
        for _ in 0..40 {
            let page = s.get("/basic/set/", None).await;
            answered.set(answered.get() + 1);
            let key = page.cookie_value("sessionid");
            if let Some(key) = &key {
                let read = s.get("/basic/get/", Some(key)).await;
                assert!(matches!(read.status, 200 | 503), "{}", read.body);
            }
            outcomes.push((page.status, key));
        }
        outcomes
    };

    // Act: the file is moved aside while they run.
    let move_aside = async {
        while answered.get() < 30 {
            actix_web::rt::time::sleep(Duration::from_millis(1)).await;
        }
        std::fs::rename(&s.db, &aside).unwrap();
    };
    let (outcomes, ()) = futures_util::future::join(
        futures_util::future::join_all((0..4).map(client)),
        move_aside,
    )
    .await;

    // Assert: every answer a 200 or a 503 (the writes that found the file gone), and every
    // session answered as saved is in one file or the other, each file sound.
    let outcomes: Vec<_> = outcomes.into_iter().flatten().collect();
    let statuses: Vec<u16> = outcomes.iter().map(|(status, _)| *status).collect();
    assert!(
        statuses.iter().all(|s| matches!(s, 200 | 503)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&503), "{statuses:?}");
    let mut saved: Vec<String> = outcomes
        .into_iter()
        .filter(|(status, _)| *status == 200)
        .map(|(_, key)| key.unwrap())
        .collect();
    let mut stored: Vec<String> = sqlite_rows(&aside).await.into_iter().map(|r| r.0).collect();
    let before = stored.len();
    stored.extend(sqlite_rows(&s.db).await.into_iter().map(|r| r.0));
    assert!(
        before >= 30 && stored.len() > before,
        "{before} of {}",
        stored.len()
    );
    saved.sort();
    stored.sort();
    assert_eq!(saved, stored);
    assert_eq!(s.log_lines("now serves").len(), 1);
}

#[actix_web::test]
async fn lessons_on_db_and_cached_db_move_to_a_new_sqlite_file_together() {
    // Arrange: `/basic/` on the db engine, `/dict/` on cached_db: one database.
    let e = spawn_engine("sqlite", &[("APP__LESSONS__DICT__ENGINE", "cached_db")]).await;
    let app = &e.app;
    app.new_session("/basic/set/").await;
    app.new_session("/dict/set/").await;

    // Act: the file is deleted; a write through `/basic/` finds it gone, then both lessons
    // write.
    std::fs::remove_file(app.db_path()).unwrap();
    let first = app.get_json("/basic/set/", None).await;
    let on_db = app.new_session("/basic/set/").await;
    let on_cached_db = app.new_session("/dict/set/").await;
    let after = app.new_session("/basic/set/").await;

    // Assert: only the write that found the file gone was refused (`/dict/`'s first write
    // after it is saved, its store having moved with the other lesson's), and both lessons
    // write to the one new file, where their sessions are.
    assert_unavailable(&first, "db", "db (SQLite)", GONE);
    for key in [&on_db, &after] {
        assert_eq!(lname(app, key).await, "rathore");
    }
    let mut rows: Vec<String> = sqlite_rows(&app.db_path())
        .await
        .into_iter()
        .map(|r| r.0)
        .collect();
    let mut expected = vec![on_db, on_cached_db, after];
    rows.sort();
    expected.sort();
    assert_eq!(rows, expected);
}

#[actix_web::test]
async fn the_health_check_reports_a_replaced_file_alike_for_every_store_on_it() {
    // Arrange: `/basic/` on the db engine, `/dict/` on cached_db: one database.
    let e = spawn_engine("sqlite", &[("APP__LESSONS__DICT__ENGINE", "cached_db")]).await;
    let app = &e.app;
    app.new_session("/basic/set/").await;

    // Act: the file is deleted; the health check finds it gone, and looks again.
    std::fs::remove_file(app.db_path()).unwrap();
    let found = app.get_json("/healthz", None).await;
    let again = app.get_json("/healthz", None).await;

    // Assert: the check that found it reports both stores on the file with its cause, where
    // the `cached_db` store, checked after the move, answered ok beside the `db` store's
    // failure; the next check finds both on the new file.
    assert_eq!(found.status, 503, "{}", found.body);
    let stores = &found.json()["stores"];
    assert_eq!(stores["db"]["status"], "unavailable", "{}", found.body);
    assert_eq!(
        stores["cached_db:default"]["status"], "unavailable",
        "{}",
        found.body
    );
    assert_eq!(stores["cached_db:default"]["error"], stores["db"]["error"]);
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json()["stores"]["cached_db:default"]["status"], "ok");
}

/// A backup moved over the database of `/basic/` on the `basic` engine and `/dict/` on the
/// `dict` engine (`db` and `cached_db`, one file), found by a write through `/dict/`: `/basic/`
/// reads from the backup at once, with no write or health check of its own.
async fn both_lessons_serve_a_backup_moved_in_once_dict_finds_it(basic: &str, dict: &str) {
    // Arrange: a session made through `/dict/` in a backup, flushed from the database after
    // it; and another one made after the backup.
    let s = LoggedServer::start_with(&[
        ("APP__LESSONS__BASIC__ENGINE", basic),
        ("APP__LESSONS__DICT__ENGINE", dict),
    ]);
    let backup = s.db.with_file_name("backup.sqlite3");
    let kept = s.new_session_at("/dict/set/").await;
    s.back_up(&backup);
    assert_eq!(s.get("/dict/flush/", Some(&kept)).await.status, 200);
    let later = s.new_session_at("/dict/set/").await;

    // Act: the backup is moved over the database; a write through `/dict/` finds it.
    std::fs::rename(&backup, &s.db).unwrap();
    let found = s.get("/dict/set/", None).await;

    // Assert: `/basic/` shows the backup's sessions from its next read: the one it holds is
    // back, the one made after it is not; the health check finds nothing left to move, and
    // the move is told once.
    assert_unavailable(&found, "the write that found it", "db (SQLite)", GONE);
    assert_eq!(s.lname(&kept).await, "Ronaldo", "read from the backup");
    assert_eq!(s.lname(&later).await, "Guest", "not in the backup");
    let health = s.get("/healthz", None).await;
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(s.log_lines("now serves").len(), 1, "one move");
}

#[actix_web::test]
async fn a_backup_found_through_the_db_lesson_is_served_at_once_by_the_cached_db_lesson() {
    both_lessons_serve_a_backup_moved_in_once_dict_finds_it("cached_db", "db").await;
}

#[actix_web::test]
async fn a_backup_found_through_the_cached_db_lesson_is_served_at_once_by_the_db_lesson() {
    both_lessons_serve_a_backup_moved_in_once_dict_finds_it("db", "cached_db").await;
}

#[actix_web::test]
async fn a_file_that_is_not_a_database_moved_over_it_is_a_503_until_a_good_one_returns() {
    // Arrange: a session, a backup holding it, and a file of another kind.
    let s = LoggedServer::start();
    let key = s.new_session().await;
    let backup = s.db.with_file_name("backup.sqlite3");
    s.back_up(&backup);
    let other = s.db.with_file_name("notes.txt");
    std::fs::write(&other, "not a database\n".repeat(512)).unwrap();

    // Act: that file is moved over the database.
    std::fs::rename(&other, &s.db).unwrap();
    let found = s.get("/basic/set/", None).await;
    let write = s.get("/basic/set/", None).await;
    let read = s.get("/basic/get/", Some(&key)).await;
    let health = s.get("/healthz", None).await;

    // Assert: refused as a start-up would refuse it, every request a 503 that says so, and
    // the file left as it was.
    assert_unavailable(&found, "the write that found it", "db (SQLite)", GONE);
    let cause = "its database file is not a SQLite database";
    assert_unavailable(&write, "a write", "db (SQLite)", cause);
    assert_unavailable(&read, "a read", "db (SQLite)", cause);
    assert_eq!(health.status, 503);
    assert!(
        health.body.contains("file is not a database"),
        "{}",
        health.body
    );
    assert_eq!(
        std::fs::read_to_string(&s.db).unwrap(),
        "not a database\n".repeat(512)
    );

    // Act: the backup is put back.
    std::fs::rename(&backup, &s.db).unwrap();

    // Assert: the server serves it, without a restart.
    let new = s.new_session().await;
    assert_eq!(s.lname(&key).await, "rathore");
    assert_eq!(s.lname(&new).await, "rathore");
    assert_eq!(s.get("/healthz", None).await.status, 200);
    assert_eq!(s.log_lines("now serves").len(), 1);
}

#[actix_web::test]
async fn a_store_failure_is_logged_once_with_its_cause_and_once_when_it_ends() {
    // Arrange: the real binary on the file engine, its log kept.
    let data = tempfile::tempdir().unwrap();
    let files = data.path().join("files");
    std::fs::create_dir(&files).unwrap();
    let url = format!("sqlite://{}/sessions.sqlite3", data.path().display());
    let server = Server::start(&[
        ("APP__SESSION__ENGINE", "file"),
        ("APP__SESSION__FILE_PATH", files.to_str().unwrap()),
        ("APP__DATABASE__URL", &url),
    ]);
    let client = reqwest::Client::new();
    let statuses = |count: usize| {
        let (client, address) = (&client, &server.address);
        async move {
            let mut statuses = Vec::new();
            for _ in 0..count {
                let answer = client
                    .get(format!("{address}/basic/set/"))
                    .header("Accept", "application/json")
                    .send()
                    .await
                    .unwrap();
                statuses.push(answer.status().as_u16());
            }
            statuses
        }
    };

    // Act: the directory goes; twenty requests fail; it comes back; requests succeed.
    std::fs::remove_dir(&files).unwrap();
    let failed = statuses(20).await;
    std::fs::create_dir(&files).unwrap();
    let served = statuses(5).await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;

    // Assert: one line for the failure, with its cause, and one for its end.
    assert_eq!(failed, vec![503; 20]);
    assert_eq!(served, vec![200; 5]);
    let log = server.log.lock().unwrap().clone();
    let errors: Vec<&String> = log
        .iter()
        .filter(|line| line.contains(" ERROR ") || line.contains(" WARN "))
        .collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].contains("session store (file) is unavailable")
            && errors[0].contains(files.to_str().unwrap())
            && errors[0].contains("No such file or directory"),
        "{}",
        errors[0]
    );
    let back: Vec<&String> = log
        .iter()
        .filter(|line| line.contains("answers again"))
        .collect();
    assert_eq!(back.len(), 1, "{log:#?}");
    assert!(back[0].contains("after 20 failed"), "{}", back[0]);
}

#[actix_web::test]
async fn a_failure_goes_on_in_the_log_through_answers_that_never_asked_the_store() {
    // Arrange: the real binary, `/basic/` on the file engine and `/timeout/` on Redis at a
    // port where nothing listens, its log kept.
    let data = tempfile::tempdir().unwrap();
    let files = data.path().join("files");
    std::fs::create_dir(&files).unwrap();
    let url = format!("sqlite://{}/sessions.sqlite3", data.path().display());
    let closed_port = common::free_port_on("127.0.0.1");
    let redis = format!("redis://127.0.0.1:{closed_port}/0");
    let server = Server::start(&[
        ("APP__LESSONS__BASIC__ENGINE", "file"),
        ("APP__LESSONS__BASIC__FILE_PATH", files.to_str().unwrap()),
        ("APP__LESSONS__TIMEOUT__ENGINE", "cache"),
        ("APP__CACHES__DEFAULT__BACKEND", "redis"),
        ("APP__CACHES__DEFAULT__URL", &redis),
        ("APP__DATABASE__URL", &url),
    ]);
    let client = reqwest::Client::new();
    let status = |path: &'static str, cookie: Option<&'static str>| {
        let (client, address) = (&client, &server.address);
        async move {
            let mut request = client.get(format!("{address}{path}"));
            if let Some(cookie) = cookie {
                request = request.header("Cookie", cookie);
            }
            request.send().await.unwrap().status().as_u16()
        }
    };

    // Act: while both stores fail, each failing write is followed by an answer given without
    // asking the store: a cookie that is long enough to be a key but no key of ours (the
    // store answers that it names no session) and the timeout lesson's clear_expired() (Redis
    // drops expired keys itself, so there is nothing to ask it).
    std::fs::remove_dir(&files).unwrap();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(status("/basic/set/", None).await);
        statuses.push(status("/basic/get/", Some("sessionid=NOTAKEYOFOURS")).await);
        statuses.push(status("/timeout/set/", None).await);
        statuses.push(status("/timeout/del/", None).await);
    }
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;

    // Assert: each store's failure is told once, and never said to be over.
    assert_eq!(statuses, [503, 200, 503, 200].repeat(5));
    let log = server.log.lock().unwrap().clone();
    let told = |what: &str| log.iter().filter(|line| line.contains(what)).count();
    assert_eq!(told("store::outages"), 2, "{log:#?}");
    assert_eq!(told("writes fail: the session store (file)"), 1, "{log:#?}");
    assert_eq!(
        told("writes fail: the session store (cache (Redis))"),
        1,
        "{log:#?}"
    );
}

/// Runs `tests/django/django_sessions.py` or `django_migrate.py` with `args`.
fn django(python: &Path, script: &str, args: &[&str]) -> Value {
    common::run_django(python, script, args)
}

#[actix_web::test]
async fn a_database_made_by_djangos_migrate_is_served_and_djangos_migrate_accepts_ours() {
    let Some(python) = django_python() else {
        return;
    };
    // Arrange: Django's `migrate` makes the database, and Django saves a session in it.
    let data_dir = tempfile::tempdir().unwrap();
    let settings = test_settings(data_dir.path(), &[]);
    let secret = settings.secret_key.expose().to_owned();
    let db = data_dir.path().join("sessions.sqlite3");
    let db_text = db.to_str().unwrap().to_owned();
    let migrated = django(&python, "django_migrate.py", &[&db_text]);
    assert_eq!(migrated["applied"], json!(["sessions.0001_initial"]));
    let written = django(
        &python,
        "django_sessions.py",
        &[
            "db-write",
            &db_text,
            &secret,
            r#"{"name": "Django", "lname": "Reinhardt"}"#,
        ],
    );
    let django_key = written["key"].as_str().unwrap().to_owned();

    // Act: sessionlab starts on it.
    let app = spawn_with_settings(settings, data_dir, Arc::new(FakeClock::at_wall_clock())).await;
    let ours = app.new_session("/basic/set/").await;

    // Assert: each reads the other's session, and Django's `migrate` has nothing to do.
    assert_eq!(lname(&app, &django_key).await, "Reinhardt");
    let read = django(
        &python,
        "django_sessions.py",
        &["db-read", &db_text, &secret, &ours],
    );
    assert_eq!(read["data"], json!({"name": "Sonam", "lname": "rathore"}));
    let again = django(&python, "django_migrate.py", &[&db_text]);
    assert_eq!(again["applied"], json!([]));

    // Arrange: a database sessionlab made.
    let e = spawn_engine("sqlite", &[]).await;
    let key = e.app.new_session("/basic/set/").await;
    let path = e.app.db_path();
    let path = path.to_str().unwrap();

    // Act: Django's `migrate` on it, as a Django project sharing it runs first.
    let migrated = django(&python, "django_migrate.py", &[path]);

    // Assert: it succeeds with nothing to apply, and Django reads sessionlab's session.
    assert_eq!(migrated["applied"], json!([]));
    let secret = e.app.settings.secret_key.expose().to_owned();
    let read = django(
        &python,
        "django_sessions.py",
        &["db-read", path, &secret, &key],
    );
    assert_eq!(read["data"], json!({"name": "Sonam", "lname": "rathore"}));
}

/// How many times `sessions.0001_initial` is recorded in the schema's `django_migrations`.
async fn migration_records(schema: &PgSchema) -> i64 {
    let pool = sqlx::PgPool::connect(&postgres_admin_url()).await.unwrap();
    let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        r#"SELECT count(*) FROM "{}"."django_migrations" WHERE "app" = 'sessions' AND "name" = '0001_initial'"#,
        schema.name
    )))
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    count
}

#[actix_web::test]
async fn a_postgresql_schema_made_by_djangos_migrate_is_served_and_djangos_migrate_accepts_ours() {
    let Some(python) = django_python() else {
        return;
    };
    // Arrange: Django's `migrate` makes the schema's tables.
    let schema = PgSchema::create().await;
    let migrated = django(&python, "django_migrate.py", &[&schema.url]);
    assert_eq!(migrated["applied"], json!(["sessions.0001_initial"]));

    // Act: sessionlab starts on it, and once more (a restart).
    for _ in 0..2 {
        let data_dir = tempfile::tempdir().unwrap();
        let settings = test_settings(data_dir.path(), &[("APP__DATABASE__URL", &schema.url)]);
        let app =
            spawn_with_settings(settings, data_dir, Arc::new(FakeClock::at_wall_clock())).await;
        let key = app.new_session("/basic/set/").await;
        assert_eq!(lname(&app, &key).await, "rathore");
    }

    // Assert: Django's `migrate` has nothing to do, and the migration is recorded once.
    let again = django(&python, "django_migrate.py", &[&schema.url]);
    assert_eq!(again["applied"], json!([]));
    assert_eq!(migration_records(&schema).await, 1);

    // Arrange: a schema sessionlab made.
    let e = spawn_engine("postgres", &[]).await;
    e.app.new_session("/basic/set/").await;
    let ours = e.schema.as_ref().unwrap();

    // Act: Django's `migrate` on it, as a Django project sharing it runs first.
    let migrated = django(&python, "django_migrate.py", &[&ours.url]);

    // Assert: it succeeds with nothing to apply; sessionlab had recorded the migration once.
    assert_eq!(migrated["applied"], json!([]));
    assert_eq!(migration_records(ours).await, 1);
}
