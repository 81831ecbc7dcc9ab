//! `callback-basics`: a callback is a function handed to other code, which calls it later (book
//! section "Getting User Input via Callbacks").
//!
//! [`perform_operation_with_callback`] computes its result and hands it to the closure it was
//! given. On its own that is an ordinary, synchronous call: the callback runs on the caller's
//! thread, before `perform_operation_with_callback` returns. What makes callbacks asynchronous is
//! *who* calls them and *when*: an event loop on another thread (`event-loop-thread`) or an input
//! device reporting a key press (`user-input-callbacks`).
//!
//! Run it with `cargo run -p ch06 -- callback-basics`: the book's `The result is: 42`, then the same
//! operation with a closure that collects results into a `Vec`.
//!
//! The bound on the callback decides which closures are accepted. `Fn(i32)` (the book's) may be
//! called any number of times, even concurrently, so the closure may only read what it captured:
//! one that pushes into a `Vec` it captured mutably is rejected (see the example on
//! [`perform_operation_with_callback_mut`]). `FnMut(i32)` accepts it. For a callback called exactly
//! once, `FnOnce(i32)` is the loosest bound of all: it accepts every closure, including one that
//! moves a captured value out.

use common::demo::{Args, DemoResult};

/// The book's function: computes 42 and hands it to `callback`.
pub fn perform_operation_with_callback<F>(callback: F)
where
    F: Fn(i32),
{
    let result = 42;
    callback(result);
}

/// The same operation with an `FnMut` bound, so the callback may change what it captured.
///
/// A closure that pushes into a captured `Vec` is `FnMut`, not `Fn`: the book's bound rejects it.
///
/// ```compile_fail,E0596
/// use ch06::callback_basics::perform_operation_with_callback;
/// let results: Vec<i32> = Vec::new();
/// // error[E0596]: cannot borrow `results` as mutable, as it is a captured variable in a `Fn` closure
/// perform_operation_with_callback(|result| results.push(result));
/// ```
///
/// With this function's bound it compiles:
///
/// ```
/// use ch06::callback_basics::perform_operation_with_callback_mut;
/// let mut results = Vec::new();
/// perform_operation_with_callback_mut(|result| results.push(result));
/// assert_eq!(results, [42]);
/// ```
pub fn perform_operation_with_callback_mut<F>(mut callback: F)
where
    F: FnMut(i32),
{
    let result = 42;
    callback(result);
}

/// Runs the demo.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    let my_callback = |result: i32| {
        println!("The result is: {result}");
    };
    perform_operation_with_callback(my_callback);

    let mut results = Vec::new();
    perform_operation_with_callback_mut(|result| results.push(result));
    perform_operation_with_callback_mut(|result| results.push(result + 1));
    println!("an FnMut callback collected {results:?}");
    println!(
        "both callbacks ran on this thread ({}), before the call returned",
        common::timeline::current_thread_name()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::thread::{self, ThreadId};

    #[test]
    fn the_callback_runs_once_with_42_on_the_calling_thread_before_the_call_returns() {
        let calls: Cell<Vec<(i32, ThreadId)>> = Cell::new(Vec::new());
        perform_operation_with_callback(|result| {
            let mut seen = calls.take();
            seen.push((result, thread::current().id()));
            calls.set(seen);
        });
        // Read right after the call: if the callback ran later, or elsewhere, this would differ.
        assert_eq!(calls.take(), [(42, thread::current().id())]);
    }

    #[test]
    fn an_fn_mut_callback_may_change_what_it_captured() {
        let mut results = Vec::new();
        perform_operation_with_callback_mut(|result| results.push(result));
        perform_operation_with_callback_mut(|result| results.push(-result));
        assert_eq!(results, [42, -42]);
    }
}
