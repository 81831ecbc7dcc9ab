//! `condvar-notify` run as a reader runs it: `cargo run -p ch01 -- condvar-notify`.
//!
//! The unit tests in `src/condvar_notify.rs` check the handshake itself; this one checks the demo's
//! whole path through the chapter binary, where the two threads' lines reach stdout via the main
//! thread. It runs the real binary (`CARGO_BIN_EXE_ch01`) under a watchdog, so a deadlock fails
//! the test after a few seconds instead of hanging `cargo test`.

mod support;

use support::run_ch01;

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
