//! `builder-options`: what the `Builder` settings of runtime A really do, run rather than
//! described (book section "Building a Runtime").
//!
//! The book lists the settings of its runtime A in prose. Four runs put numbers on them:
//!
//! - (a) **`max_blocking_threads`** caps the pool of extra threads that run `spawn_blocking`
//!   closures (on top of the async workers). With a cap of 1, two blocking jobs queue for the one
//!   thread; with 2 they run side by side.
//! - (b) **`thread_keep_alive`** is how long an *idle* blocking-pool thread waits for more work
//!   before it exits. A job longer than the keep-alive is not touched: it finishes, and only then,
//!   a keep-alive later, its idle thread stops, while the runtime lives on.
//! - (c) **metrics**: after a small workload the runtime reports, through its stable
//!   `RuntimeMetrics`, how many workers it has, how many tasks are alive, the depth of its global
//!   queue, and per worker how often it parked and how long it was busy.
//! - (d) **defaults**: what a `Builder` gives when a setting is left alone.
//!
//! Run it with `cargo run -p ch07 -- builder-options`. About 1 s.
//!
//! How we differ from the book: see the `// Book:` notes; in short, `thread_keep_alive` cancels
//! nothing, and the multi-thread `global_queue_interval` has no fixed default of 61.

use std::io;
use std::sync::Arc;
use std::thread::ThreadId;
use std::time::Duration;

use common::Timeline;
use common::demo::{Args, DemoResult};
use common::timeline::format_duration;
use tokio::runtime::{Builder, Runtime};
use tokio::task::JoinError;

use crate::threads::{Hook, Lifecycle, thread_label};

/// (a) A runtime with one worker and at most `max_blocking` extra threads for blocking work.
// Book: "the number of threads that can be allocated to blocking tasks": the cap counts only the
// extra threads (workers come on top), it defaults to 512, and jobs beyond it wait in an
// unbounded queue. Blocking threads also run the start/stop hooks and carry the thread name.
pub fn blocking_runtime(max_blocking: usize) -> io::Result<Runtime> {
    Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(max_blocking)
        .thread_name("blocking demo")
        .build()
}

/// One `spawn_blocking` job: which one, the thread that ran it, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// 1 or 2.
    pub job: usize,
    /// The thread that ran it.
    pub thread: ThreadId,
    /// Its label in the chart.
    pub label: String,
    /// When it began, on the timeline's clock.
    pub start: Duration,
    /// When it ended.
    pub end: Duration,
}

/// (a) Spawns two blocking jobs onto `runtime`, each running `job(i)`, and waits for both.
pub fn two_blocking_jobs(
    runtime: &Runtime,
    timeline: &Timeline,
    job: impl Fn(usize) + Send + Sync + 'static,
) -> Result<Vec<JobRecord>, JoinError> {
    let job = Arc::new(job);
    let handles: Vec<_> = (1..=2)
        .map(|i| {
            let (job, timeline) = (job.clone(), timeline.clone());
            runtime.spawn_blocking(move || {
                let label = thread_label();
                let start = timeline.now();
                job(i);
                let end = timeline.now();
                timeline.record(format!("blocking job {i}"), &label, start, end);
                JobRecord {
                    job: i,
                    thread: std::thread::current().id(),
                    label,
                    start,
                    end,
                }
            })
        })
        .collect();
    runtime.block_on(async {
        let mut records = Vec::new();
        for handle in handles {
            records.push(handle.await?);
        }
        Ok(records)
    })
}

/// (b) What one long blocking job on a short keep-alive showed.
#[derive(Debug)]
pub struct KeepAliveReport {
    /// What the job returned (it was not cancelled).
    pub value: u32,
    /// How long the job ran.
    pub job_took: Duration,
    /// From the job's end to its idle thread's stop hook; `None` if no stop came within the limit.
    pub stopped_after: Option<Duration>,
    /// Start hooks fired while the runtime was alive (workers plus the blocking thread).
    pub starts: usize,
    /// Stop hooks fired while the runtime was alive.
    pub stops: usize,
}

/// (b) Runs a `job_length` blocking job on runtime A's four workers with a `keep_alive` for idle
/// blocking threads, then waits (at most `limit`) for that thread's stop hook, runtime still alive.
pub fn keep_alive_run(
    job_length: Duration,
    keep_alive: Duration,
    limit: Duration,
) -> Result<KeepAliveReport, Box<dyn std::error::Error + Send + Sync>> {
    let timeline = Timeline::new();
    let lifecycle = Lifecycle::new(&timeline, None);
    // Book: "the task that has overrun that timeout limit will be cancelled". Nothing is
    // cancelled: `thread_keep_alive` is how long an idle blocking thread waits for new work before
    // it exits (default 10 s), and a `spawn_blocking` closure that has started cannot be cancelled.
    let runtime = Builder::new_multi_thread()
        .worker_threads(4)
        .thread_keep_alive(keep_alive)
        .on_thread_start(lifecycle.hook(Hook::Start))
        .on_thread_stop(lifecycle.hook(Hook::Stop))
        .build()?;
    let clock = timeline.clone();
    let (value, job_end) = runtime.block_on(runtime.spawn_blocking(move || {
        std::thread::sleep(job_length);
        (42, clock.now())
    }))?;
    // The four workers start as the runtime is built; wait for their hooks too before counting.
    lifecycle.wait_for(Hook::Start, 5, limit);
    let stopped = lifecycle.wait_for(Hook::Stop, 1, limit);
    let stopped_after = stopped.then(|| {
        let events = lifecycle.events();
        let stop = events.iter().find(|e| e.hook == Hook::Stop).map(|e| e.at);
        stop.unwrap_or_default().saturating_sub(job_end)
    });
    let report = KeepAliveReport {
        value,
        job_took: job_length,
        stopped_after,
        starts: lifecycle.count(Hook::Start),
        stops: lifecycle.count(Hook::Stop),
    };
    drop(runtime);
    Ok(report)
}

/// (c) The stable metrics of a runtime with `workers` workers after a short workload.
#[derive(Debug)]
pub struct MetricsReport {
    /// `num_workers()`.
    pub workers: usize,
    /// `num_alive_tasks()` after every task was joined.
    pub alive_tasks: usize,
    /// `global_queue_depth()` then.
    pub global_queue_depth: usize,
    /// Per worker: `worker_park_count`, `worker_park_unpark_count`, `worker_total_busy_duration`.
    pub per_worker: Vec<(u64, u64, Duration)>,
}

/// (c) Spawns 16 small tasks (a millisecond of blocking and a short sleep each) and reads the
/// metrics once they are all joined.
pub fn metrics_after_workload(workers: usize) -> io::Result<MetricsReport> {
    let runtime = Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_time()
        .build()?;
    runtime.block_on(async {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                tokio::spawn(async {
                    std::thread::sleep(Duration::from_millis(1));
                    tokio::time::sleep(Duration::from_millis(5)).await;
                })
            })
            .collect();
        for handle in handles {
            handle.await?;
        }
        Ok::<(), JoinError>(())
    })?;
    let metrics = runtime.metrics();
    let per_worker = (0..metrics.num_workers())
        .map(|w| {
            (
                metrics.worker_park_count(w),
                metrics.worker_park_unpark_count(w),
                metrics.worker_total_busy_duration(w),
            )
        })
        .collect();
    Ok(MetricsReport {
        workers: metrics.num_workers(),
        alive_tasks: metrics.num_alive_tasks(),
        global_queue_depth: metrics.global_queue_depth(),
        per_worker,
    })
}

/// (d) What the builder says and does when left alone, measured where it can be.
#[derive(Debug)]
pub struct Defaults {
    /// `format!("{:?}", Builder::new_multi_thread())`: it shows `max_blocking_threads`.
    pub builder_debug: String,
    /// The name a default worker thread has.
    pub worker_name: Option<String>,
    /// How many workers a default multi-thread runtime starts (one per core).
    pub workers: usize,
}

/// (d) Builds a default runtime and reads what it can.
pub fn defaults() -> io::Result<Defaults> {
    let builder_debug = format!("{:?}", Builder::new_multi_thread());
    let runtime = Builder::new_multi_thread().build()?;
    let worker_name = runtime
        .block_on(runtime.spawn(async { std::thread::current().name().map(String::from) }))
        .map_err(io::Error::other)?;
    Ok(Defaults {
        builder_debug,
        worker_name,
        workers: runtime.metrics().num_workers(),
    })
}

/// Runs the demo: `builder-options`.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    let job = Duration::from_millis(100);

    for max in [1, 2] {
        println!("(a) max_blocking_threads({max}): two spawn_blocking jobs of 100 ms");
        let runtime = blocking_runtime(max)?;
        let timeline = Timeline::new();
        let records = two_blocking_jobs(&runtime, &timeline, move |_| std::thread::sleep(job))?;
        let threads = if records[0].thread == records[1].thread {
            "one thread"
        } else {
            "two threads"
        };
        let total = records.iter().map(|r| r.end).max().unwrap_or_default();
        println!("    {threads}, {} in all", format_duration(total));
        println!("{}", timeline.render());
    }

    println!("(b) thread_keep_alive(50 ms) on runtime A's 4 workers, one 200 ms blocking job");
    let keep = keep_alive_run(
        Duration::from_millis(200),
        Duration::from_millis(50),
        Duration::from_secs(2),
    )?;
    println!(
        "    the job returned {} after {}: the keep-alive cancelled nothing",
        keep.value,
        format_duration(keep.job_took)
    );
    match keep.stopped_after {
        Some(after) => println!(
            "    its idle thread stopped {} after the job, runtime still alive: {} starts, {} stop",
            format_duration(after),
            keep.starts,
            keep.stops
        ),
        None => return Err("the idle blocking thread did not stop within 2 s".into()),
    }

    println!("\n(c) stable metrics after 16 small tasks on 2 workers");
    let m = metrics_after_workload(2)?;
    println!(
        "    num_workers {} · num_alive_tasks {} · global_queue_depth {}",
        m.workers, m.alive_tasks, m.global_queue_depth
    );
    for (w, (parks, park_unparks, busy)) in m.per_worker.iter().enumerate() {
        println!(
            "    worker {w}: worker_park_count {parks} · worker_park_unpark_count {park_unparks} · \
             worker_total_busy_duration {}",
            format_duration(*busy)
        );
    }

    println!("\n(d) defaults");
    let d = defaults()?;
    println!("    {}", d.builder_debug);
    println!(
        "    worker thread name: {:?} · workers: {} (one per core)",
        d.worker_name.as_deref().unwrap_or("(none)"),
        d.workers
    );
    // Book: gives fixed `global_queue_interval` defaults, 31 (single-threaded) and 61
    // (multi-threaded). The current-thread runtime uses 31, but since tokio 1.29 the multi-thread
    // runtime tunes it as it runs (tokio 1.54.1, `runtime/scheduler/multi_thread/stats.rs`: aim
    // for about 200 µs of polling between global-queue checks, clamped to 2..=127 polls, starting
    // at 61). 61 is the default of `event_interval`, how often timers and IO are checked.
    println!(
        "    from tokio 1.54.1's source: thread_keep_alive 10 s · event_interval 61 · \
         global_queue_interval 31 on a current-thread runtime, self-tuning on a multi-thread one"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;
    use crate::threads::watchdog;

    #[test]
    fn one_blocking_thread_runs_two_jobs_in_turn() {
        let runtime = blocking_runtime(1).unwrap();
        let records = two_blocking_jobs(&runtime, &Timeline::new(), |_| {
            std::thread::sleep(Duration::from_millis(20))
        })
        .unwrap();
        assert_eq!(records[0].thread, records[1].thread);
        let (first, second) = if records[0].start <= records[1].start {
            (&records[0], &records[1])
        } else {
            (&records[1], &records[0])
        };
        assert!(second.start >= first.end, "{records:?}");
        assert!(first.label.starts_with("blocking demo (t"), "{records:?}");
    }

    #[test]
    fn two_blocking_threads_run_two_jobs_at_once() {
        // A barrier for two: both jobs must be running at the same moment for it to open.
        let records = watchdog(Duration::from_secs(5), "two blocking jobs", || {
            let runtime = blocking_runtime(2).unwrap();
            let barrier = Arc::new(Barrier::new(2));
            two_blocking_jobs(&runtime, &Timeline::new(), move |_| {
                barrier.wait();
            })
            .unwrap()
        });
        assert_ne!(records[0].thread, records[1].thread);
    }

    #[test]
    fn keep_alive_retires_the_idle_thread_and_cancels_nothing() {
        let report = keep_alive_run(
            Duration::from_millis(30),
            Duration::from_millis(20),
            Duration::from_secs(2),
        )
        .unwrap();
        assert_eq!(report.value, 42, "the job ran to the end");
        assert!(
            report.stopped_after.is_some(),
            "no stop within 2 s: {report:?}"
        );
        // Four workers and the one blocking thread started; only the blocking thread stopped.
        assert_eq!((report.starts, report.stops), (5, 1), "{report:?}");
    }

    #[test]
    fn metrics_count_the_configured_workers() {
        let report = metrics_after_workload(3).unwrap();
        assert_eq!(report.workers, 3);
        assert_eq!(report.per_worker.len(), 3);
    }

    #[test]
    fn defaults_are_512_blocking_threads_and_the_tokio_rt_worker_name() {
        let d = defaults().unwrap();
        assert!(
            d.builder_debug.contains("max_blocking_threads: 512"),
            "{}",
            d.builder_debug
        );
        assert_eq!(d.worker_name.as_deref(), Some("tokio-rt-worker"));
        assert!(d.workers >= 1);
    }
}
