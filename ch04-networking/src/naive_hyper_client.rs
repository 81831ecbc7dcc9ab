//! `naive-hyper-client`: hyper's ready-made client, run on our runtime, panics (book section
//! "Integrating hyper into Our Async Runtime").
//!
//! An executor is not enough to do IO. A socket must also be registered with a *reactor*, the
//! part of a runtime that asks the OS which sockets are ready and wakes the tasks waiting on them.
//! hyper's default client stack is built from tokio's pieces (a tokio `TcpStream`, tokio's
//! blocking pool for DNS, `TokioExecutor` to spawn), and each of them looks for a running tokio
//! runtime. Chapter 3's runtime is not one, so the first of them to run panics with "there is no
//! reactor running, must be called from the context of a Tokio 1.x runtime": a tokio
//! `TcpStream` for an IP address, tokio's `spawn_blocking` for a host name to resolve.
//!
//! Run it with `cargo run -p ch04 -- naive-hyper-client [--url URL]`. The panic message appears
//! on stderr (printed by Rust's panic hook on the worker thread); the demo catches the panic
//! inside the task and prints it, then shows that the loopback server never saw a request and that
//! our workers still run tasks. `--url URL` tries that URL: the same panic, nothing sent.
//!
//! How we differ from the book: hyper 1.x has no `hyper::Client`; the same tokio-based stack is
//! hyper-util's legacy `Client` with `TokioExecutor` and its `HttpConnector`. And on our runtime a
//! panicking task re-raises its panic where the task is awaited, so the demo catches it inside the
//! task to print it instead of ending the program.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use bytes::Bytes;
use common::demo::{Args, DemoResult};
use futures_lite::FutureExt as _;
use http_body_util::Empty;
use hyper::{Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::watchdog::run_task;

/// The book's first attempt: a GET through hyper's default client, as its docs show it. Returns
/// the status, if it ever gets one: on our runtime it panics instead.
///
/// Book: `hyper::Client::new()` and `hyper::Body::empty()` (hyper 0.14); `Uri` was used without
/// being imported.
pub async fn naive_get(url: Uri) -> anyhow::Result<hyper::StatusCode> {
    let request = Request::builder()
        .method("GET")
        .uri(url)
        .header("User-Agent", "hyper/1.12")
        .header("Accept", "text/html")
        .body(Empty::<Bytes>::new())?;
    // hyper-util's stack for "just make a request": tokio's executor, tokio's sockets, tokio's DNS.
    // Book: the dependency prose says hyper's `runtime` feature is for custom runtimes. In hyper
    // 0.14 it is the opposite, the tokio integration (`HttpConnector`, `GaiResolver`, tokio's
    // timers and executor): the very stack that panics here.
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let response = client.request(request).await?;
    Ok(response.status())
}

/// What came of running [`naive_get`] in a task of ours.
#[derive(Debug)]
pub enum Outcome {
    /// It finished (it does not, on our runtime).
    Finished(anyhow::Result<hyper::StatusCode>),
    /// It panicked with this message.
    Panicked(String),
}

/// Runs [`naive_get`] in a ch03 task, catching its panic inside the task.
///
/// Book: the task simply panicked. Chapter 3's runtime spawns with async-task's `propagate_panic`,
/// so the panic would come back out of `block_on` and end the demo; catching it inside the task
/// lets us print the message.
pub fn run_naive(url: Uri) -> anyhow::Result<Outcome> {
    let outcome = run_task(TIMEOUT, async move {
        match AssertUnwindSafe(naive_get(url)).catch_unwind().await {
            Ok(result) => Outcome::Finished(result),
            Err(payload) => Outcome::Panicked(panic_message(payload.as_ref())),
        }
    })?;
    Ok(outcome)
}

/// A watchdog, in case a future version of the stack hangs instead of panicking.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The text of a panic payload (`panic!` with a literal gives `&str`, with arguments `String`).
use common::panic::message as panic_message;

/// Runs the demo: `naive-hyper-client [--url URL]`.
pub fn run(mut args: Args) -> DemoResult {
    let url = args.url()?;
    args.finish()?;
    crate::rt::start()?;
    // Book: `http://www.rust-lang.org`; the loopback server keeps the demo offline, and also
    // shows that not a single request got out.
    let (url, server) = crate::loopback::url_or_server(url)?;
    println!("GET {url} with hyper-util's tokio-based client, in a task on chapter 3's runtime");
    println!("(expect a panic message on stderr: the panic hook prints it before we catch it)");

    match run_naive(url.parse()?)? {
        Outcome::Panicked(message) => println!("panicked: {message}"),
        Outcome::Finished(Ok(status)) => println!("unexpectedly got a response: {status}"),
        Outcome::Finished(Err(error)) => {
            println!("unexpectedly failed without panicking: {error:#}")
        }
    }
    if let Some(server) = server {
        println!("server saw {} requests", server.request_count());
    }
    let ran_on = run_task(TIMEOUT, async { common::timeline::current_thread_name() })?;
    println!("our workers are unharmed: the next task ran on {ran_on}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_REACTOR: &str = "there is no reactor running";

    fn panic_text(url: &str) -> String {
        match run_naive(url.parse().unwrap()).unwrap() {
            Outcome::Panicked(message) => message,
            Outcome::Finished(result) => panic!("expected a panic, got {result:?}"),
        }
    }

    #[test]
    fn an_ip_url_panics_in_tokios_tcp_connect_and_nothing_reaches_the_server() {
        let server = crate::loopback::server().unwrap();
        let message = panic_text(&server.url("/"));
        assert!(message.contains(NO_REACTOR), "{message}");
        assert_eq!(server.request_count(), 0);
        // The worker that ran the panicking task, and the others, still take work.
        let after = run_task(TIMEOUT, async { 6 * 7 }).unwrap();
        assert_eq!(after, 42);
    }

    #[test]
    fn a_host_name_panics_in_tokios_blocking_pool_for_dns() {
        let server = crate::loopback::server().unwrap();
        let url = format!("http://localhost:{}/", server.addr().port());
        let message = panic_text(&url);
        assert!(message.contains(NO_REACTOR), "{message}");
        assert_eq!(server.request_count(), 0);
    }

    #[test]
    fn panic_messages_are_read_from_both_payload_types() {
        assert_eq!(panic_message(&"literal"), "literal");
        assert_eq!(panic_message(&String::from("formatted")), "formatted");
        assert_eq!(panic_message(&42), common::panic::NOT_TEXT);
    }
}
