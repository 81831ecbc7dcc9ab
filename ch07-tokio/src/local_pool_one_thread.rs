//! `local-pool-one-thread`: tokio-util's `LocalPoolHandle` with one thread (book section
//! "Processing Tasks with Local Pools").
//!
//! `spawn_pinned` pins a task to one pool thread for its whole life. It never moves, so it may use
//! that thread's `thread_local!` state and values that are not `Send`; the price is that no other
//! thread can steal it when its thread is busy. With one thread and a `something` that blocks
//! (`std::thread::sleep`), the three tasks run strictly one after another, and each finds the
//! counter left by the one before: 2, 3, 4.
//!
//! Run it with `cargo run -p ch07 -- local-pool-one-thread [--work-ms MS]`. You will see the book's
//! seven lines (`one`, `Counter: 2 for: 1`, … `result: 6`), the pool's task loads, and a chart of
//! three bars end to end on `pool-0`.
//!
//! The three spawns, [`spawn_three`], serve all four local-pool demos; [`crate::pool_run`] builds
//! the pool and the runtime, names the pool threads and draws the chart.
//!
//! How we differ from the book: its prose says each task blocks for one second, its code sleeps
//! three; we sleep 100 ms. It also names a third runtime flavor, `MultiThreadAlt`: tokio 1.45
//! removed it, and today's `RuntimeFlavor` has `CurrentThread` and `MultiThread`, while
//! `#[tokio::main(flavor = "local")]` (tokio 1.51) starts a `LocalRuntime`.

use std::cell::RefCell;
use std::time::Duration;

use common::demo::{Args, DemoResult};
use tokio::task::JoinHandle;
use tokio_util::task::LocalPoolHandle;

use crate::pool_run::{
    NoSuchThread, Pause, Placement, SleepKind, Transcript, Work, run_pool, spawn_placed,
};

thread_local! {
    /// The book's per-thread counter, starting at 1 on every thread.
    pub static COUNTER: RefCell<u32> = const { RefCell::new(1) };
}

/// The book's `something`: block the thread, bump this thread's counter, print it, return `number`.
// Book: the prose says one second, the code sleeps three; `pause` is 100 ms in the demo, or a
// barrier in the tests.
pub async fn something(number: u32, pause: &Pause, out: &Transcript) -> u32 {
    pause.block();
    let counter = COUNTER.with(|counter| {
        *counter.borrow_mut() += 1;
        *counter.borrow()
    });
    out.counter(number, counter);
    number
}

/// The book's three `spawn_pinned` calls, each printing its number and awaiting `something`.
///
/// `placement` and `kind` choose between the four demos of the section: this one is
/// `LeastBusy` on a one-thread pool with the blocking `something`.
// Book: `tokio-util = { version = "0.7.10", features = ["full"] }`; `LocalPoolHandle` needs only
// the `rt` feature (we use tokio-util 0.7.20).
pub fn spawn_three(
    pool: &LocalPoolHandle,
    placement: Placement,
    kind: SleepKind,
    pause: &Pause,
    out: &Transcript,
) -> Result<[JoinHandle<u32>; 3], NoSuchThread> {
    let task = |number: u32| {
        let (pause, out) = (pause.clone(), out.clone());
        move || async move {
            out.start(number);
            match kind {
                SleepKind::Std => something(number, &pause, &out).await,
                SleepKind::Tokio => {
                    crate::pin_index_tokio_sleep::something(number, &pause, &out).await
                }
                SleepKind::SpawnBlocking => {
                    crate::pin_index_std_sleep::something_off_thread(number, &pause, &out).await
                }
            }
        }
    };
    let one = spawn_placed(pool, placement, task(1))?;
    let two = spawn_placed(pool, placement, task(2))?;
    let three = spawn_placed(pool, placement, task(3))?;
    Ok([one, two, three])
}

/// The demos' `--work-ms` (the book's 3 s sleep, scaled).
pub fn work_arg(args: &mut Args) -> Result<Work, common::demo::UsageError> {
    let ms = args.value_in("work-ms", 100u64, 1..=10_000)?;
    Ok(Work::Sleep(Duration::from_millis(ms)))
}

/// Runs the demo: `local-pool-one-thread [--work-ms MS]`.
// Book: names a third, unstable runtime flavor, `MultiThreadAlt`; tokio 1.45 removed it, and
// `RuntimeFlavor` now has `CurrentThread` and `MultiThread`, while `#[tokio::main(flavor =
// "local")]` (tokio 1.51) starts a `LocalRuntime`.
pub fn run(mut args: Args) -> DemoResult {
    let work = work_arg(&mut args)?;
    args.finish()?;
    let mut report = run_pool(1, Placement::LeastBusy, SleepKind::Std, work)?;
    report.print();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_thread_runs_the_blocking_tasks_in_turn_and_the_counter_climbs() {
        let report = run_pool(
            1,
            Placement::LeastBusy,
            SleepKind::Std,
            Work::Sleep(Duration::from_millis(5)),
        )
        .unwrap();
        assert_eq!(report.result, 6);
        assert_eq!(report.counters(), [2, 3, 4]);
        assert_eq!(report.counter_threads().len(), 1);
        // Each task starts only after the previous one printed its counter.
        assert_eq!(report.sequence(), ["S1", "C1", "S2", "C2", "S3", "C3"]);
    }
}
