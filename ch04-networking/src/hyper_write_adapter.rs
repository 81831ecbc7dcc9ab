//! `hyper-write-adapter`: `CustomStream` implements hyper's write trait (book section
//! "Implementing the Tokio AsyncWrite Trait").
//!
//! Writing is three polls, and each may have to wait for the socket to become writable:
//!
//! * `poll_write` writes *some* of the buffer and returns how much, possibly less than all of it
//!   (the caller, here hyper, calls again with the rest). When the socket's send buffer is full,
//!   the OS says `WouldBlock`; the inner stream then registers the waker with the reactor and
//!   returns `Pending`. Any other error is returned as `Ready(Err)`.
//! * `poll_flush` pushes out whatever the stream itself still buffers (a TLS session holds
//!   encrypted records; a plain TCP stream holds nothing and is ready at once).
//! * `poll_shutdown` closes the write half: for TLS it first sends `close_notify`, then the TCP
//!   stream sends FIN. The peer's read returns 0, "end of request", while we can still read its
//!   reply on the other half.
//!
//! Run it with `cargo run -p ch04 -- hyper-write-adapter [--url URL]`: it writes a request in two
//! halves to an in-process std peer that reads until end of stream and answers with the number
//! of bytes it read, flushes, half-closes, and reads the answer. (Not to `common`'s loopback
//! server: hyper's server, by default, drops a request whose client half-closed before the reply,
//! "connection closed before message completed".) With `--url URL` it writes a `GET` with
//! `Connection: close` instead, without half-closing, and prints the status line.
//!
//! How we differ from the book: hyper 1.x's trait is `hyper::rt::Write` (tokio's `AsyncWrite`
//! before); our TLS shutdown also closes the TCP write half (`close_write`, below `poll_shutdown`).

use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use anyhow::Context as _;
use common::demo::{Args, DemoResult};
use futures_lite::io::AsyncWrite;
use hyper::Uri;
use hyper::rt::Write;

use crate::custom_connector::{CustomConnector, CustomStream};
use crate::hyper_read_adapter::read_to_end;
use crate::watchdog::run_task;

// Book: `impl tokio::io::AsyncWrite`; hyper 1.x has its own trait with the same three methods.
impl hyper::rt::Write for CustomStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        // Book: the prose says the inner `poll_write` loops until the whole buffer is written and
        // that `WouldBlock` is retried. One successful write, possibly partial, ends the poll;
        // `WouldBlock` registers the waker and returns `Pending`; other errors are `Ready(Err)`.
        match &mut *self {
            CustomStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            CustomStream::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut *self {
            CustomStream::Plain(s) => Pin::new(s).poll_flush(cx),
            CustomStream::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut *self {
            CustomStream::Plain(s) => {
                // Async<TcpStream> writes straight to the socket: nothing to flush first.
                // Book: the same direct `shutdown(Shutdown::Write)`, which looks like a bypass of
                // the async type but is needed: smol's `poll_close` only flushes, so calling it
                // instead would never tell the peer that the request is complete.
                close_write(s.get_ref())?;
                Poll::Ready(Ok(()))
            }
            CustomStream::Tls(s) => {
                // Sends `close_notify` and flushes the session; then the TCP half, as for `Plain`.
                ready!(Pin::new(&mut **s).poll_close(cx))?;
                // Book: stopped at `poll_close`, which for smol's `Async` only flushes, so the peer
                // saw `close_notify` but never a FIN; closing the TCP half too ends both layers.
                close_write(s.get_ref().0.get_ref())?;
                Poll::Ready(Ok(()))
            }
        }
    }
}

/// Shuts down the write half of a TCP socket: the peer reads end of stream, we can still read.
///
/// This is the book's `Plain` shutdown, and it is right to bypass the async type: smol's `Async`
/// has no shutdown of its own (its `poll_close` only flushes), and `shutdown` never blocks.
/// `NotConnected` means the peer has already closed both halves; then there is nothing to do.
fn close_write(tcp: &std::net::TcpStream) -> io::Result<()> {
    match tcp.shutdown(Shutdown::Write) {
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
        other => other,
    }
}

/// Writes all of `bytes` through `hyper::rt::Write`, calling `poll_write` as often as it takes;
/// returns how many calls wrote something.
pub async fn write_all(stream: &mut CustomStream, mut bytes: &[u8]) -> io::Result<usize> {
    let mut writes = 0;
    while !bytes.is_empty() {
        let written = poll_fn(|cx| Pin::new(&mut *stream).poll_write(cx, bytes)).await?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[written..];
        writes += 1;
    }
    Ok(writes)
}

/// `poll_flush` until done.
pub async fn flush(stream: &mut CustomStream) -> io::Result<()> {
    poll_fn(|cx| Pin::new(&mut *stream).poll_flush(cx)).await
}

/// `poll_shutdown` until done: the write half is closed.
pub async fn shutdown(stream: &mut CustomStream) -> io::Result<()> {
    poll_fn(|cx| Pin::new(&mut *stream).poll_shutdown(cx)).await
}

/// What the demo's half-closing exchange did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// Bytes we wrote.
    pub written: usize,
    /// `poll_write` calls that wrote something.
    pub writes: usize,
    /// The peer's answer, read after our half-close.
    pub answer: String,
}

/// Writes `first` and `second` (one `write_all` each), flushes, half-closes, reads the answer.
pub async fn write_then_half_close(
    stream: &mut CustomStream,
    first: &[u8],
    second: &[u8],
) -> io::Result<Exchange> {
    let writes = write_all(stream, first).await? + write_all(stream, second).await?;
    flush(stream).await?;
    shutdown(stream).await?;
    let (answer, _) = read_to_end(stream, 1024).await?;
    Ok(Exchange {
        written: first.len() + second.len(),
        writes,
        answer: String::from_utf8_lossy(&answer).into_owned(),
    })
}

/// A watchdog for each exchange.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the demo: `hyper-write-adapter [--url URL]`.
pub fn run(mut args: Args) -> DemoResult {
    let url = args.url()?;
    args.finish()?;
    match url {
        Some(url) => get_with_connection_close(&url),
        None => half_close_demo(),
    }
}

/// The default run: a request in two writes to a std peer that reads to end of stream.
fn half_close_demo() -> DemoResult {
    let peer = crate::peer::spawn(crate::peer::answer_with_count)?;
    let uri: Uri = peer.url("/").parse()?;
    println!(
        "writing to a std peer at {} that reads until end of stream",
        peer.addr()
    );
    let exchange = run_task(EXCHANGE_TIMEOUT, async move {
        let mut stream = CustomConnector::new().connect(uri).await?;
        let request = b"POST /upload HTTP/1.1\r\nHost: peer\r\n\r\nthat's so dingo!";
        let (first, second) = request.split_at(request.len() / 2);
        anyhow::Ok(write_then_half_close(&mut stream, first, second).await?)
    })??;
    let received = peer.result(EXCHANGE_TIMEOUT)?;
    println!(
        "wrote {} bytes in {} writes, flushed, half-closed; the peer's answer: {}",
        exchange.written, exchange.writes, exchange.answer
    );
    println!(
        "the peer's read returned 0 after {} bytes: end of request; we still read its answer",
        received.len()
    );
    Ok(())
}

/// `--url URL`: a `GET` with `Connection: close`, no half-close; the server ends the stream.
fn get_with_connection_close(url: &str) -> DemoResult {
    let uri: Uri = url.parse().with_context(|| format!("not a URI: {url}"))?;
    let authority = uri
        .authority()
        .context("the URL names no host")?
        .to_string();
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: ch04-hyper-write-adapter\r\n\
         Connection: close\r\n\r\n"
    );
    println!("GET {url} with Connection: close (no half-close: a web server would drop it)");
    let (writes, response) = run_task(EXCHANGE_TIMEOUT, async move {
        let mut stream = CustomConnector::new().connect(uri).await?;
        let writes = write_all(&mut stream, request.as_bytes()).await?;
        flush(&mut stream).await?;
        let (response, _) = read_to_end(&mut stream, 8 * 1024).await?;
        anyhow::Ok((writes, response))
    })??;
    let text = String::from_utf8_lossy(&response);
    println!("request written in {writes} write(s)");
    println!(
        "status line: {}",
        text.lines().next().unwrap_or("(empty response)")
    );
    println!("response: {} bytes", response.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::{self, answer_with_count, patterned};
    use crate::tls_fixture::TlsServer;
    use futures_lite::future;
    use std::task::Waker;

    const WATCHDOG: Duration = Duration::from_secs(10);

    fn within_watchdog<T>(future: impl Future<Output = T>) -> T {
        future::block_on(crate::watchdog::within(WATCHDOG, future)).expect("the exchange hung")
    }

    /// 100 KiB through a `poll_write` loop, a flush, a half-close, then the peer's answer.
    fn exchange(stream: &mut CustomStream, payload: &[u8]) -> String {
        within_watchdog(async {
            let writes = write_all(stream, payload).await.unwrap();
            assert!(writes >= 1);
            // Flushing after the writes has nothing left to wait for: ready on the first poll.
            let flushed =
                Pin::new(&mut *stream).poll_flush(&mut Context::from_waker(Waker::noop()));
            assert!(matches!(flushed, Poll::Ready(Ok(()))), "{flushed:?}");
            shutdown(stream).await.unwrap();
            let (answer, _) = read_to_end(stream, 1024).await.unwrap();
            String::from_utf8(answer).unwrap()
        })
    }

    #[test]
    fn a_hundred_kib_arrive_intact_and_the_half_close_ends_the_request() {
        let payload = patterned(100 * 1024);
        let peer = peer::spawn(answer_with_count).unwrap();
        let mut stream =
            within_watchdog(CustomConnector::new().connect(peer.url("/").parse().unwrap()))
                .unwrap();

        let answer = exchange(&mut stream, &payload);

        // The peer's `read_to_end` returned, so its read saw 0 after our shutdown; its answer
        // still reached us on the other half.
        assert_eq!(answer, "peer read 102400 bytes");
        assert_eq!(peer.result(WATCHDOG).unwrap(), payload);
    }

    #[test]
    fn the_same_through_tls() {
        let payload = patterned(100 * 1024);
        let (report, received) = flume::bounded(1);
        let server = TlsServer::start(move |conn| {
            // rustls reads `close_notify` as a clean end of stream.
            let _ = report.send(answer_with_count(conn)?);
            Ok(())
        });
        let connector = CustomConnector::with_roots(server.roots());
        let mut stream =
            within_watchdog(connector.connect(server.url("127.0.0.1", "/").parse().unwrap()))
                .unwrap();
        assert!(matches!(stream, CustomStream::Tls(_)));

        let answer = exchange(&mut stream, &payload);

        assert_eq!(answer, "peer read 102400 bytes");
        assert_eq!(received.recv_timeout(WATCHDOG).unwrap(), payload);
    }

    #[test]
    fn a_plain_shutdown_sends_fin_so_a_std_read_returns_zero() {
        // The peer checks the 0 itself: one `read` after our request, and it must be end of stream.
        let peer = peer::spawn(|s| {
            let mut request = [0u8; 5];
            std::io::Read::read_exact(s, &mut request)?;
            let mut after = [0u8; 1];
            std::io::Read::read(s, &mut after)
        })
        .unwrap();
        let mut stream =
            within_watchdog(CustomConnector::new().connect(peer.url("/").parse().unwrap()))
                .unwrap();
        within_watchdog(async {
            write_all(&mut stream, b"hello").await.unwrap();
            shutdown(&mut stream).await.unwrap();
        });
        assert_eq!(peer.result(WATCHDOG).unwrap(), 0);
    }

    #[test]
    fn the_demo_writes_in_two_halves_and_reads_the_count() {
        crate::rt::start().unwrap();
        let peer = peer::spawn(answer_with_count).unwrap();
        let mut stream =
            within_watchdog(CustomConnector::new().connect(peer.url("/").parse().unwrap()))
                .unwrap();
        let exchange =
            within_watchdog(write_then_half_close(&mut stream, b"abc", b"defg")).unwrap();
        assert_eq!(
            exchange,
            Exchange {
                written: 7,
                writes: 2,
                answer: "peer read 7 bytes".into()
            }
        );
        assert_eq!(peer.result(WATCHDOG).unwrap(), b"abcdefg");
        half_close_demo().unwrap();
    }
}
