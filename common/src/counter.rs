//! `CounterFuture`: the hand-written future of chapters 2 and 3, shared by every chapter that polls one.
//!
//! It is the smallest future that shows the whole protocol of [`Future::poll`]: each poll does one
//! step of work, and until the work is done the future *asks to be polled again* by waking its own
//! waker before it returns [`Poll::Pending`]. An executor that receives the wake puts the task back
//! in its queue; one that never receives it would never poll again.
//!
//! The contract, which chapters 2, 3, 5 and 9 rely on:
//!
//! - every poll adds one to `count` and prints `polling with result: {count}`;
//! - then, if `delay` is not zero, it blocks the polling thread for `delay`;
//! - below `target` it calls `wake_by_ref()` and returns `Pending`; at `target` it returns
//!   `Ready(count)` without waking. So target N means N polls, N − 1 wakes, output N (target 0 or 1:
//!   `Ready(1)` on the first poll);
//! - it is not fused: a poll after `Ready` counts on and returns `Ready` again.
//!
//! Waking itself from inside `poll` is a bounded busy-poll: good for *seeing* polls, wrong for real
//! waiting, where the waker is stored and woken by whoever completes the work (chapter 2's
//! `remote-waker`). Chapters that need a label, a priority or a timeline row wrap this type rather
//! than add fields to it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A future that completes on its `target`-th poll, waking itself after every earlier one.
///
/// ```
/// use common::CounterFuture;
/// use std::future::Future;
/// use std::pin::Pin;
/// use std::task::{Context, Poll, Waker};
///
/// let mut counter = CounterFuture::new(3);
/// let mut cx = Context::from_waker(Waker::noop());
/// assert_eq!(Pin::new(&mut counter).poll(&mut cx), Poll::Pending); // prints "polling with result: 1"
/// assert_eq!(Pin::new(&mut counter).poll(&mut cx), Poll::Pending);
/// assert_eq!(Pin::new(&mut counter).poll(&mut cx), Poll::Ready(3));
/// assert_eq!(counter.count, 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterFuture {
    /// Polls so far (starts at 0).
    pub count: u32,
    /// The poll on which the future completes.
    pub target: u32,
    /// How long each poll blocks its thread (zero by default).
    pub delay: Duration,
}

impl CounterFuture {
    /// A counter that completes on its `target`-th poll, without delay.
    ///
    /// ```
    /// use common::CounterFuture;
    /// let counter = CounterFuture::new(5);
    /// assert_eq!((counter.count, counter.target), (0, 5));
    /// assert_eq!(CounterFuture::default(), CounterFuture::new(3));
    /// ```
    pub const fn new(target: u32) -> Self {
        CounterFuture {
            count: 0,
            target,
            delay: Duration::ZERO,
        }
    }

    /// The same counter, blocking its thread for `delay` on every poll.
    ///
    /// ```
    /// use common::CounterFuture;
    /// use std::time::Duration;
    /// let counter = CounterFuture::new(5).with_delay(Duration::from_millis(100));
    /// assert_eq!((counter.target, counter.delay), (5, Duration::from_millis(100)));
    /// ```
    pub const fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

impl Default for CounterFuture {
    /// `CounterFuture::new(3)`, the chapter 3 counter.
    fn default() -> Self {
        CounterFuture::new(3)
    }
}

impl Future for CounterFuture {
    type Output = u32;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        self.count += 1;
        println!("polling with result: {}", self.count);
        if !self.delay.is_zero() {
            // Book: the book sleeps here to stand in for "work that takes time". It blocks the
            // polling thread on purpose, so that demos can show one slow task holding up a worker;
            // real code awaits a timer instead (chapter 3's `async-sleep`).
            std::thread::sleep(self.delay);
        }
        if self.count < self.target {
            // Ask to be polled again at once: the simplest possible wake-up, and a busy-poll.
            cx.waker().wake_by_ref();
            Poll::Pending
        } else {
            Poll::Ready(self.count)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};
    use std::time::Instant;

    /// A waker that only counts how often it is woken.
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll_until_ready(counter: &mut CounterFuture) -> (Vec<Poll<u32>>, usize) {
        let wakes = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let mut polls = Vec::new();
        loop {
            let poll = Pin::new(&mut *counter).poll(&mut cx);
            polls.push(poll);
            if poll.is_ready() || polls.len() > 100 {
                return (polls, wakes.0.load(Ordering::SeqCst));
            }
        }
    }

    #[test]
    fn target_three_polls_three_times_and_wakes_twice() {
        let mut counter = CounterFuture::default();
        let (polls, wakes) = poll_until_ready(&mut counter);
        assert_eq!(polls, [Poll::Pending, Poll::Pending, Poll::Ready(3)]);
        assert_eq!(wakes, 2);
        assert_eq!(counter.count, 3);
    }

    #[test]
    fn target_n_means_n_polls_and_n_minus_one_wakes() {
        for target in 1..=6 {
            let mut counter = CounterFuture::new(target);
            let (polls, wakes) = poll_until_ready(&mut counter);
            assert_eq!(polls.len(), target as usize);
            assert_eq!(wakes, target as usize - 1);
            assert_eq!(polls.last(), Some(&Poll::Ready(target)));
        }
    }

    #[test]
    fn target_zero_is_ready_on_the_first_poll() {
        let (polls, wakes) = poll_until_ready(&mut CounterFuture::new(0));
        assert_eq!((polls, wakes), (vec![Poll::Ready(1)], 0));
    }

    #[test]
    fn not_fused_a_poll_after_ready_counts_on() {
        let mut counter = CounterFuture::new(1);
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(Pin::new(&mut counter).poll(&mut cx), Poll::Ready(1));
        assert_eq!(Pin::new(&mut counter).poll(&mut cx), Poll::Ready(2));
    }

    #[test]
    fn each_poll_blocks_for_the_delay() {
        let mut counter = CounterFuture::new(3).with_delay(Duration::from_millis(20));
        let start = Instant::now();
        poll_until_ready(&mut counter);
        assert!(start.elapsed() >= Duration::from_millis(60));
    }

    #[test]
    fn is_unpin_send_sync_clone() {
        fn assert_traits<T: Unpin + Send + Sync + Clone + std::fmt::Debug>() {}
        assert_traits::<CounterFuture>();
    }
}
