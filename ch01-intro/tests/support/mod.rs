//! What the integration tests share: running the `ch01` binary the way a reader does.
//!
//! Tests that run the binary use `env!("CARGO_BIN_EXE_ch01")`: inside a test, `current_exe()` is
//! the test harness, not the chapter binary. Each run has a watchdog, so a demo that deadlocks
//! fails its test after a while instead of hanging `cargo test` forever.

use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// The chapter binary, built by cargo for the integration tests.
#[allow(dead_code)] // not every test file needs the path itself
pub const CH01: &str = env!("CARGO_BIN_EXE_ch01");

/// How long one run of the binary may take before the test fails.
const WATCHDOG: Duration = Duration::from_secs(30);

/// Runs `ch01 <args>` with stdin closed and returns its output; kills it and fails the test if it
/// has not finished within 30 s.
pub fn run_ch01(args: &[&str]) -> Output {
    let child = Command::new(CH01)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the ch01 binary starts");
    let pid = child.id();
    let (done, finished) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match finished.recv_timeout(WATCHDOG) {
        Ok(output) => output.expect("waiting for ch01"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!(
                "`ch01 {}` did not finish within {WATCHDOG:?}",
                args.join(" ")
            );
        }
    }
}
