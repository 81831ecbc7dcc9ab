//! `counter-without-wake`: `Pending` without a wake-up means never polled again (book section
//! "Context in Futures").
//!
//! The `Context` that `poll` receives carries the task's `Waker`. Returning `Poll::Pending` is a
//! promise that *something* will call that waker once progress is possible; the executor keeps no
//! list of pending tasks to retry and does not poll a task again until its waker is called. The
//! book shows this by deleting `cx.waker().wake_by_ref()` from its counter: each counter prints
//! `polling with result: 1` and the program hangs.
//!
//! Our [`NoWakeCounter`] is that counter minus the wake. Two of them are spawned as tasks, as in
//! the book, but the join is wrapped in `tokio::time::timeout(5 units)`, so where the book hangs
//! the demo reports that both tasks were polled exactly once and then sat idle, aborts them and
//! ends. The timeline shows one thin poll bar per counter and the long empty wait.
//!
//! Run it with `cargo run -p ch02 -- counter-without-wake [--unit-ms N]`.
//!
//! How we differ from the book: the six steps that follow its listing have the executor store the
//! wakers in a queue and call them when the operation completes. The waker is in fact kept by the
//! future itself, or by the resource it registered with (a timer, the I/O reactor, another thread),
//! and whoever completes the work calls `wake`, which puts the task back in the executor's queue.
//! `remote-waker` shows exactly that.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use common::demo::{Args, DemoResult};
use common::timeline::{CountPolls, Timeline, current_thread_name};
use tokio::task::JoinHandle;
use tokio::time::error::Elapsed;

use crate::units::{self, in_units};

/// The book's counter with the wake-up line removed: it counts to 5, but only if someone polls it.
#[derive(Debug, Default)]
pub struct NoWakeCounter {
    /// Polls so far.
    pub count: u32,
}

impl Future for NoWakeCounter {
    type Output = u32;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.count += 1;
        println!("polling with result: {}", self.count);
        if self.count < 5 {
            // Book: here the counter called `cx.waker().wake_by_ref()`. Without it nothing will
            // ever poll this future again, so it returns `Pending` for good.
            // Book: the steps listed after this code have the executor store wakers in a queue and
            // call them; the future, or the timer, reactor or thread it registered with, keeps the
            // waker, and whoever completes the work calls `wake` (see `remote-waker`).
            Poll::Pending
        } else {
            Poll::Ready(self.count)
        }
    }
}

/// What became of the two counters.
#[derive(Debug)]
pub struct Outcome {
    /// The join of both tasks under the timeout: `Err(Elapsed)` when they never finish.
    pub joined: Result<(), Elapsed>,
    /// How often each counter was polled.
    pub polls: [usize; 2],
    /// How long the wait lasted (on tokio's clock, so virtual time under a paused clock).
    pub waited: Duration,
}

/// The book's two-task `main` with the counters that never wake, joined under a `limit`.
///
/// Each poll is a span in row `counter 1` / `counter 2` of `timeline`, and the wait is row
/// `timeout`. The tasks are aborted before returning, so nothing is left behind.
pub async fn counters_without_wake(limit: Duration, timeline: &Timeline) -> Outcome {
    let counter_one = CountPolls::new(NoWakeCounter::default()).recording(timeline, "counter 1");
    let counter_two = CountPolls::new(NoWakeCounter::default()).recording(timeline, "counter 2");
    let polls = [counter_one.counter(), counter_two.counter()];

    let mut handle_one: JoinHandle<u32> = tokio::task::spawn(counter_one);
    let mut handle_two: JoinHandle<u32> = tokio::task::spawn(counter_two);

    let start = tokio::time::Instant::now();
    let from = timeline.now();
    // Book: `tokio::join!(handle_one, handle_two)` with nothing to end it: the program hangs. We
    // give up after `limit`; borrowing the handles keeps them usable for the abort below.
    let joined = tokio::time::timeout(limit, async {
        let _ = tokio::join!(&mut handle_one, &mut handle_two);
    })
    .await;
    let waited = start.elapsed();
    timeline.record("timeout", current_thread_name(), from, timeline.now());

    // Dropping a `JoinHandle` detaches the task; aborting drops the idle futures for real.
    handle_one.abort();
    handle_two.abort();
    let _ = tokio::join!(handle_one, handle_two);
    Outcome {
        joined,
        polls: [polls[0].get(), polls[1].get()],
        waited,
    }
}

/// Runs the demo: `counter-without-wake [--unit-ms N]`.
pub fn run(mut args: Args) -> DemoResult {
    let unit = units::unit_arg(&mut args)?;
    args.finish()?;

    let timeline = Timeline::new();
    // Two workers, like the book's `#[tokio::main]` on a multi-core machine.
    let runtime = units::multi_thread(2)?;
    let outcome = runtime.block_on(counters_without_wake(5 * unit, &timeline));
    match outcome.joined {
        Ok(()) => return Err("the counters finished: something polled them after all".into()),
        Err(_) => println!(
            "both tasks idle after {} and {} poll(s): no waker was called, so nobody polled them \
             again;\nthe timeout gave up after {:.1} units (the book's program hangs here), and \
             both tasks were aborted",
            outcome.polls[0],
            outcome.polls[1],
            in_units(outcome.waited, unit)
        ),
    }
    print!("{}", timeline.render());
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::task::Waker;

    use common::CounterFuture;

    use super::*;
    use crate::wake_signal::WakeSignal;

    fn poll_once<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
        Pin::new(future).poll(&mut Context::from_waker(waker))
    }

    #[tokio::test(start_paused = true)]
    async fn each_counter_is_polled_once_then_the_timeout_gives_up() {
        let timeline = Timeline::with_clock(|| tokio::time::Instant::now().into_std());
        let limit = Duration::from_secs(5);
        // The outer timeout is the watchdog: it only fires if the inner one somehow did not.
        let outcome = tokio::time::timeout(10 * limit, counters_without_wake(limit, &timeline))
            .await
            .expect("the limit did not end the wait");
        assert!(outcome.joined.is_err(), "{outcome:?}");
        assert_eq!(outcome.polls, [1, 1]);
        assert!(outcome.waited >= limit, "{outcome:?}");

        let spans = timeline.spans();
        let polls: Vec<&str> = spans
            .iter()
            .map(|s| s.label.as_str())
            .filter(|l| l.starts_with("counter"))
            .collect();
        assert_eq!(polls.len(), 2, "one poll bar per task: {spans:?}");
    }

    #[test]
    fn by_hand_the_counter_without_wake_never_wakes_and_the_book_counter_does() {
        let signal: Arc<WakeSignal> = WakeSignal::new();
        let mut counter = NoWakeCounter::default();
        assert_eq!(poll_once(&mut counter, &signal.waker()), Poll::Pending);
        assert_eq!(signal.wakes(), 0);
        assert_eq!(signal.take_woken(), None);

        let signal = WakeSignal::new();
        let mut counter = CounterFuture::new(5);
        assert_eq!(poll_once(&mut counter, &signal.waker()), Poll::Pending);
        assert_eq!(signal.wakes(), 1);
        assert_eq!(signal.wake_by_refs(), 1);
    }
}
