//! `virtual-time-backoff`: testing timing logic to the millisecond on tokio's paused clock (extra,
//! after the chapter: "controlling time in tests").
//!
//! Chapter 9's retry pattern waits longer after each failure: here 100, 200, 400 and 800 ms
//! between five attempts. Testing that with real time would cost 1.5 s per run and could only
//! check rough bounds. This demo combines the chapter's three tools instead:
//!
//! - the dependency is the async mock of `async-mock-trait`, scripted in a `Sequence` to fail three
//!   times and then answer, and it writes down the (virtual) instant of every call;
//! - the runtime's clock is paused (`start_paused`), so time moves only when every task is idle
//!   (straight to the next timer) or when the test calls `tokio::time::advance`;
//! - `tokio_test::task::spawn` lets the test poll the retry loop by hand between two advances and
//!   ask whether a timer woke it.
//!
//! The test advances 99 ms and sees that nothing woke the loop, advances 1 ms more and sees the
//! second attempt: the delays are checked exactly, and the whole test takes microseconds.
//!
//! Run it with `cargo run -p ch11 -- virtual-time-backoff`; the tests are `cargo test -p ch11
//! virtual_time_backoff`.

use std::sync::{Arc, Mutex};

use common::demo::{Args, DemoResult};
use mockall::Sequence;
use tokio::time::{Duration, Instant, sleep};

use crate::async_mock_trait::{AsyncProcess, MockDatabaseHandler};

/// Chapter 9's retry with exponential backoff, over the async interface: asks `process` for the
/// result of `input` up to `attempts` times, sleeping `first_delay`, then twice that, and so on
/// between attempts. Returns the first success, or the last error once every attempt failed.
pub async fn retry_with_backoff<T>(
    process: &T,
    input: i32,
    attempts: u32,
    first_delay: Duration,
) -> Result<i32, String>
where
    T: AsyncProcess<i32, i32>,
{
    let mut delay = first_delay;
    let mut count = 0;
    loop {
        match process.get_result(input).await {
            Ok(value) => return Ok(value),
            Err(err) => {
                count += 1;
                if count >= attempts {
                    return Err(format!("gave up after {count} attempts: {err}"));
                }
            }
        }
        sleep(delay).await;
        delay *= 2;
    }
}

/// How many times to try in all.
pub const ATTEMPTS: u32 = 5;
/// The wait after the first failure; it doubles after each further one.
pub const FIRST_DELAY: Duration = Duration::from_millis(100);

/// The instants at which a mock was called, written by the mock itself.
#[derive(Clone, Default)]
pub struct CallTimes(Arc<Mutex<Vec<Instant>>>);

impl CallTimes {
    fn record(&self) {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(Instant::now());
    }

    /// Each call's time since `start`.
    pub fn since(&self, start: Instant) -> Vec<Duration> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .map(|at| at.duration_since(start))
            .collect()
    }
}

/// A dependency that is busy `failures` times, then answers `Ok(answer)`: exactly
/// `failures + 1` calls are expected, in that order.
pub fn flaky(failures: usize, answer: i32, calls: &CallTimes) -> MockDatabaseHandler {
    let mut seq = Sequence::new();
    let mut handle = MockDatabaseHandler::new();
    let busy = calls.clone();
    handle
        .expect_get_result()
        .times(failures)
        .in_sequence(&mut seq)
        .returning(move |_| {
            busy.record();
            Box::pin(async { Err("busy".to_string()) })
        });
    let ready = calls.clone();
    handle
        .expect_get_result()
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |_| {
            ready.record();
            Box::pin(async move { Ok(answer) })
        });
    handle
}

/// A dependency that fails every time; exactly `calls` calls are expected.
pub fn always_down(expected_calls: usize, calls: &CallTimes) -> MockDatabaseHandler {
    let mut handle = MockDatabaseHandler::new();
    let calls = calls.clone();
    handle
        .expect_get_result()
        .times(expected_calls)
        .returning(move |_| {
            calls.record();
            Box::pin(async { Err("down".to_string()) })
        });
    handle
}

fn millis(times: &[Duration]) -> String {
    let shown: Vec<String> = times
        .iter()
        .map(|t| format!("{} ms", t.as_millis()))
        .collect();
    shown.join(", ")
}

/// Runs the demo: `virtual-time-backoff` (no arguments).
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()?;

    println!(
        "retry_with_backoff: {ATTEMPTS} attempts, waits of 100, 200, 400, 800 ms, on the paused clock"
    );
    for (label, failures) in [
        ("1. busy three times, then 42", Some(3)),
        ("2. always down", None),
    ] {
        println!("\n{label}");
        let calls = CallTimes::default();
        let real = std::time::Instant::now();
        let (outcome, start, took) = runtime.block_on(async {
            let start = Instant::now();
            let outcome = match failures {
                Some(failures) => {
                    let mock = flaky(failures, 42, &calls);
                    retry_with_backoff(&mock, 4, ATTEMPTS, FIRST_DELAY).await
                }
                None => {
                    let mock = always_down(ATTEMPTS as usize, &calls);
                    retry_with_backoff(&mock, 4, ATTEMPTS, FIRST_DELAY).await
                }
            }; // the mock is dropped here, which checks how often it was called
            (outcome, start, start.elapsed())
        });
        let real = real.elapsed();
        println!(
            "   the mock was called at (virtual) {}",
            millis(&calls.since(start))
        );
        println!(
            "   → {outcome:?} at {} ms virtual, in {} µs of real time",
            took.as_millis(),
            real.as_micros()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use tokio::time::advance;
    use tokio_test::{assert_pending, assert_ready_eq, task};

    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[tokio::test(start_paused = true)]
    async fn each_wait_is_exact_to_the_millisecond() {
        let calls = CallTimes::default();
        let mock = flaky(3, 42, &calls);
        let start = Instant::now();
        let mut retry = task::spawn(retry_with_backoff(&mock, 4, ATTEMPTS, FIRST_DELAY));

        assert_pending!(retry.poll()); // attempt 1 failed at once; now waiting 100 ms
        assert_eq!(calls.since(start), [Duration::ZERO]);

        // Each wait doubles: 100, 200, 400 ms. One millisecond early, nothing has woken the loop.
        for (attempt, wait) in [(2, 100), (3, 200), (4, 400)] {
            advance((wait - 1) * MS).await;
            assert!(
                !retry.is_woken(),
                "attempt {attempt}: woken before {wait} ms"
            );
            advance(MS).await;
            assert!(
                retry.is_woken(),
                "attempt {attempt}: not woken at {wait} ms"
            );
            if attempt < 4 {
                assert_pending!(retry.poll()); // this attempt fails too
            } else {
                assert_ready_eq!(retry.poll(), Ok(42));
            }
            assert_eq!(calls.since(start).len(), attempt);
        }
        assert_eq!(start.elapsed(), Duration::from_millis(700));
        assert_eq!(
            calls.since(start),
            [0, 100, 300, 700].map(Duration::from_millis)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_five_attempts_at_exactly_1500_ms() {
        let calls = CallTimes::default();
        let mock = always_down(5, &calls);
        let start = Instant::now();
        let outcome = retry_with_backoff(&mock, 4, ATTEMPTS, FIRST_DELAY).await;
        assert_eq!(outcome, Err("gave up after 5 attempts: down".to_string()));
        assert_eq!(start.elapsed(), Duration::from_millis(1500));
        assert_eq!(
            calls.since(start),
            [0, 100, 300, 700, 1500].map(Duration::from_millis)
        );
        drop(mock); // checks `.times(5)`
    }

    #[tokio::test(start_paused = true)]
    async fn a_first_time_success_does_not_wait() {
        let calls = CallTimes::default();
        let mock = flaky(0, 7, &calls);
        let start = Instant::now();
        assert_eq!(
            retry_with_backoff(&mock, 4, ATTEMPTS, FIRST_DELAY).await,
            Ok(7)
        );
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[test]
    fn the_demo_runs() {
        run(Args::default()).unwrap();
    }
}
