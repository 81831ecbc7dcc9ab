//! `coroutine-executor`: a queue of pinned, boxed coroutines and a loop that resumes them (book
//! section "Mimicking Async Behavior with Coroutines").
//!
//! The book's [`Executor`] is the sleep loop of `sleep-coroutines` given a name: a `VecDeque` of
//! `Pin<Box<dyn Coroutine<..>>>`. Boxing each coroutine as a trait object lets coroutines of
//! different types share the one queue, and the pin lets the queue hold coroutines that must not
//! move (a native `static` coroutine, say); `poll` resumes the front one and puts it back if it
//! yielded. That is the skeleton of every async runtime: chapter 10 grows it into one.
//!
//! The demo adds three 1 s sleeps and runs the queue round by round: one "Polling N coroutines"
//! line per round, and between rounds the thread sleeps until the earliest deadline the coroutines
//! yielded. A timeline shows each coroutine's life, from `add` to `Complete`: three overlapping
//! bars on the main thread, and a row of the executor asleep in between.
//!
//! Run it with `cargo run -p ch05 -- coroutine-executor [--millis MS]` (default 1000).
//!
//! How we differ from the book:
//!
//! - the book's `poll` prints "Polling 3 coroutines" on every resume while `main` calls it in a
//!   spin for the whole second: about a million lines (measured, debug build, output to
//!   /dev/null; half that through a pipe) and a core at 100 %. Our queue holds
//!   coroutines that yield their deadline (`Yield = Instant`, as in `sleep-coroutines`), and our
//!   [`Executor::run`] prints one line per round and sleeps until the earliest deadline;
//! - its `poll` calls `pop_front().unwrap()`, a panic on an empty queue; ours returns `false`;
//! - the prose says chapter 11 builds on this executor; it is chapter 10 (the std-only runtime).

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::Timeline;
use common::demo::{Args, DemoResult};
use common::timeline::{SpanGuard, format_duration};

use crate::coroutine::{Coroutine, CoroutineState, resumed_after_completion};
use crate::sleep_coroutines::{SleepCoroutine, sleep_until};

/// The book's executor: a queue of coroutines, resumed one at a time from the front.
pub struct Executor {
    /// The coroutines that have not completed yet, next to be resumed first.
    // Book: the queue holds coroutines with `Yield = ()`; ours yield when they want to be resumed
    // next (an `Instant`), so the executor can sleep between rounds.
    pub coroutines: VecDeque<QueuedCoroutine>,
    /// The earliest deadline yielded since the current round began (`run` sleeps until it).
    earliest: Option<Instant>,
}

impl Executor {
    /// An empty executor.
    pub fn new() -> Self {
        Self {
            coroutines: VecDeque::new(),
            earliest: None,
        }
    }

    /// Queues a coroutine at the back.
    pub fn add(&mut self, coroutine: QueuedCoroutine) {
        self.coroutines.push_back(coroutine);
    }

    /// Resumes the coroutine at the front and requeues it if it yielded. Returns whether any
    /// coroutine is left (`false` at once on an empty queue).
    pub fn poll(&mut self) -> bool {
        // Book: `Executor::poll` prints "Polling N coroutines" on every resume (about a million
        // lines in a second of spinning) and panics on an empty queue (`pop_front().unwrap()`); ours
        // prints one line per round in `run` and returns `false` when the queue is empty.
        let Some(mut coroutine) = self.coroutines.pop_front() else {
            return false;
        };
        match coroutine.as_mut().resume(()) {
            CoroutineState::Yielded(deadline) => {
                self.earliest = Some(self.earliest.map_or(deadline, |e| e.min(deadline)));
                self.coroutines.push_back(coroutine);
            }
            CoroutineState::Complete(()) => {}
        }
        !self.coroutines.is_empty()
    }

    /// Ours: polls round by round until the queue is empty. A round resumes every queued
    /// coroutine once and prints "Polling N coroutines"; if the earliest deadline yielded in the
    /// round is still ahead, the thread then sleeps until it (a span in row "executor asleep" of
    /// `timeline`). Returns the queue length at the start of each round.
    pub fn run(&mut self, timeline: &Timeline) -> Vec<usize> {
        let mut rounds = Vec::new();
        while !self.coroutines.is_empty() {
            let queued = self.coroutines.len();
            println!("Polling {queued} coroutines");
            rounds.push(queued);
            self.earliest = None;
            for _ in 0..queued {
                self.poll();
            }
            if let Some(deadline) = self.earliest.take()
                && deadline > Instant::now()
            {
                timeline.time("executor asleep", || sleep_until(deadline));
            }
        }
        rounds
    }
}

/// What the executor's queue holds: any coroutine that yields the moment it wants to be resumed
/// again and returns nothing, boxed and pinned.
pub type QueuedCoroutine = Pin<Box<dyn Coroutine<(), Yield = Instant, Return = ()>>>;

impl Default for Executor {
    fn default() -> Self {
        Self::new()
    }
}

/// A coroutine with its life recorded: a span in a timeline row from when it is wrapped to when it
/// completes, and a count of its resumes. It yields and returns whatever the inner one does.
pub struct Traced<C> {
    inner: C,
    life: Option<SpanGuard>,
    resumes: Arc<AtomicU32>,
}

impl<C> Traced<C> {
    /// Wraps `inner`; its life starts now, in row `label` of `timeline`, on this thread.
    pub fn new(inner: C, timeline: &Timeline, label: impl Into<String>) -> Self {
        Self {
            inner,
            life: Some(timeline.span(label)),
            resumes: Arc::new(AtomicU32::new(0)),
        }
    }

    /// A handle on the resume count, readable after the coroutine has been boxed and queued.
    pub fn resumes(&self) -> Arc<AtomicU32> {
        Arc::clone(&self.resumes)
    }
}

impl<C: Coroutine<R> + Unpin, R> Coroutine<R> for Traced<C> {
    type Yield = C::Yield;
    type Return = C::Return;

    fn resume(self: Pin<&mut Self>, arg: R) -> CoroutineState<C::Yield, C::Return> {
        let this = Pin::get_mut(self);
        this.resumes.fetch_add(1, Ordering::Relaxed);
        let state = Pin::new(&mut this.inner).resume(arg);
        if let CoroutineState::Complete(_) = state
            && let Some(life) = this.life.take()
        {
            life.end();
        }
        state
    }
}

/// A coroutine of another type for the same queue: yields `Instant::now()` ("resume me again at
/// once") `left` times, then completes.
#[derive(Debug)]
pub struct Countdown {
    /// Yields still to come.
    pub left: u32,
    done: bool,
}

impl Countdown {
    /// A countdown that yields `left` times before completing.
    pub fn new(left: u32) -> Self {
        Self { left, done: false }
    }
}

impl Coroutine<()> for Countdown {
    type Yield = Instant;
    type Return = ();

    fn resume(mut self: Pin<&mut Self>, (): ()) -> CoroutineState<Instant, ()> {
        if self.done {
            resumed_after_completion();
        }
        if self.left == 0 {
            self.done = true;
            return CoroutineState::Complete(());
        }
        self.left -= 1;
        CoroutineState::Yielded(Instant::now())
    }
}

/// What [`run_sleeps`] saw.
#[derive(Debug)]
pub struct ExecutorReport {
    /// The queue length at the start of each round (one "Polling N coroutines" line each).
    pub rounds: Vec<usize>,
    /// How many times each sleep was resumed.
    pub resumes: Vec<u32>,
    /// From the first round to the empty queue.
    pub took: Duration,
}

/// The book's `main`: three sleeps of `duration` added to an executor and run to the end. Each
/// sleep's life is a row `sleep N` in `timeline`.
pub fn run_sleeps(duration: Duration, timeline: &Timeline) -> ExecutorReport {
    let mut executor = Executor::new();
    let mut counters = Vec::new();
    for n in 1..=3 {
        let coroutine = Traced::new(
            SleepCoroutine::new(duration),
            timeline,
            format!("sleep {n}"),
        );
        counters.push(coroutine.resumes());
        executor.add(Box::pin(coroutine));
    }
    let start = Instant::now();
    // Book: `main` spins on `while !executor.coroutines.is_empty() { executor.poll(); }`; our
    // `Executor::run` is that loop with a sleep to the earliest deadline between rounds.
    let rounds = executor.run(timeline);
    ExecutorReport {
        rounds,
        resumes: counters.iter().map(|c| c.load(Ordering::Relaxed)).collect(),
        took: start.elapsed(),
    }
}

/// Runs the demo: `coroutine-executor [--millis MS]`.
pub fn run(mut args: Args) -> DemoResult {
    let millis: u64 = args.value_in("millis", 1000, 0..=10_000)?;
    args.finish()?;

    let timeline = Timeline::new();
    let report = run_sleeps(Duration::from_millis(millis), &timeline);
    println!("Took {}", format_duration(report.took));
    println!(
        "{} rounds, resumes per sleep: {:?}",
        report.rounds.len(),
        report.resumes
    );
    println!(
        "\neach sleep's life, from `add` to `Complete`, and the executor's sleeps between rounds:"
    );
    print!("{}", timeline.render());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::timeline::current_thread_name;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn three_sleeps_complete_together_in_a_few_rounds() {
        let timeline = Timeline::new();
        let report = run_sleeps(100 * MS, &timeline);
        assert!(report.took >= 100 * MS, "{report:?}");
        assert!(report.took < 200 * MS, "{report:?}");
        assert!(report.resumes.iter().all(|&r| r <= 3), "{report:?}");
        assert!(report.rounds.len() <= 4, "{report:?}");
        assert_eq!(report.rounds[0], 3);

        // Extra 3: the timeline holds one life per sleep, all overlapping, all on this thread.
        let spans = timeline.spans();
        let lives: Vec<_> = spans
            .iter()
            .filter(|s| s.label.starts_with("sleep"))
            .collect();
        let labels: Vec<&str> = lives.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["sleep 1", "sleep 2", "sleep 3"]);
        assert!(lives.iter().all(|s| s.duration() >= 100 * MS));
        assert!(lives[0].overlaps(lives[1]) && lives[1].overlaps(lives[2]));
        let me = current_thread_name();
        assert!(spans.iter().all(|s| s.thread == me), "{spans:?}");
        assert!(spans.iter().any(|s| s.label == "executor asleep"));
    }

    #[test]
    fn poll_on_an_empty_executor_returns_false() {
        let mut executor = Executor::new();
        assert!(!executor.poll());
        assert_eq!(executor.run(&Timeline::new()), Vec::<usize>::new());
    }

    #[test]
    fn coroutines_of_different_types_share_one_queue() {
        let timeline = Timeline::new();
        let mut executor = Executor::default();
        let sleep = Traced::new(SleepCoroutine::new(20 * MS), &timeline, "sleep");
        let countdown = Traced::new(Countdown::new(3), &timeline, "countdown");
        let (sleeps, counts) = (sleep.resumes(), countdown.resumes());
        executor.add(Box::pin(sleep));
        executor.add(Box::pin(countdown));

        let rounds = executor.run(&timeline);
        assert!(executor.coroutines.is_empty());
        // The countdown asks to be resumed at once: 3 yields, then `Complete` on its 4th resume.
        assert_eq!(counts.load(Ordering::Relaxed), 4);
        assert!(sleeps.load(Ordering::Relaxed) >= 2);
        assert_eq!(rounds.first(), Some(&2));
        assert!(rounds.len() >= 4, "{rounds:?}");
        let labels: Vec<String> = timeline.spans().into_iter().map(|s| s.label).collect();
        assert!(labels.contains(&"sleep".to_string()) && labels.contains(&"countdown".into()));
    }

    #[test]
    #[should_panic(expected = "coroutine resumed after completion")]
    fn a_finished_countdown_panics_when_resumed() {
        let mut countdown = Countdown::new(0);
        assert_eq!(
            Pin::new(&mut countdown).resume(()),
            CoroutineState::Complete(())
        );
        let _ = Pin::new(&mut countdown).resume(());
    }
}
