//! `unsafe-thread-counter`: a thread-local `UnsafeCell<HashMap>` counted by thousands of
//! interleaved tasks (book section "Getting Unsafe with Thread Data").
//!
//! `RefCell` checks at run time that nobody else holds a borrow; `UnsafeCell` drops that check and
//! leaves the proof to us. `with_counter` is the one place that turns the cell into a `&mut`,
//! and its `// SAFETY:` comment is the proof, in three parts: the map is thread-local, so no other
//! thread can reach it; the `&mut` lives inside a synchronous closure, so no `.await` can suspend
//! the task while it exists and let another task on the same thread take a second one; and no
//! caller's closure touches `COUNTER` again, so it is never borrowed twice by re-entry.
//!
//! The demo then does what the book does: one pool thread, the numbers 1 to 5 repeated, and for
//! each number a pinned task that runs [`something`] twice; each call sleeps `number` ms (the book:
//! seconds) and counts. Thousands of tasks are suspended and resumed in a shuffled order between
//! the counts, yet the totals are exact, and identical to a `RefCell` twin's.
//!
//! Run it with `cargo run -p ch07 -- unsafe-thread-counter [--tasks N]` (default 20,000 tasks;
//! `--tasks 500000` gives the book's 200,000 per key: in release, 2 to 3 s per count and 230 MB at
//! the peak). You will see the sorted totals (`{1: 8000, 2: 8000, …}`) and the time, the
//! `RefCell` twin's identical totals and time, and a chart of the first ten tasks: all on
//! `pool-0`, overlapping, which is the interleaving the safety argument must survive.
//!
//! How we differ from the book: exact totals in a few runs are evidence, not proof; the
//! `// SAFETY:` argument is what makes the code sound. Reading the map takes a shared reference;
//! the book takes a `&mut` even to print it. And the speed `RefCell` costs is measured, not
//! assumed: `cargo bench -p ch07 --bench thread_state`.

use std::cell::{RefCell, UnsafeCell};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use common::Timeline;
use common::demo::{Args, DemoResult};
use common::timeline::format_duration;
use tokio::task::JoinError;
use tokio_util::task::LocalPoolHandle;

use crate::pool_run::{ThreadNames, pool_thread_names};

thread_local! {
    /// The book's thread state: a map from number to count, with no borrow checking at run time.
    pub(crate) static COUNTER: UnsafeCell<HashMap<u32, u32>> = UnsafeCell::new(HashMap::new());
}

/// Runs `f` on this thread's `COUNTER` map: the crate's only `unsafe` block.
///
/// `f` must not touch `COUNTER` itself (no call to `with_counter`, directly or through another
/// function): that would be a second `&mut` to the same map. Every caller in this crate passes a
/// closure that only works on the map it is handed, which is why this is not `pub`; the map's own
/// code (hashing and comparing `u32`s) cannot reach `COUNTER` either. The `&mut` ends when `f`
/// returns or unwinds.
// Book: concludes from runs that always give the same counts that the unsafe code is safe; runs
// are evidence, and the three-part argument in the SAFETY comment below is the proof.
pub(crate) fn with_counter<R>(f: impl FnOnce(&mut HashMap<u32, u32>) -> R) -> R {
    COUNTER.with(|counter| {
        // SAFETY: this `&mut` is the map's only reference while it lives: (1) `COUNTER` is
        // thread-local, so no other thread reaches it; (2) it lives for one synchronous call of
        // `f`, so no `.await` lets another task on this thread in; (3) nothing re-enters (above).
        let counter = unsafe { &mut *counter.get() };
        f(counter)
    })
}

/// The book's `something`: sleep `number` units, then count `number` in this thread's map.
///
/// The sleep suspends the task, so thousands of calls interleave on one thread; the count happens
/// after it, in one synchronous step.
// Book: sleeps `number` seconds (two calls of up to 5 s per task, over 10 s in all with half a
// million timers); the demo's unit is 1 ms.
pub async fn something(number: u32, unit: Duration) {
    tokio::time::sleep(unit * number).await;
    // The book's `get_mut`, else `insert(number, 1)`, is what `entry` does in one lookup.
    with_counter(|counter| *counter.entry(number).or_insert(0) += 1);
}

/// This thread's counts, sorted by number, read through a shared reference.
// Book: `print_statement` takes a `&mut` through `unsafe` only to read the map; we reborrow it
// as `&` so the reading code cannot change it.
pub fn snapshot() -> BTreeMap<u32, u32> {
    with_counter(|counter| {
        let counter: &HashMap<u32, u32> = counter;
        counter.iter().map(|(&k, &v)| (k, v)).collect()
    })
}

/// The book's `print_statement`: prints this thread's counts (sorted) and returns them.
// Book: prints the `HashMap` in its random order; sorted output is easier to compare.
pub async fn print_statement() -> BTreeMap<u32, u32> {
    let counts = snapshot();
    println!("Counter: {counts:?}");
    counts
}

thread_local! {
    /// The `RefCell` twin of `COUNTER`, for comparison.
    static COUNTER_REFCELL: RefCell<HashMap<u32, u32>> = RefCell::new(HashMap::new());
}

/// `something` on the `RefCell` twin: the same, with the borrow checked at run time.
pub async fn something_refcell(number: u32, unit: Duration) {
    tokio::time::sleep(unit * number).await;
    COUNTER_REFCELL.with(|counter| *counter.borrow_mut().entry(number).or_insert(0) += 1);
}

/// This thread's counts in the `RefCell` twin, sorted.
pub fn snapshot_refcell() -> BTreeMap<u32, u32> {
    COUNTER_REFCELL.with(|counter| counter.borrow().iter().map(|(&k, &v)| (k, v)).collect())
}

/// Which cell a run counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// `COUNTER`, the `UnsafeCell`.
    Unsafe,
    /// The `RefCell` twin.
    RefCell,
}

/// The book's numbers: 1 to 5, repeated until there are `tasks` of them.
// Book: the listing takes 5,000 numbers (2,000 per key), while the prose speaks of half a million
// tasks and the printout shows 200,000 per key, which needs 500,000; `--tasks` sets the count.
pub fn repeated_sequence(tasks: usize) -> Vec<u32> {
    let sequence = [1, 2, 3, 4, 5];
    sequence.iter().cycle().take(tasks).cloned().collect()
}

/// One of the first tasks, for the chart: its number, thread, start and end.
type TaskSpan = (usize, u32, ThreadId, Duration, Duration);

/// The book's `main` on a pool passed in: a pinned task per number, each counting twice, then one
/// pinned task that prints the pool thread's totals. The first `traced` tasks go on the chart.
pub async fn count_on_pool(
    pool: &LocalPoolHandle,
    tasks: usize,
    unit: Duration,
    cell: Cell,
    timeline: &Timeline,
    traced: usize,
) -> Result<BTreeMap<u32, u32>, JoinError> {
    let names = pool_thread_names(pool).await?;
    let spans: Arc<Mutex<Vec<TaskSpan>>> = Arc::default();
    let mut futures = Vec::new();
    for (i, number) in repeated_sequence(tasks).into_iter().enumerate() {
        let (spans, clock) = (spans.clone(), timeline.clone());
        futures.push(pool.spawn_pinned(move || async move {
            let from = clock.now();
            match cell {
                Cell::Unsafe => {
                    something(number, unit).await;
                    something(number, unit).await
                }
                Cell::RefCell => {
                    something_refcell(number, unit).await;
                    something_refcell(number, unit).await
                }
            }
            if i < traced {
                let thread = std::thread::current().id();
                let span = (i, number, thread, from, clock.now());
                spans.lock().unwrap_or_else(|p| p.into_inner()).push(span);
            }
        }));
    }
    // Book: `let _ = i.await.unwrap();` panics on a failed task; we return its error.
    for task in futures {
        task.await?;
    }
    let counts = match cell {
        Cell::Unsafe => pool.spawn_pinned(|| async { print_statement().await }),
        Cell::RefCell => pool.spawn_pinned(|| async { snapshot_refcell() }),
    }
    .await?;

    let mut names = ThreadNames::new(names);
    let mut spans = spans.lock().unwrap_or_else(|p| p.into_inner()).clone();
    spans.sort_unstable_by_key(|s| s.0);
    for (i, number, thread, from, to) in spans {
        let label = format!("task {} (number {number})", i + 1);
        timeline.record(label, names.name(thread), from, to);
    }
    Ok(counts)
}

/// Runs a count on a fresh one-thread pool and current-thread runtime; returns totals and time.
pub fn count_once(
    tasks: usize,
    unit: Duration,
    cell: Cell,
    timeline: &Timeline,
) -> Result<(BTreeMap<u32, u32>, Duration), Box<dyn std::error::Error + Send + Sync>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // A fresh pool: new threads, so new, empty thread-locals.
    let pool = LocalPoolHandle::new(1);
    let started = Instant::now();
    let counts = runtime.block_on(count_on_pool(&pool, tasks, unit, cell, timeline, 10))?;
    Ok((counts, started.elapsed()))
}

/// Runs the demo: `unsafe-thread-counter [--tasks N]`.
pub fn run(mut args: Args) -> DemoResult {
    let tasks = args.value_in("tasks", 20_000usize, 1..=1_000_000)?;
    args.finish()?;
    let unit = Duration::from_millis(1);

    println!("{tasks} tasks on one pool thread, each counting its number twice (UnsafeCell):");
    let timeline = Timeline::new();
    let (counts, took) = count_once(tasks, unit, Cell::Unsafe, &timeline)?;
    println!("  took {}", format_duration(took));
    println!("the RefCell twin:");
    let (twin, twin_took) = count_once(tasks, unit, Cell::RefCell, &Timeline::new())?;
    println!("Counter: {twin:?}");
    println!("  took {}", format_duration(twin_took));
    let expected = expected_counts(tasks);
    if counts != expected || twin != expected {
        return Err(format!("expected {expected:?}, counted {counts:?} and {twin:?}").into());
    }
    println!("both exact: every number counted twice per task");
    println!("\nthe first ten tasks:\n{}", timeline.render());
    Ok(())
}

/// The exact totals for `tasks` tasks: each number twice per task that has it.
pub fn expected_counts(tasks: usize) -> BTreeMap<u32, u32> {
    let mut expected = BTreeMap::new();
    for number in repeated_sequence(tasks) {
        *expected.entry(number).or_insert(0) += 2;
    }
    expected
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threads::watchdog;
    use tokio::runtime::{Builder, LocalOptions};

    #[test]
    fn thousands_of_interleaved_tasks_count_exactly() {
        let (counts, _) = watchdog(Duration::from_secs(120), "5,000 tasks", || {
            let timeline = Timeline::new();
            let counted = count_once(5_000, Duration::from_millis(1), Cell::Unsafe, &timeline);
            // The first ten tasks are on the chart, all on the one pool thread. (That they
            // overlap is proven without timing by the paused-clock test below.)
            let spans = timeline.spans();
            assert_eq!(spans.len(), 10);
            assert!(spans.iter().all(|s| s.thread == "pool-0"), "{spans:?}");
            counted.unwrap()
        });
        let expected: BTreeMap<u32, u32> = (1..=5).map(|n| (n, 2_000)).collect();
        assert_eq!(counts, expected);
    }

    #[test]
    fn refcell_twin_counts_the_same() {
        let (unsafe_counts, refcell_counts) = watchdog(Duration::from_secs(120), "twins", || {
            let timeline = Timeline::new();
            let unit = Duration::from_millis(1);
            let unsafe_counts = count_once(500, unit, Cell::Unsafe, &timeline).unwrap().0;
            let refcell_counts = count_once(500, unit, Cell::RefCell, &timeline).unwrap().0;
            (unsafe_counts, refcell_counts)
        });
        assert_eq!(unsafe_counts, expected_counts(500));
        assert_eq!(refcell_counts, unsafe_counts);
    }

    #[test]
    fn book_seconds_on_a_paused_local_runtime() {
        // The book's full seconds, on a `LocalRuntime` whose clock is paused: the same single
        // thread and the same interleaving, with virtual time jumping from timer to timer. A
        // thread of its own (the watchdog's) starts with an empty `COUNTER`.
        let counts = watchdog(Duration::from_secs(120), "paused local runtime", || {
            let runtime = Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build_local(LocalOptions::default())
                .unwrap();
            runtime.block_on(async {
                let started = tokio::time::Instant::now();
                let handles: Vec<_> = repeated_sequence(5_000)
                    .into_iter()
                    .map(|number| {
                        tokio::task::spawn_local(async move {
                            something(number, Duration::from_secs(1)).await;
                            something(number, Duration::from_secs(1)).await
                        })
                    })
                    .collect();
                for handle in handles {
                    handle.await.unwrap();
                }
                // Virtual time: two sleeps of 5 s for the slowest, nothing more. In turn, the
                // 5,000 tasks would need 30,000 s: they interleaved on this one thread.
                assert_eq!(started.elapsed(), Duration::from_secs(10));
                snapshot()
            })
        });
        assert_eq!(counts, expected_counts(5_000));
        assert!(counts.values().all(|&c| c == 2_000));
    }
}
