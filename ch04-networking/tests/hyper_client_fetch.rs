//! `hyper-client-fetch` run as a reader runs it: the `ch04` binary fetches the loopback page on
//! chapter 3's runtime, then draws eight overlapping fetches on chapter 3's worker threads.

use common::testing::run;

const CH04: &str = env!("CARGO_BIN_EXE_ch04");

#[test]
fn the_demo_prints_the_page_and_eight_overlapping_fetches_on_ch03_workers() {
    let done = run(CH04, &["hyper-client-fetch"]);
    let stdout = done.expect_success();
    assert!(stdout.contains("Response status: 200 OK\n"), "{stdout}");
    assert!(
        stdout.contains("content-type: text/html; charset=utf-8\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("<title>Rust Programming Language</title>"),
        "{stdout}"
    );
    assert!(
        stdout.contains("statuses: [200, 200, 200, 200, 200, 200, 200, 200]"),
        "{stdout}"
    );

    let rows: Vec<&str> = stdout.lines().filter(|l| l.contains(" │")).collect();
    assert_eq!(rows.len(), 8, "{stdout}");
    for (k, row) in (1..=8).zip(&rows) {
        assert!(row.starts_with(&format!("fetch {k} │")), "{stdout}");
        // Each bar covers most of the chart: the eight fetches overlap. Eight fetches one after
        // another would each cover an eighth; a third leaves room for a busy machine.
        let bar = row.split('│').nth(1).unwrap();
        let width = bar.chars().count();
        let filled = bar.chars().filter(|c| !c.is_whitespace()).count();
        assert!(3 * filled > width, "{stdout}");
    }
    // The bars' threads are chapter 3's workers, named high-N and low-N.
    let legend = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("threads: "))
        .expect("the chart's legend");
    let threads: Vec<&str> = legend
        .trim_start()
        .trim_start_matches("threads: ")
        .split(" · ")
        .filter(|entry| !entry.starts_with("1 column"))
        .filter_map(|entry| entry.split(" = ").nth(1))
        .collect();
    assert!(!threads.is_empty(), "{legend}");
    for name in threads {
        assert!(
            name.starts_with("high-") || name.starts_with("low-"),
            "{legend}"
        );
    }
    assert!(
        stdout.contains("executor: spawned hyper background task"),
        "{stdout}"
    );
}

#[test]
fn a_url_that_is_not_http_is_a_usage_error() {
    let done = run(CH04, &["hyper-client-fetch", "--url", "ftp://x"]);
    let stderr = done.expect_usage_error();
    assert!(stderr.contains("`--url ftp://x`"), "{stderr}");
    assert!(
        stderr.contains("usage: cargo run -p ch04 -- hyper-client-fetch [--url URL]"),
        "{stderr}"
    );
}
