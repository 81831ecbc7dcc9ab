//! `read-coroutine` (book section "Implementing a Simple Generator in Rust"): a generator that
//! streams a file, one parsed line per resume.
//!
//! [`ReadCoroutine`] holds only an iterator over the file's lines, so however big the file, one
//! line is in memory at a time. Each resume reads the next line and yields it as an `i32`; the
//! coroutine completes when the file ends. Its completion value says *how* the stream ended:
//! `Ok(())` at the end of the file, or the error (a line that is not a number, a read error).
//!
//! The demo writes the book's five-line data.txt into a temp dir (the book has the reader make it
//! by hand) and drives the coroutine with the book's loop. `--file PATH` reads your own file
//! instead; a missing file or a bad line is reported as an error (exit code 1), never a panic.
//! With the `nightly` feature, `native::reader` is the same generator written with `yield`, and
//! `native::Std` lets a loop written against `std::ops::Coroutine` drive our struct.
//!
//! Run it with `cargo run -p ch05 -- read-coroutine [--file PATH]`.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::pin::Pin;

use common::demo::{Args, DemoResult};

use crate::coroutine::{Coroutine, CoroutineState, resumed_after_completion};
use crate::numbers::parse_line;

/// Yields the numbers of a file, one per line, and completes with how the file ended.
#[derive(Debug)]
pub struct ReadCoroutine {
    lines: io::Lines<BufReader<File>>,
    /// The number of the last line read (from 1), for error messages.
    line_number: usize,
    /// Set once it has completed: a further resume is a bug.
    done: bool,
}

impl ReadCoroutine {
    /// Opens `path` for reading; nothing is read until the first resume.
    pub fn new(path: impl AsRef<Path>) -> io::Result<Self> {
        let file = File::open(path)?;
        let reader = BufReader::new(file);
        let lines = reader.lines();
        Ok(Self {
            lines,
            line_number: 0,
            done: false,
        })
    }

    /// Reads and parses the next line: `Some(Ok(n))`, `Some(Err(..))` for a bad line or a read
    /// error, `None` at the end of the file. (Shared with `symmetric-coroutine`.)
    pub(crate) fn next_number(&mut self) -> Option<io::Result<i32>> {
        let line = self.lines.next()?;
        self.line_number += 1;
        Some(line.and_then(|line| parse_line(&line, self.line_number)))
    }
}

// Book: the prose says the coroutine "contains a `Yield` statement"; this struct returns
// `CoroutineState::Yielded`, and only a native coroutine (the nightly twin) has a `yield`.
impl Coroutine<()> for ReadCoroutine {
    type Yield = i32;
    // Book: `Return = ()`, so a line that is not a number, a read error and the end of the file
    // all ended the stream the same way (a bad line silently truncated it); ours completes with
    // `Ok(())` at the end and with the error otherwise, naming the line.
    type Return = io::Result<()>;

    fn resume(mut self: Pin<&mut Self>, _arg: ()) -> CoroutineState<i32, io::Result<()>> {
        if self.done {
            resumed_after_completion();
        }
        match self.next_number() {
            Some(Ok(number)) => CoroutineState::Yielded(number),
            Some(Err(error)) => {
                self.done = true;
                CoroutineState::Complete(Err(error))
            }
            None => {
                self.done = true;
                CoroutineState::Complete(Ok(()))
            }
        }
    }
}

/// The book's data.txt: the numbers 1 to 5, one per line.
pub const DATA: &str = "1\n2\n3\n4\n5\n";

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let file: Option<PathBuf> = args.value("file")?;
    args.finish()?;

    // Book: ./data.txt, made by hand in the working directory; ours is written into a temp dir,
    // or `--file` names the reader's own.
    let (_dir, path) = match file {
        Some(path) => (None, path),
        None => {
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("data.txt");
            std::fs::write(&path, DATA)?;
            (Some(dir), path)
        }
    };
    println!("reading {}", path.display());

    // Book: `ReadCoroutine::new("./data.txt")` without `?` gave an `io::Result`, which has no
    // `resume`, so the listing did not compile.
    let mut coroutine =
        ReadCoroutine::new(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    loop {
        match Pin::new(&mut coroutine).resume(()) {
            CoroutineState::Yielded(number) => println!("{number}"),
            CoroutineState::Complete(Ok(())) => {
                println!("complete: end of file");
                break;
            }
            CoroutineState::Complete(Err(error)) => {
                return Err(format!("{}: {error}", path.display()).into());
            }
        }
    }

    #[cfg(feature = "nightly")]
    {
        let ours = crate::coroutine::drain(Pin::new(&mut ReadCoroutine::new(&path)?));
        let mut native = crate::native::Native::new(crate::native::reader(&path)?);
        let native = crate::coroutine::drain(Pin::new(&mut native));
        if native.0 != ours.0 || native.1.is_ok() != ours.1.is_ok() {
            return Err("the native reader yielded different values".into());
        }
        println!(
            "nightly: native coroutine yielded the same {} values",
            native.0.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coroutine::drain;

    /// Writes `text` to a file in a fresh temp dir and drains a `ReadCoroutine` over it.
    fn read_all(text: &str) -> io::Result<(Vec<i32>, io::Result<()>)> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("data.txt");
        std::fs::write(&path, text)?;
        let mut coroutine = ReadCoroutine::new(&path)?;
        Ok(drain(Pin::new(&mut coroutine)))
    }

    #[test]
    fn one_to_five_then_complete_ok() -> io::Result<()> {
        let (numbers, end) = read_all(DATA)?;
        assert_eq!(numbers, [1, 2, 3, 4, 5]);
        assert!(end.is_ok());
        Ok(())
    }

    #[test]
    fn a_bad_line_completes_with_invalid_data_naming_it() -> io::Result<()> {
        let (numbers, end) = read_all("1\nx\n3\n")?;
        assert_eq!(numbers, [1]);
        let error = end.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(error.to_string().contains("line 2"), "{error}");
        Ok(())
    }

    #[test]
    fn crlf_and_spaces_parse() -> io::Result<()> {
        let (numbers, end) = read_all(" 1\r\n-2 \r\n3")?;
        assert_eq!(numbers, [1, -2, 3]);
        assert!(end.is_ok());
        Ok(())
    }

    #[test]
    fn an_empty_file_completes_at_once() -> io::Result<()> {
        let (numbers, end) = read_all("")?;
        assert!(numbers.is_empty());
        assert!(end.is_ok());
        Ok(())
    }

    #[test]
    fn a_missing_file_is_not_found() {
        let dir = tempfile::tempdir().expect("temp dir");
        let error = ReadCoroutine::new(dir.path().join("nope.txt")).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    #[should_panic(expected = "resumed after completion")]
    fn a_resume_after_complete_panics() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("data.txt");
        std::fs::write(&path, "1\n").expect("write");
        let mut coroutine = ReadCoroutine::new(&path).expect("open");
        let _ = drain(Pin::new(&mut coroutine));
        let _ = Pin::new(&mut coroutine).resume(());
    }
}
