//! The chapter's stand-in for the internet: a loopback server that answers like the book's APIs.
//!
//! The book fetches `https://jsonplaceholder.typicode.com/posts/1`. We cannot reach the internet,
//! and a public API's latency changes from run to run, so the request demos start
//! [`common::http::Server`] on `127.0.0.1` with a `/posts/1` route that answers a small JSON post
//! after a delay we choose. The delay *is* the lesson: it stands in for network latency, so the
//! demos can show four awaited requests costing four delays and four joined ones costing one.
//!
//! Every request demo also takes `--url URL`, to point it at any real HTTP/1.0 or 1.1 server
//! instead; [`Target`] chooses between the two.

use std::time::Duration;

use common::demo::{Args, UsageError};
use common::http::{Reply, Server};

/// The body of `/posts/1`: shaped like jsonplaceholder's posts (`userId`, `id`, `title`, `body`).
pub const POST_JSON: &str = r#"{"userId": 1, "id": 1, "title": "waiting is most of the work", "body": "a request spends its time waiting; async lets a thread wait for many at once"}"#;

/// The path of the post every request demo fetches.
pub const POST_PATH: &str = "/posts/1";

/// A route that always fails, for the demos that show the error branch.
pub const FAIL_PATH: &str = "/status/500";

/// Starts the loopback server: `GET /posts/1` answers [`POST_JSON`] after `delay`, and
/// `GET /status/500` answers 500 at once.
pub fn post_server(delay: Duration) -> std::io::Result<Server> {
    Server::builder()
        .route("GET", POST_PATH, Reply::json(POST_JSON).delay(delay))
        .route(
            "GET",
            FAIL_PATH,
            Reply::text("the server failed on purpose").status(500),
        )
        .start()
}

/// How long the server waits before answering (ms) in the request demos of "What Is Async?",
/// unless `--delay-ms` says otherwise: long against a loopback round trip (well under a
/// millisecond), short enough for the whole chapter to run in seconds.
pub const DEFAULT_DELAY_MS: u64 = 100;

/// The longest server delay a demo accepts, so that every demo still finishes quickly.
pub const MAX_DELAY_MS: u64 = 10_000;

/// Reads `--delay-ms D` (default `default_ms`, at most [`MAX_DELAY_MS`]): how long the loopback
/// server waits before answering, standing in for network latency.
///
/// ```
/// use common::demo::Args;
/// use std::time::Duration;
/// let mut args = Args::from_iter(["--delay-ms", "250"]);
/// assert_eq!(ch01::loopback::delay_arg(&mut args, 100).unwrap(), Duration::from_millis(250));
/// assert!(ch01::loopback::delay_arg(&mut Args::from_iter(["--delay-ms", "abc"]), 100).is_err());
/// ```
pub fn delay_arg(args: &mut Args, default_ms: u64) -> Result<Duration, UsageError> {
    let ms = args.value_in("delay-ms", default_ms, 0..=MAX_DELAY_MS)?;
    Ok(Duration::from_millis(ms))
}

/// Where a request demo sends its requests: the reader's `--url`, or our own server.
pub struct Target {
    /// The URL to fetch.
    pub url: String,
    /// Our server, when the reader gave no URL (it stops when the `Target` drops).
    pub server: Option<Server>,
}

impl Target {
    /// The reader's URL if given; otherwise a fresh [`post_server`] and its `/posts/1`.
    pub fn new(url: Option<String>, delay: Duration) -> std::io::Result<Target> {
        match url {
            Some(url) => Ok(Target { url, server: None }),
            None => {
                let server = post_server(delay)?;
                Ok(Target {
                    url: server.url(POST_PATH),
                    server: Some(server),
                })
            }
        }
    }

    /// How many requests our server has answered (`None` against a reader's URL).
    pub fn request_count(&self) -> Option<usize> {
        self.server.as_ref().map(Server::request_count)
    }

    /// A line naming the target, printed by the demos before they start.
    pub fn describe(&self, delay: Duration) -> String {
        match &self.server {
            Some(_) => format!(
                "GET {} (loopback server, answering after {} ms to stand in for network latency)",
                self.url,
                delay.as_millis()
            ),
            None => format!("GET {} (your server)", self.url),
        }
    }
}
