//! Each thread's own connection for reading. A session load is a primary-key lookup that SQLite
//! answers from its page cache in microseconds, less than handing it to another thread would
//! cost, so reads run on the thread that asks; in write-ahead-log mode they never wait for the
//! writer.

use std::cell::RefCell;

use rusqlite::Connection;
use thread_local::ThreadLocal;

use super::connection::{Database, LockWait, is_busy, wait_for_locks};

/// One reading connection per thread, opened on first use.
pub(super) struct Readers {
    database: Database,
    connections: ThreadLocal<RefCell<Option<Reader>>>,
}

/// A thread's connection and the lock wait it is set to (a worker thread never waits; the
/// blocking pool's threads do), so the setting is changed only when it differs.
struct Reader {
    conn: Connection,
    wait: LockWait,
}

impl Readers {
    pub(super) fn new(database: Database) -> Self {
        Readers {
            database,
            connections: ThreadLocal::new(),
        }
    }

    /// Runs `read` on this thread's connection, meeting a lock as `wait` says. A connection
    /// that failed for any other reason than a lock is closed, and the next read opens a new
    /// one (the file may have been replaced or made readable again meanwhile).
    pub(super) fn read<T>(
        &self,
        wait: LockWait,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let cell = self.connections.get_or(|| RefCell::new(None));
        let mut slot = cell.borrow_mut();
        let reader = match &mut *slot {
            Some(reader) => reader,
            empty => {
                let conn = self.database.open(wait)?;
                empty.insert(Reader { conn, wait })
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
}
