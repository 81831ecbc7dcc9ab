//! `join-handle` ("Building Our Executor"): getting a task's result back.
//!
//! The code is in [`crate::async_runtime::join`]: `JoinHandle<T>` is a one-shot slot shared by
//! the task and whoever waits for it. A plain thread calls `join()`, which blocks; a task
//! `.await`s the handle, which parks only that task. A panic inside the task is caught by the
//! executor and arrives as `Err(JoinError::Panicked(..))`; the other tasks carry on.
//!
//! The demo runs the executor on its own thread: task 1 computes 6 × 7 after 20 ms, task 2
//! panics, task 3 awaits task 1's handle. The main thread joins them. Run it with
//! `cargo run -p ch10 -- join-handle`.

pub use crate::async_runtime::join::{JoinError, JoinHandle};

use std::panic;
use std::thread;
use std::time::Duration;

use common::demo::{Args, DemoResult};

use crate::async_runtime::{Executor, Sleep};

/// Prints a result the way the book's listing does.
pub fn report<T: std::fmt::Display>(result: Result<T, JoinError>) -> String {
    // Book: the book's `match handle.await() { .. }` does not compile: `await` is a keyword,
    // and `handle.await()` parses as an `.await` followed by a call. Ours is `join()`.
    match result {
        Ok(result) => format!("Received: {result}"),
        Err(e) => format!("Error receiving result: {e}"),
    }
}

/// Runs the demo.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    let mut executor = Executor::new();
    let product = executor.spawn(async {
        Sleep::new(Duration::from_millis(20)).await;
        6 * 7
    });
    let boom = executor.spawn(async {
        if true {
            panic!("boom");
        }
        0
    });
    let awaiting = executor.spawn(async move {
        let value = product.await?;
        println!("  task 3 awaited task 1's handle inside the executor: {value}");
        Ok::<_, JoinError>(value)
    });

    // The panic is expected: keep its message off stderr for the demo, then restore the hook.
    let previous = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let runner = thread::Builder::new()
        .name("executor".into())
        .spawn(move || {
            executor.run();
            executor.stats()
        })?;
    // Blocking `join` is fine here: this is not the executor's thread.
    let boom = boom.join();
    let awaited = awaiting.join();
    let stats = runner.join().map_err(|_| "the executor thread panicked")?;
    panic::set_hook(previous);

    println!("{}", report(awaited.and_then(|inner| inner)));
    println!("{}", report(boom));
    println!(
        "the executor survived the panic: {} tasks completed, {} polls",
        stats.completed, stats.polls
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::thread;

    use super::*;
    use crate::async_runtime::test_support::within;

    #[test]
    fn join_handle_values_by_join_and_by_await() {
        let mut executor = Executor::new();
        let a = executor.spawn(async { 6 * 7 });
        let b = executor.spawn(async { String::from("text") });
        let sum = executor.spawn(async move {
            let b = b.await.unwrap();
            b.len() + 1
        });
        within(Duration::from_secs(5), move || executor.run());
        assert_eq!(a.join(), Ok(42));
        assert_eq!(sum.join(), Ok(5));
        assert_eq!(report(Ok(42)), "Received: 42");
    }

    #[test]
    fn join_handle_panic_is_an_error_and_others_finish() {
        let mut executor = Executor::new();
        let before = executor.spawn(async { 1 });
        let boom = executor.spawn(async {
            Sleep::new(Duration::from_millis(5)).await;
            panic!("boom");
        });
        let after = executor.spawn(async {
            Sleep::new(Duration::from_millis(10)).await;
            3
        });
        let stats = within(Duration::from_secs(5), move || {
            executor.run();
            executor.stats()
        });
        let err = boom.join().unwrap_err();
        assert_eq!(err, JoinError::Panicked("boom".into()));
        assert_eq!(
            report::<u8>(Err(err)),
            "Error receiving result: task panicked: boom"
        );
        assert_eq!((before.join(), after.join()), (Ok(1), Ok(3)));
        assert_eq!(stats.completed, 3);
    }

    #[test]
    fn join_handle_detached_task_still_runs() {
        let ran = Arc::new(AtomicBool::new(false));
        let mut executor = Executor::new();
        let flag = Arc::clone(&ran);
        drop(executor.spawn(async move {
            Sleep::new(Duration::from_millis(5)).await;
            flag.store(true, Ordering::SeqCst);
        }));
        within(Duration::from_secs(5), move || executor.run());
        assert!(ran.load(Ordering::SeqCst));
    }

    #[test]
    fn join_handle_join_from_another_thread() {
        let mut executor = Executor::new();
        let handle = executor.spawn(async {
            Sleep::new(Duration::from_millis(20)).await;
            "late"
        });
        let waiter = thread::spawn(move || handle.join());
        within(Duration::from_secs(5), move || executor.run());
        let joined = within(Duration::from_secs(5), move || waiter.join().unwrap());
        assert_eq!(joined, Ok("late"));
    }
}
