//! Copies the write-ahead log back into the database file, on a thread of its own. SQLite's
//! automatic checkpoint runs inside the commit that crosses its threshold, and a checkpoint
//! waits for the disk (`fsync`) twice: left to the writer, one commit in a thousand would hold
//! every queued write for that long. Here the writer never checkpoints on its own; this thread
//! does, in `PASSIVE` mode, which neither waits for nor blocks the writer or the readers.
//!
//! A passive checkpoint copies the log as it was when the checkpoint began; under continuous
//! writes there are always newer frames by the time it ends, and SQLite starts the log again
//! from the beginning only once every frame is copied. Left alone, the log would grow for as
//! long as the writes go on (about 1.5 GB in 12 s of new sessions on `wrk -c32`, and every page
//! lookup slower for it). So when the log passes [`RESTART_AT_FRAMES`], this thread copies it
//! again until little is left, writing each copy out to disk ([`WriteBack`]), and asks the
//! writer to [`CatchUp`]: between two batches, the writer copies the last frames itself, and
//! its next commit starts the log from the beginning. That costs the queued writes a pause for
//! that copy and its two `fsync`s, about once a second under that load: 10–50 ms, longer as
//! the table grows (the disk writes the last copy's pages at random places), the price of a
//! log that stays under ~200 MB.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

use super::connection::{Database, LockWait};
use super::current_file::CurrentFile;

/// How often the log is copied back. Often, so each checkpoint is small: while its `fsync`
/// writes the log's pages back, the writer's next append to the log's last page waits for it,
/// and a longer flush is a longer wait (new sessions under `wrk -t2 -c32`, the two intervals
/// alternating round by round: p99 19–24 ms at 250 ms, 12–14 ms at 100 ms, at the same rate).
const INTERVAL: Duration = Duration::from_millis(100);

/// The checkpointer's request to the writer to copy back what its last pass left.
#[derive(Debug, Clone, Default)]
pub(super) struct CatchUp(Arc<AtomicBool>);

impl CatchUp {
    fn request(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether a catch-up was asked for since the last call (which it answers).
    pub(super) fn take(&self) -> bool {
        self.0.load(Ordering::Relaxed) && self.0.swap(false, Ordering::AcqRel)
    }
}

/// A passive checkpoint on `conn`: the frames in the log and those now copied back.
pub(super) fn checkpoint(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get(1)?, row.get(2)?))
    })
}

/// The frames the log may hold before it is restarted (64 MiB of 4 KiB pages). Under light
/// load the log restarts by itself between writes, long before. A smaller log restarts more
/// often for much the same pause, a larger one takes more disk for little gain (new sessions
/// on `wrk -c32`, p99 of the first 10 s: 16–21 ms at 4,096 or 8,192 frames, 14–17 ms at
/// 16,384; 10–11 ms at 65,536, a 290 MB log, and as long as at 16,384 once the table grows).
const RESTART_AT_FRAMES: i64 = 16_384;
/// Before the writer catches up, passes run back to back until one copies fewer frames than
/// this (the writer's share, copied while writes wait) ...
const FEW_FRAMES: i64 = 512;
/// ... or this many have run.
const MOST_PASSES: usize = 8;

/// Writes the pages a checkpoint copied into the database file out to disk, from this thread.
/// SQLite `fsync`s the database file only at the end of a checkpoint that copies the whole
/// log, which under continuous writes is the writer's catch-up: left to it, every page the
/// passes copied since the last restart is written out while the writes wait. Written out
/// after each pass, they leave the catch-up only its own copy to flush (catch-ups during 30 s
/// of new sessions on `wrk -c32`, the table growing to 0.4M: median 53 ms and up to 110 ms
/// before, median 21 ms and up to 52 ms with the write-back).
///
/// On Linux this is `syncfs(2)` on the database's directory, that is its whole file system,
/// and not `fsync` on the database file: closing a descriptor of the database file would drop
/// every POSIX lock this process's SQLite connections hold on it (SQLite's documented way to
/// corrupt a database), and a directory holds none. Elsewhere it does nothing, and the
/// catch-up writes the pages out as before.
pub(super) struct WriteBack {
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    directory: File,
}

impl WriteBack {
    /// For the database file at `path`.
    pub(super) fn of(path: &Path) -> io::Result<Self> {
        let directory = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        Ok(WriteBack {
            directory: File::open(directory)?,
        })
    }

    /// Writes every dirty page of the database's file system out to disk.
    pub(super) fn flush(&self) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        rustix::fs::syncfs(&self.directory)?;
        Ok(())
    }
}

/// One pass: copies the log back; when the log has grown past `restart_at_frames`, copies it
/// again until little is left, calling `write_back` after each copy, then asks the writer to
/// catch up.
fn pass(
    conn: &Connection,
    catch_up: &CatchUp,
    restart_at_frames: i64,
    mut write_back: impl FnMut() -> io::Result<()>,
) -> anyhow::Result<()> {
    let (log, mut copied) = checkpoint(conn)?;
    if log < restart_at_frames {
        return Ok(());
    }
    for _ in 0..MOST_PASSES {
        let (_, now_copied) = checkpoint(conn)?;
        write_back()?;
        let fresh = now_copied - copied;
        copied = now_copied;
        if fresh < FEW_FRAMES {
            break;
        }
    }
    catch_up.request();
    Ok(())
}

/// The checkpointer's connection, shared with the writer thread, which closes it to move the
/// store to another file ([`CheckpointConnection::close`]).
#[derive(Clone, Default)]
pub(super) struct CheckpointConnection(Arc<Mutex<Option<Checkpointing>>>);

/// A connection to checkpoint with, the write-back of its file, and the generation of that
/// file ([`CurrentFile::generation`]).
struct Checkpointing {
    conn: Connection,
    write_back: WriteBack,
    generation: u64,
}

impl CheckpointConnection {
    fn lock(&self) -> MutexGuard<'_, Option<Checkpointing>> {
        // A pass that panicked left a connection or none, both fine to go on with.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Closes the connection, waiting for a pass in progress to end; the next pass opens one
    /// on the store's current file.
    pub(super) fn close(&self) {
        *self.lock() = None;
    }
}

/// Runs checkpoints until dropped.
pub(super) struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Starts checkpointing the database file at `path` (in write-ahead-log mode) on
    /// `connection`, asking the writer to `catch_up` when the log has grown too long. It opens
    /// its connection through `current`: none while the file at `path` is not the one the
    /// writer is on (its log would be copied into the other), and a new one after a move.
    pub(super) fn start(
        path: PathBuf,
        current: Arc<CurrentFile>,
        connection: CheckpointConnection,
        catch_up: CatchUp,
    ) -> io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("sessionlab-sqlite-checkpoint".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                    let mut slot = connection.lock();
                    let generation = current.generation();
                    if slot.as_ref().is_some_and(|c| c.generation != generation) {
                        *slot = None;
                    }
                    if slot.is_none() {
                        *slot = open(&path, &current)
                            .inspect_err(
                                |error| tracing::debug!(%error, "cannot open SQLite to checkpoint"),
                            )
                            .ok();
                    }
                    let Some(checkpointing) = &*slot else {
                        continue;
                    };
                    let write_back = || checkpointing.write_back.flush();
                    if let Err(error) = pass(
                        &checkpointing.conn,
                        &catch_up,
                        RESTART_AT_FRAMES,
                        write_back,
                    ) {
                        tracing::debug!(%error, "SQLite checkpoint failed; retrying later");
                        *slot = None;
                    }
                }
            })?;
        Ok(Checkpointer { _stop: stop })
    }
}

/// The checkpointer's connection to the store's current file, at `path`.
fn open(path: &Path, current: &CurrentFile) -> anyhow::Result<Checkpointing> {
    let database = Database::File(path.to_owned());
    let (conn, generation) = current.open(&database, LockWait::UpToBusyTimeout)?;
    Ok(Checkpointing {
        conn,
        write_back: WriteBack::of(path)?,
        generation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database file in a temp dir, its writer and a checkpointing connection.
    struct Fixture {
        _dir: tempfile::TempDir,
        writer: Connection,
        conn: Connection,
    }

    impl Fixture {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let database = Database::File(dir.path().join("sessions.sqlite3"));
            let writer = database.open_writer().unwrap();
            let conn = database.open(LockWait::UpToBusyTimeout).unwrap();
            Fixture {
                _dir: dir,
                writer,
                conn,
            }
        }

        /// Commits a session under `key`, adding frames to the log.
        fn insert(&self, key: &str) {
            self.writer
                .execute(
                    "INSERT INTO django_session VALUES (?1, 'e30', '9999-01-01 00:00:00')",
                    [key],
                )
                .unwrap();
        }
    }

    #[test]
    fn a_pass_asks_the_writer_to_catch_up_only_once_the_log_is_long() {
        let fixture = Fixture::new();
        for n in 0..20 {
            fixture.insert(&format!("key{n}"));
        }
        let catch_up = CatchUp::default();
        let write_backs = std::cell::Cell::new(0);
        let count_write_back = || {
            write_backs.set(write_backs.get() + 1);
            Ok(())
        };
        pass(&fixture.conn, &catch_up, 1_000, count_write_back).unwrap();
        assert!(!catch_up.take(), "a short log restarts by itself");
        fixture.insert("one-more");
        pass(&fixture.conn, &catch_up, 1_000, count_write_back).unwrap();
        assert!(!catch_up.take());
        assert_eq!(
            write_backs.get(),
            0,
            "a short log is copied whole, and SQLite writes that copy out itself"
        );
        pass(&fixture.conn, &catch_up, 2, count_write_back).unwrap();
        assert!(catch_up.take());
        assert!(!catch_up.take(), "one request, answered once");
        assert_eq!(
            write_backs.get(),
            1,
            "the pass before a catch-up writes its one copy out"
        );
    }

    #[test]
    fn a_failed_write_back_fails_the_pass_and_asks_for_no_catch_up() {
        let fixture = Fixture::new();
        fixture.insert("key");
        let catch_up = CatchUp::default();
        let failing = || Err(io::Error::other("disk gone"));
        let error = pass(&fixture.conn, &catch_up, 1, failing).unwrap_err();
        assert!(error.to_string().contains("disk gone"), "{error}");
        assert!(!catch_up.take());
    }

    #[test]
    fn a_write_back_opens_the_directory_of_a_database_at_any_path_and_flushes_it() {
        let dir = tempfile::tempdir().unwrap();
        WriteBack::of(&dir.path().join("sessions.sqlite3"))
            .unwrap()
            .flush()
            .unwrap();
        WriteBack::of(Path::new("sessions.sqlite3"))
            .unwrap()
            .flush()
            .unwrap();
        assert!(WriteBack::of(&dir.path().join("missing/sessions.sqlite3")).is_err());
    }
}
