//! `race-lost-update`: lost updates, made deterministic and then fixed (book section "Testing for
//! Race Conditions").
//!
//! `racy_add` reads a counter and later writes back the value it read plus one. If another task
//! writes between the read and the write, one of the two increments is lost: both read 10, both
//! write 11. Whether that happens depends on what can run in between:
//!
//! | setting | in between | result |
//! |---|---|---|
//! | current-thread runtime, no `.await` between load and store | nothing | exact, every run |
//! | `sleep` between load and store (paused clock) | every other task's load | 1, every run |
//! | two tasks that load, meet at a `Barrier`, then store | the other task's load | 1, every run |
//! | multi-thread runtime, no `.await` | whatever the other threads do | varies: luck, not a test |
//! | `fetch_add`: one atomic read-modify-write | nothing can be | exact, every run |
//!
//! Run it with `cargo run -p ch11 -- race-lost-update`: it prints one line per row of the table.
//!
//! The lesson for tests: do not wait for a race to show up. Force the interleaving (a barrier, or
//! an `.await` between the read and the write on a paused clock) and count what was lost; then
//! check the fix under the same forcing. The fourth row is printed, never asserted: it may lose
//! thousands of updates, or none.
//!
//! A word on names. With atomics there is no *data race* in Rust's sense (that would be undefined
//! behaviour, and safe code cannot cause one); there is a *race condition* that loses updates.
//! And nothing here is `unsafe`, so the book's `unsafe_add` is `racy_add`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::demo::{Args, DemoResult};
use tokio::runtime::Runtime;
use tokio::sync::Barrier;
use tokio::task::JoinError;
use tokio::time::sleep;

// Book: `unsafe_add` on a `static COUNTER`. Nothing here is `unsafe`, hence `racy_add`; and each
// run owns its counter, because tests that share a static and run on parallel threads corrupt
// each other's counts.
/// The book's update: load the counter, then store the loaded value plus one.
pub async fn racy_add(counter: Arc<AtomicUsize>) {
    let value = counter.load(Ordering::SeqCst);
    counter.store(value + 1, Ordering::SeqCst);
}

/// The book's second edit: an `.await` (here a sleep) between the load and the store. Every task
/// that runs during the sleep reads the same old value.
pub async fn racy_add_with_pause(counter: Arc<AtomicUsize>, pause: Duration) {
    let value = counter.load(Ordering::SeqCst);
    sleep(pause).await;
    counter.store(value + 1, Ordering::SeqCst);
}

// Book: the failure is shown by switching to the multi-thread runtime and hoping threads collide
// (99410 of 100000 in the book's run); that may as well pass, so ours forces the interleaving.
/// The interleaving forced: nobody stores until every task has loaded.
pub async fn racy_add_forced(counter: Arc<AtomicUsize>, meet: Arc<Barrier>) {
    let value = counter.load(Ordering::SeqCst);
    meet.wait().await;
    counter.store(value + 1, Ordering::SeqCst);
}

/// The fix: one atomic read-modify-write; no other update can land between its read and write.
pub async fn atomic_add(counter: Arc<AtomicUsize>) {
    counter.fetch_add(1, Ordering::SeqCst);
}

/// The fix under the same forcing as [`racy_add_forced`]: all tasks meet, then update.
pub async fn atomic_add_forced(counter: Arc<AtomicUsize>, meet: Arc<Barrier>) {
    meet.wait().await;
    counter.fetch_add(1, Ordering::SeqCst);
}

/// Which update each task performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Update {
    /// [`racy_add`].
    Racy,
    /// [`racy_add_with_pause`] with the book's 1 s pause (use a paused clock).
    RacyWithPause,
    /// [`racy_add_forced`].
    RacyForced,
    /// [`atomic_add`].
    Atomic,
    /// [`atomic_add_forced`].
    AtomicForced,
}

// Book: a real 1 s sleep; on our paused clock it is virtual, and the run takes milliseconds.
/// The pause of [`Update::RacyWithPause`]: the book's 1 s (virtual on a paused clock).
pub const PAUSE: Duration = Duration::from_secs(1);

/// The book's test body: spawn `total` updates on `runtime`, wait for each, and return the
/// counter. A correct update returns `total`.
pub fn count_updates(runtime: &Runtime, total: usize, update: Update) -> Result<usize, JoinError> {
    let counter = Arc::new(AtomicUsize::new(0));
    let meet = Arc::new(Barrier::new(total));
    let mut handles = Vec::with_capacity(total);
    for _ in 0..total {
        let counter = Arc::clone(&counter);
        let handle = match update {
            Update::Racy => runtime.spawn(racy_add(counter)),
            Update::RacyWithPause => runtime.spawn(racy_add_with_pause(counter, PAUSE)),
            Update::RacyForced => runtime.spawn(racy_add_forced(counter, Arc::clone(&meet))),
            Update::Atomic => runtime.spawn(atomic_add(counter)),
            Update::AtomicForced => runtime.spawn(atomic_add_forced(counter, Arc::clone(&meet))),
        };
        handles.push(handle);
    }
    for handle in handles {
        runtime.block_on(handle)?;
    }
    Ok(counter.load(Ordering::SeqCst))
}

/// The book's runtime: one thread.
pub fn current_thread() -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// One thread and a paused clock: the 1 s pauses cost nothing.
pub fn current_thread_paused() -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
}

/// The book's multi-thread runtime (`Runtime::new()`: one worker per core).
pub fn multi_thread() -> std::io::Result<Runtime> {
    Runtime::new()
}

fn report(label: &str, counted: usize, total: usize, verdict: &str) {
    println!(
        "{label:<48} {counted:>6}/{total:<6} lost {:>6}  {verdict}",
        total - counted.min(total)
    );
}

/// Runs the demo: `[--tasks N]` (default 10000) for the first two rows; `[--threaded-tasks M]`
/// (default 100000) for the multi-thread rows.
pub fn run(mut args: Args) -> DemoResult {
    let tasks = args.value_in("tasks", 10_000usize, 1..=100_000)?;
    let threaded = args.value_in("threaded-tasks", 100_000usize, 1..=1_000_000)?;
    args.finish()?;

    let single = current_thread()?;
    let counted = count_updates(&single, tasks, Update::Racy)?;
    report(
        "(a) load/store, current-thread runtime",
        counted,
        tasks,
        "nothing runs between load and store",
    );

    let paused = current_thread_paused()?;
    let real = std::time::Instant::now();
    let counted = count_updates(&paused, tasks, Update::RacyWithPause)?;
    report(
        "(b) load/sleep 1 s/store, paused clock",
        counted,
        tasks,
        &format!(
            "every task loaded before any stored, every run ({:.0} ms real)",
            real.elapsed().as_secs_f64() * 1e3
        ),
    );

    let threads = multi_thread()?;
    let counted = count_updates(&threads, 2, Update::RacyForced)?;
    report(
        "(c) load/barrier/store, multi-thread runtime",
        counted,
        2,
        "the barrier forces the interleaving, every run",
    );

    let counted = count_updates(&threads, threaded, Update::Racy)?;
    report(
        "(d) load/store, multi-thread runtime",
        counted,
        threaded,
        "varies from run to run, may be 0: luck, so not a test",
    );

    let counted = count_updates(&threads, threaded, Update::Atomic)?;
    report(
        "(e) fetch_add, multi-thread runtime",
        counted,
        threaded,
        "the fix: one atomic step",
    );
    let counted = count_updates(&threads, 2, Update::AtomicForced)?;
    report(
        "(e) barrier/fetch_add, multi-thread runtime",
        counted,
        2,
        "the fix under the forced interleaving",
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The book's `test_data_race` as first written: it passes, because on one thread nothing can
    // run between the load and the store.
    #[test]
    fn test_data_race() {
        let runtime = current_thread().unwrap();
        assert_eq!(
            count_updates(&runtime, 10_000, Update::Racy).unwrap(),
            10_000
        );
    }

    #[test]
    fn a_pause_between_load_and_store_loses_every_update_but_one() {
        let runtime = current_thread_paused().unwrap();
        assert_eq!(
            count_updates(&runtime, 1_000, Update::RacyWithPause).unwrap(),
            1
        );
    }

    #[test]
    fn a_barrier_forces_the_lost_update_on_many_threads() {
        let runtime = multi_thread().unwrap();
        for _ in 0..50 {
            assert_eq!(count_updates(&runtime, 2, Update::RacyForced).unwrap(), 1);
        }
    }

    #[test]
    fn fetch_add_loses_nothing_on_many_threads() {
        let runtime = multi_thread().unwrap();
        assert_eq!(
            count_updates(&runtime, 100_000, Update::Atomic).unwrap(),
            100_000
        );
        for _ in 0..50 {
            assert_eq!(count_updates(&runtime, 2, Update::AtomicForced).unwrap(), 2);
        }
    }

    #[test]
    fn the_demo_runs_and_checks_its_arguments() {
        run(Args::from_iter([
            "--tasks",
            "100",
            "--threaded-tasks",
            "1000",
        ]))
        .unwrap();
        let err = run(Args::from_iter(["--tasks", "0"])).unwrap_err();
        assert!(err.is::<common::demo::UsageError>(), "{err}");
    }
}
