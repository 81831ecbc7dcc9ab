//! `compare-exchange` — "Building Our Display Observer", the compare-and-exchange aside.
//!
//! An observer's snapshot may be stale by the time it acts on it (Figure 6-2). Compare-and-exchange
//! turns "update only if the value is still what I saw" into one atomic step: the store happens
//! only if the atomic holds the expected value, and otherwise the call fails and hands back the
//! value actually there, so the observer can decide again from fresh data.
//!
//! The demo runs the standard library's `compare_exchange` example (as the book quotes it), then
//! three thermostat uses:
//! - a CAS loop: 4 threads × 5,000 increments of the temperature lose none (2090 → 22,090; an
//!   `AtomicI16` stops at 32,767, so we stay below it);
//! - 8 tasks race to switch the heater on with `compare_exchange(false, true, ..)`: exactly one
//!   wins, and only the winner wakes the observers;
//! - a controller with a stale snapshot: its exchange fails with the actual value, it re-decides
//!   from that value, and the retry succeeds.
//!
//! Two rules from the std docs worth keeping: in a retry loop use `compare_exchange_weak` (it may
//! fail spuriously, which a loop absorbs, and on some CPUs compiles to cheaper code); and the
//! *failure* ordering applies to the load alone, so it may not be `Release` or `AcqRel`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI16, AtomicI64, Ordering};

use common::demo::{Args, DemoResult};

use crate::subjects_atomics::{Subject, Subjects, fmt_centi};

/// The standard library's `compare_exchange` example: returns the four observations it makes.
///
/// The first exchange expects 5, finds 5 and stores 10 (`Ok(5)`); the second expects 6, finds 10
/// and stores nothing (`Err(10)`).
pub fn std_example() -> [(&'static str, String); 4] {
    let some_var = AtomicI64::new(5);
    let first = some_var.compare_exchange(5, 10, Ordering::Acquire, Ordering::Relaxed);
    let after_first = some_var.load(Ordering::Relaxed);
    let second = some_var.compare_exchange(6, 12, Ordering::SeqCst, Ordering::Acquire);
    let after_second = some_var.load(Ordering::Relaxed);
    [
        ("compare_exchange(5, 10)", format!("{first:?}")),
        ("value", after_first.to_string()),
        ("compare_exchange(6, 12)", format!("{second:?}")),
        ("value", after_second.to_string()),
    ]
}

/// Adds `delta` with a compare-and-exchange loop (what `fetch_add` does in one instruction):
/// read, compute, store only if nobody stored in between, else retry from what they stored.
/// Returns the new value.
pub fn cas_add(temp: &AtomicI16, delta: i16) -> i16 {
    let mut seen = temp.load(Ordering::SeqCst);
    loop {
        let new = seen.wrapping_add(delta);
        // `_weak` may fail even when `seen` is current; the loop simply tries again.
        match temp.compare_exchange_weak(seen, new, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => return new,
            Err(actual) => seen = actual,
        }
    }
}

/// Runs `threads` threads, each doing `per_thread` [`cas_add`] increments; returns the final value.
pub fn cas_counting(start: i16, threads: usize, per_thread: usize) -> i16 {
    let temp = AtomicI16::new(start);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..per_thread {
                    cas_add(&temp, 1);
                }
            });
        }
    });
    temp.load(Ordering::SeqCst)
}

/// Switches the heater on only if it is still off; returns whether this caller did the switch.
/// Only the winner notifies the heater's watchers.
pub fn switch_on_if_off(subjects: &Subjects) -> bool {
    let won = subjects
        .heat_on
        .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok();
    if won {
        subjects.notify(Subject::HeatOn);
    }
    won
}

/// A controller that warms the room by `delta` from the temperature it last saw, using
/// compare-and-exchange so that a change it has not seen is never overwritten. Returns every
/// attempt: `Err(actual)` for each failure, then `Ok(previous)`.
pub fn warm_from_snapshot(
    subjects: &Subjects,
    mut snapshot: i16,
    delta: i16,
) -> Vec<Result<i16, i16>> {
    let mut attempts = Vec::new();
    loop {
        let result = subjects.temp.compare_exchange(
            snapshot,
            snapshot.wrapping_add(delta),
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
        attempts.push(result);
        match result {
            Ok(_) => {
                subjects.notify(Subject::Temp);
                return attempts;
            }
            // Decide again from what is really there.
            Err(actual) => snapshot = actual,
        }
    }
}

/// Runs the demo.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;

    println!("The std example, on an AtomicI64 holding 5:");
    for (what, result) in std_example() {
        println!("  {what:<24} {result}");
    }

    let (threads, per_thread) = (4, 5_000);
    let end = cas_counting(2090, threads, per_thread);
    println!(
        "\nCAS loop: {threads} threads x {per_thread} increments from 2090 end at {end} \
         (2090 + {}: none lost)",
        threads * per_thread
    );

    let subjects = Subjects::shared();
    let winners = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()?
        .block_on(async {
            let racers: Vec<_> = (0..8)
                .map(|_| {
                    let subjects = Arc::clone(&subjects);
                    tokio::spawn(async move { switch_on_if_off(&subjects) })
                })
                .collect();
            let mut winners = 0;
            for racer in racers {
                winners += usize::from(racer.await?);
            }
            Ok::<_, tokio::task::JoinError>(winners)
        })?;
    println!("8 tasks race to switch the heater on: {winners} of them did it");

    let subjects = Subjects::shared();
    let snapshot = subjects.temp.load(Ordering::SeqCst);
    subjects.add_temp(-1); // heat loss lands after the controller took its snapshot
    println!(
        "\nA controller saw {} and wants +0.03; meanwhile heat loss stored {}:",
        fmt_centi(snapshot),
        fmt_centi(subjects.temp.load(Ordering::SeqCst))
    );
    for attempt in warm_from_snapshot(&subjects, snapshot, 3) {
        match attempt {
            Err(actual) => println!(
                "  failed: Err({actual}), so it re-decides from {}",
                fmt_centi(actual)
            ),
            Ok(previous) => println!(
                "  succeeded: Ok({previous}), the room is now {}",
                fmt_centi(previous + 3)
            ),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_std_example_gives_its_documented_results() {
        let [first, after_first, second, after_second] = std_example();
        assert_eq!(first.1, "Ok(5)");
        assert_eq!(after_first.1, "10");
        assert_eq!(second.1, "Err(10)");
        assert_eq!(after_second.1, "10");
    }

    #[test]
    fn a_cas_loop_loses_no_increment() {
        assert_eq!(cas_counting(2090, 4, 5_000), 22_090);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn exactly_one_racer_switches_the_heater_on() {
        for _ in 0..20 {
            let subjects = Subjects::shared();
            let barrier = Arc::new(tokio::sync::Barrier::new(8));
            let racers: Vec<_> = (0..8)
                .map(|_| {
                    let (subjects, barrier) = (Arc::clone(&subjects), Arc::clone(&barrier));
                    tokio::spawn(async move {
                        barrier.wait().await;
                        switch_on_if_off(&subjects)
                    })
                })
                .collect();
            let mut winners = 0;
            for racer in racers {
                winners += usize::from(racer.await.unwrap());
            }
            assert_eq!(winners, 1);
            assert!(subjects.heat_on.load(Ordering::SeqCst));
        }
    }

    #[test]
    fn a_stale_snapshot_fails_with_the_actual_value_and_the_retry_applies_to_it() {
        let subjects = Subjects::default();
        let snapshot = subjects.temp.load(Ordering::SeqCst); // 2090
        subjects.add_temp(-1); // 2089, unseen by the controller
        let attempts = warm_from_snapshot(&subjects, snapshot, 3);
        assert_eq!(attempts, [Err(2089), Ok(2089)]);
        assert_eq!(
            subjects.temp.load(Ordering::SeqCst),
            2092,
            "2089 + 3, not 2090 + 3"
        );
    }
}
