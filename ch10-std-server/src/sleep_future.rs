//! `sleep-future` ("Building Our Sleep"): a sleep that is woken, not re-polled.
//!
//! The code is in [`crate::async_runtime::sleep`] and [`crate::async_runtime::timer`]: the first
//! `Pending` poll of a [`Sleep`] gives a clone of its waker to a timer thread (a map ordered by
//! deadline, a `Mutex` and a `Condvar`); the timer calls it at the deadline and the second poll
//! returns `Ready`. The book's sleep wakes itself on every poll instead, so a sleeping task is
//! a busy loop until its deadline.
//!
//! The demo sleeps three tasks for 100 ms on one executor (about 100 ms in all, 2 polls each,
//! the executor parked meanwhile), then runs a book-style self-waking sleep of 20 ms and counts
//! its polls. Run it with `cargo run -p ch10 -- sleep-future [--ms MS] [--book-ms MS]`.

pub use crate::async_runtime::sleep::{Sleep, sleep};

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};
use common::timeline::{CountPolls, format_duration};

use crate::async_runtime::Executor;

/// The book's sleep, for comparison: done at `when`, otherwise wakes itself and returns
/// `Pending` — so the executor polls it again at once, over and over.
pub struct BookSleep {
    when: Instant,
}

impl BookSleep {
    /// A self-waking sleep of `duration`.
    pub fn new(duration: Duration) -> Self {
        BookSleep {
            when: Instant::now() + duration,
        }
    }
}

impl Future for BookSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.when {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// What one run of sleeps on a fresh executor observed.
#[derive(Debug, Clone)]
pub struct SleepRun {
    /// Wall time of the whole run.
    pub elapsed: Duration,
    /// Polls of each task, in spawn order.
    pub polls: Vec<usize>,
    /// Times the executor parked.
    pub parks: u64,
}

/// Runs one task per future on a fresh executor until all finish.
pub fn run_sleeps<F>(sleeps: Vec<F>) -> SleepRun
where
    F: Future<Output = ()> + Send + 'static,
{
    let mut executor = Executor::new();
    let started = Instant::now();
    let counters: Vec<_> = sleeps
        .into_iter()
        .map(|s| {
            let counted = CountPolls::new(s);
            let polls = counted.counter();
            drop(executor.spawn(counted));
            polls
        })
        .collect();
    executor.run();
    SleepRun {
        elapsed: started.elapsed(),
        polls: counters.iter().map(|c| c.get()).collect(),
        parks: executor.stats().parks,
    }
}

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let ms = args.value_in("ms", 100u64, 1..=5_000)?;
    let book_ms = args.value_in("book-ms", 20u64, 1..=1_000)?;
    args.finish()?;
    let d = Duration::from_millis(ms);
    let ours = run_sleeps((0..3).map(|_| Sleep::new(d)).collect());
    println!(
        "3 x Sleep::new({ms} ms) on one executor: all done in {}, polls {:?}, executor parked {} time(s) while waiting",
        format_duration(ours.elapsed),
        ours.polls,
        ours.parks
    );
    let book = run_sleeps(vec![BookSleep::new(Duration::from_millis(book_ms))]);
    println!(
        "book-style self-waking sleep of {book_ms} ms: {} polls in {}, parked {} times (a busy loop); ours: {} polls",
        book.polls[0],
        format_duration(book.elapsed),
        book.parks,
        ours.polls[0]
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::async_runtime::test_support::within;
    use crate::data_layer::XorShift;

    #[test]
    fn sleep_never_completes_before_its_deadline() {
        within(Duration::from_secs(10), || {
            let mut executor = Executor::new();
            let handles: Vec<_> = [0u64, 1, 5, 15, 30]
                .into_iter()
                .map(|ms| {
                    executor.spawn(async move {
                        let sleep = Sleep::new(Duration::from_millis(ms));
                        let deadline = sleep.deadline();
                        sleep.await;
                        Instant::now() >= deadline
                    })
                })
                .collect();
            executor.run();
            for h in handles {
                assert_eq!(h.join(), Ok(true));
            }
        });
    }

    #[test]
    fn three_concurrent_sleeps_overlap_with_two_polls_each() {
        let run = within(Duration::from_secs(10), || {
            run_sleeps(
                (0..3)
                    .map(|_| Sleep::new(Duration::from_millis(100)))
                    .collect(),
            )
        });
        assert!(
            run.elapsed >= Duration::from_millis(100) && run.elapsed < Duration::from_millis(250),
            "{:?}",
            run.elapsed
        );
        assert_eq!(run.polls, [2, 2, 2]);
        assert!(run.parks >= 1);
    }

    #[test]
    fn sleeps_finish_in_deadline_order() {
        let order = Arc::new(Mutex::new(Vec::new()));
        // One common start, so a slow first poll (e.g. starting the timer thread) cannot
        // reorder the deadlines.
        let start = Instant::now();
        let sleeps: Vec<_> = [60u64, 20, 40]
            .into_iter()
            .map(|ms| {
                let order = Arc::clone(&order);
                async move {
                    Sleep::until(start + Duration::from_millis(ms)).await;
                    order.lock().unwrap().push(ms);
                }
            })
            .collect();
        let run = within(Duration::from_secs(10), move || run_sleeps(sleeps));
        assert_eq!(*order.lock().unwrap(), [20, 40, 60]);
        assert!(run.polls.iter().all(|&p| p <= 3), "{:?}", run.polls);
    }

    #[test]
    fn a_thousand_random_sleeps_complete_and_deregister() {
        let mut rng = XorShift::new(11);
        let sleeps: Vec<_> = (0..1_000)
            .map(|_| {
                let ms = rng.below(51);
                async move {
                    let mut sleep = Sleep::new(Duration::from_millis(ms));
                    (&mut sleep).await;
                    assert!(
                        !sleep.is_registered(),
                        "a finished sleep left a timer entry"
                    );
                }
            })
            .collect();
        let run = within(Duration::from_secs(20), move || run_sleeps(sleeps));
        assert_eq!(run.polls.len(), 1_000);
        assert!(
            run.polls.iter().all(|&p| (1..=3).contains(&p)),
            "{:?}",
            run.polls
        );
    }

    #[test]
    fn a_cancelled_sleep_leaves_no_timer_entry() {
        let mut sleep = Sleep::new(Duration::from_secs(3600));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(Pin::new(&mut sleep).poll(&mut cx).is_pending());
        assert!(sleep.is_registered());
        let key = sleep.timer_key().unwrap();
        drop(sleep);
        assert!(!crate::async_runtime::timer::is_pending(key));
    }

    #[test]
    fn the_book_sleep_spins() {
        // The deadline starts at the first poll (not at spawn), so even a slow run spins.
        let run = within(Duration::from_secs(10), || {
            run_sleeps(vec![async {
                BookSleep::new(Duration::from_millis(20)).await
            }])
        });
        assert!(run.polls[0] > 50, "{:?}", run.polls);
        assert_eq!(
            run.parks, 0,
            "a self-waking task never lets the executor park"
        );
    }
}
