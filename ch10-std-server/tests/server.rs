//! `server` and `client` as a reader runs them: two processes talking over loopback.

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::testing::{Run, run, serve_on_free_port};

const BIN: &str = env!("CARGO_BIN_EXE_ch10");

#[test]
fn a_client_process_talks_to_a_server_process() {
    // Port 0: the server prints the port it got, and the client reads it from there.
    let server = Run::new(BIN)
        .args(&[
            "server",
            "--addr",
            "127.0.0.1:0",
            "--work-ms",
            "20",
            "--quiet",
        ])
        .start("Server listening on")
        .expect("the server starts");
    let addr = server
        .lines()
        .iter()
        .find_map(|l| l.strip_prefix("Server listening on "))
        .expect("the address line")
        .trim()
        .to_string();
    let done = run(BIN, &["client", "--addr", &addr, "--requests", "50"]);
    let out = done.expect_success();
    assert!(out.contains("50/50 replies matched"), "{out}");
    // Ctrl-C: SIGINT's default action ends the server at once.
    #[cfg(unix)]
    {
        let (took, ended) = server.interrupt();
        assert!(took < Duration::from_secs(5), "{took:?}");
        assert!(!ended.success(), "SIGINT ends the process");
    }
}

#[test]
fn the_server_serves_on_a_given_address_until_killed() {
    let (server, addr) = serve_on_free_port(
        BIN,
        &["server", "--addr", "{addr}", "--quiet"],
        "Server listening on",
    );
    let addr = addr.to_string();
    for _ in 0..2 {
        let done = run(
            BIN,
            &["client", "--addr", &addr, "--requests", "20", "--show", "1"],
        );
        assert!(done.expect_success().contains("20/20 replies matched"));
    }
    drop(server); // killed
}

#[test]
fn a_bad_address_is_a_usage_error() {
    let done = run(BIN, &["server", "--addr", "not-an-address"]);
    assert!(
        done.expect_usage_error().contains("addr"),
        "{}",
        done.stderr
    );
    let done = run(BIN, &["client", "--addr", "localhost"]);
    done.expect_usage_error();
}

#[test]
fn a_client_without_a_server_fails_with_a_nonzero_status() {
    let addr = common::testing::free_local_addr().to_string(); // nothing listens there
    let done = run(BIN, &["client", "--addr", &addr, "--requests", "3"]);
    assert_eq!(done.code(), Some(1), "{}\n{}", done.stdout, done.stderr);
    assert!(
        done.stdout.contains("0/3 replies matched"),
        "{}",
        done.stdout
    );
    assert!(done.stdout.contains("request 0 failed"), "{}", done.stdout);
}

#[test]
fn the_self_tests_pass() {
    let out = run(BIN, &["server", "--quiet"]);
    assert!(
        out.expect_success().contains("12/12 replies"),
        "{}",
        out.stdout
    );
    let out = run(BIN, &["client"]);
    assert!(
        out.expect_success().contains("200/200 replies matched"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_silent_client_is_closed_at_the_idle_timeout() {
    // A process of its own, so the silent connection is the only socket its reactor polls: the
    // close must reach the client even though no other event wakes the reactor.
    let (server, addr) = serve_on_free_port(
        BIN,
        &["server", "--addr", "{addr}", "--idle-ms", "200", "--quiet"],
        "Server listening on",
    );
    let mut silent = TcpStream::connect(addr).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let started = Instant::now();
    let mut byte = [0u8; 1];
    let read = silent.read(&mut byte);
    let took = started.elapsed();
    assert!(
        matches!(read, Ok(0)),
        "expected end of stream, got {read:?} after {took:?}"
    );
    assert!(took >= Duration::from_millis(150), "{took:?}");
    assert!(took < Duration::from_secs(2), "closed only after {took:?}");
    drop(server);
}
