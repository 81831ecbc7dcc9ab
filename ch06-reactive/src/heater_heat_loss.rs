//! `heater-heat-loss` — "Building Our Heater and Heat-Loss Observer".
//!
//! Two observers driven by time rather than by a value:
//! - [`HeaterFuture`] watches `heat_on`. While the flag is off it does nothing and its clock stands
//!   at "now"; once it sees the flag on, it adds 0.03 °C a full period later, and every period
//!   after that while the flag stays on. Switching off restarts the clock, so a heater switched on
//!   at t = 10 s first warms the room at t = 13 s, not at once.
//! - [`HeatLossFuture`] removes 0.01 °C every period, whatever the heater does.
//!
//! Both keep the book's `time_snapshot`, but as a `tokio::time::Instant`, and each holds a
//! `tokio::time::Sleep` for its next deadline instead of comparing `Instant::now()` with the
//! snapshot on every poll. So the heater has no timer at all while off (it waits on the subjects'
//! waker list for the flag), and heat loss is polled once per period.
//!
//! Run it with `cargo run -p ch06 -- heater-heat-loss [--period-ms 100]`: the period stands for the
//! book's 3 s, and times print in book seconds. A script switches the flag on at t = 7.5 s and off
//! at t = 18 s; a logger prints every temperature change with its likely cause (−0.01 heat loss,
//! +0.03 heater). About 0.9 s.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep, sleep_until};

use common::demo::{Args, DemoResult};
use common::timeline::CountPolls;

use crate::sim::{self, HEAT_STEP, LOSS_STEP};
use crate::subjects_atomics::{Subject, Subjects, fmt_centi};

/// The heater observer: warms the room a full period after it saw `heat_on` switch on, and every
/// period after that while it stays on.
pub struct HeaterFuture {
    /// When the heater's current period started: the last time it saw the flag off, switched on,
    /// or added heat.
    // Book: the book's heater and heat-loss snapshots are `std::time::Instant`, which ignores
    // tokio's paused clock, so a test would wait its whole scenario out in real time; ours are
    // `tokio::time::Instant`, which follows the runtime's clock.
    pub time_snapshot: Instant,
    subjects: Arc<Subjects>,
    period: Duration,
    /// The deadline of the next heat, armed only while the flag is on.
    timer: Option<Pin<Box<Sleep>>>,
}

impl HeaterFuture {
    /// A heater working at `period` (the book's is 3 s).
    pub fn new(subjects: Arc<Subjects>, period: Duration) -> Self {
        HeaterFuture {
            time_snapshot: Instant::now(),
            subjects,
            period,
            timer: None,
        }
    }
}

impl Future for HeaterFuture {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        // Whatever happens below, a switch of the flag (or the stop) must wake us: register first,
        // then read, so a switch between the two is not missed.
        this.subjects.watch(Subject::HeatOn, cx.waker());
        loop {
            // Book: the book's `HeaterFuture` never returns `Ready`; ours returns once the
            // subjects are stopped.
            if this.subjects.is_stopped() {
                return Poll::Ready(());
            }
            if !this.subjects.heat_on.load(Ordering::SeqCst) {
                // Book: while the flag is off, the book's heater resets its snapshot, wakes
                // itself and returns `Pending`, spinning; ours drops its timer and sleeps until
                // the flag changes.
                this.time_snapshot = Instant::now();
                this.timer = None;
                return Poll::Pending;
            }
            let period = this.period;
            let timer = this.timer.get_or_insert_with(|| {
                // Just seen on: the clock starts now, and the first heat is a full period away.
                this.time_snapshot = Instant::now();
                Box::pin(sleep_until(this.time_snapshot + period))
            });
            // Book: the book's heater compares `Instant::now()` with its snapshot on every
            // self-woken poll; ours arms a timer for the deadline and is woken by it.
            match timer.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(()) => {
                    this.subjects.add_temp(HEAT_STEP);
                    // Book: after heating, the book's heater resets its snapshot to
                    // `Instant::now()`; a timer fires a little after its deadline, so counting
                    // from "now" would make every period drift later: ours counts from the
                    // deadline (the same instant on the paused clock).
                    this.time_snapshot = timer.deadline();
                    timer.as_mut().reset(this.time_snapshot + period);
                }
            }
        }
    }
}

/// The heat-loss observer: cools the room by 0.01 °C every period.
pub struct HeatLossFuture {
    /// When the current period started: creation, or the last loss.
    pub time_snapshot: Instant,
    subjects: Arc<Subjects>,
    period: Duration,
    timer: Pin<Box<Sleep>>,
}

impl HeatLossFuture {
    /// Heat loss at `period` (the book's is 3 s); the first loss is one period from now.
    pub fn new(subjects: Arc<Subjects>, period: Duration) -> Self {
        let time_snapshot = Instant::now();
        HeatLossFuture {
            time_snapshot,
            subjects,
            period,
            timer: Box::pin(sleep_until(time_snapshot + period)),
        }
    }
}

impl Future for HeatLossFuture {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        // Only the stop wakes us besides the timer.
        this.subjects.watch(Subject::Stop, cx.waker());
        loop {
            if this.subjects.is_stopped() {
                return Poll::Ready(());
            }
            // Book: the book's `HeatLossFuture` never finishes, wakes itself after every poll
            // and checks `elapsed > 3 s` each time; ours sleeps on a timer until the period is
            // up and returns once the subjects are stopped.
            match this.timer.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(()) => {
                    this.subjects.add_temp(-LOSS_STEP);
                    // Book: after a loss, the book's heat loss restarts its period from
                    // `Instant::now()`; ours from the deadline, so the periods do not drift later
                    // by the timer's wake-up delay.
                    this.time_snapshot = this.timer.deadline();
                    let next = this.time_snapshot + this.period;
                    this.timer.as_mut().reset(next);
                }
            }
        }
    }
}

/// When the demo's script switches the flag, in periods from the start: on at 2.5 periods (book
/// t = 7.5 s), off at 6 (t = 18 s); it stops at 8.5 (t = 25.5 s). The half periods keep the switches
/// off the heat-loss ticks, so each line of the log has one cause.
pub const SCRIPT: [(f64, Option<bool>); 3] = [(2.5, Some(true)), (6.0, Some(false)), (8.5, None)];

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let period = Duration::from_millis(args.value_in("period-ms", 100, 5..=3_000)?);
    args.finish()?;

    sim::runtime(2)?.block_on(async move {
        let subjects = Subjects::shared();
        let timeline = sim::tokio_timeline();
        let start = Instant::now();
        let stamp = move || sim::book_time(start.elapsed(), period);
        println!("  {} start at {}, heater off", stamp(), fmt_centi(2090));

        let heater = tokio::spawn(
            CountPolls::new(HeaterFuture::new(Arc::clone(&subjects), period))
                .recording(&timeline, "heater"),
        );
        let heat_loss = tokio::spawn(
            CountPolls::new(HeatLossFuture::new(Arc::clone(&subjects), period))
                .recording(&timeline, "heat-loss"),
        );
        let logger = {
            let subjects = Arc::clone(&subjects);
            tokio::spawn(async move {
                let mut last = subjects.temp.load(Ordering::SeqCst);
                let temp = || subjects.temp.load(Ordering::SeqCst);
                while let Some(now) =
                    sim::wait_for(&subjects, Subject::Temp, || (temp() != last).then(temp)).await
                {
                    let cause = match now - last {
                        d if d == -LOSS_STEP => "heat loss",
                        d if d == HEAT_STEP => "heater",
                        d if d == HEAT_STEP - LOSS_STEP => "heater and heat loss",
                        _ => "several changes",
                    };
                    println!("  {} {cause:<9} -> {}", stamp(), fmt_centi(now));
                    last = now;
                }
            })
        };

        for (at, switch) in SCRIPT {
            tokio::time::sleep_until(start + period.mul_f64(at)).await;
            match switch {
                Some(on) => {
                    timeline.time("script", || subjects.set_heat_on(on));
                    println!(
                        "  {} heater switched {}",
                        stamp(),
                        if on { "on" } else { "off" }
                    );
                }
                None => subjects.stop(),
            }
        }
        heater.await?;
        heat_loss.await?;
        logger.await?;
        println!(
            "\nend at {}: one heat (+0.03) per full period on, one loss (-0.01) per period",
            fmt_centi(subjects.temp.load(Ordering::SeqCst))
        );
        println!(
            "\nwho reacted when (one mark per poll):\n{}",
            timeline.render()
        );
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::{sleep_until, timeout};

    const LIMIT: Duration = Duration::from_secs(600);

    fn temp(subjects: &Subjects) -> i16 {
        subjects.temp.load(Ordering::SeqCst)
    }

    /// Sleeps until `secs` after `start` on the (paused) clock.
    async fn at(start: Instant, secs: f64) {
        sleep_until(start + Duration::from_secs_f64(secs)).await;
    }

    async fn stop_and_join(subjects: &Subjects, tasks: Vec<tokio::task::JoinHandle<()>>) {
        subjects.stop();
        for task in tasks {
            timeout(LIMIT, task)
                .await
                .expect("an observer hung")
                .unwrap();
        }
    }

    #[tokio::test(start_paused = true)]
    async fn heat_loss_alone_takes_one_hundredth_per_period() {
        let real = std::time::Instant::now();
        let subjects = Subjects::shared();
        let start = Instant::now();
        let loss = tokio::spawn(HeatLossFuture::new(Arc::clone(&subjects), sim::BOOK_PERIOD));
        at(start, 2.9).await;
        assert_eq!(temp(&subjects), 2090, "no loss before the first period");
        at(start, 31.5).await;
        assert_eq!(temp(&subjects), 2080, "ten losses, at 3, 6, … 30 s");
        stop_and_join(&subjects, vec![loss]).await;
        assert!(
            real.elapsed() < Duration::from_secs(10),
            "the 31.5 s ran on virtual time"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn heater_on_from_the_start_nets_two_hundredths_per_period() {
        let subjects = Arc::new(Subjects::new(2090, 2100, true));
        let start = Instant::now();
        let tasks = vec![
            tokio::spawn(HeaterFuture::new(Arc::clone(&subjects), sim::BOOK_PERIOD)),
            tokio::spawn(HeatLossFuture::new(Arc::clone(&subjects), sim::BOOK_PERIOD)),
        ];
        at(start, 19.5).await;
        assert_eq!(temp(&subjects), 2102, "six heats (+18) and six losses (-6)");
        stop_and_join(&subjects, tasks).await;
    }

    #[tokio::test(start_paused = true)]
    async fn switching_on_restarts_the_heaters_clock_and_off_stops_it() {
        let subjects = Subjects::shared();
        let start = Instant::now();
        let heater = tokio::spawn(HeaterFuture::new(Arc::clone(&subjects), sim::BOOK_PERIOD));
        at(start, 10.0).await;
        subjects.set_heat_on(true);
        at(start, 12.9).await;
        assert_eq!(
            temp(&subjects),
            2090,
            "no heat until a full period after switch-on"
        );
        at(start, 13.5).await;
        assert_eq!(temp(&subjects), 2093, "first heat at t = 13 s");
        at(start, 14.0).await;
        subjects.set_heat_on(false);
        at(start, 40.0).await;
        assert_eq!(temp(&subjects), 2093, "no heat once switched off");
        subjects.set_heat_on(true);
        at(start, 42.5).await;
        assert_eq!(
            temp(&subjects),
            2093,
            "switched on again: the clock restarted at 40 s"
        );
        at(start, 43.5).await;
        assert_eq!(temp(&subjects), 2096);
        stop_and_join(&subjects, vec![heater]).await;
    }

    #[tokio::test(start_paused = true)]
    async fn observers_are_polled_per_event_not_continuously() {
        let subjects = Subjects::shared();
        let start = Instant::now();
        let heater = CountPolls::new(HeaterFuture::new(Arc::clone(&subjects), sim::BOOK_PERIOD));
        let loss = CountPolls::new(HeatLossFuture::new(Arc::clone(&subjects), sim::BOOK_PERIOD));
        let (heater_polls, loss_polls) = (heater.counter(), loss.counter());
        let tasks = vec![tokio::spawn(heater), tokio::spawn(loss)];
        at(start, 301.5).await; // 100 periods, heater off throughout
        assert_eq!(loss_polls.get(), 101, "first poll + one per period");
        assert_eq!(heater_polls.get(), 1, "the heater sleeps while off");
        stop_and_join(&subjects, tasks).await;
        assert_eq!(heater_polls.get(), 2);
    }
}
