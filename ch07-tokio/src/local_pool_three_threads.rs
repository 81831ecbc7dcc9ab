//! `local-pool-three-threads`: the same three tasks on a pool of three threads (book section
//! "Processing Tasks with Local Pools").
//!
//! `spawn_pinned` sends each new task to the pool thread with the fewest tasks at that moment. The
//! three spawns come faster than any task finishes, so each lands on its own thread: they run side
//! by side, and each bumps a fresh thread-local counter from 1 to 2.
//!
//! Run it with `cargo run -p ch07 -- local-pool-three-threads [--work-ms MS]`. You will see the
//! three start lines, three `Counter: 2` lines, `result: 6`, the loads `[1, 1, 1]` read right after
//! spawning, and a chart of three parallel bars on `pool-0`, `pool-1` and `pool-2`.
//!
//! How we differ from the book: its printout (`one`, `three`, `two`) looks like a fixed order;
//! three threads start in whatever order the OS runs them, so the order changes from run to run.

use common::demo::{Args, DemoResult};
use tokio_util::task::LocalPoolHandle;

use crate::local_pool_one_thread::work_arg;
use crate::pool_run::{Placement, SleepKind, run_pool};

/// The book's change for this demo: a pool of three threads instead of one.
pub fn three_thread_pool() -> LocalPoolHandle {
    LocalPoolHandle::new(3)
}

/// Runs the demo: `local-pool-three-threads [--work-ms MS]`.
pub fn run(mut args: Args) -> DemoResult {
    let work = work_arg(&mut args)?;
    args.finish()?;
    // Book: prints `one`, `three`, `two` as if that order were fixed; it varies run to run.
    let mut report = run_pool(
        three_thread_pool().num_threads(),
        Placement::LeastBusy,
        SleepKind::Std,
        work,
    )?;
    report.print();
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::pool_run::Work;
    use crate::threads::watchdog;

    #[test]
    fn three_threads_run_the_three_tasks_side_by_side_each_on_a_fresh_counter() {
        // The tasks block at a barrier for three: it opens only if all three run at once, which
        // needs three different threads. On one thread it would never open, hence the watchdog.
        let report = watchdog(Duration::from_secs(10), "three pinned tasks", || {
            run_pool(3, Placement::LeastBusy, SleepKind::Std, Work::Meet).unwrap()
        });
        assert_eq!(report.result, 6);
        assert_eq!(report.counters(), [2, 2, 2]);
        assert_eq!(report.counter_threads().len(), 3);
        // The barrier holds every task until all three were spawned, so the loads are exact.
        assert_eq!(report.loads, [1, 1, 1]);
    }
}
