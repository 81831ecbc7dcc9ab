//! `sequential-requests` run as a reader runs it: the `ch01` binary prints four statuses and a
//! chart whose bars all ran on `main`.

use common::testing::run;

const CH01: &str = env!("CARGO_BIN_EXE_ch01");

#[test]
fn the_demo_draws_four_bars_on_the_main_thread() {
    let done = run(CH01, &["sequential-requests", "--delay-ms", "50"]);
    let stdout = done.expect_success();
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
        let done = run(CH01, &["sequential-requests", "--delay-ms", bad]);
        let stderr = done.expect_usage_error();
        assert!(stderr.contains(&format!("--delay-ms {bad}")), "{stderr}");
        assert_eq!(
            done.stdout, "",
            "nothing runs before the arguments are checked"
        );
    }
}
