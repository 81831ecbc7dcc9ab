//! `circuit-breaker`: stop calling a dependency that keeps failing (book section "The
//! Circuit-Breaker Pattern").
//!
//! Retrying helps when failures are brief. When a server is down for good, every retry is wasted
//! work for us and more load for it. A circuit breaker watches the outcomes of the calls that go
//! through it and, after `threshold` failures in a row, *opens*: for a cool-down it refuses calls
//! at once, without making them. After the cool-down it lets one trial call through (*half-open*):
//! if the trial succeeds the breaker *closes* and calls flow again, if it fails the breaker opens
//! for another cool-down.
//!
//! ```text
//!            threshold failures in a row               cool-down over: next call is a trial
//!   Closed ────────────────────────────────▶ Open ─────────────────────────────────▶ HalfOpen
//!     ▲                                        ▲                trial fails              │
//!     │                                        └─────────────────────────────────────────┤
//!     └──────────────────────────────────────────────────────────────────────────────────┘
//!                                        trial succeeds
//! ```
//!
//! Run it with `cargo run -p ch09 -- circuit-breaker [--cooldown-ms C]`. Part 1 is the book's
//! program: a passing task, three failing tasks (the breaker opens), and a fifth task that is
//! refused with `Error: "Circuit Open"`. Part 2 calls `/flaky` on the chapter's loopback server,
//! which answers `500` three times and then `200`: three failures open the breaker, a fourth call
//! is refused and the server's count stays at 3, and after the cool-down (default 200 ms) the
//! trial call gets `200` and closes the breaker. It prints every state change and a timeline.
//!
//! How we differ from the book: the book keeps the breaker in two process-wide statics, `OPEN`
//! and `COUNT`, so once anything opens the circuit every later spawn in the process is refused:
//! tests break each other, and the circuit never closes again. Ours is a value,
//! [`CircuitBreaker`], made where it is needed and passed to whoever calls through it; a test
//! owns its own. The book's failing task decides to open the circuit itself (`count == 2`); ours
//! reports its `Result` and the breaker counts. Failures count only in a row (a success resets
//! the count), and the half-open state, which the book's prose suggests ("close the circuit after
//! a certain amount of time"), lets the breaker close again.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use common::demo::{Args, DemoResult};
use common::timeline::{Timeline, current_thread_name};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::flaky::{FLAKY_PATH, flaky_server};
use crate::retry_backoff::get_data;

/// A circuit breaker; clones are handles to the same breaker.
///
/// ```
/// use ch09::circuit_breaker::{BreakerConfig, BreakerError, BreakerState, CircuitBreaker};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let breaker = CircuitBreaker::new(BreakerConfig::default()); // 3 failures, 5 s cool-down
/// for _ in 0..3 {
///     let failed = breaker.call(async { Err::<(), &str>("down") }).await;
///     assert!(failed.is_err());
/// }
/// assert!(matches!(breaker.state(), BreakerState::Open { .. }));
/// // While open, the call is refused and its future is dropped without being polled.
/// let refused = breaker.call(async { unreachable!("never polled") as Result<(), ()> }).await;
/// assert!(matches!(refused, Err(ch09::circuit_breaker::CallError::Open)));
/// # }
/// ```
#[derive(Clone)]
pub struct CircuitBreaker {
    inner: Arc<Mutex<Inner>>,
}

impl CircuitBreaker {
    /// The book's `spawn_task`: spawns `future` unless the breaker is open; the spawned task
    /// reports the future's `Ok` or `Err` to the breaker when it finishes.
    ///
    /// Returns [`BreakerError::Open`] instead of spawning while the breaker is open, and while a
    /// half-open trial is already under way.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, like `tokio::spawn`.
    // Book: `spawn_task` is a free function reading the static `OPEN`; ours asks this breaker,
    // and the task it spawns reports its outcome, so no task needs to know about the breaker.
    pub fn spawn_task<F, T, E>(&self, future: F) -> Result<JoinHandle<Result<T, E>>, BreakerError>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let permit = self.try_acquire()?;
        Ok(tokio::spawn(async move {
            let result = future.await;
            permit.record(result.is_ok());
            result
        }))
    }

    /// Runs `future` in place, through the breaker: refused at once while the breaker is open
    /// (the future is dropped without being polled), otherwise awaited, and its outcome counted.
    pub async fn call<F, T, E>(&self, future: F) -> Result<T, CallError<E>>
    where
        F: Future<Output = Result<T, E>>,
    {
        let permit = self
            .try_acquire()
            .map_err(|BreakerError::Open| CallError::Open)?;
        // If this `call` is dropped mid-way (a timeout, a `select!`), `permit` is dropped unused,
        // and that counts as a failure.
        let result = future.await;
        permit.record(result.is_ok());
        result.map_err(CallError::Failed)
    }

    /// A breaker in the `Closed` state, its clock (tokio's, so a paused test clock drives it)
    /// starting now.
    pub fn new(config: BreakerConfig) -> Self {
        let closed = BreakerState::Closed { failures: 0 };
        CircuitBreaker {
            inner: Arc::new(Mutex::new(Inner {
                config,
                started: Instant::now(),
                state: closed,
                generation: 0,
                transitions: vec![(Duration::ZERO, closed)],
                admitted: 0,
                refused: 0,
            })),
        }
    }

    /// Asks to make one call. `Ok` holds the [`Permit`] to report the call's outcome with;
    /// `Err` means the breaker is open (or a half-open trial is under way): do not make the call.
    ///
    /// This is where `Open` turns into `HalfOpen`: the first request at or after the end of the
    /// cool-down is granted, as the trial.
    pub fn try_acquire(&self) -> Result<Permit, BreakerError> {
        let mut inner = self.lock();
        let now = inner.started.elapsed();
        match inner.state {
            BreakerState::Closed { .. } => {}
            // Book: once open, the circuit never closes; ours lets one trial call through when
            // the cool-down is over (half-open), the prose's "close the circuit after a while".
            BreakerState::Open { since } if now >= since + inner.config.cooldown => {
                inner.enter(BreakerState::HalfOpen, now);
            }
            BreakerState::Open { .. } | BreakerState::HalfOpen => {
                inner.refused += 1;
                return Err(BreakerError::Open);
            }
        }
        inner.admitted += 1;
        Ok(Permit {
            breaker: self.clone(),
            generation: inner.generation,
            recorded: false,
        })
    }

    /// The state now. (An `Open` breaker whose cool-down is over still reads `Open` until the
    /// next call arrives and becomes the trial.)
    pub fn state(&self) -> BreakerState {
        self.lock().state
    }

    /// Every change of state so far, with the time since the breaker was made; the first entry
    /// is `Closed` at zero.
    pub fn transitions(&self) -> Vec<(Duration, BreakerState)> {
        self.lock().transitions.clone()
    }

    /// How many calls were let through, and how many refused.
    pub fn counts(&self) -> (u64, u64) {
        let inner = self.lock();
        (inner.admitted, inner.refused)
    }

    /// The settings.
    pub fn config(&self) -> BreakerConfig {
        self.lock().config.clone()
    }

    /// Counts the outcome of a call admitted in `generation`.
    fn record(&self, generation: u64, ok: bool) {
        let mut inner = self.lock();
        // A call admitted before the last change of state reports too late to count: it says
        // nothing about the dependency *since* the breaker opened or closed.
        if generation != inner.generation {
            return;
        }
        let now = inner.started.elapsed();
        let threshold = inner.config.threshold.max(1);
        match (inner.state, ok) {
            // Book: `COUNT` only ever grows, so three failures spread over a day open the
            // circuit; here a success resets the count, and only failures in a row add up.
            (BreakerState::Closed { .. }, true) => {
                inner.state = BreakerState::Closed { failures: 0 };
            }
            (BreakerState::Closed { failures }, false) if failures + 1 >= threshold => {
                inner.enter(BreakerState::Open { since: now }, now);
            }
            (BreakerState::Closed { failures }, false) => {
                inner.state = BreakerState::Closed {
                    failures: failures + 1,
                };
            }
            (BreakerState::HalfOpen, true) => {
                inner.enter(BreakerState::Closed { failures: 0 }, now)
            }
            (BreakerState::HalfOpen, false) => inner.enter(BreakerState::Open { since: now }, now),
            // No permit of the current generation exists while open: nothing to count.
            (BreakerState::Open { .. }, _) => {}
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every change made under this lock is complete before anything can panic, so a poisoned
        // lock still holds a consistent breaker.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("CircuitBreaker")
            .field("state", &inner.state)
            .field("config", &inner.config)
            .finish_non_exhaustive()
    }
}

// Book: `static OPEN: AtomicBool` and `static COUNT: AtomicUsize`, shared by the whole process and
// never reset. Here the state lives in the breaker, behind one lock, so that reading the state and
// changing it are one step even when many tasks report at once.
struct Inner {
    config: BreakerConfig,
    started: Instant,
    state: BreakerState,
    /// Bumped on every change of state; a permit remembers the generation it was granted in.
    generation: u64,
    transitions: Vec<(Duration, BreakerState)>,
    admitted: u64,
    refused: u64,
}

impl Inner {
    fn enter(&mut self, state: BreakerState, now: Duration) {
        self.state = state;
        self.generation += 1;
        self.transitions.push((now, state));
        if self.config.announce {
            match state {
                BreakerState::Open { .. } => println!("opening circuit"),
                BreakerState::HalfOpen => {
                    println!("circuit half-open: letting one trial call through")
                }
                BreakerState::Closed { .. } => println!("closing circuit"),
            }
        }
    }
}

/// Permission to make one call; report its outcome with [`Permit::success`] or
/// [`Permit::failure`]. A permit dropped without a report counts as a failure (the call was
/// cancelled or panicked), so a half-open trial can never be lost and leave the breaker stuck.
#[must_use = "a permit dropped without a report counts as a failure"]
pub struct Permit {
    breaker: CircuitBreaker,
    generation: u64,
    recorded: bool,
}

impl Permit {
    /// The call succeeded.
    pub fn success(self) {
        self.record(true);
    }

    /// The call failed.
    pub fn failure(self) {
        self.record(false);
    }

    /// The call succeeded (`true`) or failed (`false`).
    pub fn record(mut self, ok: bool) {
        self.recorded = true;
        self.breaker.record(self.generation, ok);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.recorded {
            self.breaker.record(self.generation, false);
        }
    }
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// A breaker's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Failures in a row that open the breaker (the book's 3; `0` is taken as `1`).
    pub threshold: u32,
    /// How long the breaker stays open before it lets a trial call through.
    pub cooldown: Duration,
    /// Print a line at every change of state (`opening circuit`, as the book's task does).
    pub announce: bool,
}

impl Default for BreakerConfig {
    /// Three failures, a 5 s cool-down, silent.
    fn default() -> Self {
        BreakerConfig {
            threshold: 3,
            cooldown: Duration::from_secs(5),
            announce: false,
        }
    }
}

/// Where a breaker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through; `failures` in a row so far.
    Closed {
        /// Consecutive failures since the last success (or since closing).
        failures: u32,
    },
    /// Calls are refused; opened at `since` (time since the breaker was made).
    Open {
        /// When it opened.
        since: Duration,
    },
    /// One trial call is under way; every other call is refused until it reports.
    HalfOpen,
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BreakerState::Closed { failures } => write!(f, "Closed ({failures} failures in a row)"),
            BreakerState::Open { since } => write!(f, "Open (since {} ms)", since.as_millis()),
            BreakerState::HalfOpen => f.write_str("HalfOpen (one trial call under way)"),
        }
    }
}

/// Why [`CircuitBreaker::spawn_task`] did not spawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerError {
    /// The breaker is open, or half-open with its trial under way.
    Open,
}

impl fmt::Display for BreakerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The book's message.
        f.write_str("Circuit Open")
    }
}

impl std::error::Error for BreakerError {}

/// Why [`CircuitBreaker::call`] gave no value.
#[derive(Debug, PartialEq, Eq)]
pub enum CallError<E> {
    /// Refused: the breaker is open. The call was not made.
    Open,
    /// The call was made and failed with this error.
    Failed(E),
}

impl<E: fmt::Display> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Open => write!(f, "{}", BreakerError::Open),
            CallError::Failed(err) => err.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for CallError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CallError::Open => None,
            CallError::Failed(err) => Some(err),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The book's tasks and `main`, then the demo.

/// The book's `error_task`: prints, and fails.
// Book: `error_task` bumps the static `COUNT` and opens the circuit itself when the count reaches
// 3; ours only reports how it went, and the breaker decides.
pub async fn error_task() -> Result<(), String> {
    println!("error task running");
    Err("error task failed".to_string())
}

/// The book's `passing_task`: prints, and succeeds.
pub async fn passing_task() -> Result<(), String> {
    println!("passing task running");
    Ok(())
}

/// The book's `main`: a passing task, three failing ones, then a passing one, which the open
/// breaker refuses. Returns that refusal.
pub async fn book_main(breaker: &CircuitBreaker) -> Result<(), BreakerError> {
    let _ = breaker.spawn_task(passing_task())?.await;
    let _ = breaker.spawn_task(error_task())?.await;
    let _ = breaker.spawn_task(error_task())?.await;
    let _ = breaker.spawn_task(error_task())?.await;
    let _ = breaker.spawn_task(passing_task())?.await;
    Ok(())
}

/// Runs the demo: `circuit-breaker [--cooldown-ms C]`.
pub fn run(mut args: Args) -> DemoResult {
    let cooldown_ms = args.value_in("cooldown-ms", 200u64, 1..=5_000)?;
    args.finish()?;
    demo(Duration::from_millis(cooldown_ms))
}

#[tokio::main]
async fn demo(cooldown: Duration) -> DemoResult {
    println!("part 1: the book's tasks, through a breaker that opens after 3 failures");
    let breaker = CircuitBreaker::new(BreakerConfig {
        announce: true,
        ..BreakerConfig::default()
    });
    if let Err(err) = book_main(&breaker).await {
        // Book: `main` returns the error and Rust prints it as `Error: "Circuit Open"`; our demo
        // goes on to part 2, so it prints the same line itself.
        println!("Error: {:?}", err.to_string());
    }

    println!(
        "\npart 2: GET /flaky (500 three times, then 200), cool-down {} ms",
        cooldown.as_millis()
    );
    let server = flaky_server(3, 500)?;
    let url = server.url(FLAKY_PATH);
    let client = common::client::client_for(&url)?;
    let timeline = Timeline::with_clock(|| Instant::now().into_std());
    let breaker = CircuitBreaker::new(BreakerConfig {
        threshold: 3,
        cooldown,
        announce: true,
    });
    let count = || server.count(FLAKY_PATH);
    for call in 1..=5 {
        if call == 5 {
            println!("(waiting out the {} ms cool-down)", cooldown.as_millis());
            tokio::time::sleep(cooldown).await;
        }
        let start = timeline.now();
        let result = breaker.call(get_data(&client, &url)).await;
        let row = match &result {
            Ok(body) => {
                println!("call {call}: {body:?}; server count {}", count());
                "calls"
            }
            Err(CallError::Open) => {
                println!("call {call}: refused, not sent; server count {}", count());
                "refused"
            }
            Err(CallError::Failed(err)) => {
                println!("call {call}: {err}; server count {}", count());
                "calls"
            }
        };
        timeline.record(row, current_thread_name(), start, timeline.now());
    }
    println!("transitions:");
    for (at, state) in breaker.transitions() {
        println!("  {:>5} ms  {state}", at.as_millis());
    }
    // The open phase as a bar: from each `Open` to the next change of state.
    let transitions = breaker.transitions();
    for pair in transitions.windows(2) {
        if let (BreakerState::Open { .. }, (to, _)) = (pair[0].1, pair[1]) {
            timeline.record("open", current_thread_name(), pair[0].0, to);
        }
    }
    print!("{}", timeline.render());
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use common::http::{Reply, Server};

    use super::*;
    use crate::retry_backoff::FetchError;

    const SECOND: Duration = Duration::from_secs(1);
    const CLOSED: BreakerState = BreakerState::Closed { failures: 0 };

    fn breaker() -> CircuitBreaker {
        CircuitBreaker::new(BreakerConfig::default())
    }

    fn open_since(secs: u64) -> BreakerState {
        BreakerState::Open {
            since: Duration::from_secs(secs),
        }
    }

    /// A `/flaky` call through the breaker, from a client that arms no timer (see
    /// `retry_backoff`'s module docs: any timer would make the paused clock jump).
    async fn call(
        breaker: &CircuitBreaker,
        client: &reqwest::Client,
        url: &str,
    ) -> Result<String, CallError<FetchError>> {
        breaker.call(get_data(client, url)).await
    }

    #[tokio::test(start_paused = true)]
    async fn the_book_sequence_opens_after_three_failures_and_refuses_the_fifth_spawn() {
        let breaker = breaker();
        assert_eq!(book_main(&breaker).await, Err(BreakerError::Open));
        assert_eq!(breaker.state(), open_since(0));
        assert_eq!(breaker.counts(), (4, 1), "four spawned, the fifth refused");
        assert_eq!(
            breaker.transitions(),
            [(Duration::ZERO, CLOSED), (Duration::ZERO, open_since(0))]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn three_failures_open_it_it_refuses_without_a_request_and_a_trial_closes_it() {
        let server = flaky_server(3, 500).unwrap();
        let url = server.url(FLAKY_PATH);
        let client = common::client::client_for(&url).unwrap();
        let breaker = breaker();

        // Failures at 0, 1 and 2 s: the third opens the breaker.
        for k in 0..3 {
            if k > 0 {
                tokio::time::sleep(SECOND).await;
            }
            assert!(matches!(
                call(&breaker, &client, &url).await,
                Err(CallError::Failed(_))
            ));
        }
        assert_eq!(breaker.state(), open_since(2));
        assert_eq!(server.count(FLAKY_PATH), 3);

        // Refused at 3 s and just before the cool-down ends, without reaching the server.
        tokio::time::sleep(SECOND).await;
        assert!(matches!(
            call(&breaker, &client, &url).await,
            Err(CallError::Open)
        ));
        tokio::time::sleep(4 * SECOND - Duration::from_millis(1)).await;
        assert!(matches!(
            call(&breaker, &client, &url).await,
            Err(CallError::Open)
        ));
        assert_eq!(server.count(FLAKY_PATH), 3);

        // At exactly 2 s + 5 s the next call is the trial; the server now answers 200.
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(call(&breaker, &client, &url).await.unwrap(), "data");
        assert_eq!(server.count(FLAKY_PATH), 4);
        assert_eq!(
            breaker.transitions(),
            [
                (Duration::ZERO, CLOSED),
                (2 * SECOND, open_since(2)),
                (7 * SECOND, BreakerState::HalfOpen),
                (7 * SECOND, CLOSED),
            ]
        );
        assert_eq!(breaker.counts(), (4, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_trial_reopens_it_for_a_fresh_cool_down() {
        let server = flaky_server(5, 500).unwrap();
        let url = server.url(FLAKY_PATH);
        let client = common::client::client_for(&url).unwrap();
        let breaker = breaker();
        for _ in 0..3 {
            let _ = call(&breaker, &client, &url).await;
        }
        tokio::time::sleep(5 * SECOND).await;
        // The trial at 5 s gets the 4th 500: open again, from 5 s.
        assert!(matches!(
            call(&breaker, &client, &url).await,
            Err(CallError::Failed(_))
        ));
        assert_eq!(breaker.state(), open_since(5));
        // So 9.999 s is still inside the new cool-down…
        tokio::time::sleep(5 * SECOND - Duration::from_millis(1)).await;
        assert!(matches!(
            call(&breaker, &client, &url).await,
            Err(CallError::Open)
        ));
        // …and 10 s is the next trial, which gets the 5th 500, and 15 s the one that gets 200.
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert!(matches!(
            call(&breaker, &client, &url).await,
            Err(CallError::Failed(_))
        ));
        tokio::time::sleep(5 * SECOND).await;
        assert_eq!(call(&breaker, &client, &url).await.unwrap(), "data");
        assert_eq!(server.count(FLAKY_PATH), 6);
        let states: Vec<(u64, BreakerState)> = breaker
            .transitions()
            .into_iter()
            .map(|(at, state)| (at.as_secs(), state))
            .collect();
        assert_eq!(
            states,
            [
                (0, CLOSED),
                (0, open_since(0)),
                (5, BreakerState::HalfOpen),
                (5, open_since(5)),
                (10, BreakerState::HalfOpen),
                (10, open_since(10)),
                (15, BreakerState::HalfOpen),
                (15, CLOSED),
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_between_failures_resets_the_count() {
        let statuses = [500, 500, 200, 500, 500, 200];
        let script = statuses.map(|s| Reply::text("x").status(s)).to_vec();
        let server = Server::builder()
            .scripted("GET", FLAKY_PATH, script)
            .start()
            .unwrap();
        let url = server.url(FLAKY_PATH);
        let client = common::client::client_for(&url).unwrap();
        let breaker = breaker();
        let mut seen = Vec::new();
        for _ in statuses {
            let ok = call(&breaker, &client, &url).await.is_ok();
            seen.push((ok, breaker.state()));
        }
        let closed = |failures| BreakerState::Closed { failures };
        assert_eq!(
            seen,
            [
                (false, closed(1)),
                (false, closed(2)),
                (true, closed(0)),
                (false, closed(1)),
                (false, closed(2)),
                (true, closed(0)),
            ]
        );
        assert_eq!(breaker.transitions(), [(Duration::ZERO, CLOSED)]);
        assert_eq!(server.count(FLAKY_PATH), 6);
    }

    /// Opens `breaker` (threshold 3) with three failing in-memory calls.
    async fn open(breaker: &CircuitBreaker) {
        for _ in 0..3 {
            let _ = breaker.call(async { Err::<(), _>("down") }).await;
        }
        assert!(matches!(breaker.state(), BreakerState::Open { .. }));
    }

    #[tokio::test(start_paused = true)]
    async fn while_the_trial_runs_every_other_call_is_refused_unpolled() {
        let breaker = breaker();
        open(&breaker).await;
        tokio::time::sleep(5 * SECOND).await;
        let (finish, finished) = tokio::sync::oneshot::channel::<()>();
        let trial = breaker
            .spawn_task(async move {
                let _ = finished.await;
                Ok::<_, ()>("trial done")
            })
            .unwrap();
        tokio::task::yield_now().await;
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        let polled = Arc::new(AtomicBool::new(false));
        let flag = polled.clone();
        let other = breaker
            .call(async move {
                flag.store(true, Ordering::SeqCst);
                Ok::<_, ()>(())
            })
            .await;
        assert_eq!(other, Err(CallError::Open));
        assert!(
            !polled.load(Ordering::SeqCst),
            "a refused call is never polled"
        );
        assert!(matches!(
            breaker.spawn_task(async { Ok::<(), ()>(()) }),
            Err(BreakerError::Open)
        ));
        finish.send(()).unwrap();
        assert_eq!(trial.await.unwrap(), Ok("trial done"));
        assert_eq!(breaker.state(), CLOSED);
    }

    #[tokio::test(start_paused = true)]
    async fn a_trial_that_is_cancelled_or_panics_counts_as_a_failure() {
        let breaker = breaker();
        open(&breaker).await;
        tokio::time::sleep(5 * SECOND).await;
        let trial = breaker
            .spawn_task(std::future::pending::<Result<(), ()>>())
            .unwrap();
        tokio::task::yield_now().await;
        trial.abort();
        let _ = trial.await;
        assert_eq!(
            breaker.state(),
            open_since(5),
            "reopened, not stuck half-open"
        );

        tokio::time::sleep(5 * SECOND).await;
        let trial = breaker
            .spawn_task(async {
                panic!("the trial panics (expected in this test)") as Result<(), ()>
            })
            .unwrap();
        assert!(trial.await.unwrap_err().is_panic());
        assert_eq!(breaker.state(), open_since(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_report_from_before_the_breaker_opened_is_ignored() {
        let breaker = breaker();
        let late = breaker.try_acquire().unwrap();
        open(&breaker).await;
        late.success();
        assert_eq!(
            breaker.state(),
            open_since(0),
            "a stale success does not close it"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn breakers_are_independent() {
        let (a, b) = (breaker(), breaker());
        open(&a).await;
        assert_eq!(b.state(), CLOSED);
        assert!(b.call(async { Ok::<_, ()>(1) }).await.is_ok());
    }

    #[test]
    fn errors_read_like_the_book() {
        assert_eq!(BreakerError::Open.to_string(), "Circuit Open");
        assert_eq!(CallError::<String>::Open.to_string(), "Circuit Open");
        assert_eq!(CallError::Failed("boom".to_string()).to_string(), "boom");
    }

    /// The breaker against a reference model, on random sequences of calls, concurrent calls,
    /// late reports and clock jumps.
    mod breaker_model {
        use proptest::prelude::*;

        use super::*;

        const THRESHOLD: u32 = 3;
        const COOLDOWN_MS: u64 = 5_000;

        #[derive(Debug, Clone)]
        enum Op {
            /// A call made and finished at once, succeeding or failing.
            Call(bool),
            /// A call started and left running (a permit held).
            Start,
            /// The running call `i % running` reports success or failure.
            Finish(usize, bool),
            /// The running call `i % running` is dropped without a report.
            Cancel(usize),
            /// The clock moves on.
            Advance(u64),
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                3 => any::<bool>().prop_map(Op::Call),
                2 => Just(Op::Start),
                2 => (0..8usize, any::<bool>()).prop_map(|(i, ok)| Op::Finish(i, ok)),
                1 => (0..8usize).prop_map(Op::Cancel),
                3 => prop_oneof![
                    Just(0),
                    1..1_000u64,
                    Just(COOLDOWN_MS - 1),
                    Just(COOLDOWN_MS),
                    COOLDOWN_MS..3 * COOLDOWN_MS,
                ]
                .prop_map(Op::Advance),
            ]
        }

        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Kind {
            Closed,
            Open,
            HalfOpen,
        }

        /// The specification, written as plainly as possible: times in milliseconds, one
        /// counter per epoch.
        #[derive(Debug)]
        struct Model {
            now: u64,
            kind: Kind,
            failures: u32,
            opened_at: u64,
            epoch: u64,
        }

        impl Model {
            fn admit(&mut self) -> Option<u64> {
                match self.kind {
                    Kind::Closed => Some(self.epoch),
                    Kind::Open if self.now - self.opened_at >= COOLDOWN_MS => {
                        self.kind = Kind::HalfOpen;
                        self.epoch += 1;
                        Some(self.epoch)
                    }
                    Kind::Open | Kind::HalfOpen => None,
                }
            }

            fn report(&mut self, epoch: u64, ok: bool) {
                if epoch != self.epoch {
                    return;
                }
                let open = |m: &mut Model| {
                    m.kind = Kind::Open;
                    m.opened_at = m.now;
                    m.failures = 0;
                    m.epoch += 1;
                };
                match (self.kind, ok) {
                    (Kind::Closed, true) => self.failures = 0,
                    (Kind::Closed, false) => {
                        self.failures += 1;
                        if self.failures == THRESHOLD {
                            open(self);
                        }
                    }
                    (Kind::HalfOpen, true) => {
                        self.kind = Kind::Closed;
                        self.failures = 0;
                        self.epoch += 1;
                    }
                    (Kind::HalfOpen, false) => open(self),
                    (Kind::Open, _) => {}
                }
            }

            fn expected(&self) -> BreakerState {
                match self.kind {
                    Kind::Closed => BreakerState::Closed {
                        failures: self.failures,
                    },
                    Kind::Open => BreakerState::Open {
                        since: Duration::from_millis(self.opened_at),
                    },
                    Kind::HalfOpen => BreakerState::HalfOpen,
                }
            }
        }

        fn kind(state: BreakerState) -> Kind {
            match state {
                BreakerState::Closed { .. } => Kind::Closed,
                BreakerState::Open { .. } => Kind::Open,
                BreakerState::HalfOpen => Kind::HalfOpen,
            }
        }

        /// Runs `ops` against a fresh breaker and the model; `Err` describes the first
        /// disagreement or broken invariant.
        async fn check(ops: Vec<Op>) -> Result<(), String> {
            let breaker = CircuitBreaker::new(BreakerConfig {
                threshold: THRESHOLD,
                cooldown: Duration::from_millis(COOLDOWN_MS),
                announce: false,
            });
            let mut model = Model {
                now: 0,
                kind: Kind::Closed,
                failures: 0,
                opened_at: 0,
                epoch: 0,
            };
            // Running calls: the breaker's permit and the model's epoch for it.
            let mut running: Vec<(Permit, u64)> = Vec::new();
            for (step, op) in ops.into_iter().enumerate() {
                let before = breaker.state();
                let cooling = matches!(before, BreakerState::Open { since }
                    if Duration::from_millis(model.now) < since + Duration::from_millis(COOLDOWN_MS));
                match op {
                    Op::Call(ok) => {
                        let reached = AtomicBool::new(false);
                        let result = breaker
                            .call(async {
                                reached.store(true, Ordering::SeqCst);
                                if ok { Ok(()) } else { Err(()) }
                            })
                            .await;
                        let reached = reached.load(Ordering::SeqCst);
                        let admitted = model.admit();
                        if reached != admitted.is_some() {
                            return Err(format!(
                                "step {step}: call reached = {reached}, model admits = {admitted:?}"
                            ));
                        }
                        if reached && (cooling || before == BreakerState::HalfOpen) {
                            return Err(format!(
                                "step {step}: a call reached the operation in {before:?}"
                            ));
                        }
                        if !reached && result != Err(CallError::Open) {
                            return Err(format!("step {step}: refused call returned {result:?}"));
                        }
                        if let Some(epoch) = admitted {
                            model.report(epoch, ok);
                        }
                    }
                    Op::Start => {
                        let permit = breaker.try_acquire();
                        let admitted = model.admit();
                        match (permit, admitted) {
                            (Ok(permit), Some(epoch)) => {
                                if cooling || before == BreakerState::HalfOpen {
                                    return Err(format!("step {step}: admitted in {before:?}"));
                                }
                                running.push((permit, epoch));
                            }
                            (Err(BreakerError::Open), None) => {}
                            (permit, admitted) => {
                                return Err(format!(
                                    "step {step}: breaker {permit:?}, model {admitted:?}"
                                ));
                            }
                        }
                    }
                    Op::Finish(..) | Op::Cancel(..) if running.is_empty() => {}
                    Op::Finish(i, ok) => {
                        let (permit, epoch) = running.remove(i % running.len());
                        permit.record(ok);
                        model.report(epoch, ok);
                    }
                    Op::Cancel(i) => {
                        let (permit, epoch) = running.remove(i % running.len());
                        drop(permit);
                        model.report(epoch, false);
                    }
                    Op::Advance(ms) => {
                        tokio::time::advance(Duration::from_millis(ms)).await;
                        model.now += ms;
                    }
                }
                if breaker.state() != model.expected() {
                    return Err(format!(
                        "step {step}: breaker {:?}, model {:?}",
                        breaker.state(),
                        model.expected()
                    ));
                }
            }
            // Only the four edges of the diagram, starting Closed at zero.
            let transitions = breaker.transitions();
            if transitions[0] != (Duration::ZERO, CLOSED) {
                return Err(format!("first transition {:?}", transitions[0]));
            }
            for pair in transitions.windows(2) {
                let edge = (kind(pair[0].1), kind(pair[1].1));
                let allowed = matches!(
                    edge,
                    (Kind::Closed, Kind::Open)
                        | (Kind::Open, Kind::HalfOpen)
                        | (Kind::HalfOpen, Kind::Closed)
                        | (Kind::HalfOpen, Kind::Open)
                );
                if !allowed || pair[1].0 < pair[0].0 {
                    return Err(format!("edge {pair:?}"));
                }
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn breaker_model_matches_the_reference(ops in proptest::collection::vec(op(), 1..80)) {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .start_paused(true)
                    .build()
                    .unwrap();
                let outcome = runtime.block_on(check(ops));
                prop_assert!(outcome.is_ok(), "{}", outcome.unwrap_err());
            }
        }
    }
}
