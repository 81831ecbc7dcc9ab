//! `basic-actor` (book section "Building a Basic Actor"): a task that owns its state.
//!
//! An actor is an async function looping on `Receiver::recv`. Its state is a local variable of
//! that function, so nothing else can read or change it; the only way in is a message. When every
//! `Sender` has been dropped, `recv` returns `None`, the loop ends and so does the actor.
//!
//! Run it with `cargo run -p ch08 -- basic-actor`: ten messages (values 0 to 9) go in, the actor
//! prints a `Received:` / `State:` pair for each, ending at `State: 45`.
//!
//! Where we differ from the book: its `main` returns right after the last `send`. Returning from
//! `#[tokio::main]` drops the runtime, which cancels the actor wherever it is, so the last lines may
//! never print. We drop the sender (closing the channel) and await the actor's `JoinHandle`, so
//! the actor drains every message and ends on its own. The actor also returns its final state and
//! what it received, so the test can check them.

use common::demo::{Args, DemoResult};
use tokio::sync::mpsc::{Receiver, channel};

/// The one message this actor understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message {
    /// Added to the actor's running sum.
    pub value: i64,
}

/// The actor: adds each value to its private sum until the channel closes, then returns the sum
/// and the values in the order they arrived.
pub async fn basic_actor(mut rx: Receiver<Message>) -> (i64, Vec<i64>) {
    let mut state = 0;
    let mut received = Vec::new();

    while let Some(msg) = rx.recv().await {
        state += msg.value;
        received.push(msg.value);
        println!("Received: {}", msg.value);
        println!("State: {state}");
    }
    (state, received)
}

/// Runs the demo.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    demo()
}

#[tokio::main]
async fn demo() -> DemoResult {
    let (tx, rx) = channel::<Message>(100);
    let actor_handle = tokio::spawn(basic_actor(rx));
    for i in 0..10 {
        let msg = Message { value: i };
        tx.send(msg).await?;
    }
    // Book: `main` returns right after the last `send`, and the runtime's shutdown cancels the
    // actor mid-stream; we close the channel and await the actor, which drains its queue first.
    drop(tx);
    let (state, received) = actor_handle.await?;
    println!(
        "the channel closed and the actor ended: {} messages, final state {state}",
        received.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::time::timeout;

    #[tokio::test]
    async fn the_actor_sums_in_arrival_order_and_returns_its_state() {
        let (tx, rx) = channel(100);
        let handle = tokio::spawn(basic_actor(rx));
        for value in 0..10 {
            tx.send(Message { value }).await.unwrap();
        }
        drop(tx);
        let (state, received) = timeout(Duration::from_secs(5), handle)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(state, 45);
        assert_eq!(received, (0..10).collect::<Vec<_>>());
    }

    /// With tokio's paused clock, a timeout only fires when every task is idle, so "the timeout
    /// elapsed" proves the actor is parked in `recv`, not merely slow.
    #[tokio::test(start_paused = true)]
    async fn the_actor_ends_only_after_the_last_sender_is_dropped() {
        let (tx, rx) = channel(100);
        let mut handle = tokio::spawn(basic_actor(rx));
        let second = tx.clone();
        tx.send(Message { value: 1 }).await.unwrap();
        drop(tx);
        // One sender is still alive: the actor waits for more, however long.
        let waited = timeout(Duration::from_secs(3600), &mut handle).await;
        assert!(waited.is_err(), "the actor ended while a sender was alive");
        second.send(Message { value: 2 }).await.unwrap();
        drop(second);
        let (state, received) = timeout(Duration::from_secs(1), handle)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((state, received), (3, vec![1, 2]));
    }

    #[test]
    fn the_demo_runs() {
        run(Args::default()).unwrap();
    }
}
