//! The chapter's failing dependency: a loopback server whose `/flaky` route fails on purpose, a
//! scripted number of times, and then answers (helper for `retry-backoff`, `circuit-breaker` and
//! `patterns-combined`).
//!
//! The retry and circuit-breaker sections of the book talk about a server that is overloaded or
//! down. Their listings stand one in with an in-memory function that always fails; we start
//! [`common::http::Server`] on `127.0.0.1` instead, with a scripted route, so the demos make real
//! HTTP requests and the tests can ask the server how many requests really arrived.

use std::io;
use std::time::Duration;

use common::http::{Reply, Server};

/// The path of the scripted route.
pub const FLAKY_PATH: &str = "/flaky";

/// The body `/flaky` answers once it stops failing.
pub const DATA: &str = "data";

/// Starts a server whose `GET /flaky` answers `status` (with a short text body) to the first
/// `failures` requests, and `200` with [`DATA`] to every request after them.
///
/// ```
/// let server = ch09::flaky::flaky_server(2, 503)?;
/// assert_eq!(server.count(ch09::flaky::FLAKY_PATH), 0);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn flaky_server(failures: usize, status: u16) -> io::Result<Server> {
    let failure = Reply::text(format!("failing on purpose ({status})\n")).status(status);
    let mut script = vec![failure; failures];
    script.push(Reply::text(DATA));
    Server::builder()
        .scripted("GET", FLAKY_PATH, script)
        .start()
}

/// Durations as whole milliseconds, for printing and for comparing in tests.
///
/// ```
/// use std::time::Duration;
/// let waits = [Duration::from_millis(50), Duration::from_millis(100)];
/// assert_eq!(ch09::flaky::millis(&waits), [50, 100]);
/// ```
pub fn millis(durations: &[Duration]) -> Vec<u128> {
    durations.iter().map(Duration::as_millis).collect()
}
