//! `timeout-slow-task`: cancelling a future is dropping it (book section "Context in Futures").
//!
//! `tokio::time::timeout(limit, future)` is itself a future that polls two things: the wrapped
//! future and a timer. Whichever is ready first decides: the future's value comes back as `Ok`, or
//! the timer fires and the wrapped future is *dropped* (that is all cancelling is in Rust) and
//! `Err(Elapsed)` comes back. The book's `slow_task` waits 10 units, so a 3-unit timeout cancels
//! it at 3 units, and a 12-unit timeout lets it finish at 10.
//!
//! Because `timeout` acts only between polls, it cannot stop code that never returns from a poll.
//! Our addition shows both sides of that:
//!
//! - a future that blocks its thread for 3 units (`std::thread::sleep` inside `async`) under a
//!   1-unit timeout comes back `Ok` after 3 units: the deadline passed while it was being polled,
//!   and `timeout` polls the inner future before it looks at the timer, so nobody noticed;
//! - the same work moved to tokio's blocking pool with `spawn_blocking` times out at 1 unit, as
//!   the caller wanted; the pool thread, though, finishes the work anyway (it cannot be
//!   interrupted either), and tells us so on a channel a little later.
//!
//! Run it with `cargo run -p ch02 -- timeout-slow-task [--unit-ms N]`.
//!
//! How we differ from the book: its prose says that "the thread will end" when time is up. No
//! thread ends: the future is dropped and the thread that polled it moves on to other work; the
//! timeout applies to a future, not to a thread.

use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};
use tokio::sync::oneshot;
use tokio::task::JoinError;
use tokio::time::error::Elapsed;
use tokio::time::timeout;

use crate::units::{self, in_units, shown};

/// The book's slow task: ten units of non-blocking waiting, then a message.
pub async fn slow_task(unit: Duration) -> &'static str {
    tokio::time::sleep(10 * unit).await;
    "Slow Task Completed"
}

/// The book's `main`: [`slow_task`] under a timeout of `limit`, printing the outcome.
pub async fn slow_task_with_timeout(
    limit: Duration,
    unit: Duration,
) -> Result<&'static str, Elapsed> {
    // Book: the prose says the thread ends when the time is up; what happens is that `timeout`
    // drops `slow_task`'s future, and the thread that was polling it goes on with other work.
    let result = timeout(limit, slow_task(unit)).await;
    match result {
        Ok(value) => println!("Task completed successfully: {value}"),
        Err(_) => println!("Task timed out"),
    }
    result
}

/// Ours: a future whose work blocks its thread for `work` (a `std::thread::sleep` in `async`).
pub async fn blocking_task(work: Duration) -> &'static str {
    // Blocking inside `async` on purpose: the point is that a timeout cannot interrupt it.
    std::thread::sleep(work);
    "Blocking Task Completed"
}

/// Ours: the same work on tokio's blocking pool, awaited under a timeout of `limit`.
///
/// Returns the timeout's result and a channel on which the pool thread sends the moment it
/// finished the work, which it does whether or not anyone is still waiting for it.
pub async fn offloaded_with_timeout(
    limit: Duration,
    work: Duration,
) -> (
    Result<Result<&'static str, JoinError>, Elapsed>,
    oneshot::Receiver<Instant>,
) {
    let (done_tx, done_rx) = oneshot::channel();
    // Book: the closing line of the section suggests offloading CPU-heavy work to a thread pool;
    // this is that, and it shows what a timeout on it does: it stops the *waiting*, not the work.
    let handle = tokio::task::spawn_blocking(move || {
        std::thread::sleep(work);
        let _ = done_tx.send(Instant::now());
        "Blocking Task Completed"
    });
    (timeout(limit, handle).await, done_rx)
}

/// Runs the demo: `timeout-slow-task [--unit-ms N]`.
pub fn run(mut args: Args) -> DemoResult {
    let unit = units::unit_arg(&mut args)?;
    args.finish()?;
    // The book's `#[tokio::main]`: a multi-thread runtime.
    let runtime = units::multi_thread(2)?;
    runtime.block_on(demo(unit))
}

async fn demo(unit: Duration) -> DemoResult {
    let took = |start: Instant| in_units(start.elapsed(), unit);

    println!("1. slow_task (10 units) under a 3-unit timeout");
    let start = Instant::now();
    let result = slow_task_with_timeout(3 * unit, unit).await;
    println!(
        "   → {} after {:.1} units (book: 3 s): the sleeping future was dropped",
        shown(&result),
        took(start)
    );

    println!("\n2. slow_task under a 12-unit timeout");
    let start = Instant::now();
    let result = slow_task_with_timeout(12 * unit, unit).await;
    println!("   → {} after {:.1} units", shown(&result), took(start));

    println!("\n3. ours: 3 units of blocking work inside a future, under a 1-unit timeout");
    let start = Instant::now();
    let result = timeout(unit, blocking_task(3 * unit)).await;
    println!(
        "   → {} after {:.1} units: the deadline passed during the poll, unnoticed",
        shown(&result),
        took(start)
    );

    println!("\n   the same work in spawn_blocking, under a 1-unit timeout");
    let start = Instant::now();
    let (result, done) = offloaded_with_timeout(unit, 3 * unit).await;
    let gave_up = took(start);
    let result = result.map(|joined| joined.map_err(|e| e.to_string()));
    println!(
        "   → {} after {gave_up:.1} units: we stopped waiting…",
        shown(&result)
    );
    let done_at = done
        .await
        .map_err(|_| "the blocking pool dropped the job")?;
    println!(
        "   …but the pool thread finished the work anyway, at {:.1} units",
        in_units(done_at.duration_since(start), unit)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "To the millisecond": tokio's timer wheel rounds a deadline up to the next millisecond.
    fn assert_about(elapsed: Duration, expected: Duration) {
        assert!(
            expected <= elapsed && elapsed <= expected + Duration::from_millis(1),
            "{elapsed:?} is not {expected:?} to the millisecond"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_three_second_timeout_drops_slow_task_at_three_seconds() {
        let start = tokio::time::Instant::now();
        let result = slow_task_with_timeout(Duration::from_secs(3), Duration::from_secs(1)).await;
        assert!(result.is_err(), "{result:?}");
        assert_about(start.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_twelve_second_timeout_lets_slow_task_finish_at_ten() {
        let start = tokio::time::Instant::now();
        let result = slow_task_with_timeout(Duration::from_secs(12), Duration::from_secs(1)).await;
        assert_eq!(result, Ok("Slow Task Completed"));
        assert_about(start.elapsed(), Duration::from_secs(10));
    }

    const UNIT: Duration = Duration::from_millis(20);

    #[tokio::test]
    async fn a_timeout_cannot_interrupt_a_future_that_blocks() {
        let start = Instant::now();
        let result = timeout(UNIT, blocking_task(3 * UNIT)).await;
        let elapsed = start.elapsed();
        assert_eq!(result, Ok("Blocking Task Completed"));
        assert!(elapsed >= 3 * UNIT, "{elapsed:?}");
        assert!(elapsed < 6 * UNIT, "{elapsed:?}");
    }

    #[tokio::test]
    async fn spawn_blocking_times_out_and_the_pool_thread_finishes_later() {
        let start = Instant::now();
        let (result, done) = offloaded_with_timeout(UNIT, 10 * UNIT).await;
        let gave_up = Instant::now();
        assert!(result.is_err(), "{result:?}");
        assert!(gave_up - start >= UNIT);

        let done_at = timeout(Duration::from_secs(30), done)
            .await
            .expect("the blocking work never finished")
            .expect("the blocking pool dropped the job");
        assert!(
            done_at > gave_up,
            "the work finished after we stopped waiting"
        );
        assert!(done_at - start >= 10 * UNIT);
    }
}
