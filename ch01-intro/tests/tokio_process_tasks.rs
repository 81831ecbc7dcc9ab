//! `tokio-process-tasks`: four tokio tasks each await a real `ch01` child process. Integration
//! tests, so the children are the built binary (`CARGO_BIN_EXE_ch01`), not the test harness.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use ch01::loopback::{POST_JSON, POST_PATH, post_server};
use ch01::tokio_process_tasks::{CHILDREN, run_children};
use common::timeline::Timeline;

const CH01: &str = env!("CARGO_BIN_EXE_ch01");

/// A runtime built here, so the loopback server (which has a runtime of its own on its own
/// thread) is created and dropped outside any async context.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn four_children_overlap_and_report_in_task_order() {
    let delay = Duration::from_millis(300);
    let server = post_server(delay).unwrap();
    let timeline = Timeline::new();

    let started = Instant::now();
    let results = runtime().block_on(run_children(
        Path::new(CH01),
        &server.url(POST_PATH),
        CHILDREN,
        &timeline,
        |_| {},
    ));
    let elapsed = started.elapsed();

    assert_eq!(results.len(), CHILDREN);
    let mut pids = HashSet::new();
    for (i, result) in results.iter().enumerate() {
        let run = result.as_ref().unwrap();
        assert_eq!(run.task, i + 1, "results come back in task order");
        assert_eq!(run.status.code(), Some(0), "{run:?}");
        assert_eq!(run.stdout.trim_end(), POST_JSON);
        pids.insert(run.pid.expect("a running child has a PID"));
    }
    assert_eq!(pids.len(), CHILDREN, "four distinct processes");
    assert_eq!(server.request_count(), CHILDREN);

    let spans = timeline.spans();
    let labels: Vec<&str> = spans.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["child 1", "child 2", "child 3", "child 4"]);
    // Each child waited for the server, so each bar is at least one delay long…
    assert!(spans.iter().all(|s| s.duration() >= delay), "{spans:#?}");
    // …and all four were running at once: every child started before the first one ended.
    let last_start = spans.iter().map(|s| s.start).max().unwrap();
    let first_end = spans.iter().map(|s| s.end).min().unwrap();
    assert!(last_start < first_end, "{spans:#?}");
    // The tasks ran on the runtime's workers (tokio 1.54 names them `tokio-rt-worker`), not on
    // this test's thread.
    let here = common::timeline::current_thread_name();
    assert!(
        spans
            .iter()
            .all(|s| s.thread != here && s.thread.starts_with("tokio-")),
        "{spans:#?}"
    );

    assert!(elapsed >= delay, "{elapsed:?}");
    assert!(
        elapsed < 3 * delay,
        "took {elapsed:?}: one after another would need at least {:?}",
        4 * delay
    );
}

#[test]
fn a_bogus_program_gives_four_errors_not_a_panic() {
    let server = post_server(Duration::ZERO).unwrap();
    let timeline = Timeline::new();
    let results = runtime().block_on(run_children(
        Path::new("/nonexistent/ch01-child"),
        &server.url(POST_PATH),
        CHILDREN,
        &timeline,
        |_| panic!("no child ran, so none can finish"),
    ));

    assert_eq!(results.len(), CHILDREN);
    for result in &results {
        let err = result.as_ref().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{err}");
    }
    assert!(timeline.spans().is_empty(), "no child ran, so no bar");
    assert_eq!(server.request_count(), 0);
}
