//! `hyper-tokio-server` run as a reader runs it: the default run, a bad `--serve` address, and
//! `--serve` stopped by Ctrl-C (SIGINT). The real binary runs under a watchdog.

use common::testing::run;

const CH04: &str = env!("CARGO_BIN_EXE_ch04");

#[test]
fn the_default_run_gets_three_hello_worlds_then_stops() {
    let done = run(CH04, &["hyper-tokio-server"]);
    let out = done.expect_success();
    assert_eq!(out.matches(": 200 OK: Hello, World!").count(), 3, "{out}");
    assert!(out.contains("the accept loop ended after"), "{out}");
    assert!(out.contains("3 request(s) over 1 connection(s)"), "{out}");
}

#[test]
fn a_bad_serve_address_exits_2_with_the_usage() {
    let done = run(CH04, &["hyper-tokio-server", "--serve", "3000"]);
    let stderr = done.expect_usage_error();
    assert!(stderr.contains("`--serve 3000`"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn serve_answers_until_sigint_then_exits_0() {
    let (server, addr) = common::testing::serve_on_free_port(
        CH04,
        &["hyper-tokio-server", "--serve", "{addr}"],
        "listening on",
    );
    let hello = ch04::raw_http::get(addr, "/").unwrap();
    assert_eq!(
        (hello.status, hello.body_text().as_str()),
        (200, "Hello, World!")
    );
    let (took, done) = server.interrupt();
    let out = done.expect_success();
    assert!(took < std::time::Duration::from_secs(2), "{took:?}");
    assert!(
        out.contains("interrupted: the accept loop ended after 1 connection(s), 1 request(s)"),
        "{out}"
    );
}
