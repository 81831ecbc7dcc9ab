//! `switch-state-machine` run as a reader runs it: the book's four lines, each on one line.

use common::testing::run;

#[test]
fn the_demo_prints_the_books_four_lines() {
    let done = run(env!("CARGO_BIN_EXE_ch09"), &["switch-state-machine"]);
    let out = done.expect_success();
    assert_eq!(
        out,
        "Transitioning to the Off state\n\
         Transitioning to the On state\n\
         No transition possible, staying in the current state\n\
         State machine is in the On state\n"
    );
}

#[test]
fn it_takes_no_arguments() {
    let done = run(
        env!("CARGO_BIN_EXE_ch09"),
        &["switch-state-machine", "--on"],
    );
    let err = done.expect_usage_error();
    assert!(err.contains("unexpected argument(s): --on"), "{err}");
}
