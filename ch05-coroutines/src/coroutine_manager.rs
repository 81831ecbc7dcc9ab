//! `coroutine-manager` (book section "Stacking Our Coroutines"): a reader coroutine piped into a
//! writer coroutine.
//!
//! [`CoroutineManager`] owns a [`ReadCoroutine`] and a [`WriteCoroutine`] and copies a file by
//! resuming them in turn: the reader yields a number, and the manager passes it to the writer as
//! its resume argument. Only one line is in memory at a time and both files stay open throughout,
//! so the same loop would copy a file of any size. The loop itself is [`transfer`], generic over
//! the chapter's `Coroutine` trait, so it pipes any reader into any writer (with the `nightly`
//! feature, the native `#[coroutine]` twins too).
//!
//! The demo generates numbers.txt in a temp dir (20,000 seeded numbers by default; the book reuses
//! its 200,000-line file from Why Use Coroutines?), copies it to output.txt, checks the copy, and
//! draws the first four turns of each coroutine: reader and writer alternating on one thread.
//!
//! Run it with `cargo run -p ch05 -- coroutine-manager [--count N] [--seed S]`.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::time::Instant;

use common::Timeline;
use common::demo::{Args, DemoResult};
use common::timeline::format_duration;

use crate::coroutine::{Coroutine, CoroutineState};
use crate::numbers;
use crate::read_coroutine::ReadCoroutine;
// Book: the prose says `WriteCoroutine` was rewritten to take a path, but the listing is the
// first one again (which already took one); we import that one rather than keep a copy.
use crate::write_coroutine::WriteCoroutine;

/// Copies a file of numbers through two coroutines.
#[derive(Debug)]
pub struct CoroutineManager {
    reader: ReadCoroutine,
    writer: WriteCoroutine,
}

impl CoroutineManager {
    /// Opens `read_path` for reading and `write_path` for appending (created if missing).
    pub fn new(read_path: impl AsRef<Path>, write_path: impl AsRef<Path>) -> io::Result<Self> {
        let reader = ReadCoroutine::new(read_path)?;
        let writer = WriteCoroutine::new(write_path)?;
        Ok(Self { reader, writer })
    }

    /// Moves every number from the reader to the writer; returns how many moved.
    // Book: `run` returned nothing, ignored what the writer returned and stopped silently at the
    // first bad line; ours returns `io::Result<usize>`: the count, or the first error.
    pub fn run(&mut self) -> io::Result<usize> {
        // Book: the prose says pinning keeps both coroutines in memory for the program's life;
        // both types are `Unpin`, so `Pin::new` pins nothing and only gives `resume` the
        // `Pin<&mut Self>` it takes.
        transfer(Pin::new(&mut self.reader), Pin::new(&mut self.writer))
    }
}

/// The manager's loop: resume the reader; pass each number it yields to the writer; stop when
/// the reader completes. Returns how many numbers moved, or the first error from either side.
pub fn transfer<R, W>(mut reader: Pin<&mut R>, mut writer: Pin<&mut W>) -> io::Result<usize>
where
    R: Coroutine<(), Yield = i32, Return = io::Result<()>> + ?Sized,
    W: Coroutine<i32, Yield = (), Return = io::Error> + ?Sized,
{
    let mut moved = 0;
    loop {
        match reader.as_mut().resume(()) {
            CoroutineState::Yielded(number) => {
                if let CoroutineState::Complete(error) = writer.as_mut().resume(number) {
                    return Err(error);
                }
                moved += 1;
            }
            CoroutineState::Complete(end) => return end.map(|()| moved),
        }
    }
}

/// Wraps a coroutine and records each of its first `turns` resumes as a span in row `row` of a
/// timeline; after that it only forwards. (For the chart; not part of the lesson.)
#[derive(Debug)]
pub struct RecordTurns<C> {
    inner: C,
    timeline: Timeline,
    row: String,
    turns: usize,
}

impl<C> RecordTurns<C> {
    /// Traces the first `turns` resumes of `inner`.
    pub fn new(inner: C, timeline: &Timeline, row: impl Into<String>, turns: usize) -> Self {
        RecordTurns {
            inner,
            timeline: timeline.clone(),
            row: row.into(),
            turns,
        }
    }
}

impl<C: Coroutine<A> + Unpin, A> Coroutine<A> for RecordTurns<C> {
    type Yield = C::Yield;
    type Return = C::Return;

    fn resume(self: Pin<&mut Self>, arg: A) -> CoroutineState<C::Yield, C::Return> {
        let this = Pin::get_mut(self);
        if this.turns == 0 {
            return Pin::new(&mut this.inner).resume(arg);
        }
        this.turns -= 1;
        let _span = this.timeline.span(this.row.clone());
        Pin::new(&mut this.inner).resume(arg)
    }
}

/// Copies `from` to `to` like [`CoroutineManager::run`], recording the first `turns` resumes of
/// each coroutine on `timeline`.
pub fn traced_copy(from: &Path, to: &Path, timeline: &Timeline, turns: usize) -> io::Result<usize> {
    let mut reader = RecordTurns::new(ReadCoroutine::new(from)?, timeline, "reader", turns);
    let mut writer = RecordTurns::new(WriteCoroutine::new(to)?, timeline, "writer", turns);
    transfer(Pin::new(&mut reader), Pin::new(&mut writer))
}

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let count = args.value_in("count", numbers::DEFAULT_COUNT, 0..=2_000_000)?;
    let seed = args.value_or("seed", numbers::DEFAULT_SEED)?;
    args.finish()?;

    // Book: numbers.txt and output.txt in the working directory, output in append mode, so every
    // rerun added another full copy; ours are fresh files in a temp dir.
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("numbers.txt");
    let output = dir.path().join("output.txt");
    numbers::write_numbers_file(&input, &numbers::random_numbers(count, seed))?;
    let size = std::fs::metadata(&input)?.len();
    println!(
        "numbers.txt: {count} numbers, {size} bytes, in {}",
        dir.path().display()
    );

    let start = Instant::now();
    let moved = CoroutineManager::new(&input, &output)?.run()?;
    let elapsed = start.elapsed();
    let same = std::fs::read(&input)? == std::fs::read(&output)?;
    println!("moved {moved} numbers in {}", format_duration(elapsed));
    println!(
        "output.txt identical to numbers.txt: {}",
        if same { "yes" } else { "NO" }
    );
    if !same {
        return Err("output.txt differs from numbers.txt".into());
    }

    let timeline = Timeline::new();
    traced_copy(&input, &dir.path().join("traced.txt"), &timeline, 4)?;
    println!("the first 4 turns of each coroutine (a second copy, traced):");
    print!("{}", timeline.render());

    #[cfg(feature = "nightly")]
    {
        let native_out = dir.path().join("native.txt");
        let mut reader = crate::native::Native::new(crate::native::reader(&input)?);
        let mut writer = crate::native::Native::new(crate::native::writer(&native_out)?);
        let native_moved = transfer(Pin::new(&mut reader), Pin::new(&mut writer))?;
        if native_moved != moved || std::fs::read(&native_out)? != std::fs::read(&input)? {
            return Err("the native coroutines made a different copy".into());
        }
        println!("nightly: native coroutines moved the same {native_moved} values");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn lines(numbers: impl IntoIterator<Item = i32>) -> String {
        numbers.into_iter().map(|n| format!("{n}\n")).collect()
    }

    #[test]
    fn a_thousand_lines_are_copied_byte_for_byte() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let (input, output) = (dir.path().join("in.txt"), dir.path().join("out.txt"));
        numbers::write_numbers_file(&input, &numbers::random_numbers(1_000, 2))?;
        assert_eq!(CoroutineManager::new(&input, &output)?.run()?, 1_000);
        assert_eq!(fs::read(&input)?, fs::read(&output)?);
        Ok(())
    }

    #[test]
    fn an_empty_input_moves_nothing() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let (input, output) = (dir.path().join("in.txt"), dir.path().join("out.txt"));
        fs::write(&input, "")?;
        assert_eq!(CoroutineManager::new(&input, &output)?.run()?, 0);
        assert_eq!(fs::read(&output)?, b"");
        Ok(())
    }

    #[test]
    fn a_bad_line_500_stops_the_copy_after_499_lines() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let (input, output) = (dir.path().join("in.txt"), dir.path().join("out.txt"));
        let text = format!("{}oops\n{}", lines(1..500), lines(500..600));
        fs::write(&input, text)?;
        let error = CoroutineManager::new(&input, &output)?.run().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(error.to_string().contains("line 500"), "{error}");
        assert_eq!(fs::read_to_string(&output)?, lines(1..500));
        Ok(())
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_output_is_an_error() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let input = dir.path().join("in.txt");
        fs::write(&input, "1\n2\n")?;
        let error = CoroutineManager::new(&input, "/dev/full")?
            .run()
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::StorageFull);
        Ok(())
    }

    #[test]
    fn the_traced_turns_alternate_reader_and_writer_on_one_thread() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let (input, output) = (dir.path().join("in.txt"), dir.path().join("out.txt"));
        fs::write(&input, lines(1..=10))?;
        let timeline = Timeline::new();
        assert_eq!(traced_copy(&input, &output, &timeline, 4)?, 10);
        let spans = timeline.spans();
        let rows: Vec<&str> = spans.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            rows,
            [
                "reader", "writer", "reader", "writer", "reader", "writer", "reader", "writer"
            ]
        );
        assert!(spans.windows(2).all(|w| w[0].end <= w[1].start));
        assert!(spans.iter().all(|s| s.thread == spans[0].thread));
        assert_eq!(fs::read(&input)?, fs::read(&output)?);
        Ok(())
    }
}
