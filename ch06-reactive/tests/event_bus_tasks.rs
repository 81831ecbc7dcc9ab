//! `event-bus-tasks` run through the chapter binary on a real 2-worker runtime: the book's six
//! `id: x value: y` lines, each consumer's in order, and the chamber emptied by the collector.
//!
//! The exact timings (the chamber before and after the collector's pass) are checked on tokio's
//! paused clock in `src/event_bus_tasks.rs`; here the collector's period is long compared with
//! the sends, so the real-time run has ample margin.

use common::testing::run;

const CH06: &str = env!("CARGO_BIN_EXE_ch06");

#[test]
fn two_consumers_print_the_three_events_each_and_the_chamber_ends_empty() {
    let done = run(
        CH06,
        &["event-bus-tasks", "--period-ms", "400", "--gap-ms", "0"],
    );
    let stdout = done.expect_success();
    for id in ["0", "1"] {
        let mine: Vec<&str> = stdout
            .lines()
            .filter(|l| l.starts_with(&format!("id: {id} ")))
            .collect();
        assert_eq!(
            mine,
            [
                format!("id: {id} value: 1"),
                format!("id: {id} value: 2"),
                format!("id: {id} value: 3")
            ],
            "{stdout}"
        );
    }
    let chamber_before = stdout.find("{0: [], 1: []}").expect(stdout);
    let chamber_after = stdout.find("{}   <-").expect(stdout);
    assert!(chamber_before < chamber_after);
    assert!(stdout.contains("garbage collector removed the queues of ids [0, 1]"));
}
