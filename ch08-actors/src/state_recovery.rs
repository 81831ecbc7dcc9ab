//! `state-recovery` (book section "Implementing State Recovery for Actors"): a writer actor owns
//! the state file, and a write is acknowledged only once it is on disk.
//!
//! The store actor of `key-value-actor` gains a partner. When it starts, it spawns a writer actor
//! and asks it for the saved map; the writer loads `data.json` and hands the map over. From then
//! on, every change (`set`, `delete`) goes to the writer first; the writer persists the whole map
//! and acknowledges, and only then does the store actor apply the change to its own copy and
//! answer the caller. A `get` never touches the disk.
//!
//! The book's version acknowledges *before* anything is written (the store actor forwards the
//! change and answers at once), truncates and rewrites the file in place (a crash halfway leaves
//! half a file), and never fsyncs. So here:
//! - the caller hears `Ok` only after the writer has written `data.json.tmp`, fsynced it, renamed it
//!   over `data.json` and fsynced the directory ([`crate::persist`]);
//! - if that fails, the caller gets `Err(ActorError::Persist)` and neither the writer's nor the
//!   store's map changes: memory always equals disk;
//! - the file lives in a directory the caller chooses ([`StoreConfig`]), not in `./`;
//! - loading tells a missing file from a corrupt one (`load-state-file`).
//!
//! Run it with `cargo run -p ch08 -- state-recovery [--dir DIR]` (default: a fresh temporary
//! directory, removed at the end): it sets `hello`, sets `test`, deletes `test`, printing
//! `data.json` after each acknowledgement, stops the whole system, starts a new one on the same
//! directory and reads the keys back.

use std::collections::HashMap;
use std::io;
use std::path::Path;

use common::demo::{Args, DemoResult};
use tokio::sync::mpsc::{Receiver, UnboundedReceiver, channel};
use tokio::sync::oneshot;

use crate::heartbeat_supervisor::{ActorType, spawn_router};
use crate::key_value_actor::{
    ActorError, CHANNEL_CAPACITY, DeleteKeyValueMessage, GetKeyValueMessage, KeyValueMessage,
    SetKeyValueMessage,
};
use crate::load_state_file::{LoadError, LoadOutcome, key_count, load_map};
use crate::persist::{self, DATA_FILE, PersistError, PersistStep, write_map_atomically};
use crate::store::{AbortOnDrop, Event, StartError, Store, StoreConfig, loaded_words};

/// What the store actor asks of its writer.
#[derive(Debug)]
pub enum WriterLogMessage {
    /// Persist `key = value`, then acknowledge.
    Set(String, Vec<u8>, WriteAck),
    /// Persist the removal of `key`, then acknowledge.
    Delete(String, WriteAck),
    /// Send the whole map (the store actor's starting state).
    Get(oneshot::Sender<HashMap<String, Vec<u8>>>),
}

/// Where the writer says whether a change is durable.
// Book: `Set` and `Delete` carry no reply, so the store actor cannot wait for the disk; ours carry
// this acknowledgement.
pub type WriteAck = oneshot::Sender<io::Result<()>>;

impl WriterLogMessage {
    /// The writer's half of a key-value message (`None` for a `get`), with the receiver on which
    /// its acknowledgement will arrive. The key-value message itself is left intact, for the store
    /// actor to answer.
    pub fn from_key_value_message(
        message: &KeyValueMessage,
    ) -> Option<(WriterLogMessage, oneshot::Receiver<io::Result<()>>)> {
        let (ack, acked) = oneshot::channel();
        let write_message = match message {
            KeyValueMessage::Get(_) => return None,
            KeyValueMessage::Delete(message) => WriterLogMessage::Delete(message.key.clone(), ack),
            KeyValueMessage::Set(message) => {
                WriterLogMessage::Set(message.key.clone(), message.value.clone(), ack)
            }
        };
        Some((write_message, acked))
    }
}

/// The writer actor: waits for the store's previous writer to be gone, loads `data.json`, then
/// persists every change before acknowledging it. Ends when the store actor drops its sender.
// Book: returns an `io::Result<()>` nobody reads and `unwrap`s along the way, so a failing disk
// ended the writer silently. Ours reports each failure to the caller waiting for that write.
pub async fn writer_actor(mut receiver: Receiver<WriterLogMessage>, store: Store) {
    // One writer per store at a time: a replacement waits here until the writer it replaces has
    // really stopped (its task may still be finishing a write when the reset begins).
    let turn = store.writer_turn().await;
    let generation = turn.generation();
    // Book: `load_map("./data.json")` then `File::create`, which truncates the file at once: a
    // crash before the first write erased everything, and a corrupt file was silently replaced.
    let Some(mut map) = load(&store, generation).await else {
        return;
    };
    let mut pulse = store.pulse(ActorType::Writer, generation);

    loop {
        tokio::select! {
            message = receiver.recv() => {
                let Some(message) = message else { break };
                match message {
                    WriterLogMessage::Set(key, value, ack) => {
                        let previous = map.insert(key.clone(), value);
                        match save(&store, generation, &map).await {
                            Saved::Yes => {
                                let _ = ack.send(Ok(()));
                            }
                            Saved::No(e) => {
                                restore(&mut map, key, previous);
                                let _ = ack.send(Err(e));
                            }
                            Saved::Unknown => return,
                        }
                    }
                    WriterLogMessage::Delete(key, ack) => {
                        let previous = map.remove(&key);
                        match save(&store, generation, &map).await {
                            Saved::Yes => {
                                let _ = ack.send(Ok(()));
                            }
                            Saved::No(e) => {
                                restore(&mut map, key, previous);
                                let _ = ack.send(Err(e));
                            }
                            Saved::Unknown => return,
                        }
                    }
                    WriterLogMessage::Get(response) => {
                        let _ = response.send(map.clone());
                    }
                }
            }
            _ = pulse.tick() => pulse.beat(),
        }
    }
}

/// The persistent store actor: the `key_value_actor` of `key-value-actor`, with a writer.
///
/// Spawns its writer, takes its starting map from it, then for each change waits for the writer's
/// acknowledgement before applying the change and answering `Ok`; a write the writer could not
/// make durable is answered `Err(ActorError::Persist)` and not applied.
// Book: takes a bounded `Receiver`. The supervised router forwards into an unbounded channel so
// that it never waits on a hung store (and keeps handling resets); the queue stays bounded anyway,
// since every caller waits for its reply before sending again.
pub async fn key_value_actor(mut receiver: UnboundedReceiver<KeyValueMessage>, store: Store) {
    let turn = store.store_turn();
    let generation = turn.generation();
    let (writer_key_value_sender, writer_key_value_receiver) = channel(CHANNEL_CAPACITY);
    // Book: `tokio::spawn(writer_actor(..))` and the handle dropped or kept unused; dropping a
    // `JoinHandle` detaches the task, so an aborted store actor left its writer running. Ours
    // aborts the writer when this actor ends, however it ends.
    let writer = AbortOnDrop::new(tokio::spawn(writer_actor(
        writer_key_value_receiver,
        store.clone(),
    )));
    let mut pulse = store.pulse(ActorType::KeyValue, generation);

    let (get_sender, get_receiver) = oneshot::channel();
    let _ = writer_key_value_sender
        .send(WriterLogMessage::Get(get_sender))
        .await;
    // Book: `get_receiver.await.unwrap()` panics when the writer could not load the file; ours
    // ends this store actor, and the writer has already reported why.
    let Ok(mut map) = pulse.keep_beating(get_receiver).await else {
        // The writer said why (the start report and the event log); nothing to serve.
        store.report_start(Err(StartError::Stopped));
        return;
    };

    loop {
        tokio::select! {
            message = receiver.recv() => {
                let Some(message) = message else { break };
                let request = store.next_request();
                if store.hangs(ActorType::KeyValue, request) {
                    store.record(Event::Hung { actor: ActorType::KeyValue, generation });
                    std::future::pending::<()>().await;
                }
                if store.dies(request) {
                    store.record(Event::Died { generation });
                    return;
                }

                // Book: forwards the change and answers at once, before anything is on disk; ours
                // waits for the writer's acknowledgement and answers with what it says.
                let persisted = match WriterLogMessage::from_key_value_message(&message) {
                    None => Persisted::Yes,
                    Some((write_message, acked)) => {
                        if writer_key_value_sender.send(write_message).await.is_err() {
                            Persisted::No(ActorError::persist(io::Error::other("the writer has stopped")))
                        } else {
                            match pulse.keep_beating(acked).await {
                                Ok(Ok(())) => Persisted::Yes,
                                Ok(Err(e)) => Persisted::No(ActorError::persist(e)),
                                Err(_) => Persisted::Unknown,
                            }
                        }
                    }
                };

                match message {
                    KeyValueMessage::Get(GetKeyValueMessage { key, response }) => {
                        let _ = response.send(map.get(&key).cloned());
                    }
                    KeyValueMessage::Delete(DeleteKeyValueMessage { key, response }) => {
                        if let Some(answer) = persisted.answer() {
                            if answer.is_ok() {
                                map.remove(&key);
                            }
                            let _ = response.send(answer);
                        }
                    }
                    KeyValueMessage::Set(SetKeyValueMessage { key, value, response }) => {
                        if let Some(answer) = persisted.answer() {
                            if answer.is_ok() {
                                map.insert(key, value);
                            }
                            let _ = response.send(answer);
                        }
                    }
                }
            }
            _ = pulse.tick() => pulse.beat(),
        }
    }
    // Every caller is gone: close the writer's channel and let it finish.
    drop(writer_key_value_sender);
    let _ = writer.await;
}

/// Whether a change reached the disk, as the store actor learns it from its writer.
enum Persisted {
    /// Durable: apply it and answer `Ok`.
    Yes,
    /// Not durable and not applied: answer with the error.
    No(ActorError),
    /// The writer stopped mid-write: it may or may not be on disk. No answer; the caller sees
    /// `NoReply`, which says exactly that.
    Unknown,
}

impl Persisted {
    /// The answer for the caller, if there is one.
    fn answer(self) -> Option<Result<(), ActorError>> {
        match self {
            Persisted::Yes => Some(Ok(())),
            Persisted::No(e) => Some(Err(e)),
            Persisted::Unknown => None,
        }
    }
}

/// What became of one write, in the writer.
enum Saved {
    /// On disk, durably.
    Yes,
    /// Not on disk; `data.json` is unchanged.
    No(io::Error),
    /// Unknown (the directory sync failed) or a simulated crash: the writer must stop without
    /// acknowledging, as a process that died there would.
    Unknown,
}

/// Persists `map` crash-safely, counting the write, and honouring injected faults.
async fn save(store: &Store, generation: u64, map: &HashMap<String, Vec<u8>>) -> Saved {
    let write = store.next_write();
    if store.hangs(ActorType::Writer, write) {
        store.record(Event::Hung {
            actor: ActorType::Writer,
            generation,
        });
        std::future::pending::<()>().await;
    }
    // Book: `set_len(0)`, `seek`, `write_all`, `flush`: a crash between the truncation and the end
    // of the write leaves an empty or partial file, and without `sync_all` even a finished write
    // can vanish in a power cut.
    match write_map_atomically(store.dir(), map, store.crash_step(write)) {
        Ok(()) => Saved::Yes,
        Err(PersistError::Crashed(step)) => {
            store.record(Event::Crashed { write, step });
            Saved::Unknown
        }
        Err(
            e @ PersistError::Io {
                step: PersistStep::DirSynced,
                ..
            },
        ) => {
            // The new file is in place but perhaps not durable, and a failed fsync cannot simply
            // be retried: its error may already have been reported and cleared.
            store.record(Event::WriterGaveUp {
                write,
                error: e.to_string(),
            });
            Saved::Unknown
        }
        Err(e) => {
            store.record(Event::PersistFailed {
                write,
                error: e.to_string(),
            });
            let kind = match &e {
                PersistError::Io { source, .. } => source.kind(),
                PersistError::Crashed(_) => io::ErrorKind::Other,
            };
            Saved::No(io::Error::new(kind, e))
        }
    }
}

/// Undoes a change that could not be saved.
fn restore(map: &mut HashMap<String, Vec<u8>>, key: String, previous: Option<Vec<u8>>) {
    match previous {
        Some(value) => map.insert(key, value),
        None => map.remove(&key),
    };
}

/// The writer's start: removes a stray temporary file, loads `data.json`, and reports (to the
/// starting system and the log). `None` if it could not load.
async fn load(store: &Store, generation: u64) -> Option<HashMap<String, Vec<u8>>> {
    match persist::remove_stray_temp(store.dir()) {
        Ok(true) => store.record(Event::StrayTempRemoved),
        Ok(false) => {}
        Err(e) => {
            store.record(Event::WriterFailed {
                generation,
                error: format!("could not remove a stray temporary file: {e}"),
            });
            let path = store.dir().join(persist::TEMP_FILE);
            let error = LoadError::Io { path, source: e };
            store.report_start(Err(StartError::Load(error)));
            return None;
        }
    }
    match load_map(&store.data_path(), store.config().on_corrupt).await {
        Ok(loaded) => {
            let keys = loaded.map.len();
            let words = match &loaded.outcome {
                LoadOutcome::Quarantined { .. } => loaded.outcome.to_string(),
                LoadOutcome::Missing { .. } => loaded_words(keys, true),
                LoadOutcome::Loaded { .. } => loaded_words(keys, false),
            };
            store.record(Event::WriterStarted {
                generation,
                keys,
                loaded: words,
            });
            store.report_start(Ok(keys));
            Some(loaded.map)
        }
        Err(e) => {
            store.record(Event::WriterFailed {
                generation,
                error: e.to_string(),
            });
            store.report_start(Err(StartError::Load(e)));
            None
        }
    }
}

/// Runs the demo: `[--dir DIR]` (default: a fresh temporary directory).
pub fn run(args: Args) -> DemoResult {
    crate::persist::with_data_dir(args, demo)
}

#[tokio::main(flavor = "current_thread")]
async fn demo(dir: &Path) -> DemoResult {
    println!("data directory: {}", dir.display());
    let system = spawn_router(StoreConfig::new(dir)).await?;
    println!(
        "started: {}",
        loaded_words(system.loaded, system.loaded == 0)
    );
    let router = system.router.clone();

    router.set("hello", b"world").await?;
    println!("set hello    → ok; data.json: {}", file_text(dir));
    router.set("test", b"world").await?;
    println!("set test     → ok; data.json: {}", file_text(dir));
    router.delete("test").await?;
    println!("delete test  → ok; data.json: {}", file_text(dir));

    drop(router);
    system.shutdown().await?;
    println!("system stopped\n");

    let system = spawn_router(StoreConfig::new(dir)).await?;
    println!(
        "a new system on the same directory: loaded {}",
        key_count(system.loaded)
    );
    for key in ["hello", "test"] {
        let value = system.router.get(key).await?;
        let shown = value.map(|v| String::from_utf8_lossy(&v).into_owned());
        println!("get {key:<5} → {shown:?}");
    }
    system.shutdown().await?;
    Ok(())
}

/// `data.json` as text, for printing.
fn file_text(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(DATA_FILE)).unwrap_or_else(|e| format!("({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heartbeat_supervisor::System;
    use crate::load_state_file::{OnCorrupt, read_data_from_file};
    use std::time::Duration;

    const LIMIT: Duration = Duration::from_secs(30);

    async fn on_disk(dir: &Path) -> HashMap<String, Vec<u8>> {
        read_data_from_file(&dir.join(DATA_FILE)).await.unwrap()
    }

    async fn start(dir: &Path) -> System {
        spawn_router(StoreConfig::new(dir)).await.unwrap()
    }

    #[test]
    fn from_key_value_message_keeps_the_message_and_skips_gets() {
        let (get, _) = KeyValueMessage::get("k");
        assert!(WriterLogMessage::from_key_value_message(&get).is_none());
        let (set, _) = KeyValueMessage::set("k", b"v");
        match WriterLogMessage::from_key_value_message(&set) {
            Some((WriterLogMessage::Set(key, value, _), _)) => {
                assert_eq!((key.as_str(), value.as_slice()), ("k", &b"v"[..]));
            }
            other => panic!("{other:?}"),
        }
        let (delete, _) = KeyValueMessage::delete("k");
        assert!(matches!(
            WriterLogMessage::from_key_value_message(&delete),
            Some((WriterLogMessage::Delete(key, _), _)) if key == "k"
        ));
        assert_eq!(set.key(), "k", "the original is still whole");
    }

    #[tokio::test]
    async fn an_acknowledged_write_is_already_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        tokio::time::timeout(LIMIT, async {
            let system = start(dir.path()).await;
            assert_eq!(system.loaded, 0);
            for i in 0..5u8 {
                system.router.set(format!("k{i}"), vec![i]).await.unwrap();
                // No waiting, no flushing: `Ok` means it is on disk.
                assert_eq!(
                    on_disk(dir.path()).await.get(&format!("k{i}")),
                    Some(&vec![i])
                );
            }
            system.router.delete("k0").await.unwrap();
            assert!(!on_disk(dir.path()).await.contains_key("k0"));
            system.shutdown().await.unwrap();
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn a_restart_recovers_exactly_the_acknowledged_state() {
        let dir = tempfile::tempdir().unwrap();
        tokio::time::timeout(LIMIT, async {
            let system = start(dir.path()).await;
            let mut model: HashMap<String, Vec<u8>> = HashMap::new();
            // 100 mixed operations from a fixed pseudo-random sequence over 8 keys.
            let mut seed = 0x2545_f491_u32;
            for step in 0..100u32 {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let key = format!("key{}", (seed >> 8) % 8);
                match (seed >> 16) % 3 {
                    0 => {
                        let value = step.to_le_bytes().to_vec();
                        system.router.set(key.clone(), value.clone()).await.unwrap();
                        model.insert(key, value);
                    }
                    1 => {
                        system.router.delete(key.clone()).await.unwrap();
                        model.remove(&key);
                    }
                    _ => assert_eq!(
                        system.router.get(key.clone()).await.unwrap(),
                        model.get(&key).cloned()
                    ),
                }
            }
            system.shutdown().await.unwrap();

            let system = start(dir.path()).await;
            assert_eq!(system.loaded, model.len());
            for i in 0..8 {
                let key = format!("key{i}");
                assert_eq!(
                    system.router.get(key.clone()).await.unwrap(),
                    model.get(&key).cloned(),
                    "{key}"
                );
            }
            assert_eq!(on_disk(dir.path()).await, model);
            system.shutdown().await.unwrap();
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn gets_never_write() {
        let dir = tempfile::tempdir().unwrap();
        let system = start(dir.path()).await;
        system.router.set("a", b"1").await.unwrap();
        assert_eq!(system.store.writes(), 1);
        for _ in 0..50 {
            system.router.get("a").await.unwrap();
            system.router.get("missing").await.unwrap();
        }
        assert_eq!(system.store.writes(), 1);
        system.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn a_failing_disk_gives_an_error_and_leaves_the_map_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let system = start(dir.path()).await;
        system.router.set("a", b"1").await.unwrap();
        // Make the rename fail: a directory where `data.json` was (not chmod: CI runs as root).
        let data = dir.path().join(DATA_FILE);
        std::fs::remove_file(&data).unwrap();
        std::fs::create_dir(&data).unwrap();

        let err = system.router.set("a", b"2").await.unwrap_err();
        assert!(matches!(err, ActorError::Persist(_)), "{err:?}");
        assert!(err.to_string().contains("renamed"), "{err}");
        assert_eq!(
            system.router.get("a").await.unwrap(),
            Some(b"1".to_vec()),
            "old value kept"
        );
        let err = system.router.set("b", b"x").await.unwrap_err();
        assert!(matches!(err, ActorError::Persist(_)));
        assert_eq!(system.router.get("b").await.unwrap(), None);
        assert_eq!(
            system
                .router
                .delete("a")
                .await
                .map_err(|e| matches!(e, ActorError::Persist(_))),
            Err(true)
        );
        assert_eq!(
            system.router.get("a").await.unwrap(),
            Some(b"1".to_vec()),
            "delete not applied"
        );

        // The disk recovers: writes succeed again, the failed ones stay unapplied.
        std::fs::remove_dir(&data).unwrap();
        system.router.set("c", b"3").await.unwrap();
        let saved = on_disk(dir.path()).await;
        assert_eq!(saved.len(), 2);
        assert_eq!(saved.get("a"), Some(&b"1".to_vec()));
        let failures = system
            .store
            .events()
            .times(|e| matches!(e, Event::PersistFailed { .. }));
        assert_eq!(failures.len(), 3);
        system.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn a_stray_temp_file_is_removed_at_start_and_never_loaded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(DATA_FILE), br#"{"kept":[1]}"#).unwrap();
        std::fs::write(dir.path().join(persist::TEMP_FILE), br#"{"ghost":[2]}"#).unwrap();
        let system = start(dir.path()).await;
        assert_eq!(system.loaded, 1);
        assert!(!dir.path().join(persist::TEMP_FILE).exists());
        assert_eq!(system.router.get("ghost").await.unwrap(), None);
        assert_eq!(system.router.get("kept").await.unwrap(), Some(vec![1]));
        let removed = system
            .store
            .events()
            .times(|e| *e == Event::StrayTempRemoved);
        assert_eq!(removed.len(), 1);
        system.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn a_corrupt_file_stops_the_start_or_is_set_aside_on_request() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join(DATA_FILE);
        std::fs::write(&data, b"{\"hello\":[1,2").unwrap();

        let err = spawn_router(StoreConfig::new(dir.path()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StartError::Load(LoadError::Corrupt { .. })),
            "{err:?}"
        );
        assert!(err.to_string().contains("is corrupt"), "{err}");
        assert_eq!(
            std::fs::read(&data).unwrap(),
            b"{\"hello\":[1,2",
            "untouched"
        );

        // Nothing kept running: the directory is free for the next attempt.
        let config = StoreConfig::new(dir.path()).with_on_corrupt(OnCorrupt::Quarantine);
        let system = spawn_router(config).await.unwrap();
        assert_eq!(system.loaded, 0);
        assert_eq!(
            std::fs::read(dir.path().join(persist::CORRUPT_FILE)).unwrap(),
            b"{\"hello\":[1,2"
        );
        system.router.set("fresh", b"start").await.unwrap();
        system.shutdown().await.unwrap();
        assert_eq!(on_disk(dir.path()).await.len(), 1);
    }

    #[tokio::test]
    async fn two_systems_cannot_share_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let first = start(dir.path()).await;
        let err = spawn_router(StoreConfig::new(dir.path()))
            .await
            .unwrap_err();
        assert!(matches!(err, StartError::InUse { .. }), "{err:?}");
        first.shutdown().await.unwrap();
        start(dir.path()).await.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn shutting_down_stops_every_actor() {
        let dir = tempfile::tempdir().unwrap();
        let system = start(dir.path()).await;
        system.router.set("a", b"1").await.unwrap();
        let store = system.store.clone();
        let router = system.router.downgrade();
        tokio::time::timeout(LIMIT, system.shutdown())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(store.live_writers(), 0);
        assert!(router.upgrade().is_none(), "the router's channel is closed");
        let stopped = store
            .events()
            .times(|e| matches!(e, Event::StoreStopped { .. } | Event::WriterStopped { .. }));
        assert_eq!(stopped.len(), 2);
    }

    #[test]
    fn the_demo_runs() {
        run(Args::default()).unwrap();
    }
}
