//! `patterns-combined` run as a reader runs it: a plain synchronous `run` prints the report, and
//! the feature the binary was built with decides whether the waterfall's polls are logged.

use common::testing::run;

#[test]
fn the_sync_caller_gets_the_report() {
    let done = run(env!("CARGO_BIN_EXE_ch09"), &["patterns-combined"]);
    let out = done.expect_success();
    assert!(
        out.contains("report: DATA (3 attempts, breaker Closed)\n"),
        "{out}"
    );
    assert!(out.contains("server requests: 3;"), "{out}");
    // The binary says which build it is; the waterfall is logged exactly when the feature is on.
    // (Checked against the binary's own line rather than `cfg!` here: `tests/feature_decorator.rs`
    // checks that the binary matches the test build, and a parallel `cargo` run with the other
    // feature set may relink the shared `target/debug/ch09` while these tests run.)
    let logged = out.matches("Polling the future!").count();
    if out.contains("logging_decorator is on") {
        assert!(logged >= 3, "{out}");
    } else {
        assert!(out.contains("logging_decorator is off"), "{out}");
        assert_eq!(logged, 0, "{out}");
    }
}

#[test]
fn no_failures_need_one_attempt() {
    let done = run(
        env!("CARGO_BIN_EXE_ch09"),
        &["patterns-combined", "--failures", "0"],
    );
    let out = done.expect_success();
    assert!(
        out.contains("report: DATA (1 attempt, breaker Closed)\n"),
        "{out}"
    );
}
