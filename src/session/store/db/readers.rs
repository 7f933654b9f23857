//! Each thread's own connection for reading. A session load is a primary-key lookup that SQLite
//! answers from its page cache in microseconds, less than handing it to another thread would
//! cost, so reads run on the thread that asks; in write-ahead-log mode they never wait for the
//! writer.

use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::Connection;
use thread_local::ThreadLocal;

use super::connection::{Database, LockWait, is_busy, wait_for_locks};
use super::current_file::CurrentFile;

/// One reading connection per thread, opened on first use. Each sits behind a lock that only
/// its thread takes, but for a move to another file, which closes them all
/// ([`Readers::close_all`]).
pub(super) struct Readers {
    database: Database,
    /// The file the connections are opened on.
    current: Arc<CurrentFile>,
    connections: ThreadLocal<Mutex<Option<Reader>>>,
}

/// A thread's connection, the lock wait it is set to (a worker thread never waits; the
/// blocking pool's threads do), so the setting is changed only when it differs, and the
/// generation of the file it was opened on.
struct Reader {
    conn: Connection,
    wait: LockWait,
    generation: u64,
}

impl Readers {
    pub(super) fn new(database: Database, current: Arc<CurrentFile>) -> Self {
        Readers {
            database,
            current,
            connections: ThreadLocal::new(),
        }
    }

    /// Runs `read` on this thread's connection, meeting a lock as `wait` says. A connection
    /// that failed for any other reason than a lock is closed, and the next read opens a new
    /// one (the file may have been made readable again meanwhile); so is one opened on a file
    /// the store has moved from.
    pub(super) fn read<T>(
        &self,
        wait: LockWait,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let generation = self.current.generation();
        let mut slot = lock(self.connections.get_or(Mutex::default));
        if slot
            .as_ref()
            .is_some_and(|reader| reader.generation != generation)
        {
            *slot = None;
        }
        let reader = match &mut *slot {
            Some(reader) => reader,
            empty => {
                let (conn, generation) = self.current.open(&self.database, wait)?;
                empty.insert(Reader {
                    conn,
                    wait,
                    generation,
                })
            }
        };
        if reader.wait != wait {
            wait_for_locks(&reader.conn, wait)?;
            reader.wait = wait;
        }
        let result = read(&reader.conn);
        if result.as_ref().is_err_and(|error| !is_busy(error)) {
            *slot = None;
        }
        result
    }

    /// Closes every thread's connection, waiting for a read in progress to end. The store
    /// opens no new one meanwhile ([`CurrentFile::begin_move`]).
    pub(super) fn close_all(&self) {
        for slot in self.connections.iter() {
            *lock(slot) = None;
        }
    }
}

fn lock(slot: &Mutex<Option<Reader>>) -> MutexGuard<'_, Option<Reader>> {
    // A read that panicked left a connection or none, both fine to go on with.
    slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
