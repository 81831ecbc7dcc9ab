//! `graceful-drain` through the chapter binary: the parent's three runs (SIGTERM, restart,
//! corrupt file), then the child driven directly: SIGINT works as SIGTERM does, and a corrupt
//! state file is exit code 1 with a message.
//!
//! The in-process proofs (refusal during the drain, gated in-flight jobs, the 50-shutdown stress
//! test) are the unit tests in `src/graceful_drain.rs`.

use std::time::Duration;

use ch07::collect_state_ctrl_c::parse_counts;
use ch07::graceful_drain::{STATE_FILE, load_state};
use common::testing::{Run, run};

const CH07: &str = env!("CARGO_BIN_EXE_ch07");

#[test]
fn sigterm_drains_and_exits_fast_a_restart_resumes_a_corrupt_file_fails_cleanly() {
    let done = Run::new(CH07)
        .args(&["graceful-drain"])
        .limit(Duration::from_secs(30))
        .output();
    let stdout = done.expect_success();
    // Each SIGTERM: exit 0 well under 3 s although the guard inside is 30 s.
    let exits: Vec<u64> = stdout
        .lines()
        .filter_map(|l| {
            l.strip_prefix("parent: exit code 0, ")?
                .split_once(" ms")?
                .0
                .parse()
                .ok()
        })
        .collect();
    assert_eq!(exits.len(), 2, "{stdout}");
    assert!(exits.iter().all(|ms| *ms < 3000), "{exits:?}");
    // accepted == completed in both runs.
    for line in stdout.lines().filter(|l| l.starts_with("child| accepted ")) {
        let n: Vec<u64> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|t| t.parse().ok())
            .collect();
        assert_eq!(n[0], n[1], "{line}");
    }
    assert_eq!(
        stdout
            .matches("child| shutdown requested (SIGTERM)")
            .count(),
        2
    );
    assert_eq!(stdout.matches("child| refused submit #").count(), 2);
    // Run 2 resumed what run 1 saved.
    let saved1 = stdout
        .lines()
        .find(|l| l.starts_with("child| state saved to"))
        .and_then(parse_counts)
        .unwrap();
    let resumed = stdout
        .lines()
        .find(|l| l.starts_with("child| resuming from"))
        .and_then(parse_counts)
        .unwrap();
    assert_eq!(resumed, saved1);
    assert!(
        stdout.contains("parent: the child exited with code 1"),
        "{stdout}"
    );
}

#[test]
fn sigint_also_drains_and_saves_and_the_file_is_what_the_child_printed() {
    let dir = tempfile::tempdir().unwrap();
    let dir_text = dir.path().to_str().unwrap();
    let child = Run::new(CH07)
        .args(&["graceful-drain", "--wait", "--state-dir", dir_text])
        .limit(Duration::from_secs(10))
        .start("serving")
        .expect("the service never said it was serving");
    std::thread::sleep(Duration::from_millis(100));
    let (took, done) = child.interrupt();
    let stdout = done.expect_success();
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(stdout.contains("shutdown requested (SIGINT)"), "{stdout}");
    let printed = stdout
        .lines()
        .find(|l| l.starts_with("state saved to"))
        .and_then(parse_counts)
        .unwrap_or_else(|| panic!("no saved counts in {stdout}"));
    assert_eq!(load_state(dir.path()).unwrap(), Some(printed));
}

#[test]
fn a_corrupt_state_file_is_exit_code_1_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(STATE_FILE), "1 10\n2 lots\n").unwrap();
    let done = run(
        CH07,
        &[
            "graceful-drain",
            "--wait",
            "--state-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(done.code(), Some(1), "{done:?}");
    assert!(
        done.stderr.contains("corrupt state file"),
        "{}",
        done.stderr
    );
    assert!(done.stderr.contains("line 2"), "{}", done.stderr);
    assert!(!done.stderr.contains("panicked"), "{}", done.stderr);
}
