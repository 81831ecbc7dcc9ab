//! `spawn-task-macro` (book section "Refactoring Our `spawn_task` Function"): the priority becomes
//! an argument, with a macro to supply the default.
//!
//! With the `FutureOrderLabel` bound, only a type that implements the label trait could be spawned:
//! no `async` block, no `async fn` call. Moving the priority out of the future and into a second
//! argument of [`spawn_task`] lets any `Send + 'static` future in, and `spawn_task!` makes the
//! argument optional: `spawn_task!(fut)` goes to the low queue, `spawn_task!(fut, FutureType::High)`
//! to the high one. The queues are the `task-stealing` step's, imported, not copied: only the
//! function that feeds them changed.
//!
//! Run it with `cargo run -p ch03 -- spawn-task-macro`: the book's `main`, in 100 ms units. A high
//! counter, a default (low) counter, a default `async_fn()` call and a high `async` block of two
//! `async_fn` calls run on the three stealing workers; each poll is listed with its worker, then
//! the timeline shows who ran what.
//!
//! How we differ from the book: nothing in the function. The book's macro names `spawn_task` and
//! `FutureType` without a path, so it works only where both are in scope (here, and where both are
//! imported). The final runtime's exported `ch03::spawn_task!` uses `$crate::runtime::…` paths,
//! which chapter 4 needs; this step's macro is kept local to the crate so the two never clash.

use std::future::Future;

use async_task::Task;
use common::demo::{Args, DemoResult};
use common::timeline::CountPolls;
use common::{CounterFuture, Timeline};
use futures_lite::future;

pub use crate::task_stealing::FutureType;
use crate::task_stealing::{DOORBELL, HIGH_QUEUE, LOW_QUEUE};

use crate::support::{BOOK_UNIT, async_fn, poll_report};

/// The book's `spawn_task` with the priority as an argument: any future can be spawned now.
pub fn spawn_task<F, T>(future: F, order: FutureType) -> Task<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    // Book: `.unwrap()` on each send; if a send fails (no worker left) we drop the runnable,
    // which cancels the task, rather than panic on the waking thread (as in `basic-queue`).
    // Each send also rings the doorbell, which the `task-stealing` step added for idle workers.
    let schedule_high = |runnable| {
        let _ = HIGH_QUEUE.send(runnable);
        DOORBELL.ring();
    };
    let schedule_low = |runnable| {
        let _ = LOW_QUEUE.send(runnable);
        DOORBELL.ring();
    };
    let schedule = match order {
        FutureType::High => schedule_high,
        FutureType::Low => schedule_low,
    };
    let (runnable, task) = async_task::spawn(future, schedule);
    runnable.schedule();
    task
}

/// The book's `spawn_task!`, kept in a module of its own only so that the macro and the function
/// can share the book's name: `use crate::spawn_task_macro::spawn_task;` then brings both.
pub(crate) mod book_macro {
    /// The book's `spawn_task!`: `spawn_task!(fut)` spawns on the low queue,
    /// `spawn_task!(fut, order)` on the queue given.
    ///
    /// Like the book's, it calls `spawn_task` and names `FutureType` without a path, so both must
    /// be in scope where it is used.
    macro_rules! spawn_task {
        ($future:expr) => {
            spawn_task!($future, FutureType::Low)
        };
        ($future:expr, $order:expr) => {
            spawn_task($future, $order)
        };
    }
    pub(crate) use spawn_task;
}
pub(crate) use book_macro::spawn_task;

/// Runs the demo: the book's `main` with `spawn_task!`.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    let timeline = Timeline::new();
    let recorded = |future, label: &str| CountPolls::new(future).recording(&timeline, label);
    let one = CounterFuture::new(3).with_delay(BOOK_UNIT);
    let two = CounterFuture::new(3).with_delay(BOOK_UNIT);

    let t_one = spawn_task!(recorded(one, "one (high)"), FutureType::High);
    let t_two = spawn_task!(recorded(two, "two (low)"));
    let t_three = spawn_task!(CountPolls::new(async_fn()).recording(&timeline, "three (low)"));
    let t_four = spawn_task!(
        CountPolls::new(async {
            async_fn().await;
            async_fn().await;
        })
        .recording(&timeline, "four (high)"),
        FutureType::High
    );

    let outputs = (
        future::block_on(t_one),
        future::block_on(t_two),
        future::block_on(t_three),
        future::block_on(t_four),
    );
    println!("\noutputs: {outputs:?}\npolls, in the order they started:");
    print!("{}", poll_report(&timeline));
    println!("\n{}", timeline.render());
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::support::{async_fn_with, wait_for};
    use crate::task_stealing::tests::hold_all_workers;
    use crate::task_stealing::{HIGH_CHANNEL, LOW_CHANNEL};

    #[test]
    fn the_macro_defaults_to_low_and_takes_any_future() {
        // All three workers held, so nothing is stolen and the channels show the routing.
        let (_serial, mut gates) = hold_all_workers();
        let lengths = || (HIGH_CHANNEL.1.len(), LOW_CHANNEL.1.len());
        let (high, low) = lengths();

        let t_one = spawn_task!(CounterFuture::new(3), FutureType::High);
        assert_eq!(lengths(), (high + 1, low));
        let t_two = spawn_task!(CounterFuture::new(3));
        assert_eq!(lengths(), (high + 1, low + 1));
        let t_three = spawn_task!(async_fn_with(Duration::ZERO));
        assert_eq!(lengths(), (high + 1, low + 2));
        let t_four = spawn_task!(
            async {
                async_fn_with(Duration::ZERO).await;
                async_fn_with(Duration::ZERO).await;
            },
            FutureType::High
        );
        assert_eq!(lengths(), (high + 2, low + 2));

        gates.open_all();
        assert_eq!((wait_for(t_one), wait_for(t_two)), (3, 3));
        assert_eq!((wait_for(t_three), wait_for(t_four)), ((), ()));
    }
}
