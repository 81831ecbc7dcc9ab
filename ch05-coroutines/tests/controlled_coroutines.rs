//! `controlled-coroutines` run through the chapter binary: the printed game is reproducible,
//! and a cutoff that could never end the game is refused as a usage error.

use common::testing::run;

const CH05: &str = env!("CARGO_BIN_EXE_ch05");

#[test]
fn the_same_seed_prints_the_same_game() {
    let first = run(CH05, &["controlled-coroutines", "--seed", "3"]);
    let second = run(CH05, &["controlled-coroutines", "--seed", "3"]);
    assert_eq!(first.expect_success(), second.expect_success());
    assert!(first.stdout.contains("Total: "), "{}", first.stdout);
}

#[test]
fn cutoff_0_is_a_usage_error() {
    let done = run(CH05, &["controlled-coroutines", "--cutoff", "0"]);
    let stderr = done.expect_usage_error();
    assert!(stderr.contains("`--cutoff 0` is out of range"), "{stderr}");
}
