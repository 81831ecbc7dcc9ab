//! Helpers shared by the thermostat demos ("Building a Basic Reactive System" onwards): the book's
//! period and its scaled-down stand-in, a runtime with named workers, a timeline on tokio's clock,
//! and [`wait_for`], the small "wake me when this subject changes" future the extras build on.
//!
//! Nothing here is a lesson of its own; it keeps the demo modules about their listings.

use std::future::poll_fn;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;

use common::Timeline;

use crate::subjects_atomics::{Subject, Subjects};

/// The book's heater and heat-loss period: 3 seconds.
pub const BOOK_PERIOD: Duration = Duration::from_secs(3);

/// What the heater adds per period once it has been on for a full period (hundredths of a degree).
pub const HEAT_STEP: i16 = 3;

/// What heat loss removes per period (hundredths of a degree).
pub const LOSS_STEP: i16 = 1;

/// `elapsed` expressed in the book's seconds, when `period` stands for the book's 3 s.
///
/// ```
/// use ch06::sim::book_secs;
/// use std::time::Duration;
/// assert_eq!(book_secs(Duration::from_millis(250), Duration::from_millis(100)), 7.5);
/// ```
pub fn book_secs(elapsed: Duration, period: Duration) -> f64 {
    if period.is_zero() {
        return 0.0;
    }
    elapsed.as_secs_f64() / period.as_secs_f64() * BOOK_PERIOD.as_secs_f64()
}

/// `t= 7.5s`: a time in the book's seconds, right-aligned so that lines of a log line up.
///
/// ```
/// use ch06::sim::book_time;
/// use std::time::Duration;
/// assert_eq!(book_time(Duration::from_millis(100), Duration::from_millis(100)), "t=  3.0s");
/// ```
pub fn book_time(elapsed: Duration, period: Duration) -> String {
    format!("t={:5.1}s", book_secs(elapsed, period))
}

/// A multi-thread runtime with `workers` worker threads named `worker-1`, `worker-2`, …, and the
/// timer enabled, so a timeline can say which worker each observer reacted on.
pub fn runtime(workers: usize) -> io::Result<tokio::runtime::Runtime> {
    let next = AtomicUsize::new(1);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .thread_name_fn(move || format!("worker-{}", next.fetch_add(1, Ordering::Relaxed)))
        .enable_time()
        .build()
}

/// A timeline on tokio's clock: real time normally, virtual time under a paused clock. Create it
/// inside the runtime (a paused clock belongs to its runtime).
pub fn tokio_timeline() -> Timeline {
    Timeline::with_clock(|| tokio::time::Instant::now().into_std())
}

/// Waits until `check` returns `Some`, re-checking each time `subject` changes; `None` once the
/// subjects are stopped.
///
/// The order inside matters and is the chapter's rule for observers: check, register the waker,
/// check again. A change landing between the first check and the registration is caught by the
/// second check; one landing after the registration wakes us.
///
/// ```
/// use ch06::sim::wait_for;
/// use ch06::subjects_atomics::{Subject, Subjects};
/// use std::sync::atomic::Ordering;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let subjects = Subjects::shared();
/// let watcher = subjects.clone();
/// let warm = tokio::spawn(async move {
///     let temp = || watcher.temp.load(Ordering::SeqCst);
///     wait_for(&watcher, Subject::Temp, || (temp() >= 2100).then(temp)).await
/// });
/// subjects.set_temp(2095); // wakes the watcher, which checks and waits again
/// subjects.set_temp(2101);
/// assert_eq!(warm.await.unwrap(), Some(2101));
/// # });
/// ```
pub async fn wait_for<T>(
    subjects: &Subjects,
    subject: Subject,
    mut check: impl FnMut() -> Option<T>,
) -> Option<T> {
    poll_fn(|cx| {
        if subjects.is_stopped() {
            return Poll::Ready(None);
        }
        if let Some(value) = check() {
            return Poll::Ready(Some(value));
        }
        subjects.watch(subject, cx.waker());
        if subjects.is_stopped() {
            return Poll::Ready(None);
        }
        match check() {
            Some(value) => Poll::Ready(Some(value)),
            None => Poll::Pending,
        }
    })
    .await
}

/// A sparkline of `values` (one character each) scaled between `low` and `high`.
///
/// ```
/// assert_eq!(ch06::sim::sparkline(&[0, 4, 7], 0, 7), "▁▅█");
/// ```
pub fn sparkline(values: &[i16], low: i16, high: i16) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let span = f64::from(high.saturating_sub(low).max(1));
    values
        .iter()
        .map(|&v| {
            let level = f64::from(v.clamp(low, high) - low) / span * 7.0;
            BARS[(level.round() as usize).min(7)]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn book_time_scales_the_period_to_three_seconds() {
        let period = Duration::from_millis(75);
        assert_eq!(book_secs(period * 4, period), 12.0);
        assert_eq!(book_time(period * 10, period), "t= 30.0s");
        assert_eq!(book_secs(period, Duration::ZERO), 0.0);
    }

    #[tokio::test(start_paused = true)]
    async fn wait_for_catches_a_change_and_ends_on_stop() {
        let subjects = Subjects::shared();
        let watcher = Arc::clone(&subjects);
        let task = tokio::spawn(async move {
            let heat = || watcher.heat_on.load(Ordering::SeqCst);
            let first = wait_for(&watcher, Subject::HeatOn, || heat().then_some(())).await;
            let second = wait_for(&watcher, Subject::HeatOn, || (!heat()).then_some(())).await;
            (first, second)
        });
        tokio::task::yield_now().await;
        subjects.set_heat_on(true);
        tokio::task::yield_now().await;
        subjects.stop();
        let (first, second) = tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the watcher hung")
            .unwrap();
        assert_eq!((first, second), (Some(()), None));
    }

    #[test]
    fn sparkline_maps_the_range_onto_eight_levels() {
        assert_eq!(sparkline(&[2095, 2102, 2109], 2095, 2109), "▁▅█");
        assert_eq!(sparkline(&[5, 5], 5, 5), "▁▁");
    }

    #[test]
    fn runtime_names_its_workers() {
        let rt = runtime(2).unwrap();
        let name = rt
            .block_on(async {
                tokio::spawn(async { common::timeline::current_thread_name() }).await
            })
            .unwrap();
        assert!(name.starts_with("worker-"), "{name}");
    }
}
