//! `pin-index-tokio-sleep`: three tasks pinned to thread 0, with an async sleep (book section
//! "Processing Tasks with Local Pools").
//!
//! Swap `std::thread::sleep` for `tokio::time::sleep` and the one pinned thread no longer waits:
//! each task prints its start, hands the thread back at the `.await`, and the next task starts.
//! All three start before any finishes, yet they never leave thread 0, so the counter they bump
//! is one counter, climbing 2, 3, 4.
//!
//! Run it with `cargo run -p ch07 -- pin-index-tokio-sleep [--work-ms MS]`. You will see `one`,
//! `two`, `three`, then `Counter: 2`, `3`, `4` and `result: 6`, and a chart of three overlapping
//! bars, all on `pool-0`, about 100 ms in all.

use common::demo::{Args, DemoResult};

use crate::local_pool_one_thread::{COUNTER, work_arg};
use crate::pool_run::{Pause, Placement, SleepKind, Transcript, run_pool};

/// The book's `something` with the sleep swapped for tokio's: the thread is free while it waits.
pub async fn something(number: u32, pause: &Pause, out: &Transcript) -> u32 {
    pause.wait().await;
    // Nothing is awaited between the bump and the read, so no other task can run in between.
    let counter = COUNTER.with(|counter| {
        *counter.borrow_mut() += 1;
        *counter.borrow()
    });
    out.counter(number, counter);
    number
}

/// Runs the demo: `pin-index-tokio-sleep [--work-ms MS]`.
pub fn run(mut args: Args) -> DemoResult {
    let work = work_arg(&mut args)?;
    args.finish()?;
    let mut report = run_pool(3, Placement::Index(0), SleepKind::Tokio, work)?;
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
    fn one_pinned_thread_interleaves_three_tasks_and_one_counter_reaches_four() {
        // An async barrier for three: it opens only once all three tasks have started and are
        // waiting, which one thread can only manage by interleaving them.
        let report = watchdog(Duration::from_secs(10), "interleaved tasks", || {
            run_pool(3, Placement::Index(0), SleepKind::Tokio, Work::Meet).unwrap()
        });
        assert_eq!(report.result, 6);
        let sequence = report.sequence();
        assert_eq!(sequence[..3], ["S1", "S2", "S3"], "{sequence:?}");
        let mut counters = report.counters();
        counters.sort_unstable();
        assert_eq!(counters, [2, 3, 4]);
        assert_eq!(report.counter_threads().len(), 1);
    }
}
