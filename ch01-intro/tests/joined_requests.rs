//! `joined-requests` run as a reader runs it: the `ch01` binary's chart shows four overlapping
//! bars, all on the `main` thread (the demo's runtime has no other).

use common::testing::run;

const CH01: &str = env!("CARGO_BIN_EXE_ch01");

#[test]
fn the_demo_draws_four_overlapping_bars_on_the_main_thread() {
    let done = run(CH01, &["joined-requests", "--delay-ms", "100"]);
    let stdout = done.expect_success();
    let rows: Vec<&str> = stdout.lines().filter(|l| l.contains(" │")).collect();
    assert_eq!(rows.len(), 4, "{stdout}");
    for (k, row) in (1..=4).zip(&rows) {
        assert!(row.starts_with(&format!("request {k} │")), "{stdout}");
        // Each bar covers most of the chart (about one delay out of a total of about one delay);
        // four sequential bars would cover a quarter each. A third leaves room for a busy machine.
        let bar = row.split('│').nth(1).unwrap();
        let width = bar.chars().count();
        let filled = bar.chars().filter(|&c| c == 'A').count();
        assert!(3 * filled > width, "{stdout}");
    }
    assert!(stdout.contains("threads: A = main · 1 column"), "{stdout}");
    assert!(!stdout.contains("B = "), "a single thread: {stdout}");
}

#[test]
fn unknown_arguments_exit_2() {
    let done = run(CH01, &["joined-requests", "--delay", "100"]);
    let stderr = done.expect_usage_error();
    assert!(
        stderr.contains("usage: cargo run -p ch01 -- joined-requests [--url URL] [--delay-ms D]"),
        "{stderr}"
    );
}
