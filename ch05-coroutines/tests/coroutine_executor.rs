//! `coroutine-executor` and `sleep-coroutines` run through the chapter binary: one "Polling N
//! coroutines" line per round (not one per resume, as in the book), and `--millis` checked.

use common::testing::run;

const CH05: &str = env!("CARGO_BIN_EXE_ch05");

#[test]
fn the_executor_prints_one_polling_line_per_round() {
    let done = run(CH05, &["coroutine-executor", "--millis", "50"]);
    let stdout = done.expect_success();
    let polling: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("Polling "))
        .collect();
    assert!((2..=4).contains(&polling.len()), "{stdout}");
    assert_eq!(polling[0], "Polling 3 coroutines");
    assert!(stdout.contains("\nTook "), "{stdout}");
    for row in ["sleep 1 ", "sleep 2 ", "sleep 3 ", "executor asleep "] {
        assert!(stdout.contains(row), "no row {row:?} in {stdout}");
    }
    assert!(stdout.contains("threads: A = main "), "{stdout}");
}

#[test]
fn the_sleep_queue_reports_its_resumes() {
    let done = run(CH05, &["sleep-coroutines", "--millis", "20"]);
    let stdout = done.expect_success();
    assert!(
        stdout.contains("completed in order: sleep 1, sleep 2, sleep 3"),
        "{stdout}"
    );
    assert!(stdout.contains("resumes for 3 coroutines"), "{stdout}");
}

#[test]
fn millis_out_of_range_is_a_usage_error() {
    for id in [
        "sleep-coroutines",
        "coroutine-executor",
        "sleep-coroutine-future",
    ] {
        let done = run(CH05, &[id, "--millis", "20000"]);
        let stderr = done.expect_usage_error();
        assert!(
            stderr.contains("`--millis 20000` is out of range"),
            "{stderr}"
        );
        assert!(stderr.contains("[--millis MS]"), "{stderr}");
    }
}
