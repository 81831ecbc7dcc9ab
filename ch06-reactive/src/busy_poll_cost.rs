//! `busy-poll-cost` — an extra for "Building Our Display Observer" and "Building Our Heater and
//! Heat-Loss Observer": what `cx.waker().wake_by_ref(); return Poll::Pending` costs.
//!
//! The book's three observers end every poll by waking themselves. The runtime therefore polls
//! them again straight away, forever: each keeps a worker thread busy even when nothing changes,
//! which is polling in a loop, not reacting. [`book_style`] holds the three as the book prints them
//! (with a `Subjects` handle instead of statics and a `stop` check so they end); the demo runs that
//! trio for a short span on a two-worker runtime, then our woken trio (`display-observer`,
//! `heater-heat-loss`) for the same span, and prints how often each observer was polled.
//!
//! Run it with `cargo run -p ch06 -- busy-poll-cost [--span-ms 300] [--period-ms 100]`. Over the
//! default 300 ms, each of the book's observers is typically polled tens of thousands of times in a
//! debug build (close to a million in a release build), ours four to seven times: both trios do
//! the same job, a few temperature changes. While it runs, the book's trio keeps both workers
//! busy for the whole span; ours leaves them idle between events.

use std::sync::Arc;
use std::time::Duration;

use common::demo::{Args, DemoResult};
use common::timeline::{CountPolls, PollCount};

use crate::display_observer::DisplayFuture;
use crate::heater_heat_loss::{HeatLossFuture, HeaterFuture};
use crate::sim;
use crate::subjects_atomics::{Reading, Subjects};

/// The book's observers as printed: every poll ends with `wake_by_ref()` and `Pending`.
///
/// Differences, all to make them measurable and finite: they read a [`Subjects`] handle instead of
/// the statics, return `Ready` once `stop` is set, take the period as a parameter (the book's is
/// 3 s), and the display hands its line to a sink instead of clearing the screen and printing.
// Book: the book's observers read statics, never finish, and clear the screen and print; these
// copies read a `Subjects` handle, return once it is stopped and pass lines to a sink, so that
// they can be measured side by side with ours and then ended.
pub mod book_style {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    use std::task::{Context, Poll};
    use std::time::{Duration, Instant};

    use crate::sim::{HEAT_STEP, LOSS_STEP};
    use crate::subjects_atomics::{Reading, Subjects};

    /// The book's display: compares the temperature with its snapshot on every self-woken poll.
    pub struct DisplayFuture<S> {
        /// The temperature last shown.
        pub temp_snapshot: i16,
        subjects: Arc<Subjects>,
        sink: S,
    }

    impl<S: FnMut(Reading) + Unpin> DisplayFuture<S> {
        /// Snapshot of the current temperature.
        pub fn new(subjects: Arc<Subjects>, sink: S) -> Self {
            DisplayFuture {
                temp_snapshot: subjects.temp.load(Ordering::SeqCst),
                subjects,
                sink,
            }
        }
    }

    impl<S: FnMut(Reading) + Unpin> Future for DisplayFuture<S> {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            if self.subjects.is_stopped() {
                return Poll::Ready(());
            }
            let current_snapshot = self.subjects.temp.load(Ordering::SeqCst);
            let desired_temp = self.subjects.desired_temp.load(Ordering::SeqCst);
            let heat_on = self.subjects.heat_on.load(Ordering::SeqCst);

            if current_snapshot == self.temp_snapshot {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if current_snapshot < desired_temp && !heat_on {
                self.subjects.heat_on.store(true, Ordering::SeqCst);
            } else if current_snapshot > desired_temp && heat_on {
                self.subjects.heat_on.store(false, Ordering::SeqCst);
            }
            (self.sink)(Reading {
                temp: current_snapshot,
                desired_temp,
                heat_on,
            });
            self.temp_snapshot = current_snapshot;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    /// The book's heater, on `std::time::Instant`.
    pub struct HeaterFuture {
        /// Start of the current period.
        pub time_snapshot: Instant,
        subjects: Arc<Subjects>,
        period: Duration,
    }

    impl HeaterFuture {
        /// A heater with the given period.
        pub fn new(subjects: Arc<Subjects>, period: Duration) -> Self {
            HeaterFuture {
                time_snapshot: Instant::now(),
                subjects,
                period,
            }
        }
    }

    impl Future for HeaterFuture {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            if self.subjects.is_stopped() {
                return Poll::Ready(());
            }
            if !self.subjects.heat_on.load(Ordering::SeqCst) {
                self.time_snapshot = Instant::now();
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let current_snapshot = Instant::now();
            if current_snapshot.duration_since(self.time_snapshot) < self.period {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            self.subjects.temp.fetch_add(HEAT_STEP, Ordering::SeqCst);
            self.time_snapshot = Instant::now();
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    /// The book's heat loss, on `std::time::Instant`.
    pub struct HeatLossFuture {
        /// Start of the current period.
        pub time_snapshot: Instant,
        subjects: Arc<Subjects>,
        period: Duration,
    }

    impl HeatLossFuture {
        /// Heat loss with the given period.
        pub fn new(subjects: Arc<Subjects>, period: Duration) -> Self {
            HeatLossFuture {
                time_snapshot: Instant::now(),
                subjects,
                period,
            }
        }
    }

    impl Future for HeatLossFuture {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            if self.subjects.is_stopped() {
                return Poll::Ready(());
            }
            let current_snapshot = Instant::now();
            if current_snapshot.duration_since(self.time_snapshot) > self.period {
                self.subjects.temp.fetch_sub(LOSS_STEP, Ordering::SeqCst);
                self.time_snapshot = Instant::now();
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Polls per observer: display, heat loss, heater.
pub type Polls = [usize; 3];

/// Which trio to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// [`book_style`]: self-waking.
    Book,
    /// Ours: woken by the subjects or a timer.
    Woken,
}

/// Runs one trio on a fresh two-worker runtime for `span` of real time, then stops it; returns
/// the poll counts and how many lines the display produced.
pub fn measure(style: Style, span: Duration, period: Duration) -> std::io::Result<(Polls, usize)> {
    let runtime = sim::runtime(2)?;
    let subjects = Subjects::shared();
    let lines = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count_line = {
        let lines = Arc::clone(&lines);
        move || {
            lines.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    };
    // The futures are created inside the runtime: ours read tokio's clock when built.
    let (counters, handles) = runtime.block_on(async {
        let s = || Arc::clone(&subjects);
        match style {
            Style::Book => spawn_three(
                book_style::DisplayFuture::new(s(), move |_: Reading| count_line()),
                book_style::HeatLossFuture::new(s(), period),
                book_style::HeaterFuture::new(s(), period),
            ),
            Style::Woken => spawn_three(
                DisplayFuture::new(s(), move |_| count_line()),
                HeatLossFuture::new(s(), period),
                HeaterFuture::new(s(), period),
            ),
        }
    });
    // The main thread sleeps outside the runtime: the self-waking trio needs no timer to run.
    std::thread::sleep(span);
    subjects.stop();
    runtime.block_on(async {
        for handle in handles {
            handle.await?;
        }
        Ok::<_, tokio::task::JoinError>(())
    })?;
    Ok((
        counters.map(|c| c.get()),
        lines.load(std::sync::atomic::Ordering::Relaxed),
    ))
}

type Spawned = ([PollCount; 3], Vec<tokio::task::JoinHandle<()>>);

fn spawn_three<A, B, C>(display: A, heat_loss: B, heater: C) -> Spawned
where
    A: std::future::Future<Output = ()> + Send + 'static,
    B: std::future::Future<Output = ()> + Send + 'static,
    C: std::future::Future<Output = ()> + Send + 'static,
{
    let (a, b, c) = (
        CountPolls::new(display),
        CountPolls::new(heat_loss),
        CountPolls::new(heater),
    );
    let counters = [a.counter(), b.counter(), c.counter()];
    (
        counters,
        vec![tokio::spawn(a), tokio::spawn(b), tokio::spawn(c)],
    )
}

/// `1234567` → `1,234,567`.
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let span = Duration::from_millis(args.value_in("span-ms", 300, 10..=5_000)?);
    let period = Duration::from_millis(args.value_in("period-ms", 100, 5..=3_000)?);
    args.finish()?;

    println!(
        "Each trio runs {} ms on 2 workers, period {} ms (the book's 3 s):",
        span.as_millis(),
        period.as_millis()
    );
    let (book, book_lines) = measure(Style::Book, span, period)?;
    let (ours, our_lines) = measure(Style::Woken, span, period)?;
    println!(
        "\n  {:<10} {:>14} {:>8} {:>12}",
        "observer", "book (spins)", "ours", "ratio"
    );
    for (i, name) in ["display", "heat loss", "heater"].into_iter().enumerate() {
        println!(
            "  {name:<10} {:>14} {:>8} {:>11}x",
            grouped(book[i]),
            ours[i],
            grouped(book[i] / ours[i].max(1))
        );
    }
    println!(
        "\n  display lines shown: book {book_lines}, ours {our_lines} (a few changes either way), \
         for {} polls against {}",
        grouped(book.iter().sum()),
        ours.iter().sum::<usize>()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    /// Drives `display` for about 100 ms of real time with five temperature stores, then stops it;
    /// returns its poll count. Self-waking futures keep the runtime busy, so its clock would never
    /// jump ahead: this test runs briefly in real time instead of on a paused clock.
    fn drive<F>(make: impl FnOnce(Arc<Subjects>) -> F) -> usize
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let runtime = sim::runtime(2).unwrap();
        let subjects = Subjects::shared();
        let display = {
            let _inside = runtime.enter(); // ours reads tokio's clock when built
            CountPolls::new(make(Arc::clone(&subjects)))
        };
        let polls = display.counter();
        let handle = runtime.spawn(display);
        for i in 1..=5 {
            std::thread::sleep(Duration::from_millis(20));
            subjects.set_temp(2090 - i);
        }
        subjects.stop();
        runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(30), handle).await })
            .expect("the display did not stop")
            .unwrap();
        assert!(subjects.is_stopped());
        assert_eq!(subjects.temp.load(Ordering::SeqCst), 2085);
        polls.get()
    }

    #[test]
    fn the_book_display_spins_while_ours_is_polled_once_per_store() {
        let book = drive(|s| book_style::DisplayFuture::new(s, |_| {}));
        let ours = drive(|s| DisplayFuture::new(s, |_| {}));
        assert!(book > 1_000, "book-style display polled only {book} times");
        assert!(ours <= 5 + 2, "ours polled {ours} times for 5 stores");
        assert!(book >= 100 * ours, "book {book} vs ours {ours}");
    }

    #[test]
    fn both_trios_stop_when_asked() {
        let span = Duration::from_millis(30);
        let period = Duration::from_millis(10);
        let (book, _) = measure(Style::Book, span, period).unwrap();
        let (ours, _) = measure(Style::Woken, span, period).unwrap();
        // Returning at all means every observer saw `stop`; each was polled at least once.
        assert!(book.iter().all(|&p| p > 0) && ours.iter().all(|&p| p > 0));
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }
}
