//! `local-set-non-send`: why pin tasks to a thread, and what tokio offers for it (book section
//! "Processing Tasks with Local Pools").
//!
//! The section lists what a local pool buys: futures that are not `Send` (an `Rc`, a `RefCell`),
//! thread affinity (state such as a cache that each thread computes once and its tasks reuse), no
//! lock to wait for when each thread keeps its own count (Figure 7-2), and a home for a resource
//! that is not thread-safe. It shows no code for them; this demo does, in three parts:
//!
//! 1. a `LocalSet` on a current-thread runtime runs three `spawn_local` tasks that each hold an
//!    `Rc<RefCell<Vec<_>>>` across an `.await` and append to it;
//! 2. the same on a `LocalRuntime` (stable since tokio 1.51), which is a current-thread runtime
//!    that accepts `!Send` tasks without a `LocalSet`; tokio-util 0.7.20's `LocalPoolHandle` runs
//!    one of these per pool thread;
//! 3. a two-thread `LocalPoolHandle`: ten tasks, pinned to thread `i % 2`, ask a thread-local
//!    `OnceCell` for an "expensive" value; it is computed twice, once per thread, for ten requests.
//!
//! Run it with `cargo run -p ch07 -- local-set-non-send`. You will see the two logs in spawn order,
//! each with the one thread that ran every task, the count of computations (2), and a chart of
//! the ten tasks on `pool-0` and `pool-1` in which each thread's first task is the long one.
//!
//! The half that must *not* compile: `tokio::spawn` may move a task between workers, so it demands
//! `Send`, and a future holding an `Rc` across an `.await` is refused:
//!
//! ```compile_fail
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let shared = std::rc::Rc::new(std::cell::RefCell::new(Vec::<&str>::new()));
//! tokio::spawn(async move {
//!     tokio::task::yield_now().await;
//!     shared.borrow_mut().push("moved to another thread?");
//! });
//! # }
//! ```
//!
//! and the same future is fine under `spawn_local`:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let shared = std::rc::Rc::new(std::cell::RefCell::new(Vec::<&str>::new()));
//! let local = tokio::task::LocalSet::new();
//! let task = local.spawn_local({
//!     let shared = shared.clone();
//!     async move {
//!         tokio::task::yield_now().await;
//!         shared.borrow_mut().push("stays on this thread");
//!     }
//! });
//! local.run_until(task).await.unwrap();
//! assert_eq!(*shared.borrow(), ["stays on this thread"]);
//! # }
//! ```

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::ThreadId;
use std::time::Duration;

use common::Timeline;
use common::demo::{Args, DemoResult};
use tokio::runtime::{Builder, LocalOptions};
use tokio::task::{JoinError, LocalSet};
use tokio_util::task::LocalPoolHandle;

use crate::pool_run::{ThreadNames, pool_thread_names};

/// What a run of local tasks left: the shared log in the order it was written, and the threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalLog {
    /// The entries the tasks appended.
    pub entries: Vec<&'static str>,
    /// The thread each entry was written on.
    pub threads: Vec<ThreadId>,
}

/// Spawns three `!Send` tasks with `spawn` (a `LocalSet`'s or a `LocalRuntime`'s): each appends its
/// name, holds the `Rc` across an `.await`, then notes the thread it resumed on.
async fn three_local_tasks(
    spawn: impl Fn(
        std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
    ) -> tokio::task::JoinHandle<()>,
) -> Result<LocalLog, JoinError> {
    let log: Rc<RefCell<LocalLog>> = Rc::new(RefCell::new(LocalLog {
        entries: Vec::new(),
        threads: Vec::new(),
    }));
    let mut handles = Vec::new();
    for name in ["first", "second", "third"] {
        let log = log.clone();
        handles.push(spawn(Box::pin(async move {
            log.borrow_mut().entries.push(name);
            // The `Rc` is held across this `.await`, which makes the future `!Send`.
            tokio::task::yield_now().await;
            log.borrow_mut().threads.push(std::thread::current().id());
        })));
    }
    for handle in handles {
        handle.await?;
    }
    let log = log.borrow().clone();
    Ok(log)
}

/// (1) A `LocalSet` on a current-thread runtime: `spawn_local` accepts `!Send` futures.
pub fn local_set_log() -> Result<LocalLog, Box<dyn std::error::Error + Send + Sync>> {
    let runtime = Builder::new_current_thread().enable_all().build()?;
    let local = LocalSet::new();
    let log = local.block_on(
        &runtime,
        three_local_tasks(|future| tokio::task::spawn_local(future)),
    )?;
    Ok(log)
}

/// (2) A `LocalRuntime`: the same tasks, with no `LocalSet`.
pub fn local_runtime_log() -> Result<LocalLog, Box<dyn std::error::Error + Send + Sync>> {
    let runtime = Builder::new_current_thread()
        .enable_all()
        .build_local(LocalOptions::default())?;
    let log = runtime.block_on(three_local_tasks(|future| tokio::task::spawn_local(future)))?;
    Ok(log)
}

thread_local! {
    /// (3) Each pool thread's cache of the expensive value.
    static CACHE: OnceCell<u64> = const { OnceCell::new() };
}

/// (3) The cached value: computed (slowly) on a thread's first request, reused after.
pub fn cached_value(computations: &AtomicUsize, cost: Duration) -> u64 {
    CACHE.with(|cache| {
        *cache.get_or_init(|| {
            computations.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(cost); // a stand-in for a computation or a fetch from a server
            (1..=20u64).product::<u64>() % 1_000_007
        })
    })
}

/// (3) What the ten cache requests did.
#[derive(Debug)]
pub struct CacheReport {
    /// How many times the value was computed.
    pub computations: usize,
    /// The value each task got (all equal).
    pub values: Vec<u64>,
    /// The thread each task ran on, by task.
    pub threads: Vec<ThreadId>,
}

/// (3) Ten tasks on a two-thread pool, task `i` pinned to thread `i % 2`, each asking the cache.
pub async fn cache_on_pool(
    pool: &LocalPoolHandle,
    cost: Duration,
    timeline: &Timeline,
) -> Result<CacheReport, JoinError> {
    let mut names = ThreadNames::new(pool_thread_names(pool).await?);
    let computations = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for i in 0..10 {
        let (computations, clock) = (computations.clone(), timeline.clone());
        let task = move || async move {
            let from = clock.now();
            let value = cached_value(&computations, cost);
            (i, value, std::thread::current().id(), from, clock.now())
        };
        handles.push(pool.spawn_pinned_by_idx(task, i % pool.num_threads()));
    }
    let mut report = CacheReport {
        computations: 0,
        values: Vec::new(),
        threads: Vec::new(),
    };
    for handle in handles {
        let (i, value, thread, from, to) = handle.await?;
        timeline.record(format!("request {}", i + 1), names.name(thread), from, to);
        report.values.push(value);
        report.threads.push(thread);
    }
    report.computations = computations.load(Ordering::SeqCst);
    Ok(report)
}

/// Runs the demo: `local-set-non-send`.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    for (title, log) in [
        ("LocalSet + spawn_local", local_set_log()?),
        ("LocalRuntime + spawn_local", local_runtime_log()?),
    ] {
        let one_thread = log.threads.iter().all(|t| *t == log.threads[0]);
        println!(
            "{title}: log {:?}, written by {}",
            log.entries,
            if one_thread && log.threads[0] == std::thread::current().id() {
                "one thread, the one that called `block_on`".to_string()
            } else if one_thread {
                format!("one thread, {:?}", log.threads[0])
            } else {
                format!("several threads {:?}", log.threads)
            }
        );
    }

    let runtime = Builder::new_current_thread().enable_all().build()?;
    let pool = LocalPoolHandle::new(2);
    let timeline = Timeline::new();
    let report = runtime.block_on(cache_on_pool(&pool, Duration::from_millis(20), &timeline))?;
    println!(
        "a two-thread pool, ten requests for the cached value: computed {} times (once per thread)",
        report.computations
    );
    println!("{}", timeline.render());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_set_runs_rc_tasks_in_spawn_order_on_one_thread() {
        let log = local_set_log().unwrap();
        assert_eq!(log.entries, ["first", "second", "third"]);
        assert!(
            log.threads
                .iter()
                .all(|t| *t == std::thread::current().id())
        );
    }

    #[test]
    fn a_local_runtime_does_the_same_without_a_local_set() {
        let log = local_runtime_log().unwrap();
        assert_eq!(log.entries, ["first", "second", "third"]);
        assert!(
            log.threads
                .iter()
                .all(|t| *t == std::thread::current().id())
        );
    }

    #[tokio::test]
    async fn the_per_thread_cache_is_computed_once_per_pool_thread() {
        let pool = LocalPoolHandle::new(2);
        let report = cache_on_pool(&pool, Duration::from_millis(1), &Timeline::new())
            .await
            .unwrap();
        assert_eq!(report.computations, 2);
        assert_eq!(report.values.len(), 10);
        assert!(report.values.iter().all(|v| *v == report.values[0]));
        assert_ne!(report.threads[0], report.threads[1]);
        for (i, thread) in report.threads.iter().enumerate() {
            assert_eq!(*thread, report.threads[i % 2]);
        }
    }
}
