//! `custom-runtime`: "runtime A", built by hand with `tokio::runtime::Builder` (book section
//! "Building a Runtime").
//!
//! `#[tokio::main]` builds a runtime with default settings and hides it. Here we build one
//! ourselves: four workers named `our custom runtime A`, at most one extra thread for blocking
//! work, a 3 MiB stack per thread, the time driver, and hooks that print when a thread starts,
//! parks (has nothing to do and sleeps) or stops. Plain synchronous code then spawns
//! `sleep_example` onto it with [`spawn_task`], checks `is_finished()` (false, then true after a
//! pause) and blocks on the `JoinHandle` for the result, 20.
//!
//! Run it with `cargo run -p ch07 -- custom-runtime [--sleep-ms MS]`. You will see the start and
//! park lines interleave with the task's own lines, as in the book, then four `thread stopping`
//! lines the book never shows, and a chart: the task's two polls (before and after its sleep),
//! marked with the worker that ran each, above one row per worker showing when it was parked.
//!
//! How we differ from the book: the runtime is a value returned by [`build_runtime_a`] and
//! dropped at the end, not a `static`; building it returns the `io::Error` instead of unwrapping
//! it; the book's 2 s and 3 s waits are 200 ms and 300 ms. The default worker name is now
//! `tokio-rt-worker`. The other knobs (blocking threads, keep-alive, queue interval) are measured
//! in `builder-options`.

use std::future::Future;
use std::io;
use std::time::Duration;

use common::Timeline;
use common::demo::{Args, DemoResult};
use common::timeline::format_duration;
use tokio::runtime::{Builder, Runtime};
use tokio::task::JoinHandle;

use crate::threads::{Hook, Lifecycle, thread_label};

/// The book's runtime A: four named workers, one blocking thread, hooks, 3 MiB stacks, timers.
///
/// The hooks print the book's lines and record into `lifecycle`.
// Book: `static RUNTIME: LazyLock<Runtime>`. A static runtime is never dropped, so its
// `on_thread_stop` hook never runs and every test in the binary would share it; we return a value
// the caller owns and drops, and return the build error instead of calling `unwrap()`.
pub fn build_runtime_a(lifecycle: &Lifecycle) -> io::Result<Runtime> {
    Builder::new_multi_thread()
        .worker_threads(4)
        .max_blocking_threads(1)
        .on_thread_start(lifecycle.hook(Hook::Start))
        .on_thread_stop(lifecycle.hook(Hook::Stop))
        .thread_keep_alive(Duration::from_secs(60))
        .global_queue_interval(61)
        .on_thread_park(lifecycle.hook(Hook::Park))
        // Not in the book: the pair of `on_thread_park`, so the chart can show each parked stretch.
        .on_thread_unpark(lifecycle.hook(Hook::Unpark))
        // Book: says the default name is `tokio-runtime-worker`; since tokio 1.50 it is
        // `tokio-rt-worker`. Linux keeps 15 bytes of a thread name for `ps` and `top`, which show
        // `our custom runt`; `std::thread::current().name()` still gives all of it.
        .thread_name("our custom runtime A")
        .thread_stack_size(3 * 1024 * 1024)
        // Only the timer: `tokio::net` or `tokio::signal` on this runtime would panic for want of
        // the IO driver (`enable_all()` turns on both).
        .enable_time()
        .build()
}

/// Spawns `future` onto `runtime`: chapter 3's `spawn_task`, returning tokio's `JoinHandle`.
// Book: `spawn_task(future)` reached the static runtime; ours takes the runtime it spawns on.
pub fn spawn_task<F, T>(runtime: &Runtime, future: F) -> JoinHandle<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    runtime.spawn(future)
}

/// The book's task: announce, sleep without blocking, announce, return 20.
// Book: sleeps 2 s; the demo passes 200 ms.
pub async fn sleep_example(pause: Duration) -> i32 {
    println!("sleeping for {}", format_duration(pause));
    tokio::time::sleep(pause).await;
    println!("done sleeping");
    20
}

/// What the book's `main` printed, kept for the report and the tests.
#[derive(Debug)]
pub struct RunReport {
    /// `is_finished()` right after spawning.
    pub finished_at_once: bool,
    /// How long the spawn plus that first check took (a task that sleeps `pause` cannot finish
    /// sooner, so `finished_at_once` is false unless this is at least `pause`).
    pub first_check_took: Duration,
    /// `is_finished()` after the main thread waited `wait`.
    pub finished_after_wait: bool,
    /// The task's output.
    pub result: i32,
    /// The labels ([`thread_label`]) of the workers that polled the task, in poll order.
    pub polled_on: Vec<String>,
}

/// The book's `main`, on a runtime passed in: spawn, check, wait, check, block on the handle.
pub fn book_main(
    runtime: &Runtime,
    pause: Duration,
    wait: Duration,
    timeline: &Timeline,
) -> Result<RunReport, tokio::task::JoinError> {
    let polls = PollLog::default();
    let started = std::time::Instant::now();
    let mut handle = spawn_task(runtime, polls.traced(timeline, sleep_example(pause)));
    println!("spawned task");
    let finished_at_once = handle.is_finished();
    let first_check_took = started.elapsed();
    println!("task status: {finished_at_once}");
    std::thread::sleep(wait);
    let finished_after_wait = handle.is_finished();
    println!("task status: {finished_after_wait}");
    // `&mut handle`: the handle stays ours, so a test can still ask `is_finished()` afterwards.
    let result = runtime.block_on(&mut handle)?;
    println!("task result: {result}");
    Ok(RunReport {
        finished_at_once,
        first_check_took,
        finished_after_wait,
        result,
        polled_on: polls.threads(),
    })
}

/// Runs the demo: `custom-runtime [--sleep-ms MS]`.
pub fn run(mut args: Args) -> DemoResult {
    let pause_ms = args.value_in("sleep-ms", 200u64, 1..=10_000)?;
    args.finish()?;
    let pause = Duration::from_millis(pause_ms);

    let timeline = Timeline::new();
    let lifecycle = Lifecycle::new(&timeline, Some("runtime A"));
    let runtime = build_runtime_a(&lifecycle)?;
    let workers = runtime.metrics().num_workers();
    let report = book_main(&runtime, pause, pause * 3 / 2, &timeline)?;
    // Dropping the runtime stops and joins its threads: the `thread stopping` lines come now.
    drop(runtime);
    let end = timeline.now();

    println!();
    println!(
        "metrics: {workers} workers; hooks: {} starts, {} parks, {} stops",
        lifecycle.count(Hook::Start),
        lifecycle.count(Hook::Park),
        lifecycle.count(Hook::Stop),
    );
    println!(
        "the task was polled {} times, on: {}",
        report.polled_on.len(),
        report.polled_on.join(", ")
    );
    lifecycle.record_parked(&timeline, end);
    println!("{}", timeline.render());
    Ok(())
}

/// Wraps a future so each poll is one span in the `sleep_example` row, marked with its worker.
#[derive(Clone, Default)]
struct PollLog(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl PollLog {
    fn traced<F: Future>(
        &self,
        timeline: &Timeline,
        future: F,
    ) -> impl Future<Output = F::Output> + use<F> {
        let (log, timeline) = (self.clone(), timeline.clone());
        let mut future = Box::pin(future);
        std::future::poll_fn(move |cx| {
            let thread = thread_label();
            let from = timeline.now();
            let poll = future.as_mut().poll(cx);
            timeline.record("sleep_example polled", &thread, from, timeline.now());
            log.0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(thread);
            poll
        })
    }

    fn threads(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A plain `#[test]`: dropping a `Runtime` inside an async context panics.
    #[test]
    fn runtime_a_runs_the_task_on_its_named_workers_and_stops_every_thread_it_started() {
        let timeline = Timeline::new();
        let lifecycle = Lifecycle::new(&timeline, None);
        let runtime = build_runtime_a(&lifecycle).unwrap();
        assert_eq!(runtime.metrics().num_workers(), 4);

        let pause = Duration::from_millis(150);
        let report = book_main(&runtime, pause, Duration::ZERO, &timeline).unwrap();
        assert_eq!(report.result, 20);
        // The task sleeps `pause`, so it cannot be finished at the first check unless that check
        // itself came `pause` late: the assertion holds however slow the machine is.
        assert!(
            !report.finished_at_once || report.first_check_took >= pause,
            "{report:?}"
        );
        assert!(
            report.polled_on.len() >= 2,
            "one poll to start the sleep, one to end"
        );
        for worker in &report.polled_on {
            assert!(
                worker.starts_with("our custom runtime A #"),
                "polled on {worker}"
            );
        }

        drop(runtime);
        assert_eq!(lifecycle.count(Hook::Start), 4, "{:?}", lifecycle.events());
        assert_eq!(lifecycle.count(Hook::Stop), 4, "{:?}", lifecycle.events());
        assert!(lifecycle.count(Hook::Park) >= 1);
    }

    #[test]
    fn is_finished_turns_true_once_the_handle_was_awaited() {
        let lifecycle = Lifecycle::new(&Timeline::new(), None);
        let runtime = build_runtime_a(&lifecycle).unwrap();
        let mut handle = spawn_task(&runtime, sleep_example(Duration::from_millis(10)));
        assert_eq!(runtime.block_on(&mut handle).unwrap(), 20);
        assert!(handle.is_finished());
        let name = runtime
            .block_on(spawn_task(&runtime, async {
                std::thread::current().name().map(String::from)
            }))
            .unwrap();
        assert_eq!(name.as_deref(), Some("our custom runtime A"));
    }
}
