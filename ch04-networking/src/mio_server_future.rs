//! `mio-server-future` (book sections "Polling Sockets in Futures" and "Sending Data over the
//! Socket"): a future that owns a `mio::Poll` and asks it, inside `poll`, whether its socket is
//! ready.
//!
//! mio is the layer under tokio: register a socket with a token and an interest, wait for readiness,
//! look the socket up by the token that came back, operate on it, repeat. [`ServerFuture`] does
//! that for one listener: each time the runtime polls it, it waits (up to 200 ms) for mio events,
//! accepts the client, reads what it sent, and completes with the text once a whole line has
//! arrived. The demo's `main` part is the book's: a mio client waits until its socket is writable
//! and sends `that's so dingo!`.
//!
//! Two facts of mio that the book's listing trips over, and ours is built around:
//!
//! - **Readiness is an edge, and `WouldBlock` means "not now".** After a readable event, read until
//!   the read says `WouldBlock`: that is the normal end of the loop (the book's "Resource
//!   temporarily unavailable" line, os error 11 on Linux and 35 on macOS), not a failure. `Ok(0)`
//!   means the peer closed.
//! - **What must outlive one `poll` belongs in the future.** The accepted socket and the bytes read
//!   so far are fields of `ServerFuture`, not locals of `poll`: a client whose bytes arrive after
//!   the first look is still heard.
//!
//! Run it with `cargo run -p ch04 -- mio-server-future`. It prints where the server listens, the
//! client's write, and `outcome: that's so dingo!`.

use std::future::Future;
use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use common::demo::{Args, DemoResult};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll as MioPoll, Token};

/// The listener's token in the server's poll (the book's).
pub const SERVER: Token = Token(0);
/// The client socket's token in the client's poll (the book's).
pub const CLIENT: Token = Token(1);
/// The accepted connection's token in the server's poll (ours: the book never registers it).
pub const ACCEPTED: Token = Token(2);

/// How long one `poll` of [`ServerFuture`] may wait for mio events (the book's 200 ms).
pub const POLL_TIMEOUT: Duration = Duration::from_millis(200);

/// The most bytes [`ServerFuture`] keeps before it gives up on a line: 64 KiB.
pub const MAX_MESSAGE: usize = 64 * 1024;

/// The book's server future: a mio listener and the `mio::Poll` it is registered with, plus (ours)
/// the accepted connection and the bytes received so far.
///
/// It completes with the first line the client sends (newline included), or with what arrived
/// before the client closed; a client that closes without sending anything is
/// `Err(UnexpectedEof)`.
pub struct ServerFuture {
    /// The listener, registered with `poll` under [`SERVER`] for `READABLE`.
    pub server: TcpListener,
    /// The future's own mio poll.
    pub poll: MioPoll,
    // Book: the accepted stream and the data were locals of `poll`, dropped when the first read
    // found no data yet; a message that landed after the accept was lost and the future never
    // completed (2 of 5 runs hung). Both live in the future now.
    conn: Option<TcpStream>,
    received: Vec<u8>,
}

impl ServerFuture {
    /// A future for `server`, which must already be registered with `poll` under [`SERVER`].
    pub fn new(server: TcpListener, poll: MioPoll) -> Self {
        ServerFuture {
            server,
            poll,
            conn: None,
            received: Vec::new(),
        }
    }

    /// Whether a client has been accepted yet.
    pub fn is_connected(&self) -> bool {
        self.conn.is_some()
    }
}

impl Future for ServerFuture {
    type Output = io::Result<String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut events = Events::with_capacity(1);

        // Book: the 200 ms wait inside `poll` and the self-wake below are kept, but they park a
        // runtime worker in `epoll_wait` for up to 200 ms per poll and repoll at once; tokio and
        // async-io instead run `mio::Poll` on a reactor thread and wake only the task whose
        // socket is ready (see `mio-tcp-server` for a wait that ends when nothing is due).
        // Book: `poll(..).unwrap()` panics on any error; ours treats an interrupted wait (a
        // signal) as "no events this time" and returns any other error.
        match this.poll.poll(&mut events, Some(POLL_TIMEOUT)) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Poll::Ready(Err(e)),
        }

        for event in events.iter() {
            if event.token() == SERVER && event.is_readable() && this.conn.is_none() {
                // Book: `accept().unwrap()` panics if the readiness event was spurious; ours
                // takes `WouldBlock` here as "nobody is waiting after all".
                match this.server.accept() {
                    Ok((mut stream, _peer)) => {
                        if let Err(e) =
                            this.poll
                                .registry()
                                .register(&mut stream, ACCEPTED, Interest::READABLE)
                        {
                            return Poll::Ready(Err(e));
                        }
                        this.conn = Some(stream);
                        // Bytes may have landed before we registered: look once right away.
                        if let Some(outcome) = this.read_available() {
                            return Poll::Ready(outcome);
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => return Poll::Ready(Err(e)),
                }
            } else if event.token() == ACCEPTED
                && let Some(outcome) = this.read_available()
            {
                return Poll::Ready(outcome);
            }
        }
        // Nothing complete yet: ask to be polled again (the book's design; see the note above).
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl ServerFuture {
    /// Reads from the accepted connection until `WouldBlock`; `Some` once the future is done.
    fn read_available(&mut self) -> Option<io::Result<String>> {
        let stream = self.conn.as_mut()?;
        let mut buffer = [0u8; 1024];
        loop {
            match stream.read(&mut buffer) {
                Ok(0) if self.received.is_empty() => {
                    return Some(Err(io::Error::new(
                        ErrorKind::UnexpectedEof,
                        "the client closed without sending anything",
                    )));
                }
                Ok(0) => return Some(Ok(self.text())),
                Ok(n) => {
                    if self.received.len() + n > MAX_MESSAGE {
                        return Some(Err(io::Error::new(
                            ErrorKind::InvalidData,
                            "no newline in the first 64 KiB",
                        )));
                    }
                    self.received.extend_from_slice(&buffer[..n]);
                    if self.received.contains(&b'\n') {
                        return Some(Ok(self.text()));
                    }
                }
                // Book: printed as "Error reading from stream: Resource temporarily
                // unavailable"; it is the normal end of the loop (everything available was read).
                // The book's suggested `WouldBlock` arm returns `Pending` and so drops the stream
                // and the bytes read so far, which makes every run hang; its
                // `waker.cx.waker()` is a typo for `cx.waker()`.
                Err(e) if e.kind() == ErrorKind::WouldBlock => return None,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.received).into_owned()
    }
}

/// The message the book's client sends.
pub const MESSAGE: &str = "that's so dingo!\n";

/// How long the client waits for its socket to become writable, and the demo for the outcome.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// Binds a listener on `addr` (port 0: the system picks), registers it, and returns the future.
pub fn server_future(addr: SocketAddr) -> io::Result<ServerFuture> {
    let mut server = TcpListener::bind(addr)?;
    let poll = MioPoll::new()?;
    poll.registry()
        .register(&mut server, SERVER, Interest::READABLE)?;
    Ok(ServerFuture::new(server, poll))
}

/// The book's client: connect with mio, wait (at most [`CLIENT_TIMEOUT`]) until the socket is
/// writable, then write `message`. Returns the connected stream, so the caller decides when it
/// closes.
pub fn send_message(server: SocketAddr, message: &[u8]) -> io::Result<TcpStream> {
    // Book: `TcpStream::connect(server.local_addr())` passes an `io::Result` where mio wants the
    // address itself (`local_addr()?`), so the listing does not compile as printed.
    let mut stream = TcpStream::connect(server)?;
    let mut client_poll = MioPoll::new()?;
    client_poll
        .registry()
        .register(&mut stream, CLIENT, Interest::WRITABLE)?;
    let mut events = Events::with_capacity(128);
    // Book: `client_poll.poll(&mut events, None)` waits forever if the connection never
    // completes; ours gives up after `CLIENT_TIMEOUT`.
    let deadline = std::time::Instant::now() + CLIENT_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                ErrorKind::TimedOut,
                "the client socket never became writable",
            ));
        }
        match client_poll.poll(&mut events, Some(left)) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for event in events.iter() {
            if event.token() == CLIENT && event.is_writable() {
                // A failed connect also reports "writable": the socket's error says which.
                if let Some(e) = stream.take_error()? {
                    return Err(e);
                }
                // Book: `let _ = stream.write_all(..)` ignores a failed or short write; ours
                // waits for room on `WouldBlock` and returns any other error.
                write_fully(&mut stream, &mut client_poll, &mut events, message)?;
                return Ok(stream);
            }
        }
    }
}

/// Writes all of `message` to a non-blocking stream, waiting for writability on `WouldBlock`.
fn write_fully(
    stream: &mut TcpStream,
    poll: &mut MioPoll,
    events: &mut Events,
    mut message: &[u8],
) -> io::Result<()> {
    while !message.is_empty() {
        match stream.write(message) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => message = &message[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                poll.poll(events, Some(CLIENT_TIMEOUT))?;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Spawns a [`ServerFuture`] on chapter 3's runtime, sends `message` to it from a mio client, and
/// returns what the server received (waiting at most `limit`).
pub fn exchange(message: &[u8], limit: Duration) -> io::Result<String> {
    let server_worker = server_future(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let addr = server_worker.server.local_addr()?;
    let test = ch03::spawn_task!(server_worker);
    let _stream = send_message(addr, message)?;
    within(limit, test)
}

/// `block_on(task)` under the chapter's watchdog: no outcome within `limit` is a `TimedOut` error
/// (and the task is dropped, which cancels it).
fn within<T>(limit: Duration, task: impl Future<Output = io::Result<T>>) -> io::Result<T> {
    futures_lite::future::block_on(crate::watchdog::within(limit, task))
        .map_err(|timed_out| io::Error::new(ErrorKind::TimedOut, timed_out))?
}

/// Runs the demo (no arguments).
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    crate::rt::start()?;

    // Book: a fixed port, 127.0.0.1:13265; port 0 lets the system pick a free one.
    let server_worker = server_future(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let addr = server_worker.server.local_addr()?;
    println!("ServerFuture listening on {addr}, spawned on chapter 3's runtime");
    let test = ch03::spawn_task!(server_worker);

    let _stream = send_message(addr, MESSAGE.as_bytes())?;
    println!(
        "client: socket writable, wrote {} bytes: {:?}",
        MESSAGE.len(),
        MESSAGE
    );
    let outcome = within(CLIENT_TIMEOUT, test)?;
    println!("outcome: {}", outcome.trim_end());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::Waker;
    use std::thread;
    use std::time::Instant;

    fn localhost() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 0))
    }

    #[test]
    fn fifty_runs_in_a_row_each_return_exactly_the_message() {
        crate::rt::start().unwrap();
        for run in 0..50 {
            let outcome = exchange(MESSAGE.as_bytes(), Duration::from_secs(2))
                .unwrap_or_else(|e| panic!("run {run}: {e}"));
            assert_eq!(outcome, MESSAGE, "run {run}");
        }
    }

    #[test]
    fn a_message_sent_in_two_writes_50_ms_apart_arrives_whole() {
        crate::rt::start().unwrap();
        let server_worker = server_future(localhost()).unwrap();
        let addr = server_worker.server.local_addr().unwrap();
        let test = ch03::spawn_task!(server_worker);
        let mut stream = send_message(addr, b"that's so ").unwrap();
        thread::sleep(Duration::from_millis(50));
        // The socket is connected and its send buffer empty: 7 bytes fit at once.
        assert_eq!(stream.write(b"dingo!\n").unwrap(), 7);
        assert_eq!(within(Duration::from_secs(2), test).unwrap(), MESSAGE);
    }

    #[test]
    fn a_message_written_after_the_accept_is_still_received() {
        // The book's failure, made deterministic: poll the future by hand until it has accepted
        // the client, and only then write. The book's future had already dropped the socket.
        let mut server_worker = server_future(localhost()).unwrap();
        let addr = server_worker.server.local_addr().unwrap();
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        let mut cx = Context::from_waker(Waker::noop());
        let deadline = Instant::now() + Duration::from_secs(2);
        while !server_worker.is_connected() {
            assert!(Instant::now() < deadline, "never accepted");
            assert!(Pin::new(&mut server_worker).poll(&mut cx).is_pending());
        }
        client.write_all(MESSAGE.as_bytes()).unwrap();
        let outcome = loop {
            assert!(Instant::now() < deadline, "never completed");
            if let Poll::Ready(outcome) = Pin::new(&mut server_worker).poll(&mut cx) {
                break outcome;
            }
        };
        assert_eq!(outcome.unwrap(), MESSAGE);
    }

    #[test]
    fn a_client_that_closes_without_sending_gives_unexpected_eof() {
        crate::rt::start().unwrap();
        let server_worker = server_future(localhost()).unwrap();
        let addr = server_worker.server.local_addr().unwrap();
        let test = ch03::spawn_task!(server_worker);
        drop(std::net::TcpStream::connect(addr).unwrap());
        let err = within(Duration::from_secs(2), test).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof, "{err}");
    }

    #[test]
    fn a_poll_with_no_event_returns_pending_and_wakes_itself() {
        struct Count(std::sync::atomic::AtomicUsize);
        impl std::task::Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let count = Arc::new(Count(Default::default()));
        let waker = Waker::from(Arc::clone(&count));
        let mut server_worker = server_future(localhost()).unwrap();
        let start = Instant::now();
        let polled = Pin::new(&mut server_worker).poll(&mut Context::from_waker(&waker));
        assert!(polled.is_pending());
        // It waited for events (the 200 ms timeout), then woke itself to be polled again.
        assert!(start.elapsed() >= Duration::from_millis(150));
        assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn a_client_with_no_server_is_an_error_not_a_panic() {
        // Bind and drop to find a port nobody listens on.
        let addr = std::net::TcpListener::bind(localhost())
            .unwrap()
            .local_addr()
            .unwrap();
        assert!(send_message(addr, MESSAGE.as_bytes()).is_err());
    }
}
