//! `load-state-file` (book section "Implementing State Recovery for Actors"): loading saved state
//! must tell "nothing saved yet" from "what was saved is damaged".
//!
//! The book's `read_data_from_file` opens the file, reads it and parses the JSON; its `load_map`
//! wraps it and, on *any* error, prints the error and starts with an empty map. That treats a
//! corrupt file like a missing one, and the writer then overwrites the damaged file with the next
//! write: corruption quietly becomes total loss.
//!
//! Ours keeps both functions and their roles, with a typed error:
//! - a missing file is a clean start (there is simply nothing saved yet);
//! - a file that does not parse is [`LoadError::Corrupt`], naming the file, line and column; with
//!   [`OnCorrupt::Fail`] (the default) the system refuses to start, with [`OnCorrupt::Quarantine`] the
//!   file is renamed to `data.json.corrupt`, untouched, and the system starts empty, saying so;
//! - any other failure to read (the path is a directory, no permission) is [`LoadError::Io`].
//!
//! `cargo run -p ch08 -- load-state-file` tries five cases in a temporary directory, one line each.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use common::demo::{Args, DemoResult};

use crate::persist::{CORRUPT_FILE, DATA_FILE};

/// Reads and parses a state file: a JSON object whose values are arrays of bytes.
///
/// A missing file is returned as [`LoadError::Io`] with [`io::ErrorKind::NotFound`]
/// ([`LoadError::is_missing`]); deciding that this means "start empty" is [`load_map`]'s job, as in
/// the book.
pub async fn read_data_from_file(file_path: &Path) -> Result<HashMap<String, Vec<u8>>, LoadError> {
    // Book: reads with `read_to_string` and converts the JSON error into an `io::Error`. Reading
    // bytes and parsing them with `from_slice` makes non-UTF-8 data a parse error like any other
    // garbage, and the typed `LoadError` keeps "corrupt" apart from "could not read".
    let contents = tokio::fs::read(file_path)
        .await
        .map_err(|source| LoadError::Io {
            path: file_path.to_path_buf(),
            source,
        })?;
    let data: HashMap<String, Vec<u8>> =
        serde_json::from_slice(&contents).map_err(|source| LoadError::Corrupt {
            path: file_path.to_path_buf(),
            source,
        })?;
    Ok(data)
}

/// Loads the state file for a starting store: missing means empty, corrupt means `on_corrupt`.
///
/// Returns the map and what happened ([`LoadOutcome`], whose `Display` is the log line).
pub async fn load_map(file_path: &Path, on_corrupt: OnCorrupt) -> Result<Loaded, LoadError> {
    // Book: every error, corruption included, printed and replaced by an empty map, which the
    // writer then saves over the damaged file; and the whole map is printed, flooding logs with
    // every stored value. Ours starts empty only when there is no file, and logs the key count.
    match read_data_from_file(file_path).await {
        Ok(map) => Ok(Loaded {
            outcome: LoadOutcome::Loaded {
                path: file_path.to_path_buf(),
                keys: map.len(),
            },
            map,
        }),
        Err(e) if e.is_missing() => Ok(Loaded {
            map: HashMap::new(),
            outcome: LoadOutcome::Missing {
                path: file_path.to_path_buf(),
            },
        }),
        Err(e @ LoadError::Corrupt { .. }) if on_corrupt == OnCorrupt::Quarantine => {
            let moved_to = quarantine(file_path).await?;
            Ok(Loaded {
                map: HashMap::new(),
                outcome: LoadOutcome::Quarantined { error: e, moved_to },
            })
        }
        Err(e) => Err(e),
    }
}

/// What to do when the state file exists but does not parse.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnCorrupt {
    /// Refuse to start: the error names the file and where parsing failed. The file is untouched.
    #[default]
    Fail,
    /// Move the file aside (`data.json.corrupt`, or `.corrupt.2`, … if that exists), start empty
    /// and say so. The bad bytes are kept for whoever investigates.
    Quarantine,
}

/// Why a state file could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// The file could not be read (or, quarantining, moved).
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The file was read but is not a JSON object of byte arrays.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parse error, with line and column.
        source: serde_json::Error,
    },
}

impl LoadError {
    /// Whether the file simply does not exist (a clean start, not a failure).
    pub fn is_missing(&self) -> bool {
        matches!(self, LoadError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            LoadError::Io { path, .. } | LoadError::Corrupt { path, .. } => path,
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io { path, source } => {
                write!(f, "could not read {}: {source}", path.display())
            }
            LoadError::Corrupt { path, source } => {
                write!(f, "{} is corrupt: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Io { source, .. } => Some(source),
            LoadError::Corrupt { source, .. } => Some(source),
        }
    }
}

/// A loaded map and how it was obtained.
#[derive(Debug)]
pub struct Loaded {
    /// The state to start from.
    pub map: HashMap<String, Vec<u8>>,
    /// What happened, for the log.
    pub outcome: LoadOutcome,
}

/// How [`load_map`] obtained its map; `Display` is the log line.
#[derive(Debug)]
pub enum LoadOutcome {
    /// No state file: a clean start.
    Missing {
        /// The file that is not there.
        path: PathBuf,
    },
    /// The file parsed.
    Loaded {
        /// The file.
        path: PathBuf,
        /// How many keys it held.
        keys: usize,
    },
    /// The file was corrupt and has been moved aside; the store starts empty.
    Quarantined {
        /// Why it was set aside.
        error: LoadError,
        /// Where it is now.
        moved_to: PathBuf,
    },
}

impl LoadOutcome {
    /// How many keys the store starts with.
    pub fn keys(&self) -> usize {
        match self {
            LoadOutcome::Loaded { keys, .. } => *keys,
            _ => 0,
        }
    }
}

impl fmt::Display for LoadOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadOutcome::Missing { path } => {
                write!(f, "no {} yet: starting empty", path.display())
            }
            LoadOutcome::Loaded { path, keys } => {
                write!(f, "loaded {} from {}", key_count(*keys), path.display())
            }
            LoadOutcome::Quarantined { error, moved_to } => write!(
                f,
                "{error}; moved it to {} and starting empty",
                moved_to.display()
            ),
        }
    }
}

/// `1 key`, `2 keys`.
pub fn key_count(n: usize) -> String {
    format!("{n} key{}", if n == 1 { "" } else { "s" })
}

/// Renames a corrupt file to the first free `data.json.corrupt[.N]` beside it.
async fn quarantine(file_path: &Path) -> Result<PathBuf, LoadError> {
    let dir = file_path.parent().unwrap_or(Path::new("."));
    let io_error = |source| LoadError::Io {
        path: file_path.to_path_buf(),
        source,
    };
    for n in 1.. {
        let name = match n {
            1 => CORRUPT_FILE.to_string(),
            n => format!("{CORRUPT_FILE}.{n}"),
        };
        let target = dir.join(name);
        // Never overwrite an earlier quarantined file: it may be the only copy of older data.
        if tokio::fs::try_exists(&target).await.map_err(io_error)? {
            continue;
        }
        tokio::fs::rename(file_path, &target)
            .await
            .map_err(io_error)?;
        return Ok(target);
    }
    unreachable!("an unbounded range always yields another name")
}

/// Runs the demo: five cases in a temporary directory, one line each.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    let dir = tempfile::tempdir()?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            for (label, line) in five_cases(dir.path()).await? {
                println!("{label:<28} {line}");
            }
            Ok(())
        })
}

/// The demo's cases: each label with the line `load_map` produced (its outcome or its error).
pub async fn five_cases(dir: &Path) -> io::Result<Vec<(&'static str, String)>> {
    let path = dir.join(DATA_FILE);
    let mut lines = Vec::new();
    let mut attempt = async |label: &'static str, contents: Option<&[u8]>, on_corrupt| {
        if let Some(bytes) = contents {
            tokio::fs::write(&path, bytes).await?;
        }
        let line = match load_map(&path, on_corrupt).await {
            Ok(loaded) => format!("ok: {}", loaded.outcome),
            Err(e) => format!("error: {e}"),
        };
        lines.push((label, line));
        io::Result::Ok(())
    };
    attempt("missing file", None, OnCorrupt::Fail).await?;
    attempt("`{}`", Some(b"{}"), OnCorrupt::Fail).await?;
    let valid = br#"{"hello":[119,111,114,108,100]}"#;
    attempt("one key", Some(valid), OnCorrupt::Fail).await?;
    let truncated = br#"{"hello":[119,111,11"#;
    attempt("truncated, Fail", Some(truncated), OnCorrupt::Fail).await?;
    attempt("truncated, Quarantine", None, OnCorrupt::Quarantine).await?;
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn load_bytes(
        bytes: &[u8],
        on_corrupt: OnCorrupt,
    ) -> (tempfile::TempDir, Result<Loaded, LoadError>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DATA_FILE);
        std::fs::write(&path, bytes).unwrap();
        let result = load_map(&path, on_corrupt).await;
        (dir, result)
    }

    #[tokio::test]
    async fn a_missing_file_is_a_clean_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DATA_FILE);
        let err = read_data_from_file(&path).await.unwrap_err();
        assert!(err.is_missing());
        let loaded = load_map(&path, OnCorrupt::Fail).await.unwrap();
        assert!(loaded.map.is_empty());
        assert!(matches!(loaded.outcome, LoadOutcome::Missing { .. }));
        assert!(!path.exists(), "loading creates nothing");
    }

    #[tokio::test]
    async fn the_books_empty_object_and_a_valid_file_load() {
        let (_dir, loaded) = load_bytes(b"{}", OnCorrupt::Fail).await;
        let loaded = loaded.unwrap();
        assert!(loaded.map.is_empty());
        assert_eq!(loaded.outcome.keys(), 0);

        let (_dir, loaded) =
            load_bytes(br#"{"hello":[119,111,114,108,100]}"#, OnCorrupt::Fail).await;
        let loaded = loaded.unwrap();
        assert_eq!(
            loaded.map.get("hello").map(Vec::as_slice),
            Some(&b"world"[..])
        );
        assert_eq!(
            loaded.outcome.to_string().split(" from ").next(),
            Some("loaded 1 key")
        );
    }

    #[tokio::test]
    async fn garbage_of_every_kind_is_corrupt_and_the_message_names_the_file() {
        let cases: [&[u8]; 7] = [
            b"",
            b"\xff\xfe\x00 not utf-8",
            b"[1,2]",
            br#"{"k":[300]}"#,
            br#"{"k":"x"}"#,
            br#"{"hello":[119,111,11"#,
            b"{} trailing",
        ];
        for bytes in cases {
            let (dir, result) = load_bytes(bytes, OnCorrupt::Fail).await;
            let err = result.expect_err("garbage must not load");
            assert!(
                matches!(err, LoadError::Corrupt { .. }),
                "{bytes:?}: {err:?}"
            );
            let message = err.to_string();
            assert!(
                message.contains(&dir.path().join(DATA_FILE).display().to_string()),
                "{message}"
            );
            assert!(message.contains("line 1 column"), "{message}");
            assert_eq!(
                std::fs::read(dir.path().join(DATA_FILE)).unwrap(),
                bytes,
                "Fail leaves the file alone"
            );
        }
    }

    #[tokio::test]
    async fn a_directory_in_place_of_the_file_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DATA_FILE);
        std::fs::create_dir(&path).unwrap();
        for on_corrupt in [OnCorrupt::Fail, OnCorrupt::Quarantine] {
            let err = load_map(&path, on_corrupt).await.unwrap_err();
            assert!(matches!(err, LoadError::Io { .. }), "{err:?}");
            assert!(!err.is_missing());
            assert_eq!(err.path(), path);
        }
    }

    #[tokio::test]
    async fn quarantine_keeps_the_bad_bytes_and_never_overwrites_an_earlier_copy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DATA_FILE);
        for (round, bytes) in [&b"{oops"[..], &b"[1]"[..]].into_iter().enumerate() {
            std::fs::write(&path, bytes).unwrap();
            let loaded = load_map(&path, OnCorrupt::Quarantine).await.unwrap();
            assert!(loaded.map.is_empty());
            let LoadOutcome::Quarantined { moved_to, error } = &loaded.outcome else {
                panic!("expected a quarantine, got {:?}", loaded.outcome);
            };
            let expected = match round {
                0 => dir.path().join(CORRUPT_FILE),
                _ => dir.path().join(format!("{CORRUPT_FILE}.2")),
            };
            assert_eq!(moved_to, &expected);
            assert!(matches!(error, LoadError::Corrupt { .. }));
            assert_eq!(std::fs::read(moved_to).unwrap(), bytes);
            assert!(!path.exists(), "the corrupt file is no longer in the way");
            assert!(loaded.outcome.to_string().contains("starting empty"));
        }
        assert_eq!(
            std::fs::read(dir.path().join(CORRUPT_FILE)).unwrap(),
            b"{oops"
        );
    }

    #[tokio::test]
    async fn the_demo_shows_the_five_outcomes_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let lines = five_cases(dir.path()).await.unwrap();
        let labels: Vec<_> = lines.iter().map(|(label, _)| *label).collect();
        assert_eq!(
            labels,
            [
                "missing file",
                "`{}`",
                "one key",
                "truncated, Fail",
                "truncated, Quarantine"
            ]
        );
        assert!(lines[0].1.starts_with("ok: no "), "{}", lines[0].1);
        assert!(
            lines[1].1.starts_with("ok: loaded 0 keys"),
            "{}",
            lines[1].1
        );
        assert!(
            lines[2].1.starts_with("ok: loaded 1 key from"),
            "{}",
            lines[2].1
        );
        assert!(
            lines[3].1.starts_with("error: ") && lines[3].1.contains("is corrupt"),
            "{}",
            lines[3].1
        );
        assert!(
            lines[4].1.contains("data.json.corrupt and starting empty"),
            "{}",
            lines[4].1
        );
    }
}
