//! `mio-tcp-server` run as a reader runs it: the default tour, a bad `--serve` address, and
//! `--serve` stopped by Ctrl-C (SIGINT).
//!
//! The unit tests in `src/mio_tcp_server.rs` drive the server future in-process; these run the real
//! binary (`CARGO_BIN_EXE_ch04`) under a watchdog, so a server that never stops fails the test
//! instead of hanging `cargo test`.

use common::testing::run;

const CH04: &str = env!("CARGO_BIN_EXE_ch04");

#[test]
fn the_default_run_prints_each_outcome_and_the_stats() {
    let done = run(CH04, &["mio-tcp-server"]);
    let out = done.expect_success();
    let outcome = |label: &str| -> &str {
        out.lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no `{label}` line in:\n{out}"))
    };
    assert!(outcome("GET /dingo").ends_with("-> 200 OK: that's so dingo!"));
    assert!(outcome("garbage").ends_with("-> 400 Bad Request"));
    assert!(outcome("half-written request").contains("closed by the server after"));
    assert!(outcome("half-written request").contains("idle timeout"));
    assert!(outcome("connect and close").contains("nothing to answer"));
    assert!(outcome("20 KiB header flood").ends_with("-> 431 Request Header Fields Too Large"));
    assert!(outcome("GET /  ").ends_with("-> 200 OK: hello from mio"));
    assert!(
        out.contains(
            "stats: accepted 6, answered 4 (400: 1, 431: 1), rejected 0, timed out 1, closed early 1, open 0"
        ),
        "{out}"
    );
    assert!(
        out.contains("request buffer 8192 bytes (limit 8192)"),
        "{out}"
    );
    assert!(
        out.contains("stopped: the server future completed"),
        "{out}"
    );
}

#[test]
fn a_bad_serve_address_exits_2_with_the_usage() {
    let done = run(CH04, &["mio-tcp-server", "--serve", "not-an-address"]);
    let stderr = done.expect_usage_error();
    assert!(stderr.contains("`--serve not-an-address`"), "{stderr}");
    assert!(
        stderr.contains("usage: cargo run -p ch04 -- mio-tcp-server [--serve ADDR]"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn serve_answers_curl_style_requests_until_sigint_then_exits_0() {
    use ch04::raw_http;
    let (server, addr) = common::testing::serve_on_free_port(
        CH04,
        &["mio-tcp-server", "--serve", "{addr}"],
        "listening on",
    );
    let dingo = raw_http::get(addr, "/dingo").unwrap();
    assert_eq!(
        (dingo.status, dingo.body_text().as_str()),
        (200, "that's so dingo!\n")
    );
    assert_eq!(raw_http::get(addr, "/").unwrap().status, 200);
    let (took, done) = server.interrupt();
    let out = done.expect_success();
    assert!(took < std::time::Duration::from_secs(2), "{took:?}");
    assert!(out.contains("GET /dingo HTTP/1.1 -> 200 OK"), "{out}");
    assert!(out.contains("interrupted: stopped cleanly"), "{out}");
    assert!(out.contains("stats: accepted 2, answered 2"), "{out}");
}
