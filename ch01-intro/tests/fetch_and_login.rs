//! `fetch-and-login` run as a reader runs it: the login line reaches the terminal before the
//! fetched data, and a server that is not httpbin-like gives a clean error.

mod support;

use support::run_ch01 as ch01;

#[test]
fn the_login_line_is_printed_before_the_fetched_data() {
    let output = ch01(&["fetch-and-login"]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}");
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
    let output = ch01(&["fetch-and-login", "--url", &server.url("/")]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("error in `fetch-and-login`"), "{stderr}");
    assert!(stderr.contains("404"), "{stderr}");
    assert_eq!(server.request_count(), 1);

    let output = ch01(&["fetch-and-login", "--url", "ftp://example.test"]);
    assert_eq!(output.status.code(), Some(2));
}
