//! Which database file the store's connections are on. The writer thread moves them all to
//! the file at the path when it finds another one there ([`super::moving`]); reading
//! connections learn of a move from a generation counter, one atomic load per read, and open
//! their next connection only through here, so that none is ever opened on another file than
//! the one the writer is on.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use rusqlite::Connection;

use super::connection::{Database, LockWait};
use super::file_check::{FileGone, OpenedFile};

/// The file at the store's path cannot be used: the refusal a start-up would give for it (not
/// a database, cannot be opened), or a move that cannot go on. Nothing is opened on it until
/// the writer, trying again at its next batch, opens the file that is there then.
#[derive(Debug, Clone)]
pub struct FileUnusable {
    message: String,
    cause: Arc<dyn std::error::Error + Send + Sync>,
}

impl std::fmt::Display for FileUnusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Its source is the cause itself (not the `Arc` around it), so that the kind of failure
/// found among the causes ([`crate::session::store::StoreError::cause_for_visitor`]) is seen.
impl std::error::Error for FileUnusable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.cause)
    }
}

impl FileUnusable {
    /// `message`, caused by `cause` (kept for the log and the visitor's page).
    pub(super) fn new(
        message: String,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        FileUnusable {
            message,
            cause: Arc::new(cause),
        }
    }
}

/// Whether connections may be opened, and on which file.
#[derive(Debug, Clone)]
enum State {
    /// On this file (`None`: the in-memory database), since this generation.
    On {
        opened: Option<OpenedFile>,
        generation: u64,
    },
    /// Every connection is being closed, for a move to the file at the path.
    Moving,
    /// The file at the path cannot be used.
    Refusing(FileUnusable),
}

/// The file every connection of the store is on, shared by its threads.
#[derive(Debug)]
pub(super) struct CurrentFile {
    /// Grows at every move: a connection opened at an older generation is closed.
    generation: AtomicU64,
    state: RwLock<State>,
}

impl CurrentFile {
    /// Connections on `opened` (`None`: the in-memory database).
    pub(super) fn new(opened: Option<OpenedFile>) -> Self {
        CurrentFile {
            generation: AtomicU64::new(0),
            state: RwLock::new(State::On {
                opened,
                generation: 0,
            }),
        }
    }

    /// The generation connections must have been opened at to be used.
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        // Every write of the state is one assignment: a panic cannot leave it half made.
        self.state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Opens a connection to the current file, waiting for locks as `wait` says; with the
    /// generation it belongs to. Refused during a move, while the file at the path cannot be
    /// used, and while the file at the path is not the one the writer is on (it would be read
    /// through the other file's write-ahead log, which SQLite finds by name): the error then
    /// carries why (rusqlite's one error that holds another as its source).
    pub(super) fn open(
        &self,
        database: &Database,
        wait: LockWait,
    ) -> rusqlite::Result<(Connection, u64)> {
        let state = self.read();
        let refused = |error: Box<dyn std::error::Error + Send + Sync>| {
            Err(rusqlite::Error::ToSqlConversionFailure(error))
        };
        match &*state {
            State::On { opened, generation } => {
                if let Some(gone) = opened.as_ref().and_then(OpenedFile::gone) {
                    return refused(Box::new(gone));
                }
                // Opened under the read lock: a move waits for it, then closes it.
                Ok((database.open(wait)?, *generation))
            }
            State::Moving => refused(Box::new(FileGone::new(
                "the server is moving to the database file now at its path".to_owned(),
            ))),
            State::Refusing(unusable) => refused(Box::new(unusable.clone())),
        }
    }

    /// Why the store cannot serve from its file: gone from the path, not writable, or
    /// unusable; `None` when it is fine. Not the writer's own check: `/healthz` asks.
    pub(super) fn problem(&self) -> Option<String> {
        match &*self.read() {
            State::On { opened, .. } => opened.as_ref().and_then(OpenedFile::problem),
            State::Moving => {
                Some("the server is moving to the database file now at its path".into())
            }
            State::Refusing(unusable) => Some(crate::error::chain_text(unusable)),
        }
    }

    /// Starts a move: no connection is opened until it ends, and every open one is of an
    /// older generation.
    pub(super) fn begin_move(&self) {
        let mut state = self.write();
        *state = State::Moving;
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Ends a move on `opened`: connections are opened on it, at this generation.
    pub(super) fn moved_to(&self, opened: OpenedFile) {
        let mut state = self.write();
        *state = State::On {
            opened: Some(opened),
            generation: self.generation(),
        };
    }

    /// Ends a move with nothing open: the file at the path cannot be used.
    pub(super) fn refuse(&self, unusable: FileUnusable) {
        *self.write() = State::Refusing(unusable);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_connection_is_opened_during_a_move_or_on_a_file_refused_and_a_move_changes_generation() {
        // Arrange
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.sqlite3");
        let database = Database::File(path.clone());
        drop(database.open_writer().unwrap());
        let current = CurrentFile::new(Some(OpenedFile::note(&path).unwrap()));
        let (_, first) = current.open(&database, LockWait::Never).unwrap();
        assert_eq!(first, current.generation());

        // Act and Assert: a move refuses opens, and ends on a new generation.
        current.begin_move();
        let moving = current.open(&database, LockWait::Never).unwrap_err();
        assert!(moving.to_string().contains("moving"), "{moving}");
        current.refuse(FileUnusable::new(
            "the file is not a database".into(),
            std::io::Error::other("bad header"),
        ));
        let refused = current.open(&database, LockWait::Never).unwrap_err();
        assert!(refused.to_string().contains("not a database"), "{refused}");
        assert_eq!(
            current.problem().as_deref(),
            Some("the file is not a database: bad header")
        );
        current.moved_to(OpenedFile::note(&path).unwrap());
        let (_, second) = current.open(&database, LockWait::Never).unwrap();
        assert_ne!(first, second);
        assert_eq!(second, current.generation());
        assert_eq!(current.problem(), None);
    }
}
