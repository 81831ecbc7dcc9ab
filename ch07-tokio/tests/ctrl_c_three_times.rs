//! `ctrl-c-three-times` run as a reader runs it: the parent starts the book's program as a child of
//! the chapter binary, sends three SIGINTs one by one, and the child exits 0 after the third.
//!
//! The real binary (`CARGO_BIN_EXE_ch07`) runs under `common::testing`'s watchdog, so a child that
//! never answers fails the test instead of hanging it.

use std::time::{Duration, Instant};

use common::testing::{Run, run};
use nix::sys::signal::kill;
use nix::unistd::Pid;

const CH07: &str = env!("CARGO_BIN_EXE_ch07");

/// The pids the parent says it started (`parent: started `…` (pid N)`).
fn started_pids(stdout: &str) -> Vec<i32> {
    stdout
        .lines()
        .filter(|l| l.starts_with("parent: started"))
        .filter_map(|l| l.rsplit_once("(pid ")?.1.strip_suffix(')')?.parse().ok())
        .collect()
}

#[test]
fn three_sigints_three_receipts_then_exit_code_0() {
    let started = Instant::now();
    let done = Run::new(CH07)
        .args(&["ctrl-c-three-times"])
        .limit(Duration::from_secs(20))
        .output();
    let stdout = done.expect_success();
    let receipts: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("child| ctrl-c received!"))
        .collect();
    assert_eq!(
        receipts,
        [
            "child| ctrl-c received! (1/3)",
            "child| ctrl-c received! (2/3)",
            "child| ctrl-c received! (3/3)",
        ]
    );
    assert!(
        stdout.contains("parent: the child survived two SIGINTs and exited with code 0"),
        "{stdout}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // No child outlives the demo: the parent reaped it, so its pid names no process now.
    let pids = started_pids(stdout);
    assert_eq!(pids.len(), 1, "{stdout}");
    for pid in pids {
        assert!(
            kill(Pid::from_raw(pid), None).is_err(),
            "pid {pid} still exists"
        );
    }
}

#[test]
fn a_child_whose_parent_is_gone_exits_on_its_own() {
    // With `--child` and standard input already closed (as if the parent had died), the child
    // stops instead of waiting for signals nobody will send.
    let done = run(CH07, &["ctrl-c-three-times", "--wait", "--child"]);
    assert_eq!(done.code(), Some(3), "{done:?}");
    assert!(done.stderr.contains("parent went away"), "{}", done.stderr);
}
