//! The chapter's CPU-bound workload: naive recursive Fibonacci (book section "What Is Async?").
//!
//! The book uses this function to keep a core busy: every call below `n = 2` makes two more, so
//! `fibonacci(n)` takes about 1.6ⁿ calls. It is shared by `cpu-stress-threads` and
//! `fib-thread-timing`. Two limits matter:
//!
//! - time: `n = 35` takes a fraction of a second in a debug build, `n = 50` takes minutes, and the
//!   book's `n = 4000` would not finish before the sun burns out;
//! - size: `fibonacci(93)` is the largest value that fits in a `u64`; `fibonacci(94)` overflows
//!   (a panic in a debug build, a wrong number in release). [`MAX_N`] is therefore the bound every
//!   demo checks its `--n` against.

/// The largest `n` whose Fibonacci number fits in a `u64`.
pub const MAX_N: u64 = 93;

/// Above this `n` the demos warn that the naive recursion will take a long time.
pub const SLOW_N: u64 = 40;

/// The `n`-th Fibonacci number, computed the slow way on purpose (exponential recursion).
///
/// ```
/// assert_eq!(ch01::fibonacci::fibonacci(20), 6765);
/// ```
pub fn fibonacci(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    fibonacci(n - 1) + fibonacci(n - 2)
}

/// Prints a warning on stderr when `n` is large enough for the recursion to take a while.
pub fn warn_if_slow(n: u64) {
    if n > SLOW_N {
        eprintln!(
            "note: fibonacci({n}) makes about 1.6^{n} calls; expect minutes, not seconds \
             (try --n 32, or a release build)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        let values: Vec<u64> = [0, 1, 2, 10, 20, 30].map(fibonacci).to_vec();
        assert_eq!(values, [0, 1, 1, 55, 6765, 832040]);
    }

    #[test]
    fn max_n_is_the_last_that_fits_in_u64() {
        // Iteratively, so the test is instant: (a, b) walks (F0, F1), (F1, F2), … up to (F92, F93).
        let (mut a, mut b) = (0u64, 1u64);
        for _ in 1..MAX_N {
            let next = a.checked_add(b).expect("F(n) up to 93 fits in u64");
            (a, b) = (b, next);
        }
        assert_eq!(b, 12_200_160_415_121_876_738); // F(93)
        assert!(a.checked_add(b).is_none(), "F(94) overflows u64");
    }
}
