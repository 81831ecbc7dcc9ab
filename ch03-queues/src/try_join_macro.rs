//! `try-join-macro` (book section "Creating Our Own Join Macro"): a task that panics becomes an
//! `Err` in its slot, and the caller carries on.
//!
//! `try_join!` is `join!` with each `block_on` inside `catch_unwind`: it returns one
//! `Result<T, Box<dyn Any + Send>>` per task, in argument order. Unlike `futures::try_join!` it
//! does not stop at the first failure, and it catches *panics*, not `Err` values (a task whose
//! output is a `Result` just gets `Ok(Err(..))`).
//!
//! What the `Err` carries depends on how the runtime spawned the task. The book's steps use plain
//! `async_task::spawn`: the worker's `catch_unwind` swallows the panic and the task is cancelled,
//! so the waiter sees only async-task's own panic, `Task polled after completion`. The final
//! runtime ([`crate::runtime`]) spawns with `async_task::Builder::new().propagate_panic(true)`,
//! which catches the panic inside the task and re-raises it where the `Task` is awaited, so
//! `try_join!` hands back the real payload.
//!
//! Run it with `cargo run -p ch03 -- try-join-macro`: three tasks on the final runtime, the middle
//! one panics with `boom`, and the demo prints `[Ok(1), Err("boom"), Ok(3)]`. Rust's panic hook
//! prints the panic on stderr first (`thread 'low-…' panicked at …: boom`): that is expected.

use std::panic::catch_unwind;

use common::demo::{Args, DemoResult};
use futures_lite::future;

use crate::runtime::{FutureType, Runtime, spawn_task};
use crate::support::panic_message;

/// The book's `try_join!`: like `join!`, but each task's panic is caught and returned as `Err`.
///
/// Like the book's, it names `catch_unwind` and `future::block_on` without a path: the caller
/// imports `std::panic::catch_unwind` and `futures_lite::future` (the exported `ch03::try_join!`
/// uses full paths).
macro_rules! try_join {
    ($($future:expr),*) => {
        {
            // The book's body, inside a block only so that the `allow` has a statement to sit on
            // (clippy would suggest `vec![..]`, and `join!()` would leave `mut` unused).
            #[allow(unused_mut, clippy::vec_init_then_push)]
            let results = {
                let mut results = Vec::new();
                $(
                    let result = catch_unwind(|| future::block_on($future));
                    results.push(result);
                )*
                results
            };
            results
        }
    };
}

/// Returns `n`, except that it panics with `boom` for 2: the demo's badly behaved task.
pub fn fragile(n: u32) -> u32 {
    if n == 2 {
        panic!("boom");
    }
    n
}

/// Shows a `try_join!` result the way the demo prints it: `Ok(1)`, `Err("boom")`.
pub fn describe<T: std::fmt::Debug>(results: &[std::thread::Result<T>]) -> String {
    let shown: Vec<String> = results
        .iter()
        .map(|result| match result {
            Ok(value) => format!("Ok({value:?})"),
            Err(payload) => format!("Err({:?})", panic_message(&**payload)),
        })
        .collect();
    format!("[{}]", shown.join(", "))
}

/// Runs the demo: three tasks on the final runtime, the middle one panics.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    Runtime::new().with_low_num(2).with_high_num(4).run()?;
    println!("the second task panics on purpose; its panic message on stderr is expected:");
    let one = spawn_task(async { fragile(1) }, FutureType::Low);
    let two = spawn_task(async { fragile(2) }, FutureType::Low);
    let three = spawn_task(async { fragile(3) }, FutureType::Low);
    let results = try_join!(one, two, three);
    println!("{}", describe(&results));
    println!("the workers survived: a task spawned afterwards still runs");
    println!(
        "{}",
        future::block_on(spawn_task(async { "and finishes" }, FutureType::Low))
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::support::{serial, wait_for};
    use crate::task_stealing::tests::SERIAL;

    #[test]
    fn on_the_final_runtime_the_panic_payload_reaches_the_caller() {
        let runtime = Runtime::new().with_high_num(0).with_low_num(1).build();
        let one = runtime.spawn(async { fragile(1) }, FutureType::Low);
        let two = runtime.spawn(async { fragile(2) }, FutureType::Low);
        let three = runtime.spawn(async { fragile(3) }, FutureType::Low);
        let results = try_join!(one, two, three);
        assert_eq!(describe(&results), r#"[Ok(1), Err("boom"), Ok(3)]"#);

        // Its one worker caught the panic and carries on.
        assert_eq!(wait_for(runtime.spawn(async { 4 }, FutureType::Low)), 4);
        assert!(runtime.shutdown(Duration::from_secs(5)));
    }

    #[test]
    fn on_the_books_runtime_the_panic_is_lost_the_task_cancelled() {
        use crate::spawn_task_macro::{FutureType, spawn_task};
        let _serial = serial(&SERIAL);
        let one = spawn_task!(async { fragile(1) });
        let two = spawn_task!(async { fragile(2) });
        let three = spawn_task!(async { fragile(3) });
        let results = try_join!(one, two, three);
        assert_eq!(
            describe(&results),
            r#"[Ok(1), Err("Task polled after completion"), Ok(3)]"#
        );
        // The worker's `catch_unwind` kept it alive.
        assert_eq!(wait_for(spawn_task!(async { 4 })), 4);
    }
}
