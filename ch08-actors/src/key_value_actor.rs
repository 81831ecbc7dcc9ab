//! `key-value-actor` (book section "Implementing the Router Pattern"): one actor, a whole API.
//!
//! Each operation is its own message struct carrying its own kind of reply sender, and an enum
//! gathers them, so one channel into one actor offers `get`, `set` and `delete`, each answered
//! with the right type. The actor owns a `HashMap` that nothing else can reach.
//!
//! Run it with `cargo run -p ch08 -- key-value-actor`: it drives the actor straight through its
//! own sender (no router yet, that is `router-pattern`): `set hello = world`, `get`, `delete`,
//! `get`, printing `Some("world")` then `None`.
//!
//! These message types and [`key_value_actor`] are the chapter's store: `router-pattern` puts a
//! router in front of them, `state-recovery` gives the store a writer actor, and
//! `heartbeat-supervisor` restarts it.
//!
//! Where we differ from the book: `set` and `delete` answer with `Result<(), ActorError>`
//! instead of `()`, so that the persisting store of `state-recovery` can refuse a change it could
//! not save, through the same messages. The in-memory actor here always answers `Ok(())`. The
//! actor also returns its map when its channel closes, so a test (or a caller shutting down) can
//! see the final state.

use std::collections::HashMap;

use common::demo::{Args, DemoResult};
use tokio::sync::mpsc::{Receiver, Sender, channel};
use tokio::sync::oneshot;

pub use crate::actor_error::ActorError;

/// Store `value` under `key`; the reply says when it is done.
#[derive(Debug)]
pub struct SetKeyValueMessage {
    /// The key to set.
    pub key: String,
    /// The bytes to store.
    pub value: Vec<u8>,
    /// Answered once the change is made (and, in a persisting store, saved).
    // Book: the reply is `oneshot::Sender<()>`; ours carries a `Result` so a store that persists
    // can answer `Err(ActorError::Persist)` for a change it could not save.
    pub response: oneshot::Sender<Result<(), ActorError>>,
}

/// Read `key`; the reply is the value, if any.
#[derive(Debug)]
pub struct GetKeyValueMessage {
    /// The key to read.
    pub key: String,
    /// Answered with a copy of the value, or `None` when the key is absent.
    pub response: oneshot::Sender<Option<Vec<u8>>>,
}

/// Remove `key`; removing a key that is not there is not an error.
#[derive(Debug)]
pub struct DeleteKeyValueMessage {
    /// The key to remove.
    pub key: String,
    /// Answered once the key is gone (and, in a persisting store, saved).
    pub response: oneshot::Sender<Result<(), ActorError>>,
}

/// Everything the key-value actor understands, one variant per operation.
#[derive(Debug)]
pub enum KeyValueMessage {
    /// See [`GetKeyValueMessage`].
    Get(GetKeyValueMessage),
    /// See [`DeleteKeyValueMessage`].
    Delete(DeleteKeyValueMessage),
    /// See [`SetKeyValueMessage`].
    Set(SetKeyValueMessage),
}

/// The store actor: owns the map, answers each message in arrival order, and ends when every
/// sender is gone, returning the final map.
pub async fn key_value_actor(mut receiver: Receiver<KeyValueMessage>) -> HashMap<String, Vec<u8>> {
    let mut map = HashMap::new();
    while let Some(message) = receiver.recv().await {
        match message {
            KeyValueMessage::Get(GetKeyValueMessage { key, response }) => {
                // A caller that stopped waiting is no reason for the actor to stop.
                let _ = response.send(map.get(&key).cloned());
            }
            KeyValueMessage::Delete(DeleteKeyValueMessage { key, response }) => {
                map.remove(&key);
                let _ = response.send(Ok(()));
            }
            KeyValueMessage::Set(SetKeyValueMessage {
                key,
                value,
                response,
            }) => {
                map.insert(key, value);
                let _ = response.send(Ok(()));
            }
        }
    }
    map
}

/// The channel capacity the book uses for every actor in the chapter (an arbitrary choice: a full
/// channel makes senders wait, which is the backpressure).
pub const CHANNEL_CAPACITY: usize = 32;

impl KeyValueMessage {
    /// A `Set` message and the receiver its answer will arrive on.
    pub fn set(
        key: impl Into<String>,
        value: impl Into<Vec<u8>>,
    ) -> (Self, oneshot::Receiver<Result<(), ActorError>>) {
        let (response, reply) = oneshot::channel();
        let message = KeyValueMessage::Set(SetKeyValueMessage {
            key: key.into(),
            value: value.into(),
            response,
        });
        (message, reply)
    }

    /// A `Get` message and the receiver its answer will arrive on.
    pub fn get(key: impl Into<String>) -> (Self, oneshot::Receiver<Option<Vec<u8>>>) {
        let (response, reply) = oneshot::channel();
        let message = KeyValueMessage::Get(GetKeyValueMessage {
            key: key.into(),
            response,
        });
        (message, reply)
    }

    /// A `Delete` message and the receiver its answer will arrive on.
    pub fn delete(key: impl Into<String>) -> (Self, oneshot::Receiver<Result<(), ActorError>>) {
        let (response, reply) = oneshot::channel();
        let message = KeyValueMessage::Delete(DeleteKeyValueMessage {
            key: key.into(),
            response,
        });
        (message, reply)
    }

    /// The key the message is about.
    pub fn key(&self) -> &str {
        match self {
            KeyValueMessage::Get(m) => &m.key,
            KeyValueMessage::Delete(m) => &m.key,
            KeyValueMessage::Set(m) => &m.key,
        }
    }
}

/// Runs the demo.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    demo()
}

#[tokio::main(flavor = "current_thread")]
async fn demo() -> DemoResult {
    let (sender, receiver) = channel(CHANNEL_CAPACITY);
    let actor = tokio::spawn(key_value_actor(receiver));

    // Each request is built by hand here, to show the protocol: a message carrying a fresh
    // oneshot sender, sent into the actor's channel, and the matching receiver awaited.
    let (response, reply) = oneshot::channel();
    let set = SetKeyValueMessage {
        key: "hello".to_string(),
        value: b"world".to_vec(),
        response,
    };
    sender.send(KeyValueMessage::Set(set)).await?;
    reply.await??;
    println!("set hello = world");

    let value = get(&sender, "hello").await?;
    println!("get hello → {:?}", printable(&value));

    let (response, reply) = oneshot::channel();
    let delete = DeleteKeyValueMessage {
        key: "hello".to_string(),
        response,
    };
    sender.send(KeyValueMessage::Delete(delete)).await?;
    reply.await??;
    println!("delete hello");

    let value = get(&sender, "hello").await?;
    println!("get hello → {:?}", printable(&value));

    drop(sender);
    let final_map = actor.await?;
    println!(
        "sender dropped: the actor ended with {} key(s)",
        final_map.len()
    );
    Ok(())
}

async fn get(sender: &Sender<KeyValueMessage>, key: &str) -> Result<Option<Vec<u8>>, ActorError> {
    let (response, reply) = oneshot::channel();
    let message = GetKeyValueMessage {
        key: key.to_string(),
        response,
    };
    sender.send(KeyValueMessage::Get(message)).await?;
    Ok(reply.await?)
}

/// The value as text where it is UTF-8 (`Some("world")`), as the book prints it.
fn printable(value: &Option<Vec<u8>>) -> Option<String> {
    value
        .as_ref()
        .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::time::timeout;

    const LIMIT: Duration = Duration::from_secs(5);

    async fn ask<R>(
        sender: &Sender<KeyValueMessage>,
        (m, r): (KeyValueMessage, oneshot::Receiver<R>),
    ) -> R {
        sender.send(m).await.expect("actor running");
        r.await.expect("actor answered")
    }

    #[tokio::test]
    async fn set_overwrite_get_delete() {
        let (tx, rx) = channel(CHANNEL_CAPACITY);
        let actor = tokio::spawn(key_value_actor(rx));

        assert_eq!(ask(&tx, KeyValueMessage::get("missing")).await, None);
        assert_eq!(
            ask(&tx, KeyValueMessage::set("hello", b"world")).await,
            Ok(())
        );
        assert_eq!(
            ask(&tx, KeyValueMessage::get("hello")).await,
            Some(b"world".to_vec())
        );
        assert_eq!(
            ask(&tx, KeyValueMessage::set("hello", b"there")).await,
            Ok(())
        );
        assert_eq!(
            ask(&tx, KeyValueMessage::get("hello")).await,
            Some(b"there".to_vec())
        );
        assert_eq!(ask(&tx, KeyValueMessage::delete("hello")).await, Ok(()));
        assert_eq!(ask(&tx, KeyValueMessage::get("hello")).await, None);
        // Deleting a key that is not there is fine.
        assert_eq!(ask(&tx, KeyValueMessage::delete("hello")).await, Ok(()));

        drop(tx);
        let map = timeout(LIMIT, actor).await.unwrap().unwrap();
        assert!(map.is_empty());
    }

    #[tokio::test]
    async fn replies_come_in_request_order() {
        let (tx, rx) = channel(CHANNEL_CAPACITY);
        let actor = tokio::spawn(key_value_actor(rx));
        // Send everything first, then read the replies: each get sees exactly the sets before it.
        let mut replies = Vec::new();
        for i in 0..10u8 {
            let (m, set_reply) = KeyValueMessage::set("k", vec![i]);
            tx.send(m).await.unwrap();
            let (m, get_reply) = KeyValueMessage::get("k");
            tx.send(m).await.unwrap();
            replies.push((set_reply, get_reply));
        }
        for (i, (set_reply, get_reply)) in replies.into_iter().enumerate() {
            assert_eq!(set_reply.await.unwrap(), Ok(()));
            assert_eq!(get_reply.await.unwrap(), Some(vec![i as u8]));
        }
        drop(tx);
        let map = timeout(LIMIT, actor).await.unwrap().unwrap();
        assert_eq!(map.get("k"), Some(&vec![9]));
    }

    /// On tokio's paused clock a timeout fires only once every task is idle, so an elapsed
    /// timeout proves the actor is parked in `recv`, waiting for the sender still alive.
    #[tokio::test(start_paused = true)]
    async fn the_actor_ends_only_when_every_sender_is_gone() {
        let (tx, rx) = channel(CHANNEL_CAPACITY);
        let mut actor = tokio::spawn(key_value_actor(rx));
        let second = tx.clone();
        ask(&tx, KeyValueMessage::set("a", b"1")).await.unwrap();
        drop(tx);
        assert!(
            timeout(Duration::from_secs(3600), &mut actor)
                .await
                .is_err(),
            "the actor ended while a sender was alive"
        );
        // The remaining sender is still served.
        assert_eq!(
            ask(&second, KeyValueMessage::get("a")).await,
            Some(b"1".to_vec())
        );
        drop(second);
        let map = timeout(LIMIT, &mut actor).await.unwrap().unwrap();
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn the_demo_runs() {
        run(Args::default()).unwrap();
    }
}
