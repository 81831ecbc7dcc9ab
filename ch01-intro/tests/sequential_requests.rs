//! `sequential-requests` run as a reader runs it: the `ch01` binary prints four statuses and a
//! chart whose bars all ran on `main`.

mod support;

use support::run_ch01 as ch01;

#[test]
fn the_demo_draws_four_bars_on_the_main_thread() {
    let output = ch01(&["sequential-requests", "--delay-ms", "50"]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}");
    for k in 1..=4 {
        assert!(stdout.contains(&format!("request {k}: 200 OK")), "{stdout}");
        assert!(stdout.contains(&format!("request {k} │")), "{stdout}");
    }
    assert!(stdout.contains("× one server delay (50.00 ms)"), "{stdout}");
    assert!(stdout.contains("threads: A = main · 1 column"), "{stdout}");
}

#[test]
fn a_bad_delay_exits_2() {
    for bad in ["abc", "99999"] {
        let output = ch01(&["sequential-requests", "--delay-ms", bad]);
        assert_eq!(output.status.code(), Some(2), "--delay-ms {bad}");
        assert!(
            output.stdout.is_empty(),
            "nothing runs before the arguments are checked"
        );
    }
}
