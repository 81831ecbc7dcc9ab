//! `broadcast-vs-bus` (extra): the same events through tokio's ready-made channels and through our
//! bus (book section "Enabling Broadcasting with an Event Bus": "using broadcast channels out of the
//! box is preferable to building your own unless you have specific needs").
//!
//! Three ways to get one sender's events to several receivers, and what each does with a receiver
//! that falls behind:
//!
//! - `tokio::sync::broadcast`: every receiver gets every event, from a *bounded* ring shared by
//!   all. A receiver that falls more than the capacity behind loses the oldest events and is told
//!   how many (`RecvError::Lagged(n)`): memory stays bounded, the slow reader learns it missed some;
//! - our `EventBus`: one *unbounded* queue per subscriber. A slow subscriber loses nothing, and its
//!   queue grows for as long as it stays behind (no backpressure, memory grows);
//! - `tokio::sync::watch`: only the latest value. A slow receiver sees the newest value once and
//!   none of the history: exactly what the thermostat's subjects are (a temperature, not a log).
//!
//! Run it with `cargo run -p ch06 -- broadcast-vs-bus`: the book's 1.0, 2.0, 3.0 over a broadcast
//! channel, then five events sent past a slow receiver on each of the three.

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};

use common::demo::{Args, DemoResult};

use crate::event_bus_struct::EventBus;
use std::sync::Arc;

/// The book's bus scenario on a broadcast channel: two receivers, events 1.0, 2.0, 3.0. Returns
/// what each receiver got (it stops when the sender is dropped).
pub async fn broadcast_three_events() -> Vec<Vec<f32>> {
    let (sender, _) = broadcast::channel::<f32>(16);
    let receivers = [sender.subscribe(), sender.subscribe()];
    for event in [1.0, 2.0, 3.0] {
        // `send` fails only when no receiver exists; we hold two.
        let _ = sender.send(event);
    }
    drop(sender);
    let mut all = Vec::new();
    for mut receiver in receivers {
        let mut got = Vec::new();
        while let Ok(event) = receiver.recv().await {
            got.push(event);
        }
        all.push(got);
    }
    all
}

/// The five events sent past every slow receiver.
pub const FIVE: [f32; 5] = [1.0, 2.0, 3.0, 4.0, 5.0];

/// A broadcast channel of `capacity`: all five events are sent before the slow receiver reads.
/// Returns each of its `recv` results until the channel reports it closed.
pub async fn broadcast_slow_receiver(capacity: usize) -> Vec<Result<f32, RecvError>> {
    let (sender, mut slow) = broadcast::channel::<f32>(capacity);
    for event in FIVE {
        let _ = sender.send(event);
    }
    drop(sender);
    let mut results = Vec::new();
    loop {
        let result = slow.recv().await;
        let closed = result == Err(RecvError::Closed);
        results.push(result);
        if closed {
            return results;
        }
    }
}

/// Our bus: all five events are sent before the slow subscriber reads. Returns its queue.
pub async fn bus_slow_subscriber() -> Vec<f32> {
    let bus = Arc::new(EventBus::<f32>::new());
    let slow = bus.subscribe().await;
    for event in FIVE {
        bus.send(event).await;
    }
    let mut got = Vec::new();
    while let Some(event) = slow.poll().await {
        got.push(event);
    }
    got
}

/// A watch channel: all five values are sent before the slow receiver looks. Returns what it
/// sees, and how many times `changed()` reports a change before it would wait.
pub async fn watch_slow_receiver() -> (f32, usize) {
    let (sender, mut slow) = watch::channel(0.0_f32);
    for value in FIVE {
        // `send` fails only when no receiver exists; `slow` is one.
        let _ = sender.send(value);
    }
    let mut changes = 0;
    while slow.has_changed().unwrap_or(false) {
        slow.changed().await.ok();
        changes += 1;
        slow.borrow_and_update();
    }
    let latest = *slow.borrow();
    (latest, changes)
}

/// Runs the demo.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(async {
        let both = broadcast_three_events().await;
        for (i, got) in both.iter().enumerate() {
            println!("broadcast receiver {i} got {got:?}");
        }

        println!("\nfive events sent before a slow receiver reads:");
        let lagged = broadcast_slow_receiver(2).await;
        println!("  broadcast, capacity 2: {lagged:?}");
        println!("    (told it missed 3, then the 2 the ring still holds; memory: 2 slots)");
        let queued = bus_slow_subscriber().await;
        println!(
            "  our bus:               {queued:?}\n    (nothing lost; the queue held {} events, and would keep growing)",
            queued.len()
        );
        let (latest, changes) = watch_slow_receiver().await;
        println!(
            "  watch:                 sees {latest:?}, reported as {changes} change\n    (only the latest value; memory: 1 slot)"
        );
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn broadcast_gives_both_receivers_the_three_events() {
        assert_eq!(
            broadcast_three_events().await,
            [vec![1.0, 2.0, 3.0], vec![1.0, 2.0, 3.0]]
        );
    }

    #[tokio::test]
    async fn a_slow_broadcast_receiver_is_told_it_lagged_by_three() {
        assert_eq!(
            broadcast_slow_receiver(2).await,
            [
                Err(RecvError::Lagged(3)),
                Ok(4.0),
                Ok(5.0),
                Err(RecvError::Closed)
            ]
        );
        // With room for all five, nothing is lost.
        let roomy = broadcast_slow_receiver(8).await;
        assert_eq!(roomy.len(), 6);
        assert_eq!(roomy[..5], FIVE.map(Ok));
    }

    #[tokio::test]
    async fn the_bus_queues_all_five_and_watch_keeps_only_the_last() {
        assert_eq!(bus_slow_subscriber().await, FIVE);
        assert_eq!(watch_slow_receiver().await, (5.0, 1));
    }
}
