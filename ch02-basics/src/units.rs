//! Helpers shared by the timed demos of chapter 2: the scaled time unit and named runtimes.
//!
//! The book times its breakfast in seconds. Here a book second is one *unit*, 20 ms by default, so
//! the whole chapter runs in a few seconds; `--unit-ms 1000` replays the book's real timings.
//! Multi-thread runtimes name their workers `worker-1`, `worker-2`, … so timelines can tell them
//! apart (tokio names every worker alike by default).

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::demo::{Args, UsageError};
use tokio::runtime::{Builder, Runtime};

/// The default length of one book second, in milliseconds.
pub const DEFAULT_UNIT_MS: u64 = 20;

/// Takes `--unit-ms N` (1..=5000, default [`DEFAULT_UNIT_MS`]) and returns the unit.
///
/// ```
/// use common::demo::Args;
/// let mut args = Args::from_iter(["--unit-ms", "5"]);
/// assert_eq!(ch02::units::unit_arg(&mut args).unwrap().as_millis(), 5);
/// assert!(ch02::units::unit_arg(&mut Args::from_iter(["--unit-ms", "0"])).is_err());
/// ```
pub fn unit_arg(args: &mut Args) -> Result<Duration, UsageError> {
    let ms = args.value_in("unit-ms", DEFAULT_UNIT_MS, 1..=5000)?;
    Ok(Duration::from_millis(ms))
}

/// `elapsed` expressed in units, e.g. 480 ms at 20 ms per unit is 24.0.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(ch02::units::in_units(Duration::from_millis(480), Duration::from_millis(20)), 24.0);
/// ```
pub fn in_units(elapsed: Duration, unit: Duration) -> f64 {
    elapsed.as_secs_f64() / unit.as_secs_f64()
}

/// A multi-thread runtime with `workers` workers named `worker-1`, `worker-2`, …
///
/// tokio names every thread it starts with the same function, including the threads of its
/// blocking pool (`spawn_blocking`, `tokio::fs`), and a worker loop may start on whichever of those
/// threads picks it up first. So before returning, the runtime is made to run one task per worker,
/// all waiting on one barrier: that can only complete once every worker loop runs, on the first
/// `workers` threads. Threads started later are blocking-pool threads, named `blocking-1`, ….
///
/// ```
/// let rt = ch02::units::multi_thread(2).unwrap();
/// let name = rt.block_on(async {
///     tokio::spawn(async { common::timeline::current_thread_name() }).await.unwrap()
/// });
/// assert!(name == "worker-1" || name == "worker-2", "{name}");
/// let blocking = rt.block_on(async { tokio::task::spawn_blocking(common::timeline::current_thread_name).await });
/// assert!(blocking.unwrap().starts_with("blocking-"));
/// ```
pub fn multi_thread(workers: usize) -> io::Result<Runtime> {
    let started = Arc::new(AtomicUsize::new(0));
    let runtime = Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name_fn(move || {
            let n = started.fetch_add(1, Ordering::Relaxed) + 1;
            if n <= workers {
                format!("worker-{n}")
            } else {
                format!("blocking-{}", n - workers)
            }
        })
        .enable_all()
        .build()?;
    // Every worker must hold one of these tasks at once for the barrier to open: blocking a worker
    // on purpose, once, before any other work exists.
    let barrier = Arc::new(Barrier::new(workers));
    runtime.block_on(async {
        let waits: Vec<_> = (0..workers)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                tokio::spawn(async move {
                    barrier.wait();
                })
            })
            .collect();
        for wait in waits {
            wait.await.map_err(io::Error::other)?;
        }
        Ok::<(), io::Error>(())
    })?;
    Ok(runtime)
}

/// A current-thread runtime: every task runs on the thread that calls `block_on` (`main`).
///
/// ```
/// let rt = ch02::units::current_thread().unwrap();
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// ```
pub fn current_thread() -> io::Result<Runtime> {
    Builder::new_current_thread().enable_all().build()
}

/// A timeout's result the way the demos print it: `Ok(value)` or `Err(Elapsed)`.
pub fn shown<T: std::fmt::Debug>(result: &Result<T, tokio::time::error::Elapsed>) -> String {
    match result {
        Ok(value) => format!("Ok({value:?})"),
        Err(_) => "Err(Elapsed)".to_string(),
    }
}
