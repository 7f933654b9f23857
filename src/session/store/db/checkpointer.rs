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
//! again until little is left, and asks the writer to [`CatchUp`]: between two batches, the
//! writer copies the last frames itself, and its next commit starts the log from the
//! beginning. That costs the queued writes a pause for that copy and its two `fsync`s, about
//! every 0.4 s under that load: 5–30 ms on a fresh table, up to 66 ms once it holds 0.7M
//! sessions (the disk is busy), the price of a log that stays under ~100 MB.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use rusqlite::Connection;

use super::connection::Database;

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

/// One pass: copies the log back; when the log has grown past `restart_at_frames`, copies it
/// again until little is left, then asks the writer to catch up.
fn pass(conn: &Connection, catch_up: &CatchUp, restart_at_frames: i64) -> rusqlite::Result<()> {
    let (log, mut copied) = checkpoint(conn)?;
    if log < restart_at_frames {
        return Ok(());
    }
    for _ in 0..MOST_PASSES {
        let (_, now_copied) = checkpoint(conn)?;
        let fresh = now_copied - copied;
        copied = now_copied;
        if fresh < FEW_FRAMES {
            break;
        }
    }
    catch_up.request();
    Ok(())
}

/// Runs checkpoints until dropped.
pub(super) struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Starts checkpointing `database` (a file in write-ahead-log mode), asking the writer
    /// to `catch_up` when the log has grown too long.
    pub(super) fn start(database: Database, catch_up: CatchUp) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("sessionlab-sqlite-checkpoint".into())
            .spawn(move || {
                let mut slot = None;
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                    if slot.is_none() {
                        slot = database
                            .open()
                            .inspect_err(
                                |error| tracing::debug!(%error, "cannot open SQLite to checkpoint"),
                            )
                            .ok();
                    }
                    let Some(conn) = &slot else { continue };
                    if let Err(error) = pass(conn, &catch_up, RESTART_AT_FRAMES) {
                        tracing::debug!(%error, "SQLite checkpoint failed; retrying later");
                        slot = None;
                    }
                }
            })?;
        Ok(Checkpointer { _stop: stop })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_asks_the_writer_to_catch_up_only_once_the_log_is_long() {
        let dir = tempfile::tempdir().unwrap();
        let database = Database::File(dir.path().join("sessions.sqlite3"));
        let writer = database.open_writer().unwrap();
        let conn = database.open().unwrap();
        for n in 0..20 {
            writer
                .execute(
                    "INSERT INTO django_session VALUES (?1, 'e30', '9999-01-01 00:00:00')",
                    [format!("key{n}")],
                )
                .unwrap();
        }
        let catch_up = CatchUp::default();
        pass(&conn, &catch_up, 1_000).unwrap();
        assert!(!catch_up.take(), "a short log restarts by itself");
        writer
            .execute(
                "INSERT INTO django_session VALUES ('one-more', 'e30', '9999-01-01 00:00:00')",
                [],
            )
            .unwrap();
        pass(&conn, &catch_up, 2).unwrap();
        assert!(catch_up.take());
        assert!(!catch_up.take(), "one request, answered once");
    }
}
