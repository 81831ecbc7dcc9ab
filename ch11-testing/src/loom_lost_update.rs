//! `loom-lost-update` (extra, after the book's "Testing for Race Conditions"): exploring every
//! interleaving with loom.
//!
//! `race-lost-update` forces one bad interleaving by hand (a barrier between the load and the
//! store). [loom](https://docs.rs/loom) goes further: it runs a small concurrent program under
//! *every* legal interleaving of its threads (and every value its atomics may legally return), one
//! after another, on a simulated scheduler. A bug that real threads show once in a million runs is
//! found on every run of the test; and a fix that survives the model holds for all interleavings
//! the model covers, not only for the ones a stress test happened to hit.
//!
//! The model here is the race section's counter: two threads each add 1 to a shared counter,
//! then the model asserts the counter is 2. With the book's load-then-store update loom finds the
//! execution where both threads load 0 and both store 1, and the assertion panics; with
//! `fetch_add` every execution ends at 2.
//!
//! loom sits behind the chapter's `loom` cargo feature, off by default, so a normal build does
//! not compile it. Run the demo with `cargo run -p ch11 --features loom -- loom-lost-update` and
//! its tests with `cargo test -p ch11 --features loom loom`. You will see the panic loom provoked
//! (it is caught and printed), how many of the explored executions lose an update, and the fixed
//! model passing all of its executions, each with a count and the time it took. (loom counts
//! *executions*: one per path through its scheduling and value choices, so there are more of them
//! than the six orders of two loads and two stores.) Without the feature, `run` only says what it
//! would show and prints those two commands.
//!
//! How loom is used here:
//!
//! - Loom works as an ordinary library: inside `loom::model(|| ..)` (or
//!   [`loom::model::Builder`](https://docs.rs/loom/0.7/loom/model/struct.Builder.html)'s `check`)
//!   the code uses loom's own `thread` and `sync` types, which the model's scheduler controls. This
//!   module names those types directly, so no `--cfg loom` switch is needed: the models, and the
//!   tests that check them, are compiled under `#[cfg(feature = "loom")]`, and CI lints and tests
//!   the chapter with that feature on. A library that wants to check its *own* code under loom
//!   swaps `std::sync` for `loom::sync` behind `#[cfg(loom)]` and runs
//!   `RUSTFLAGS="--cfg loom" cargo test`; this chapter only shows the technique.
//! - The exploration is bounded: [`PREEMPTION_BOUND`] limits how often the scheduler may switch
//!   away from a thread that could have continued. Bugs need few preemptions, and the bound keeps
//!   bigger models from exploding. This model is tiny: with the bound at 2, loom explores the
//!   same executions as with no bound at all (12 for the racy update, 4 for `fetch_add`; measured),
//!   in a few milliseconds.
//! - Plain `std` atomics outside loom's types count executions and outcomes: loom neither sees nor
//!   schedules them, so they observe the model without changing it.

#[cfg(feature = "loom")]
use std::collections::BTreeMap;
#[cfg(feature = "loom")]
use std::sync::{Mutex, PoisonError};
#[cfg(feature = "loom")]
use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};
#[cfg(feature = "loom")]
use loom::sync::Arc;
#[cfg(feature = "loom")]
use loom::sync::atomic::{AtomicUsize, Ordering};
#[cfg(feature = "loom")]
use loom::thread;

#[cfg(feature = "loom")]
use crate::caught::show_panic;

/// The race section's `unsafe_add` on loom's atomic: load, then store the loaded value plus one.
#[cfg(feature = "loom")]
pub fn racy_add(counter: &AtomicUsize) {
    let value = counter.load(Ordering::SeqCst);
    counter.store(value + 1, Ordering::SeqCst);
}

/// The fix: one atomic read-modify-write.
#[cfg(feature = "loom")]
pub fn atomic_add(counter: &AtomicUsize) {
    counter.fetch_add(1, Ordering::SeqCst);
}

/// One execution of the model: a spawned thread and the model's own thread each apply `add`
/// once to a counter that starts at 0; returns the final count (2 if no update was lost).
///
/// Must run inside a loom model: loom's types panic anywhere else.
#[cfg(feature = "loom")]
pub fn two_threads_add(add: fn(&AtomicUsize)) -> usize {
    let counter = Arc::new(AtomicUsize::new(0));
    let theirs = Arc::clone(&counter);
    let other = thread::spawn(move || add(&theirs));
    add(&counter);
    if other.join().is_err() {
        panic!("the other thread panicked");
    }
    counter.load(Ordering::SeqCst)
}

/// How many times loom's scheduler may preempt a thread in one execution. (In every build: the
/// message of a build without loom names it too.)
pub const PREEMPTION_BOUND: usize = 2;

/// A model builder with the bound set. `Builder::new()` also reads loom's `LOOM_*` environment
/// variables (and panics on one that does not parse); the bound set here wins over
/// `LOOM_MAX_PREEMPTIONS`.
#[cfg(feature = "loom")]
fn bounded() -> loom::model::Builder {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(PREEMPTION_BOUND);
    builder
}

/// The loom test as it is usually written: check the model, assert in every execution that the
/// count is 2. Returns the number of executions explored; panics, in the first execution that
/// loses an update, with a message that starts "lost update".
#[cfg(feature = "loom")]
pub fn check_two_adds(add: fn(&AtomicUsize)) -> usize {
    let executions = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&executions);
    bounded().check(move || {
        let execution = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let total = two_threads_add(add);
        assert!(
            total == 2,
            "lost update: loom found an interleaving ending at {total}, expected 2 \
             (execution {execution})"
        );
    });
    executions.load(std::sync::atomic::Ordering::SeqCst)
}

/// Every execution explored, tallied by final count instead of asserted: `{final count: how many
/// executions ended there}`.
#[cfg(feature = "loom")]
pub fn explore_two_adds(add: fn(&AtomicUsize)) -> BTreeMap<usize, usize> {
    let outcomes = std::sync::Arc::new(Mutex::new(BTreeMap::new()));
    let tally = std::sync::Arc::clone(&outcomes);
    bounded().check(move || {
        let total = two_threads_add(add);
        *tally
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(total)
            .or_insert(0) += 1;
    });
    let outcomes = outcomes.lock().unwrap_or_else(PoisonError::into_inner);
    outcomes.clone()
}

#[cfg(feature = "loom")]
fn timed<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let started = Instant::now();
    let value = f();
    (value, started.elapsed())
}

#[cfg(feature = "loom")]
fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1e3)
}

/// Runs the demo (no arguments): the models above, under loom.
#[cfg(feature = "loom")]
pub fn run(args: Args) -> DemoResult {
    args.finish()?;

    println!("load-then-store, checked with loom (preemption bound {PREEMPTION_BOUND}):");
    let (caught, took) = timed(|| show_panic(|| check_two_adds(racy_add)));
    match caught {
        Err(message) if message.starts_with("lost update") => {
            println!("  → the model found it in {}", ms(took));
        }
        Err(message) => {
            return Err(format!("the model failed for another reason: {message}").into());
        }
        Ok(executions) => {
            return Err(format!("loom explored {executions} executions and lost nothing").into());
        }
    }

    let (outcomes, took) = timed(|| explore_two_adds(racy_add));
    let executions: usize = outcomes.values().sum();
    let lost = outcomes.get(&1).copied().unwrap_or(0);
    println!(
        "  every execution, tallied: {lost} of {executions} end at 1, the rest at 2 ({})",
        ms(took)
    );

    println!("fetch_add, checked with loom:");
    let (executions, took) = timed(|| check_two_adds(atomic_add));
    println!(
        "  all {executions} executions end at 2: no update lost ({})",
        ms(took)
    );
    Ok(())
}

/// Runs the demo (no arguments). Built without the `loom` feature, there are no models to run:
/// it says what they would show and how to build them in.
#[cfg(not(feature = "loom"))]
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    print!("{}", explain_without_loom());
    Ok(())
}

/// What `run` prints in a build without the `loom` feature: what the demo shows, and the commands
/// that run it and its tests with the feature on.
pub fn explain_without_loom() -> String {
    format!(
        "loom-lost-update needs the `loom` feature (off by default: loom stays out of the normal \
         build).\n\
         With it, loom runs two threads that each add 1 to a shared counter under every\n\
         interleaving (preemption bound {PREEMPTION_BOUND}): load-then-store loses an update in some \
         of them,\n\
         and loom finds one on every run; fetch_add loses none.\n\
         \x20 the demo:   cargo run -p ch11 --features loom -- loom-lost-update\n\
         \x20 its tests:  cargo test -p ch11 --features loom loom\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "loom")]
    use crate::caught::catch_panic;

    #[test]
    fn without_loom_the_demo_prints_how_to_run_it() {
        let text = explain_without_loom();
        assert!(text.contains("the `loom` feature"), "{text}");
        assert!(
            text.contains("cargo run -p ch11 --features loom -- loom-lost-update\n"),
            "{text}"
        );
        assert!(
            text.contains("cargo test -p ch11 --features loom loom\n"),
            "{text}"
        );
    }

    #[cfg(not(feature = "loom"))]
    #[test]
    fn without_loom_the_demo_explains_and_rejects_arguments() {
        run(Args::default()).unwrap();
        assert!(run(Args::from_iter(["--bound", "3"])).is_err());
    }

    #[cfg(feature = "loom")]
    #[test]
    fn loom_finds_the_lost_update_every_run() {
        for _ in 0..3 {
            let message = catch_panic(|| check_two_adds(racy_add))
                .expect_err("loom should have found the lost update");
            assert!(
                message.starts_with("lost update: loom found an interleaving ending at 1"),
                "{message}"
            );
        }
    }

    #[cfg(feature = "loom")]
    #[test]
    fn loom_checks_fetch_add_over_all_interleavings() {
        let executions = check_two_adds(atomic_add);
        assert!(executions >= 2, "only {executions} executions explored");
        let outcomes = explore_two_adds(atomic_add);
        assert_eq!(outcomes.keys().copied().collect::<Vec<_>>(), [2]);
        assert_eq!(outcomes[&2], executions);
    }

    #[cfg(feature = "loom")]
    #[test]
    fn loom_tallies_both_outcomes_of_the_racy_update() {
        let outcomes = explore_two_adds(racy_add);
        assert_eq!(outcomes.keys().copied().collect::<Vec<_>>(), [1, 2]);
        assert!(outcomes[&1] >= 1 && outcomes[&2] >= 1, "{outcomes:?}");
        // Deterministic: the same executions in the same order, every time.
        assert_eq!(explore_two_adds(racy_add), outcomes);
    }

    #[cfg(feature = "loom")]
    #[test]
    fn loom_demo_runs_and_rejects_arguments() {
        run(Args::default()).unwrap();
        assert!(run(Args::from_iter(["--bound", "3"])).is_err());
    }
}
