//! `actor-vs-mutex` (book section "Working with Actors Versus Mutexes"): the book's timing race,
//! rerun fairly.
//!
//! The same job four ways: `n` operations each add a number to one shared `i64` and return the new
//! total. The book times a `tokio::sync::Mutex` against the responding actor and finds the actor
//! faster. But its mutex loop spawns *two* tasks per operation (a task that spawns a task that
//! locks) while its actor loop spawns one, so it mostly measures task spawns. Here:
//!
//! | variant | spawns per op | what it is |
//! |---|---|---|
//! | book mutex | 2 | the book's loop as printed |
//! | tokio mutex | 1 | the same [`actor_replacement`], spawned once: the fair comparison |
//! | std mutex | 1 | `std::sync::Mutex`, fine because the lock is never held across an `.await` |
//! | actor | 1 | the book's actor loop: a [`RespMessage`] to `resp_actor`, awaiting the oneshot |
//!
//! Run it with `cargo run -p ch08 -- actor-vs-mutex [--ops N]` (default 20 000): one line per
//! variant with its elapsed time and operations per second, every sum checked. Timings from a debug
//! build mislead (the ranking even changes between debug and release), so they are only
//! illustrative here: `cargo bench -p ch08` measures properly, in release, at several levels of
//! concurrency. No test asserts a timing.
//!
//! Where we differ from the book:
//!
//! - 20 000 operations by default instead of 100 000 000: the book keeps every `JoinHandle` until
//!   the end, and each finished task's memory lives until its handle is awaited, so 10^8 handles
//!   take many gigabytes; its sum of 0..10^8 (about 5·10^15) also overflows the `i32` of its later
//!   listings (a panic in a debug build), though not our `i64`;
//! - the actor's channel holds 1 024 requests, not 100 000 000: a channel that size is unbounded
//!   in effect, with no backpressure at all (every request may sit queued at once);
//! - two fair variants are added, and every variant's result is checked.

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use common::demo::{Args, DemoResult};
use tokio::sync::Mutex;
use tokio::sync::mpsc::channel;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::responding_actor::{RespMessage, resp_actor};

/// The mutex version of the responding actor's work: lock, add, return the new total.
pub async fn actor_replacement(state: Arc<Mutex<i64>>, value: i64) -> i64 {
    let mut state = state.lock().await;
    *state += value;
    *state
}

/// The book's mutex race: each operation is a task that spawns another task to call
/// [`actor_replacement`] (two spawns per operation). Returns the final state and every reply.
pub async fn book_mutex_race(n: i64) -> (i64, Vec<i64>) {
    let state = Arc::new(Mutex::new(0));
    let mut handles = Vec::new();
    for i in 0..n {
        let state_ref = state.clone();
        let future = async move {
            let handle = tokio::spawn(async move { actor_replacement(state_ref, i).await });
            handle.await.expect("the locking task panicked")
        };
        handles.push(tokio::spawn(future));
    }
    let replies = join_all(handles).await;
    let final_state = *state.lock().await;
    (final_state, replies)
}

/// The fair tokio-mutex race: one spawn per operation, like the actor's.
// Book: only the two-spawn mutex loop is timed against the one-spawn actor loop, so the gap it
// reports is mostly a task spawn; this variant and `std_mutex_race` compare like with like.
pub async fn tokio_mutex_race(n: i64) -> (i64, Vec<i64>) {
    let state = Arc::new(Mutex::new(0));
    let handles = (0..n)
        .map(|i| tokio::spawn(actor_replacement(state.clone(), i)))
        .collect();
    let replies = join_all(handles).await;
    let final_state = *state.lock().await;
    (final_state, replies)
}

/// The std-mutex race: one spawn per operation; the lock is taken and released between two
/// `.await`s, never across one, so a blocking mutex is correct (and cheap) here.
pub async fn std_mutex_race(n: i64) -> (i64, Vec<i64>) {
    let state = Arc::new(std::sync::Mutex::new(0i64));
    let handles = (0..n)
        .map(|i| {
            let state = state.clone();
            tokio::spawn(async move {
                let mut guard = state.lock().unwrap_or_else(PoisonError::into_inner);
                *guard += i;
                *guard
            })
        })
        .collect();
    let replies = join_all(handles).await;
    let final_state = *state.lock().unwrap_or_else(PoisonError::into_inner);
    (final_state, replies)
}

/// The book's actor race: one spawned task per operation sends a [`RespMessage`] to
/// [`resp_actor`] and awaits the reply.
pub async fn actor_race(n: i64) -> (i64, Vec<i64>) {
    // Book: `channel(100000000)`, a queue as large as the whole run, which is no backpressure at
    // all; 1 024 places make senders wait their turn once it is full.
    let (tx, rx) = channel::<RespMessage>(1024);
    let resp_actor_handle = tokio::spawn(resp_actor(rx));
    let handles = (0..n)
        .map(|i| {
            let tx_ref = tx.clone();
            tokio::spawn(async move {
                let (resp_tx, resp_rx) = oneshot::channel::<i64>();
                let msg = RespMessage {
                    value: i,
                    responder: resp_tx,
                };
                tx_ref.send(msg).await.expect("the actor is running");
                resp_rx.await.expect("the actor answers every request")
            })
        })
        .collect();
    let replies = join_all(handles).await;
    drop(tx);
    let final_state = resp_actor_handle.await.expect("the actor panicked");
    (final_state, replies)
}

async fn join_all(handles: Vec<tokio::task::JoinHandle<i64>>) -> Vec<i64> {
    let mut replies = Vec::with_capacity(handles.len());
    for handle in handles {
        replies.push(handle.await.expect("an operation's task panicked"));
    }
    replies
}

/// The four variants, in the order the demo runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// [`book_mutex_race`]: two spawns per operation.
    BookMutex,
    /// [`tokio_mutex_race`]: one spawn per operation.
    TokioMutex,
    /// [`std_mutex_race`]: one spawn per operation.
    StdMutex,
    /// [`actor_race`]: one spawn per operation.
    Actor,
}

impl Variant {
    /// All four, in demo order.
    pub const ALL: [Variant; 4] = [
        Variant::BookMutex,
        Variant::TokioMutex,
        Variant::StdMutex,
        Variant::Actor,
    ];

    /// A short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Variant::BookMutex => "book mutex (2 spawns/op)",
            Variant::TokioMutex => "tokio mutex (1 spawn/op)",
            Variant::StdMutex => "std mutex (1 spawn/op)",
            Variant::Actor => "actor (1 spawn/op)",
        }
    }

    /// Runs this variant's race with `n` operations.
    pub async fn race(self, n: i64) -> (i64, Vec<i64>) {
        match self {
            Variant::BookMutex => book_mutex_race(n).await,
            Variant::TokioMutex => tokio_mutex_race(n).await,
            Variant::StdMutex => std_mutex_race(n).await,
            Variant::Actor => actor_race(n).await,
        }
    }
}

/// One timed, checked race.
#[derive(Debug, Clone)]
pub struct RaceResult {
    /// Which variant ran.
    pub variant: Variant,
    /// How many operations.
    pub ops: i64,
    /// Wall-clock time for all of them.
    pub elapsed: Duration,
    /// The shared total at the end: must be `ops·(ops−1)/2`.
    pub final_state: i64,
    /// Every reply was a total some operation really saw (see [`replies_consistent`]).
    pub replies_consistent: bool,
}

impl RaceResult {
    /// Operations per second.
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The expected final total, `0 + 1 + … + (ops − 1)`.
    pub fn expected(&self) -> i64 {
        self.ops * (self.ops - 1) / 2
    }

    /// The sum and every reply are right.
    pub fn checked(&self) -> bool {
        self.final_state == self.expected() && self.replies_consistent
    }
}

/// Times one variant and checks its results.
pub async fn timed_race(variant: Variant, n: i64) -> RaceResult {
    let now = Instant::now();
    let (final_state, mut replies) = variant.race(n).await;
    let elapsed = now.elapsed();
    let replies_consistent = replies_consistent(&mut replies, final_state, n);
    RaceResult {
        variant,
        ops: n,
        elapsed,
        final_state,
        replies_consistent,
    }
}

/// Whether `replies` can be the answers of operations `0..n` each adding its own index: one
/// reply per operation, all within `0..=n(n-1)/2`, the largest equal to `final_state`, and
/// strictly increasing once sorted, except for one repeat (operation 0 adds nothing, so its reply
/// repeats the total before it). Sorts `replies`.
pub fn replies_consistent(replies: &mut [i64], final_state: i64, n: i64) -> bool {
    let total = n * (n - 1) / 2;
    replies.sort_unstable();
    let in_range = replies.iter().all(|r| (0..=total).contains(r));
    let repeats = replies.windows(2).filter(|w| w[0] == w[1]).count();
    let increasing = replies.windows(2).all(|w| w[0] <= w[1]) && repeats <= 1;
    let ends_at_total = replies.last().is_none_or(|&last| last == final_state);
    replies.len() as i64 == n && in_range && increasing && ends_at_total
}

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    // Book: 100 000 000 operations, whose kept `JoinHandle`s alone take many gigabytes; 20 000
    // show the same effects in about a second of a debug build.
    let ops: i64 = args.value_in("ops", 20_000, 1..=10_000_000)?;
    args.finish()?;
    demo(ops)
}

#[tokio::main]
async fn demo(ops: i64) -> DemoResult {
    println!(
        "{ops} operations, each adding its index to one shared i64; every task spawned at once"
    );
    for variant in Variant::ALL {
        let result = timed_race(variant, ops).await;
        println!(
            "{:26} {:>10}  {:>12.0} ops/s  sum {} {}",
            variant.label(),
            common::timeline::format_duration(result.elapsed),
            result.ops_per_sec(),
            result.final_state,
            if result.checked() { "✓" } else { "✗ WRONG" }
        );
        if !result.checked() {
            return Err(format!("{} gave a wrong result: {result:?}", variant.label()).into());
        }
    }
    if cfg!(debug_assertions) {
        println!(
            "(a debug build: these timings mislead; `cargo bench -p ch08` measures in release)"
        );
    } else {
        println!("(one run, one machine; `cargo bench -p ch08` measures at 1, 8 and 64 clients)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::timeout;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_variant_gets_the_sum_and_consistent_replies() {
        let n = 2_000;
        for variant in Variant::ALL {
            let result = timeout(Duration::from_secs(30), timed_race(variant, n))
                .await
                .expect("the race finished");
            assert_eq!(result.final_state, n * (n - 1) / 2, "{variant:?}");
            assert!(result.replies_consistent, "{variant:?}: {result:?}");
        }
    }

    #[test]
    fn the_reply_check_accepts_any_order_and_catches_lost_updates() {
        // Operations 0..4 in the order 2, 0, 3, 1: totals 2, 2, 5, 6.
        assert!(replies_consistent(&mut [2, 2, 5, 6], 6, 4));
        // In order 0, 1, 2, 3.
        assert!(replies_consistent(&mut [0, 1, 3, 6], 6, 4));
        // A lost update (two operations saw the same total): caught.
        assert!(!replies_consistent(&mut [1, 1, 3, 3], 3, 4));
        // A missing reply, or a final state that disagrees.
        assert!(!replies_consistent(&mut [0, 1, 3], 6, 4));
        assert!(!replies_consistent(&mut [0, 1, 3, 6], 7, 4));
    }

    #[test]
    fn the_demo_runs_with_a_small_count() {
        run(Args::from_iter(["--ops", "500"])).unwrap();
        assert!(run(Args::from_iter(["--ops", "0"])).is_err());
    }
}
