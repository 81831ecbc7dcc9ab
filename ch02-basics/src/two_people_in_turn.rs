//! `two-people-in-turn` (book section "Understanding Tasks"): two person tasks on a one-worker
//! runtime, each awaited before the next is spawned: 2 × 18 = 36 units.
//!
//! A task is what the executor schedules. Each person here is a task running the nudged breakfast
//! of `coffee-cooperative-nudge` (18 units, see [`person`]). The book spawns the first person and
//! `.await`s its `JoinHandle` at once, so the second person's task does not exist until the first
//! has finished: nothing of the two breakfasts overlaps, not even the waiting, and the runtime's
//! one worker sits idle during every kettle and toaster. `people-joined-one-worker` spawns both
//! first and gets 28.
//!
//! Run it with `cargo run -p ch02 -- two-people-in-turn [--unit-ms N]`. The runtime is the book's
//! `#[tokio::main(flavor = "multi_thread", worker_threads = 1)]`, built by hand so its worker is
//! named `worker-1`. It prints the total and a timeline of each person's busy hands: every bar of
//! `person 2` starts after the last bar of `person 1`, all on `worker-1`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};
use tokio::task::JoinError;

use crate::kitchen::{Kitchen, Rows, person, took};
use crate::units::{multi_thread, unit_arg};

/// The book's two people, each spawned as a task and awaited at once. Returns the time taken.
pub async fn two_people_in_turn(kitchen: &Arc<Kitchen>) -> Result<Duration, JoinError> {
    let start_time = Instant::now();
    let person_one = tokio::task::spawn(person(Arc::clone(kitchen), "person 1".into())).await;
    let person_two = tokio::task::spawn(person(Arc::clone(kitchen), "person 2".into())).await;
    // Book: binds both results and never looks at them, so a person whose task panicked would go
    // unnoticed; we pass the `JoinError` on.
    person_one?;
    person_two?;
    Ok(start_time.elapsed())
}

/// Runs the demo: `two-people-in-turn [--unit-ms N]`.
pub fn run(mut args: Args) -> DemoResult {
    let unit = unit_arg(&mut args)?;
    args.finish()?;

    let kitchen = Arc::new(Kitchen::new(unit, Rows::People));
    // The book's `#[tokio::main(flavor = "multi_thread", worker_threads = 1)]`, with a named worker.
    let elapsed = multi_thread(1)?.block_on(two_people_in_turn(&kitchen))?;
    println!(
        "2 people in turn, 1 worker: {}",
        took(elapsed, unit, "book: 36 s")
    );
    print!("{}", kitchen.render());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kitchen::testing::{UNIT, assert_units, threads, watched};

    #[test]
    fn person_two_starts_after_person_one_ends_on_the_one_worker_36_units() {
        let kitchen = Arc::new(Kitchen::new(UNIT, Rows::People));
        let rt = multi_thread(1).unwrap();
        let elapsed = rt.block_on(watched(two_people_in_turn(&kitchen))).unwrap();

        let events = kitchen.events();
        assert_eq!(events.len(), 24, "{events:#?}");
        let last_of_one = events.iter().rposition(|e| e.person == "person 1");
        let first_of_two = events.iter().position(|e| e.person == "person 2");
        assert!(last_of_one < first_of_two, "{events:#?}");
        assert_eq!(events[last_of_one.unwrap() + 1].person, "person 2");
        assert_eq!(threads(&events), ["worker-1"]);
        assert_units(elapsed, 36.0);
    }
}
