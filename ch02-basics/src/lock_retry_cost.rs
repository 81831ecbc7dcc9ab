//! `lock-retry-cost`: what the book's `try_lock` retry costs while a lock is held elsewhere (an
//! extra, measuring "Sharing Data Between Futures" against "High-Level Data Sharing Between
//! Futures").
//!
//! Both ways of waiting for a lock, under the same contention: someone else holds the lock for a
//! while, and one future wants it.
//!
//! - The book's way (`shared-counter-futures`, and the audit logger's `AsyncWriteFuture`): on a
//!   failed `try_lock` the future wakes itself and returns `Pending`. The executor queues it again
//!   at once and polls it again at once: the future spins, one core at 100 %, for as long as the
//!   holder holds the lock. Here the holder is a std thread keeping a std `Mutex`, and the future
//!   is a quiet [`SharedCounterFuture`] without a delay.
//! - `tokio::sync::Mutex::lock().await` (`async-mutex-counter`): the first poll finds the lock
//!   taken, leaves its waker in the mutex's queue and returns `Pending`; the task then sleeps,
//!   using no CPU, until the unlock wakes it, and the second poll takes the lock. Two polls
//!   however long the wait.
//!
//! Run it with `cargo run -p ch02 -- lock-retry-cost [--unit-ms N]` (the holder keeps the lock 2
//! units). It prints the polls and the wall time of each way. The spin is bounded by the holder's
//! hold time: it ends when the holder lets go, so the demo burns one core for 2 units at most.

use std::io;
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};
use common::timeline::{CountPolls, format_duration};
use tokio::sync::oneshot;
use tokio::task::JoinError;

use crate::shared_counter_futures::{CounterType, SharedCounterFuture, SharedData};
use crate::units::{current_thread, in_units, unit_arg};

/// The book's retry: a std thread holds a std `Mutex` for `hold` while a [`SharedCounterFuture`]
/// (quiet, no delay, one operation) tries it on a current-thread runtime.
// Book: this `try_lock` + `wake_by_ref` retry is the pattern not to copy for real waiting: it
// spins a core for the whole hold; `lock_await_while_held` below is the alternative.
pub fn try_lock_while_held(hold: Duration) -> io::Result<RetryCost> {
    let runtime = current_thread()?; // built first, so the hold is all spent polling
    let data = Arc::new(Mutex::new(SharedData::default()));
    let (held_tx, held_rx) = mpsc::channel();
    let holder = {
        let data = data.clone();
        thread::Builder::new()
            .name("holder".into())
            .spawn(move || {
                let guard = data.lock().unwrap_or_else(PoisonError::into_inner);
                let _ = held_tx.send(());
                thread::sleep(hold);
                drop(guard);
            })?
    };
    held_rx
        .recv()
        .map_err(|_| io::Error::other("the holder thread ended before taking the lock"))?;

    let mut future = SharedCounterFuture::new(CounterType::Increment, data)
        .times(1)
        .quiet();
    let start = Instant::now();
    let counted = CountPolls::new(&mut future);
    let polls = counted.counter();
    runtime.block_on(counted);
    let elapsed = start.elapsed();
    holder
        .join()
        .map_err(|_| io::Error::other("the holder thread panicked"))?;
    Ok(RetryCost {
        polls: polls.get(),
        elapsed,
    })
}

/// The async mutex: a task holds a `tokio::sync::Mutex` for `hold` while another task's `lock()`,
/// wrapped in [`CountPolls`], waits for it. Must run inside a tokio runtime.
pub async fn lock_await_while_held(hold: Duration) -> Result<RetryCost, JoinError> {
    let data = Arc::new(tokio::sync::Mutex::new(SharedData::default()));
    let (held_tx, held_rx) = oneshot::channel();
    let holder = {
        let data = data.clone();
        tokio::spawn(async move {
            let guard = data.lock().await;
            let _ = held_tx.send(());
            tokio::time::sleep(hold).await;
            drop(guard);
        })
    };
    // The holder has the lock once this arrives (an error means it panicked: the join says so).
    let _ = held_rx.await;
    let start = tokio::time::Instant::now();
    let waiter = tokio::spawn(async move {
        let lock = CountPolls::new(data.lock());
        let polls = lock.counter();
        let mut guard = lock.await;
        guard.increment();
        polls.get()
    });
    let polls = waiter.await?;
    let elapsed = start.elapsed();
    holder.await?;
    Ok(RetryCost { polls, elapsed })
}

/// What waiting for a held lock cost one future.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryCost {
    /// How often the waiting future was polled, the successful poll included.
    pub polls: usize,
    /// From the moment the holder had the lock until the waiter had it (wall time, or virtual
    /// time under tokio's paused clock for [`lock_await_while_held`]).
    pub elapsed: Duration,
}

/// Runs the demo: `lock-retry-cost [--unit-ms N]`.
pub fn run(mut args: Args) -> DemoResult {
    let unit = unit_arg(&mut args)?;
    args.finish()?;
    let hold = 2 * unit;
    println!(
        "a holder keeps the lock for 2 units ({}); one future waits for it\n",
        format_duration(hold)
    );

    let busy = try_lock_while_held(hold)?;
    println!(
        "try_lock + wake_by_ref (std Mutex): {} polls in {} ({:.1} units), \
         about {:.0} polls per ms; one core busy the whole time",
        busy.polls,
        format_duration(busy.elapsed),
        in_units(busy.elapsed, unit),
        busy.polls as f64 / (busy.elapsed.as_secs_f64() * 1e3).max(1e-3)
    );

    let runtime = current_thread()?;
    let parked = runtime.block_on(lock_await_while_held(hold))?;
    println!(
        "lock().await (tokio Mutex):         {} polls in {} ({:.1} units); the core idle meanwhile",
        parked.polls,
        format_duration(parked.elapsed),
        in_units(parked.elapsed, unit)
    );
    println!(
        "\nthe retry's cost grows with the hold time; the async lock's stays at 2 polls \
         (one to queue, one to take it)."
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: Duration = Duration::from_millis(20);

    #[test]
    fn the_try_lock_retry_polls_many_times_while_the_lock_is_held() {
        // A watchdog thread: if a regression made the future spin forever, fail, do not hang.
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let _ = tx.send(try_lock_while_held(5 * UNIT).map_err(|e| e.to_string()));
        });
        let cost = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("no result within 60 s: {e}"))
            .unwrap();
        assert!(cost.polls > 10, "{cost:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_async_lock_is_polled_exactly_twice() {
        let cost = tokio::time::timeout(Duration::from_secs(60), lock_await_while_held(5 * UNIT))
            .await
            .expect("no hang")
            .unwrap();
        assert_eq!(cost.polls, 2);
        assert_eq!(cost.elapsed, 5 * UNIT); // virtual time: exact
    }

    #[test]
    fn bad_unit_is_a_usage_error() {
        let err = run(Args::from_iter(["--unit-ms"])).unwrap_err();
        assert!(err.is::<common::demo::UsageError>(), "{err}");
    }
}
