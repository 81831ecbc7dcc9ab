//! `event-bus-tasks`: consumers and a garbage collector as async tasks around one bus (book
//! section "Interacting with Our Event Bus via Async Tasks").
//!
//! Two consumer tasks subscribe, print every event they receive and stop after `3.0` (dropping
//! their handle, which tombstones their id). A third task, the garbage collector, wakes once per
//! period and removes the tombstoned queues in one batch. Everything is wired with `Arc` clones of
//! one `EventBus<f32>`; the collector holds only a `Weak` one, so it ends once the bus is gone.
//!
//! Run it with `cargo run -p ch06 -- event-bus-tasks [--period-ms 100] [--gap-ms 20]`: the book's
//! six `id: x value: y` lines, the chamber `{0: [], 1: []}` right after both consumers end, `{}`
//! once the collector has passed, and a timeline chart of who reacted to each send, on which
//! worker. The book's collector period of 1 s is scaled to 100 ms.
//!
//! How we differ from the book:
//!
//! - the book's consumer loops on `handle.poll()` and does nothing on `None`: a busy loop that
//!   keeps a worker at 100 % while the queue is empty (the book itself suggests a sleep there).
//!   Ours awaits [`EventHandle::recv`], which sleeps until a `send` wakes it;
//! - the book waits 1 s with `std::thread::sleep` so that the consumers have *probably*
//!   subscribed: a race, and a blocked runtime thread (on a current-thread runtime nothing else
//!   could run at all). Ours has each consumer report its id on a oneshot channel once subscribed,
//!   and main sends only after both reports;
//! - the book's collector locks `dead_ids` twice (clone, then clear), so an unsubscribe landing
//!   in between is wiped unread and its queue is never removed; ours takes the ids in one step
//!   ([`EventBus::collect_garbage`]);
//! - the book's collector loops forever; ours holds a `Weak` pointer and ends when the last `Arc`
//!   to the bus is dropped;
//! - the book prints the chamber with `{:?}` on a `HashMap`, whose order changes from run to run
//!   (its `{1: [], 0: []}`); ours prints it sorted by id;
//! - the book's printout alternates `id: 0`, `id: 1` strictly: that is one possible interleaving of
//!   two tasks on different workers, not a guaranteed one. Each consumer's own lines are in order.
//!
//! [`EventHandle::recv`]: crate::event_bus_handle::EventHandle::recv

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Weak};
use std::time::Duration;

use common::Timeline;
use common::demo::{Args, DemoResult};
use tokio::sync::oneshot;
use tokio::task::JoinError;

use crate::event_bus_struct::EventBus;

/// The book's consumer: subscribes, prints each event, stops after `3.0`.
///
/// Ours also reports its id on `subscribed` as soon as it has subscribed, marks each reaction
/// on `timeline` (row `consumer N`), and returns what it received.
pub async fn consume_event_bus(
    event_bus: Arc<EventBus<f32>>,
    subscribed: oneshot::Sender<u32>,
    timeline: Timeline,
) -> Consumed {
    let handle = event_bus.subscribe().await;
    // The receiver only goes away if main gave up on us; the loop below still ends at 3.0.
    let _ = subscribed.send(handle.id);
    let mut values = Vec::new();
    loop {
        // Book: `handle.poll().await` in a loop, doing nothing on `None`: a busy loop while the
        // queue is empty. `recv` sleeps until a `send` wakes it.
        let event = handle.recv().await;
        match event {
            Some(event) => {
                let _reaction = timeline.span(format!("consumer {}", handle.id));
                println!("id: {} value: {}", handle.id, event);
                values.push(event);
                if event == 3.0 {
                    break;
                }
            }
            // Only if someone unsubscribed our id behind our back and it was collected.
            None => break,
        }
    }
    Consumed {
        id: handle.id,
        values,
        bus_polls: handle.bus_polls(),
    }
}

/// What one consumer task returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Consumed {
    /// Its subscriber id.
    pub id: u32,
    /// The events it received, in order.
    pub values: Vec<f32>,
    /// How many times it looked into its queue.
    pub bus_polls: usize,
}

/// The book's garbage collector: once per `period`, removes the queues of unsubscribed ids.
///
/// Ours waits first and collects second, holds only a `Weak` pointer so that it does not keep the
/// bus alive, and returns (with the number of passes it made) once the bus is gone.
pub async fn garbage_collector(
    event_bus: Weak<EventBus<f32>>,
    period: Duration,
    timeline: Timeline,
) -> usize {
    let mut passes = 0;
    loop {
        // Book: the collector collects first and then sleeps 1 s; ours sleeps first, so its first
        // pass comes one period after it starts, not at once.
        tokio::time::sleep(period).await;
        // Book: the collector loops forever; ours ends once the last `Arc` to the bus is gone.
        let Some(event_bus) = event_bus.upgrade() else {
            return passes;
        };
        let _pass = timeline.span("garbage collector");
        let mut removed = event_bus.collect_garbage().await;
        removed.sort_unstable(); // they come in the order the consumers happened to end
        passes += 1;
        if !removed.is_empty() {
            println!("garbage collector removed the queues of ids {removed:?}");
        }
    }
}

/// The timings of a run: the collector's period, and the pause between sends.
#[derive(Debug, Clone, Copy)]
pub struct TasksConfig {
    /// How often the collector passes (the book: 1 s).
    pub period: Duration,
    /// The pause between two sends (the book: none).
    pub gap: Duration,
}

/// What [`run_event_bus`] saw.
#[derive(Debug)]
pub struct TasksReport {
    /// What each consumer received, by id.
    pub consumed: Vec<Consumed>,
    /// The chamber right after both consumers ended.
    pub chamber_after_consumers: BTreeMap<u32, VecDeque<f32>>,
    /// The chamber 1.5 periods later.
    pub chamber_later: BTreeMap<u32, VecDeque<f32>>,
    /// How many passes the collector made before it ended.
    pub collector_passes: usize,
    /// When the collector ended, counted from when the last `Arc` to the bus was dropped.
    pub collector_ended_after: Duration,
    /// Sends, consumer reactions and collector passes.
    pub timeline: Timeline,
}

/// The book's `main`: the bus and its clones, the collector and two consumers, three events, and
/// the chamber printed before and after the collector's pass.
pub async fn run_event_bus(config: TasksConfig) -> Result<TasksReport, JoinError> {
    let timeline = crate::sim::tokio_timeline();
    let event_bus = Arc::new(EventBus::<f32>::new());
    let bus_one = event_bus.clone();
    let bus_two = event_bus.clone();
    // Book: `gb_bus_ref` is a full `Arc` clone, which keeps the bus alive for as long as the
    // endless collector runs; ours is a `Weak`.
    let gb_bus_ref = Arc::downgrade(&event_bus);

    let gb = tokio::task::spawn(garbage_collector(
        gb_bus_ref,
        config.period,
        timeline.clone(),
    ));
    let (one_subscribed, one_ready) = oneshot::channel();
    let (two_subscribed, two_ready) = oneshot::channel();
    let one = tokio::task::spawn(consume_event_bus(bus_one, one_subscribed, timeline.clone()));
    let two = tokio::task::spawn(consume_event_bus(bus_two, two_subscribed, timeline.clone()));

    // Book: `std::thread::sleep(1 s)` so that the consumers have probably subscribed by then; we
    // wait until each has said so. (A consumer that failed to subscribe has panicked: its join
    // below reports it.)
    let _ = one_ready.await;
    let _ = two_ready.await;
    for (i, event) in [1.0, 2.0, 3.0].into_iter().enumerate() {
        // Book: the three sends go back to back; the demo pauses `--gap-ms` (20 ms) between
        // them so its chart shows each reaction apart (`--gap-ms 0` is the book's pace).
        if i > 0 && !config.gap.is_zero() {
            tokio::time::sleep(config.gap).await;
        }
        let _send = timeline.span("main: send");
        event_bus.send(event).await;
    }

    let mut consumed = vec![one.await?, two.await?];
    consumed.sort_by_key(|c| c.id);
    let chamber_after_consumers = event_bus.chamber_snapshot().await;
    println!(
        "{chamber_after_consumers:?}   <- right after both consumers ended: empty queues of tombstoned ids"
    );
    // Book: `std::thread::sleep(3 s)`, i.e. three collector periods, blocking a runtime thread;
    // an async sleep of 1.5 periods is enough for one pass.
    tokio::time::sleep(config.period * 3 / 2).await;
    let chamber_later = event_bus.chamber_snapshot().await;
    println!("{chamber_later:?}   <- 1.5 collector periods later");

    drop(event_bus);
    let dropped_at = tokio::time::Instant::now();
    let collector_passes = gb.await?;
    Ok(TasksReport {
        consumed,
        chamber_after_consumers,
        chamber_later,
        collector_passes,
        collector_ended_after: dropped_at.elapsed(),
        timeline,
    })
}

/// Runs the demo on a 2-worker runtime.
pub fn run(mut args: Args) -> DemoResult {
    // Book: the collector's period is 1 s; the demo scales it to 100 ms.
    let period = Duration::from_millis(args.value_in("period-ms", 100, 1..=5_000)?);
    let gap = Duration::from_millis(args.value_in("gap-ms", 20, 0..=1_000)?);
    args.finish()?;
    if gap * 2 >= period {
        println!(
            "(with --gap-ms {} the collector may pass before the first chamber print)",
            gap.as_millis()
        );
    }
    let runtime = crate::sim::runtime(2)?;
    let report = runtime.block_on(run_event_bus(TasksConfig { period, gap }))?;
    for consumed in &report.consumed {
        println!(
            "consumer {} received {:?}, looking into its queue {} times",
            consumed.id, consumed.values, consumed.bus_polls
        );
    }
    let passes = report.collector_passes;
    println!(
        "the collector made {passes} pass{} and ended {} ms after the last Arc to the bus was dropped",
        if passes == 1 { "" } else { "es" },
        report.collector_ended_after.as_millis()
    );
    println!("\nwho reacted when (each mark is one send, one reaction, or one collector pass):");
    print!("{}", report.timeline.render());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOK: TasksConfig = TasksConfig {
        period: Duration::from_secs(1),
        gap: Duration::ZERO,
    };

    #[tokio::test(start_paused = true)]
    async fn both_consumers_get_every_event_then_the_collector_empties_the_chamber() {
        let report = tokio::time::timeout(Duration::from_secs(60), run_event_bus(BOOK))
            .await
            .expect("the run hung")
            .unwrap();
        let ids: Vec<u32> = report.consumed.iter().map(|c| c.id).collect();
        assert_eq!(ids, [0, 1]);
        for consumed in &report.consumed {
            assert_eq!(consumed.values, [1.0, 2.0, 3.0]);
            // One look per event at most, plus one empty look before each wake-up: no spinning.
            assert!(consumed.bus_polls <= 6, "{consumed:?}");
        }
        // Right after the consumers ended: both queues still there (tombstoned), empty.
        let after: Vec<(u32, usize)> = report
            .chamber_after_consumers
            .iter()
            .map(|(id, q)| (*id, q.len()))
            .collect();
        assert_eq!(after, [(0, 0), (1, 0)]);
        // One period later the collector has removed them.
        assert!(report.chamber_later.is_empty());
        // It ends within one period of the bus going away.
        assert!(report.collector_ended_after <= BOOK.period);
        assert!(report.collector_passes >= 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_timeline_shows_each_consumer_reacting_after_each_send() {
        let config = TasksConfig {
            period: Duration::from_secs(1),
            gap: Duration::from_millis(100),
        };
        let report = run_event_bus(config).await.unwrap();
        let spans = report.timeline.spans();
        let at = |label: &str| -> Vec<Duration> {
            spans
                .iter()
                .filter(|s| s.label == label)
                .map(|s| s.start)
                .collect()
        };
        let sends = at("main: send");
        let ms = Duration::from_millis;
        assert_eq!(sends, [ms(0), ms(100), ms(200)]);
        // On the paused clock a reaction happens at the very instant of its send.
        assert_eq!(at("consumer 0"), sends);
        assert_eq!(at("consumer 1"), sends);
        // The collector passed once per second until the bus went away.
        assert_eq!(at("garbage collector")[0], Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn the_collector_ends_within_one_period_of_the_last_arc() {
        let bus = Arc::new(EventBus::<f32>::new());
        let period = Duration::from_secs(1);
        let collector = tokio::spawn(garbage_collector(
            Arc::downgrade(&bus),
            period,
            Timeline::new(),
        ));
        tokio::time::sleep(period * 5 / 2).await; // two passes
        drop(bus);
        let passes = tokio::time::timeout(period, collector).await;
        assert_eq!(passes.expect("still running a period later").unwrap(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unsubscribe_during_a_pass_is_collected_on_the_next() {
        let bus = Arc::new(EventBus::<f32>::new());
        let first = bus.subscribe().await;
        let second = bus.subscribe().await;
        let collector = tokio::spawn(garbage_collector(
            Arc::downgrade(&bus),
            Duration::from_secs(1),
            Timeline::new(),
        ));
        drop(first);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        drop(second);
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(bus.chamber_snapshot().await.is_empty());
        assert!(bus.dead_ids_snapshot().is_empty());
        drop(bus);
        collector.await.unwrap();
    }
}
