//! Helper: run a future as a task on chapter 3's runtime, under a watchdog.
//!
//! Every hyper demo does what the book's `main` does (spawn a task with `spawn_task!`, then
//! `block_on` it) against a server that might never answer: a reader's `--url`, or a test's
//! peer after a regression. A race against `ch03::runtime::sleep` turns "hangs forever" into an
//! error that names the limit.

use std::fmt;
use std::future::Future;
use std::time::Duration;

/// The future did not finish within the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut(pub Duration);

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no result within {:?}", self.0)
    }
}

impl std::error::Error for TimedOut {}

/// `future`'s output, or `Err(TimedOut)` once `limit` has passed (the future is then dropped).
pub async fn within<T>(limit: Duration, future: impl Future<Output = T>) -> Result<T, TimedOut> {
    let finished = async { Ok(future.await) };
    let timeout = async {
        ch03::runtime::sleep(limit).await;
        Err(TimedOut(limit))
    };
    futures_lite::future::or(finished, timeout).await
}

/// Spawns `future` on chapter 3's runtime (started with the book's numbers), blocks until it
/// finishes, and gives up after `limit`.
pub fn run_task<T, F>(limit: Duration, future: F) -> Result<T, TimedOut>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    // A conflict can only come from code outside this chapter starting the runtime with other
    // numbers; the task then runs on those workers, which is still correct.
    let _ = crate::rt::start();
    let task = ch03::spawn_task!(within(limit, future));
    futures_lite::future::block_on(task)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quick_future_gives_its_output_and_a_stuck_one_times_out() {
        assert_eq!(run_task(Duration::from_secs(5), async { 7 }), Ok(7));
        let limit = Duration::from_millis(20);
        let stuck = run_task(limit, std::future::pending::<()>());
        assert_eq!(stuck, Err(TimedOut(limit)));
        assert_eq!(stuck.unwrap_err().to_string(), "no result within 20ms");
    }
}
