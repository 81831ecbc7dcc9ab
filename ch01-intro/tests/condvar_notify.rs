//! `condvar-notify` run as a reader runs it: `cargo run -p ch01 -- condvar-notify`.
//!
//! The unit tests in `src/condvar_notify.rs` check the handshake itself; this one checks the demo's
//! whole path through the chapter binary, where the two threads' lines reach stdout via the main
//! thread. It runs the real binary (`CARGO_BIN_EXE_ch01`) under `common::testing`'s watchdog, so
//! a deadlock fails the test instead of hanging `cargo test`.

use common::testing::run;

const CH01: &str = env!("CARGO_BIN_EXE_ch01");

#[test]
fn the_demo_prints_the_alternating_lines_then_the_summary() {
    let done = run(CH01, &["condvar-notify", "--pause-ms", "5"]);
    let lines: Vec<&str> = done.expect_success().lines().collect();
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
    let done = run(CH01, &["condvar-notify", "--pause-ms", "abc"]);
    let stderr = done.expect_usage_error();
    assert!(stderr.contains("`--pause-ms abc`"), "{stderr}");
    assert!(
        stderr.contains("usage: cargo run -p ch01 -- condvar-notify [--pause-ms P]"),
        "{stderr}"
    );
}
