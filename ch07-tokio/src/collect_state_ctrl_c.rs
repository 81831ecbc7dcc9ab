//! `collect-state-ctrl-c` (Graceful Shutdowns): state kept in thread-locals is collected by sending
//! one task to each pool thread and merging what they return (the book's Figure 7-3), here when
//! Ctrl-C arrives.
//!
//! Work is spread over a 4-thread `LocalPoolHandle`; each pool thread counts into its own
//! thread-local map (the `UnsafeCell` counter of `unsafe-thread-counter`, through its one
//! `unsafe` block). On SIGINT, [`get_complete_count`] pins one extractor to each thread index and
//! sums the copies. The totals are exact only if the work had finished: sent earlier, the
//! snapshot is partial, and not even a consistent cut (each thread is read at a different moment
//! while work goes on), which `graceful-drain` fixes.
//!
//! The default mode is the parent: it runs the program as a child twice, sending SIGINT after
//! `All futures completed` (exact totals) and then right after `work started` (partial totals,
//! usually). `--wait` is the program alone: press Ctrl-C when you like.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::time::Duration;

use common::Timeline;
use common::demo::{Args, DemoResult};
use common::timeline::current_thread_name;
use nix::sys::signal::Signal;
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::{JoinError, JoinHandle};
use tokio_util::task::LocalPoolHandle;

use crate::child::{self, LIMIT, SelfChild};
use crate::unsafe_thread_counter::{something, with_counter};

/// How many threads the book's pool has.
pub const POOL_THREADS: usize = 4;

/// The book's `extract_data_from_thread`: a copy of the calling thread's counter.
pub fn extract_data_from_thread() -> HashMap<u32, u32> {
    // Book: the listing takes a `&mut` through `unsafe` only to clone the map; the shared helper
    // keeps the crate's single `unsafe` block, and a clone is all we ask of it.
    with_counter(|counter| counter.clone())
}

/// The book's `get_complete_count`: one extractor pinned to each pool thread, the copies summed.
/// Each extractor is drawn on `timeline`, on the thread it ran on.
pub async fn get_complete_count(
    pool: &LocalPoolHandle,
    timeline: &Timeline,
) -> Result<HashMap<u32, u32>, JoinError> {
    let mut complete_counter = HashMap::new();
    let mut extracted_counters = Vec::new();
    // Book: `for i in 0..4` hard-codes the pool size; we ask the pool.
    for i in 0..pool.num_threads() {
        let timeline = timeline.clone();
        extracted_counters.push(pool.spawn_pinned_by_idx(
            move || async move {
                let start = timeline.now();
                let counter = extract_data_from_thread();
                let thread = current_thread_name();
                timeline.record(format!("extract {i}"), thread, start, timeline.now());
                counter
            },
            i,
        ));
    }
    for counter_future in extracted_counters {
        // Book: `.unwrap_or_default()` turns an extractor that failed (a panic, a pool shutting
        // down) into an empty map, a silent undercount; the error is passed on instead.
        let extracted_counter = counter_future.await?;
        for (key, count) in extracted_counter {
            *complete_counter.entry(key).or_insert(0) += count;
        }
    }
    Ok(complete_counter)
}

/// The book's `tokio::spawn` block: pins `tasks` numbers (1 to 5, cycled) to the pool, each task
/// running `unsafe-thread-counter`'s [`something`] twice (`number` units of sleep, then a count),
/// and says `All futures completed` when every one has.
pub fn spawn_work(
    pool: LocalPoolHandle,
    tasks: usize,
    unit: Duration,
) -> JoinHandle<Result<(), JoinError>> {
    tokio::spawn(async move {
        println!(
            "work started: {tasks} tasks on {} pool threads",
            pool.num_threads()
        );
        let sequence = [1, 2, 3, 4, 5];
        let repeated_sequence: Vec<u32> = sequence.iter().cycle().take(tasks).cloned().collect();
        let mut futures = Vec::new();
        for number in repeated_sequence {
            futures.push(pool.spawn_pinned(move || async move {
                something(number, unit).await;
                something(number, unit).await
            }));
        }
        for handle in futures {
            handle.await?;
        }
        println!("All futures completed");
        Ok(())
    })
}

/// The book's `main`: work in the background, the main task waits for Ctrl-C, then collects.
///
/// Book: the pool is the static `RUNTIME: LazyLock<LocalPoolHandle>` in the book (a pool named
/// like a runtime, never shut down, and shared by everything in the process); ours is a value
/// the caller passes, dropped when it is done.
#[tokio::main(flavor = "current_thread")]
pub async fn book_main(
    pool: LocalPoolHandle,
    tasks: usize,
    unit: Duration,
    timeline: &Timeline,
) -> io::Result<HashMap<u32, u32>> {
    // `ctrl_c()` is this same stream, created at its first poll; created up front, the handler is
    // in place before we print anything a parent could react to.
    let mut interrupts = signal(SignalKind::interrupt())?;
    println!("listening (pid {})", std::process::id());
    let _handle = spawn_work(pool.clone(), tasks, unit);
    interrupts.recv().await;
    println!("ctrl-c received!");
    // Book: the extraction is exact only once the work has finished (the book's conclusion
    // rests on that full run); before
    // that, each thread is read at a different moment while tasks keep counting, so the sum is
    // not a consistent cut of any instant (`graceful-drain` stops the work first).
    let complete_counter = get_complete_count(&pool, timeline).await?;
    println!("Complete counter: {}", format_counts(&complete_counter));
    Ok(complete_counter)
}

/// A counter map as `{1: 8000, 2: 8000, …}`, keys in order (the book prints a `HashMap` in
/// whatever order it iterates).
pub fn format_counts<K: Ord + Copy + std::fmt::Display, V: Copy + std::fmt::Display>(
    counts: impl IntoIterator<Item = (K, V)>,
) -> String {
    let sorted: BTreeMap<K, V> = counts.into_iter().collect();
    let items: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    format!("{{{}}}", items.join(", "))
}

/// Reads back a map printed by [`format_counts`], from the `{` on; `None` if there is none.
///
/// ```
/// use ch07::collect_state_ctrl_c::parse_counts;
/// let counts = parse_counts("Complete counter: {1: 8, 3: 2}").unwrap();
/// assert_eq!(counts.into_iter().collect::<Vec<_>>(), [(1, 8), (3, 2)]);
/// assert_eq!(parse_counts("Complete counter: {}").unwrap().len(), 0);
/// assert!(parse_counts("no map here").is_none());
/// ```
pub fn parse_counts(line: &str) -> Option<BTreeMap<u32, u64>> {
    let inner = line.split_once('{')?.1.strip_suffix('}')?;
    let mut counts = BTreeMap::new();
    for item in inner.split(", ").filter(|i| !i.is_empty()) {
        let (key, count) = item.split_once(": ")?;
        counts.insert(key.parse().ok()?, count.parse().ok()?);
    }
    Some(counts)
}

/// A book-style `main`: this module's (SIGINT) or `collect-state-sighup`'s.
pub(crate) type BookMain =
    fn(LocalPoolHandle, usize, Duration, &Timeline) -> io::Result<HashMap<u32, u32>>;

/// The child's program, shared with `collect-state-sighup`: arguments, pool, timeline.
pub(crate) fn run_child(tasks: usize, unit: Duration, main: BookMain) -> DemoResult {
    let timeline = Timeline::new();
    let pool = LocalPoolHandle::new(POOL_THREADS);
    main(pool, tasks, unit, &timeline)?;
    println!("the extractors, one per pool thread (Figure 7-3):");
    println!("{}", timeline.render());
    Ok(())
}

/// Runs the demo: the parent by default, the book's program with `--wait`.
pub fn run(mut args: Args) -> DemoResult {
    let wait = args.flag("wait")?;
    let is_child = args.flag("child")?;
    // Book: spawns 500,000 tasks whose sleeps last 1 to 5 s; ours default to 20,000 (`--tasks`)
    // with 1 to 5 ms, so both runs of the demo take about a second.
    let tasks: usize = args.value_in("tasks", 20_000, 1..=1_000_000)?;
    args.finish()?;
    if is_child {
        child::exit_when_parent_goes();
    }
    if wait || is_child {
        return run_child(tasks, Duration::from_millis(1), book_main);
    }
    let tasks = tasks.to_string();
    let args = ["collect-state-ctrl-c", "--wait", "--tasks", &tasks];
    println!("=== run 1: SIGINT after `All futures completed`");
    let full = parent_run(&args, "All futures completed", Signal::SIGINT)?;
    println!("\n=== run 2: SIGINT right after `work started`");
    let early = parent_run(&args, "work started", Signal::SIGINT)?;
    report(&full, &early)
}

/// One child run: wait for `when`, send `signal`, return the counter the child printed.
pub(crate) fn parent_run(
    args: &[&str],
    when: &str,
    signal: Signal,
) -> Result<BTreeMap<u32, u64>, child::ChildError> {
    let mut child = SelfChild::start(args)?;
    child.wait_for_line(when, Duration::from_secs(20))?;
    child.send(signal)?;
    let line = child.wait_for_line("Complete counter:", LIMIT)?;
    let status = child.wait(LIMIT)?;
    if !status.success() {
        return Err(format!("the child {}", child::describe_exit(status)).into());
    }
    parse_counts(&line).ok_or_else(|| format!("cannot read the counter in `{line}`").into())
}

/// Compares the two runs and says what they show.
pub(crate) fn report(full: &BTreeMap<u32, u64>, early: &BTreeMap<u32, u64>) -> DemoResult {
    let total = |m: &BTreeMap<u32, u64>| m.values().sum::<u64>();
    if let Some((key, count)) = early
        .iter()
        .find(|(k, c)| **c > full.get(k).copied().unwrap_or(0))
    {
        return Err(
            format!("the early run counted {count} for {key}, more than the full run").into(),
        );
    }
    println!();
    println!(
        "parent: full run {} counted, exact: {}",
        total(full),
        format_counts(full.clone())
    );
    println!(
        "parent: early run {} counted ({:.0} %): a snapshot of work still in progress",
        total(early),
        100.0 * total(early) as f64 / total(full).max(1) as f64
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// Runs `tasks` through a fresh pool (fresh threads, so fresh thread-locals: never a shared
    /// static pool, whose counters would carry over from one test to the next).
    async fn count_on_fresh_pool(tasks: usize) -> (LocalPoolHandle, Timeline) {
        let pool = LocalPoolHandle::new(POOL_THREADS);
        spawn_work(pool.clone(), tasks, Duration::ZERO)
            .await
            .unwrap()
            .unwrap();
        (pool, Timeline::new())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_complete_count_is_exact_and_is_the_sum_of_one_map_per_thread() {
        let (pool, timeline) = count_on_fresh_pool(5_000).await;
        let complete = get_complete_count(&pool, &timeline).await.unwrap();
        let expected: HashMap<u32, u32> = (1..=5).map(|k| (k, 2_000)).collect();
        assert_eq!(complete, expected);

        // One extractor ran on each of the four threads…
        let threads: HashSet<String> = timeline.spans().into_iter().map(|s| s.thread).collect();
        assert_eq!(threads.len(), POOL_THREADS, "{threads:?}");
        // …and the four per-thread maps add up to the total.
        let mut sum: HashMap<u32, u32> = HashMap::new();
        for i in 0..POOL_THREADS {
            let map = pool
                .spawn_pinned_by_idx(|| async { extract_data_from_thread() }, i)
                .await
                .unwrap();
            for (k, v) in map {
                *sum.entry(k).or_default() += v;
            }
        }
        assert_eq!(sum, complete);
    }

    #[test]
    fn counts_print_sorted_and_read_back() {
        let counts: HashMap<u32, u32> = [(3, 1), (1, 2)].into();
        let text = format_counts(counts);
        assert_eq!(text, "{1: 2, 3: 1}");
        assert_eq!(
            parse_counts(&text).unwrap(),
            BTreeMap::from([(1, 2), (3, 1)])
        );
        assert!(parse_counts("{1: x}").is_none());
    }
}
