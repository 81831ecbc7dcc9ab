//! `cargo bench -p ch05`: what the speed-up of "Why Use Coroutines?" is made of.
//!
//! The book times 200,000 numbers written by reopening the file for each one (4.39 s) against a
//! `WriteCoroutine` that keeps the file open (622.6 ms). This bench times, for the same seeded
//! numbers (20,000 by default; for the book's size,
//! `cargo bench -p ch05 --bench write_numbers -- --count 200000`):
//!
//! - reopening the file for every number (`append_number_to_file`);
//! - a `WriteCoroutine` holding the `File`;
//! - a plain loop holding the `File`: what the coroutine's speed-up really comes from;
//! - a `WriteCoroutine` over a `BufWriter<File>`, flushed explicitly so an error is not lost in
//!   `drop`: each unbuffered `writeln!` costs two or three `write` system calls;
//!
//! and then 10 million resumes of a hand-written state machine against 10 million `next` calls
//! of the equivalent iterator, both inlined and both through a call per step. Each write figure
//! is the median of 5 runs, each step figure of 11; every write run starts from a fresh file in
//! a temp dir. Plain `std::time::Instant`, no bench framework (`harness = false`).

use std::fs::OpenOptions;
use std::hint::black_box;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::pin::Pin;
use std::time::{Duration, Instant};

use ch05::coroutine::{Coroutine, CoroutineState};
use ch05::coroutine_state_machine::RunningTotal;
use ch05::numbers::{DEFAULT_COUNT, DEFAULT_SEED, random_numbers};
use ch05::write_coroutine::{WriteCoroutine, write_reopening, write_with_coroutine};

const RUNS: usize = 5;
const RESUMES: u64 = 10_000_000;
const STEP_RUNS: usize = 11;

/// A plain loop over a held `File`: no coroutine at all.
fn write_held_file(path: &Path, numbers: &[i32]) -> io::Result<()> {
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    for &number in numbers {
        writeln!(file, "{number}")?;
    }
    Ok(())
}

/// The coroutine over a `BufWriter`; flushed at the end so a write error is returned, not lost.
fn write_buffered_coroutine(path: &Path, numbers: &[i32]) -> io::Result<()> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    let mut coroutine = WriteCoroutine::from_writer(BufWriter::new(file));
    for &number in numbers {
        if let CoroutineState::Complete(error) = Pin::new(&mut coroutine).resume(number) {
            return Err(error);
        }
    }
    coroutine.into_inner().flush()
}

/// The iterator a programmer on stable would write for `RunningTotal`.
struct RunningTotalIter {
    i: u64,
    n: u64,
    total: u64,
}

impl Iterator for RunningTotalIter {
    type Item = u64;
    fn next(&mut self) -> Option<u64> {
        if self.i >= self.n {
            return None;
        }
        self.i += 1;
        self.total += self.i;
        Some(self.total)
    }
}

/// A copy of `RunningTotal` (the enum state machine of `coroutine-state-machine`), defined here
/// so that its `resume` and the iterator's `next` get the same treatment from the optimiser: a
/// non-generic function of another crate is not inlined without LTO, so ch05's own
/// `RunningTotal` (the last row) pays a call per step that the local iterator would not.
enum LocalRunningTotal {
    Start { n: u64 },
    Suspended { i: u64, n: u64, total: u64 },
    Done,
}

impl Coroutine for LocalRunningTotal {
    type Yield = u64;
    type Return = u64;

    fn resume(self: Pin<&mut Self>, (): ()) -> CoroutineState<u64, u64> {
        let this = Pin::get_mut(self);
        let (i, n, total) = match *this {
            LocalRunningTotal::Start { n } => (1, n, 0),
            LocalRunningTotal::Suspended { i, n, total } => (i + 1, n, total),
            LocalRunningTotal::Done => ch05::coroutine::resumed_after_completion(),
        };
        if i > n {
            *this = LocalRunningTotal::Done;
            return CoroutineState::Complete(total);
        }
        let total = total + i;
        *this = LocalRunningTotal::Suspended { i, n, total };
        CoroutineState::Yielded(total)
    }
}

/// The median of `RUNS` timings of `work`; `prepare` runs before each, untimed.
fn median(
    mut prepare: impl FnMut() -> io::Result<()>,
    mut work: impl FnMut() -> io::Result<()>,
) -> io::Result<Duration> {
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        prepare()?;
        let start = Instant::now();
        work()?;
        times.push(start.elapsed());
    }
    times.sort();
    Ok(times[RUNS / 2])
}

/// One resume that is never inlined: a real call per step, as through a `dyn` or from another
/// crate without LTO.
#[inline(never)]
fn resume_called(machine: &mut LocalRunningTotal) -> CoroutineState<u64, u64> {
    Pin::new(machine).resume(())
}

/// One `next` that is never inlined.
#[inline(never)]
fn next_called(iter: &mut RunningTotalIter) -> Option<u64> {
    iter.next()
}

/// Times (median of `STEP_RUNS`) stepping a fresh state from `make` with `step` until it returns
/// `None`; also returns the last value.
fn time_steps<S>(make: impl Fn() -> S, step: impl Fn(&mut S) -> Option<u64>) -> (Duration, u64) {
    let mut times = Vec::with_capacity(STEP_RUNS);
    let mut last = 0;
    for _ in 0..STEP_RUNS {
        let mut state = black_box(make());
        let start = Instant::now();
        while let Some(value) = step(&mut state) {
            last = black_box(value);
        }
        times.push(start.elapsed());
    }
    times.sort();
    (times[STEP_RUNS / 2], last)
}

fn count_from_args() -> Result<usize, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().position(|a| a == "--count") {
        None => Ok(DEFAULT_COUNT),
        Some(i) => args
            .get(i + 1)
            .ok_or("`--count` needs a value")?
            .parse()
            .map_err(|e| format!("`--count`: {e}")),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count = count_from_args()?;
    let numbers = random_numbers(count, DEFAULT_SEED);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("numbers.txt");
    let fresh = || match std::fs::remove_file(&path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    };
    // Make sure every way writes the same bytes before timing them.
    let mut expected = None;
    type Writer = fn(&Path, &[i32]) -> io::Result<()>;
    let ways: [(&str, Writer); 4] = [
        ("reopen the file per number", write_reopening),
        ("WriteCoroutine, File", write_with_coroutine),
        ("plain loop, held File", write_held_file),
        ("WriteCoroutine, BufWriter", write_buffered_coroutine),
    ];
    for (name, write) in ways {
        fresh()?;
        write(&path, &numbers)?;
        let bytes = std::fs::read(&path)?;
        if *expected.get_or_insert_with(|| bytes.clone()) != bytes {
            return Err(format!("{name} wrote different bytes").into());
        }
    }

    println!("write_numbers: {count} seeded i32, median of {RUNS} runs, into a temp dir");
    println!("{:<30} {:>12} {:>12}", "way", "total", "per number");
    let mut times = Vec::new();
    for (name, write) in ways {
        let time = median(fresh, || write(&path, &numbers))?;
        println!(
            "{name:<30} {:>12} {:>12}",
            format!("{:.2} ms", time.as_secs_f64() * 1e3),
            format!("{:.0} ns", time.as_nanos() as f64 / count as f64)
        );
        times.push(time.as_secs_f64());
    }
    let [reopen, coroutine, held, buffered] = [times[0], times[1], times[2], times[3]];
    println!(
        "ratio reopen / coroutine:          {:.2}x  (book: 7.1x at 200,000)",
        reopen / coroutine
    );
    println!(
        "ratio coroutine / plain held loop: {:.2}x  (both keep the file open)",
        coroutine / held
    );
    println!(
        "ratio coroutine / BufWriter:       {:.2}x  (2 or 3 write calls per number, against one per 8 KiB)",
        coroutine / buffered
    );

    let machine = || LocalRunningTotal::Start { n: RESUMES };
    let iterator = || RunningTotalIter {
        i: 0,
        n: RESUMES,
        total: 0,
    };
    let yielded = |state: CoroutineState<u64, u64>| match state {
        CoroutineState::Yielded(total) => Some(total),
        CoroutineState::Complete(_) => None,
    };
    let rows = [
        (
            "resume, inlined",
            time_steps(machine, |m| yielded(Pin::new(m).resume(()))),
        ),
        ("next, inlined", time_steps(iterator, |it| it.next())),
        (
            "resume, a call per step",
            time_steps(machine, |m| yielded(resume_called(m))),
        ),
        ("next, a call per step", time_steps(iterator, next_called)),
        (
            "ch05's RunningTotal",
            time_steps(
                || RunningTotal::new(RESUMES),
                |m| yielded(Pin::new(m).resume(())),
            ),
        ),
    ];
    let expected = rows[0].1.1;
    if let Some((name, _)) = rows.iter().find(|(_, (_, last))| *last != expected) {
        return Err(format!("{name} ended on a different total").into());
    }
    println!("{RESUMES} steps of the running total, median of {STEP_RUNS} runs:");
    for (name, (time, _)) in &rows {
        println!(
            "{name:<30} {:>12} {:>12}",
            format!("{:.2} ms", time.as_secs_f64() * 1e3),
            format!("{:.2} ns", time.as_nanos() as f64 / RESUMES as f64)
        );
    }
    let secs = |i: usize| rows[i].1.0.as_secs_f64();
    println!(
        "ratio resume / next:              {:.2}x inlined, {:.2}x with a call per step",
        secs(0) / secs(1),
        secs(2) / secs(3)
    );
    Ok(())
}
