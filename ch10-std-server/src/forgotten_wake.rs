//! `forgotten-wake` ("Running Our Executor"): a `Pending` that nobody will wake.
//!
//! The book suggests deleting `cx.waker().wake_by_ref()` from `CountingFuture` and notes that its
//! executor prints the same thing anyway. That is the symptom of an executor that re-polls every
//! task forever: it hides a lost wake-up that would hang the task under tokio or smol. Ours
//! polls only woken tasks, so the bug shows: the counter below keeps (but never calls) its
//! waker, is polled once, and stays `Pending` until somebody outside calls that waker. Run it
//! with `cargo run -p ch10 -- forgotten-wake`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use common::demo::{Args, DemoResult};

use crate::async_runtime::Executor;

/// The book's `CountingFuture` with its wake line removed. It stores a clone of its waker in
/// `stored` — without calling it — so the demo can play the part of the missing wake.
pub struct CountingFuture {
    /// Polls so far.
    pub count: i32,
    /// The last waker it was polled with.
    pub stored: Arc<Mutex<Option<Waker>>>,
    /// Polls, readable from outside.
    pub polls: Arc<AtomicUsize>,
}

impl Future for CountingFuture {
    type Output = i32;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.count += 1;
        self.polls.fetch_add(1, Ordering::SeqCst);
        if self.count == 4 {
            return Poll::Ready(self.count);
        }
        // No `cx.waker().wake_by_ref()` here: the promise behind `Pending` is broken.
        *self.stored.lock().unwrap_or_else(|e| e.into_inner()) = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// The counter, its waker slot and its poll count.
pub fn forgetful_counter() -> (CountingFuture, Arc<Mutex<Option<Waker>>>, Arc<AtomicUsize>) {
    let stored = Arc::new(Mutex::new(None));
    let polls = Arc::new(AtomicUsize::new(0));
    let future = CountingFuture {
        count: 0,
        stored: Arc::clone(&stored),
        polls: Arc::clone(&polls),
    };
    (future, stored, polls)
}

/// Calls the stored waker (as the missing `wake_by_ref` should have); `false` if none.
pub fn wake_from_outside(stored: &Mutex<Option<Waker>>) -> bool {
    let waker = stored.lock().unwrap_or_else(|e| e.into_inner()).clone();
    waker.map(Waker::wake).is_some()
}

/// Runs the demo.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    let (future, stored, polls) = forgetful_counter();
    let mut executor = Executor::new();
    let handle = executor.spawn(future);
    executor.run_until_stalled();
    executor.run_until_stalled();
    println!(
        "polled {} time, still Pending: nobody called wake (run_until_stalled returned twice)",
        polls.load(Ordering::SeqCst)
    );
    let mut outside_wakes = 0;
    while !handle.is_finished() {
        wake_from_outside(&stored);
        outside_wakes += 1;
        executor.run_until_stalled();
        println!(
            "main called the stored waker ({outside_wakes}): polled {} times",
            polls.load(Ordering::SeqCst)
        );
    }
    println!("Result: {}", handle.join()?);
    println!(
        "(the book's executor finishes it anyway only because it re-polls every task on every \
         turn, at 100 % CPU, which also hides this bug)"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgotten_wake_stalls_until_woken_from_outside() {
        let (future, stored, polls) = forgetful_counter();
        let mut executor = Executor::new();
        let handle = executor.spawn(future);
        assert_eq!(executor.run_until_stalled(), 1);
        assert_eq!(executor.run_until_stalled(), 0);
        assert_eq!(polls.load(Ordering::SeqCst), 1);
        for wake in 1..=3 {
            assert!(!handle.is_finished());
            assert!(wake_from_outside(&stored));
            assert_eq!(executor.run_until_stalled(), 1, "wake {wake} adds one poll");
            assert_eq!(polls.load(Ordering::SeqCst), 1 + wake);
        }
        assert_eq!(handle.join(), Ok(4));
        assert_eq!(executor.stats().polls, 4);
    }
}
