//! `single-request-timing` run as a reader runs it: the `ch01` binary, its output and exit codes.

use common::testing::run;

const CH01: &str = env!("CARGO_BIN_EXE_ch01");

#[test]
fn the_demo_prints_the_status_and_a_time_of_at_least_the_delay() {
    let done = run(CH01, &["single-request-timing", "--delay-ms", "50"]);
    let stdout = done.expect_success();
    assert!(stdout.contains("Status: 200 OK"), "{stdout}");
    assert!(stdout.contains("post id 1"), "{stdout}");
    let took: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Request took ")?.strip_suffix(" ms"))
        .expect("a `Request took … ms` line")
        .parse()
        .unwrap();
    assert!(took >= 50, "{stdout}");
}

#[test]
fn bad_arguments_exit_2_and_an_unreachable_url_exits_1() {
    let done = run(CH01, &["single-request-timing", "--delay-ms", "abc"]);
    let stderr = done.expect_usage_error();
    assert!(stderr.contains("--delay-ms abc"), "{stderr}");
    assert!(stderr.contains("usage:"), "{stderr}");

    // A port nobody listens on: the request fails, and the demo reports it instead of panicking.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/posts/1");
    let done = run(CH01, &["single-request-timing", "--url", &url]);
    assert_eq!(done.code(), Some(1), "{done:?}");
    assert!(
        done.stderr.contains("error in `single-request-timing`"),
        "{done:?}"
    );
    assert!(!done.stderr.contains("panicked"), "{done:?}");
}
