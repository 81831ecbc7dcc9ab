//! `coffee-cooperative-nudge` (book section "Understanding Tasks"): one await at the top of the mug
//! prep lets `join!` start the kettle and the toaster first, and saves 6 units.
//!
//! A future hands the thread back only at an `.await` that is not ready yet: multitasking between
//! futures is cooperative. In `coffee-toast-join` the mug prep has no such point before its
//! blocking work, so it runs to the end before `join!` polls the other steps. Here
//! [`prep_coffee_mug`] first awaits a [`Nudge`]. That await is `Pending`, so on its first poll
//! `join!` moves on: the kettle and the toaster start (their 10 units of waiting begin), and only
//! then, on the next poll, do the milk and the coffee take our hands for 6 units, while the kettle
//! and toaster wait. Pouring (3) and buttering (5) follow: 10 + 3 + 5 = 18 units, the book's 18 s.
//!
//! The demo runs the breakfast twice: with the book's nudge, a sleep of a tenth of a unit (100 ms
//! in the book), and with ours, `tokio::task::yield_now()`, which waits for nothing at all and
//! saves the same 6 units: the await point, not the delay, is what matters. Each run prints the
//! steps (kettle and toaster first), the total and a timeline whose `kettle` and `toaster` bars
//! start at 0, under the `prep mug` bar.
//!
//! Run it with `cargo run -p ch02 -- coffee-cooperative-nudge [--unit-ms N]`.

use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};

use crate::kitchen::{Kitchen, Nudge, Rows, make_coffee, make_toast, prep_coffee_mug, took};
use crate::units::unit_arg;

/// Who makes this breakfast, in the kitchen's log.
pub const ME: &str = "me";

/// The book's `main` again, with the mug prep nudged: [`Nudge::Sleep`] is the book's version.
pub async fn breakfast(kitchen: &Kitchen, nudge: Nudge) -> Duration {
    let start_time = Instant::now();
    let coffee_mug_step = prep_coffee_mug(kitchen, ME, nudge);
    let coffee_step = make_coffee(kitchen, ME);
    let toast_step = make_toast(kitchen, ME);

    tokio::join!(coffee_mug_step, coffee_step, toast_step);
    start_time.elapsed()
}

/// Runs the demo: `coffee-cooperative-nudge [--unit-ms N]`.
pub fn run(mut args: Args) -> DemoResult {
    let unit = unit_arg(&mut args)?;
    args.finish()?;

    for (nudge, title) in [
        (
            Nudge::Sleep,
            "the book's nudge: sleep(0.1 unit).await before the milk",
        ),
        (
            Nudge::Yield,
            "ours: tokio::task::yield_now().await before the milk",
        ),
    ] {
        println!("── {title}");
        let kitchen = Kitchen::new(unit, Rows::Steps).narrated();
        let elapsed = serve(&kitchen, nudge);
        println!("{}", took(elapsed, unit, "book: 18 s"));
        print!("{}", kitchen.render());
        println!();
    }
    Ok(())
}

/// The book's runtime, `#[tokio::main]`; the breakfast runs on the calling thread.
#[tokio::main]
async fn serve(kitchen: &Kitchen, nudge: Nudge) -> Duration {
    breakfast(kitchen, nudge).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kitchen::testing::{UNIT, assert_units, at, watched};

    async fn check(nudge: Nudge) {
        let kitchen = Kitchen::new(UNIT, Rows::Steps);
        let elapsed = watched(breakfast(&kitchen, nudge)).await;

        let milk = at(&kitchen, ME, "start:milk");
        assert!(at(&kitchen, ME, "start:kettle") < milk, "{nudge:?}");
        assert!(at(&kitchen, ME, "start:toaster") < milk, "{nudge:?}");
        assert_eq!(kitchen.events().len(), 12);
        assert_units(elapsed, 18.0);
    }

    #[tokio::test]
    async fn the_books_sleep_lets_kettle_and_toaster_start_first_18_units() {
        check(Nudge::Sleep).await;
    }

    #[tokio::test]
    async fn yield_now_does_the_same_without_a_delay() {
        check(Nudge::Yield).await;
    }
}
