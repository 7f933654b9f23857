//! Whether the database file the server opened is still the one at its path, and writable:
//! SQLite goes on writing to a file deleted or replaced under it (the sessions are lost at the
//! next start), and a file made read-only fails every write. `/healthz` asks, so a container's
//! health check sees what the requests see; the writer asks before each batch (and moves every
//! connection to the file at the path when it finds another, see [`super::moving`]), and a new
//! connection before it opens the file, so that neither writes what would be lost nor reads
//! another file through the old one's write-ahead log.
//!
//! It looks without opening the file: closing any descriptor of a SQLite file drops the
//! process's POSIX locks on it, SQLite's included.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::fs::{Access, access};

/// The database file at the store's path is not the one its connections have open (it was
/// deleted, or another file was moved in its place): what they would write is lost, and a
/// connection opened on the new file would share the old one's write-ahead log, which SQLite
/// finds by name.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct FileGone(String);

impl FileGone {
    /// The refusal, saying why in `message`.
    pub(super) fn new(message: String) -> Self {
        FileGone(message)
    }
}

/// A file's identity, wherever it is: its device and inode.
pub type FileId = (u64, u64);

/// The identity of the file `meta` describes.
pub fn id_of(meta: &std::fs::Metadata) -> FileId {
    (meta.dev(), meta.ino())
}

/// The database file as it was opened.
#[derive(Debug, Clone)]
pub struct OpenedFile {
    path: PathBuf,
    /// Its write-ahead log, beside it.
    wal: PathBuf,
    /// The log's index, beside it.
    shm: PathBuf,
    device: u64,
    inode: u64,
    /// The log and its index as they were when the file was noted (`None`: not there).
    logs_noted: [Option<FileId>; 2],
}

impl OpenedFile {
    /// Notes which file is at `path` now (just after SQLite opened it).
    pub fn note(path: &Path) -> io::Result<Self> {
        let meta = std::fs::metadata(path)?;
        let beside = |suffix: &str| {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        };
        let (wal, shm) = (beside("-wal"), beside("-shm"));
        let id = |file: &Path| std::fs::metadata(file).ok().map(|meta| id_of(&meta));
        Ok(OpenedFile {
            logs_noted: [id(&wal), id(&shm)],
            path: path.to_owned(),
            wal,
            shm,
            device: meta.dev(),
            inode: meta.ino(),
        })
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its identity.
    pub fn id(&self) -> FileId {
        (self.device, self.inode)
    }

    /// Its write-ahead log and the log's index, each with the identity it had when the file
    /// was noted (`None`: not there then).
    pub fn logs(&self) -> [(&Path, Option<FileId>); 2] {
        [
            (&self.wal, self.logs_noted[0]),
            (&self.shm, self.logs_noted[1]),
        ]
    }

    /// Whether the file at the path is no longer the one the server opened: deleted, or
    /// another file moved in its place. One `stat`.
    pub fn gone(&self) -> Option<FileGone> {
        let path = self.path.display();
        match std::fs::metadata(&self.path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Some(FileGone(format!(
                "the database file {path} was deleted while the server runs: SQLite would write to the deleted file, lost at the next start, so writes are refused; the server starts a new, empty database there, as a restart would"
            ))),
            Ok(meta) if (meta.dev(), meta.ino()) != (self.device, self.inode) => {
                Some(FileGone(format!(
                    "the database file {path} was replaced while the server runs: writes to the old file would be lost, so they are refused; the server moves to the new one"
                )))
            }
            // Any other failure (a directory without permissions) is SQLite's to report.
            _ => None,
        }
    }

    /// Why the file at the path is no longer the one the server writes to, or cannot be
    /// written; `None` when it is fine.
    pub fn problem(&self) -> Option<String> {
        if let Some(gone) = self.gone() {
            return Some(gone.to_string());
        }
        if let Err(e) = std::fs::metadata(&self.path) {
            return Some(format!(
                "the database file {} cannot be read: {e}",
                self.path.display()
            ));
        }
        for file in [&self.path, &self.wal] {
            match access(file, Access::WRITE_OK) {
                Ok(()) => {}
                Err(e) if e == rustix::io::Errno::NOENT && file == &self.wal => {}
                Err(e) => {
                    return Some(format!(
                        "the database file {} cannot be written: {}",
                        file.display(),
                        io::Error::from(e)
                    ));
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_deleted_or_replaced_after_it_was_opened_is_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.sqlite3");
        std::fs::write(&path, b"x").unwrap();
        // Held open, as SQLite holds it: its inode cannot go to a new file meanwhile.
        let _held = std::fs::File::open(&path).unwrap();
        let opened = OpenedFile::note(&path).unwrap();
        assert_eq!(opened.problem(), None);

        std::fs::remove_file(&path).unwrap();
        let deleted = opened.problem().unwrap();
        assert!(
            deleted.contains("was deleted while the server runs"),
            "{deleted}"
        );

        std::fs::write(&path, b"y").unwrap();
        let replaced = opened.problem().unwrap();
        assert!(replaced.contains("was replaced"), "{replaced}");
    }

    #[test]
    fn a_file_that_cannot_be_written_is_a_problem() {
        // Made immutable (`chattr +i`), which even root cannot write: what the review that
        // found this did to the database and its log.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.sqlite3");
        std::fs::write(&path, b"x").unwrap();
        let opened = OpenedFile::note(&path).unwrap();
        let chattr = |flag: &str| {
            std::process::Command::new("chattr")
                .arg(flag)
                .arg(&path)
                .status()
                .is_ok_and(|status| status.success())
        };
        assert!(
            chattr("+i"),
            "chattr +i needs root and a file system with the flag (ext4)"
        );
        let problem = opened.problem();
        assert!(chattr("-i"));
        assert!(
            problem
                .as_deref()
                .is_some_and(|p| p.contains("cannot be written")),
            "{problem:?}"
        );
        assert_eq!(opened.problem(), None, "writable again");
    }
}
