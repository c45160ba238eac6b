//! Writing a directory of output files all or nothing: `run --output DIR`.
//!
//! Every file of a result is written into a fresh staging directory beside `DIR` (same
//! parent, so that renaming it is atomic), flushed to disk, and only then swapped into
//! place; the previous content of `DIR`, if any, is removed after the swap. A run that
//! fails or is killed leaves `DIR` as it was: never a mix of two runs, never a truncated
//! file. The invariants, each checked before anything is written:
//!
//! - `DIR` is never an input: a directory that is, contains, or is inside a rule or fact
//!   path (compared canonicalized) is refused (`E0320`).
//! - Links are never followed: `DIR` itself may not be a symbolic link (`E0321`), files
//!   are created with `create_new` in the staging directory (so no link can stand in
//!   their way), and the previous `DIR` is removed without following links inside it.
//! - Only ascribe's own output is replaced: `DIR` must be empty, or hold exactly the
//!   files its manifest (`.ascribe-output`, written last into every output) lists, all
//!   regular files (`E0322`).
//! - One writer at a time: an exclusive lock on `.NAME.ascribe-lock` beside `DIR` (an
//!   `flock` under Linux/glibc, released by the kernel when a run dies, so it never goes
//!   stale; elsewhere a file created with `create_new` and removed at the end). A
//!   second writer fails at once (`E0323`) rather than waiting.
//! - Every error names the file it concerns (`E0324`).
//!
//! Under the lock, staging (`.NAME.ascribe-new`) and previous-output
//! (`.NAME.ascribe-old`) directories left by a killed run are removed first: no other
//! run can be using them.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use super::direct::DirectWriter;
use crate::diagnostic::Diagnostic;

/// The manifest's file name: hidden, so that `--facts DIR` skips it silently.
pub const MANIFEST: &str = ".ascribe-output";

/// The manifest's first line; the file names follow, one per line.
const MANIFEST_HEADER: &str = "# ascribe output: the files below were written together by one `ascribe run --output`; do not edit";

/// Why an output directory was not written. `DIR` is unchanged in every case.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The output directory is, contains, or is inside a rule or fact path.
    #[error("cannot write output to {dir}: it {relation} the input {input}")]
    IsInput {
        /// The output directory as given.
        dir: String,
        /// "is", "contains" or "is inside".
        relation: &'static str,
        /// The input path as given.
        input: String,
    },
    /// The output directory is a symbolic link, or exists and is not a directory.
    #[error("cannot write output to {dir}: it is {what}")]
    NotADirectory {
        /// The output directory as given.
        dir: String,
        /// "a symbolic link" or "not a directory".
        what: &'static str,
    },
    /// The output directory holds entries that no ascribe output listed.
    #[error("cannot write output to {dir}: it holds {entries}, which ascribe did not write")]
    NotOurs {
        /// The output directory as given.
        dir: String,
        /// The first few foreign entries, quoted and described.
        entries: String,
        /// Whether the directory has a manifest at all.
        has_manifest: bool,
    },
    /// Another run holds the lock on the output directory.
    #[error(
        "cannot write output to {dir}: another ascribe run is writing it (lock {lock} is held)"
    )]
    Locked {
        /// The output directory as given.
        dir: String,
        /// The lock file.
        lock: String,
        /// Whether the lock is a file that a killed run may have left (not an `flock`).
        may_be_stale: bool,
    },
    /// An operation on a file or directory failed.
    #[error("cannot write output to {dir}: cannot {action} {path}: {reason}")]
    Io {
        /// The output directory as given.
        dir: String,
        /// What was being done ("create", "write", "rename", ...).
        action: &'static str,
        /// The file or directory concerned.
        path: String,
        /// The system's reason.
        reason: String,
    },
}

impl OutputError {
    /// The diagnostic for this error (the one conversion of this stage).
    pub fn to_diagnostic(&self) -> Diagnostic {
        let message = self.to_string();
        match self {
            OutputError::IsInput { .. } => Diagnostic::error_unplaced("E0320", message)
                .with_note("writing results into an input would mix derived facts into the evidence of the next run, counted again beside the evidence they came from")
                .with_help("choose an output directory outside every rule and fact path"),
            OutputError::NotADirectory { .. } => Diagnostic::error_unplaced("E0321", message)
                .with_help("give the path of a directory (it is created if missing); links are not followed"),
            OutputError::NotOurs { has_manifest, .. } => {
                let d = Diagnostic::error_unplaced("E0322", message);
                let d = if *has_manifest {
                    d.with_note(format!("the files ascribe wrote are listed in its `{MANIFEST}`"))
                } else {
                    d.with_note(format!("ascribe replaces only an empty directory or one of its own outputs, which it marks with `{MANIFEST}`"))
                };
                d.with_help("choose another output directory, or move those files away")
            }
            OutputError::Locked { may_be_stale, .. } => {
                let d = Diagnostic::error_unplaced("E0323", message);
                if *may_be_stale {
                    d.with_help("wait for the other run to finish; if none is running, remove the lock file")
                } else {
                    d.with_help("wait for the other run to finish, or write to another directory")
                }
            }
            OutputError::Io { .. } => Diagnostic::error_unplaced("E0324", message)
                .with_note("nothing was changed in the output directory")
                .with_help("check free space, permissions and the length of file names"),
        }
    }
}

/// An output directory being written: files go into a staging directory, which
/// [`Staging::commit`] swaps into place. Dropped without commit, it removes the staging
/// directory and leaves the output directory as it was.
pub struct Staging {
    /// The output directory as given, for messages.
    shown: String,
    /// The output directory, canonical (its parent resolved, its name as given).
    dir: PathBuf,
    /// The staging directory beside it.
    new: PathBuf,
    /// Where the previous output goes while being removed.
    old: PathBuf,
    /// The names of the files written so far, in order.
    files: Vec<String>,
    committed: bool,
    /// Held until dropped.
    _lock: Lock,
}

/// One file being written into the staging directory.
pub struct StagedFile {
    file: DirectWriter,
    /// The file's final path, for messages.
    shown: String,
    dir_shown: String,
}

impl StagedFile {
    /// Appends `bytes`.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), OutputError> {
        self.file
            .write_all(bytes)
            .map_err(|e| io_error(&self.dir_shown, "write", &self.shown, &e))
    }

    /// Flushes the file to disk and closes it.
    pub fn finish(self) -> Result<(), OutputError> {
        self.file
            .finish()
            .and_then(|file| file.sync_all())
            .map_err(|e| io_error(&self.dir_shown, "write", &self.shown, &e))
    }
}

fn io_error(dir: &str, action: &'static str, path: &str, error: &io::Error) -> OutputError {
    OutputError::Io {
        dir: dir.to_owned(),
        action,
        path: path.to_owned(),
        reason: error.to_string(),
    }
}

/// Whether `a` is `b` or lies inside it (both canonical).
fn within(a: &Path, b: &Path) -> bool {
    a.starts_with(b)
}

impl Staging {
    /// Checks that `dir` may be written (see the module docs), takes the lock, and
    /// creates an empty staging directory. `inputs` are the rule and fact paths.
    pub fn begin(dir: &Path, inputs: &[PathBuf]) -> Result<Staging, OutputError> {
        let shown = dir.display().to_string();
        let fail = |action, path: &Path, e: &io::Error| {
            io_error(&shown, action, &path.display().to_string(), e)
        };
        // The parent is resolved, the name kept as given: `DIR` itself, a link or not,
        // is looked at without following it.
        let (parent, name) = match dir.file_name() {
            Some(name) => {
                let parent = match dir.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                fs::create_dir_all(&parent).map_err(|e| fail("create", &parent, &e))?;
                (parent, name.to_owned())
            }
            None => {
                // `.`, `..` or `/`.
                let canonical = dir.canonicalize().map_err(|e| fail("resolve", dir, &e))?;
                match (canonical.parent(), canonical.file_name()) {
                    (Some(parent), Some(name)) => (parent.to_path_buf(), name.to_owned()),
                    _ => {
                        return Err(OutputError::NotADirectory {
                            dir: shown,
                            what: "the root directory",
                        })
                    }
                }
            }
        };
        let parent = parent
            .canonicalize()
            .map_err(|e| fail("resolve", &parent, &e))?;
        let canonical = parent.join(&name);
        let existing = match fs::symlink_metadata(&canonical) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                return Err(OutputError::NotADirectory {
                    dir: shown,
                    what: "a symbolic link",
                })
            }
            Ok(metadata) if !metadata.is_dir() => {
                return Err(OutputError::NotADirectory {
                    dir: shown,
                    what: "not a directory",
                })
            }
            Ok(_) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(fail("read", dir, &e)),
        };
        for input in inputs {
            // An input that cannot be resolved was already reported by loading.
            let Ok(input_canonical) = input.canonicalize() else {
                continue;
            };
            let relation = if input_canonical == canonical {
                Some("is")
            } else if within(&input_canonical, &canonical) {
                Some("contains")
            } else if within(&canonical, &input_canonical) {
                Some("is inside")
            } else {
                None
            };
            if let Some(relation) = relation {
                return Err(OutputError::IsInput {
                    dir: shown,
                    relation,
                    input: input.display().to_string(),
                });
            }
        }
        let name = name.to_string_lossy().into_owned();
        let beside = |suffix: &str| parent.join(format!(".{name}.ascribe-{suffix}"));
        let lock = Lock::take(&beside("lock"), &shown)?;
        let new = beside("new");
        let old = beside("old");
        for stale in [&new, &old] {
            remove_stale(stale).map_err(|e| fail("remove the leftover", stale, &e))?;
        }
        if existing {
            check_ours(&canonical, &shown)?;
        }
        fs::create_dir(&new).map_err(|e| fail("create", &new, &e))?;
        Ok(Staging {
            shown,
            dir: canonical,
            new,
            old,
            files: Vec::new(),
            committed: false,
            _lock: lock,
        })
    }

    /// Creates the file `name` in the staging directory.
    pub fn create(&mut self, name: &str) -> Result<StagedFile, OutputError> {
        let shown = Path::new(&self.shown).join(name).display().to_string();
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.new.join(name))
            .map_err(|e| io_error(&self.shown, "create", &shown, &e))?;
        self.files.push(name.to_owned());
        Ok(StagedFile {
            file: DirectWriter::new(file),
            shown,
            dir_shown: self.shown.clone(),
        })
    }

    /// Writes the manifest, flushes the staging directory to disk, and swaps it into
    /// place of the output directory; then removes the previous output.
    pub fn commit(mut self) -> Result<(), OutputError> {
        let mut manifest = String::from(MANIFEST_HEADER);
        manifest.push('\n');
        for name in &self.files {
            manifest.push_str(name);
            manifest.push('\n');
        }
        let mut file = self.create(MANIFEST)?;
        self.files.pop();
        file.write_all(manifest.as_bytes())?;
        file.finish()?;
        let fail = |action, path: &Path, e: &io::Error| {
            io_error(&self.shown, action, &path.display().to_string(), e)
        };
        sync_dir(&self.new).map_err(|e| fail("flush", &self.new, &e))?;
        let parent = self.dir.parent().expect("a joined path has a parent");
        if fs::symlink_metadata(&self.dir).is_ok() {
            if !exchange(&self.new, &self.dir).map_err(|e| fail("replace", &self.dir, &e))? {
                fs::rename(&self.dir, &self.old).map_err(|e| fail("rename", &self.dir, &e))?;
                if let Err(e) = fs::rename(&self.new, &self.dir) {
                    // Put the previous output back, so that `DIR` is as it was.
                    let _ = fs::rename(&self.old, &self.dir);
                    return Err(fail("rename", &self.new, &e));
                }
                std::mem::swap(&mut self.new, &mut self.old);
            }
            // `new` now holds the previous output. The result is in place: what follows
            // is tidying, and a failure there must not be reported as a failed write (a
            // leftover is removed by the next run).
            self.committed = true;
            let _ = sync_dir(parent);
            let _ = fs::remove_dir_all(&self.new);
        } else {
            fs::rename(&self.new, &self.dir).map_err(|e| fail("rename", &self.new, &e))?;
            self.committed = true;
            let _ = sync_dir(parent);
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.new);
        }
    }
}

/// Removes a staging or previous-output directory a killed run left; a link or file of
/// that name is removed as such, never followed.
fn remove_stale(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
        Ok(metadata) if metadata.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
    }
}

/// Checks that the existing directory `dir` is empty or one of ascribe's outputs.
fn check_ours(dir: &Path, shown: &str) -> Result<(), OutputError> {
    let fail = |action, path: &Path, e: &io::Error| {
        io_error(shown, action, &path.display().to_string(), e)
    };
    let manifest_path = dir.join(MANIFEST);
    let listed: Option<Vec<String>> = match fs::symlink_metadata(&manifest_path) {
        Ok(metadata) if metadata.is_file() => {
            let text =
                fs::read_to_string(&manifest_path).map_err(|e| fail("read", &manifest_path, &e))?;
            let mut lines = text.lines();
            if lines.next() == Some(MANIFEST_HEADER) {
                Some(lines.map(str::to_owned).collect())
            } else {
                None
            }
        }
        _ => None,
    };
    let mut foreign = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| fail("read", dir, &e))?;
    for entry in entries {
        let entry = entry.map_err(|e| fail("read", dir, &e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let file_type = entry
            .file_type()
            .map_err(|e| fail("read", &entry.path(), &e))?;
        let is_listed = listed
            .as_ref()
            .is_some_and(|listed| name == MANIFEST || listed.contains(&name));
        if !(is_listed && file_type.is_file()) {
            let what = if file_type.is_symlink() {
                " (a symbolic link)"
            } else if file_type.is_dir() {
                " (a directory)"
            } else if !file_type.is_file() {
                " (not a regular file)"
            } else {
                ""
            };
            foreign.push(format!("`{name}`{what}"));
        }
    }
    if foreign.is_empty() {
        return Ok(());
    }
    foreign.sort();
    let n = foreign.len();
    let mut entries = foreign.into_iter().take(3).collect::<Vec<_>>().join(", ");
    if n > 3 {
        entries.push_str(&format!(" and {} more", n - 3));
    }
    Err(OutputError::NotOurs {
        dir: shown.to_owned(),
        entries,
        has_manifest: listed.is_some(),
    })
}

/// Flushes a directory's entries to disk.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Atomically exchanges two paths, if the system can; `Ok(false)` when it cannot (then
/// the caller renames twice).
fn exchange(a: &Path, b: &Path) -> io::Result<bool> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| {
            CString::new(p.as_os_str().as_bytes())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in the path"))
        };
        let (a, b) = (c(a)?, c(b)?);
        // SAFETY: both are NUL-terminated paths that live across the call.
        let result = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                a.as_ptr(),
                libc::AT_FDCWD,
                b.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        if result == 0 {
            return Ok(true);
        }
        let error = io::Error::last_os_error();
        match error.raw_os_error() {
            // The file system or kernel does not support the exchange.
            Some(libc::EINVAL | libc::ENOSYS | libc::ENOTSUP) => Ok(false),
            _ => Err(error),
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        let _ = (a, b);
        Ok(false)
    }
}

/// The exclusive lock on an output directory, held while the value lives.
struct Lock {
    #[cfg_attr(all(target_os = "linux", target_env = "gnu"), allow(dead_code))]
    path: PathBuf,
    /// Kept open: closing it releases an `flock`.
    _file: File,
}

impl Lock {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn take(path: &Path, dir: &str) -> Result<Lock, OutputError> {
        use std::os::unix::fs::OpenOptionsExt;
        use std::os::unix::io::AsRawFd;
        let shown = path.display().to_string();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| io_error(dir, "open the lock", &shown, &e))?;
        // SAFETY: `flock` on a descriptor this function owns.
        let result = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if result != 0 {
            let error = io::Error::last_os_error();
            if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(OutputError::Locked {
                    dir: dir.to_owned(),
                    lock: shown,
                    may_be_stale: false,
                });
            }
            return Err(io_error(dir, "lock", &shown, &error));
        }
        Ok(Lock {
            path: path.to_path_buf(),
            _file: file,
        })
    }

    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    fn take(path: &Path, dir: &str) -> Result<Lock, OutputError> {
        let shown = path.display().to_string();
        match OpenOptions::new().write(true).create_new(true).open(path) {
            Ok(file) => Ok(Lock {
                path: path.to_path_buf(),
                _file: file,
            }),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(OutputError::Locked {
                dir: dir.to_owned(),
                lock: shown,
                may_be_stale: true,
            }),
            Err(e) => Err(io_error(dir, "create the lock", &shown, &e)),
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containment_is_by_whole_components() {
        assert!(within(Path::new("/a/b/c"), Path::new("/a/b")));
        assert!(within(Path::new("/a/b"), Path::new("/a/b")));
        assert!(!within(Path::new("/a/bc"), Path::new("/a/b")));
    }
}
