//! `signals-on-main-thread` through the chapter binary: three SIGINTs answered while both worker
//! threads are blocked, and a prompt clean exit once the workers are asked to stop.

use std::time::Duration;

use common::testing::Run;

const CH07: &str = env!("CARGO_BIN_EXE_ch07");

#[test]
fn three_receipts_while_busy_then_the_workers_stop_on_request() {
    let done = Run::new(CH07)
        .args(&["signals-on-main-thread"])
        .limit(Duration::from_secs(20))
        .output();
    let stdout = done.expect_success();
    let receipts: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("child| ctrl-c received!"))
        .collect();
    assert_eq!(receipts.len(), 3, "{stdout}");
    assert!(
        receipts
            .iter()
            .all(|l| l.ends_with("while workers busy: true")),
        "{stdout}"
    );
    // Both jobs ended because the stop request reached them, not at their 2 s limit.
    assert!(
        stdout.contains("child| worker runtime stopped: 2 of 2 jobs stopped on request"),
        "{stdout}"
    );
    // The timeline: the signal marks were drawn on the main thread, the jobs on two workers.
    let legend = stdout
        .lines()
        .find(|l| l.contains("threads: "))
        .unwrap_or_else(|| panic!("no timeline in {stdout}"));
    for thread in ["= main", "= worker-1", "= worker-2"] {
        assert!(legend.contains(thread), "{legend}");
    }
    let took: u64 = stdout
        .lines()
        .find_map(|l| {
            l.split_once("exited 0, ")?
                .1
                .split_once(" ms")?
                .0
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no exit time in {stdout}"));
    assert!(
        took < 2000,
        "the child took {took} ms after the first signal"
    );
}
