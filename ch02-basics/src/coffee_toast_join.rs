//! `coffee-toast-join` (book section "Understanding Tasks"): the three breakfast steps under one
//! `tokio::join!`, and why the mug prep, passed first, holds everything up.
//!
//! `join!` does not create tasks: it polls its futures from the one task that awaits it, so all
//! three share one thread. On its first poll it polls them in the order they are written, so
//! [`prep_coffee_mug`] goes first, and it has no await point: it pours the milk and puts in the
//! coffee (6 units of `thread::sleep`, hands busy) before `join!` even reaches the kettle. Only then
//! do the kettle and the toaster start. Their waits are awaited `tokio::time::sleep`s, which hand
//! the thread back, so they overlap: 10 units for both. Pouring (3) and buttering (5) then block one
//! after the other. 6 + 10 + 3 + 5 = 24 units, the book's 24 seconds.
//!
//! Run it with `cargo run -p ch02 -- coffee-toast-join [--unit-ms N]` (one unit is one book second,
//! 20 ms by default; `--unit-ms 1000` replays the book's timing). It prints each step as it starts
//! and ends, the total, and a timeline: the busy-hands rows (`prep mug`, `make coffee`, `make
//! toast`) form a staircase whose bars never overlap, the waiting rows (`kettle`, `toaster`) lie
//! side by side, and every bar is on `main`: the body of `#[tokio::main]` runs on the thread that
//! called it, not on a worker. `coffee-cooperative-nudge` saves the 6 units.

use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};

use crate::kitchen::{Kitchen, Nudge, Rows, make_coffee, make_toast, prep_coffee_mug, took};
use crate::units::unit_arg;

/// Who makes this breakfast, in the kitchen's log.
pub const ME: &str = "me";

/// The book's `main`: build the three step futures, `join!` them, and return how long it took.
pub async fn breakfast(kitchen: &Kitchen) -> Duration {
    let start_time = Instant::now();
    let coffee_mug_step = prep_coffee_mug(kitchen, ME, Nudge::None);
    let coffee_step = make_coffee(kitchen, ME);
    let toast_step = make_toast(kitchen, ME);

    tokio::join!(coffee_mug_step, coffee_step, toast_step);
    start_time.elapsed()
}

/// Runs the demo: `coffee-toast-join [--unit-ms N]`.
pub fn run(mut args: Args) -> DemoResult {
    let unit = unit_arg(&mut args)?;
    args.finish()?;

    let kitchen = Kitchen::new(unit, Rows::Steps).narrated();
    let elapsed = serve(&kitchen);
    // Book: prints `elapsed_time.as_secs()`, which truncates (23.9 s would print 23); we print
    // tenths of a unit.
    println!("{}", took(elapsed, unit, "book: 24 s"));
    print!("{}", kitchen.render());
    Ok(())
}

/// The book's runtime, `#[tokio::main]` (multi-threaded); the breakfast runs on the calling thread.
#[tokio::main]
async fn serve(kitchen: &Kitchen) -> Duration {
    breakfast(kitchen).await
}

#[cfg(test)]
mod tests {
    use common::timeline::current_thread_name;

    use super::*;
    use crate::kitchen::testing::{UNIT, assert_units, at, threads, watched};

    #[tokio::test]
    async fn the_mug_is_prepped_before_the_kettle_starts_all_on_one_thread_in_24_units() {
        let kitchen = Kitchen::new(UNIT, Rows::Steps);
        let elapsed = watched(breakfast(&kitchen)).await;

        let granules_in = at(&kitchen, ME, "end:granules");
        assert!(granules_in < at(&kitchen, ME, "start:kettle"));
        assert!(granules_in < at(&kitchen, ME, "start:toaster"));
        let events = kitchen.events();
        assert_eq!(events.len(), 12, "{events:#?}");
        assert_eq!(threads(&events), [current_thread_name()]);
        assert_units(elapsed, 24.0);
    }

    #[tokio::test]
    async fn busy_hands_never_overlap() {
        let kitchen = Kitchen::new(UNIT / 4, Rows::Steps);
        watched(breakfast(&kitchen)).await;
        let busy: Vec<_> = kitchen
            .spans()
            .into_iter()
            .filter(|s| ["prep mug", "make coffee", "make toast"].contains(&s.label.as_str()))
            .collect();
        assert_eq!(busy.len(), 4, "milk, granules, pour, butter: {busy:?}");
        for (i, a) in busy.iter().enumerate() {
            for b in &busy[i + 1..] {
                assert!(!a.overlaps(b), "{a:?} overlaps {b:?}");
            }
        }
    }
}
