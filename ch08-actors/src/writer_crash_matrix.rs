//! `writer-crash-matrix` (Extra: crash-safe persistence): a durability claim is only as good as its
//! crash test, so stop the writer at every step of every write and look at what a restart finds.
//!
//! The writer of `state-recovery` replaces `data.json` in seven steps ([`PersistStep`]: serialize,
//! create the temporary file, half of it written, all written, fsynced, renamed, directory
//! fsynced). A [`CrashPlan`] makes the writer stop right after one step of one write, without
//! acknowledging it and leaving the files exactly as they are, as if the process had been killed
//! there. The matrix runs five writes × seven steps = 35 systems, each in a fresh directory, and
//! after each crash starts a new system on the directory and checks that
//! - every acknowledged key is back, with its value;
//! - `data.json` is absent (a crash before the first rename) or parses: never half a file;
//! - the interrupted write is visible exactly when the crash came at `renamed` or later (it was
//!   never acknowledged, so both outcomes are allowed, but the rename is what decides);
//! - the writes refused after the crash (the writer is gone) left no trace.
//!
//! A simulated crash is still a simulation, so the demo then does it for real: it runs this
//! binary as a child (`writer-crash-matrix --child DIR`) that writes keys and prints `ack <key>`
//! after each acknowledgement, kills it with SIGKILL after a few acks, and checks the file the
//! next start will load. `tests/writer_crash_matrix.rs` does the same seven times in a row on one
//! directory.
//!
//! What no test here can show is a power cut: the final directory fsync exists for that, and only
//! pulling the plug (or a tool such as dm-flakey) tests it.
//!
//! `cargo run -p ch08 -- writer-crash-matrix [--kills K]` prints the grid and the kill rounds and
//! exits non-zero if any cell fails. `--child DIR [--writes N] [--prefix P]` is the child's mode.

use std::collections::HashMap;
use std::error::Error;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::demo::{Args, DemoResult, UsageError};

use crate::heartbeat_supervisor::spawn_router;
use crate::key_value_actor::ActorError;
use crate::load_state_file::{key_count, read_data_from_file};
use crate::persist::{CrashPlan, DATA_FILE, PersistStep};
use crate::store::StoreConfig;

/// How many writes each run of the matrix makes.
pub const WRITES: usize = 5;

/// After how many acknowledgements each kill round kills the child (one round per number).
pub const KILL_AFTER: [usize; 7] = [1, 2, 5, 10, 25, 60, 150];

/// How many keys a child writes unless killed first.
pub const CHILD_WRITES: usize = 200;

/// One run of the matrix: [`WRITES`] sets on a system whose writer stops after `plan.step` of
/// write `plan.write`; then a restart on the same directory and a look at what it has.
pub async fn crash_and_recover(
    dir: &Path,
    plan: CrashPlan,
) -> Result<Cell, Box<dyn Error + Send + Sync>> {
    let system = spawn_router(StoreConfig::new(dir).with_crash_plan(plan)).await?;
    let mut cell = Cell::new(plan);
    for i in 1..=WRITES {
        let key = format!("key{i}");
        match system.router.set(key.clone(), value_for(&key)).await {
            Ok(()) => cell.acknowledged.push(key),
            // The writer stopped during this write: nobody can say whether it landed.
            Err(ActorError::NoReply) => cell.in_flight = Some(key),
            // The writer is gone: later writes are refused, and not applied.
            Err(ActorError::Persist(_)) => cell.refused.push(key),
            Err(e) => return Err(e.into()),
        }
    }
    system.shutdown().await?;

    // What the next start will load, looked at before that start tidies anything up.
    cell.file = match read_data_from_file(&dir.join(DATA_FILE)).await {
        Ok(map) => FileState::Whole { keys: map.len() },
        Err(e) if e.is_missing() => FileState::Absent,
        Err(e) => FileState::Broken(e.to_string()),
    };
    if let FileState::Broken(_) = cell.file {
        return Ok(cell);
    }

    let system = spawn_router(StoreConfig::new(dir)).await?;
    for key in &cell.acknowledged {
        if system.router.get(key.clone()).await? != Some(value_for(key)) {
            cell.lost.push(key.clone());
        }
    }
    if let Some(key) = &cell.in_flight {
        cell.in_flight_visible = system.router.get(key.clone()).await?.is_some();
    }
    for key in &cell.refused {
        if system.router.get(key.clone()).await?.is_some() {
            cell.refused_visible.push(key.clone());
        }
    }
    system.shutdown().await?;
    Ok(cell)
}

/// What one run of the matrix saw.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Where the writer was stopped.
    pub plan: CrashPlan,
    /// Keys whose `set` returned `Ok`.
    pub acknowledged: Vec<String>,
    /// The key whose write was interrupted (`NoReply`).
    pub in_flight: Option<String>,
    /// Keys refused after the crash (`Persist`).
    pub refused: Vec<String>,
    /// `data.json` as the restart found it.
    pub file: FileState,
    /// Acknowledged keys missing (or changed) after the restart: must be empty.
    pub lost: Vec<String>,
    /// Whether the interrupted write is visible after the restart.
    pub in_flight_visible: bool,
    /// Refused keys visible after the restart: must be empty.
    pub refused_visible: Vec<String>,
}

/// The state file after a crash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    /// Not there (no write had reached the rename yet).
    Absent,
    /// Parses, with this many keys.
    Whole {
        /// How many.
        keys: usize,
    },
    /// Does not parse: a broken promise.
    Broken(String),
}

impl Cell {
    fn new(plan: CrashPlan) -> Self {
        Cell {
            plan,
            acknowledged: Vec::new(),
            in_flight: None,
            refused: Vec::new(),
            file: FileState::Absent,
            lost: Vec::new(),
            in_flight_visible: false,
            refused_visible: Vec::new(),
        }
    }

    /// Everything that is wrong with this run; empty when it passed.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let landed = self.plan.step >= PersistStep::Renamed;
        if self.acknowledged.len() != self.plan.write - 1 || self.in_flight.is_none() {
            problems.push(format!(
                "expected {} acknowledged writes and then a crash, got {:?} acknowledged, in flight {:?}",
                self.plan.write - 1,
                self.acknowledged,
                self.in_flight
            ));
        }
        match &self.file {
            FileState::Broken(e) => problems.push(format!("data.json is broken: {e}")),
            FileState::Absent if self.plan.write > 1 || landed => {
                problems.push("data.json is missing".to_string())
            }
            _ => {}
        }
        if !self.lost.is_empty() {
            problems.push(format!("acknowledged keys lost: {:?}", self.lost));
        }
        if self.in_flight.is_some() && self.in_flight_visible != landed {
            problems.push(format!(
                "the interrupted write is {} after a crash at `{}`",
                if self.in_flight_visible {
                    "visible"
                } else {
                    "missing"
                },
                self.plan.step
            ));
        }
        if !self.refused_visible.is_empty() {
            problems.push(format!(
                "refused writes visible: {:?}",
                self.refused_visible
            ));
        }
        problems
    }
}

/// The value each key is written with, so a check can tell a right value from a wrong one.
pub fn value_for(key: &str) -> Vec<u8> {
    format!("value of {key}").into_bytes()
}

/// The child's side of a kill round: writes `writes` keys `prefix-0`, `prefix-1`, … into the
/// system on `dir`, printing `ack <key>` after each acknowledgement, then exits.
pub async fn child(dir: &Path, writes: usize, prefix: &str) -> DemoResult {
    let system = spawn_router(StoreConfig::new(dir)).await?;
    for i in 0..writes {
        let key = format!("{prefix}-{i}");
        system.router.set(key.clone(), value_for(&key)).await?;
        // Only now is the key promised. `println!` flushes at each newline.
        println!("ack {key}");
    }
    system.shutdown().await?;
    Ok(())
}

/// What one kill round saw.
#[derive(Debug, Clone)]
pub struct KillRound {
    /// Every key the child acknowledged before it died (read to the end of its output).
    pub acknowledged: Vec<String>,
    /// Whether the kill ended it (rather than the child finishing first).
    pub killed: bool,
    /// How many keys `data.json` holds afterwards.
    pub keys_on_disk: usize,
    /// Acknowledged keys not in `data.json` with their value: must be empty.
    pub lost: Vec<String>,
}

/// Runs `bin writer-crash-matrix --child dir` and kills it (SIGKILL) after `kill_after`
/// acknowledgements, then checks `data.json` as the next start will load it: it must parse and
/// hold every key the child acknowledged.
pub fn kill_mid_write(
    bin: &Path,
    dir: &Path,
    prefix: &str,
    kill_after: usize,
) -> Result<KillRound, Box<dyn Error + Send + Sync>> {
    let writes = CHILD_WRITES.to_string();
    let mut child = Command::new(bin)
        .arg("writer-crash-matrix")
        .arg("--child")
        .arg(dir)
        .args(["--writes", &writes, "--prefix", prefix])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", bin.display()))?;
    let stdout = child
        .stdout
        .take()
        .ok_or("the child's stdout is not piped")?;
    let (lines_tx, lines) = mpsc::channel();
    let reader = thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });

    let mut acknowledged = Vec::new();
    let take = |line: String, acknowledged: &mut Vec<String>| {
        if let Some(key) = line.strip_prefix("ack ") {
            acknowledged.push(key.to_string());
        }
    };
    while acknowledged.len() < kill_after {
        match lines.recv_timeout(Duration::from_secs(20)) {
            Ok(line) => take(line, &mut acknowledged),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the child stopped or went silent after {} acks",
                    acknowledged.len()
                )
                .into());
            }
        }
    }
    // `Child::kill` sends SIGKILL on Unix: no destructor, no flush, no goodbye.
    child.kill()?;
    let status = child.wait()?;
    // Whatever it printed before dying was acknowledged too: read its output to the end.
    let _ = reader.join();
    for line in lines.try_iter() {
        take(line, &mut acknowledged);
    }

    let bytes = std::fs::read(dir.join(DATA_FILE))?;
    let map: HashMap<String, Vec<u8>> = serde_json::from_slice(&bytes)
        .map_err(|e| format!("data.json does not parse after the kill: {e}"))?;
    let lost = acknowledged
        .iter()
        .filter(|key| map.get(*key) != Some(&value_for(key)))
        .cloned()
        .collect();
    Ok(KillRound {
        acknowledged,
        killed: !status.success(),
        keys_on_disk: map.len(),
        lost,
    })
}

/// Runs the demo (see the module docs for the arguments).
pub fn run(mut args: Args) -> DemoResult {
    let child_dir: Option<PathBuf> = args.value("child")?;
    let writes = args.value_or("writes", CHILD_WRITES)?;
    let prefix = args.value_or("prefix", String::from("key"))?;
    let kills = args.value_or("kills", 4usize)?;
    args.finish()?;
    if kills > KILL_AFTER.len() {
        return Err(UsageError(format!("`--kills` is at most {}", KILL_AFTER.len())).into());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if let Some(dir) = child_dir {
        return runtime.block_on(child(&dir, writes, &prefix));
    }

    let cells = runtime.block_on(matrix())?;
    print!("{}", grid(&cells));
    let failed: Vec<&Cell> = cells.iter().filter(|c| !c.problems().is_empty()).collect();
    for cell in &failed {
        println!(
            "✗ write {} after `{}`: {}",
            cell.plan.write,
            cell.plan.step,
            cell.problems().join("; ")
        );
    }
    println!(
        "{} of {} runs: every acknowledged key recovered, data.json absent or whole",
        cells.len() - failed.len(),
        cells.len()
    );

    if kills > 0 {
        println!("\nand for real: a child process killed with SIGKILL in the middle of its writes");
        let bin = std::env::current_exe()?;
        let dir = tempfile::tempdir()?;
        for (round, &kill_after) in KILL_AFTER.iter().take(kills).enumerate() {
            let result = kill_mid_write(&bin, dir.path(), &format!("round{round}"), kill_after)?;
            println!(
                "  killed after {kill_after:>3} ack{}: {} acknowledged, {} lost, data.json parses ({}){}",
                if kill_after == 1 { "" } else { "s" },
                result.acknowledged.len(),
                result.lost.len(),
                key_count(result.keys_on_disk),
                if result.killed {
                    ""
                } else {
                    " (the child had already finished)"
                }
            );
            if !result.lost.is_empty() {
                return Err(format!("acknowledged keys lost: {:?}", result.lost).into());
            }
        }
    }
    if !failed.is_empty() {
        return Err(format!("{} of {} crash points lost data", failed.len(), cells.len()).into());
    }
    Ok(())
}

/// Every cell of the matrix, each in a fresh temporary directory: steps in order, writes in order.
pub async fn matrix() -> Result<Vec<Cell>, Box<dyn Error + Send + Sync>> {
    let mut cells = Vec::new();
    for step in PersistStep::ALL {
        for write in 1..=WRITES {
            let dir = tempfile::tempdir()?;
            cells.push(crash_and_recover(dir.path(), CrashPlan { write, step }).await?);
        }
    }
    Ok(cells)
}

/// The grid: one row per step, one column per write, `✓` or `✗`.
pub fn grid(cells: &[Cell]) -> String {
    let mut out = format!("{:<24}", "crash after ↓  write →");
    for write in 1..=WRITES {
        out += &format!("{write:>3}");
    }
    out.push('\n');
    for step in PersistStep::ALL {
        out += &format!("{:<24}", step.name());
        for write in 1..=WRITES {
            let mark = match cells
                .iter()
                .find(|c| c.plan.step == step && c.plan.write == write)
            {
                Some(cell) if cell.problems().is_empty() => '✓',
                Some(_) => '✗',
                None => '·',
            };
            out += &format!("{mark:>3}");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_crash_point_keeps_every_acknowledged_key_and_a_whole_file() {
        let cells = tokio::time::timeout(Duration::from_secs(60), matrix())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(cells.len(), 35);
        for cell in &cells {
            assert_eq!(cell.problems(), Vec::<String>::new(), "{cell:?}");
            let landed = cell.plan.step >= PersistStep::Renamed;
            assert_eq!(cell.in_flight_visible, landed, "{cell:?}");
            assert_eq!(cell.acknowledged.len(), cell.plan.write - 1);
            assert_eq!(cell.refused.len(), WRITES - cell.plan.write);
            let expected_keys = cell.plan.write - 1 + usize::from(landed);
            match cell.file {
                FileState::Absent => assert_eq!(expected_keys, 0, "{cell:?}"),
                FileState::Whole { keys } => assert_eq!(keys, expected_keys, "{cell:?}"),
                FileState::Broken(_) => panic!("{cell:?}"),
            }
        }
        let text = grid(&cells);
        assert_eq!(text.matches('✓').count(), 35, "{text}");
    }

    #[test]
    fn a_cell_that_lost_a_key_is_marked_and_explained() {
        let plan = CrashPlan {
            write: 2,
            step: PersistStep::Synced,
        };
        let mut cell = Cell::new(plan);
        cell.acknowledged.push("key1".into());
        cell.in_flight = Some("key2".into());
        cell.file = FileState::Whole { keys: 1 };
        assert_eq!(cell.problems(), Vec::<String>::new());
        cell.lost.push("key1".into());
        cell.in_flight_visible = true;
        let problems = cell.problems();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(grid(&[cell]).contains('✗'));
    }

    #[test]
    fn too_many_kill_rounds_is_a_usage_error() {
        let err = run(Args::from_iter(["--kills", "8"])).unwrap_err();
        assert!(err.is::<UsageError>());
    }

    #[test]
    fn the_demo_runs_without_kill_rounds() {
        // In a unit test `current_exe()` is the test harness, not the chapter binary, so the kill
        // rounds run in tests/writer_crash_matrix.rs instead.
        run(Args::from_iter(["--kills", "0"])).unwrap();
    }
}
