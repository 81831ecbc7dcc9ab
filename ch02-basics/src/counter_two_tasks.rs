//! `counter-two-tasks`: a future written by hand, run in two tasks (book section "Futures").
//!
//! A future is a value with one method, `poll`. Each call does a step of work and answers either
//! `Poll::Ready(value)` or `Poll::Pending`; a future that answers `Pending` must first arrange to be
//! polled again, and `CounterFuture` does it the bluntest way there is: it wakes its own waker
//! before returning, so its task goes straight back into the run queue. Five polls, four wakes, and
//! the output is 5.
//!
//! The book spawns two counters as two tasks and shows their interleaved output, `1 1 2 2 … 5 5`.
//! That printout cannot tell *how* they interleaved. We run the same `main` twice:
//!
//! - on a current-thread runtime, where the two tasks take turns on `main`: the scheduler runs
//!   counter 1 for one poll, the wake puts it at the back of the queue behind counter 2, and so on.
//!   Same lines, about 10 units (each poll blocks for one);
//! - on a runtime with two workers, where the two tasks run side by side on `worker-1` and
//!   `worker-2`: same lines again, about 5 units, which is what the book's `#[tokio::main]` does on
//!   a multi-core machine.
//!
//! Each counter is wrapped in [`CountPolls`], which records one timeline span per poll on the
//! thread that ran it, so the chart shows what the printout hides: alternating bars on one thread,
//! or overlapping bars on two.
//!
//! Run it with `cargo run -p ch02 -- counter-two-tasks [--unit-ms N]`.
//!
//! How we differ from the book: the counter is `common::CounterFuture` (see the note on the
//! re-export); its blocking sleep is one unit instead of a second; the two `JoinHandle` results are
//! checked instead of dropped.

use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};
use common::timeline::{CountPolls, Timeline};
use tokio::runtime::Runtime;
use tokio::task::{JoinError, JoinHandle};

use crate::units::{self, in_units};

// Book: the counter's struct and its `poll` (`struct CounterFuture { count: u32 }`, counting to 5
// and sleeping 1 s per poll) are written in this spot; we use the shared `common::CounterFuture`,
// the same future with the 5 as its `target` and the sleep as its `delay`, because chapter 3 and
// later chapters poll it too.
// Book: the prose says the future is ready once the count reaches three, the code says five; we
// follow the code (chapter 3's copy uses three, hence the `target` field).
pub use common::CounterFuture;

/// The book's `main`: two counters, each spawned as its own task, and the two handles joined.
///
/// `delay` is how long each poll blocks its thread (the book's 1 s). Every poll of counter 1 is
/// recorded in `timeline` row `counter 1`, every poll of counter 2 in row `counter 2`.
pub async fn counter_two_tasks(
    delay: Duration,
    timeline: &Timeline,
) -> (Result<u32, JoinError>, Result<u32, JoinError>) {
    let counter_one = CounterFuture::new(5).with_delay(delay);
    let counter_two = CounterFuture::new(5).with_delay(delay);
    // Ours: the wrapper makes every poll a bar in the timeline, drawn with the polling thread.
    let counter_one = CountPolls::new(counter_one).recording(timeline, "counter 1");
    let counter_two = CountPolls::new(counter_two).recording(timeline, "counter 2");

    // `spawn(counter_one)` would do the same; the async blocks keep the book's shape.
    #[expect(clippy::redundant_async_block, reason = "the book's listing")]
    let handle_one: JoinHandle<u32> = tokio::task::spawn(async move { counter_one.await });
    #[expect(clippy::redundant_async_block, reason = "the book's listing")]
    let handle_two: JoinHandle<u32> = tokio::task::spawn(async move { counter_two.await });
    // Book: `tokio::join!(handle_one, handle_two);` throws both results away unchecked; we return
    // them, so a panicked task is an error rather than silence.
    tokio::join!(handle_one, handle_two)
}

/// Runs the demo: `counter-two-tasks [--unit-ms N]`.
pub fn run(mut args: Args) -> DemoResult {
    let unit = units::unit_arg(&mut args)?;
    args.finish()?;

    println!("── one thread: a current-thread runtime, both tasks on `main` ──");
    run_on(
        units::current_thread()?,
        unit,
        "(ours; the book runs a worker per core)",
    )?;

    println!("\n── two threads: a runtime with workers `worker-1` and `worker-2` ──");
    // Book: the printout is explained as one executor polling the two futures in turn, but the
    // book's `#[tokio::main]` starts a worker per core, so there the tasks run in parallel; the
    // lines come out the same either way, and only the timelines tell the two cases apart.
    run_on(units::multi_thread(2)?, unit, "(book: about 5 s)")?;
    Ok(())
}

/// Runs [`counter_two_tasks`] on `runtime` and prints the results, the time and the timeline.
fn run_on(runtime: Runtime, unit: Duration, book: &str) -> DemoResult {
    let timeline = Timeline::new();
    let start = Instant::now();
    let (one, two) = runtime.block_on(counter_two_tasks(unit, &timeline));
    let elapsed = start.elapsed();
    println!("results: counter 1 → {}, counter 2 → {}", one?, two?);
    println!("took {:.1} units {book}", in_units(elapsed, unit));
    print!("{}", timeline.render());
    Ok(())
}

#[cfg(test)]
mod tests {
    use common::timeline::Span;

    use super::*;

    /// Generous: the current-thread run takes microseconds, the two-worker one 5 units.
    const WATCHDOG: Duration = Duration::from_secs(30);

    #[tokio::test]
    async fn on_one_thread_the_two_tasks_strictly_alternate() {
        let timeline = Timeline::new();
        let (one, two) =
            tokio::time::timeout(WATCHDOG, counter_two_tasks(Duration::ZERO, &timeline))
                .await
                .expect("the counters never finished");
        assert_eq!(one.unwrap(), 5);
        assert_eq!(two.unwrap(), 5);

        let spans = timeline.spans();
        let rows: Vec<&str> = spans.iter().map(|s| s.label.as_str()).collect();
        let expected: Vec<&str> = ["counter 1", "counter 2"].repeat(5);
        assert_eq!(rows, expected, "recording order");
        let thread = &spans[0].thread;
        assert!(spans.iter().all(|s| s.thread == *thread), "{spans:?}");
    }

    #[test]
    fn on_two_workers_the_two_tasks_run_side_by_side() {
        let unit = Duration::from_millis(20);
        let runtime = units::multi_thread(2).unwrap();
        let timeline = Timeline::new();
        let (one, two) = runtime.block_on(async {
            tokio::time::timeout(WATCHDOG, counter_two_tasks(unit, &timeline))
                .await
                .expect("the counters never finished")
        });
        assert_eq!(one.unwrap(), 5);
        assert_eq!(two.unwrap(), 5);

        let spans = timeline.spans();
        assert_eq!(spans.len(), 10, "{spans:?}");
        let row = |label: &str| -> Vec<Span> {
            spans.iter().filter(|s| s.label == label).cloned().collect()
        };
        let (first, second) = (row("counter 1"), row("counter 2"));
        assert_eq!((first.len(), second.len()), (5, 5));
        assert!(
            first.iter().any(|a| second.iter().any(|b| a.overlaps(b))),
            "some poll of counter 1 overlaps some poll of counter 2: {spans:?}"
        );
        let mut threads: Vec<&str> = spans.iter().map(|s| s.thread.as_str()).collect();
        threads.sort_unstable();
        threads.dedup();
        assert_eq!(threads, ["worker-1", "worker-2"], "{spans:?}");
    }
}
