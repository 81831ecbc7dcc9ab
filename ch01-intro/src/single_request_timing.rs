//! `single-request-timing`: one awaited GET, timed (book section "What Is Async?").
//!
//! Before it compares awaiting requests one by one with joining them, the book measures the unit
//! of cost: a single HTTP request. Almost all of that time is spent waiting for the server, with the
//! CPU idle, and that idle time is exactly what async code can hand to other work. The next two
//! demos, `sequential-requests` and `joined-requests`, either add this cost up four times or pay
//! it about once.
//!
//! Run it with `cargo run -p ch01 -- single-request-timing [--url URL] [--delay-ms D]`. Without
//! `--url` it starts the chapter's loopback server, whose `/posts/1` answers after D ms (default
//! 100) to stand in for network latency. You will see the URL, the status (`200 OK`), the size of
//! the body and the post's `id`, and `Request took … ms`: a little over D, since the delay is a
//! lower bound and the rest is the loopback round trip. With `--url` it fetches your URL instead
//! (offline, that fails with an error message, not a panic).
//!
//! How we differ from the book: its dependency block names a crate `request` (the HTTP client is
//! `reqwest`; the `request` on crates.io is an unrelated crate) at 0.11, and it needs the internet.
//! We build one client through `common::client::client_for`, before the clock starts, instead of
//! `reqwest::get`, and our timing covers the whole exchange, body included.

use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};
use common::timeline::format_duration;
use reqwest::{Client, StatusCode};

use crate::loopback::{DEFAULT_DELAY_MS, Target, delay_arg};

/// What one timed request brought back.
#[derive(Debug, Clone)]
pub struct Timed {
    /// The status the server answered with.
    pub status: StatusCode,
    /// The body, as text.
    pub body: String,
    /// From just before the request was sent until the whole body had arrived.
    pub elapsed: Duration,
}

/// Sends one GET to `url` with `client` and measures how long the exchange took.
///
/// The status is reported, not judged: a `404` is a successful *measurement*. Only a failure to
/// get any response (refused connection, broken body) is an error.
pub async fn time_request(client: &Client, url: &str) -> Result<Timed, reqwest::Error> {
    let start = Instant::now();
    // Book: `reqwest::get(url)`, which builds a new client (connection pool, TLS setup) inside the
    // timed region on every call. Our client is made once, before the clock starts, and reused.
    let response = client.get(url).send().await?;
    let status = response.status();
    // Book: stops the clock when the status line and headers are in and never reads the body.
    // We read it too: the post is what we asked for, and it is part of the wait.
    let body = response.text().await?;
    Ok(Timed {
        status,
        body,
        elapsed: start.elapsed(),
    })
}

/// The `id` field of a JSON body such as our `/posts/1`, if the body is JSON and has one.
pub fn post_id(body: &str) -> Option<u64> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    value.get("id")?.as_u64()
}

/// Runs the demo: `single-request-timing [--url URL] [--delay-ms D]`.
pub fn run(mut args: Args) -> DemoResult {
    let url = args.url()?;
    let delay = delay_arg(&mut args, DEFAULT_DELAY_MS)?;
    args.finish()?;

    // The server (when we start one) runs on a thread of its own; it is made, and later dropped,
    // outside the demo's runtime.
    let target = Target::new(url, delay)?;
    let client = common::client::client_for(&target.url)?;
    println!("{}", target.describe(delay));

    let timed = demo(&client, &target.url)?;
    println!("Status: {}", timed.status);
    match post_id(&timed.body) {
        Some(id) => println!("Body: {} bytes of JSON, post id {id}", timed.body.len()),
        None => println!("Body: {} bytes", timed.body.len()),
    }
    println!("Request took {} ms", timed.elapsed.as_millis());
    if target.server.is_some() {
        println!(
            "The server waited {} of that; the rest ({}) is the loopback round trip and our own work.",
            format_duration(delay),
            format_duration(timed.elapsed.saturating_sub(delay))
        );
    }
    Ok(())
}

/// One request on a single-threaded runtime: one request needs no more.
#[tokio::main(flavor = "current_thread")]
async fn demo(client: &Client, url: &str) -> Result<Timed, reqwest::Error> {
    time_request(client, url).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loopback::POST_JSON;

    #[tokio::test]
    async fn one_request_costs_at_least_the_server_delay() {
        let delay = Duration::from_millis(100);
        let target = Target::new(None, delay).unwrap();
        let client = common::client::client_for(&target.url).unwrap();

        let timed = time_request(&client, &target.url).await.unwrap();

        assert_eq!(timed.status, StatusCode::OK);
        assert_eq!(post_id(&timed.body), Some(1));
        assert_eq!(timed.body, POST_JSON);
        assert!(timed.elapsed >= delay, "{:?} < {delay:?}", timed.elapsed);
        assert_eq!(target.request_count(), Some(1));
    }

    #[tokio::test]
    async fn a_refused_connection_is_an_error_not_a_panic() {
        // Bind a port, then free it: nothing listens there any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/posts/1");
        let client = common::client::client_for(&url).unwrap();
        let err = time_request(&client, &url).await.unwrap_err();
        assert!(err.is_connect(), "{err:?}");
    }

    #[test]
    fn delay_arg_has_a_default_a_range_and_rejects_garbage() {
        let mut args = Args::from_iter([]);
        assert_eq!(
            delay_arg(&mut args, DEFAULT_DELAY_MS).unwrap(),
            Duration::from_millis(100)
        );
        let mut args = Args::from_iter(["--delay-ms", "250"]);
        assert_eq!(
            delay_arg(&mut args, DEFAULT_DELAY_MS).unwrap(),
            Duration::from_millis(250)
        );
        args.finish().unwrap();
        for bad in ["abc", "-1", "10001"] {
            let mut args = Args::from_iter(["--delay-ms", bad]);
            assert!(
                delay_arg(&mut args, DEFAULT_DELAY_MS).is_err(),
                "--delay-ms {bad}"
            );
        }
    }

    #[test]
    fn post_id_reads_json_ids_and_ignores_anything_else() {
        assert_eq!(post_id(POST_JSON), Some(1));
        assert_eq!(post_id(r#"{"id": 42}"#), Some(42));
        assert_eq!(post_id(r#"{"title": "no id"}"#), None);
        assert_eq!(post_id("<html>not json</html>"), None);
        assert_eq!(post_id(""), None);
    }
}
