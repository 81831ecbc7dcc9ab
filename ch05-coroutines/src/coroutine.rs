//! The coroutine trait every demo of the chapter implements (shared module, not a demo).
//!
//! The book writes its coroutines against nightly's `std::ops::Coroutine`. Ours is the same trait,
//! declared locally so that everything builds on stable: one method, [`Coroutine::resume`], which
//! runs the coroutine to its next pause and says whether it paused ([`CoroutineState::Yielded`])
//! or finished ([`CoroutineState::Complete`]). The blanket impls are the ones std has, so each of
//! the book's calling shapes (`Pin::new(&mut c).resume(..)`, a `Pin<Box<dyn Coroutine>>` in a
//! queue, `Pin::new(&mut &mut c)`) compiles unchanged. With the `nightly` feature,
//! `crate::native` converts both ways between this trait and std's.
//!
//! A coroutine that has returned `Complete` must not be resumed again: std's compiler-made ones
//! panic with "coroutine resumed after completion", and every hand-written coroutine in this
//! chapter keeps that contract through [`resumed_after_completion`].
//!
//! [`iter`] turns a generator (a coroutine that takes `()` and returns `()`) into an `Iterator`;
//! [`drain`] resumes a coroutine to its end and collects what it yielded.

use std::ops::DerefMut;
use std::pin::Pin;

/// A computation that can pause part-way (yield a value) and later carry on where it stopped.
///
/// `R` is what the driver passes in on each resume (`()` for a pure generator). The shape is
/// exactly that of `std::ops::Coroutine` (nightly).
///
/// ```
/// use std::pin::Pin;
/// use ch05::coroutine::{Coroutine, CoroutineState};
///
/// /// Yields 1, then 2, then completes with "done".
/// struct TwoSteps(u8);
///
/// impl Coroutine for TwoSteps {
///     type Yield = u8;
///     type Return = &'static str;
///     fn resume(mut self: Pin<&mut Self>, _arg: ()) -> CoroutineState<u8, &'static str> {
///         self.0 += 1;
///         match self.0 {
///             1 | 2 => CoroutineState::Yielded(self.0),
///             3 => CoroutineState::Complete("done"),
///             _ => ch05::coroutine::resumed_after_completion(),
///         }
///     }
/// }
///
/// let mut c = TwoSteps(0);
/// assert_eq!(Pin::new(&mut c).resume(()), CoroutineState::Yielded(1));
/// assert_eq!(Pin::new(&mut c).resume(()), CoroutineState::Yielded(2));
/// assert_eq!(Pin::new(&mut c).resume(()), CoroutineState::Complete("done"));
/// ```
pub trait Coroutine<R = ()> {
    /// What each pause hands to the driver.
    type Yield;
    /// What the coroutine hands back when it finishes.
    type Return;

    /// Runs the coroutine until it yields or completes. `arg` is the driver's input for this
    /// step. Resuming after `Complete` is a bug and panics.
    fn resume(self: Pin<&mut Self>, arg: R) -> CoroutineState<Self::Yield, Self::Return>;
}

/// What a resume produced: a pause with a value, or the end with a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CoroutineState<Y, R> {
    /// Paused; resume again to carry on.
    Yielded(Y),
    /// Finished; never resume again.
    Complete(R),
}

/// The message a coroutine panics with when resumed after it completed (the same words as the
/// compiler-made coroutines of nightly).
pub const RESUMED_AFTER_COMPLETION: &str = "coroutine resumed after completion";

/// Panics with [`RESUMED_AFTER_COMPLETION`]: what a hand-written coroutine's `resume` calls when
/// it is resumed in its finished state.
#[track_caller]
pub fn resumed_after_completion() -> ! {
    panic!("{RESUMED_AFTER_COMPLETION}")
}

// The blanket impls of std, one for one.

/// A pinned reference resumes what it points at (std: `impl Coroutine<R> for Pin<&mut G>`).
impl<G: ?Sized + Coroutine<R>, R> Coroutine<R> for Pin<&mut G> {
    type Yield = G::Yield;
    type Return = G::Return;

    fn resume(self: Pin<&mut Self>, arg: R) -> CoroutineState<Self::Yield, Self::Return> {
        // `Pin<&mut G>` is itself `Unpin`, so the outer pin can be taken off safely.
        G::resume(Pin::get_mut(self).as_mut(), arg)
    }
}

/// A plain `&mut` to an `Unpin` coroutine resumes it: what makes the book's
/// `for mut coroutine in v.iter_mut() { Pin::new(&mut coroutine).resume(()) }` compile.
impl<G: ?Sized + Coroutine<R> + Unpin, R> Coroutine<R> for &mut G {
    type Yield = G::Yield;
    type Return = G::Return;

    fn resume(self: Pin<&mut Self>, arg: R) -> CoroutineState<Self::Yield, Self::Return> {
        G::resume(Pin::new(&mut **Pin::get_mut(self)), arg)
    }
}

/// A boxed `Unpin` coroutine resumes what it holds.
impl<G: ?Sized + Coroutine<R> + Unpin, R> Coroutine<R> for Box<G> {
    type Yield = G::Yield;
    type Return = G::Return;

    fn resume(self: Pin<&mut Self>, arg: R) -> CoroutineState<Self::Yield, Self::Return> {
        G::resume(Pin::new(Pin::get_mut(self).deref_mut()), arg)
    }
}

/// A pinned box resumes what it holds, `Unpin` or not: the shape of the book's executor queue,
/// `VecDeque<Pin<Box<dyn Coroutine<..>>>>`.
impl<G: ?Sized + Coroutine<R>, R> Coroutine<R> for Pin<Box<G>> {
    type Yield = G::Yield;
    type Return = G::Return;

    fn resume(self: Pin<&mut Self>, arg: R) -> CoroutineState<Self::Yield, Self::Return> {
        // `Pin<Box<G>>` is `Unpin` (moving the box does not move `G`), so the outer pin comes off.
        G::resume(Pin::get_mut(self).as_mut(), arg)
    }
}

/// Resumes `coroutine` with `()` until it completes: every yield in order, and the return value.
///
/// ```
/// use std::pin::pin;
/// use ch05::coroutine::drain;
/// use ch05::coroutine_state_machine::RunningTotal;
///
/// assert_eq!(drain(pin!(RunningTotal::new(3))), (vec![1, 3, 6], 6));
/// ```
pub fn drain<C>(mut coroutine: Pin<&mut C>) -> (Vec<C::Yield>, C::Return)
where
    C: Coroutine<()> + ?Sized,
{
    let mut yields = Vec::new();
    loop {
        match coroutine.as_mut().resume(()) {
            CoroutineState::Yielded(value) => yields.push(value),
            CoroutineState::Complete(value) => return (yields, value),
        }
    }
}

/// Turns a generator (takes `()`, returns `()`) into an [`Iterator`] of its yields.
///
/// The adapter is fused: once the coroutine completes it is dropped, and every later `next`
/// returns `None` without resuming it (which would panic).
///
/// ```
/// use std::pin::Pin;
/// use ch05::coroutine::{Coroutine, CoroutineState, iter};
///
/// /// Counts down from its field to 1.
/// struct Countdown(u32);
/// impl Coroutine for Countdown {
///     type Yield = u32;
///     type Return = ();
///     fn resume(mut self: Pin<&mut Self>, _: ()) -> CoroutineState<u32, ()> {
///         if self.0 == 0 {
///             return CoroutineState::Complete(());
///         }
///         self.0 -= 1;
///         CoroutineState::Yielded(self.0 + 1)
///     }
/// }
///
/// assert_eq!(iter(Countdown(3)).collect::<Vec<_>>(), [3, 2, 1]);
/// ```
pub fn iter<C>(coroutine: C) -> Iter<C>
where
    C: Coroutine<(), Return = ()> + Unpin,
{
    Iter {
        coroutine: Some(coroutine),
    }
}

/// The iterator made by [`iter`].
#[derive(Debug)]
pub struct Iter<C> {
    /// `None` once the coroutine has completed.
    coroutine: Option<C>,
}

impl<C> Iter<C> {
    /// The coroutine, while it has not completed (to read its public state between steps).
    pub fn coroutine(&self) -> Option<&C> {
        self.coroutine.as_ref()
    }
}

impl<C> Iterator for Iter<C>
where
    C: Coroutine<(), Return = ()> + Unpin,
{
    type Item = C::Yield;

    fn next(&mut self) -> Option<C::Yield> {
        let coroutine = self.coroutine.as_mut()?;
        match Pin::new(coroutine).resume(()) {
            CoroutineState::Yielded(value) => Some(value),
            CoroutineState::Complete(()) => {
                self.coroutine = None;
                None
            }
        }
    }
}

impl<C> std::iter::FusedIterator for Iter<C> where C: Coroutine<(), Return = ()> + Unpin {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Yields 0, 1, .. up to `end` (exclusive), then completes with how many it yielded; panics if
    /// resumed after that.
    struct Upto {
        next: u32,
        end: u32,
        done: bool,
    }

    impl Upto {
        fn new(end: u32) -> Self {
            Upto {
                next: 0,
                end,
                done: false,
            }
        }
    }

    impl Coroutine for Upto {
        type Yield = u32;
        type Return = u32;
        fn resume(mut self: Pin<&mut Self>, (): ()) -> CoroutineState<u32, u32> {
            if self.done {
                resumed_after_completion();
            }
            if self.next == self.end {
                self.done = true;
                return CoroutineState::Complete(self.end);
            }
            self.next += 1;
            CoroutineState::Yielded(self.next - 1)
        }
    }

    /// A generator version of `Upto` (returns `()`), for `iter`.
    struct UptoUnit(Upto);
    impl Coroutine for UptoUnit {
        type Yield = u32;
        type Return = ();
        fn resume(mut self: Pin<&mut Self>, (): ()) -> CoroutineState<u32, ()> {
            match Pin::new(&mut self.0).resume(()) {
                CoroutineState::Yielded(v) => CoroutineState::Yielded(v),
                CoroutineState::Complete(_) => CoroutineState::Complete(()),
            }
        }
    }

    #[test]
    fn every_blanket_impl_resumes_the_inner_coroutine() {
        let mut plain = Upto::new(2);
        assert_eq!(drain(Pin::new(&mut plain)), (vec![0, 1], 2));

        // `&mut G`: the book's `Pin::new(&mut coroutine)` where `coroutine: &mut G`.
        let mut inner = Upto::new(3);
        let mut by_ref = &mut inner;
        assert_eq!(drain(Pin::new(&mut by_ref)), (vec![0, 1, 2], 3));

        let mut boxed = Box::new(Upto::new(1));
        assert_eq!(drain(Pin::new(&mut boxed)), (vec![0], 1));

        let mut pinned_box = Box::pin(Upto::new(2));
        assert_eq!(drain(Pin::new(&mut pinned_box)), (vec![0, 1], 2));

        let mut target = Upto::new(2);
        let mut pinned_ref = Pin::new(&mut target);
        assert_eq!(drain(Pin::new(&mut pinned_ref)), (vec![0, 1], 2));
    }

    #[test]
    fn trait_objects_of_different_types_share_one_queue() {
        let mut queue: Vec<Pin<Box<dyn Coroutine<Yield = u32, Return = u32>>>> =
            vec![Box::pin(Upto::new(1)), Box::pin(Box::new(Upto::new(2)))];
        let results: Vec<_> = queue.iter_mut().map(|c| drain(c.as_mut())).collect();
        assert_eq!(results, [(vec![0], 1), (vec![0, 1], 2)]);
    }

    #[test]
    #[should_panic(expected = "coroutine resumed after completion")]
    fn resuming_after_completion_panics() {
        let mut c = Upto::new(0);
        assert_eq!(Pin::new(&mut c).resume(()), CoroutineState::Complete(0));
        let _ = Pin::new(&mut c).resume(());
    }

    #[test]
    fn iter_is_fused_and_never_resumes_a_completed_coroutine() {
        let mut it = iter(UptoUnit(Upto::new(3)));
        assert_eq!(it.by_ref().collect::<Vec<_>>(), [0, 1, 2]);
        assert!(it.coroutine().is_none());
        // A resume now would panic; the adapter returns `None` instead, again and again.
        assert_eq!(it.next(), None);
        assert_eq!(it.next(), None);
    }
}
