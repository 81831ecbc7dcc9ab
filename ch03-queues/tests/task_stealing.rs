//! `task-stealing` run as a reader runs it: the chart the `ch03` binary prints shows `low-0`, the
//! low-priority worker, running polls of high-priority tasks (the demo spawns no other low work).

use common::testing::run;

#[test]
fn the_printed_timeline_shows_low_0_running_high_tasks() {
    let done = run(env!("CARGO_BIN_EXE_ch03"), &["task-stealing"]);
    let stdout = done.expect_success();

    // The legend names each worker's mark: `threads: A = high-0 · B = low-0 · …`.
    let legend = stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("threads: "))
        .unwrap_or_else(|| panic!("no legend in:\n{stdout}"));
    let low_mark = legend
        .split(" · ")
        .find_map(|entry| entry.strip_suffix(" = low-0"))
        .and_then(|mark| mark.chars().next())
        .unwrap_or_else(|| panic!("low-0 ran nothing: {legend}"));

    let high_rows: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("high ") && line.contains(" │"))
        .collect();
    assert_eq!(high_rows.len(), 6, "{stdout}");
    assert!(
        high_rows.iter().any(|row| row
            .split('│')
            .nth(1)
            .is_some_and(|bar| bar.contains(low_mark))),
        "no high row drawn with low-0's mark `{low_mark}`:\n{stdout}"
    );
    assert!(stdout.contains(" on low-0 "), "{stdout}");
}
