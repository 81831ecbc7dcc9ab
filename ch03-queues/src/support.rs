//! What every step of chapter 3 shares, so that each step's module holds only what that step of
//! the book changes.
//!
//! - [`run_runnable`]: the book's `catch_unwind(|| runnable.run())`, which every worker loop of the
//!   chapter writes inline;
//! - [`spawn_worker`]: a named consumer thread (`queue-0`, `worker-1`, `high-0`, `low-0`, …), so
//!   that timelines and tests can say which worker ran a poll;
//! - [`async_fn`] and [`async_fn_with`]: the book's `async fn async_fn()`, which blocks for one of
//!   the book's seconds, scaled to [`BOOK_UNIT`] (100 ms);
//! - [`WakeCounter`]: a waker that only counts its wakes, for polling futures by hand;
//! - [`Gates`]: tasks that hold workers until a test lets them go, so that tests fix the order of
//!   a queue instead of relying on timing luck;
//! - [`poll_order`] and [`poll_report`]: read back a [`Timeline`] filled by
//!   [`common::timeline::CountPolls::recording`] (one span per poll) as "which task, which poll,
//!   which thread";
//! - [`wait_for`] and [`serial`]: a `block_on` with a watchdog, and the lock that serialises the
//!   tests of one step (its queues are `static`, so its tests share them).

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use async_task::Runnable;
use common::Timeline;
use common::timeline::{current_thread_name, format_duration};
use futures_lite::future;

/// One of the book's seconds. The book's futures block for 1 s per poll so that a human can watch
/// the queue; our demos scale every such second to 100 ms so the whole chapter runs in seconds.
pub const BOOK_UNIT: Duration = Duration::from_millis(100);

/// Polls a task once, as every worker loop of the book does with `catch_unwind(|| runnable.run())`.
///
/// A panic inside the task's future is caught here, so a badly written future cannot take the
/// worker thread down with it. Only panics are caught (the book's prose says "any error"): an
/// `Err` returned by a future is just its output. With plain `async_task::spawn` the panicking task
/// is cancelled, and whoever waits for it sees `Task polled after completion` (see the
/// `try-join-macro` step). Returns what `Runnable::run` returns: whether the task was woken while
/// it ran (false also after a panic).
pub fn run_runnable(runnable: Runnable) -> bool {
    catch_unwind(|| runnable.run()).unwrap_or(false)
}

/// Starts a named consumer thread.
///
/// The book uses `thread::spawn`; a name (`thread::Builder`) is what lets a timeline or a test
/// report that a poll ran on `low-0`. Failing to start a thread means the machine is out of
/// resources, and a queue without its worker would hang every caller, so that panics with a message.
pub fn spawn_worker(name: impl Into<String>, body: impl FnOnce() + Send + 'static) {
    let name = name.into();
    thread::Builder::new()
        .name(name.clone())
        .spawn(body)
        .unwrap_or_else(|e| panic!("could not start worker thread `{name}`: {e}"));
}

/// The book's `async fn async_fn()`: blocks for one book second ([`BOOK_UNIT`]), then prints
/// `async fn`.
///
/// There is no `.await` inside, so it completes in the first poll, and four of them awaited in one
/// `async` block run back to back in that block's single poll.
pub async fn async_fn() {
    async_fn_with(BOOK_UNIT).await
}

/// [`async_fn`] with its blocking delay chosen by the caller (tests use zero).
pub async fn async_fn_with(delay: Duration) {
    if !delay.is_zero() {
        // Book: a blocking sleep inside async code, on purpose: it stands for work that holds
        // the worker thread, so the demos can show what that costs. Real code awaits a timer.
        thread::sleep(delay);
    }
    println!("async fn");
}

/// A waker that counts how often it is woken and does nothing else (`std::task::Wake` over an
/// `AtomicUsize`), for polling a future by hand.
///
/// ```
/// use ch03::support::WakeCounter;
/// let counter = WakeCounter::new();
/// let waker = counter.waker();
/// waker.wake_by_ref();
/// waker.wake();
/// assert_eq!(counter.wakes(), 2);
/// ```
#[derive(Debug, Default)]
pub struct WakeCounter(AtomicUsize);

impl WakeCounter {
    /// A counter at zero.
    pub fn new() -> Arc<Self> {
        Arc::new(WakeCounter::default())
    }

    /// A waker that adds one to this counter each time it is woken.
    pub fn waker(self: &Arc<Self>) -> Waker {
        Waker::from(Arc::clone(self))
    }

    /// Wakes so far.
    pub fn wakes(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for WakeCounter {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// How long a test waits for gates to be entered, or for a task, before it fails; also how long a
/// gate whose test forgot it holds its worker at most.
pub const WATCHDOG: Duration = Duration::from_secs(10);

/// A future that holds the worker polling it until its [`Gates`] let it go.
///
/// Its one poll reports the worker's name to the `Gates`, then *blocks* that worker on a std
/// channel. That is exactly the misbehaviour the chapter warns about, used on purpose: while a gate
/// is closed its worker can run nothing else, so a test can fill the queues in a known order and
/// only then open the gates. Dropping the `Gates` opens every gate it made.
#[derive(Debug)]
pub struct Gate {
    index: usize,
    entered: mpsc::Sender<(usize, String)>,
    release: mpsc::Receiver<()>,
}

impl Future for Gate {
    /// The name of the worker the gate held.
    type Output = String;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<String> {
        let thread = current_thread_name();
        let _ = self.entered.send((self.index, thread.clone()));
        // Returns when the gate is opened or the `Gates` are dropped, or at the latest after the
        // watchdog, so a failed test never leaves a worker blocked for good.
        let _ = self.release.recv_timeout(WATCHDOG);
        Poll::Ready(thread)
    }
}

/// The test side of a set of [`Gate`]s: wait until each holds a worker, then open them one by one.
///
/// ```
/// use ch03::support::Gates;
/// let (mut gates, [gate]) = Gates::new::<1>();
/// let worker = std::thread::Builder::new()
///     .name("worker-0".into())
///     .spawn(move || futures_lite::future::block_on(gate))
///     .unwrap();
/// assert_eq!(gates.wait_entered(), ["worker-0"]);
/// gates.open("worker-0");
/// assert_eq!(worker.join().unwrap(), "worker-0");
/// ```
#[derive(Debug)]
pub struct Gates {
    entered: mpsc::Receiver<(usize, String)>,
    releases: Vec<Option<mpsc::Sender<()>>>,
    threads: Vec<Option<String>>,
}

impl Gates {
    /// `N` closed gates, and the handle that opens them.
    pub fn new<const N: usize>() -> (Gates, [Gate; N]) {
        let (entered_tx, entered) = mpsc::channel();
        let mut releases = Vec::with_capacity(N);
        let gates = std::array::from_fn(|index| {
            let (release_tx, release) = mpsc::channel();
            releases.push(Some(release_tx));
            Gate {
                index,
                entered: entered_tx.clone(),
                release,
            }
        });
        let gates_handle = Gates {
            entered,
            releases,
            threads: vec![None; N],
        };
        (gates_handle, gates)
    }

    /// Blocks until every gate is held by a worker; returns the workers' names, sorted.
    ///
    /// A closed gate holds its worker, so `N` entered gates sit on `N` different workers. Panics
    /// after [`WATCHDOG`] (a queue without enough started workers would otherwise hang the test).
    pub fn wait_entered(&mut self) -> Vec<String> {
        while self.threads.iter().any(Option::is_none) {
            match self.entered.recv_timeout(WATCHDOG) {
                Ok((index, thread)) => self.threads[index] = Some(thread),
                Err(_) => panic!(
                    "only {} of {} gates were entered within {WATCHDOG:?}",
                    self.threads.iter().flatten().count(),
                    self.threads.len()
                ),
            }
        }
        let mut names: Vec<String> = self.threads.iter().flatten().cloned().collect();
        names.sort();
        names
    }

    /// Opens the gate that holds worker `thread` (call [`Gates::wait_entered`] first).
    pub fn open(&mut self, thread: &str) {
        let index = self
            .threads
            .iter()
            .position(|t| t.as_deref() == Some(thread))
            .unwrap_or_else(|| panic!("no gate holds `{thread}`: {:?}", self.threads));
        self.releases[index] = None; // dropping the sender ends the gate's wait
    }

    /// Opens every gate.
    pub fn open_all(&mut self) {
        self.releases.iter_mut().for_each(|release| *release = None);
    }
}

/// Each poll recorded in `timeline` as `label:n` (the n-th poll of that row), in the order the
/// polls started. Fill the timeline with `CountPolls::new(fut).recording(&timeline, label)`.
pub fn poll_order(timeline: &Timeline) -> Vec<String> {
    numbered_polls(timeline)
        .into_iter()
        .map(|(label, n, _)| format!("{label}:{n}"))
        .collect()
}

/// One line per recorded poll, in the order they started: when, which task, which poll, on which
/// worker, and for how long.
pub fn poll_report(timeline: &Timeline) -> String {
    numbered_polls(timeline)
        .into_iter()
        .map(|(label, n, span)| {
            format!(
                "  {:>9}  {label} poll {n} on {} ({})\n",
                format_duration(span.start),
                span.thread,
                format_duration(span.duration())
            )
        })
        .collect()
}

fn numbered_polls(timeline: &Timeline) -> Vec<(String, usize, common::timeline::Span)> {
    let mut seen: Vec<(String, usize)> = Vec::new();
    timeline
        .spans()
        .into_iter()
        .map(|span| {
            let n = match seen.iter_mut().find(|(label, _)| *label == span.label) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    seen.push((span.label.clone(), 1));
                    1
                }
            };
            (span.label.clone(), n, span)
        })
        .collect()
}

/// The text of a panic payload: what `panic!("boom")` or `panic!("{x}")` was given.
pub use common::panic::message as panic_message;

/// `future::block_on(future)` under a watchdog, for tests: panics if it takes longer than
/// [`WATCHDOG`], and passes on a panic of the future (a `Task`'s, say) with its payload.
///
/// It blocks on a helper thread, so the calling test thread never polls anything itself.
pub fn wait_for<T: Send + 'static>(future: impl Future<Output = T> + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(catch_unwind(AssertUnwindSafe(|| future::block_on(future))));
    });
    match rx.recv_timeout(WATCHDOG) {
        Ok(Ok(value)) => value,
        Ok(Err(payload)) => resume_unwind(payload),
        Err(_) => panic!("not finished within {WATCHDOG:?}"),
    }
}

/// Locks one step's test lock. A step's queues are `static`, so all tests of that step share them;
/// each step's tests hold its lock so that they never see each other's tasks. A test that failed
/// while holding the lock leaves it poisoned, which only means "the previous test failed": go on.
pub fn serial(lock: &'static Mutex<()>) -> MutexGuard<'static, ()> {
    lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::timeline::CountPolls;

    #[test]
    fn gates_report_their_workers_and_open_one_at_a_time() {
        let (mut gates, [first, second]) = Gates::new::<2>();
        let spawn = |name: &str, gate: Gate| {
            thread::Builder::new()
                .name(name.into())
                .spawn(move || future::block_on(gate))
                .unwrap()
        };
        let a = spawn("w-a", first);
        let b = spawn("w-b", second);
        assert_eq!(gates.wait_entered(), ["w-a", "w-b"]);
        gates.open("w-b");
        assert_eq!(b.join().unwrap(), "w-b");
        assert!(!a.is_finished());
        drop(gates); // dropping opens the rest
        assert_eq!(a.join().unwrap(), "w-a");
    }

    #[test]
    fn poll_order_numbers_each_rows_polls_in_start_order() {
        let timeline = Timeline::new();
        let mut one = CountPolls::new(common::CounterFuture::new(2)).recording(&timeline, "one");
        let mut two = CountPolls::new(common::CounterFuture::new(1)).recording(&timeline, "two");
        let mut cx = Context::from_waker(Waker::noop());
        let _ = Pin::new(&mut one).poll(&mut cx);
        let _ = Pin::new(&mut two).poll(&mut cx);
        let _ = Pin::new(&mut one).poll(&mut cx);
        assert_eq!(poll_order(&timeline), ["one:1", "two:1", "one:2"]);
        let report = poll_report(&timeline);
        assert_eq!(report.lines().count(), 3);
        assert!(report.contains("one poll 2 on "), "{report}");
    }

    #[test]
    fn wait_for_passes_values_and_panics_through() {
        assert_eq!(wait_for(async { 7 }), 7);
        let payload = catch_unwind(|| wait_for(async { panic!("inner") })).unwrap_err();
        assert_eq!(panic_message(&*payload), "inner");
    }
}
