//! `spawn-cost-compare`: the process row needs the real `ch01` binary (`CARGO_BIN_EXE_ch01`);
//! inside a test, `current_exe()` is the test harness. Counts are asserted, ratios are not: they
//! are measurements, recorded in the chapter's README.

use std::path::Path;
use std::time::Duration;

use ch01::spawn_cost_compare::{render_table, time_processes, time_tasks, time_threads};

const CH01: &str = env!("CARGO_BIN_EXE_ch01");
const N: usize = 5;

#[test]
fn every_unit_finishes_and_the_report_has_three_positive_rows() {
    let processes = time_processes(Path::new(CH01), N).unwrap();
    let threads = time_threads(N).unwrap();
    let tasks = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(time_tasks(N));

    let rows = [processes, threads, tasks];
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind).collect();
    assert_eq!(kinds, ["process", "thread", "tokio task"]);
    for row in &rows {
        assert_eq!(row.count, N, "{row:?}");
        assert_eq!(row.completed, N, "every unit finished as expected: {row:?}");
        assert!(row.total > Duration::ZERO, "{row:?}");
        assert!(row.per_unit() > Duration::ZERO, "{row:?}");
    }

    let table = render_table(&rows, &rows[2]);
    assert_eq!(
        table.lines().count(),
        4,
        "a header and three rows:\n{table}"
    );
    for kind in kinds {
        assert!(table.contains(kind), "{table}");
    }
}

#[test]
fn a_missing_program_is_an_error_not_a_panic() {
    let err = time_processes(Path::new("/nonexistent/ch01"), N).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
}

#[cfg(unix)]
#[test]
fn a_child_that_fails_is_not_counted_as_completed() {
    // `false` exits 1 whatever its arguments: five processes start, none completes.
    let row = time_processes(Path::new("false"), N).unwrap();
    assert_eq!((row.count, row.completed), (N, 0));
}
