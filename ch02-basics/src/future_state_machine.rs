//! `future-state-machine`: Rust futures are lazy, fixed-size state machines (book section "How
//! Futures in Rust Are Different", inside "High-Level Data Sharing Between Futures").
//!
//! Calling an `async fn` runs none of its body: it returns a value, a state machine that holds the
//! arguments and, for each `.await` where it can stop, whatever must survive until it resumes.
//! The compiler knows that value's size, so it can live on the stack or inline in a bigger future:
//! a future that awaits another holds it as a field, without an allocation of its own. Only
//! spawning boxes a future, once for the whole tree of futures inside it. Nothing runs until
//! something polls the state machine. Combinators (`and_then`, `or_else`, `map`) build the same kind
//! of value without `async` syntax.
//!
//! Run it with `cargo run -p ch02 -- future-state-machine`. It shows (1) a flag still `false` after
//! calling [`raise_flag`] and `true` only after awaiting it, and nothing at all when the future is
//! dropped unpolled; (2) the sizes of three futures: one keeping a 1 KiB array across an await,
//! one whose array is gone before the await, and one that awaits the first (it contains it);
//! (3) the same computation written with combinators and with `.await`, on an `Ok` and an `Err`.
//!
//! A trap the sizes show: ending a value with `drop(x)` before an await does not always shrink the
//! state machine. Once `x` has been borrowed (any `&self` method call), rustc keeps its slot until
//! the end of its scope; ending the scope with a block does shrink it.
//!
//! How we differ from the book, and why:
//!
//! - The book says `and_then` and `or_else` are "provided by Tokio". They come from
//!   `futures-util` (`TryFutureExt`, and `FutureExt` for `map`), the crate the book adds later.
//! - "A single heap allocation" holds per spawned task, not per future: nested futures sit inline
//!   in their parent, as the sizes show, and a future that is only awaited is never boxed at all.
//! - The book blames callbacks' cost on dynamic dispatch. The practical costs were an allocation
//!   per callback and state shared (reference-counted) between callbacks; a poll-based future
//!   keeps its state in one place and the caller decides where that place is.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use common::demo::{Args, DemoResult};
use futures_util::future::{self, FutureExt, TryFutureExt};

use crate::units::current_thread;

/// Sets `flag`, but only when the returned future is polled.
pub async fn raise_flag(flag: &AtomicBool) {
    flag.store(true, Ordering::SeqCst);
}

/// 1 KiB of data, with a method that reads it through a reference (as most real code does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kilobyte(pub [u8; 1024]);

impl Kilobyte {
    /// A kilobyte of sevens.
    pub fn new() -> Self {
        Kilobyte([7; 1024])
    }

    /// The first byte (borrows `self`).
    pub fn first(&self) -> u8 {
        self.0[0]
    }
}

impl Default for Kilobyte {
    fn default() -> Self {
        Kilobyte::new()
    }
}

/// Keeps a 1 KiB array across an await: the state machine must store it.
pub async fn holds_array_across_await() -> u8 {
    let array = Kilobyte::new();
    tokio::task::yield_now().await;
    array.first()
}

/// Uses the array in a block that ends before the await: only one byte survives it.
pub async fn array_gone_before_await() -> u8 {
    let first = {
        let array = Kilobyte::new();
        array.first()
    };
    tokio::task::yield_now().await;
    first
}

/// Like [`array_gone_before_await`] but ends the array with `drop`. The array was borrowed (by
/// `first`), and rustc (1.95) then keeps a borrowed local's slot until the end of its scope, so
/// this state machine is as big as the holder. A block that ends the scope is what works.
pub async fn array_dropped_before_await() -> u8 {
    let array = Kilobyte::new();
    let first = array.first();
    // The point of the example: `drop` ends the value, but not its slot.
    #[allow(clippy::drop_non_drop)]
    drop(array);
    tokio::task::yield_now().await;
    first
}

/// Awaits [`holds_array_across_await`]: the child future is a field of this one.
// Book: a future's state machine is said to live in "a single heap allocation"; that holds per
// spawned task, while a future that is awaited sits inline in its parent, as this one does.
pub async fn awaits_the_holder() -> u8 {
    holds_array_across_await().await + 1
}

/// Multiplies an `Ok` by ten, and turns an `Err` into the fallback 0, with combinators.
// Book: `and_then` and `or_else` are said to be provided by Tokio; they come from futures-util's
// `TryFutureExt` (and `map` from its `FutureExt`).
pub fn ten_times_or_zero(input: Result<u32, String>) -> impl Future<Output = Result<u32, String>> {
    future::ready(input)
        .and_then(|x| future::ready(Ok(x * 10)))
        .or_else(|_error| future::ready(Ok::<u32, String>(0)))
}

/// The same computation written with `.await` (the `?`-free way, to mirror the combinators).
pub async fn ten_times_or_zero_awaited(input: Result<u32, String>) -> Result<u32, String> {
    match future::ready(input).await {
        Ok(x) => Ok(x * 10),
        Err(_error) => Ok(0),
    }
}

/// The sizes, in bytes, of the futures above (not yet polled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// [`holds_array_across_await`].
    pub holder: usize,
    /// [`array_gone_before_await`].
    pub block: usize,
    /// [`array_dropped_before_await`].
    pub dropped: usize,
    /// [`awaits_the_holder`].
    pub parent: usize,
}

/// Measures the [`Sizes`]. Creating the futures runs none of their code.
pub fn sizes() -> Sizes {
    Sizes {
        holder: size_of_val(&holds_array_across_await()),
        block: size_of_val(&array_gone_before_await()),
        dropped: size_of_val(&array_dropped_before_await()),
        parent: size_of_val(&awaits_the_holder()),
    }
}

/// Runs the demo: `future-state-machine` (no arguments).
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    let runtime = current_thread()?;

    println!("(1) a future is lazy");
    let flag = AtomicBool::new(false);
    let future = raise_flag(&flag);
    println!(
        "    after calling raise_flag: {}",
        flag.load(Ordering::SeqCst)
    );
    runtime.block_on(future);
    println!(
        "    after awaiting it:        {}",
        flag.load(Ordering::SeqCst)
    );
    let flag = AtomicBool::new(false);
    drop(raise_flag(&flag));
    println!(
        "    called, then dropped unpolled: {}",
        flag.load(Ordering::SeqCst)
    );

    println!("\n(2) a future's size is known at compile time");
    let sizes = sizes();
    println!(
        "    array kept across the await:        {:>5} bytes",
        sizes.holder
    );
    println!(
        "    array ended in a block before it:   {:>5} bytes",
        sizes.block
    );
    println!(
        "    array borrowed, then drop() before: {:>5} bytes (rustc keeps a borrowed local's slot)",
        sizes.dropped
    );
    println!(
        "    a future awaiting the first one:    {:>5} bytes (the child is inline)",
        sizes.parent
    );

    println!("\n(3) combinators from futures-util, and the same with .await");
    for input in [Ok(2), Err(String::from("no number"))] {
        let combined =
            runtime.block_on(ten_times_or_zero(input.clone()).map(|result| format!("{result:?}")));
        let awaited = runtime.block_on(ten_times_or_zero_awaited(input.clone()));
        println!("    {input:?}: and_then/or_else/map → {combined}, .await → {awaited:?}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn nothing_runs_until_the_future_is_awaited() {
        let flag = AtomicBool::new(false);
        let future = raise_flag(&flag);
        assert!(!flag.load(Ordering::SeqCst));
        future.await;
        assert!(flag.load(Ordering::SeqCst));

        let untouched = AtomicBool::new(false);
        drop(raise_flag(&untouched));
        assert!(!untouched.load(Ordering::SeqCst));
    }

    #[test]
    fn what_lives_across_an_await_sets_the_size() {
        let sizes = sizes();
        assert!(sizes.holder >= 1024, "{sizes:?}");
        assert!(sizes.block < 1024, "{sizes:?}");
        // A child future is stored inline in its parent.
        assert!(sizes.parent >= sizes.holder, "{sizes:?}");
    }

    #[tokio::test]
    async fn combinators_match_the_awaited_version() {
        assert_eq!(ten_times_or_zero(Ok(2)).await, Ok(20));
        assert_eq!(ten_times_or_zero(Err("no".into())).await, Ok(0));
        for input in [Ok(2), Ok(0), Err(String::from("no"))] {
            assert_eq!(
                ten_times_or_zero(input.clone()).await,
                ten_times_or_zero_awaited(input).await
            );
        }
        let mapped = future::ready(2).map(|x| x * 10).await;
        assert_eq!(mapped, 20);
    }

    #[test]
    fn the_futures_run_to_their_values() {
        let runtime = current_thread().unwrap();
        assert_eq!(runtime.block_on(holds_array_across_await()), 7);
        assert_eq!(runtime.block_on(array_gone_before_await()), 7);
        assert_eq!(runtime.block_on(array_dropped_before_await()), 7);
        assert_eq!(runtime.block_on(awaits_the_holder()), 8);
    }

    #[test]
    fn takes_no_arguments() {
        let err = run(Args::from_iter(["--unit-ms", "5"])).unwrap_err();
        assert!(err.is::<common::demo::UsageError>(), "{err}");
    }
}
