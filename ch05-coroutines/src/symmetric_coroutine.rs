//! `symmetric-coroutine` (book section "Calling a Coroutine from a Coroutine"): the book's own
//! trait, and a coroutine that resumes another itself.
//!
//! *Symmetric* coroutines hand control straight to one another; Rust's are *asymmetric*: a
//! resume always returns to whoever called it. The book defines its own trait,
//! [`SymmetricCoroutine`], whose one method turns an input into an output, implements it for the
//! reader and the writer of Stacking Our Coroutines, and still schedules them from `main`
//! ([`copy_in_main`]), which, as the book says, is not truly symmetric.
//!
//! One step further: a coroutine can own another and resume it itself. [`Pipe`] owns the reader
//! and the writer, and each `resume_with_input(())` reads one number and resumes the writer with
//! it from inside, so control goes reader → writer → back without `main` scheduling each step.
//! What Rust's ownership rules forbid is two coroutines that each hold the other; one owning the
//! other is fine.
//!
//! The demo copies a generated numbers.txt (20,000 lines by default) both ways, in a temp dir,
//! and checks that all three files match.
//!
//! Run it with `cargo run -p ch05 -- symmetric-coroutine [--count N] [--seed S]`.

use std::io::{self, Write};
use std::path::Path;
use std::pin::Pin;

use common::demo::{Args, DemoResult};

use crate::numbers;
use crate::read_coroutine::ReadCoroutine;
use crate::write_coroutine::WriteCoroutine;

/// The book's trait: one step that takes an input and gives an output, no `Yielded`/`Complete`.
pub trait SymmetricCoroutine {
    /// What the caller passes in.
    type Input;
    /// What one step gives back.
    type Output;

    /// Runs one step.
    fn resume_with_input(self: Pin<&mut Self>, input: Self::Input) -> Self::Output;
}

impl SymmetricCoroutine for ReadCoroutine {
    type Input = ();
    // Book: `Output = Option<i32>` via `line.parse().ok()`, so a bad line or a read error looked
    // like the end of the file and the copy stopped silently; ours passes the error on.
    type Output = io::Result<Option<i32>>;

    fn resume_with_input(mut self: Pin<&mut Self>, _input: ()) -> Self::Output {
        self.next_number().transpose()
    }
}

impl<W: Write + Unpin> SymmetricCoroutine for WriteCoroutine<W> {
    type Input = i32;
    // Book: `Output = ()` with `writeln!(..).unwrap()`, which panicked on a failed write.
    type Output = io::Result<()>;

    fn resume_with_input(mut self: Pin<&mut Self>, input: i32) -> Self::Output {
        writeln!(self.file_handle, "{input}")
    }
}

/// The book's `main`: main resumes the reader, then the writer with what it read, until the
/// reader has nothing more. Returns how many numbers moved.
pub fn copy_in_main(read_path: &Path, write_path: &Path) -> io::Result<usize> {
    let mut reader = ReadCoroutine::new(read_path)?;
    let mut writer = WriteCoroutine::new(write_path)?;
    let mut moved = 0;
    loop {
        let number = Pin::new(&mut reader).resume_with_input(())?;
        if let Some(num) = number {
            Pin::new(&mut writer).resume_with_input(num)?;
            moved += 1;
        } else {
            break;
        }
    }
    Ok(moved)
}

/// What one step of a [`Pipe`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Moved this number from the reader to the writer.
    Moved(i32),
    /// The reader reached the end of its file: nothing left to move.
    Done,
}

/// A coroutine that owns a reader and a writer and, on each step, resumes the writer itself with
/// what the reader gave: control passes from one to the other without returning to `main` in
/// between.
// Book: the prose says the borrowing rules stop the reader from passing control to the writer
// because both would need to reference each other; that holds for two coroutines that hold each
// other, not for one that owns the other, as `Pipe` owns the writer.
#[derive(Debug)]
pub struct Pipe {
    /// Where numbers come from.
    pub reader: ReadCoroutine,
    /// Where they go.
    pub writer: WriteCoroutine,
}

impl SymmetricCoroutine for Pipe {
    type Input = ();
    type Output = io::Result<Flow>;

    fn resume_with_input(self: Pin<&mut Self>, _input: ()) -> io::Result<Flow> {
        let this = Pin::get_mut(self);
        match Pin::new(&mut this.reader).resume_with_input(())? {
            Some(number) => {
                Pin::new(&mut this.writer).resume_with_input(number)?;
                Ok(Flow::Moved(number))
            }
            None => Ok(Flow::Done),
        }
    }
}

/// Copies through a [`Pipe`]: main only says "go on" until the pipe says it is done. Returns how
/// many numbers moved.
pub fn copy_with_pipe(read_path: &Path, write_path: &Path) -> io::Result<usize> {
    let mut pipe = Pipe {
        reader: ReadCoroutine::new(read_path)?,
        writer: WriteCoroutine::new(write_path)?,
    };
    let mut moved = 0;
    while let Flow::Moved(_) = Pin::new(&mut pipe).resume_with_input(())? {
        moved += 1;
    }
    Ok(moved)
}

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let count = args.value_in("count", numbers::DEFAULT_COUNT, 0..=2_000_000)?;
    let seed = args.value_or("seed", numbers::DEFAULT_SEED)?;
    args.finish()?;

    let dir = tempfile::tempdir()?;
    let input = dir.path().join("numbers.txt");
    numbers::write_numbers_file(&input, &numbers::random_numbers(count, seed))?;
    println!("numbers.txt: {count} numbers in {}", dir.path().display());

    let by_main = dir.path().join("output.txt");
    let moved = copy_in_main(&input, &by_main)?;
    println!("main resumes reader, then writer, each step: moved {moved} into output.txt");
    let by_pipe = dir.path().join("piped.txt");
    let piped = copy_with_pipe(&input, &by_pipe)?;
    println!(
        "a Pipe resumes the writer itself; main only resumes the pipe: moved {piped} into piped.txt"
    );

    let original = std::fs::read(&input)?;
    let all_match = std::fs::read(&by_main)? == original && std::fs::read(&by_pipe)? == original;
    println!(
        "numbers.txt, output.txt and piped.txt identical: {}",
        if all_match { "yes" } else { "NO" }
    );
    if !all_match {
        return Err("a copy differs from numbers.txt".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    #[test]
    fn both_copies_are_byte_identical_to_the_input() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let input = dir.path().join("numbers.txt");
        numbers::write_numbers_file(&input, &numbers::random_numbers(1_000, 8))?;
        let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
        assert_eq!(copy_in_main(&input, &a)?, 1_000);
        assert_eq!(copy_with_pipe(&input, &b)?, 1_000);
        assert_eq!(fs::read(&a)?, fs::read(&input)?);
        assert_eq!(fs::read(&b)?, fs::read(&input)?);
        Ok(())
    }

    #[test]
    fn a_bad_line_is_an_error_naming_it_not_a_silent_end() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let input = dir.path().join("numbers.txt");
        fs::write(&input, "1\n2\n3\nfour\n5\n")?;
        for copy in [copy_in_main, copy_with_pipe] {
            let out = dir.path().join("out.txt");
            let error = copy(&input, &out).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidData);
            assert!(error.to_string().contains("line 4"), "{error}");
            assert_eq!(fs::read_to_string(&out)?, "1\n2\n3\n");
            fs::remove_file(&out)?;
        }
        Ok(())
    }

    #[test]
    fn the_pipe_says_done_once_at_the_end_of_the_file() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let input = dir.path().join("numbers.txt");
        fs::write(&input, "10\n20\n30\n")?;
        let mut pipe = Pipe {
            reader: ReadCoroutine::new(&input)?,
            writer: WriteCoroutine::new(dir.path().join("out.txt"))?,
        };
        let mut steps = Vec::new();
        loop {
            let step = Pin::new(&mut pipe).resume_with_input(())?;
            steps.push(step);
            if step == Flow::Done {
                break;
            }
        }
        assert_eq!(
            steps,
            [
                Flow::Moved(10),
                Flow::Moved(20),
                Flow::Moved(30),
                Flow::Done
            ]
        );
        Ok(())
    }
}
