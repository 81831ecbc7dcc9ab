//! `event-bus-handle`: a subscription handle that unsubscribes itself when dropped (book section
//! "Building Our Event Bus Handle").
//!
//! [`EventBus::subscribe`] returns an [`EventHandle`]: the subscriber's id plus a reference-counted
//! pointer to the bus. Reading goes through the handle, and dropping the handle tombstones the id.
//! That is what prevents the leak of the book's Figure 6-4: without it, a subscriber that simply
//! goes out of scope would leave a queue that every later `send` keeps filling, forever.
//!
//! Run it with `cargo run -p ch06 -- event-bus-handle`: a handle dropped at the end of a scope
//! (its id lands in `dead_ids`), a handle leaked with `std::mem::forget` (its queue holds all 1,000
//! events sent after it), and a handle moved into a spawned task that awaits its next event.
//!
//! How we differ from the book:
//!
//! - the book's handle holds `Arc<&'a EventBus<T>>`, an `Arc` around a *borrow*. Counting
//!   references to a borrow keeps nothing alive: it is the lifetime `'a` that keeps the bus alive,
//!   and that lifetime makes the handle non-`'static`, so it cannot move into `tokio::spawn` (see
//!   the `compile_fail` example on [`EventHandle`]). Ours holds `Arc<EventBus<T>>`: the bus lives as
//!   long as its last handle, which is what the book's prose says;
//! - besides `poll` (look once), ours has [`EventHandle::recv`], which waits for the next event
//!   without spinning;
//! - `drop` calls `unsubscribe`, which in the book does `lock().unwrap()`: if that lock is poisoned
//!   while a panic is already unwinding, the second panic aborts the process. Ours uses the lock
//!   even when poisoned.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::demo::{Args, DemoResult};

use crate::event_bus_struct::{EventBus, Unsubscribed};

/// The book's handle: a subscriber id and the bus it reads from. Dropping it unsubscribes.
///
/// It is `Send + 'static`, so a consumer can own it inside a spawned task:
///
/// ```
/// use std::sync::Arc;
/// use ch06::event_bus_struct::EventBus;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let bus = Arc::new(EventBus::<f32>::new());
/// let handle = bus.subscribe().await;
/// let consumer = tokio::spawn(async move { handle.recv().await });
/// bus.send(1.0).await;
/// assert_eq!(consumer.await.unwrap(), Some(1.0));
/// # });
/// ```
///
/// The book's version holds `Arc<&'a EventBus<T>>`. The borrow ties the handle to the scope of
/// the bus, so the same spawn does not compile:
///
/// ```compile_fail,E0597
/// use std::sync::Arc;
/// use ch06::event_bus_struct::EventBus;
///
/// struct BookEventHandle<'a, T: Clone + Send> {
///     id: u32,
///     event_bus: Arc<&'a EventBus<T>>,
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let bus = EventBus::<f32>::new();
/// let handle = BookEventHandle { id: 0, event_bus: Arc::new(&bus) };
/// // error[E0597]: `bus` does not live long enough (`spawn` needs a `'static` future)
/// tokio::spawn(async move { handle.event_bus.poll(handle.id).await });
/// # });
/// ```
pub struct EventHandle<T: Clone + Send> {
    /// The subscriber id: the key of this handle's queue in the bus.
    pub id: u32,
    // Book: `Arc<&'a EventBus<T>>`; an owned `Arc` is what actually keeps the bus alive.
    event_bus: Arc<EventBus<T>>,
    /// How many times this handle looked into its queue (to show that `recv` does not spin).
    bus_polls: AtomicUsize,
}

impl<T: Clone + Send> EventHandle<T> {
    /// Takes the oldest waiting event, if any; never waits for one.
    pub async fn poll(&self) -> Option<T> {
        self.pop().await.ok().flatten()
    }

    /// Waits for the next event and takes it. `None` only if this id was unsubscribed and its
    /// queue collected while the handle was still alive (by a direct `bus.unsubscribe(id)`).
    ///
    /// It looks into the queue once, and once more after each wake-up by a `send`: no loop of
    /// empty polls. The order matters: the wake-up is *registered first* (`enable`), then the queue
    /// is checked, so an event sent between the check and the wait still wakes us.
    pub async fn recv(&self) -> Option<T> {
        loop {
            let mut notified = pin!(self.event_bus.notify.notified());
            notified.as_mut().enable();
            match self.pop().await {
                Ok(Some(event)) => return Some(event),
                Ok(None) => notified.await,
                Err(Unsubscribed) => return None,
            }
        }
    }

    /// How many times this handle has looked into its queue on the bus.
    pub fn bus_polls(&self) -> usize {
        self.bus_polls.load(Ordering::Relaxed)
    }

    /// Called by [`EventBus::subscribe`] only: a handle always belongs to a real subscription.
    pub(crate) fn new(id: u32, event_bus: Arc<EventBus<T>>) -> Self {
        EventHandle {
            id,
            event_bus,
            bus_polls: AtomicUsize::new(0),
        }
    }

    fn pop(&self) -> impl Future<Output = Result<Option<T>, Unsubscribed>> + '_ {
        self.bus_polls.fetch_add(1, Ordering::Relaxed);
        self.event_bus.pop(self.id)
    }
}

impl<T: Clone + Send> Drop for EventHandle<T> {
    fn drop(&mut self) {
        self.event_bus.unsubscribe(self.id);
    }
}

/// Runs the demo: a dropped handle, a leaked handle, and a handle owned by a task.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    for line in runtime.block_on(walk_through(1_000))? {
        println!("{line}");
    }
    Ok(())
}

/// The demo's steps, with `leaked_sends` events sent past a forgotten handle; returns the lines.
pub async fn walk_through(leaked_sends: usize) -> Result<Vec<String>, tokio::task::JoinError> {
    let mut lines = Vec::new();
    let bus = Arc::new(EventBus::<f32>::new());

    // 1. A handle that goes out of scope unsubscribes on its own.
    {
        let handle = bus.subscribe().await;
        bus.send(1.0).await;
        lines.push(format!(
            "handle {} polled {:?}, then went out of scope",
            handle.id,
            handle.poll().await
        ));
    }
    lines.push(format!(
        "dead_ids {:?}: its Drop unsubscribed it",
        bus.dead_ids_snapshot()
    ));
    let removed = bus.collect_garbage().await;
    lines.push(format!("a garbage pass removed queue(s) {removed:?}"));

    // 2. A handle whose Drop never runs: its queue grows with every send.
    let leaked = bus.subscribe().await;
    let leaked_id = leaked.id;
    // Figure 6-4's leak, made on purpose: `forget` skips `Drop`, so nothing unsubscribes.
    std::mem::forget(leaked);
    for i in 0..leaked_sends {
        bus.send(i as f32).await;
    }
    bus.collect_garbage().await;
    let held = bus
        .chamber_snapshot()
        .await
        .get(&leaked_id)
        .map_or(0, |q| q.len());
    lines.push(format!(
        "handle {leaked_id} forgotten: after {leaked_sends} sends its queue holds {held} events, and no garbage pass can remove it"
    ));

    // 3. A handle owned by a spawned task: it waits for an event without spinning.
    let handle = bus.subscribe().await;
    let id = handle.id;
    let consumer = tokio::spawn(async move {
        let event = handle.recv().await;
        (event, handle.bus_polls())
    });
    tokio::task::yield_now().await; // let the consumer start waiting
    bus.send(42.0).await;
    let (event, polls) = consumer.await?;
    lines.push(format!(
        "handle {id} moved into a task received {event:?} after {polls} looks into its queue"
    ));
    lines.push(format!(
        "the task ended and dropped it: dead_ids {:?}",
        bus.dead_ids_snapshot()
    ));
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A compile-time check: the handle can be owned by a spawned task.
    const _: fn() = || {
        fn send_and_static<T: Send + 'static>() {}
        send_and_static::<EventHandle<f32>>();
    };

    #[tokio::test]
    async fn dropping_a_handle_tombstones_its_id_exactly_once() {
        let bus = Arc::new(EventBus::<f32>::new());
        let kept = bus.subscribe().await;
        let dropped = bus.subscribe().await;
        assert_eq!(dropped.id, 1);
        drop(dropped);
        assert_eq!(bus.dead_ids_snapshot(), [1]);
        assert_eq!(bus.collect_garbage().await, [1]);
        assert_eq!(
            bus.chamber_snapshot()
                .await
                .keys()
                .copied()
                .collect::<Vec<_>>(),
            [kept.id]
        );
    }

    #[tokio::test]
    async fn a_forgotten_handle_leaves_a_queue_that_keeps_growing() {
        let bus = Arc::new(EventBus::<f32>::new());
        let leaked = bus.subscribe().await;
        let id = leaked.id;
        std::mem::forget(leaked);
        for i in 0..100 {
            bus.send(i as f32).await;
        }
        assert!(bus.collect_garbage().await.is_empty());
        assert_eq!(bus.chamber_snapshot().await[&id].len(), 100);
    }

    #[tokio::test]
    async fn recv_waits_for_the_event_looking_at_most_twice() {
        let bus = Arc::new(EventBus::<f32>::new());
        let handle = Arc::new(bus.subscribe().await);
        let consumer = tokio::spawn({
            let handle = Arc::clone(&handle);
            async move { handle.recv().await }
        });
        // Current-thread runtime: the consumer runs until it waits, then we get the thread back.
        while handle.bus_polls() == 0 {
            tokio::task::yield_now().await;
        }
        for _ in 0..10 {
            tokio::task::yield_now().await; // a spinning consumer would count up meanwhile
        }
        assert_eq!(handle.bus_polls(), 1, "one empty look, then asleep");
        bus.send(7.0).await;
        let event = tokio::time::timeout(Duration::from_secs(5), consumer).await;
        assert_eq!(event.expect("recv was never woken").unwrap(), Some(7.0));
        assert_eq!(handle.bus_polls(), 2);
    }

    #[tokio::test]
    async fn recv_takes_a_queued_event_with_one_look_and_ends_when_collected() {
        let bus = Arc::new(EventBus::<f32>::new());
        let handle = bus.subscribe().await;
        bus.send(1.0).await;
        assert_eq!(handle.recv().await, Some(1.0));
        assert_eq!(handle.bus_polls(), 1);

        bus.unsubscribe(handle.id);
        bus.collect_garbage().await;
        let gone = tokio::time::timeout(Duration::from_secs(5), handle.recv()).await;
        assert_eq!(
            gone,
            Ok(None),
            "a collected id ends recv instead of hanging"
        );
    }

    #[tokio::test]
    async fn a_handle_in_a_spawned_task_works_and_the_bus_outlives_the_callers_arc() {
        let bus = Arc::new(EventBus::<f32>::new());
        let handle = bus.subscribe().await;
        let weak = Arc::downgrade(&bus);
        let consumer = tokio::spawn(async move {
            let first = handle.recv().await;
            let second = handle.recv().await;
            (first, second)
        });
        bus.send(1.0).await;
        bus.send(2.0).await;
        drop(bus); // the task's handle still keeps the bus alive
        let got = tokio::time::timeout(Duration::from_secs(5), consumer).await;
        assert_eq!(got.unwrap().unwrap(), (Some(1.0), Some(2.0)));
        assert!(
            weak.upgrade().is_none(),
            "the last handle took the bus with it"
        );
    }

    #[tokio::test]
    async fn drop_tolerates_a_poisoned_lock() {
        let bus = Arc::new(EventBus::<f32>::new());
        let handle = bus.subscribe().await;
        bus.poison_dead_ids();
        drop(handle); // the book's `lock().unwrap()` would panic here
        assert_eq!(bus.dead_ids_snapshot(), [0]);
    }

    #[tokio::test]
    async fn the_walk_through_shows_drop_leak_and_task() {
        let lines = walk_through(1_000).await.unwrap();
        let text = lines.join("\n");
        assert!(text.contains("handle 0 polled Some(1.0)"), "{text}");
        assert!(text.contains("dead_ids [0]: its Drop"), "{text}");
        assert!(
            text.contains("after 1000 sends its queue holds 1000 events"),
            "{text}"
        );
        assert!(text.contains("received Some(42.0) after 2 looks"), "{text}");
        assert!(text.contains("dropped it: dead_ids [2]"), "{text}");
    }
}
