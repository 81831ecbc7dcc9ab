//! The executor ("Building Our Executor", the book's `async_runtime/src/executor.rs`).
//!
//! An executor is three things: a store of type-erased tasks, a ready queue that wakers push
//! task ids into, and a loop that polls only the tasks in that queue and parks the thread when
//! the queue is empty. A task that is not woken is not polled: a future that returns `Pending`
//! must first hand its waker to something that will call it (a timer, a socket reactor, another
//! task, another thread).
//!
//! Results travel back through a [`JoinHandle`]. Other threads (or other runtimes) hand the
//! executor new work through a [`Spawner`].

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use super::join::{JoinError, JoinHandle, JoinState, panic_message};

/// A spawned future with its output erased to `()`, and the waker that re-queues it.
///
/// Every task has output `()`: [`Executor::spawn`] wraps the caller's future in one that writes
/// the real output into the task's [`JoinHandle`]. A generic `Task<T>` would not do, because one
/// queue holds one type:
///
/// ```compile_fail
/// use std::collections::VecDeque;
/// struct Task<T>(T);
/// let mut queue: VecDeque<Task<i32>> = VecDeque::new();
/// queue.push_back(Task(1));
/// queue.push_back(Task(String::from("two"))); // error: expected `Task<i32>`
/// ```
// Book: the book's `Task` holds an `Arc<Waker>`; a `Waker` is already a cheap counted handle,
// and ours really re-queues the task (the book's woke nothing and every task was re-polled).
pub struct Task {
    future: Pin<Box<dyn Future<Output = ()> + Send>>,
    waker: Waker,
    state: Arc<TaskWaker>,
}

/// What a task's waker points at: which task, the queue to push it into, and whether it is
/// already queued (so a thousand wakes queue it once).
struct TaskWaker {
    index: usize,
    id: u64,
    shared: Arc<Shared>,
    /// True while the task sits in a ready queue, and forever once it has finished.
    queued: AtomicBool,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return; // already queued, or finished: nothing to do
        }
        let parked = {
            let mut shared = self.shared.lock();
            shared.woken.push_back((self.index, self.id));
            shared.parked.take()
        };
        if let Some(thread) = parked {
            thread.unpark();
        }
    }
}

/// The part of the executor other threads touch: wakers and spawners.
struct Shared {
    state: Mutex<SharedState>,
}

type BoxedTask = Pin<Box<dyn Future<Output = ()> + Send>>;

struct SharedState {
    /// Tasks woken since the executor last looked: `(slot, id)`.
    woken: VecDeque<(usize, u64)>,
    /// Futures sent by [`Spawner`]s, not yet in the task store.
    inbox: Vec<BoxedTask>,
    /// The executor's thread while it is parked (taken by the first wake, which unparks it).
    parked: Option<Thread>,
    /// Live `Spawner`s: while any exists, [`Executor::run`] waits for more work.
    spawners: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, SharedState> {
        // Nothing panics while this lock is held, so a poisoned lock holds consistent data.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push_inbox(&self, task: BoxedTask) {
        let parked = {
            let mut shared = self.lock();
            shared.inbox.push(task);
            shared.parked.take()
        };
        if let Some(thread) = parked {
            thread.unpark();
        }
    }
}

/// Counters for demos, tests and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExecutorStats {
    /// Futures polled (spawned tasks and `block_on` futures).
    pub polls: u64,
    /// Times the thread parked because no task was ready.
    pub parks: u64,
    /// Tasks spawned.
    pub spawned: u64,
    /// Tasks that ran to completion (including by panicking).
    pub completed: u64,
}

/// The slot index `block_on`'s own future uses in the ready queue (it is not in the store).
const MAIN: usize = usize::MAX;

/// A single-threaded executor: it polls a task only after the task's waker fired, and parks the
/// thread when no task is ready.
///
/// `spawn` stores the task and queues it for its first poll; [`Executor::poll`] polls one ready
/// task, [`Executor::run_until_stalled`] polls until none is ready, [`Executor::run`] runs until
/// every task has finished (parking in between), and [`Executor::block_on`] runs until one
/// future finishes. An executor may be created on one thread and run on another.
// Book: the book's `poll` pushed every `Pending` task back on the queue and its caller looped on
// `poll` forever, so every task was re-polled millions of times a second whether woken or not
// and the thread never slept (a core at 100 %); ours polls only woken tasks and parks.
pub struct Executor {
    /// Ready queue local to the executor thread: `(slot, id)` of tasks to poll, in order.
    pub(crate) polling: VecDeque<(usize, u64)>,
    tasks: Vec<Option<Task>>,
    free: Vec<usize>,
    next_id: u64,
    live: usize,
    shared: Arc<Shared>,
    main_woken: bool,
    stats: ExecutorStats,
}

impl Default for Executor {
    fn default() -> Self {
        Self::new()
    }
}

impl Executor {
    /// An executor with no tasks.
    pub fn new() -> Self {
        Executor {
            polling: VecDeque::new(),
            tasks: Vec::new(),
            free: Vec::new(),
            next_id: 0,
            live: 0,
            shared: Arc::new(Shared {
                state: Mutex::new(SharedState {
                    woken: VecDeque::new(),
                    inbox: Vec::new(),
                    parked: None,
                    spawners: 0,
                }),
            }),
            main_woken: false,
            stats: ExecutorStats::default(),
        }
    }

    /// Stores `future` as a task, queues it for its first poll and returns its handle.
    ///
    /// The task runs when the executor runs; dropping the handle detaches it (it still runs).
    /// A panic inside the future is caught and reported through the handle.
    // Book: the book's draft `spawn` built `Task { future, rx }` and returned nothing (it does
    // not compile); its working version returned the bare `mpsc::Receiver<T>`.
    pub fn spawn<F, T>(&mut self, future: F) -> JoinHandle<T>
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let (task, handle) = wrap(future);
        self.insert(task);
        handle
    }

    /// A handle other threads can use to spawn tasks onto this executor.
    pub fn spawner(&self) -> Spawner {
        Spawner::new(Arc::clone(&self.shared))
    }

    /// Polls one ready task. Returns `false` when no task was ready (nothing was polled).
    ///
    /// Book: the book's `poll` took the first task whether or not anything had woken it.
    pub fn poll(&mut self) -> bool {
        let Some((index, id)) = self.next_ready() else {
            return false;
        };
        let Some(task) = self.tasks.get_mut(index).and_then(Option::as_mut) else {
            return true; // a stale entry: the task finished meanwhile
        };
        if task.state.id != id {
            return true; // stale: the slot now holds a newer task
        }
        // Clear `queued` before polling, so a wake during the poll queues the task again.
        task.state.queued.store(false, Ordering::Release);
        let mut cx = Context::from_waker(&task.waker);
        self.stats.polls += 1;
        if task.future.as_mut().poll(&mut cx).is_ready() {
            // Finished: later wakes from stored wakers must do nothing.
            task.state.queued.store(true, Ordering::Release);
            self.tasks[index] = None;
            self.free.push(index);
            self.live -= 1;
            self.stats.completed += 1;
        }
        true
    }

    /// Polls ready tasks until none is ready; returns how many polls that took.
    ///
    /// Returns without parking: a task that is `Pending` and not woken stays unpolled.
    pub fn run_until_stalled(&mut self) -> usize {
        let mut polls = 0;
        while self.poll() {
            polls += 1;
        }
        polls
    }

    /// Runs until every task has finished and no [`Spawner`] is left, parking the thread
    /// whenever no task is ready.
    pub fn run(&mut self) {
        loop {
            self.run_until_stalled();
            if !self.park_inner(true) {
                return;
            }
        }
    }

    /// Parks the calling thread until a waker fires or a [`Spawner`] sends a task; returns at
    /// once if a task is already ready. It may also return spuriously: call it in a loop.
    ///
    /// For threads that mix the executor with other work (e.g. a server worker that also takes
    /// new connections from a channel): whoever feeds that work must `unpark` this thread
    /// afterwards — an `unpark` that lands before `park` is kept, so none is lost.
    pub fn park(&mut self) {
        self.park_inner(false);
    }

    /// Runs `future` on this thread until it finishes, polling the spawned tasks meanwhile and
    /// parking when neither it nor any task is ready. `future` need not be `Send`.
    pub fn block_on<F: Future>(&mut self, future: F) -> F::Output {
        let main = Arc::new(TaskWaker {
            index: MAIN,
            id: 0,
            shared: Arc::clone(&self.shared),
            queued: AtomicBool::new(true),
        });
        let waker = Waker::from(Arc::clone(&main));
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        self.main_woken = true;
        loop {
            if self.main_woken {
                self.main_woken = false;
                main.queued.store(false, Ordering::Release);
                self.stats.polls += 1;
                if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                    return out;
                }
            }
            while !self.main_woken && self.poll() {}
            if !self.main_woken {
                self.park_inner(false);
            }
        }
    }

    /// Number of tasks not yet finished (tasks still in a `Spawner`'s inbox are not counted).
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when no spawned task is left unfinished.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Polls, parks and task counts so far.
    pub fn stats(&self) -> ExecutorStats {
        self.stats
    }

    fn insert(&mut self, future: BoxedTask) {
        let index = self.free.pop().unwrap_or_else(|| {
            self.tasks.push(None);
            self.tasks.len() - 1
        });
        let id = self.next_id;
        self.next_id += 1;
        let state = Arc::new(TaskWaker {
            index,
            id,
            shared: Arc::clone(&self.shared),
            queued: AtomicBool::new(true), // it is about to be queued for its first poll
        });
        // Book: the book's `create_waker` hid `unsafe { Waker::from_raw(..) }` inside a safe fn
        // with no argument for why it is sound (it was not); `Waker::from(Arc<impl Wake>)` needs
        // no `unsafe`, and one waker per task lets a wake name the task to re-queue.
        let waker = Waker::from(Arc::clone(&state));
        self.tasks[index] = Some(Task {
            future,
            waker,
            state,
        });
        self.polling.push_back((index, id));
        self.live += 1;
        self.stats.spawned += 1;
    }

    /// The next task to poll: from the local queue, refilled from the wakers' queue and the
    /// spawners' inbox when empty. `block_on`'s marker only sets `main_woken`.
    fn next_ready(&mut self) -> Option<(usize, u64)> {
        loop {
            if self.polling.is_empty() {
                let inbox = {
                    let mut shared = self.shared.lock();
                    std::mem::swap(&mut self.polling, &mut shared.woken);
                    std::mem::take(&mut shared.inbox)
                };
                // Inserted outside the lock: nothing here may call back into a waker under it.
                for task in inbox {
                    self.insert(task);
                }
            }
            match self.polling.pop_front() {
                Some((MAIN, _)) => self.main_woken = true,
                other => return other,
            }
        }
    }

    /// Parks unless work is ready. With `until_done`, returns `false` instead of parking when
    /// no task is left and no `Spawner` could send one (the run is over).
    fn park_inner(&mut self, until_done: bool) -> bool {
        if !self.polling.is_empty() || self.main_woken {
            return true;
        }
        {
            let mut shared = self.shared.lock();
            if !shared.woken.is_empty() || !shared.inbox.is_empty() {
                return true;
            }
            if until_done && self.live == 0 && shared.spawners == 0 {
                return false;
            }
            shared.parked = Some(thread::current());
        }
        self.stats.parks += 1;
        thread::park();
        self.shared.lock().parked = None;
        true
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        // Unfinished futures are dropped here; their handles then report `Cancelled`. The
        // inbox is taken out of the lock first, because dropping a future may wake a waker.
        let inbox = std::mem::take(&mut self.shared.lock().inbox);
        drop(inbox);
        self.tasks.clear();
    }
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("live", &self.live)
            .field("ready", &self.polling.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// A `Send + Clone` handle that spawns tasks onto an [`Executor`] from any thread (or from any
/// other runtime): the future goes into the executor's inbox and the executor is unparked.
///
/// While a `Spawner` exists, [`Executor::run`] keeps waiting for work instead of returning.
pub struct Spawner {
    shared: Arc<Shared>,
}

impl Spawner {
    fn new(shared: Arc<Shared>) -> Self {
        shared.lock().spawners += 1;
        Spawner { shared }
    }

    /// Sends `future` to the executor and returns its handle. If the executor has been
    /// dropped, the future is dropped too and the handle reports [`JoinError::Cancelled`].
    pub fn spawn<F, T>(&self, future: F) -> JoinHandle<T>
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let (task, handle) = wrap(future);
        self.shared.push_inbox(task);
        handle
    }
}

impl Clone for Spawner {
    fn clone(&self) -> Self {
        Spawner::new(Arc::clone(&self.shared))
    }
}

impl Drop for Spawner {
    fn drop(&mut self) {
        let parked = {
            let mut state = self.shared.lock();
            state.spawners -= 1;
            state.parked.take()
        };
        // The last spawner gone may end `run`: let a parked executor look again.
        if let Some(thread) = parked {
            thread.unpark();
        }
    }
}

impl std::fmt::Debug for Spawner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spawner").finish_non_exhaustive()
    }
}

/// Wraps `future` so its output (or its panic) lands in a new join slot; returns the erased
/// task and the handle.
fn wrap<F, T>(future: F) -> (BoxedTask, JoinHandle<T>)
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let state = JoinState::new();
    let handle = JoinHandle::new(Arc::clone(&state));
    // The guard is created outside the async block: a task dropped before its first poll drops
    // the captured guard too, so its handle still learns that it was cancelled.
    let guard = CancelOnDrop(Some(state));
    let task = Box::pin(async move {
        let mut guard = guard;
        let mut future = pin!(future);
        // Book: a panicking task unwound through the book's `poll` and killed the executor
        // thread with every other task on it; ours catches it and reports it to the handle.
        let result =
            poll_fn(
                |cx| match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
                    Ok(Poll::Pending) => Poll::Pending,
                    Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
                    Err(payload) => Poll::Ready(Err(JoinError::Panicked(panic_message(&*payload)))),
                },
            )
            .await;
        if let Some(state) = guard.0.take() {
            state.complete(result);
        }
    });
    (task, handle)
}

/// Reports `Cancelled` if the task is dropped before it wrote its result.
struct CancelOnDrop<T>(Option<Arc<JoinState<T>>>);

impl<T> Drop for CancelOnDrop<T> {
    fn drop(&mut self) {
        if let Some(state) = self.0.take() {
            state.complete(Err(JoinError::Cancelled));
        }
    }
}
