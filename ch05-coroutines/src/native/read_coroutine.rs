//! Native twin of `read-coroutine` (Implementing a Simple Generator in Rust): the line reader as
//! a `for` loop with `?` and `yield`.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::ops::Coroutine;
use std::path::Path;

use crate::numbers::parse_line;

/// Opens `path` and returns a generator of its numbers, one per line, like
/// [`ReadCoroutine`](crate::read_coroutine::ReadCoroutine). A `?` inside the body completes the
/// coroutine with the `Err`, exactly as it returns from a function.
pub fn reader(path: &Path) -> io::Result<impl Coroutine<Yield = i32, Return = io::Result<()>>> {
    let lines = BufReader::new(File::open(path)?).lines();
    let reader = #[coroutine]
    move || {
        for (index, line) in lines.enumerate() {
            yield parse_line(&line?, index + 1)?;
        }
        Ok(())
    };
    Ok(reader)
}

#[cfg(test)]
mod tests {
    use std::ops::CoroutineState;
    use std::pin::Pin;

    use super::*;
    use crate::coroutine::drain;
    use crate::native::{Native, Std};
    use crate::read_coroutine::ReadCoroutine;

    /// Both readers over the same text: (yields, completed with Ok, error message).
    fn both(text: &str) -> io::Result<[(Vec<i32>, Option<String>); 2]> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("data.txt");
        std::fs::write(&path, text)?;
        let summary = |(yields, end): (Vec<i32>, io::Result<()>)| {
            (yields, end.err().map(|e| format!("{:?}: {e}", e.kind())))
        };
        let ours = drain(Pin::new(&mut ReadCoroutine::new(&path)?));
        let native = drain(Pin::new(&mut Native::new(reader(&path)?)));
        Ok([summary(ours), summary(native)])
    }

    #[test]
    fn same_yields_and_completion_for_good_and_bad_files() -> io::Result<()> {
        for text in ["1\n2\n3\n4\n5\n", "1\nx\n3\n", "", " 7\r\n"] {
            let [ours, native] = both(text)?;
            assert_eq!(ours, native, "{text:?}");
        }
        let [_, (yields, error)] = both("1\nx\n3\n")?;
        assert_eq!(yields, [1]);
        assert!(error.is_some_and(|e| e.starts_with("InvalidData") && e.contains("line 2")));
        Ok(())
    }

    #[test]
    fn the_books_loop_over_std_drives_our_read_coroutine() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("data.txt");
        std::fs::write(&path, "1\n2\n3\n4\n5\n")?;
        // The book's `main`, written against `std::ops::{Coroutine, CoroutineState}`.
        let mut coroutine = Std::new(ReadCoroutine::new(&path)?);
        let mut printed = Vec::new();
        loop {
            match Pin::new(&mut coroutine).resume(()) {
                CoroutineState::Yielded(number) => printed.push(number),
                CoroutineState::Complete(end) => {
                    end?;
                    break;
                }
            }
        }
        assert_eq!(printed, [1, 2, 3, 4, 5]);
        Ok(())
    }
}
