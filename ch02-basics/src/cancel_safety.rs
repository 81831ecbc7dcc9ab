//! `cancel-safety`: what a dropped future leaves behind (book section "Context in Futures ›
//! Cancel Safety").
//!
//! Cancelling a future is dropping it at the `.await` where it last returned `Pending`. That is
//! always memory-safe: its locals are dropped, its locks released. It is not always *state*-safe:
//! whatever the future changed before that await stays changed, and whatever it meant to do after
//! it never happens. A future is cancel-safe when being dropped at any of its awaits leaves shared
//! state consistent.
//!
//! The book's `slow_task` is: it only sleeps. We make that visible with a [`DropNotice`] inside
//! it, which prints the moment the 3-unit timeout drops the future. Then a job queue, shared as
//! `Arc<Mutex<Jobs>>`, where a worker takes job 1 and needs 5 units to do it, under a 2-unit
//! timeout:
//!
//! - [`take_job_naive`] pops the job, awaits the work, then records it as done. Dropped during the
//!   work, it has already popped the job and will never record it: job 1 is lost, in neither list;
//! - [`take_job_guarded`] holds the popped job in a [`Claim`], a drop guard that puts the job
//!   back at the front of the queue unless [`Claim::commit`] ran: dropped at the same point, it
//!   leaves the queue as it was. Run without a timeout it completes job 1 normally.
//!
//! The std mutex is only ever held for one statement, never across an await.
//!
//! Run it with `cargo run -p ch02 -- cancel-safety [--unit-ms N]`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use common::demo::{Args, DemoResult};
use tokio::sync::oneshot;
use tokio::time::{Instant, timeout};

use crate::timeout_slow_task::slow_task;
use crate::units::shown;
use crate::units::{self, in_units};

/// The book's `slow_task` with a [`DropNotice`] in it, under a timeout of `limit`.
///
/// Returns the timeout's result and when the notice saw the future dropped.
pub async fn watched_slow_task(
    limit: Duration,
    unit: Duration,
) -> (Result<&'static str, tokio::time::error::Elapsed>, Instant) {
    let (notice, dropped) = DropNotice::new("slow_task");
    let watched = async move {
        let _notice = notice; // lives as long as the future does
        slow_task(unit).await
    };
    // Book: the sidebar calls `slow_task` safe to cancel because `tokio::time::sleep` is; true, and
    // the reason is that nothing outside the future changes before its only await.
    let result = timeout(limit, watched).await;
    // The notice has been dropped by now, with the future; if not, something kept the future alive.
    let at = dropped.await.unwrap_or_else(|_| Instant::now());
    (result, at)
}

/// Announces its own drop: put one inside a future to see the moment the future is dropped.
#[derive(Debug)]
pub struct DropNotice {
    what: &'static str,
    report: Option<oneshot::Sender<Instant>>,
}

impl DropNotice {
    /// A notice for `what`, and the channel on which it reports when (on tokio's clock) it dropped.
    pub fn new(what: &'static str) -> (DropNotice, oneshot::Receiver<Instant>) {
        let (report, dropped) = oneshot::channel();
        let notice = DropNotice {
            what,
            report: Some(report),
        };
        (notice, dropped)
    }
}

impl Drop for DropNotice {
    fn drop(&mut self) {
        println!("   DropNotice: {} was dropped", self.what);
        if let Some(report) = self.report.take() {
            let _ = report.send(Instant::now());
        }
    }
}

/// A queue of jobs and the list of jobs done, shared between workers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Jobs {
    /// Jobs waiting, taken from the front.
    pub queue: VecDeque<u32>,
    /// Jobs finished, in order.
    pub done: Vec<u32>,
}

/// The shared form: a std mutex, held for single statements only.
pub type SharedJobs = Arc<Mutex<Jobs>>;

impl Jobs {
    /// Jobs `1..=n` waiting, none done.
    pub fn shared(n: u32) -> SharedJobs {
        Arc::new(Mutex::new(Jobs {
            queue: (1..=n).collect(),
            done: Vec::new(),
        }))
    }
}

/// Locks the jobs. Every change under this lock is one push or pop, so a panic elsewhere cannot
/// leave the lists half-changed and a poisoned lock is safe to use.
fn lock(jobs: &Mutex<Jobs>) -> MutexGuard<'_, Jobs> {
    jobs.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Takes the next job, works on it for `work`, records it as done. Not cancel-safe.
pub async fn take_job_naive(jobs: &SharedJobs, work: Duration) -> Option<u32> {
    let job = lock(jobs).queue.pop_front()?;
    // Book: "most operations are cancel-safe by default" is too strong. Dropped at this await, the
    // job has left the queue and will never reach `done`. Tokio states cancel safety method by
    // method (`mpsc::Receiver::recv` is safe, `AsyncReadExt::read_exact` is not), and any future
    // that changes shared state before an await has to be checked like this one.
    tokio::time::sleep(work).await;
    lock(jobs).done.push(job);
    Some(job)
}

/// A job taken from the queue: goes back to the front of the queue on drop, unless committed.
#[derive(Debug)]
pub struct Claim {
    jobs: SharedJobs,
    job: Option<u32>,
}

impl Claim {
    /// Takes the next job, if any, under a claim.
    pub fn take(jobs: &SharedJobs) -> Option<Claim> {
        let job = lock(jobs).queue.pop_front()?;
        Some(Claim {
            jobs: Arc::clone(jobs),
            job: Some(job),
        })
    }

    /// The claimed job.
    pub fn job(&self) -> Option<u32> {
        self.job
    }

    /// Records the job as done; the drop that follows then has nothing to put back.
    pub fn commit(mut self) -> Option<u32> {
        let job = self.job.take()?;
        lock(&self.jobs).done.push(job);
        Some(job)
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(job) = self.job.take() {
            lock(&self.jobs).queue.push_front(job);
        }
    }
}

/// Like [`take_job_naive`], with the job held in a [`Claim`]: cancel-safe.
pub async fn take_job_guarded(jobs: &SharedJobs, work: Duration) -> Option<u32> {
    let claim = Claim::take(jobs)?;
    // Dropped here, the future drops `claim`, which puts the job back.
    tokio::time::sleep(work).await;
    claim.commit()
}

/// A copy of the shared jobs, for printing and asserting.
pub fn snapshot(jobs: &SharedJobs) -> Jobs {
    lock(jobs).clone()
}

/// Runs the demo: `cancel-safety [--unit-ms N]`.
pub fn run(mut args: Args) -> DemoResult {
    let unit = units::unit_arg(&mut args)?;
    args.finish()?;
    let runtime = units::current_thread()?;
    runtime.block_on(demo(unit));
    Ok(())
}

async fn demo(unit: Duration) {
    println!("1. the book's slow_task (10 units) under a 3-unit timeout, a DropNotice inside");
    let start = Instant::now();
    let (result, dropped) = watched_slow_task(3 * unit, unit).await;
    println!(
        "   → {}; dropped at {:.1} units: cancelling is dropping",
        shown(&result),
        in_units(dropped - start, unit)
    );

    let show = |jobs: &SharedJobs| {
        let Jobs { queue, done } = snapshot(jobs);
        format!("queue {:?}, done {done:?}", Vec::from(queue))
    };
    let work = 5 * unit;
    let limit = 2 * unit;

    println!("\n2. take_job_naive: job takes 5 units, timeout after 2");
    let jobs = Jobs::shared(3);
    let result = timeout(limit, take_job_naive(&jobs, work)).await;
    println!("   → {}; {}: job 1 is lost", shown(&result), show(&jobs));

    println!("\n3. take_job_guarded, same timeout");
    let jobs = Jobs::shared(3);
    let result = timeout(limit, take_job_guarded(&jobs, work)).await;
    println!(
        "   → {}; {}: the Claim put job 1 back",
        shown(&result),
        show(&jobs)
    );

    println!("\n4. take_job_guarded without a timeout");
    let result = take_job_guarded(&jobs, work).await;
    println!("   → {result:?}; {}", show(&jobs));
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: Duration = Duration::from_secs(1);
    /// Outer guard for every test: only reached if the code under test hangs.
    const WATCHDOG: Duration = Duration::from_secs(3600);

    fn jobs(queue: &[u32], done: &[u32]) -> Jobs {
        Jobs {
            queue: queue.iter().copied().collect(),
            done: done.to_vec(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_naive_job_is_lost_when_the_timeout_drops_it() {
        let shared = Jobs::shared(3);
        let result = timeout(2 * UNIT, take_job_naive(&shared, 5 * UNIT)).await;
        assert!(result.is_err());
        assert_eq!(snapshot(&shared), jobs(&[2, 3], &[]));
    }

    #[tokio::test(start_paused = true)]
    async fn the_guarded_job_goes_back_when_the_timeout_drops_it() {
        let shared = Jobs::shared(3);
        let result = timeout(2 * UNIT, take_job_guarded(&shared, 5 * UNIT)).await;
        assert!(result.is_err());
        assert_eq!(snapshot(&shared), jobs(&[1, 2, 3], &[]));
    }

    #[tokio::test(start_paused = true)]
    async fn the_guarded_job_completes_without_a_timeout() {
        let shared = Jobs::shared(3);
        let result = timeout(WATCHDOG, take_job_guarded(&shared, 5 * UNIT)).await;
        assert_eq!(result, Ok(Some(1)));
        assert_eq!(snapshot(&shared), jobs(&[2, 3], &[1]));
    }

    #[tokio::test(start_paused = true)]
    async fn the_drop_notice_fires_when_the_timeout_drops_slow_task() {
        let start = Instant::now();
        let (result, dropped) = timeout(WATCHDOG, watched_slow_task(3 * UNIT, UNIT))
            .await
            .expect("watchdog");
        assert!(result.is_err());
        let at = dropped - start;
        assert!(
            Duration::from_secs(3) <= at && at <= Duration::from_millis(3001),
            "dropped at {at:?}, not 3 s to the millisecond"
        );
    }

    #[test]
    fn a_claim_puts_its_job_back_at_the_front_unless_committed() {
        let shared = Jobs::shared(2);
        let claim = Claim::take(&shared).unwrap();
        assert_eq!(claim.job(), Some(1));
        assert_eq!(snapshot(&shared), jobs(&[2], &[]));
        drop(claim);
        assert_eq!(snapshot(&shared), jobs(&[1, 2], &[]));
        assert_eq!(Claim::take(&shared).and_then(Claim::commit), Some(1));
        assert_eq!(snapshot(&shared), jobs(&[2], &[1]));
    }
}
