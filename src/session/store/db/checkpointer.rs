//! Copies the write-ahead log back into the database file, on a thread of its own. SQLite's
//! automatic checkpoint runs inside the commit that crosses its threshold, and a checkpoint
//! waits for the disk (`fsync`) twice: left to the writer, one commit in a thousand would hold
//! every queued write for that long. Here the writer never checkpoints; this thread does, in
//! `PASSIVE` mode, which neither waits for nor blocks the writer or the readers.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use super::connection::Database;

/// How often the log is copied back. Often, so each checkpoint is small: while its `fsync`
/// writes the log's pages back, the writer's next append to the log's last page waits for it,
/// and a longer flush is a longer wait (new sessions under `wrk -t2 -c32`, the two intervals
/// alternating round by round: p99 19–24 ms at 250 ms, 12–14 ms at 100 ms, at the same rate).
const INTERVAL: Duration = Duration::from_millis(100);

/// Runs checkpoints until dropped.
pub(super) struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Starts checkpointing `database` (a file in write-ahead-log mode).
    pub(super) fn start(database: Database) -> std::io::Result<Self> {
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
                    if let Err(error) =
                        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::debug!(%error, "SQLite checkpoint failed; retrying later");
                        slot = None;
                    }
                }
            })?;
        Ok(Checkpointer { _stop: stop })
    }
}
