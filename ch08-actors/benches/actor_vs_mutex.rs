//! `cargo bench -p ch08 [-- --quick]`: the actor against the mutex, measured (chapter 8 Extras).
//!
//! The book's claim that "channels can scale better than mutexes" is a hypothesis; this benchmark
//! tests it on the chapter's own store. Clients do a 50/50 mix of `get` and `set` over 1 024
//! keys, each awaiting its answer before its next operation, at 1, 8 and 64 concurrent clients,
//! against four implementations of one map:
//!
//! - the store actor of `key-value-actor`, called directly (`StoreHandle`);
//! - the same actor through the router of `router-pattern` (`RouterHandle`, one hop more);
//! - `Arc<tokio::sync::Mutex<HashMap>>`;
//! - `Arc<std::sync::Mutex<HashMap>>` (locked only between `.await`s, never across one).
//!
//! All in memory, no writer: this measures coordination, not disks. Then, for reference, the
//! book's own race from `actor-vs-mutex` (every operation its own task, all spawned at once).
//! It prints Markdown tables (with the machine and core count) that the chapter README copies.
//! `--quick` runs a tenth of the operations. A plain `main` (`harness = false`): no criterion, no
//! dependency, and nothing to configure; each cell is the median of three runs after a warm-up.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use ch08::actor_vs_mutex::{Variant, timed_race};
use ch08::key_value_actor::KeyValueMessage;
use ch08::router_pattern::{ActorHandle, spawn_router};

/// Keys the clients spread over.
const KEYS: usize = 1024;
/// Concurrent clients per column.
const CLIENTS: [usize; 3] = [1, 8, 64];
/// Operations per measured run (all clients together), before `--quick`.
const OPS: usize = 200_000;
/// Operations in the book's race, before `--quick`.
const RACE_OPS: i64 = 100_000;
/// Measured runs per cell; the median is reported.
const RUNS: usize = 5;

/// What a benchmark client needs from a map, whatever implements it.
trait Kv: Clone + Send + Sync + 'static {
    fn get(&self, key: &str) -> impl Future<Output = Option<Vec<u8>>> + Send;
    fn set(&self, key: &str, value: Vec<u8>) -> impl Future<Output = ()> + Send;
}

/// The actor, directly or through the router: a message owns its key, so each call allocates it.
impl<M> Kv for ActorHandle<M>
where
    M: From<KeyValueMessage> + Send + 'static,
{
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        ActorHandle::get(self, key)
            .await
            .expect("the store is running")
    }
    async fn set(&self, key: &str, value: Vec<u8>) {
        ActorHandle::set(self, key, value)
            .await
            .expect("the store is running")
    }
}

#[derive(Clone, Default)]
struct TokioMap(Arc<tokio::sync::Mutex<HashMap<String, Vec<u8>>>>);

impl Kv for TokioMap {
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.0.lock().await.get(key).cloned()
    }
    async fn set(&self, key: &str, value: Vec<u8>) {
        self.0.lock().await.insert(key.to_string(), value);
    }
}

#[derive(Clone, Default)]
struct StdMap(Arc<std::sync::Mutex<HashMap<String, Vec<u8>>>>);

impl Kv for StdMap {
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(key).cloned()
    }
    async fn set(&self, key: &str, value: Vec<u8>) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.insert(key.to_string(), value);
    }
}

/// `clients` tasks share `ops` operations; returns operations per second.
async fn measure<K: Kv>(kv: &K, keys: &Arc<Vec<String>>, clients: usize, ops: usize) -> f64 {
    let per_client = ops / clients;
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let kv = kv.clone();
            let keys = keys.clone();
            tokio::spawn(async move {
                let mut seed =
                    0x9E37_79B9_7F4A_7C15u64 ^ (c as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
                let mut found = 0usize;
                for i in 0..per_client {
                    seed = seed
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    let key = &keys[(seed >> 33) as usize % keys.len()];
                    if (seed >> 17) & 1 == 0 {
                        kv.set(key, (i as u64).to_le_bytes().to_vec()).await;
                    } else if kv.get(key).await.is_some() {
                        found += 1;
                    }
                }
                found
            })
        })
        .collect();
    for task in tasks {
        let found = task.await.expect("a client panicked");
        std::hint::black_box(found);
    }
    (per_client * clients) as f64 / start.elapsed().as_secs_f64()
}

/// A warm-up run, then the median of [`RUNS`] runs.
async fn cell<K: Kv>(kv: &K, keys: &Arc<Vec<String>>, clients: usize, ops: usize) -> f64 {
    measure(kv, keys, clients, ops / 10).await;
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        runs.push(measure(kv, keys, clients, ops).await);
    }
    median(runs)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// `1 234 567`: thin groups of three, readable in a table.
fn grouped(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(ch);
    }
    out
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!(
        "{cpu}, {cores} core(s) available, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

async fn bench(quick: bool) {
    let scale = if quick { 10 } else { 1 };
    let ops = OPS / scale;
    let keys: Arc<Vec<String>> = Arc::new((0..KEYS).map(|k| format!("key-{k:04}")).collect());

    let (router, router_task) = spawn_router();
    let store = router.store_handle().await.expect("the router is running");
    let tokio_map = TokioMap::default();
    let std_map = StdMap::default();
    // Every key exists before measuring, so gets do the same work everywhere.
    for key in keys.iter() {
        Kv::set(&store, key, vec![0; 8]).await;
        tokio_map.set(key, vec![0; 8]).await;
        std_map.set(key, vec![0; 8]).await;
    }

    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    println!("## Actor vs mutex: operations per second (higher is better)\n");
    println!(
        "Machine: {}; tokio multi-thread runtime with {workers} worker(s); `{}` build.",
        machine(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!(
        "Each client does a 50/50 mix of get and set over {KEYS} keys (8-byte values), awaiting \
         each answer before its next operation; {} operations per run shared by all clients; \
         median of {RUNS} runs after a warm-up.\n",
        grouped(ops as f64)
    );
    println!(
        "| implementation | {} |",
        CLIENTS
            .map(|c| format!("{c} client{}", if c == 1 { "" } else { "s" }))
            .join(" | ")
    );
    println!("|---|{}", "---:|".repeat(CLIENTS.len()));

    let mut row = Vec::new();
    for c in CLIENTS {
        row.push(grouped(cell(&store, &keys, c, ops).await));
    }
    println!(
        "| store actor, direct (`StoreHandle`) | {} |",
        row.join(" | ")
    );
    row.clear();
    for c in CLIENTS {
        row.push(grouped(cell(&router, &keys, c, ops).await));
    }
    println!(
        "| store actor via router (`RouterHandle`) | {} |",
        row.join(" | ")
    );
    row.clear();
    for c in CLIENTS {
        row.push(grouped(cell(&tokio_map, &keys, c, ops).await));
    }
    println!(
        "| `Arc<tokio::sync::Mutex<HashMap>>` | {} |",
        row.join(" | ")
    );
    row.clear();
    for c in CLIENTS {
        row.push(grouped(cell(&std_map, &keys, c, ops).await));
    }
    println!("| `Arc<std::sync::Mutex<HashMap>>` | {} |", row.join(" | "));

    drop(store);
    drop(router);
    router_task.await.expect("the router panicked");

    let race_ops = RACE_OPS / scale as i64;
    println!(
        "\n## The book's race, for reference: every operation its own task, all {} spawned at once, one shared `i64`\n",
        grouped(race_ops as f64)
    );
    println!("| variant | ops/s |\n|---|---:|");
    for variant in Variant::ALL {
        let _warm = timed_race(variant, race_ops / 10).await;
        let mut runs = Vec::new();
        for _ in 0..RUNS {
            let result = timed_race(variant, race_ops).await;
            assert!(result.checked(), "{} gave a wrong sum", variant.label());
            runs.push(result.ops_per_sec());
        }
        println!("| {} | {} |", variant.label(), grouped(median(runs)));
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `--quick` is ours. Anything else is a mistake worth saying.
    let mut quick = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--bench" => {}
            "--quick" => quick = true,
            other => {
                eprintln!("actor_vs_mutex: unknown argument `{other}` (only `--quick`)");
                std::process::exit(2);
            }
        }
    }
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(bench(quick));
    println!(
        "\n(benchmark took {:.1} s)",
        started.elapsed().as_secs_f64()
    );
}
