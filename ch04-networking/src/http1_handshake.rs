//! `http1-handshake`: hyper's low-level client connection, one level under the `Client` (an extra:
//! the book uses only the high-level client).
//!
//! hyper-util's `Client` is a pool of connections built from `hyper::client::conn::http1`. Used
//! directly, that module shows the two halves of a connection that the pool hides:
//!
//! * `handshake(stream)` returns a `SendRequest`, the handle we send requests through, and a
//!   `Connection`, a future that does the actual reading and writing on the stream. Nothing
//!   happens on the socket until someone polls that future, so it must be handed to an executor:
//!   this is the background future `CustomExecutor` exists for. Without it, `send_request` waits
//!   forever (a test shows it).
//! * The `Host` header is ours to set. The `Client` adds it from the URI; one connection knows
//!   nothing about URIs, so a request without it goes out without it (a test captures the bytes).
//!
//! Run it with `cargo run -p ch04 -- http1-handshake [--url URL]`: two GETs over one
//! `CustomStream` to the loopback server (a new connection only if the server closed the first),
//! printing both statuses and body lengths. `--url URL` takes an http or https URL.

use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use common::demo::{Args, DemoResult};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::{SendRequest, handshake};
use hyper::header::{HOST, HeaderValue};
use hyper::rt::Executor as _;
use hyper::{Request, StatusCode, Uri};

use crate::custom_connector::CustomConnector;
use crate::custom_executor::CustomExecutor;
use crate::watchdog::run_task;

/// Opens a connection to `uri` and runs hyper's HTTP/1 handshake over it; the connection future
/// goes to our executor, the sender comes back.
pub async fn open(
    connector: &CustomConnector,
    uri: &Uri,
) -> anyhow::Result<SendRequest<Empty<Bytes>>> {
    let stream = connector.connect(uri.clone()).await?;
    let (sender, conn) = handshake(stream).await?;
    // The connection future reads and writes the socket for as long as the connection lives.
    // Left unpolled, every request sent through `sender` would wait forever.
    CustomExecutor.execute(conn);
    Ok(sender)
}

/// Sends `GET` for `uri`'s path over an open connection, with `Host` set by hand.
pub async fn get(
    sender: &mut SendRequest<Empty<Bytes>>,
    uri: &Uri,
) -> anyhow::Result<(StatusCode, Bytes)> {
    // Waits until the connection can take a request (the previous response has been read).
    sender.ready().await?;
    let authority = uri.authority().context("the URL names no host")?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let request = Request::get(path)
        // A single connection does not set `Host` (hyper-util's `Client` does): HTTP/1.1 servers
        // require it, and virtual hosts choose the site by it.
        .header(HOST, HeaderValue::from_str(authority.as_str())?)
        .header("User-Agent", "hyper/1.12 (async-rust-book ch04)")
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

/// Two GETs to `uri` over one connection, opening a second only if the server closed the first.
/// Returns, per request, the status, the body length, and whether it reused the connection.
pub async fn two_gets(
    connector: &CustomConnector,
    uri: &Uri,
) -> anyhow::Result<Vec<(StatusCode, usize, bool)>> {
    let mut sender = open(connector, uri).await?;
    let mut results = Vec::with_capacity(2);
    for n in 0..2 {
        let mut reused = n > 0;
        if sender.is_closed() {
            sender = open(connector, uri).await?;
            reused = false;
        }
        let (status, body) = get(&mut sender, uri).await?;
        results.push((status, body.len(), reused));
    }
    Ok(results)
}

/// A watchdog for the whole exchange.
const TIMEOUT: Duration = Duration::from_secs(15);

/// Runs the demo: `http1-handshake [--url URL]`.
pub fn run(mut args: Args) -> DemoResult {
    let url = args.url()?;
    args.finish()?;
    crate::rt::start()?;
    let (url, _server) = crate::loopback::url_or_server(url)?;
    let uri: Uri = url.parse().with_context(|| format!("not a URI: {url}"))?;
    println!("two GETs to {url} over hyper::client::conn::http1, Host set by hand");
    let results = run_task(TIMEOUT, async move {
        two_gets(&CustomConnector::new(), &uri).await
    })??;
    for (n, (status, length, reused)) in results.into_iter().enumerate() {
        let connection = if reused {
            "same connection"
        } else {
            "new connection"
        };
        println!("GET {}: {status}, {length} bytes ({connection})", n + 1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loopback::PAGE;
    use crate::peer;
    use crate::watchdog::{TimedOut, within};

    const WATCHDOG: Duration = Duration::from_secs(10);

    #[test]
    fn a_get_returns_200_and_the_routes_body_twice_over_one_connection() {
        let server = crate::loopback::server().unwrap();
        let uri: Uri = server.url("/").parse().unwrap();
        let results = run_task(WATCHDOG, async move {
            two_gets(&CustomConnector::new(), &uri).await
        })
        .unwrap()
        .unwrap();
        assert_eq!(
            results,
            [
                (StatusCode::OK, PAGE.len(), false),
                (StatusCode::OK, PAGE.len(), true)
            ]
        );
        assert_eq!(server.count("/"), 2);
    }

    #[test]
    fn without_executing_the_connection_send_request_never_finishes() {
        let server = crate::loopback::server().unwrap();
        let uri: Uri = server.url("/").parse().unwrap();
        let limit = Duration::from_millis(200);
        let (unexecuted, executed) = run_task(WATCHDOG, async move {
            let connector = CustomConnector::new();

            // The handshake alone: `conn` is kept but never polled.
            let stream = connector.connect(uri.clone()).await.unwrap();
            let (mut sender, conn) = handshake::<_, Empty<Bytes>>(stream).await.unwrap();
            let unexecuted = within(limit, get(&mut sender, &uri))
                .await
                .map(|r| r.is_ok());
            drop(conn);

            // The same with the connection handed to our executor (a generous limit: finishing
            // is what counts here, not how fast).
            let mut sender = open(&connector, &uri).await.unwrap();
            let executed = within(WATCHDOG, get(&mut sender, &uri)).await;
            (
                unexecuted,
                executed.map(|r| r.map(|(status, _)| status).ok()),
            )
        })
        .unwrap();
        assert_eq!(unexecuted, Err(TimedOut(limit)));
        assert_eq!(executed, Ok(Some(StatusCode::OK)));
        // Only the executed connection's request reached the server.
        assert_eq!(server.count("/"), 1);
    }

    #[test]
    fn a_request_without_host_goes_out_without_it() {
        let peer = peer::spawn(peer::capture_head).unwrap();
        let uri: Uri = peer.url("/no-host").parse().unwrap();
        let status = run_task(WATCHDOG, async move {
            let mut sender = open(&CustomConnector::new(), &uri).await?;
            let request = Request::get("/no-host").body(Empty::<Bytes>::new())?;
            let response = sender.send_request(request).await?;
            anyhow::Ok(response.status())
        })
        .unwrap()
        .unwrap();
        assert_eq!(status, StatusCode::OK);
        let head = peer.result(WATCHDOG).unwrap();
        assert!(head.starts_with("GET /no-host HTTP/1.1\r\n"), "{head}");
        assert!(!head.to_ascii_lowercase().contains("\r\nhost:"), "{head}");
    }

    #[test]
    fn our_get_does_send_host() {
        let peer = peer::spawn(peer::capture_head).unwrap();
        let uri: Uri = peer.url("/with-host").parse().unwrap();
        let expected = format!("host: {}\r\n", peer.addr());
        run_task(WATCHDOG, async move {
            let mut sender = open(&CustomConnector::new(), &uri).await?;
            get(&mut sender, &uri).await
        })
        .unwrap()
        .unwrap();
        let head = peer.result(WATCHDOG).unwrap();
        assert!(head.contains(&expected), "{head}");
    }
}
