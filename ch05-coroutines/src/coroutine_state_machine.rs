//! `coroutine-state-machine` (book sections "Introducing Coroutines" and "What Are Coroutines?"):
//! a subroutine returns once; a coroutine is resumed again and again.
//!
//! The book explains coroutines with a picture (Figure 5-1) and no code. Here are the three ideas
//! in code:
//!
//! 1. **A subroutine** ([`running_total`]) runs from start to end and returns one value.
//! 2. **A coroutine** ([`RunningTotal`]) does the same sum, but hands back each partial total and
//!    stops there until it is resumed. Its locals survive the pause because they live *inside the
//!    coroutine value*: we write the state machine that the compiler makes of a body with `yield`
//!    in it, an enum with one variant per place the body can be paused. Main does work of its own
//!    between resumes: the coroutine never blocks it.
//! 3. **Cooperative versus preemptive.** Two [`StepCoroutine`]s, A and B, take turns on one thread:
//!    each runs until it chooses to pause, then the driver resumes the other (A1 B1 A2 B2 A3 B3).
//!    The same steps on two threads overlap instead, scheduled by the OS. The timeline chart shows
//!    both.
//!
//! With the `nightly` feature, `native::running_total` is the same coroutine written with `yield`,
//! and the demo checks that it yields the same values.
//!
//! Run it with `cargo run -p ch05 -- coroutine-state-machine [--step-ms N]` (default 20 ms per
//! step: about 0.2 s in all).

use std::pin::Pin;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use common::Timeline;
use common::demo::{Args, DemoResult};
use common::timeline::{current_thread_name, format_duration};

use crate::coroutine::{Coroutine, CoroutineState, resumed_after_completion};

/// A subroutine: adds `1 + 2 + … + n` and returns once.
pub fn running_total(n: u64) -> u64 {
    let mut total = 0;
    for i in 1..=n {
        total += i;
    }
    total
}

/// The same sum as a coroutine: yields the running total after each addition and completes with
/// the final one (`RunningTotal::new(3)` yields 1, 3, 6, then completes with 6).
///
/// This enum is what the compiler generates for a coroutine body like
///
/// ```text
/// move || {
///     let mut total = 0;
///     for i in 1..=n {
///         total += i;
///         yield total;   // the only pause point: variant `Suspended`
///     }
///     total
/// }
/// ```
///
/// `Start` holds the captured `n` before the first resume, `Suspended` the locals alive across
/// the `yield` (`i`, `n`, `total`), and `Done` nothing: after completion there is nothing left to
/// run, and a further resume panics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunningTotal {
    /// Not started yet: only what the closure captured.
    Start {
        /// How far to count.
        n: u64,
    },
    /// Paused at the `yield`, with the locals that live across it.
    Suspended {
        /// The loop counter: the last number added.
        i: u64,
        /// How far to count.
        n: u64,
        /// The sum so far (what was just yielded).
        total: u64,
    },
    /// Completed.
    Done,
}

impl RunningTotal {
    /// A coroutine that will sum `1..=n`.
    pub fn new(n: u64) -> Self {
        RunningTotal::Start { n }
    }
}

impl Coroutine for RunningTotal {
    type Yield = u64;
    type Return = u64;

    fn resume(self: Pin<&mut Self>, (): ()) -> CoroutineState<u64, u64> {
        // `RunningTotal` is `Unpin` (it holds only numbers), so it can be changed in place.
        let this = Pin::get_mut(self);
        // Where the body carries on from: the top of the loop, with the next `i`.
        let (i, n, total) = match *this {
            RunningTotal::Start { n } => (1, n, 0),
            RunningTotal::Suspended { i, n, total } => (i + 1, n, total),
            RunningTotal::Done => resumed_after_completion(),
        };
        if i > n {
            *this = RunningTotal::Done;
            return CoroutineState::Complete(total);
        }
        let total = total + i;
        *this = RunningTotal::Suspended { i, n, total };
        CoroutineState::Yielded(total)
    }
}

/// A coroutine that does `steps` steps of simulated work (`work` each, a blocking sleep standing
/// in for computation), pausing after each one; it yields the step's name (`"A1"`, `"A2"`, …)
/// and records each step as a span on its timeline row.
#[derive(Debug)]
pub struct StepCoroutine {
    name: char,
    done: u32,
    steps: u32,
    work: Duration,
    timeline: Timeline,
    row: String,
}

impl StepCoroutine {
    /// Coroutine `name` with `steps` steps of `work` each, drawn on `timeline` in row `row`.
    pub fn new(
        name: char,
        steps: u32,
        work: Duration,
        timeline: &Timeline,
        row: impl Into<String>,
    ) -> Self {
        StepCoroutine {
            name,
            done: 0,
            steps,
            work,
            timeline: timeline.clone(),
            row: row.into(),
        }
    }
}

impl Coroutine for StepCoroutine {
    type Yield = String;
    type Return = ();

    fn resume(mut self: Pin<&mut Self>, (): ()) -> CoroutineState<String, ()> {
        if self.done > self.steps {
            resumed_after_completion();
        }
        if self.done == self.steps {
            self.done += 1;
            return CoroutineState::Complete(());
        }
        self.done += 1;
        let _step = self.timeline.span(self.row.clone());
        thread::sleep(self.work);
        CoroutineState::Yielded(format!("{}{}", self.name, self.done))
    }
}

/// Resumes the coroutines in turn, round-robin, on the calling thread until all complete, and
/// returns what they yielded, in the order they yielded it.
// Book: the prose says a coroutine can pause by yielding to another coroutine; Rust's coroutines
// are asymmetric, a resume always returns to whoever called it, so a driver such as this loop
// decides who runs next (the book concedes it under "Calling a Coroutine from a Coroutine").
// Book: "coroutines remove the need for mutexes" holds only while every coroutine stays on one
// thread, as here; the Testing section's coroutines share an `Arc<Mutex>`.
pub fn take_turns(coroutines: &mut [StepCoroutine]) -> Vec<String> {
    let mut log = Vec::new();
    let mut live = vec![true; coroutines.len()];
    while live.contains(&true) {
        for (coroutine, live) in coroutines.iter_mut().zip(live.iter_mut()) {
            if !*live {
                continue;
            }
            match Pin::new(coroutine).resume(()) {
                CoroutineState::Yielded(step) => log.push(step),
                CoroutineState::Complete(()) => *live = false,
            }
        }
    }
    log
}

/// What one thread of [`on_two_threads`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadRun {
    /// The thread's name (`coroutine-A`, `coroutine-B`).
    pub thread: String,
    /// What its coroutine yielded.
    pub steps: Vec<String>,
}

/// Runs each coroutine to completion on a thread of its own. Both threads wait at a `Barrier`
/// before their first step, so they certainly run at the same time.
pub fn on_two_threads(a: StepCoroutine, b: StepCoroutine) -> std::io::Result<[ThreadRun; 2]> {
    let barrier = Arc::new(Barrier::new(2));
    let spawn = |mut coroutine: StepCoroutine| {
        let barrier = Arc::clone(&barrier);
        thread::Builder::new()
            .name(format!("coroutine-{}", coroutine.name))
            .spawn(move || {
                barrier.wait();
                let (steps, ()) = crate::coroutine::drain(Pin::new(&mut coroutine));
                ThreadRun {
                    thread: current_thread_name(),
                    steps,
                }
            })
    };
    let first = spawn(a)?;
    // If the second thread cannot start, the first would wait at the barrier forever: the error
    // is returned and that thread is left parked (the process is about to report and exit).
    let second = spawn(b)?;
    let join = |handle: thread::JoinHandle<ThreadRun>| {
        handle
            .join()
            .map_err(|_| std::io::Error::other("a coroutine thread panicked"))
    };
    Ok([join(first)?, join(second)?])
}

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let step_ms = args.value_in("step-ms", 20u64, 0..=1_000)?;
    args.finish()?;
    let work = Duration::from_millis(step_ms);

    let once = running_total(3);
    println!("1. A subroutine runs start to end and returns once: running_total(3) = {once}");

    println!("2. A coroutine is resumed again and again; main works between resumes:");
    let mut coroutine = RunningTotal::new(3);
    let mut yields = Vec::new();
    loop {
        match Pin::new(&mut coroutine).resume(()) {
            CoroutineState::Yielded(total) => {
                println!("   resume -> Yielded({total})   state now {coroutine:?}");
                yields.push(total);
                println!("   (main does some work of its own)");
            }
            CoroutineState::Complete(total) => {
                println!("   resume -> Complete({total})  state now {coroutine:?}");
                break;
            }
        }
    }
    #[cfg(feature = "nightly")]
    {
        let mut native = crate::native::Native::new(crate::native::running_total(3));
        let (native_yields, native_total) = crate::coroutine::drain(Pin::new(&mut native));
        if native_yields != yields || native_total != running_total(3) {
            return Err(
                format!("native coroutine yielded {native_yields:?}, {native_total}").into(),
            );
        }
        println!(
            "   nightly: native coroutine yielded the same {} values; sizes: hand-written {} bytes, native {} bytes",
            yields.len(),
            size_of_val(&RunningTotal::new(3)),
            size_of_val(&crate::native::running_total(3)),
        );
    }

    println!("3. Two coroutines, A and B, three steps of {step_ms} ms each:");
    let timeline = Timeline::new();
    let start = Instant::now();
    let mut pair = [
        StepCoroutine::new('A', 3, work, &timeline, "coroutine A"),
        StepCoroutine::new('B', 3, work, &timeline, "coroutine B"),
    ];
    let turns = take_turns(&mut pair);
    println!(
        "   taking turns on thread {}: {} in {}",
        current_thread_name(),
        turns.join(" "),
        format_duration(start.elapsed())
    );
    let start = Instant::now();
    let runs = on_two_threads(
        StepCoroutine::new('A', 3, work, &timeline, "coroutine A"),
        StepCoroutine::new('B', 3, work, &timeline, "coroutine B"),
    )?;
    let elapsed = start.elapsed();
    for run in &runs {
        println!("   on thread {}: {}", run.thread, run.steps.join(" "));
    }
    println!(
        "   preempted by the OS, overlapping: {}",
        format_duration(elapsed)
    );
    println!("   (left: turns on main; right: the same steps on two threads, side by side)");
    print!("{}", timeline.render());
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::coroutine::drain;

    /// Runs `f` on a helper thread and fails if it takes longer than 10 s (a deadlock in the code
    /// under test fails the test instead of hanging it).
    fn within_10s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(Duration::from_secs(10))
            .expect("timed out (or panicked)")
    }

    #[test]
    fn the_subroutine_returns_once_with_the_sum() {
        assert_eq!(running_total(3), 6);
        assert_eq!(running_total(0), 0);
    }

    #[test]
    fn the_state_machine_yields_1_3_6_then_completes_with_6() {
        let mut c = RunningTotal::new(3);
        let mut states = Vec::new();
        for _ in 0..4 {
            states.push(Pin::new(&mut c).resume(()));
        }
        assert_eq!(
            states,
            [
                CoroutineState::Yielded(1),
                CoroutineState::Yielded(3),
                CoroutineState::Yielded(6),
                CoroutineState::Complete(6),
            ]
        );
        assert_eq!(c, RunningTotal::Done);
        // Between resumes the locals sit in the value.
        let mut c = RunningTotal::new(3);
        let _ = Pin::new(&mut c).resume(());
        let _ = Pin::new(&mut c).resume(());
        assert_eq!(
            c,
            RunningTotal::Suspended {
                i: 2,
                n: 3,
                total: 3
            }
        );
    }

    #[test]
    fn zero_steps_completes_at_once() {
        assert_eq!(drain(Pin::new(&mut RunningTotal::new(0))), (vec![], 0));
    }

    #[test]
    #[should_panic(expected = "resumed after completion")]
    fn a_resume_after_complete_panics() {
        let mut c = RunningTotal::new(1);
        assert_eq!(drain(Pin::new(&mut c)), (vec![1], 1));
        let _ = Pin::new(&mut c).resume(());
    }

    #[test]
    #[should_panic(expected = "resumed after completion")]
    fn a_step_coroutine_resumed_after_complete_panics() {
        let timeline = Timeline::new();
        let mut c = StepCoroutine::new('A', 1, Duration::ZERO, &timeline, "A");
        assert_eq!(drain(Pin::new(&mut c)), (vec!["A1".to_string()], ()));
        let _ = Pin::new(&mut c).resume(());
    }

    #[test]
    fn taking_turns_alternates_on_one_thread() {
        let timeline = Timeline::new();
        let mut pair = [
            StepCoroutine::new('A', 3, Duration::ZERO, &timeline, "A"),
            StepCoroutine::new('B', 3, Duration::ZERO, &timeline, "B"),
        ];
        assert_eq!(take_turns(&mut pair), ["A1", "B1", "A2", "B2", "A3", "B3"]);
        let spans = timeline.spans();
        let labels: Vec<&str> = spans.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["A", "B", "A", "B", "A", "B"]);
        let me = current_thread_name();
        assert!(spans.iter().all(|s| s.thread == me), "{spans:?}");
    }

    #[test]
    fn on_two_threads_both_run_at_once_on_different_threads() {
        let runs = within_10s(|| {
            let timeline = Timeline::new();
            on_two_threads(
                StepCoroutine::new('A', 3, Duration::ZERO, &timeline, "A"),
                StepCoroutine::new('B', 3, Duration::ZERO, &timeline, "B"),
            )
            .map(|runs| (runs, timeline.spans()))
        });
        // Getting here at all means both threads reached the barrier together.
        let (runs, spans) = runs.expect("threads start");
        assert_eq!(runs[0].thread, "coroutine-A");
        assert_eq!(runs[1].thread, "coroutine-B");
        assert_eq!(runs[0].steps, ["A1", "A2", "A3"]);
        assert_eq!(runs[1].steps, ["B1", "B2", "B3"]);
        for (row, thread) in [("A", "coroutine-A"), ("B", "coroutine-B")] {
            let mine: Vec<_> = spans.iter().filter(|s| s.label == row).collect();
            assert_eq!(mine.len(), 3);
            assert!(mine.iter().all(|s| s.thread == thread), "{spans:?}");
        }
    }
}
