//! `counter-future` (book section "Building Our Own Async Queue"): the hand-written future the
//! chapter's queues run, polled by hand so every step of the protocol shows.
//!
//! The book's `CounterFuture` is shared by several chapters, so it lives in `common`
//! ([`common::CounterFuture`], re-exported here): each poll adds one to `count`, prints
//! `polling with result: N` and blocks for `delay`; below its target (3 in this chapter) it wakes
//! its own waker and returns `Pending`, at the target it returns `Ready(count)`. The book's
//! `async fn async_fn()` is [`crate::support::async_fn`], re-exported here too.
//!
//! The wake is the whole trick. A future that returns `Pending` is polled again only if someone
//! wakes its waker; this one does it itself, at once, which tells the executor "poll me again".
//! [`poll_by_hand`] plays executor with a waker that only counts, so you can see that three polls
//! take two wakes.
//!
//! Run it with `cargo run -p ch03 -- counter-future`: `poll 1 -> Pending (wakes so far: 1)`,
//! `poll 2 -> Pending (wakes so far: 2)`, `poll 3 -> Ready(3)`, 100 ms apart (the counter's
//! blocking delay), then a second counter run to completion by `futures_lite::future::block_on`,
//! which prints `3`.
//!
//! How we differ from the book: the book sleeps 1 s in `poll` as a stand-in for work that takes
//! time. It blocks the polling thread, which is what the queue demos want to show, and is wrong in
//! real code (see `async-sleep` and `timer-sleep`); we sleep 100 ms.

use std::pin::Pin;
use std::task::{Context, Poll};

pub use common::CounterFuture;
use common::demo::{Args, DemoResult};
use futures_lite::future;

pub use crate::support::async_fn;
use crate::support::{BOOK_UNIT, WakeCounter};

/// Polls `counter` the way an executor would, but only when it has been woken; returns each poll's
/// result with the number of wakes seen so far, and passes each to `report` as it happens.
///
/// The first poll needs no wake (spawning is the first "wake"). After a `Pending` without a wake
/// an executor would never poll again, so neither do we.
pub fn poll_by_hand(
    counter: &mut CounterFuture,
    mut report: impl FnMut(usize, Poll<u32>, usize),
) -> Vec<(Poll<u32>, usize)> {
    let wakes = WakeCounter::new();
    let waker = wakes.waker();
    let mut cx = Context::from_waker(&waker);
    let mut polls = Vec::new();
    loop {
        let before = wakes.wakes();
        let poll = Pin::new(&mut *counter).poll(&mut cx);
        polls.push((poll, wakes.wakes()));
        report(polls.len(), poll, wakes.wakes());
        if poll.is_ready() || wakes.wakes() == before {
            return polls;
        }
    }
}

/// Runs the demo: one counter polled by hand, one run by `block_on`.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    let mut counter = CounterFuture::new(3).with_delay(BOOK_UNIT);
    poll_by_hand(&mut counter, |n, poll, wakes| match poll {
        Poll::Pending => println!("poll {n} -> Pending (wakes so far: {wakes})"),
        Poll::Ready(value) => println!("poll {n} -> Ready({value})"),
    });
    println!("\nthe same counter, driven by futures_lite::future::block_on:");
    let output = future::block_on(CounterFuture::new(3).with_delay(BOOK_UNIT));
    println!("{output}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::support::async_fn_with;

    #[test]
    fn three_polls_two_wakes_output_three() {
        let mut counter = CounterFuture::new(3);
        let polls = poll_by_hand(&mut counter, |_, _, _| {});
        assert_eq!(
            polls,
            [(Poll::Pending, 1), (Poll::Pending, 2), (Poll::Ready(3), 2)]
        );
        assert_eq!(counter.count, 3);
    }

    #[test]
    fn target_one_is_ready_at_once_without_a_wake() {
        assert_eq!(
            poll_by_hand(&mut CounterFuture::new(1), |_, _, _| {}),
            [(Poll::Ready(1), 0)]
        );
    }

    #[test]
    fn each_poll_blocks_the_polling_thread_for_the_delay() {
        let start = Instant::now();
        poll_by_hand(
            &mut CounterFuture::new(3).with_delay(Duration::from_millis(20)),
            |_, _, _| {},
        );
        assert!(start.elapsed() >= Duration::from_millis(60));
    }

    #[test]
    fn async_fn_blocks_then_finishes_in_its_first_poll() {
        let wakes = WakeCounter::new();
        let waker = wakes.waker();
        let mut cx = Context::from_waker(&waker);
        let mut call = Box::pin(async_fn_with(Duration::from_millis(20)));
        let start = Instant::now();
        assert_eq!(call.as_mut().poll(&mut cx), Poll::Ready(()));
        assert!(start.elapsed() >= Duration::from_millis(20));
        assert_eq!(wakes.wakes(), 0);
    }
}
