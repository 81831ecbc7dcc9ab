//! Chapter 5 of *Async Rust*, "Coroutines": computations that pause, hand a value to whoever
//! resumes them, and carry on from where they stopped.
//!
//! One module per demo, named after its id (`read-coroutine` lives in [`read_coroutine`]), in the
//! order of the book. Run them all with `cargo run -p ch05`, list them with
//! `cargo run -p ch05 -- list`, or run one with `cargo run -p ch05 -- <id> [args…]`.
//!
//! The book's coroutines implement nightly's `std::ops::Coroutine`. Ours implement a local trait
//! of exactly that shape, [`coroutine::Coroutine`], with hand-written state machines, so the
//! chapter builds and runs on stable. The `nightly` feature (`cargo +nightly test -p ch05
//! --features nightly`) adds the module `native`: twins written in the native syntax
//! (`#[coroutine]` closures with `yield`) and tests that both yield the same values.
//!
//! | helper | what | used by |
//! |---|---|---|
//! | [`coroutine`] | the `Coroutine` trait, `CoroutineState`, std's blanket impls, `iter` and `drain` | every demo |
//! | [`numbers`] | seeded random numbers and the numbers file | `write-coroutine`, `coroutine-manager`, `symmetric-coroutine` |
//! | `native` (feature `nightly`) | `Native`/`Std` bridges and the native twins | tests, and one extra line in the demos that have a twin |
//!
//! | book section | demos |
//! |---|---|
//! | Introducing Coroutines, What Are Coroutines? | [`coroutine_state_machine`] |
//! | Why Use Coroutines? | [`write_coroutine`] |
//! | Generating with Coroutines | [`lazy_generator`] |
//! | Implementing a Simple Generator in Rust | [`read_coroutine`] |
//! | Stacking Our Coroutines | [`coroutine_manager`] |
//! | Calling a Coroutine from a Coroutine | [`symmetric_coroutine`] |
//! | Mimicking Async Behavior with Coroutines | [`sleep_coroutines`], [`coroutine_executor`], [`sleep_coroutine_future`] |
//! | Controlling Coroutines | [`controlled_coroutines`], [`nesting_future`], [`coroutines_across_threads`] |
//! | Testing Coroutines | [`mutex_coroutines`], [`mutex_future_adapter`] |
//! | Extra: every interleaving | [`schedule_explorer`] |

#![cfg_attr(
    feature = "nightly",
    feature(coroutines, coroutine_trait, stmt_expr_attributes)
)]

pub mod controlled_coroutines;
pub mod coroutine;
pub mod coroutine_executor;
pub mod coroutine_manager;
pub mod coroutine_state_machine;
pub mod coroutines_across_threads;
pub mod lazy_generator;
pub mod mutex_coroutines;
pub mod mutex_future_adapter;
#[cfg(feature = "nightly")]
pub mod native;
pub mod nesting_future;
pub mod numbers;
pub mod read_coroutine;
pub mod schedule_explorer;
pub mod sleep_coroutine_future;
pub mod sleep_coroutines;
pub mod symmetric_coroutine;
pub mod write_coroutine;
