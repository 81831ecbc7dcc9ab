//! `state-future` run as a reader runs it: ticks follow the switch, ours is polled about once per
//! tick, and the book's self-waking version is polled far more often in a third of the time.

use common::testing::run;

/// The number after `label` in `text`, e.g. `number_after("polled ", "… polled 31 times")`.
fn number_after(text: &str, label: &str) -> usize {
    let start = text
        .find(label)
        .unwrap_or_else(|| panic!("no `{label}` in:\n{text}"))
        + label.len();
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after `{label}` in:\n{text}"))
}

#[test]
fn ours_sleeps_between_wake_ups_and_the_books_spins() {
    let done = run(
        env!("CARGO_BIN_EXE_ch09"),
        &["state-future", "--phase-ms", "60"],
    );
    let out = done.expect_success();
    let lines: Vec<&str> = out.lines().collect();
    // Each phase: only the ticker of the switch's side ticks.
    let phase = |k: usize| {
        lines
            .iter()
            .find(|l| l.contains(["ms  switch On ", "ms  switch Off"][k]))
            .unwrap()
    };
    assert!(phase(0).contains("off-ticker  0 ticks"), "{out}");
    assert!(phase(1).contains("on-ticker  0 ticks"), "{out}");

    let ours = number_after(out, "StateFuture polled ");
    let ticks = number_after(out, " times for ");
    // About one poll per tick plus one per flip; a busy machine may delay ticks, not add polls.
    assert!(ours <= ticks + 6, "{ours} polls for {ticks} ticks:\n{out}");
    let book = number_after(out, "  polled ");
    assert!(
        book > 10 * ours,
        "the book's {book} polls against our {ours}:\n{out}"
    );
}
