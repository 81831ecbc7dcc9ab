//! Native twin of `write-coroutine` (Why Use Coroutines?): the file writer as a `#[coroutine]`
//! closure that takes each number as its resume argument.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::ops::{Coroutine, CoroutineState};
use std::path::Path;
use std::pin::Pin;

/// Opens `path` for appending and returns a coroutine that writes each number it is resumed
/// with, like [`WriteCoroutine`](crate::write_coroutine::WriteCoroutine): it yields `()` after
/// each write and completes with the error if one fails.
///
/// The first resume argument arrives as the closure's parameter; every later one is the value
/// of the `yield` expression the body is paused at.
pub fn writer(path: &Path) -> io::Result<impl Coroutine<i32, Yield = (), Return = io::Error>> {
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    // An attribute on a closure in a `let` needs `stmt_expr_attributes` (lib.rs enables it).
    let writer = #[coroutine]
    move |first: i32| {
        let mut number = first;
        loop {
            if let Err(error) = writeln!(file, "{number}") {
                return error;
            }
            number = yield;
        }
    };
    Ok(writer)
}

/// Writes `numbers` to `path` through [`writer`] (the demo's and the tests' loop).
pub fn write_numbers(path: &Path, numbers: &[i32]) -> io::Result<()> {
    let mut coroutine = writer(path)?;
    for &number in numbers {
        if let CoroutineState::Complete(error) = Pin::new(&mut coroutine).resume(number) {
            return Err(error);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::numbers::random_numbers;
    use crate::write_coroutine::write_with_coroutine;

    #[test]
    fn the_same_numbers_give_a_byte_identical_file() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let numbers = random_numbers(2_000, 3);
        let (native, ours) = (dir.path().join("native.txt"), dir.path().join("ours.txt"));
        write_numbers(&native, &numbers)?;
        write_with_coroutine(&ours, &numbers)?;
        assert_eq!(fs::read(&native)?, fs::read(&ours)?);
        Ok(())
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_completes_the_native_writer_with_the_error() -> io::Result<()> {
        let err = write_numbers(Path::new("/dev/full"), &[7]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        Ok(())
    }
}
