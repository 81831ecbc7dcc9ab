//! `actor-reset` (book section "Creating Actor Supervision"): restarting an actor is dropping its
//! channel and task and starting fresh ones that reload their state.
//!
//! The router keeps the store actor's sender and task handle in variables it can replace. On
//! `Reset` it makes a new channel, stops the old actor, spawns a new one on the new channel, and
//! carries on: callers notice nothing, because they only ever talk to the router. Requests still
//! queued at the router go to the new actor; the new store actor starts a new writer, which reloads
//! `data.json`, so every acknowledged key is back.
//!
//! Run it with `cargo run -p ch08 -- actor-reset`: the book's `main` in a temporary directory:
//! set `hello`, read it twice, send a manual `Reset`, read it again (served by generation 2), set
//! `test`. The log lines come from the actors as they start and stop.
//!
//! Where we differ from the book:
//! - the old actor is aborted and then *awaited*: `abort()` only asks a task to stop at its next
//!   `.await`, so the book's new actor could start while the old one was still running;
//! - the store actor holds its writer in an abort-on-drop guard, and a new writer waits for the
//!   store's writer lock, so two writers never run at once (the book's old writer lived on, since
//!   dropping a `JoinHandle` detaches the task, and could still be writing when the new writer
//!   truncated the file);
//! - no 100 ms sleep after spawning: messages queue in the new channel until the actor runs;
//! - no `std::thread::sleep` at the end of `main`: acknowledged writes are already on disk;
//! - writers carry a generation number, printed instead of a raw `Instant`.

use std::path::Path;

use common::demo::{Args, DemoResult};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use crate::heartbeat_supervisor::{ActorType, RoutingMessage, spawn_router};
use crate::key_value_actor::KeyValueMessage;
use crate::state_recovery::key_value_actor;
use crate::store::{AbortOnDrop, Store, StoreConfig};

/// The router's hold on the current store actor: the book's `mut key_value_sender` and
/// `mut key_value_handle`, kept together so a reset replaces both.
#[derive(Debug)]
pub struct KeyValueSlot {
    key_value_sender: UnboundedSender<KeyValueMessage>,
    key_value_handle: AbortOnDrop<()>,
    store: Store,
}

impl KeyValueSlot {
    /// The book's reset branch: a new channel, the old actor stopped, a new actor spawned.
    pub async fn reset(&mut self, actor: ActorType) {
        match actor {
            // The store actor starts its own writer, so either reset means a new store actor.
            ActorType::KeyValue | ActorType::Writer => {
                let (new_key_value_sender, new_key_value_receiver) = unbounded_channel();
                self.key_value_handle.abort();
                // Book: spawns the new actor right after `abort()`, which only requests the stop,
                // then sleeps 100 ms, stalling all routing for nothing. Ours waits until the old
                // actor is gone (its writer guard has fired) and does not sleep.
                let _ = (&mut self.key_value_handle).await;
                self.key_value_sender = new_key_value_sender;
                self.key_value_handle = AbortOnDrop::new(tokio::spawn(key_value_actor(
                    new_key_value_receiver,
                    self.store.clone(),
                )));
            }
        }
    }

    /// Starts the first store actor.
    pub fn spawn(store: Store) -> Self {
        let (key_value_sender, key_value_receiver) = unbounded_channel();
        let key_value_handle = AbortOnDrop::new(tokio::spawn(key_value_actor(
            key_value_receiver,
            store.clone(),
        )));
        KeyValueSlot {
            key_value_sender,
            key_value_handle,
            store,
        }
    }

    /// Passes a request to the current store actor. If that actor is gone (it died), the request
    /// is dropped with its reply sender and the caller gets `NoReply`; the supervisor will reset.
    pub fn forward(&self, message: KeyValueMessage) {
        let _ = self.key_value_sender.send(message);
    }

    /// Closes the store actor's channel and waits until it (and its writer) have finished.
    pub async fn shutdown(self) {
        let KeyValueSlot {
            key_value_sender,
            key_value_handle,
            ..
        } = self;
        drop(key_value_sender);
        let _ = key_value_handle.await;
    }
}

/// Runs the demo: `[--dir DIR]` (default: a fresh temporary directory).
pub fn run(args: Args) -> DemoResult {
    crate::persist::with_data_dir(args, demo)
}

#[tokio::main]
async fn demo(dir: &Path) -> DemoResult {
    println!("data directory: {}", dir.display());
    // The book starts from a `data.json` holding `{}` (a missing file is the same clean start).
    let data = dir.join(crate::persist::DATA_FILE);
    if !data.exists() {
        std::fs::write(&data, b"{}")?;
    }
    // Unsupervised, so the only reset is the manual one (the supervised system resets the same
    // way: `heartbeat-supervisor`).
    let system = spawn_router(StoreConfig::new(dir).echo()).await?;
    let router = system.router.clone();

    router.set("hello", b"world").await?;
    for _ in 0..2 {
        show(router.get("hello").await?);
    }
    // Book: sends the reset through the global `ROUTER_SENDER`; ours goes through the handle's
    // sender, like every other request.
    router
        .sender()
        .send(RoutingMessage::Reset(ActorType::KeyValue))
        .await?;
    show(router.get("hello").await?);
    router.set("test", b"world").await?;
    println!("          set test ok");

    let store = system.store.clone();
    drop(router);
    // Book: ends `main` with `std::thread::sleep(1 s)`, a blocking call in async code, so that the
    // writer can catch up; here every acknowledged write is on disk already, and shutting down
    // waits for the actors to finish.
    system.shutdown().await?;
    println!(
        "writer generations: {}, most writers alive at once: {}",
        store.writer_generation(),
        store.max_live_writers()
    );
    Ok(())
}

/// Prints a value as the book does, as text and as bytes.
fn show(value: Option<Vec<u8>>) {
    let text = value
        .as_ref()
        .map(|v| String::from_utf8_lossy(v).into_owned());
    println!("          value: {text:?} (bytes: {value:?})");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key_value_actor::ActorError;
    use crate::load_state_file::read_data_from_file;
    use crate::persist::DATA_FILE;
    use crate::store::{Event, Fault};
    use std::collections::HashMap;
    use std::time::Duration;
    use tokio::time::{sleep, timeout};

    const LIMIT: Duration = Duration::from_secs(30);

    #[tokio::test]
    async fn the_value_survives_a_reset_and_the_writer_generation_moves_on() {
        let dir = tempfile::tempdir().unwrap();
        let system = spawn_router(StoreConfig::new(dir.path())).await.unwrap();
        let router = system.router.clone();
        router.set("hello", b"world").await.unwrap();
        assert_eq!(system.store.writer_generation(), 1);
        router.reset(ActorType::KeyValue).await.unwrap();
        assert_eq!(router.get("hello").await.unwrap(), Some(b"world".to_vec()));
        assert_eq!(system.store.writer_generation(), 2);
        assert_eq!(system.store.store_generation(), 2);
        assert_eq!(system.store.max_live_writers(), 1);
        // Generation 1 stopped before generation 2 started.
        let events = system.store.events().entries();
        let position = |wanted: &Event| events.iter().position(|(_, e)| e == wanted).unwrap();
        let gen2 = events
            .iter()
            .position(|(_, e)| {
                matches!(
                    e,
                    Event::WriterStarted {
                        generation: 2,
                        keys: 1,
                        ..
                    }
                )
            })
            .unwrap();
        assert!(position(&Event::WriterStopped { generation: 1 }) < gen2);
        drop(router);
        timeout(LIMIT, system.shutdown()).await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn requests_queued_at_the_router_during_a_reset_are_served_by_the_new_actor() {
        let dir = tempfile::tempdir().unwrap();
        let system = spawn_router(StoreConfig::new(dir.path())).await.unwrap();
        let router = system.router.clone();
        // Queue the reset and ten requests before the router runs again.
        router.reset(ActorType::KeyValue).await.unwrap();
        let mut replies = Vec::new();
        for i in 0..10u8 {
            let (message, reply) = KeyValueMessage::set(format!("k{i}"), vec![i]);
            router.sender().send(message.into()).await.unwrap();
            replies.push(reply);
        }
        for reply in replies {
            assert_eq!(timeout(LIMIT, reply).await.unwrap(), Ok(Ok(())));
        }
        assert_eq!(system.store.store_generation(), 2);
        assert_eq!(
            read_data_from_file(&dir.path().join(DATA_FILE))
                .await
                .unwrap()
                .len(),
            10
        );
        drop(router);
        timeout(LIMIT, system.shutdown()).await.unwrap().unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn requests_already_in_the_old_actors_channel_get_no_reply_never_ok() {
        let dir = tempfile::tempdir().unwrap();
        let fault = Fault::Hang {
            actor: ActorType::KeyValue,
            at: 2,
        };
        let config = StoreConfig::new(dir.path()).with_fault(fault);
        let system = spawn_router(config).await.unwrap();
        let router = system.router.clone();
        router.set("a", b"1").await.unwrap();
        // Request 2 hangs the store actor; requests 3..=6 pile up in its channel behind it.
        let mut stuck = Vec::new();
        for key in ["b", "c", "d", "e", "f"] {
            let router = router.clone();
            stuck.push(tokio::spawn(async move { router.set(key, b"x").await }));
            sleep(Duration::from_millis(1)).await;
        }
        sleep(Duration::from_millis(10)).await;
        assert!(stuck.iter().all(|t| !t.is_finished()));
        router.reset(ActorType::KeyValue).await.unwrap();
        for task in stuck {
            let answer = timeout(LIMIT, task).await.unwrap().unwrap();
            assert_eq!(answer, Err(ActorError::NoReply));
        }
        assert_eq!(router.get("a").await.unwrap(), Some(b"1".to_vec()));
        for key in ["b", "c", "d", "e", "f"] {
            assert_eq!(
                router.get(key).await.unwrap(),
                None,
                "{key} was never saved"
            );
        }
        drop(router);
        timeout(LIMIT, system.shutdown()).await.unwrap().unwrap();
    }

    /// Twenty resets land in the middle of 200 concurrent writes, on two worker threads, so that
    /// some resets hit a writer in the middle of a write. Every write answered `Ok` must be back
    /// after a restart from disk, and there is never more than one writer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn twenty_resets_among_200_writes_lose_no_acknowledged_key() {
        let dir = tempfile::tempdir().unwrap();
        let system = spawn_router(StoreConfig::new(dir.path())).await.unwrap();
        let router = system.router.clone();
        let mut acknowledged = HashMap::new();
        let mut unanswered = 0;
        for batch in 0..20 {
            let mut writes = Vec::new();
            for i in 0..10 {
                let key = format!("k{batch}-{i}");
                let value = format!("v{batch}-{i}").into_bytes();
                let caller = router.clone();
                writes.push(tokio::spawn(async move {
                    let answer = caller.set(key.clone(), value.clone()).await;
                    (key, value, answer)
                }));
                if i == 4 {
                    router.reset(ActorType::KeyValue).await.unwrap();
                }
            }
            for write in writes {
                let (key, value, answer) = timeout(LIMIT, write).await.unwrap().unwrap();
                match answer {
                    Ok(()) => {
                        acknowledged.insert(key, value);
                    }
                    Err(ActorError::NoReply) => unanswered += 1,
                    Err(other) => panic!("{key}: {other:?}"),
                }
            }
        }
        assert!(
            acknowledged.len() >= 100,
            "{} acknowledged, {unanswered} unanswered",
            acknowledged.len()
        );
        let store = system.store.clone();
        drop(router);
        timeout(LIMIT, system.shutdown()).await.unwrap().unwrap();
        assert_eq!(store.store_generation(), 21);
        assert_eq!(store.max_live_writers(), 1);

        let system = spawn_router(StoreConfig::new(dir.path())).await.unwrap();
        for (key, value) in &acknowledged {
            assert_eq!(
                system.router.get(key.clone()).await.unwrap().as_ref(),
                Some(value),
                "{key}"
            );
        }
        timeout(LIMIT, system.shutdown()).await.unwrap().unwrap();
    }

    #[test]
    fn the_demo_runs() {
        run(Args::default()).unwrap();
    }
}
