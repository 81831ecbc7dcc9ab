//! `livelock-corridor`: a livelock, and how a progress count tells it from a deadlock (book section
//! "Testing For Deadlocks", the corridor aside).
//!
//! The book describes a livelock only in words: two people meet in a corridor and both politely
//! side-step, into each other's way, again and again. Here the two people are tasks. Each round,
//! both walkers look at where the other stands; then, if they block each other, each steps to the
//! side the other is *not* on. Both reason the same way, so both step at once and block each other
//! again. They are busy (every round is a step), yet nobody gets past.
//!
//! Run it with `cargo run -p ch11 -- livelock-corridor`. You will see the polite rule caught by the
//! timeout after 1 s of virtual time, with 100 steps each and nobody past; then a priority rule
//! (walker 1 keeps its side, walker 2 moves) lets them pass after one step.
//!
//! The same `timeout` that detects a deadlock detects a livelock; what tells them apart is a
//! progress count. A deadlock does no work (no steps); a livelock does plenty of work that leads
//! nowhere (many steps, no pass). See [`diagnose`].
//!
//! Two design points make the test deterministic and safe:
//!
//! - **Lockstep by barriers.** Every round has two `Barrier` waits: one before looking (both have
//!   finished their last step) and one before stepping (both have looked). So both walkers always
//!   see the same picture, whatever the scheduler does.
//! - **Each step takes time.** The paused clock moves only when every task is waiting. A livelock
//!   whose loop never waits on a timer keeps the runtime busy, so the clock would never reach the
//!   timeout and the test would hang. Each step here takes 10 ms (a `sleep`, virtual), and the
//!   loop also stops after [`ROUND_CAP`] rounds as a second guard.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::demo::{Args, DemoResult};
use tokio::sync::Barrier;
use tokio::time::{sleep, timeout};

/// How long one side-step takes (virtual time).
pub const STEP: Duration = Duration::from_millis(10);

/// How long the test lets the walkers try before it calls the corridor stuck.
pub const PATIENCE: Duration = Duration::from_secs(1);

/// The second guard: a walker gives up after this many rounds, even if no timer ever fires.
pub const ROUND_CAP: usize = 10_000;

/// How a walker decides where to step when the other one blocks its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Both walkers step to the side the other is not on: both move, and block each other again.
    Polite,
    /// Walker 1 keeps its side and walker 2 steps aside: the symmetry is broken.
    Priority,
}

/// A side of the corridor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The left side.
    Left,
    /// The right side.
    Right,
}

impl Side {
    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        }
    }
}

impl Rule {
    /// Where walker `me` (0 or 1) goes when both stand on `side`.
    pub fn next_side(self, me: usize, side: Side) -> Side {
        match (self, me) {
            // "Step out of the other's way": the other is on `side`, so go to the other side.
            (Rule::Polite, _) => side.other(),
            (Rule::Priority, 0) => side,
            (Rule::Priority, _) => side.other(),
        }
    }
}

/// Two walkers meet on the same side of a corridor and follow `rule` until they pass each other,
/// [`PATIENCE`] runs out, or [`ROUND_CAP`] is reached. Call it on a paused clock.
pub async fn corridor(rule: Rule) -> Walk {
    let corridor = Arc::new(Corridor::default());
    let look = Arc::new(Barrier::new(2));
    let step = Arc::new(Barrier::new(2));
    let mut walkers = Vec::new();
    for me in 0..2 {
        walkers.push(tokio::spawn(walk(
            me,
            rule,
            Arc::clone(&corridor),
            Arc::clone(&look),
            Arc::clone(&step),
        )));
    }

    let started = tokio::time::Instant::now();
    let result = timeout(PATIENCE, async {
        let mut passed = true;
        for walker in &mut walkers {
            passed &= walker.await.unwrap_or(false);
        }
        passed
    })
    .await;
    let waited = started.elapsed();
    for walker in &walkers {
        walker.abort();
    }
    Walk {
        timed_out: result.is_err(),
        passed: result.unwrap_or(false),
        steps: [0, 1].map(|me| corridor.steps[me].load(Ordering::SeqCst)),
        waited,
    }
}

/// Where the two walkers stand (`true` = left) and how many steps each has taken. Atomics because
/// two tasks share it; the barriers, not the atomics, order the reads and writes.
#[derive(Debug)]
struct Corridor {
    on_left: [AtomicBool; 2],
    steps: [AtomicUsize; 2],
}

impl Default for Corridor {
    fn default() -> Self {
        // Both walkers start on the left: face to face.
        Corridor {
            on_left: [AtomicBool::new(true), AtomicBool::new(true)],
            steps: [AtomicUsize::new(0), AtomicUsize::new(0)],
        }
    }
}

impl Corridor {
    fn side(&self, who: usize) -> Side {
        if self.on_left[who].load(Ordering::SeqCst) {
            Side::Left
        } else {
            Side::Right
        }
    }

    fn stand(&self, who: usize, side: Side) {
        self.on_left[who].store(side == Side::Left, Ordering::SeqCst);
    }
}

/// One walker: look, and if blocked, step by `rule`; returns whether it got past.
async fn walk(
    me: usize,
    rule: Rule,
    corridor: Arc<Corridor>,
    look: Arc<Barrier>,
    step: Arc<Barrier>,
) -> bool {
    let other = 1 - me;
    for _ in 0..ROUND_CAP {
        look.wait().await; // both have finished their last step
        let mine = corridor.side(me);
        if mine != corridor.side(other) {
            return true; // different sides: we pass each other
        }
        step.wait().await; // both have looked before either moves
        corridor.stand(me, rule.next_side(me, mine));
        corridor.steps[me].fetch_add(1, Ordering::SeqCst);
        sleep(STEP).await;
    }
    false
}

/// What [`corridor`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walk {
    /// Both walkers got past each other.
    pub passed: bool,
    /// The timeout fired first.
    pub timed_out: bool,
    /// Steps taken by each walker.
    pub steps: [usize; 2],
    /// How long the test waited, on the runtime's clock.
    pub waited: Duration,
}

/// The verdict of a bounded wait, from whether it finished and how much work was done meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Diagnosis {
    /// The work finished.
    Progress,
    /// Nothing finished and nothing happened: everyone waits for everyone.
    Deadlock,
    /// Nothing finished although work kept happening: busy without progress.
    Livelock,
}

/// Tells a deadlock from a livelock: both make a bounded wait expire; only a livelock does work.
pub fn diagnose(finished: bool, steps: usize) -> Diagnosis {
    match (finished, steps) {
        (true, _) => Diagnosis::Progress,
        (false, 0) => Diagnosis::Deadlock,
        (false, _) => Diagnosis::Livelock,
    }
}

impl Walk {
    /// This walk's [`Diagnosis`].
    pub fn diagnosis(&self) -> Diagnosis {
        diagnose(self.passed, self.steps[0] + self.steps[1])
    }
}

fn paused_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
}

/// Runs the demo (no arguments).
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    let runtime = paused_runtime()?;

    let real = std::time::Instant::now();
    let polite = runtime.block_on(corridor(Rule::Polite));
    let real = real.elapsed();
    if polite.diagnosis() != Diagnosis::Livelock {
        return Err(format!("the polite rule did not livelock: {polite:?}").into());
    }
    println!(
        "polite rule: livelock detected after {:?} virtual ({:.1} ms real) — {} and {} steps, nobody passed",
        polite.waited,
        real.as_secs_f64() * 1e3,
        polite.steps[0],
        polite.steps[1]
    );
    println!("  (a deadlock would show the same timeout with 0 steps: the count tells them apart)");

    let priority = runtime.block_on(corridor(Rule::Priority));
    if priority.diagnosis() != Diagnosis::Progress {
        return Err(format!("the priority rule did not pass: {priority:?}").into());
    }
    println!(
        "priority rule (walker 1 keeps its side, walker 2 moves): passed after {} step, {:?} virtual",
        priority.steps[0], priority.waited
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_polite_rule_livelocks_and_the_timeout_detects_it() {
        let walk = corridor(Rule::Polite).await;
        assert!(walk.timed_out, "{walk:?}");
        assert!(!walk.passed);
        assert_eq!(walk.waited, PATIENCE);
        // Busy: a step every 10 ms for 1 s (100 measured), in lockstep.
        assert!(walk.steps[0] >= 90, "{walk:?}");
        assert_eq!(walk.steps[0], walk.steps[1]);
        assert_eq!(walk.diagnosis(), Diagnosis::Livelock);
    }

    #[tokio::test(start_paused = true)]
    async fn the_priority_rule_passes_after_one_round() {
        let walk = corridor(Rule::Priority).await;
        assert!(walk.passed && !walk.timed_out, "{walk:?}");
        assert_eq!(walk.steps, [1, 1]);
        assert_eq!(walk.waited, STEP);
        assert_eq!(walk.diagnosis(), Diagnosis::Progress);
    }

    #[test]
    fn the_livelock_is_the_same_on_every_run() {
        let runtime = paused_runtime().unwrap();
        let first = runtime.block_on(corridor(Rule::Polite));
        for _ in 0..5 {
            assert_eq!(runtime.block_on(corridor(Rule::Polite)), first);
        }
    }

    #[test]
    fn a_step_count_tells_deadlock_from_livelock() {
        assert_eq!(diagnose(false, 0), Diagnosis::Deadlock);
        assert_eq!(diagnose(false, 200), Diagnosis::Livelock);
        assert_eq!(diagnose(true, 2), Diagnosis::Progress);
    }

    #[test]
    fn the_rules_step_as_described() {
        assert_eq!(Rule::Polite.next_side(0, Side::Left), Side::Right);
        assert_eq!(Rule::Polite.next_side(1, Side::Left), Side::Right);
        assert_eq!(Rule::Priority.next_side(0, Side::Left), Side::Left);
        assert_eq!(Rule::Priority.next_side(1, Side::Left), Side::Right);
    }

    #[test]
    fn the_demo_runs_and_rejects_arguments() {
        run(Args::default()).unwrap();
        assert!(run(Args::from_iter(["--x"])).is_err());
    }
}
