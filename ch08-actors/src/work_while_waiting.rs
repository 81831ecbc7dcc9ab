//! `work-while-waiting` (book section "Working with Actors Versus Mutexes"): doing something else
//! while the answer is being computed.
//!
//! An actor's caller sends its request and is free: it can do other work and await the reply only
//! when it needs it. A mutex caller has no such gap: `lock` then the transaction run in the
//! caller's own task, so the caller is busy for the whole transaction, unless it spawns the update
//! as a separate task and awaits that task's handle later (the book's second `actor_replacement`).
//!
//! Run it with `cargo run -p ch08 -- work-while-waiting`: a transaction takes 50 ms (inside the
//! actor, or under the lock) and the caller has 30 ms of other work. Three runs print their
//! elapsed time, then one chart of all three:
//!
//! - actor: about 50 ms (the caller's 30 ms fit inside the actor's 50);
//! - mutex, update inline: about 80 ms (50 then 30, one after the other);
//! - mutex, update spawned: about 50 ms again, at the price of one more spawn per operation.
//!
//! The test runs the same code on tokio's paused clock, where the times are exactly 50, 80 and
//! 50 ms. Where we differ from the book: its client builds `oneshot::channel::<i32>()` for an
//! actor that answers `i64` (and its rewritten `actor_replacement` uses `i32`), which does not
//! compile; we use `i64`. The "complex transaction" is a 50 ms `tokio::time::sleep`, and "do
//! something else" a 30 ms one. The book's timing of this variant (174 s against the actor's
//! 103 s) compares three spawns per operation with one; see `actor-vs-mutex` and the benchmark.

use std::sync::Arc;
use std::time::Duration;

use common::Timeline;
use common::demo::{Args, DemoResult};
use tokio::sync::mpsc::{Receiver, Sender, channel};
use tokio::sync::{Mutex, oneshot};
use tokio::time::{Instant, sleep};

use crate::actor_error::ActorError;
use crate::responding_actor::RespMessage;

/// The actor's caller: send, do something else, then await the reply.
pub async fn actor_client(
    tx_ref: &Sender<RespMessage>,
    value: i64,
    timeline: &Timeline,
) -> Result<i64, ActorError> {
    // Book: `oneshot::channel::<i32>()` against the actor's `Sender<i64>` does not compile.
    let (resp_tx, resp_rx) = oneshot::channel::<i64>();
    let msg = RespMessage {
        value,
        responder: resp_tx,
    };
    tx_ref.send(msg).await?;
    do_something_else(timeline, "actor run · caller's other work").await;
    Ok(resp_rx.await?)
}

/// The mutex version that can overlap: the locked update runs as its own task while the caller
/// does something else, and the caller awaits the task's handle at the end.
// Book: this listing switches to `Arc<Mutex<i32>>` and `i32` while the actor stays on `i64`; we
// keep `i64` everywhere, and pass a timeline to draw the overlap.
pub async fn actor_replacement(state: Arc<Mutex<i64>>, value: i64, timeline: &Timeline) -> i64 {
    let update_timeline = timeline.clone();
    let update_handle = tokio::spawn(async move {
        let mut state = state.lock().await;
        let _span = update_timeline.span("spawned mutex · transaction");
        sleep(TRANSACTION).await;
        *state += value;
        *state
    });
    do_something_else(timeline, "spawned mutex · caller's other work").await;
    update_handle.await.expect("the update task panicked")
}

/// The plain mutex version: the caller holds the lock through the transaction, and only then
/// gets to its other work.
pub async fn actor_replacement_inline(
    state: Arc<Mutex<i64>>,
    value: i64,
    timeline: &Timeline,
) -> i64 {
    let total = {
        let mut state = state.lock().await;
        let _span = timeline.span("inline mutex · transaction");
        sleep(TRANSACTION).await;
        *state += value;
        *state
    };
    do_something_else(timeline, "inline mutex · caller's other work").await;
    total
}

/// How long the transaction takes, inside the actor or under the lock.
pub const TRANSACTION: Duration = Duration::from_millis(50);
/// How much other work the caller has.
pub const OTHER_WORK: Duration = Duration::from_millis(30);

/// A responding actor whose transaction takes [`TRANSACTION`].
pub async fn slow_actor(mut rx: Receiver<RespMessage>, timeline: Timeline) -> i64 {
    let mut state = 0;
    while let Some(msg) = rx.recv().await {
        let _span = timeline.span("actor run · transaction");
        sleep(TRANSACTION).await;
        state += msg.value;
        let _ = msg.responder.send(state);
    }
    state
}

async fn do_something_else(timeline: &Timeline, label: &str) {
    let _span = timeline.span(label);
    sleep(OTHER_WORK).await;
}

/// The three runs' elapsed times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed {
    /// Actor: send, other work, await the reply.
    pub actor: Duration,
    /// Mutex with the update inline: transaction, then other work.
    pub mutex_inline: Duration,
    /// Mutex with the update spawned: both at once, one extra spawn.
    pub mutex_spawned: Duration,
}

/// Runs the three versions one after another on the current runtime, recording into `timeline`.
pub async fn three_runs(timeline: &Timeline) -> Result<Elapsed, ActorError> {
    let (tx, rx) = channel::<RespMessage>(32);
    let actor = tokio::spawn(slow_actor(rx, timeline.clone()));
    let start = Instant::now();
    actor_client(&tx, 5, timeline).await?;
    let actor_elapsed = start.elapsed();
    drop(tx);
    let _ = actor.await;

    let state = Arc::new(Mutex::new(0));
    let start = Instant::now();
    actor_replacement_inline(state.clone(), 5, timeline).await;
    let mutex_inline = start.elapsed();

    let start = Instant::now();
    actor_replacement(state.clone(), 5, timeline).await;
    let mutex_spawned = start.elapsed();

    Ok(Elapsed {
        actor: actor_elapsed,
        mutex_inline,
        mutex_spawned,
    })
}

/// Runs the demo.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    demo()
}

#[tokio::main]
async fn demo() -> DemoResult {
    use common::timeline::format_duration;
    let timeline = Timeline::new();
    let elapsed = three_runs(&timeline).await?;
    println!(
        "transaction {} ms, caller's other work {} ms",
        TRANSACTION.as_millis(),
        OTHER_WORK.as_millis()
    );
    println!(
        "actor                  {:>9}  (other work during the transaction)",
        format_duration(elapsed.actor)
    );
    println!(
        "mutex, update inline   {:>9}  (other work after the lock is released)",
        format_duration(elapsed.mutex_inline)
    );
    println!(
        "mutex, update spawned  {:>9}  (overlaps again, one extra spawn)",
        format_duration(elapsed.mutex_spawned)
    );
    println!();
    print!("{}", timeline.render());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(timeline: &Timeline, label: &str) -> common::timeline::Span {
        timeline
            .spans()
            .into_iter()
            .find(|s| s.label == label)
            .unwrap_or_else(|| panic!("no span {label}"))
    }

    #[tokio::test(start_paused = true)]
    async fn elapsed_times_are_exactly_50_80_50_ms() {
        let timeline = Timeline::with_clock(|| tokio::time::Instant::now().into_std());
        let elapsed = three_runs(&timeline).await.unwrap();
        assert_eq!(
            elapsed,
            Elapsed {
                actor: Duration::from_millis(50),
                mutex_inline: Duration::from_millis(80),
                mutex_spawned: Duration::from_millis(50),
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_callers_work_overlaps_the_actors_transaction() {
        let timeline = Timeline::with_clock(|| tokio::time::Instant::now().into_std());
        three_runs(&timeline).await.unwrap();

        let transaction = span(&timeline, "actor run · transaction");
        let work = span(&timeline, "actor run · caller's other work");
        assert!(work.start < transaction.end, "{work:?} vs {transaction:?}");
        assert!(work.overlaps(&transaction));

        // Inline: the other work starts only once the transaction is over.
        let transaction = span(&timeline, "inline mutex · transaction");
        let work = span(&timeline, "inline mutex · caller's other work");
        assert!(work.start >= transaction.end);

        // Spawned: overlapping again.
        let transaction = span(&timeline, "spawned mutex · transaction");
        let work = span(&timeline, "spawned mutex · caller's other work");
        assert!(work.overlaps(&transaction));
    }

    #[test]
    fn the_demo_runs() {
        run(Args::default()).unwrap();
    }
}
