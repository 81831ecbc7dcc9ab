//! `coffee-toast-join` run as a reader runs it: the `ch02` binary prints the mug prep before the
//! kettle starts, about 24 units, and a chart drawn on the `main` thread only; a bad `--unit-ms` is
//! a usage error (exit code 2), not a panic.

use common::testing::{Finished, run};

fn ch02(args: &[&str]) -> Finished {
    run(env!("CARGO_BIN_EXE_ch02"), args)
}

#[test]
fn the_mug_comes_first_24_units_and_every_bar_is_on_main() {
    let done = ch02(&["coffee-toast-join", "--unit-ms", "5"]);
    let stdout = done.expect_success();
    let line = |ending: &str| {
        stdout
            .lines()
            .position(|l| l.ends_with(ending))
            .unwrap_or_else(|| panic!("no line ending with {ending:?}:\n{stdout}"))
    };
    let coffee_in = line("me: instant coffee put in.");
    assert!(line("me: pouring milk...") < coffee_in, "{stdout}");
    assert!(coffee_in < line("me: boiling kettle..."), "{stdout}");
    assert!(
        coffee_in < line("me: putting bread in toaster..."),
        "{stdout}"
    );

    let took = stdout
        .lines()
        .find(|l| l.starts_with("took "))
        .unwrap_or_else(|| panic!("no `took` line:\n{stdout}"));
    assert!(took.ends_with(" units (book: 24 s)"), "{took}");
    let units: f64 = took
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number in {took:?}"));
    assert!((24.0..48.0).contains(&units), "{took}");

    let rows = ["prep mug", "make coffee", "make toast", "kettle", "toaster"];
    let chart: Vec<&str> = stdout.lines().filter(|l| l.contains(" │")).collect();
    assert_eq!(chart.len(), rows.len(), "{stdout}");
    for (row, expected) in chart.iter().zip(rows) {
        assert!(row.starts_with(expected), "{row:?} should be {expected:?}");
    }
    assert!(stdout.contains("threads: A = main · 1 column"), "{stdout}");
    assert!(!stdout.contains("B = "), "one thread only: {stdout}");
}

#[test]
fn a_zero_or_non_numeric_unit_is_a_usage_error() {
    for bad in ["0", "abc"] {
        let done = ch02(&["coffee-toast-join", "--unit-ms", bad]);
        let stderr = done.expect_usage_error();
        assert!(stderr.contains(&format!("`--unit-ms {bad}`")), "{stderr}");
        assert!(
            stderr.contains("usage: cargo run -p ch02 -- coffee-toast-join [--unit-ms N]"),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(done.stdout.is_empty(), "{}", done.stdout);
    }
}
