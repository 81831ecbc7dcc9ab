//! `cpu-stress-threads`: more CPU-bound threads than cores (book section "What Is Async?").
//!
//! The chapter opens by pinning the CPU: eight threads each run the naive recursive
//! [`fibonacci`](crate::fibonacci::fibonacci), and a system monitor shows every core at 100 %.
//! The point is the contrast with the I/O demos that follow: CPU-bound work keeps a core busy the
//! whole time, so spawning more threads than there are cores does not make anything faster; the
//! operating system just time-shares the cores between them.
//!
//! Run it with `cargo run -p ch01 -- cpu-stress-threads [--n N] [--threads T]` (defaults: n = 32,
//! T = 8; about a third of a second in a debug build on 2 cores). You will see one
//! `Thread i result: …` line per thread in the order they finished, the number of cores, the wall
//! time, and a timeline with one bar per thread: with 8 threads on 2 cores all eight bars stretch
//! over most of the run, because each thread only gets a core part of the time.
//!
//! How we differ from the book: the book computes `fibonacci(4000)`, which neither finishes (about
//! 1.6^4000 calls) nor fits in a `u64`; we default to n = 32 and reject n > 93. Our threads have
//! names (`fib-0`, `fib-1`, …) so the timeline can say which bar is which, a failed spawn is an error
//! rather than a panic, and each thread hands its value back through its `JoinHandle` instead of
//! only printing it.

use std::error::Error;
use std::fmt;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Instant;

use common::demo::{Args, DemoResult};
use common::timeline::{Timeline, format_duration};

use crate::fibonacci::{self, fibonacci};

/// The default `n`: a few tens of milliseconds per call in a debug build.
// Book: `fibonacci(4000)` never finishes and overflows `u64`; 32 keeps the demo under a second.
pub const DEFAULT_N: u64 = 32;

/// The default number of threads, as in the book.
pub const DEFAULT_THREADS: usize = 8;

/// The most threads `--threads` accepts (each one is a real OS thread).
pub const MAX_THREADS: usize = 64;

/// Why [`stress`] could not finish: a thread could not be started, or one panicked.
#[derive(Debug)]
pub enum StressError {
    /// The OS refused to start thread `index`.
    Spawn {
        /// Which thread.
        index: usize,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Thread `index` panicked instead of returning its value.
    Panicked {
        /// Which thread.
        index: usize,
    },
}

impl fmt::Display for StressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StressError::Spawn { index, .. } => write!(f, "could not start thread fib-{index}"),
            StressError::Panicked { index } => write!(f, "thread fib-{index} panicked"),
        }
    }
}

impl Error for StressError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            StressError::Spawn { source, .. } => Some(source),
            StressError::Panicked { .. } => None,
        }
    }
}

/// Runs `fibonacci(n)` on `threads` threads named `fib-0`, `fib-1`, … at the same time.
///
/// Each thread records a span `thread i` in `timeline`. Returns one `(index, value)` pair per
/// thread, in the order the threads *finished* (which the OS scheduler decides, not us).
pub fn stress(
    n: u64,
    threads: usize,
    timeline: &Timeline,
) -> Result<Vec<(usize, u64)>, StressError> {
    // Each thread reports on this channel the moment it is done, so the caller sees the real
    // finishing order; the JoinHandles below are only for waiting and for catching panics.
    let (done_tx, done_rx) = mpsc::channel();
    let mut handles: Vec<(usize, JoinHandle<()>)> = Vec::with_capacity(threads);
    for index in 0..threads {
        let timeline = timeline.clone();
        let done_tx = done_tx.clone();
        // Book: `thread::spawn` panics if the OS cannot start a thread; `Builder::spawn` returns
        // the error, and the name shows up in the timeline (and in panic messages, `top -H`, …).
        let spawned = thread::Builder::new()
            .name(format!("fib-{index}"))
            .spawn(move || {
                let value = timeline.time(format!("thread {index}"), || fibonacci(n));
                // The receiver lives until every thread is joined, so this cannot fail.
                let _ = done_tx.send((index, value));
            });
        match spawned {
            Ok(handle) => handles.push((index, handle)),
            Err(source) => {
                // Do not leave the threads already started running unobserved: wait for them.
                join_all(handles)?;
                return Err(StressError::Spawn { index, source });
            }
        }
    }
    join_all(handles)?;
    drop(done_tx);
    Ok(done_rx.iter().collect())
}

/// Joins every thread, then reports the first one that panicked, if any.
fn join_all(handles: Vec<(usize, JoinHandle<()>)>) -> Result<(), StressError> {
    let mut first_panic = None;
    for (index, handle) in handles {
        if handle.join().is_err() && first_panic.is_none() {
            first_panic = Some(StressError::Panicked { index });
        }
    }
    first_panic.map_or(Ok(()), Err)
}

/// The number of cores the OS lets this process use, as text (`"unknown"` if it will not say).
pub fn cores() -> String {
    thread::available_parallelism().map_or_else(|_| "unknown".to_string(), |n| n.to_string())
}

/// Runs the demo: `[--n N] [--threads T]`.
pub fn run(mut args: Args) -> DemoResult {
    let n = args.value_in("n", DEFAULT_N, 0..=fibonacci::MAX_N)?;
    let threads = args.value_in("threads", DEFAULT_THREADS, 1..=MAX_THREADS)?;
    args.finish()?;
    fibonacci::warn_if_slow(n);

    let cores = cores();
    println!("{threads} threads each compute fibonacci({n}) on {cores} core(s)");
    let timeline = Timeline::new();
    let start = Instant::now();
    let results = stress(n, threads, &timeline)?;
    let wall = start.elapsed();

    for (index, value) in &results {
        println!("Thread {index} result: {value}");
    }
    println!(
        "all {threads} threads done in {} (results above in the order the threads finished)",
        format_duration(wall)
    );
    println!();
    print!("{}", timeline.render());
    println!();
    println!(
        "With {threads} CPU-bound threads and {cores} core(s), the OS time-shares the cores:\n\
         each bar spans much more time than one fibonacci({n}) needs on its own."
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Small enough to be cheap and not to disturb timing tests running beside it.
    const N: u64 = 20;

    #[test]
    fn fibonacci_known_values() {
        let values = [0, 1, 2, 10, 20, 30].map(fibonacci);
        assert_eq!(values, [0, 1, 1, 55, 6765, 832040]);
    }

    #[test]
    fn every_thread_reports_once_with_the_right_value() {
        let timeline = Timeline::new();
        let mut results = stress(N, DEFAULT_THREADS, &timeline).unwrap();
        assert_eq!(results.len(), DEFAULT_THREADS);
        assert!(
            results.iter().all(|&(_, value)| value == 6765),
            "{results:?}"
        );
        results.sort();
        let indices: Vec<usize> = results.iter().map(|&(i, _)| i).collect();
        assert_eq!(indices, (0..DEFAULT_THREADS).collect::<Vec<_>>());
    }

    #[test]
    fn each_thread_records_one_span_on_its_own_named_thread() {
        let timeline = Timeline::new();
        stress(N, 3, &timeline).unwrap();
        let mut spans = timeline.spans();
        spans.sort_by(|a, b| a.label.cmp(&b.label));
        let rows: Vec<(&str, &str)> = spans
            .iter()
            .map(|s| (s.label.as_str(), s.thread.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                ("thread 0", "fib-0"),
                ("thread 1", "fib-1"),
                ("thread 2", "fib-2")
            ]
        );
        let chart = timeline.render();
        assert!(chart.contains("A = fib-"), "{chart}");
        assert!(chart.contains("C = fib-"), "{chart}");
    }

    #[test]
    fn bad_arguments_are_usage_errors_not_panics() {
        for bad in [
            ["--n", "94"],
            ["--n", "abc"],
            ["--threads", "0"],
            ["--threads", "x"],
        ] {
            let err = run(Args::from_iter(bad)).unwrap_err();
            assert!(err.is::<common::demo::UsageError>(), "{bad:?} gave {err}");
        }
        let err = run(Args::from_iter(["--n", "94"])).unwrap_err();
        assert_eq!(err.to_string(), "`--n 94` is out of range: expected 0..=93");
    }
}
