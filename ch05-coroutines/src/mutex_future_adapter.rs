//! `mutex-future-adapter`: the same `MutexCoroutine`s as futures on tokio (book section "Testing
//! Coroutines").
//!
//! A few lines of mapping make the coroutine a future: `Complete` becomes `Ready`, `Yielded`
//! becomes "wake me again" plus `Pending`. The logic tested step by step in `mutex-coroutines`
//! now runs on a runtime unchanged. The price is control: on tokio the scheduler picks which task
//! is polled when, on which worker, so a test can only check the end state (the value is
//! `2 × threshold`), not the steps on the way.
//!
//! The demo spawns two coroutines of threshold 3 on a two-worker multi-thread runtime, records
//! every poll in a timeline row per coroutine, and prints the final value (6), the poll counts and
//! the chart of which worker polled which coroutine, when. Run it twice: the chart changes, which
//! is the book's closing point.
//!
//! Run it with `cargo run -p ch05 -- mutex-future-adapter [--threshold N]` (default 3).
//!
//! How we differ from the book:
//!
//! - it puts `impl Future for MutexCoroutine` inside `#[cfg(test)]`; the demo needs it too, so it
//!   is library code here;
//! - we keep its self-wake on `Yielded`. When the lock is contended, that re-polls until the
//!   holder lets go: a short busy-poll, tolerable because the holder is a task that keeps the lock
//!   for one increment and thresholds bound the rest. An async lock (`tokio::sync::Mutex`) would
//!   register the waker and be woken on release instead.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use common::Timeline;
use common::demo::{Args, DemoResult};
use common::timeline::CountPolls;

use crate::coroutine::{Coroutine, CoroutineState};
use crate::mutex_coroutines::{MutexCoroutine, value};

// Book: the `Future` impl sits inside the `#[cfg(test)]` module; the demo needs it too, so it is
// library code here.
impl Future for MutexCoroutine {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match Pin::new(&mut self).resume(()) {
            CoroutineState::Complete(()) => Poll::Ready(()),
            CoroutineState::Yielded(()) => {
                // Book: the adapter wakes itself on every `Yielded`, kept here: after an
                // increment that is a fair turn for the other task, but on a contended lock it is
                // a busy re-poll until the holder lets go, which an async mutex would replace
                // with a wake on release.
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
}

/// What [`spawn_both`] saw.
#[derive(Debug)]
pub struct AdapterReport {
    /// The shared value once both tasks have finished.
    pub value: u8,
    /// How many times each coroutine (first, second) was polled.
    pub polls: [usize; 2],
}

/// The book's `async_test`: two coroutines of `threshold` spawned as tasks, both awaited, the
/// value read. Each poll is a span in row `first` or `second` of `timeline`.
pub async fn spawn_both(
    threshold: u8,
    timeline: &Timeline,
) -> Result<AdapterReport, tokio::task::JoinError> {
    let handle = Arc::new(Mutex::new(0));
    let first_coroutine = MutexCoroutine {
        handle: handle.clone(),
        threshold,
    };
    let second_coroutine = MutexCoroutine {
        handle: handle.clone(),
        threshold,
    };
    let first_coroutine = CountPolls::new(first_coroutine).recording(timeline, "first");
    let second_coroutine = CountPolls::new(second_coroutine).recording(timeline, "second");
    let polls = [first_coroutine.counter(), second_coroutine.counter()];

    let handle_one = tokio::spawn(async move {
        first_coroutine.await;
    });
    let handle_two = tokio::spawn(async move {
        second_coroutine.await;
    });
    // Book: `async_test` unwraps each `JoinHandle`; ours returns a task's panic as the error.
    handle_one.await?;
    handle_two.await?;
    Ok(AdapterReport {
        value: value(&handle),
        polls: polls.map(|p| p.get()),
    })
}

/// A multi-thread runtime with `workers` threads named `worker-1`, `worker-2`, … (so a chart can
/// tell them apart).
pub fn named_runtime(workers: usize) -> std::io::Result<tokio::runtime::Runtime> {
    let next = Arc::new(AtomicUsize::new(1));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name_fn(move || format!("worker-{}", next.fetch_add(1, Ordering::Relaxed)))
        .build()
}

/// Runs the demo: `mutex-future-adapter [--threshold N]`.
pub fn run(mut args: Args) -> DemoResult {
    let threshold: u8 = args.value_in("threshold", 3, 1..=100)?;
    args.finish()?;

    let runtime = named_runtime(2)?;
    let timeline = Timeline::new();
    let report = runtime.block_on(spawn_both(threshold, &timeline))?;
    println!(
        "two MutexCoroutines of threshold {threshold} spawned on 2 workers: value {} (expected {})",
        report.value,
        2 * u16::from(threshold)
    );
    println!(
        "polls: first {}, second {} (at least {threshold} each; more when a poll found the lock taken)",
        report.polls[0], report.polls[1]
    );
    println!("\nwho polled which coroutine, when (rerun it: the order changes):");
    print!("{}", timeline.render());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sleep_coroutines::SleepCoroutine;
    use common::timeline::current_thread_name;
    use std::time::Duration;

    /// Fails the test if `work` has not finished within 10 s. The timer is the chapter's own
    /// `SleepCoroutine` future (the chapter uses no tokio timers).
    async fn watchdog<F: Future>(work: F) -> F::Output {
        tokio::select! {
            output = work => output,
            () = SleepCoroutine::new(Duration::from_secs(10)) => panic!("no result within 10 s"),
        }
    }

    #[tokio::test]
    async fn async_test() {
        let timeline = Timeline::new();
        let report = watchdog(spawn_both(2, &timeline))
            .await
            .expect("both tasks finish");
        assert_eq!(report.value, 4);
        assert!(report.polls.iter().all(|&p| p >= 2), "{report:?}");

        // Extra 3: one span per poll, in the coroutine's row, all on the test's one thread.
        let spans = timeline.spans();
        let count = |row: &str| spans.iter().filter(|s| s.label == row).count();
        assert_eq!([count("first"), count("second")], report.polls);
        let me = current_thread_name();
        assert!(spans.iter().all(|s| s.thread == me), "{spans:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn async_test_on_two_workers() {
        for threshold in [1, 2, 5, 50] {
            let timeline = Timeline::new();
            let report = watchdog(spawn_both(threshold, &timeline))
                .await
                .expect("both tasks finish");
            assert_eq!(report.value, 2 * threshold);
            assert!(report.polls.iter().all(|&p| p >= usize::from(threshold)));
            assert_eq!(timeline.spans().len(), report.polls.iter().sum::<usize>());
        }
    }

    #[test]
    fn the_demo_runtime_names_its_workers() {
        let runtime = named_runtime(2).expect("a runtime");
        let timeline = Timeline::new();
        let report = runtime
            .block_on(spawn_both(3, &timeline))
            .expect("both tasks finish");
        assert_eq!(report.value, 6);
        let spans = timeline.spans();
        assert!(
            spans.iter().all(|s| s.thread.starts_with("worker-")),
            "{spans:?}"
        );
    }
}
