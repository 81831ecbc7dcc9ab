//! `patterns-combined`: the chapter's patterns in one small program (an extra, after the book's
//! Summary).
//!
//! The Summary's advice, put together: synchronous code reaches async work only through an
//! isolated module ([`crate::isolated_module`]); behind it, the async work is a waterfall
//! ([`crate::waterfall_chain`]) of three steps joined by `?`; its first step fetches from a
//! flaky server with retries ([`crate::retry_backoff`]), each attempt going through a circuit
//! breaker ([`crate::circuit_breaker`]); and with the cargo feature `logging_decorator` the whole
//! waterfall is decorated by [`maybe_logged`] ([`crate::feature_decorator`]), which logs and
//! counts its polls.
//!
//! ```text
//! sync caller ──send_report()──▶ ReportModule (own runtime) ──spawn──▶ maybe_logged(waterfall)
//!      │ … other sync work …                                              fetch ─?─▶ shout ─?─▶ report
//!      └──get_report(id)── blocks until the report is ready ◀───────────────┘
//!                                         fetch = retry(policy, |_| breaker.call(get_data(..)))
//! ```
//!
//! Run it with `cargo run -p ch09 -- patterns-combined [--failures K]`: the loopback server's `/flaky` fails K times (default 2) and then answers
//! `data`; the sync caller prints `report: DATA (3 attempts, breaker Closed)`. Add
//! `--features logging_decorator` (before `--`) to see the waterfall's polls logged.
//!
//! Two interactions between the patterns are worth seeing. The retry loop does not retry a call
//! the breaker refused: a refusal means "stop calling", and retrying it would fight the breaker
//! (see [`CallError`]'s [`Retryable`] impl below). And the breaker belongs to the module, not to
//! one report: it guards the dependency for every caller, so once it opens, the next reports fail
//! at once without a request.
//!
//! Why the module here is a [`ReportModule`] and not the chapter's
//! [`AsyncModule`](crate::isolated_module::AsyncModule): that one runs the book's arithmetic and
//! keeps `JoinHandle<i32>`s, so it cannot hold a report. `ReportModule` is the same design (a
//! runtime of its own, a map from ids to handles, a blocking getter that refuses to run inside a
//! runtime, a clean shutdown on drop) for a task that returns a [`Report`].

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use common::demo::{Args, DemoResult};
use reqwest::Client;
use tokio::runtime::{Builder, Handle, Runtime};
use tokio::task::JoinHandle;

use crate::circuit_breaker::{BreakerConfig, BreakerState, CallError, CircuitBreaker};
use crate::feature_decorator::{LOGGING_DECORATOR, maybe_logged};
use crate::flaky::{FLAKY_PATH, flaky_server};
use crate::retry_backoff::{RetryPolicy, Retryable, get_data, retry};
use crate::waterfall_chain::BoxError;

/// The isolated module of this program: sync entry points, a runtime of its own, and the handles
/// of the reports being made.
pub struct ReportModule {
    handle: Handle,
    /// `Some` until `drop` takes it to shut it down.
    runtime: Option<Runtime>,
    reports: Mutex<HashMap<String, JoinHandle<Result<Report, BoxError>>>>,
    deps: Arc<Deps>,
}

impl ReportModule {
    /// Starts making a report on the module's runtime and returns its id at once.
    pub fn send_report(&self) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let deps = Arc::clone(&self.deps);
        let work = async move {
            let polls = Arc::clone(&deps.polls);
            // The decorator: with `logging_decorator` on, every poll of the waterfall is logged
            // and counted; without it, `maybe_logged` returns the waterfall untouched.
            maybe_logged(waterfall(&deps), polls).await
        };
        let handle = self.handle.spawn(work);
        self.reports().insert(id.clone(), handle);
        id
    }

    /// Blocks until report `id` is ready and returns it.
    ///
    /// # Errors
    ///
    /// [`ReportError::InsideRuntime`] when called from inside a tokio runtime, where blocking is
    /// wrong (the report stays collectable with [`ReportModule::get_report_async`]);
    /// [`ReportError::UnknownId`] for an id never sent or already collected;
    /// [`ReportError::Failed`] if the waterfall failed, with the step's error.
    pub fn get_report(&self, id: &str) -> Result<Report, ReportError> {
        if Handle::try_current().is_ok() {
            return Err(ReportError::InsideRuntime);
        }
        let handle = self.take(id)?;
        self.handle.block_on(handle)?.map_err(ReportError::Failed)
    }

    /// Collects report `id` from async code, on any runtime.
    pub async fn get_report_async(&self, id: &str) -> Result<Report, ReportError> {
        let handle = self.take(id)?;
        handle.await?.map_err(ReportError::Failed)
    }

    /// The module's circuit breaker, shared by every report.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.deps.breaker
    }

    /// Polls of the waterfalls counted by the logging decorator: always 0 without the feature.
    pub fn logged_polls(&self) -> usize {
        self.deps.polls.load(Ordering::Relaxed)
    }

    fn take(&self, id: &str) -> Result<JoinHandle<Result<Report, BoxError>>, ReportError> {
        self.reports()
            .remove(id)
            .ok_or_else(|| ReportError::UnknownId(id.to_string()))
    }

    fn reports(&self) -> MutexGuard<'_, HashMap<String, JoinHandle<Result<Report, BoxError>>>> {
        // One `insert` or `remove` per lock: a poisoned map is still whole.
        self.reports.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for ReportModule {
    /// Shuts the runtime down, unfinished reports with it: waiting for its threads outside a
    /// runtime, without waiting inside one (where tokio forbids blocking).
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            if Handle::try_current().is_ok() {
                runtime.shutdown_background();
            } else {
                runtime.shutdown_timeout(Duration::from_secs(5));
            }
        }
    }
}

/// What the waterfall's steps share: where to fetch from, and how.
struct Deps {
    client: Client,
    url: String,
    policy: RetryPolicy,
    breaker: CircuitBreaker,
    polls: Arc<AtomicUsize>,
}

/// Settings for a [`ReportModule`].
#[derive(Debug, Clone)]
pub struct ReportSettings {
    /// The URL the first step fetches.
    pub url: String,
    /// How it retries.
    pub policy: RetryPolicy,
    /// The breaker around each attempt.
    pub breaker: BreakerConfig,
}

impl ReportSettings {
    /// The demo's settings for `url`: 5 attempts with waits from 5 ms, a breaker opening after
    /// 3 failures for 200 ms.
    pub fn for_url(url: String) -> Self {
        ReportSettings {
            url,
            policy: RetryPolicy::with_initial_delay(Duration::from_millis(5)),
            breaker: BreakerConfig {
                cooldown: Duration::from_millis(200),
                ..BreakerConfig::default()
            },
        }
    }

    /// Starts the module: a two-worker runtime, a client for the URL, a fresh breaker.
    ///
    /// # Errors
    ///
    /// If the runtime's threads cannot start, or the HTTP client cannot be built.
    pub fn start(self) -> Result<ReportModule, BoxError> {
        let runtime = Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("report-mod")
            .enable_all()
            .build()?;
        let client = common::client::client_for(&self.url)?;
        // Made inside the runtime so that its clock is the runtime's.
        let breaker = {
            let _context = runtime.enter();
            CircuitBreaker::new(self.breaker)
        };
        Ok(ReportModule {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
            reports: Mutex::new(HashMap::new()),
            deps: Arc::new(Deps {
                client,
                url: self.url,
                policy: self.policy,
                breaker,
                polls: Arc::new(AtomicUsize::new(0)),
            }),
        })
    }
}

/// What a finished waterfall produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The fetched data, shouted.
    pub data: String,
    /// Attempts the fetch needed.
    pub attempts: u32,
    /// The breaker's state when the report was made.
    pub breaker: BreakerState,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let breaker = match self.breaker {
            BreakerState::Closed { .. } => "Closed",
            BreakerState::Open { .. } => "Open",
            BreakerState::HalfOpen => "HalfOpen",
        };
        let plural = if self.attempts == 1 { "" } else { "s" };
        write!(
            f,
            "{} ({} attempt{plural}, breaker {breaker})",
            self.data, self.attempts
        )
    }
}

/// Why [`ReportModule::get_report`] gave no report.
#[derive(Debug)]
pub enum ReportError {
    /// No report has this id: never sent, or already collected.
    UnknownId(String),
    /// The blocking getter was called inside a tokio runtime.
    InsideRuntime,
    /// The report's task panicked or was cancelled.
    TaskFailed(String),
    /// A step of the waterfall failed.
    Failed(BoxError),
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::UnknownId(id) => write!(f, "no report with id {id}"),
            ReportError::InsideRuntime => f.write_str(
                "get_report blocks its thread, so it cannot be called from inside a tokio \
                 runtime; await get_report_async(id) there instead",
            ),
            ReportError::TaskFailed(why) => write!(f, "the report's task did not finish: {why}"),
            ReportError::Failed(err) => write!(f, "the report failed: {err}"),
        }
    }
}

impl std::error::Error for ReportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReportError::Failed(err) => Some(err.as_ref()),
            _ => None,
        }
    }
}

impl From<tokio::task::JoinError> for ReportError {
    fn from(err: tokio::task::JoinError) -> Self {
        ReportError::TaskFailed(err.to_string())
    }
}

/// A call the breaker refused is not retried: the breaker has said to stop calling, and the
/// retry loop should not fight it. A call that was made and failed is retried if its own error
/// is worth retrying.
impl<E: Retryable> Retryable for CallError<E> {
    fn is_retryable(&self) -> bool {
        match self {
            CallError::Open => false,
            CallError::Failed(err) => err.is_retryable(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The waterfall: three steps that share one error type, joined by `?`.

/// What the fetch step hands on.
struct Fetched {
    body: String,
    attempts: u32,
}

/// The waterfall: fetch, shout, report. The first failing step ends it with its error.
async fn waterfall(deps: &Deps) -> Result<Report, BoxError> {
    let fetched = fetch(deps).await?;
    let shouted = shout(fetched).await?;
    report(shouted, &deps.breaker).await
}

/// Step 1: GET the URL, each attempt through the breaker, retried with back-off.
async fn fetch(deps: &Deps) -> Result<Fetched, BoxError> {
    let retried = retry(&deps.policy, |_attempt| {
        deps.breaker.call(get_data(&deps.client, &deps.url))
    })
    .await;
    let attempts = retried.report.attempts;
    match retried.result {
        Ok(body) => Ok(Fetched { body, attempts }),
        Err(err) => Err(format!("fetch gave up after {attempts} attempt(s): {err}").into()),
    }
}

/// Step 2: the data, upper-cased; empty data is an error.
async fn shout(fetched: Fetched) -> Result<Fetched, BoxError> {
    let body = fetched.body.trim();
    if body.is_empty() {
        return Err("the server sent no data".into());
    }
    Ok(Fetched {
        body: body.to_uppercase(),
        ..fetched
    })
}

/// Step 3: the report, with the breaker's state now.
async fn report(fetched: Fetched, breaker: &CircuitBreaker) -> Result<Report, BoxError> {
    Ok(Report {
        data: fetched.body,
        attempts: fetched.attempts,
        breaker: breaker.state(),
    })
}

// ---------------------------------------------------------------------------------------------
// The demo: plain synchronous code, like the codebase the isolated module is for.

/// Runs the demo: `patterns-combined [--failures K]`. A plain function: no runtime is running
/// when it starts, and it never starts one itself; the module does.
pub fn run(mut args: Args) -> DemoResult {
    let failures = args.value_in("failures", 2usize, 0..=10)?;
    args.finish()?;

    let server = flaky_server(failures, 503)?;
    println!(
        "the loopback server's {FLAKY_PATH} answers 503 {failures} time(s), then data; \
         logging_decorator is {}",
        if LOGGING_DECORATOR { "on" } else { "off" }
    );
    let module = ReportSettings::for_url(server.url(FLAKY_PATH)).start()?;

    let id = module.send_report();
    println!("sent a report request, id {id}; the caller carries on with its own work");
    let report = module.get_report(&id)?;
    println!("report: {report}");
    println!(
        "server requests: {}; breaker now {}; waterfall polls logged: {}",
        server.count(FLAKY_PATH),
        module.breaker().state(),
        module.logged_polls()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    /// Runs `f` on its own thread, failing the test if it takes longer than 10 s.
    fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (done, result) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = done.send(f());
        });
        result
            .recv_timeout(Duration::from_secs(10))
            .expect("finished within 10 s")
    }

    #[test]
    fn two_failures_then_data_make_the_report_in_three_attempts() {
        within(|| {
            let server = flaky_server(2, 503).unwrap();
            let module = ReportSettings::for_url(server.url(FLAKY_PATH))
                .start()
                .unwrap();
            let id = module.send_report();
            let report = module.get_report(&id).unwrap();
            assert_eq!(report.to_string(), "DATA (3 attempts, breaker Closed)");
            assert_eq!(server.count(FLAKY_PATH), 3);
            assert_eq!(
                module.breaker().state(),
                BreakerState::Closed { failures: 0 }
            );
            // Collected once only.
            assert!(matches!(
                module.get_report(&id),
                Err(ReportError::UnknownId(_))
            ));
        });
    }

    #[cfg(feature = "logging_decorator")]
    #[test]
    fn with_the_feature_the_waterfall_is_logged() {
        within(|| {
            let server = flaky_server(2, 503).unwrap();
            let module = ReportSettings::for_url(server.url(FLAKY_PATH))
                .start()
                .unwrap();
            let id = module.send_report();
            module.get_report(&id).unwrap();
            // At least the first poll, one per back-off wait, one per response.
            assert!(module.logged_polls() >= 3, "{}", module.logged_polls());
        });
    }

    #[cfg(not(feature = "logging_decorator"))]
    #[test]
    fn without_the_feature_nothing_is_logged() {
        within(|| {
            let server = flaky_server(0, 503).unwrap();
            let module = ReportSettings::for_url(server.url(FLAKY_PATH))
                .start()
                .unwrap();
            let id = module.send_report();
            module.get_report(&id).unwrap();
            assert_eq!(module.logged_polls(), 0);
        });
    }

    #[test]
    fn an_open_breaker_stops_the_retries_and_the_next_report_sends_nothing() {
        within(|| {
            let server = flaky_server(100, 500).unwrap();
            let mut settings = ReportSettings::for_url(server.url(FLAKY_PATH));
            // A cool-down far longer than the test: however slow a loaded machine runs the
            // retries, the breaker is still open when the fourth attempt comes.
            settings.breaker.cooldown = Duration::from_secs(600);
            let module = settings.start().unwrap();
            let id = module.send_report();
            let err = module.get_report(&id).unwrap_err();
            // Three failures open the breaker; the fourth attempt is refused and not retried.
            assert_eq!(
                err.to_string(),
                "the report failed: fetch gave up after 4 attempt(s): Circuit Open"
            );
            assert_eq!(server.count(FLAKY_PATH), 3);
            assert!(matches!(
                module.breaker().state(),
                BreakerState::Open { .. }
            ));
            // The breaker is the module's: the next report is refused without a request.
            let id = module.send_report();
            assert!(module.get_report(&id).is_err());
            assert_eq!(server.count(FLAKY_PATH), 3);
        });
    }

    #[test]
    fn a_404_fails_the_first_step_and_no_later_step_runs() {
        within(|| {
            let server = flaky_server(1, 404).unwrap();
            let module = ReportSettings::for_url(server.url(FLAKY_PATH))
                .start()
                .unwrap();
            let id = module.send_report();
            let err = module.get_report(&id).unwrap_err().to_string();
            assert!(err.contains("after 1 attempt(s)"), "{err}");
            assert!(err.contains("404"), "{err}");
            assert_eq!(server.count(FLAKY_PATH), 1);
        });
    }

    #[test]
    fn inside_a_runtime_the_blocking_getter_refuses_and_the_async_one_works() {
        within(|| {
            let server = flaky_server(0, 503).unwrap();
            let module = ReportSettings::for_url(server.url(FLAKY_PATH))
                .start()
                .unwrap();
            let caller = Builder::new_current_thread().build().unwrap();
            caller.block_on(async {
                let id = module.send_report();
                assert!(matches!(
                    module.get_report(&id),
                    Err(ReportError::InsideRuntime)
                ));
                let report = module.get_report_async(&id).await.unwrap();
                assert_eq!(report.data, "DATA");
                // Dropping the module here, inside a runtime, must not panic.
                drop(module);
            });
        });
    }

    #[test]
    fn the_refusal_says_what_to_do_instead() {
        let message = ReportError::InsideRuntime.to_string();
        assert!(message.contains("await get_report_async(id)"), "{message}");
    }
}
