//! `router-pattern` (book section "Implementing the Router Pattern"): one front door.
//!
//! A router actor is the system's only entrance: it creates the actors behind it (here the
//! key-value store of `key-value-actor`) and forwards each message by its variant. Callers need one
//! sender, and nobody can forget to start the store, because the router starts it.
//!
//! Run it with `cargo run -p ch08 -- router-pattern`: it sets `hello`, reads it back, deletes it
//! and reads it again, printing `value: Ok("world")` and `value: None` as the book does.
//!
//! Where we differ from the book:
//!
//! - **No global.** The book keeps the router's sender in `static ROUTER_SENDER: OnceLock<…>` and
//!   its `set`/`get`/`delete` are free functions that read it. `OnceLock::set` succeeds once per
//!   process, so the chapter binary (which runs several systems in one process) and the test
//!   suite (one runtime per `#[tokio::test]`, so a router spawned by one test dies with that test)
//!   could not work. We take the book's own sidebar advice: [`spawn_router`] returns a
//!   [`RouterHandle`], a cloneable value wrapping the sender, and `set`/`get`/`delete` are its
//!   methods. Pass it (or a clone) to whoever needs the store; every test builds its own system.
//!   A binary that truly wants "call from anywhere" can keep a `OnceLock<RouterHandle>` in its own
//!   `main`, never in a library.
//! - **Errors, not panics.** Each call returns `Result<_, ActorError>`: `Closed` when the router is
//!   gone, `NoReply` when the request was taken but never answered.
//! - **A clean shutdown.** When the last handle is dropped the router's channel closes, the router
//!   drops the store's sender, waits for the store to finish, and ends: no task is left behind.
//! - **A way around the router.** [`RouterHandle::store_handle`] asks the router for the store's
//!   own sender (the Summary's "actors calling each other directly"; used by `router-vs-direct`).
//!
//! The handle type is generic: [`ActorHandle<M>`] offers `set`/`get`/`delete` for any channel whose
//! messages can wrap a [`KeyValueMessage`]. [`RouterHandle`] is `ActorHandle<RoutingMessage>`,
//! [`StoreHandle`] is `ActorHandle<KeyValueMessage>`, and a later router with more message variants
//! (heartbeats, resets) gets the same methods by implementing `From<KeyValueMessage>`.

use std::fmt;

use common::demo::{Args, DemoResult};
use tokio::sync::mpsc::{Receiver, Sender, WeakSender, channel};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use crate::actor_error::ActorError;
pub use crate::key_value_actor::{
    CHANNEL_CAPACITY, DeleteKeyValueMessage, GetKeyValueMessage, KeyValueMessage,
    SetKeyValueMessage, key_value_actor,
};

/// What the router accepts: a message for the key-value actor, wrapped so the router knows where
/// it goes.
#[derive(Debug)]
pub enum RoutingMessage {
    /// Forwarded to the key-value store actor.
    KeyValue(KeyValueMessage),
    /// Ours, not the book's: asks the router for the store actor's own sender, so a caller can
    /// skip the hop (`router-vs-direct`).
    StoreSender(oneshot::Sender<Sender<KeyValueMessage>>),
}

/// The router actor: starts the key-value actor, then forwards every message until its own
/// channel closes; then it closes the store's channel and waits for the store to finish.
pub async fn router(mut receiver: Receiver<RoutingMessage>) {
    let (key_value_sender, key_value_receiver) = channel(CHANNEL_CAPACITY);
    let key_value_handle = tokio::spawn(key_value_actor(key_value_receiver));

    while let Some(message) = receiver.recv().await {
        match message {
            RoutingMessage::KeyValue(message) => {
                // If the store is gone the message is dropped with its reply sender, and the
                // caller gets `ActorError::NoReply`.
                let _ = key_value_sender.send(message).await;
            }
            RoutingMessage::StoreSender(reply) => {
                let _ = reply.send(key_value_sender.clone());
            }
        }
    }
    // Book: the book's router never ends and never waits for its store; ours ends when the last
    // handle is dropped and returns only once the store actor it started has finished.
    drop(key_value_sender);
    let _ = key_value_handle.await;
}

/// A cloneable handle on an actor that serves key-value messages: the router, or the store itself.
///
/// `M` is the actor's message type; it only has to be able to wrap a [`KeyValueMessage`].
pub struct ActorHandle<M> {
    sender: Sender<M>,
}

/// A handle on the router: the book's `set`, `get` and `delete`, as methods.
pub type RouterHandle = ActorHandle<RoutingMessage>;

/// A handle straight on the store actor, skipping the router.
pub type StoreHandle = ActorHandle<KeyValueMessage>;

impl<M> ActorHandle<M>
where
    M: From<KeyValueMessage> + Send + 'static,
{
    /// Wraps an actor's sender.
    pub fn new(sender: Sender<M>) -> Self {
        ActorHandle { sender }
    }

    /// Stores `value` under `key`; `Ok` once the store has answered.
    // Book: `set` is a free function that reads the global `ROUTER_SENDER` and returns
    // `std::io::Error`; its listing never awaits the `send` and lacks a `;`, so it does not
    // compile, and with the `;` nothing is sent and `rx.await.unwrap()` panics. Ours is a method
    // that awaits the send and returns `ActorError`.
    pub async fn set(
        &self,
        key: impl Into<String>,
        value: impl Into<Vec<u8>>,
    ) -> Result<(), ActorError> {
        let (message, reply) = KeyValueMessage::set(key, value);
        self.sender.send(M::from(message)).await?;
        reply.await?
    }

    /// Reads `key`: `Ok(None)` when it is absent.
    pub async fn get(&self, key: impl Into<String>) -> Result<Option<Vec<u8>>, ActorError> {
        let (message, reply) = KeyValueMessage::get(key);
        self.sender.send(M::from(message)).await?;
        Ok(reply.await?)
    }

    /// Removes `key`; `Ok` also when it was not there.
    pub async fn delete(&self, key: impl Into<String>) -> Result<(), ActorError> {
        let (message, reply) = KeyValueMessage::delete(key);
        self.sender.send(M::from(message)).await?;
        reply.await?
    }
}

impl<M> ActorHandle<M> {
    /// The actor's sender, for messages that are not key-value operations.
    pub fn sender(&self) -> &Sender<M> {
        &self.sender
    }

    /// A weak sender: it does not keep the actor's channel open. Actors inside the system that
    /// must reach the router hold one of these, so dropping the last user handle still shuts the
    /// system down.
    pub fn downgrade(&self) -> WeakSender<M> {
        self.sender.downgrade()
    }

    /// `true` once the actor has stopped receiving.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

impl RouterHandle {
    /// Asks the router for a handle straight on its store actor. The store keeps running while
    /// such a handle exists, even after the router has gone.
    pub async fn store_handle(&self) -> Result<StoreHandle, ActorError> {
        let (reply_tx, reply_rx) = oneshot::channel();
        self.sender
            .send(RoutingMessage::StoreSender(reply_tx))
            .await?;
        Ok(StoreHandle::new(reply_rx.await?))
    }
}

impl From<KeyValueMessage> for RoutingMessage {
    fn from(message: KeyValueMessage) -> Self {
        RoutingMessage::KeyValue(message)
    }
}

impl<M> Clone for ActorHandle<M> {
    fn clone(&self) -> Self {
        ActorHandle {
            sender: self.sender.clone(),
        }
    }
}

impl<M> fmt::Debug for ActorHandle<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorHandle")
            .field("closed", &self.sender.is_closed())
            .finish()
    }
}

/// Starts a router (which starts its store) on the current runtime. Returns the handle callers
/// use and the router's `JoinHandle`, which completes once every handle is dropped and the store
/// has finished.
// Book: `main` puts the sender in a global with `ROUTER_SENDER.set(sender)`, which works once per
// process; here it lives in the returned handle, so every caller (and every test) owns its system.
pub fn spawn_router() -> (RouterHandle, JoinHandle<()>) {
    let (sender, receiver) = channel(CHANNEL_CAPACITY);
    let task = tokio::spawn(router(receiver));
    (RouterHandle::new(sender), task)
}

/// Runs the demo.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    demo()
}

#[tokio::main]
async fn demo() -> DemoResult {
    let (router, task) = spawn_router();

    router.set("hello", b"world").await?;
    let value = router.get("hello").await?.ok_or("`hello` was not stored")?;
    println!("value: {:?}", String::from_utf8(value));
    router.delete("hello").await?;
    let value = router.get("hello").await?;
    println!("value: {value:?}");

    // The last handle goes, the router and then the store end: nothing is left running.
    drop(router);
    task.await?;
    println!("every handle dropped: router and store have stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::time::timeout;

    const LIMIT: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn set_get_delete_through_the_router() {
        let (router, task) = spawn_router();
        router
            .set("hello".to_owned(), b"world".to_vec())
            .await
            .unwrap();
        let value = router.get("hello").await.unwrap();
        assert_eq!(value.map(String::from_utf8), Some(Ok("world".to_string())));
        router.delete("hello").await.unwrap();
        assert_eq!(router.get("hello").await.unwrap(), None);
        drop(router);
        timeout(LIMIT, task).await.unwrap().unwrap();
    }

    /// Eight systems at once, each in its own task on a multi-thread runtime: each sees only its
    /// own keys. (With the book's global this would not even start: the second `set` of the
    /// `OnceLock` fails.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parallel_systems_are_independent() {
        let mut tasks = Vec::new();
        for system in 0..8 {
            tasks.push(tokio::spawn(async move {
                let (router, task) = spawn_router();
                for k in 0..20 {
                    router
                        .set(format!("{system}-{k}"), vec![system as u8])
                        .await
                        .unwrap();
                }
                for other in 0..8 {
                    let value = router.get(format!("{other}-0")).await.unwrap();
                    if other == system {
                        assert_eq!(value, Some(vec![system as u8]));
                    } else {
                        assert_eq!(value, None, "system {system} saw a key of {other}");
                    }
                }
                drop(router);
                task.await.unwrap();
            }));
        }
        for t in tasks {
            timeout(LIMIT, t).await.unwrap().unwrap();
        }
    }

    /// Paused clock: the one-hour timeout elapses only if every task is idle, which proves the
    /// router is parked waiting for its store, not merely slow.
    #[tokio::test(start_paused = true)]
    async fn dropping_every_handle_ends_router_and_store() {
        let (router, mut task) = spawn_router();
        let clone = router.clone();
        let store = router.store_handle().await.unwrap();
        router.set("a", b"1").await.unwrap();
        drop(router);
        // A clone still works: the router lives while any handle does.
        assert_eq!(clone.get("a").await.unwrap(), Some(b"1".to_vec()));
        drop(clone);
        // The router ends, but its `JoinHandle` waits for the store, which a store handle keeps
        // alive.
        assert!(timeout(Duration::from_secs(3600), &mut task).await.is_err());
        assert_eq!(store.get("a").await.unwrap(), Some(b"1".to_vec()));
        let weak = store.downgrade();
        drop(store);
        timeout(LIMIT, task).await.unwrap().unwrap();
        assert!(weak.upgrade().is_none(), "the store's channel is gone");
    }

    #[tokio::test]
    async fn a_stopped_router_answers_closed() {
        let (router, task) = spawn_router();
        // Stop the router without dropping our handle: abort its task.
        task.abort();
        assert!(
            timeout(LIMIT, task)
                .await
                .unwrap()
                .unwrap_err()
                .is_cancelled()
        );
        assert_eq!(router.set("a", b"1").await, Err(ActorError::Closed));
        assert_eq!(router.get("a").await, Err(ActorError::Closed));
        assert_eq!(router.delete("a").await, Err(ActorError::Closed));
        assert!(router.is_closed());
        assert_eq!(router.store_handle().await.unwrap_err(), ActorError::Closed);
    }

    #[tokio::test]
    async fn a_request_dropped_unanswered_is_no_reply() {
        // A router whose store is already gone: the forwarded message is dropped, and with it the
        // reply sender.
        let (tx, mut rx) = channel::<RoutingMessage>(CHANNEL_CAPACITY);
        let router = RouterHandle::new(tx);
        let fake = tokio::spawn(async move {
            while let Some(message) = rx.recv().await {
                drop(message);
            }
        });
        assert_eq!(router.get("a").await, Err(ActorError::NoReply));
        assert_eq!(router.set("a", b"x").await, Err(ActorError::NoReply));
        drop(router);
        timeout(LIMIT, fake).await.unwrap().unwrap();
    }

    #[test]
    fn the_demo_runs() {
        run(Args::default()).unwrap();
    }
}
