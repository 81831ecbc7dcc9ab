//! `user-input-callbacks` run as a reader runs it: `cargo run -p ch06 -- user-input-callbacks`.
//!
//! The unit tests in `src/user_input_callbacks.rs` check the callback, the guard and the timing on
//! tokio's paused clock; these run the chapter binary (`CARGO_BIN_EXE_ch06`) under
//! `common::testing`'s watchdog, once with stdin closed (the scripted default plays) and once with
//! text piped to `--stdin` (a reader thread delivers it).

use common::testing::{Run, run};

const CH06: &str = env!("CARGO_BIN_EXE_ch06");

/// The render lines caused by input, e.g. `  t=  4.5s input "h"   20.89 °C | set 21.00 | … | Input: h`.
fn input_lines(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| l.contains(" input \"")).collect()
}

#[test]
fn with_stdin_closed_the_default_script_plays_and_the_demo_ends_by_itself() {
    let done = run(CH06, &["user-input-callbacks"]);
    let stdout = done.expect_success();
    assert!(
        stdout.contains("stdin is not a terminal: playing the script \"h,i,+,+,-\""),
        "{stdout}"
    );
    let inputs = input_lines(stdout);
    assert_eq!(inputs.len(), 5, "{stdout}");
    let expected = [
        ("\"h\"", "set 21.00", "Input: h"),
        ("\"i\"", "set 21.00", "Input: hi"),
        ("\"+\"", "set 21.05", "Input: hi"),
        ("\"+\"", "set 21.10", "Input: hi"),
        ("\"-\"", "set 21.05", "Input: hi"),
    ];
    for (line, (key, set, input)) in inputs.iter().zip(expected) {
        assert!(line.contains(&format!("input {key}")), "{line}");
        assert!(line.contains(set), "{line}");
        assert!(line.trim_end().ends_with(input), "{line}");
    }
    assert!(
        stdout.contains("5 input line(s), each rendered at once"),
        "{stdout}"
    );
    assert!(
        stdout.contains("input callback │"),
        "the chart has the callback's row"
    );
}

#[test]
fn lines_piped_to_stdin_reach_the_callback_on_the_reader_thread() {
    let done = Run::new(CH06)
        .args(&["user-input-callbacks", "--stdin"])
        .stdin("+\n+\n-\n")
        .output();
    let stdout = done.expect_success();
    let inputs = input_lines(stdout);
    let sets: Vec<&str> = inputs
        .iter()
        .map(|l| {
            if l.contains("set 21.05") {
                "21.05"
            } else if l.contains("set 21.10") {
                "21.10"
            } else {
                "?"
            }
        })
        .collect();
    assert_eq!(sets, ["21.05", "21.10", "21.05"], "{stdout}");
    assert!(stdout.contains("3 input line(s)"), "{stdout}");
    assert!(
        stdout.contains("= stdin-reader"),
        "the callbacks ran on the reader thread: {stdout}"
    );
}

#[test]
fn script_and_stdin_together_are_a_usage_error() {
    let done = run(CH06, &["user-input-callbacks", "--script", "a", "--stdin"]);
    let stderr = done.expect_usage_error();
    assert!(stderr.contains("exclude each other"), "{stderr}");
}
