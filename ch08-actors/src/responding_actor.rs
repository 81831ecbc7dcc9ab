//! `responding-actor` (book section "Building a Basic Actor"): asking an actor for an answer.
//!
//! To get a reply, the caller puts a `oneshot::Sender` in the message and awaits the matching
//! `Receiver`; the actor answers through it. A oneshot is the cheap, single-use reply slot: one
//! value, then it is done.
//!
//! Run it with `cargo run -p ch08 -- responding-actor`: ten requests with values 0 to 9, each
//! answered with the running total, `Response: 0` … `Response: 45`.
//!
//! Where we differ from the book:
//!
//! - its `RespMessage` has `value: i32` but replies on a `Sender<i64>`; `state` is then inferred
//!   as `i32` and `responder.send(state)` does not compile. We use `i64` throughout;
//! - its callers `unwrap` the `send` and the reply. [`ask`] returns `ActorError::Closed` when the
//!   actor is gone and `ActorError::NoReply` when it dropped the request, never a panic;
//! - the actor returns its final state when the channel closes, and the demo awaits it.

use common::demo::{Args, DemoResult};
use tokio::sync::mpsc::{Receiver, Sender, channel};
use tokio::sync::oneshot;

pub use crate::actor_error::ActorError;

/// A request: a value to add, and where to send the new total.
#[derive(Debug)]
pub struct RespMessage {
    /// Added to the actor's running total.
    // Book: `value: i32` against a `oneshot::Sender<i64>` does not compile; `i64` throughout.
    pub value: i64,
    /// The single-use reply slot.
    pub responder: oneshot::Sender<i64>,
}

/// The actor: adds each value and replies with the running total. A caller that stopped waiting
/// is reported on stderr and does not stop the actor. Returns the total when the channel closes.
pub async fn resp_actor(mut rx: Receiver<RespMessage>) -> i64 {
    let mut state = 0;

    while let Some(msg) = rx.recv().await {
        state += msg.value;
        if msg.responder.send(state).is_err() {
            eprintln!("Failed to send response");
        }
    }
    state
}

/// One round trip: build a oneshot, send the request, await the answer.
pub async fn ask(tx: &Sender<RespMessage>, value: i64) -> Result<i64, ActorError> {
    let (resp_tx, resp_rx) = oneshot::channel::<i64>();
    let msg = RespMessage {
        value,
        responder: resp_tx,
    };
    // Book: the caller `unwrap`s the `send` and the reply and panics when the actor is gone; `?`
    // turns both failures into an `ActorError`.
    tx.send(msg).await?;
    Ok(resp_rx.await?)
}

/// Runs the demo.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    demo()
}

#[tokio::main]
async fn demo() -> DemoResult {
    let (tx, rx) = channel::<RespMessage>(100);
    let resp_actor_handle = tokio::spawn(resp_actor(rx));
    for i in 0..10 {
        println!("Response: {}", ask(&tx, i).await?);
    }
    drop(tx);
    let total = resp_actor_handle.await?;
    println!("channel closed: the actor ended with total {total}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::time::timeout;

    const LIMIT: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn responses_are_the_running_sums() {
        let (tx, rx) = channel(100);
        let handle = tokio::spawn(resp_actor(rx));
        let mut responses = Vec::new();
        for i in 0..10 {
            responses.push(timeout(LIMIT, ask(&tx, i)).await.unwrap().unwrap());
        }
        assert_eq!(responses, [0, 1, 3, 6, 10, 15, 21, 28, 36, 45]);
        drop(tx);
        assert_eq!(timeout(LIMIT, handle).await.unwrap().unwrap(), 45);
    }

    #[tokio::test]
    async fn a_caller_that_stops_waiting_does_not_stop_the_actor() {
        let (tx, rx) = channel(100);
        let handle = tokio::spawn(resp_actor(rx));
        let (resp_tx, resp_rx) = oneshot::channel();
        drop(resp_rx); // this caller gives up before the reply
        tx.send(RespMessage {
            value: 5,
            responder: resp_tx,
        })
        .await
        .unwrap();
        // The next caller is still answered, and the abandoned request still counted.
        assert_eq!(timeout(LIMIT, ask(&tx, 1)).await.unwrap(), Ok(6));
        drop(tx);
        assert_eq!(timeout(LIMIT, handle).await.unwrap().unwrap(), 6);
    }

    #[tokio::test]
    async fn asking_a_stopped_actor_is_an_error_not_a_panic() {
        let (tx, rx) = channel(100);
        drop(rx); // the actor is gone: nothing will ever receive
        assert_eq!(ask(&tx, 1).await, Err(ActorError::Closed));

        // An "actor" that takes the request and drops it unanswered.
        let (tx, mut rx) = channel::<RespMessage>(100);
        let dropper = tokio::spawn(async move {
            let msg = rx.recv().await;
            drop(msg);
        });
        assert_eq!(
            timeout(LIMIT, ask(&tx, 1)).await.unwrap(),
            Err(ActorError::NoReply)
        );
        timeout(LIMIT, dropper).await.unwrap().unwrap();
    }

    #[test]
    fn the_demo_runs() {
        run(Args::default()).unwrap();
    }
}
