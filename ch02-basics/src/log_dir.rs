//! Helper for the two logger demos of "Putting It All Together": where their files go.
//!
//! `audit-logger` and `ordered-audit-log` write into a fresh temporary directory, removed at the
//! end, or into the directory a reader names with `--dir DIR` (which must exist). Nothing is ever
//! written into the source tree.

use std::io;
use std::path::{Path, PathBuf};

use common::demo::{Args, UsageError};
use tempfile::TempDir;

/// Takes `--dir DIR`, if given; `DIR` must be an existing directory.
///
/// ```
/// use common::demo::Args;
/// use ch02::log_dir::dir_arg;
/// assert_eq!(dir_arg(&mut Args::from_iter([])).unwrap(), None);
/// assert!(dir_arg(&mut Args::from_iter(["--dir", "/no/such/dir"])).is_err());
/// ```
pub fn dir_arg(args: &mut Args) -> Result<Option<PathBuf>, UsageError> {
    let Some(dir) = args.raw("dir")? else {
        return Ok(None);
    };
    let dir = PathBuf::from(dir);
    if dir.is_dir() {
        Ok(Some(dir))
    } else if dir.exists() {
        Err(UsageError(format!(
            "`--dir {}`: not a directory",
            dir.display()
        )))
    } else {
        Err(UsageError(format!(
            "`--dir {}`: no such directory (create it first)",
            dir.display()
        )))
    }
}

/// Where a logger demo puts its files: a fresh temporary directory, or the one given by `--dir`.
#[derive(Debug)]
pub enum LogDir {
    /// Created for this run and removed by [`LogDir::close`] (or when dropped).
    Temp(TempDir),
    /// The reader's directory: kept, and files in it are appended to.
    Given(PathBuf),
}

impl LogDir {
    /// `dir` if given, else a new temporary directory.
    ///
    /// ```
    /// let dir = ch02::log_dir::LogDir::new(None).unwrap();
    /// let path = dir.path().to_path_buf();
    /// assert!(path.is_dir());
    /// dir.close().unwrap();
    /// assert!(!path.exists());
    /// ```
    pub fn new(dir: Option<PathBuf>) -> io::Result<LogDir> {
        match dir {
            Some(dir) => Ok(LogDir::Given(dir)),
            None => Ok(LogDir::Temp(tempfile::tempdir()?)),
        }
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        match self {
            LogDir::Temp(dir) => dir.path(),
            LogDir::Given(dir) => dir,
        }
    }

    /// One line saying where the files go.
    pub fn describe(&self) -> String {
        match self {
            LogDir::Temp(dir) => format!(
                "files in a fresh temporary directory, {} (removed at the end)",
                dir.path().display()
            ),
            LogDir::Given(dir) => format!("files in {} (lines are appended)", dir.display()),
        }
    }

    /// Removes a temporary directory, reporting failure; a given directory is left alone.
    pub fn close(self) -> io::Result<()> {
        match self {
            LogDir::Temp(dir) => dir.close(),
            LogDir::Given(_) => Ok(()),
        }
    }
}
