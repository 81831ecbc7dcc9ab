//! `signals-on-main-thread` (Graceful Shutdowns): keep the signal listener away from the work.
//!
//! A std thread owns a multi-thread runtime for the workload; `main` runs a small current-thread
//! runtime that does nothing but listen. Workers that block (here two jobs that hold their threads
//! in 50 ms slices for up to 2 s) cannot delay the listener, which reacts to each SIGINT at once
//! and, after the third, asks the worker runtime to stop, joins its thread and returns.
//!
//! As in `ctrl-c-three-times`, the default mode is the parent: it runs the program as a child,
//! sends the three SIGINTs itself and relays what the child prints, including its timeline, where
//! the `ctrl-c` marks on `main` fall inside the bars of the jobs on `worker-1` and `worker-2`.
//! `--wait` is the program alone, for pressing Ctrl-C by hand.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::Timeline;
use common::demo::{Args, DemoResult};
use nix::sys::signal::Signal;
use tokio::runtime::Builder;
use tokio::signal::unix::SignalKind;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::child::{self, LIMIT, SelfChild};

/// How many interrupts end the program.
pub const PRESSES: usize = 3;
/// How long a job holds its thread at most.
pub const JOB_LIMIT: Duration = Duration::from_secs(2);
/// How long each blocking slice lasts; the stop request is checked between slices.
const SLICE: Duration = Duration::from_millis(50);

/// The book's listening loop on the main thread: acknowledges each interrupt, saying whether the
/// workers were busy at that moment, and returns after the third with what it saw.
pub async fn listen(
    mut interrupts: mpsc::Receiver<()>,
    busy: &AtomicUsize,
    timeline: &Timeline,
) -> Vec<bool> {
    let mut seen = Vec::new();
    while let Some(()) = interrupts.recv().await {
        let at = timeline.now();
        let busy_now = busy.load(Ordering::SeqCst) > 0;
        seen.push(busy_now);
        timeline.record(
            format!("ctrl-c {}", seen.len()),
            common::timeline::current_thread_name(),
            at,
            at,
        );
        println!(
            "ctrl-c received! ({}) while workers busy: {busy_now}",
            seen.len()
        );
        if seen.len() >= PRESSES {
            // Book: `std::process::exit(0)` here would kill the worker runtime mid-task and
            // leave its thread unjoined; we return and let the caller stop the workers.
            break;
        }
    }
    seen
}

/// The book's `main`: a std thread runs the worker runtime, the main thread listens.
pub fn book_main(timeline: &Timeline) -> DemoResult {
    let stop = CancellationToken::new();
    let busy = Arc::new(AtomicUsize::new(0));

    // The listener's runtime is built (and its stream registered) before the workers start, so
    // the first SIGINT can never find the OS default in place.
    let listener = Builder::new_current_thread().enable_all().build()?;
    let interrupts =
        listener.block_on(async { child::forward_signals(SignalKind::interrupt()) })?;
    println!(
        "listening on the main thread (pid {}): press Ctrl-C {PRESSES} times",
        std::process::id()
    );

    let workers = {
        let (stop, busy, timeline) = (stop.clone(), busy.clone(), timeline.clone());
        thread::Builder::new().name("worker-runtime".into()).spawn(
            move || -> std::io::Result<Vec<bool>> {
                // Book: `.build().unwrap()` panics on a thread nobody joins; the error comes
                // back through `join` instead.
                let runtime = Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name_fn(worker_name)
                    .enable_all()
                    .build()?;
                Ok(runtime.block_on(workload(stop, busy, timeline)))
            },
        )?
    };

    let seen = listener.block_on(listen(interrupts, &busy, timeline));
    stop.cancel();
    // Book: the book never joins this thread; we wait for the workers to finish their slice.
    let stopped_early = workers.join().map_err(|_| "the worker thread panicked")??;
    println!(
        "worker runtime stopped: {} of {} jobs stopped on request before their {} s limit",
        stopped_early.iter().filter(|s| **s).count(),
        stopped_early.len(),
        JOB_LIMIT.as_secs()
    );
    if seen.len() < PRESSES {
        return Err(format!("the listener ended after {} interrupts", seen.len()).into());
    }
    Ok(())
}

/// Names the worker runtime's threads `worker-1`, `worker-2`, … (tokio calls this for each
/// thread it starts, blocking-pool threads included).
fn worker_name() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    format!("worker-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Two jobs that block their workers; returns, per job, whether it stopped on request.
async fn workload(
    stop: CancellationToken,
    busy: Arc<AtomicUsize>,
    timeline: Timeline,
) -> Vec<bool> {
    let jobs: Vec<_> = (1..=2)
        .map(|id| {
            let (stop, busy, timeline) = (stop.clone(), busy.clone(), timeline.clone());
            tokio::spawn(async move { blocking_job(id, &stop, &busy, &timeline) })
        })
        .collect();
    let mut stopped_early = Vec::new();
    for job in jobs {
        stopped_early.push(job.await.unwrap_or(false));
    }
    stopped_early
}

/// A job that holds its worker thread, in slices, until asked to stop or out of time.
fn blocking_job(
    id: usize,
    stop: &CancellationToken,
    busy: &AtomicUsize,
    timeline: &Timeline,
) -> bool {
    let _span = timeline.span(format!("job {id}"));
    if busy.fetch_add(1, Ordering::SeqCst) + 1 == 2 {
        println!("workers busy: both jobs are blocking their threads");
    }
    let started = Instant::now();
    while !stop.is_cancelled() && started.elapsed() < JOB_LIMIT {
        // Deliberately blocking: a stand-in for CPU-heavy work that never awaits.
        thread::sleep(SLICE);
    }
    busy.fetch_sub(1, Ordering::SeqCst);
    stop.is_cancelled()
}

/// Runs the demo: the parent by default, the program itself with `--wait`.
pub fn run(mut args: Args) -> DemoResult {
    let wait = args.flag("wait")?;
    let is_child = args.flag("child")?;
    args.finish()?;
    if is_child {
        child::exit_when_parent_goes();
    }
    if wait || is_child {
        let timeline = Timeline::new();
        book_main(&timeline)?;
        println!("{}", timeline.render());
        return Ok(());
    }
    parent()
}

fn parent() -> DemoResult {
    let mut child = SelfChild::start(&["signals-on-main-thread", "--wait"])?;
    child.wait_for_line("workers busy", LIMIT)?;
    let first_signal = Instant::now();
    for k in 1..=PRESSES {
        child.send(Signal::SIGINT)?;
        let line = child.wait_for_line(&format!("ctrl-c received! ({k})"), LIMIT)?;
        if !line.ends_with("busy: true") {
            return Err(format!("the workers were not busy at signal {k}: `{line}`").into());
        }
    }
    let status = child.wait(LIMIT)?;
    let took = first_signal.elapsed();
    if !status.success() {
        return Err(format!("the child {}", child::describe_exit(status)).into());
    }
    println!(
        "parent: three SIGINTs answered while both workers were blocked; the child exited 0, \
         {} ms after the first signal (the jobs' own limit is {} ms)",
        took.as_millis(),
        JOB_LIMIT.as_millis()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;
    use std::sync::mpsc as std_mpsc;

    use super::*;

    #[test]
    fn the_listener_answers_while_both_workers_are_held() {
        let workers = Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let busy = Arc::new(AtomicUsize::new(0));
        let release = Arc::new(Barrier::new(3)); // two jobs + this test
        let (entered, jobs_in) = std_mpsc::channel();
        for _ in 0..2 {
            let (busy, release, entered) = (busy.clone(), release.clone(), entered.clone());
            workers.spawn(async move {
                busy.fetch_add(1, Ordering::SeqCst);
                entered.send(()).unwrap();
                release.wait(); // holds this worker thread until the test lets go
                busy.fetch_sub(1, Ordering::SeqCst);
            });
        }
        let both_in = (0..2).all(|_| jobs_in.recv_timeout(Duration::from_secs(5)).is_ok());

        let listener = Builder::new_current_thread().enable_all().build().unwrap();
        let timeline = Timeline::new();
        let seen = both_in.then(|| {
            listener.block_on(async {
                let (tx, rx) = mpsc::channel(8);
                for _ in 0..PRESSES {
                    tx.send(()).await.unwrap();
                }
                tokio::time::timeout(Duration::from_secs(5), listen(rx, &busy, &timeline)).await
            })
        });
        // Let the workers go before asserting, so a failure cannot hang the runtime's drop.
        if both_in {
            release.wait();
        }
        drop(workers);
        assert!(both_in, "the two jobs did not both start within 5 s");
        let seen = seen
            .unwrap()
            .expect("the listener did not answer within 5 s");
        assert_eq!(seen, [true, true, true]);
        let marks: Vec<String> = timeline.spans().into_iter().map(|s| s.label).collect();
        assert_eq!(marks, ["ctrl-c 1", "ctrl-c 2", "ctrl-c 3"]);
    }

    #[test]
    fn a_blocking_job_stops_between_slices_when_asked() {
        let stop = CancellationToken::new();
        let busy = AtomicUsize::new(0);
        let timeline = Timeline::new();
        let started = Instant::now();
        stop.cancel();
        assert!(blocking_job(1, &stop, &busy, &timeline));
        assert!(started.elapsed() < JOB_LIMIT);
        assert_eq!(busy.load(Ordering::SeqCst), 0);
    }
}
