//! `spawn-process` — a parent runs the child program (the book's `server_bin`, "Introduction to
//! Processes").
//!
//! A parent process starts a child, collects what the child wrote to stdout and stderr, and
//! branches on how the child ended: exit code 0 means success, anything else (or a signal) means
//! failure. The child is [`connection_process`](crate::connection_process), which fetches one post.
//!
//! Run it with `cargo run -p ch01 -- spawn-process [--url URL]`. Without `--url` it starts a
//! loopback server and runs two children, one after the other: one against `/posts/1`, which
//! succeeds (`Output: {…}`), and one against `/status/500`, which shows the error branch
//! (`Error: …`, exit code 1). For each child it prints the PID and how it ended. With `--url`
//! (how `scripts/ch01-run.sh` calls it) it runs exactly one child and fails if the child failed,
//! so a launcher's exit code tells the script whether its fetch worked.
//!
//! Differences from the book: the book runs `./connection_bin`, which only works from the
//! directory the binaries were copied into; we run this same binary (`std::env::current_exe()`)
//! with the `connection-process` argument. The book's `expect` on spawn becomes an error return,
//! and we use `spawn` + `wait_with_output` instead of `output` so the child's PID can be shown.

use std::io;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use common::demo::{Args, DemoResult};

use crate::child::{CHILD_DEMO, describe_exit};
use crate::loopback::{FAIL_PATH, Target};

/// How long our own server waits before answering `/posts/1` when the demo runs without `--url`.
pub const OWN_SERVER_DELAY: Duration = Duration::from_millis(100);

/// Everything the parent learns about one finished child.
#[derive(Debug, Clone)]
pub struct ChildReport {
    /// The child's process ID, as the OS assigned it.
    pub pid: u32,
    /// How it ended: an exit code, or (on Unix) a signal.
    pub status: ExitStatus,
    /// What it wrote to stdout (invalid UTF-8 replaced).
    pub stdout: String,
    /// What it wrote to stderr (invalid UTF-8 replaced).
    pub stderr: String,
}

impl ChildReport {
    /// Whether the child exited with code 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// The exit code, or `None` if the child was killed by a signal.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// Starts `command` with stdout and stderr captured (stdin closed), waits for it, and reports.
///
/// A program that cannot be started (missing, not executable) is an `io::Error`, not a panic.
pub fn run_child(command: &mut Command) -> io::Result<ChildReport> {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Book: `.output()` would do all of this in one call, but hides the PID.
    let pid = child.id();
    let output = child.wait_with_output()?;
    Ok(ChildReport {
        pid,
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// Runs `<program> connection-process --url <url>` and reports how it went.
///
/// `program` is this chapter's binary: `std::env::current_exe()` in the demo,
/// `env!("CARGO_BIN_EXE_ch01")` in an integration test.
pub fn spawn_connection(program: &Path, url: &str) -> io::Result<ChildReport> {
    // Book: `Command::new("./connection_bin")`, relative to wherever the reader stands.
    run_child(Command::new(program).args([CHILD_DEMO, "--url", url]))
}

/// Prints a report the way the book's parent does: `Output: …` on stdout for a success,
/// `Error: …` on stderr for a failure, plus the PID and how the child ended.
pub fn print_report(report: &ChildReport) {
    println!("child PID {} {}", report.pid, describe_exit(report.status));
    if report.success() {
        println!("Output: {}", report.stdout.trim_end());
    } else {
        eprintln!("Error: {}", report.stderr.trim_end());
    }
}

/// Runs the demo: `spawn-process [--url URL]`.
pub fn run(mut args: Args) -> DemoResult {
    let url = args.url()?;
    args.finish()?;

    let program = std::env::current_exe()?;
    let given_url = url.is_some();
    let target = Target::new(url, OWN_SERVER_DELAY)?;
    if !given_url {
        println!("{}", target.describe(OWN_SERVER_DELAY));
        println!(
            "parent PID {} runs: {} {CHILD_DEMO} --url {}",
            std::process::id(),
            program.display(),
            target.url
        );
    }

    let good = spawn_connection(&program, &target.url)?;
    print_report(&good);
    if !good.success() {
        // Book: the parent exits 0 whatever the child did. Ours fails too, so the four
        // launchers of `scripts/ch01-run.sh` report a failed fetch with a non-zero exit code.
        return Err(format!("the child {}", describe_exit(good.status)).into());
    }

    if let Some(server) = &target.server {
        let fail_url = server.url(FAIL_PATH);
        println!("\nthe error branch: a second child fetches {fail_url}");
        let bad = spawn_connection(&program, &fail_url)?;
        print_report(&bad);
        if bad.code() != Some(1) {
            return Err(format!(
                "expected the child to exit with code 1 on a 500, but it {}",
                describe_exit(bad.status)
            )
            .into());
        }
        println!(
            "\nthe server answered {} requests, one per child",
            server.request_count()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_signal_death_is_reported_as_such() {
        // A shell that kills itself: no exit code, only a signal.
        let report = run_child(Command::new("sh").args(["-c", "kill -KILL $$"])).unwrap();
        assert!(!report.success());
        assert_eq!(report.code(), None);
        assert_eq!(describe_exit(report.status), "was killed by signal 9");
    }

    #[cfg(unix)]
    #[test]
    fn exit_codes_are_described_and_output_is_captured() {
        let report =
            run_child(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"])).unwrap();
        assert_eq!(report.code(), Some(3));
        assert_eq!(describe_exit(report.status), "exited with code 3");
        assert_eq!(report.stdout, "out\n");
        assert_eq!(report.stderr, "err\n");
        assert_ne!(report.pid, std::process::id());
    }
}
