//! Helper: the chapter's stand-in for `https://www.rust-lang.org`, a loopback HTTP server.
//!
//! The book's hyper demos fetch rust-lang.org. We stay offline: the demos and tests start
//! [`common::http::Server`] on `127.0.0.1` with the routes below, and every hyper demo takes
//! `--url URL` to fetch a real page instead (`https://` works, through rustls).

use std::time::Duration;

use common::http::{Reply, Server};

/// The page at `/`: a small HTML document standing in for rust-lang.org's front page.
pub const PAGE: &str = "<!DOCTYPE html>\n<html lang=\"en\">\n<head><title>Rust Programming Language</title></head>\n<body>\n<h1>Rust</h1>\n<p>A language empowering everyone to build reliable and efficient software.</p>\n<p>This page is served by the chapter's loopback server, standing in for https://www.rust-lang.org so that the demos run offline.</p>\n</body>\n</html>\n";

/// A route that answers [`SLOW_BODY`] after [`SLOW_DELAY`]: the concurrent-fetch demo's work.
pub const SLOW_PATH: &str = "/slow";

/// The body of [`SLOW_PATH`].
pub const SLOW_BODY: &str = "worth the wait";

/// How long [`SLOW_PATH`] waits before answering, standing in for network latency.
pub const SLOW_DELAY: Duration = Duration::from_millis(100);

/// Starts the loopback server: `GET /` answers [`PAGE`] at once, `GET /slow` answers
/// [`SLOW_BODY`] after [`SLOW_DELAY`]; any other path is a 404.
pub fn server() -> std::io::Result<Server> {
    Server::builder()
        .route("GET", "/", Reply::html(PAGE))
        .route("GET", SLOW_PATH, Reply::text(SLOW_BODY).delay(SLOW_DELAY))
        .start()
}

/// The URL a demo fetches: the reader's `--url`, or `/` on a fresh loopback [`server`], returned
/// beside it so it keeps serving until the demo drops it.
pub fn url_or_server(url: Option<String>) -> std::io::Result<(String, Option<Server>)> {
    match url {
        Some(url) => Ok((url, None)),
        None => {
            let server = server()?;
            Ok((server.url("/"), Some(server)))
        }
    }
}
