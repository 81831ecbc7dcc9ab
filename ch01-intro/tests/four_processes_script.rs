//! `four-processes-script`: `scripts/ch01-run.sh` fans out four launchers of the real `ch01`
//! binary, waits on each PID and reports exit codes. Integration tests, so the launchers are the
//! built binary (`CARGO_BIN_EXE_ch01`), not the test harness.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use ch01::four_processes_script::{
    TASKS, TaskLine, prepare_script_path, run_script, run_script_path,
};
use ch01::loopback::{FAIL_PATH, POST_PATH, post_server};

const CH01: &str = env!("CARGO_BIN_EXE_ch01");

/// The two tests that fan out eight processes each take turns, so the timing bound of the first
/// is not spent waiting for the other's processes on a 2-core machine.
static PROCESS_HEAVY: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    PROCESS_HEAVY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[test]
fn four_launchers_run_in_parallel_and_all_exit_0() {
    let _turn = one_at_a_time();
    let delay = Duration::from_millis(300);
    let server = post_server(delay).unwrap();
    let mut streamed = 0;
    let run = run_script(
        "bash",
        &run_script_path(),
        Path::new(CH01),
        &server.url(POST_PATH),
        |_| streamed += 1,
    )
    .unwrap();

    assert!(run.status.success(), "{run:?}");
    assert_eq!(run.stderr, "");
    assert_eq!(
        streamed,
        run.lines.len(),
        "every line went through the callback"
    );

    let tasks = run.tasks();
    assert_eq!(tasks.len(), TASKS, "{:#?}", run.lines);
    let numbers: Vec<u32> = tasks.iter().map(|t| t.task).collect();
    assert_eq!(numbers, [1, 2, 3, 4], "reported in task order");
    assert!(tasks.iter().all(|t| t.code == 0), "{tasks:?}");
    let pids: HashSet<u32> = tasks.iter().map(|t| t.pid).collect();
    assert_eq!(pids.len(), TASKS, "distinct PIDs: {tasks:?}");

    // Every launcher printed its child's report.
    let outputs = run
        .lines
        .iter()
        .filter(|l| l.starts_with("Output: "))
        .count();
    assert_eq!(outputs, TASKS, "{:#?}", run.lines);
    assert_eq!(server.request_count(), TASKS);

    // One after another, four fetches would need at least 4 × delay.
    assert!(run.elapsed >= delay, "{:?}", run.elapsed);
    assert!(
        run.elapsed < 3 * delay,
        "took {:?}: the launchers did not overlap",
        run.elapsed
    );
}

#[test]
fn a_failing_fetch_makes_the_script_exit_1() {
    let _turn = one_at_a_time();
    let server = post_server(Duration::ZERO).unwrap();
    let run = run_script(
        "bash",
        &run_script_path(),
        Path::new(CH01),
        &server.url(FAIL_PATH),
        |_| {},
    )
    .unwrap();

    // Book: its run.sh exits 0 whatever its tasks did.
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let tasks = run.tasks();
    assert_eq!(tasks.len(), TASKS);
    assert!(
        tasks.iter().all(|&TaskLine { code, .. }| code == 1),
        "{tasks:?}"
    );
    assert!(run.stderr.contains("4 of 4 tasks failed"), "{}", run.stderr);
    assert_eq!(
        run.stderr.matches("Error: ").count(),
        TASKS,
        "{}",
        run.stderr
    );
    assert_eq!(server.count(FAIL_PATH), TASKS);
}

#[test]
fn bash_accepts_both_scripts() {
    for script in [run_script_path(), prepare_script_path()] {
        let status = Command::new("bash")
            .arg("-n")
            .arg(&script)
            .status()
            .unwrap();
        assert!(status.success(), "bash -n {}", script.display());
    }
}

#[cfg(unix)]
#[test]
fn both_scripts_are_executable() {
    use std::os::unix::fs::PermissionsExt;
    for script in [run_script_path(), prepare_script_path()] {
        let mode = std::fs::metadata(&script).unwrap().permissions().mode();
        assert_ne!(mode & 0o111, 0, "{} is not executable", script.display());
    }
}
