//! `fetch-and-login` run as a reader runs it: the login line reaches the terminal before the
//! fetched data, and a server that is not httpbin-like gives a clean error.

use common::testing::run;

const CH01: &str = env!("CARGO_BIN_EXE_ch01");

#[test]
fn the_login_line_is_printed_before_the_fetched_data() {
    let done = run(CH01, &["fetch-and-login"]);
    let stdout = done.expect_success();
    let line = |prefix: &str| {
        stdout
            .lines()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line starting with {prefix:?} in {stdout}"))
    };
    assert!(line("Logged in 2 days ago") < line("Fetched url = http://127.0.0.1:"));
    assert!(line("Fetched url = ") < line("Time taken: "));
    assert!(stdout.contains("/delay/5, args = {}"), "{stdout}");
    assert!(stdout.contains("Events in order: login at"), "{stdout}");
    assert!(stdout.contains("threads: A = main · 1 column"), "{stdout}");
}

#[test]
fn a_server_without_the_delay_route_is_an_error_exit_1() {
    // The chapter's post server has no `/delay/5`: 404, reported as such.
    let server = ch01::loopback::post_server(std::time::Duration::ZERO).unwrap();
    let done = run(CH01, &["fetch-and-login", "--url", &server.url("/")]);
    assert_eq!(done.code(), Some(1), "{done:?}");
    assert!(
        done.stderr.contains("error in `fetch-and-login`"),
        "{done:?}"
    );
    assert!(done.stderr.contains("404"), "{done:?}");
    assert_eq!(server.request_count(), 1);

    let done = run(CH01, &["fetch-and-login", "--url", "ftp://example.test"]);
    done.expect_usage_error();
}
