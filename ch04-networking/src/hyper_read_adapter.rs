//! `hyper-read-adapter`: `CustomStream` implements hyper's read trait (book section "Implementing
//! the Tokio AsyncRead Trait").
//!
//! hyper reads through a trait of its own, `hyper::rt::Read`, so that it does not depend on any
//! runtime's IO traits. Our stream's variants implement the `futures-io` `AsyncRead` of smol and
//! futures-rustls instead; the adapter is the few lines that translate one into the other. Two
//! rules make it correct, and both come from what `Poll` means:
//!
//! * `Pending` is passed straight through. The inner stream returns it only after registering the
//!   task's waker with async-io's reactor, which wakes the task once the socket is readable; the
//!   adapter must not swallow it, retry, or wake anything itself.
//! * Only bytes actually read are marked filled. hyper's `ReadBufCursor` separates "memory that
//!   is initialised" from "bytes that hold data"; `Ready(Ok(()))` with nothing filled means end
//!   of stream, so a wrong count would corrupt the response or end it early.
//!
//! Run it with `cargo run -p ch04 -- hyper-read-adapter [--url URL]`: it sends a raw `GET` with
//! `Connection: close` to the loopback server (written through the write adapter), then calls
//! `poll_read` by hand through a 64-byte `ReadBuf`, printing the size of every read, the status
//! line and the total. `Connection: close` matters: without it the server keeps the connection
//! open for the next request, and the loop would wait for an end of stream that never comes.
//!
//! How we differ from the book: hyper 1.x replaced tokio's `AsyncRead`/`ReadBuf` with
//! `hyper::rt::Read`/`ReadBufCursor`, whose `advance` is `unsafe`. We read into a buffer on the
//! stack and copy it in with the safe `put_slice`, so the adapter needs no `unsafe` at all.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use common::demo::{Args, DemoResult};
use futures_lite::io::AsyncRead;
use hyper::Uri;
use hyper::rt::{Read, ReadBuf, ReadBufCursor};

use crate::custom_connector::{CustomConnector, CustomStream};
use crate::watchdog::run_task;

// Book: `impl tokio::io::AsyncRead` with tokio's `ReadBuf`; hyper 1.x reads through its own
// `hyper::rt::Read` and `ReadBufCursor`. The listing's return type `Poll<io::Result<>>` does not
// compile (E0107, missing generic argument): it is `Poll<io::Result<()>>`.
impl hyper::rt::Read for CustomStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut *self {
            CustomStream::Plain(s) => read_into(Pin::new(s), cx, buf),
            CustomStream::Tls(s) => read_into(Pin::new(s), cx, buf),
        }
    }
}

/// The most one read asks the inner stream for: the size of the stack buffer.
const CHUNK: usize = 8 * 1024;

/// One read from a `futures-io` stream into hyper's cursor, for either variant.
///
/// Book: `.poll_read(cx, buf.initialize_unfilled()).map_ok(|size| buf.advance(size))`. hyper 1's
/// cursor has a safe `initialize_unfilled` too, but its `advance` is `unsafe`; copying from a stack
/// buffer with `put_slice` costs one `memcpy` of at most 8 KiB and needs no `unsafe`.
fn read_into<S: AsyncRead + ?Sized>(
    stream: Pin<&mut S>,
    cx: &mut Context<'_>,
    mut buf: ReadBufCursor<'_>,
) -> Poll<io::Result<()>> {
    let mut chunk = [0u8; CHUNK];
    let wanted = buf.remaining().min(CHUNK);
    // `Pending` and errors pass through unchanged; `map_ok` runs only on `Ready(Ok(size))`, once.
    stream
        .poll_read(cx, &mut chunk[..wanted])
        .map_ok(|size| buf.put_slice(&chunk[..size]))
}

/// Reads `stream` to its end through `hyper::rt::Read`, at most `buf_size` bytes per read, the
/// way hyper would; returns the bytes and the size of every read.
pub async fn read_to_end(
    stream: &mut CustomStream,
    buf_size: usize,
) -> io::Result<(Vec<u8>, Vec<usize>)> {
    let mut storage = vec![0u8; buf_size.max(1)];
    let (mut bytes, mut sizes) = (Vec::new(), Vec::new());
    loop {
        let mut buf = ReadBuf::new(&mut storage);
        poll_fn(|cx| Pin::new(&mut *stream).poll_read(cx, buf.unfilled())).await?;
        let filled = buf.filled();
        if filled.is_empty() {
            // `Ready(Ok(()))` with nothing filled: the peer closed its side.
            return Ok((bytes, sizes));
        }
        sizes.push(filled.len());
        bytes.extend_from_slice(filled);
    }
}

/// The `ReadBuf` size of the demo: small, so one response takes many reads.
const DEMO_BUF: usize = 64;

/// A watchdog for the whole exchange.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects, sends `GET` with `Connection: close`, and reads the whole response by hand.
async fn fetch_raw(url: &str) -> anyhow::Result<(Vec<u8>, Vec<usize>)> {
    let uri: Uri = url.parse().with_context(|| format!("not a URI: {url}"))?;
    let authority = uri.authority().context("the URL names no host")?.clone();
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut stream = CustomConnector::new().connect(uri.clone()).await?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: ch04-hyper-read-adapter\r\n\
         Connection: close\r\n\r\n"
    );
    crate::hyper_write_adapter::write_all(&mut stream, request.as_bytes()).await?;
    crate::hyper_write_adapter::flush(&mut stream).await?;
    Ok(read_to_end(&mut stream, DEMO_BUF).await?)
}

/// Runs the demo: `hyper-read-adapter [--url URL]`.
pub fn run(mut args: Args) -> DemoResult {
    let url = args.url()?;
    args.finish()?;
    let (url, _server) = crate::loopback::url_or_server(url)?;
    println!("GET {url} with Connection: close, read through a {DEMO_BUF}-byte ReadBuf");

    let task_url = url.clone();
    let (bytes, sizes) = run_task(EXCHANGE_TIMEOUT, async move { fetch_raw(&task_url).await })
        .with_context(|| format!("no complete response from {url}"))??;

    println!("{} reads: {}", sizes.len(), summarize(&sizes));
    let text = String::from_utf8_lossy(&bytes);
    let status = text.lines().next().unwrap_or("(empty response)");
    println!("status line: {status}");
    println!(
        "total: {} bytes, then Ready(Ok(())) with nothing filled: end of stream",
        bytes.len()
    );
    Ok(())
}

/// `64 64 64 … 64 23`: the first sizes and the last, so a long response stays one line.
fn summarize(sizes: &[usize]) -> String {
    const SHOWN: usize = 12;
    let text = |s: &[usize]| s.iter().map(usize::to_string).collect::<Vec<_>>().join(" ");
    if sizes.len() <= SHOWN {
        text(sizes)
    } else {
        format!(
            "{} … {}",
            text(&sizes[..SHOWN - 1]),
            text(&sizes[sizes.len() - 1..])
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::{self, patterned, send_in_chunks};
    use crate::tls_fixture::TlsServer;
    use futures_lite::future;
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    const WATCHDOG: Duration = Duration::from_secs(10);
    const PAUSE: Duration = Duration::from_millis(20);

    /// `future`, on the test thread, failing the test if it hangs.
    fn within_watchdog<T>(future: impl Future<Output = T>) -> T {
        future::block_on(crate::watchdog::within(WATCHDOG, future)).expect("the read hung")
    }

    fn connect(url: &str) -> CustomStream {
        let connector = CustomConnector::new();
        within_watchdog(connector.connect(url.parse().unwrap())).unwrap()
    }

    #[test]
    fn ten_kib_in_three_chunks_reassemble_exactly_through_a_7_byte_buffer() {
        let payload = patterned(10 * 1024);
        let sent = payload.clone();
        let peer = peer::spawn(move |s| send_in_chunks(s, &sent, 3, PAUSE)).unwrap();
        let mut stream = connect(&peer.url("/"));

        let (bytes, sizes) = within_watchdog(read_to_end(&mut stream, 7)).unwrap();

        assert_eq!(bytes, payload);
        assert!(sizes.iter().all(|&n| (1..=7).contains(&n)), "{sizes:?}");
        assert!(sizes.len() >= payload.len() / 7, "{}", sizes.len());
        peer.result(WATCHDOG).unwrap();
    }

    /// A waker that reports every wake on a channel.
    struct Reporting(flume::Sender<()>);

    impl Wake for Reporting {
        fn wake(self: Arc<Self>) {
            let _ = self.0.send(());
        }
    }

    #[test]
    fn the_first_poll_is_pending_and_the_waker_fires_when_data_arrives() {
        let (go, wait_for_go) = flume::bounded::<()>(1);
        let peer = peer::spawn(move |s| {
            // Send only when the test says so: the first poll is sure to find nothing.
            wait_for_go
                .recv_timeout(WATCHDOG)
                .map_err(|_| io::Error::other("the test never said go"))?;
            std::io::Write::write_all(s, b"hello")
        })
        .unwrap();
        let mut stream = connect(&peer.url("/"));
        let (woken, wakes) = flume::unbounded();
        let waker = Waker::from(Arc::new(Reporting(woken)));
        let mut cx = Context::from_waker(&waker);
        let mut storage = [0u8; 16];

        let mut buf = ReadBuf::new(&mut storage);
        let first = Pin::new(&mut stream).poll_read(&mut cx, buf.unfilled());
        assert!(first.is_pending());
        assert!(buf.filled().is_empty());
        assert!(wakes.try_recv().is_err(), "woken before any data");

        go.send(()).unwrap();
        wakes.recv_timeout(WATCHDOG).expect("the waker never fired");
        let second = Pin::new(&mut stream).poll_read(&mut cx, buf.unfilled());
        assert!(matches!(second, Poll::Ready(Ok(()))));
        assert_eq!(buf.filled(), b"hello");
        peer.result(WATCHDOG).unwrap();
    }

    #[test]
    fn end_of_stream_is_ready_ok_with_nothing_filled() {
        let peer = peer::spawn(|s| std::io::Write::write_all(s, b"bye")).unwrap();
        let mut stream = connect(&peer.url("/"));
        peer.result(WATCHDOG).unwrap(); // the peer has written and closed
        let (bytes, _) = within_watchdog(read_to_end(&mut stream, 64)).unwrap();
        assert_eq!(bytes, b"bye");
        // Reading again after the end: still `Ready(Ok(()))`, still nothing filled.
        let mut storage = [0u8; 8];
        let mut buf = ReadBuf::new(&mut storage);
        within_watchdog(poll_fn(|cx| {
            Pin::new(&mut stream).poll_read(cx, buf.unfilled())
        }))
        .unwrap();
        assert!(buf.filled().is_empty());
    }

    #[test]
    fn the_same_through_tls() {
        let payload = patterned(10 * 1024);
        let sent = payload.clone();
        let server = TlsServer::start(move |conn| send_in_chunks(conn, &sent, 3, PAUSE));
        let connector = CustomConnector::with_roots(server.roots());
        let url = server.url("localhost", "/");
        let mut stream = within_watchdog(connector.connect(url.parse().unwrap())).unwrap();
        assert!(matches!(stream, CustomStream::Tls(_)));

        let (bytes, sizes) = within_watchdog(read_to_end(&mut stream, 7)).unwrap();

        // The server's `close_notify` ends the stream cleanly: `Ready(Ok(()))`, nothing filled.
        assert_eq!(bytes, payload);
        assert!(sizes.iter().all(|&n| (1..=7).contains(&n)), "{sizes:?}");
    }

    #[test]
    fn the_demo_reads_the_loopback_page_in_small_pieces() {
        crate::rt::start().unwrap();
        let server = crate::loopback::server().unwrap();
        let (bytes, sizes) = within_watchdog(fetch_raw(&server.url("/"))).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.ends_with(crate::loopback::PAGE), "{text}");
        assert!(sizes.iter().all(|&n| n <= DEMO_BUF));
        assert_eq!(server.count("/"), 1);
    }

    #[test]
    fn summarize_keeps_long_lists_on_one_line() {
        assert_eq!(summarize(&[64, 64, 3]), "64 64 3");
        let long = [64; 20];
        assert_eq!(summarize(&long), "64 64 64 64 64 64 64 64 64 64 64 … 64");
    }
}
