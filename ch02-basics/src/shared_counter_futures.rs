//! `shared-counter-futures`: two hand-written futures sharing one counter behind a std `Mutex`
//! (book section "Sharing Data Between Futures").
//!
//! One future increments a shared counter, the other decrements it, three times each, so the
//! counter ends where it started, at 0. The data travels as `Arc<std::sync::Mutex<SharedData>>`.
//! A `poll` cannot `.await`, and calling the blocking `lock()` inside it would stall the worker
//! thread (and every task queued on it) until the lock is free. So `poll` uses `try_lock`: on
//! success it applies one operation, on failure it wakes its own waker and returns `Pending`,
//! asking the executor to poll it again.
//!
//! Run it with `cargo run -p ch02 -- shared-counter-futures [--unit-ms N]`. Two tasks on a
//! two-worker runtime print the book's `after increment: N` / `after decrement: N` lines (and an
//! `error for …` line whenever a `try_lock` failed), then each task's result (3), how many times
//! it was polled and how many of those polls found the lock taken, the final counter (0), and a
//! timeline with one mark per poll, on whichever worker ran it.
//!
//! How we differ from the book, and why:
//!
//! - The book calls its future `CounterFuture`; ours is [`SharedCounterFuture`], because
//!   `common::CounterFuture` (the counter of the "Futures" section) is a different type.
//! - That retry is a *busy-poll*: a future that fails `try_lock` is re-queued at once and polled
//!   again straight away, for as long as the lock is held. The prose says it is polled
//!   "periodically"; the only period is the one-second `thread::sleep` at the top of each poll,
//!   which itself blocks a worker. Without it the retry spins a core. That is tolerable for a
//!   lock held over one `println!`, and wasteful otherwise: `lock-retry-cost` measures it, and
//!   `async-mutex-counter` shows the fix (a lock future that stores the waker and is woken on
//!   unlock).
//! - The book retries on every `try_lock` error, including `TryLockError::Poisoned`, which never
//!   clears: after a panic while the guard was held, its future would retry forever. Ours
//!   retries only `WouldBlock` (see [`SharedCounterFuture`]'s `poll`).
//! - The one-second sleep becomes `delay` (one unit in the demo, zero in tests), the hard-coded
//!   3 becomes `times`, and we add `failed_locks`, a `quiet` switch and [`SharedData::history`],
//!   so tests can check counts and the order of values.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, TryLockError};
use std::task::{Context, Poll};
use std::time::Duration;

use common::demo::{Args, DemoResult};
use common::timeline::{CountPolls, Timeline};
use tokio::task::JoinHandle;

use crate::units::{in_units, multi_thread, unit_arg};

/// Which way a future moves the shared counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterType {
    /// Adds one per operation.
    Increment,
    /// Subtracts one per operation.
    Decrement,
}

/// The data both futures share.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SharedData {
    /// The shared counter.
    pub counter: i32,
    /// The counter's value after every operation, in the order they were applied.
    // Book: `SharedData` holds only `counter`; the `history` of values is our addition, so tests
    // can check the order in which the futures took turns and count the operations applied.
    pub history: Vec<i32>,
}

impl SharedData {
    /// Adds one to the counter.
    pub fn increment(&mut self) {
        self.counter += 1;
        self.history.push(self.counter);
    }

    /// Subtracts one from the counter.
    pub fn decrement(&mut self) {
        self.counter -= 1;
        self.history.push(self.counter);
    }
}

/// A future that applies `times` operations of one [`CounterType`] to shared data, one per
/// successful poll, retrying with a self-wake whenever the lock is taken.
///
/// ```
/// use ch02::shared_counter_futures::{CounterType, SharedCounterFuture, SharedData};
/// use std::sync::{Arc, Mutex};
///
/// let data = Arc::new(Mutex::new(SharedData::default()));
/// let future = SharedCounterFuture::new(CounterType::Increment, data.clone()).times(2).quiet();
/// let rt = ch02::units::current_thread().unwrap();
/// assert_eq!(rt.block_on(future), 2);
/// assert_eq!(data.lock().unwrap().history, [1, 2]);
/// ```
// Book: the shared-data future is called `CounterFuture`; ours is `SharedCounterFuture` because
// `common::CounterFuture`, the counter of the "Futures" section, is another type.
#[derive(Debug)]
pub struct SharedCounterFuture {
    /// Which way this future moves the counter.
    pub counter_type: CounterType,
    /// The shared data.
    pub data_reference: Arc<Mutex<SharedData>>,
    /// Operations applied so far (what the future returns when done).
    pub count: u32,
    /// Operations to apply before completing (the book: 3).
    pub times: u32,
    /// How long each poll blocks its thread before trying the lock (the book: 1 s).
    pub delay: Duration,
    /// Polls that found the lock taken.
    pub failed_locks: u32,
    /// Whether to skip the book's printouts (for measurements and stress tests).
    pub quiet: bool,
}

impl Future for SharedCounterFuture {
    type Output = u32;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // The struct is `Unpin`, so a plain `&mut` is fine; it lets the borrow of
        // `data_reference` (alive while the lock result is) sit beside writes to other fields.
        let this = &mut *self;
        // Book: `poll` starts with a fixed 1 s `thread::sleep` that blocks the worker; ours
        // sleeps `delay` (one unit in the demo, zero in tests). That sleep is the only period in
        // the prose's "polled periodically": the retry itself is immediate.
        if !this.delay.is_zero() {
            std::thread::sleep(this.delay);
        }
        let mut guard = match this.data_reference.try_lock() {
            Ok(guard) => guard,
            Err(error @ TryLockError::WouldBlock) => {
                if !this.quiet {
                    println!("error for {:?}: {}", this.counter_type, error);
                }
                this.failed_locks += 1;
                // Book: a failed `try_lock` is retried by waking the task's own waker, a
                // busy-poll: the task is queued again at once and spins for as long as the lock is
                // held (`lock-retry-cost` measures it); code that must wait for a lock should use
                // an async mutex, whose waiters sleep until the unlock (`async-mutex-counter`).
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            // Book: the error arm also retries `TryLockError::Poisoned`, which never clears, so
            // after a panic under the lock the future retries forever. Ours retries only
            // `WouldBlock`: a poison only says another holder panicked, each operation leaves
            // `SharedData` consistent, so we take the guard out of the error and go on.
            Err(TryLockError::Poisoned(poisoned)) => PoisonError::into_inner(poisoned),
        };
        let value = &mut *guard;
        match this.counter_type {
            CounterType::Increment => {
                value.increment();
                if !this.quiet {
                    println!("after increment: {}", value.counter);
                }
            }
            CounterType::Decrement => {
                value.decrement();
                if !this.quiet {
                    println!("after decrement: {}", value.counter);
                }
            }
        }
        // Unlock before deciding what to return: the other future can have the lock sooner.
        drop(guard);
        this.count += 1;
        // Book: the limit is a hard-coded 3; ours is the `times` field (3 unless set).
        if this.count < this.times {
            cx.waker().wake_by_ref();
            Poll::Pending
        } else {
            Poll::Ready(this.count)
        }
    }
}

impl SharedCounterFuture {
    /// A future that applies 3 operations (as the book's does), without delay, printing.
    pub fn new(counter_type: CounterType, data_reference: Arc<Mutex<SharedData>>) -> Self {
        SharedCounterFuture {
            counter_type,
            data_reference,
            count: 0,
            times: 3,
            delay: Duration::ZERO,
            failed_locks: 0,
            quiet: false,
        }
    }

    /// The same future, applying `times` operations (at least one is always applied).
    pub fn times(self, times: u32) -> Self {
        SharedCounterFuture { times, ..self }
    }

    /// The same future, blocking its thread for `delay` at the top of every poll.
    pub fn with_delay(self, delay: Duration) -> Self {
        SharedCounterFuture { delay, ..self }
    }

    /// The same future, printing nothing.
    pub fn quiet(self) -> Self {
        SharedCounterFuture {
            quiet: true,
            ..self
        }
    }
}

/// What one counting task reports once it is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskReport {
    /// The future's output: operations applied.
    pub count: u32,
    /// Times it was polled.
    pub polls: usize,
    /// Polls that found the lock taken.
    pub failed_locks: u32,
}

/// Spawns `counter` as a task that records one span per poll in `timeline` row `row`.
fn spawn_counter(
    mut counter: SharedCounterFuture,
    timeline: &Timeline,
    row: &str,
) -> JoinHandle<TaskReport> {
    let counted = CountPolls::new(async move {
        // Awaiting `&mut counter` (it is `Unpin`) keeps the future, so its fields stay readable.
        let count = (&mut counter).await;
        (count, counter.failed_locks)
    })
    .recording(timeline, row);
    let polls = counted.counter();
    tokio::spawn(async move {
        let (count, failed_locks) = counted.await;
        TaskReport {
            count,
            polls: polls.get(),
            failed_locks,
        }
    })
}

/// The book's `main`: an incrementing and a decrementing future, each in its own task, on a
/// two-worker runtime. Returns both reports and the shared data at the end.
pub fn two_counters(
    delay: Duration,
    timeline: &Timeline,
) -> Result<(TaskReport, TaskReport, SharedData), Box<dyn std::error::Error + Send + Sync>> {
    let shared_data = Arc::new(Mutex::new(SharedData::default()));
    let counter_one =
        SharedCounterFuture::new(CounterType::Increment, shared_data.clone()).with_delay(delay);
    let counter_two =
        SharedCounterFuture::new(CounterType::Decrement, shared_data.clone()).with_delay(delay);
    let runtime = multi_thread(2)?;
    let (one, two) = runtime.block_on(async {
        let handle_one = spawn_counter(counter_one, timeline, "increment");
        let handle_two = spawn_counter(counter_two, timeline, "decrement");
        // Book: `main` discards what `tokio::join!` returns; ours reports a panicked task.
        tokio::join!(handle_one, handle_two)
    });
    let (one, two) = (one?, two?);
    let data = shared_data
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    Ok((one, two, data))
}

/// Runs the demo: `shared-counter-futures [--unit-ms N]`.
pub fn run(mut args: Args) -> DemoResult {
    let unit = unit_arg(&mut args)?;
    args.finish()?;

    println!("two futures share Arc<std::sync::Mutex<SharedData>>; each poll sleeps 1 unit");
    let timeline = Timeline::new();
    let start = std::time::Instant::now();
    let (one, two, data) = two_counters(unit, &timeline)?;
    let elapsed = start.elapsed();
    println!();
    for (name, report) in [("increment", one), ("decrement", two)] {
        println!(
            "{name}: returned {} after {} polls ({} found the lock taken)",
            report.count, report.polls, report.failed_locks
        );
    }
    println!(
        "final counter: {} (values in order: {:?}); took {:.1} units",
        data.counter,
        data.history,
        in_units(elapsed, unit)
    );
    if one.failed_locks + two.failed_locks == 0 {
        println!("no try_lock failed this time (the book needed a few runs to see one)");
    }
    println!("\n{}", timeline.render());
    println!(
        "one span per poll, each about 1 unit (the sleep), on two workers at once; a failed \
         try_lock costs a whole extra poll, sleep included."
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::thread;

    use super::*;
    use crate::wake_signal::WakeSignal;

    fn poll_once(future: &mut SharedCounterFuture, signal: &Arc<WakeSignal>) -> Poll<u32> {
        let waker = signal.waker();
        Pin::new(future).poll(&mut Context::from_waker(&waker))
    }

    /// Runs `work` on its own thread and fails the test if it has not finished in 60 s (so a
    /// regression that spins forever fails instead of hanging; generous for valgrind).
    fn watchdog<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        thread::spawn(move || {
            let _ = tx.send(work());
        });
        rx.recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("the work panicked or ran over 60 s: {e}"))
    }

    #[test]
    fn without_delay_both_return_three_and_the_counter_ends_at_zero() {
        let timeline = Timeline::new();
        let recorder = timeline.clone();
        let (one, two, data) =
            watchdog(move || two_counters(Duration::ZERO, &recorder).map_err(|e| e.to_string()))
                .unwrap();
        assert_eq!((one.count, two.count), (3, 3));
        assert_eq!(data.counter, 0);
        assert_eq!(data.history.len(), 6);
        // Every poll either applied an operation or found the lock taken.
        assert_eq!(one.polls, 3 + one.failed_locks as usize);
        assert_eq!(two.polls, 3 + two.failed_locks as usize);
        assert_eq!(timeline.spans().len(), one.polls + two.polls);
    }

    #[test]
    fn a_held_lock_means_pending_one_wake_and_no_change_until_released() {
        let data = Arc::new(Mutex::new(SharedData::default()));
        let mut future = SharedCounterFuture::new(CounterType::Decrement, data.clone());
        let signal = WakeSignal::new();

        let held = data.lock().unwrap();
        assert_eq!(poll_once(&mut future, &signal), Poll::Pending);
        assert_eq!(signal.wakes(), 1);
        assert_eq!((held.counter, future.count, future.failed_locks), (0, 0, 1));
        drop(held);

        assert_eq!(poll_once(&mut future, &signal), Poll::Pending); // 1 of 3 done
        assert_eq!(signal.wakes(), 2);
        assert_eq!(data.lock().unwrap().counter, -1);
        assert_eq!((future.count, future.failed_locks), (1, 1));
    }

    #[test]
    fn a_poisoned_lock_is_not_retried_forever() {
        let data = Arc::new(Mutex::new(SharedData::default()));
        let poisoner = data.clone();
        let panicked = thread::spawn(move || {
            let _guard = poisoner.lock().unwrap();
            panic!("poisoning the lock on purpose");
        })
        .join();
        assert!(panicked.is_err() && data.is_poisoned());

        let mut future = SharedCounterFuture::new(CounterType::Increment, data.clone()).times(1);
        let signal = WakeSignal::new();
        assert_eq!(poll_once(&mut future, &signal), Poll::Ready(1));
        assert_eq!((signal.wakes(), future.failed_locks), (0, 0));
        let counter = data.lock().unwrap_or_else(PoisonError::into_inner).counter;
        assert_eq!(counter, 1);
    }

    #[test]
    fn bad_unit_is_a_usage_error() {
        for bad in [["--unit-ms", "0"], ["--unit-ms", "x"]] {
            let err = run(Args::from_iter(bad)).unwrap_err();
            assert!(err.is::<common::demo::UsageError>(), "{bad:?}: {err}");
        }
    }
}
