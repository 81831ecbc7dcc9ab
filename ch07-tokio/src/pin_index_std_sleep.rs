//! `pin-index-std-sleep`: `spawn_pinned_by_idx(.., 0)` on a three-thread pool, with a blocking
//! sleep (book section "Processing Tasks with Local Pools").
//!
//! `spawn_pinned_by_idx` skips the load balancing and sends a task to one chosen thread. Send all
//! three tasks to thread 0 and the other two threads sit idle: with a `something` that blocks,
//! the tasks are serial again, exactly as on a one-thread pool (counters 2, 3, 4).
//!
//! The section then warns that blocking hurts more on a local pool, since no other thread can
//! steal the waiting tasks, and that `spawn_blocking` avoids it, without a listing. Variant B is
//! that listing: [`something_off_thread`] moves the blocking call to tokio's blocking pool and
//! awaits it, so the pinned thread is free to start the next task. The three blocking parts
//! overlap on blocking threads while every counter update still happens on `pool-0`.
//!
//! Run it with `cargo run -p ch07 -- pin-index-std-sleep [--work-ms MS]`. You will see the book's
//! seven lines and three bars end to end on `pool-0` (A, about 3 × 100 ms), then B: three short
//! bars on `pool-0`, three overlapping blocking parts on `blocking-1…3`, about 100 ms in all. Last,
//! index 3 on the three-thread pool gives an error instead of tokio-util's panic.

use std::future::Future;

use common::demo::{Args, DemoResult};
use tokio::task::JoinHandle;
use tokio_util::task::LocalPoolHandle;

use crate::local_pool_one_thread::{COUNTER, work_arg};
use crate::pool_run::{NoSuchThread, Pause, Placement, SleepKind, Transcript, run_pool};

/// The book's `pool.spawn_pinned_by_idx(create, index)`, with the index checked first.
// Book: `spawn_pinned_by_idx` panics on an index the pool does not have; this returns an error.
pub fn spawn_on_thread<F, Fut>(
    pool: &LocalPoolHandle,
    create: F,
    index: usize,
) -> Result<JoinHandle<Fut::Output>, NoSuchThread>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future + 'static,
    Fut::Output: Send + 'static,
{
    let threads = pool.num_threads();
    if index >= threads {
        return Err(NoSuchThread { index, threads });
    }
    Ok(pool.spawn_pinned_by_idx(create, index))
}

/// Variant B: `something` with its blocking wait moved onto tokio's blocking pool.
///
/// The pinned task awaits the blocking call instead of making it, so its thread can run other
/// pinned tasks meanwhile; the counter is still bumped on the pinned thread, after the await.
pub async fn something_off_thread(number: u32, pause: &Pause, out: &Transcript) -> u32 {
    let (pause, log) = (pause.clone(), out.clone());
    let blocking = tokio::task::spawn_blocking(move || {
        let from = log.now();
        pause.block();
        log.blocked(number, from);
    });
    // The closure can only fail by panicking: pass that panic on to whoever awaits this task.
    if let Err(failed) = blocking.await {
        std::panic::resume_unwind(failed.into_panic());
    }
    let counter = COUNTER.with(|counter| {
        *counter.borrow_mut() += 1;
        *counter.borrow()
    });
    out.counter(number, counter);
    number
}

/// Runs the demo: `pin-index-std-sleep [--work-ms MS]`.
pub fn run(mut args: Args) -> DemoResult {
    let work = work_arg(&mut args)?;
    args.finish()?;

    println!("A. the book: three tasks pinned to thread 0 of 3, each blocking its thread");
    let mut book = run_pool(3, Placement::Index(0), SleepKind::Std, work)?;
    book.print();

    println!("B. the same, with the blocking wait inside `spawn_blocking`");
    let mut off = run_pool(3, Placement::Index(0), SleepKind::SpawnBlocking, work)?;
    off.print();

    let pool = LocalPoolHandle::new(3);
    match spawn_on_thread(&pool, || async {}, 3) {
        Err(e) => println!("index 3 on a three-thread pool: error: {e}"),
        Ok(_) => return Err("index 3 of a three-thread pool was accepted".into()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::pool_run::Work;
    use crate::threads::watchdog;

    #[test]
    fn pinned_to_index_zero_the_blocking_tasks_are_serial_again() {
        let work = Work::Sleep(Duration::from_millis(5));
        let report = run_pool(3, Placement::Index(0), SleepKind::Std, work).unwrap();
        assert_eq!(report.result, 6);
        assert_eq!(report.counters(), [2, 3, 4]);
        assert_eq!(report.counter_threads().len(), 1);
        assert_eq!(report.sequence(), ["S1", "C1", "S2", "C2", "S3", "C3"]);
    }

    #[test]
    fn spawn_blocking_lets_the_blocking_parts_overlap_while_counters_stay_on_thread_zero() {
        // The three blocking parts meet at a barrier for three: it opens only if they all run at
        // once. If they were serial it would never open, so the watchdog fails the test.
        let report = watchdog(Duration::from_secs(10), "blocking parts", || {
            run_pool(3, Placement::Index(0), SleepKind::SpawnBlocking, Work::Meet).unwrap()
        });
        assert_eq!(report.result, 6);
        let mut counters = report.counters();
        counters.sort_unstable();
        assert_eq!(
            counters,
            [2, 3, 4],
            "one thread's counter, bumped three times"
        );
        assert_eq!(report.counter_threads().len(), 1);
        assert_eq!(report.loads, [3, 0, 0]);
    }

    #[tokio::test]
    async fn an_index_past_the_pool_is_an_error_not_a_panic() {
        let pool = LocalPoolHandle::new(3);
        let err = spawn_on_thread(&pool, || async {}, 3).unwrap_err();
        assert_eq!(
            err,
            NoSuchThread {
                index: 3,
                threads: 3
            }
        );
        assert!(err.to_string().contains("no thread 3"), "{err}");
        spawn_on_thread(&pool, || async {}, 2)
            .unwrap()
            .await
            .unwrap();
    }
}
