//! Helper for "Implementing State Recovery for Actors": the crash-safe way to replace `data.json`.
//!
//! The book's writer truncates `data.json` and writes the new map into it: a crash between the
//! truncation and the end of the write leaves an empty or half-written file, and the data is gone.
//! The standard cure, used here, never touches the live file until the new contents are safely on
//! disk:
//!
//! 1. serialize the whole map;
//! 2. create `data.json.tmp` next to it;
//! 3. write the bytes into it (the crash matrix also stops after half of them);
//! 4. `sync_all` the temporary file, so its bytes are on the disk, not only in the page cache;
//! 5. rename it over `data.json`: a rename within one directory is atomic, so a reader (or a
//!    restart) sees either the old file or the new one, never a mix;
//! 6. `sync_all` the directory, so the rename itself survives a power cut (Unix; elsewhere the
//!    step is skipped).
//!
//! Each step is a [`PersistStep`], and [`write_map_atomically`] can be told to stop right after any
//! of them, leaving the files exactly as a process killed at that moment would. That is how the
//! `writer-crash-matrix` demo tests every crash point without killing anything.

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use common::demo::{Args, DemoResult};

/// The map the store keeps: keys to raw bytes, as in the book.
pub type Map = HashMap<String, Vec<u8>>;

/// The state file, inside the directory the caller chose (the book's `./data.json`).
pub const DATA_FILE: &str = "data.json";
/// Where the next version is written before it is renamed over [`DATA_FILE`].
pub const TEMP_FILE: &str = "data.json.tmp";
/// Where a state file that could not be parsed is moved when the caller asked to set it aside.
pub const CORRUPT_FILE: &str = "data.json.corrupt";

/// One step of a crash-safe write, in the order they happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PersistStep {
    /// The map has been turned into JSON bytes (nothing on disk yet).
    Serialize,
    /// `data.json.tmp` exists, empty.
    CreateTemp,
    /// Half of the bytes are in `data.json.tmp`.
    HalfWritten,
    /// All the bytes are in `data.json.tmp`, maybe only in the page cache.
    Written,
    /// `data.json.tmp` has been fsynced.
    Synced,
    /// `data.json.tmp` has been renamed over `data.json`.
    Renamed,
    /// The directory has been fsynced: the write is durable, even against a power cut.
    DirSynced,
}

impl PersistStep {
    /// Every step, in order.
    pub const ALL: [PersistStep; 7] = [
        PersistStep::Serialize,
        PersistStep::CreateTemp,
        PersistStep::HalfWritten,
        PersistStep::Written,
        PersistStep::Synced,
        PersistStep::Renamed,
        PersistStep::DirSynced,
    ];

    /// A short name for tables and messages.
    pub fn name(self) -> &'static str {
        match self {
            PersistStep::Serialize => "serialize",
            PersistStep::CreateTemp => "create-temp",
            PersistStep::HalfWritten => "half-written",
            PersistStep::Written => "written",
            PersistStep::Synced => "synced",
            PersistStep::Renamed => "renamed",
            PersistStep::DirSynced => "dir-synced",
        }
    }
}

impl fmt::Display for PersistStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where to stop a writer, for the crash matrix: right after `step` of write number `write`
/// (counted from 1, over every writer of one store, so a restarted writer does not crash again).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrashPlan {
    /// Which write (1 = the first mutation persisted by this store).
    pub write: usize,
    /// After which step of it.
    pub step: PersistStep,
}

/// Why [`write_map_atomically`] did not complete.
#[derive(Debug)]
pub enum PersistError {
    /// A step failed; the live `data.json` is untouched unless the failing step was the directory
    /// sync (then the new file is in place but perhaps not durable).
    Io {
        /// The step that failed.
        step: PersistStep,
        /// The file or directory it worked on.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The crash plan stopped the write after this step. Not a real error: the caller must behave
    /// as if the process had died there (no acknowledgement, files left as they are).
    Crashed(PersistStep),
}

impl fmt::Display for PersistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PersistError::Io { step, path, source } => {
                write!(f, "step `{step}` failed on {}: {source}", path.display())
            }
            PersistError::Crashed(step) => write!(f, "simulated crash after step `{step}`"),
        }
    }
}

impl std::error::Error for PersistError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PersistError::Io { source, .. } => Some(source),
            PersistError::Crashed(_) => None,
        }
    }
}

/// Replaces `dir/data.json` with `map`, crash-safely (see the module docs), stopping right after
/// `stop_after` if given.
///
/// Blocking (`std::fs`): the writer calls it on its own task. The file is small, and keeping the
/// write on the writer's task means aborting the writer can never leave a write running somewhere
/// else, as a write handed to `spawn_blocking` would.
pub fn write_map_atomically(
    dir: &Path,
    map: &Map,
    stop_after: Option<PersistStep>,
) -> Result<(), PersistError> {
    let checkpoint = |step: PersistStep| match stop_after {
        Some(stop) if stop == step => Err(PersistError::Crashed(step)),
        _ => Ok(()),
    };
    let temp = dir.join(TEMP_FILE);
    let data = dir.join(DATA_FILE);
    let fail = |step: PersistStep, path: &Path| {
        let path = path.to_path_buf();
        move |source: io::Error| PersistError::Io { step, path, source }
    };

    let bytes = serde_json::to_vec(map)
        .map_err(io::Error::from)
        .map_err(fail(PersistStep::Serialize, &temp))?;
    checkpoint(PersistStep::Serialize)?;

    let mut file = File::create(&temp).map_err(fail(PersistStep::CreateTemp, &temp))?;
    checkpoint(PersistStep::CreateTemp)?;

    let (first, second) = bytes.split_at(bytes.len() / 2);
    file.write_all(first)
        .map_err(fail(PersistStep::HalfWritten, &temp))?;
    checkpoint(PersistStep::HalfWritten)?;
    file.write_all(second)
        .map_err(fail(PersistStep::Written, &temp))?;
    checkpoint(PersistStep::Written)?;

    file.sync_all().map_err(fail(PersistStep::Synced, &temp))?;
    drop(file);
    checkpoint(PersistStep::Synced)?;

    fs::rename(&temp, &data).map_err(fail(PersistStep::Renamed, &data))?;
    checkpoint(PersistStep::Renamed)?;

    sync_dir(dir).map_err(fail(PersistStep::DirSynced, dir))?;
    checkpoint(PersistStep::DirSynced)?;
    Ok(())
}

/// Makes a rename in `dir` durable: on Unix a directory can be opened and fsynced like a file.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Other systems cannot open a directory as a file; there the step does nothing.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Deletes a `data.json.tmp` left by an interrupted write; returns whether there was one.
///
/// A temporary file is never loaded: it is either incomplete, or complete but not yet renamed, in
/// which case the write was never acknowledged and dropping it loses nothing that was promised.
pub fn remove_stray_temp(dir: &Path) -> io::Result<bool> {
    match fs::remove_file(dir.join(TEMP_FILE)) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Runs a demo on its data directory: the one a reader names with `--dir DIR` (created if
/// missing, and kept), or else a fresh temporary directory, removed when the demo returns. The
/// demos of state recovery and supervision all take their directory this way.
pub fn with_data_dir(mut args: Args, demo: impl FnOnce(&Path) -> DemoResult) -> DemoResult {
    let dir: Option<PathBuf> = args.value("dir")?;
    args.finish()?;
    match dir {
        Some(dir) => {
            fs::create_dir_all(&dir)?;
            demo(&dir)
        }
        None => {
            let temp = tempfile::tempdir()?;
            demo(temp.path())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> Map {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    fn read(dir: &Path) -> Option<Map> {
        let bytes = fs::read(dir.join(DATA_FILE)).ok()?;
        Some(serde_json::from_slice(&bytes).expect("data.json always parses"))
    }

    #[test]
    fn a_complete_write_replaces_the_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        write_map_atomically(dir.path(), &map(&[("a", "1")]), None).unwrap();
        write_map_atomically(dir.path(), &map(&[("a", "1"), ("b", "2")]), None).unwrap();
        assert_eq!(read(dir.path()), Some(map(&[("a", "1"), ("b", "2")])));
        assert!(!dir.path().join(TEMP_FILE).exists());
    }

    #[test]
    fn the_file_format_is_the_books_json_object_of_byte_arrays() {
        let dir = tempfile::tempdir().unwrap();
        write_map_atomically(dir.path(), &map(&[("hello", "world")]), None).unwrap();
        let text = fs::read_to_string(dir.path().join(DATA_FILE)).unwrap();
        assert_eq!(text, r#"{"hello":[119,111,114,108,100]}"#);
    }

    #[test]
    fn stopping_at_each_step_leaves_the_old_or_the_new_file_never_a_mix() {
        let old = map(&[("a", "1")]);
        let new = map(&[("a", "1"), ("b", "a longer value to split in half")]);
        for step in PersistStep::ALL {
            let dir = tempfile::tempdir().unwrap();
            write_map_atomically(dir.path(), &old, None).unwrap();
            let err = write_map_atomically(dir.path(), &new, Some(step)).unwrap_err();
            assert!(matches!(err, PersistError::Crashed(s) if s == step));
            let expected = if step >= PersistStep::Renamed {
                &new
            } else {
                &old
            };
            assert_eq!(read(dir.path()).as_ref(), Some(expected), "after {step}");
            let temp_left = dir.path().join(TEMP_FILE).exists();
            let temp_expected = (PersistStep::CreateTemp..=PersistStep::Synced).contains(&step);
            assert_eq!(temp_left, temp_expected, "temp file after {step}");
            if step == PersistStep::HalfWritten {
                let half = fs::read(dir.path().join(TEMP_FILE)).unwrap();
                assert!(serde_json::from_slice::<Map>(&half).is_err(), "half a file");
            }
            assert_eq!(remove_stray_temp(dir.path()).unwrap(), temp_expected);
            assert!(!dir.path().join(TEMP_FILE).exists());
        }
    }

    #[test]
    fn a_failing_rename_is_an_error_naming_the_step_and_leaves_the_directory_in_place() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join(DATA_FILE)).unwrap();
        fs::write(dir.path().join(DATA_FILE).join("x"), b"keep").unwrap();
        let err = write_map_atomically(dir.path(), &map(&[("a", "1")]), None).unwrap_err();
        match &err {
            PersistError::Io { step, path, .. } => {
                assert_eq!(*step, PersistStep::Renamed);
                assert_eq!(path, &dir.path().join(DATA_FILE));
            }
            other => panic!("expected an I/O error, got {other:?}"),
        }
        assert!(err.to_string().contains("renamed"), "{err}");
        assert!(dir.path().join(DATA_FILE).join("x").exists());
    }
}
