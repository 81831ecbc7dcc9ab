//! `async-mutex-counter`: the shared counter as an `async fn` over `tokio::sync::Mutex` (book
//! section "High-Level Data Sharing Between Futures").
//!
//! [`count`] replaces the whole hand-written pair of `shared-counter-futures`: `lock().await` does
//! not fail and retry, it parks the task until the holder unlocks, and the unlock wakes it. No
//! `try_lock`, no self-wake, no busy retry. What decides who runs is the pause after each
//! operation. The book's is `std::thread::sleep`, which blocks the thread; the task never reaches a
//! pending `.await`, so on one thread it keeps that thread until it has done all three operations.
//! Ours awaits `tokio::time::sleep`, which hands the thread back, so the two tasks take turns.
//!
//! Run it with `cargo run -p ch02 -- async-mutex-counter [--unit-ms N]`. Both versions run on a
//! current-thread runtime (one thread, `main`): the book's prints 1, 2, 3, then 2, 1, 0 and takes
//! about 6 units; ours alternates 1, 0, 1, 0, 1, 0 (a turn may start with the decrement: −1, 0)
//! and takes about 3. Each timeline has one mark per poll: the book's tasks are polled once each,
//! for three units, one after the other; ours four times each, for an instant, side by side.
//!
//! How we differ from the book, and why:
//!
//! - The pause is a parameter ([`Pause`]): the book's blocking sleep, our async one, or none (for
//!   tests and the stress test), so one function shows both behaviours.
//! - The book says this gives "the exact same printout and behavior" as the futures before. That
//!   holds only on its multi-thread runtime, where the two tasks run in parallel on two workers,
//!   and only for the `after …` lines: the `error for Increment: …` line of its sample output
//!   cannot appear, since `lock().await` waits instead of failing. On one thread the blocking sleep
//!   lets one task hog it, as the first run of the demo shows.
//! - Its two `main` fragments both carry the `});` that closes the first spawn (a split error);
//!   ours is one function, [`increment_and_decrement`], which also checks the join results.

use std::sync::Arc;
use std::time::Duration;

use common::demo::{Args, DemoResult};
use common::timeline::{CountPolls, Timeline};
use tokio::task::{JoinError, JoinHandle};

use crate::shared_counter_futures::{CounterType, SharedData};
use crate::units::{current_thread, in_units, unit_arg};

/// Applies `count` operations of `counter_type` to the shared data, locking it asynchronously
/// each time, and returns `count`.
pub async fn count(
    count: u32,
    data: Arc<tokio::sync::Mutex<SharedData>>,
    counter_type: CounterType,
    pause: Pause,
) -> u32 {
    for _ in 0..count {
        // Waits without spinning: if the lock is taken, this task is parked and the unlock
        // wakes it (compare the `try_lock` retry of `shared-counter-futures`).
        let mut data = data.lock().await;
        match counter_type {
            CounterType::Increment => {
                data.increment();
                println!("after increment: {}", data.counter);
            }
            CounterType::Decrement => {
                data.decrement();
                println!("after decrement: {}", data.counter);
            }
        }
        drop(data);
        match pause {
            Pause::None => {}
            // Book: `count` pauses with `std::thread::sleep(1 s)`, which blocks the worker thread
            // inside an `async fn`, so on one thread this task keeps it for all its operations;
            // real code awaits a timer, as `Pause::Async` does.
            Pause::Blocking(duration) => std::thread::sleep(duration),
            Pause::Async(duration) => tokio::time::sleep(duration).await,
        }
    }
    // Book: `count` ends with `return count`; a trailing expression is the idiomatic form.
    count
}

/// What [`count`] does after each operation, once the lock is released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pause {
    /// Nothing: straight on to the next operation.
    None,
    /// The book's `std::thread::sleep`: blocks the thread, so no other task can run on it.
    Blocking(Duration),
    /// Ours: `tokio::time::sleep(..).await`, which returns the thread to the runtime meanwhile.
    Async(Duration),
}

/// What one run of the two tasks produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// What the incrementing and the decrementing task returned.
    pub results: (u32, u32),
    /// How often each task was polled (increment, decrement).
    pub polls: (usize, usize),
    /// The shared data at the end (the counter and its history).
    pub data: SharedData,
}

/// The book's `main`: spawns `count(3, …, Increment)` and `count(3, …, Decrement)` on the current
/// runtime and joins them; each task's polls are recorded in `timeline` rows `increment` and
/// `decrement`.
pub async fn increment_and_decrement(
    pause: Pause,
    timeline: &Timeline,
) -> Result<Outcome, JoinError> {
    let shared_data = Arc::new(tokio::sync::Mutex::new(SharedData::default()));
    let shared_two = shared_data.clone();
    let shared_one = shared_data.clone();

    let one = CountPolls::new(count(3, shared_one, CounterType::Increment, pause))
        .recording(timeline, "increment");
    let two = CountPolls::new(count(3, shared_two, CounterType::Decrement, pause))
        .recording(timeline, "decrement");
    let polls = (one.counter(), two.counter());
    let handle_one: JoinHandle<u32> = tokio::task::spawn(one);
    let handle_two: JoinHandle<u32> = tokio::task::spawn(two);
    // Book: `main` discards what `tokio::join!` returns; ours reports a panicked task.
    let (one, two) = tokio::join!(handle_one, handle_two);
    let data = shared_data.lock().await.clone();
    Ok(Outcome {
        results: (one?, two?),
        polls: (polls.0.get(), polls.1.get()),
        data,
    })
}

/// Runs [`increment_and_decrement`] on a fresh current-thread runtime and prints the report.
fn run_version(title: &str, pause: Pause, unit: Duration, book_units: u32) -> DemoResult {
    println!("{title}");
    let timeline = Timeline::new();
    let runtime = current_thread()?;
    let start = std::time::Instant::now();
    let outcome = runtime.block_on(increment_and_decrement(pause, &timeline))?;
    let elapsed = start.elapsed();
    println!(
        "values in order: {:?}; final {}; both returned {:?}; polls {:?}; took {:.1} units \
         (expected ≈{book_units})",
        outcome.data.history,
        outcome.data.counter,
        outcome.results,
        outcome.polls,
        in_units(elapsed, unit)
    );
    println!("{}", timeline.render());
    Ok(())
}

/// Runs the demo: `async-mutex-counter [--unit-ms N]`.
pub fn run(mut args: Args) -> DemoResult {
    let unit = unit_arg(&mut args)?;
    args.finish()?;

    run_version(
        "the book's count: std::thread::sleep(1 unit) after each operation, one thread",
        Pause::Blocking(unit),
        unit,
        6,
    )?;
    println!("the first task never reached a pending await, so it kept the thread: 3 then 3.\n");
    run_version(
        "ours: tokio::time::sleep(1 unit).await after each operation, one thread",
        Pause::Async(unit),
        unit,
        3,
    )?;
    println!("each sleep hands the thread back, so the tasks take turns and the waits overlap.");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: Duration = Duration::from_millis(20);

    fn paused_timeline() -> Timeline {
        Timeline::with_clock(|| tokio::time::Instant::now().into_std())
    }

    #[tokio::test(start_paused = true)]
    async fn with_an_async_sleep_the_tasks_take_turns_on_one_thread() {
        let start = tokio::time::Instant::now();
        let timeline = paused_timeline();
        let run = increment_and_decrement(Pause::Async(UNIT), &timeline);
        let outcome = tokio::time::timeout(10 * UNIT, run)
            .await
            .expect("no hang")
            .unwrap();
        let history = &outcome.data.history;
        assert_eq!(history.len(), 6);
        assert!(history.iter().all(|v| (-1..=1).contains(v)), "{history:?}");
        for pair in history.chunks(2) {
            assert_eq!(pair[1], 0, "0 after every second operation: {history:?}");
        }
        assert_eq!(outcome.results, (3, 3));
        assert_eq!(outcome.data.counter, 0);
        // The three pauses overlap: 3 units in all, not 6.
        let elapsed = start.elapsed();
        assert!(elapsed >= 3 * UNIT && elapsed < 4 * UNIT, "{elapsed:?}");
        assert!(outcome.polls.0 >= 4 && outcome.polls.1 >= 4, "{outcome:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn with_the_books_blocking_pause_one_task_keeps_the_thread() {
        let timeline = paused_timeline();
        let run = increment_and_decrement(Pause::Blocking(Duration::ZERO), &timeline);
        let outcome = tokio::time::timeout(10 * UNIT, run)
            .await
            .expect("no hang")
            .unwrap();
        assert_eq!(outcome.data.history, [1, 2, 3, 2, 1, 0]);
        assert_eq!(outcome.results, (3, 3));
        // Each task did all its work in a single poll, one after the other.
        assert_eq!(outcome.polls, (1, 1));
        let spans = timeline.spans();
        let labels: Vec<&str> = spans.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["increment", "decrement"]);
        assert!(spans[1].start >= spans[0].end);
    }

    #[test]
    fn the_books_blocking_pause_adds_up_on_one_thread() {
        // Real time: 2 tasks × 3 blocking pauses of 5 ms cannot take less than 30 ms.
        let pause = Duration::from_millis(5);
        let runtime = current_thread().unwrap();
        let start = std::time::Instant::now();
        let outcome = runtime
            .block_on(increment_and_decrement(
                Pause::Blocking(pause),
                &Timeline::new(),
            ))
            .unwrap();
        assert!(start.elapsed() >= 6 * pause);
        assert_eq!(outcome.data.history, [1, 2, 3, 2, 1, 0]);
    }

    #[test]
    fn bad_unit_is_a_usage_error() {
        let err = run(Args::from_iter(["--unit-ms", "9999"])).unwrap_err();
        assert!(err.is::<common::demo::UsageError>(), "{err}");
    }
}
