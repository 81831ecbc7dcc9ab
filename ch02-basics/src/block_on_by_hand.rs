//! `block-on-by-hand` (book section "How Are Futures Processed?"): an executor in about 40 lines,
//! tracing every stage of a future's life.
//!
//! The book lists the stages (create, spawn, poll, schedule, complete) without code. Here they
//! are run: [`block_on_with`] pins the future, builds a [`Waker`] over a [`WakeSignal`], and loops: poll; on `Pending`, sleep until the
//! waker fires; poll again; stop at `Ready`. Each step is reported as a [`Trace`] event, so the demo
//! can print the life of a future and the tests can assert it. It teaches two things:
//!
//! - an executor is a loop around `poll` plus *a way to sleep until woken*; it never polls again on
//!   its own, it waits for the wake (here: `thread::park`, no CPU used while waiting);
//! - the sleep must not lose a wake-up. The waker sets a flag and then unparks; the loop checks the
//!   flag *before* parking and again after every return from `park`. A wake that lands during the
//!   poll is seen by the check, one that lands between the check and `park` leaves an unpark token
//!   so `park` returns at once, and a spurious return from `park` finds the flag clear and parks
//!   again.
//!
//! Run it with `cargo run -p ch02 -- block-on-by-hand [--unit-ms N]`: it traces `CounterFuture::new(3)`
//! (three polls, never parked: it wakes itself) and a [`RemoteFuture`], which a thread named
//! `remote` completes 2 units after the first poll (two polls, one park in between).
//!
//! Where the book's description of the stages is off, a `// Book:` comment at the matching line of
//! [`block_on_with`] says so: how a future gets to an executor, when it is polled again, and what
//! it returns.
//!
//! Tokio's executor is far more elaborate (chapter 7) and chapter 3 builds a queue-based one; this
//! one runs a single future on the calling thread, like `futures::executor::block_on`.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::CounterFuture;
use common::demo::{Args, DemoResult};

use crate::units::{in_units, unit_arg};
use crate::wake_signal::WakeSignal;

/// Runs `future` to completion on the calling thread, reporting each step to `trace`.
///
/// `make_waker` turns the executor's [`WakeSignal`] into the [`Waker`] handed to the future:
/// [`Waker::from`] for the safe `Wake` implementation ([`block_on`]), or
/// `raw_waker_vtable::raw_waker` for the one built by hand. Whatever it builds must call the
/// signal's `signal()` on every wake.
pub fn block_on_with<F: Future>(
    make_waker: impl FnOnce(Arc<WakeSignal>) -> Waker,
    future: F,
    mut trace: impl FnMut(Trace<&F::Output>),
) -> F::Output {
    // Created: the future is a value that has not run yet. Pin it here, on this stack frame: it
    // will not move again until it is dropped, which is what `poll` requires.
    // Book: the stages say a task is spawned "with await"; `.await` polls a future inside the
    // current task, and `spawn` is what hands a future to an executor as a new task. This
    // executor has no tasks at all: `block_on` polls its one future on the calling thread.
    let mut future = pin!(future);
    // The waker: a wake sets the signal's flag and unparks this thread.
    let signal = WakeSignal::new();
    let waker = make_waker(Arc::clone(&signal));
    let mut cx = Context::from_waker(&waker);
    let mut polls = 0;
    loop {
        polls += 1;
        trace(Trace::Poll(polls));
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => {
                // Book: the result "might be a `Result` or an `Error`"; `Output` is any type (here
                // `u32`, `String`, `()`), a `Result` only when the future can fail.
                trace(Trace::Ready(&output));
                return output;
            }
            Poll::Pending => trace(Trace::Pending),
        }
        // Not ready: poll again only once the waker has fired. Check the flag first (the wake may
        // already have happened, even during the poll), and re-check after every `park`, which
        // may also return without a wake.
        // Book: the stages have the executor put a not-ready future straight back in its queue;
        // a future that returned `Pending` is polled again only after its waker is called (an
        // executor that re-polled on its own would be busy-polling; see `counter-without-wake`).
        loop {
            if let Some(by) = signal.take_woken() {
                trace(Trace::Woken { by });
                break;
            }
            trace(Trace::Parked);
            thread::park();
        }
    }
}

/// One step of [`block_on_with`], in the order it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trace<T> {
    /// The n-th call of `poll` (from 1).
    Poll(u32),
    /// That poll returned `Pending`.
    Pending,
    /// The loop found the woken flag set; `by` names the thread that called the waker last.
    Woken {
        /// The name of the waking thread (`common::timeline::current_thread_name`).
        by: String,
    },
    /// The loop found the flag clear and parked the thread.
    Parked,
    /// The poll returned `Ready` with this output; `block_on` returns it.
    Ready(T),
}

impl<T: Clone> Trace<&T> {
    /// The same event owning a copy of the output, to keep after `block_on` has returned.
    pub fn cloned(self) -> Trace<T> {
        match self {
            Trace::Poll(n) => Trace::Poll(n),
            Trace::Pending => Trace::Pending,
            Trace::Woken { by } => Trace::Woken { by },
            Trace::Parked => Trace::Parked,
            Trace::Ready(output) => Trace::Ready(output.clone()),
        }
    }
}

impl<T: fmt::Debug> fmt::Display for Trace<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trace::Poll(n) => write!(f, "poll #{n}"),
            Trace::Pending => f.write_str("  -> Pending"),
            Trace::Woken { by } => write!(f, "woken by `{by}`"),
            Trace::Parked => f.write_str("parked (thread asleep until unparked)"),
            Trace::Ready(output) => write!(f, "  -> Ready({output:?})"),
        }
    }
}

/// [`block_on_with`] using the safe waker (`WakeSignal`'s [`std::task::Wake`] implementation).
///
/// ```
/// use ch02::block_on_by_hand::{Trace, block_on};
/// let mut steps = Vec::new();
/// let output = block_on(async { 6 * 7 }, |step| steps.push(step.cloned()));
/// assert_eq!(output, 42);
/// assert_eq!(steps, [Trace::Poll(1), Trace::Ready(42)]);
/// ```
pub fn block_on<F: Future>(future: F, trace: impl FnMut(Trace<&F::Output>)) -> F::Output {
    block_on_with(Waker::from, future, trace)
}

/// A future completed from another thread, in the shape of `remote-waker`'s `MyFuture`: its
/// state (data, stored waker) sits behind a mutex that a thread named `remote` fills in.
///
/// Its first poll stores the waker and starts the remote job (a future does nothing until
/// polled); the job sleeps `after`, puts the data in, takes the waker and wakes it. The next poll
/// finds the data and returns it. Data check and waker store happen under one lock, as do data
/// fill and waker take, so the wake cannot fall between them.
#[derive(Debug)]
pub struct RemoteFuture {
    state: Arc<Mutex<RemoteState>>,
    after: Duration,
    remote: Option<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct RemoteState {
    data: Option<String>,
    waker: Option<Waker>,
}

/// What the `remote` thread delivers.
pub const REMOTE_DATA: &str = "Hello from the outside";

impl RemoteFuture {
    /// A future whose remote job delivers [`REMOTE_DATA`] `after` its first poll.
    pub fn new(after: Duration) -> Self {
        RemoteFuture {
            state: Arc::default(),
            after,
            remote: None,
        }
    }

    fn start_remote(&self) -> io::Result<JoinHandle<()>> {
        let state = Arc::clone(&self.state);
        let after = self.after;
        thread::Builder::new().name("remote".into()).spawn(move || {
            thread::sleep(after);
            let waker = {
                let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
                state.data = Some(REMOTE_DATA.to_string());
                state.waker.take()
            };
            // Wake outside the lock: the woken executor may poll at once and take the lock.
            if let Some(waker) = waker {
                waker.wake();
            }
        })
    }
}

impl Future for RemoteFuture {
    type Output = String;

    /// # Panics
    /// If the `remote` thread cannot be started (the system is out of threads).
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<String> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(data) = state.data.take() {
            drop(state);
            // The job is done; joining waits only for its thread to let go of the waker, so the
            // caller sees every waker released when `block_on` returns.
            if let Some(remote) = self.remote.take() {
                let _ = remote.join();
            }
            return Poll::Ready(data);
        }
        // Store the waker (a clone: the context only lends it), replacing one that would no longer
        // wake the right task.
        // Book: `MyFuture` clones the waker on every `Pending` poll; `will_wake` skips the clone
        // when the stored waker already wakes this task (the common case).
        if !state
            .waker
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            state.waker = Some(cx.waker().clone());
        }
        drop(state);
        if self.remote.is_none() {
            let remote = self
                .start_remote()
                .expect("cannot start the `remote` thread");
            self.remote = Some(remote);
        }
        Poll::Pending
    }
}

/// Prints one trace line, with the time since `start` in units.
fn print_step<T: fmt::Debug>(start: Instant, unit: Duration, step: Trace<&T>) {
    println!("  [{:>4.1} units] {step}", in_units(start.elapsed(), unit));
}

/// Runs the demo: `[--unit-ms N]`.
pub fn run(mut args: Args) -> DemoResult {
    let unit = unit_arg(&mut args)?;
    args.finish()?;

    println!("1. CounterFuture::new(3): it wakes itself inside every poll that returns Pending.");
    let counter = CounterFuture::new(3);
    println!("  created: {counter:?} (not polled yet)");
    let start = Instant::now();
    let output = block_on(counter, |step| print_step(start, unit, step));
    println!("  block_on returned {output}: 3 polls, 2 wakes, never parked (each wake came first)");

    println!();
    println!("2. RemoteFuture: a thread named `remote` completes it 2 units after the first poll.");
    let remote = RemoteFuture::new(2 * unit);
    println!("  created (not polled yet: the remote job starts on the first poll)");
    let start = Instant::now();
    let mut parks = 0;
    let output = block_on(remote, |step| {
        parks += usize::from(step == Trace::Parked);
        print_step(start, unit, step);
    });
    println!(
        "  block_on returned {output:?} after {:.1} units: 2 polls, 1 wake, {parks} park(s), \
         no CPU used while parked",
        in_units(start.elapsed(), unit)
    );
    Ok(())
}

/// Runs `work` on a thread named `executor` and fails the test if it takes longer than
/// `limit` (a lost wake-up would park it forever). Panics inside `work` are passed on.
#[cfg(test)]
pub(crate) fn watchdog<T: Send + 'static>(
    limit: Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = thread::Builder::new()
        .name("executor".into())
        .spawn(move || {
            let _ = tx.send(work());
        })
        .unwrap();
    match rx.recv_timeout(limit) {
        Ok(value) => {
            handle.join().unwrap();
            value
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the executor thread ended without a result"),
        },
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("no result after {limit:?}: block_on is stuck (lost wake-up?)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic;
    use std::sync::mpsc;

    /// Ten seconds: generous even under valgrind, where these tests take milliseconds natively.
    const LIMIT: Duration = Duration::from_secs(10);

    /// A test future: `Pending` `times` times, handing its waker to `on_pending` each time, then
    /// `Ready(())`.
    struct PendingTimes<F> {
        times: u32,
        on_pending: F,
    }

    impl<F: FnMut(&Waker) + Unpin> Future for PendingTimes<F> {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.times == 0 {
                return Poll::Ready(());
            }
            self.times -= 1;
            (self.on_pending)(cx.waker());
            Poll::Pending
        }
    }

    /// `block_on_with` the safe waker, keeping the trace (owned) and the executor's signal.
    fn traced<F: Future>(future: F) -> (F::Output, Vec<Trace<F::Output>>, Arc<WakeSignal>)
    where
        F::Output: Clone,
    {
        let mut signal = None;
        let mut steps = Vec::new();
        let output = block_on_with(
            |s| {
                signal = Some(Arc::clone(&s));
                Waker::from(s)
            },
            future,
            |step| steps.push(step.cloned()),
        );
        (output, steps, signal.expect("make_waker is always called"))
    }

    fn woken(by: &str) -> Trace<()> {
        Trace::Woken { by: by.into() }
    }

    fn count<T: PartialEq>(steps: &[Trace<T>], matches: impl Fn(&Trace<T>) -> bool) -> usize {
        steps.iter().filter(|s| matches(s)).count()
    }

    #[test]
    fn block_on_counter_three_polls_woken_by_itself_never_parked() {
        let (output, steps, signal) = watchdog(LIMIT, || traced(CounterFuture::new(3)));
        let by = || Trace::Woken {
            by: "executor".to_string(),
        };
        assert_eq!(output, 3);
        assert_eq!(
            steps,
            [
                Trace::Poll(1),
                Trace::Pending,
                by(),
                Trace::Poll(2),
                Trace::Pending,
                by(),
                Trace::Poll(3),
                Trace::Ready(3),
            ]
        );
        // polls = wakes + 1, counted by the waker itself.
        assert_eq!((signal.wake_by_refs(), signal.wakes_by_value()), (2, 0));
        assert_eq!(Arc::strong_count(&signal), 1, "block_on dropped its waker");
    }

    #[test]
    fn block_on_remote_two_polls_woken_by_remote() {
        let after = Duration::from_millis(20);
        let start = Instant::now();
        let (output, steps, signal) = watchdog(LIMIT, move || traced(RemoteFuture::new(after)));
        assert!(start.elapsed() >= after, "{:?}", start.elapsed());
        assert_eq!(output, REMOTE_DATA);
        // Whether the executor parked depends on who wins the race, so leave `Parked` out.
        let without_parks: Vec<_> = steps.into_iter().filter(|s| *s != Trace::Parked).collect();
        assert_eq!(
            without_parks,
            [
                Trace::Poll(1),
                Trace::Pending,
                Trace::Woken {
                    by: "remote".into()
                },
                Trace::Poll(2),
                Trace::Ready(REMOTE_DATA.to_string()),
            ]
        );
        assert_eq!((signal.wakes_by_value(), signal.wake_by_refs()), (1, 0));
        assert_eq!(Arc::strong_count(&signal), 1, "every waker clone released");
    }

    #[test]
    fn block_on_sees_a_wake_that_came_during_the_poll_without_parking() {
        // The waker is called on another thread and the poll waits until it has been: the wake
        // is over before `poll` returns, so the flag check must find it and never park.
        let (output, steps, _) = watchdog(LIMIT, || {
            let future = PendingTimes {
                times: 1,
                on_pending: |waker: &Waker| {
                    let waker = waker.clone();
                    thread::Builder::new()
                        .name("waker".into())
                        .spawn(move || waker.wake())
                        .unwrap()
                        .join()
                        .unwrap();
                },
            };
            traced(future)
        });
        assert_eq!(output, ());
        assert_eq!(
            steps,
            [
                Trace::Poll(1),
                Trace::Pending,
                woken("waker"),
                Trace::Poll(2),
                Trace::Ready(())
            ]
        );
    }

    #[test]
    fn block_on_parks_and_a_spurious_unpark_does_not_cause_a_poll() {
        // The future hands its waker to the `remote` thread. The trace callback reports each
        // `Parked` to it. `remote` answers the first with a bare `unpark` (no wake: a spurious
        // return from `park`), then the second with a real wake.
        let (waker_tx, waker_rx) = mpsc::channel::<Waker>();
        let (parked_tx, parked_rx) = mpsc::channel::<thread::Thread>();
        let remote = thread::Builder::new()
            .name("remote".into())
            .spawn(move || -> Result<(), mpsc::RecvTimeoutError> {
                let waker = waker_rx.recv_timeout(LIMIT)?;
                parked_rx.recv_timeout(LIMIT)?.unpark();
                parked_rx.recv_timeout(LIMIT)?;
                waker.wake();
                Ok(())
            })
            .unwrap();
        let steps = watchdog(LIMIT, move || {
            let future = PendingTimes {
                times: 1,
                on_pending: move |waker: &Waker| waker_tx.send(waker.clone()).unwrap(),
            };
            let mut steps = Vec::new();
            block_on(future, |step| {
                if step == Trace::Parked {
                    let _ = parked_tx.send(thread::current());
                }
                steps.push(step.cloned());
            });
            steps
        });
        remote.join().unwrap().unwrap();
        // `park` may also return spuriously on its own on some platforms: at least two parks.
        assert!(count(&steps, |s| *s == Trace::Parked) >= 2, "{steps:?}");
        let without_parks: Vec<_> = steps.into_iter().filter(|s| *s != Trace::Parked).collect();
        assert_eq!(
            without_parks,
            [
                Trace::Poll(1),
                Trace::Pending,
                woken("remote"),
                Trace::Poll(2),
                Trace::Ready(())
            ]
        );
    }

    #[test]
    fn block_on_never_loses_a_wake_up_in_1000_runs() {
        // Each run: a future that is Pending twice, each time handing its waker to the `waker`
        // thread, which wakes it at once, racing the rest of the poll, the flag check and `park`.
        // On odd runs the poll also waits until the wake is done (a wake inside the poll). A lost
        // wake-up parks the executor forever; the watchdog below turns that into a failure.
        const RUNS: usize = 1000;
        let (waker_tx, waker_rx) = mpsc::channel::<(Waker, mpsc::Sender<()>)>();
        let waker_thread = thread::Builder::new()
            .name("waker".into())
            .spawn(move || {
                for (waker, done) in waker_rx {
                    waker.wake();
                    let _ = done.send(());
                }
            })
            .unwrap();
        let (result_tx, result_rx) = mpsc::channel();
        let executor = thread::Builder::new()
            .name("executor".into())
            .spawn(move || {
                for run in 0..RUNS {
                    let waker_tx = waker_tx.clone();
                    let future = PendingTimes {
                        times: 2,
                        on_pending: move |waker: &Waker| {
                            let (done_tx, done_rx) = mpsc::channel();
                            waker_tx.send((waker.clone(), done_tx)).unwrap();
                            if run % 2 == 1 {
                                done_rx.recv().unwrap();
                            }
                        },
                    };
                    let (_, steps, signal) = traced(future);
                    if result_tx.send((run, steps, signal.wakes())).is_err() {
                        return;
                    }
                }
            })
            .unwrap();
        for expected in 0..RUNS {
            let (run, steps, wakes) = match result_rx.recv_timeout(LIMIT) {
                Ok(result) => result,
                Err(mpsc::RecvTimeoutError::Disconnected) => match executor.join() {
                    Err(panic) => panic::resume_unwind(panic),
                    Ok(()) => unreachable!("the executor stopped early"),
                },
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("run {expected}: no result after {LIMIT:?}: a wake-up was lost")
                }
            };
            assert_eq!(run, expected);
            let polls = count(&steps, |s| matches!(s, Trace::Poll(_)));
            let woken_steps = count(&steps, |s| matches!(s, Trace::Woken { .. }));
            assert_eq!(
                (polls, wakes, woken_steps),
                (3, 2, 2),
                "run {run}: {steps:?}"
            );
            assert!(
                steps
                    .iter()
                    .all(|s| !matches!(s, Trace::Woken { by } if by != "waker")),
                "run {run}: {steps:?}"
            );
            assert_eq!(steps.last(), Some(&Trace::Ready(())));
        }
        executor.join().unwrap();
        waker_thread.join().unwrap();
    }

    #[test]
    fn block_on_with_an_async_block_that_is_ready_at_once_polls_once() {
        let (output, steps, signal) = traced(async { "done" });
        assert_eq!(output, "done");
        assert_eq!(steps, [Trace::Poll(1), Trace::Ready("done")]);
        assert_eq!((signal.wakes(), Arc::strong_count(&signal)), (0, 1));
    }

    #[test]
    fn block_on_demo_runs_and_rejects_a_bad_unit() {
        run(Args::from_iter(["--unit-ms", "1"])).unwrap();
        let err = run(Args::from_iter(["--unit-ms", "0"])).unwrap_err();
        assert!(err.is::<common::demo::UsageError>(), "{err}");
    }
}
