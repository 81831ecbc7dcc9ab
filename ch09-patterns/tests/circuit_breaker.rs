//! `circuit-breaker` run as a reader runs it: the book's printout, then the breaker against the
//! flaky server.

use common::testing::run;

#[test]
fn the_demo_prints_the_books_lines_then_opens_refuses_and_closes() {
    let done = run(
        env!("CARGO_BIN_EXE_ch09"),
        // Long enough that call 4, right after call 3, is refused even on a loaded machine (a
        // stall longer than the cool-down would make it the trial instead).
        &["circuit-breaker", "--cooldown-ms", "500"],
    );
    let out = done.expect_success();
    let book: Vec<&str> = out.lines().skip(1).take(6).collect();
    assert_eq!(
        book,
        [
            "passing task running",
            "error task running",
            "error task running",
            "error task running",
            "opening circuit",
            "Error: \"Circuit Open\"",
        ],
        "{out}"
    );
    let part2 = out.split("part 2").nth(1).expect("a part 2");
    for line in [
        "call 3: the server answered 500 Internal Server Error; server count 3",
        "call 4: refused, not sent; server count 3",
        "circuit half-open: letting one trial call through",
        "call 5: \"data\"; server count 4",
    ] {
        assert!(part2.contains(line), "no `{line}` in:\n{out}");
    }
    let states: Vec<&str> = part2
        .lines()
        .skip_while(|l| *l != "transitions:")
        .skip(1)
        .take(4)
        .map(|l| l.split("ms  ").nth(1).unwrap_or(l))
        .collect();
    assert_eq!(
        states,
        [
            "Closed (0 failures in a row)",
            states[1], // `Open (since N ms)`: N is real time
            "HalfOpen (one trial call under way)",
            "Closed (0 failures in a row)"
        ],
        "{out}"
    );
    assert!(states[1].starts_with("Open (since "), "{out}");
}
