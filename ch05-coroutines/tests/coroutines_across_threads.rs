//! `coroutines-across-threads` run through the chapter binary: the moved coroutine's values
//! carry on its sequence, and the chart names both threads.

use common::testing::run;

const CH05: &str = env!("CARGO_BIN_EXE_ch05");

#[test]
fn the_state_travels_with_the_coroutine() {
    let done = run(CH05, &["coroutines-across-threads", "--seed", "21"]);
    let stdout = done.expect_success();
    assert!(stdout.contains("coroutine 1 resumed on main: "), "{stdout}");
    assert!(
        stdout.contains("coroutine 1 resumed on worker: "),
        "{stdout}"
    );
    assert!(
        stdout.contains("(the same: the state travelled intact)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("threads: A = main · B = worker"),
        "{stdout}"
    );
}
