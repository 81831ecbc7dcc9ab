//! `spawn-process`: a parent runs the real `connection-process` child (this crate's binary) and
//! branches on its exit status. Integration tests, because inside a unit test `current_exe()` is
//! the test harness, not the `ch01` binary.

use std::path::Path;
use std::time::Duration;

use ch01::child::describe_exit;
use ch01::loopback::{FAIL_PATH, POST_JSON, POST_PATH, post_server};
use ch01::spawn_process::spawn_connection;
use common::testing::run;

const CH01: &str = env!("CARGO_BIN_EXE_ch01");

#[test]
fn a_good_child_succeeds_with_the_body_on_stdout() {
    let server = post_server(Duration::ZERO).unwrap();
    let report = spawn_connection(Path::new(CH01), &server.url(POST_PATH)).unwrap();

    assert!(report.success(), "{report:?}");
    assert_eq!(report.code(), Some(0));
    assert_eq!(report.stdout.trim_end(), POST_JSON);
    assert_eq!(report.stderr, "");
    assert_ne!(
        report.pid,
        std::process::id(),
        "the child has a PID of its own"
    );
    assert_eq!(server.count(POST_PATH), 1);
}

#[test]
fn a_500_makes_the_child_exit_1_with_the_status_on_stderr() {
    let server = post_server(Duration::ZERO).unwrap();
    let report = spawn_connection(Path::new(CH01), &server.url(FAIL_PATH)).unwrap();

    assert!(!report.success());
    assert_eq!(report.code(), Some(1));
    assert_eq!(describe_exit(report.status), "exited with code 1");
    assert!(report.stderr.contains("500"), "{}", report.stderr);
    assert!(
        report.stderr.contains("error in `connection-process`"),
        "{}",
        report.stderr
    );
    assert_eq!(report.stdout, "", "nothing printed on failure");
    assert_eq!(server.count(FAIL_PATH), 1);
}

#[test]
fn a_missing_executable_is_an_io_error_not_a_panic() {
    let err = spawn_connection(
        Path::new("/nonexistent/ch01-connection-child"),
        "http://127.0.0.1:9/",
    )
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
}

/// The launcher as `scripts/ch01-run.sh` starts it: one child, and the launcher's own exit code
/// follows the child's (the book's parent exits 0 either way).
#[test]
fn the_launcher_with_url_passes_the_childs_failure_on() {
    let server = post_server(Duration::ZERO).unwrap();

    let good = run(CH01, &["spawn-process", "--url", &server.url(POST_PATH)]);
    let stdout = good.expect_success();
    assert!(stdout.contains("exited with code 0"), "{stdout}");
    assert!(stdout.contains(&format!("Output: {POST_JSON}")), "{stdout}");

    let bad = run(CH01, &["spawn-process", "--url", &server.url(FAIL_PATH)]);
    assert_eq!(bad.code(), Some(1), "{bad:?}");
    assert!(bad.stderr.contains("Error: "), "{bad:?}");
    assert!(bad.stderr.contains("500"), "{bad:?}");

    // Exactly one child per launcher: the counts stay exact.
    assert_eq!(server.count(POST_PATH), 1);
    assert_eq!(server.count(FAIL_PATH), 1);
}
