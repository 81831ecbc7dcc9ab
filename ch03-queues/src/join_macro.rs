//! `join-macro` (book section "Creating Our Own Join Macro"): wait for several tasks, collect their
//! outputs in argument order.
//!
//! By the time `join!` runs, the tasks are already running on the workers: spawning is what
//! started them. Joining only waits, one task after the other; while it waits for the first, the
//! others go on, so the total is the slowest task, not the sum. The outputs come back in the order
//! the tasks were passed, whatever order they finished in, which is what makes them usable. One
//! call returns one `Vec<T>`, so all its tasks must have the same output type.
//!
//! Run it with `cargo run -p ch03 -- join-macro`: the four tasks of `spawn-task-macro`, joined as
//! the book does (`outcome: [3, 3]`, `outcome_two: [(), ()]`), the elapsed time (about 300 ms: the
//! counters' three polls, not the sum of all tasks), and a timeline in which the tasks overlap on
//! the workers while `main` waits.
//!
//! Three things the book leaves unsaid, written down here rather than changed: passing futures that
//! were never spawned makes `join!` run them one after another on the calling thread, not
//! concurrently; `join!` blocks the calling thread, so call it from synchronous code only (inside a
//! task it would hold a worker); and the macro names `future::block_on` without a path, so the
//! caller needs `use futures_lite::future;` (the final runtime's exported `ch03::join!` uses
//! `$crate::` paths instead).

use std::time::Instant;

use common::demo::{Args, DemoResult};
use common::timeline::{CountPolls, format_duration};
use common::{CounterFuture, Timeline};
use futures_lite::future;

use crate::spawn_task_macro::{FutureType, spawn_task};
use crate::support::{BOOK_UNIT, async_fn};

/// The book's `join!`: blocks on each task in turn and returns their outputs, in argument order.
macro_rules! join {
    ($($future:expr),*) => {
        {
            // The book's body, inside a block only so that the `allow` has a statement to sit on
            // (clippy would suggest `vec![..]`, and `join!()` would leave `mut` unused).
            #[allow(unused_mut, clippy::vec_init_then_push)]
            let results = {
                let mut results = Vec::new();
                $(
                    results.push(future::block_on($future));
                )*
                results
            };
            results
        }
    };
}
pub(crate) use join;

/// Runs the demo: the book's four tasks, joined in two calls.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    let timeline = Timeline::new();
    let start = Instant::now();
    let one =
        CountPolls::new(CounterFuture::new(3).with_delay(BOOK_UNIT)).recording(&timeline, "one");
    let two =
        CountPolls::new(CounterFuture::new(3).with_delay(BOOK_UNIT)).recording(&timeline, "two");
    let t_one = spawn_task!(one, FutureType::High);
    let t_two = spawn_task!(two);
    let t_three = spawn_task!(CountPolls::new(async_fn()).recording(&timeline, "three"));
    let t_four = spawn_task!(
        CountPolls::new(async {
            async_fn().await;
            async_fn().await;
        })
        .recording(&timeline, "four"),
        FutureType::High
    );

    let outcome: Vec<u32> = join!(t_one, t_two);
    let outcome_two: Vec<()> = join!(t_four, t_three);
    let elapsed = start.elapsed();

    println!("outcome: {outcome:?}");
    println!("outcome_two: {outcome_two:?}");
    println!(
        "all four joined after {}: about the longest task (3 polls × {}), not the sum",
        format_duration(elapsed),
        format_duration(BOOK_UNIT)
    );
    println!("\n{}", timeline.render());
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::thread;
    use std::time::Duration;

    use super::*;
    use crate::support::serial;
    use crate::task_stealing::tests::SERIAL;

    /// Blocks its worker for `ms`, then returns `output`.
    async fn sleeper(ms: u64, output: u32) -> u32 {
        thread::sleep(Duration::from_millis(ms));
        output
    }

    #[test]
    fn outputs_come_back_in_argument_order_not_finishing_order() {
        let _serial = serial(&SERIAL);
        let slow = spawn_task!(sleeper(100, 1), FutureType::High);
        let fast = spawn_task!(sleeper(0, 2), FutureType::High);
        let fast_done = spawn_task!(sleeper(0, 3), FutureType::High);
        // `fast` and `fast_done` finish while `slow` is still sleeping.
        assert_eq!(join!(slow, fast, fast_done), [1, 2, 3]);
    }

    #[test]
    fn joining_waits_for_tasks_that_already_run_side_by_side() {
        let _serial = serial(&SERIAL);
        let start = Instant::now();
        let first = spawn_task!(sleeper(150, 1), FutureType::High);
        let second = spawn_task!(sleeper(150, 2), FutureType::High);
        assert_eq!(join!(first, second), [1, 2]);
        // One after the other would take 300 ms; side by side, a little over 150.
        assert!(
            start.elapsed() < Duration::from_millis(250),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn an_empty_join_is_an_empty_vec() {
        let nothing: Vec<u32> = join!();
        assert!(nothing.is_empty());
    }
}
