//! `schedule-explorer` run through the chapter binary: the counts it prints are the ones the
//! unit tests check, and a chart follows.

use common::testing::run;

const CH05: &str = env!("CARGO_BIN_EXE_ch05");

#[test]
fn the_explorer_prints_its_counts_and_a_chart() {
    let done = run(CH05, &["schedule-explorer"]);
    let stdout = done.expect_success();
    assert!(
        stdout.contains("2 coroutines: 6 schedules, 3 coroutines: 90 schedules, all end at 4 / 6"),
        "{stdout}"
    );
    assert!(stdout.contains("24 lock-held variants"), "{stdout}");
    assert!(stdout.contains("test holds lock │"), "{stdout}");
}
