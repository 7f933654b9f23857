//! Moving every connection of the store to the database file at its path, as a restart would,
//! when the file there is no longer the one they have open (deleted, or another moved in its
//! place: an instructor restoring a backup).
//!
//! SQLite finds a database's write-ahead log and its index by the database's name, beside it;
//! the last connection to a file that was moved or deleted closes without copying the log back
//! or deleting it, and a connection opened on the new file would read the old file's log as its
//! own. So a move closes every connection first — each thread's reading one, the
//! checkpointer's, the writer's last, after it copied the log into the old file if that file is
//! kept elsewhere — and opens none meanwhile ([`CurrentFile::begin_move`]); it removes the old
//! file's log and index from beside the path (those it noted when it opened the file, or the
//! ones the process has open if SQLite made them anew since: never another's), then opens the new file through the steps of a start-up
//! (Django's table created if missing, `django_migrations`, the pragmas), or refuses it as a
//! start-up would. A refused file is tried again at each batch, so the store serves again once
//! a good file is put at the path. A restart does less: the old log is left beside the path,
//! and read into the file put there.
//!
//! The writer thread does it when a batch finds the file gone, before answering that batch
//! (refused: its writes were meant for the old file), so a write never goes to a file no one
//! can see, and a request that follows the refusal finds the store on the file at the path.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::Connection;

use super::checkpointer::{self, CheckpointConnection};
use super::connection::{Database, ensure_parent_dir};
use super::current_file::{CurrentFile, FileUnusable};
use super::file_check::{FileId, OpenedFile, id_of};
use super::readers::Readers;
use super::writer::WriteError;

/// Everything that keeps a connection to the database file, and the file the writer is on.
pub(super) struct Mover {
    path: PathBuf,
    current: Arc<CurrentFile>,
    readers: Arc<Readers>,
    checkpointer: CheckpointConnection,
    /// The file the writer's connection is on; `None` while the file at the path is refused.
    opened: Option<OpenedFile>,
    /// A move the last batch's check found due, done before its answers are sent.
    due: bool,
    /// What became of the file the store moved from, told once the move succeeds.
    left_behind: Option<LeftBehind>,
    /// The old file's log and index, still to remove from beside the path.
    stale_logs: Vec<(PathBuf, FileId)>,
}

impl Mover {
    /// For the writer on `opened`, with the other connections to close when it moves.
    pub(super) fn new(
        opened: OpenedFile,
        current: Arc<CurrentFile>,
        readers: Arc<Readers>,
        checkpointer: CheckpointConnection,
    ) -> Self {
        Mover {
            path: opened.path().to_owned(),
            current,
            readers,
            checkpointer,
            opened: Some(opened),
            due: false,
            left_behind: None,
            stale_logs: Vec::new(),
        }
    }

    /// Before a batch: whether its writes may go to the writer's connection `conn`. The file
    /// at the path is checked (one `stat`); gone, the batch is refused and a move is due after
    /// it. While the file at the path is refused, it is opened again first (moving `conn` to
    /// it), and the batch is refused only if it still cannot be used.
    pub(super) fn before_batch(&mut self, conn: &mut Option<Connection>) -> Result<(), WriteError> {
        match &self.opened {
            Some(opened) => match opened.gone() {
                Some(gone) => {
                    self.due = true;
                    Err(WriteError::Gone(gone))
                }
                None => Ok(()),
            },
            None => self.open_the_file_at_the_path(conn),
        }
    }

    /// After a batch, before its answers: the move its check found due, if any.
    pub(super) fn after_batch(&mut self, conn: &mut Option<Connection>) {
        if !std::mem::take(&mut self.due) {
            return;
        }
        let Some(old) = self.opened.take() else {
            return;
        };
        // Asked while the old file is still open.
        let held = open_files();
        let left_behind = LeftBehind::of(&old, conn.as_ref(), &held);
        self.stale_logs = stale_logs(&old, &held);
        self.current.begin_move();
        self.readers.close_all();
        self.checkpointer.close();
        if left_behind.now != WhereNow::Deleted
            && let Some(writer) = conn.as_ref()
            && let Err(error) = checkpointer::checkpoint(writer)
        {
            tracing::debug!(%error, "cannot copy the log back into the SQLite file moved from");
        }
        *conn = None;
        self.left_behind = Some(left_behind);
        // A refusal stays in `current`, for the requests; it is tried again at the next batch.
        let _ = self.open_the_file_at_the_path(conn);
    }

    /// Opens the file at the path as a start-up does, creating it when missing, and puts the
    /// store on it; every other connection is closed.
    fn open_the_file_at_the_path(
        &mut self,
        conn: &mut Option<Connection>,
    ) -> Result<(), WriteError> {
        match remove_stale_logs(&mut self.stale_logs).and_then(|()| open_as_at_start(&self.path)) {
            Ok((writer, opened)) => {
                *conn = Some(writer.conn);
                self.opened = Some(opened.clone());
                self.current.moved_to(opened);
                if let Some(left_behind) = self.left_behind.take() {
                    left_behind.log(&self.path, writer.created, writer.live);
                }
                Ok(())
            }
            Err(unusable) => {
                tracing::debug!(%unusable, "the SQLite database at the store's path is refused");
                self.current.refuse(unusable.clone());
                Err(WriteError::Unusable(unusable))
            }
        }
    }
}

/// The writer's new connection, whether it made the file, and its live sessions.
struct NewFile {
    conn: Connection,
    created: bool,
    live: Option<i64>,
}

/// What start-up does with the file at `path` (see [`super::DbStore::connect`]), once no
/// connection of the store is open: the writer's connection and the file it is on. A log
/// beside it is its own (the old file's is removed before), as at a start-up.
fn open_as_at_start(path: &Path) -> Result<(NewFile, OpenedFile), FileUnusable> {
    let shown = path.display();
    let created = path.symlink_metadata().is_err();
    let cannot = |what: &str| format!("cannot {what} the SQLite database {shown}");
    ensure_parent_dir(path)
        .map_err(|error| FileUnusable::new(cannot("make the directory of"), BoxedError(error)))?;
    let database = Database::File(path.to_owned());
    let conn = database
        .open_writer()
        .map_err(|error| FileUnusable::new(cannot("open"), error))?;
    let opened =
        OpenedFile::note(path).map_err(|error| FileUnusable::new(cannot("read"), error))?;
    let live = live_sessions(&conn);
    Ok((
        NewFile {
            conn,
            created,
            live,
        },
        opened,
    ))
}

/// An `anyhow::Error` as a standard error, its causes kept.
#[derive(Debug)]
struct BoxedError(anyhow::Error);

impl std::fmt::Display for BoxedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for BoxedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// How many sessions on `conn`'s file are live now, when it can tell.
fn live_sessions(conn: &Connection) -> Option<i64> {
    let now = super::sqlite_datetime(chrono::Utc::now());
    conn.query_row(
        "SELECT COUNT(*) FROM django_session WHERE expire_date > ?1",
        [now],
        |row| row.get(0),
    )
    .ok()
}

/// The file the store moved from: how it left the path, and what became of its sessions.
struct LeftBehind {
    deleted_from_the_path: bool,
    live: Option<i64>,
    now: WhereNow,
}

/// Where a file the process has open is now.
#[derive(Debug, PartialEq)]
enum WhereNow {
    /// Deleted: it goes when its last descriptor closes.
    Deleted,
    /// Under another name.
    At(PathBuf),
    /// Not known (not on Linux, or no descriptor of it found).
    Unknown,
}

impl LeftBehind {
    /// `old`, asked while its connections (`conn`, the writer's, among them) are open.
    fn of(old: &OpenedFile, conn: Option<&Connection>, held: &[(FileId, PathBuf)]) -> Self {
        LeftBehind {
            deleted_from_the_path: old.path().symlink_metadata().is_err(),
            live: conn.and_then(live_sessions),
            now: where_is(old, held),
        }
    }

    /// Tells, once, what the move did.
    fn log(self, path: &Path, created: bool, live_in_new: Option<i64>) {
        let shown = path.display();
        let how = if self.deleted_from_the_path {
            "deleted"
        } else {
            "replaced"
        };
        let new = if created {
            "a new, empty database there".to_owned()
        } else {
            format!("the file now there ({})", sessions(live_in_new))
        };
        let old = match &self.now {
            WhereNow::Deleted => format!(
                "the old file was deleted, and its {} with it",
                sessions(self.live)
            ),
            WhereNow::At(elsewhere) => format!(
                "the old file's {} stay in it, at {}",
                sessions(self.live),
                elsewhere.display()
            ),
            WhereNow::Unknown => format!(
                "the old file's {} are no longer served",
                sessions(self.live)
            ),
        };
        tracing::warn!(
            "the SQLite database file {shown} was {how} while the server ran: it now serves {new}; {old}"
        );
    }
}

/// "3 live sessions", or "live sessions" when the count is not known.
fn sessions(live: Option<i64>) -> String {
    match live {
        Some(1) => "1 live session".to_owned(),
        Some(n) => format!("{n} live sessions"),
        None => "live sessions".to_owned(),
    }
}

/// The files this process has open, each with the name it has now (Linux's `/proc/self/fd`,
/// whose links name a file where it is now, or as deleted); none elsewhere. Each descriptor is
/// looked at with `stat` and `readlink`, never opened: closing a descriptor of a SQLite file
/// would drop the process's locks on it.
fn open_files() -> Vec<(FileId, PathBuf)> {
    let Ok(descriptors) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    descriptors
        .flatten()
        .filter_map(|descriptor| {
            let link = descriptor.path();
            let meta = std::fs::metadata(&link)
                .ok()
                .filter(|meta| meta.is_file())?;
            Some((id_of(&meta), std::fs::read_link(&link).ok()?))
        })
        .collect()
}

/// Where `file` is now, from the files the process has open (`held`).
fn where_is(file: &OpenedFile, held: &[(FileId, PathBuf)]) -> WhereNow {
    let Some((_, target)) = held.iter().find(|(id, _)| *id == file.id()) else {
        return WhereNow::Unknown;
    };
    match target.to_str().and_then(|t| t.strip_suffix(" (deleted)")) {
        Some(_) => WhereNow::Deleted,
        None => WhereNow::At(target.clone()),
    }
}

/// The old file's write-ahead log and index beside the path: each file at those names that is
/// the one noted when the old file was opened; or, when the process no longer has that one
/// open (SQLite made the log anew after every connection had closed), one the process has open
/// (`held`). Another (a log copied there with the new file) is left alone, and so is the log
/// of a file another store of this process moved to first while this one still has the
/// noted log open.
fn stale_logs(old: &OpenedFile, held: &[(FileId, PathBuf)]) -> Vec<(PathBuf, FileId)> {
    let is_held = |file: FileId| held.iter().any(|(id, _)| *id == file);
    old.logs()
        .into_iter()
        .filter_map(|(path, noted)| {
            let now = id_of(&std::fs::metadata(path).ok()?);
            let ours = noted == Some(now) || (!noted.is_some_and(is_held) && is_held(now));
            ours.then(|| (path.to_owned(), now))
        })
        .collect()
}

/// Removes each of `logs` that is still at its path, keeping those it could not remove (to try
/// again); the first failure is the refusal, since the new file would be read with them.
fn remove_stale_logs(logs: &mut Vec<(PathBuf, FileId)>) -> Result<(), FileUnusable> {
    let mut failure = None;
    logs.retain(|(path, id)| {
        let still_there = std::fs::metadata(path).is_ok_and(|meta| id_of(&meta) == *id);
        if !still_there {
            return false;
        }
        match std::fs::remove_file(path) {
            Ok(()) => false,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => false,
            Err(error) => {
                let message = format!(
                    "cannot remove {}, the write-ahead log of the database file the server moved from (the file now at the path would be read with it)",
                    path.display()
                );
                failure.get_or_insert(FileUnusable::new(message, error));
                true
            }
        }
    });
    failure.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_held_open_is_found_where_it_was_moved_or_as_deleted() {
        // Arrange: a file held open, as SQLite holds the database.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.sqlite3");
        std::fs::write(&path, b"x").unwrap();
        let _held = std::fs::File::open(&path).unwrap();
        let opened = OpenedFile::note(&path).unwrap();
        assert_eq!(where_is(&opened, &open_files()), WhereNow::At(path.clone()));

        // Act and Assert
        let aside = dir.path().join("sessions.old");
        std::fs::rename(&path, &aside).unwrap();
        assert_eq!(
            where_is(&opened, &open_files()),
            WhereNow::At(aside.clone())
        );
        std::fs::remove_file(&aside).unwrap();
        assert_eq!(where_is(&opened, &open_files()), WhereNow::Deleted);
    }

    #[test]
    fn a_file_not_held_open_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.sqlite3");
        std::fs::write(&path, b"x").unwrap();
        let opened = OpenedFile::note(&path).unwrap();
        assert_eq!(where_is(&opened, &open_files()), WhereNow::Unknown);
    }

    #[test]
    fn only_the_old_files_own_log_and_index_are_removed() {
        // Arrange: a file with its log and index, then another file and log moved in.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.sqlite3");
        let (wal, shm) = (
            dir.path().join("sessions.sqlite3-wal"),
            dir.path().join("sessions.sqlite3-shm"),
        );
        for file in [&path, &wal, &shm] {
            std::fs::write(file, b"old").unwrap();
        }
        let old = OpenedFile::note(&path).unwrap();
        let new_wal = dir.path().join("new-wal");
        std::fs::write(&new_wal, b"new").unwrap();
        std::fs::rename(&new_wal, &wal).unwrap();

        // Act
        let mut stale = stale_logs(&old, &[]);
        remove_stale_logs(&mut stale).unwrap();

        // Assert: the old index is gone, the log that came with the new file stays.
        assert!(stale.is_empty());
        assert!(!shm.exists());
        assert_eq!(std::fs::read(&wal).unwrap(), b"new");
    }

    #[test]
    fn a_log_made_anew_is_the_old_files_if_held_but_not_while_the_noted_one_is_held() {
        // Arrange: a file whose log was made anew since it was noted, and is held open.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.sqlite3");
        let wal = dir.path().join("sessions.sqlite3-wal");
        std::fs::write(&path, b"old").unwrap();
        std::fs::write(&wal, b"noted").unwrap();
        let old = OpenedFile::note(&path).unwrap();
        let noted = std::fs::File::open(&wal).unwrap();
        let anew = dir.path().join("anew");
        std::fs::write(&anew, b"anew").unwrap();
        std::fs::rename(&anew, &wal).unwrap();
        let _anew = std::fs::File::open(&wal).unwrap();

        // Act and Assert: while the noted log is held (by another store), the one at the name
        // is that store's; once it is not, the held one is the old file's.
        assert!(stale_logs(&old, &open_files()).is_empty());
        drop(noted);
        let stale = stale_logs(&old, &open_files());
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].0, wal);
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused_as_at_start_and_a_missing_one_is_made() {
        // Arrange
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.sqlite3");
        std::fs::write(&path, vec![b'x'; 4096]).unwrap();

        // Act
        let refused = open_as_at_start(&path).err().unwrap();

        // Assert: the cause is SQLite's own (told to a visitor as such).
        let cause = std::error::Error::source(&refused).unwrap();
        let sqlite = cause
            .downcast_ref::<rusqlite::Error>()
            .and_then(rusqlite::Error::sqlite_error_code);
        assert_eq!(sqlite, Some(rusqlite::ErrorCode::NotADatabase), "{cause}");
        assert!(refused.to_string().contains("cannot open"), "{refused}");

        std::fs::remove_file(&path).unwrap();
        let (new, _) = open_as_at_start(&path).unwrap();
        assert!(new.created);
        assert_eq!(new.live, Some(0));
    }
}
