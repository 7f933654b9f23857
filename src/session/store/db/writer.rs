//! The one thread that writes to the sessions database. SQLite lets one connection write at a
//! time; rather than have request threads queue on its lock (sleeping in its busy handler), they
//! hand their writes to this thread, which commits whatever has queued up in one transaction
//! (group commit): under load a commit carries many sessions, and the log is written once for
//! all of them. Its answers go back through each worker thread's [`Inbox`], one wake-up per
//! worker per batch. Between batches it also finishes the checkpointer's work when asked
//! ([`CatchUp`]), so that the write-ahead log starts again from the beginning.

use std::sync::Arc;
use std::sync::mpsc;

use rusqlite::{Connection, params};
use tokio::sync::oneshot;

use super::checkpointer::{self, CatchUp};
use super::connection::{Database, is_read_only, is_unique_violation};
use super::current_file::FileUnusable;
use super::file_check::FileGone;
use super::inbox::{self, Inbox, Reply};
use super::moving::Mover;

/// Most writes one transaction carries, so that none waits long behind a busy commit.
const MAX_BATCH: usize = 256;

/// How much of the database file a rebuild ([`Write::KeepOnlyLive`]) reads through a memory
/// map (SQLite clamps it to its compile-time limit, 2 GiB): emptying the table visits every
/// page of the table and its two indexes, and reading them from the map rather than by a
/// `read` call each cuts the time the write lock is held by about a third (1M rows: 103–148 ms
/// → 66–95 ms, BENCHMARKS.md's change 29). The map lives only for that transaction; anywhere else SQLite
/// reads as it always does, since a disk error under a map is a signal, not an error code.
const REBUILD_MMAP_BYTES: i64 = 2 << 30;

/// One change to `django_session`.
#[derive(Debug)]
pub(super) enum Write {
    /// `save(must_create=True)`.
    Insert {
        key: String,
        data: String,
        expire_date: String,
    },
    /// `save(must_create=False)`.
    Update {
        key: String,
        data: String,
        expire_date: String,
    },
    /// A live session's new expiry, its data left as it is (`Store::set_expire_date`).
    SetExpireDate {
        key: String,
        expire_date: String,
        now: String,
    },
    /// `delete()`.
    Delete { key: String },
    /// Up to `limit` sessions that expired before `cutoff` (one chunk of `clear_expired()`).
    ClearChunk { cutoff: String, limit: i64 },
    /// Every session that expired before `cutoff`, by emptying the table and putting the live
    /// sessions back (all of `clear_expired()` when the live ones are few; see
    /// [`super::DbStore::clear_expired`]). The rows it changed are the sessions removed.
    KeepOnlyLive { cutoff: String },
    /// Nothing: a batch of its own, for the check of the file that every batch begins with
    /// (`/healthz` sends it when the file is gone, so that the store moves without a write).
    Check,
}

impl Write {
    /// Whether the write visits every page of the table (see [`REBUILD_MMAP_BYTES`]).
    fn visits_the_whole_table(&self) -> bool {
        matches!(self, Write::KeepOnlyLive { .. })
    }

    /// Runs the statement; the rows it changed.
    fn run(&self, conn: &Connection) -> rusqlite::Result<usize> {
        match self {
            Write::Insert {
                key,
                data,
                expire_date,
            } => conn
                .prepare_cached(
                    "INSERT INTO django_session (session_key, session_data, expire_date) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![key, data, expire_date]),
            Write::Update {
                key,
                data,
                expire_date,
            } => conn
                .prepare_cached(
                    "UPDATE django_session SET session_data = ?2, expire_date = ?3 WHERE session_key = ?1",
                )?
                .execute(params![key, data, expire_date]),
            Write::SetExpireDate {
                key,
                expire_date,
                now,
            } => conn
                .prepare_cached(
                    "UPDATE django_session SET expire_date = ?2 WHERE session_key = ?1 AND expire_date > ?3",
                )?
                .execute(params![key, expire_date, now]),
            Write::Delete { key } => conn
                .prepare_cached("DELETE FROM django_session WHERE session_key = ?1")?
                .execute(params![key]),
            Write::ClearChunk { cutoff, limit } => conn
                .prepare_cached(
                    "DELETE FROM django_session WHERE rowid IN \
                     (SELECT rowid FROM django_session WHERE expire_date < ?1 LIMIT ?2)",
                )?
                .execute(params![cutoff, limit]),
            Write::KeepOnlyLive { cutoff } => keep_only_live(conn, cutoff),
            Write::Check => Ok(0),
        }
    }
}

/// Empties `django_session` but for the sessions live at `cutoff`, inside the caller's
/// transaction. A `DELETE` without `WHERE` is SQLite's truncate optimisation: it frees the
/// table's and indexes' pages whole instead of deleting a million rows one by one from three
/// B-trees (1M expired rows: under a second, against ten or more in chunks). Readers see the
/// table before or after, never between (write-ahead log); the rows keep their keys, data and
/// dates (only SQLite's internal `rowid`s change, which Django never reads).
fn keep_only_live(conn: &Connection, cutoff: &str) -> rusqlite::Result<usize> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS sessionlab_live_sessions \
         (session_key TEXT NOT NULL, session_data TEXT NOT NULL, expire_date TEXT NOT NULL); \
         DELETE FROM temp.sessionlab_live_sessions;",
    )?;
    let kept = conn
        .prepare_cached(
            "INSERT INTO temp.sessionlab_live_sessions \
             SELECT session_key, session_data, expire_date FROM main.django_session \
             WHERE expire_date >= ?1",
        )?
        .execute(params![cutoff])?;
    // The truncation counts the rows it frees, so no `COUNT(*)` is needed.
    let all = conn
        .prepare_cached("DELETE FROM main.django_session")?
        .execute([])?;
    let restored = conn
        .prepare_cached(
            "INSERT INTO main.django_session (session_key, session_data, expire_date) \
             SELECT session_key, session_data, expire_date FROM temp.sessionlab_live_sessions",
        )?
        .execute([])?;
    conn.execute_batch("DELETE FROM temp.sessionlab_live_sessions")?;
    debug_assert_eq!(kept, restored);
    Ok(all.saturating_sub(restored))
}

/// Why a write did not happen.
#[derive(Debug, Clone, thiserror::Error)]
pub(super) enum WriteError {
    /// An insert found its key taken (Django's `CreateError`).
    #[error("the session key is taken")]
    KeyTaken,
    /// SQLite failed; the whole transaction was rolled back.
    #[error(transparent)]
    Sqlite(Arc<rusqlite::Error>),
    /// The database file was deleted or replaced under the server: nothing was written.
    #[error("the write was refused")]
    Gone(#[source] FileGone),
    /// The file now at the path cannot be used: nothing was written.
    #[error("the write was refused")]
    Unusable(#[source] FileUnusable),
    /// The writer thread is gone (it only stops when the store is dropped).
    #[error("the SQLite writer thread has stopped")]
    Stopped,
}

/// A write's outcome: the rows it changed, or why it did not happen.
pub(super) type Outcome = Result<usize, WriteError>;

/// A write waiting for the writer thread: where its outcome goes, and the inbox of the thread
/// its request waits on (none on a thread without one: the outcome is sent directly).
struct Job {
    write: Write,
    reply: Reply,
    inbox: Option<Arc<Inbox>>,
}

/// The handle requests send their writes through; the thread stops when the last clone of it
/// is dropped, after committing what was queued.
#[derive(Clone)]
pub(super) struct Writer {
    queue: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread on `conn`, which reopens `database` when it must, and
    /// answers the checkpointer's `catch_up` requests. With a `mover` (a database file), a
    /// batch is refused while the file at its path is not the one opened, and the store then
    /// moves to the file at the path.
    pub(super) fn start(
        database: Database,
        conn: Connection,
        mover: Option<Mover>,
        catch_up: CatchUp,
    ) -> std::io::Result<Self> {
        let (queue, jobs) = mpsc::channel();
        let mut thread = WriterThread {
            database,
            conn: Some(conn),
            mover,
            catch_up,
        };
        std::thread::Builder::new()
            .name("sessionlab-sqlite-writer".into())
            .spawn(move || thread.run(jobs))?;
        Ok(Writer { queue })
    }

    /// Queues `write` and waits until it is committed; the rows it changed.
    pub(super) async fn write(&self, write: Write) -> Result<usize, WriteError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            write,
            reply,
            inbox: Inbox::of_this_thread(),
        };
        self.queue.send(job).map_err(|_| WriteError::Stopped)?;
        answer.await.map_err(|_| WriteError::Stopped)?
    }
}

struct WriterThread {
    database: Database,
    /// `None` after a failure that calls for a new connection (opened at the next write).
    conn: Option<Connection>,
    /// The database file's keeper, which checks it before each batch.
    mover: Option<Mover>,
    catch_up: CatchUp,
}

impl WriterThread {
    fn run(&mut self, jobs: mpsc::Receiver<Job>) {
        while let Ok(first) = jobs.recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            let (writes, waiting): (Vec<Write>, Vec<_>) = batch
                .into_iter()
                .map(|job| (job.write, (job.reply, job.inbox)))
                .unzip();
            let ready = match &mut self.mover {
                Some(mover) => mover.before_batch(&mut self.conn),
                None => Ok(()),
            };
            let outcomes = if let Err(refusal) = ready {
                let refused = || Err(refusal.clone());
                std::iter::repeat_with(refused).take(writes.len()).collect()
            } else {
                match self.commit_with_retry(&writes) {
                    Ok(outcomes) => outcomes,
                    Err(error) => {
                        // Told once, not per batch, by the store's log of failures.
                        tracing::debug!(%error, writes = writes.len(), "SQLite write failed");
                        let error = Arc::new(error);
                        let failed = || Err(WriteError::Sqlite(Arc::clone(&error)));
                        std::iter::repeat_with(failed).take(writes.len()).collect()
                    }
                }
            };
            // A batch refused for a file gone from the path is answered once the store is on
            // the file there: a request that follows its answer finds the move done.
            if let Some(mover) = &mut self.mover {
                mover.after_batch(&mut self.conn);
            }
            inbox::answer(waiting, outcomes);
            if self.catch_up.take() {
                self.copy_back_the_rest_of_the_log();
            }
        }
    }

    /// Copies back the frames committed since the checkpointer's last pass began, after the
    /// batch's answers are sent. With the whole log in the file, the next commit writes the
    /// log from its start instead of growing it; the queued writes wait for the copy (a few
    /// hundred frames) and its two `fsync`s. It copies less when a reader still holds older
    /// frames, and the checkpointer asks again.
    fn copy_back_the_rest_of_the_log(&mut self) {
        let Some(conn) = &self.conn else { return };
        if let Err(error) = checkpointer::checkpoint(conn) {
            tracing::debug!(%error, "SQLite catch-up checkpoint failed; the next pass retries");
        }
    }

    /// SQLite opens a file (or its write-ahead log) that it may not write read-only, without a
    /// word — a read-only mount, an immutable file, a permission change — and such a
    /// connection stays read-only for its whole life, long after the file is writable again. A
    /// batch refused as read-only therefore reopens the connection and is tried once more, so
    /// the store recovers with the file.
    fn commit_with_retry(&mut self, writes: &[Write]) -> rusqlite::Result<Vec<Outcome>> {
        match self.commit(writes) {
            Err(error) if is_read_only(&error) => {
                self.conn = None;
                self.commit(writes)
            }
            result => result,
        }
    }

    /// Runs `writes` in one transaction. A taken key fails only its own insert (SQLite undoes
    /// just that statement); any other failure rolls back the whole batch.
    fn commit(&mut self, writes: &[Write]) -> rusqlite::Result<Vec<Outcome>> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            slot => slot.insert(self.database.open_writer()?),
        };
        let mapped = writes.iter().any(Write::visits_the_whole_table);
        if mapped {
            conn.pragma_update(None, "mmap_size", REBUILD_MMAP_BYTES)?;
        }
        let outcome = (|| {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            let mut outcomes = Vec::with_capacity(writes.len());
            for write in writes {
                match write.run(conn) {
                    Ok(rows) => outcomes.push(Ok(rows)),
                    Err(error) if is_unique_violation(&error) => {
                        outcomes.push(Err(WriteError::KeyTaken));
                    }
                    Err(error) => return Err(error),
                }
            }
            conn.execute_batch("COMMIT")?;
            Ok(outcomes)
        })();
        if outcome.is_err() && !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        if mapped {
            // Unmapped now; a connection that cannot even do that is replaced.
            if let Err(error) = conn.pragma_update(None, "mmap_size", 0) {
                tracing::warn!(%error, "SQLite writer could not unmap the database; reopening");
                self.conn = None;
            }
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::super::connection::LockWait;
    use super::*;

    fn insert(key: &str) -> Write {
        insert_expiring(key, "9999-01-01 00:00:00")
    }

    fn insert_expiring(key: &str, expire_date: &str) -> Write {
        Write::Insert {
            key: key.to_owned(),
            data: "e30".to_owned(),
            expire_date: expire_date.to_owned(),
        }
    }

    /// A fresh in-memory database and a writer thread on it.
    fn writer_on_a_memory_database() -> (Database, Writer) {
        let database = Database::new_memory();
        let conn = database.open_writer().unwrap();
        let writer = Writer::start(database.clone(), conn, None, CatchUp::default()).unwrap();
        (database, writer)
    }

    #[actix_web::test]
    async fn concurrent_writes_are_committed_and_a_taken_key_fails_alone() {
        let (database, writer) = writer_on_a_memory_database();
        let outcomes = futures_util::future::join_all(
            ["a", "b", "a", "c"].map(|key| writer.write(insert(key))),
        )
        .await;
        let taken = outcomes
            .iter()
            .filter(|o| matches!(o, Err(WriteError::KeyTaken)))
            .count();
        assert_eq!(taken, 1, "{outcomes:?}");
        assert_eq!(outcomes.iter().filter(|o| matches!(o, Ok(1))).count(), 3);
        let reader = database.open(LockWait::UpToBusyTimeout).unwrap();
        let keys: i64 = reader
            .query_row("SELECT COUNT(*) FROM django_session", [], |r| r.get(0))
            .unwrap();
        assert_eq!(keys, 3);
    }

    #[test]
    fn writes_are_answered_on_threads_with_an_inbox_and_without() {
        let (_database, writer) = writer_on_a_memory_database();
        let writes = |writer: Writer, prefix: &'static str| async move {
            let keys: Vec<String> = (0..50).map(|n| format!("{prefix}{n}")).collect();
            futures_util::future::join_all(keys.iter().map(|key| writer.write(insert(key)))).await
        };
        let on_actix = {
            let writer = writer.clone();
            std::thread::spawn(move || {
                actix_web::rt::System::new().block_on(async {
                    assert!(Inbox::of_this_thread().is_some());
                    writes(writer, "actix").await
                })
            })
        };
        let on_tokio = {
            let writer = writer.clone();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    assert!(Inbox::of_this_thread().is_none());
                    writes(writer, "tokio").await
                })
            })
        };
        let outcomes = [on_actix.join().unwrap(), on_tokio.join().unwrap()].concat();
        assert_eq!(outcomes.len(), 100);
        assert!(outcomes.iter().all(|o| matches!(o, Ok(1))), "{outcomes:?}");
    }

    /// A writer thread's state (not its thread) on a database file in a temp dir.
    fn writer_thread_on_a_file() -> (tempfile::TempDir, WriterThread) {
        let dir = tempfile::tempdir().unwrap();
        let database = Database::File(dir.path().join("sessions.sqlite3"));
        let thread = WriterThread {
            conn: Some(database.open_writer().unwrap()),
            database,
            mover: None,
            catch_up: CatchUp::default(),
        };
        (dir, thread)
    }

    /// The write-ahead log's size on disk.
    fn log_bytes(dir: &std::path::Path) -> u64 {
        std::fs::metadata(dir.join("sessions.sqlite3-wal"))
            .unwrap()
            .len()
    }

    #[test]
    fn a_rebuild_keeps_the_live_rows_and_leaves_no_memory_map_behind() {
        let (_dir, mut thread) = writer_thread_on_a_file();
        thread
            .commit(&[
                insert_expiring("old1", "2000-01-01 00:00:00"),
                insert_expiring("old2", "2000-01-02 00:00:00"),
                insert_expiring("live", "2100-01-01 00:00:00"),
            ])
            .unwrap();

        let outcomes = thread
            .commit(&[Write::KeepOnlyLive {
                cutoff: "2050-01-01 00:00:00".into(),
            }])
            .unwrap();

        assert!(matches!(outcomes[..], [Ok(2)]), "{outcomes:?}");
        let conn = thread
            .conn
            .as_ref()
            .expect("the writer keeps its connection");
        let mapped: i64 = conn
            .query_row("PRAGMA mmap_size", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mapped, 0, "the map is only for the rebuild's transaction");
        let keys: Vec<String> = conn
            .prepare("SELECT session_key FROM django_session")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(keys, ["live"]);
    }

    #[test]
    fn catching_up_after_a_partial_checkpoint_lets_the_next_commit_restart_the_log() {
        let (dir, mut thread) = writer_thread_on_a_file();
        let database = thread.database.clone();
        let background = database.open(LockWait::UpToBusyTimeout).unwrap();
        // A passive checkpoint that cannot copy the whole log: a reader holds its older frames
        // (as commits made while a checkpoint runs are left for the next one).
        thread.commit(&[insert("a")]).unwrap();
        let reader = database.open(LockWait::UpToBusyTimeout).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        let _: i64 = reader
            .query_row("SELECT COUNT(*) FROM django_session", [], |r| r.get(0))
            .unwrap();
        thread.commit(&[insert("b")]).unwrap();
        let (log, copied) = checkpointer::checkpoint(&background).unwrap();
        assert!(copied < log, "{copied} of {log} frames copied");
        reader.execute_batch("COMMIT").unwrap();

        // Without a catch-up the log goes on growing.
        let before = log_bytes(dir.path());
        thread.commit(&[insert("c")]).unwrap();
        let grown = log_bytes(dir.path());
        assert!(grown > before, "{grown} > {before}");

        // With one, the next commit writes the log from its start.
        thread.copy_back_the_rest_of_the_log();
        thread.commit(&[insert("d")]).unwrap();
        assert_eq!(log_bytes(dir.path()), grown, "the log did not grow");
        let (frames, _) = checkpointer::checkpoint(&background).unwrap();
        assert!(
            frames < log,
            "{frames} frames after the restart, {log} before"
        );
        let rows: i64 = background
            .query_row("SELECT COUNT(*) FROM django_session", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 4);
    }

    #[actix_web::test]
    async fn a_failed_statement_rolls_back_its_whole_batch_and_the_writer_goes_on() {
        let database = Database::new_memory();
        let conn = database.open_writer().unwrap();
        let mut thread = WriterThread {
            database: database.clone(),
            conn: Some(conn),
            mover: None,
            catch_up: CatchUp::default(),
        };
        // A batch whose second statement fails leaves no trace of its first.
        let conn = thread.conn.as_ref().unwrap();
        conn.execute_batch(
            "CREATE TRIGGER refuse BEFORE DELETE ON django_session \
             BEGIN SELECT RAISE(ABORT, 'refused'); END",
        )
        .unwrap();
        let delete = Write::Delete {
            key: "x".to_owned(),
        };
        assert!(thread.commit(&[insert("x"), delete]).is_err());
        let conn = thread.conn.as_ref().unwrap();
        assert!(conn.is_autocommit(), "no transaction left open");
        let rows: i64 = conn
            .query_row("SELECT COUNT(*) FROM django_session", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 0);
        conn.execute_batch("DROP TRIGGER refuse").unwrap();
        let outcomes = thread.commit(&[insert("y")]).unwrap();
        assert!(matches!(outcomes[..], [Ok(1)]));
    }
}
