//! Native twins of the scheduling demos (Mimicking Async Behavior, Controlling Coroutines, Testing
//! Coroutines): a sleep, a counter and the mutex counter written with `yield`.
//!
//! - [`sleep`] yields its deadline until it has passed, like
//!   [`SleepCoroutine`](crate::sleep_coroutines::SleepCoroutine); `coroutine-executor`'s nightly
//!   test queues it beside hand-written coroutines in one [`Executor`](crate::coroutine_executor::Executor);
//! - [`counter`] is resumed on main, moved to a worker thread and finished there
//!   (`coroutines-across-threads`);
//! - [`mutex_counter`] is [`MutexCoroutine`](crate::mutex_coroutines::MutexCoroutine) as a loop:
//!   it passes the book's `basic_test` table (`mutex-coroutines`) and gives the same 6 / 90 / 24
//!   runs in `schedule-explorer`.
//!
//! A closure coroutine hides its state (its threshold lives in the compiler's state machine,
//! where no test can read it), so the explorer checks the native twins by what they do: the
//! value, and when each one yields or completes.

use std::error::Error;
use std::ops::{Coroutine, CoroutineState};
use std::pin::Pin;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, TryLockError};
use std::thread;
use std::time::Instant;

use crate::native::Native;
use crate::schedule_explorer::{self, Explorable, Exploration};

/// A sleep until `deadline`: yields the deadline on every resume before it, completes on the
/// first resume after it.
pub fn sleep(deadline: Instant) -> impl Coroutine<Yield = Instant, Return = ()> + Send {
    #[coroutine]
    move || {
        while Instant::now() < deadline {
            yield deadline;
        }
    }
}

/// Yields 1, 2, … up to `to`, then completes with `to`.
pub fn counter(to: u32) -> impl Coroutine<Yield = u32, Return = u32> + Send {
    #[coroutine]
    move || {
        let mut n = 0;
        while n < to {
            n += 1;
            yield n;
        }
        n
    }
}

/// Resumes a [`counter`] of 4 `on_main` times here, sends it through a channel to a thread named
/// `worker`, which resumes it until it completes. Returns the values in the order they were
/// yielded across both threads, and those of a fresh counter resumed on this thread alone.
pub fn counter_moved_to_worker(
    on_main: usize,
) -> Result<(Vec<u32>, Vec<u32>), Box<dyn Error + Send + Sync>> {
    let moved = finish_on_worker(counter(4), on_main)?;
    let mut here = Vec::new();
    let mut fresh = counter(4);
    while let CoroutineState::Yielded(value) = Pin::new(&mut fresh).resume(()) {
        here.push(value);
    }
    Ok((moved, here))
}

/// Resumes `coroutine` `on_main` times here, then moves it through a channel to a worker thread
/// that resumes it to the end; returns every yield, in order.
fn finish_on_worker<G>(
    mut coroutine: G,
    on_main: usize,
) -> Result<Vec<u32>, Box<dyn Error + Send + Sync>>
where
    G: Coroutine<Yield = u32> + Send + Unpin + 'static,
{
    let (sender, receiver) = mpsc::channel::<G>();
    let worker = thread::Builder::new()
        .name("worker".into())
        .spawn(move || {
            let mut values = Vec::new();
            while let Ok(mut coroutine) = receiver.recv() {
                while let CoroutineState::Yielded(value) = Pin::new(&mut coroutine).resume(()) {
                    values.push(value);
                }
            }
            values
        })?;

    let mut values = Vec::new();
    for _ in 0..on_main {
        if let CoroutineState::Yielded(value) = Pin::new(&mut coroutine).resume(()) {
            values.push(value);
        }
    }
    let sent = sender.send(coroutine);
    drop(sender); // ends the worker's loop once it has the coroutine
    values.extend(worker.join().map_err(|_| "the worker thread panicked")?);
    sent.map_err(|_| "the worker stopped receiving")?;
    Ok(values)
}

/// The book's `MutexCoroutine` as a loop: try the lock; if it is free, add one to the value and
/// count down, completing at zero; yield after every attempt that does not complete. The guard is
/// dropped before each `yield`, so the lock is never held across a pause (and the coroutine stays
/// `Send`).
pub fn mutex_counter(
    handle: Arc<Mutex<u8>>,
    threshold: u8,
) -> impl Coroutine<Yield = (), Return = ()> + Send {
    #[coroutine]
    move || {
        let mut threshold = threshold;
        loop {
            let got_it = match handle.try_lock() {
                Ok(mut value) => {
                    *value += 1;
                    true
                }
                Err(TryLockError::Poisoned(poisoned)) => {
                    *poisoned.into_inner() += 1;
                    true
                }
                Err(TryLockError::WouldBlock) => false,
            }; // the guard is gone here
            if got_it {
                threshold = threshold.saturating_sub(1);
                if threshold == 0 {
                    return;
                }
            }
            yield;
        }
    }
}

/// A native coroutine's state is out of sight: the explorer checks it by its behaviour alone.
impl<G: Coroutine<Yield = (), Return = ()>> Explorable for Native<G> {}

/// `schedule-explorer`'s three searches over [`mutex_counter`] twins.
pub fn explore_native() -> Result<Exploration, String> {
    schedule_explorer::explore_all(&|handle, threshold| {
        Native::new(mutex_counter(handle, threshold))
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::coroutine::{self, Coroutine as _};
    use crate::coroutine_executor::{Countdown, Executor, Traced};
    use crate::mutex_coroutines::{book_scenario, book_scenario_with_structs};
    use crate::sleep_coroutines::SleepCoroutine;
    use common::Timeline;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_native_sleep_yields_its_deadline_then_completes() {
        let deadline = Instant::now() + 20 * MS;
        let mut native = Native::new(sleep(deadline));
        assert_eq!(
            Pin::new(&mut native).resume(()),
            coroutine::CoroutineState::Yielded(deadline)
        );
        crate::sleep_coroutines::sleep_until(deadline);
        assert_eq!(
            Pin::new(&mut native).resume(()),
            coroutine::CoroutineState::Complete(())
        );
        let mut past = sleep(Instant::now());
        assert_eq!(Pin::new(&mut past).resume(()), CoroutineState::Complete(()));
    }

    #[test]
    fn native_sleeps_share_the_executor_queue_with_hand_written_coroutines() {
        let timeline = Timeline::new();
        let mut executor = Executor::new();
        let start = Instant::now();
        let mut counts = Vec::new();
        for millis in [30, 60] {
            let native = Traced::new(
                Native::new(sleep(start + millis * MS)),
                &timeline,
                format!("native {millis} ms"),
            );
            counts.push(native.resumes());
            executor.add(Box::pin(native));
        }
        executor.add(Box::pin(SleepCoroutine::new(45 * MS)));
        executor.add(Box::pin(Countdown::new(2)));

        let rounds = executor.run(&timeline);
        assert!(executor.coroutines.is_empty());
        assert!(start.elapsed() >= 60 * MS);
        // The countdown's 3 rounds resume everyone at once; after it, one round per deadline.
        assert!(rounds.len() <= 3 + 3 + 1, "{rounds:?}");
        for count in counts {
            let resumes = count.load(std::sync::atomic::Ordering::Relaxed);
            assert!(
                resumes >= 2 && resumes as usize <= rounds.len(),
                "{resumes}"
            );
        }
        let labels: Vec<String> = timeline.spans().into_iter().map(|s| s.label).collect();
        assert!(labels.contains(&"native 30 ms".to_string()));
        assert!(labels.contains(&"native 60 ms".to_string()));
    }

    #[test]
    fn a_native_counter_moved_to_a_worker_carries_on() {
        for on_main in [0, 2, 4] {
            let (moved, here) = counter_moved_to_worker(on_main).expect("the worker runs");
            assert_eq!(moved, [1, 2, 3, 4], "{on_main} resumes on main");
            assert_eq!(moved, here);
        }
    }

    #[test]
    fn the_native_mutex_counter_passes_the_books_basic_test_table() {
        for first_first in [true, false] {
            let handle = Arc::new(Mutex::new(0));
            let first = ("first", Native::new(mutex_counter(handle.clone(), 2)));
            let second = ("second", Native::new(mutex_counter(handle.clone(), 2)));
            let order = if first_first {
                [first, second]
            } else {
                [second, first]
            };
            assert_eq!(
                book_scenario(&handle, order),
                book_scenario_with_structs(first_first)
            );
        }
    }

    #[test]
    fn the_native_explorer_finds_the_same_runs() {
        let native = explore_native().expect("every native run keeps the invariants");
        let ours = schedule_explorer::explore_all(&schedule_explorer::mutex_coroutine)
            .expect("every run keeps the invariants");
        assert_eq!(
            (native.two.len(), native.three.len(), native.blocked.len()),
            (6, 90, 24)
        );
        for (a, b) in [
            (&native.two, &ours.two),
            (&native.three, &ours.three),
            (&native.blocked, &ours.blocked),
        ] {
            let outcomes = |runs: &[schedule_explorer::Run]| -> Vec<_> {
                runs.iter()
                    .map(|r| (r.schedule.clone(), r.outcome()))
                    .collect()
            };
            assert_eq!(outcomes(a), outcomes(b));
        }
    }

    #[test]
    fn a_native_mutex_counter_is_send() {
        let handle = Arc::new(Mutex::new(0));
        let moved = mutex_counter(handle.clone(), 1);
        thread::spawn(move || {
            let mut moved = moved;
            Pin::new(&mut moved).resume(())
        })
        .join()
        .expect("resumed on another thread");
        assert_eq!(*handle.lock().unwrap(), 1);
    }
}
