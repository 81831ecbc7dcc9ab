//! `ctrl-c-blocking-pitfall`, each case as a child run by `common::testing` and interrupted with
//! SIGINT inside its window, then the whole demo through the chapter binary.

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use common::testing::{Run, run};

const CH07: &str = env!("CARGO_BIN_EXE_ch07");

fn case(name: &str, ready: &str) -> common::testing::Finished {
    // Wide windows (3 s block, 1.5 s idle): the signal lands inside them even on a loaded machine;
    // neither width slows the test, since the signal ends the window.
    let child = Run::new(CH07)
        .args(&[
            "ctrl-c-blocking-pitfall",
            "--wait",
            "--case",
            name,
            "--block-ms",
            "3000",
            "--idle-ms",
            "1500",
        ])
        .limit(Duration::from_secs(10))
        .start(ready)
        .unwrap_or_else(|out| panic!("case {name} never printed `{ready}`: {out}"));
    let (took, done) = child.interrupt();
    assert!(took < Duration::from_secs(5), "case {name} took {took:?}");
    done
}

#[test]
fn case_a_sigint_before_the_first_registration_kills_the_process() {
    let done = case("a", "blocking for");
    assert_eq!(done.status.signal(), Some(2), "{done:?}"); // SIGINT
    assert!(!done.stdout.contains("ctrl-c received!"), "{}", done.stdout);
}

#[test]
fn case_b_a_sigint_between_two_fresh_ctrl_c_calls_is_lost() {
    let done = case("b", "busy with something else");
    assert_eq!(done.expect_success().lines().last(), Some("lost"));
}

#[test]
fn case_c_one_persistent_stream_keeps_the_sigint() {
    let done = case("c", "busy with something else");
    assert_eq!(done.expect_success().lines().last(), Some("received"));
}

#[test]
fn the_demo_runs_all_three_cases_and_prints_three_verdicts() {
    let done = run(CH07, &["ctrl-c-blocking-pitfall"]);
    let stdout = done.expect_success();
    let verdicts: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with('('))
        .map(|l| &l[..3])
        .collect();
    assert_eq!(verdicts, ["(a)", "(b)", "(c)"], "{stdout}");
    assert!(stdout.contains("was killed by SIGINT"), "{stdout}");
    assert!(
        stdout.contains("child| lost") && stdout.contains("child| received"),
        "{stdout}"
    );
}

#[test]
fn a_child_without_a_case_is_a_usage_error() {
    let done = run(CH07, &["ctrl-c-blocking-pitfall", "--wait"]);
    assert!(
        done.expect_usage_error().contains("--case"),
        "{}",
        done.stderr
    );
}
