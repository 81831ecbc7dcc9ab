//! `delayed-oscillation` — an extra for the note after "Building Our Heater and Heat-Loss
//! Observer": delays in a feedback loop widen its oscillation.
//!
//! The book closes the heating system with a remark from systems theory (Meadows, *Thinking in
//! Systems*): if the display took a time snapshot and delayed switching the heater flag, the
//! temperature would swing further around the set point. This demo checks the claim with the
//! chapter's own observers. [`delayed_display`] decides exactly as `DisplayFuture` does, but its
//! switch lands `delay` later, like a slow relay; heat loss and the heater are unchanged. While a
//! switch is on its way the room keeps heating (or cooling), so it overshoots further the longer
//! the delay.
//!
//! Run it with `cargo run -p ch06 -- delayed-oscillation [--periods 80] [--period-ms 20]`: four
//! heating systems run side by side in real time, with the switch delayed by 0, 1, 2 and 4
//! periods, and the demo prints each one's range over the second half of the run and a sparkline
//! of the temperature, one character per period. About 1.6 s.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::task::JoinError;
use tokio::time::{Instant, sleep_until};

use common::demo::{Args, DemoResult};

use crate::display_observer::decide_heat;
use crate::heater_heat_loss::{HeatLossFuture, HeaterFuture};
use crate::sim;
use crate::subjects_atomics::{Subject, Subjects, fmt_centi};

/// The display's rule with a delayed switch: it reacts to every temperature change as
/// `DisplayFuture` does, but a switch it decides on is applied `delay` later. Ends on `stop`.
///
/// It decides against the switch it has already *ordered* (the last one queued), not the flag it
/// sees, so it does not order the same switch again on every change while one is in flight.
pub async fn delayed_display(subjects: Arc<Subjects>, delay: Duration) {
    let temp = || subjects.temp.load(Ordering::SeqCst);
    let mut temp_snapshot = temp();
    let mut in_flight: VecDeque<(Instant, bool)> = VecDeque::new();
    loop {
        let seen = temp_snapshot;
        let next_switch = in_flight.front().map(|&(at, _)| at);
        tokio::select! {
            changed = sim::wait_for(&subjects, Subject::Temp, || (temp() != seen).then(temp)) => {
                let Some(current) = changed else { return }; // stopped
                temp_snapshot = current;
                let desired_temp = subjects.desired_temp.load(Ordering::SeqCst);
                let ordered = in_flight
                    .back()
                    .map_or_else(|| subjects.heat_on.load(Ordering::SeqCst), |&(_, on)| on);
                if let Some(on) = decide_heat(current, desired_temp, ordered) {
                    if delay.is_zero() {
                        subjects.set_heat_on(on);
                    } else {
                        in_flight.push_back((Instant::now() + delay, on));
                    }
                }
            }
            () = sleep_until(next_switch.unwrap_or_else(Instant::now)), if next_switch.is_some() => {
                if let Some((_, on)) = in_flight.pop_front() {
                    subjects.set_heat_on(on);
                }
            }
        }
    }
}

/// Runs one heating system (delayed display, heat loss, heater) for `periods` periods, sampling
/// the temperature once per period, halfway between ticks; then stops it.
pub async fn run_delayed(
    period: Duration,
    periods: u32,
    delay_periods: u32,
) -> Result<Vec<i16>, JoinError> {
    let subjects = Subjects::shared();
    let start = Instant::now();
    let tasks = [
        tokio::spawn(delayed_display(
            Arc::clone(&subjects),
            period * delay_periods,
        )),
        tokio::spawn(HeatLossFuture::new(Arc::clone(&subjects), period)),
        tokio::spawn(HeaterFuture::new(Arc::clone(&subjects), period)),
    ];
    let mut samples = Vec::with_capacity(periods as usize);
    for k in 0..periods {
        sleep_until(start + period * k + period / 2).await;
        samples.push(subjects.temp.load(Ordering::SeqCst));
    }
    subjects.stop();
    for task in tasks {
        task.await?;
    }
    Ok(samples)
}

/// The lowest and highest sample over the second half of a run (once the start-up climb is over).
pub fn settled(samples: &[i16]) -> (i16, i16) {
    let tail = &samples[samples.len() / 2..];
    let low = tail.iter().copied().min().unwrap_or_default();
    let high = tail.iter().copied().max().unwrap_or_default();
    (low, high)
}

/// The delays the demo compares, in periods.
pub const DELAYS: [u32; 4] = [0, 1, 2, 4];

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let periods = args.value_in("periods", 80, 10..=1_000)?;
    let period = Duration::from_millis(args.value_in("period-ms", 20, 5..=1_000)?);
    args.finish()?;

    let runs = sim::runtime(2)?.block_on(async move {
        let handles: Vec<_> = DELAYS
            .iter()
            .map(|&d| tokio::spawn(run_delayed(period, periods, d)))
            .collect();
        let mut runs = Vec::new();
        for handle in handles {
            runs.push(handle.await??);
        }
        Ok::<_, JoinError>(runs)
    })?;

    let low = runs.iter().flatten().copied().min().unwrap_or_default();
    let high = runs.iter().flatten().copied().max().unwrap_or_default();
    println!(
        "{periods} periods of {} ms (the book's 3 s); set point 21.00; the sparklines run from {} to {} °C",
        period.as_millis(),
        fmt_centi(low),
        fmt_centi(high)
    );
    for (delay, samples) in DELAYS.iter().zip(&runs) {
        let (a, b) = settled(samples);
        println!(
            "\n  switch delayed {delay} period(s): settles between {} and {} (swing {:.2} °C)\n  {}",
            fmt_centi(a),
            fmt_centi(b),
            f64::from(b - a) / 100.0,
            sim::sparkline(samples, low, high)
        );
    }
    println!("\nThe longer the switch takes to land, the further the room overshoots both ways.");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::timeout;

    async fn swing(delay_periods: u32) -> (i16, i16) {
        let samples = timeout(
            Duration::from_secs(24 * 3600),
            run_delayed(sim::BOOK_PERIOD, 80, delay_periods),
        )
        .await
        .expect("the system did not stop")
        .unwrap();
        assert_eq!(samples.len(), 80);
        settled(&samples)
    }

    #[tokio::test(start_paused = true)]
    async fn the_swing_never_shrinks_as_the_delay_grows() {
        let mut swings = Vec::new();
        for delay in DELAYS {
            let (low, high) = swing(delay).await;
            assert!(
                low < 2100 && 2100 < high,
                "delay {delay}: {low}..{high} misses 21.00"
            );
            swings.push(high - low);
        }
        println!("settled swing per delay {DELAYS:?}: {swings:?} hundredths");
        assert!(swings.windows(2).all(|w| w[0] <= w[1]), "{swings:?}");
        assert!(swings[3] > swings[0], "{swings:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn without_delay_it_matches_the_heating_system() {
        // No delay: the same rule as DisplayFuture, so the same settled band (20.99..=21.01).
        assert_eq!(swing(0).await, (2099, 2101));
    }
}
