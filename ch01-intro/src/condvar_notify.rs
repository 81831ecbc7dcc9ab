//! `condvar-notify`: waking a thread when a shared value changes (book section "What Are
//! Threads?").
//!
//! Two threads share a value through `Arc<(Mutex<…>, Condvar)>`. The updater publishes four values
//! one after another; the listener sleeps on the `Condvar` (parked, using no CPU) and wakes each time
//! the updater notifies it; an `AtomicBool` finally asks the listener to stop. It is a crude but
//! real version of "wake me when something changed", which is what async runtimes do at scale.
//!
//! Run it with `cargo run -p ch01 -- condvar-notify [--pause-ms P]` (default P = 50). You will see
//! `Updating value to …` and `Received value: …` alternate four times, then `STOP has been
//! updated`, then the values the listener returned after both threads were joined.
//!
//! How we differ from the book, and why. The book's listener calls `cvar.wait(guard)` with nothing
//! to check, so its correctness rests on timing luck (the 4 s sleeps):
//!
//! - a notification sent while nobody waits is simply lost: if the updater publishes before the
//!   listener reaches `wait`, or sets the stop flag while the listener is busy, the listener misses
//!   it, and after the last update it can park forever;
//! - a wait can also return *spuriously* (with no notification at all), and the book would print the
//!   same value twice;
//! - the hang is hidden because the book never joins the listener: `main` exits and takes it along.
//!
//! The fix is the standard condvar discipline: wait *for a condition* on state kept under the
//! mutex. We keep `{ value, version, acknowledged }` under the lock, the listener waits with
//! `Condvar::wait_while` until the version moves on (or stop is set), the stop flag is set while
//! holding the lock, and the updater waits for the listener's acknowledgement instead of sleeping.
//! Both threads are joined, and the listener returns what it received. `--pause-ms` only paces the
//! output for a human; with `--pause-ms 0` the result is the same. Last, a small change of
//! plumbing: the threads do not print themselves but pass their lines to the main thread, which
//! prints them as they arrive (the order is the same; see `run`).

use std::error::Error;
use std::io;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use common::demo::{Args, DemoResult};

/// The values the updater publishes, as in the book.
pub const VALUES: [bool; 4] = [false, true, false, true];

/// The default pause between updates, in milliseconds: enough to read along, far from the book's
/// 4 s (which was doing the job of a synchronisation, badly).
pub const DEFAULT_PAUSE_MS: u64 = 50;

/// Everything the two threads share, always read and written with the mutex held.
#[derive(Debug, Default)]
pub struct Shared {
    /// The latest published value (the book's `Mutex<bool>`).
    pub value: bool,
    /// How many values have been published: lets the listener tell a new value from a repeat of
    /// the same one, and a real wake-up from a spurious one.
    pub version: u64,
    /// The last version the listener has handled: the updater waits for it to catch up.
    pub acknowledged: u64,
}

/// Where the demo's lines go: `println!` in the demo, a `Vec` in the tests.
pub type Report = Arc<dyn Fn(&str) + Send + Sync>;

type State = Arc<(Mutex<Shared>, Condvar)>;

/// Locks the shared state. A poisoned lock only means the other thread panicked while holding it;
/// every update to `Shared` is a single assignment, so the data is still consistent and we go on
/// (the panic itself is reported when that thread is joined).
fn lock(mutex: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The two running threads, started by [`start`]; [`Running::join`] waits for both.
pub struct Running {
    shared_data: State,
    stop: Arc<AtomicBool>,
    background_thread: JoinHandle<Vec<bool>>,
    updater_thread: JoinHandle<()>,
}

/// Starts the listener (thread `listener`) and the updater (thread `updater`), which publishes
/// `values` one by one, pausing `pause` after each acknowledgement. Both threads report their lines
/// through `report`, and drop it when they finish.
pub fn start(values: &[bool], pause: Duration, report: Report) -> io::Result<Running> {
    let shared_data: State = Arc::new((Mutex::new(Shared::default()), Condvar::new()));
    let shared_data_clone = Arc::clone(&shared_data);
    // Book: `STOP` / `STOP_CLONE` (upper case warns: locals are snake_case). We keep the book's
    // `AtomicBool`, but what makes it work is that it is only written *and read* with the mutex held:
    // the lock orders it with the waits, so `Relaxed` is enough. (A `stop: bool` field in `Shared`
    // would do the same job; the atomic just lets the lesson keep the book's shape.)
    let stop = Arc::new(AtomicBool::new(false));
    let stop_clone = Arc::clone(&stop);

    let listener_report = Arc::clone(&report);
    let background_thread = thread::Builder::new()
        .name("listener".into())
        .spawn(move || listen(&shared_data_clone, &stop_clone, &*listener_report))?;

    let updater_state = Arc::clone(&shared_data);
    let updater_stop = Arc::clone(&stop);
    let values = values.to_vec();
    let updater_thread = thread::Builder::new()
        .name("updater".into())
        .spawn(move || update(&updater_state, &updater_stop, &values, pause, &*report));
    match updater_thread {
        Ok(updater_thread) => Ok(Running {
            shared_data,
            stop,
            background_thread,
            updater_thread,
        }),
        Err(e) => {
            // No updater means nobody would ever stop the listener: stop it ourselves first.
            request_stop(&shared_data, &stop);
            let _ = background_thread.join();
            Err(e)
        }
    }
}

impl Running {
    /// Joins both threads and returns, in order, the values the listener received. A panic in
    /// either thread is returned as an error (after the other one has been stopped and joined).
    pub fn join(self) -> Result<Vec<bool>, Box<dyn Error + Send + Sync>> {
        // Book: only the updater is joined; the listener would stay parked if it missed the stop.
        let updated = self.updater_thread.join();
        if updated.is_err() {
            request_stop(&self.shared_data, &self.stop); // so that the join below cannot hang
        }
        let received = self.background_thread.join();
        updated.map_err(|_| "the updater thread panicked")?;
        let received = received.map_err(|_| "the listener thread panicked")?;
        Ok(received)
    }
}

/// [`start`] then [`Running::join`]: runs the exchange to the end and returns the values received.
pub fn notify_values(
    values: &[bool],
    pause: Duration,
    report: Report,
) -> Result<Vec<bool>, Box<dyn Error + Send + Sync>> {
    start(values, pause, report)?.join()
}

/// Sets the stop flag with the lock held and wakes everyone.
fn request_stop(state: &State, stop: &AtomicBool) {
    let (mutex, cvar) = &**state;
    let guard = lock(mutex);
    stop.store(true, Relaxed);
    drop(guard);
    cvar.notify_all();
}

/// The updater (the book's `updater_thread`): publish each value, wait until the listener has
/// acknowledged it, pause, and finally ask the listener to stop.
fn update(
    state: &State,
    stop: &AtomicBool,
    values: &[bool],
    pause: Duration,
    report: &dyn Fn(&str),
) {
    let (mutex, cvar) = &**state;
    for &value in values {
        report(&format!("Updating value to {value}..."));
        let mut shared = lock(mutex);
        shared.value = value;
        shared.version += 1;
        // One condvar serves two conditions (new version, for the listener; acknowledgement, for
        // the updater), so wake all waiters and let each re-check its own condition.
        cvar.notify_all();
        // Book: `thread::sleep(4 s)` and hope the listener was quick enough. We wait for the fact
        // instead; `wait_while` re-checks after every wake-up, so spurious ones are harmless.
        let target = shared.version;
        let shared = cvar
            .wait_while(shared, |s| s.acknowledged < target)
            .unwrap_or_else(PoisonError::into_inner);
        drop(shared);
        if !pause.is_zero() {
            thread::sleep(pause); // pacing for the reader only; correctness does not need it
        }
    }
    // Book: the flag is stored without the lock, so it can land between the listener's check and
    // its `wait`, and the notification that follows finds nobody waiting. With the lock held, the
    // listener is either before its check (and will see the flag) or already waiting (and is woken).
    request_stop(state, stop);
    report("STOP has been updated");
}

/// The listener (the book's `background_thread`): wait for each new version, record its value,
/// acknowledge it; return when stopped.
fn listen(state: &State, stop: &AtomicBool, report: &dyn Fn(&str)) -> Vec<bool> {
    let (mutex, cvar) = &**state;
    let mut received = Vec::new();
    let mut seen = 0;
    let mut shared = lock(mutex);
    loop {
        // Book: `cvar.wait(guard)` with no condition. `wait_while` returns only when the condition
        // is false: something new arrived, or stop was requested, even if the notification came
        // before we started waiting.
        shared = cvar
            .wait_while(shared, |s| s.version == seen && !stop.load(Relaxed))
            .unwrap_or_else(PoisonError::into_inner);
        if shared.version != seen {
            // Handle a pending value before looking at stop, so the last one is never dropped.
            seen = shared.version;
            received.push(shared.value);
            report(&format!("Received value: {}", shared.value));
            shared.acknowledged = seen;
            cvar.notify_all();
        } else {
            return received;
        }
    }
}

/// Runs the demo: `[--pause-ms P]`.
pub fn run(mut args: Args) -> DemoResult {
    let pause_ms = args.value_in("pause-ms", DEFAULT_PAUSE_MS, 0..=2_000)?;
    args.finish()?;
    let pause = Duration::from_millis(pause_ms);

    // Book: each thread calls `println!` itself. Ours hand their lines to the main thread, which
    // prints them as they arrive: only one thread ever writes to stdout, so no thread can wait on
    // stdout's lock while another holds it (the chapter runner keeps that lock while a demo runs;
    // see `common::demo::run_chapter`). The order is unchanged: each send happens where the book
    // prints, and the handshake already orders those points.
    let (line_tx, line_rx) = mpsc::channel::<String>();
    let report: Report = Arc::new(move |line: &str| {
        let _ = line_tx.send(line.to_string()); // the receiver outlives both threads
    });
    let running = start(&VALUES, pause, report)?;
    // The iterator ends when both threads have finished and dropped their `report`.
    for line in line_rx {
        println!("{line}");
    }
    let received = running.join()?;
    println!("both threads joined; the listener received {received:?}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn collecting() -> (Report, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let report: Report =
            Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_string()));
        (report, lines)
    }

    #[test]
    fn listener_returns_every_value_in_order_and_lines_alternate() {
        let (report, lines) = collecting();
        let received = notify_values(&VALUES, Duration::ZERO, report).unwrap();
        assert_eq!(received, [false, true, false, true]);
        assert_eq!(
            *lines.lock().unwrap(),
            [
                "Updating value to false...",
                "Received value: false",
                "Updating value to true...",
                "Received value: true",
                "Updating value to false...",
                "Received value: false",
                "Updating value to true...",
                "Received value: true",
                "STOP has been updated",
            ]
        );
    }

    #[test]
    fn two_hundred_rounds_without_sleeps_never_lose_a_wake_up() {
        // A worker runs the rounds and reports each one; if a wake-up were lost, a thread would
        // park forever and the watchdog below fails the test instead of hanging it.
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for round in 0..200 {
                let quiet: Report = Arc::new(|_: &str| {});
                let received = notify_values(&VALUES, Duration::ZERO, quiet).unwrap();
                if tx.send((round, received)).is_err() {
                    return;
                }
            }
        });
        let start = Instant::now();
        for expected in 0..200 {
            let (round, received) = rx
                .recv_timeout(Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("round {expected}: no result after 5 s ({e})"));
            assert_eq!(round, expected);
            assert_eq!(received, VALUES, "round {round}");
        }
        eprintln!("200 rounds in {:?}", start.elapsed());
    }

    #[test]
    fn no_values_still_stops_and_joins() {
        let (report, lines) = collecting();
        let received = notify_values(&[], Duration::ZERO, report).unwrap();
        assert!(received.is_empty());
        assert_eq!(*lines.lock().unwrap(), ["STOP has been updated"]);
    }

    #[test]
    fn pause_paces_the_updates() {
        // Lower bound only: four pauses of 20 ms cannot take less than 80 ms.
        let start = Instant::now();
        let quiet: Report = Arc::new(|_: &str| {});
        let received = notify_values(&VALUES, Duration::from_millis(20), quiet).unwrap();
        assert_eq!(received, VALUES);
        assert!(start.elapsed() >= Duration::from_millis(80));
    }

    // Why the book's predicate-less wait is fragile: a notification sent while nobody waits is not
    // stored anywhere, so a later `wait` does not see it and sleeps on (here, until its timeout).
    #[test]
    fn a_notification_sent_before_anyone_waits_is_lost() {
        let pair = (Mutex::new(false), Condvar::new());
        let mut value = pair.0.lock().unwrap();
        *value = true;
        pair.1.notify_one(); // nobody is waiting yet
        let (_value, result) = pair
            .1
            .wait_timeout(value, Duration::from_millis(50))
            .unwrap();
        assert!(result.timed_out());
    }

    #[test]
    fn bad_pause_is_a_usage_error() {
        for bad in [
            ["--pause-ms", "abc"],
            ["--pause-ms", "-5"],
            ["--pause-ms", "99999"],
        ] {
            let err = run(Args::from_iter(bad)).unwrap_err();
            assert!(err.is::<common::demo::UsageError>(), "{bad:?}: {err}");
        }
    }
}
