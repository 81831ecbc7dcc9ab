//! `four-processes-script` — four processes in parallel, started by a shell script ("Introduction
//! to Processes").
//!
//! Processes give the same overlap as the joined requests of "What Is Async?": four launchers
//! run at once, each waiting on the network, so four fetches cost about one server delay. The
//! shell is the parent here: `cmd &` starts a process in the background, `$!` is its PID, and
//! `wait PID` blocks until it ends and yields its exit code.
//!
//! Run it with `cargo run -p ch01 -- four-processes-script [--url URL] [--delay-ms D]`. It starts
//! one loopback server that answers after D ms (default 300), then runs
//! `bash scripts/ch01-run.sh <this binary> <url>`. The script starts four
//! `spawn-process --url <url>` launchers in the background (each runs one `connection-process`
//! child), waits on each PID and prints `Task N (PID p) exited with code c`. The demo streams the
//! script's lines as they come, then prints the elapsed time (about D, where one after another
//! would need at least 4 × D) and the server's request count (4).
//!
//! `scripts/ch01-prepare.sh` is the book's `prepare.sh`: it builds a release binary and prints its
//! path, for running `scripts/ch01-run.sh` by hand.
//!
//! Differences from the book: the book's `prepare.sh` copies the binaries into the source tree
//! and its `run.sh` hard-codes `./server_bin` and always exits 0. Ours builds into `target/` only,
//! takes the binary and the URL as arguments, and exits 1 if any launcher failed.

use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};
use common::timeline::format_duration;

use crate::loopback::{Target, delay_arg};

/// The server delay when the reader gives none: long enough that process start-up does not hide
/// the overlap.
pub const DEFAULT_DELAY_MS: u64 = 300;

/// How many launchers `scripts/ch01-run.sh` starts.
pub const TASKS: usize = 4;

/// The workspace's `scripts/` directory, found from this crate's manifest at compile time.
pub fn scripts_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map_or_else(|| manifest.join(".."), Path::to_path_buf)
        .join("scripts")
}

/// `scripts/ch01-run.sh`, the book's `run.sh`.
pub fn run_script_path() -> PathBuf {
    scripts_dir().join("ch01-run.sh")
}

/// `scripts/ch01-prepare.sh`, the book's `prepare.sh`.
pub fn prepare_script_path() -> PathBuf {
    scripts_dir().join("ch01-prepare.sh")
}

/// One `Task N (PID p) exited with code c` line of the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskLine {
    /// The task number, 1 to 4.
    pub task: u32,
    /// The launcher's PID, as `$!` gave it.
    pub pid: u32,
    /// The exit code `wait` returned (128 + N for a launcher killed by signal N).
    pub code: i32,
}

/// Parses a `Task N (PID p) exited with code c` line; `None` for any other line.
pub fn parse_task_line(line: &str) -> Option<TaskLine> {
    let rest = line.trim().strip_prefix("Task ")?;
    let (task, rest) = rest.split_once(" (PID ")?;
    let (pid, code) = rest.split_once(") exited with code ")?;
    Some(TaskLine {
        task: task.parse().ok()?,
        pid: pid.parse().ok()?,
        code: code.parse().ok()?,
    })
}

/// What one run of the script produced.
#[derive(Debug, Clone)]
pub struct ScriptRun {
    /// How the script itself ended.
    pub status: ExitStatus,
    /// Its stdout, line by line: the launchers' output and the `Task N …` lines.
    pub lines: Vec<String>,
    /// Its stderr (the launchers' `Error: …` lines, the script's own errors).
    pub stderr: String,
    /// From starting the shell to its exit.
    pub elapsed: Duration,
}

impl ScriptRun {
    /// The `Task N (PID p) exited with code c` lines, in the order printed.
    pub fn tasks(&self) -> Vec<TaskLine> {
        self.lines
            .iter()
            .filter_map(|l| parse_task_line(l))
            .collect()
    }
}

/// Runs `<shell> <script> <program> <url>`, calling `on_line` with each stdout line as it
/// arrives, and returns everything once the script has exited.
///
/// A missing script or shell is an error that says which one is missing.
pub fn run_script(
    shell: &str,
    script: &Path,
    program: &Path,
    url: &str,
    mut on_line: impl FnMut(&str),
) -> io::Result<ScriptRun> {
    if !script.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "the script {} is missing: this demo runs from a checkout of the workspace",
                script.display()
            ),
        ));
    }
    let started = Instant::now();
    let mut child = Command::new(shell)
        .arg(script)
        .arg(program)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("could not start `{shell}` (is bash installed and on PATH?): {e}"),
            )
        })?;
    let (Some(stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(io::Error::other(
            "the script's output pipes were not set up",
        ));
    };

    // Drain stderr on a thread of its own, so neither pipe can fill up and stall the script.
    let stderr_reader = thread::spawn(move || {
        let mut bytes = Vec::new();
        stderr.read_to_end(&mut bytes).map(|_| bytes)
    });

    let mut lines = Vec::new();
    let mut reader = BufReader::new(stdout);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        if reader.read_until(b'\n', &mut buffer)? == 0 {
            break; // end of output: the script and every launcher have closed the pipe
        }
        let line = String::from_utf8_lossy(&buffer);
        let line = line.trim_end_matches(['\n', '\r']);
        on_line(line);
        lines.push(line.to_string());
    }
    let status = child.wait()?;
    let elapsed = started.elapsed();
    let stderr = stderr_reader
        .join()
        .map_err(|_| io::Error::other("the stderr reader panicked"))??;

    Ok(ScriptRun {
        status,
        lines,
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        elapsed,
    })
}

/// Runs the demo: `four-processes-script [--url URL] [--delay-ms D]`.
pub fn run(mut args: Args) -> DemoResult {
    let url = args.url()?;
    let delay = delay_arg(&mut args, DEFAULT_DELAY_MS)?;
    args.finish()?;

    let script = run_script_path();
    let program = std::env::current_exe()?;
    let target = Target::new(url, delay)?;
    println!("{}", target.describe(delay));
    println!(
        "running: bash {} {} {}\n",
        script.display(),
        program.display(),
        target.url
    );

    let run = run_script("bash", &script, &program, &target.url, |line| {
        println!("  {line}");
    })?;
    let stderr = run.stderr.trim_end();
    if !stderr.is_empty() {
        eprintln!("{stderr}");
    }

    println!(
        "\nthe script took {} for {TASKS} launchers",
        format_duration(run.elapsed)
    );
    if target.server.is_some() {
        println!(
            "each fetch waits {}: one after another they would need at least {}",
            format_duration(delay),
            format_duration(delay * TASKS as u32)
        );
    }
    if let Some(count) = target.request_count() {
        println!("the server answered {count} requests");
    }

    let tasks = run.tasks();
    if !run.status.success() {
        return Err(format!("the script failed ({})", run.status).into());
    }
    if tasks.len() != TASKS {
        return Err(format!(
            "expected {TASKS} task lines, the script printed {}",
            tasks.len()
        )
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_lines_parse_and_other_lines_do_not() {
        assert_eq!(
            parse_task_line("Task 3 (PID 4242) exited with code 1"),
            Some(TaskLine {
                task: 3,
                pid: 4242,
                code: 1
            })
        );
        assert_eq!(parse_task_line("child PID 7 exited with code 0"), None);
        assert_eq!(parse_task_line("Output: {\"id\": 1}"), None);
        assert_eq!(parse_task_line("Task x (PID 1) exited with code 0"), None);
    }

    #[test]
    fn the_scripts_are_found_in_the_workspace() {
        assert!(
            run_script_path().is_file(),
            "{}",
            run_script_path().display()
        );
        assert!(prepare_script_path().is_file());
    }

    #[test]
    fn a_missing_script_or_shell_is_a_clear_error() {
        let program = Path::new("/bin/true");
        let err = run_script(
            "bash",
            Path::new("/nonexistent/run.sh"),
            program,
            "http://x/",
            |_| {},
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("/nonexistent/run.sh"), "{err}");

        let err = run_script(
            "/nonexistent/bash",
            &run_script_path(),
            program,
            "http://x/",
            |_| {},
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("/nonexistent/bash"), "{err}");
    }

    #[test]
    fn the_script_rejects_bad_arguments_with_exit_2() {
        let mut seen = Vec::new();
        let run = run_script(
            "bash",
            &run_script_path(),
            Path::new("/nonexistent/ch01"),
            "http://127.0.0.1:9/",
            |line| seen.push(line.to_string()),
        )
        .unwrap();
        assert_eq!(run.status.code(), Some(2));
        assert!(
            run.stderr.contains("not an executable file"),
            "{}",
            run.stderr
        );
        assert!(seen.is_empty() && run.tasks().is_empty());
    }
}
