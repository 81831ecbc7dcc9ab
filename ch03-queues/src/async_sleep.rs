//! `async-sleep` (book section "Building Our Own Async Queue"): the book's non-blocking sleep, and
//! why "non-blocking" is not the same as "idle".
//!
//! [`AsyncSleep`] is kept exactly as the book wrote it. Its clock starts when it is *created*, and
//! each poll compares the time elapsed with the duration: done, `Ready(true)`; not yet, it wakes
//! its own waker and returns `Pending`. Returning `Pending` instead of calling `thread::sleep` is a
//! real improvement: the worker is free to poll other tasks between two polls of the sleep, so a
//! sleeping task no longer stalls the queue. But the self-wake puts the task straight back on the
//! queue, so it is polled again, and again, as fast as the executor can go: a busy loop that keeps
//! a core at 100 % for the whole sleep. On a queue with other work, each re-poll waits its turn,
//! so the sleep can also last longer than asked (the book mentions this trade-off).
//!
//! Run it with `cargo run -p ch03 -- async-sleep`. First a 200 ms `AsyncSleep` under
//! `futures_lite::future::block_on`, which prints how many times it was polled: hundreds of
//! thousands to millions, depending on the machine and the build. Then the book's usage: on a
//! runtime with a single worker (`ch03::runtime`, 0 high + 1 low), a task awaiting a 200 ms sleep
//! next to a counter (three polls of 30 ms): the counter finishes first, while the sleep is still
//! pending, which is the improvement; and the sleep's poll count, which is the cost. The fix, a
//! sleep that a timer thread wakes once, is the next demo, `timer-sleep`.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use common::CounterFuture;
use common::demo::{Args, DemoResult};
use common::timeline::{CountPolls, format_duration};
use futures_lite::future;

use crate::runtime::{FutureType, Handle, Runtime};

/// The book's `AsyncSleep`: ready once `duration` has passed since it was created.
pub struct AsyncSleep {
    start_time: Instant,
    duration: Duration,
}

impl AsyncSleep {
    /// A sleep of `duration`, counted from now (not from the first poll).
    pub fn new(duration: Duration) -> Self {
        Self {
            start_time: Instant::now(),
            duration,
        }
    }
}

impl Future for AsyncSleep {
    type Output = bool;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let elapsed_time = self.start_time.elapsed();
        if elapsed_time >= self.duration {
            Poll::Ready(true)
        } else {
            // Book: kept as the book wrote it, this self-wake asks to be polled again at once, so
            // the sleep busy-polls for its whole duration and keeps a core at 100 %. A sleep should
            // hand its waker to a timer and be woken once (our `timer-sleep`).
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// The book's usage on a one-worker runtime: a task awaiting `sleep` and a three-poll counter with
/// `counter_delay` per poll, spawned in that order. Returns the order in which they finished and
/// how many times the sleep was polled.
pub fn sleep_beside_counter(
    handle: &Handle,
    sleep: Duration,
    counter_delay: Duration,
) -> (Vec<&'static str>, usize) {
    let finished = Arc::new(Mutex::new(Vec::new()));
    let async_sleep = CountPolls::new(AsyncSleep::new(sleep));
    let polls = async_sleep.counter();

    let done = Arc::clone(&finished);
    let async_sleep_handle = handle.spawn(
        async move {
            async_sleep.await;
            done.lock().unwrap_or_else(|e| e.into_inner()).push("sleep");
            "slept"
        },
        FutureType::Low,
    );
    let done = Arc::clone(&finished);
    let counter = handle.spawn(
        async move {
            let count = CounterFuture::new(3).with_delay(counter_delay).await;
            done.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push("counter");
            count
        },
        FutureType::Low,
    );
    future::block_on(counter);
    future::block_on(async_sleep_handle);

    let order = finished.lock().unwrap_or_else(|e| e.into_inner()).clone();
    (order, polls.get())
}

/// Runs the demo: the sleep under `block_on`, then beside a counter on one worker.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    let duration = Duration::from_millis(200);
    let sleep = CountPolls::new(AsyncSleep::new(duration));
    let polls = sleep.counter();
    future::block_on(sleep);
    println!(
        "AsyncSleep({}): ready after {} polls",
        format_duration(duration),
        polls.get()
    );

    println!("\non a one-worker runtime, beside a counter (3 polls × 30 ms):");
    let handle = Runtime::new().with_high_num(0).with_low_num(1).build();
    let (order, polls) = sleep_beside_counter(&handle, duration, Duration::from_millis(30));
    println!(
        "finished in this order: {}; the sleep was polled {polls} times meanwhile",
        order.join(", ")
    );
    if order.first() == Some(&"counter") {
        println!("the counter finished while the sleep was pending: the worker was not blocked");
    }
    handle.shutdown(Duration::from_secs(5));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::WakeCounter;

    #[test]
    fn ready_no_earlier_than_its_duration_after_new_and_busy_until_then() {
        let duration = Duration::from_millis(20);
        let created = Instant::now();
        let mut sleep = CountPolls::new(AsyncSleep::new(duration));
        let polls = sleep.counter();
        let wakes = WakeCounter::new();
        let waker = wakes.waker();
        let mut cx = Context::from_waker(&waker);
        // Poll only after a wake, as an executor would.
        let output = loop {
            let before = wakes.wakes();
            if let Poll::Ready(output) = Pin::new(&mut sleep).poll(&mut cx) {
                break output;
            }
            assert_eq!(wakes.wakes(), before + 1, "Pending without a wake");
        };
        assert!(output);
        assert!(created.elapsed() >= duration);
        assert!(polls.get() > 10, "{} polls", polls.get());
        assert_eq!(wakes.wakes(), polls.get() - 1);
    }

    #[test]
    fn on_one_worker_a_counter_finishes_while_the_sleep_is_pending() {
        let handle = Runtime::new().with_high_num(0).with_low_num(1).build();
        let (order, polls) =
            sleep_beside_counter(&handle, Duration::from_millis(200), Duration::ZERO);
        assert_eq!(order, ["counter", "sleep"]);
        assert!(polls > 3, "{polls}");
        assert!(handle.shutdown(Duration::from_secs(5)));
    }
}
