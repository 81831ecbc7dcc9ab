//! `spawn-cost-compare` — what a process, a thread and a tokio task cost to start and finish
//! (an extra for "Introduction to Processes" and "What Are Threads?").
//!
//! The chapter says processes are heavier than threads, and that async tasks are lighter still.
//! This demo measures it on the reader's machine: the wall time to start N units of each kind
//! and wait for all of them, divided by N.
//!
//! - a **process**: this binary run with the `list` argument (it prints the demo ids and exits),
//!   with its output captured, as the parents of this chapter do. The OS creates an address space,
//!   loads and links the program, and tears it all down again.
//! - a **thread**: `thread::spawn` of a closure returning its index, then `join`. The OS creates a
//!   stack and a schedulable thread inside our process.
//! - a **tokio task**: `tokio::spawn` of an async block returning its index, then `.await`. Only an
//!   allocation and a queue push inside the runtime, which already has its threads.
//!
//! Run it with `cargo run -p ch01 -- spawn-cost-compare [--count N]` (default 50, at most 200).
//! The reader sees a table: total time, cost per unit and the ratio to a task, typically
//! milliseconds per process, tens of microseconds per thread and about a microsecond per task
//! (a debug build; release numbers are smaller for threads and tasks). One unit of each kind is
//! run first, untimed, so the numbers leave out one-off warm-up such as loading the binary from
//! disk. About half a second in all.
//!
//! The book has no code for this: it is our measurement of the prose's claim.

use std::io;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};
use common::timeline::format_duration;

/// How many of each kind the demo starts when the reader gives no `--count`.
pub const DEFAULT_COUNT: usize = 50;

/// The most the demo accepts: all processes are alive at once, each holding two pipes.
pub const MAX_COUNT: usize = 200;

/// One row of the comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct CostRow {
    /// What was started: `process`, `thread` or `tokio task`.
    pub kind: &'static str,
    /// How many were started.
    pub count: usize,
    /// How many finished as expected (a process exited 0 and printed the demo list, a thread or
    /// task returned its own index).
    pub completed: usize,
    /// Wall time from the first start to the last one finished.
    pub total: Duration,
}

impl CostRow {
    /// The total divided by the count: the cost of one unit.
    pub fn per_unit(&self) -> Duration {
        let count = u32::try_from(self.count.max(1)).unwrap_or(u32::MAX);
        self.total / count
    }
}

/// Waits for every child, so none is left as a zombie, and counts those that exited 0 with the
/// demo list on stdout.
fn wait_all(children: Vec<Child>) -> io::Result<usize> {
    let mut completed = 0;
    let mut first_error = None;
    for child in children {
        match child.wait_with_output() {
            Ok(output) => {
                let listed = String::from_utf8_lossy(&output.stdout).contains("spawn-cost-compare");
                if output.status.success() && listed {
                    completed += 1;
                }
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(completed),
    }
}

fn start_lister(program: &Path) -> io::Result<Child> {
    Command::new(program)
        .arg("list")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
}

/// Starts `count` processes of `program list`, then waits for all of them.
///
/// `program` is this chapter's binary: `current_exe()` in the demo, `env!("CARGO_BIN_EXE_ch01")`
/// in an integration test (inside a test, `current_exe()` is the test harness).
pub fn time_processes(program: &Path, count: usize) -> io::Result<CostRow> {
    let started = Instant::now();
    let mut children = Vec::with_capacity(count);
    for _ in 0..count {
        match start_lister(program) {
            Ok(child) => children.push(child),
            Err(e) => {
                // Reap the ones already running before reporting.
                let _ = wait_all(children);
                return Err(e);
            }
        }
    }
    let completed = wait_all(children)?;
    Ok(CostRow {
        kind: "process",
        count,
        completed,
        total: started.elapsed(),
    })
}

/// Starts `count` threads, each returning its index, then joins all of them.
pub fn time_threads(count: usize) -> io::Result<CostRow> {
    let started = Instant::now();
    let mut handles = Vec::with_capacity(count);
    for i in 0..count {
        // `thread::Builder::spawn` is what `thread::spawn` calls; it returns the OS's refusal
        // as an error instead of panicking.
        handles.push(thread::Builder::new().spawn(move || i)?);
    }
    let mut completed = 0;
    for (i, handle) in handles.into_iter().enumerate() {
        // `join` is `Err` only if the thread panicked.
        if handle.join().is_ok_and(|value| value == i) {
            completed += 1;
        }
    }
    Ok(CostRow {
        kind: "thread",
        count,
        completed,
        total: started.elapsed(),
    })
}

/// Spawns `count` tokio tasks, each returning its index, then awaits all of them. Call it on a
/// runtime that is already running: building the runtime is not part of a task's cost.
pub async fn time_tasks(count: usize) -> CostRow {
    let started = Instant::now();
    let mut handles = Vec::with_capacity(count);
    for i in 0..count {
        handles.push(tokio::spawn(async move { i }));
    }
    let mut completed = 0;
    for (i, handle) in handles.into_iter().enumerate() {
        if handle.await.is_ok_and(|value| value == i) {
            completed += 1;
        }
    }
    CostRow {
        kind: "tokio task",
        count,
        completed,
        total: started.elapsed(),
    }
}

/// `a / b` as a plain number, for the ratio columns.
pub fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

/// The table the demo prints: one line per row, with its per-unit cost and its ratio to `base`.
pub fn render_table(rows: &[CostRow], base: &CostRow) -> String {
    let mut out = format!(
        "{:<11} {:>5} {:>12} {:>12} {:>12}\n",
        "kind", "count", "total", "per unit", "× tokio task"
    );
    for row in rows {
        out += &format!(
            "{:<11} {:>5} {:>12} {:>12} {:>12.0}\n",
            row.kind,
            row.count,
            format_duration(row.total),
            format_duration(row.per_unit()),
            ratio(row.per_unit(), base.per_unit())
        );
    }
    out
}

/// Runs the demo: `spawn-cost-compare [--count N]`.
pub fn run(mut args: Args) -> DemoResult {
    let count = args.value_in("count", DEFAULT_COUNT, 1..=MAX_COUNT)?;
    args.finish()?;

    let program = std::env::current_exe()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!(
        "starting {count} of each kind, then waiting for all of them (after one untimed warm-up)"
    );
    println!(
        "a process is `{} list`, with its output captured\n",
        program.display()
    );

    // Warm-up: page the binary in, let the allocator and the runtime's workers settle.
    time_processes(&program, 1)?;
    time_threads(1)?;
    runtime.block_on(time_tasks(1));

    let processes = time_processes(&program, count)?;
    let threads = time_threads(count)?;
    let tasks = runtime.block_on(time_tasks(count));
    drop(runtime);

    let rows = [processes, threads, tasks];
    for row in &rows {
        if row.completed != row.count {
            return Err(format!(
                "only {} of {} {}s finished as expected",
                row.completed, row.count, row.kind
            )
            .into());
        }
    }
    let [processes, threads, tasks] = &rows;
    print!("{}", render_table(&rows, tasks));
    println!(
        "\na process costs {:.0}× a thread; a thread costs {:.0}× a tokio task",
        ratio(processes.per_unit(), threads.per_unit()),
        ratio(threads.per_unit(), tasks.per_unit())
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_and_tasks_return_their_indices() {
        let threads = time_threads(5).unwrap();
        assert_eq!(
            (threads.kind, threads.count, threads.completed),
            ("thread", 5, 5)
        );
        assert!(threads.total > Duration::ZERO);

        let tasks = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(time_tasks(5));
        assert_eq!(
            (tasks.kind, tasks.count, tasks.completed),
            ("tokio task", 5, 5)
        );
        assert!(tasks.total > Duration::ZERO);
    }

    #[test]
    fn per_unit_and_ratio_are_plain_arithmetic() {
        let row = CostRow {
            kind: "thread",
            count: 4,
            completed: 4,
            total: Duration::from_micros(200),
        };
        assert_eq!(row.per_unit(), Duration::from_micros(50));
        assert_eq!(
            ratio(Duration::from_millis(3), Duration::from_micros(30)).round(),
            100.0
        );
        let table = render_table(std::slice::from_ref(&row), &row);
        assert!(table.contains("50.00 µs"), "{table}");
        assert_eq!(table.lines().count(), 2);
    }
}
