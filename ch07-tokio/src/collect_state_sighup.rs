//! `collect-state-sighup` (Graceful Shutdowns): the same collection as `collect-state-ctrl-c`,
//! triggered from another process with SIGHUP, for a program running without a terminal.
//!
//! The program prints its PID and waits for `kill -HUP <pid>`; the work, the pool and the
//! per-thread extraction are those of [`crate::collect_state_ctrl_c`]. The hangup stream is
//! registered *before* the PID is printed: the other order leaves a window in which the `kill`
//! meets SIGHUP's default action and ends the process.
//!
//! The default mode is the parent: it runs the program as a child twice and sends SIGHUP with
//! `nix` (the book's `kill -SIGHUP <pid>`), once after `All futures completed` (exact totals) and
//! once the instant the PID line appears (still handled, since registration came first).
//! `--wait` is the program alone: run `kill -HUP <pid>` from another terminal.
//!
//! SIGHUP conventionally means "your terminal is gone" or "reload your configuration". Services
//! are asked to stop with SIGTERM (`kill`'s default, systemd, docker), which `graceful-drain`
//! handles.

use std::collections::HashMap;
use std::io;
use std::time::Duration;

use common::Timeline;
use common::demo::{Args, DemoResult};
use nix::sys::signal::Signal;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::task::LocalPoolHandle;

use crate::child;
use crate::collect_state_ctrl_c::{
    format_counts, get_complete_count, parent_run, report, run_child, spawn_work,
};

/// The book's `main` with SIGHUP in place of Ctrl-C.
#[tokio::main(flavor = "current_thread")]
pub async fn book_main(
    pool: LocalPoolHandle,
    tasks: usize,
    unit: Duration,
    timeline: &Timeline,
) -> io::Result<HashMap<u32, u32>> {
    let _handle = spawn_work(pool.clone(), tasks, unit);
    // Book: the PID is printed before `signal(SignalKind::hangup())` registers the handler, so a
    // `kill -HUP` sent as soon as the PID appears can still end the process (SIGHUP's default
    // action); registering first closes that window. `.unwrap()` became `?`.
    let mut stream = signal(SignalKind::hangup())?;
    let pid = std::process::id();
    println!("The PID of this process is: {pid} (send `kill -HUP {pid}`)");
    stream.recv().await;
    println!("SIGHUP received");
    let complete_counter = get_complete_count(&pool, timeline).await?;
    println!("Complete counter: {}", format_counts(&complete_counter));
    Ok(complete_counter)
}

/// Runs the demo: the parent by default, the book's program with `--wait`.
pub fn run(mut args: Args) -> DemoResult {
    let wait = args.flag("wait")?;
    let is_child = args.flag("child")?;
    let tasks: usize = args.value_in("tasks", 20_000, 1..=1_000_000)?;
    args.finish()?;
    if is_child {
        child::exit_when_parent_goes();
    }
    if wait || is_child {
        return run_child(tasks, Duration::from_millis(1), book_main);
    }
    let tasks = tasks.to_string();
    let args = ["collect-state-sighup", "--wait", "--tasks", &tasks];
    println!("=== run 1: SIGHUP after `All futures completed`");
    let full = parent_run(&args, "All futures completed", Signal::SIGHUP)?;
    println!("\n=== run 2: SIGHUP the instant the PID line appears");
    let early = parent_run(&args, "The PID of this process is", Signal::SIGHUP)?;
    report(&full, &early)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_come_before_any_work() {
        let err = run(Args::from_iter(["--tasks", "0"])).unwrap_err();
        assert!(err.is::<common::demo::UsageError>(), "{err}");
    }
}
