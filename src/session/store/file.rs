//! The `file` engine: one file per session, named `<SESSION_COOKIE_NAME><key>` and holding
//! `session_data` exactly as Django's file backend writes it, so students can `ls` and `cat`
//! their sessions.
//!
//! How it differs from Django's `backends/file.py`, and why:
//! - **Expiry lives in the file's mtime.** Django keeps the last write time there and derives
//!   the expiry from `_session_expiry` or `mtime + SESSION_COOKIE_AGE`, so an integer
//!   `set_expiry(600)` never expires server-side (trap 9 of the reference). Here the mtime *is*
//!   `expire_date`, set on the temp file before it is moved into place, so a session stops
//!   loading exactly at `expire_date`, as with the `db` engine. The file contents are
//!   Django's; the mtimes are not, so do not share a directory with a Django process (its
//!   `clearsessions` would keep our files too long and ours would delete all of its files).
//! - **Creating never leaves an empty placeholder.** Django opens the target with `O_EXCL`
//!   (an empty file, briefly visible) and then moves a temp file over it; here the complete
//!   file is linked to the target name, which fails if the key is taken. On Linux the file is
//!   written unnamed (`O_TMPFILE`, [`super::unnamed_file`]), so that the link is the only change
//!   to the directory; elsewhere it is a named temp file, removed once linked.
//! - **Writes are atomic, not durable.** A reader sees the old file or the new one, never a
//!   torn one (rename and link are atomic within a directory). Like Django, nothing is
//!   fsynced: after a power cut, recent sessions may be lost or empty. The directory must be on
//!   a file system with hard links (any local Unix one).
//! - **An update never brings a deleted session back.** Django checks that the file exists,
//!   then renames the new one over it, so a `delete` by another request between the two (a
//!   logout, say) is undone. Here, on Linux, the new file and the session's swap names in one
//!   step (`renameat2` with `RENAME_EXCHANGE`), which fails if the session is gone. Elsewhere,
//!   or on a file system that cannot swap, it is Django's check and rename.
//! - **Removing an expired session never removes a save made since.** Django's `clear_expired`
//!   and `load` judge a file expired, then delete its name, and so delete a file a save put
//!   there in between. Here the file is moved aside, judged again, and put back if it is live
//!   (`FileStore::remove_expired`).
//!
//! `load`, `exists`, `save` and `delete` call `std::fs` directly on the async thread: session
//! files are tiny and page-cached, and a hop to the blocking pool per request would cost more
//! than the system call. Only the directory walks (`clear_expired`, `count_live`) run in
//! `spawn_blocking`.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use chrono::{DateTime, Utc};

#[cfg(target_os = "linux")]
use super::unnamed_file;
use super::{Loaded, SaveError, SaveMode, SessionCodec, SessionRecord, Store, StoreError};
use crate::session::key::{is_storable_session_key, new_session_key};

const ENGINE: &str = "file";

/// What follows the prefix in temp file names (Django's `mkstemp(prefix=<name> + "_out_")`).
/// A session key never contains `_`, so temp files never look like sessions.
const TEMP_MARKER: &str = "_out_";

/// Temp files untouched for this long belong to a write that crashed; `clear_expired` removes
/// them. Generous, so that no write in flight is ever swept away.
const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

/// Sessions as files in one directory, named `<prefix><key>`; each file's mtime is the
/// session's `expire_date`. Django's `django.contrib.sessions.backends.file`.
#[derive(Clone)]
pub struct FileStore {
    dir: PathBuf,
    prefix: String,
    /// [`Store::identity`]: the directory and the prefix of the store's files.
    identity: Arc<str>,
    codec: SessionCodec,
    stale_temp_age: Duration,
    creation: Creation,
}

/// How a new session file is written before it takes the session's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Creation {
    /// Unnamed, then linked as the directory allows (Linux).
    #[cfg(target_os = "linux")]
    Unnamed(unnamed_file::Link),
    /// As a named temp file, hard-linked, then its temp name removed.
    NamedTemp,
}

impl FileStore {
    /// Opens the session directory `dir` (`SESSION_FILE_PATH`; the config key `file_path`).
    /// `prefix` is the session cookie's name, as in Django. Refuses a directory that is
    /// missing, not a directory or not writable (Django's `ImproperlyConfigured`), and a
    /// prefix that could leave the directory.
    pub fn open(dir: &Path, prefix: &str, codec: SessionCodec) -> anyhow::Result<Self> {
        if prefix.is_empty()
            || prefix == "."
            || prefix == ".."
            || prefix.contains(['/', '\\', '\0'])
        {
            anyhow::bail!(
                "the session file prefix (the session cookie name) {prefix:?} cannot start a \
                 file name: it must be non-empty and contain no `/`, `\\` or NUL"
            );
        }
        let meta = match std::fs::metadata(dir) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => anyhow::bail!(
                "session file directory {} does not exist (set `file_path` to an existing \
                 directory)",
                dir.display()
            ),
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "cannot inspect the session file directory {} (check `file_path`)",
                        dir.display()
                    )
                });
            }
        };
        if !meta.is_dir() {
            anyhow::bail!(
                "session file directory {} is not a directory (set `file_path` to a directory)",
                dir.display()
            );
        }
        let mut store = FileStore {
            dir: dir.to_owned(),
            prefix: prefix.to_owned(),
            identity: format!("{ENGINE} at {}", dir.join(format!("{prefix}*")).display()).into(),
            codec,
            stale_temp_age: STALE_TEMP_AGE,
            creation: Creation::NamedTemp,
        };
        // Probe with a real file: permission bits alone miss read-only mounts and ACLs. An
        // unnamed file that could be linked proves the directory writable; otherwise a named
        // temp file must be, and its error says why not.
        let probe = store.temp_path().map_err(anyhow::Error::new)?;
        #[cfg(target_os = "linux")]
        if let Some(link) = unnamed_file::probe(dir, &probe) {
            store.creation = Creation::Unnamed(link);
        }
        if store.creation == Creation::NamedTemp {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&probe)
                .with_context(|| {
                    format!(
                        "session file directory {} is not writable (set `file_path` to a \
                         directory this process can write)",
                        dir.display()
                    )
                })?;
            std::fs::remove_file(&probe)
                .with_context(|| format!("cannot remove the probe file {}", probe.display()))?;
        }
        tracing::debug!(dir = %dir.display(), creation = ?store.creation, "how new session files are written");
        Ok(store)
    }

    /// The directory holding the session files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the session directory is still there. A session file that is not found is a
    /// missing session only while its directory exists: without it, every session would read
    /// as gone (and every cookie be deleted) when the store is in fact unavailable.
    fn check_dir(&self) -> Result<(), StoreError> {
        match std::fs::metadata(&self.dir) {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(StoreError::new(
                ENGINE,
                anyhow::anyhow!("{} is no longer a directory", self.dir.display()),
            )),
            Err(e) => Err(io_failure(e, "inspect the session directory", &self.dir)),
        }
    }

    /// How many sessions are stored and not expired at `now` (files whose mtime is after it).
    pub async fn count_live(&self, now: DateTime<Utc>) -> Result<i64, StoreError> {
        let store = self.clone();
        blocking(move || {
            let mut live = 0;
            store.scan(|entry| {
                if let Entry::Session { expire_date, .. } = entry
                    && expire_date > now
                {
                    live += 1;
                }
                Ok(())
            })?;
            Ok(live)
        })
        .await
    }

    /// Django's `_key_to_file`: the file of `key`, or `None` when the key must never reach the
    /// file system.
    fn path_for(&self, key: &str) -> Option<PathBuf> {
        is_storable_session_key(key).then(|| self.dir.join(format!("{}{key}", self.prefix)))
    }

    /// A new temp file name in the session directory: `<prefix>_out_` and 32 random characters.
    fn temp_path(&self) -> Result<PathBuf, StoreError> {
        let suffix = new_session_key().map_err(|e| {
            StoreError::new(
                ENGINE,
                anyhow::Error::msg(e.to_string()).context("no randomness for a temp file name"),
            )
        })?;
        Ok(self
            .dir
            .join(format!("{}{TEMP_MARKER}{suffix}", self.prefix)))
    }

    /// Writes `content` to a new temp file whose mtime is `expire_date`.
    fn write_temp(
        &self,
        content: &str,
        expire_date: DateTime<Utc>,
    ) -> Result<TempFile, StoreError> {
        let path = self.temp_path()?;
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            // As `mkstemp`: session data is signed, not encrypted, so others may not read it.
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(&path)
            .map_err(|e| io_failure(e, "create the temp file", &path))?;
        let temp = TempFile { path, armed: true };
        fill(&mut file, content, expire_date)
            .map_err(|e| io_failure(e, "write the temp file", &temp.path))?;
        Ok(temp)
    }

    /// Creates the file of a new session at `target` with `content` and `expire_date` as its
    /// mtime; [`SaveError::KeyExists`] if the key is taken.
    fn create(
        &self,
        content: &str,
        expire_date: DateTime<Utc>,
        target: &Path,
    ) -> Result<(), SaveError> {
        let linked = match self.creation {
            #[cfg(target_os = "linux")]
            Creation::Unnamed(link) => unnamed_file::create(&self.dir, target, link, |file| {
                fill(file, content, expire_date)
            }),
            // The temp name is removed by `temp`'s drop, whether the link was made or not.
            Creation::NamedTemp => {
                let temp = self.write_temp(content, expire_date)?;
                std::fs::hard_link(&temp.path, target)
            }
        };
        match linked {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(SaveError::KeyExists),
            Err(e) => Err(io_failure(e, "create the session file", target).into()),
        }
    }

    fn load_blocking(&self, key: &str, now: DateTime<Utc>) -> Result<Loaded, StoreError> {
        let Some(path) = self.path_for(key) else {
            return Ok(Loaded::Missing);
        };
        // One open file for both the mtime and the content: a concurrent rename swaps the
        // name, not what this handle reads.
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.check_dir()?;
                return Ok(Loaded::Missing);
            }
            Err(e) => return Err(io_failure(e, "open", &path)),
        };
        let (expire_date, length) = file
            .metadata()
            .and_then(|meta| Ok((DateTime::<Utc>::from(meta.modified()?), meta.len())))
            .map_err(|e| io_failure(e, "read the mtime of", &path))?;
        if expire_date <= now {
            // As Django's `load()`: an expired session file is deleted when read (and the
            // request's session starts afresh under a new key, `Loaded::Expired`).
            drop(file);
            self.remove_expired(&path, now)?;
            return Ok(Loaded::Expired);
        }
        // A session file is never written in place (a save links or renames a new file over
        // the name), so what this handle reads is as long as its metadata said: read to that
        // length, it takes one `read`, where `read_to_end` on the file would ask for the
        // metadata again, seek, and read once more to find the end (BENCHMARKS.md, change 35).
        let mut bytes = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
        file.take(length)
            .read_to_end(&mut bytes)
            .map_err(|e| io_failure(e, "read", &path))?;
        // Not UTF-8 means not ours: the codec rejects it, logs it and reads it as empty.
        Ok(Loaded::Live(SessionRecord {
            key: key.to_owned(),
            data: self.codec.decode(&String::from_utf8_lossy(&bytes), now),
            expire_date,
        }))
    }

    fn save_blocking(&self, record: &SessionRecord, mode: SaveMode) -> Result<(), SaveError> {
        let Some(target) = self.path_for(&record.key) else {
            return Err(StoreError::new(
                ENGINE,
                anyhow::anyhow!("refusing to store a session under a malformed key"),
            )
            .into());
        };
        if mode == SaveMode::Update && !present(&target)? {
            self.check_dir()?;
            return Err(SaveError::Missing);
        }
        // The signing timestamp is informational (Django never checks it for stored data).
        let content = self.codec.encode(&record.data, Utc::now());
        if mode == SaveMode::Create {
            return self.create(&content, record.expire_date, &target);
        }
        let temp = self.write_temp(&content, record.expire_date)?;
        #[cfg(target_os = "linux")]
        match exchange(&temp.path, &target) {
            // The temp name now holds the old session, which `temp`'s drop removes.
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.check_dir()?;
                return Err(SaveError::Missing);
            }
            Err(e) => return Err(io_failure(e, "replace the session file", &target).into()),
        }
        match std::fs::rename(&temp.path, &target) {
            Ok(()) => {
                temp.persisted();
                Ok(())
            }
            Err(e) => Err(io_failure(e, "replace the session file", &target).into()),
        }
    }

    /// Removes the session file at `path`, found expired at `now`, unless a save has put a
    /// live one under the name since. There is no "unlink if still this file", so the file is
    /// moved aside under a temp name (one step), and judged again there; a live one, saved
    /// after the first look, is put back. Removing by name deleted such a session after its
    /// save had been answered (Django's file engine does). Whether an expired file was removed.
    fn remove_expired(&self, path: &Path, now: DateTime<Utc>) -> Result<bool, StoreError> {
        // `aside`'s drop removes what was moved there, unless it is put back.
        let aside = TempFile {
            path: self.temp_path()?,
            armed: true,
        };
        match std::fs::rename(path, &aside.path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io_failure(e, "remove", path)),
        }
        let expire_date = std::fs::symlink_metadata(&aside.path)
            .and_then(|meta| meta.modified())
            .map(DateTime::<Utc>::from)
            .map_err(|e| io_failure(e, "read the mtime of", &aside.path))?;
        if expire_date <= now {
            return Ok(true);
        }
        // A save replaced the file after it was found expired. The name is free unless a new
        // session took the key meanwhile (it keeps it: it is newer).
        match std::fs::hard_link(&aside.path, path) {
            Ok(()) => Ok(false),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => {
                aside.persisted();
                Err(io_failure(e, "put back the session file", path))
            }
        }
    }

    /// Calls `visit` for every session file and temp file of this prefix in the directory.
    fn scan(
        &self,
        mut visit: impl FnMut(Entry) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let entries = std::fs::read_dir(&self.dir).map_err(|e| io_failure(e, "list", &self.dir))?;
        for entry in entries {
            let entry = entry.map_err(|e| io_failure(e, "list", &self.dir))?;
            let name = entry.file_name();
            let Some(rest) = name
                .to_str()
                .and_then(|n| n.strip_prefix(self.prefix.as_str()))
            else {
                continue;
            };
            let is_session = is_storable_session_key(rest);
            if !is_session && !rest.starts_with(TEMP_MARKER) {
                continue;
            }
            let path = entry.path();
            let meta = match entry.metadata() {
                Ok(meta) if meta.is_file() => meta,
                Ok(_) => continue,
                // Deleted since it was listed.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_failure(e, "inspect", &path)),
            };
            if is_session {
                let expire_date = meta
                    .modified()
                    .map(DateTime::<Utc>::from)
                    .map_err(|e| io_failure(e, "read the mtime of", &path))?;
                visit(Entry::Session { path, expire_date })?;
            } else {
                let last_touched =
                    last_touched(&meta).map_err(|e| io_failure(e, "read the times of", &path))?;
                visit(Entry::Temp { path, last_touched })?;
            }
        }
        Ok(())
    }

    fn clear_expired_blocking(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        // Temp files age by the wall clock: they belong to writes in progress, whatever
        // session time the caller passes as `now`.
        let wall_clock = SystemTime::now();
        let mut removed = 0;
        self.scan(|entry| match entry {
            Entry::Session { path, expire_date } if expire_date <= now => {
                if self.remove_expired(&path, now)? {
                    removed += 1;
                }
                Ok(())
            }
            Entry::Temp { path, last_touched }
                if wall_clock
                    .duration_since(last_touched)
                    .is_ok_and(|age| age > self.stale_temp_age) =>
            {
                remove_if_present(&path).map(|_| ())
            }
            _ => Ok(()),
        })?;
        Ok(removed)
    }
}

/// One file of this store, as found by a directory walk.
enum Entry {
    /// `<prefix><key>`, expiring at its mtime.
    Session {
        path: PathBuf,
        expire_date: DateTime<Utc>,
    },
    /// `<prefix>_out_…`, a write in progress or left behind by a crash.
    Temp {
        path: PathBuf,
        last_touched: SystemTime,
    },
}

/// A temp file that is removed when dropped, unless it was renamed into place.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    /// The file now has another name: nothing is left to remove.
    fn persisted(mut self) {
        self.armed = false;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Err(error) = std::fs::remove_file(&self.path)
            && error.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(
                path = %self.path.display(),
                %error,
                "cannot remove a session temp file; clear_expired will remove it later"
            );
        }
    }
}

/// Writes `content`, then sets the mtime to `expire_date` (after the last write, which would
/// reset it).
fn fill(file: &mut File, content: &str, expire_date: DateTime<Utc>) -> io::Result<()> {
    file.write_all(content.as_bytes())?;
    file.set_modified(SystemTime::from(expire_date))
}

/// When the file was last changed in any way. On Unix that is the ctime, which every write,
/// link and `utimes` updates and nobody can set back, so a temp file whose mtime was already
/// set to a far-away `expire_date` still ages from its creation.
fn last_touched(meta: &std::fs::Metadata) -> io::Result<SystemTime> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let ctime = u64::try_from(meta.ctime())
            .map(|secs| {
                SystemTime::UNIX_EPOCH
                    + Duration::new(secs, u32::try_from(meta.ctime_nsec()).unwrap_or(0))
            })
            .unwrap_or(SystemTime::UNIX_EPOCH);
        Ok(ctime)
    }
    #[cfg(not(unix))]
    {
        meta.modified()
    }
}

/// Whether `path` exists (without following a symlink).
fn present(path: &Path) -> Result<bool, StoreError> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_failure(e, "inspect", path)),
    }
}

/// Swaps the files named `a` and `b` in one step (`renameat2` with `RENAME_EXCHANGE`), so that
/// `b` is replaced only if it is there: `NotFound` if either is missing, `false` on a file
/// system that cannot swap (some network and layered ones).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<bool> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    use rustix::io::Errno;
    match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP | Errno::XDEV) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Removes `path`; returns whether it was there.
fn remove_if_present(path: &Path) -> Result<bool, StoreError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_failure(e, "remove", path)),
    }
}

fn io_failure(error: io::Error, doing: &str, path: &Path) -> StoreError {
    StoreError::new(
        ENGINE,
        anyhow::Error::new(error).context(format!("cannot {doing} {}", path.display())),
    )
}

/// Runs a directory walk on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        StoreError::new(
            ENGINE,
            anyhow::Error::new(e).context("a directory walk failed"),
        )
    })?
}

impl Store for FileStore {
    fn describe(&self) -> &'static str {
        ENGINE
    }

    fn identity(&self) -> &str {
        &self.identity
    }

    async fn load(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.load_blocking(key, now).map(Loaded::into_record)
    }

    async fn load_for_request(&self, key: &str, now: DateTime<Utc>) -> Result<Loaded, StoreError> {
        self.load_blocking(key, now)
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        match self.path_for(key) {
            Some(path) => {
                let found = present(&path)?;
                if !found {
                    self.check_dir()?;
                }
                Ok(found)
            }
            None => Ok(false),
        }
    }

    async fn save(&self, record: &SessionRecord, mode: SaveMode) -> Result<(), SaveError> {
        self.save_blocking(record, mode)
    }

    /// The file's mtime is its expiry: only the mtime changes. A save that moves a new file
    /// over the name meanwhile keeps its own, since this changes the file opened here.
    async fn set_expire_date(
        &self,
        key: &str,
        expire_date: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let Some(path) = self.path_for(key) else {
            return Ok(false);
        };
        // Opened for writing (a file's times are set through a handle that may write), never
        // written to.
        let file = match OpenOptions::new().write(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.check_dir()?;
                return Ok(false);
            }
            Err(e) => return Err(io_failure(e, "open", &path)),
        };
        let expires = file
            .metadata()
            .and_then(|meta| meta.modified())
            .map_err(|e| io_failure(e, "read the mtime of", &path))?;
        if DateTime::<Utc>::from(expires) <= now {
            return Ok(false);
        }
        file.set_modified(SystemTime::from(expire_date))
            .map_err(|e| io_failure(e, "set the mtime of", &path))?;
        Ok(true)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.path_for(key) {
            Some(path) => {
                if !remove_if_present(&path)? {
                    self.check_dir()?;
                }
                Ok(())
            }
            None => Ok(()),
        }
    }

    async fn clear_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let store = self.clone();
        blocking(move || store.clear_expired_blocking(now)).await
    }

    /// The directory is there and, on Linux, may be written: a read-only mount or a
    /// permission taken away fails every new or changed session while reads still work, and
    /// a health check should see it.
    async fn ping(&self) -> Result<(), StoreError> {
        self.check_dir()?;
        #[cfg(target_os = "linux")]
        rustix::fs::access(&self.dir, rustix::fs::Access::WRITE_OK)
            .map_err(|e| io_failure(e.into(), "write in the session directory", &self.dir))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::store::acceptance::{acceptance_suite, suite_now};
    use chrono::TimeDelta;
    use serde_json::{Value, json};
    use std::collections::BTreeSet;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    const SECRET: &str = "file-store-test-secret";
    const PREFIX: &str = "sessionid";

    fn codec() -> SessionCodec {
        SessionCodec::new(SECRET, &[])
    }

    fn store_in(dir: &Path, prefix: &str) -> FileStore {
        FileStore::open(dir, prefix, codec()).unwrap()
    }

    fn fresh_key() -> String {
        new_session_key().unwrap()
    }

    fn record(key: &str, pairs: &[(&str, Value)], expire_date: DateTime<Utc>) -> SessionRecord {
        SessionRecord {
            key: key.to_owned(),
            data: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            expire_date,
        }
    }

    #[test]
    fn an_update_racing_a_delete_never_brings_the_session_back() {
        // Arrange
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path(), PREFIX);
        let expire_date = Utc::now() + TimeDelta::hours(1);
        let mut brought_back = 0;
        for round in 0..300_u64 {
            let key = fresh_key();
            let session = record(&key, &[("n", json!(1))], expire_date);
            store.save_blocking(&session, SaveMode::Create).unwrap();
            let path = store.path_for(&key).unwrap();
            let start = std::sync::Barrier::new(2);

            // Act: another request deletes the session while this one saves a change to it.
            std::thread::scope(|threads| {
                threads.spawn(|| {
                    start.wait();
                    // At another moment of the update each round (a spin: sleeps are too
                    // coarse).
                    let delay = std::time::Duration::from_micros(round % 100);
                    let started = std::time::Instant::now();
                    while started.elapsed() < delay {
                        std::hint::spin_loop();
                    }
                    remove_if_present(&path).unwrap();
                });
                start.wait();
                match store.save_blocking(&session, SaveMode::Update) {
                    Ok(()) | Err(SaveError::Missing) => {}
                    Err(error) => panic!("{error}"),
                }
            });

            // Assert: deleted after the update, or the update found it deleted; never both
            // the update's file and the delete's success.
            if path.exists() {
                brought_back += 1;
                remove_if_present(&path).unwrap();
            }
        }
        assert_eq!(brought_back, 0, "sessions brought back after their delete");
        assert!(
            names_in(dir.path()).is_empty(),
            "no temp file is left behind"
        );
    }

    #[test]
    fn a_session_saved_after_it_was_found_expired_is_not_removed() {
        // Arrange: a session found expired (by `clear_expired`'s walk, or a request's load),
        // then given a new expiry by a save before the file is removed.
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path(), PREFIX);
        let now = Utc::now();
        let key = fresh_key();
        let expired = record(&key, &[("n", json!(1))], now - TimeDelta::seconds(1));
        store.save_blocking(&expired, SaveMode::Create).unwrap();
        let path = store.path_for(&key).unwrap();
        let mut found = Vec::new();
        store
            .scan(|entry| {
                if let Entry::Session { path, expire_date } = entry {
                    found.push((path, expire_date));
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(found, [(path.clone(), expired.expire_date)]);
        let saved = record(&key, &[("n", json!(2))], now + TimeDelta::hours(1));
        store.save_blocking(&saved, SaveMode::Update).unwrap();

        // Act
        let removed = store.remove_expired(&path, now).unwrap();

        // Assert: the saved session is kept, and nothing else is left.
        assert!(!removed);
        let loaded = store.load_blocking(&key, now).unwrap().into_record();
        assert_eq!(loaded, Some(saved));
        assert_eq!(
            names_in(dir.path()),
            BTreeSet::from([format!("{PREFIX}{key}")])
        );

        // An expired one is removed, and leaves nothing behind.
        store.save_blocking(&expired, SaveMode::Update).unwrap();
        assert!(store.remove_expired(&path, now).unwrap());
        assert!(names_in(dir.path()).is_empty());
    }

    /// The names in `dir`, sorted.
    fn names_in(dir: &Path) -> BTreeSet<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    }

    /// Every path under `root`, relative to it.
    fn tree(root: &Path) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        let mut pending = vec![root.to_owned()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let relative = path.strip_prefix(root).unwrap().display().to_string();
                found.insert(relative);
                if path.is_dir() {
                    pending.push(path);
                }
            }
        }
        found
    }

    #[actix_web::test]
    async fn file_store_passes_the_acceptance_suite() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path(), PREFIX);
        #[cfg(target_os = "linux")]
        assert!(
            matches!(store.creation, Creation::Unnamed(_)),
            "a temp dir should have unnamed files: {:?}",
            store.creation
        );
        acceptance_suite(&store).await;
    }

    /// Where unnamed files are not available: the named temp file, linked, then removed.
    #[actix_web::test]
    async fn file_store_with_named_temp_files_passes_the_acceptance_suite() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore {
            creation: Creation::NamedTemp,
            ..store_in(dir.path(), PREFIX)
        };
        acceptance_suite(&store).await;
        let key = fresh_key();
        let later = suite_now() + TimeDelta::hours(1);
        store
            .save(&record(&key, &[("n", json!(1))], later), SaveMode::Create)
            .await
            .unwrap();
        let names = names_in(dir.path());
        assert!(names.contains(&format!("{PREFIX}{key}")));
        assert!(
            !names.iter().any(|name| name.contains(TEMP_MARKER)),
            "a temp name was left behind: {names:?}"
        );
    }

    #[actix_web::test]
    async fn malformed_keys_never_reach_the_file_system() {
        // Arrange: the store three levels down, a victim file outside it.
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("x/y/sessions");
        std::fs::create_dir_all(&dir).unwrap();
        let victim = root.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let store = store_in(&dir, PREFIX);
        let now = suite_now();
        let absolute = victim.display().to_string();
        let keys = [
            "../../etc/passwd",
            "..\\x",
            "..\\..\\..\\victim",
            "../../../victim",
            "/../../../victim",
            absolute.as_str(),
            "/etc/passwd",
            "abcdefgh/ijklmnop",
            "abc\0defghijk",
            "ABCDEFGHIJKL",
            "abcdefgh\n",
            "..........",
            "",
            "short",
        ];

        // Act
        for key in keys {
            let rec = record(key, &[("x", json!(1))], now + TimeDelta::hours(1));
            assert!(
                store.load(key, now).await.unwrap().is_none(),
                "{key:?} loads nothing"
            );
            assert!(!store.exists(key).await.unwrap(), "{key:?} does not exist");
            store.delete(key).await.unwrap();
            for mode in [SaveMode::Create, SaveMode::Update] {
                match store.save(&rec, mode).await {
                    Err(SaveError::Store(_)) => {}
                    other => panic!("saving under {key:?} must fail, got {other:?}"),
                }
            }
        }

        // Assert: nothing new anywhere, the victim untouched, the store dir empty.
        let expected: BTreeSet<String> = ["victim", "x", "x/y", "x/y/sessions"]
            .map(String::from)
            .into();
        assert_eq!(tree(root.path()), expected);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[actix_web::test]
    async fn saves_leave_no_temp_files_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path(), PREFIX);
        let now = suite_now();
        let key = fresh_key();
        let later = now + TimeDelta::hours(1);

        store
            .save(&record(&key, &[("n", json!(0))], later), SaveMode::Create)
            .await
            .unwrap();
        for n in 1..100 {
            store
                .save(&record(&key, &[("n", json!(n))], later), SaveMode::Update)
                .await
                .unwrap();
            let taken = store
                .save(&record(&key, &[("n", json!(-1))], later), SaveMode::Create)
                .await;
            assert!(matches!(taken, Err(SaveError::KeyExists)), "{taken:?}");
            let missing = store
                .save(
                    &record(&fresh_key(), &[("n", json!(-1))], later),
                    SaveMode::Update,
                )
                .await;
            assert!(matches!(missing, Err(SaveError::Missing)), "{missing:?}");
        }

        assert_eq!(
            names_in(dir.path()),
            BTreeSet::from([format!("{PREFIX}{key}")])
        );
        let loaded = store.load(&key, now).await.unwrap().unwrap();
        assert_eq!(loaded.data["n"], json!(99));
    }

    #[actix_web::test]
    async fn readers_never_see_a_partial_session_while_it_is_rewritten() {
        // Arrange: two large payloads that do not compress away.
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path(), PREFIX);
        let now = suite_now();
        let later = now + TimeDelta::hours(1);
        let key = fresh_key();
        let payload = || -> String { (0..3000).map(|_| fresh_key()).collect() };
        let (a, b) = (json!(payload()), json!(payload()));
        let rec_a = record(&key, &[("blob", a.clone())], later);
        let rec_b = record(&key, &[("blob", b.clone())], later);
        store.save(&rec_a, SaveMode::Create).await.unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let (store, key, stop) = (store.clone(), key.clone(), Arc::clone(&stop));
            let (a, b) = (a.clone(), b.clone());
            std::thread::spawn(move || {
                let mut reads = 0_u32;
                while !stop.load(Ordering::Relaxed) || reads == 0 {
                    let blob = store
                        .load_blocking(&key, now)
                        .unwrap()
                        .into_record()
                        .and_then(|mut record| record.data.shift_remove("blob"));
                    match blob {
                        Some(blob) if blob == a || blob == b => reads += 1,
                        other => panic!(
                            "a reader saw a torn or missing session (blob of {:?} chars)",
                            other.as_ref().and_then(Value::as_str).map(str::len)
                        ),
                    }
                }
                reads
            })
        };

        // Act: rewrite the session while the reader loads it.
        for n in 0..200 {
            let rec = if n % 2 == 0 { &rec_b } else { &rec_a };
            store.save(rec, SaveMode::Update).await.unwrap();
        }
        stop.store(true, Ordering::Relaxed);

        // Assert
        let reads = reader.join().unwrap();
        assert!(reads > 0);
        assert_eq!(
            names_in(dir.path()),
            BTreeSet::from([format!("{PREFIX}{key}")])
        );
    }

    #[actix_web::test]
    async fn two_prefixes_share_a_directory_without_seeing_each_other() {
        // Arrange
        let dir = tempfile::tempdir().unwrap();
        let ours = store_in(dir.path(), PREFIX);
        let theirs = store_in(dir.path(), "othersession");
        let now = suite_now();
        let key = fresh_key();
        let live = now + TimeDelta::hours(1);
        ours.save(
            &record(&key, &[("who", json!("ours"))], live),
            SaveMode::Create,
        )
        .await
        .unwrap();
        assert!(
            !theirs.exists(&key).await.unwrap(),
            "a key of ours is not theirs"
        );
        theirs
            .save(
                &record(&key, &[("who", json!("theirs"))], live),
                SaveMode::Create,
            )
            .await
            .unwrap();
        let (our_dead, their_dead) = (fresh_key(), fresh_key());
        let dead = now + TimeDelta::seconds(5);
        ours.save(&record(&our_dead, &[], dead), SaveMode::Create)
            .await
            .unwrap();
        theirs
            .save(&record(&their_dead, &[], dead), SaveMode::Create)
            .await
            .unwrap();

        // Act
        let removed = ours
            .clear_expired(now + TimeDelta::seconds(10))
            .await
            .unwrap();
        ours.delete(&key).await.unwrap();

        // Assert
        assert_eq!(removed, 1, "only our expired session");
        assert!(!ours.exists(&our_dead).await.unwrap());
        assert!(
            theirs.exists(&their_dead).await.unwrap(),
            "their files are not ours to clear"
        );
        let loaded = theirs.load(&key, now).await.unwrap().unwrap();
        assert_eq!(
            loaded.data["who"],
            json!("theirs"),
            "our delete left their session"
        );
        assert_eq!(ours.count_live(now).await.unwrap(), 0);
        assert_eq!(theirs.count_live(now).await.unwrap(), 2);
    }

    #[test]
    fn open_refuses_a_missing_directory() {
        let root = tempfile::tempdir().unwrap();
        let missing = root.path().join("nope");
        let error = FileStore::open(&missing, PREFIX, codec()).err().unwrap();
        let message = format!("{error:#}");
        assert!(
            message.contains(&missing.display().to_string()),
            "{message}"
        );
        assert!(message.contains("does not exist"), "{message}");
        assert!(message.contains("file_path"), "{message}");
    }

    #[test]
    fn open_refuses_a_file_instead_of_a_directory() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("afile");
        std::fs::write(&file, "").unwrap();
        let error = FileStore::open(&file, PREFIX, codec()).err().unwrap();
        let message = format!("{error:#}");
        assert!(message.contains(&file.display().to_string()), "{message}");
        assert!(message.contains("not a directory"), "{message}");
        assert!(message.contains("file_path"), "{message}");
    }

    #[cfg(unix)]
    #[test]
    fn open_refuses_an_unwritable_directory() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("readonly");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        // Root writes anywhere: then there is nothing to refuse.
        let probe = dir.join("probe");
        let enforced = std::fs::write(&probe, "").is_err();
        let _ = std::fs::remove_file(&probe);

        let result = FileStore::open(&dir, PREFIX, codec());

        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        if enforced {
            let message = format!("{:#}", result.err().unwrap());
            assert!(message.contains(&dir.display().to_string()), "{message}");
            assert!(message.contains("not writable"), "{message}");
            assert!(message.contains("file_path"), "{message}");
        }
        assert!(names_in(&dir).is_empty(), "the probe leaves nothing behind");
    }

    #[test]
    fn open_refuses_prefixes_that_could_leave_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        for prefix in ["", ".", "..", "a/b", "/abs", "a\\b", "a\0b"] {
            assert!(
                FileStore::open(dir.path(), prefix, codec()).is_err(),
                "{prefix:?} must be refused"
            );
        }
        assert!(names_in(dir.path()).is_empty());
    }

    #[actix_web::test]
    async fn files_hold_djangos_session_data_under_the_cookie_name() {
        // Arrange
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path(), PREFIX);
        let now = suite_now();
        let key = fresh_key();
        let expire_date = now + TimeDelta::hours(2);
        let rec = record(
            &key,
            &[("name", json!("Sonam")), ("n", json!(1))],
            expire_date,
        );

        // Act
        store.save(&rec, SaveMode::Create).await.unwrap();

        // Assert: the name, the content, the expiry and the permissions.
        let name = format!("{PREFIX}{key}");
        assert_eq!(names_in(dir.path()), BTreeSet::from([name.clone()]));
        let path = dir.path().join(&name);
        let content = std::fs::read_to_string(&path).unwrap();
        assert!(content.is_ascii(), "{content}");
        assert_eq!(
            content.split(':').count(),
            3,
            "payload:timestamp:signature, {content}"
        );
        assert_eq!(
            SessionCodec::new(SECRET, &[]).decode(&content, now),
            rec.data
        );
        let foreign = SessionCodec::new("another-secret", &[]);
        assert!(
            foreign.decode(&content, now).is_empty(),
            "signed with our secret"
        );
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(DateTime::<Utc>::from(meta.modified().unwrap()), expire_date);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(meta.permissions().mode() & 0o777, 0o600, "as mkstemp");
        }
    }

    #[actix_web::test]
    async fn an_expired_file_is_removed_when_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path(), PREFIX);
        let now = suite_now();
        let key = fresh_key();
        let expire_date = now + TimeDelta::seconds(5);
        store
            .save(
                &record(&key, &[("n", json!(1))], expire_date),
                SaveMode::Create,
            )
            .await
            .unwrap();
        assert!(
            store.exists(&key).await.unwrap(),
            "an expired file still exists"
        );

        let loaded = store.load(&key, expire_date).await.unwrap();

        assert!(loaded.is_none());
        assert!(!store.exists(&key).await.unwrap(), "loading removed it");
        assert!(names_in(dir.path()).is_empty());
    }

    #[actix_web::test]
    async fn count_live_counts_only_live_session_files() {
        // Arrange: two live, one expiring exactly now, and files that are not sessions.
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path(), PREFIX);
        let now = suite_now();
        for expire_date in [now + TimeDelta::hours(1), now + TimeDelta::seconds(1), now] {
            store
                .save(&record(&fresh_key(), &[], expire_date), SaveMode::Create)
                .await
                .unwrap();
        }
        for stray in [
            format!("{PREFIX}_out_inflight"),
            format!("{PREFIX}NOTAKEY"),
            "unrelated".to_owned(),
        ] {
            let file = File::create(dir.path().join(stray)).unwrap();
            file.set_modified(SystemTime::from(now + TimeDelta::hours(1)))
                .unwrap();
        }

        // Act / Assert
        assert_eq!(store.count_live(now).await.unwrap(), 2);
        assert_eq!(store.clear_expired(now).await.unwrap(), 1);
        assert_eq!(store.count_live(now).await.unwrap(), 2);
        assert_eq!(
            names_in(dir.path()).len(),
            5,
            "strays and fresh temp files stay"
        );
    }

    #[actix_web::test]
    async fn clear_expired_removes_only_stale_temp_files_of_its_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = store_in(dir.path(), PREFIX);
        let now = suite_now();
        let leftover = format!("{PREFIX}_out_crashed");
        for name in [
            leftover.as_str(),
            "other_out_crashed",
            "sessionid_in_crashed",
        ] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }

        assert_eq!(store.clear_expired(now).await.unwrap(), 0);
        assert_eq!(
            names_in(dir.path()).len(),
            3,
            "a fresh temp file may be a write in flight"
        );

        store.stale_temp_age = Duration::ZERO;
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(
            store.clear_expired(now).await.unwrap(),
            0,
            "temp files are not sessions"
        );
        assert_eq!(
            names_in(dir.path()),
            BTreeSet::from([
                "other_out_crashed".to_owned(),
                "sessionid_in_crashed".to_owned()
            ])
        );
    }

    #[actix_web::test]
    async fn a_corrupted_file_reads_as_an_empty_session() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path(), PREFIX);
        let now = suite_now();
        let key = fresh_key();
        let file = File::create(dir.path().join(format!("{PREFIX}{key}"))).unwrap();
        (&file).write_all(b"not signed \xff\xfe").unwrap();
        file.set_modified(SystemTime::from(now + TimeDelta::hours(1)))
            .unwrap();

        let loaded = store.load(&key, now).await.unwrap();

        assert_eq!(
            loaded.map(|record| record.data),
            Some(crate::session::store::SessionData::default()),
            "the key is kept, the data is empty"
        );
    }

    #[actix_web::test]
    async fn ping_notices_a_vanished_directory() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("sessions");
        std::fs::create_dir(&dir).unwrap();
        let store = store_in(&dir, PREFIX);
        store.ping().await.unwrap();

        std::fs::remove_dir(&dir).unwrap();

        let error = store.ping().await.err().unwrap();
        assert!(format!("{error:#}").contains(&dir.display().to_string()));
    }
}
