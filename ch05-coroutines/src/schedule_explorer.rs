//! `schedule-explorer`: every order in which the Testing section's coroutines can be resumed,
//! each checked for the same invariants (Extra, after "Testing Coroutines").
//!
//! A test that chooses the order of resumes can choose *every* order. [`explore`] does it by a
//! depth-first search over one question, asked again after each step: which unfinished coroutine
//! is resumed next? Each branch is a schedule; at its leaf every coroutine has completed, and the
//! run is checked: the shared value ends at `count × threshold`, it grows by exactly one per
//! resume, and each coroutine completes on its `threshold`-th resume, never earlier.
//!
//! A coroutine's state cannot be copied to try two branches from the same point (a native one
//! cannot even be looked into), so the search *replays*: every node is rebuilt by running its
//! schedule prefix on fresh coroutines. Model checkers such as loom (chapter 11) work the same
//! way. Two coroutines of threshold 2 have 4!/(2!·2!) = 6 schedules; three have
//! 6!/(2!·2!·2!) = 90. Then each 2-coroutine schedule is run again with the test holding the lock
//! during one of its 4 steps (24 variants): that resume must yield and change nothing, and is
//! repeated once the lock is released.
//!
//! Run it with `cargo run -p ch05 -- schedule-explorer`. It prints the counts, the six schedules
//! and a chart of one of them, drawn on a step clock: one step, one millisecond of virtual time.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use common::Timeline;
use common::demo::{Args, DemoResult};
use common::timeline::current_thread_name;

use crate::coroutine::Coroutine;
use crate::mutex_coroutines::{MutexCoroutine, check_yield, value};

/// Depth-first search over resume orders: every schedule in which `count` coroutines made by
/// `make` (each sharing one fresh mutex, each with `threshold`) are resumed until all complete.
pub fn explore<C, F>(count: usize, threshold: u8, make: &F) -> Vec<Run>
where
    C: Explorable,
    F: Fn(Arc<Mutex<u8>>, u8) -> C,
{
    let mut runs = Vec::new();
    let mut prefix = Vec::new();
    search(&mut prefix, count, threshold, make, &mut runs);
    runs
}

fn search<C, F>(prefix: &mut Vec<usize>, count: usize, threshold: u8, make: &F, runs: &mut Vec<Run>)
where
    C: Explorable,
    F: Fn(Arc<Mutex<u8>>, u8) -> C,
{
    // Rebuild this node by replaying its prefix; what is unfinished is what the coroutines said.
    let run = replay(prefix, None, count, threshold, make);
    let unfinished: Vec<usize> = (0..count).filter(|&who| !run.finished[who]).collect();
    if unfinished.is_empty() {
        runs.push(run);
        return;
    }
    for who in unfinished {
        prefix.push(who);
        search(prefix, count, threshold, make, runs);
        prefix.pop();
    }
}

/// What the explorer may read from a coroutine between resumes, beyond what it yields.
pub trait Explorable: Coroutine<(), Yield = (), Return = ()> + Unpin {
    /// Its remaining threshold, if it can be seen (a native coroutine's cannot).
    fn threshold(&self) -> Option<u8> {
        None
    }
}

impl Explorable for MutexCoroutine {
    fn threshold(&self) -> Option<u8> {
        Some(self.threshold)
    }
}

/// One resume in a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Which coroutine (0, 1, …).
    pub who: usize,
    /// Whether the test held the lock during this resume.
    pub blocked: bool,
    /// `true` if it yielded, `false` if it completed.
    pub yielded: bool,
    /// The shared value after the resume.
    pub value: u8,
    /// The coroutine's threshold before and after the resume, where it can be seen.
    pub threshold: Option<(u8, u8)>,
}

/// One schedule, run to the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The order of resumes the search chose (without the repeated blocked resume).
    pub schedule: Vec<usize>,
    /// Every resume, in order, the blocked one included.
    pub steps: Vec<Step>,
    /// Which coroutines have completed.
    pub finished: Vec<bool>,
    /// The shared value at the end.
    pub value: u8,
}

impl Run {
    /// What any coroutine, native or hand-written, lets us see of the run: who was resumed,
    /// whether the test held the lock, what came back and the value.
    pub fn outcome(&self) -> Vec<(usize, bool, bool, u8)> {
        self.steps
            .iter()
            .map(|s| (s.who, s.blocked, s.yielded, s.value))
            .collect()
    }

    /// The schedule as letters: `ABAB`.
    pub fn letters(&self) -> String {
        self.schedule.iter().map(|&who| letter(who)).collect()
    }
}

/// `A`, `B`, `C`, … for coroutine 0, 1, 2, …
pub fn letter(who: usize) -> char {
    char::from(b'A' + (who % 26) as u8)
}

/// Runs `schedule` on `count` fresh coroutines. If `blocked_at` is `Some(k)`, the test holds the
/// lock during the `k`-th resume, then releases it and repeats that resume.
pub fn replay<C, F>(
    schedule: &[usize],
    blocked_at: Option<usize>,
    count: usize,
    threshold: u8,
    make: &F,
) -> Run
where
    C: Explorable,
    F: Fn(Arc<Mutex<u8>>, u8) -> C,
{
    let handle = Arc::new(Mutex::new(0));
    let mut coroutines: Vec<C> = (0..count)
        .map(|_| make(handle.clone(), threshold))
        .collect();
    let mut finished = vec![false; count];
    let mut steps = Vec::new();
    for (position, &who) in schedule.iter().enumerate() {
        let coroutine = &mut coroutines[who];
        if blocked_at == Some(position) {
            let lock = handle.lock().unwrap_or_else(PoisonError::into_inner);
            let before = coroutine.threshold();
            let yielded = check_yield(coroutine);
            steps.push(Step {
                who,
                blocked: true,
                yielded,
                value: *lock,
                threshold: before.zip(coroutine.threshold()),
            });
            finished[who] |= !yielded;
            if finished[who] {
                break; // a blocked resume that completed breaks the invariants; stop here
            }
        }
        let before = coroutine.threshold();
        let yielded = check_yield(coroutine);
        steps.push(Step {
            who,
            blocked: false,
            yielded,
            value: value(&handle),
            threshold: before.zip(coroutine.threshold()),
        });
        finished[who] = !yielded;
    }
    Run {
        schedule: schedule.to_vec(),
        steps,
        finished,
        value: value(&handle),
    }
}

/// Checks a finished run against the invariants: value `count × threshold` at the end and one
/// more after every unblocked resume; a blocked resume yields and changes neither the value nor
/// the threshold; each coroutine completes on its `threshold`-th unblocked resume, never earlier.
pub fn check(run: &Run, count: usize, threshold: u8) -> Result<(), String> {
    let fail = |why: String| Err(format!("schedule {}: {why}", run.letters()));
    let expected_end = usize::from(threshold) * count;
    if usize::from(run.value) != expected_end {
        return fail(format!("ends at {}, expected {expected_end}", run.value));
    }
    let mut value = 0u8;
    let mut successes = vec![0u8; count];
    for step in &run.steps {
        if step.blocked {
            if !step.yielded || step.value != value {
                return fail(format!("a blocked resume made progress: {step:?}"));
            }
            if let Some((before, after)) = step.threshold
                && before != after
            {
                return fail(format!("a blocked resume changed the threshold: {step:?}"));
            }
            continue;
        }
        value += 1;
        successes[step.who] += 1;
        if step.value != value {
            return fail(format!("value {} after step {step:?}", step.value));
        }
        let should_complete = successes[step.who] == threshold;
        if step.yielded == should_complete {
            return fail(format!(
                "{} completed on its resume {} (threshold {threshold})",
                letter(step.who),
                successes[step.who]
            ));
        }
    }
    if successes.iter().any(|&s| s != threshold) {
        return fail(format!("resumes per coroutine {successes:?}"));
    }
    Ok(())
}

/// Every 2-coroutine schedule of `runs`, replayed with the lock held during each of its steps.
pub fn blocked_variants<C, F>(runs: &[Run], threshold: u8, make: &F) -> Vec<Run>
where
    C: Explorable,
    F: Fn(Arc<Mutex<u8>>, u8) -> C,
{
    let mut variants = Vec::new();
    for run in runs {
        for position in 0..run.schedule.len() {
            variants.push(replay(
                &run.schedule,
                Some(position),
                run.finished.len(),
                threshold,
                make,
            ));
        }
    }
    variants
}

/// Everything the demo and the tests look at: the 2- and 3-coroutine searches and the 24
/// lock-held variants, all of threshold 2.
#[derive(Debug)]
pub struct Exploration {
    /// Every schedule of two coroutines.
    pub two: Vec<Run>,
    /// Every schedule of three coroutines.
    pub three: Vec<Run>,
    /// Every schedule of two, with the test holding the lock during one step.
    pub blocked: Vec<Run>,
}

/// The threshold of every coroutine in [`explore_all`].
pub const THRESHOLD: u8 = 2;

/// Runs the three searches with coroutines made by `make` and checks every run.
pub fn explore_all<C, F>(make: &F) -> Result<Exploration, String>
where
    C: Explorable,
    F: Fn(Arc<Mutex<u8>>, u8) -> C,
{
    let two = explore(2, THRESHOLD, make);
    let three = explore(3, THRESHOLD, make);
    let blocked = blocked_variants(&two, THRESHOLD, make);
    for run in &two {
        check(run, 2, THRESHOLD)?;
    }
    for run in &three {
        check(run, 3, THRESHOLD)?;
    }
    for run in &blocked {
        check(run, 2, THRESHOLD)?;
    }
    Ok(Exploration {
        two,
        three,
        blocked,
    })
}

/// The book's coroutine, for [`explore`].
pub fn mutex_coroutine(handle: Arc<Mutex<u8>>, threshold: u8) -> MutexCoroutine {
    MutexCoroutine { handle, threshold }
}

/// A run drawn on a step clock: step `k` is the span from `k` ms to `k + 1` ms in its
/// coroutine's row; a blocked step is also a span in row "test holds lock".
pub fn chart(run: &Run) -> Timeline {
    let timeline = Timeline::new();
    let thread = current_thread_name();
    let ms = Duration::from_millis;
    for (k, step) in (0u64..).zip(&run.steps) {
        if step.blocked {
            timeline.record("test holds lock", &thread, ms(k), ms(k + 1));
        }
        let label = format!("coroutine {}", letter(step.who));
        timeline.record(label, &thread, ms(k), ms(k + 1));
    }
    timeline
}

/// Runs the demo: `schedule-explorer`.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    let found = explore_all(&mutex_coroutine)?;
    println!(
        "2 coroutines: {} schedules, 3 coroutines: {} schedules, all end at {} / {}",
        found.two.len(),
        found.three.len(),
        2 * THRESHOLD,
        3 * THRESHOLD
    );
    let letters: Vec<String> = found.two.iter().map(Run::letters).collect();
    println!("the 2-coroutine schedules: {}", letters.join(" "));
    println!(
        "{} lock-held variants (each schedule, the test holding the lock during one step): \
         every blocked resume yielded and changed neither value nor threshold",
        found.blocked.len()
    );
    println!("every coroutine completed on its second resume that got the lock, never earlier");

    // Schedule ABBA with the lock held during its third step (index 2).
    if let Some(shown) = found
        .blocked
        .iter()
        .find(|r| r.letters() == "ABBA" && r.steps.get(2).is_some_and(|s| s.blocked))
    {
        println!(
            "\nschedule {} with the test holding the lock at step 3 (one step = 1 ms of a step clock):",
            shown.letters()
        );
        print!("{}", chart(shown).render_width(40));
    }

    #[cfg(feature = "nightly")]
    {
        let native = crate::native::scheduling::explore_native()?;
        let same = |a: &[Run], b: &[Run]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.outcome() == y.outcome())
        };
        if !(same(&native.two, &found.two)
            && same(&native.three, &found.three)
            && same(&native.blocked, &found.blocked))
        {
            return Err("the native coroutines behaved differently".into());
        }
        println!(
            "\nnightly: native coroutines gave the same {} / {} / {} runs",
            native.two.len(),
            native.three.len(),
            native.blocked.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_and_three_coroutines_have_6_and_90_schedules_all_correct() {
        let found = explore_all(&mutex_coroutine).expect("every run keeps the invariants");
        assert_eq!(found.two.len(), 6); // 4! / (2! 2!)
        assert_eq!(found.three.len(), 90); // 6! / (2! 2! 2!)
        assert!(found.two.iter().all(|r| r.value == 4));
        assert!(found.three.iter().all(|r| r.value == 6));

        let mut letters: Vec<String> = found.two.iter().map(Run::letters).collect();
        letters.sort();
        assert_eq!(letters, ["AABB", "ABAB", "ABBA", "BAAB", "BABA", "BBAA"]);
        let mut distinct: Vec<String> = found.three.iter().map(Run::letters).collect();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 90);
    }

    #[test]
    fn each_coroutine_completes_on_its_second_successful_resume() {
        for run in explore(3, 2, &mutex_coroutine) {
            for who in 0..3 {
                let mine: Vec<bool> = run
                    .steps
                    .iter()
                    .filter(|s| s.who == who)
                    .map(|s| s.yielded)
                    .collect();
                assert_eq!(mine, [true, false], "{}", run.letters());
            }
        }
    }

    #[test]
    fn the_24_lock_held_variants_show_a_blocked_resume_changing_nothing() {
        let found = explore_all(&mutex_coroutine).expect("every run keeps the invariants");
        assert_eq!(found.blocked.len(), 24); // 6 schedules x 4 positions
        for run in &found.blocked {
            let blocked: Vec<&Step> = run.steps.iter().filter(|s| s.blocked).collect();
            assert_eq!(blocked.len(), 1, "{}", run.letters());
            let step = blocked[0];
            assert!(step.yielded);
            let (before, after) = step.threshold.expect("a struct's threshold is visible");
            assert_eq!(before, after);
            assert_eq!(run.steps.len(), 5);
            assert_eq!(run.value, 4);
        }
    }

    #[test]
    fn check_catches_a_coroutine_that_completes_early() {
        // Whatever threshold it is given, this one completes on its first resume.
        let hasty = |handle, _threshold| MutexCoroutine {
            handle,
            threshold: 1,
        };
        let err = explore_all(&hasty).expect_err("an early completion must be caught");
        assert!(err.contains("ends at 2, expected 4"), "{err}");
        let run = replay(&[0, 1], None, 2, 2, &hasty);
        let err = check(&run, 2, 2).expect_err("caught step by step too");
        assert!(err.starts_with("schedule AB:"), "{err}");
    }

    #[test]
    fn the_chart_shows_the_blocked_step_in_its_own_row() {
        let run = replay(&[0, 1, 1, 0], Some(2), 2, 2, &mutex_coroutine);
        check(&run, 2, 2).expect("invariants hold");
        let spans = chart(&run).spans();
        let labels: Vec<&str> = spans.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "coroutine A",
                "coroutine B",
                "test holds lock",
                "coroutine B",
                "coroutine B",
                "coroutine A"
            ]
        );
        assert!(
            spans
                .iter()
                .all(|s| s.duration() == Duration::from_millis(1))
        );
    }
}
