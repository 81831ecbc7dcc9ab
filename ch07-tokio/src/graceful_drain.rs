//! `graceful-drain` (Extra: graceful drain): a real graceful shutdown. Stop accepting work, let the
//! work already accepted finish, collect the state from every pool thread, persist it atomically,
//! exit at once; the next start resumes from the saved state.
//!
//! This builds on the section's opening (store the state before exit, write it to a file for the
//! next start) and on `collect-state-ctrl-c`, whose snapshot is taken while work still runs.
//! Here the snapshot is a consistent cut: nothing runs any more when the extractors read.
//!
//! [`CounterService`] takes numbers through a bounded `mpsc` intake. A dispatcher task spawns each
//! accepted number as a job on a `LocalPoolHandle` (the book's `something` twice, counting in the
//! pool thread's thread-local) and tracks it in a `tokio_util::task::TaskTracker`. On shutdown:
//! 1. `Receiver::close()`: every later `submit` fails with [`Refused`]. There is no check-then-act
//!    race: the channel itself decides, and a submit either landed in the buffer before the close
//!    (then it is accepted work) or gets `Refused`;
//! 2. what is still buffered is drained and spawned: it was accepted;
//! 3. `tracker.close()` and `tracker.wait()`: every in-flight job finishes;
//! 4. one extractor per pool thread collects the counts ([`get_complete_count`]);
//! 5. the counts (plus those resumed at start) go to `counter-state.txt` in the state directory:
//!    written to a temp file in that directory, synced, then renamed over the old file, so a
//!    crash leaves either the old state or the new, never half a file.
//!
//! Nothing in the path waits on a timer: shutdown takes as long as the slowest in-flight job.
//! A 30 s timeout around it is only a guard against a bug.
//!
//! The default mode is the parent: it starts the child with a temp state directory, sends SIGTERM
//! after 200 ms, checks that the child exited 0 well within 3 s, starts it again (it resumes from
//! the file), and finally corrupts the file (the child then exits 1 with a clear message). `--wait
//! [--state-dir DIR]` is the service alone: stop it with Ctrl-C or `kill <pid>`, run it again to
//! see it resume.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::Timeline;
use common::demo::{Args, DemoResult};
use common::timeline::current_thread_name;
use nix::sys::signal::Signal;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::{LocalPoolHandle, TaskTracker};

use crate::child::{self, LIMIT, SelfChild};
use crate::collect_state_ctrl_c::{format_counts, get_complete_count};
use crate::unsafe_thread_counter::something;

/// The state file's name inside the state directory.
pub const STATE_FILE: &str = "counter-state.txt";
/// The guard around a whole drain: reaching it means a bug, not a slow job.
pub const GUARD: Duration = Duration::from_secs(30);

/// Counts per number, as saved.
pub type Counts = BTreeMap<u32, u64>;

/// A submit that came after the intake closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused;

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("refused: the service is shutting down")
    }
}

impl std::error::Error for Refused {}

/// How a [`CounterService`] runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where `counter-state.txt` lives (the caller chooses: a temp dir in tests and demo).
    pub state_dir: PathBuf,
    /// How many numbers may wait in the intake before `submit` waits for room.
    pub intake: usize,
    /// The unit of `something`'s sleep (`number` units, twice per job).
    pub unit: Duration,
    /// If set, every job first takes a permit from it: tests hold jobs in flight this way.
    pub gate: Option<Arc<Semaphore>>,
    /// Where the jobs (one row per pool thread), the drain and the extractors are drawn.
    pub timeline: Timeline,
}

impl Config {
    /// Defaults: an intake of 16, a 10 ms unit, no gate, a fresh timeline.
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        Config {
            state_dir: state_dir.into(),
            intake: 16,
            unit: Duration::from_millis(10),
            gate: None,
            timeline: Timeline::new(),
        }
    }
}

/// What a shutdown did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Submits that were accepted (all of them were then run).
    pub accepted: u64,
    /// Submits refused up to the end of the drain.
    pub refused: u64,
    /// Jobs that finished.
    pub completed: u64,
    /// Jobs that failed (panicked); 0 unless there is a bug.
    pub failed: u64,
    /// Jobs still running when the intake closed: the ones the drain waited for.
    pub in_flight_at_close: usize,
    /// What this run counted.
    pub counts: Counts,
    /// What the file now holds: the resumed counts plus this run's.
    pub saved: Counts,
    /// The file.
    pub state_file: PathBuf,
}

/// The cloneable sending side of the intake.
#[derive(Debug, Clone)]
pub struct Submitter {
    intake: mpsc::Sender<u32>,
    refused: Arc<AtomicU64>,
}

impl Submitter {
    /// Hands `number` to the service: `Ok` once it is in the intake (it will be counted, even if
    /// a shutdown begins right after), `Err(Refused)` once the intake is closed. Waits while the
    /// intake is full.
    pub async fn submit(&self, number: u32) -> Result<(), Refused> {
        match self.intake.send(number).await {
            Ok(()) => Ok(()),
            Err(_) => {
                self.refused.fetch_add(1, Ordering::SeqCst);
                Err(Refused)
            }
        }
    }

    /// Completes once the intake has closed (the shutdown has begun).
    pub async fn closed(&self) {
        self.intake.closed().await;
    }
}

/// The counting service: an intake, a dispatcher, a pool, and a drain on shutdown.
#[derive(Debug)]
pub struct CounterService {
    submitter: Submitter,
    stop: CancellationToken,
    dispatcher: JoinHandle<io::Result<Summary>>,
    resumed: Option<Counts>,
}

impl CounterService {
    /// Loads the saved state (if any) and starts the dispatcher on the current runtime; the jobs
    /// run on `pool`, which the service owns from now on and drops after the drain.
    ///
    /// A state file that cannot be read is an error (`InvalidData`, naming the file and line),
    /// not a fresh start that would overwrite it.
    pub fn start(pool: LocalPoolHandle, config: Config) -> io::Result<Self> {
        let resumed = load_state(&config.state_dir)?;
        let (intake, receiver) = mpsc::channel(config.intake.max(1));
        let refused = Arc::new(AtomicU64::new(0));
        let stop = CancellationToken::new();
        let dispatcher = tokio::spawn(dispatch(
            receiver,
            stop.clone(),
            pool,
            config,
            refused.clone(),
            resumed.clone().unwrap_or_default(),
        ));
        Ok(CounterService {
            submitter: Submitter { intake, refused },
            stop,
            dispatcher,
            resumed,
        })
    }

    /// The counts loaded at start, if there was a state file.
    pub fn resumed(&self) -> Option<&Counts> {
        self.resumed.as_ref()
    }

    /// A handle for submitting, e.g. from a producer task.
    pub fn submitter(&self) -> Submitter {
        self.submitter.clone()
    }

    /// See [`Submitter::submit`].
    pub async fn submit(&self, number: u32) -> Result<(), Refused> {
        self.submitter.submit(number).await
    }

    /// Refuses new work, drains accepted work, collects and saves the counts, drops the pool.
    pub async fn shutdown(self) -> io::Result<Summary> {
        self.stop.cancel();
        self.dispatcher.await?
    }
}

/// The dispatcher: spawns accepted numbers until told to stop, then drains.
async fn dispatch(
    mut intake: mpsc::Receiver<u32>,
    stop: CancellationToken,
    pool: LocalPoolHandle,
    config: Config,
    refused: Arc<AtomicU64>,
    resumed: Counts,
) -> io::Result<Summary> {
    let tracker = TaskTracker::new();
    let completed = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let timeline = config.timeline.clone();
    let open = timeline.span("intake open");
    let mut accepted = 0;
    let mut start_job = |number: u32| {
        accepted += 1;
        let (unit, gate, timeline) = (config.unit, config.gate.clone(), timeline.clone());
        let job = pool.spawn_pinned(move || async move {
            let _permit = match &gate {
                Some(gate) => gate.acquire().await.ok(),
                None => None,
            };
            let _span = timeline.span(format!("jobs on {}", current_thread_name()));
            something(number, unit).await;
            something(number, unit).await;
        });
        let (completed, failed) = (completed.clone(), failed.clone());
        tracker.spawn(async move {
            let counter = if job.await.is_ok() { completed } else { failed };
            counter.fetch_add(1, Ordering::SeqCst);
        });
    };

    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            next = intake.recv() => match next {
                Some(number) => start_job(number),
                None => break, // every sender is gone: drain as well
            },
        }
    }
    // 1. Refuse: from this call on, every `send` fails; none can slip in between.
    intake.close();
    drop(open);
    let drain = timeline.span("drain");
    // 2. Numbers already in the buffer were accepted before the close: they run too.
    while let Some(number) = intake.recv().await {
        start_job(number);
    }
    // 3. Wait for every job, however many there are, and no longer.
    let in_flight_at_close = tracker.len();
    tracker.close();
    tracker.wait().await;
    drop(drain);
    // 4. Collect: nothing runs any more, so this is a consistent cut.
    let counts: Counts = get_complete_count(&pool, &timeline)
        .await?
        .into_iter()
        .map(|(k, v)| (k, u64::from(v)))
        .collect();
    drop(pool);
    // 5. Persist, atomically.
    let mut saved = resumed;
    for (k, v) in &counts {
        *saved.entry(*k).or_default() += v;
    }
    let state_file = save_state(&config.state_dir, &saved)?;
    Ok(Summary {
        accepted,
        refused: refused.load(Ordering::SeqCst),
        completed: completed.load(Ordering::SeqCst),
        failed: failed.load(Ordering::SeqCst),
        in_flight_at_close,
        counts,
        saved,
        state_file,
    })
}

/// Writes `counts` to `dir/counter-state.txt`: a temp file in `dir`, synced, renamed over the
/// old one (a rename within one directory is atomic).
pub fn save_state(dir: &Path, counts: &Counts) -> io::Result<PathBuf> {
    let path = dir.join(STATE_FILE);
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    writeln!(temp, "# counts per number, written by ch07 graceful-drain")?;
    for (number, count) in counts {
        writeln!(temp, "{number} {count}")?;
    }
    temp.as_file().sync_all()?;
    temp.persist(&path).map_err(|e| e.error)?;
    Ok(path)
}

/// Reads `dir/counter-state.txt`: `None` if there is none, `InvalidData` if it is corrupt.
pub fn load_state(dir: &Path) -> io::Result<Option<Counts>> {
    let path = dir.join(STATE_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    };
    let mut counts = Counts::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let corrupt = |why: &str| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "corrupt state file {}, line {}: {why}: `{line}` (fix or delete the file)",
                    path.display(),
                    n + 1
                ),
            )
        };
        let parsed = line
            .split_once(' ')
            .and_then(|(k, v)| Some((k.parse::<u32>().ok()?, v.trim().parse::<u64>().ok()?)));
        let (number, count) = parsed.ok_or_else(|| corrupt("expected `<number> <count>`"))?;
        if counts.insert(number, count).is_some() {
            return Err(corrupt("the number appears twice"));
        }
    }
    Ok(Some(counts))
}

/// The child: the service, a producer, and the signal listener.
#[tokio::main]
async fn serve(state_dir: PathBuf, unit: Duration) -> DemoResult {
    // Both streams exist before the PID is printed: no window with a default action.
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    fs::create_dir_all(&state_dir)?;
    let mut config = Config::new(&state_dir);
    config.unit = unit;
    let timeline = config.timeline.clone();
    let service = CounterService::start(LocalPoolHandle::new(4), config)?;
    match service.resumed() {
        Some(counts) => println!(
            "resuming from {}: {}",
            state_dir.join(STATE_FILE).display(),
            format_counts(counts.clone())
        ),
        None => println!(
            "no saved state in {}: starting from zero",
            state_dir.display()
        ),
    }
    let pid = std::process::id();
    println!("serving (pid {pid}): stop with Ctrl-C or `kill {pid}`");
    let producer = tokio::spawn(produce(service.submitter()));

    let which = tokio::select! {
        _ = interrupt.recv() => "SIGINT",
        _ = terminate.recv() => "SIGTERM",
    };
    let asked = Instant::now();
    println!("shutdown requested ({which}): refusing new work");
    let summary = tokio::time::timeout(GUARD, service.shutdown())
        .await
        .map_err(|_| format!("the drain took longer than the {GUARD:?} guard"))??;
    let submitted = producer.await?;
    println!(
        "waited for {} in-flight jobs; the producer's submit #{} was refused",
        summary.in_flight_at_close,
        submitted + 1
    );
    println!(
        "accepted {}, completed {}, refused {}, failed {}",
        summary.accepted, summary.completed, summary.refused, summary.failed
    );
    println!(
        "counted this run: {}",
        format_counts(summary.counts.clone())
    );
    println!(
        "state saved to {}: {}",
        summary.state_file.display(),
        format_counts(summary.saved.clone())
    );
    println!("drained in {} ms, exiting", asked.elapsed().as_millis());
    println!("jobs per pool thread, the intake, the drain, one extractor per pool thread:");
    println!("{}", timeline.render());
    if summary.completed != summary.accepted {
        return Err("some accepted jobs did not complete".into());
    }
    Ok(())
}

/// Submits 1, 2, 3, 4, 5, 1, … one per millisecond until refused; returns how many were accepted.
async fn produce(submitter: Submitter) -> u64 {
    let mut accepted = 0;
    for number in [1, 2, 3, 4, 5].into_iter().cycle() {
        if submitter.submit(number).await.is_err() {
            println!("refused submit #{}: the intake is closed", accepted + 1);
            break;
        }
        accepted += 1;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    accepted
}

/// Runs the demo: the parent by default, the service with `--wait`.
pub fn run(mut args: Args) -> DemoResult {
    let wait = args.flag("wait")?;
    let is_child = args.flag("child")?;
    let state_dir = args.raw("state-dir")?.map(PathBuf::from);
    let unit_ms: u64 = args.value_in("unit-ms", 10, 0..=1000)?;
    let term_after_ms: u64 = args.value_in("term-after-ms", 200, 0..=10_000)?;
    args.finish()?;
    if is_child {
        child::exit_when_parent_goes();
    }
    if wait || is_child {
        let dir = state_dir.unwrap_or_else(|| std::env::temp_dir().join("ch07-graceful-drain"));
        return serve(dir, Duration::from_millis(unit_ms));
    }
    parent(state_dir, unit_ms, Duration::from_millis(term_after_ms))
}

/// How long the child may take to exit after SIGTERM (the guard inside it is 30 s).
pub const EXIT_LIMIT: Duration = Duration::from_secs(3);

fn parent(state_dir: Option<PathBuf>, unit_ms: u64, term_after: Duration) -> DemoResult {
    let temp = tempfile::tempdir()?;
    let dir = state_dir.unwrap_or_else(|| temp.path().to_path_buf());
    let dir_text = dir.display().to_string();
    let unit = unit_ms.to_string();
    let args = [
        "graceful-drain",
        "--wait",
        "--state-dir",
        &dir_text,
        "--unit-ms",
        &unit,
    ];
    println!("=== run 1: SIGTERM after {} ms", term_after.as_millis());
    let first = run_and_terminate(&args, term_after)?;
    println!("\n=== run 2: the same state directory; the child resumes");
    let second = run_and_terminate(&args, term_after)?;
    if let Some((k, v)) = first.iter().find(|(k, v)| second.get(k) < Some(v)) {
        return Err(format!("run 2 saved less for {k} than run 1 ({v})").into());
    }
    println!("\n=== run 3: a corrupt state file (in a fresh temp directory)");
    // Never in the reader's `--state-dir`: that file is theirs to keep.
    let scratch = tempfile::tempdir()?;
    fs::write(
        scratch.path().join(STATE_FILE),
        "1 4000\nthis is not a count\n",
    )?;
    let scratch_text = scratch.path().display().to_string();
    let corrupt_args = [
        "graceful-drain",
        "--wait",
        "--state-dir",
        &scratch_text,
        "--unit-ms",
        &unit,
    ];
    let mut child = SelfChild::start(&corrupt_args)?;
    let status = child.wait(LIMIT)?;
    let explained = child
        .lines()
        .iter()
        .any(|l| l.stderr && l.text.contains("corrupt state file"));
    println!("parent: the child {}", child::describe_exit(status));
    if status.code() != Some(1) || !explained {
        return Err(format!(
            "a corrupt file should give exit code 1 and a message; the child {}",
            child::describe_exit(status)
        )
        .into());
    }
    println!(
        "\nparent: both runs drained and exited 0 within {} s of SIGTERM; run 2 resumed from \
         run 1's file; the corrupt file gave exit code 1 and a message, no panic",
        EXIT_LIMIT.as_secs()
    );
    Ok(())
}

/// One run of the service: start, wait, SIGTERM, check the exit and the saved file.
fn run_and_terminate(args: &[&str], term_after: Duration) -> Result<Counts, child::ChildError> {
    let mut child = SelfChild::start(args)?;
    child.wait_for_line("serving", LIMIT)?;
    std::thread::sleep(term_after);
    child.send(Signal::SIGTERM)?;
    let sent = Instant::now();
    let status = child.wait(EXIT_LIMIT)?;
    let took = sent.elapsed();
    if !status.success() {
        return Err(format!("the child {}", child::describe_exit(status)).into());
    }
    let lines = child.stdout_lines();
    let find = |prefix: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::to_string)
            .ok_or_else(|| format!("the child printed no `{prefix}` line"))
    };
    let tally = find("accepted ")?;
    let numbers: Vec<u64> = tally
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|t| t.parse().ok())
        .collect();
    if numbers.len() < 2 || numbers[0] != numbers[1] {
        return Err(format!("accepted and completed differ: `accepted {tally}`").into());
    }
    let saved_line = find("state saved to ")?;
    let dir = args
        .iter()
        .position(|a| *a == "--state-dir")
        .and_then(|i| args.get(i + 1))
        .ok_or("no --state-dir")?;
    let on_disk = load_state(Path::new(dir))?.ok_or("no state file after the drain")?;
    if !saved_line.ends_with(&format_counts(on_disk.clone())) {
        return Err(format!("the file holds {on_disk:?}, the child said `{saved_line}`").into());
    }
    println!(
        "parent: exit code 0, {} ms after SIGTERM; accepted == completed; the file matches",
        took.as_millis()
    );
    Ok(on_disk)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total(counts: &Counts) -> u64 {
        counts.values().sum()
    }

    // Real time, multi-thread: the jobs run on pool threads, and a paused clock would jump
    // straight to the 30 s guard while this runtime has nothing to do.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_drain_refuses_new_work_finishes_accepted_work_and_saves_it() {
        let dir = tempfile::tempdir().unwrap();
        let gate = Arc::new(Semaphore::new(0));
        let mut config = Config::new(dir.path());
        config.unit = Duration::from_millis(1);
        config.gate = Some(gate.clone());
        let service = CounterService::start(LocalPoolHandle::new(4), config).unwrap();
        assert!(service.resumed().is_none());
        let submitter = service.submitter();
        for i in 0..20u32 {
            assert_eq!(submitter.submit(i % 5 + 1).await, Ok(()));
        }

        let drain = tokio::spawn(service.shutdown());
        tokio::time::timeout(Duration::from_secs(5), submitter.closed())
            .await
            .expect("the intake did not close within 5 s");
        // The drain has begun and every job is still held at the gate: new work is refused.
        assert_eq!(submitter.submit(1).await, Err(Refused));
        assert!(
            !drain.is_finished(),
            "the drain did not wait for the gated jobs"
        );
        gate.add_permits(1_000);
        let summary = tokio::time::timeout(Duration::from_secs(5), drain)
            .await
            .expect("the drain did not finish within 5 s")
            .unwrap()
            .unwrap();

        assert_eq!(summary.accepted, 20);
        assert_eq!(summary.completed, 20);
        assert_eq!(summary.failed, 0);
        assert_eq!(summary.refused, 1);
        assert_eq!(summary.in_flight_at_close, 20);
        assert_eq!(total(&summary.counts), 2 * summary.accepted);
        assert_eq!(summary.counts, (1..=5).map(|k| (k, 8)).collect());
        assert_eq!(summary.saved, summary.counts);
        assert_eq!(load_state(dir.path()).unwrap(), Some(summary.counts));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_restart_resumes_from_the_saved_state() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new(dir.path());
        config.unit = Duration::ZERO;
        let mut saved_before = Counts::new();
        for round in 1..=2u64 {
            let service = CounterService::start(LocalPoolHandle::new(4), config.clone()).unwrap();
            if round == 2 {
                assert_eq!(service.resumed(), Some(&saved_before));
            }
            for _ in 0..10 {
                service.submit(3).await.unwrap();
            }
            let summary = service.shutdown().await.unwrap();
            assert_eq!(summary.counts, Counts::from([(3, 20)]));
            assert_eq!(summary.saved, Counts::from([(3, 20 * round)]));
            saved_before = summary.saved;
        }
        assert_eq!(
            load_state(dir.path()).unwrap(),
            Some(Counts::from([(3, 40)]))
        );
        // No temp files are left behind: the rename consumed each one.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [STATE_FILE]);
    }

    #[tokio::test]
    async fn a_corrupt_state_file_is_a_clear_error_and_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_FILE);
        fs::write(&path, "# ok\n1 5\n2 five\n").unwrap();
        let err =
            CounterService::start(LocalPoolHandle::new(1), Config::new(dir.path())).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let message = err.to_string();
        assert!(
            message.contains("corrupt state file") && message.contains("line 3"),
            "{message}"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "# ok\n1 5\n2 five\n");
        fs::write(&path, "1 5\n1 6\n").unwrap();
        let err = load_state(dir.path()).unwrap_err();
        assert!(err.to_string().contains("appears twice"), "{err}");
    }

    /// A tiny deterministic generator (xorshift64*), so every run of the stress test is the same.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
        }
    }

    /// Extras 3: fifty shutdowns at seeded random points, each checked in full.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn drain_stress_fifty_seeded_shutdowns() {
        const SUBMITS: u64 = 200;
        let mut rng = Rng(0x5EED_0007);
        for round in 0..50 {
            let k = rng.below(SUBMITS + 1);
            let dir = tempfile::tempdir().unwrap();
            let mut config = Config::new(dir.path());
            config.unit = Duration::from_micros(rng.below(200));
            config.intake = 1 + rng.below(8) as usize;
            let service = CounterService::start(LocalPoolHandle::new(4), config).unwrap();
            let submitter = service.submitter();
            let mut service = Some(service);
            let mut drain = None;
            let mut results = Vec::new();
            for i in 0..SUBMITS {
                if i == k {
                    drain = service.take().map(|s| tokio::spawn(s.shutdown()));
                }
                results.push(submitter.submit((i % 5 + 1) as u32).await);
            }
            let drain = drain.or_else(|| service.take().map(|s| tokio::spawn(s.shutdown())));
            let summary = tokio::time::timeout(Duration::from_secs(10), drain.unwrap())
                .await
                .unwrap_or_else(|_| panic!("round {round}: the drain hung"))
                .unwrap()
                .unwrap();

            let accepted = results.iter().filter(|r| r.is_ok()).count() as u64;
            let first_refusal = results
                .iter()
                .position(|r| r.is_err())
                .unwrap_or(results.len());
            assert!(
                first_refusal as u64 >= k,
                "round {round}: refused #{first_refusal} before the shutdown at {k}"
            );
            assert!(
                results[first_refusal..].iter().all(|r| r.is_err()),
                "round {round}: accepted after a refusal"
            );
            assert_eq!(summary.accepted, accepted, "round {round}");
            assert_eq!(summary.completed, accepted, "round {round}");
            assert!(summary.refused <= SUBMITS - accepted, "round {round}");
            assert_eq!(total(&summary.counts), 2 * accepted, "round {round}");
            assert_eq!(
                load_state(dir.path()).unwrap(),
                Some(summary.counts),
                "round {round}"
            );
        }
    }
}
