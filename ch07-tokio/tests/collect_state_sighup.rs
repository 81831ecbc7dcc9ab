//! `collect-state-sighup` through the chapter binary: a SIGHUP after the work gives exact totals,
//! and a SIGHUP sent the instant the PID line appears is still handled (exit 0), because the
//! hangup stream is registered before the PID is printed.

use std::collections::BTreeMap;
use std::time::Duration;

use ch07::collect_state_ctrl_c::parse_counts;
use common::testing::Run;

const CH07: &str = env!("CARGO_BIN_EXE_ch07");

#[test]
fn sighup_after_the_work_is_exact_and_sighup_at_once_is_still_handled() {
    let done = Run::new(CH07)
        .args(&["collect-state-sighup", "--tasks", "5000"])
        .limit(Duration::from_secs(60))
        .output();
    let stdout = done.expect_success();
    let counters: Vec<BTreeMap<u32, u64>> = stdout
        .lines()
        .filter(|l| l.starts_with("child| Complete counter:"))
        .map(|l| parse_counts(l).unwrap())
        .collect();
    assert_eq!(counters.len(), 2, "{stdout}");
    assert_eq!(counters[0], (1..=5).map(|k| (k, 2_000)).collect());
    // Both children handled their SIGHUP (exit 0 is checked by the parent for each run).
    assert_eq!(
        stdout.matches("child| SIGHUP received").count(),
        2,
        "{stdout}"
    );
    // In the early run, the signal went out right after the PID line, before any other.
    let early = stdout.split("=== run 2").nth(1).unwrap();
    let lines: Vec<&str> = early.lines().collect();
    let pid_line = lines
        .iter()
        .position(|l| l.contains("The PID of this process is"))
        .unwrap();
    assert!(
        lines[pid_line + 1].starts_with("parent: sending SIGHUP"),
        "{early}"
    );
}
