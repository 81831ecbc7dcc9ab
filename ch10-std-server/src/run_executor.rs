//! `run-executor` ("Running Our Executor"): two counting futures interleave on one thread.
//!
//! `CountingFuture` counts its polls, wakes itself and returns `Pending` until its fourth poll.
//! Two of them on one executor take turns — each wake puts the task at the back of the ready
//! queue — and print the book's nine lines. Our `Executor::run` returns as soon as both are done
//! (nothing is left spinning), so `Result: 4` always comes last. Run it with
//! `cargo run -p ch10 -- run-executor`.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use common::demo::{Args, DemoResult};

use crate::async_runtime::Executor;

/// Where a `CountingFuture` writes its lines: stdout, or a shared list (for tests).
pub type Lines = Option<Arc<Mutex<Vec<String>>>>;

/// The book's counting future: `Pending` (after waking itself) until `count` reaches 4.
pub struct CountingFuture {
    /// Polls so far.
    pub count: i32,
    /// Where the lines go (`None`: printed).
    pub log: Lines,
}

impl Future for CountingFuture {
    type Output = i32;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.count += 1;
        if self.count == 4 {
            self.say("CountingFuture is done!".to_string());
            Poll::Ready(self.count)
        } else {
            cx.waker().wake_by_ref();
            self.say(format!("CountingFuture is not done yet! {}", self.count));
            Poll::Pending
        }
    }
}

impl CountingFuture {
    fn say(&self, line: String) {
        emit(&self.log, line);
    }
}

fn emit(log: &Lines, line: String) {
    match log {
        Some(lines) => lines.lock().unwrap_or_else(|e| e.into_inner()).push(line),
        None => println!("{line}"),
    }
}

/// The book's `main`: spawn two counters, run the executor, print the first result.
/// Returns the executor's poll count.
pub fn run_counters(log: Lines) -> Result<u64, crate::async_runtime::JoinError> {
    let counter = CountingFuture {
        count: 0,
        log: log.clone(),
    };
    let counter_two = CountingFuture {
        count: 0,
        log: log.clone(),
    };
    let mut executor = Executor::new();
    let handle = executor.spawn(counter);
    let _handle_two = executor.spawn(counter_two);
    // Book: the book polls on a spawned thread in an endless loop that is never joined (a core at
    // 100 % until the process exits), so its second `done!` line races with `Result: 4` and may
    // never print; `run` returns once both tasks are done, so our order is fixed.
    executor.run();
    let result = handle.join()?;
    emit(&log, format!("Result: {result}"));
    Ok(executor.stats().polls)
}

/// Runs the demo.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    run_counters(None)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::async_runtime::test_support::within;

    #[test]
    fn run_executor_prints_the_books_nine_lines_in_order() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let log = Some(Arc::clone(&lines));
        let polls = within(Duration::from_secs(5), move || run_counters(log)).unwrap();
        assert_eq!(
            *lines.lock().unwrap(),
            [
                "CountingFuture is not done yet! 1",
                "CountingFuture is not done yet! 1",
                "CountingFuture is not done yet! 2",
                "CountingFuture is not done yet! 2",
                "CountingFuture is not done yet! 3",
                "CountingFuture is not done yet! 3",
                "CountingFuture is done!",
                "CountingFuture is done!",
                "Result: 4",
            ]
        );
        assert_eq!(polls, 8);
    }
}
