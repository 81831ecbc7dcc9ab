//! `sleep-coroutines`: three sleeps that overlap on one thread, with no runtime (book section
//! "Mimicking Async Behavior with Coroutines").
//!
//! A [`SleepCoroutine`] never blocks: each resume only looks at the clock and says "done"
//! (`Complete`) or "not yet" (`Yielded`). A plain queue on one thread resumes three of them in
//! turn, so their waits run at the same time and all three end after about one sleep, not three.
//! The 1 s comes from the deadlines running side by side while one thread checks them; nothing
//! here is paused by magic.
//!
//! The catch is the driver: a coroutine that only says "not yet" leaves its driver nothing to do
//! but ask again, at once, millions of times a second. Ours says *when* to ask again: it yields its
//! deadline, and after each pass over the queue the driver sleeps until the earliest deadline it
//! was given. Three 1 s sleeps then cost 2 resumes each.
//!
//! Run it with `cargo run -p ch05 -- sleep-coroutines [--millis MS]` (default 1000, the book's 1 s).
//!
//! How we differ from the book:
//!
//! - the book's loop resumes the three in a tight cycle for the whole second: about 5.9 million
//!   resumes (measured, debug build; 18.5 million in release) and a core at 100 % doing nothing
//!   useful. Ours yields the deadline and sleeps until it;
//! - its loop runs `while counter < sleep_coroutines.len()`, comparing completions with a queue
//!   that shrinks as they complete: with three coroutines it stops after the second completion and
//!   never finishes the third. Equal deadlines hide it (durations of 1, 2 and 3 s would report
//!   about 2 s). Ours loops until the queue is empty; a test keeps a replica of the book's loop
//!   and shows it stopping early.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};
use common::timeline::format_duration;

use crate::coroutine::{Coroutine, CoroutineState, resumed_after_completion};
use crate::sleep_coroutine_future::TimerSlot;

/// A sleep that never blocks: each resume checks whether `duration` has passed since `start`.
#[derive(Debug)]
pub struct SleepCoroutine {
    /// When the sleep began (the book's field; a test may move it into the past).
    pub start: Instant,
    /// How long it lasts.
    pub duration: Duration,
    /// Set when it has returned `Complete`; a later resume panics, as std's coroutines do.
    done: bool,
    /// Used only by the `Future` adapter of `sleep-coroutine-future`: where its timer thread finds
    /// the waker to wake at the deadline. The coroutine itself never reads it.
    pub(crate) timer: Option<TimerSlot>,
}

impl SleepCoroutine {
    /// A sleep of `duration`, starting now.
    pub fn new(duration: Duration) -> Self {
        Self {
            start: Instant::now(),
            duration,
            done: false,
            timer: None,
        }
    }

    /// When the sleep ends (`start + duration`).
    pub fn deadline(&self) -> Instant {
        self.start + self.duration
    }
}

impl Coroutine<()> for SleepCoroutine {
    // Book: `SleepCoroutine` yields `()`, so its driver only hears "not yet" and must ask again
    // at once (a busy loop); ours yields its deadline, so the driver can sleep until then.
    type Yield = Instant;
    type Return = ();

    fn resume(mut self: Pin<&mut Self>, (): ()) -> CoroutineState<Self::Yield, Self::Return> {
        if self.done {
            resumed_after_completion();
        }
        if self.start.elapsed() >= self.duration {
            self.done = true;
            CoroutineState::Complete(())
        } else {
            CoroutineState::Yielded(self.deadline())
        }
    }
}

/// Sleeps the current thread until `deadline` (at once if it has passed).
pub fn sleep_until(deadline: Instant) {
    let left = deadline.saturating_duration_since(Instant::now());
    if !left.is_zero() {
        std::thread::sleep(left);
    }
}

/// What [`sleep_all`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SleepReport {
    /// Coroutine numbers (0, 1, 2, … in the order given) in the order they completed.
    pub completed: Vec<usize>,
    /// How many times each coroutine was resumed, by number.
    pub resumes: Vec<u32>,
    /// How many passes over the queue it took.
    pub passes: u32,
    /// From the first resume to the last completion.
    pub took: Duration,
}

/// The book's `main`: a queue of sleeps, each popped, resumed and pushed back while it yields.
///
/// Each pass resumes every queued coroutine once; if the earliest deadline yielded in the pass is
/// still ahead, the thread then sleeps until it.
pub fn sleep_all(durations: &[Duration]) -> SleepReport {
    let mut sleep_coroutines = VecDeque::new();
    for (number, duration) in durations.iter().enumerate() {
        sleep_coroutines.push_back((number, SleepCoroutine::new(*duration)));
    }

    let mut completed = Vec::new();
    let mut resumes = vec![0; durations.len()];
    let mut passes = 0;
    let start = Instant::now();

    // Book: the queue loop runs `while counter < sleep_coroutines.len()`, comparing completions
    // with a queue that shrinks as they happen, so with three sleeps it stops after the second
    // completion and never finishes the third; ours runs until the queue is empty.
    while !sleep_coroutines.is_empty() {
        passes += 1;
        let mut earliest: Option<Instant> = None;
        for _ in 0..sleep_coroutines.len() {
            let Some((number, mut coroutine)) = sleep_coroutines.pop_front() else {
                break;
            };
            resumes[number] += 1;
            match Pin::new(&mut coroutine).resume(()) {
                CoroutineState::Yielded(deadline) => {
                    earliest = Some(earliest.map_or(deadline, |e| e.min(deadline)));
                    sleep_coroutines.push_back((number, coroutine));
                }
                CoroutineState::Complete(()) => completed.push(number),
            }
        }
        // Book: the loop resumes the queue again at once, spinning a core for the whole sleep;
        // ours sleeps until the earliest deadline yielded in the pass.
        if let Some(deadline) = earliest {
            sleep_until(deadline);
        }
    }

    SleepReport {
        completed,
        resumes,
        passes,
        took: start.elapsed(),
    }
}

/// Runs the demo: `sleep-coroutines [--millis MS]`.
pub fn run(mut args: Args) -> DemoResult {
    let millis: u64 = args.value_in("millis", 1000, 0..=10_000)?;
    args.finish()?;

    let duration = Duration::from_millis(millis);
    println!(
        "three sleeps of {} on one thread, resumed from a queue",
        format_duration(duration)
    );
    let report = sleep_all(&[duration; 3]);
    println!("Took {}", format_duration(report.took));
    let order: Vec<String> = report
        .completed
        .iter()
        .map(|n| format!("sleep {}", n + 1))
        .collect();
    println!("completed in order: {}", order.join(", "));
    let total: u32 = report.resumes.iter().sum();
    println!(
        "{total} resumes for {} coroutines in {} passes (the book's loop: millions)",
        report.resumes.len(),
        report.passes
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn three_zero_sleeps_complete_in_one_pass_where_the_books_loop_leaves_one() {
        let report = sleep_all(&[Duration::ZERO; 3]);
        assert_eq!(report.completed, [0, 1, 2]);
        assert_eq!(report.resumes, [1, 1, 1]);
        assert_eq!(report.passes, 1);

        // A replica of the book's loop condition, kept here to show its defect.
        let mut sleep_coroutines: VecDeque<SleepCoroutine> = (0..3)
            .map(|_| SleepCoroutine::new(Duration::ZERO))
            .collect();
        let mut counter = 0;
        while counter < sleep_coroutines.len() {
            let Some(mut coroutine) = sleep_coroutines.pop_front() else {
                break;
            };
            match Pin::new(&mut coroutine).resume(()) {
                CoroutineState::Yielded(_) => sleep_coroutines.push_back(coroutine),
                CoroutineState::Complete(()) => counter += 1,
            }
        }
        assert_eq!(counter, 2, "the book's loop stops after two completions");
        assert_eq!(sleep_coroutines.len(), 1, "and never resumes the third");
    }

    #[test]
    fn different_deadlines_complete_in_order_without_spinning() {
        let report = sleep_all(&[Duration::ZERO, 50 * MS, 100 * MS]);
        assert_eq!(report.completed, [0, 1, 2]);
        assert!(
            report.resumes.iter().all(|&r| r <= 3),
            "{:?}",
            report.resumes
        );
        assert!(report.took >= 100 * MS, "{:?}", report.took);
        assert!(report.took < 200 * MS, "{:?}", report.took);
    }

    #[test]
    fn equal_sleeps_overlap_instead_of_adding_up() {
        let report = sleep_all(&[100 * MS; 3]);
        assert_eq!(report.completed.len(), 3);
        assert!(report.took >= 100 * MS, "{report:?}");
        assert!(report.took < 200 * MS, "three sleeps added up: {report:?}");
        // One resume to learn the deadline, one after it; a third only if the thread woke
        // between two deadlines a few nanoseconds apart.
        assert!(report.resumes.iter().all(|&r| (2..=3).contains(&r)));
    }

    #[test]
    fn a_sleep_that_started_long_ago_completes_on_its_first_resume() {
        let mut sleep = SleepCoroutine::new(Duration::from_secs(1));
        if let Some(past) = Instant::now().checked_sub(Duration::from_secs(2)) {
            sleep.start = past;
        }
        assert_eq!(
            Pin::new(&mut sleep).resume(()),
            CoroutineState::Complete(())
        );
    }

    #[test]
    fn a_fresh_sleep_yields_its_deadline() {
        let mut sleep = SleepCoroutine::new(Duration::from_secs(60));
        let deadline = sleep.deadline();
        assert_eq!(
            Pin::new(&mut sleep).resume(()),
            CoroutineState::Yielded(deadline)
        );
    }

    #[test]
    #[should_panic(expected = "coroutine resumed after completion")]
    fn resuming_a_finished_sleep_panics() {
        let mut sleep = SleepCoroutine::new(Duration::ZERO);
        assert_eq!(
            Pin::new(&mut sleep).resume(()),
            CoroutineState::Complete(())
        );
        let _ = Pin::new(&mut sleep).resume(());
    }
}
