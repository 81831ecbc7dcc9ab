//! The chapter binary, run as a reader runs it: `feature-decorator` shows one build's decorators
//! (never a mix), and the sync `isolated-module` demo runs from the runner as it is.

use common::testing::run;

#[test]
fn the_binary_builds_one_decorator_or_the_other() {
    let done = run(env!("CARGO_BIN_EXE_ch09"), &["feature-decorator"]);
    let out = done.expect_success();
    // The output must be one whole build, never a mix. (Which build it is, the library's own
    // `#[cfg]` tests check: in a checkout where a plain and a featured build run at once, the binary
    // at CARGO_BIN_EXE_ch09 may come from the other one.)
    let on = out.contains("logging_decorator: on\n");
    assert!(on || out.contains("logging_decorator: off\n"), "{out}");
    assert_eq!(
        out.contains("Hello, World! I'm so excited to be in Rust!\n"),
        on,
        "{out}"
    );
    assert_eq!(out.contains("Polling the future!"), on, "{out}");
    assert_eq!(out.contains("Hello, World!\n"), !on, "{out}");
}

#[test]
fn the_isolated_module_demo_runs_outside_any_runtime() {
    let done = run(
        env!("CARGO_BIN_EXE_ch09"),
        &["isolated-module", "--delay-ms", "20"],
    );
    let out = done.expect_success();
    for line in [
        "Hello, world!",
        "starting async_add",
        "finished async_add",
        "main sleep done",
        "result: 3",
        "6 * 7 = 42",
        "10 - 4 = 6",
        "get_add_async: 42",
    ] {
        assert!(out.contains(line), "no `{line}` in:\n{out}");
    }
    // The result comes after both the task's last line and the caller's sleep. (Whether the task
    // finishes before the sleep ends is up to the scheduler: a 20 ms task against 26 ms of sleep
    // can lose on a loaded machine, so the test does not assert it.)
    let finished = out.find("finished async_add").unwrap();
    let slept = out.find("main sleep done").unwrap();
    let result = out.find("result: 3").unwrap();
    assert!(finished < result && slept < result, "{out}");
    let bad = run(
        env!("CARGO_BIN_EXE_ch09"),
        &["isolated-module", "--delay-ms", "x"],
    );
    bad.expect_usage_error();
}
