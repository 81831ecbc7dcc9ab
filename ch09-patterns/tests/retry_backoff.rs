//! `retry-backoff` run as a reader runs it: four attempts against the flaky server, then the
//! book's printout.

use common::testing::run;

#[test]
fn the_demo_retries_to_success_then_prints_the_books_outcome() {
    let done = run(
        env!("CARGO_BIN_EXE_ch09"),
        &["retry-backoff", "--failures", "2", "--initial-ms", "5"],
    );
    let out = done.expect_success();
    for line in [
        "policy: 5 attempts, waits [5, 10, 20, 40] ms",
        "success after 3 attempt(s), waits [5, 10] ms",
        "the server counted 3 request(s)",
    ] {
        assert!(out.contains(line), "no `{line}` in:\n{out}");
    }
    let book = out.split("run 2").nth(1).expect("a second run");
    let tail: Vec<&str> = book.lines().skip(1).take(6).collect();
    assert_eq!(
        tail,
        [
            "Error: Error",
            "Error: Error",
            "Error: Error",
            "Error: Error",
            "Error: Error",
            "Outcome: Err(\"Error\")"
        ],
        "{out}"
    );
    assert!(book.contains("waits [5, 10, 20, 40] ms = 75 ms"), "{out}");
}

#[test]
fn bad_arguments_are_usage_errors() {
    for args in [
        ["retry-backoff", "--failures", "many"],
        ["retry-backoff", "--initial-ms", "0"],
        ["retry-backoff", "--url", "ftp://x"],
    ] {
        let done = run(env!("CARGO_BIN_EXE_ch09"), &args);
        done.expect_usage_error();
    }
}
