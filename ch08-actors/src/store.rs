//! Helper for "Implementing State Recovery for Actors" and "Creating Actor Supervision": what the
//! actors of one persistent system share, passed to each of them as a value instead of read from a
//! global.
//!
//! The book's actors reach everything through statics (`ROUTER_SENDER`, `./data.json`). Ours get a
//! [`Store`] when they are spawned: a cheap clone of one shared context that holds
//! - the [`StoreConfig`] the caller chose: the directory, what to do with a corrupt file, whether to
//!   supervise (and how fast), and an optional injected [`Fault`] for demos and tests;
//! - the writer lock: one writer per store at a time, so a restarted writer waits until the
//!   previous one is really gone (an aborted task stops at its next `.await`, not at once);
//! - counters the tests read: writer and store generations, persisted writes, live writers and the
//!   most that were ever alive at once;
//! - an [`EventLog`] of what happened and when (on tokio's clock, so a paused clock gives exact
//!   times), which demos print and tests assert on.
//!
//! Nothing here is global: two systems in one process (two tests, two demos) never meet.

use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::mpsc::WeakSender;
use tokio::sync::{OwnedMutexGuard, oneshot};
use tokio::task::{JoinError, JoinHandle};
use tokio::time::Instant;

use crate::heartbeat_supervisor::{ActorType, Pulse, RoutingMessage, Timing};
use crate::load_state_file::{LoadError, OnCorrupt, key_count};
use crate::persist::{CrashPlan, DATA_FILE, PersistStep};

/// The lock file beside `data.json` that keeps a second process (or a second system in this one)
/// out of the directory while a system runs.
pub const LOCK_FILE: &str = "data.json.lock";

/// How to build one persistent system. The directory is always the caller's choice.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Where `data.json` lives.
    // Book: hard-codes `./data.json`, so the file lands in whatever directory the program was
    // started from, and two programs (or two tests) share it.
    pub dir: PathBuf,
    /// What to do when `data.json` exists but does not parse.
    pub on_corrupt: OnCorrupt,
    /// Heartbeats and a supervisor, with these timings; `None`: no supervision (the system of
    /// "Implementing State Recovery for Actors", before the book adds it).
    pub supervision: Option<Timing>,
    /// A fault to inject, for demos and tests.
    pub fault: Option<Fault>,
    /// Print each event (except heartbeats) as it happens.
    pub echo: bool,
}

impl StoreConfig {
    /// A system on `dir`: refuse a corrupt file, no supervision, no fault, silent.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        StoreConfig {
            dir: dir.into(),
            on_corrupt: OnCorrupt::Fail,
            supervision: None,
            fault: None,
            echo: false,
        }
    }

    /// Sets the policy for a corrupt state file.
    pub fn with_on_corrupt(self, on_corrupt: OnCorrupt) -> Self {
        StoreConfig { on_corrupt, ..self }
    }

    /// Turns on heartbeats and the supervisor.
    pub fn supervised(self, timing: Timing) -> Self {
        StoreConfig {
            supervision: Some(timing),
            ..self
        }
    }

    /// Stops the writer after `plan.step` of write number `plan.write` (the crash matrix).
    pub fn with_crash_plan(self, plan: CrashPlan) -> Self {
        self.with_fault(Fault::Crash(plan))
    }

    /// Injects a fault.
    pub fn with_fault(self, fault: Fault) -> Self {
        StoreConfig {
            fault: Some(fault),
            ..self
        }
    }

    /// Prints events as they happen.
    pub fn echo(self) -> Self {
        StoreConfig { echo: true, ..self }
    }

    /// `dir/data.json`.
    pub fn data_path(&self) -> PathBuf {
        self.dir.join(DATA_FILE)
    }
}

/// A fault injected on purpose, so that demos and tests can show what crashes and hangs do.
/// Counts are per store (over every generation of its actors), so a fault fires once and the
/// restarted actors run normally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The writer stops right after a step of one write, without acknowledging it, leaving the
    /// files as a process killed at that moment would.
    Crash(CrashPlan),
    /// The actor stops answering and beating (it awaits a future that never completes) when it
    /// gets its `at`-th job: for the writer the `at`-th write, for the store actor the `at`-th
    /// request.
    Hang {
        /// Which actor hangs.
        actor: ActorType,
        /// At which job (counted from 1).
        at: usize,
    },
    /// The store actor returns at its `at`-th request: it and its writer are gone, nobody beats.
    Die {
        /// At which request (counted from 1).
        at: usize,
    },
}

/// The shared context of one persistent system. Cloning it is cheap; every clone is the same
/// store. See the module docs.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    config: StoreConfig,
    router: Option<WeakSender<RoutingMessage>>,
    writer_lock: Arc<tokio::sync::Mutex<()>>,
    writer_generation: AtomicU64,
    store_generation: AtomicU64,
    writes: AtomicUsize,
    requests: AtomicUsize,
    live_writers: AtomicUsize,
    max_live_writers: AtomicUsize,
    events: EventLog,
    started: Mutex<Option<oneshot::Sender<Result<usize, StartError>>>>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.inner.config.dir)
            .field("writes", &self.writes())
            .field("writer_generation", &self.writer_generation())
            .finish()
    }
}

impl Store {
    /// A store for `config`. `router` is where heartbeats go (a weak sender: it must not keep the
    /// router alive). The receiver gets the first writer's start report: the number of keys it
    /// loaded, or why it could not load.
    pub fn new(
        config: StoreConfig,
        router: Option<WeakSender<RoutingMessage>>,
    ) -> (Store, oneshot::Receiver<Result<usize, StartError>>) {
        let (started, start_report) = oneshot::channel();
        let events = EventLog::new(config.echo);
        let store = Store {
            inner: Arc::new(Inner {
                config,
                router,
                writer_lock: Arc::new(tokio::sync::Mutex::new(())),
                writer_generation: AtomicU64::new(0),
                store_generation: AtomicU64::new(0),
                writes: AtomicUsize::new(0),
                requests: AtomicUsize::new(0),
                live_writers: AtomicUsize::new(0),
                max_live_writers: AtomicUsize::new(0),
                events,
                started: Mutex::new(Some(started)),
            }),
        };
        (store, start_report)
    }

    /// The configuration.
    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    /// The directory holding `data.json`.
    pub fn dir(&self) -> &Path {
        &self.inner.config.dir
    }

    /// `dir/data.json`.
    pub fn data_path(&self) -> PathBuf {
        self.inner.config.data_path()
    }

    /// The event log.
    pub fn events(&self) -> &EventLog {
        &self.inner.events
    }

    /// The router's weak sender, if the system is supervised.
    pub fn router(&self) -> Option<WeakSender<RoutingMessage>> {
        self.inner.router.clone()
    }

    /// How many writes the writers of this store have attempted (a `get` never adds one).
    pub fn writes(&self) -> usize {
        self.inner.writes.load(Ordering::SeqCst)
    }

    /// The generation of the newest writer (1 for the first, 0 before it starts).
    pub fn writer_generation(&self) -> u64 {
        self.inner.writer_generation.load(Ordering::SeqCst)
    }

    /// The generation of the newest store actor.
    pub fn store_generation(&self) -> u64 {
        self.inner.store_generation.load(Ordering::SeqCst)
    }

    /// How many writers are running now.
    pub fn live_writers(&self) -> usize {
        self.inner.live_writers.load(Ordering::SeqCst)
    }

    /// The most writers that were ever running at the same moment (it must stay 1).
    pub fn max_live_writers(&self) -> usize {
        self.inner.max_live_writers.load(Ordering::SeqCst)
    }

    /// Records an event.
    pub fn record(&self, event: Event) {
        self.inner.events.record(event);
    }

    /// Waits for this store's previous writer to be gone, then starts a new writer generation.
    pub(crate) async fn writer_turn(&self) -> WriterTurn {
        let lock = self.inner.writer_lock.clone().lock_owned().await;
        let generation = self.inner.writer_generation.fetch_add(1, Ordering::SeqCst) + 1;
        let live = self.inner.live_writers.fetch_add(1, Ordering::SeqCst) + 1;
        self.inner
            .max_live_writers
            .fetch_max(live, Ordering::SeqCst);
        WriterTurn {
            store: self.clone(),
            generation,
            _lock: lock,
        }
    }

    /// Starts a new store-actor generation.
    pub(crate) fn store_turn(&self) -> StoreTurn {
        let generation = self.inner.store_generation.fetch_add(1, Ordering::SeqCst) + 1;
        self.record(Event::StoreStarted { generation });
        StoreTurn {
            store: self.clone(),
            generation,
        }
    }

    /// Counts a write and returns its number (from 1).
    pub(crate) fn next_write(&self) -> usize {
        self.inner.writes.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Counts a request to a store actor and returns its number (from 1).
    pub(crate) fn next_request(&self) -> usize {
        self.inner.requests.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The step after which write number `write` must stop, if the crash plan says so.
    pub(crate) fn crash_step(&self, write: usize) -> Option<PersistStep> {
        match self.inner.config.fault {
            Some(Fault::Crash(plan)) if plan.write == write => Some(plan.step),
            _ => None,
        }
    }

    /// Whether `actor` must hang at its job number `job`.
    pub(crate) fn hangs(&self, actor: ActorType, job: usize) -> bool {
        matches!(self.inner.config.fault, Some(Fault::Hang { actor: a, at }) if a == actor && at == job)
    }

    /// Whether the store actor must die at request number `request`.
    pub(crate) fn dies(&self, request: usize) -> bool {
        matches!(self.inner.config.fault, Some(Fault::Die { at }) if at == request)
    }

    /// The heartbeat of one actor generation: silent unless the system is supervised.
    pub(crate) fn pulse(&self, actor: ActorType, generation: u64) -> Pulse {
        let beat = self.inner.config.supervision.map(|timing| timing.beat);
        Pulse::new(
            actor,
            generation,
            beat,
            self.inner.router.clone(),
            self.inner.events.clone(),
        )
    }

    /// Tells whoever waits for the system to start how the first load went (later calls do
    /// nothing: only the first writer's start decides whether the system starts).
    pub(crate) fn report_start(&self, result: Result<usize, StartError>) {
        if let Some(started) = lock(&self.inner.started).take() {
            let _ = started.send(result);
        }
    }
}

/// A running writer generation: holds the store's writer lock, counts as live, and says
/// `writer gen N stopped` when dropped (also when the writer task is aborted).
pub(crate) struct WriterTurn {
    store: Store,
    generation: u64,
    _lock: OwnedMutexGuard<()>,
}

impl WriterTurn {
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }
}

impl Drop for WriterTurn {
    fn drop(&mut self) {
        // Runs before the fields drop: the live count is down before the lock is free.
        self.store.inner.live_writers.fetch_sub(1, Ordering::SeqCst);
        self.store.record(Event::WriterStopped {
            generation: self.generation,
        });
    }
}

/// A running store-actor generation; says `store gen N stopped` when dropped.
pub(crate) struct StoreTurn {
    store: Store,
    generation: u64,
}

impl StoreTurn {
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }
}

impl Drop for StoreTurn {
    fn drop(&mut self) {
        self.store.record(Event::StoreStopped {
            generation: self.generation,
        });
    }
}

/// A task handle that aborts its task when dropped.
///
/// Dropping a plain `JoinHandle` *detaches* the task: it keeps running with nobody to stop it.
/// The store actor holds its writer in one of these, so aborting the store actor also stops its
/// writer, and no orphaned writer can outlive a reset.
#[derive(Debug)]
pub struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    /// Wraps a handle.
    pub fn new(handle: JoinHandle<T>) -> Self {
        AbortOnDrop(handle)
    }

    /// Asks the task to stop (at its next `.await`).
    pub fn abort(&self) {
        self.0.abort();
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Why a system did not start.
#[derive(Debug)]
pub enum StartError {
    /// `data.json` could not be loaded (corrupt with [`OnCorrupt::Fail`], or unreadable).
    Load(LoadError),
    /// Another system holds the directory's lock file.
    InUse {
        /// The directory.
        dir: PathBuf,
    },
    /// The lock file could not be created or locked.
    Lock {
        /// The lock file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The store stopped before it had loaded anything.
    Stopped,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Load(e) => write!(f, "the store did not start: {e}"),
            StartError::InUse { dir } => write!(
                f,
                "{} is in use by another running store ({LOCK_FILE} is locked)",
                dir.display()
            ),
            StartError::Lock { path, source } => {
                write!(f, "could not lock {}: {source}", path.display())
            }
            StartError::Stopped => f.write_str("the store stopped before it had loaded its file"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Load(e) => Some(e),
            StartError::Lock { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<LoadError> for StartError {
    fn from(e: LoadError) -> Self {
        StartError::Load(e)
    }
}

/// Takes the directory's lock file (`data.json.lock`), so that only one system at a time (in
/// this process or another) writes there. The lock lasts as long as the returned `File`; the
/// operating system also releases it when the process dies, so a killed process leaves no stale
/// lock behind.
pub fn lock_dir(dir: &Path) -> Result<File, StartError> {
    // Book: argues that a second writer would fail because the first one holds the file open;
    // Linux and Windows both let a file be opened twice, so ours takes an explicit lock.
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| StartError::Lock {
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StartError::InUse {
            dir: dir.to_path_buf(),
        }),
        Err(TryLockError::Error(source)) => Err(StartError::Lock { path, source }),
    }
}

/// Something that happened in a system, for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A store actor generation started.
    StoreStarted {
        /// Its generation.
        generation: u64,
    },
    /// A store actor generation ended (returned, or was aborted).
    StoreStopped {
        /// Its generation.
        generation: u64,
    },
    /// A writer generation loaded the file and is ready.
    WriterStarted {
        /// Its generation.
        generation: u64,
        /// How many keys it loaded.
        keys: usize,
        /// What loading did, in words.
        loaded: String,
    },
    /// A writer generation ended (returned, or was aborted).
    WriterStopped {
        /// Its generation.
        generation: u64,
    },
    /// A writer could not load the file and stopped.
    WriterFailed {
        /// Its generation.
        generation: u64,
        /// Why.
        error: String,
    },
    /// A `data.json.tmp` left by an interrupted write was deleted at start.
    StrayTempRemoved,
    /// A write could not be made durable; it was not applied and its caller got an error.
    PersistFailed {
        /// The write's number.
        write: usize,
        /// Why.
        error: String,
    },
    /// The outcome of a write is unknown (the directory sync failed): the writer stopped without
    /// acknowledging it.
    WriterGaveUp {
        /// The write's number.
        write: usize,
        /// Why.
        error: String,
    },
    /// The crash plan stopped a writer.
    Crashed {
        /// The write's number.
        write: usize,
        /// After which step.
        step: PersistStep,
    },
    /// An injected hang began.
    Hung {
        /// Which actor.
        actor: ActorType,
        /// Its generation.
        generation: u64,
    },
    /// An injected death: the store actor returned.
    Died {
        /// Its generation.
        generation: u64,
    },
    /// An actor sent a heartbeat.
    Beat {
        /// Which actor.
        actor: ActorType,
        /// Its generation.
        generation: u64,
    },
    /// The supervisor found an actor silent past the cutoff.
    Overdue {
        /// Which actor.
        actor: ActorType,
        /// How long it had been silent.
        silent: Duration,
    },
    /// The router began a reset.
    Reset {
        /// What was asked to reset.
        actor: ActorType,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::StoreStarted { generation } => write!(f, "store gen {generation} started"),
            Event::StoreStopped { generation } => write!(f, "store gen {generation} stopped"),
            Event::WriterStarted {
                generation, loaded, ..
            } => write!(f, "writer gen {generation} started, {loaded}"),
            Event::WriterStopped { generation } => write!(f, "writer gen {generation} stopped"),
            Event::WriterFailed { generation, error } => {
                write!(f, "writer gen {generation} could not start: {error}")
            }
            Event::StrayTempRemoved => {
                f.write_str("removed a stray data.json.tmp (an interrupted, unacknowledged write)")
            }
            Event::PersistFailed { write, error } => {
                write!(f, "write {write} failed, not applied: {error}")
            }
            Event::WriterGaveUp { write, error } => {
                write!(
                    f,
                    "write {write}: outcome unknown ({error}); the writer stops"
                )
            }
            Event::Crashed { write, step } => {
                write!(
                    f,
                    "simulated crash: writer stopped after `{step}` of write {write}"
                )
            }
            Event::Hung { actor, generation } => {
                write!(f, "{actor} gen {generation} hangs (injected fault)")
            }
            Event::Died { generation } => {
                write!(f, "store gen {generation} died (injected fault)")
            }
            Event::Beat { actor, generation } => write!(f, "beat from {actor} gen {generation}"),
            Event::Overdue { actor, silent } => write!(
                f,
                "{actor} overdue ({} ms silent) → reset KeyValue",
                silent.as_millis()
            ),
            Event::Reset { actor } => write!(f, "router: reset {actor:?}"),
        }
    }
}

/// What happened in one system, and when (measured from the log's creation on tokio's clock).
#[derive(Clone)]
pub struct EventLog {
    inner: Arc<LogInner>,
}

struct LogInner {
    origin: Instant,
    echo: bool,
    entries: Mutex<Vec<(Duration, Event)>>,
}

impl fmt::Debug for EventLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLog")
            .field("entries", &lock(&self.inner.entries).len())
            .finish()
    }
}

impl EventLog {
    /// An empty log starting now; with `echo`, every event but heartbeats is printed as it
    /// happens.
    pub fn new(echo: bool) -> Self {
        EventLog {
            inner: Arc::new(LogInner {
                origin: Instant::now(),
                echo,
                entries: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Time since the log started.
    pub fn elapsed(&self) -> Duration {
        self.inner.origin.elapsed()
    }

    /// Records an event now.
    pub fn record(&self, event: Event) {
        let at = self.elapsed();
        if self.inner.echo && !matches!(event, Event::Beat { .. }) {
            println!("{:>7} ms  {event}", at.as_millis());
        }
        lock(&self.inner.entries).push((at, event));
    }

    /// Every event so far, in order, with its time.
    pub fn entries(&self) -> Vec<(Duration, Event)> {
        lock(&self.inner.entries).clone()
    }

    /// The times of the events that match.
    pub fn times(&self, wanted: impl Fn(&Event) -> bool) -> Vec<Duration> {
        lock(&self.inner.entries)
            .iter()
            .filter(|(_, e)| wanted(e))
            .map(|(t, _)| *t)
            .collect()
    }
}

/// A `1 key` / `3 keys` summary of a load, for the writer's start line.
pub(crate) fn loaded_words(keys: usize, missing: bool) -> String {
    if missing {
        "no data.json yet: starting empty".to_string()
    } else {
        format!("loaded {}", key_count(keys))
    }
}

/// Locks a std mutex; a panic while it was held cannot leave our data half-updated (every
/// critical section is a single push or take), so poisoning is ignored.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_can_be_locked_by_one_system_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock_dir(dir.path()).unwrap();
        let second = lock_dir(dir.path()).unwrap_err();
        assert!(matches!(second, StartError::InUse { .. }), "{second:?}");
        assert!(second.to_string().contains("in use"), "{second}");
        drop(first);
        lock_dir(dir.path()).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn writer_turns_never_overlap_and_count_generations() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _start) = Store::new(StoreConfig::new(dir.path()), None);
        let first = store.writer_turn().await;
        assert_eq!(first.generation(), 1);
        let waiting = tokio::spawn({
            let store = store.clone();
            async move { store.writer_turn().await.generation() }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(
            !waiting.is_finished(),
            "the second writer waits for the first"
        );
        assert_eq!(store.live_writers(), 1);
        drop(first);
        assert_eq!(waiting.await.unwrap(), 2);
        assert_eq!(store.max_live_writers(), 1);
        assert_eq!(store.live_writers(), 0);
        let stopped = store
            .events()
            .times(|e| matches!(e, Event::WriterStopped { .. }));
        assert_eq!(stopped.len(), 2);
    }

    #[tokio::test]
    async fn abort_on_drop_stops_the_task() {
        let (tx, rx) = oneshot::channel::<()>();
        let guard = AbortOnDrop::new(tokio::spawn(async move {
            let _keep = tx;
            std::future::pending::<()>().await;
        }));
        drop(guard);
        // The task's future, and with it the sender, is dropped once the abort is processed.
        assert!(rx.await.is_err());
    }
}
