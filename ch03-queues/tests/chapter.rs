//! The whole chapter, as `cargo run -p ch03` runs it: every demo, in book order, well within the
//! time a reader will wait, whatever order the demos start the runtimes in.

use std::time::{Duration, Instant};

use common::testing::Run;

#[test]
fn every_demo_runs_and_the_chapter_finishes_well_under_30_s() {
    let start = Instant::now();
    let done = Run::new(env!("CARGO_BIN_EXE_ch03"))
        .limit(Duration::from_secs(30))
        .output();
    let stdout = done.expect_success();
    let elapsed = start.elapsed();
    assert!(stdout.contains("ch03: all 12 demos finished"), "{stdout}");
    // Each demo takes about a second at most; 20 s leaves room for a busy machine.
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    // The background processes were stopped: nothing fires after the demo's last report.
    let last_report = stdout
        .rfind("stopped after")
        .expect("background-process ran");
    let after: Vec<&str> = stdout[last_report..].lines().skip(1).collect();
    assert!(
        after.iter().all(|line| !line.starts_with("background")),
        "{after:?}"
    );
}
