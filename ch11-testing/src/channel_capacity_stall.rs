//! `channel-capacity-stall`: a full bounded channel stalls its sender (book section "Testing
//! Channel Capacity").
//!
//! A bounded `tokio::sync::mpsc` channel holds at most `capacity` messages. When it is full,
//! `send(..).await` waits until the receiver takes one: back-pressure, which keeps memory bounded.
//! A system in which nobody drains the channel therefore stops, quietly. The test bounds the
//! sender with a `timeout`: without a consumer it stalls after 5 of its 10 messages and the timeout
//! fires; with a consumer every message arrives, in order, and the sender finishes.
//!
//! Run it with `cargo run -p ch11 -- channel-capacity-stall`. You will see the stall (how many
//! sends completed, when the timeout fired), what `try_send` says about the full channel, and the
//! fixed run with its received messages.
//!
//! Two details of the stalled case. The receiver is kept alive but never read: had it been
//! dropped, the channel would be closed and `send` would fail at once instead of waiting. And the
//! runtime's clock is paused, so the book's 5 s timeout fires as soon as the sender is stuck, at
//! exactly 5 s of virtual time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::demo::{Args, DemoResult};
use tokio::runtime::Runtime;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::time::timeout;

/// The book's channel size.
pub const CAPACITY: usize = 5;

/// How many messages the sender sends (the book's `0..10`).
pub const MESSAGES: i32 = 10;

/// The book's bound on the sender.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// The book's test body: a sender task pushes `0..MESSAGES` into a channel of `capacity`, with or
/// without a receiver task draining it, and the sender is given [`PATIENCE`] to finish.
pub fn channel_capacity(capacity: usize, with_receiver: bool) -> std::io::Result<ChannelRun> {
    // Book: builds this runtime without `start_paused(true)`, so the timeout costs 5 real seconds.
    let runtime = paused_runtime()?;
    let (sender, mut receiver) = mpsc::channel::<i32>(capacity);
    // Only for the stalled case: a second handle to probe the full channel with `try_send`. It
    // would keep the channel open, so the fixed run, whose receiver waits for the close, has none.
    let probe = (!with_receiver).then(|| sender.clone());
    let sent = Arc::new(AtomicUsize::new(0));

    let sent_by_task = Arc::clone(&sent);
    // Book: this handle is called `sender`, shadowing the channel's `Sender`.
    let send_task = runtime.spawn(async move {
        for i in 0..MESSAGES {
            // Book: `send(i).await.expect(..)` panics if the channel is closed; ours returns an error.
            sender.send(i).await.map_err(|_| "the channel was closed")?;
            sent_by_task.fetch_add(1, Ordering::SeqCst);
        }
        Ok::<(), &'static str>(())
    });

    // Book: the receiver task asserts the order inside itself, but nobody awaits its handle, and
    // tokio keeps a task's panic in its `JoinHandle`: a wrong order would pass unnoticed. Ours
    // returns what it received, and the caller checks it.
    let (receive_task, _unread) = if with_receiver {
        let task = runtime.spawn(async move {
            let mut received = Vec::new();
            while let Some(msg) = receiver.recv().await {
                received.push(msg);
            }
            received
        });
        (Some(task), None)
    } else {
        // No receiver task: the receiver stays alive until the end of this function, never read.
        (None, Some(receiver))
    };

    let (result, waited) = runtime.block_on(async {
        let started = tokio::time::Instant::now();
        let result = timeout(PATIENCE, send_task).await;
        (result, started.elapsed())
    });

    let finished = match result {
        Ok(Ok(Ok(()))) => true,
        Ok(Ok(Err(message))) => return Err(std::io::Error::other(message)),
        Ok(Err(join_error)) => return Err(std::io::Error::other(join_error)),
        Err(_elapsed) => false, // the timeout fired; dropping the runtime ends the stuck sender
    };
    // Probe with the message the sender is stuck on: the number of completed sends.
    let next = i32::try_from(sent.load(Ordering::SeqCst)).unwrap_or(i32::MAX);
    let full_channel = probe.map(|probe| match probe.try_send(next) {
        Err(TrySendError::Full(value)) => TrySend::Full(value),
        Err(TrySendError::Closed(value)) => TrySend::Closed(value),
        Ok(()) => TrySend::Accepted,
    });
    let received = match receive_task {
        Some(task) => Some(runtime.block_on(task).map_err(std::io::Error::other)?),
        None => None,
    };
    Ok(ChannelRun {
        finished,
        sent: sent.load(Ordering::SeqCst),
        waited,
        full_channel,
        received,
    })
}

/// What `try_send` answered on the stalled channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrySend {
    /// The channel is full; the value comes back.
    Full(i32),
    /// The receiver is gone; the value comes back.
    Closed(i32),
    /// There was room after all.
    Accepted,
}

/// What [`channel_capacity`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRun {
    /// The sender task finished within [`PATIENCE`] (the book's `result.is_ok()`).
    pub finished: bool,
    /// How many `send`s completed.
    pub sent: usize,
    /// How long the test waited for the sender, on the runtime's (paused) clock.
    pub waited: Duration,
    /// Without a receiver: `try_send` on the channel after the timeout.
    pub full_channel: Option<TrySend>,
    /// With a receiver: everything it received, in order.
    pub received: Option<Vec<i32>>,
}

fn paused_runtime() -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
}

/// Runs the demo: `[--capacity C]` (default 5).
pub fn run(mut args: Args) -> DemoResult {
    let capacity = args.value_in("capacity", CAPACITY, 1..=1_000)?;
    args.finish()?;

    let real = std::time::Instant::now();
    let stalled = channel_capacity(capacity, false)?;
    let real = real.elapsed();
    if stalled.finished {
        println!(
            "receiver never read: the sender still finished, since {MESSAGES} messages fit in {capacity} slots"
        );
    } else {
        println!(
            "receiver never read: sender stalled after {} of {MESSAGES} messages (capacity {capacity}); \
             timeout fired after {:?} virtual ({:.1} ms real)",
            stalled.sent,
            stalled.waited,
            real.as_secs_f64() * 1e3
        );
    }
    match stalled.full_channel {
        Some(TrySend::Full(value)) => println!(
            "try_send({value}) on the full channel → Err(Full(..)): the channel hands the {value} back"
        ),
        other => println!("try_send on the channel → {other:?}"),
    }

    let fixed = channel_capacity(capacity, true)?;
    match (&fixed.received, fixed.finished) {
        (Some(received), true) => println!(
            "with a receiver: received {received:?} in order, sender finished after {:?} virtual",
            fixed.waited
        ),
        _ => return Err(format!("the run with a receiver did not finish: {fixed:?}").into()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Book: the test asserts `result.is_ok()`, so without a receiver it fails. Ours asserts that
    // the stall is detected, and a second test checks the fix.
    #[test]
    fn test_channel_capacity() {
        let stalled = channel_capacity(CAPACITY, false).unwrap();
        assert!(!stalled.finished, "{stalled:?}");
        assert_eq!(stalled.sent, CAPACITY, "five sends fit, the sixth waits");
        assert_eq!(stalled.waited, PATIENCE);
        // The sixth message, 5, is the one the sender waits to hand over; `try_send` returns it.
        assert_eq!(stalled.full_channel, Some(TrySend::Full(5)));
        assert_eq!(stalled.received, None);
    }

    #[test]
    fn a_receiver_drains_the_channel_in_order() {
        let fixed = channel_capacity(CAPACITY, true).unwrap();
        assert!(fixed.finished, "{fixed:?}");
        assert_eq!(fixed.sent, MESSAGES as usize);
        assert_eq!(fixed.received, Some((0..MESSAGES).collect::<Vec<_>>()));
        assert_eq!(fixed.waited, Duration::ZERO, "no timer was involved");
    }

    #[test]
    fn capacity_one_is_slower_but_never_stuck() {
        let fixed = channel_capacity(1, true).unwrap();
        assert!(fixed.finished);
        assert_eq!(fixed.received, Some((0..MESSAGES).collect::<Vec<_>>()));

        let stalled = channel_capacity(1, false).unwrap();
        assert!(!stalled.finished);
        assert_eq!(stalled.sent, 1);
    }

    #[test]
    fn enough_capacity_never_stalls_even_without_a_reader() {
        let roomy = channel_capacity(MESSAGES as usize, false).unwrap();
        assert!(roomy.finished);
        assert_eq!(roomy.sent, MESSAGES as usize);
        assert_eq!(roomy.full_channel, Some(TrySend::Full(MESSAGES))); // full now, all 10 queued
    }

    #[test]
    fn the_demo_runs_and_checks_its_arguments() {
        run(Args::default()).unwrap();
        let err = run(Args::from_iter(["--capacity", "0"])).unwrap_err();
        assert!(err.is::<common::demo::UsageError>(), "{err}");
    }
}
