//! What the process demos share (book section "Introduction to Processes"): the child's command
//! line and how to say how a process ended.
//!
//! `spawn-process` and `tokio-process-tasks` run the same child, this chapter's own binary with the
//! [`CHILD_DEMO`] argument, and both report how it ended with [`describe_exit`]. Those two pieces
//! live here, so each demo file shows only its own way of starting and awaiting children.

use std::process::ExitStatus;

/// The demo id the child is started with: `<program> connection-process --url <url>`.
pub const CHILD_DEMO: &str = "connection-process";

/// Says how a process ended: `exited with code 1`, or `was killed by signal 9` on Unix.
///
/// Book: `status.code().unwrap_or(-1)` turns a signal death into a made-up exit code.
///
/// ```
/// # #[cfg(unix)] {
/// let status = std::process::Command::new("sh").args(["-c", "exit 3"]).status().unwrap();
/// assert_eq!(ch01::child::describe_exit(status), "exited with code 3");
/// # }
/// ```
pub fn describe_exit(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with code {code}");
    }
    match signal_of(status) {
        Some(signal) => format!("was killed by signal {signal}"),
        None => format!("ended without an exit code ({status})"),
    }
}

#[cfg(unix)]
fn signal_of(status: ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
fn signal_of(_status: ExitStatus) -> Option<i32> {
    None
}

#[cfg(all(test, unix))]
mod tests {
    use std::process::Command;

    use super::*;

    #[test]
    fn exit_codes_and_signals_are_described_as_such() {
        let exited = Command::new("sh").args(["-c", "exit 0"]).status().unwrap();
        assert_eq!(describe_exit(exited), "exited with code 0");
        // A shell that kills itself: no exit code, only a signal.
        let killed = Command::new("sh")
            .args(["-c", "kill -KILL $$"])
            .status()
            .unwrap();
        assert_eq!(killed.code(), None);
        assert_eq!(describe_exit(killed), "was killed by signal 9");
    }
}
