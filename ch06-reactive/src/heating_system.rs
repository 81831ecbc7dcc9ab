//! `heating-system` — "Building Our Heater and Heat-Loss Observer": the whole loop of Figure 6-1.
//!
//! Heat loss cools the room, the display sees the temperature fall below the set point and switches
//! the heater on, the heater warms the room a period later, the display switches it off above the
//! set point. Nobody calls anybody: three observers react to two subjects. From 20.90 °C the
//! temperature climbs by 0.02 °C a period (+0.03 heat, −0.01 loss) to 21.01, and from then on
//! oscillates within a few hundredths of 21.00.
//!
//! [`run_heating`] is the book's `main`: spawn the three observers and await them. The book's never
//! finish, so its program runs until killed (and its three self-waking futures keep up to three
//! cores busy meanwhile). Ours stop: after `periods` periods it sets `stop`, which wakes all three,
//! and each returns.
//!
//! Run it with `cargo run -p ch06 -- heating-system [--periods 40] [--period-ms 75]` (about 3 s on a
//! two-worker runtime): the display's lines as they happen, the settled range, and a timeline with
//! one row per observer and one mark per reaction, drawn with the worker thread it ran on.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use common::Timeline;
use common::demo::{Args, DemoResult};
use common::timeline::CountPolls;
use tokio::task::JoinError;

use crate::display_observer::{DisplayFuture, Update};
use crate::heater_heat_loss::{HeatLossFuture, HeaterFuture};
use crate::sim;
use crate::subjects_atomics::Subjects;

/// The book's `main`, bounded: spawns the display, heat loss and the heater, lets them run for
/// `config.periods` periods (and half of one more), stops them and returns what the display showed.
///
/// Each observer runs inside a [`CountPolls`] recording into `timeline` (rows `display`,
/// `heat-loss`, `heater`), and each display line is logged with the timeline's time.
pub async fn run_heating(
    subjects: Arc<Subjects>,
    config: HeatingConfig,
    timeline: &Timeline,
) -> Result<HeatingRun, JoinError> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let (log, timeline) = (Arc::clone(&log), timeline.clone());
        move |update: Update| {
            let logged = Logged {
                at: timeline.now(),
                update,
            };
            if config.echo {
                println!("  {} {update}", sim::book_time(logged.at, config.period));
            }
            log.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(logged);
        }
    };
    let display = CountPolls::new(DisplayFuture::new(Arc::clone(&subjects), sink))
        .recording(timeline, "display");
    let heat_loss = CountPolls::new(HeatLossFuture::new(Arc::clone(&subjects), config.period))
        .recording(timeline, "heat-loss");
    let heater = CountPolls::new(HeaterFuture::new(Arc::clone(&subjects), config.period))
        .recording(timeline, "heater");
    let polls = [display.counter(), heat_loss.counter(), heater.counter()];

    let display = tokio::spawn(display);
    let heat_loss = tokio::spawn(heat_loss);
    let heater = tokio::spawn(heater);

    // Book: the book's `main` awaits three handles that never complete, so it runs until
    // killed; ours stops the observers after a set number of periods and ends on its own.
    // The stop lands half a period after the last tick, so no observer's deadline ties with it.
    tokio::time::sleep(config.period * config.periods + config.period / 2).await;
    subjects.stop();
    display.await?;
    heat_loss.await?;
    heater.await?;

    let log = std::mem::take(&mut *log.lock().unwrap_or_else(PoisonError::into_inner));
    Ok(HeatingRun {
        log,
        polls: polls.map(|p| p.get()),
    })
}

/// How long and how fast [`run_heating`] runs.
#[derive(Debug, Clone, Copy)]
pub struct HeatingConfig {
    /// The heater and heat-loss period (the book's is 3 s).
    pub period: Duration,
    /// How many periods to run before stopping.
    pub periods: u32,
    /// Print each display line as it happens.
    pub echo: bool,
}

/// One display line with the time it was shown (from the run's timeline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Logged {
    /// Time since the timeline started.
    pub at: Duration,
    /// What the display showed and did.
    pub update: Update,
}

/// What [`run_heating`] returns.
#[derive(Debug, Clone)]
pub struct HeatingRun {
    /// Every display reaction, in order.
    pub log: Vec<Logged>,
    /// Polls of the display, heat loss and the heater.
    pub polls: [usize; 3],
}

impl HeatingRun {
    /// The lowest and highest temperature the display showed from the first time it reached the
    /// set point on (`None` if it never did).
    pub fn settled_range(&self) -> Option<(i16, i16)> {
        let first = self
            .log
            .iter()
            .position(|l| l.update.reading.temp >= l.update.reading.desired_temp)?;
        let temps = self.log[first..].iter().map(|l| l.update.reading.temp);
        Some((temps.clone().min()?, temps.max()?))
    }

    /// How many times the display switched the heater from on to off.
    pub fn switch_offs(&self) -> usize {
        self.log
            .iter()
            .filter(|l| l.update.switched_to == Some(false))
            .count()
    }
}

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let periods = args.value_in("periods", 40, 1..=400)?;
    let period = Duration::from_millis(args.value_in("period-ms", 75, 5..=3_000)?);
    args.finish()?;

    sim::runtime(2)?.block_on(async move {
        let subjects = Subjects::shared();
        println!(
            "  {} {} (one period of {} ms stands for the book's 3 s)",
            sim::book_time(Duration::ZERO, period),
            subjects.reading(),
            period.as_millis()
        );
        let timeline = sim::tokio_timeline();
        let config = HeatingConfig {
            period,
            periods,
            echo: true,
        };
        let run = run_heating(Arc::clone(&subjects), config, &timeline).await?;

        println!(
            "\nafter {periods} periods: {}; the display switched the heater off {} times",
            subjects.reading(),
            run.switch_offs()
        );
        match run.settled_range() {
            Some((low, high)) => println!(
                "settled between {} and {} °C once it first reached the set point",
                crate::subjects_atomics::fmt_centi(low),
                crate::subjects_atomics::fmt_centi(high)
            ),
            None => println!("it never reached the set point (run more periods)"),
        }
        let [display, loss, heater] = run.polls;
        println!(
            "polls: display {display}, heat loss {loss}, heater {heater} \
             (the book's self-waking trio: hundreds of thousands; see busy-poll-cost)"
        );
        println!(
            "temperature now {}\n\nwho reacted when (one mark per poll; the letter is the worker):\n{}",
            crate::subjects_atomics::fmt_centi(subjects.temp.load(Ordering::SeqCst)),
            timeline.render()
        );
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::timeout;

    async fn heating(periods: u32) -> HeatingRun {
        let timeline = sim::tokio_timeline();
        let config = HeatingConfig {
            period: sim::BOOK_PERIOD,
            periods,
            echo: false,
        };
        timeout(
            Duration::from_secs(24 * 3600),
            run_heating(Subjects::shared(), config, &timeline),
        )
        .await
        .expect("the heating system did not stop")
        .expect("an observer panicked")
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_loss_turns_the_heater_on() {
        let run = heating(20).await;
        let first = run.log[0];
        assert_eq!(first.at, Duration::from_secs(3));
        assert_eq!(first.update.reading.temp, 2089);
        assert_eq!(first.update.switched_to, Some(true));
    }

    #[tokio::test(start_paused = true)]
    async fn it_climbs_to_the_set_point_then_oscillates_close_to_it() {
        let run = heating(40).await;
        let reached = run
            .log
            .iter()
            .find(|l| l.update.reading.temp >= 2100)
            .expect("never reached 21.00");
        assert!(
            reached.at <= sim::BOOK_PERIOD * 8,
            "reached 21.00 only at {:?}",
            reached.at
        );
        let (low, high) = run.settled_range().unwrap();
        println!("reached 21.00 at {:?}; settled {low}..={high}", reached.at);
        assert!(
            2097 <= low && high <= 2103,
            "settled range {low}..={high}: {:#?}",
            run.log
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_heater_switches_off_repeatedly_and_everything_stops() {
        let run = heating(20).await;
        assert!(run.switch_offs() >= 2, "{:#?}", run.log);
        // Reaching here means all three observers returned after `stop`. Each was polled a handful
        // of times per period, not continuously.
        let [display, loss, heater] = run.polls;
        assert_eq!(loss, 20 + 2, "first poll, 20 periods, the stop");
        assert!(display <= 2 * 20 + 2, "display polled {display} times");
        assert!(heater <= 2 * 20 + 2, "heater polled {heater} times");
    }
}
