//! `task-stealing` (book section "Task Stealing"): a worker whose own queue is empty takes work
//! from the other queue.
//!
//! Both channels are now `static` on their own ([`HIGH_CHANNEL`], [`LOW_CHANNEL`]), so every worker
//! can hold a receiver of *both*. Each worker loops through the book's three steps in
//! [`steal_loop`]: take a runnable from its own queue; if there is none, take one from the other
//! queue (a steal); if there is none there either, wait. No worker idles while runnables wait, so
//! the one-third-capacity problem of `priority-queues` is gone. Stealing is a policy, not a free
//! lunch: if the high queue carries CPU-heavy work and the low queue latency-sensitive network
//! work, a low worker that steals a heavy task stops serving the network.
//!
//! The queues are still lazy: a queue's workers start the first time something is spawned onto it.
//! A queue that never receives a task never starts, and so never steals. The demo spawns one empty
//! low task first for that reason (the `runtime-builder` step removes the need).
//!
//! Run it with `cargo run -p ch03 -- task-stealing`: after the empty low task, six high counters
//! (three polls of 100 ms) and no other low work. Three workers share them, so they finish in about
//! 600 ms instead of the 900 ms two high workers would need; the list of polls and the timeline show
//! `low-0` running high tasks, and the demo ends with the number of steals.
//!
//! How we differ from the book: where the book's worker finds both queues empty it sleeps 100 ms
//! and tries again. A task that arrives during that nap waits up to 100 ms for its first poll, and
//! every idle worker wakes ten times a second for nothing. Ours waits on a [`Doorbell`] (a counter
//! under a `Mutex`, with a `Condvar`) that `spawn_task`'s schedule closures ring after each send:
//! an idle worker sleeps until there is work and wakes at once when there is (see [`steal_loop`]).
//! The obvious tool, a `flume::Selector` over both receivers, loses wake-ups when several workers
//! compete for one channel (a worker woken for a runnable that another worker took first is never
//! woken again, in flume 0.12), so idle workers went deaf while tasks waited in the queue.
//!
//! The book's listing also does not compile as printed (`Flume::Sender`, and a stray `});` that
//! closes `LazyLock::new` before `HIGH_CHANNEL.0.clone()`). Its prose says std's `Sender` and
//! `Receiver` cannot be sent to other threads: both are `Send`; std's `Receiver` cannot be
//! *cloned*, so several workers cannot share it, which is why the chapter uses `flume`.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, LazyLock, Mutex, PoisonError};

use async_task::{Runnable, Task};
use common::demo::{Args, DemoResult};
use common::timeline::CountPolls;
use common::{CounterFuture, Timeline};
use flume::{Receiver, Sender};
use futures_lite::future;

pub use crate::priority_queues::{FutureOrderLabel, FutureType, OrderedCounter};
use crate::support::{BOOK_UNIT, poll_report, run_runnable, spawn_worker};

/// The high-priority channel; every worker holds a receiver of it.
pub static HIGH_CHANNEL: LazyLock<(Sender<Runnable>, Receiver<Runnable>)> =
    LazyLock::new(flume::unbounded::<Runnable>);
/// The low-priority channel; every worker holds a receiver of it.
pub static LOW_CHANNEL: LazyLock<(Sender<Runnable>, Receiver<Runnable>)> =
    LazyLock::new(flume::unbounded::<Runnable>);

/// Starts `high-0` and `high-1`, which serve the high queue first, then steal from the low one.
pub static HIGH_QUEUE: LazyLock<Sender<Runnable>> = LazyLock::new(|| {
    // Book: `for _ in 0..2`; ours also hands each worker its counters (`STATS`), for the demo's
    // steal count and the idle test.
    for (i, stats) in STATS[..2].iter().enumerate() {
        let high_receiver = HIGH_CHANNEL.1.clone();
        let low_receiver = LOW_CHANNEL.1.clone();
        spawn_worker(format!("high-{i}"), move || {
            steal_loop(&high_receiver, &low_receiver, &DOORBELL, stats);
        });
    }
    HIGH_CHANNEL.0.clone()
});

/// Starts `low-0`, which serves the low queue first, then steals from the high one.
pub static LOW_QUEUE: LazyLock<Sender<Runnable>> = LazyLock::new(|| {
    let low_receiver = LOW_CHANNEL.1.clone();
    let high_receiver = HIGH_CHANNEL.1.clone();
    spawn_worker("low-0", move || {
        steal_loop(&low_receiver, &high_receiver, &DOORBELL, &STATS[2]);
    });
    LOW_CHANNEL.0.clone()
});

/// Rung by `spawn_task` after every send, so all this step's workers can sleep until there is work.
pub static DOORBELL: Doorbell = Doorbell::new();

/// One worker's loop: its own queue first, then the other queue, then wait for the doorbell.
pub fn steal_loop(
    own: &Receiver<Runnable>,
    other: &Receiver<Runnable>,
    doorbell: &Doorbell,
    stats: &WorkerStats,
) {
    loop {
        // 1. Our own queue.
        if let Ok(runnable) = own.try_recv() {
            stats.run(runnable, false);
            continue;
        }
        // 2. The other queue: a steal.
        if let Ok(runnable) = other.try_recv() {
            stats.run(runnable, true);
            continue;
        }
        // 3. Both empty.
        // Book: `thread::sleep(Duration::from_millis(100))`, which delays a task that arrives
        // meanwhile by up to 100 ms and wakes idle workers ten times a second; ours sleeps until
        // the doorbell rings, then starts again from step 1 (so its own queue still comes first).
        doorbell.wait_unless(|| !own.is_empty() || !other.is_empty());
        stats.wake_ups.fetch_add(1, Ordering::Relaxed);
    }
}

/// Lets idle workers sleep until a runnable is queued: an event counter under a `Mutex`, and a
/// `Condvar` to wait for it to move (not in the book).
///
/// The order of operations is what makes it safe: a worker reads the count, *then* checks the
/// queues, then sleeps only while the count is unchanged; a spawner sends, *then* rings (adds one
/// and wakes a sleeper). A runnable sent after the worker's check moves the count, so the worker
/// cannot sleep through it.
#[derive(Debug, Default)]
pub struct Doorbell {
    rings: Mutex<u64>,
    ring: Condvar,
}

impl Doorbell {
    /// A doorbell that has never rung (usable in a `static`).
    pub const fn new() -> Self {
        Doorbell {
            rings: Mutex::new(0),
            ring: Condvar::new(),
        }
    }

    /// Call after queueing a runnable: wakes one sleeping worker, if any.
    pub fn ring(&self) {
        *self.rings.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.ring.notify_one();
    }

    /// Returns at once if `has_work()`, else sleeps until the next ring.
    pub fn wait_unless(&self, has_work: impl Fn() -> bool) {
        let rings = self.rings.lock().unwrap_or_else(PoisonError::into_inner);
        if has_work() {
            return;
        }
        let seen = *rings;
        let _rings = self
            .ring
            .wait_while(rings, |rings| *rings == seen)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

/// What one worker did: not in the book, it is how the demo counts steals and the tests check that
/// an idle worker stays asleep.
#[derive(Debug, Default)]
pub struct WorkerStats {
    /// Runnables run.
    pub runs: AtomicUsize,
    /// Of those, runnables taken from the other queue.
    pub steals: AtomicUsize,
    /// Times the worker came back from waiting for the doorbell.
    pub wake_ups: AtomicUsize,
}

impl WorkerStats {
    /// All zero (usable in a `static`).
    pub const fn new() -> Self {
        WorkerStats {
            runs: AtomicUsize::new(0),
            steals: AtomicUsize::new(0),
            wake_ups: AtomicUsize::new(0),
        }
    }

    fn run(&self, runnable: Runnable, stolen: bool) {
        self.runs.fetch_add(1, Ordering::Relaxed);
        if stolen {
            self.steals.fetch_add(1, Ordering::Relaxed);
        }
        run_runnable(runnable);
    }
}

/// The counters of `high-0`, `high-1` and `low-0`, in that order.
pub static STATS: [WorkerStats; 3] = [const { WorkerStats::new() }; 3];

/// Steals by all three workers so far.
pub fn steals() -> usize {
    STATS.iter().map(|s| s.steals.load(Ordering::Relaxed)).sum()
}

/// The book's `spawn_task` of this step: unchanged from `priority-queues` but for the queues it
/// sends to.
pub fn spawn_task<F, T>(future: F) -> Task<T>
where
    F: Future<Output = T> + Send + 'static + FutureOrderLabel,
    T: Send + 'static,
{
    // Book: `.unwrap()` on each send; if a send fails (no worker left) we drop the runnable,
    // which cancels the task, rather than panic on the waking thread (as in `basic-queue`).
    // Book: the schedule closure only sends; ours also rings the doorbell, because idle workers
    // now sleep until it rings instead of looking again every 100 ms.
    let schedule_high = |runnable| {
        let _ = HIGH_QUEUE.send(runnable);
        DOORBELL.ring();
    };
    let schedule_low = |runnable| {
        let _ = LOW_QUEUE.send(runnable);
        DOORBELL.ring();
    };
    let schedule = match future.get_order() {
        FutureType::High => schedule_high,
        FutureType::Low => schedule_low,
    };
    let (runnable, task) = async_task::spawn(future, schedule);
    runnable.schedule();
    task
}

/// Runs the demo: six high counters on two high workers and a low worker with nothing of its own.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    println!(
        "spawning one empty low task first: the queues start lazily, and a low worker that was never \
         started could not steal"
    );
    future::block_on(spawn_task(OrderedCounter {
        counter: std::future::ready(()),
        order: FutureType::Low,
    }));

    let steals_before = steals();
    let timeline = Timeline::new();
    let tasks: Vec<Task<u32>> = (1..=6)
        .map(|i| {
            spawn_task(OrderedCounter {
                counter: CountPolls::new(CounterFuture::new(3).with_delay(BOOK_UNIT))
                    .recording(&timeline, format!("high {i}")),
                order: FutureType::High,
            })
        })
        .collect();
    let outputs: Vec<u32> = tasks.into_iter().map(future::block_on).collect();

    println!("\noutputs: {outputs:?}\npolls, in the order they started:");
    print!("{}", poll_report(&timeline));
    println!("\n{}", timeline.render());
    println!(
        "every task was high priority, yet low-0 ran some: steals during the demo: {}",
        steals() - steals_before
    );
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::{Mutex, MutexGuard};
    use std::thread;
    use std::time::Duration;

    use common::timeline::current_thread_name;

    use super::*;
    use crate::support::{Gates, poll_order, serial, wait_for};

    /// This step's queues are `static`, and `spawn-task-macro` and `join-macro` reuse them: all
    /// their tests take this lock.
    pub(crate) static SERIAL: Mutex<()> = Mutex::new(());

    /// Takes the lock, starts both queues, and holds all three workers with gates.
    pub(crate) fn hold_all_workers() -> (MutexGuard<'static, ()>, Gates) {
        let serial = serial(&SERIAL);
        LazyLock::force(&HIGH_QUEUE);
        LazyLock::force(&LOW_QUEUE);
        let (mut gates, all) = Gates::new::<3>();
        for gate in all {
            spawn_task(OrderedCounter {
                counter: gate,
                order: FutureType::High,
            })
            .detach();
        }
        assert_eq!(gates.wait_entered(), ["high-0", "high-1", "low-0"]);
        (serial, gates)
    }

    fn whoami(order: FutureType) -> Task<String> {
        spawn_task(OrderedCounter {
            counter: Box::pin(async { current_thread_name() }),
            order,
        })
    }

    #[test]
    fn with_both_high_workers_held_low_0_runs_a_high_task() {
        let (_serial, mut gates) = hold_all_workers();
        gates.open("low-0");
        assert_eq!(wait_for(whoami(FutureType::High)), "low-0");
    }

    #[test]
    fn with_low_0_held_the_high_workers_run_low_tasks() {
        let (_serial, mut gates) = hold_all_workers();
        gates.open("high-0");
        gates.open("high-1");
        for _ in 0..4 {
            let worker = wait_for(whoami(FutureType::Low));
            assert!(["high-0", "high-1"].contains(&worker.as_str()), "{worker}");
        }
    }

    #[test]
    fn a_worker_serves_its_own_queue_before_stealing() {
        let (_serial, mut gates) = hold_all_workers();
        let timeline = Timeline::new();
        let labelled = |label: &str, order| OrderedCounter {
            counter: CountPolls::new(CounterFuture::new(1)).recording(&timeline, label),
            order,
        };
        let high = spawn_task(labelled("high", FutureType::High));
        let low = spawn_task(labelled("low", FutureType::Low));
        gates.open("low-0");
        assert_eq!((wait_for(low), wait_for(high)), (1, 1));
        assert_eq!(poll_order(&timeline), ["low:1", "high:1"]);
        assert!(timeline.spans().iter().all(|s| s.thread == "low-0"));
    }

    #[test]
    fn every_idle_worker_wakes_for_work_round_after_round() {
        // Three runnables queued at once must reach three idle workers, every time. (With a
        // `flume::Selector` as the idle wait, a worker woken for a runnable that another worker took
        // first was never woken again, and within a few dozen rounds a gate stayed queued.)
        for _ in 0..100 {
            let (_serial, mut gates) = hold_all_workers();
            gates.open_all();
        }
    }

    #[test]
    fn idle_workers_stay_asleep() {
        let _serial = serial(&SERIAL);
        wait_for(whoami(FutureType::High));
        wait_for(whoami(FutureType::Low));
        thread::sleep(Duration::from_millis(50)); // let the last worker go back to waiting
        let wake_ups = || -> Vec<usize> {
            STATS
                .iter()
                .map(|s| s.wake_ups.load(Ordering::Relaxed))
                .collect()
        };
        let before = wake_ups();
        thread::sleep(Duration::from_millis(200));
        // The book's loop would have woken each of the three workers twice by now.
        assert_eq!(wake_ups(), before);
    }
}
