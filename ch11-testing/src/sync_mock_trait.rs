//! `sync-mock-trait`: mocking a synchronous interface with mockall (book section "Performing Basic
//! Sync Testing").
//!
//! `do_something` does not call a runtime or a database itself: it receives its collaborator as a
//! value of some type implementing [`AsyncProcess`] (dependency injection). In production that is
//! a handle to a real async runtime, like chapter 9's isolated module ([`RuntimeProcess`] here);
//! in a test it is a mock, [`MockDatabaseHandler`], made by mockall's `mock!` macro. A test then
//! follows arrange, act, assert:
//!
//! - **arrange**: `expect_spawn().with(eq(4)).returning(..)` says which argument the mock must
//!   receive and what it answers; `.times(n)` and `.never()` say how often it may be called;
//! - **act**: call `do_something(mock, 4)`; the mock is *moved* into it;
//! - **assert**: compare the outcome. Call counts are checked when the mock is dropped, which
//!   happens at the end of `do_something`, since it owns the mock.
//!
//! When the code breaks an expectation, mockall panics: an argument nothing expected gives
//! "No matching expectation found", a call count left short gives "called 0 time(s) which is
//! fewer than expected 1". The demo shows both (caught, see [`crate::caught`]).
//!
//! Run it with `cargo run -p ch11 -- sync-mock-trait`; the tests are `cargo test -p ch11
//! sync_mock_trait`.
//!
//! How we differ from the book: `result * 3` overflows `i32` for results below about −715 million,
//! which panics in a debug build and wraps in release; ours returns an error instead (a property
//! test finds the book's overflow). The mock lives next to the code rather than in the test module,
//! because the demo uses it too.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use common::demo::{Args, DemoResult};
use mockall::mock;
use mockall::predicate::eq;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

use crate::caught::show_panic;

/// The isolated module's interface: hand in an input and get a key back (`spawn`), later trade
/// the key for the task's result (`get_result`). Generic over input, key and result types.
pub trait AsyncProcess<X, Y, Z> {
    /// Starts the work for `input`; returns the key to ask for its result with.
    fn spawn(&self, input: X) -> Result<Y, String>;
    /// Waits for the work behind `key` and returns its result.
    fn get_result(&self, key: Y) -> Result<Z, String>;
}

// Book: the prose calls this "our async function"; it is a plain synchronous function that
// drives async work through a synchronous interface, which is why a plain `#[test]` can test it.
/// The code under test: spawns the work, does something else meanwhile, then reads the result
/// and judges it: above 10 is an error, 8 is doubled, anything else tripled.
pub fn do_something<T>(async_handle: T, input: i32) -> Result<i32, String>
where
    T: AsyncProcess<i32, String, i32>,
{
    let key = async_handle.spawn(input)?;
    println!("something is happening");
    let result = async_handle.get_result(key)?;
    if result > 10 {
        return Err("result is too big".to_string());
    }
    if result == 8 {
        return Ok(result * 2);
    }
    // Book: `Ok(result * 3)`, which overflows `i32` for any result below -715827882 (a panic in
    // a debug build, a wrapped, wrong number in release); `checked_mul` turns that into an error.
    result
        .checked_mul(3)
        .ok_or_else(|| format!("result {result} is too small to triple"))
}

// Book: the `mock!` sits inside the test module (named `get_team_processes_tests`, a leftover
// from another project); ours is public library code because the demo runs it too, and the tests
// are named after the function they test.
mock! {
    /// A stand-in for the database handle: every call is checked against the expectations set on
    /// it and answered with the scripted value.
    pub DatabaseHandler {}
    impl AsyncProcess<i32, String, i32> for DatabaseHandler {
        fn spawn(&self, input: i32) -> Result<String, String>;

        fn get_result(&self, key: String) -> Result<i32, String>;
    }
}

/// Arranges a mock that expects `spawn(input)` once, answers `"test_key"`, and then expects
/// `get_result("test_key")` once, answering `result`.
pub fn scripted_mock(input: i32, result: Result<i32, String>) -> MockDatabaseHandler {
    let mut handle = MockDatabaseHandler::new();
    handle
        .expect_spawn()
        .with(eq(input))
        .times(1)
        .returning(|_| Ok("test_key".to_string()));
    handle
        .expect_get_result()
        .with(eq("test_key".to_string()))
        .times(1)
        .return_once(move |_| result);
    handle
}

/// A real implementation of the interface: an owned tokio runtime and a map from keys to the
/// handles of spawned tasks, the shape of chapter 9's `send_add` / `get_add`. Its task doubles
/// the input.
pub struct RuntimeProcess {
    runtime: Runtime,
    handles: Mutex<HashMap<String, JoinHandle<i32>>>,
    next_key: AtomicU64,
}

impl RuntimeProcess {
    /// A process with its own single-threaded runtime.
    pub fn new() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(RuntimeProcess {
            runtime,
            handles: Mutex::new(HashMap::new()),
            next_key: AtomicU64::new(1),
        })
    }

    fn handles(&self) -> std::sync::MutexGuard<'_, HashMap<String, JoinHandle<i32>>> {
        // A poisoned map only means another caller panicked mid-insert; the map itself is fine.
        self.handles
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl AsyncProcess<i32, String, i32> for RuntimeProcess {
    fn spawn(&self, input: i32) -> Result<String, String> {
        let doubled = input
            .checked_mul(2)
            .ok_or_else(|| format!("input {input} is too large to double"))?;
        let handle = self.runtime.spawn(async move {
            tokio::task::yield_now().await; // some asynchronous work before the answer
            doubled
        });
        let key = format!("task-{}", self.next_key.fetch_add(1, Ordering::Relaxed));
        self.handles().insert(key.clone(), handle);
        Ok(key)
    }

    fn get_result(&self, key: String) -> Result<i32, String> {
        let handle = self
            .handles()
            .remove(&key)
            .ok_or_else(|| format!("no task with key {key:?}"))?;
        self.runtime.block_on(handle).map_err(|e| e.to_string())
    }
}

/// `do_something` takes its handle by value; a reference to a real process works too, so the
/// demo can keep using the process afterwards.
impl<T: AsyncProcess<i32, String, i32>> AsyncProcess<i32, String, i32> for &T {
    fn spawn(&self, input: i32) -> Result<String, String> {
        (*self).spawn(input)
    }

    fn get_result(&self, key: String) -> Result<i32, String> {
        (*self).get_result(key)
    }
}

/// Runs the demo: `sync-mock-trait` (no arguments).
pub fn run(args: Args) -> DemoResult {
    args.finish()?;

    println!("1. do_something(mock, 4), the mock scripted per case (arrange, act, assert):");
    for result in [11, 8, 3] {
        println!(
            "   arrange: spawn(4) → \"test_key\", get_result(\"test_key\") → Ok({result}); act:"
        );
        let outcome = do_something(scripted_mock(4, Ok(result)), 4);
        println!("   assert:  {outcome:?}");
    }
    let mut failing = MockDatabaseHandler::new();
    failing
        .expect_spawn()
        .times(1)
        .returning(|_| Err("database offline".to_string()));
    failing.expect_get_result().never();
    println!("   arrange: spawn fails, get_result must never be called; act:");
    let outcome = do_something(failing, 4);
    println!("   assert:  {outcome:?} (the `?` returned before the print)");

    println!("\n2. what mockall catches");
    println!("   a) the code calls spawn(5), but the test expected spawn(4):");
    let wrong_argument = scripted_mock(4, Ok(3));
    show_panic(|| do_something(wrong_argument, 5)).err();
    println!("   b) get_result expected .times(1), but spawn failed first, so it never ran:");
    let mut unmet = MockDatabaseHandler::new();
    unmet
        .expect_spawn()
        .returning(|_| Err("database offline".to_string()));
    unmet.expect_get_result().times(1).returning(|_| Ok(3));
    // The mock is checked when it is dropped, at the end of `do_something`, which owns it.
    show_panic(|| do_something(unmet, 4)).err();

    println!(
        "\n3. the same function with a real implementation (a tokio runtime doubling its input)"
    );
    let process = RuntimeProcess::new()?;
    let outcome = do_something(&process, 4);
    println!("   do_something(RuntimeProcess, 4) = {outcome:?} (4 doubled is 8, and 8 is doubled)");
    let unknown = process.get_result("task-404".to_string());
    println!("   get_result(\"task-404\") = {unknown:?}");
    Ok(())
}

#[cfg(test)]
mod do_something_tests {
    use super::*;
    use crate::caught::catch_panic;

    #[test]
    fn do_something_fail() {
        let mut handle = MockDatabaseHandler::new();
        handle
            .expect_spawn()
            .with(eq(4))
            .returning(|_| Ok("test_key".to_string()));
        handle
            .expect_get_result()
            .with(eq("test_key".to_string()))
            .returning(|_| Ok(11));
        let outcome = do_something(handle, 4);
        assert_eq!(outcome, Err("result is too big".to_string()));
    }

    #[test]
    fn eight_is_doubled_and_three_tripled_each_mock_called_once() {
        assert_eq!(do_something(scripted_mock(4, Ok(8)), 4), Ok(16));
        assert_eq!(do_something(scripted_mock(4, Ok(3)), 4), Ok(9));
        assert_eq!(do_something(scripted_mock(4, Ok(10)), 4), Ok(30));
    }

    #[test]
    fn a_spawn_error_propagates_and_get_result_is_never_called() {
        let mut handle = MockDatabaseHandler::new();
        handle
            .expect_spawn()
            .times(1)
            .returning(|_| Err("database offline".to_string()));
        handle.expect_get_result().never();
        assert_eq!(do_something(handle, 4), Err("database offline".to_string()));
    }

    #[test]
    fn a_get_result_error_propagates() {
        let handle = scripted_mock(4, Err("no such row".to_string()));
        assert_eq!(do_something(handle, 4), Err("no such row".to_string()));
    }

    #[test]
    #[should_panic(expected = "No matching expectation found")]
    fn a_call_with_the_wrong_argument_panics() {
        let handle = scripted_mock(4, Ok(3));
        let _ = do_something(handle, 5);
    }

    #[test]
    fn an_unmet_call_count_is_reported_when_the_mock_is_dropped() {
        let mut handle = MockDatabaseHandler::new();
        handle
            .expect_spawn()
            .returning(|_| Err("database offline".to_string()));
        handle.expect_get_result().times(1).returning(|_| Ok(3));
        let caught = catch_panic(|| do_something(handle, 4));
        let message = caught.expect_err("the drop check should have panicked");
        assert!(
            message.contains("called 0 time(s) which is fewer than expected 1"),
            "{message}"
        );
        assert!(message.contains("get_result"), "{message}");
    }

    #[test]
    fn tripling_that_would_overflow_is_an_error_not_a_panic() {
        let smallest_safe = i32::MIN / 3; // -715827882
        assert_eq!(
            do_something(scripted_mock(4, Ok(smallest_safe)), 4),
            Ok(smallest_safe * 3)
        );
        let overflowing = smallest_safe - 1;
        assert_eq!(
            do_something(scripted_mock(4, Ok(overflowing)), 4),
            Err("result -715827883 is too small to triple".to_string())
        );
    }

    #[test]
    fn the_real_runtime_process_doubles_then_do_something_doubles_eight() {
        let process = RuntimeProcess::new().unwrap();
        assert_eq!(do_something(&process, 4), Ok(16));
        assert_eq!(do_something(&process, 1), Ok(6));
        assert_eq!(
            do_something(&process, 6),
            Err("result is too big".to_string())
        );
    }

    #[test]
    fn the_real_runtime_process_rejects_unknown_keys_and_used_keys() {
        let process = RuntimeProcess::new().unwrap();
        assert_eq!(
            process.get_result("task-404".to_string()),
            Err("no task with key \"task-404\"".to_string())
        );
        let key = process.spawn(21).unwrap();
        assert_eq!(process.get_result(key.clone()), Ok(42));
        assert!(process.get_result(key).is_err(), "a key is good once");
        assert!(process.spawn(i32::MAX).is_err());
    }
}
