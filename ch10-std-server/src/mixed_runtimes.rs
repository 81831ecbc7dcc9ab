//! `mixed-runtimes` ("Summary"): a task on our executor, awaited from another runtime.
//!
//! The book's summary suggests handing tasks from tokio to a custom runtime and awaiting them.
//! Nothing about that needs tokio or channels of its own: a [`Spawner`] puts a future into our
//! executor's inbox from any thread and returns a [`JoinHandle`], and a `JoinHandle` is a
//! `Future` that any runtime can await, because all it does is store the awaiting task's
//! `Waker` and call it when the result is in. Wakers do not care which executor polls them.
//!
//! The demo runs our executor on a thread of its own and a *different* runtime on the main
//! thread — the tiny parking [`block_on`](crate::async_runtime::waker::block_on_counted) from
//! "Building Our Waker" — whose future sends three jobs over and awaits them. The tests do the
//! same from a tokio task while another tokio task keeps ticking.
//!
//! `cargo run -p ch10 -- mixed-runtimes [--sleep-ms MS]`

pub use crate::async_runtime::{JoinHandle, Spawner};

use std::io;
use std::thread;
use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};

use crate::async_runtime::executor::ExecutorStats;
use crate::async_runtime::waker::block_on_counted;
use crate::async_runtime::{Executor, Sleep};

// Book: the summary calls the book's runtime "fairly efficient", but it spins each worker thread
// and the client's polling loop at 100 % of a core; `cargo bench -p ch10` measures ours against
// tokio instead (see the README).

/// Starts our executor on a thread named `ch10-executor`; it runs until every task is done and
/// the returned [`Spawner`] (and its clones) are dropped, then returns its counters.
pub fn start_executor_thread() -> io::Result<(Spawner, thread::JoinHandle<ExecutorStats>)> {
    let executor = Executor::new();
    let spawner = executor.spawner();
    let thread = thread::Builder::new()
        .name("ch10-executor".into())
        .spawn(move || {
            let mut executor = executor;
            executor.run();
            executor.stats()
        })?;
    Ok((spawner, thread))
}

/// One job's answer: which thread ran it, and what it computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobResult {
    /// The job's name.
    pub job: &'static str,
    /// The thread that polled the job to completion.
    pub thread: String,
    /// What it returned.
    pub value: String,
}

/// Sends three jobs to `spawner` (one of them sleeps `sleep` on our timer) and awaits them.
/// Await the returned future on any runtime.
pub async fn three_jobs(spawner: Spawner, sleep: Duration) -> Vec<Result<JobResult, String>> {
    let answer = spawner.spawn(async {
        JobResult {
            job: "answer",
            thread: thread_name(),
            value: (6 * 7).to_string(),
        }
    });
    let sleeper = spawner.spawn(async move {
        Sleep::new(sleep).await;
        JobResult {
            job: "sleeper",
            thread: thread_name(),
            value: format!("slept {sleep:?}"),
        }
    });
    let text = spawner.spawn(async {
        JobResult {
            job: "text",
            thread: thread_name(),
            value: "hello from the ch10 executor".to_string(),
        }
    });
    drop(spawner); // the executor thread may finish once these are done
    let mut results = Vec::new();
    for handle in [answer, sleeper, text] {
        results.push(handle.await.map_err(|e| e.to_string()));
    }
    results
}

fn thread_name() -> String {
    thread::current().name().unwrap_or("?").to_string()
}

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let sleep_ms = args.value_in("sleep-ms", 100u64, 0..=5_000)?;
    args.finish()?;
    let (spawner, executor_thread) = start_executor_thread()?;
    let started = Instant::now();
    // The second runtime: `block_on` on the main thread, parking until its waker fires.
    let (results, stats) = block_on_counted(three_jobs(spawner, Duration::from_millis(sleep_ms)));
    let took = started.elapsed();
    for result in &results {
        match result {
            Ok(job) => println!(
                "{:<8} ran on thread {:<14} -> {}",
                job.job, job.thread, job.value
            ),
            Err(e) => println!("a job failed: {e}"),
        }
    }
    let executor = executor_thread
        .join()
        .map_err(|_| "the executor thread panicked")?;
    println!(
        "main ({}) awaited them with block_on: {} polls, parked {} times in {:.0} ms — waiting, not spinning",
        thread_name(),
        stats.polls,
        stats.parks,
        took.as_secs_f64() * 1e3
    );
    println!(
        "ch10-executor: {} tasks, {} polls, parked {} times, then returned",
        executor.spawned, executor.polls, executor.parks
    );
    if results.iter().any(Result::is_err) {
        return Err("a job failed".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn jobs_run_on_the_executor_thread_and_main_parks() {
        let (spawner, executor_thread) = start_executor_thread().unwrap();
        let (results, stats) = block_on_counted(three_jobs(spawner, Duration::from_millis(50)));
        let results: Vec<JobResult> = results.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            results.iter().map(|r| r.job).collect::<Vec<_>>(),
            ["answer", "sleeper", "text"]
        );
        assert!(results.iter().all(|r| r.thread == "ch10-executor"));
        assert_eq!(results[0].value, "42");
        assert!(stats.parks >= 1, "{stats:?}");
        assert!(stats.polls <= 6, "{stats:?}");
        let executor = executor_thread.join().unwrap();
        assert_eq!(executor.spawned, 3);
        assert_eq!(executor.completed, 3);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_tokio_task_awaits_ch10_jobs_while_tokio_keeps_running() {
        let (spawner, executor_thread) = start_executor_thread().unwrap();
        let ticks = Arc::new(AtomicU64::new(0));
        let ticker = {
            let ticks = Arc::clone(&ticks);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    ticks.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        let before = ticks.load(Ordering::SeqCst);
        let results = tokio::time::timeout(
            Duration::from_secs(10),
            tokio::spawn(three_jobs(spawner, Duration::from_millis(150))),
        )
        .await
        .expect("no hang")
        .unwrap();
        let during = ticks.load(Ordering::SeqCst) - before;
        ticker.abort();
        for result in &results {
            let job = result.as_ref().unwrap();
            assert_eq!(job.thread, "ch10-executor", "{job:?}");
        }
        // 150 ms of waiting at a 5 ms tick: tokio's thread was free the whole time.
        assert!(during >= 5, "only {during} ticks during the wait");
        tokio::task::spawn_blocking(move || executor_thread.join().unwrap())
            .await
            .unwrap();
    }
}
