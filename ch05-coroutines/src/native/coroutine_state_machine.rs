//! Native twin of `coroutine-state-machine` (What Are Coroutines?): the running total written
//! with `yield`, for the compiler to turn into a state machine like our hand-written
//! [`RunningTotal`](crate::coroutine_state_machine::RunningTotal).

use std::ops::Coroutine;

/// Yields `1`, `1 + 2`, … up to `1 + … + n`, then completes with the total: the body the
/// hand-written enum spells out variant by variant.
pub fn running_total(n: u64) -> impl Coroutine<Yield = u64, Return = u64> {
    #[coroutine]
    move || {
        let mut total = 0;
        for i in 1..=n {
            total += i;
            yield total;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;

    use super::*;
    use crate::coroutine::drain;
    use crate::coroutine_state_machine::RunningTotal;
    use crate::native::Native;

    #[test]
    fn native_and_hand_written_yield_the_same_and_return_the_same() {
        for n in [0, 1, 3, 10] {
            let native = drain(Pin::new(&mut Native::new(running_total(n))));
            let ours = drain(Pin::new(&mut RunningTotal::new(n)));
            assert_eq!(native, ours, "n = {n}");
        }
    }

    #[test]
    fn a_non_static_native_coroutine_is_unpin_so_pin_new_drives_it() {
        use std::ops::CoroutineState;
        let mut c = running_total(2);
        assert_eq!(Pin::new(&mut c).resume(()), CoroutineState::Yielded(1));
        assert_eq!(Pin::new(&mut c).resume(()), CoroutineState::Yielded(3));
        assert_eq!(Pin::new(&mut c).resume(()), CoroutineState::Complete(3));
    }

    #[test]
    #[should_panic(expected = "coroutine resumed after completion")]
    fn the_compiler_made_coroutine_panics_with_the_same_message() {
        // The same panic from a coroutine written inline.
        let mut c = #[coroutine]
        || {
            yield 1u64;
            2u64
        };
        assert_eq!(
            Pin::new(&mut c).resume(()),
            std::ops::CoroutineState::Yielded(1)
        );
        assert_eq!(
            Pin::new(&mut c).resume(()),
            std::ops::CoroutineState::Complete(2)
        );
        let _ = Pin::new(&mut c).resume(());
    }
}
