//! Stress test for the shared counter of "Sharing Data Between Futures" and "High-Level Data
//! Sharing Between Futures" (chapter 2, Extra 3).
//!
//! Eight tasks (four incrementing, four decrementing, 100 operations each) hammer one counter on a
//! four-worker runtime, all starting together behind a barrier (without it, each task can finish
//! its 100 quick operations before the next one is even picked up), five rounds in a row, once with the book's hand-written future
//! ([`SharedCounterFuture`]: `try_lock` plus self-wake) and once with [`count`] over
//! `tokio::sync::Mutex`. Every round must end at 0 with exactly 800 operations applied: no update
//! lost, none applied twice, however the tasks interleave across the workers. Small enough to pass
//! under valgrind too.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ch02::async_mutex_counter::{Pause, count};
use ch02::shared_counter_futures::{CounterType, SharedCounterFuture, SharedData};
use ch02::units::multi_thread;
use tokio::sync::Barrier;

const TASKS_PER_SIDE: usize = 4;
const OPERATIONS: u32 = 100;
const ROUNDS: usize = 5;
/// A hang guard per round, generous enough for valgrind (a round takes milliseconds natively).
const ROUND_LIMIT: Duration = Duration::from_secs(60);

fn sides() -> impl Iterator<Item = CounterType> {
    [CounterType::Increment, CounterType::Decrement]
        .into_iter()
        .flat_map(|side| std::iter::repeat_n(side, TASKS_PER_SIDE))
}

#[test]
fn stress_shared_counter_future_loses_no_update() {
    let runtime = multi_thread(4).unwrap();
    for round in 1..=ROUNDS {
        let data = Arc::new(Mutex::new(SharedData::default()));
        let start = Arc::new(Barrier::new(8));
        let (counts, failed_locks) = runtime.block_on(async {
            let handles: Vec<_> = sides()
                .map(|side| {
                    let mut future = SharedCounterFuture::new(side, data.clone())
                        .times(OPERATIONS)
                        .quiet();
                    let start = start.clone();
                    tokio::spawn(async move {
                        start.wait().await;
                        let count = (&mut future).await;
                        (count, future.failed_locks)
                    })
                })
                .collect();
            let all = tokio::time::timeout(ROUND_LIMIT, futures_util::future::join_all(handles))
                .await
                .unwrap_or_else(|_| panic!("round {round}: not done within {ROUND_LIMIT:?}"));
            let mut counts = Vec::new();
            let mut failed_locks = 0;
            for result in all {
                let (count, failed) = result.expect("a counting task panicked");
                counts.push(count);
                failed_locks += failed;
            }
            (counts, failed_locks)
        });
        let data = data.lock().unwrap();
        assert_eq!(data.counter, 0, "round {round}");
        assert_eq!(data.history.len(), 800, "round {round}: applied operations");
        assert_eq!(counts, [OPERATIONS; 8], "round {round}");
        eprintln!(
            "round {round}: 800 operations, counter within {:?}, {failed_locks} failed try_locks",
            range(&data.history)
        );
    }
}

#[test]
fn stress_async_count_loses_no_update() {
    let runtime = multi_thread(4).unwrap();
    for round in 1..=ROUNDS {
        let data = Arc::new(tokio::sync::Mutex::new(SharedData::default()));
        let start = Arc::new(Barrier::new(8));
        let counts = runtime.block_on(async {
            let handles: Vec<_> = sides()
                .map(|side| {
                    let (start, data) = (start.clone(), data.clone());
                    tokio::spawn(async move {
                        start.wait().await;
                        count(OPERATIONS, data, side, Pause::None).await
                    })
                })
                .collect();
            let all = tokio::time::timeout(ROUND_LIMIT, futures_util::future::join_all(handles))
                .await
                .unwrap_or_else(|_| panic!("round {round}: not done within {ROUND_LIMIT:?}"));
            all.into_iter()
                .map(|result| result.expect("a counting task panicked"))
                .collect::<Vec<u32>>()
        });
        let data = data.blocking_lock();
        assert_eq!(data.counter, 0, "round {round}");
        assert_eq!(data.history.len(), 800, "round {round}: applied operations");
        assert_eq!(counts, [OPERATIONS; 8], "round {round}");
        eprintln!(
            "round {round}: 800 operations, counter within {:?}",
            range(&data.history)
        );
    }
}

/// The lowest and highest value the counter took: how far the sides got ahead of each other.
fn range(history: &[i32]) -> (i32, i32) {
    let low = history.iter().copied().min().unwrap_or(0);
    let high = history.iter().copied().max().unwrap_or(0);
    (low, high)
}
