//! `retry-backoff`: retrying a failing call with a delay that doubles each time (book section
//! "The Retry Pattern").
//!
//! A call to a busy server may fail now and succeed a moment later, so it is worth trying again;
//! but trying again at once, in a loop, is the worst thing a client can do to a server that is
//! failing because it is overloaded. The retry pattern waits between attempts, doubling the wait
//! each time (1 s, 2 s, 4 s, …), and gives up after a fixed number of attempts.
//!
//! Run it with `cargo run -p ch09 -- retry-backoff [--failures K] [--initial-ms I] [--url URL]`.
//! Run 1 GETs `/flaky` from the chapter's loopback server ([`crate::flaky`]), which answers
//! `503` K times (default 3) and then `200 data`: attempts 1 to 3 fail, the fourth succeeds, and
//! the waits between them are I, 2I and 4I ms (default 50; the book's 1 000 would make the demo
//! take seconds). A timeline draws the attempts and the waits. Run 2 is the book's program: a
//! `get_data` that always fails, retried five times, printing five `Error: Error` lines and
//! `Outcome: Err("Error")` after 15 I ms of waiting. With `--url`, run 1 fetches that URL instead.
//!
//! How we differ from the book: the loop is a function, [`retry`], that takes the operation and a
//! [`RetryPolicy`] (the book's numbers are its defaults) and reports what it did, so tests can
//! assert the attempts and the exact waits on tokio's paused clock. Only errors worth retrying are
//! retried ([`Retryable`]): a connection error or a `5xx` may go away, a `404` will not, so it is
//! returned at once. The doubling stops at a cap, [`RetryPolicy::max_delay`] (the book's keeps
//! doubling forever), and the policy can spread the waits with seeded jitter, so that many
//! clients failing together do not all retry in the same instant. The error type is `Send`,
//! unlike the book's `Box<dyn Error>`, so a retrying task can be spawned.
//!
//! A lesson from testing this on the paused clock: while the runtime waits for the loopback
//! server, it is idle, and tokio moves the paused clock straight to the next pending timer. Any
//! hidden timer then jumps the clock: a default reqwest client keeps a 90 s pool-idle timer
//! (`common::client` turns it off), and a per-attempt `timeout` fires at once. So the tests use
//! clients from [`common::client::client_for`] and no per-attempt timeout.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use common::demo::{Args, DemoResult};
use common::timeline::{Timeline, current_thread_name};
use reqwest::{Client, StatusCode};
use tokio::time::Instant;

use crate::flaky::{FLAKY_PATH, flaky_server, millis};

/// The book's `do_something`: calls the book's always-failing [`failing_get_data`] under the
/// book's policy (5 attempts, waits doubling from `policy.initial_delay`), printing each error.
/// It fails after five attempts and four waits (1 + 2 + 4 + 8 = 15 s with the book's numbers).
///
/// ```
/// use ch09::retry_backoff::{RetryPolicy, do_something};
/// use std::time::Duration;
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let retried = do_something(&RetryPolicy::default()).await; // prints "Error: Error" five times
/// assert_eq!(retried.report.attempts, 5);
/// assert_eq!(retried.report.waited(), Duration::from_secs(15));
/// # }
/// ```
pub async fn do_something(policy: &RetryPolicy) -> Retried<String, FetchError> {
    // Book: `do_something` writes the loop out, assigns `result` and never uses it, and retries
    // every error; ours calls `retry`, the loop that the HTTP run shares.
    retry(policy, |_attempt| async {
        let result = failing_get_data().await;
        if let Err(err) = &result {
            println!("Error: {err}");
        }
        result
    })
    .await
}

/// The book's `get_data`: fails, always, with the message `Error`.
pub async fn failing_get_data() -> Result<String, FetchError> {
    Err(FetchError::Failed("Error".to_string()))
}

/// The retry loop: calls `op(1)`, `op(2)`, … until one succeeds, one fails with an error that is
/// not worth retrying, or `policy.max_attempts` have failed; between attempts it sleeps
/// [`RetryPolicy::delay_after`]. Returns the last result and what happened on the way.
///
/// There is no wait after the last attempt: a caller who gets the error back has no reason to
/// wait any longer for it.
///
/// ```
/// use ch09::retry_backoff::{FetchError, RetryPolicy, retry};
/// use std::time::Duration;
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let policy = RetryPolicy::default(); // the book's: 5 attempts, 1 s doubling
/// let retried = retry(&policy, |attempt| async move {
///     if attempt < 3 { Err(FetchError::Failed("busy".into())) } else { Ok(attempt) }
/// })
/// .await;
/// assert_eq!(retried.result.unwrap(), 3);
/// assert_eq!(retried.report.delays, [Duration::from_secs(1), Duration::from_secs(2)]);
/// # }
/// ```
pub async fn retry<T, E, F, Fut>(policy: &RetryPolicy, mut op: F) -> Retried<T, E>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Retryable,
{
    let mut report = RetryReport::default();
    loop {
        report.attempts += 1;
        let error = match op(report.attempts).await {
            Ok(value) => {
                return Retried {
                    result: Ok(value),
                    report,
                };
            }
            Err(error) => error,
        };
        // Book: retries every error. A `404` or a malformed request fails the same way each time,
        // so retrying it only adds load and delay.
        if !error.is_retryable() || report.attempts >= policy.max_attempts.max(1) {
            return Retried {
                result: Err(error),
                report,
            };
        }
        let wait = policy.delay_after(report.attempts);
        tokio::time::sleep(wait).await;
        report.delays.push(wait);
    }
}

/// How to retry: how many attempts, and how long to wait after each failure.
///
/// The wait after failed attempt `n` is `initial_delay × factorⁿ⁻¹`, at most `max_delay`. The
/// default is the book's: 5 attempts, waits of 1, 2, 4 and 8 s, and a cap of 30 s (which the
/// book's numbers never reach).
///
/// ```
/// use ch09::retry_backoff::RetryPolicy;
/// use std::time::Duration;
/// let policy = RetryPolicy {
///     max_attempts: 7,
///     max_delay: Duration::from_secs(5),
///     ..RetryPolicy::default()
/// };
/// let waits: Vec<u64> = policy.schedule().iter().map(|d| d.as_secs()).collect();
/// assert_eq!(waits, [1, 2, 4, 5, 5, 5]); // doubling stops at the cap
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (`0` is taken as `1`).
    pub max_attempts: u32,
    /// The wait after the first failure.
    pub initial_delay: Duration,
    /// What each wait is multiplied by to get the next.
    pub factor: u32,
    /// No wait is longer than this.
    // Book: the wait has no cap; it doubles for as long as the attempts last.
    pub max_delay: Duration,
    /// `Some(seed)` shortens every wait by a pseudo-random fraction of up to a half, the same
    /// fractions for the same seed; `None` (the default) waits exactly the schedule.
    // Book: no jitter, so clients that failed together retry together, in lockstep.
    pub jitter: Option<u64>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_delay: Duration::from_millis(1_000),
            factor: 2,
            max_delay: Duration::from_secs(30),
            jitter: None,
        }
    }
}

impl RetryPolicy {
    /// The book's policy with another first wait.
    pub fn with_initial_delay(initial_delay: Duration) -> Self {
        RetryPolicy {
            initial_delay,
            ..RetryPolicy::default()
        }
    }

    /// How long to wait after failed attempt `attempt` (counted from 1).
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let mut delay = self.initial_delay.min(self.max_delay);
        for _ in 1..attempt {
            delay = delay.saturating_mul(self.factor).min(self.max_delay);
        }
        match self.jitter {
            None => delay,
            // Keep between half and all of the wait: spread out, but still backing off.
            Some(seed) => delay.mul_f64(1.0 - 0.5 * unit_fraction(seed, attempt)),
        }
    }

    /// Every wait, in order, for a call that fails every attempt: `max_attempts − 1` of them.
    pub fn schedule(&self) -> Vec<Duration> {
        (1..self.max_attempts.max(1))
            .map(|n| self.delay_after(n))
            .collect()
    }
}

/// A number in `[0, 1)` that depends only on `seed` and `attempt` (a SplitMix64 step).
fn unit_fraction(seed: u64, attempt: u32) -> f64 {
    let mut z = seed ^ u64::from(attempt).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Whether an error may go away if the same call is made again.
pub trait Retryable {
    /// `true` for transient failures (a refused connection, a `503`), `false` for failures
    /// that repeating the call cannot fix (a `404`, a malformed URL).
    fn is_retryable(&self) -> bool;
}

/// What [`retry`] did: how many attempts it made and how long it waited after each failure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetryReport {
    /// Attempts made, the successful one (if any) included.
    pub attempts: u32,
    /// The waits, in order: one fewer than the attempts.
    pub delays: Vec<Duration>,
}

impl RetryReport {
    /// The total time spent waiting.
    pub fn waited(&self) -> Duration {
        self.delays.iter().sum()
    }
}

/// What [`retry`] returns: the last attempt's result, and the [`RetryReport`].
#[derive(Debug)]
pub struct Retried<T, E> {
    /// The successful value, or the error that ended the retrying.
    pub result: Result<T, E>,
    /// The attempts and waits.
    pub report: RetryReport,
}

/// Why a fetch failed.
// Book: the error is a `Box<dyn Error>`, which is not `Send`, so a task holding one across an
// `.await` cannot be spawned on a multi-thread runtime; `FetchError` is `Send + Sync`.
#[derive(Debug)]
pub enum FetchError {
    /// The server answered, with a status that is not a success.
    Status(StatusCode),
    /// No usable answer: the connection failed, broke, or the request could not be built.
    Transport(reqwest::Error),
    /// A failure with only a message: the book's `get_data` stand-in.
    Failed(String),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Status(status) => write!(f, "the server answered {status}"),
            FetchError::Transport(err) => write!(f, "the request failed: {err}"),
            FetchError::Failed(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for FetchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FetchError::Transport(err) => Some(err),
            _ => None,
        }
    }
}

impl Retryable for FetchError {
    fn is_retryable(&self) -> bool {
        match self {
            // 5xx: the server failed this time; 429: it asked us to come back later. Any other
            // status (400, 401, 404, …) says the request itself is wrong: the same again fails too.
            FetchError::Status(status) => {
                status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS
            }
            // A refused or broken connection may heal; a request that cannot even be built (a
            // malformed URL) never will.
            FetchError::Transport(err) => !err.is_builder(),
            FetchError::Failed(_) => true,
        }
    }
}

/// Our `get_data`: GETs `url` and returns the body of a successful answer; any other status is a
/// [`FetchError::Status`].
pub async fn get_data(client: &Client, url: &str) -> Result<String, FetchError> {
    let response = client
        .get(url)
        .send()
        .await
        .map_err(FetchError::Transport)?;
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::Status(status));
    }
    response.text().await.map_err(FetchError::Transport)
}

// ---------------------------------------------------------------------------------------------
// The demo.

/// Runs the demo: `retry-backoff [--failures K] [--initial-ms I] [--url URL]`.
pub fn run(mut args: Args) -> DemoResult {
    let failures = args.value_in("failures", 3usize, 0..=10)?;
    let initial_ms = args.value_in("initial-ms", 50u64, 1..=2_000)?;
    let url = args.url()?;
    args.finish()?;
    demo(failures, Duration::from_millis(initial_ms), url)
}

#[tokio::main(flavor = "current_thread")]
async fn demo(failures: usize, initial: Duration, url: Option<String>) -> DemoResult {
    // Book: the first wait is 1 000 ms; the demo starts at 50 ms so that both runs take about a
    // second, and the tests keep the book's numbers on tokio's paused clock.
    let policy = RetryPolicy::with_initial_delay(initial);
    println!(
        "policy: {} attempts, waits {:?} ms (the book's start at 1 000 ms)",
        policy.max_attempts,
        millis(&policy.schedule())
    );

    // Run 1: real HTTP.
    let (server, url, client) = match url {
        Some(url) => {
            // A real server may hang: give each request a limit (the loopback server never does,
            // and the paused-clock tests must not have one, see the module docs).
            let client = common::client::builder()
                .timeout(Duration::from_secs(5))
                .build()?;
            (None, url, client)
        }
        None => {
            let server = flaky_server(failures, 503)?;
            let url = server.url(FLAKY_PATH);
            let client = common::client::client_for(&url)?;
            (Some(server), url, client)
        }
    };
    println!("\nrun 1: GET {url}");
    if server.is_some() {
        println!("(the loopback server answers 503 to the first {failures} requests, then 200)");
    }
    let timeline = Timeline::new();
    let start = Instant::now();
    let retried = retry(&policy, |attempt| {
        let (client, url, timeline) = (&client, &url, &timeline);
        async move {
            let at = start.elapsed();
            let _span = timeline.span("attempts");
            let result = get_data(client, url).await;
            match &result {
                Ok(body) => println!("  attempt {attempt} at {:>4} ms: {body:?}", at.as_millis()),
                Err(err) => println!("  attempt {attempt} at {:>4} ms: {err}", at.as_millis()),
            }
            result
        }
    })
    .await;
    let outcome = match &retried.result {
        Ok(_) => "success".to_string(),
        Err(err) => format!("gave up: {err}"),
    };
    println!(
        "  {outcome} after {} attempt(s), waits {:?} ms",
        retried.report.attempts,
        millis(&retried.report.delays)
    );
    if let Some(server) = &server {
        println!(
            "  the server counted {} request(s)",
            server.count(FLAKY_PATH)
        );
    }
    draw_waits(&timeline);
    print!("{}", timeline.render());

    // Run 2: the book's program.
    println!("\nrun 2: the book's get_data, which always fails");
    let start = Instant::now();
    let retried = do_something(&policy).await;
    // Book: `main` prints `Outcome: {:?}` of a `Result<(), Box<dyn Error>>`, whose error debugs as
    // its message in quotes; we print the same.
    println!(
        "Outcome: {:?}",
        retried.result.map(|_| ()).map_err(|e| e.to_string())
    );
    println!(
        "({} attempts, waits {:?} ms = {} ms, {} ms in all)",
        retried.report.attempts,
        millis(&retried.report.delays),
        retried.report.waited().as_millis(),
        start.elapsed().as_millis()
    );
    Ok(())
}

/// Adds a `back-off` span between each two consecutive `attempts` spans of `timeline`.
fn draw_waits(timeline: &Timeline) {
    let attempts = timeline.spans();
    for pair in attempts.windows(2) {
        timeline.record(
            "back-off",
            current_thread_name(),
            pair[0].end,
            pair[1].start,
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    /// What a test run against the loopback server saw.
    struct Observed {
        retried: Retried<String, FetchError>,
        /// When each attempt started, on the paused clock, from the start of the run.
        starts: Vec<Duration>,
        /// Requests the server counted on `/flaky`.
        requests: usize,
        /// Time (paused clock) from the first attempt to the result.
        elapsed: Duration,
    }

    async fn against(server: &common::http::Server, policy: &RetryPolicy) -> Observed {
        let url = server.url(FLAKY_PATH);
        let client = common::client::client_for(&url).unwrap();
        let starts = Arc::new(Mutex::new(Vec::new()));
        let start = Instant::now();
        let retried = retry(policy, |_| {
            starts.lock().unwrap().push(start.elapsed());
            get_data(&client, &url)
        })
        .await;
        let elapsed = start.elapsed();
        let starts = starts.lock().unwrap().clone();
        Observed {
            retried,
            starts,
            requests: server.count(FLAKY_PATH),
            elapsed,
        }
    }

    async fn flaky(failures: usize) -> Observed {
        let server = flaky_server(failures, 503).unwrap();
        against(&server, &RetryPolicy::default()).await
    }

    #[tokio::test(start_paused = true)]
    async fn three_503s_then_200_take_four_attempts_and_waits_of_1_2_4_s() {
        let o = flaky(3).await;
        assert_eq!(o.retried.result.unwrap(), "data");
        assert_eq!(o.requests, 4);
        assert_eq!(o.retried.report.attempts, 4);
        assert_eq!(millis(&o.retried.report.delays), [1_000, 2_000, 4_000]);
        assert_eq!(millis(&o.starts), [0, 1_000, 3_000, 7_000]);
        assert_eq!(o.elapsed, Duration::from_millis(7_000));
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_that_keeps_failing_gets_five_attempts_and_no_wait_after_the_last() {
        for failures in [5, 8] {
            let o = flaky(failures).await;
            match o.retried.result {
                Err(FetchError::Status(status)) => assert_eq!(status, 503),
                other => panic!("expected the last 503, got {other:?}"),
            }
            assert_eq!(o.requests, 5);
            assert_eq!(
                millis(&o.retried.report.delays),
                [1_000, 2_000, 4_000, 8_000]
            );
            assert_eq!(millis(&o.starts), [0, 1_000, 3_000, 7_000, 15_000]);
            assert_eq!(o.elapsed, Duration::from_millis(15_000));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_first_success_needs_one_request_and_no_wait() {
        let o = flaky(0).await;
        assert_eq!(o.retried.result.unwrap(), "data");
        assert_eq!((o.requests, o.retried.report.attempts), (1, 1));
        assert!(o.retried.report.delays.is_empty());
        assert_eq!(o.elapsed, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_404_is_not_retried() {
        let server = flaky_server(3, 404).unwrap();
        let o = against(&server, &RetryPolicy::default()).await;
        match o.retried.result {
            Err(FetchError::Status(status)) => assert_eq!(status, 404),
            other => panic!("expected the 404, got {other:?}"),
        }
        assert_eq!((o.requests, o.retried.report.attempts), (1, 1));
        assert_eq!(o.elapsed, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_is_retried() {
        let server = flaky_server(1, 429).unwrap();
        let o = against(&server, &RetryPolicy::default()).await;
        assert_eq!(o.retried.result.unwrap(), "data");
        assert_eq!(o.requests, 2);
        assert_eq!(o.elapsed, SECOND);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_connection_is_retried_until_the_attempts_run_out() {
        // Port 1 is outside the range the OS hands out to the tests' own servers, and nothing
        // listens there: every connection is refused at once. (A port just freed by a dropped
        // server could be taken again by a test running in parallel.)
        let url = format!("http://127.0.0.1:1{FLAKY_PATH}");
        let client = common::client::client_for(&url).unwrap();
        let start = Instant::now();
        let retried = retry(&RetryPolicy::default(), |_| get_data(&client, &url)).await;
        match &retried.result {
            Err(FetchError::Transport(err)) => assert!(err.is_connect(), "{err:?}"),
            other => panic!("expected a connection error, got {other:?}"),
        }
        assert_eq!(retried.report.attempts, 5);
        assert_eq!(start.elapsed(), 15 * SECOND);
    }

    #[tokio::test(start_paused = true)]
    async fn a_malformed_url_is_not_retried() {
        let client = common::client::client_for("http://127.0.0.1:1/").unwrap();
        let retried = retry(&RetryPolicy::default(), |_| {
            get_data(&client, "http://[not a host/")
        })
        .await;
        assert!(matches!(retried.result, Err(FetchError::Transport(_))));
        assert_eq!(retried.report.attempts, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_books_do_something_fails_after_five_attempts_and_15_s() {
        let start = Instant::now();
        let retried = do_something(&RetryPolicy::default()).await;
        assert_eq!(retried.result.unwrap_err().to_string(), "Error");
        assert_eq!(retried.report.attempts, 5);
        assert_eq!(start.elapsed(), 15 * SECOND);
    }

    #[tokio::test(start_paused = true)]
    async fn the_cap_stops_the_doubling() {
        let policy = RetryPolicy {
            max_attempts: 7,
            max_delay: Duration::from_millis(5_000),
            ..RetryPolicy::default()
        };
        let expected = [1_000, 2_000, 4_000, 5_000, 5_000, 5_000];
        assert_eq!(millis(&policy.schedule()), expected);
        // And `retry` sleeps exactly that schedule.
        let start = Instant::now();
        let retried = retry(&policy, |_| failing_get_data()).await;
        assert_eq!(millis(&retried.report.delays), expected);
        assert_eq!(start.elapsed(), Duration::from_millis(22_000));
    }

    #[test]
    fn policies_with_odd_numbers_stay_sensible() {
        let one = RetryPolicy {
            max_attempts: 0,
            ..RetryPolicy::default()
        };
        assert!(one.schedule().is_empty());
        let huge = RetryPolicy {
            max_attempts: 200,
            factor: 10,
            ..RetryPolicy::default()
        };
        // No overflow: the doubling saturates at the cap.
        assert_eq!(huge.delay_after(199), Duration::from_secs(30));
    }

    #[test]
    fn jitter_shortens_each_wait_by_at_most_half_and_repeats_for_a_seed() {
        let plain = RetryPolicy::default();
        let jittered = RetryPolicy {
            jitter: Some(42),
            ..RetryPolicy::default()
        };
        let (a, b) = (jittered.schedule(), jittered.schedule());
        assert_eq!(a, b, "the same seed gives the same waits");
        for (wait, full) in a.iter().zip(plain.schedule()) {
            assert!(*wait <= full && *wait >= full / 2, "{wait:?} of {full:?}");
        }
        let other = RetryPolicy {
            jitter: Some(7),
            ..RetryPolicy::default()
        };
        assert_ne!(other.schedule(), a, "another seed spreads differently");
    }

    #[test]
    fn which_statuses_are_worth_retrying() {
        let table = [
            (500, true),
            (502, true),
            (503, true),
            (504, true),
            (429, true),
            (400, false),
            (401, false),
            (403, false),
            (404, false),
            (410, false),
        ];
        for (code, retryable) in table {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(
                FetchError::Status(status).is_retryable(),
                retryable,
                "{code}"
            );
        }
    }
}
