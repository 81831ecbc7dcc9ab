//! The driver shared by the four local-pool demos (book section "Processing Tasks with Local
//! Pools"): build a pool, run the book's three tasks on it, and keep what they said and where.
//!
//! The four demos differ in two choices only: where each task goes ([`Placement`]: the
//! least-loaded pool thread, or one index) and how `something` waits ([`SleepKind`]: blocking its
//! thread, an async sleep, or a blocking call moved to tokio's blocking pool). [`run_pool`] takes
//! those and returns a [`PoolReport`]: the result, the pool's task loads right after spawning, and
//! a [`Transcript`] of every line the tasks printed, with the thread and the time of each.
//!
//! `LocalPoolHandle` starts its threads without names, so the report names them itself: before
//! the demo it sends one tiny task to each index and notes which thread answered, so `pool-0` in a
//! chart really is the thread `spawn_pinned_by_idx(.., 0)` reaches. Other threads (tokio's
//! blocking pool) are `blocking-1`, `blocking-2`… in order of appearance.
//!
//! Tests pass [`Work::Meet`] instead of a sleep: the three tasks then wait at a barrier that only
//! opens once all three are waiting, which proves they overlapped without relying on timing.

use std::collections::HashMap;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Barrier, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

use common::Timeline;
use tokio::task::JoinHandle;
use tokio_util::task::LocalPoolHandle;

/// Which pool thread a task goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// `spawn_pinned`: the thread with the fewest tasks at that moment.
    LeastBusy,
    /// `spawn_pinned_by_idx(.., index)`, checked first.
    Index(usize),
}

/// How the book's `something` waits before it bumps the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SleepKind {
    /// `std::thread::sleep`: blocks the pool thread ([`crate::local_pool_one_thread::something`]).
    Std,
    /// `tokio::time::sleep`: yields the thread ([`crate::pin_index_tokio_sleep::something`]).
    Tokio,
    /// The blocking sleep inside `spawn_blocking`
    /// ([`crate::pin_index_std_sleep::something_off_thread`]).
    SpawnBlocking,
}

/// What the wait is, for [`run_pool`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// Sleep this long (the book's 3 s, scaled).
    Sleep(Duration),
    /// All three tasks wait at one barrier: none goes on until all three have reached it.
    Meet,
}

/// The wait itself, as the tasks hold it.
#[derive(Debug, Clone)]
pub enum Pause {
    /// Sleep this long (blocking or async, as the caller's kind says).
    Sleep(Duration),
    /// Wait at a `std::sync::Barrier` (blocking waits only).
    Meet(Arc<Barrier>),
    /// Wait at a `tokio::sync::Barrier` (async waits only).
    MeetAsync(Arc<tokio::sync::Barrier>),
}

impl Pause {
    /// The pause for three tasks that wait the `kind` way.
    pub fn for_three(work: Work, kind: SleepKind) -> Pause {
        match (work, kind) {
            (Work::Sleep(d), _) => Pause::Sleep(d),
            (Work::Meet, SleepKind::Tokio) => {
                Pause::MeetAsync(Arc::new(tokio::sync::Barrier::new(3)))
            }
            (Work::Meet, _) => Pause::Meet(Arc::new(Barrier::new(3))),
        }
    }

    /// Blocks the current thread for the pause.
    pub fn block(&self) {
        match self {
            Pause::Sleep(d) => std::thread::sleep(*d),
            Pause::Meet(barrier) => {
                barrier.wait();
            }
            Pause::MeetAsync(_) => unreachable!("an async barrier is only awaited"),
        }
    }

    /// Waits the pause without blocking the thread.
    pub async fn wait(&self) {
        match self {
            Pause::Sleep(d) => tokio::time::sleep(*d).await,
            Pause::MeetAsync(barrier) => {
                barrier.wait().await;
            }
            Pause::Meet(_) => unreachable!("a std barrier is only waited on by blocking"),
        }
    }
}

/// One thing a task said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    /// It started: the book prints `one`, `two` or `three`.
    Start(u32),
    /// It bumped its thread's counter: `Counter: {counter} for: {number}`.
    Counter {
        /// The task's number.
        number: u32,
        /// The thread-local counter after the bump.
        counter: u32,
    },
    /// Its blocking part ran (`spawn_blocking` variant only), from `from` to the line's time.
    Blocked {
        /// The task's number.
        number: u32,
        /// When the blocking part began.
        from: Duration,
    },
}

/// A line of the transcript: what was said, on which thread, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// What.
    pub said: Said,
    /// The thread that said it.
    pub thread: ThreadId,
    /// When, since the transcript began.
    pub at: Duration,
}

/// What the tasks print, recorded in order with thread and time; clone it into each task.
#[derive(Clone, Default)]
pub struct Transcript {
    clock: Timeline,
    lines: Arc<Mutex<Vec<Line>>>,
}

impl fmt::Debug for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.lines()).finish()
    }
}

/// `one`, `two`, `three` as the book prints them; other numbers as digits.
pub fn word(number: u32) -> String {
    match number {
        1 => "one".into(),
        2 => "two".into(),
        3 => "three".into(),
        n => n.to_string(),
    }
}

impl Transcript {
    /// An empty transcript whose clock starts now.
    pub fn new() -> Self {
        Transcript::default()
    }

    /// Time since the transcript began.
    pub fn now(&self) -> Duration {
        self.clock.now()
    }

    fn push(&self, said: Said) {
        let line = Line {
            said,
            thread: std::thread::current().id(),
            at: self.clock.now(),
        };
        self.lines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(line);
    }

    /// Prints and records the book's start line (`one`).
    pub fn start(&self, number: u32) {
        println!("{}", word(number));
        self.push(Said::Start(number));
    }

    /// Prints and records the book's counter line (`Counter: 2 for: 1`).
    pub fn counter(&self, number: u32, counter: u32) {
        println!("Counter: {counter} for: {number}");
        self.push(Said::Counter { number, counter });
    }

    /// Records (without printing) that task `number`'s blocking part ran from `from` until now.
    pub fn blocked(&self, number: u32, from: Duration) {
        self.push(Said::Blocked { number, from });
    }

    /// Every line so far, in the order they were said.
    pub fn lines(&self) -> Vec<Line> {
        self.lines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// `spawn_pinned_by_idx` with the index checked: an index the pool does not have is an error
/// here, where tokio-util would panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoSuchThread {
    /// The index asked for.
    pub index: usize,
    /// How many threads the pool has.
    pub threads: usize,
}

impl fmt::Display for NoSuchThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the pool has {} threads (indices 0..{}), so there is no thread {}",
            self.threads, self.threads, self.index
        )
    }
}

impl Error for NoSuchThread {}

/// Spawns `create` on `pool` where `placement` says.
pub fn spawn_placed<F, Fut>(
    pool: &LocalPoolHandle,
    placement: Placement,
    create: F,
) -> Result<JoinHandle<Fut::Output>, NoSuchThread>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future + 'static,
    Fut::Output: Send + 'static,
{
    match placement {
        Placement::LeastBusy => Ok(pool.spawn_pinned(create)),
        Placement::Index(index) => crate::pin_index_std_sleep::spawn_on_thread(pool, create, index),
    }
}

/// Names each pool thread `pool-<index>` by asking every index which thread it is.
pub async fn pool_thread_names(
    pool: &LocalPoolHandle,
) -> Result<HashMap<ThreadId, String>, tokio::task::JoinError> {
    let mut names = HashMap::new();
    for index in 0..pool.num_threads() {
        let id = pool
            .spawn_pinned_by_idx(|| async { std::thread::current().id() }, index)
            .await?;
        names.insert(id, format!("pool-{index}"));
    }
    Ok(names)
}

/// Thread names for a report: pool threads as probed, any other as `blocking-N` by appearance.
#[derive(Debug, Clone, Default)]
pub struct ThreadNames {
    names: HashMap<ThreadId, String>,
    others: Vec<ThreadId>,
}

impl ThreadNames {
    /// Starts from the probed pool names.
    pub fn new(pool_names: HashMap<ThreadId, String>) -> Self {
        ThreadNames {
            names: pool_names,
            others: Vec::new(),
        }
    }

    /// The name of `id`, giving it the next `blocking-N` if it is not a pool thread.
    pub fn name(&mut self, id: ThreadId) -> String {
        if let Some(name) = self.names.get(&id) {
            return name.clone();
        }
        let n = match self.others.iter().position(|o| *o == id) {
            Some(i) => i + 1,
            None => {
                self.others.push(id);
                self.others.len()
            }
        };
        format!("blocking-{n}")
    }
}

/// What a run of the three tasks produced.
#[derive(Debug)]
pub struct PoolReport {
    /// The sum of the three results (the book's `result: 6`).
    pub result: u32,
    /// `get_task_loads_for_each_worker()` right after the three spawns.
    pub loads: Vec<usize>,
    /// Everything the tasks said.
    pub lines: Vec<Line>,
    /// Names for the threads in `lines`.
    pub names: ThreadNames,
}

impl PoolReport {
    /// The counter each task printed, in task order (tasks 1, 2, 3).
    pub fn counters(&self) -> Vec<u32> {
        let mut counters: Vec<(u32, u32)> = self
            .lines
            .iter()
            .filter_map(|l| match l.said {
                Said::Counter { number, counter } => Some((number, counter)),
                _ => None,
            })
            .collect();
        counters.sort_unstable();
        counters.into_iter().map(|(_, c)| c).collect()
    }

    /// The distinct threads on which counters were bumped.
    pub fn counter_threads(&self) -> Vec<ThreadId> {
        let mut threads: Vec<ThreadId> = Vec::new();
        for line in &self.lines {
            if matches!(line.said, Said::Counter { .. }) && !threads.contains(&line.thread) {
                threads.push(line.thread);
            }
        }
        threads
    }

    /// The lines' kinds in order, for asserting on order: `S1` start, `C1` counter, `B1` blocked.
    pub fn sequence(&self) -> Vec<String> {
        self.lines
            .iter()
            .map(|l| match l.said {
                Said::Start(n) => format!("S{n}"),
                Said::Counter { number, .. } => format!("C{number}"),
                Said::Blocked { number, .. } => format!("B{number}"),
            })
            .collect()
    }

    /// A chart: one row per task from its start to its counter line, on the pool thread that ran
    /// it, plus a row per blocking part on the blocking thread that ran it.
    pub fn timeline(&mut self) -> Timeline {
        let timeline = Timeline::new();
        let lines = self.lines.clone();
        for line in &lines {
            match line.said {
                Said::Start(n) => {
                    let end = lines.iter().find_map(|l| match l.said {
                        Said::Counter { number, .. } if number == n => Some(l.at),
                        _ => None,
                    });
                    let thread = self.names.name(line.thread);
                    timeline.record(
                        format!("task {}", word(n)),
                        thread,
                        line.at,
                        end.unwrap_or(line.at),
                    );
                }
                Said::Blocked { number, from } => {
                    let thread = self.names.name(line.thread);
                    timeline.record(
                        format!("task {} blocking part", word(number)),
                        thread,
                        from,
                        line.at,
                    );
                }
                Said::Counter { .. } => {}
            }
        }
        timeline
    }

    /// Prints the result line, the loads, and the chart.
    pub fn print(&mut self) {
        println!("result: {}", self.result);
        println!(
            "task loads per pool thread right after the spawns: {:?}",
            self.loads
        );
        let threads: Vec<String> = self
            .counter_threads()
            .into_iter()
            .map(|id| self.names.name(id))
            .collect();
        println!("counters bumped on: {}", threads.join(", "));
        println!("{}", self.timeline().render());
    }
}

/// Builds a pool of `size` threads and a current-thread runtime, and runs the book's three tasks
/// ([`crate::local_pool_one_thread::spawn_three`]) on them.
pub fn run_pool(
    size: usize,
    placement: Placement,
    kind: SleepKind,
    work: Work,
) -> Result<PoolReport, Box<dyn Error + Send + Sync>> {
    // Book: `#[tokio::main(flavor = "current_thread")]`; a runtime we build and drop ourselves,
    // so the demo is a plain function and each run has its own.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let pool = LocalPoolHandle::new(size);
    runtime.block_on(async {
        let names = ThreadNames::new(pool_thread_names(&pool).await?);
        let out = Transcript::new();
        let pause = Pause::for_three(work, kind);
        let [one, two, three] =
            crate::local_pool_one_thread::spawn_three(&pool, placement, kind, &pause, &out)?;
        let loads = pool.get_task_loads_for_each_worker();
        // Book: wraps these awaits in `let result = async { … }; result.await`, a block that adds
        // nothing; awaiting the handles directly is the same.
        let result = one.await? + two.await? + three.await?;
        Ok(PoolReport {
            result,
            loads,
            lines: out.lines(),
            names,
        })
    })
}
