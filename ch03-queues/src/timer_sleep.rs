//! `timer-sleep` (Building Our Own Async Queue, our fix): a sleep that is woken once, by a timer.
//!
//! The book's `AsyncSleep` returns `Pending` instead of blocking, but wakes itself on every poll,
//! so its task is re-queued and re-polled until the time is up: a busy loop that keeps a worker
//! (or a `block_on` thread) at 100 % for the whole sleep. A sleep should instead hand its deadline
//! and its waker to something that *waits*, and be woken exactly once when the deadline passes.
//!
//! Here that something is one global thread named `timer`. It keeps the pending deadlines in a
//! `BinaryHeap` (earliest first) and blocks on its channel: `recv()` when it has nothing to wait
//! for, `recv_deadline(earliest)` otherwise, so a new, earlier sleep interrupts its wait and an
//! idle timer costs no CPU at all. When a deadline passes it wakes that sleep's waker, once.
//! [`TimerSleep`] has the same constructor and `Output = bool` as the book's `AsyncSleep`, so it
//! is a drop-in replacement; it is also `ch03::runtime::sleep(d)` for later steps and chapter 4.
//! Production versions of the same idea: smol's `async_io::Timer`, `tokio::time::sleep`.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};
use common::timeline::format_duration;

/// A future that is ready (with `true`) once `duration` has passed since [`TimerSleep::new`].
///
/// The first poll before the deadline registers the deadline and the waker with the timer thread;
/// later early polls only refresh the waker. So a sleep polled by an executor is polled twice:
/// once to register, once after the timer's single wake-up.
#[derive(Debug)]
pub struct TimerSleep {
    deadline: Instant,
    /// Shared with the timer thread once registered; `None` until the first early poll.
    slot: Option<Arc<Slot>>,
}

/// Where the timer thread finds the waker to wake; emptied when the sleep is dropped.
#[derive(Debug, Default)]
struct Slot {
    waker: Mutex<Option<Waker>>,
}

impl TimerSleep {
    /// A sleep of `duration`, counted from now (like the book's `AsyncSleep::new`), not from the
    /// first poll.
    pub fn new(duration: Duration) -> Self {
        TimerSleep {
            deadline: Instant::now() + duration,
            slot: None,
        }
    }

    /// When the sleep is due.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

impl Future for TimerSleep {
    type Output = bool;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        // Book: `AsyncSleep` calls `wake_by_ref()` before every `Pending`, so it is re-polled
        // non-stop until due; ours leaves the waker with the timer thread, which wakes it once.
        if Instant::now() >= self.deadline {
            return Poll::Ready(true);
        }
        match &self.slot {
            // An early poll again: keep the waker current (the task may have moved), but never
            // register twice.
            Some(slot) => {
                let mut waker = slot.waker.lock().unwrap_or_else(PoisonError::into_inner);
                match &mut *waker {
                    Some(old) if old.will_wake(cx.waker()) => {}
                    other => *other = Some(cx.waker().clone()),
                }
            }
            None => {
                let slot = Arc::new(Slot {
                    waker: Mutex::new(Some(cx.waker().clone())),
                });
                TIMER.register(self.deadline, Arc::clone(&slot));
                self.slot = Some(slot);
            }
        }
        Poll::Pending
    }
}

impl Drop for TimerSleep {
    fn drop(&mut self) {
        // A dropped sleep must not keep its task alive until the deadline: take the waker back.
        // The timer thread then finds an empty slot and drops it when it comes due.
        if let Some(slot) = &self.slot {
            slot.waker
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
        }
    }
}

/// The sending side of the global timer thread, started on first use.
struct Timer {
    sender: flume::Sender<Entry>,
}

static TIMER: LazyLock<Timer> = LazyLock::new(|| {
    let (sender, receiver) = flume::unbounded();
    let spawned = thread::Builder::new()
        .name("timer".into())
        .spawn(move || timer_loop(receiver));
    if let Err(error) = spawned {
        // Without its thread no sleep could ever end: as fatal as failing to allocate.
        panic!("cannot start the timer thread: {error}");
    }
    Timer { sender }
});

impl Timer {
    fn register(&self, deadline: Instant, slot: Arc<Slot>) {
        // The receiver lives in the timer thread, which never returns: a send cannot fail.
        let _ = self.sender.send(Entry { deadline, slot });
    }
}

/// A pending deadline; ordered by deadline alone (the heap keeps the earliest on top).
struct Entry {
    deadline: Instant,
    slot: Arc<Slot>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.deadline == other.deadline
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.deadline.cmp(&other.deadline)
    }
}

/// The timer thread: wait for the earliest deadline or a new registration, whichever is first.
fn timer_loop(receiver: flume::Receiver<Entry>) {
    let mut heap: BinaryHeap<Reverse<Entry>> = BinaryHeap::new();
    // Dropped sleeps stay in the heap until their deadline; when it has doubled since the last
    // clean-up, drop the entries nobody waits for any more (the timer holds their only `Arc`).
    let mut purge_at = 1024;
    loop {
        if heap.len() >= purge_at {
            heap.retain(|Reverse(entry)| Arc::strong_count(&entry.slot) > 1);
            purge_at = (heap.len() * 2).max(1024);
        }
        let received = match heap.peek() {
            None => receiver
                .recv()
                .map_err(|_| flume::RecvTimeoutError::Disconnected),
            Some(Reverse(next)) => receiver.recv_deadline(next.deadline),
        };
        match received {
            Ok(entry) => heap.push(Reverse(entry)),
            Err(flume::RecvTimeoutError::Timeout) => {}
            // Every sender is gone (cannot happen for the static one): nothing more to time.
            Err(flume::RecvTimeoutError::Disconnected) => return,
        }
        let now = Instant::now();
        while heap.peek().is_some_and(|Reverse(e)| e.deadline <= now) {
            if let Some(Reverse(entry)) = heap.pop() {
                let waker = entry
                    .slot
                    .waker
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
        }
    }
}

/// Runs the demo: a 200 ms `TimerSleep` under `block_on`, then beside a counter on one worker.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    let duration = Duration::from_millis(200);

    // 1. On its own: count polls and wakes, and the CPU time this thread spends waiting.
    let cpu_before = report::thread_cpu_time();
    let (_ready, polls, wakes) = report::block_on_counted(TimerSleep::new(duration));
    let cpu = report::thread_cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    println!(
        "TimerSleep({} ms): ready after {polls} polls, {wakes} wake",
        duration.as_millis()
    );
    if let Some(cpu) = cpu {
        println!(
            "CPU time this thread used while it waited: {} (counted in 10 ms ticks; \
             a self-waking sleep burns the whole {} ms)",
            format_duration(cpu),
            duration.as_millis()
        );
    }

    // 2. The book's usage: the sleep spawned beside a counter on a one-worker runtime.
    let (counter_at, counter_output, sleep_at, sleep_polls) = report::beside_counter(duration);
    println!(
        "one worker: counter done ({counter_output}) at {} while the sleep was pending; \
         sleep done at {} after {sleep_polls} polls",
        format_duration(counter_at),
        format_duration(sleep_at)
    );
    println!("the worker never polled the sleep in between: it was free for the counter");
    Ok(())
}

/// Measuring helpers for the demo and the tests.
mod report {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Poll, Wake, Waker};
    use std::time::{Duration, Instant};

    use common::CounterFuture;
    use common::timeline::CountPolls;

    use super::TimerSleep;
    use crate::runtime::{FutureType, Runtime};

    /// Forwards wakes to the real waker and counts them.
    struct CountingWaker {
        inner: Waker,
        wakes: AtomicUsize,
    }

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            self.wakes.fetch_add(1, Ordering::SeqCst);
            self.inner.wake_by_ref();
        }
    }

    /// Wraps a future and counts how often it is polled and how often it wakes its waker.
    pub(super) struct CountWakes<F> {
        inner: F,
        polls: usize,
        waker: Option<Arc<CountingWaker>>,
    }

    impl<F> CountWakes<F> {
        pub(super) fn new(inner: F) -> Self {
            CountWakes {
                inner,
                polls: 0,
                waker: None,
            }
        }

        pub(super) fn polls(&self) -> usize {
            self.polls
        }

        pub(super) fn wakes(&self) -> usize {
            self.waker
                .as_ref()
                .map_or(0, |w| w.wakes.load(Ordering::SeqCst))
        }
    }

    impl<F: Future + Unpin> Future for CountWakes<F> {
        type Output = F::Output;

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
            let this = &mut *self;
            this.polls += 1;
            let counting = match &this.waker {
                Some(w) if w.inner.will_wake(cx.waker()) => Arc::clone(w),
                _ => {
                    let wakes = this.wakes();
                    let w = Arc::new(CountingWaker {
                        inner: cx.waker().clone(),
                        wakes: AtomicUsize::new(wakes),
                    });
                    this.waker = Some(Arc::clone(&w));
                    w
                }
            };
            let waker = Waker::from(counting);
            Pin::new(&mut this.inner).poll(&mut Context::from_waker(&waker))
        }
    }

    /// `block_on(future)` with its output, polls and wakes.
    pub(super) fn block_on_counted<F: Future + Unpin>(future: F) -> (F::Output, usize, usize) {
        let mut counted = CountWakes::new(future);
        let output = futures_lite::future::block_on(&mut counted);
        (output, counted.polls(), counted.wakes())
    }

    /// Spawns `async { sleep.await; "slept" }` and a 3-poll counter (30 ms per poll) on a
    /// one-worker runtime; returns when the counter and the sleep finished, the counter's output
    /// and the sleep's poll count.
    pub(super) fn beside_counter(duration: Duration) -> (Duration, u32, Duration, usize) {
        let runtime = Runtime::new().with_high_num(0).with_low_num(1).build();
        let start = Instant::now();
        let sleep = CountPolls::new(TimerSleep::new(duration));
        let sleep_polls = sleep.counter();
        let sleeping = runtime.spawn(
            async move {
                sleep.await;
                (start.elapsed(), "slept")
            },
            FutureType::Low,
        );
        let counting = runtime.spawn(
            async move {
                let output = CounterFuture::new(3)
                    .with_delay(Duration::from_millis(30))
                    .await;
                (start.elapsed(), output)
            },
            FutureType::Low,
        );
        let (counter_at, output) = futures_lite::future::block_on(counting);
        let (sleep_at, _) = futures_lite::future::block_on(sleeping);
        (counter_at, output, sleep_at, sleep_polls.get())
    }

    /// CPU time (user + system) of the calling thread, from `/proc/thread-self/stat` (Linux).
    pub(super) fn thread_cpu_time() -> Option<Duration> {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
        // The command name (field 2) may contain spaces: count fields after its closing ')'.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        // The kernel reports these in USER_HZ ticks, which is 100 per second on Linux.
        Some(Duration::from_millis((utime + stime) * 10))
    }
}

#[cfg(test)]
mod tests {
    use super::report::{block_on_counted, thread_cpu_time};
    use super::*;
    use crate::runtime::{FutureType, Runtime};
    use common::timeline::CountPolls;
    use futures_lite::future;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    #[test]
    fn timer_sleep_is_polled_twice_and_woken_once() {
        let sleep = TimerSleep::new(Duration::from_millis(20));
        let deadline = sleep.deadline();
        let (ready, polls, wakes) = block_on_counted(sleep);
        assert!(ready);
        assert!(Instant::now() >= deadline, "ready before its deadline");
        assert_eq!((polls, wakes), (2, 1));
    }

    #[test]
    fn timer_thousand_concurrent_sleeps_on_one_worker() {
        let runtime = Runtime::new().with_high_num(0).with_low_num(1).build();
        let start = Instant::now();
        let (tasks, polls): (Vec<_>, Vec<_>) = (0..1_000)
            .map(|_| {
                let sleep = CountPolls::new(TimerSleep::new(Duration::from_millis(50)));
                let polls = sleep.counter();
                (runtime.spawn(sleep, FutureType::Low), polls)
            })
            .unzip();
        for task in tasks {
            assert!(future::block_on(task));
        }
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(50));
        assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
        assert!(polls.iter().all(|p| p.get() <= 2));
        // One poll to register and one when woken: 2,000 runs on the one worker.
        assert_eq!(runtime.stats().runs(), 2_000);
    }

    #[test]
    fn timer_dropped_sleep_is_never_woken_and_others_still_are() {
        struct Count(AtomicUsize);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&count));
        let mut dropped = TimerSleep::new(Duration::from_millis(10));
        let polled = Pin::new(&mut dropped).poll(&mut Context::from_waker(&waker));
        assert!(polled.is_pending(), "registered with the timer");
        drop(dropped);

        // The timer passes the dropped sleep's deadline and still serves a later sleep.
        let (ready, polls, wakes) = block_on_counted(TimerSleep::new(Duration::from_millis(30)));
        assert!(ready);
        assert_eq!((polls, wakes), (2, 1));
        assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    #[test]
    fn timer_thousands_of_dropped_sleeps_do_not_disturb_the_timer() {
        // Enough registrations to pass the clean-up threshold while they are all abandoned.
        let noop = std::task::Waker::noop();
        for _ in 0..3_000 {
            let mut sleep = TimerSleep::new(Duration::from_secs(60));
            assert!(
                Pin::new(&mut sleep)
                    .poll(&mut Context::from_waker(noop))
                    .is_pending()
            );
        }
        let (ready, polls, wakes) = block_on_counted(TimerSleep::new(Duration::from_millis(20)));
        assert!(ready);
        assert_eq!((polls, wakes), (2, 1));
    }

    #[test]
    fn timer_earlier_sleep_registered_later_is_woken_first() {
        let long = TimerSleep::new(Duration::from_millis(300));
        let (long_tx, long_rx) = flume::bounded(1);
        let waiter = thread::spawn(move || {
            future::block_on(long);
            let _ = long_tx.send(Instant::now());
        });
        // Let the long sleep register, then a short one must not wait for it.
        thread::sleep(Duration::from_millis(20));
        let start = Instant::now();
        assert!(future::block_on(TimerSleep::new(Duration::from_millis(20))));
        let short_done = Instant::now();
        assert!(short_done - start < Duration::from_millis(250));
        let long_done = long_rx.recv().expect("long sleep finished");
        assert!(long_done > short_done);
        waiter.join().expect("waiter thread");
    }

    #[test]
    fn timer_counter_finishes_while_the_sleep_is_pending_on_one_worker() {
        let (counter_at, output, sleep_at, sleep_polls) =
            report::beside_counter(Duration::from_millis(150));
        assert_eq!(output, 3);
        assert!(counter_at < sleep_at);
        assert!(sleep_at >= Duration::from_millis(150));
        assert_eq!(sleep_polls, 2);
    }

    /// The book's `AsyncSleep` (see `async_sleep`): ready once the time is up, else wake itself.
    struct BusySleep(Instant);

    impl Future for BusySleep {
        type Output = bool;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
            if Instant::now() >= self.0 {
                Poll::Ready(true)
            } else {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn timer_sleep_uses_no_cpu_while_the_busy_sleep_burns_it() {
        let cpu = |f: &dyn Fn()| {
            let before = thread_cpu_time().expect("/proc/thread-self/stat");
            f();
            thread_cpu_time().expect("/proc/thread-self/stat") - before
        };
        // The busy sleep runs 400 ms so that it still gets 100 ms of CPU when parallel tests
        // (and other work on a 2-core machine) leave this thread only a quarter of a core.
        let busy_for = Duration::from_millis(400);
        let busy = cpu(&|| assert!(future::block_on(BusySleep(Instant::now() + busy_for))));
        let timer = cpu(&|| {
            assert!(future::block_on(TimerSleep::new(Duration::from_millis(
                200
            ))))
        });
        assert!(
            busy >= Duration::from_millis(100),
            "busy sleep used {busy:?}"
        );
        assert!(
            timer <= Duration::from_millis(30),
            "timer sleep used {timer:?}"
        );
    }
}
