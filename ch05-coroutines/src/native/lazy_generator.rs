//! Native twin of `lazy-generator` (Generating with Coroutines): the Fibonacci generator as a
//! `loop` with `yield`.

use std::ops::Coroutine;

/// Yields the Fibonacci numbers that fit in a `u64`, then completes, like
/// [`Fibonacci`](crate::lazy_generator::Fibonacci). The compiler keeps `previous` and `current`
/// across each `yield`, as the hand-written struct does in its fields.
pub fn fibonacci() -> impl Coroutine<Yield = u64, Return = ()> {
    #[coroutine]
    || {
        let (mut previous, mut current) = (0u64, 1u64);
        yield previous;
        yield current;
        while let Some(next) = previous.checked_add(current) {
            yield next;
            previous = current;
            current = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coroutine::iter;
    use crate::lazy_generator::Fibonacci;
    use crate::native::Native;

    #[test]
    fn the_native_generator_yields_the_same_94_values_through_the_same_adapter() {
        let native: Vec<u64> = iter(Native::new(fibonacci())).collect();
        let ours: Vec<u64> = iter(Fibonacci::new()).collect();
        assert_eq!(native.len(), 94);
        assert_eq!(native, ours);
    }

    #[test]
    fn the_native_generator_is_lazy_too() {
        let mut values = iter(Native::new(fibonacci()));
        assert_eq!(values.by_ref().take(3).collect::<Vec<_>>(), [0, 1, 1]);
        assert_eq!(values.next(), Some(2));
    }
}
