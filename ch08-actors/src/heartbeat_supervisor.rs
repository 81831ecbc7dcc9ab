//! `heartbeat-supervisor` (book section "Creating Actor Supervision"): actors report in on a clock,
//! and a supervisor restarts whoever falls silent.
//!
//! A supervisor cannot ask a hung actor whether it is alive: the question would sit unanswered in
//! its channel. So the actors speak first. Each one sends `Heartbeat(ActorType)` to the router on
//! a fixed interval; the router passes it to the [`heartbeat_actor`], which remembers when it last
//! heard from each actor and, checking on its own clock, asks the router to `Reset` the store when
//! one has been silent longer than the cutoff. The store actor then comes back with a new writer,
//! which reloads the file, so nothing acknowledged is lost.
//!
//! Run it with `cargo run -p ch08 -- heartbeat-supervisor` (about 1.5 s, the book's timings: a beat
//! every 200 ms, a 500 ms cutoff). A couple of writes go through, then the writer is made to hang
//! on the next one (an injected fault); the log shows the supervisor noticing, the reset, the
//! new generation loading the keys, and the stuck request answered `NoReply`. A chart at the end
//! has one bar per actor generation.
//!
//! Where we differ from the book, each also a `// Book:` note below:
//! - actors beat on their own `interval`, busy or idle; the book beats only when `recv` times out,
//!   so an actor that gets a message at least every 200 ms never beats and is reset while healthy;
//! - the supervisor checks on its own interval too; the book checks only after a beat arrives,
//!   so when every actor is dead nothing is ever reset;
//! - every entry starts at spawn time and restarts at each reset, so a replacement that never
//!   beats is caught as well (the book removes both entries until they beat again);
//! - beats travel with `try_send`: a lost beat is harmless, a blocked actor is not. The book's
//!   awaited sends form cycles (router → supervisor → router, store → router → store) that can
//!   deadlock once the channels fill;
//! - no global: the router's sender reaches the actors as a weak sender inside their
//!   [`Store`] context.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::path::Path;
use std::time::Duration;

use common::Timeline;
use common::demo::{Args, DemoResult};
use tokio::sync::mpsc::{Receiver, WeakSender, channel};
use tokio::task::{JoinError, JoinHandle};
use tokio::time::{self, Instant, Interval, MissedTickBehavior};

use crate::actor_reset::KeyValueSlot;
use crate::key_value_actor::{ActorError, CHANNEL_CAPACITY, KeyValueMessage};
use crate::router_pattern::ActorHandle;
use crate::store::{AbortOnDrop, Event, EventLog, Fault, StartError, Store, StoreConfig, lock_dir};

/// What the router of the supervised system accepts: the book's three variants.
#[derive(Debug)]
pub enum RoutingMessage {
    /// Forwarded to the key-value store actor.
    KeyValue(KeyValueMessage),
    /// "I am alive", from an actor; forwarded to the heartbeat actor.
    Heartbeat(ActorType),
    /// Restart the store actor (and with it its writer).
    Reset(ActorType),
}

/// The actors the supervisor watches.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ActorType {
    /// The key-value store actor.
    KeyValue,
    /// The writer actor, which the store actor starts.
    Writer,
}

/// The supervisor: remembers each actor's last beat and asks the router for a reset when one is
/// silent past `timing.cutoff`. Ends when the router drops its sender.
pub async fn heartbeat_actor(
    mut receiver: Receiver<ActorType>,
    router: WeakSender<RoutingMessage>,
    timing: Timing,
    events: EventLog,
) {
    // Book: entries appear only with a first beat, so an actor that never beats is never checked.
    // Ours start at spawn time.
    let now = Instant::now();
    let mut map = HashMap::from([(ActorType::KeyValue, now), (ActorType::Writer, now)]);
    // Book: checks only after `recv` returned a beat (`Err(_) => continue` skips the check on a
    // timeout), so when every actor is dead no check ever runs. Ours checks on its own clock.
    let mut check = time::interval(timing.check);
    check.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            beat = receiver.recv() => match beat {
                Some(actor_name) => {
                    map.insert(actor_name, Instant::now());
                }
                None => break,
            },
            _ = check.tick() => {
                let overdue = map
                    .iter()
                    .map(|(&actor, &seen)| (actor, seen.elapsed()))
                    .filter(|&(_, silent)| silent > timing.cutoff)
                    .max_by_key(|&(_, silent)| silent);
                if let Some((actor, silent)) = overdue {
                    events.record(Event::Overdue { actor, silent });
                    // Either actor means a reset of the store actor: it starts a new writer.
                    let Some(router) = router.upgrade() else { break };
                    if router.send(RoutingMessage::Reset(ActorType::KeyValue)).await.is_err() {
                        break;
                    }
                    // Book: removes both entries until they beat again. Ours gives the new
                    // generation one cutoff of grace and then checks it like any other.
                    let now = Instant::now();
                    for seen in map.values_mut() {
                        *seen = now;
                    }
                }
            }
        }
    }
}

/// The supervised router: starts the store actor and (when supervised) the heartbeat actor,
/// forwards key-value requests and beats, and carries out resets. Ends when every caller's handle
/// is gone, after the actors behind it have finished.
pub async fn router(mut receiver: Receiver<RoutingMessage>, store: Store) {
    let mut key_value = KeyValueSlot::spawn(store.clone());
    let heartbeat = match (store.config().supervision, store.router()) {
        (Some(timing), Some(router_sender)) => {
            let (heartbeat_sender, heartbeat_receiver) = channel(CHANNEL_CAPACITY);
            let task = tokio::spawn(heartbeat_actor(
                heartbeat_receiver,
                router_sender,
                timing,
                store.events().clone(),
            ));
            Some((heartbeat_sender, AbortOnDrop::new(task)))
        }
        _ => None,
    };

    while let Some(message) = receiver.recv().await {
        match message {
            RoutingMessage::KeyValue(message) => key_value.forward(message),
            RoutingMessage::Heartbeat(actor) => {
                if let Some((heartbeat_sender, _)) = &heartbeat {
                    // Book: `send(..).await`: while the supervisor's channel is full the router
                    // stops, and the supervisor, waiting to send it a reset, stops too.
                    let _ = heartbeat_sender.try_send(actor);
                }
            }
            RoutingMessage::Reset(actor) => {
                store.record(Event::Reset { actor });
                key_value.reset(actor).await;
            }
        }
    }
    if let Some((heartbeat_sender, task)) = heartbeat {
        drop(heartbeat_sender);
        let _ = task.await;
    }
    key_value.shutdown().await;
}

/// How often actors beat, how long a silence is tolerated, and how often the supervisor checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// Each actor sends a heartbeat this often.
    pub beat: Duration,
    /// An actor silent for longer than this is overdue.
    pub cutoff: Duration,
    /// The supervisor looks at its table this often.
    pub check: Duration,
}

impl Timing {
    /// The book's values: a beat every 200 ms, a 500 ms cutoff, a check every 200 ms. A silent
    /// actor is therefore reset between 500 and 700 ms after its last beat.
    pub const BOOK: Timing = Timing {
        beat: Duration::from_millis(200),
        cutoff: Duration::from_millis(500),
        check: Duration::from_millis(200),
    };
}

impl fmt::Display for ActorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ActorType::KeyValue => "store",
            ActorType::Writer => "writer",
        })
    }
}

/// The beating heart of one actor generation: a ticker, and the router to report to.
///
/// An actor selects on [`Pulse::tick`] beside its channel and calls [`Pulse::beat`] when it
/// fires, so it beats on time whether it is idle or busy. While it waits for something else (the
/// store actor for its writer's acknowledgement) it wraps the wait in [`Pulse::keep_beating`].
/// Without supervision the ticker never fires.
pub struct Pulse {
    actor: ActorType,
    generation: u64,
    ticker: Option<Interval>,
    router: Option<WeakSender<RoutingMessage>>,
    events: EventLog,
}

impl Pulse {
    /// A pulse beating every `every` (never, for `None`). Call inside the runtime.
    pub fn new(
        actor: ActorType,
        generation: u64,
        every: Option<Duration>,
        router: Option<WeakSender<RoutingMessage>>,
        events: EventLog,
    ) -> Self {
        // Book: each actor beats only when `timeout(200 ms, recv())` expires, so a busy actor is
        // silent. Ours beats on its own interval, busy or idle.
        let ticker = every.map(|every| {
            let mut ticker = time::interval(every);
            ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
            ticker
        });
        Pulse {
            actor,
            generation,
            ticker,
            router,
            events,
        }
    }

    /// Completes when the next beat is due (never, without supervision). Cancel-safe.
    pub async fn tick(&mut self) {
        match &mut self.ticker {
            Some(ticker) => {
                ticker.tick().await;
            }
            None => std::future::pending().await,
        }
    }

    /// Sends one heartbeat to the router, without waiting: when the router's channel is full the
    /// beat is dropped, which the next one makes up for.
    pub fn beat(&self) {
        let Some(router) = self.router.as_ref().and_then(WeakSender::upgrade) else {
            return;
        };
        // Book: `router_sender.send(..).await.unwrap()`: a full router channel blocks the actor,
        // and a closed one panics it.
        if router
            .try_send(RoutingMessage::Heartbeat(self.actor))
            .is_ok()
        {
            self.events.record(Event::Beat {
                actor: self.actor,
                generation: self.generation,
            });
        }
    }

    /// Awaits `future`, beating meanwhile.
    pub async fn keep_beating<F: Future>(&mut self, future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        loop {
            tokio::select! {
                output = &mut future => return output,
                _ = self.tick() => self.beat(),
            }
        }
    }
}

/// A handle on the supervised router: `set`, `get` and `delete` come from
/// [`ActorHandle`], since [`RoutingMessage`] can wrap a [`KeyValueMessage`].
pub type RouterHandle = ActorHandle<RoutingMessage>;

impl From<KeyValueMessage> for RoutingMessage {
    fn from(message: KeyValueMessage) -> Self {
        RoutingMessage::KeyValue(message)
    }
}

impl RouterHandle {
    /// Asks the router to reset an actor (the book's manual `Reset`). Returns once the request is
    /// queued; requests sent after it are served by the new actor.
    pub async fn reset(&self, actor: ActorType) -> Result<(), ActorError> {
        self.sender().send(RoutingMessage::Reset(actor)).await?;
        Ok(())
    }
}

/// A running persistent system: its router handle, its shared store context, and the router's
/// task, which finishes once every handle is dropped and every actor has stopped.
#[derive(Debug)]
pub struct System {
    /// The front door. Clone it for every caller.
    pub router: RouterHandle,
    /// The shared context: counters and events, for demos and tests.
    pub store: Store,
    /// The router's task.
    pub task: JoinHandle<()>,
    /// How many keys the first writer loaded.
    pub loaded: usize,
}

impl System {
    /// Drops the handle and waits until the router and every actor behind it have stopped (the
    /// last acknowledged write is on disk by then anyway).
    pub async fn shutdown(self) -> Result<(), JoinError> {
        let System {
            router,
            store,
            task,
            ..
        } = self;
        drop(router);
        drop(store);
        task.await
    }
}

/// Starts a persistent system on `config.dir` and waits until its writer has loaded the file.
///
/// Fails when another system holds the directory, or when `data.json` cannot be loaded (a corrupt
/// file with [`OnCorrupt::Fail`](crate::load_state_file::OnCorrupt::Fail)): then nothing keeps
/// running.
// Book: `ROUTER_SENDER.set(sender)` and `tokio::spawn(router(receiver))` in `main`; ours hands
// back the router's sender in a cloneable handle, and waits for the load, so a damaged file stops
// the start instead of being replaced by an empty map.
pub async fn spawn_router(config: StoreConfig) -> Result<System, StartError> {
    let dir_lock = lock_dir(&config.dir)?;
    let (sender, receiver) = channel(CHANNEL_CAPACITY);
    let (store, start_report) = Store::new(config, Some(sender.downgrade()));
    let task = tokio::spawn({
        let store = store.clone();
        async move {
            router(receiver, store).await;
            // The directory is free again only once every actor of this system has stopped.
            drop(dir_lock);
        }
    });
    let router = RouterHandle::new(sender);
    match start_report.await.unwrap_or(Err(StartError::Stopped)) {
        Ok(loaded) => Ok(System {
            router,
            store,
            task,
            loaded,
        }),
        Err(e) => {
            drop(router);
            drop(store);
            let _ = task.await;
            Err(e)
        }
    }
}

/// Runs the demo: `[--dir DIR]` (default: a fresh temporary directory).
pub fn run(args: Args) -> DemoResult {
    crate::persist::with_data_dir(args, demo)
}

#[tokio::main]
async fn demo(dir: &Path) -> DemoResult {
    println!("data directory: {}", dir.display());
    println!(
        "beat every {} ms, cutoff {} ms; the writer will hang on its 3rd write\n",
        Timing::BOOK.beat.as_millis(),
        Timing::BOOK.cutoff.as_millis()
    );
    let config = StoreConfig::new(dir)
        .supervised(Timing::BOOK)
        .with_fault(Fault::Hang {
            actor: ActorType::Writer,
            at: 3,
        })
        .echo();
    let system = spawn_router(config).await?;
    let router = system.router.clone();

    router.set("hello", b"world").await?;
    router.set("test", b"world").await?;
    println!("            set hello, set test: ok");
    time::sleep(Duration::from_millis(300)).await;

    println!("            set answer = 42 …");
    let outcome = router.set("answer", b"42").await;
    println!("            set answer → {outcome:?} (the stuck request was dropped by the reset)");
    router.set("answer", b"42").await?;
    println!("            set answer again → Ok");
    for key in ["hello", "test", "answer"] {
        let value = router.get(key).await?;
        let shown = value.map(|v| String::from_utf8_lossy(&v).into_owned());
        println!("            get {key} → {shown:?}");
    }
    time::sleep(Duration::from_millis(250)).await;

    let store = system.store.clone();
    drop(router);
    system.shutdown().await?;

    println!("\nheartbeats sent per actor generation:");
    for (label, count) in beat_counts(store.events()) {
        println!("  {label}: {count}");
    }
    let resets = store.events().times(|e| matches!(e, Event::Overdue { .. }));
    println!("resets ordered by the supervisor: {}\n", resets.len());
    print!("{}", generation_chart(store.events()).render());
    Ok(())
}

/// How many beats each actor generation sent, in order of first beat.
pub fn beat_counts(events: &EventLog) -> Vec<(String, usize)> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for (_, event) in events.entries() {
        if let Event::Beat { actor, generation } = event {
            let label = format!("{actor} gen {generation}");
            match counts.iter_mut().find(|(l, _)| *l == label) {
                Some((_, n)) => *n += 1,
                None => counts.push((label, 1)),
            }
        }
    }
    counts
}

/// One bar per actor generation, from its start to its stop; a stretch after an injected hang is
/// drawn with its own mark (`hung`).
pub fn generation_chart(events: &EventLog) -> Timeline {
    let entries = events.entries();
    let end = entries.last().map(|(t, _)| *t).unwrap_or_default();
    // (row, mark, start, stop), in the order the bars began.
    type Bar = (String, &'static str, Duration, Option<Duration>);
    let mut bars: Vec<Bar> = Vec::new();
    let close = |bars: &mut Vec<Bar>, row: &str, at: Duration| {
        for bar in bars.iter_mut().filter(|b| b.0 == row && b.3.is_none()) {
            bar.3 = Some(at);
        }
    };
    for (at, event) in entries {
        match event {
            Event::StoreStarted { generation } => {
                bars.push((format!("store gen {generation}"), "running", at, None))
            }
            Event::WriterStarted { generation, .. } => {
                bars.push((format!("writer gen {generation}"), "running", at, None))
            }
            Event::Hung { actor, generation } => {
                let row = format!("{actor} gen {generation}");
                close(&mut bars, &row, at);
                bars.push((row, "hung", at, None));
            }
            Event::StoreStopped { generation } => {
                close(&mut bars, &format!("store gen {generation}"), at)
            }
            Event::WriterStopped { generation } => {
                close(&mut bars, &format!("writer gen {generation}"), at)
            }
            _ => {}
        }
    }
    let timeline = Timeline::new();
    for (row, mark, start, stop) in bars {
        timeline.record(row, mark, start, stop.unwrap_or(end));
    }
    timeline
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Duration = Duration::from_secs(60);

    fn last_beat_before(
        events: &EventLog,
        actor: ActorType,
        generation: u64,
        at: Duration,
    ) -> Duration {
        events
            .times(|e| *e == Event::Beat { actor, generation })
            .into_iter()
            .filter(|t| *t <= at)
            .max()
            .expect("the actor beat at least once")
    }

    fn overdue(events: &EventLog) -> Vec<(Duration, ActorType)> {
        events
            .entries()
            .into_iter()
            .filter_map(|(t, e)| match e {
                Event::Overdue { actor, .. } => Some((t, actor)),
                _ => None,
            })
            .collect()
    }

    async fn supervised(dir: &Path, fault: Option<Fault>) -> System {
        let mut config = StoreConfig::new(dir).supervised(Timing::BOOK);
        if let Some(fault) = fault {
            config = config.with_fault(fault);
        }
        spawn_router(config).await.unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_writer_is_reset_once_between_500_and_700_ms_after_its_last_beat() {
        let dir = tempfile::tempdir().unwrap();
        time::timeout(LIMIT, async {
            let fault = Fault::Hang {
                actor: ActorType::Writer,
                at: 3,
            };
            let system = supervised(dir.path(), Some(fault)).await;
            let router = system.router.clone();
            router.set("a", b"1").await.unwrap();
            router.set("b", b"2").await.unwrap();
            time::sleep(Duration::from_millis(330)).await;
            // The third write hangs in the writer; the reset drops it unanswered.
            assert_eq!(router.set("c", b"3").await, Err(ActorError::NoReply));
            time::sleep(Duration::from_secs(3)).await;

            let events = system.store.events().clone();
            let resets = overdue(&events);
            assert_eq!(resets.len(), 1, "{resets:?}");
            let (reset_at, actor) = resets[0];
            assert_eq!(
                actor,
                ActorType::Writer,
                "the store kept beating while it waited"
            );
            let silent = reset_at - last_beat_before(&events, ActorType::Writer, 1, reset_at);
            assert!(
                silent > Duration::from_millis(500) && silent <= Duration::from_millis(700),
                "{silent:?}"
            );

            // Acknowledged keys survived; the new generation works.
            assert_eq!(router.get("a").await.unwrap(), Some(b"1".to_vec()));
            assert_eq!(router.get("b").await.unwrap(), Some(b"2".to_vec()));
            assert_eq!(router.get("c").await.unwrap(), None);
            router.set("c", b"3").await.unwrap();
            assert_eq!(system.store.writer_generation(), 2);
            assert_eq!(system.store.max_live_writers(), 1);
            drop(router);
            system.shutdown().await.unwrap();
        })
        .await
        .expect("no hang");
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_store_actor_is_reset_once_between_500_and_700_ms_after_its_last_beat() {
        let dir = tempfile::tempdir().unwrap();
        time::timeout(LIMIT, async {
            let fault = Fault::Hang {
                actor: ActorType::KeyValue,
                at: 2,
            };
            let system = supervised(dir.path(), Some(fault)).await;
            let router = system.router.clone();
            router.set("a", b"1").await.unwrap();
            time::sleep(Duration::from_millis(450)).await;
            assert_eq!(router.get("a").await, Err(ActorError::NoReply));
            time::sleep(Duration::from_secs(3)).await;

            let events = system.store.events().clone();
            let resets = overdue(&events);
            assert_eq!(resets.len(), 1, "{resets:?}");
            let (reset_at, actor) = resets[0];
            assert_eq!(actor, ActorType::KeyValue, "the idle writer kept beating");
            let silent = reset_at - last_beat_before(&events, ActorType::KeyValue, 1, reset_at);
            assert!(
                silent > Duration::from_millis(500) && silent <= Duration::from_millis(700),
                "{silent:?}"
            );
            assert_eq!(router.get("a").await.unwrap(), Some(b"1".to_vec()));
            assert_eq!(system.store.store_generation(), 2);
            drop(router);
            system.shutdown().await.unwrap();
        })
        .await
        .expect("no hang");
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_store_actor_keeps_beating_and_is_never_reset() {
        let dir = tempfile::tempdir().unwrap();
        time::timeout(LIMIT, async {
            let system = supervised(dir.path(), None).await;
            let router = system.router.clone();
            router.set("k", b"v").await.unwrap();
            let writes = system.store.writes();
            // A get every 50 ms for 10 s: with the book's timeout-based beat, the store actor
            // would never beat and be reset every half second.
            for _ in 0..200 {
                assert_eq!(router.get("k").await.unwrap(), Some(b"v".to_vec()));
                time::sleep(Duration::from_millis(50)).await;
            }
            let events = system.store.events().clone();
            assert_eq!(overdue(&events), []);
            assert_eq!(system.store.store_generation(), 1);
            let beats = events.times(|e| {
                *e == Event::Beat {
                    actor: ActorType::KeyValue,
                    generation: 1,
                }
            });
            assert!(beats.len() >= 45, "{} beats in 10 s", beats.len());
            assert_eq!(system.store.writes(), writes, "gets never write");
            drop(router);
            system.shutdown().await.unwrap();
        })
        .await
        .expect("no hang");
    }

    #[tokio::test(start_paused = true)]
    async fn with_both_actors_dead_the_supervisor_still_resets() {
        let dir = tempfile::tempdir().unwrap();
        time::timeout(LIMIT, async {
            let system = supervised(dir.path(), Some(Fault::Die { at: 2 })).await;
            let router = system.router.clone();
            router.set("a", b"1").await.unwrap();
            // The store actor returns on this request; its writer goes with it.
            assert_eq!(router.get("a").await, Err(ActorError::NoReply));
            let died_at = system.store.events().elapsed();
            time::sleep(Duration::from_secs(3)).await;

            let resets = overdue(system.store.events());
            assert_eq!(resets.len(), 1, "{resets:?}");
            assert!(
                resets[0].0 - died_at <= Duration::from_millis(700),
                "{resets:?}"
            );
            assert_eq!(router.get("a").await.unwrap(), Some(b"1".to_vec()));
            assert_eq!(system.store.store_generation(), 2);
            assert_eq!(system.store.writer_generation(), 2);
            drop(router);
            system.shutdown().await.unwrap();
        })
        .await
        .expect("no hang");
    }

    #[tokio::test(start_paused = true)]
    async fn the_supervisor_resets_through_the_router_and_stops_with_it() {
        // The heartbeat actor alone, against a fake router: silence is noticed on its own clock,
        // and when the router is gone the supervisor ends.
        let (router_tx, mut router_rx) = channel(CHANNEL_CAPACITY);
        let (beat_tx, beat_rx) = channel(CHANNEL_CAPACITY);
        let events = EventLog::new(false);
        let supervisor = tokio::spawn(heartbeat_actor(
            beat_rx,
            router_tx.downgrade(),
            Timing::BOOK,
            events.clone(),
        ));
        // Only the store beats: the writer is silent from the start and must be caught.
        for _ in 0..4 {
            beat_tx.send(ActorType::KeyValue).await.unwrap();
            time::sleep(Duration::from_millis(200)).await;
        }
        let message = time::timeout(LIMIT, router_rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(
            message,
            RoutingMessage::Reset(ActorType::KeyValue)
        ));
        let resets = overdue(&events);
        assert_eq!(resets.len(), 1);
        assert_eq!(resets[0].1, ActorType::Writer);
        assert!(
            resets[0].0 > Duration::from_millis(500) && resets[0].0 <= Duration::from_millis(700)
        );
        drop(beat_tx);
        drop(router_tx);
        time::timeout(LIMIT, supervisor).await.unwrap().unwrap();
    }

    #[test]
    fn the_chart_has_a_row_per_generation_and_marks_the_hang() {
        let events = EventLog::new(false);
        events.record(Event::StoreStarted { generation: 1 });
        events.record(Event::WriterStarted {
            generation: 1,
            keys: 0,
            loaded: String::new(),
        });
        events.record(Event::Hung {
            actor: ActorType::Writer,
            generation: 1,
        });
        events.record(Event::StoreStopped { generation: 1 });
        events.record(Event::WriterStopped { generation: 1 });
        events.record(Event::StoreStarted { generation: 2 });
        let labels: Vec<String> = generation_chart(&events)
            .spans()
            .into_iter()
            .map(|s| s.label)
            .collect();
        assert_eq!(
            labels,
            ["store gen 1", "writer gen 1", "writer gen 1", "store gen 2"]
        );
        let threads: Vec<String> = generation_chart(&events)
            .spans()
            .into_iter()
            .map(|s| s.thread)
            .collect();
        assert_eq!(threads[2], "hung");
    }

    #[test]
    fn the_demo_runs() {
        run(Args::default()).unwrap();
    }
}
