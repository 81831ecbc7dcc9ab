//! `custom-executor`: hyper's `Executor` trait implemented on chapter 3's runtime (book sections
//! "Understanding Executors and Connectors" and "Integrating hyper into Our Async Runtime").
//!
//! hyper never spawns anything itself. Whenever it needs a future to keep running in the
//! background (above all the *connection driver*, the future that reads and writes one socket for
//! as long as the connection lives), it hands that future to an executor through
//! `hyper::rt::Executor::execute`. The trait is one method, and it is unchanged from hyper 0.14 to
//! 1.x, so our implementation is the book's: spawn the future on our own queues with
//! `ch03::spawn_task!` and *detach* the task. Detaching matters: the `Task` handle that
//! `spawn_task!` returns cancels the task when it is dropped, and `execute` returns nothing to
//! keep the handle in, so without `detach` hyper's connection would be cancelled as soon as
//! `execute` returned.
//!
//! Run it with `cargo run -p ch04 -- custom-executor`: three plain futures go through `execute`,
//! `main` keeps no handle to any of them, and still each reports the worker thread it ran on
//! (`high-*` and `low-*` are chapter 3's worker names).
//!
//! How we differ from the book: hyper-util's client stores the executor and clones it for every
//! connection, so `CustomExecutor` derives `Clone, Copy, Debug`; the message is not "sending
//! request" (hyper executes connection drivers, not requests), and we count the futures spawned
//! so the other demos and the tests can show that hyper really used our executor.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::demo::{Args, DemoResult};
use common::timeline::current_thread_name;

/// The book's executor: whatever hyper asks it to run becomes a detached task on `ch03::runtime`.
///
/// Book: a bare unit struct; hyper-util's client needs `Clone + Send + Sync`, so we derive
/// `Clone` and `Copy` (and `Debug` for readers' `{:?}`).
#[derive(Clone, Copy, Debug, Default)]
pub struct CustomExecutor;

impl<F: Future + Send + 'static> hyper::rt::Executor<F> for CustomExecutor {
    fn execute(&self, fut: F) {
        SPAWNED.fetch_add(1, Ordering::Relaxed);
        // Book: printed "sending request"; what hyper hands us is a background task (a
        // connection driver, for instance), not a request.
        println!("executor: spawned hyper background task");
        ch03::spawn_task!(async move {
            fut.await;
        })
        // Book: the prose says `detach` sends the task "to a loop" that polls it: it only gives up
        // the handle, so that dropping it no longer cancels the task. Our queues' wakers keep
        // scheduling it until it finishes, as with any other task.
        .detach();
    }
}

/// How many futures [`CustomExecutor::execute`] has spawned in this process.
// Book: no counter. An atomic static (never `static mut`) is safe to bump from any thread.
static SPAWNED: AtomicUsize = AtomicUsize::new(0);

impl CustomExecutor {
    /// How many futures `execute` has spawned so far, in this process, through any
    /// `CustomExecutor` (it is a unit struct: all values are the same executor).
    pub fn spawned() -> usize {
        SPAWNED.load(Ordering::Relaxed)
    }
}

/// How long `main` waits for each report before calling the run a failure.
const REPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the demo: `custom-executor`.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    // The book's numbers: 4 high and 2 low workers.
    crate::rt::start()?;
    let before = CustomExecutor::spawned();

    let (reports, received) = flume::unbounded();
    for n in 1..=3 {
        let reports = reports.clone();
        // A plain future, as hyper would hand us a connection driver; `execute` returns `()`.
        let future = async move {
            let _ = reports.send((n, current_thread_name()));
        };
        hyper::rt::Executor::execute(&CustomExecutor, future);
    }
    drop(reports);
    println!("main kept no handle to the three futures; waiting for their reports");

    let mut lines = Vec::new();
    for _ in 1..=3 {
        let (n, thread) = received
            .recv_timeout(REPORT_TIMEOUT)
            .map_err(|e| format!("a future executed by CustomExecutor never reported: {e}"))?;
        lines.push(format!("future {n} ran on {thread}"));
    }
    // They may finish in any order; print them in the order they were handed over.
    lines.sort();
    for line in lines {
        println!("{line}");
    }
    println!(
        "CustomExecutor spawned {} futures",
        CustomExecutor::spawned() - before
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::rt::Executor;
    use std::panic::{AssertUnwindSafe, catch_unwind};

    const WATCHDOG: Duration = Duration::from_secs(10);

    fn is_ch03_worker(name: &str) -> bool {
        name.starts_with("high-") || name.starts_with("low-")
    }

    #[test]
    fn an_executed_future_completes_on_a_ch03_worker_with_no_handle_kept() {
        crate::rt::start().unwrap();
        let (tx, rx) = flume::bounded(1);
        CustomExecutor.execute(async move {
            let _ = tx.send(current_thread_name());
        });
        let thread = rx.recv_timeout(WATCHDOG).expect("the future never ran");
        assert!(is_ch03_worker(&thread), "ran on {thread}");
    }

    #[test]
    fn a_hundred_executed_futures_all_complete() {
        crate::rt::start().unwrap();
        let (tx, rx) = flume::unbounded();
        for n in 0..100 {
            let tx = tx.clone();
            CustomExecutor.execute(async move {
                // A real await in the middle, so each future is parked and woken at least once.
                ch03::runtime::sleep(Duration::from_millis(1)).await;
                let _ = tx.send(n);
            });
        }
        drop(tx);
        let mut seen: Vec<u32> = (0..100)
            .map(|_| rx.recv_timeout(WATCHDOG).expect("a future was lost"))
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn a_panicking_future_does_not_stop_the_next_one() {
        crate::rt::start().unwrap();
        // `execute` itself must not panic: the panic happens later, inside the detached task,
        // where chapter 3's worker catches it (the message still appears on stderr).
        let executed = catch_unwind(AssertUnwindSafe(|| {
            CustomExecutor.execute(async {
                panic!("a hyper background task failed (expected in this test)");
            });
        }));
        assert!(executed.is_ok());
        let (tx, rx) = flume::bounded(1);
        CustomExecutor.execute(async move {
            let _ = tx.send("still running");
        });
        assert_eq!(rx.recv_timeout(WATCHDOG), Ok("still running"));
    }

    #[test]
    fn the_counter_grows_with_every_execute() {
        // Other tests in this binary execute futures concurrently, so only a lower bound is
        // exact here; `tests/custom_executor.rs` checks "one per execute" in a process of its own.
        crate::rt::start().unwrap();
        let before = CustomExecutor::spawned();
        for _ in 0..5 {
            CustomExecutor.execute(async {});
        }
        assert!(CustomExecutor::spawned() >= before + 5);
    }

    #[test]
    fn the_demo_runs_and_rejects_arguments() {
        run(Args::default()).unwrap();
        assert!(run(Args::from_iter(["--n", "3"])).is_err());
    }
}
