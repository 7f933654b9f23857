//! Each thread's own connection for reading. A session load is a primary-key lookup that SQLite
//! answers from its page cache in microseconds, less than handing it to another thread would
//! cost, so reads run on the thread that asks; in write-ahead-log mode they never wait for the
//! writer.

use std::cell::RefCell;

use rusqlite::Connection;
use thread_local::ThreadLocal;

use super::connection::{Database, LockWait, is_busy, wait_for_locks};
use super::file_check::OpenedFile;

/// One reading connection per thread, opened on first use.
pub(super) struct Readers {
    database: Database,
    /// The database file as the store opened it: no connection is opened on another.
    opened: Option<OpenedFile>,
    connections: ThreadLocal<RefCell<Option<Reader>>>,
}

/// A thread's connection and the lock wait it is set to (a worker thread never waits; the
/// blocking pool's threads do), so the setting is changed only when it differs.
struct Reader {
    conn: Connection,
    wait: LockWait,
}

impl Readers {
    pub(super) fn new(database: Database, opened: Option<OpenedFile>) -> Self {
        Readers {
            database,
            opened,
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
                // A file moved in place of the one the writer has open would be read through
                // the old file's write-ahead log (SQLite finds the log by name): refused, the
                // error carrying why (rusqlite's one error that holds another as its source).
                if let Some(gone) = self.opened.as_ref().and_then(OpenedFile::gone) {
                    return Err(rusqlite::Error::ToSqlConversionFailure(Box::new(gone)));
                }
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
