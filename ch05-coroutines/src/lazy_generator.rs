//! `lazy-generator` (book section "Generating with Coroutines"): a generator computes only the
//! values that are asked for.
//!
//! A *generator* is a coroutine that only ever hands values back to whoever resumed it (an
//! asymmetric, "weak" coroutine). Each value is computed when it is asked for, so an endless or
//! huge sequence costs only what is consumed. The book describes this without code; here it is:
//! [`Fibonacci`] yields every Fibonacci number that fits in a `u64` (94 of them, starting
//! 0, 1, 1) and then completes, and its public `computed` counter proves nothing is computed ahead.
//!
//! On stable Rust the everyday generator is `Iterator`: [`coroutine::iter`](crate::coroutine::iter())
//! turns a generator coroutine into one, and [`fibonacci_from_fn`] writes the same sequence with
//! `std::iter::from_fn`, the usual idiom. (Nothing here is named `gen`: edition 2024 reserves it
//! as a keyword for future `gen` blocks, still unstable, like the async generators the book
//! mentions.)
//!
//! With the `nightly` feature, `native::fibonacci` is the same generator written with `loop` and
//! `yield`.
//!
//! Run it with `cargo run -p ch05 -- lazy-generator [--take N]` (default 10).

use std::pin::Pin;

use common::demo::{Args, DemoResult};

use crate::coroutine::{self, Coroutine, CoroutineState, resumed_after_completion};

/// Yields the Fibonacci numbers 0, 1, 1, 2, 3, … up to the largest that fits in a `u64`
/// (12200160415121876738, the 94th), then completes with `()`.
///
/// The state is what a generator body `{ yield 0; yield 1; loop { … yield next } }` keeps across
/// its pauses: the last two values. Each resume computes exactly the one value it yields.
#[derive(Debug, Clone, Default)]
pub struct Fibonacci {
    /// The value before the last one yielded.
    previous: u64,
    /// The last value yielded.
    current: u64,
    /// How many values have been computed (and yielded) so far.
    pub computed: u64,
    /// Set when it has completed: a further resume is a bug.
    done: bool,
}

impl Fibonacci {
    /// A generator that has computed nothing yet.
    pub fn new() -> Self {
        Fibonacci::default()
    }
}

impl Coroutine for Fibonacci {
    type Yield = u64;
    type Return = ();

    fn resume(mut self: Pin<&mut Self>, (): ()) -> CoroutineState<u64, ()> {
        if self.done {
            resumed_after_completion();
        }
        let next = match self.computed {
            0 => Some(0),
            1 => Some(1),
            _ => self.previous.checked_add(self.current),
        };
        match next {
            Some(value) => {
                self.previous = self.current;
                self.current = value;
                self.computed += 1;
                CoroutineState::Yielded(value)
            }
            // The next one would not fit in a `u64`: the sequence ends here.
            None => {
                self.done = true;
                CoroutineState::Complete(())
            }
        }
    }
}

/// The same sequence with the stable idiom, `std::iter::from_fn` over a closure's state.
pub fn fibonacci_from_fn() -> impl Iterator<Item = u64> {
    // The next value to hand out, and the one after it (`None` once it would overflow).
    let mut state = Some((0u64, Some(1u64)));
    std::iter::from_fn(move || {
        let (value, after) = state?;
        state = after.map(|after| (after, value.checked_add(after)));
        Some(value)
    })
}

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let take = args.value_in("take", 10usize, 0..=94)?;
    args.finish()?;

    let mut fibonacci = Fibonacci::new();
    let first: Vec<u64> = coroutine::iter(&mut fibonacci).take(take).collect();
    println!("take({take}): {first:?}");
    println!(
        "computed {}: nothing was worked out ahead",
        fibonacci.computed
    );

    let all: Vec<u64> = coroutine::iter(Fibonacci::new()).collect();
    let last = all.last().copied().unwrap_or_default();
    println!(
        "the whole run: {} values, the last {last}; the next would overflow u64 (max {}), so the generator completes",
        all.len(),
        u64::MAX
    );

    let from_fn: Vec<u64> = fibonacci_from_fn().take(take).collect();
    println!(
        "std::iter::from_fn gives the same {take}: {}",
        from_fn == first
    );

    #[cfg(feature = "nightly")]
    {
        let native = crate::native::Native::new(crate::native::fibonacci());
        let native: Vec<u64> = coroutine::iter(native).collect();
        if native != all {
            return Err("the native generator yielded different values".into());
        }
        println!(
            "nightly: native coroutine yielded the same {} values",
            native.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAST: u64 = 12_200_160_415_121_876_738;

    #[test]
    fn only_what_is_taken_is_computed() {
        let mut fibonacci = Fibonacci::new();
        let first: Vec<u64> = coroutine::iter(&mut fibonacci).take(5).collect();
        assert_eq!(first, [0, 1, 1, 2, 3]);
        assert_eq!(fibonacci.computed, 5);
    }

    #[test]
    fn the_full_run_is_94_values_then_complete() {
        let mut fibonacci = Fibonacci::new();
        let (values, ()) = coroutine::drain(Pin::new(&mut fibonacci));
        assert_eq!(values.len(), 94);
        assert_eq!(values.last(), Some(&LAST));
        assert!(values.windows(3).all(|w| w[0] + w[1] == w[2]));
        assert!(LAST.checked_add(values[92]).is_none());
    }

    #[test]
    #[should_panic(expected = "resumed after completion")]
    fn a_resume_after_complete_panics() {
        let mut fibonacci = Fibonacci::new();
        let _ = coroutine::drain(Pin::new(&mut fibonacci));
        let _ = Pin::new(&mut fibonacci).resume(());
    }

    #[test]
    fn the_adapter_stays_done_without_resuming_again() {
        let mut values = coroutine::iter(Fibonacci::new());
        assert_eq!(values.by_ref().count(), 94);
        // Another resume would panic (see above); the adapter returns `None` instead.
        assert_eq!(values.next(), None);
        assert_eq!(values.next(), None);
    }

    #[test]
    fn from_fn_gives_the_same_sequence() {
        let ours: Vec<u64> = coroutine::iter(Fibonacci::new()).collect();
        let std_way: Vec<u64> = fibonacci_from_fn().collect();
        assert_eq!(ours, std_way);
    }
}
