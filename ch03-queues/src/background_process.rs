//! `background-process` (book section "Running Background Processes"): a future that never
//! finishes, kept running by `detach`.
//!
//! A background process (monitoring, log rotation, cache refresh) is a task that runs for the life
//! of the program. The book's [`BackgroundProcess`] is the simplest one: every poll does its work
//! (prints `background process firing`), then asks to be polled again and returns `Pending`, so it
//! never completes. Whoever holds its `Task` decides how long it lives: dropping the `Task`
//! cancels it (it is not polled again), and `Task::detach` gives up the handle *without*
//! cancelling, so the process runs on with nobody holding it.
//!
//! The cost is in the book's `poll`: it blocks its worker for the whole period (1 s in the book)
//! and then wakes itself at once, so the process owns a worker thread forever (half the low queue
//! with `with_low_num(2)`). A task queued behind it waits for the rest of its sleep.
//! [`background_loop`] is the same process written with a timer: it does its tick, then awaits
//! [`crate::runtime::sleep`], which frees the worker until the next tick.
//!
//! Run it with `cargo run -p ch03 -- background-process`: the book's process, detached on the
//! final runtime with a 100 ms period, fires about five times while `main` prints three lines of
//! its own work; then `background_loop` does the same without holding a worker between ticks.
//! Both are stopped before the demo returns, so no later demo sees their output.
//!
//! How we differ from the book: the book's process can never stop (it is a unit struct whose
//! `poll` always returns `Pending`); ours carries a `stop` flag and returns `Ready(())` once it is
//! set, and counts its firings so tests can watch it. The book says `detach` hands the task's
//! pointer to "an unsafe loop" that polls it: `Task::detach` only marks the task so that dropping
//! the handle does not cancel it; the workers poll it exactly as before.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use common::demo::{Args, DemoResult};

use crate::runtime::{FutureType, Runtime, sleep, spawn_task};
use crate::support::BOOK_UNIT;

/// The book's background process: fires on every poll and never finishes while it runs.
///
/// Book: a unit struct (`#[derive(Debug, Clone, Copy)] struct BackgroundProcess;`) that can never
/// stop and blocks for 1 s; ours has a `period`, counts its `firings` and stops once `stop` is
/// set, so demos and tests can end it. Its `Arc` fields make it `Clone` but not `Copy`.
#[derive(Debug, Clone)]
pub struct BackgroundProcess {
    /// How long each firing blocks its worker (the book: 1 s).
    pub period: Duration,
    /// Firings so far.
    pub firings: Arc<AtomicUsize>,
    /// Set it to end the process at its next poll.
    pub stop: Arc<AtomicBool>,
}

impl BackgroundProcess {
    /// A process that fires every `period`, not stopped.
    pub fn new(period: Duration) -> Self {
        BackgroundProcess {
            period,
            firings: Arc::new(AtomicUsize::new(0)),
            stop: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl Future for BackgroundProcess {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Book: the book's process has no way out and returns `Pending` forever; ours returns
        // `Ready` once `stop` is set, so a demo or a test can end it.
        if self.stop.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        println!("background process firing");
        self.firings.fetch_add(1, Ordering::SeqCst);
        // Book: blocks the worker for the whole period and then re-queues at once, so this process
        // owns a worker thread for the life of the program (see `background_loop` for the fix).
        thread::sleep(self.period);
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Our background process: `tick`, then a timer sleep of `period`, until `stop` is set.
///
/// Between ticks the task is parked on the timer thread, not on a worker, so other tasks run.
pub async fn background_loop(period: Duration, stop: Arc<AtomicBool>, mut tick: impl FnMut()) {
    while !stop.load(Ordering::SeqCst) {
        tick();
        sleep(period).await;
    }
}

/// `main`'s own work while a background process runs: three lines over about half a second.
fn main_work() {
    for step in 1..=3 {
        thread::sleep(BOOK_UNIT * 3 / 2);
        println!("main: doing its own work ({step}/3)");
    }
    thread::sleep(BOOK_UNIT / 2);
}

/// Runs the demo: the book's process detached, then ours.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    Runtime::new().with_low_num(2).with_high_num(4).run()?;

    println!("the book's process, detached (it holds a worker for the whole period):");
    let process = BackgroundProcess::new(BOOK_UNIT);
    let (firings, stop) = (Arc::clone(&process.firings), Arc::clone(&process.stop));
    spawn_task(process, FutureType::Low).detach();
    main_work();
    // The flag is checked before each firing prints, so nothing is printed after this line; the
    // firing in progress ends within one period, and the next poll returns `Ready`.
    stop.store(true, Ordering::SeqCst);
    thread::sleep(BOOK_UNIT);
    println!("stopped after {} firings", firings.load(Ordering::SeqCst));

    println!("\nours, with a timer between ticks (the worker is free while it waits):");
    let ticks = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let counted = Arc::clone(&ticks);
    spawn_task(
        background_loop(BOOK_UNIT, Arc::clone(&stop), move || {
            println!("background loop tick");
            counted.fetch_add(1, Ordering::SeqCst);
        }),
        FutureType::Low,
    )
    .detach();
    main_work();
    stop.store(true, Ordering::SeqCst);
    thread::sleep(BOOK_UNIT);
    println!("stopped after {} ticks", ticks.load(Ordering::SeqCst));
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::runtime::Handle;
    use crate::support::{WATCHDOG, wait_for};

    const PERIOD: Duration = Duration::from_millis(100);

    fn one_worker() -> Handle {
        Runtime::new().with_high_num(0).with_low_num(1).build()
    }

    /// Waits (checking every millisecond) until `counter` exceeds `above`; returns the new value.
    fn wait_above(counter: &AtomicUsize, above: usize) -> usize {
        let start = Instant::now();
        loop {
            let now = counter.load(Ordering::SeqCst);
            if now > above {
                return now;
            }
            assert!(start.elapsed() < WATCHDOG, "counter stuck at {now}");
            thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn detached_it_keeps_firing() {
        let handle = one_worker();
        let process = BackgroundProcess::new(PERIOD);
        let (firings, stop) = (Arc::clone(&process.firings), Arc::clone(&process.stop));
        handle.spawn(process, FutureType::Low).detach();
        thread::sleep(3 * PERIOD);
        assert!(firings.load(Ordering::SeqCst) >= 2);
        stop.store(true, Ordering::SeqCst);
        assert!(handle.shutdown(WATCHDOG));
    }

    #[test]
    fn dropping_the_task_cancels_it() {
        let handle = one_worker();
        let process = BackgroundProcess::new(PERIOD);
        let firings = Arc::clone(&process.firings);
        let task = handle.spawn(process, FutureType::Low);
        let at_drop = wait_above(&firings, 0);
        drop(task);
        thread::sleep(PERIOD + PERIOD / 2); // lets a firing in progress end
        let settled = firings.load(Ordering::SeqCst);
        assert!(settled <= at_drop + 1, "{at_drop} → {settled}");
        thread::sleep(3 * PERIOD);
        assert_eq!(firings.load(Ordering::SeqCst), settled);
        // The cancelled task is gone, so the runtime's worker can exit.
        assert!(handle.shutdown(WATCHDOG));
    }

    /// How long a short task waits for its first poll when spawned right after a firing starts.
    fn delay_of_a_task_spawned_after_a_firing(handle: &Handle, firings: &AtomicUsize) -> Duration {
        wait_above(firings, 0);
        let spawned = Instant::now();
        let started = wait_for(handle.spawn(async { Instant::now() }, FutureType::Low));
        started - spawned
    }

    #[test]
    fn the_books_process_delays_other_tasks_a_timer_loop_does_not() {
        let handle = one_worker();

        let process = BackgroundProcess::new(PERIOD);
        let (firings, stop) = (Arc::clone(&process.firings), Arc::clone(&process.stop));
        handle.spawn(process, FutureType::Low).detach();
        let blocked = delay_of_a_task_spawned_after_a_firing(&handle, &firings);
        stop.store(true, Ordering::SeqCst);
        assert!(blocked >= PERIOD / 2, "{blocked:?}");

        let ticks = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let counted = Arc::clone(&ticks);
        let looping = background_loop(PERIOD, Arc::clone(&stop), move || {
            counted.fetch_add(1, Ordering::SeqCst);
        });
        handle.spawn(looping, FutureType::Low).detach();
        let free = delay_of_a_task_spawned_after_a_firing(&handle, &ticks);
        stop.store(true, Ordering::SeqCst);
        assert!(free < Duration::from_millis(20), "{free:?}");

        assert!(handle.shutdown(WATCHDOG));
    }
}
