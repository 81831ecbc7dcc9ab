//! `async-mock-trait`: mocking an async interface whose futures are `Send` (book section "Mocking
//! Async Code").
//!
//! The interface shrinks to one method: `get_result` returns a future, and the caller awaits it.
//! The method is written as `fn … -> impl Future<Output = …> + Send + 'static` rather than as an
//! `async fn`, and that is the lesson of the section. An `async fn` in a trait promises nothing
//! about its future, so generic code cannot hand it to `tokio::spawn`, which needs `Send +
//! 'static`; spelling the return type out makes the promise part of the trait, and every
//! implementation, mocks included, must keep it.
//!
//! mockall mocks such a method by boxing: each expectation returns a
//! `Pin<Box<dyn Future<Output = …> + Send>>`, written `Box::pin(async move { … })`. (`#[automock]`
//! on the trait is the shorter alternative to the `mock!` block used here.)
//!
//! The demo runs the book's case, then spawns `do_something(mock, 4)` on a multi-threaded runtime
//! (it compiles only because of that `+ Send`), then gives the code a dependency that never
//! answers and catches the hang with a timeout on tokio's paused clock: one virtual second, a few
//! microseconds of real time.
//!
//! The half that must *not* compile, as a checked example: with a plain `async fn` in the trait,
//! spawning the generic call is rejected ("future cannot be sent between threads safely").
//!
//! ```compile_fail
//! pub trait AsyncProcess<X, Z> {
//!     async fn get_result(&self, key: X) -> Result<Z, String>;
//! }
//!
//! fn spawn_it<T>(handle: T) -> tokio::task::JoinHandle<Result<i32, String>>
//! where
//!     T: AsyncProcess<i32, i32> + Send + Sync + 'static,
//! {
//!     tokio::spawn(async move { handle.get_result(4).await })
//! }
//! ```
//!
//! Run it with `cargo run -p ch11 -- async-mock-trait`; the tests are `cargo test -p ch11
//! async_mock_trait`.

use std::future::Future;
use std::time::Duration;

use common::demo::{Args, DemoResult};
use mockall::mock;
use mockall::predicate::eq;
use tokio::time::{Instant, timeout};

// Book: the trait's listing lacks the `>` that closes `Future<Output = …>` (a syntax error; the
// `mock!` listing has it).
/// The async interface: trade a key for a result, later. The future is `Send + 'static`, so it may
/// be moved to another thread and outlive the borrow of `self`.
pub trait AsyncProcess<X, Z> {
    /// Starts fetching the result for `key`; the returned future resolves to it.
    fn get_result(&self, key: X) -> impl Future<Output = Result<Z, String>> + Send + 'static;
}

/// The code under test, now async: print, await the result, judge it (above 10 is an error, 8 is
/// doubled, anything else tripled).
pub async fn do_something<T>(async_handle: T, input: i32) -> Result<i32, String>
where
    T: AsyncProcess<i32, i32> + Send + Sync + 'static,
{
    // Book: the prose says the task is spawned before this print; the code prints first and only
    // then calls `get_result`, which is what starts the work.
    println!("something is happening");
    let result: i32 = async_handle.get_result(input).await?;
    if result > 10 {
        return Err("result is too big".to_string());
    }
    if result == 8 {
        return Ok(result * 2);
    }
    // Book: `Ok(result * 3)` overflows for results below -715827882; see `sync-mock-trait`.
    result
        .checked_mul(3)
        .ok_or_else(|| format!("result {result} is too small to triple"))
}

// Book: the `mock!` block is printed as two fences, and as printed the first already closes the
// macro after `DatabaseHandler {}`, leaving the `impl` outside it; it is one macro holding both.
mock! {
    /// A stand-in for the async database handle. Expectations return boxed futures:
    /// `.returning(|_| Box::pin(async move { Ok(11) }))`.
    pub DatabaseHandler {}
    impl AsyncProcess<i32, i32> for DatabaseHandler {
        fn get_result(&self, key: i32) -> impl Future<Output = Result<i32, String>> + Send + 'static;
    }
}

/// Arranges a mock that expects `get_result(key)` once and resolves to `result`.
pub fn answering(key: i32, result: Result<i32, String>) -> MockDatabaseHandler {
    let mut handle = MockDatabaseHandler::new();
    handle
        .expect_get_result()
        .with(eq(key))
        .times(1)
        .return_once(move |_| Box::pin(async move { result }));
    handle
}

/// Arranges a mock whose future never resolves: a dependency that hangs.
pub fn hanging() -> MockDatabaseHandler {
    let mut handle = MockDatabaseHandler::new();
    handle
        .expect_get_result()
        .times(1)
        .returning(|_| Box::pin(std::future::pending()));
    handle
}

/// How long the code under test may wait for its dependency before we call it hung.
pub const HANG_LIMIT: Duration = Duration::from_secs(1);

/// Runs `do_something` against a dependency that never answers, under [`HANG_LIMIT`]. `Err`
/// means the hang was detected. Meant for tokio's paused clock, where the limit costs nothing.
pub async fn detect_hang() -> Result<Result<i32, String>, tokio::time::error::Elapsed> {
    timeout(HANG_LIMIT, do_something(hanging(), 4)).await
}

/// Runs the demo: `async-mock-trait` (no arguments).
pub fn run(args: Args) -> DemoResult {
    args.finish()?;

    println!("1. the book's test: a current-thread runtime blocks on do_something(mock → 11, 4)");
    // Book: builds this runtime by hand in every test; `#[tokio::test]` does the same for you.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(do_something(answering(4, Ok(11)), 4));
    println!("   → {outcome:?}");

    println!("\n2. tokio::spawn(do_something(mock → 8, 4)) on a multi-thread runtime");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(async {
        let handle = tokio::spawn(do_something(answering(4, Ok(8)), 4));
        handle.await
    })?;
    println!(
        "   → {outcome:?}: it compiled and ran on a worker because the trait promises `+ Send`"
    );

    println!(
        "\n3. a dependency that never answers, under a {} s timeout on the paused clock",
        HANG_LIMIT.as_secs()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()?;
    let real = std::time::Instant::now();
    let (outcome, virtual_elapsed) = runtime.block_on(async {
        let start = Instant::now();
        let outcome = detect_hang().await;
        (outcome, start.elapsed())
    });
    let real = real.elapsed();
    match outcome {
        Err(_) => println!(
            "   → hung dependency detected after {} s (virtual), {} µs real",
            virtual_elapsed.as_secs_f64(),
            real.as_micros()
        ),
        Ok(result) => println!("   → unexpectedly finished: {result:?}"),
    }
    Ok(())
}

#[cfg(test)]
mod do_something_tests {
    use super::*;

    // Book: `#[test]` with a runtime built and blocked on by hand; `#[tokio::test]` builds the
    // same current-thread runtime per test.
    #[tokio::test]
    async fn do_something_fail() {
        let mut handle = MockDatabaseHandler::new();
        handle
            .expect_get_result()
            .with(eq(4))
            .returning(|_| Box::pin(async move { Ok(11) }));
        let outcome = do_something(handle, 4).await;
        assert_eq!(outcome, Err("result is too big".to_string()));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_send_future_can_be_spawned_on_another_thread() {
        let joined = tokio::spawn(do_something(answering(4, Ok(11)), 4)).await;
        assert_eq!(joined.unwrap(), Err("result is too big".to_string()));
    }

    #[tokio::test]
    async fn eight_is_doubled_and_three_tripled() {
        assert_eq!(do_something(answering(4, Ok(8)), 4).await, Ok(16));
        assert_eq!(do_something(answering(4, Ok(3)), 4).await, Ok(9));
    }

    #[tokio::test]
    async fn an_error_from_the_dependency_propagates() {
        let outcome = do_something(answering(7, Err("timeout".to_string())), 7).await;
        assert_eq!(outcome, Err("timeout".to_string()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_dependency_is_detected_after_exactly_the_limit() {
        let start = Instant::now();
        let outcome = detect_hang().await;
        assert!(outcome.is_err(), "should have timed out: {outcome:?}");
        assert_eq!(start.elapsed(), HANG_LIMIT);
    }

    #[test]
    fn the_demo_runs() {
        run(Args::default()).unwrap();
    }
}
