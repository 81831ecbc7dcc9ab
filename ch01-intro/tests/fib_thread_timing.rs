//! `fib-thread-timing` run as a reader runs it: `cargo run -p ch01 -- fib-thread-timing`.
//!
//! Only the binary can show what the demo's quiet panic hook does (the unit tests must not touch
//! the process-wide hook): the thread that panics on purpose must not print a panic message on
//! stderr, while its message still reaches stdout through `join`. The binary runs under a
//! watchdog, so a hang fails the test instead of blocking `cargo test`.

use common::testing::run;

const CH01: &str = env!("CARGO_BIN_EXE_ch01");

#[test]
fn the_panicking_thread_reaches_stdout_through_join_and_stays_off_stderr() {
    let done = run(CH01, &["fib-thread-timing", "--n", "20"]);
    let (stdout, stderr) = (done.expect_success(), &done.stderr);

    assert!(
        stdout.starts_with("fibonacci(20) = 6765 alone on main: "),
        "{stdout}"
    );
    for index in 0..4 {
        assert!(
            stdout.contains(&format!("  fib-{index} joined: Ok(6765)\n")),
            "{stdout}"
        );
    }
    assert!(
        stdout.contains(
            "fib-panic joined: Err(payload); the payload downcasts to &str: \
             \"fib-panic gave up before computing anything (on purpose)\""
        ),
        "{stdout}"
    );
    assert!(
        !stderr.contains("panicked"),
        "the quiet hook let this through:\n{stderr}"
    );
}

#[test]
fn n_out_of_range_or_not_a_number_exits_2() {
    for (bad, message) in [
        ("94", "`--n 94` is out of range: expected 0..=93"),
        ("abc", "`--n abc`"),
    ] {
        let done = run(CH01, &["fib-thread-timing", "--n", bad]);
        let stderr = done.expect_usage_error();
        assert!(stderr.contains(message), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
