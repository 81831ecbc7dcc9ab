//! `event-bus-struct`: an event bus with one queue per subscriber (book sections "Enabling
//! Broadcasting with an Event Bus" and "Building Our Event Bus Struct").
//!
//! The thermostat's subjects hold only a *current* value: an observer that looks late sees the
//! latest temperature and nothing of how it got there. An event bus keeps *history*: every
//! subscriber owns a queue, [`EventBus::send`] clones the event into each queue, and a consumer
//! that is slow still receives every event, in order. All methods take `&self`: the queues sit
//! behind a mutex, the id counter is an atomic, so one bus can be shared through an `Arc` by any
//! number of tasks (interior mutability).
//!
//! Unsubscribing is cheap on purpose: [`EventBus::unsubscribe`] only writes the id into
//! `dead_ids` (a *tombstone*), and a later garbage pass ([`EventBus::collect_garbage`]) removes
//! the tombstoned queues in one batch, the way databases delete records.
//!
//! Run it with `cargo run -p ch06 -- event-bus-struct`: two subscribers, three events, each queue
//! printed; then subscriber 0 unsubscribes, its queue is still in the chamber (tombstoned) until
//! one garbage pass removes it.
//!
//! How we differ from the book:
//!
//! - the book's `poll` unwraps the queue lookup, so any unknown id (it is a public method taking any
//!   `u32`) and any id already collected panics: ours answers `None`;
//! - ids come from a `u32` counter, and the book's `fetch_add` wraps after 2³² subscriptions, after
//!   which `insert` would silently replace a live subscriber's queue: ours refuses to wrap;
//! - a `tokio::sync::Notify` lets a consumer *await* the next event ([`EventHandle::recv`]) instead
//!   of looping on `poll`;
//! - the prose says subscribers may ask for only some kinds of messages; the bus it builds (and
//!   ours) has no filter: every subscriber gets every event;
//! - the book lists the `futures` crate as a dependency and never uses it: we do not depend on it.
//!
//! [`EventHandle::recv`]: crate::event_bus_handle::EventHandle::recv

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::marker::Send;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Mutex as AsyncMutex;
use tokio::sync::Notify;

use crate::event_bus_handle::EventHandle;
use common::demo::{Args, DemoResult};

/// The book's event bus: a queue of events per subscriber id, an id counter, and the tombstones.
pub struct EventBus<T: Clone + Send> {
    // Book: the chamber is behind tokio's async mutex, "so a waiting task does not block the
    // executor". tokio's own advice is a std mutex unless the guard is held across an `.await`,
    // which no method here does; we keep the book's choice, which is correct, only slower.
    chamber: AsyncMutex<HashMap<u32, VecDeque<T>>>,
    count: AtomicU32,
    dead_ids: Mutex<Vec<u32>>,
    /// Woken by every `send`, so consumers can wait for events instead of polling in a loop.
    pub(crate) notify: Notify,
}

impl<T: Clone + Send> EventBus<T> {
    /// An empty bus: no subscribers, ids start at 0.
    pub fn new() -> Self {
        Self {
            chamber: AsyncMutex::new(HashMap::new()),
            count: AtomicU32::new(0),
            dead_ids: Mutex::new(Vec::new()),
            notify: Notify::new(),
        }
    }

    /// Subscribes: takes the next id, gives it an empty queue, and returns the handle that reads
    /// it (and unsubscribes when dropped; see [`EventHandle`]).
    ///
    /// Panics after 2³² − 1 subscriptions to one bus, rather than reusing an id.
    // Book: `subscribe(&self)` wraps `&self` in `Arc::new(self)`, an `Arc` of a *borrow*; ours takes
    // `self: &Arc<Self>` and hands the handle a clone of the bus's own `Arc`.
    pub async fn subscribe(self: &Arc<Self>) -> EventHandle<T> {
        let mut chamber = self.chamber.lock().await;
        // Book: `count.fetch_add(1)` wraps from u32::MAX to 0, and the `insert` below would then
        // silently replace the queue of a live subscriber; we stop instead of wrapping.
        let id = self
            .count
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_add(1))
            .expect("this event bus has handed out all 2^32 - 1 subscriber ids");
        chamber.insert(id, VecDeque::new());
        EventHandle::new(id, Arc::clone(self))
    }

    /// Marks `id` as unsubscribed (a tombstone); its queue stays until [`EventBus::collect_garbage`].
    /// Marking an id twice records it once.
    // Book: pushes the id on every call, so an explicit unsubscribe followed by the handle's drop
    // tombstones it twice; ours records it once.
    pub fn unsubscribe(&self, id: u32) {
        let mut dead_ids = self.dead_ids();
        if !dead_ids.contains(&id) {
            dead_ids.push(id);
        }
    }

    /// Takes the oldest event waiting for subscriber `id`; `None` when its queue is empty, or when
    /// `id` is not subscribed (never was, or already collected).
    // Book: `chamber.get_mut(&id).unwrap()` panics for an unknown or collected id.
    pub async fn poll(&self, id: u32) -> Option<T> {
        self.pop(id).await.ok().flatten()
    }

    /// Clones `event` into every subscriber's queue, then wakes the consumers waiting for one.
    // Book: the prose says subscribers may ask for only some kinds of message; the bus it builds,
    // like ours, has no filter and sends every event to every subscriber.
    pub async fn send(&self, event: T) {
        let mut chamber = self.chamber.lock().await;
        for (_, value) in chamber.iter_mut() {
            value.push_back(event.clone());
        }
        drop(chamber);
        self.notify.notify_waiters();
    }

    /// One garbage pass: removes the queue of every tombstoned id and clears the tombstones. This
    /// is the body of the book's `garbage_collector` loop (`event-bus-tasks` runs it periodically).
    /// Returns the ids removed, in the order they unsubscribed.
    pub async fn collect_garbage(&self) -> Vec<u32> {
        let mut chamber = self.chamber.lock().await;
        // Book: the collector clones `dead_ids` under one lock and clears it under a second, so an
        // unsubscribe landing between the two is wiped unread and its queue is never removed; one
        // `mem::take` under one lock cannot lose it.
        let dead_ids = std::mem::take(&mut *self.dead_ids());
        for id in &dead_ids {
            chamber.remove(id);
        }
        dead_ids
    }

    /// A sorted copy of the chamber, for printing (`HashMap`'s order changes from run to run).
    // Book: prints the `HashMap` itself, whose order changes from run to run (`{1: [], 0: []}`).
    pub async fn chamber_snapshot(&self) -> BTreeMap<u32, VecDeque<T>> {
        let chamber = self.chamber.lock().await;
        chamber.iter().map(|(id, q)| (*id, q.clone())).collect()
    }

    /// The tombstoned ids not yet collected.
    pub fn dead_ids_snapshot(&self) -> Vec<u32> {
        self.dead_ids().clone()
    }

    /// Pops the front of `id`'s queue: `Err(Unsubscribed)` when there is no queue for `id`.
    pub(crate) async fn pop(&self, id: u32) -> Result<Option<T>, Unsubscribed> {
        let mut chamber = self.chamber.lock().await;
        let queue = chamber.get_mut(&id).ok_or(Unsubscribed)?;
        Ok(queue.pop_front())
    }

    /// Locks `dead_ids`. A panic elsewhere while it was held cannot leave a half-written `Vec` of
    /// ids, so a poisoned lock is used as it is (this runs inside `Drop`, where a second panic
    /// would abort the process).
    // Book: `dead_ids.lock().unwrap()`, which panics on a poisoned lock, also inside `Drop`.
    fn dead_ids(&self) -> MutexGuard<'_, Vec<u32>> {
        self.dead_ids.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A bus whose next id is `next_id` (to test what happens near the end of the id range).
    #[cfg(test)]
    pub(crate) fn with_next_id(next_id: u32) -> Self {
        let bus = Self::new();
        bus.count.store(next_id, Ordering::SeqCst);
        bus
    }

    /// Poisons the `dead_ids` lock: a thread panics while holding it.
    #[cfg(test)]
    pub(crate) fn poison_dead_ids(&self) {
        std::thread::scope(|scope| {
            let holder = scope.spawn(|| {
                let _held = self.dead_ids.lock();
                panic!("poisoning dead_ids on purpose");
            });
            assert!(holder.join().is_err());
        });
        assert!(self.dead_ids.is_poisoned());
    }
}

impl<T: Clone + Send> Default for EventBus<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The id has no queue in the chamber: it never subscribed, or its queue was collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unsubscribed;

/// Runs the demo: two subscribers, three events, a tombstone and one garbage pass.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(async {
        let report = walk_through().await;
        for line in report {
            println!("{line}");
        }
    });
    Ok(())
}

/// The demo's steps; returns the lines it prints (so the test can read them).
pub async fn walk_through() -> Vec<String> {
    let mut lines = Vec::new();
    let bus = Arc::new(EventBus::<f32>::new());
    let first = bus.subscribe().await;
    let second = bus.subscribe().await;
    lines.push(format!("subscribed ids {} and {}", first.id, second.id));

    for event in [1.0, 2.0, 3.0] {
        bus.send(event).await;
    }
    lines.push("sent 1.0, 2.0, 3.0; every queue holds its own clone of each:".to_string());
    for (id, queue) in bus.chamber_snapshot().await {
        lines.push(format!("  queue {id}: {queue:?}"));
    }

    let popped = bus.poll(first.id).await;
    lines.push(format!(
        "poll({}) takes the oldest: {popped:?}; queue {} now {:?}",
        first.id,
        first.id,
        bus.chamber_snapshot().await.get(&first.id)
    ));

    bus.unsubscribe(first.id);
    let ids: Vec<u32> = bus.chamber_snapshot().await.into_keys().collect();
    lines.push(format!(
        "unsubscribe({}): dead_ids {:?}, chamber ids still {ids:?} (a tombstone, nothing removed yet)",
        first.id,
        bus.dead_ids_snapshot()
    ));

    let removed = bus.collect_garbage().await;
    let ids: Vec<u32> = bus.chamber_snapshot().await.into_keys().collect();
    lines.push(format!(
        "one garbage pass removed {removed:?}: dead_ids {:?}, chamber ids {ids:?}",
        bus.dead_ids_snapshot()
    ));
    lines.push(format!(
        "poll({}) after collection: {:?} (the book's unwrap would panic here)",
        first.id,
        bus.poll(first.id).await
    ));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(values: &[f32]) -> VecDeque<f32> {
        values.iter().copied().collect()
    }

    #[tokio::test]
    async fn every_subscriber_gets_its_own_copy_of_each_event_in_order() {
        let bus = Arc::new(EventBus::<f32>::new());
        let first = bus.subscribe().await;
        let second = bus.subscribe().await;
        assert_eq!((first.id, second.id), (0, 1));
        for event in [1.0, 2.0, 3.0] {
            bus.send(event).await;
        }
        let chamber = bus.chamber_snapshot().await;
        assert_eq!(chamber[&0], queue(&[1.0, 2.0, 3.0]));
        assert_eq!(chamber[&1], queue(&[1.0, 2.0, 3.0]));

        // FIFO, then empty; the other queue is untouched.
        assert_eq!(bus.poll(0).await, Some(1.0));
        assert_eq!(bus.poll(0).await, Some(2.0));
        assert_eq!(bus.poll(0).await, Some(3.0));
        assert_eq!(bus.poll(0).await, None);
        assert_eq!(bus.chamber_snapshot().await[&1].len(), 3);
    }

    #[tokio::test]
    async fn an_unknown_id_is_none_not_a_panic() {
        let bus = EventBus::<f32>::new();
        assert_eq!(bus.poll(99).await, None);
    }

    #[tokio::test]
    async fn an_unsubscribed_queue_stays_until_a_garbage_pass_removes_it() {
        let bus = Arc::new(EventBus::<f32>::new());
        let first = bus.subscribe().await;
        let _second = bus.subscribe().await;
        bus.send(1.0).await;

        bus.unsubscribe(first.id);
        bus.unsubscribe(first.id); // twice: recorded once
        assert_eq!(bus.dead_ids_snapshot(), [0]);
        assert!(bus.chamber_snapshot().await.contains_key(&0), "a tombstone");

        assert_eq!(bus.collect_garbage().await, [0]);
        assert!(bus.dead_ids_snapshot().is_empty());
        let chamber = bus.chamber_snapshot().await;
        assert_eq!(chamber.keys().copied().collect::<Vec<_>>(), [1]);

        // Later sends do not recreate the queue, and polling it is None.
        bus.send(2.0).await;
        assert!(!bus.chamber_snapshot().await.contains_key(&0));
        assert_eq!(bus.poll(0).await, None);
        assert_eq!(bus.chamber_snapshot().await[&1], queue(&[1.0, 2.0]));
    }

    #[tokio::test]
    async fn ids_never_wrap_around_onto_a_live_subscriber() {
        let bus = Arc::new(EventBus::<f32>::with_next_id(u32::MAX - 1));
        let last = bus.subscribe().await;
        assert_eq!(last.id, u32::MAX - 1);
        let bus_again = Arc::clone(&bus);
        let next = tokio::spawn(async move { bus_again.subscribe().await.id }).await;
        assert!(
            next.is_err_and(|e| e.is_panic()),
            "the next subscribe must refuse"
        );
        // The refused subscription changed nothing.
        assert_eq!(bus.chamber_snapshot().await.len(), 1);
    }

    #[tokio::test]
    async fn the_walk_through_shows_the_tombstone_then_the_removal() {
        let lines = walk_through().await;
        let text = lines.join("\n");
        assert_eq!(lines[0], "subscribed ids 0 and 1");
        assert!(text.contains("queue 0: [1.0, 2.0, 3.0]"), "{text}");
        assert!(text.contains("queue 1: [1.0, 2.0, 3.0]"), "{text}");
        assert!(
            text.contains("dead_ids [0], chamber ids still [0, 1]"),
            "{text}"
        );
        assert!(
            text.contains("removed [0]: dead_ids [], chamber ids [1]"),
            "{text}"
        );
        assert!(text.contains("after collection: None"), "{text}");
    }
}
