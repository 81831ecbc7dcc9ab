//! The final runtime of chapter 3 ("Configuring Our Runtime"), public for chapter 4.
//!
//! Everything the chapter built is here under the book's names: [`FutureType`], a [`Runtime`]
//! builder with `new`, `with_high_num`, `with_low_num` and `run`, the global [`spawn_task`], and
//! the macros `spawn_task!`, `join!` and `try_join!` (exported at the crate root, so chapter 4
//! writes `ch03::spawn_task!(fut)`). Two things are our additions: [`Runtime::build`] gives an
//! isolated runtime behind a [`Handle`] (tests and the benchmark use it, so they never share the
//! global one), and [`sleep`] is the timer-thread sleep of [`crate::timer_sleep`].
//!
//! # What changed from the book's last step, and why
//!
//! The policy is the book's: a high and a low queue, each with its own workers; a worker serves
//! its own queue first and steals from the other only when its own is empty. The machinery is
//! not the book's, because the book's last step pays for that policy three times over:
//!
//! * **Idle workers sleep blind.** The book's worker tries both channels and, finding nothing,
//!   sleeps 100 ms: a task that arrives meanwhile waits up to 100 ms for its first poll, and every
//!   idle worker wakes ten times a second for nothing. Ours *parks* (`std::thread::park`): an idle
//!   worker costs no CPU, and the thread that queues a task unparks one sleeping worker, so the
//!   first poll follows within microseconds.
//! * **Every queue operation takes a lock.** flume guards each channel with one lock that the
//!   spawning thread and every worker contend for. Ours are lock-free queues
//!   (`concurrent_queue::ConcurrentQueue`, the queue smol's executor is built on).
//! * **Configuration through the environment.** The book stores the worker counts in environment
//!   variables read by lazily started queues; `set_var` is `unsafe` in edition 2024 and the
//!   laziness means a queue nobody spawned onto never starts, so never steals. Ours starts every
//!   worker up front and keeps the numbers in a `OnceLock`.
//!
//! Waking is throttled the way smol and tokio do it: a queued task unparks a worker only when one
//! is asleep *and* no other worker is already on its way up, so a burst of spawns costs one
//! wake-up, not one per task; a worker that wakes, finds work and sees more queued work wakes the
//! next sleeper in turn. Priority also guides the wake-up: a High task unparks a sleeping high
//! worker if there is one.
//!
//! Going to sleep is where a runtime can lose a task: a worker finds both queues empty, and a
//! task is queued just before the worker parks, by a thread that saw nobody asleep and woke
//! nobody. So a worker first puts its name on the sleepers list, *then* looks at the queues once
//! more, and only then parks; the spawning thread first queues, *then* reads the list (each side
//! with a `SeqCst` fence in between). One of the two always sees the other.
//!
//! Why not the step-3 fix, a `flume::Selector` over both channels? It parks well, but a
//! `Selector` arm *takes* a runnable from whichever channel it picks (at random when both are
//! ready), so the own-queue-first rule only holds between naps, and the channels keep their lock.
//! Parking is the lighter tool once the queues are not channels.
//!
//! Priority is strict, as in the book: a worker leaves its own queue only when it is empty, so a
//! task that keeps re-queueing itself on the high queue can starve the low tasks of a runtime that
//! has no low worker. Give each priority at least one worker if that matters.
//!
//! A task that panics does not take its worker down: tasks are spawned with async-task's
//! `propagate_panic`, which catches the panic inside `Runnable::run` and re-raises it where the
//! `Task` is awaited, so `try_join!` hands the caller the real payload.
//!
//! A runtime built with [`Runtime::build`] lives as long as something can still use it: its
//! workers exit once every [`Handle`] clone and every task spawned on it are gone
//! ([`Handle::shutdown`] waits for that). The global runtime lives as long as the process.
//!
//! `cargo bench -p ch03` measures this runtime against the book's last step, smol and tokio.
//!
//! ```
//! use ch03::runtime::{FutureType, Runtime};
//!
//! let runtime = Runtime::new().with_high_num(1).with_low_num(1).build();
//! let high = runtime.spawn(async { 1 + 1 }, FutureType::High);
//! let low = runtime.spawn(async { "low" }, FutureType::Low);
//! assert_eq!(futures_lite::future::block_on(high), 2);
//! assert_eq!(futures_lite::future::block_on(low), "low");
//! ```

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

use async_task::{Runnable, Task};
use concurrent_queue::ConcurrentQueue;

pub use crate::timer_sleep::TimerSleep;
/// Re-exported so the exported macros can name `block_on` as `$crate::runtime::futures_lite::…`
/// whatever the caller's own dependencies are.
pub use futures_lite;

/// Which queue a task goes to: the book's two priorities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FutureType {
    /// The high-priority queue, served first by the high workers.
    High,
    /// The low-priority queue (the default of `spawn_task!`), served first by the low workers.
    Low,
}

impl FutureType {
    fn index(self) -> usize {
        match self {
            FutureType::High => 0,
            FutureType::Low => 1,
        }
    }
}

/// The runtime builder: how many workers serve each queue.
///
/// ```
/// use ch03::runtime::Runtime;
/// let runtime = Runtime::new().with_low_num(2).with_high_num(4);
/// assert_eq!((runtime.high_num(), runtime.low_num()), (4, 2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Runtime {
    high_num: usize,
    low_num: usize,
}

impl Runtime {
    /// The book's defaults: all cores but two for the high queue, one worker for the low queue
    /// (at least one high worker, so 1 + 1 on a one- or two-core machine).
    pub fn new() -> Self {
        // Book: `available_parallelism().unwrap()` panics where the count is unknown; ours assumes 1.
        let num_cores = thread::available_parallelism().map_or(1, |n| n.get());
        Runtime {
            high_num: default_high_num(num_cores),
            low_num: 1,
        }
    }

    /// Sets the number of high-priority workers.
    pub fn with_high_num(mut self, num: usize) -> Self {
        self.high_num = num;
        self
    }

    /// Sets the number of low-priority workers.
    pub fn with_low_num(mut self, num: usize) -> Self {
        self.low_num = num;
        self
    }

    /// The configured number of high-priority workers.
    pub fn high_num(&self) -> usize {
        self.high_num
    }

    /// The configured number of low-priority workers.
    pub fn low_num(&self) -> usize {
        self.low_num
    }

    /// Starts the global runtime that [`spawn_task`] and `spawn_task!` use.
    ///
    /// Calling it again with the same numbers is fine; with other numbers it is an error, since
    /// the running workers cannot be resized.
    ///
    /// ```
    /// use ch03::runtime::Runtime;
    /// match Runtime::new().with_low_num(2).with_high_num(4).run() {
    ///     Ok(()) => println!("4 high + 2 low workers are running"),
    ///     // Something spawned earlier and started the defaults: the error names both setups.
    ///     Err(already) => println!("{already}"),
    /// }
    /// ```
    pub fn run(&self) -> Result<(), AlreadyRunning> {
        // Book: `run` hands the numbers to lazily started queues through `std::env::set_var`,
        // which is `unsafe` in edition 2024 and unsound while another thread reads the
        // environment; ours keeps them in a `OnceLock` and starts every worker at once.
        // Book: a second `run` with other numbers is silently ignored there; ours reports it.
        run_on(&GLOBAL, *self)
    }

    /// Starts an isolated runtime with these numbers and returns its [`Handle`] (our addition).
    ///
    /// Its workers exit once every `Handle` clone and every task spawned on it are gone.
    pub fn build(&self) -> Handle {
        self.normalized().start_handle()
    }

    /// A queue may have no workers (its tasks are stolen), but a runtime with no worker at all
    /// would never run anything: 0 + 0 becomes one low worker.
    fn normalized(self) -> Runtime {
        // Book: with 0 + 0 workers every `join!` would hang; ours raises it to one low worker.
        if self.high_num + self.low_num == 0 {
            Runtime {
                high_num: 0,
                low_num: 1,
            }
        } else {
            self
        }
    }

    fn start(self) -> Global {
        Global {
            config: self,
            handle: self.start_handle(),
        }
    }

    fn start_handle(self) -> Handle {
        let classes = std::iter::repeat_n(FutureType::High, self.high_num)
            .chain(std::iter::repeat_n(FutureType::Low, self.low_num));
        let mut counts = [0usize; 2];
        let workers: Box<[WorkerSlot]> = classes
            .map(|class| {
                let n = &mut counts[class.index()];
                let name = match class {
                    FutureType::High => format!("high-{n}"),
                    FutureType::Low => format!("low-{n}"),
                };
                *n += 1;
                WorkerSlot::new(class, name)
            })
            .collect();
        let shared = Arc::new(Shared {
            queues: [ConcurrentQueue::unbounded(), ConcurrentQueue::unbounded()],
            num_sleeping: AtomicUsize::new(0),
            waking: AtomicUsize::new(0),
            sleepers: Mutex::new(Vec::with_capacity(workers.len())),
            live: AtomicUsize::new(1),
            running: Mutex::new(workers.len()),
            exited: Condvar::new(),
            threads: Mutex::new(Vec::with_capacity(workers.len())),
            workers,
        });
        let mut threads = Vec::with_capacity(shared.workers.len());
        for (id, slot) in shared.workers.iter().enumerate() {
            let worker_shared = Arc::clone(&shared);
            let spawned = thread::Builder::new()
                .name(slot.name.clone())
                .spawn(move || worker_loop(worker_shared, id));
            match spawned {
                Ok(join) => threads.push(join),
                // A runtime that cannot start its workers is as fatal as failing to allocate;
                // the workers already started are told to exit first.
                Err(error) => {
                    shared.live.store(0, Ordering::SeqCst);
                    shared.wake_all();
                    panic!("cannot start worker thread {}: {error}", slot.name);
                }
            }
        }
        *lock(&shared.threads) = threads;
        Handle { shared }
    }
}

/// All cores but two, and at least one.
fn default_high_num(num_cores: usize) -> usize {
    // Book: `num_cores - 2` underflows on one core (a panic in debug builds, a huge thread count
    // in release) and leaves no high worker on two cores; ours keeps at least one.
    num_cores.saturating_sub(2).max(1)
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new()
    }
}

/// Spawns `future` on the global runtime's `order` queue and returns its [`Task`].
///
/// If [`Runtime::run`] was never called, the global runtime starts with [`Runtime::new`]'s
/// numbers. Await the `Task` (or `block_on` it, or pass it to `join!`) for the output; dropping
/// it cancels the task, [`Task::detach`] lets it run on unowned.
pub fn spawn_task<F, T>(future: F, order: FutureType) -> Task<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    // Book: a spawn before `run` panics inside the queue's `LazyLock` (the environment variable
    // is missing) and poisons it for every later spawn; ours starts the default runtime instead.
    global().handle.spawn(future, order)
}

/// A sleep that a timer thread wakes once, when it is due: [`TimerSleep`], under a short name.
///
/// ```
/// use std::time::{Duration, Instant};
/// let start = Instant::now();
/// assert!(futures_lite::future::block_on(ch03::runtime::sleep(Duration::from_millis(10))));
/// assert!(start.elapsed() >= Duration::from_millis(10));
/// ```
pub fn sleep(duration: Duration) -> TimerSleep {
    TimerSleep::new(duration)
}

/// A [`Handle`] on the global runtime (started with the defaults if [`Runtime::run`] was not
/// called), e.g. to read its [`Handle::stats`].
pub fn handle() -> Handle {
    global().handle.clone()
}

/// Spawns a future on the global runtime: `spawn_task!(fut)` on the low queue (the book's
/// default), `spawn_task!(fut, FutureType::High)` on the queue named.
///
/// ```
/// use ch03::runtime::FutureType;
/// let low = ch03::spawn_task!(async { 1 });
/// let high = ch03::spawn_task!(async { 2 }, FutureType::High);
/// assert_eq!(ch03::join!(low, high), vec![1, 2]);
/// ```
// Book: the book's macros name `spawn_task`, `FutureType` and `future::block_on` unqualified, so
// they only work where those are imported; ours use `$crate::` paths and work from any crate.
#[macro_export]
macro_rules! spawn_task {
    ($future:expr) => {
        $crate::spawn_task!($future, $crate::runtime::FutureType::Low)
    };
    ($future:expr, $order:expr) => {
        $crate::runtime::spawn_task($future, $order)
    };
}

/// Blocks on each task in turn and returns their outputs in argument order (one output type).
///
/// Call it from synchronous code only: inside a task it would block a worker thread. Spawned
/// tasks run concurrently on the workers while it waits; un-spawned futures passed to it run one
/// after another on the calling thread.
///
/// ```
/// let outcome: Vec<u32> = ch03::join!(ch03::spawn_task!(async { 3 }), async { 4 });
/// assert_eq!(outcome, [3, 4]);
/// let nothing: Vec<()> = ch03::join!();
/// assert!(nothing.is_empty());
/// ```
#[macro_export]
macro_rules! join {
    ($($future:expr),* $(,)?) => {
        ::std::vec![$($crate::runtime::futures_lite::future::block_on($future)),*]
    };
}

/// Like `join!`, but a task that panicked becomes an `Err` carrying the panic payload in its
/// slot; the others are `Ok`. It does not short-circuit, and it catches panics, not `Result`
/// errors (unlike `futures::try_join!`).
///
/// ```
/// use ch03::runtime::Runtime;
/// let rt = Runtime::new().with_high_num(0).with_low_num(1).build();
/// let ok = rt.spawn(async { 1 }, ch03::runtime::FutureType::Low);
/// let results = ch03::try_join!(ok);
/// assert!(matches!(results[0], Ok(1)));
/// ```
#[macro_export]
macro_rules! try_join {
    ($($future:expr),* $(,)?) => {
        ::std::vec![$(
            ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| {
                $crate::runtime::futures_lite::future::block_on($future)
            }))
        ),*]
    };
}

/// `Runtime::run` was called with other numbers than the global runtime is running with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlreadyRunning {
    /// `(high_num, low_num)` of the running global runtime.
    pub running: (usize, usize),
    /// `(high_num, low_num)` that this call asked for.
    pub requested: (usize, usize),
}

impl fmt::Display for AlreadyRunning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the global runtime already runs {} high + {} low workers; cannot switch to {} high + {} low",
            self.running.0, self.running.1, self.requested.0, self.requested.1
        )
    }
}

impl std::error::Error for AlreadyRunning {}

/// An owned reference to a runtime: spawn on it, read its statistics. Cloning is cheap.
///
/// The runtime's workers exit once every `Handle` clone and every task spawned on it are gone
/// (a detached task that never finishes keeps them running).
pub struct Handle {
    shared: Arc<Shared>,
}

impl Handle {
    /// Spawns `future` on the `order` queue and returns its [`Task`].
    ///
    /// A panic inside the future is caught on the worker (which carries on) and re-raised where
    /// the `Task` is awaited.
    pub fn spawn<F, T>(&self, future: F, order: FutureType) -> Task<T>
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.shared.live.fetch_add(1, Ordering::Relaxed);
        let guard = TaskGuard(Arc::clone(&self.shared));
        let schedule = move |runnable| guard.0.schedule(runnable, order);
        // Book: plain `async_task::spawn` turns a panic into a cancelled task, so `try_join!`
        // only ever saw "Task polled after completion"; `propagate_panic` keeps the payload.
        let (runnable, task) = async_task::Builder::new()
            .propagate_panic(true)
            .spawn(move |()| future, schedule);
        runnable.schedule();
        task
    }

    /// Counters per worker: tasks run, tasks stolen from the other queue, idle wake-ups.
    pub fn stats(&self) -> Stats {
        Stats {
            workers: self
                .shared
                .workers
                .iter()
                .map(|w| WorkerStats {
                    name: w.name.clone(),
                    class: w.class,
                    runs: w.runs.load(Ordering::Relaxed),
                    steals: w.steals.load(Ordering::Relaxed),
                    idle_wakeups: w.idle_wakeups.load(Ordering::Relaxed),
                })
                .collect(),
        }
    }

    /// Drops this handle and waits up to `timeout` for the worker threads to exit, which they do
    /// once no `Handle` and no task of this runtime is left. Returns whether they all exited
    /// (and were joined). Never call it from one of the runtime's own tasks.
    pub fn shutdown(self, timeout: Duration) -> bool {
        let shared = Arc::clone(&self.shared);
        drop(self);
        let deadline = Instant::now() + timeout;
        let mut running = lock(&shared.running);
        while *running > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            running = shared
                .exited
                .wait_timeout(running, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        drop(running);
        let threads = std::mem::take(&mut *lock(&shared.threads));
        threads.into_iter().all(|t| t.join().is_ok())
    }
}

impl Clone for Handle {
    fn clone(&self) -> Self {
        self.shared.live.fetch_add(1, Ordering::Relaxed);
        Handle {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.release();
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.shared.workers.iter().map(|w| &*w.name).collect();
        f.debug_struct("Handle").field("workers", &names).finish()
    }
}

/// A snapshot of a runtime's counters, one entry per worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// One entry per worker, high workers first.
    pub workers: Vec<WorkerStats>,
}

impl Stats {
    /// Tasks run (polls) by all workers together.
    pub fn runs(&self) -> u64 {
        self.workers.iter().map(|w| w.runs).sum()
    }

    /// Runnables that a worker took from the other priority's queue.
    pub fn steals(&self) -> u64 {
        self.workers.iter().map(|w| w.steals).sum()
    }

    /// Times an idle worker returned from parking.
    pub fn idle_wakeups(&self) -> u64 {
        self.workers.iter().map(|w| w.idle_wakeups).sum()
    }
}

/// One worker's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerStats {
    /// The thread name: `high-0`, `low-0`, …
    pub name: String,
    /// The queue the worker serves first.
    pub class: FutureType,
    /// Runnables it ran (each is one poll of a task).
    pub runs: u64,
    /// Runnables it took from the other priority's queue.
    pub steals: u64,
    /// Times it came back from parking (a wake-up, or rarely a spurious return).
    pub idle_wakeups: u64,
}

// ---------------------------------------------------------------------------------------------
// The machinery.

struct Global {
    config: Runtime,
    handle: Handle,
}

static GLOBAL: OnceLock<Global> = OnceLock::new();

/// `Runtime::run` on a given cell (the tests use their own).
fn run_on(cell: &OnceLock<Global>, runtime: Runtime) -> Result<(), AlreadyRunning> {
    let requested = runtime.normalized();
    let global = cell.get_or_init(|| requested.start());
    if global.config == requested {
        Ok(())
    } else {
        Err(AlreadyRunning {
            running: (global.config.high_num, global.config.low_num),
            requested: (requested.high_num, requested.low_num),
        })
    }
}

fn global() -> &'static Global {
    GLOBAL.get_or_init(|| Runtime::new().normalized().start())
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the workers and every task's schedule function share.
struct Shared {
    /// The high (index 0) and low (index 1) queues.
    queues: [ConcurrentQueue<Runnable>; 2],
    /// Workers currently parked (or about to park), for the cheap "anyone asleep?" check.
    num_sleeping: AtomicUsize,
    /// Workers unparked but not yet back at work: while one is on its way, nobody wakes another.
    waking: AtomicUsize,
    /// Ids of the parked workers.
    sleepers: Mutex<Vec<usize>>,
    /// Handles plus tasks alive; at 0 the workers exit.
    live: AtomicUsize,
    /// Worker threads not yet exited, and the condition `shutdown` waits on.
    running: Mutex<usize>,
    exited: Condvar,
    threads: Mutex<Vec<JoinHandle<()>>>,
    workers: Box<[WorkerSlot]>,
}

/// One worker's identity, parking state and counters (on its own cache lines).
#[repr(align(128))]
struct WorkerSlot {
    class: FutureType,
    name: String,
    thread: OnceLock<Thread>,
    /// Set by the waker before it unparks the worker; a parked worker without it keeps parking.
    notified: AtomicBool,
    runs: AtomicU64,
    steals: AtomicU64,
    idle_wakeups: AtomicU64,
}

impl WorkerSlot {
    fn new(class: FutureType, name: String) -> Self {
        WorkerSlot {
            class,
            name,
            thread: OnceLock::new(),
            notified: AtomicBool::new(false),
            runs: AtomicU64::new(0),
            steals: AtomicU64::new(0),
            idle_wakeups: AtomicU64::new(0),
        }
    }
}

/// Only the owning worker writes its counters: a plain load and store, no locked instruction.
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// Lives in a task's schedule function, which async-task drops with the task's last reference:
/// so it counts the task as alive for exactly as long as anything could still run it.
struct TaskGuard(Arc<Shared>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.release();
    }
}

impl Shared {
    /// One handle or task fewer; the last one out tells the workers to exit.
    fn release(&self) {
        if self.live.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.wake_all();
        }
    }

    fn schedule(&self, runnable: Runnable, order: FutureType) {
        // Book: the schedule closure does `QUEUE.send(runnable).unwrap()` on a flume channel,
        // one lock shared by every spawner and worker; ours pushes to a lock-free queue, and an
        // unbounded queue that is never closed accepts every push, so there is nothing to unwrap.
        let _ = self.queues[order.index()].push(runnable);
        self.notify(order);
    }

    /// Wakes a sleeping worker for a task of class `order`, unless none sleeps or one is already
    /// on its way up (it will find the task, or go back to sleep only after looking again).
    fn notify(&self, order: FutureType) {
        // Pairs with the fence in `sleep`: either we see the worker registered as asleep, or it
        // sees the runnable we just queued when it looks again.
        fence(Ordering::SeqCst);
        if self.num_sleeping.load(Ordering::Relaxed) == 0 || self.waking.load(Ordering::Relaxed) > 0
        {
            return;
        }
        let mut sleepers = lock(&self.sleepers);
        let Some(pos) = sleepers
            .iter()
            .rposition(|&id| self.workers[id].class == order)
            .or_else(|| sleepers.len().checked_sub(1))
        else {
            return;
        };
        let id = sleepers.swap_remove(pos);
        self.waking.fetch_add(1, Ordering::SeqCst);
        self.num_sleeping.fetch_sub(1, Ordering::SeqCst);
        // Set under the lock, so a worker that finds itself off the list knows it was woken.
        self.workers[id].notified.store(true, Ordering::Release);
        drop(sleepers);
        self.unpark(id);
    }

    fn unpark(&self, id: usize) {
        if let Some(thread) = self.workers[id].thread.get() {
            thread.unpark();
        }
    }

    /// The runtime is finished: wake every sleeper so it sees `live == 0` and exits.
    fn wake_all(&self) {
        let mut sleepers = lock(&self.sleepers);
        let ids: Vec<usize> = sleepers.drain(..).collect();
        self.waking.fetch_add(ids.len(), Ordering::SeqCst);
        self.num_sleeping.fetch_sub(ids.len(), Ordering::SeqCst);
        for &id in &ids {
            self.workers[id].notified.store(true, Ordering::Release);
        }
        drop(sleepers);
        for id in ids {
            self.unpark(id);
        }
    }

    /// The book's order: own queue first, then steal from the other one.
    fn find(&self, slot: &WorkerSlot) -> Option<Runnable> {
        let own = slot.class.index();
        if let Ok(runnable) = self.queues[own].pop() {
            return Some(runnable);
        }
        let runnable = self.queues[1 - own].pop().ok()?;
        bump(&slot.steals);
        Some(runnable)
    }

    /// A priority with runnables waiting, high first.
    fn queued_class(&self) -> Option<FutureType> {
        [FutureType::High, FutureType::Low]
            .into_iter()
            .find(|class| !self.queues[class.index()].is_empty())
    }

    /// Parks worker `id` until a task arrives, or returns a runnable found on the way to sleep.
    /// Returns `None` when woken (the caller looks again) or when the runtime is finished.
    fn sleep(&self, id: usize) -> Option<Runnable> {
        let slot = &self.workers[id];
        slot.notified.store(false, Ordering::Relaxed);
        {
            let mut sleepers = lock(&self.sleepers);
            sleepers.push(id);
            self.num_sleeping.fetch_add(1, Ordering::SeqCst);
        }
        // Look once more after registering: a task queued just before we registered found
        // nobody asleep and woke nobody, so it is ours to find.
        fence(Ordering::SeqCst);
        if let Some(runnable) = self.find(slot) {
            self.leave_sleep(id);
            return Some(runnable);
        }
        // Book: an idle worker sleeps 100 ms and looks again, so a new task waits up to 100 ms and
        // idle workers wake ten times a second; ours parks until `notify` unparks it.
        while !slot.notified.load(Ordering::Acquire) && self.live.load(Ordering::SeqCst) > 0 {
            thread::park();
            bump(&slot.idle_wakeups);
        }
        self.leave_sleep(id);
        None
    }

    /// Back from sleep: as a woken worker (no longer "on its way") or by taking our own name
    /// off the sleepers list.
    fn leave_sleep(&self, id: usize) {
        let slot = &self.workers[id];
        if slot.notified.load(Ordering::Acquire) {
            self.waking.fetch_sub(1, Ordering::SeqCst);
        } else {
            let mut sleepers = lock(&self.sleepers);
            if let Some(pos) = sleepers.iter().position(|&s| s == id) {
                sleepers.swap_remove(pos);
                self.num_sleeping.fetch_sub(1, Ordering::SeqCst);
            } else {
                // A waker took us off the list (and set `notified`) since we looked: we count
                // as woken.
                self.waking.fetch_sub(1, Ordering::SeqCst);
            }
        }
        // Pairs with the fence in `notify`: a task whose `notify` saw us asleep or on our way
        // up, and so woke nobody else, is visible to the search the caller makes next.
        fence(Ordering::SeqCst);
    }
}

fn worker_loop(shared: Arc<Shared>, id: usize) {
    let slot = &shared.workers[id];
    let _ = slot.thread.set(thread::current());
    loop {
        let runnable = match shared.find(slot) {
            Some(runnable) => Some(runnable),
            None if shared.live.load(Ordering::SeqCst) == 0 => break,
            None => shared.sleep(id),
        };
        let Some(runnable) = runnable else { continue };
        // More queued work and someone asleep: pass the baton so it does not wait behind us.
        if shared.num_sleeping.load(Ordering::Relaxed) > 0
            && let Some(order) = shared.queued_class()
        {
            shared.notify(order);
        }
        bump(&slot.runs);
        // `propagate_panic` already catches a panicking future; this catches the rest (a panic
        // in a waker or a destructor) so the worker survives whatever the task does.
        let _ = catch_unwind(AssertUnwindSafe(|| runnable.run()));
    }
    // `live` is 0: no task can exist, so the queues are empty. Tell `shutdown` we are gone.
    let mut running = lock(&shared.running);
    *running -= 1;
    shared.exited.notify_all();
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::timeline::current_thread_name;
    use futures_lite::future;
    use std::collections::BTreeSet;

    const WATCHDOG: Duration = Duration::from_secs(10);

    /// `block_on(task)`, but a regression that loses the task fails the test instead of hanging.
    fn wait<T>(task: Task<T>) -> T {
        let timed = future::or(async { Some(task.await) }, async {
            sleep(WATCHDOG).await;
            None
        });
        future::block_on(timed).expect("task did not finish within the watchdog")
    }

    /// A task that holds its worker until released: it reports the worker's name when it starts.
    struct Gate {
        task: Task<String>,
        entered: flume::Receiver<String>,
        release: flume::Sender<()>,
    }

    impl Gate {
        fn spawn(handle: &Handle, order: FutureType) -> Gate {
            let (entered_tx, entered) = flume::bounded(1);
            let (release, release_rx) = flume::bounded(1);
            let task = handle.spawn(
                async move {
                    let name = current_thread_name();
                    let _ = entered_tx.send(name.clone());
                    // Blocking on purpose: the gate holds this worker until the test opens it.
                    let _ = release_rx.recv_timeout(WATCHDOG);
                    name
                },
                order,
            );
            Gate {
                task,
                entered,
                release,
            }
        }

        fn entered(&self) -> String {
            self.entered
                .recv_timeout(WATCHDOG)
                .expect("gate task never started")
        }

        fn open(self) -> String {
            let _ = self.release.send(());
            wait(self.task)
        }
    }

    #[test]
    fn runtime_build_one_plus_one_starts_exactly_two_named_workers() {
        let handle = Runtime::new().with_high_num(1).with_low_num(1).build();
        let gates = [
            Gate::spawn(&handle, FutureType::High),
            Gate::spawn(&handle, FutureType::Low),
        ];
        let names: BTreeSet<String> = gates.iter().map(Gate::entered).collect();
        assert_eq!(names, BTreeSet::from(["high-0".into(), "low-0".into()]));

        // Both workers are held: a third task has no thread to run on.
        let (started_tx, started) = flume::unbounded();
        let third = handle.spawn(
            async move {
                let _ = started_tx.send(());
            },
            FutureType::Low,
        );
        assert!(started.recv_timeout(Duration::from_millis(100)).is_err());
        for gate in gates {
            gate.open();
        }
        wait(third);
        let stats = handle.stats();
        let workers: Vec<&str> = stats.workers.iter().map(|w| &*w.name).collect();
        assert_eq!(workers, ["high-0", "low-0"]);
        assert_eq!(stats.runs(), 3);
        assert!(handle.shutdown(WATCHDOG));
    }

    #[test]
    fn runtime_high_worker_steals_a_low_task_when_no_low_worker_exists() {
        let handle = Runtime::new().with_high_num(1).with_low_num(0).build();
        let ran_on = wait(handle.spawn(async { current_thread_name() }, FutureType::Low));
        assert_eq!(ran_on, "high-0");
        let stats = handle.stats();
        assert_eq!((stats.runs(), stats.steals()), (1, 1));
    }

    #[test]
    fn runtime_zero_workers_is_raised_to_one_low_worker() {
        let handle = Runtime::new().with_high_num(0).with_low_num(0).build();
        let names: Vec<String> = handle.stats().workers.into_iter().map(|w| w.name).collect();
        assert_eq!(names, ["low-0"]);
        let ran_on = wait(handle.spawn(async { current_thread_name() }, FutureType::High));
        assert_eq!(ran_on, "low-0");
    }

    #[test]
    fn runtime_new_has_a_high_worker_on_small_machines() {
        assert_eq!(
            [1, 2, 3, 4, 8].map(default_high_num),
            [1, 1, 1, 2, 6],
            "cores - 2, at least 1"
        );
        let runtime = Runtime::new();
        assert!(runtime.high_num() >= 1);
        assert_eq!(runtime.low_num(), 1);
        assert_eq!(Runtime::default(), runtime);
    }

    #[test]
    fn runtime_worker_serves_its_own_queue_before_stealing() {
        let handle = Runtime::new().with_high_num(1).with_low_num(1).build();
        // Hold both workers. Which gate lands on which worker depends on who woke first (an
        // idle worker steals), so sort them by the name each one reports.
        let first = Gate::spawn(&handle, FutureType::High);
        let second = Gate::spawn(&handle, FutureType::Low);
        let (low_gate, high_gate) = if first.entered() == "low-0" {
            assert_eq!(second.entered(), "high-0");
            (first, second)
        } else {
            assert_eq!(second.entered(), "low-0");
            (second, first)
        };

        // Queue a High task before a Low one, then free only the low worker.
        let order = Arc::new(Mutex::new(Vec::new()));
        let record = |label: &'static str| {
            let order = Arc::clone(&order);
            async move { lock(&order).push((label, current_thread_name())) }
        };
        let high = handle.spawn(record("high"), FutureType::High);
        let low = handle.spawn(record("low"), FutureType::Low);
        assert_eq!(low_gate.open(), "low-0");
        wait(low);
        wait(high);
        assert_eq!(
            *lock(&order),
            [("low", "low-0".to_string()), ("high", "low-0".to_string())]
        );
        assert_eq!(high_gate.open(), "high-0");
    }

    #[test]
    fn runtime_global_spawn_before_run_uses_defaults_and_run_reports_a_conflict() {
        // The same logic as `spawn_task`/`Runtime::run`, on a private cell instead of the
        // process-wide one, so the test does not depend on what other tests started.
        let cell: OnceLock<Global> = OnceLock::new();
        let defaults = Runtime::new();
        let task = cell
            .get_or_init(|| defaults.normalized().start())
            .handle
            .spawn(async { 7 }, FutureType::Low);
        assert_eq!(wait(task), 7);
        assert_eq!(run_on(&cell, defaults), Ok(()));
        assert_eq!(run_on(&cell, defaults), Ok(()));
        let other = defaults
            .with_high_num(defaults.high_num() + 3)
            .with_low_num(2);
        assert_eq!(
            run_on(&cell, other),
            Err(AlreadyRunning {
                running: (defaults.high_num(), 1),
                requested: (defaults.high_num() + 3, 2),
            })
        );
        let message = run_on(&cell, other).unwrap_err().to_string();
        assert!(
            message.contains("1 low") && message.contains("2 low"),
            "{message}"
        );
    }

    #[test]
    fn runtime_global_spawn_task_runs() {
        // Whatever numbers the global runtime has (defaults, or a demo's), spawning works.
        assert_eq!(wait(crate::spawn_task!(async { 40 + 2 })), 42);
        let high = crate::spawn_task!(async { "high" }, FutureType::High);
        assert_eq!(crate::join!(high), ["high"]);
    }

    #[test]
    fn runtime_panicking_task_is_an_err_with_its_payload_and_the_worker_survives() {
        let handle = Runtime::new().with_high_num(0).with_low_num(1).build();
        let one = handle.spawn(async { 1 }, FutureType::Low);
        let boom = handle.spawn(
            async {
                if true {
                    panic!("boom");
                }
                2
            },
            FutureType::Low,
        );
        let three = handle.spawn(async { 3 }, FutureType::Low);
        let results = crate::try_join!(one, boom, three);
        assert!(matches!(results[0], Ok(1)));
        let payload = results[1].as_ref().expect_err("the panic is an Err");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
        assert!(matches!(results[2], Ok(3)));
        // Same worker, still alive.
        assert_eq!(wait(handle.spawn(async { 4 }, FutureType::Low)), 4);
        assert!(handle.shutdown(WATCHDOG));
    }

    #[test]
    fn runtime_ping_pong_never_loses_a_wake_up() {
        // Each round catches the workers on their way to sleep or asleep: a wake-up lost in
        // that window would leave a task queued with everyone parked, and `wait` would fail.
        let handle = Runtime::new().with_high_num(1).with_low_num(1).build();
        for i in 0..10_000 {
            let order = if i % 3 == 0 {
                FutureType::High
            } else {
                FutureType::Low
            };
            assert_eq!(wait(handle.spawn(async move { i }, order)), i);
        }
        assert_eq!(handle.stats().runs(), 10_000);
    }

    #[test]
    fn runtime_idle_workers_park_and_wake_only_for_work() {
        let handle = Runtime::new().with_high_num(1).with_low_num(1).build();
        wait(handle.spawn(async {}, FutureType::High));
        // Let the workers settle into `park`, then watch them do nothing.
        thread::sleep(Duration::from_millis(50));
        let before = handle.stats().idle_wakeups();
        thread::sleep(Duration::from_millis(200));
        assert_eq!(handle.stats().idle_wakeups(), before);
        // A new task still gets a worker.
        assert_eq!(wait(handle.spawn(async { 5 }, FutureType::Low)), 5);
    }

    #[test]
    fn runtime_workers_exit_after_the_last_handle_and_task_are_gone() {
        let handle = Runtime::new().with_high_num(1).with_low_num(1).build();
        assert_eq!(wait(handle.spawn(async { 1 }, FutureType::Low)), 1);
        assert!(handle.shutdown(WATCHDOG));

        // A detached task keeps the workers alive after the handle is gone, until it finishes.
        let handle = Runtime::new().with_high_num(1).with_low_num(1).build();
        let (go, wait_for_go) = flume::bounded::<()>(1);
        handle
            .spawn(
                async move {
                    let _ = wait_for_go.recv_async().await;
                },
                FutureType::Low,
            )
            .detach();
        let shutting_down = thread::spawn(move || handle.shutdown(WATCHDOG));
        thread::sleep(Duration::from_millis(50));
        assert!(!shutting_down.is_finished(), "workers left a live task");
        go.send(()).expect("the task is still waiting");
        assert!(shutting_down.join().expect("shutdown thread"));
    }
}
