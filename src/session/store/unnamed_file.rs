//! New files that appear under their name complete, changing their directory once: written as
//! an unnamed file (Linux's `O_TMPFILE`), then given their name with `linkat`, which fails if
//! the name is taken. The file engine creates each new session this way where the directory's
//! file system allows it; elsewhere it writes a named temp file, links it and removes the temp
//! name, three changes to the directory, each under the directory's lock, which every request
//! creating a session in that one directory waits for (BENCHMARKS.md, change 32).

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

use rustix::fs::{AtFlags, CWD, Mode, OFlags};

/// How an unnamed file is given its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Link {
    /// `linkat(fd, "", …, AT_EMPTY_PATH)`: for a process with `CAP_DAC_READ_SEARCH` (root, as in
    /// a container), or on kernels that let the file's opener link it.
    ByDescriptor,
    /// `linkat` of `/proc/self/fd/<fd>` with `AT_SYMLINK_FOLLOW`, as `open(2)` shows: for
    /// everyone else, where `/proc` is mounted.
    ByProcPath,
}

/// Which [`Link`] works in `dir`, tried on a real file at `probe_path` (removed afterwards);
/// `None` when the file system has no unnamed files or neither link works.
pub(super) fn probe(dir: &Path, probe_path: &Path) -> Option<Link> {
    for link in [Link::ByDescriptor, Link::ByProcPath] {
        if create(dir, probe_path, link, |_| Ok(())).is_ok() {
            if let Err(error) = std::fs::remove_file(probe_path) {
                tracing::warn!(path = %probe_path.display(), %error, "cannot remove a probe file");
            }
            return Some(link);
        }
    }
    None
}

/// Creates `target` in `dir` with what `fill` writes (content, mtime …) to the still unnamed
/// file: the name appears with all of it, or not at all. Fails with
/// [`io::ErrorKind::AlreadyExists`] if `target` is taken.
pub(super) fn create(
    dir: &Path,
    target: &Path,
    link: Link,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    // As `mkstemp`: session data is signed, not encrypted, so others may not read it.
    let fd = rustix::fs::open(
        dir,
        OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )?;
    let mut file = File::from(fd);
    fill(&mut file)?;
    match link {
        Link::ByDescriptor => rustix::fs::linkat(&file, "", CWD, target, AtFlags::EMPTY_PATH)?,
        Link::ByProcPath => rustix::fs::linkat(
            CWD,
            format!("/proc/self/fd/{}", file.as_raw_fd()),
            CWD,
            target,
            AtFlags::SYMLINK_FOLLOW,
        )?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::time::{Duration, SystemTime};

    /// A `fill` that writes `content`.
    fn writes(content: &'static [u8]) -> impl FnOnce(&mut File) -> io::Result<()> {
        move |file| file.write_all(content)
    }

    fn entries_in(dir: &Path) -> usize {
        std::fs::read_dir(dir).unwrap().count()
    }

    #[test]
    fn probe_finds_a_link_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let found = probe(dir.path(), &dir.path().join("probe"));
        // Temp directories are on tmpfs or ext4 here, both of which have unnamed files.
        assert!(
            found.is_some(),
            "no way to link an unnamed file in a temp dir"
        );
        assert_eq!(entries_in(dir.path()), 0);
    }

    #[test]
    fn every_link_creates_the_file_complete_with_what_fill_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(4_000_000_000);
        for (link, name) in [(Link::ByDescriptor, "by-fd"), (Link::ByProcPath, "by-proc")] {
            let target = dir.path().join(name);
            match create(dir.path(), &target, link, |f| {
                f.write_all(b"content")?;
                f.set_modified(mtime)
            }) {
                Ok(()) => {
                    assert_eq!(std::fs::read(&target).unwrap(), b"content");
                    let meta = std::fs::metadata(&target).unwrap();
                    assert_eq!(meta.modified().unwrap(), mtime);
                    #[cfg(unix)]
                    {
                        use std::os::unix::fs::PermissionsExt;
                        assert_eq!(
                            meta.permissions().mode() & 0o077,
                            0,
                            "{name}: readable by others"
                        );
                    }
                }
                // Linking by descriptor needs a capability that an unprivileged run may lack.
                Err(e) if link == Link::ByDescriptor && e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => panic!("{name}: {e}"),
            }
        }
        assert!(dir.path().join("by-proc").is_file());
    }

    #[test]
    fn a_taken_name_is_left_alone_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let link = probe(dir.path(), &dir.path().join("probe")).unwrap();
        let target = dir.path().join("taken");
        std::fs::write(&target, "first").unwrap();
        let error = create(dir.path(), &target, link, writes(b"second")).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "first");
        assert_eq!(entries_in(dir.path()), 1, "the unnamed file got a name");
    }

    #[test]
    fn a_missing_directory_is_an_error_not_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        assert_eq!(probe(&gone, &gone.join("probe")), None);
        let error = create(&gone, &gone.join("file"), Link::ByProcPath, writes(b"x")).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
    }
}
