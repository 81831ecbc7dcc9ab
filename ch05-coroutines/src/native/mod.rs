//! The native coroutine syntax of nightly Rust (feature `nightly`; not a demo).
//!
//! The demos implement the chapter's local [`Coroutine`](crate::coroutine::Coroutine) trait by hand,
//! as the book does with `std::ops::Coroutine`. This module holds their twins written with the
//! syntax the compiler turns into such state machines: `#[coroutine]` closures with `yield`, driven
//! through `std::ops::Coroutine`. Each twin sits in the file named after its demo, with tests that
//! show the native and the hand-written versions yield the same values.
//!
//! It lives in files of its own because stable rustc rejects `yield` while *parsing*, before any
//! `#[cfg]` is looked at: an inline `#[cfg(feature = "nightly")] mod native { .. }` would break the
//! stable build. Build and test it with `cargo +nightly test -p ch05 --features nightly`.
//!
//! Two bridges connect the two traits:
//!
//! - [`Native`] makes any `std::ops::Coroutine` usable as ours (so `coroutine::iter`, the
//!   `CoroutineManager`'s `transfer` and the executor queue take native coroutines unchanged);
//! - [`Std`] makes any of ours a `std::ops::Coroutine` (so the book's own driving loops, written
//!   against std, drive our hand-written structs: proof that the local trait has std's shape).

use std::ops;
use std::pin::Pin;

use crate::coroutine::{Coroutine, CoroutineState};

// One file per demo (or topic) with native twins. The demo twins are re-exported as
// `native::<name>`; `scheduling` (the twins of the later sections) is a public module.
mod coroutine_manager;
mod coroutine_state_machine;
mod lazy_generator;
mod read_coroutine;
pub mod scheduling;
mod write_coroutine;

pub use coroutine_state_machine::running_total;
pub use lazy_generator::fibonacci;
pub use read_coroutine::reader;
pub use write_coroutine::{write_numbers, writer};

/// A `std::ops::Coroutine` seen as the chapter's [`Coroutine`].
///
/// It holds the native coroutine in a `Pin<Box<_>>`, so it works for `static` (self-borrowing)
/// coroutines too and needs no unsafe pin projection; `Native` itself is `Unpin`.
pub struct Native<G>(Pin<Box<G>>);

impl<G> Native<G> {
    /// Boxes and pins `coroutine`.
    pub fn new(coroutine: G) -> Self {
        Native(Box::pin(coroutine))
    }
}

impl<G: ops::Coroutine<R>, R> Coroutine<R> for Native<G> {
    type Yield = G::Yield;
    type Return = G::Return;

    fn resume(self: Pin<&mut Self>, arg: R) -> CoroutineState<G::Yield, G::Return> {
        Pin::get_mut(self).0.as_mut().resume(arg).into()
    }
}

/// One of the chapter's coroutines seen as a `std::ops::Coroutine`.
pub struct Std<C>(Pin<Box<C>>);

impl<C> Std<C> {
    /// Boxes and pins `coroutine`.
    pub fn new(coroutine: C) -> Self {
        Std(Box::pin(coroutine))
    }
}

impl<C: Coroutine<R>, R> ops::Coroutine<R> for Std<C> {
    type Yield = C::Yield;
    type Return = C::Return;

    fn resume(self: Pin<&mut Self>, arg: R) -> ops::CoroutineState<C::Yield, C::Return> {
        match Pin::get_mut(self).0.as_mut().resume(arg) {
            CoroutineState::Yielded(value) => ops::CoroutineState::Yielded(value),
            CoroutineState::Complete(value) => ops::CoroutineState::Complete(value),
        }
    }
}

impl<Y, R> From<ops::CoroutineState<Y, R>> for CoroutineState<Y, R> {
    fn from(state: ops::CoroutineState<Y, R>) -> Self {
        match state {
            ops::CoroutineState::Yielded(value) => CoroutineState::Yielded(value),
            ops::CoroutineState::Complete(value) => CoroutineState::Complete(value),
        }
    }
}
