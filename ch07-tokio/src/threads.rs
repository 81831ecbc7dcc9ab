//! Which thread ran what: helpers for the runtime demos of chapter 7 (book section "Building a
//! Runtime").
//!
//! A runtime built with `thread_name("our custom runtime A")` gives all its threads that one name,
//! so a timeline drawn by name alone would put four workers on one row. [`thread_label`] adds the
//! worker's index (`tokio::runtime::worker_index()`, stable since tokio 1.54) or, on a thread that
//! is not a worker (a blocking-pool thread, `main`), its thread number. [`Lifecycle`] is the
//! recorder behind the `on_thread_start` / `on_thread_stop` / `on_thread_park` /
//! `on_thread_unpark` hooks: it counts them, can echo the book's `thread starting for runtime A`
//! lines, lets a test wait for a hook with a time limit, and turns park-to-unpark intervals into
//! timeline spans. [`watchdog`] runs a test body that could deadlock on a regression (a
//! `std::sync::Barrier` that too few threads reach) on its own thread, and fails it after a limit
//! instead of hanging `cargo test`.
//!
//! Nothing here is global: every demo and test makes its own recorder and passes it to the
//! runtime it builds.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use common::Timeline;
use common::timeline::current_thread_name;

/// The current thread as a chart should name it: `our custom runtime A #2` on worker 2 of a
/// runtime, `name (t17)` on any other thread (a blocking-pool thread, `main`, a pool thread).
pub fn thread_label() -> String {
    let name = current_thread_name();
    match tokio::runtime::worker_index() {
        Some(index) => format!("{name} #{index}"),
        None => format!("{name} (t{})", thread_number(std::thread::current().id())),
    }
}

/// The number in a `ThreadId`'s debug form (`ThreadId(17)` gives `17`): unique in the process.
pub fn thread_number(id: ThreadId) -> String {
    format!("{id:?}")
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

/// One of the four thread hooks of `tokio::runtime::Builder`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// `on_thread_start`: a worker or blocking-pool thread began.
    Start,
    /// `on_thread_stop`: a worker or blocking-pool thread is about to end.
    Stop,
    /// `on_thread_park`: a worker found nothing to do and goes to sleep.
    Park,
    /// `on_thread_unpark`: a parked worker woke up.
    Unpark,
}

impl Hook {
    fn verb(self) -> &'static str {
        match self {
            Hook::Start => "starting",
            Hook::Stop => "stopping",
            Hook::Park => "parking",
            Hook::Unpark => "unparking",
        }
    }
}

/// A hook that fired: which, on which thread ([`thread_label`]), when (on the recorder's clock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookEvent {
    /// Which hook.
    pub hook: Hook,
    /// The thread it ran on, as [`thread_label`] names it.
    pub thread: String,
    /// The thread's id, for comparing with ids a task recorded.
    pub thread_id: ThreadId,
    /// Time since the recorder's timeline began.
    pub at: Duration,
}

/// Records a runtime's thread hooks; clone it into each hook closure.
///
/// ```
/// use ch07::threads::{Hook, Lifecycle};
/// let lifecycle = Lifecycle::new(&common::Timeline::new(), None);
/// let runtime = tokio::runtime::Builder::new_multi_thread()
///     .worker_threads(2)
///     .on_thread_start(lifecycle.hook(Hook::Start))
///     .on_thread_stop(lifecycle.hook(Hook::Stop))
///     .build()
///     .unwrap();
/// drop(runtime); // joins the workers, so both stop hooks have run
/// assert_eq!(lifecycle.count(Hook::Start), 2);
/// assert_eq!(lifecycle.count(Hook::Stop), 2);
/// ```
#[derive(Clone)]
pub struct Lifecycle {
    clock: Timeline,
    echo: Option<Arc<str>>,
    shared: Arc<(Mutex<Vec<HookEvent>>, Condvar)>,
}

impl std::fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lifecycle")
            .field("echo", &self.echo)
            .field("events", &self.events().len())
            .finish()
    }
}

impl Lifecycle {
    /// A recorder on `clock`'s time; with `echo = Some("runtime A")` the start, stop and park hooks
    /// also print `thread starting for runtime A` and so on, as the book's hooks do.
    pub fn new(clock: &Timeline, echo: Option<&str>) -> Self {
        Lifecycle {
            clock: clock.clone(),
            echo: echo.map(Arc::from),
            shared: Arc::new((Mutex::new(Vec::new()), Condvar::new())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<HookEvent>> {
        // A panic while pushing one event cannot leave the list half-written.
        self.shared
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records `hook` now, on the current thread (what each hook closure calls).
    pub fn fire(&self, hook: Hook) {
        if let Some(runtime) = &self.echo
            && hook != Hook::Unpark
        {
            println!("thread {} for {runtime}", hook.verb());
        }
        let event = HookEvent {
            hook,
            thread: thread_label(),
            thread_id: std::thread::current().id(),
            at: self.clock.now(),
        };
        self.lock().push(event);
        self.shared.1.notify_all();
    }

    /// A closure for `Builder::on_thread_start` (or stop, park, unpark) that records `hook`.
    pub fn hook(&self, hook: Hook) -> impl Fn() + Send + Sync + 'static {
        let lifecycle = self.clone();
        move || lifecycle.fire(hook)
    }

    /// Every event so far, in the order the hooks ran.
    pub fn events(&self) -> Vec<HookEvent> {
        self.lock().clone()
    }

    /// How many times `hook` has fired.
    pub fn count(&self, hook: Hook) -> usize {
        self.lock().iter().filter(|e| e.hook == hook).count()
    }

    /// Waits until `hook` has fired at least `n` times; `false` if `limit` passed first.
    pub fn wait_for(&self, hook: Hook, n: usize, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut events = self.lock();
        loop {
            if events.iter().filter(|e| e.hook == hook).count() >= n {
                return true;
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            events = match self.shared.1.wait_timeout(events, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// Adds one span per park-to-unpark interval to `timeline`, in the row `"<thread> parked"`.
    /// A thread still parked at `until` gets a span ending there.
    pub fn record_parked(&self, timeline: &Timeline, until: Duration) {
        let events = self.events();
        let mut open: Vec<(String, Duration)> = Vec::new();
        for event in &events {
            match event.hook {
                Hook::Park => open.push((event.thread.clone(), event.at)),
                Hook::Unpark => {
                    if let Some(i) = open.iter().position(|(t, _)| *t == event.thread) {
                        let (thread, from) = open.remove(i);
                        timeline.record(format!("{thread} parked"), &thread, from, event.at);
                    }
                }
                Hook::Start | Hook::Stop => {}
            }
        }
        for (thread, from) in open {
            if from < until {
                timeline.record(format!("{thread} parked"), &thread, from, until);
            }
        }
    }
}

/// Runs `body` on a thread of its own and returns its result, or panics if it takes longer than
/// `limit` (the thread is then left behind, blocked: the test has failed either way).
///
/// For tests whose regression would be a deadlock rather than a wrong value.
///
/// ```
/// use std::time::Duration;
/// let four = ch07::threads::watchdog(Duration::from_secs(5), "adding", || 2 + 2);
/// assert_eq!(four, 4);
/// ```
pub fn watchdog<T: Send + 'static>(
    limit: Duration,
    what: &str,
    body: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(body());
    });
    match result.recv_timeout(limit) {
        Ok(value) => value,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: still running after {limit:?}; a deadlock?")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            panic!("{what}: the body panicked (its message is above)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_the_worker_index_on_workers_and_the_thread_number_elsewhere() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("labelled")
            .build()
            .unwrap();
        let on_worker = runtime.block_on(async { tokio::spawn(async { thread_label() }).await });
        assert_eq!(on_worker.unwrap(), "labelled #0");
        let on_blocking = runtime.block_on(runtime.spawn_blocking(thread_label));
        let on_blocking = on_blocking.unwrap();
        assert!(on_blocking.starts_with("labelled (t"), "{on_blocking}");
    }

    #[test]
    fn park_hooks_become_spans_and_wait_for_has_a_limit() {
        let timeline = Timeline::new();
        let lifecycle = Lifecycle::new(&timeline, None);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .on_thread_park(lifecycle.hook(Hook::Park))
            .on_thread_unpark(lifecycle.hook(Hook::Unpark))
            .build()
            .unwrap();
        // An idle worker parks: the first park arrives without any work being spawned.
        assert!(lifecycle.wait_for(Hook::Park, 1, Duration::from_secs(5)));
        runtime
            .block_on(async { tokio::spawn(async {}).await })
            .unwrap();
        assert!(!lifecycle.wait_for(Hook::Stop, 1, Duration::from_millis(20)));
        lifecycle.record_parked(&timeline, timeline.now());
        let spans = timeline.spans();
        assert!(!spans.is_empty());
        assert!(spans.iter().all(|s| s.label == "tokio-rt-worker #0 parked"));
    }

    #[test]
    #[should_panic(expected = "still running")]
    fn the_watchdog_fails_a_stuck_body() {
        watchdog(Duration::from_millis(50), "stuck", || {
            std::thread::sleep(Duration::from_secs(2))
        });
    }
}
