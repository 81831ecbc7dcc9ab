//! `router-vs-direct` (book section "Summary"): what the router's extra hop costs.
//!
//! The book closes by noting that a router is a good place to start but not free: every message
//! passes through one more actor before it reaches its target. Once the design settles, actors
//! can hold each other's senders directly. Since a sender can be handed to anyone, ordinary async
//! code can also call an actor directly (the "hybrid" approach).
//!
//! Run it with `cargo run -p ch08 -- router-vs-direct [--ops N]` (default 10 000): the same
//! mixed sequence of sets and gets runs once through a [`RouterHandle`] and once through a
//! [`StoreHandle`] (the store's own sender, from [`RouterHandle::store_handle`]), each on a fresh
//! system. It prints both elapsed times and their ratio, and checks that both paths gave the same
//! replies and ended with the same map. The book has no code here; there is nothing to differ
//! from. One caller, one request at a time, so the times are the latency of a round trip; the
//! benchmark measures throughput with many clients.
//!
//! [`RouterHandle`]: crate::router_pattern::RouterHandle
//! [`RouterHandle::store_handle`]: crate::router_pattern::RouterHandle::store_handle

use std::time::Duration;

use common::demo::{Args, DemoResult};
use tokio::time::Instant;

use crate::router_pattern::{ActorError, ActorHandle, KeyValueMessage, StoreHandle, spawn_router};

/// One operation of the test sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `set(key, value)`.
    Set(String, Vec<u8>),
    /// `get(key)`.
    Get(String),
}

/// What an operation answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The answer to a `set`.
    Set(Result<(), ActorError>),
    /// The answer to a `get`.
    Get(Result<Option<Vec<u8>>, ActorError>),
}

/// Runs `ops` one after another through any handle (router or store) and collects the replies.
pub async fn apply<M>(handle: &ActorHandle<M>, ops: &[Op]) -> Vec<Reply>
where
    M: From<KeyValueMessage> + Send + 'static,
{
    let mut replies = Vec::with_capacity(ops.len());
    for op in ops {
        replies.push(match op {
            Op::Set(key, value) => Reply::Set(handle.set(key.clone(), value.clone()).await),
            Op::Get(key) => Reply::Get(handle.get(key.clone()).await),
        });
    }
    replies
}

/// A deterministic mix of sets and gets (about half each) over `keys` keys.
pub fn operations(n: usize, keys: u64) -> Vec<Op> {
    // A small linear congruential generator: the same sequence on every run, no dependency.
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    (0..n)
        .map(|i| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let key = format!("key-{}", (seed >> 33) % keys.max(1));
            if (seed >> 17) & 1 == 0 {
                Op::Set(key, (i as u64).to_le_bytes().to_vec())
            } else {
                Op::Get(key)
            }
        })
        .collect()
}

/// The store's contents for keys `key-0` … `key-{keys-1}`, read through `handle`.
pub async fn snapshot<M>(
    handle: &ActorHandle<M>,
    keys: u64,
) -> Result<Vec<Option<Vec<u8>>>, ActorError>
where
    M: From<KeyValueMessage> + Send + 'static,
{
    let mut values = Vec::new();
    for k in 0..keys {
        values.push(handle.get(format!("key-{k}")).await?);
    }
    Ok(values)
}

/// One path's result.
#[derive(Debug)]
pub struct PathRun {
    /// Every reply, in order.
    pub replies: Vec<Reply>,
    /// The final contents of every key.
    pub snapshot: Vec<Option<Vec<u8>>>,
    /// Time for the operations (not the snapshot).
    pub elapsed: Duration,
}

/// Runs `ops` through a fresh system's router.
pub async fn through_router(ops: &[Op], keys: u64) -> Result<PathRun, ActorError> {
    let (router, task) = spawn_router();
    let run = timed(&router, ops, keys).await?;
    drop(router);
    let _ = task.await;
    Ok(run)
}

/// Runs `ops` straight to a fresh system's store actor, skipping its router.
pub async fn direct(ops: &[Op], keys: u64) -> Result<PathRun, ActorError> {
    let (router, task) = spawn_router();
    let store: StoreHandle = router.store_handle().await?;
    drop(router);
    let run = timed(&store, ops, keys).await?;
    drop(store);
    let _ = task.await;
    Ok(run)
}

async fn timed<M>(handle: &ActorHandle<M>, ops: &[Op], keys: u64) -> Result<PathRun, ActorError>
where
    M: From<KeyValueMessage> + Send + 'static,
{
    let start = Instant::now();
    let replies = apply(handle, ops).await;
    let elapsed = start.elapsed();
    Ok(PathRun {
        replies,
        snapshot: snapshot(handle, keys).await?,
        elapsed,
    })
}

/// How many different keys the demo's operations touch.
pub const KEYS: u64 = 64;

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let ops: usize = args.value_in("ops", 10_000, 1..=10_000_000)?;
    args.finish()?;
    demo(ops)
}

// One thread: the times are the actors' own cost, not the latency of waking another thread.
#[tokio::main(flavor = "current_thread")]
async fn demo(n: usize) -> DemoResult {
    use common::timeline::format_duration;
    let ops = operations(n, KEYS);
    let sets = ops.iter().filter(|op| matches!(op, Op::Set(..))).count();
    println!(
        "{n} operations ({sets} sets, {} gets) over {KEYS} keys, one caller, one at a time",
        n - sets
    );
    let routed = through_router(&ops, KEYS).await?;
    let straight = direct(&ops, KEYS).await?;
    let per_op = |d: Duration| format_duration(d / n as u32);
    println!(
        "through the router  {:>9}  ({} per operation)",
        format_duration(routed.elapsed),
        per_op(routed.elapsed)
    );
    println!(
        "straight to store   {:>9}  ({} per operation)",
        format_duration(straight.elapsed),
        per_op(straight.elapsed)
    );
    println!(
        "router / direct: {:.2}× (one extra hop per message)",
        routed.elapsed.as_secs_f64() / straight.elapsed.as_secs_f64().max(1e-9)
    );
    let same_replies = routed.replies == straight.replies;
    let same_map = routed.snapshot == straight.snapshot;
    println!(
        "same replies: {}, same final map: {}",
        if same_replies { "yes" } else { "NO" },
        if same_map { "yes" } else { "NO" }
    );
    if !(same_replies && same_map) {
        return Err("the two paths disagree".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router_pattern::RoutingMessage;
    use tokio::time::timeout;

    const LIMIT: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn both_paths_give_identical_replies_and_maps() {
        let ops = operations(2_000, 16);
        assert!(ops.iter().any(|op| matches!(op, Op::Set(..))));
        assert!(ops.iter().any(|op| matches!(op, Op::Get(..))));
        let routed = timeout(LIMIT, through_router(&ops, 16))
            .await
            .unwrap()
            .unwrap();
        let straight = timeout(LIMIT, direct(&ops, 16)).await.unwrap().unwrap();
        assert_eq!(routed.replies, straight.replies);
        assert_eq!(routed.snapshot, straight.snapshot);
        // And both are right: some gets saw earlier sets.
        assert!(
            routed
                .replies
                .iter()
                .any(|r| matches!(r, Reply::Get(Ok(Some(_)))))
        );
        assert!(
            routed
                .replies
                .iter()
                .all(|r| !matches!(r, Reply::Set(Err(_)) | Reply::Get(Err(_))))
        );
    }

    /// Eight clients at once, each pipelining set-1, set-2, get on its own key through the router
    /// without waiting in between: the router keeps each sender's order, so every get sees the
    /// second value.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn per_caller_order_survives_the_router() {
        let (router, task) = spawn_router();
        let mut clients = Vec::new();
        for c in 0..8 {
            let router = router.clone();
            clients.push(tokio::spawn(async move {
                for round in 0..50u8 {
                    let key = format!("client-{c}");
                    let (first, first_reply) = KeyValueMessage::set(key.clone(), vec![round, 1]);
                    let (second, second_reply) = KeyValueMessage::set(key.clone(), vec![round, 2]);
                    let (get, get_reply) = KeyValueMessage::get(key);
                    for message in [first, second, get] {
                        router
                            .sender()
                            .send(RoutingMessage::KeyValue(message))
                            .await
                            .unwrap();
                    }
                    assert_eq!(first_reply.await.unwrap(), Ok(()));
                    assert_eq!(second_reply.await.unwrap(), Ok(()));
                    assert_eq!(get_reply.await.unwrap(), Some(vec![round, 2]));
                }
            }));
        }
        for client in clients {
            timeout(LIMIT, client).await.unwrap().unwrap();
        }
        drop(router);
        timeout(LIMIT, task).await.unwrap().unwrap();
    }

    #[test]
    fn the_demo_runs_with_a_small_count() {
        run(Args::from_iter(["--ops", "300"])).unwrap();
    }
}
