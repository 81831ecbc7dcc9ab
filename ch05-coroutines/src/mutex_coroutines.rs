//! `mutex-coroutines`: two coroutines sharing a mutex, tested step by step in a plain test (book
//! section "Testing Coroutines").
//!
//! A [`MutexCoroutine`] tries the lock without blocking: if someone else holds it, it yields and
//! changes nothing; if it gets it, it adds one to the shared value and counts down its
//! `threshold`, completing at zero. Because the *caller* resumes it, a test decides the order of
//! every step, can hold the lock itself to see what a blocked coroutine does, and can read the
//! shared value between any two steps. No runtime, no threads, no timing: the interleaving is in
//! the test's hands. ([`check_yield`] is the book's one-line interface for that: `true` for
//! "yielded", `false` for "complete".)
//!
//! The demo prints the book's `basic_test` scenario as a table of steps, then the same scenario
//! with the second coroutine resumed first. `schedule-explorer` takes the idea to its end and
//! tries every order.
//!
//! Run it with `cargo run -p ch05 -- mutex-coroutines`.
//!
//! How we differ from the book:
//!
//! - after completing, a `MutexCoroutine` has `threshold == 0`; resumed again, the book's version
//!   takes the lock, adds one to the value and then subtracts one from a `u8` zero: a panic in a
//!   debug build (with the lock held, so the mutex is poisoned), a silent wrap to 255 in a release
//!   build, after which it carries on counting. The "error" the prose expects from an extra call is
//!   that accident. Ours checks first and panics like std's coroutines ("coroutine resumed after
//!   completion"), before touching the lock;
//! - a poisoned lock is taken over rather than yielded on (the book's `Err(_)` arm would yield
//!   forever, since a poisoned mutex never recovers);
//! - `assert_eq!(check_yield(..), true)` trips clippy's `bool_assert_comparison`: `assert!`.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, TryLockError};

use common::demo::{Args, DemoResult};

use crate::coroutine::{Coroutine, CoroutineState, resumed_after_completion};

/// The book's coroutine: adds one to the shared value on each resume that gets the lock, and
/// completes after `threshold` of them.
#[derive(Debug)]
pub struct MutexCoroutine {
    /// The shared value.
    pub handle: Arc<Mutex<u8>>,
    /// Successful increments still to do; 0 once complete.
    pub threshold: u8,
}

impl Coroutine<()> for MutexCoroutine {
    type Yield = ();
    type Return = ();

    fn resume(mut self: Pin<&mut Self>, (): ()) -> CoroutineState<Self::Yield, Self::Return> {
        // Book: `MutexCoroutine::resume` has no completion check, so a resume after completion
        // takes the lock, increments the value and underflows `threshold` (a panic in debug, a
        // silent wrap to 255 in release); ours panics first, as std's coroutines do.
        if self.threshold == 0 {
            resumed_after_completion();
        }
        match self.handle.try_lock() {
            Ok(mut handle) => {
                *handle += 1;
            }
            // Book: the `Err(_)` arm of `try_lock` also yields on a poisoned lock, forever; ours
            // takes over the poisoned value, a plain counter that stays consistent.
            Err(TryLockError::Poisoned(poisoned)) => {
                *poisoned.into_inner() += 1;
            }
            Err(TryLockError::WouldBlock) => {
                return CoroutineState::Yielded(());
            }
        }
        self.threshold -= 1;
        if self.threshold == 0 {
            return CoroutineState::Complete(());
        }
        CoroutineState::Yielded(())
    }
}

/// The book's synchronous test interface: resumes once; `true` if it yielded, `false` if it
/// completed.
// Book: `check_yield` takes `&mut MutexCoroutine`; ours is generic over any coroutine of that
// shape, so `schedule-explorer` and the nightly twin use it too.
pub fn check_yield<C>(coroutine: &mut C) -> bool
where
    C: Coroutine<(), Yield = (), Return = ()> + Unpin + ?Sized,
{
    match Pin::new(coroutine).resume(()) {
        CoroutineState::Yielded(()) => true,
        CoroutineState::Complete(()) => false,
    }
}

/// Reads the shared value (a poisoned lock still holds a valid `u8`).
pub fn value(handle: &Mutex<u8>) -> u8 {
    *handle.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One resume of the book's scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Which coroutine was resumed.
    pub who: &'static str,
    /// Whether the test held the lock during the resume.
    pub lock_held: bool,
    /// `check_yield`'s answer: `true` = yielded, `false` = complete.
    pub yielded: bool,
    /// The shared value right after the resume.
    pub value: u8,
}

/// The book's `basic_test` as a list of steps: with the test holding the lock, both coroutines
/// are resumed three rounds in turn; then, unlocked, each twice in turn. `coroutines` are resumed
/// in the order given, and share `handle`.
pub fn book_scenario<C>(handle: &Mutex<u8>, mut coroutines: [(&'static str, C); 2]) -> Vec<Step>
where
    C: Coroutine<(), Yield = (), Return = ()> + Unpin,
{
    let mut steps = Vec::new();
    {
        let lock = handle.lock().unwrap_or_else(PoisonError::into_inner);
        for _ in 0..3 {
            for (who, coroutine) in &mut coroutines {
                let yielded = check_yield(coroutine);
                steps.push(Step {
                    who,
                    lock_held: true,
                    yielded,
                    value: *lock,
                });
            }
        }
    } // the test lets go of the lock here
    for _ in 0..2 {
        for (who, coroutine) in &mut coroutines {
            let yielded = check_yield(coroutine);
            steps.push(Step {
                who,
                lock_held: false,
                yielded,
                value: value(handle),
            });
        }
    }
    steps
}

/// The scenario with two fresh `MutexCoroutine`s of threshold 2, `first_first` deciding which is
/// resumed first.
pub fn book_scenario_with_structs(first_first: bool) -> Vec<Step> {
    let handle = Arc::new(Mutex::new(0));
    let first_coroutine = MutexCoroutine {
        handle: handle.clone(),
        threshold: 2,
    };
    let second_coroutine = MutexCoroutine {
        handle: handle.clone(),
        threshold: 2,
    };
    let order = if first_first {
        [("first", first_coroutine), ("second", second_coroutine)]
    } else {
        [("second", second_coroutine), ("first", first_coroutine)]
    };
    book_scenario(&handle, order)
}

/// The steps as a table.
pub fn render_steps(steps: &[Step]) -> String {
    let mut out = String::from("step  resumed  test holds lock  result     value\n");
    for (n, step) in steps.iter().enumerate() {
        out += &format!(
            "{:>4}  {:<7}  {:<15}  {:<9}  {}\n",
            n + 1,
            step.who,
            if step.lock_held { "yes" } else { "no" },
            if step.yielded { "yielded" } else { "complete" },
            step.value
        );
    }
    out
}

/// Runs the demo: `mutex-coroutines`.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    println!("the book's basic_test, step by step:");
    let steps = book_scenario_with_structs(true);
    print!("{}", render_steps(&steps));
    println!("\nthe same with the second coroutine resumed first:");
    print!("{}", render_steps(&book_scenario_with_structs(false)));

    #[cfg(feature = "nightly")]
    {
        use crate::native::{Native, scheduling::mutex_counter};
        let handle = Arc::new(Mutex::new(0));
        let native = book_scenario(
            &handle,
            [
                ("first", Native::new(mutex_counter(handle.clone(), 2))),
                ("second", Native::new(mutex_counter(handle.clone(), 2))),
            ],
        );
        if native != steps {
            return Err("the native coroutines took different steps".into());
        }
        println!(
            "\nnightly: native coroutines took the same {} steps",
            native.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_test() {
        let handle = Arc::new(Mutex::new(0));
        let mut first_coroutine = MutexCoroutine {
            handle: handle.clone(),
            threshold: 2,
        };
        let mut second_coroutine = MutexCoroutine {
            handle: handle.clone(),
            threshold: 2,
        };

        let lock = handle.lock().unwrap();
        // Book: `assert_eq!(check_yield(..), true)`, which clippy's `bool_assert_comparison`
        // rejects under `-D warnings`; ours uses `assert!`.
        for _ in 0..3 {
            assert!(check_yield(&mut first_coroutine));
            assert!(check_yield(&mut second_coroutine));
        }
        assert_eq!(*lock, 0);
        std::mem::drop(lock);

        assert!(check_yield(&mut first_coroutine));
        assert_eq!(*handle.lock().unwrap(), 1);
        assert!(check_yield(&mut second_coroutine));
        assert_eq!(*handle.lock().unwrap(), 2);
        assert!(!check_yield(&mut first_coroutine));
        assert_eq!(*handle.lock().unwrap(), 3);
        assert!(!check_yield(&mut second_coroutine));
        assert_eq!(*handle.lock().unwrap(), 4);
    }

    #[test]
    fn a_blocked_resume_changes_neither_value_nor_threshold() {
        let handle = Arc::new(Mutex::new(0));
        let mut coroutines = [2, 2].map(|threshold| MutexCoroutine {
            handle: handle.clone(),
            threshold,
        });
        let lock = handle.lock().unwrap();
        for _ in 0..3 {
            for coroutine in &mut coroutines {
                assert!(check_yield(coroutine));
                assert_eq!(coroutine.threshold, 2);
                assert_eq!(*lock, 0);
            }
        }
    }

    #[test]
    fn the_scenario_table_matches_the_book_in_both_orders() {
        let outcome = |steps: &[Step]| -> Vec<(&str, bool, u8)> {
            steps.iter().map(|s| (s.who, s.yielded, s.value)).collect()
        };
        let steps = book_scenario_with_structs(true);
        assert_eq!(steps.len(), 10);
        assert!(
            steps[..6]
                .iter()
                .all(|s| s.lock_held && s.yielded && s.value == 0)
        );
        assert_eq!(
            outcome(&steps[6..]),
            [
                ("first", true, 1),
                ("second", true, 2),
                ("first", false, 3),
                ("second", false, 4)
            ]
        );
        let swapped = book_scenario_with_structs(false);
        assert_eq!(
            outcome(&swapped[6..]),
            [
                ("second", true, 1),
                ("first", true, 2),
                ("second", false, 3),
                ("first", false, 4)
            ]
        );
        assert!(render_steps(&steps).contains("   9  first    no               complete   3"));
    }

    #[test]
    fn a_resume_after_completion_panics_before_touching_the_lock() {
        let handle = Arc::new(Mutex::new(0));
        let mut coroutines = [2, 2].map(|threshold| MutexCoroutine {
            handle: handle.clone(),
            threshold,
        });
        for _ in 0..2 {
            for coroutine in &mut coroutines {
                check_yield(coroutine);
            }
        }
        assert_eq!(value(&handle), 4);
        let [first, _] = &mut coroutines;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_yield(first)));
        let payload = result.expect_err("a fifth resume must panic");
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        assert_eq!(message, "coroutine resumed after completion");
        assert!(!handle.is_poisoned(), "the check comes before the lock");
        assert_eq!(*handle.lock().unwrap(), 4);
    }
}
