//! `collect-state-ctrl-c` through the chapter binary: the parent's two runs, SIGINT after the work
//! finished (exact totals) and right after it started (each key at most its full total).

use std::collections::BTreeMap;
use std::time::Duration;

use ch07::collect_state_ctrl_c::parse_counts;
use common::testing::Run;

const CH07: &str = env!("CARGO_BIN_EXE_ch07");

/// Runs the parent demo with `tasks` and returns the two counters the children printed.
fn two_runs(id: &str, tasks: &str) -> (String, Vec<BTreeMap<u32, u64>>) {
    let done = Run::new(CH07)
        .args(&[id, "--tasks", tasks])
        .limit(Duration::from_secs(60))
        .output();
    let stdout = done.expect_success().to_string();
    let counters = stdout
        .lines()
        .filter(|l| l.starts_with("child| Complete counter:"))
        .map(|l| parse_counts(l).unwrap_or_else(|| panic!("unreadable: {l}")))
        .collect();
    (stdout, counters)
}

#[test]
fn the_full_run_is_exact_and_the_early_run_never_exceeds_it() {
    let (stdout, counters) = two_runs("collect-state-ctrl-c", "5000");
    assert_eq!(counters.len(), 2, "{stdout}");
    let full: BTreeMap<u32, u64> = (1..=5).map(|k| (k, 2_000)).collect();
    assert_eq!(counters[0], full);
    for (key, count) in &counters[1] {
        assert!(*count <= full[key], "key {key}: {count} > {}", full[key]);
    }
    assert_eq!(
        stdout.matches("child| ctrl-c received!").count(),
        2,
        "{stdout}"
    );
}
