//! `remote-waker`: a future woken by whoever delivers its result (book section "Waking Futures
//! Remotely").
//!
//! This is the real waker pattern, the one timers, sockets and channels use. A future that cannot
//! finish yet stores the `Waker` from its `Context` somewhere the event source can reach it, and
//! returns `Pending`; its task then sits idle, polled by nobody, for as long as the wait lasts.
//! When the result arrives, the source stores it and calls `wake`, and the executor polls the task
//! once more. However long the wait, that is two polls.
//!
//! [`MyFuture`] shares a [`MyFutureState`] (the data, once it exists, and the latest waker) with a
//! trigger task through `Arc<Mutex<_>>`. The demo spawns the future, waits 3 units, then lets the
//! trigger fill in the data and wake it. It prints the book's lines, the poll count (2) and a
//! timeline where two thin poll bars sit either side of a 3-unit gap. A second run fires the
//! trigger before the future is first polled: the future finds its data at once, one poll, no hang.
//!
//! Run it with `cargo run -p ch02 -- remote-waker [--unit-ms N]`.
//!
//! How we differ from the book:
//!
//! - its trigger spins in a `loop` *holding the mutex* until a waker appears. Had it run before the
//!   future's first poll, the future could never lock the state to leave its waker there: deadlock.
//!   As printed, the loop has no `break` at all (it appears with the repeated closing braces of
//!   the next fragment), so even after waking the future it keeps the lock and the future blocks
//!   its worker in `lock()` for good. Our [`trigger`] sets the data, takes the waker if there is
//!   one, unlocks, and only then wakes; no waker yet means the first poll will find the data;
//! - `String::from_utf8(data).unwrap()` panics on bad bytes from outside; our `Output` is
//!   `Result<String, FromUtf8Error>`;
//! - `mpsc::channel:::<()>(1)` (three colons) and `tx.send()` (no value) do not compile; fixed;
//! - the closing prose announces that later examples will call the waker inside `poll` to keep them
//!   short. Those are self-waking busy-polls, like `CounterFuture`: fine for showing polls, wrong
//!   for waiting. This module is the pattern to copy.

use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::string::FromUtf8Error;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use common::demo::{Args, DemoResult};
use common::timeline::{CountPolls, Timeline};
use tokio::sync::mpsc;
use tokio::task;
use tokio::time::Instant;

use crate::units::{self, in_units};

/// The book's future: everything it needs lives in state shared with the outside.
#[derive(Debug)]
pub struct MyFuture {
    state: Arc<Mutex<MyFutureState>>,
}

/// What the future and its trigger share.
#[derive(Debug, Default)]
pub struct MyFutureState {
    /// The result, once someone has delivered it.
    pub data: Option<Vec<u8>>,
    /// The waker of the latest poll that found no data.
    pub waker: Option<Waker>,
}

impl MyFuture {
    /// A future and a handle on its state for the trigger.
    pub fn new() -> (Self, Arc<Mutex<MyFutureState>>) {
        let state = Arc::new(Mutex::new(MyFutureState {
            data: None,
            waker: None,
        }));
        (
            MyFuture {
                state: state.clone(),
            },
            state,
        )
    }
}

/// Locks the state. Nothing panics while holding it, and every change is a single assignment, so
/// a poisoned lock still holds consistent state.
fn lock(state: &Mutex<MyFutureState>) -> MutexGuard<'_, MyFutureState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Future for MyFuture {
    // Book: `Output = String`, with `String::from_utf8(data).unwrap()`, which panics on bytes that
    // are not UTF-8; the data comes from outside, so we hand the error to the caller.
    type Output = Result<String, FromUtf8Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        println!("Polling the future");
        let mut state = lock(&self.state);

        if let Some(data) = state.data.take() {
            Poll::Ready(String::from_utf8(data))
        } else {
            // Keep the newest waker: a task may be polled with a different one next time (moved
            // to another executor, or inside a `select!`). If it is unchanged, skip the clone.
            let unchanged = state
                .waker
                .as_ref()
                .is_some_and(|stored| stored.will_wake(cx.waker()));
            if !unchanged {
                state.waker = Some(cx.waker().clone());
            }
            Poll::Pending
        }
    }
}

/// The body of the book's trigger task: delivers `data` and wakes the future if it is waiting.
pub fn trigger(state: &Mutex<MyFutureState>, data: Vec<u8>) {
    let waker = {
        let mut state = lock(state);
        state.data = Some(data);
        state.waker.take()
    }; // unlocked here, before anyone is woken
    // Book: the trigger loops while holding the lock until a waker shows up, and as printed never
    // leaves the loop; if it runs before the first poll, the future can never store its waker,
    // a deadlock. Here, no waker means the future has not been polled yet and its first poll will
    // find the data; and the woken future never finds the lock taken by its own waker.
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// How a run went.
#[derive(Debug)]
pub struct Report {
    /// The future's output.
    pub outcome: Result<String, FromUtf8Error>,
    /// How often it was polled.
    pub polls: usize,
    /// From spawning the future to its outcome (tokio's clock: virtual under a paused clock).
    pub took: Duration,
}

/// The book's `main`: spawn the future, wait `3 × unit`, then trigger it through a channel.
///
/// Polls of the future are spans in row `my_future` of `timeline`, the trigger's work in `trigger`.
pub async fn remote_waker(
    unit: Duration,
    timeline: &Timeline,
) -> Result<Report, Box<dyn Error + Send + Sync>> {
    let start = Instant::now();
    let (my_future, state) = MyFuture::new();
    // Book: `mpsc::channel:::<()>(1)` has a colon too many. A `oneshot` channel would suit a
    // one-time trigger better; we keep the book's bounded channel of capacity 1.
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let my_future = CountPolls::new(my_future).recording(timeline, "my_future");
    let polls = my_future.counter();
    #[expect(clippy::redundant_async_block, reason = "the book's listing")]
    let task_handle = task::spawn(async { my_future.await });
    tokio::time::sleep(3 * unit).await;
    println!("spawning trigger task");

    let trigger_timeline = timeline.clone();
    let trigger_task = task::spawn(async move {
        if rx.recv().await.is_some() {
            trigger_timeline.time("trigger", || {
                trigger(&state, b"Hello from the outside".to_vec());
            });
        }
    });
    // Book: `tx.send()` is missing the value it sends.
    tx.send(()).await?;

    let outcome = task_handle.await?;
    let took = start.elapsed();
    match &outcome {
        Ok(text) => println!("Task completed with outcome: {text}"),
        Err(error) => println!("Task completed with bad data: {error}"),
    }
    trigger_task.await?;
    Ok(Report {
        outcome,
        polls: polls.get(),
        took,
    })
}

/// Ours: the trigger fires before the future's first poll, the race the book's version loses.
pub async fn trigger_first(timeline: &Timeline) -> Report {
    let start = Instant::now();
    let (my_future, state) = MyFuture::new();
    trigger(&state, b"Hello from the outside".to_vec());
    let my_future = CountPolls::new(my_future).recording(timeline, "my_future");
    let polls = my_future.counter();
    let outcome = my_future.await;
    Report {
        outcome,
        polls: polls.get(),
        took: start.elapsed(),
    }
}

/// Runs the demo: `remote-waker [--unit-ms N]`.
pub fn run(mut args: Args) -> DemoResult {
    let unit = units::unit_arg(&mut args)?;
    args.finish()?;
    // The book's `#[tokio::main]`: a multi-thread runtime.
    let runtime = units::multi_thread(2)?;

    let timeline = Timeline::new();
    let report = runtime.block_on(remote_waker(unit, &timeline))?;
    report.outcome?;
    println!(
        "polled {} times over {:.1} units (book: two polls around a 3 s sleep)",
        report.polls,
        in_units(report.took, unit)
    );
    print!("{}", timeline.render());

    println!("\nours: the trigger fires before the first poll");
    let report = runtime.block_on(trigger_first(&Timeline::new()));
    println!(
        "outcome {:?} after {} poll: the data was already there, no waker needed",
        report.outcome, report.polls
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;
    use crate::wake_signal::WakeSignal;

    const WATCHDOG: Duration = Duration::from_secs(3600);

    fn poll(future: &mut MyFuture, waker: &Waker) -> Poll<Result<String, FromUtf8Error>> {
        Pin::new(future).poll(&mut Context::from_waker(waker))
    }

    #[tokio::test(start_paused = true)]
    async fn woken_remotely_the_future_is_polled_exactly_twice() {
        let timeline = Timeline::with_clock(|| tokio::time::Instant::now().into_std());
        let report =
            tokio::time::timeout(WATCHDOG, remote_waker(Duration::from_secs(1), &timeline))
                .await
                .expect("the future was never woken")
                .unwrap();
        assert_eq!(report.polls, 2);
        assert!(report.took >= Duration::from_secs(3), "{report:?}");
        assert_eq!(report.outcome.unwrap(), "Hello from the outside");
        let rows: Vec<String> = timeline.spans().into_iter().map(|s| s.label).collect();
        assert_eq!(rows, ["my_future", "trigger", "my_future"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_trigger_before_the_first_poll_means_one_poll_and_no_hang() {
        let report = tokio::time::timeout(WATCHDOG, trigger_first(&Timeline::new()))
            .await
            .expect("deadlock: the future never completed");
        assert_eq!(report.outcome.unwrap(), "Hello from the outside");
        assert_eq!(report.polls, 1);
    }

    #[test]
    fn only_the_newest_waker_is_woken() {
        let (mut future, state) = MyFuture::new();
        let (first, second) = (WakeSignal::new(), WakeSignal::new());
        assert!(poll(&mut future, &first.waker()).is_pending());
        assert!(poll(&mut future, &second.waker()).is_pending());
        // Polled again with the same waker, the stored one is kept (will_wake: no new clone).
        assert!(poll(&mut future, &second.waker()).is_pending());
        assert!(
            lock(&state)
                .waker
                .as_ref()
                .unwrap()
                .will_wake(&second.waker())
        );

        trigger(&state, b"ready".to_vec());
        assert_eq!((first.wakes(), second.wakes()), (0, 1));
        assert!(lock(&state).waker.is_none(), "the trigger took the waker");
        assert_eq!(
            poll(&mut future, &second.waker()),
            Poll::Ready(Ok("ready".into()))
        );
    }

    #[test]
    fn invalid_utf8_is_an_error_not_a_panic() {
        let (mut future, state) = MyFuture::new();
        trigger(&state, vec![b'o', b'k', 0xff, 0xfe]);
        match poll(&mut future, Waker::noop()) {
            Poll::Ready(Err(error)) => assert_eq!(error.as_bytes(), [b'o', b'k', 0xff, 0xfe]),
            other => panic!("expected a FromUtf8Error, got {other:?}"),
        }
    }

    /// A waker that checks, when woken, that the state's lock is free: the book's trigger would
    /// fail this, since it wakes while holding the lock.
    struct ChecksLock {
        state: Arc<Mutex<MyFutureState>>,
        wakes: AtomicUsize,
        lock_was_free: AtomicBool,
    }

    impl Wake for ChecksLock {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.wakes.fetch_add(1, Ordering::SeqCst);
            let free = self.state.try_lock().is_ok();
            self.lock_was_free.store(free, Ordering::SeqCst);
        }
    }

    #[test]
    fn the_trigger_wakes_only_after_unlocking() {
        let (mut future, state) = MyFuture::new();
        let checker = Arc::new(ChecksLock {
            state: Arc::clone(&state),
            wakes: AtomicUsize::new(0),
            lock_was_free: AtomicBool::new(false),
        });
        assert!(poll(&mut future, &Waker::from(Arc::clone(&checker))).is_pending());
        trigger(&state, b"data".to_vec());
        assert_eq!(checker.wakes.load(Ordering::SeqCst), 1);
        assert!(checker.lock_was_free.load(Ordering::SeqCst));
    }
}
