//! Benchmark `thread_state` (book section "Processing Tasks with Local Pools", Figure 7-2, and
//! "Getting Unsafe with Thread Data"): four ways to count to four million from four threads.
//!
//! Run it with `cargo bench -p ch07 --bench thread_state`. Each way runs five times; the median
//! is reported as increments per second and as a ratio to the `Mutex`:
//!
//! - `Arc<Mutex<u64>>`: four tasks on a four-worker runtime take one lock in turn (Figure 7-2);
//! - `AtomicU64`: the same four tasks, one `fetch_add` each time, no lock;
//! - thread-local `RefCell<u64>`: four tasks pinned one per thread of a four-thread
//!   `LocalPoolHandle`, each counting in its own thread's cell (borrow flag checked every time),
//!   then one extractor per thread sums the four counts;
//! - thread-local `UnsafeCell<u64>`: the same without the borrow flag.
//!
//! Every access goes through `std::hint::black_box`, so the compiler cannot fold a million
//! increments into one addition. On a machine with fewer cores than threads (this project's
//! has two), the shared counters also pay for the threads taking turns on the cores.

use std::cell::{RefCell, UnsafeCell};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::runtime::{Builder, Runtime};
use tokio_util::task::LocalPoolHandle;

const THREADS: usize = 4;
const PER_THREAD: u64 = 1_000_000;
const TOTAL: u64 = THREADS as u64 * PER_THREAD;
const RUNS: usize = 5;

thread_local! {
    static REFCELL_COUNT: RefCell<u64> = const { RefCell::new(0) };
    static UNSAFECELL_COUNT: UnsafeCell<u64> = const { UnsafeCell::new(0) };
}

fn workers() -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(THREADS)
        .build()
        .expect("a four-worker runtime")
}

/// Four tasks share one `Arc<Mutex<u64>>`.
fn mutex(runtime: &Runtime) -> (Duration, u64) {
    let count = Arc::new(Mutex::new(0u64));
    let started = Instant::now();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..THREADS)
            .map(|_| {
                let count = count.clone();
                tokio::spawn(async move {
                    for _ in 0..PER_THREAD {
                        *black_box(&count).lock().expect("never poisoned") += 1;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("a counting task");
        }
    });
    let total = *count.lock().expect("never poisoned");
    (started.elapsed(), total)
}

/// Four tasks share one `AtomicU64`.
fn atomic(runtime: &Runtime) -> (Duration, u64) {
    let count = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..THREADS)
            .map(|_| {
                let count = count.clone();
                tokio::spawn(async move {
                    for _ in 0..PER_THREAD {
                        black_box(&count).fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("a counting task");
        }
    });
    (started.elapsed(), count.load(Ordering::Relaxed))
}

fn bump_refcell() {
    REFCELL_COUNT.with(|count| *black_box(count).borrow_mut() += 1);
}

fn read_refcell() -> u64 {
    REFCELL_COUNT.with(|count| *count.borrow())
}

fn bump_unsafecell() {
    UNSAFECELL_COUNT.with(|count| {
        let count = black_box(count);
        // SAFETY: the cell is thread-local, so only this thread reaches it, and the `&mut` lives
        // for this one statement: no `.await`, no call that could touch the cell again.
        unsafe { *count.get() += 1 };
    });
}

fn read_unsafecell() -> u64 {
    UNSAFECELL_COUNT.with(|count| {
        // SAFETY: thread-local, and no `&mut` to it exists while this shared read runs (the
        // counting task on this thread has finished; tasks here never hold one across a call).
        unsafe { *count.get() }
    })
}

/// One counting task pinned to each pool thread, then one extractor per thread; returns the sum.
fn thread_local_count(runtime: &Runtime, bump: fn(), read: fn() -> u64) -> (Duration, u64) {
    // A fresh pool: fresh threads, so every thread-local count starts at zero.
    let pool = LocalPoolHandle::new(THREADS);
    let started = Instant::now();
    let total = runtime.block_on(async {
        let tasks: Vec<_> = (0..THREADS)
            .map(|i| {
                pool.spawn_pinned_by_idx(
                    move || async move {
                        for _ in 0..PER_THREAD {
                            bump();
                        }
                    },
                    i,
                )
            })
            .collect();
        for task in tasks {
            task.await.expect("a counting task");
        }
        let mut total = 0;
        for i in 0..THREADS {
            total += pool
                .spawn_pinned_by_idx(move || async move { read() }, i)
                .await
                .expect("an extractor");
        }
        total
    });
    (started.elapsed(), total)
}

/// One way of counting: returns how long it took and the total it reached.
type Way<'a> = dyn Fn() -> (Duration, u64) + 'a;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}

fn main() {
    let runtime = workers();
    let ways: [(&str, Box<Way>); 4] = [
        ("Arc<Mutex<u64>>", Box::new(|| mutex(&runtime))),
        ("AtomicU64", Box::new(|| atomic(&runtime))),
        (
            "thread-local RefCell<u64>",
            Box::new(|| thread_local_count(&runtime, bump_refcell, read_refcell)),
        ),
        (
            "thread-local UnsafeCell<u64>",
            Box::new(|| thread_local_count(&runtime, bump_unsafecell, read_unsafecell)),
        ),
    ];
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "thread_state: {TOTAL} increments over {THREADS} threads, median of {RUNS} runs, \
         {cores} cores"
    );
    let mut results = Vec::new();
    for (name, count) in &ways {
        let mut times = Vec::new();
        for _ in 0..RUNS {
            let (took, total) = count();
            assert_eq!(total, TOTAL, "{name} lost increments");
            times.push(took);
        }
        results.push((*name, median(times)));
    }
    let mutex_time = results[0].1.as_secs_f64();
    println!(
        "{:<30} {:>12} {:>16} {:>10}",
        "way", "median", "increments/s", "vs Mutex"
    );
    for (name, took) in &results {
        let seconds = took.as_secs_f64();
        println!(
            "{:<30} {:>9.1} ms {:>16.3e} {:>9.1}×",
            name,
            seconds * 1e3,
            TOTAL as f64 / seconds,
            mutex_time / seconds
        );
    }
    let refcell = results[2].1.as_secs_f64();
    let unsafecell = results[3].1.as_secs_f64();
    println!(
        "UnsafeCell against RefCell: {:.2}× as fast",
        refcell / unsafecell
    );
}
