//! `condvar-notify` run as a reader runs it: `cargo run -p ch01 -- condvar-notify`.
//!
//! The unit tests in `src/condvar_notify.rs` check the handshake itself; this one checks the demo's
//! whole path through the chapter binary, where the two threads' lines reach stdout via the main
//! thread. It runs the real binary (`CARGO_BIN_EXE_ch01`) under a watchdog, so a deadlock fails
//! the test after a few seconds instead of hanging `cargo test`.

use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Runs `ch01 <args>` and returns its output; kills it and fails if it takes over 20 s.
fn run_ch01(args: &[&str]) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_ch01"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("`ch01 {}` did not finish within 20 s", args.join(" "));
        }
    }
}

#[test]
fn the_demo_prints_the_alternating_lines_then_the_summary() {
    let output = run_ch01(&["condvar-notify", "--pause-ms", "5"]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "Updating value to false...",
            "Received value: false",
            "Updating value to true...",
            "Received value: true",
            "Updating value to false...",
            "Received value: false",
            "Updating value to true...",
            "Received value: true",
            "STOP has been updated",
            "both threads joined; the listener received [false, true, false, true]",
        ]
    );
}

#[test]
fn a_bad_pause_exits_2_with_the_usage() {
    let output = run_ch01(&["condvar-notify", "--pause-ms", "abc"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("`--pause-ms abc`"), "{stderr}");
    assert!(
        stderr.contains("usage: cargo run -p ch01 -- condvar-notify [--pause-ms P]"),
        "{stderr}"
    );
}
