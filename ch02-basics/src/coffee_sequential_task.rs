//! `coffee-sequential-task` (book section "Understanding Tasks"): one spawned task awaiting the
//! three steps in turn; nothing overlaps.
//!
//! `tokio::task::spawn` makes a task: a future the runtime drives on its own, on any worker. Inside
//! the task, `a.await; b.await; c.await` polls one future at a time, and `b` is not even created
//! before `a` has finished. So the kettle starts only after the mug is ready, and the toaster only
//! after the water is poured: 0.1 (the nudge) + 6 + (10 + 3) + (10 + 5) ≈ 34 units, against 18 with
//! `join!`. The runtime here has two workers, and the task may resume on either after an await,
//! but a second worker cannot help: a task is one sequence of steps, and overlap inside a task
//! needs `join!`, across tasks more tasks.
//!
//! Run it with `cargo run -p ch02 -- coffee-sequential-task [--unit-ms N]`. It prints the steps,
//! the total (the book gives none for this listing) and a timeline whose bars form one staircase:
//! each step begins after the previous one's last bar.

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};
use tokio::task::JoinError;

use crate::kitchen::{Kitchen, Nudge, Rows, make_coffee, make_toast, prep_coffee_mug, took};
use crate::units::{multi_thread, unit_arg};

/// Who makes this breakfast, in the kitchen's log (the book's `person_one`).
pub const PERSON: &str = "person 1";

/// The book's `person_one`: one spawned task awaiting the steps one after another. Returns the
/// time from the spawn to the task's end.
pub async fn breakfast(kitchen: Arc<Kitchen>) -> Result<Duration, JoinError> {
    let start_time = Instant::now();
    let person_one = tokio::task::spawn(async move {
        prep_coffee_mug(&kitchen, PERSON, Nudge::Sleep).await;
        make_coffee(&kitchen, PERSON).await;
        make_toast(&kitchen, PERSON).await;
    });
    person_one.await?;
    Ok(start_time.elapsed())
}

/// Runs the demo: `coffee-sequential-task [--unit-ms N]`.
pub fn run(mut args: Args) -> DemoResult {
    let unit = unit_arg(&mut args)?;
    args.finish()?;

    let kitchen = Arc::new(Kitchen::new(unit, Rows::Steps).narrated());
    let elapsed = multi_thread(2)?.block_on(breakfast(Arc::clone(&kitchen)))?;
    println!(
        "{}",
        took(
            elapsed,
            unit,
            "no figure in the book; 0.1 + 6 + 13 + 15 = 34.1, where join! takes 18"
        )
    );
    print!("{}", kitchen.render());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kitchen::testing::{UNIT, assert_units, at, watched};

    #[test]
    fn each_step_starts_after_the_previous_one_ends_34_units() {
        let kitchen = Arc::new(Kitchen::new(UNIT, Rows::Steps));
        let rt = multi_thread(2).unwrap();
        let elapsed = rt
            .block_on(watched(breakfast(Arc::clone(&kitchen))))
            .unwrap();

        let kettle = at(&kitchen, PERSON, "start:kettle");
        for prep in ["start:milk", "end:milk", "start:granules", "end:granules"] {
            assert!(at(&kitchen, PERSON, prep) < kettle, "{prep}");
        }
        assert!(at(&kitchen, PERSON, "end:pour") < at(&kitchen, PERSON, "start:toaster"));
        assert_eq!(kitchen.events().len(), 12);
        assert_units(elapsed, 34.0);
    }
}
