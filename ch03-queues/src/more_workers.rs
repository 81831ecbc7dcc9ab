//! `more-workers` (book section "Increasing Workers and Queues"): three consumer threads share one
//! queue, a thread pool.
//!
//! The only change from `basic-queue` is inside the `LazyLock`: instead of one thread, a loop
//! starts three, each with its own clone of the channel's receiver. `flume` receivers can be cloned
//! (std's `mpsc::Receiver` cannot), and each runnable is received by exactly one of them: whichever
//! idle worker gets it first. A task that blocks its worker (a long computation, a blocking sleep)
//! now stalls one worker out of three instead of the whole runtime.
//!
//! The book first writes the pool as two hand-written threads on `queue_one` and `queue_two`:
//!
//! ```text
//! let queue_one = rx.clone();
//! let queue_two = rx.clone();
//! thread::spawn(move || while let Ok(runnable) = queue_one.recv() { run it });
//! thread::spawn(move || while let Ok(runnable) = queue_two.recv() { run it });
//! ```
//!
//! (in the book that listing is split by a page break and has a stray closing brace), then
//! replaces them with the `for _ in 0..3` loop that [`spawn_task`] uses.
//!
//! Run it with `cargo run -p ch03 -- more-workers`. One heavy task (a 300 ms blocking sleep) and six
//! light ones (50 ms each) are spawned. Each completion is printed with its worker; the timeline
//! shows the heavy bar on one worker and the six light bars shared by the other two, all finished
//! long before the heavy one. Pools are how CPU-heavy work is off-loaded, and also how it starves a
//! runtime that serves requests: a pool of three survives one heavy task, not three.

use std::future::Future;
use std::sync::LazyLock;
use std::thread;
use std::time::{Duration, Instant};

use async_task::{Runnable, Task};
use common::Timeline;
use common::demo::{Args, DemoResult};
use common::timeline::{current_thread_name, format_duration};
use futures_lite::future;

use crate::support::{run_runnable, spawn_worker};

/// The book's `spawn_task`, now with a pool of three workers (`worker-0`, `worker-1`, `worker-2`).
pub fn spawn_task<F, T>(future: F) -> Task<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    static QUEUE: LazyLock<flume::Sender<Runnable>> = LazyLock::new(|| {
        let (tx, rx) = flume::unbounded::<Runnable>();
        for i in 0..3 {
            let receiver = rx.clone();
            spawn_worker(format!("worker-{i}"), move || {
                while let Ok(runnable) = receiver.recv() {
                    run_runnable(runnable);
                }
            });
        }
        tx
    });

    // Book: `.unwrap()` on the send; if it fails (no worker left) we drop the runnable, which
    // cancels the task, rather than panic on the waking thread (as in `basic-queue`).
    let schedule = |runnable| {
        let _ = QUEUE.send(runnable);
    };
    let (runnable, task) = async_task::spawn(future, schedule);
    runnable.schedule();
    task
}

/// A task that blocks its worker for `work` (standing in for a computation), records itself in
/// `timeline` and returns the name of the worker that ran it.
fn blocking_job(
    timeline: &Timeline,
    label: String,
    work: Duration,
) -> impl Future<Output = String> + Send + 'static {
    let timeline = timeline.clone();
    async move {
        timeline.time(label, || thread::sleep(work));
        current_thread_name()
    }
}

/// Runs the demo: one heavy task and six light ones on the three-worker pool.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    let timeline = Timeline::new();
    let start = Instant::now();
    let heavy = spawn_task(blocking_job(
        &timeline,
        "heavy".into(),
        Duration::from_millis(300),
    ));
    let light: Vec<Task<String>> = (1..=6)
        .map(|i| {
            spawn_task(blocking_job(
                &timeline,
                format!("light {i}"),
                Duration::from_millis(50),
            ))
        })
        .collect();

    for (i, task) in light.into_iter().enumerate() {
        let worker = future::block_on(task);
        println!(
            "light {} done on {worker} after {}",
            i + 1,
            format_duration(start.elapsed())
        );
    }
    let worker = future::block_on(heavy);
    println!(
        "heavy   done on {worker} after {}",
        format_duration(start.elapsed())
    );
    println!("\n{}", timeline.render());
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::support::{Gates, serial, wait_for};

    static SERIAL: Mutex<()> = Mutex::new(());

    #[test]
    fn one_free_worker_runs_everything_while_two_are_blocked() {
        let _serial = serial(&SERIAL);
        let (mut gates, [one, two]) = Gates::new();
        spawn_task(one).detach();
        spawn_task(two).detach();
        let held = gates.wait_entered();
        assert_eq!(held.len(), 2);

        let tasks: Vec<Task<String>> = (0..5)
            .map(|_| spawn_task(async { current_thread_name() }))
            .collect();
        // All five complete while both gates are still closed...
        let ran_on: Vec<String> = tasks.into_iter().map(wait_for).collect();
        // ...all on the one worker that is not held.
        let free = ["worker-0", "worker-1", "worker-2"]
            .into_iter()
            .find(|w| !held.iter().any(|h| h == w))
            .unwrap();
        assert!(
            ran_on.iter().all(|w| w == free),
            "{ran_on:?}, held {held:?}"
        );
        gates.open_all();
    }

    #[test]
    fn tasks_run_only_on_the_pools_workers() {
        let _serial = serial(&SERIAL);
        let me = current_thread_name();
        let ran_on: Vec<String> = (0..30)
            .map(|_| spawn_task(async { current_thread_name() }))
            .collect::<Vec<_>>()
            .into_iter()
            .map(wait_for)
            .collect();
        for worker in &ran_on {
            assert!(
                ["worker-0", "worker-1", "worker-2"].contains(&worker.as_str()),
                "{worker}"
            );
            assert_ne!(*worker, me);
        }
    }
}
