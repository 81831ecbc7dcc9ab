//! `connection-process` — the child program of "Introduction to Processes" (the book's
//! `connection_bin`).
//!
//! A process is a whole program with its own memory and its own PID. This one does a single job:
//! fetch one post over HTTP and print it. The next three demos (`spawn-process`,
//! `four-processes-script`, `tokio-process-tasks`) launch it as a child, several at a time, to get
//! the same overlap as the joined requests of "What Is Async?", one process per request.
//!
//! Run it with `cargo run -p ch01 -- connection-process [--url URL]`. Without `--url` it starts
//! its own loopback server and fetches `/posts/1` from it; the parents always pass `--url` of
//! the one server they share. On success it prints the JSON body on stdout and exits 0. On a
//! non-2xx status, or when it cannot connect at all, it returns an error: the demo runner prints
//! the reason on stderr and the process exits with code 1, which is what the parents branch on.
//!
//! Differences from the book: the book's child prints the failure but still exits 0, so its
//! parent reports a failed fetch as a success; ours exits 1. The book's listing also uses a crate
//! named `request` (it is `reqwest`) and needs the internet.

use std::error::Error;
use std::fmt;
use std::time::Duration;

use common::demo::{Args, DemoResult};
use reqwest::StatusCode;

use crate::loopback::Target;

/// How long our own server waits before answering when the demo runs without `--url`.
pub const OWN_SERVER_DELAY: Duration = Duration::from_millis(100);

/// Why the child could not print a post.
#[derive(Debug)]
pub enum FetchError {
    /// The server answered, but with a status outside 2xx.
    Status {
        /// The status the server sent (for example 500).
        status: StatusCode,
        /// The body that came with it, for the error message.
        body: String,
    },
    /// No usable answer: the client could not be built, the connection was refused or broke, or
    /// the body could not be read.
    Request(reqwest::Error),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Status { status, body } => {
                write!(f, "the server answered {status}, not a success status")?;
                let body = body.trim();
                if !body.is_empty() {
                    write!(f, " (body: {body})")?;
                }
                Ok(())
            }
            // The cause (refused, reset, …) is printed by the runner from `source()`.
            FetchError::Request(_) => f.write_str("the request got no usable response"),
        }
    }
}

impl Error for FetchError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            FetchError::Status { .. } => None,
            FetchError::Request(e) => Some(e),
        }
    }
}

impl From<reqwest::Error> for FetchError {
    fn from(e: reqwest::Error) -> Self {
        FetchError::Request(e)
    }
}

/// Fetches `url` once and returns the body if the status is 2xx.
///
/// A process makes exactly one request, so building its one client here costs nothing extra.
pub async fn fetch_post(url: &str) -> Result<String, FetchError> {
    // Book: `reqwest::get(url)`, which builds a client per call and honours proxy variables;
    // the shared constructor bypasses proxies for loopback URLs.
    let client = common::client::client_for(url)?;
    let response = client.get(url).send().await?;
    let status = response.status();
    if status.is_success() {
        Ok(response.text().await?)
    } else {
        // Book: prints the status and still exits 0. We return an error, so the process exits 1
        // and a parent can tell a failed fetch from a good one by the exit code alone.
        let body = response.text().await.unwrap_or_default();
        Err(FetchError::Status { status, body })
    }
}

/// Runs the demo: `connection-process [--url URL]`.
pub fn run(mut args: Args) -> DemoResult {
    let url = args.url()?;
    args.finish()?;

    // The server (when we start one) lives on its own thread; create it outside the runtime.
    let target = Target::new(url, OWN_SERVER_DELAY)?;
    if target.server.is_some() {
        // Only when run by hand: a parent passes `--url` and reads nothing but the body.
        println!("{}", target.describe(OWN_SERVER_DELAY));
    }
    let body = fetch_blocking(&target.url)?;
    println!("{}", body.trim_end());
    Ok(())
}

/// [`fetch_post`] on a small runtime of its own: one request needs one thread.
#[tokio::main(flavor = "current_thread")]
async fn fetch_blocking(url: &str) -> Result<String, FetchError> {
    fetch_post(url).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loopback::{FAIL_PATH, POST_JSON, POST_PATH, post_server};

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn a_good_fetch_returns_the_body() {
        let server = post_server(Duration::ZERO).unwrap();
        let body = block_on(fetch_post(&server.url(POST_PATH))).unwrap();
        assert!(body.contains(r#""id": 1"#), "{body}");
        assert_eq!(body, POST_JSON);
        assert_eq!(server.count(POST_PATH), 1);
    }

    #[test]
    fn a_500_is_an_error_carrying_the_status() {
        let server = post_server(Duration::ZERO).unwrap();
        let err = block_on(fetch_post(&server.url(FAIL_PATH))).unwrap_err();
        match &err {
            FetchError::Status { status, body } => {
                assert_eq!(*status, StatusCode::INTERNAL_SERVER_ERROR);
                assert!(body.contains("failed on purpose"), "{body}");
            }
            other => panic!("expected a status error, got {other:?}"),
        }
        // What the runner prints on stderr, and what `spawn-process` shows as `Error: …`.
        assert!(err.to_string().contains("500"), "{err}");
        assert!(err.source().is_none());
        assert_eq!(server.count(FAIL_PATH), 1);
    }

    #[test]
    fn an_unused_port_is_a_connect_error() {
        // Bind a port, then free it: nothing listens there any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = block_on(fetch_post(&format!("http://127.0.0.1:{port}{POST_PATH}"))).unwrap_err();
        match &err {
            FetchError::Request(e) => assert!(e.is_connect(), "{e:?}"),
            other => panic!("expected a connect error, got {other:?}"),
        }
        assert!(err.source().is_some(), "the cause is kept for the runner");
    }
}
