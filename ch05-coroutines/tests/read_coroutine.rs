//! `read-coroutine` run as a reader runs it, including with a file of their own (`--file`).
//!
//! The unit tests in `src/read_coroutine.rs` check the coroutine; these check that the demo
//! reports a missing file or a bad line as an error (exit code 1) rather than panicking.

use common::testing::run;

const CH05: &str = env!("CARGO_BIN_EXE_ch05");

#[test]
fn the_demo_prints_one_to_five_then_the_end() {
    let done = run(CH05, &["read-coroutine"]);
    let lines: Vec<&str> = done.expect_success().lines().skip(1).collect();
    let expected = ["1", "2", "3", "4", "5", "complete: end of file"];
    assert_eq!(&lines[..expected.len()], expected);
}

#[test]
fn a_bad_line_in_the_readers_file_exits_1_naming_the_line() -> std::io::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("mine.txt");
    std::fs::write(&path, "10\n20\nthirty\n")?;
    let path = path.to_str().expect("temp paths are UTF-8 here");
    let done = run(CH05, &["read-coroutine", "--file", path]);
    assert_eq!(done.code(), Some(1), "{}", done.stderr);
    assert!(done.stdout.contains("10\n20\n"), "{}", done.stdout);
    assert!(done.stderr.contains("line 3"), "{}", done.stderr);
    assert!(!done.stderr.contains("panicked"), "{}", done.stderr);
    Ok(())
}

#[test]
fn a_missing_file_exits_1_with_a_clear_error() -> std::io::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("nope.txt");
    let path = path.to_str().expect("temp paths are UTF-8 here");
    let done = run(CH05, &["read-coroutine", "--file", path]);
    assert_eq!(done.code(), Some(1), "{}", done.stderr);
    assert!(done.stderr.contains("cannot open"), "{}", done.stderr);
    assert!(!done.stderr.contains("panicked"), "{}", done.stderr);
    Ok(())
}
