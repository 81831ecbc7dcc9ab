//! `people-joined-one-worker` (book section "Understanding Tasks"): person tasks spawned together,
//! then awaited: 28 units for two on one worker, 42 for three, 18 for two on two workers.
//!
//! Spawn first, await later: every person's task exists from the start, so all the kettles and
//! toasters wait at the same time. But busy hands are `thread::sleep`, and one worker can only
//! block for one person at a time, so each person's 14 units of blocking queue up behind the
//! others': 2 × 14 = 28, 3 × 14 = 42 (the 20 units of waiting per person all hide under that). A
//! second worker runs the two people's busy hands side by side: 18, the time of one person.
//!
//! Run it with `cargo run -p ch02 -- people-joined-one-worker [--unit-ms N]`. It runs three fresh
//! runtimes (two people and one worker, three and one, two and two) and prints a total and a
//! timeline of each person's busy hands for each: on one worker the bars take turns on
//! `worker-1`, on two they lie side by side on `worker-1` and `worker-2`.
//!
//! A person waiting for the kettle costs the worker nothing: a task that returned `Pending` is not
//! polled again until its waker is called, here by the timer when the kettle or toaster is done.
//! Which person gets the worker first is the scheduler's choice: tokio usually runs the task woken
//! last first (its "LIFO slot"), so on one worker the last person often preps their mug first.

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};
use futures_util::future::try_join_all;
use tokio::task::{JoinError, JoinHandle};

use crate::kitchen::{Kitchen, Rows, person, took};
use crate::units::{multi_thread, unit_arg};

/// The book's joined people: spawn `people` person tasks, keep their `JoinHandle`s, then await
/// them all. Returns the time taken.
pub async fn people_joined(kitchen: &Arc<Kitchen>, people: usize) -> Result<Duration, JoinError> {
    let start_time = Instant::now();
    let persons: Vec<JoinHandle<()>> = (1..=people)
        .map(|n| tokio::task::spawn(person(Arc::clone(kitchen), format!("person {n}"))))
        .collect();
    // Book: `let _ = tokio::join!(person_one, person_two);` takes a fixed number of handles and
    // discards their results; `try_join_all` takes any number and returns a task's panic as an
    // error.
    // Book: the prose has the executor "polling the idle tasks" while it works on another. A task
    // that returned `Pending` is not polled at all until its waker fires (here the timer's, when
    // its kettle or toaster is done).
    try_join_all(persons).await?;
    Ok(start_time.elapsed())
}

/// Runs the demo: `people-joined-one-worker [--unit-ms N]`.
pub fn run(mut args: Args) -> DemoResult {
    let unit = unit_arg(&mut args)?;
    args.finish()?;

    let runs = [
        (2, 1, "book: 28 s"),
        (3, 1, "book: 42 s"),
        (2, 2, "not in the book; one person's 18"),
    ];
    for (i, (people, workers, book)) in runs.into_iter().enumerate() {
        if i > 0 {
            println!();
        }
        let kitchen = Arc::new(Kitchen::new(unit, Rows::People));
        // The book's `#[tokio::main(flavor = "multi_thread", worker_threads = 1)]`, with named
        // workers; a fresh runtime for each run.
        let elapsed = multi_thread(workers)?.block_on(people_joined(&kitchen, people))?;
        let workers = if workers == 1 {
            "1 worker"
        } else {
            "2 workers"
        };
        println!(
            "{people} people joined, {workers}: {}",
            took(elapsed, unit, book)
        );
        print!("{}", kitchen.render());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kitchen::testing::{UNIT, assert_units, at, threads, watched};

    /// On one worker: everyone's kettle and toaster start before anyone's milk, all on `worker-1`,
    /// and each person adds 14 units.
    fn one_worker(people: usize) {
        let kitchen = Arc::new(Kitchen::new(UNIT, Rows::People));
        let rt = multi_thread(1).unwrap();
        let elapsed = rt
            .block_on(watched(people_joined(&kitchen, people)))
            .unwrap();

        let names: Vec<String> = (1..=people).map(|n| format!("person {n}")).collect();
        let first_milk = names
            .iter()
            .map(|p| at(&kitchen, p, "start:milk"))
            .min()
            .unwrap();
        for p in &names {
            assert!(at(&kitchen, p, "start:kettle") < first_milk, "{p}");
            assert!(at(&kitchen, p, "start:toaster") < first_milk, "{p}");
        }
        let events = kitchen.events();
        assert_eq!(events.len(), 12 * people);
        assert_eq!(threads(&events), ["worker-1"]);
        assert_units(elapsed, 14.0 * people as f64);
    }

    #[test]
    fn two_people_on_one_worker_take_28_units() {
        one_worker(2);
    }

    #[test]
    fn three_people_on_one_worker_take_42_units() {
        one_worker(3);
    }

    #[test]
    fn two_workers_run_two_peoples_busy_hands_side_by_side_18_units() {
        let kitchen = Arc::new(Kitchen::new(UNIT, Rows::People));
        let rt = multi_thread(2).unwrap();
        let elapsed = rt.block_on(watched(people_joined(&kitchen, 2))).unwrap();

        let spans = kitchen.spans();
        let (one, two): (Vec<_>, Vec<_>) = spans.iter().partition(|s| s.label == "person 1");
        assert_eq!((one.len(), two.len()), (4, 4), "{spans:#?}");
        let side_by_side = one
            .iter()
            .any(|a| two.iter().any(|b| a.overlaps(b) && a.thread != b.thread));
        assert!(side_by_side, "no overlapping busy hands: {spans:#?}");
        // Never an exact 18: tokio drives timers only from a parked worker, so if the two
        // people's timers fall on different 1 ms ticks, the worker that fires the first may block
        // in `thread::sleep` while the other sleeps on without firing the second. One phase then
        // runs serially (≈20-26 units in all); the other still overlaps, as asserted above.
        assert_units(elapsed, 18.0);
    }
}
