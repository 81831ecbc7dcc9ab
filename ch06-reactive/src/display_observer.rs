//! `display-observer` — "Building Our Display Observer" (Figure 6-2).
//!
//! An observer written as a hand-made `Future`. [`DisplayFuture`] keeps a snapshot of the
//! temperature; each time it is polled it compares the subject with the snapshot and does nothing
//! unless they differ. When they do, it switches the heater (on below the set point, off above it),
//! shows a line, and takes a new snapshot. It is the only observer that writes `heat_on`.
//!
//! The book's version ends every poll with `cx.waker().wake_by_ref()` and `Poll::Pending`: the task
//! asks to be polled again at once, forever, so it never sleeps and keeps a worker thread at 100 %
//! (`busy-poll-cost` counts the polls). Ours registers its waker with the subjects instead and is
//! woken only when the temperature is stored, so it is polled once per change, plus the first poll
//! and the one that sees `stop`.
//!
//! The snapshot can already be stale when the line is shown (Figure 6-2: heat loss and the heater
//! may store between our load and our print). The book weighs a one-thread runtime or a mutex
//! against accepting it, and accepts it: the line shows the value the decision was made on.
//! `compare-exchange` shows the tool for "act only if the value is still what I saw".
//!
//! Run it with `cargo run -p ch06 -- display-observer [--step-ms 100] [--clear]`: a driver stores
//! 20.90, 20.89, 20.95, 21.01, 21.01 and 20.99, one per step, and the display prints one line per
//! real change. `--clear` clears the screen before each line, and only when stdout is a terminal.

use std::future::Future;
use std::io::IsTerminal;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use common::demo::{Args, DemoResult};
use common::timeline::CountPolls;

use crate::sim;
use crate::subjects_atomics::{Reading, Subject, Subjects, on_off};

/// The display observer: reacts when the temperature differs from its snapshot.
///
/// `sink` receives one [`Update`] per reaction; the demo prints it, the tests send it down a
/// channel, `heating-system` logs it with a timestamp.
pub struct DisplayFuture<S> {
    /// The temperature the display last reacted to.
    pub temp_snapshot: i16,
    subjects: Arc<Subjects>,
    sink: S,
}

impl<S: FnMut(Update) + Unpin> DisplayFuture<S> {
    /// A display whose snapshot is the current temperature, so it first reacts to the next change.
    pub fn new(subjects: Arc<Subjects>, sink: S) -> Self {
        DisplayFuture {
            temp_snapshot: subjects.temp.load(Ordering::SeqCst),
            subjects,
            sink,
        }
    }
}

impl<S: FnMut(Update) + Unpin> Future for DisplayFuture<S> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        loop {
            // Book: the book's `DisplayFuture` never returns `Ready`; ours returns once
            // `Subjects::stop` has been called, so a simulation can end.
            if this.subjects.is_stopped() {
                return Poll::Ready(());
            }
            let current_snapshot = this.subjects.temp.load(Ordering::SeqCst);
            if current_snapshot == this.temp_snapshot {
                // Book: when nothing changed, the book's `DisplayFuture` calls
                // `cx.waker().wake_by_ref()` and returns `Pending`, so it is polled again at once,
                // forever (a busy loop on a whole worker); ours registers its waker with the
                // subjects, then re-reads, so a store landing in between is not missed.
                this.subjects.watch(Subject::Temp, cx.waker());
                if this.subjects.is_stopped()
                    || this.subjects.temp.load(Ordering::SeqCst) != this.temp_snapshot
                {
                    continue;
                }
                return Poll::Pending;
            }
            let desired_temp = this.subjects.desired_temp.load(Ordering::SeqCst);
            let heat_on = this.subjects.heat_on.load(Ordering::SeqCst);
            let switched_to = decide_heat(current_snapshot, desired_temp, heat_on);
            if let Some(on) = switched_to {
                this.subjects.set_heat_on(on);
            }
            // Book: the book's display calls `clearscreen::clear().unwrap()` (escape codes even
            // in piped output, and a panic if writing fails) and prints the heater flag it read
            // *before* its own decision; ours passes the snapshot and the switch it made
            // (`off -> on`) to a sink, and the demo appends a line.
            (this.sink)(Update {
                reading: Reading {
                    temp: current_snapshot,
                    desired_temp,
                    heat_on,
                },
                switched_to,
            });
            this.temp_snapshot = current_snapshot;
            // Book: after acting, the book's display wakes itself again; ours loops back to
            // compare, then waits on the subjects.
        }
    }
}

/// The display's heater rule: `Some(true)` to switch on (below the set point and off),
/// `Some(false)` to switch off (above it and on), `None` to leave it (at the set point, or
/// already right).
pub fn decide_heat(temp: i16, desired_temp: i16, heat_on: bool) -> Option<bool> {
    if temp < desired_temp && !heat_on {
        Some(true)
    } else if temp > desired_temp && heat_on {
        Some(false)
    } else {
        None
    }
}

/// One reaction of the display: the snapshot it acted on and the switch it made, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Update {
    /// The values the decision was made on (`heat_on` as it was *before* the decision).
    pub reading: Reading,
    /// The heater switch the display made, if it made one.
    pub switched_to: Option<bool>,
}

impl Update {
    /// The heater flag once the display has acted.
    pub fn heat_on_after(&self) -> bool {
        self.switched_to.unwrap_or(self.reading.heat_on)
    }
}

impl std::fmt::Display for Update {
    /// `20.89 °C | set 21.00 | heater off -> on`, or without the arrow when nothing switched.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.reading)?;
        if let Some(on) = self.switched_to {
            write!(f, " -> {}", on_off(on))?;
        }
        Ok(())
    }
}

/// The temperatures the demo's driver stores, one per step: the first and the repeated 21.01
/// change nothing.
pub const SCRIPT: [i16; 6] = [2090, 2089, 2095, 2101, 2101, 2099];

/// The ANSI sequence that clears the screen and homes the cursor (what `clearscreen` writes on
/// most terminals).
const CLEAR: &str = "\x1b[2J\x1b[H";

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let step = Duration::from_millis(args.value_in("step-ms", 100, 1..=2_000)?);
    let clear = args.flag("clear")? && std::io::stdout().is_terminal();
    args.finish()?;

    sim::runtime(2)?.block_on(async move {
        let subjects = Subjects::shared();
        let timeline = sim::tokio_timeline();
        let display = DisplayFuture::new(Arc::clone(&subjects), move |update: Update| {
            if clear {
                print!("{CLEAR}");
            }
            println!("  display: {update}");
        });
        let display = CountPolls::new(display).recording(&timeline, "display");
        let polls = display.counter();
        let task = tokio::spawn(display);

        println!("  start:   {}", subjects.reading());
        for temp in SCRIPT {
            tokio::time::sleep(step).await;
            timeline.time("driver", || subjects.set_temp(temp));
        }
        tokio::time::sleep(step).await;
        subjects.stop();
        task.await?;

        let changes = SCRIPT
            .iter()
            .scan(2090, |last, &t| {
                let changed = t != *last;
                *last = t;
                Some(changed)
            })
            .filter(|&c| c)
            .count();
        println!(
            "\ndisplay polled {} times for {} stores, {changes} of them changes \
             (first poll + one per change + the stop)",
            polls.get(),
            SCRIPT.len()
        );
        println!(
            "\nwho ran when (one mark per store or poll):\n{}",
            timeline.render()
        );
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;
    use tokio::time::timeout;

    const LIMIT: Duration = Duration::from_secs(60);

    /// A spawned display whose updates arrive on a channel, and its poll count.
    fn spawn_display(
        subjects: &Arc<Subjects>,
    ) -> (
        mpsc::UnboundedReceiver<Update>,
        common::timeline::PollCount,
        tokio::task::JoinHandle<()>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let display = DisplayFuture::new(Arc::clone(subjects), move |u| {
            let _ = tx.send(u);
        });
        let display = CountPolls::new(display);
        let polls = display.counter();
        (rx, polls, tokio::spawn(display))
    }

    async fn next(rx: &mut mpsc::UnboundedReceiver<Update>) -> Update {
        timeout(LIMIT, rx.recv())
            .await
            .expect("no update arrived")
            .expect("the display ended")
    }

    #[test]
    fn decide_heat_switches_only_across_the_set_point() {
        for (temp, heat_on, expected) in [
            (2089, false, Some(true)),
            (2089, true, None),
            (2100, false, None),
            (2100, true, None),
            (2101, true, Some(false)),
            (2101, false, None),
        ] {
            assert_eq!(
                decide_heat(temp, 2100, heat_on),
                expected,
                "{temp} {heat_on}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_line_per_real_change_with_the_right_switches() {
        let subjects = Subjects::shared();
        let (mut rx, polls, task) = spawn_display(&subjects);

        subjects.set_temp(2089);
        let first = next(&mut rx).await;
        assert_eq!(first.to_string(), "20.89 °C | set 21.00 | heater off -> on");
        assert!(subjects.heat_on.load(Ordering::SeqCst));

        subjects.set_temp(2095);
        assert_eq!(next(&mut rx).await.switched_to, None);
        subjects.set_temp(2101);
        assert_eq!(
            next(&mut rx).await.to_string(),
            "21.01 °C | set 21.00 | heater on -> off"
        );
        subjects.set_temp(2101); // the same value again: no line
        subjects.set_temp(2100); // at the set point: a line, no switch
        let at_set_point = next(&mut rx).await;
        assert_eq!(at_set_point.reading.temp, 2100);
        assert_eq!(at_set_point.switched_to, None);
        assert!(!at_set_point.heat_on_after());

        subjects.stop();
        timeout(LIMIT, task).await.expect("display hung").unwrap();
        assert!(rx.recv().await.is_none(), "no line after the last change");
        // 5 stores (one unchanged): first poll + 4 wake-ups + the stop.
        assert!(polls.get() <= 5 + 2, "polled {} times", polls.get());
    }

    #[tokio::test(start_paused = true)]
    async fn two_stores_without_a_yield_give_one_line_with_the_later_value() {
        let subjects = Subjects::shared();
        let (mut rx, polls, task) = spawn_display(&subjects);
        tokio::task::yield_now().await; // the display's first poll: it registers
        subjects.set_temp(2089);
        subjects.set_temp(2102);
        let update = next(&mut rx).await;
        assert_eq!(update.reading.temp, 2102);
        assert_eq!(update.switched_to, None, "21.02 with the heater off");
        subjects.stop();
        timeout(LIMIT, task).await.expect("display hung").unwrap();
        assert!(rx.try_recv().is_err(), "the 20.89 snapshot was never shown");
        assert_eq!(polls.get(), 3, "first poll, one for both stores, the stop");
    }

    #[tokio::test(start_paused = true)]
    async fn each_store_wakes_it_once_and_stop_ends_it() {
        let subjects = Subjects::shared();
        let (mut rx, polls, task) = spawn_display(&subjects);
        tokio::task::yield_now().await; // the first poll: nothing changed yet, it registers
        let stores = 20;
        for i in 1..=stores {
            subjects.set_temp(2090 + i);
            next(&mut rx).await;
        }
        // Long quiet stretches cost nothing: the display is not polled while nothing changes.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(polls.get(), stores as usize + 1);
        subjects.stop();
        timeout(LIMIT, task).await.expect("display hung").unwrap();
        assert_eq!(polls.get(), stores as usize + 2);
    }
}
