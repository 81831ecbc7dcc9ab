//! `sleep-coroutine-future`: the sleep coroutine as a `Future`, awaited on tokio (book section
//! "Mimicking Async Behavior with Coroutines").
//!
//! A future is a coroutine with a waker. `poll` resumes the coroutine and maps its answer:
//! `Complete` becomes `Ready`, `Yielded` becomes `Pending`. The mapping is two lines; the real
//! work of an adapter is the other half of `Pending`'s contract: arranging for the task to be
//! woken when a poll can say something new. A `Pending` with no wake ever coming leaves the task
//! asleep for good; a wake at once (the book's choice) makes the runtime poll again at once,
//! round and round.
//!
//! Our adapter wakes at the deadline. On the first `Yielded(deadline)` it stores the waker in a
//! shared slot and starts a timer thread that sleeps until the deadline and then wakes whatever
//! waker the slot holds by then (a later poll may have left a newer one). The demo joins three
//! 1 s sleeps on a current-thread runtime: about 1 s in all, about 2 polls each.
//!
//! Run it with `cargo run -p ch05 -- sleep-coroutine-future [--millis MS]` (default 1000).
//!
//! How we differ from the book: its `poll` calls `cx.waker().wake_by_ref()` before every
//! `Pending`, a busy-poll that keeps a runtime thread at 100 % and polls each of three joined 1 s
//! sleeps about 570,000 times (debug build; 3.5 million in release). One thread per timer is not how a runtime sleeps either (tokio keeps one timer
//! wheel for all its sleeps; chapter 10 builds a runtime's sleep), but it is the smallest honest
//! wake-up, and it needs nothing from tokio: the coroutine reads `std::time::Instant`, so the
//! chapter uses no tokio timers at all.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};
use common::timeline::{CountPolls, format_duration};

use crate::coroutine::{Coroutine, CoroutineState};
use crate::sleep_coroutines::{SleepCoroutine, sleep_until};

impl Future for SleepCoroutine {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match Pin::new(&mut self).resume(()) {
            CoroutineState::Complete(()) => Poll::Ready(()),
            CoroutineState::Yielded(deadline) => {
                // Book: `poll` calls `cx.waker().wake_by_ref()` before every `Pending`, asking to
                // be polled again at once, a busy poll for the whole sleep; ours has a timer
                // thread wake the task at the deadline.
                self.wake_at(deadline, cx.waker());
                Poll::Pending
            }
        }
    }
}

/// Where a sleep's timer thread finds the waker to wake: the latest poll's, or `None` once the
/// timer has fired.
pub(crate) type TimerSlot = Arc<Mutex<Option<Waker>>>;

/// Locks a timer slot. Nothing can panic while it is held, and every change is a single
/// assignment, so a poisoned slot is still consistent.
fn lock(slot: &Mutex<Option<Waker>>) -> MutexGuard<'_, Option<Waker>> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SleepCoroutine {
    /// Arranges for `waker` to be woken at `deadline`: keeps it in the timer slot if a timer is
    /// waiting, or starts a timer thread if none is.
    fn wake_at(&mut self, deadline: Instant, waker: &Waker) {
        if let Some(slot) = &self.timer {
            let mut stored = lock(slot);
            if let Some(stored) = stored.as_mut() {
                // A timer is waiting: make sure it wakes the latest task's waker.
                if !stored.will_wake(waker) {
                    *stored = waker.clone();
                }
                return;
            }
            // The timer has fired but the sleep still yielded (its `start` was moved, say):
            // start another one below.
        }
        let slot: TimerSlot = Arc::new(Mutex::new(Some(waker.clone())));
        let timer_slot = Arc::clone(&slot);
        let started = thread::Builder::new()
            .name("sleep-timer".into())
            .spawn(move || {
                sleep_until(deadline);
                let waker = lock(&timer_slot).take();
                if let Some(waker) = waker {
                    waker.wake();
                }
            });
        match started {
            Ok(_detached) => self.timer = Some(slot),
            // No thread to wait for us: fall back to the book's wake-at-once, slower but never
            // stuck.
            Err(_) => waker.wake_by_ref(),
        }
    }
}

/// What [`join_sleeps`] saw.
#[derive(Debug)]
pub struct JoinReport {
    /// How many times each sleep was polled.
    pub polls: Vec<usize>,
    /// From the first poll to the last completion.
    pub took: Duration,
}

/// Awaits three sleeps of `duration` with `tokio::join!`, counting each one's polls.
pub async fn join_sleeps(duration: Duration) -> JoinReport {
    let first = CountPolls::new(SleepCoroutine::new(duration));
    let second = CountPolls::new(SleepCoroutine::new(duration));
    let third = CountPolls::new(SleepCoroutine::new(duration));
    let counters = [first.counter(), second.counter(), third.counter()];
    let start = Instant::now();
    tokio::join!(first, second, third);
    JoinReport {
        polls: counters.iter().map(|c| c.get()).collect(),
        took: start.elapsed(),
    }
}

/// Runs the demo: `sleep-coroutine-future [--millis MS]`.
pub fn run(mut args: Args) -> DemoResult {
    let millis: u64 = args.value_in("millis", 1000, 0..=10_000)?;
    args.finish()?;

    let duration = Duration::from_millis(millis);
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    println!(
        "three SleepCoroutine futures of {} joined on one tokio thread",
        format_duration(duration)
    );
    let report = runtime.block_on(join_sleeps(duration));
    println!("Took {}", format_duration(report.took));
    println!(
        "polls per future: {:?} (with the book's wake-at-once: hundreds of thousands each)",
        report.polls
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::task::Wake;

    const MS: Duration = Duration::from_millis(1);

    /// A waker that counts its wakes and reports each one on a channel.
    struct CountingWaker {
        wakes: AtomicUsize,
        woken: Mutex<mpsc::Sender<()>>,
    }

    impl CountingWaker {
        fn new() -> (Arc<Self>, mpsc::Receiver<()>) {
            let (tx, rx) = mpsc::channel();
            let waker = CountingWaker {
                wakes: AtomicUsize::new(0),
                woken: Mutex::new(tx),
            };
            (Arc::new(waker), rx)
        }

        fn wakes(&self) -> usize {
            self.wakes.load(Ordering::SeqCst)
        }
    }

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            self.wakes.fetch_add(1, Ordering::SeqCst);
            let _ = self
                .woken
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .send(());
        }
    }

    #[test]
    fn a_sleep_is_woken_once_at_its_deadline_then_ready() {
        let (counting, woken) = CountingWaker::new();
        let waker = Waker::from(Arc::clone(&counting));
        let mut cx = Context::from_waker(&waker);
        let mut sleep = SleepCoroutine::new(100 * MS);
        let start = sleep.start;

        assert_eq!(Pin::new(&mut sleep).poll(&mut cx), Poll::Pending);
        assert_eq!(counting.wakes(), 0, "no wake before the deadline");

        woken
            .recv_timeout(Duration::from_secs(5))
            .expect("the timer thread should wake the task");
        assert!(start.elapsed() >= 100 * MS);
        assert_eq!(counting.wakes(), 1);
        assert_eq!(Pin::new(&mut sleep).poll(&mut cx), Poll::Ready(()));
        assert_eq!(counting.wakes(), 1, "Ready needs no wake");
    }

    #[test]
    fn an_expired_sleep_is_ready_at_once_without_a_wake() {
        let (counting, _woken) = CountingWaker::new();
        let waker = Waker::from(Arc::clone(&counting));
        let mut sleep = SleepCoroutine::new(Duration::ZERO);
        let poll = Pin::new(&mut sleep).poll(&mut Context::from_waker(&waker));
        assert_eq!(poll, Poll::Ready(()));
        assert_eq!(counting.wakes(), 0);
    }

    #[test]
    fn the_timer_wakes_the_waker_of_the_latest_poll() {
        let (first, _first_woken) = CountingWaker::new();
        let (second, second_woken) = CountingWaker::new();
        let mut sleep = SleepCoroutine::new(50 * MS);
        let first_waker = Waker::from(Arc::clone(&first));
        let second_waker = Waker::from(Arc::clone(&second));
        let poll = Pin::new(&mut sleep).poll(&mut Context::from_waker(&first_waker));
        assert_eq!(poll, Poll::Pending);
        let poll = Pin::new(&mut sleep).poll(&mut Context::from_waker(&second_waker));
        assert_eq!(poll, Poll::Pending);
        second_woken
            .recv_timeout(Duration::from_secs(5))
            .expect("the timer thread should wake the second waker");
        assert_eq!((first.wakes(), second.wakes()), (0, 1));
    }

    #[tokio::test]
    async fn three_joined_sleeps_overlap_with_few_polls() {
        let report = join_sleeps(100 * MS).await;
        assert!(report.took >= 100 * MS, "{report:?}");
        assert!(report.took < 200 * MS, "{report:?}");
        assert!(
            report.polls.iter().all(|&p| (2..=3).contains(&p)),
            "{report:?}"
        );
    }
}
