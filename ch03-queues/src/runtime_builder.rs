//! `runtime-builder` (book section "Configuring Our Runtime"): a `Runtime` object that sizes both
//! queues and starts them up front.
//!
//! Lazy queues made the last steps depend on luck: a queue starts its workers the first time a task
//! is spawned onto it, so until then it cannot steal, and its worker count is fixed in code. The
//! book's answer is the shape tokio uses too (`tokio::runtime::Runtime::new()`, then spawn on it):
//! a builder, [`Runtime`], with the book's defaults (all cores but two for the high queue, one low
//! worker), `with_high_num`/`with_low_num` to change them, and [`Runtime::run`], which records the
//! numbers and spawns one empty task on each queue so that both start before any real work
//! arrives. The queues are the `task-stealing` queues again; only the number of workers they start
//! now comes from the runtime's configuration, and [`spawn_task`] and `spawn_task!` feed them as in
//! `spawn-task-macro`.
//!
//! This is the book's step. The runtime the rest of the crate (and chapter 4) uses,
//! [`crate::runtime`], has the same builder and adds `build()` for isolated runtimes, lock-free
//! queues, parking workers and panic propagation.
//!
//! Run it with `cargo run -p ch03 -- runtime-builder`: tokio's snippet prints `now running on a
//! worker thread`; then the book's default numbers for your machine; then our
//! `Runtime::new().with_low_num(2).with_high_num(4).run()` and a few tasks, each printed with the
//! worker that ran it (`high-0`…`high-3`, `low-0`, `low-1`).
//!
//! How we differ from the book: `run` passed the numbers to the queues through `std::env::set_var`,
//! which is `unsafe` in edition 2024 (another thread may read the environment at the same moment);
//! ours keeps them in a `OnceLock`. The book's `num_cores - 2` underflows on one core and gives no
//! high worker on two; `available_parallelism().unwrap()` can fail; each queue's `.unwrap()` of its
//! variable panicked if anything was spawned before `run`, poisoning the queue for good; a second
//! `run` with other numbers was silently ignored; and no worker at all would hang every
//! `block_on`. Each of those is fixed, with a note at its spot.

use std::sync::{LazyLock, OnceLock};
use std::thread;
use std::time::Duration;

use async_task::{Runnable, Task};
use common::demo::{Args, DemoResult};
use common::timeline::current_thread_name;
use flume::{Receiver, Sender};
use futures_lite::future;

use crate::join_macro::join;
pub use crate::runtime::{AlreadyRunning, FutureType};
// Only the macro: it calls whichever `spawn_task` is in scope, here this module's function.
use crate::spawn_task_macro::book_macro::spawn_task;
use crate::support::spawn_worker;
use crate::task_stealing::{Doorbell, WorkerStats, steal_loop};

/// The book's `Runtime`: how many consumer threads each queue gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Runtime {
    high_num: usize,
    low_num: usize,
}

impl Runtime {
    /// The book's defaults: every core but two for the high queue, one low worker.
    pub fn new() -> Self {
        // Book: `available_parallelism().unwrap()`, which can fail (then we assume one core), and
        // `num_cores - 2`, which underflows on one core and gives no high worker on two: we keep
        // at least one.
        let num_cores = thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            high_num: num_cores.saturating_sub(2).max(1),
            low_num: 1,
        }
    }

    /// Sets the number of high-priority workers.
    pub fn with_high_num(mut self, num: usize) -> Self {
        self.high_num = num;
        self
    }

    /// Sets the number of low-priority workers.
    pub fn with_low_num(mut self, num: usize) -> Self {
        self.low_num = num;
        self
    }

    /// Records the numbers and starts both queues.
    ///
    /// Calling it again with the same numbers is fine; with other numbers it is an error, because
    /// the running queues cannot change size.
    pub fn run(&self) -> Result<(), AlreadyRunning> {
        // Book: `std::env::set_var("HIGH_NUM", …)` and `("LOW_NUM", …)`, read back by the queues.
        // `set_var` is `unsafe` in edition 2024: it races with any thread reading the environment.
        // A `OnceLock` is set once, safely, and read by the queues when they start.
        let requested = self.normalized();
        let running = *QUEUE_SIZES.get_or_init(|| requested);
        if running != requested {
            // Book: a second `run` was silently ignored, as the queues had already started.
            return Err(AlreadyRunning {
                running: (running.high_num, running.low_num),
                requested: (requested.high_num, requested.low_num),
            });
        }
        // An empty task on each queue starts its workers now, not when real work first arrives.
        let high = spawn_task!(async {}, FutureType::High);
        let low = spawn_task!(async {}, FutureType::Low);
        join!(high, low);
        Ok(())
    }

    /// A queue may have no workers (its tasks are stolen), but a runtime with no worker at all would
    /// never run anything.
    fn normalized(self) -> Runtime {
        if self.high_num + self.low_num == 0 {
            // Book: zero workers in total was accepted, and every `block_on` then hung.
            self.with_low_num(1)
        } else {
            self
        }
    }
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new()
    }
}

/// The numbers the queues start with: set by [`Runtime::run`], or the defaults if something is
/// spawned first.
static QUEUE_SIZES: OnceLock<Runtime> = OnceLock::new();

fn queue_sizes() -> Runtime {
    // Book: each queue did `std::env::var("HIGH_NUM").unwrap()`, which panicked inside the
    // `LazyLock` if a task was spawned before `run`, and left the queue poisoned for good.
    *QUEUE_SIZES.get_or_init(|| Runtime::new().normalized())
}

static HIGH_CHANNEL: LazyLock<(Sender<Runnable>, Receiver<Runnable>)> =
    LazyLock::new(flume::unbounded::<Runnable>);
static LOW_CHANNEL: LazyLock<(Sender<Runnable>, Receiver<Runnable>)> =
    LazyLock::new(flume::unbounded::<Runnable>);

/// Rung after every send to this step's queues (see [`Doorbell`]).
static DOORBELL: Doorbell = Doorbell::new();

/// What all this step's workers did together (see [`WorkerStats`]).
pub static STATS: WorkerStats = WorkerStats::new();

/// The high queue, now with `high_num` workers: `high-0`, `high-1`, …
static HIGH_QUEUE: LazyLock<Sender<Runnable>> = LazyLock::new(|| {
    let high_num = queue_sizes().high_num;
    for i in 0..high_num {
        let high_receiver = HIGH_CHANNEL.1.clone();
        let low_receiver = LOW_CHANNEL.1.clone();
        spawn_worker(format!("high-{i}"), move || {
            steal_loop(&high_receiver, &low_receiver, &DOORBELL, &STATS);
        });
    }
    HIGH_CHANNEL.0.clone()
});

/// The low queue, now with `low_num` workers: `low-0`, `low-1`, …
static LOW_QUEUE: LazyLock<Sender<Runnable>> = LazyLock::new(|| {
    let low_num = queue_sizes().low_num;
    for i in 0..low_num {
        let low_receiver = LOW_CHANNEL.1.clone();
        let high_receiver = HIGH_CHANNEL.1.clone();
        spawn_worker(format!("low-{i}"), move || {
            steal_loop(&low_receiver, &high_receiver, &DOORBELL, &STATS);
        });
    }
    LOW_CHANNEL.0.clone()
});

/// `spawn-task-macro`'s `spawn_task`, feeding this step's configured queues.
pub fn spawn_task<F, T>(future: F, order: FutureType) -> Task<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    // Book: `.unwrap()` on each send; if a send fails (no worker left) we drop the runnable,
    // which cancels the task, rather than panic on the waking thread (as in `basic-queue`).
    // Each send also rings the doorbell, which the `task-stealing` step added for idle workers.
    let schedule_high = |runnable| {
        let _ = HIGH_QUEUE.send(runnable);
        DOORBELL.ring();
    };
    let schedule_low = |runnable| {
        let _ = LOW_QUEUE.send(runnable);
        DOORBELL.ring();
    };
    let schedule = match order {
        FutureType::High => schedule_high,
        FutureType::Low => schedule_low,
    };
    let (runnable, task) = async_task::spawn(future, schedule);
    runnable.schedule();
    task
}

/// The book's comparison: tokio's own runtime object, then a task spawned on it.
pub fn tokio_runtime_snippet() -> std::io::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let task = rt.spawn(async {
        println!("now running on a worker thread");
    });
    // Book: the snippet ends here, and dropping `rt` may cancel the task before it prints; we
    // wait for it first.
    rt.block_on(task).map_err(std::io::Error::other)
}

/// Runs the demo: tokio's runtime, then ours.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    println!("tokio's runtime:");
    tokio_runtime_snippet()?;

    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let defaults = Runtime::new();
    println!(
        "\nthe book's defaults on this machine ({cores} cores): {} high + {} low workers",
        defaults.high_num, defaults.low_num
    );

    println!("ours: Runtime::new().with_low_num(2).with_high_num(4).run()");
    Runtime::new().with_low_num(2).with_high_num(4).run()?;
    let tasks: Vec<(&str, Task<String>)> = (0..8)
        .map(|i| {
            let order = if i % 2 == 0 {
                FutureType::High
            } else {
                FutureType::Low
            };
            let label = if i % 2 == 0 { "high" } else { "low " };
            let task = spawn_task!(
                async {
                    // Long enough that the tasks spread over the workers.
                    thread::sleep(Duration::from_millis(50));
                    current_thread_name()
                },
                order
            );
            (label, task)
        })
        .collect();
    for (i, (label, task)) in tasks.into_iter().enumerate() {
        println!(
            "  task {} ({label}) ran on {}",
            i + 1,
            future::block_on(task)
        );
    }
    println!(
        "(a low worker running a high task, or the other way round, is a steal: {} so far)",
        STATS.steals.load(std::sync::atomic::Ordering::Relaxed)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::support::{Gates, serial, wait_for};

    static SERIAL: Mutex<()> = Mutex::new(());

    /// Every test of this module starts the step's runtime with the demo's numbers first (the
    /// configuration is process-wide and set once).
    fn started() -> std::sync::MutexGuard<'static, ()> {
        let serial = serial(&SERIAL);
        assert_eq!(
            Runtime::new().with_low_num(2).with_high_num(4).run(),
            Ok(())
        );
        serial
    }

    #[test]
    fn run_again_with_the_same_numbers_is_ok_with_others_an_error() {
        let _serial = started();
        assert_eq!(
            Runtime::new().with_high_num(4).with_low_num(2).run(),
            Ok(())
        );
        assert_eq!(
            Runtime::new().with_high_num(1).with_low_num(2).run(),
            Err(AlreadyRunning {
                running: (4, 2),
                requested: (1, 2)
            })
        );
    }

    #[test]
    fn the_configured_workers_start_and_no_others() {
        let _serial = started();
        let (mut gates, all) = Gates::new::<6>();
        for gate in all {
            spawn_task!(gate, FutureType::High).detach();
        }
        assert_eq!(
            gates.wait_entered(),
            ["high-0", "high-1", "high-2", "high-3", "low-0", "low-1"]
        );
        // All six held: a seventh task waits in its queue.
        let waiting = spawn_task!(async { current_thread_name() });
        thread::sleep(Duration::from_millis(50));
        assert!(!waiting.is_finished());
        assert_eq!(LOW_CHANNEL.1.len(), 1);
        gates.open("low-1");
        assert_eq!(wait_for(waiting), "low-1");
    }

    #[test]
    fn the_defaults_keep_a_high_worker_and_zero_workers_become_one() {
        let defaults = Runtime::new();
        assert!(defaults.high_num >= 1);
        assert_eq!(defaults.low_num, 1);
        let none = Runtime::new().with_high_num(0).with_low_num(0).normalized();
        assert_eq!((none.high_num, none.low_num), (0, 1));
        let high_only = Runtime::new().with_high_num(1).with_low_num(0).normalized();
        assert_eq!((high_only.high_num, high_only.low_num), (1, 0));
    }

    #[test]
    fn tokio_snippet_runs_its_task() {
        tokio_runtime_snippet().unwrap();
    }
}
