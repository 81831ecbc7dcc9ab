//! `deadlock-timeout`: catching a deadlock with a timeout (book section "Testing For Deadlocks").
//!
//! Two tasks share two `tokio::sync::Mutex`es. Task 1 locks `resource1` then `resource2`; task 2
//! locks them in the opposite order. Once each holds its first lock, each waits for the lock the
//! other holds, and neither ever lets go. A deadlock never ends, so a test cannot wait for it:
//! it bounds the wait with `tokio::time::timeout` and treats the expiry as the detection.
//!
//! Run it with `cargo run -p ch11 -- deadlock-timeout`. You will see the deadlock detected after
//! 5 s of *virtual* time (a fraction of a millisecond of real time), what each task held and wanted
//! at that moment, and then the fix: both tasks take the locks in the same order and finish.
//!
//! Three things make this a test that detects the deadlock on every run, in no time:
//!
//! - **The paused clock.** The runtime starts with its clock paused (`start_paused(true)`, or
//!   `#[tokio::test(start_paused = true)]`): whenever every task is waiting, tokio jumps the clock
//!   to the next timer. Two deadlocked tasks wait forever, so the clock jumps straight to the 5 s
//!   deadline. The book's test spends 5 real seconds; ours spends none, and the elapsed virtual
//!   time is exactly 5 s.
//! - **A barrier instead of hope.** The book's 100 ms sleep makes it *likely* that both tasks hold
//!   their first lock before asking for the second. A `tokio::sync::Barrier` makes it certain: no
//!   task asks for its second lock until both hold their first.
//! - **Asserting the detection.** The book's test is written to fail. Ours asserts that the
//!   timeout fired, and pairs it with the fixed version, whose test asserts that both tasks finish.
//!
//! A limit worth knowing: the timeout catches deadlocks among *async* locks, where a stuck task
//! yields and the runtime stays free to run its timers. Two `std::sync::Mutex`es locked in opposite
//! orders block the runtime's threads themselves; on a current-thread runtime the timer then never
//! runs at all, so such a deadlock must be caught from another OS thread (a watchdog thread with
//! `recv_timeout`, as `common::testing` does for whole programs).

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use common::demo::{Args, DemoResult};
use tokio::sync::{Barrier, Mutex};
use tokio::time::{sleep, timeout};

/// The book's patience: a test that has not finished after 5 s is declared deadlocked.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// The book's pause between a task's first lock and its second.
pub const PAUSE: Duration = Duration::from_millis(100);

/// The book's test body as a function: two tasks, two locks, a timeout around both.
///
/// `order` chooses the book's opposite lock order (a deadlock) or the fix (the same order for
/// both). Call it on a paused clock, so the timeout costs no real time.
pub async fn deadlock_detection(order: LockOrder) -> Detection {
    let resource1 = Arc::new(Resource::new("resource1"));
    let resource2 = Arc::new(Resource::new("resource2"));
    let resource1_clone = Arc::clone(&resource1);
    let resource2_clone = Arc::clone(&resource2);
    let board = Board::default();

    // Book: a sleep alone decides whether both tasks hold their first lock in time; under another
    // scheduler it may not. The barrier guarantees it. (The fixed order needs no barrier, and must
    // not have one: task 2 waits for `resource1` before reaching it, and the barrier would hang.)
    let meet = match order {
        LockOrder::Opposite => Some(Arc::new(Barrier::new(2))),
        LockOrder::Same => None,
    };
    let mut handle1 = tokio::spawn(lock_both(
        0,
        Arc::clone(&resource1),
        Arc::clone(&resource2),
        meet.clone(),
        board.clone(),
    ));
    let (first, second) = match order {
        LockOrder::Opposite => (resource2_clone, resource1_clone),
        LockOrder::Same => (resource1_clone, resource2_clone),
    };
    let mut handle2 = tokio::spawn(lock_both(1, first, second, meet, board.clone()));

    let started = tokio::time::Instant::now();
    // Book: `let _ = handle.await` throws away a task's panic; ours keeps each task's result.
    let (mut joined1, mut joined2) = (None, None);
    let result = timeout(PATIENCE, async {
        joined1 = Some((&mut handle1).await);
        joined2 = Some((&mut handle2).await);
    })
    .await;
    let waited = started.elapsed();
    // Book: the test ends with the two tasks still stuck. Ours takes a snapshot, then aborts them
    // (dropping a task drops its guards) and checks that their locks were released.
    let statuses = board.snapshot();
    // Abort both before awaiting either: a task whose partner is gone would otherwise get the
    // freed lock and finish (which is how aborting one side breaks a real deadlock).
    let stuck: Vec<_> = [(handle1, &joined1), (handle2, &joined2)]
        .into_iter()
        .filter(|(_, joined)| joined.is_none())
        .map(|(handle, _)| handle)
        .collect();
    for handle in &stuck {
        handle.abort();
    }
    for handle in stuck {
        let _ = handle.await; // `Err(cancelled)`: the task is gone, and its guards with it
    }
    let values = match (resource1.value.try_lock(), resource2.value.try_lock()) {
        (Ok(a), Ok(b)) => Some((*a, *b)),
        _ => None,
    };
    Detection {
        finished: match (result, joined1, joined2) {
            (Ok(()), Some(first), Some(second)) => Some(first.is_ok() && second.is_ok()),
            _ => None,
        },
        waited,
        statuses,
        values,
    }
}

/// In which order the second task takes the two locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockOrder {
    /// The book's test: task 2 takes `resource2` first. Deadlocks.
    Opposite,
    /// The fix: both tasks take `resource1` first, so whoever gets it can also get the other.
    Same,
}

/// A named lock guarding a number each task increments once it holds both locks.
#[derive(Debug)]
pub struct Resource {
    /// The name the report prints.
    pub name: &'static str,
    /// The book's `Mutex<i32>`.
    pub value: Mutex<i32>,
}

impl Resource {
    fn new(name: &'static str) -> Self {
        Resource {
            name,
            value: Mutex::new(0),
        }
    }
}

/// Where a task is in its work; the board keeps one per task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Not yet holding anything.
    Starting,
    /// Holds its first lock and has not asked for the second yet.
    Holding(&'static str),
    /// Holds `held` and is waiting for `wanted`.
    Waiting {
        /// The lock this task holds.
        held: &'static str,
        /// The lock it waits for.
        wanted: &'static str,
    },
    /// Took both locks, updated both values and released them.
    Finished,
}

/// One task's work: lock `first`, pause, (meet the other task), lock `second`, add 1 to both.
async fn lock_both(
    task: usize,
    first: Arc<Resource>,
    second: Arc<Resource>,
    meet: Option<Arc<Barrier>>,
    board: Board,
) {
    let mut lock1 = first.value.lock().await;
    board.set(task, Status::Holding(first.name));
    sleep(PAUSE).await;
    if let Some(meet) = meet {
        meet.wait().await;
    }
    board.set(
        task,
        Status::Waiting {
            held: first.name,
            wanted: second.name,
        },
    );
    let mut lock2 = second.value.lock().await;
    *lock1 += 1;
    *lock2 += 1;
    board.set(task, Status::Finished);
}

/// Each task's [`Status`], readable while the tasks are stuck. A `std` mutex is right here: it is
/// held only for a copy, never across an `.await`.
#[derive(Debug, Clone, Default)]
struct Board(Arc<std::sync::Mutex<[Option<Status>; 2]>>);

impl Board {
    fn set(&self, task: usize, status: Status) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)[task] = Some(status);
    }

    fn snapshot(&self) -> [Status; 2] {
        let board = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        board.map(|s| s.unwrap_or(Status::Starting))
    }
}

/// What [`deadlock_detection`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    /// `None` if the timeout fired (the deadlock was detected); `Some(true)` if both tasks
    /// finished in time, `Some(false)` if one of them panicked.
    pub finished: Option<bool>,
    /// How long the test waited, on the runtime's clock (virtual time when it is paused).
    pub waited: Duration,
    /// What each task held and wanted when the wait ended.
    pub statuses: [Status; 2],
    /// `(resource1, resource2)` read after the tasks ended or were aborted; `None` if a lock was
    /// still taken (it never is: aborting a task drops its guards).
    pub values: Option<(i32, i32)>,
}

impl Detection {
    /// Whether the timeout fired: the test's verdict "a potential deadlock detected".
    pub fn deadlocked(&self) -> bool {
        self.finished.is_none()
    }
}

/// A runtime whose clock starts paused: timers fire as soon as every task waits.
fn paused_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
}

fn describe(statuses: &[Status; 2]) -> String {
    let line = |task: usize, status: &Status| match status {
        Status::Starting => format!("task {} never started", task + 1),
        Status::Holding(held) => format!("task {} holds {held}", task + 1),
        Status::Waiting { held, wanted } => {
            format!("task {} holds {held} and waits for {wanted}", task + 1)
        }
        Status::Finished => format!("task {} finished", task + 1),
    };
    format!("{}, {}", line(0, &statuses[0]), line(1, &statuses[1]))
}

/// Runs the demo (no arguments).
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    let runtime = paused_runtime()?;

    let real = std::time::Instant::now();
    let stuck = runtime.block_on(deadlock_detection(LockOrder::Opposite));
    let real = real.elapsed();
    if !stuck.deadlocked() {
        return Err("the opposite lock order finished: the deadlock was not reproduced".into());
    }
    println!(
        "opposite lock order: deadlock detected — {}",
        describe(&stuck.statuses)
    );
    println!(
        "  gave up after {:?} virtual ({:.1} ms real); aborting both tasks released the locks: {}",
        stuck.waited,
        real.as_secs_f64() * 1e3,
        stuck.values.is_some()
    );

    let fixed = runtime.block_on(deadlock_detection(LockOrder::Same));
    match (fixed.finished, fixed.values) {
        (Some(true), Some((r1, r2))) => println!(
            "same lock order: both tasks finished after {:?} virtual, resource1 = {r1}, resource2 = {r2}",
            fixed.waited
        ),
        _ => return Err(format!("the fixed order did not finish: {fixed:?}").into()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Book: the test asserts `result.is_ok()`, so it fails, after 5 real seconds. Ours asserts
    // that the deadlock is detected, on a paused clock, and the suite stays green.
    #[tokio::test(start_paused = true)]
    async fn test_deadlock_detection() {
        let detection = deadlock_detection(LockOrder::Opposite).await;
        assert!(detection.deadlocked(), "{detection:?}");
        assert_eq!(
            detection.waited, PATIENCE,
            "the timeout fires at exactly 5 s"
        );
        assert_eq!(
            detection.statuses,
            [
                Status::Waiting {
                    held: "resource1",
                    wanted: "resource2"
                },
                Status::Waiting {
                    held: "resource2",
                    wanted: "resource1"
                },
            ]
        );
        // Nobody got both locks, and aborting the stuck tasks released the ones they held.
        assert_eq!(detection.values, Some((0, 0)));
    }

    #[tokio::test(start_paused = true)]
    async fn the_same_lock_order_finishes() {
        let detection = deadlock_detection(LockOrder::Same).await;
        assert_eq!(detection.finished, Some(true), "{detection:?}");
        assert_eq!(detection.statuses, [Status::Finished, Status::Finished]);
        assert_eq!(detection.values, Some((2, 2)));
        // Task 1 holds both locks for its 100 ms pause, then task 2 takes its turn.
        assert_eq!(detection.waited, PAUSE * 2);
    }

    #[test]
    fn detection_is_the_same_on_every_run() {
        let runtime = paused_runtime().unwrap();
        let first = runtime.block_on(deadlock_detection(LockOrder::Opposite));
        for _ in 0..20 {
            assert_eq!(
                runtime.block_on(deadlock_detection(LockOrder::Opposite)),
                first
            );
        }
    }

    #[test]
    fn the_demo_runs_and_rejects_arguments() {
        run(Args::default()).unwrap();
        let err = run(Args::from_iter(["--fast"])).unwrap_err();
        assert!(err.is::<common::demo::UsageError>(), "{err}");
    }
}
