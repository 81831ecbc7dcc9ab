//! `tokio-process-tasks` — tokio tasks supervising child processes ("Introduction to Processes").
//!
//! The shell script of `four-processes-script` can be replaced by async code: each of four
//! `tokio::spawn`ed tasks starts a child with `tokio::process::Command` and awaits its output.
//! While a child runs, its task is parked, not a thread: a couple of worker threads supervise all
//! four children, and the parent gathers the exit codes in task order.
//!
//! Run it with `cargo run -p ch01 -- tokio-process-tasks [--url URL] [--delay-ms D]`. It starts one
//! loopback server that answers after D ms (default 300); four tasks each run
//! `<this binary> connection-process --url <url>`. The reader sees one line per child as it
//! completes (in whatever order they finish), then `Process N (PID p) exited with code 0` in task
//! order, the total (about D, not 4 × D), the server's request count, and a timeline with one bar
//! per child: four overlapping bars, marked with the worker thread each task started on.
//!
//! Differences from the book: the book's listing is garbled across a page break (its `Err` arm
//! appears twice), and it imports std's `Command`, whose `output()` cannot be awaited; we use
//! tokio's. It runs `./connection_bin`; we run this binary (`current_exe()`). Its
//! `code().unwrap_or(-1)` turns a signal death into exit code -1; we say "killed by signal N".
//! Its `handle.await.unwrap()` panics if a task panicked; we turn that into an error entry.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use common::demo::{Args, DemoResult};
use common::timeline::{Timeline, current_thread_name, format_duration};

use crate::child::{CHILD_DEMO, describe_exit};
use crate::loopback::{Target, delay_arg};

/// The server delay when the reader gives none.
pub const DEFAULT_DELAY_MS: u64 = 300;

/// How many child processes the demo supervises, as in the book.
pub const CHILDREN: usize = 4;

/// One finished child, as its task saw it.
#[derive(Debug, Clone)]
pub struct ChildRun {
    /// The task number, 1-based: `child 1` is the first spawned task.
    pub task: usize,
    /// The child's PID (tokio gives `None` only once the child has been reaped).
    pub pid: Option<u32>,
    /// How the child ended.
    pub status: ExitStatus,
    /// What it printed on stdout.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
}

/// Starts one child and awaits its output, without blocking the worker thread.
async fn run_child(task: usize, program: &Path, url: &str) -> io::Result<ChildRun> {
    // Book: `Command` from `std::process`, whose `output()` blocks and cannot be awaited.
    let child = tokio::process::Command::new(program)
        .args([CHILD_DEMO, "--url", url])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // If the task is dropped (the runtime shuts down early), do not leave the child running.
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id();
    let output = child.wait_with_output().await?;
    Ok(ChildRun {
        task,
        pid,
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// Spawns `count` tasks, each running `<program> connection-process --url <url>`, and returns
/// their results in task order (entry `i` belongs to `child i+1`).
///
/// Each task calls `on_finish` as soon as its child has exited, so those calls come in
/// completion order. A child that ran is recorded in `timeline` as `child N`, from its task's
/// start to its exit, on the worker thread the task started on. A program that cannot be
/// started gives `Err` entries, never a panic.
pub async fn run_children(
    program: &Path,
    url: &str,
    count: usize,
    timeline: &Timeline,
    on_finish: fn(&ChildRun),
) -> Vec<io::Result<ChildRun>> {
    let mut handles = Vec::with_capacity(count);
    for task in 1..=count {
        let program: PathBuf = program.to_path_buf();
        let url = url.to_string();
        let timeline = timeline.clone();
        handles.push(tokio::spawn(async move {
            let thread = current_thread_name();
            let start = timeline.now();
            let result = run_child(task, &program, &url).await;
            let end = timeline.now();
            if let Ok(run) = &result {
                on_finish(run);
            }
            (thread, start, end, result)
        }));
    }

    let mut results = Vec::with_capacity(count);
    for (index, handle) in handles.into_iter().enumerate() {
        // Book: `handle.await.unwrap()`, which re-panics if the task panicked.
        match handle.await {
            Ok((thread, start, end, result)) => {
                // Recorded here, in task order, so the chart's rows read child 1, 2, 3, 4 even
                // though the tasks may start, and certainly finish, in another order.
                if result.is_ok() {
                    timeline.record(format!("child {}", index + 1), thread, start, end);
                }
                results.push(result);
            }
            Err(e) => results.push(Err(io::Error::other(format!(
                "task {} did not finish: {e}",
                index + 1
            )))),
        }
    }
    results
}

/// The first line of a child's output, shortened for a one-line report.
fn first_line(text: &str, max_chars: usize) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    if line.chars().count() > max_chars {
        let cut: String = line.chars().take(max_chars).collect();
        format!("{cut}…")
    } else {
        line.to_string()
    }
}

fn print_completion(run: &ChildRun) {
    let pid = run.pid.map_or_else(|| "?".to_string(), |p| p.to_string());
    if run.status.success() {
        println!(
            "  child {} (PID {pid}) completed with output: {}",
            run.task,
            first_line(&run.stdout, 48)
        );
    } else {
        println!(
            "  child {} (PID {pid}) {}: {}",
            run.task,
            describe_exit(run.status),
            first_line(&run.stderr, 60)
        );
    }
}

/// Runs the demo: `tokio-process-tasks [--url URL] [--delay-ms D]`.
pub fn run(mut args: Args) -> DemoResult {
    let url = args.url()?;
    let delay = delay_arg(&mut args, DEFAULT_DELAY_MS)?;
    args.finish()?;

    let program = std::env::current_exe()?;
    // The server runs on a thread of its own: start it (and later drop it) outside the runtime.
    let target = Target::new(url, delay)?;
    println!("{}", target.describe(delay));
    println!(
        "{CHILDREN} tasks, each awaiting: {} {CHILD_DEMO} --url {}\n",
        program.display(),
        target.url
    );

    // Named workers, so the chart can tell them apart (tokio calls them all
    // `tokio-runtime-worker` by default).
    let next_worker = Arc::new(AtomicUsize::new(1));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name_fn(move || format!("worker-{}", next_worker.fetch_add(1, Ordering::Relaxed)))
        .build()?;

    let timeline = Timeline::new();
    let started = Instant::now();
    let results = runtime.block_on(run_children(
        &program,
        &target.url,
        CHILDREN,
        &timeline,
        print_completion,
    ));
    let elapsed = started.elapsed();
    drop(runtime);

    println!();
    let mut failures = 0;
    for (i, result) in results.iter().enumerate() {
        match result {
            Ok(run) => {
                let pid = run.pid.map_or_else(|| "?".to_string(), |p| p.to_string());
                println!(
                    "Process {} (PID {pid}) {}",
                    i + 1,
                    describe_exit(run.status)
                );
                if !run.status.success() {
                    failures += 1;
                }
            }
            Err(e) => {
                println!("Process {} failed to run: {e}", i + 1);
                failures += 1;
            }
        }
    }

    println!("\n{}", timeline.render());
    println!(
        "{CHILDREN} children took {} in all",
        format_duration(elapsed)
    );
    if target.server.is_some() {
        println!(
            "each fetch waits {}: one after another they would need at least {}",
            format_duration(delay),
            format_duration(delay * CHILDREN as u32)
        );
    }
    if let Some(count) = target.request_count() {
        println!("the server answered {count} requests");
    }

    if failures > 0 {
        return Err(format!("{failures} of {CHILDREN} child processes failed").into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_line_cuts_long_output() {
        assert_eq!(first_line("short\nsecond", 10), "short");
        assert_eq!(first_line("abcdefghij", 4), "abcd…");
        assert_eq!(first_line("", 4), "");
    }
}
