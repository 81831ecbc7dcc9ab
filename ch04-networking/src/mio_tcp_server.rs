//! `mio-tcp-server` (book section "Polling Sockets in Futures"): the book's "continually polled"
//! variant of the server future, grown into a small but real HTTP server that bad clients cannot
//! break.
//!
//! The book ends its `ServerFuture` with a sketch: instead of completing with the data, hand it to
//! a detached task and return `Pending`, so that one future keeps serving for the whole program;
//! and it shows that interests combine (`Interest::READABLE | Interest::WRITABLE`). [`MioServer`]
//! is that future, with what a server needs on top:
//!
//! - **Per-connection state, found by token.** The listener is [`SERVER`], a `mio::Waker` is
//!   [`WAKER`], and every accepted socket gets a token of its own that maps to its [`Connection`]:
//!   the stream, the bytes read so far, the reply being written, a deadline.
//! - **Detached handlers, replies by channel.** A complete request head goes to
//!   `spawn_task!(handle(token, request, replies)).detach()`; the handler sends its reply through a
//!   flume channel and calls `Waker::wake`, which ends the server's wait in `Poll::poll`.
//! - **Combined interests where they mean something.** A connection is `READABLE`; it is
//!   re-registered `READABLE | WRITABLE` only while a reply is waiting for room in the socket.
//! - **Bounded state.** At most [`MAX_CONNS`] connections (the excess is closed at once), at most
//!   [`MAX_REQUEST`] bytes of request head per connection (beyond: `431`), an idle timeout per
//!   connection, and after each reply a bounded "lingering close" that reads and discards what the
//!   client still sends, so the reply is not destroyed by a reset. Garbage is rejected as soon as
//!   the request line cannot be HTTP (`400`). No error of one client ends the loop.
//! - **No spinning.** The future blocks in `Poll::poll` until an event or the next deadline; with
//!   no connection open it waits for an event alone, so an idle server is never polled at all.
//!
//! The protocol is the least HTTP/1.1 that `curl` and any client accept: `GET /` answers
//! `hello from mio`, `GET /dingo` answers `that's so dingo!`, other paths `404`, `HEAD` the same
//! heads without a body, other methods `405`; every reply has a `Content-Length` and
//! `Connection: close`.
//!
//! Run it with `cargo run -p ch04 -- mio-tcp-server`: it starts on a free port, throws a good
//! request, garbage, a half-written request, a socket closed at once, a 20 KiB header flood and a
//! last good request at itself, prints each outcome and the server's statistics, and stops (about
//! half a second). `cargo run -p ch04 -- mio-tcp-server --serve 127.0.0.1:8080` serves until Ctrl-C;
//! try `curl -v http://127.0.0.1:8080/dingo`.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll as MioPoll, Registry, Token, Waker};

use crate::raw_http;

/// The listener's token.
pub const SERVER: Token = Token(0);
/// The token of the `mio::Waker` that handlers and [`ServerHandle::stop`] use.
pub const WAKER: Token = Token(1);
/// Connections are numbered from here on, and a number is never reused, so a late reply can
/// never reach a newer connection that happens to have the same token.
const FIRST_CONNECTION: usize = 2;

/// The most connections open at once; a connection beyond this is closed as soon as it is accepted.
pub const MAX_CONNS: usize = 256;
/// The largest request head (request line and headers) a connection may send: 8 KiB.
pub const MAX_REQUEST: usize = 8 * 1024;
/// After a reply, how many more bytes the server reads and discards before it closes anyway.
pub const MAX_LINGER: usize = 64 * 1024;
/// While connections are open, the longest single wait in `Poll::poll`.
pub const POLL_CAP: Duration = Duration::from_millis(100);
/// The idle timeout with `--serve`.
pub const SERVE_IDLE_TIMEOUT: Duration = Duration::from_secs(5);
/// The idle timeout of the default run, short so the demo finishes quickly.
pub const TOUR_IDLE_TIMEOUT: Duration = Duration::from_millis(300);

/// The book's continually polled server future: one `mio::Poll`, the listener, and a table of
/// connections by token. It completes only when stopped ([`ServerHandle::stop`]), with the
/// server's [`ServerStats`].
pub struct MioServer {
    poll: MioPoll,
    server: TcpListener,
    connections: HashMap<Token, Connection>,
    next_token: usize,
    replies: Replies,
    reply_rx: flume::Receiver<(Token, Vec<u8>)>,
    stop: Arc<AtomicBool>,
    config: Config,
    stats: ServerStats,
    shared_stats: Arc<Mutex<ServerStats>>,
    events: Events,
    retry_accept_at: Option<Instant>,
}

impl Future for MioServer {
    type Output = io::Result<ServerStats>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.stats.polls += 1;
        let timeout = this.next_timeout(Instant::now());

        // Book: the book's future blocks in `Poll::poll` for a fixed 200 ms on every poll and then
        // repolls at once. Ours keeps the blocking wait (it holds a runtime worker, as in the
        // book's design; tokio and async-io run `mio::Poll` on a reactor thread instead and wake
        // only the task whose token is ready) but waits only as long as nothing is due: until an
        // event, the next connection deadline, or `POLL_CAP` while connections are open. An idle
        // server therefore sleeps in `epoll_wait` and is not polled at all.
        let mut events = std::mem::replace(&mut this.events, Events::with_capacity(0));
        match this.poll.poll(&mut events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => events.clear(),
            Err(e) => return Poll::Ready(Err(e)),
        }
        let now = Instant::now();
        if this.stop.load(Ordering::SeqCst) {
            return Poll::Ready(Ok(this.shut_down()));
        }
        for event in events.iter() {
            match event.token() {
                SERVER => this.accept_all(now),
                // The waker only ends the wait; the replies it announces are taken just below.
                WAKER => {}
                // Whatever the event says (readable, writable, closed, error), the connection's
                // next step finds out by trying: a step that would block just waits again.
                token => this.advance(token, now),
            }
        }
        this.events = events;
        if this.retry_accept_at.is_some_and(|at| at <= now) {
            this.retry_accept_at = None;
            this.accept_all(now);
        }
        this.deliver_replies(now);
        this.close_expired(now);
        this.publish_stats();
        // Nothing else will wake this task (its only source of events is the wait above), so,
        // like the book's future, it asks to be polled again at once.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// The book's `some_async_handle_function`: answers one request head, off the server's loop, and
/// hands the reply back through `replies`. It owns its request bytes (see `MioServer::advance`).
pub async fn handle(token: Token, request: Vec<u8>, replies: Replies) {
    let (status, response) = answer(&request);
    if replies.log {
        let line = request_line(&request).unwrap_or("(unreadable request line)");
        println!("{line} -> {status} {}", reason(status));
    }
    replies.send(token, response);
}

/// Routes a complete request head: `(status, the whole response)`.
pub fn answer(head: &[u8]) -> (u16, Vec<u8>) {
    let Some((method, target)) = request_line(head).and_then(|line| {
        let mut parts = line.split(' ');
        Some((parts.next()?, parts.next()?))
    }) else {
        return (
            400,
            response(400, "bad request: unreadable request line\n", &[]),
        );
    };
    if method != "GET" && method != "HEAD" {
        let body = format!("method {method} not allowed: only GET and HEAD\n");
        return (405, response(405, &body, &[("Allow", "GET, HEAD")]));
    }
    let path = target.split('?').next().unwrap_or(target);
    let (status, body) = match path {
        "/" => (200, "hello from mio\n".to_string()),
        "/dingo" => (200, "that's so dingo!\n".to_string()),
        _ => (404, format!("no route for {path}\n")),
    };
    let mut reply = response(status, &body, &[]);
    if method == "HEAD" {
        // The same head as for GET, `Content-Length` included, and no body (HTTP requires it).
        reply.truncate(reply.len() - body.len());
    }
    (status, reply)
}

/// A complete response with `Content-Type`, `Content-Length` and `Connection: close`.
pub fn response(status: u16, body: &str, extra_headers: &[(&str, &str)]) -> Vec<u8> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n",
        reason(status),
        body.len()
    );
    for (name, value) in extra_headers {
        head += &format!("{name}: {value}\r\n");
    }
    head += "\r\n";
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

/// The reason phrase of the statuses this server sends.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Unknown",
    }
}

fn request_line(head: &[u8]) -> Option<&str> {
    let end = head.windows(2).position(|w| w == b"\r\n")?;
    std::str::from_utf8(&head[..end]).ok()
}

/// Where handlers send replies: a channel to the server, plus its `mio::Waker` to end its wait.
#[derive(Clone)]
pub struct Replies {
    tx: flume::Sender<(Token, Vec<u8>)>,
    waker: Arc<Waker>,
    log: bool,
}

impl Replies {
    /// Hands `response` for connection `token` to the server and wakes it.
    pub fn send(&self, token: Token, response: Vec<u8>) {
        // The channel holds at most one reply per connection in the table, so it stays small
        // although it is unbounded. If the server has stopped, the reply has nowhere to go.
        if self.tx.send((token, response)).is_ok() {
            // If waking failed, the server still finds the reply within `POLL_CAP`: a
            // connection waiting for its reply keeps the wait short.
            let _ = self.waker.wake();
        }
    }
}

/// How a [`MioServer`] behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// A connection that makes no progress for this long is closed (reading a request head,
    /// waiting for its reply, or having its reply written); after a reply, it is also how long
    /// the lingering close may last.
    pub idle_timeout: Duration,
    /// Print one line per answered request (`GET /dingo -> 200 OK`), as `--serve` does.
    pub log_requests: bool,
}

impl Config {
    /// No logging, with this idle timeout.
    pub fn new(idle_timeout: Duration) -> Self {
        Config {
            idle_timeout,
            log_requests: false,
        }
    }
}

/// What the server counted. The `max_*` fields are high-water marks over its whole life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Connections accepted into the table.
    pub accepted: u64,
    /// Connections closed right after the accept because the table was full.
    pub rejected: u64,
    /// Replies written in full, whatever their status.
    pub answered: u64,
    /// `400` replies to requests that were not HTTP.
    pub bad_requests: u64,
    /// `431` replies to request heads larger than [`MAX_REQUEST`].
    pub too_large: u64,
    /// Connections closed by the idle timeout before their reply was written.
    pub timed_out: u64,
    /// Connections the peer closed (or broke) before their reply was written.
    pub closed_early: u64,
    /// Connections still open when the server stopped (closed by the shutdown).
    pub closed_at_shutdown: u64,
    /// `accept` failures other than "nothing to accept" (e.g. out of file descriptors).
    pub accept_errors: u64,
    /// Connections open now.
    pub open: usize,
    /// The most connections open at once.
    pub max_open: usize,
    /// The largest request buffer any connection held (its allocated capacity), in bytes.
    pub max_input: usize,
    /// The largest reply buffer any connection held, in bytes.
    pub max_output: usize,
    /// How many times the future was polled.
    pub polls: u64,
}

impl fmt::Display for ServerStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "stats: accepted {}, answered {} (400: {}, 431: {}), rejected {}, timed out {}, closed early {}, open {}",
            self.accepted,
            self.answered,
            self.bad_requests,
            self.too_large,
            self.rejected,
            self.timed_out,
            self.closed_early,
            self.open
        )?;
        write!(
            f,
            "high-water marks: {} connection(s) at once (limit {MAX_CONNS}), request buffer {} bytes (limit {MAX_REQUEST}), reply buffer {} bytes; polled {} times",
            self.max_open, self.max_input, self.max_output, self.polls
        )
    }
}

/// Controls a running [`MioServer`] from any thread: its address, live statistics, stop.
#[derive(Clone)]
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    stats: Arc<Mutex<ServerStats>>,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The statistics as of the end of the server's last poll.
    pub fn stats(&self) -> ServerStats {
        *self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks the server to stop: it closes every connection and completes with its statistics.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
    }
}

impl MioServer {
    /// Binds `addr` (port 0: the system picks one) and returns the server future, to be spawned,
    /// and the handle that controls it.
    pub fn bind(addr: SocketAddr, config: Config) -> io::Result<(MioServer, ServerHandle)> {
        let mut server = TcpListener::bind(addr)?;
        let poll = MioPoll::new()?;
        poll.registry()
            .register(&mut server, SERVER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (tx, reply_rx) = flume::unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let shared_stats = Arc::new(Mutex::new(ServerStats::default()));
        let handle = ServerHandle {
            addr: server.local_addr()?,
            stop: Arc::clone(&stop),
            waker: Arc::clone(&waker),
            stats: Arc::clone(&shared_stats),
        };
        let server = MioServer {
            poll,
            server,
            connections: HashMap::with_capacity(MAX_CONNS),
            next_token: FIRST_CONNECTION,
            replies: Replies {
                tx,
                waker,
                log: config.log_requests,
            },
            reply_rx,
            stop,
            config,
            stats: ServerStats::default(),
            shared_stats,
            events: Events::with_capacity(256),
            retry_accept_at: None,
        };
        Ok((server, handle))
    }

    /// How long the next `Poll::poll` may wait: forever when there is nothing to time out.
    fn next_timeout(&self, now: Instant) -> Option<Duration> {
        let next_deadline = self
            .connections
            .values()
            .map(|c| c.deadline)
            .chain(self.retry_accept_at)
            .min()?;
        // With connections open, the wait is also capped: it holds a runtime worker, and giving
        // it back now and then lets queued tasks (our own handlers among them) run even when
        // every other worker is busy.
        Some(next_deadline.saturating_duration_since(now).min(POLL_CAP))
    }

    /// Accepts until `WouldBlock` (readiness is an edge: one event may stand for many clients).
    fn accept_all(&mut self, now: Instant) {
        loop {
            match self.server.accept() {
                Ok((mut stream, _peer)) => {
                    if self.connections.len() >= MAX_CONNS {
                        self.stats.rejected += 1;
                        drop(stream); // closes it
                        continue;
                    }
                    let token = Token(self.next_token);
                    self.next_token += 1;
                    if self
                        .poll
                        .registry()
                        .register(&mut stream, token, Interest::READABLE)
                        .is_err()
                    {
                        self.stats.accept_errors += 1;
                        continue;
                    }
                    self.connections.insert(
                        token,
                        Connection::new(stream, now + self.config.idle_timeout),
                    );
                    self.stats.accepted += 1;
                    self.stats.open = self.connections.len();
                    self.stats.max_open = self.stats.max_open.max(self.stats.open);
                    // Bytes may have arrived before the registration: look right away.
                    self.advance(token, now);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                // A client that gave up while waiting in the backlog, or a signal: next one.
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::Interrupted | ErrorKind::ConnectionAborted
                    ) => {}
                Err(e) => {
                    // Out of file descriptors, for instance. Not a reason to stop serving:
                    // try again a little later (the pending client is still in the backlog).
                    eprintln!("mio-tcp-server: accept failed: {e}; retrying shortly");
                    self.stats.accept_errors += 1;
                    self.retry_accept_at = Some(now + POLL_CAP);
                    return;
                }
            }
        }
    }

    /// Moves connection `token` on as far as it can go without blocking.
    fn advance(&mut self, token: Token, now: Instant) {
        let Some(conn) = self.connections.get_mut(&token) else {
            return; // closed already; a late event
        };
        let step = conn.advance(
            self.poll.registry(),
            token,
            &mut self.stats,
            now,
            self.config.idle_timeout,
        );
        match step {
            Step::Wait => {}
            Step::Request(request) => {
                // Book: `spawn_task!(some_async_handle_function(&received_data))` lends the
                // future's buffer to a `'static` task, which does not compile; the handler gets
                // the request head as an owned `Vec<u8>`, and replies by channel and waker.
                let replies = self.replies.clone();
                ch03::spawn_task!(handle(token, request, replies)).detach();
            }
            Step::Close => self.close(token),
        }
    }

    /// Hands each reply that arrived to its connection and starts writing it.
    fn deliver_replies(&mut self, now: Instant) {
        while let Ok((token, response)) = self.reply_rx.try_recv() {
            let Some(conn) = self.connections.get_mut(&token) else {
                continue; // the connection timed out or was closed meanwhile
            };
            if conn.phase == Phase::Handling {
                conn.respond(response, &mut self.stats, now, self.config.idle_timeout);
                self.advance(token, now);
            }
        }
    }

    /// Closes every connection whose deadline has passed.
    fn close_expired(&mut self, now: Instant) {
        let registry = self.poll.registry();
        let stats = &mut self.stats;
        self.connections.retain(|_, conn| {
            if conn.deadline > now {
                return true;
            }
            if conn.phase != Phase::Lingering {
                stats.timed_out += 1;
            }
            let _ = registry.deregister(&mut conn.stream);
            false
        });
        self.stats.open = self.connections.len();
    }

    fn close(&mut self, token: Token) {
        if let Some(mut conn) = self.connections.remove(&token) {
            if conn.phase != Phase::Lingering {
                self.stats.closed_early += 1;
            }
            let _ = self.poll.registry().deregister(&mut conn.stream);
        }
        self.stats.open = self.connections.len();
    }

    fn shut_down(&mut self) -> ServerStats {
        for (_, mut conn) in self.connections.drain() {
            let _ = self.poll.registry().deregister(&mut conn.stream);
            self.stats.closed_at_shutdown += 1;
        }
        self.stats.open = 0;
        self.publish_stats();
        self.stats
    }

    fn publish_stats(&self) {
        *self
            .shared_stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = self.stats;
    }
}

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading the request head.
    Reading,
    /// The head went to a handler; waiting for its reply.
    Handling,
    /// Writing the reply.
    Writing,
    /// The reply is written and our side is shut: reading and discarding until the client closes.
    Lingering,
}

/// One accepted connection: the state that must outlive a single `poll`.
// Book: the sketch keeps no state per connection (the accepted socket and its bytes are locals
// of `poll`, lost when a read finds no data yet) and bounds nothing; ours keeps this struct per
// token, with caps on connections (`MAX_CONNS`), request bytes (`MAX_REQUEST`), idle time and
// lingering.
pub struct Connection {
    stream: TcpStream,
    phase: Phase,
    input: Vec<u8>,
    output: Vec<u8>,
    written: usize,
    wants_writable: bool,
    lingered: usize,
    deadline: Instant,
}

/// What the server must do after a connection's step.
enum Step {
    /// Nothing until the next event.
    Wait,
    /// A complete request head, for a handler.
    Request(Vec<u8>),
    /// Close the connection.
    Close,
}

impl Connection {
    fn new(stream: TcpStream, deadline: Instant) -> Self {
        Connection {
            stream,
            phase: Phase::Reading,
            input: Vec::new(),
            output: Vec::new(),
            written: 0,
            wants_writable: false,
            lingered: 0,
            deadline,
        }
    }

    fn advance(
        &mut self,
        registry: &Registry,
        token: Token,
        stats: &mut ServerStats,
        now: Instant,
        idle: Duration,
    ) -> Step {
        loop {
            match self.phase {
                Phase::Reading => match self.read_head(stats, now, idle) {
                    Ok(Some(Head::Complete(len))) => {
                        self.input.truncate(len);
                        self.phase = Phase::Handling;
                        return Step::Request(std::mem::take(&mut self.input));
                    }
                    Ok(Some(Head::Malformed(why))) => {
                        stats.bad_requests += 1;
                        let body = format!("bad request: {why}\n");
                        self.respond(response(400, &body, &[]), stats, now, idle);
                    }
                    Ok(Some(Head::Incomplete)) => {
                        stats.too_large += 1;
                        let body = format!("request head larger than {MAX_REQUEST} bytes\n");
                        self.respond(response(431, &body, &[]), stats, now, idle);
                    }
                    Ok(None) => return Step::Wait,
                    Err(_) => return Step::Close,
                },
                Phase::Handling => return Step::Wait,
                Phase::Writing => match self.write_reply(registry, token, now, idle) {
                    Ok(true) => {
                        stats.answered += 1;
                        // Our side is done: the client reads the reply, then end of stream.
                        let _ = self.stream.shutdown(Shutdown::Write);
                        self.output = Vec::new();
                        self.phase = Phase::Lingering;
                        self.deadline = now + idle;
                    }
                    Ok(false) => return Step::Wait,
                    Err(_) => return Step::Close,
                },
                Phase::Lingering => {
                    return match self.linger() {
                        Ok(false) => Step::Wait,
                        Ok(true) | Err(_) => Step::Close,
                    };
                }
            }
        }
    }

    /// Reads until `WouldBlock` or a verdict: `Ok(None)` to wait for more, `Ok(Some(head))` with
    /// `Incomplete` meaning the buffer is full. The peer closing is `Err(UnexpectedEof)`.
    fn read_head(
        &mut self,
        stats: &mut ServerStats,
        now: Instant,
        idle: Duration,
    ) -> io::Result<Option<Head>> {
        let mut chunk = [0u8; 4096];
        loop {
            let room = MAX_REQUEST - self.input.len();
            if room == 0 {
                return Ok(Some(Head::Incomplete));
            }
            // Never read more than fits: the buffer cannot outgrow `MAX_REQUEST`.
            let want = room.min(chunk.len());
            match self.stream.read(&mut chunk[..want]) {
                Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    let needed = self.input.len() + n;
                    if needed > self.input.capacity() {
                        // Grow by doubling but never past the cap: it bounds the buffer's
                        // memory, not only its length.
                        let target = (self.input.capacity() * 2).clamp(needed, MAX_REQUEST);
                        self.input.reserve_exact(target - self.input.len());
                    }
                    self.input.extend_from_slice(&chunk[..n]);
                    stats.max_input = stats.max_input.max(self.input.capacity());
                    self.deadline = now + idle;
                    match check_head(&self.input) {
                        Head::Incomplete => {}
                        verdict => return Ok(Some(verdict)),
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn respond(
        &mut self,
        response: Vec<u8>,
        stats: &mut ServerStats,
        now: Instant,
        idle: Duration,
    ) {
        stats.max_output = stats.max_output.max(response.len());
        self.input = Vec::new();
        self.output = response;
        self.written = 0;
        self.phase = Phase::Writing;
        self.deadline = now + idle;
    }

    /// Writes until done (`Ok(true)`) or `WouldBlock` (`Ok(false)`, now also waiting for
    /// `WRITABLE`).
    fn write_reply(
        &mut self,
        registry: &Registry,
        token: Token,
        now: Instant,
        idle: Duration,
    ) -> io::Result<bool> {
        while self.written < self.output.len() {
            match self.stream.write(&self.output[self.written..]) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.written += n;
                    self.deadline = now + idle;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if !self.wants_writable {
                        // Book: the `READABLE | WRITABLE` listing registers the listener, for
                        // which writable never means anything; ours combines the interests on
                        // a connection, and only while its reply waits for room in the socket.
                        registry.reregister(
                            &mut self.stream,
                            token,
                            Interest::READABLE | Interest::WRITABLE,
                        )?;
                        self.wants_writable = true;
                    }
                    return Ok(false);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.wants_writable {
            registry.reregister(&mut self.stream, token, Interest::READABLE)?;
            self.wants_writable = false;
        }
        Ok(true)
    }

    /// Reads and discards until `WouldBlock` (`Ok(false)`), or until the client closes or has
    /// sent [`MAX_LINGER`] bytes (`Ok(true)`: close now).
    ///
    /// Closing a socket that still has unread bytes makes the system send a reset, which can
    /// destroy the reply before the client has read it; reading first avoids that.
    fn linger(&mut self) -> io::Result<bool> {
        let mut chunk = [0u8; 4096];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(true),
                Ok(n) => {
                    self.lingered += n;
                    if self.lingered > MAX_LINGER {
                        return Ok(true);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// What the bytes received so far say about the request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// Could still become a valid head.
    Incomplete,
    /// A valid head of this many bytes (up to and including the blank line).
    Complete(usize),
    /// Cannot be an HTTP/1.x request head, whatever follows.
    Malformed(&'static str),
}

/// The longest method name accepted (the standard ones have at most 7 letters).
const MAX_METHOD: usize = 16;

/// Checks `bytes` against the shape of an HTTP/1.x request head: `METHOD SP target SP
/// HTTP/1.x CRLF`, then `name: value CRLF` lines, then an empty line.
///
/// It says `Malformed` as early as it can, so random bytes are rejected after a byte or two
/// instead of waiting for a blank line that never comes. Lines end in CRLF only (a bare LF is
/// malformed, which HTTP/1.1 allows a server to decide).
///
/// ```
/// use ch04::mio_tcp_server::{Head, check_head};
/// assert_eq!(check_head(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), Head::Complete(27));
/// assert_eq!(check_head(b"GET / HTTP/1.1\r\nHost"), Head::Incomplete);
/// assert!(matches!(check_head(b"\x16\x03\x01"), Head::Malformed(_)));
/// ```
pub fn check_head(bytes: &[u8]) -> Head {
    use Head::{Complete, Incomplete, Malformed};
    let len = bytes.len();
    // The method: a token, then one space.
    let mut i = 0;
    while i < len && is_tchar(bytes[i]) {
        i += 1;
        if i > MAX_METHOD {
            return Malformed("method too long");
        }
    }
    if i == len {
        return Incomplete;
    }
    if i == 0 || bytes[i] != b' ' {
        return Malformed("the request line does not start with a method");
    }
    i += 1;
    // The target: visible ASCII, then one space.
    let target = i;
    while i < len && bytes[i].is_ascii_graphic() {
        i += 1;
    }
    if i == len {
        return Incomplete;
    }
    if i == target || bytes[i] != b' ' {
        return Malformed("bad request target");
    }
    i += 1;
    // The version and the end of the request line.
    let version = &bytes[i..len.min(i + 10)];
    if !(b"HTTP/1.1\r\n".starts_with(version) || b"HTTP/1.0\r\n".starts_with(version)) {
        return Malformed("not HTTP/1.0 or HTTP/1.1");
    }
    if version.len() < 10 {
        return Incomplete;
    }
    i += 10;
    // Header lines, up to the empty line.
    loop {
        let rest = &bytes[i..];
        match rest {
            [] | [b'\r'] => return Incomplete,
            [b'\r', b'\n', ..] => return Complete(i + 2),
            [b'\r', ..] => return Malformed("a CR without LF"),
            _ => {}
        }
        let mut j = 0;
        while j < rest.len() && is_tchar(rest[j]) {
            j += 1;
        }
        if j == rest.len() {
            return Incomplete;
        }
        if j == 0 || rest[j] != b':' {
            return Malformed("a header line without a name and colon");
        }
        j += 1;
        // The value: tabs, spaces, visible ASCII and bytes above 0x7f; then CRLF.
        while j < rest.len() && (rest[j] == b'\t' || (rest[j] >= b' ' && rest[j] != 0x7f)) {
            j += 1;
        }
        match &rest[j..] {
            [] | [b'\r'] => return Incomplete,
            [b'\r', b'\n', ..] => i += j + 2,
            _ => return Malformed("a control character or bare LF in a header line"),
        }
    }
}

/// The characters of an HTTP token (method and header names).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Runs the demo: `[--serve ADDR]`.
pub fn run(mut args: Args) -> DemoResult {
    let serve: Option<SocketAddr> = args.value("serve")?;
    args.finish()?;
    crate::rt::start()?;
    match serve {
        Some(addr) => serve_until_interrupted(addr),
        None => tour(),
    }
}

/// `--serve ADDR`: serve until Ctrl-C (or SIGTERM), then print the statistics.
fn serve_until_interrupted(addr: SocketAddr) -> DemoResult {
    let config = Config {
        idle_timeout: SERVE_IDLE_TIMEOUT,
        log_requests: true,
    };
    let (server, handle) =
        MioServer::bind(addr, config).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let stopper = handle.clone();
    crate::signal::on_interrupt(move || stopper.stop())?;
    let task = ch03::spawn_task!(server);
    println!(
        "mio-tcp-server listening on http://{}/ (idle timeout {:?}, at most {MAX_CONNS} connections, {MAX_REQUEST}-byte request heads); Ctrl-C stops it",
        handle.addr(),
        SERVE_IDLE_TIMEOUT
    );
    let stats = futures_lite::future::block_on(task)?;
    println!("interrupted: stopped cleanly");
    println!("{stats}");
    Ok(())
}

/// The default run: the server on a free port, six clients good and bad, the statistics.
fn tour() -> DemoResult {
    let (server, handle) = MioServer::bind(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        Config::new(TOUR_IDLE_TIMEOUT),
    )?;
    let task = ch03::spawn_task!(server);
    // If a step below fails, the early return still stops the server (rather than leaving it
    // parked in `Poll::poll` on a runtime worker for the rest of the chapter's run).
    let _stop_on_return = StopOnDrop(&handle);
    let addr = handle.addr();
    println!(
        "mio-tcp-server listening on {addr} (idle timeout {TOUR_IDLE_TIMEOUT:?}, at most {MAX_CONNS} connections, {MAX_REQUEST}-byte request heads)"
    );
    let outcome = |label: &str, text: String| println!("{label:<22} -> {text}");

    outcome("GET /dingo", describe(raw_http::get(addr, "/dingo")));
    outcome(
        "garbage",
        describe(raw_http::exchange(
            addr,
            b"\x16\x03\x01\x02\x00\x01 not http at all\r\n\r\n",
        )),
    );
    outcome("half-written request", half_written(addr));
    outcome("connect and close", {
        drop(raw_http::connect(addr)?);
        "closed before sending anything: nothing to answer".to_string()
    });
    outcome("20 KiB header flood", describe(flood(addr, 20 * 1024)));
    outcome("GET /", describe(raw_http::get(addr, "/")));

    // Let the server see the last closes before the statistics are read.
    let deadline = Instant::now() + Duration::from_secs(2);
    while handle.stats().open > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    println!("{}", handle.stats());
    handle.stop();
    let stats =
        futures_lite::future::block_on(crate::watchdog::within(Duration::from_secs(5), task))??;
    println!(
        "stopped: the server future completed with its statistics ({} answered)",
        stats.answered
    );
    Ok(())
}

/// Stops the server when dropped.
struct StopOnDrop<'a>(&'a ServerHandle);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// A one-line summary of a response (or of the error instead).
pub fn describe(result: io::Result<raw_http::Response>) -> String {
    match result {
        Ok(r) => {
            let body = r.body_text();
            let body = body.trim_end();
            if r.status == 200 {
                format!("{} {}: {body}", r.status, r.reason)
            } else {
                format!("{} {}", r.status, r.reason)
            }
        }
        Err(e) => format!("error: {e}"),
    }
}

/// A request whose head is `size` bytes of headers without an end: the server answers `431`.
pub fn flood(addr: SocketAddr, size: usize) -> io::Result<raw_http::Response> {
    let mut request = b"GET / HTTP/1.1\r\nHost: flood\r\nX-Flood: ".to_vec();
    request.resize(size, b'a');
    request.extend_from_slice(b"\r\n\r\n");
    raw_http::exchange(addr, &request)
}

/// Sends half a request and waits for the server to close the connection.
fn half_written(addr: SocketAddr) -> String {
    let attempt = || -> io::Result<String> {
        let mut stream = raw_http::connect(addr)?;
        stream.write_all(b"GET / HTTP/1.1\r\nHost: slow\r\n")?;
        let start = Instant::now();
        let received = raw_http::read_to_close(&mut stream)?;
        Ok(format!(
            "closed by the server after {} ms without a reply ({received} bytes received): idle timeout",
            start.elapsed().as_millis()
        ))
    };
    attempt().unwrap_or_else(|e| format!("error: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream as StdStream;
    use std::thread;

    type ServerTask = Pin<Box<dyn Future<Output = io::Result<ServerStats>> + Send>>;

    /// A test server: stops on drop, so a failing assertion does not leave it running.
    struct TestServer {
        handle: ServerHandle,
        task: Option<ServerTask>,
    }

    /// The idle timeout of the test that is about idle timeouts.
    const TEST_IDLE: Duration = Duration::from_millis(200);
    /// The idle timeout of every other test: long, so a slow machine never turns "closed by the
    /// client" into "timed out".
    const LONG_IDLE: Duration = Duration::from_secs(30);

    fn start() -> TestServer {
        start_with(LONG_IDLE)
    }

    fn start_with(idle_timeout: Duration) -> TestServer {
        crate::rt::start().unwrap();
        let (server, handle) = MioServer::bind(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            Config::new(idle_timeout),
        )
        .unwrap();
        let task = ch03::spawn_task!(server);
        TestServer {
            handle,
            task: Some(Box::pin(task)),
        }
    }

    impl TestServer {
        fn addr(&self) -> SocketAddr {
            self.handle.addr()
        }

        /// Waits (at most 3 s) until `check` holds for the live statistics.
        fn wait_for(&self, what: &str, check: impl Fn(&ServerStats) -> bool) -> ServerStats {
            let deadline = Instant::now() + Duration::from_secs(3);
            loop {
                let stats = self.handle.stats();
                if check(&stats) {
                    return stats;
                }
                assert!(Instant::now() < deadline, "{what}: {stats:?}");
                thread::sleep(Duration::from_millis(2));
            }
        }

        fn stop(mut self) -> ServerStats {
            self.handle.stop();
            let task = self.task.take().unwrap();
            futures_lite::future::block_on(crate::watchdog::within(Duration::from_secs(3), task))
                .unwrap()
                .unwrap()
        }
    }

    impl Drop for TestServer {
        fn drop(&mut self) {
            self.handle.stop();
        }
    }

    #[test]
    fn routes_answer_with_content_length_and_connection_close() {
        let server = start();
        let ok = raw_http::get(server.addr(), "/dingo").unwrap();
        assert_eq!(
            (ok.status, ok.body_text().as_str()),
            (200, "that's so dingo!\n")
        );
        assert_eq!(ok.header("content-length"), Some("17"));
        assert_eq!(ok.header("connection"), Some("close"));
        assert_eq!(
            raw_http::get(server.addr(), "/?q=1").unwrap().body_text(),
            "hello from mio\n"
        );
        assert_eq!(raw_http::get(server.addr(), "/nope").unwrap().status, 404);
        let post = raw_http::exchange(
            server.addr(),
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            (post.status, post.header("allow")),
            (405, Some("GET, HEAD"))
        );
        let stats = server.stop();
        assert_eq!((stats.accepted, stats.answered), (4, 4));
    }

    #[test]
    fn garbage_half_written_and_closed_sockets_then_a_good_request_still_gets_200() {
        let server = start();
        let addr = server.addr();
        let garbage = raw_http::exchange(addr, b"\x00\xffhello?\r\n\r\n").unwrap();
        assert_eq!(garbage.status, 400);
        let mut half = raw_http::connect(addr).unwrap();
        half.write_all(b"GET /dingo HTTP/1.1\r\nHo").unwrap();
        drop(raw_http::connect(addr).unwrap()); // connect and close at once
        let mut midway = raw_http::connect(addr).unwrap();
        midway.write_all(b"GET /dingo HTTP/1.1\r\n").unwrap();
        drop(midway); // closed midway through the head
        let good = raw_http::get(addr, "/dingo").unwrap();
        assert_eq!(
            (good.status, good.body_text().as_str()),
            (200, "that's so dingo!\n")
        );
        drop(half);
        let stats = server.wait_for("all closed", |s| s.open == 0);
        assert_eq!(stats.accepted, 5);
        assert_eq!((stats.answered, stats.bad_requests), (2, 1));
        assert_eq!(stats.closed_early, 3);
    }

    #[test]
    fn an_oversize_head_gets_431_and_the_table_returns_to_0() {
        let server = start();
        let reply = flood(server.addr(), 20 * 1024).unwrap();
        assert_eq!(reply.status, 431);
        let stats = server.wait_for("table empty", |s| s.open == 0);
        assert_eq!((stats.too_large, stats.answered), (1, 1));
        assert_eq!(stats.max_input, MAX_REQUEST);
        assert_eq!(raw_http::get(server.addr(), "/").unwrap().status, 200);
    }

    #[test]
    fn three_hundred_simultaneous_connections_the_excess_is_closed_and_the_server_still_answers() {
        let server = start();
        let clients: Vec<StdStream> = (0..300)
            .map(|_| raw_http::connect(server.addr()).unwrap())
            .collect();
        let stats = server.wait_for("all 300 seen", |s| s.accepted + s.rejected == 300);
        assert_eq!((stats.accepted, stats.rejected), (256, 44), "{stats:?}");
        assert_eq!(stats.max_open, MAX_CONNS);
        // Exactly the 44 rejected sockets see end of stream; the others are still open.
        let deadline = Instant::now() + Duration::from_secs(3);
        let closed = loop {
            let closed = clients.iter().filter(|c| is_closed(c)).count();
            if closed >= 44 || Instant::now() > deadline {
                break closed;
            }
            thread::sleep(Duration::from_millis(5));
        };
        assert_eq!(closed, 44);
        // While the table is full a newcomer is turned away; once clients leave, it is served.
        drop(clients);
        server.wait_for("table drained", |s| s.open == 0);
        assert_eq!(raw_http::get(server.addr(), "/dingo").unwrap().status, 200);
        let stats = server.stop();
        assert!(stats.max_open <= MAX_CONNS, "{stats:?}");
    }

    /// Whether the server has closed `stream`: end of stream (or a reset), rather than "no data
    /// yet".
    fn is_closed(stream: &StdStream) -> bool {
        stream.set_nonblocking(true).unwrap();
        let mut byte = [0u8; 1];
        let closed = match stream.peek(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => e.kind() != ErrorKind::WouldBlock,
        };
        stream.set_nonblocking(false).unwrap();
        closed
    }

    #[test]
    fn a_half_written_request_is_closed_after_the_idle_timeout() {
        let server = start_with(TEST_IDLE);
        let mut stream = raw_http::connect(server.addr()).unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
        let start = Instant::now();
        assert_eq!(raw_http::read_to_close(&mut stream).unwrap(), 0);
        let waited = start.elapsed();
        assert!(
            waited >= TEST_IDLE - Duration::from_millis(20),
            "{waited:?}"
        );
        assert!(waited < TEST_IDLE + Duration::from_secs(1), "{waited:?}");
        let stats = server.wait_for("timed out", |s| s.timed_out == 1);
        assert_eq!((stats.open, stats.answered), (0, 0));
    }

    #[test]
    fn an_idle_server_is_not_polled_at_all() {
        let server = start();
        // One request, then quiet: once the connection is gone nothing is due.
        assert_eq!(raw_http::get(server.addr(), "/").unwrap().status, 200);
        server.wait_for("closed", |s| s.open == 0);
        thread::sleep(Duration::from_millis(50));
        let before = server.handle.stats().polls;
        thread::sleep(Duration::from_secs(1));
        let during = server.handle.stats().polls - before;
        // An idle server needs no poll at all: with no connection open it waits for an event alone.
        assert!(during <= 1, "polled {during} times in 1 s while idle");
        assert_eq!(raw_http::get(server.addr(), "/dingo").unwrap().status, 200);
    }

    #[test]
    fn shutdown_returns_the_stats_and_closes_open_connections() {
        let server = start();
        assert_eq!(raw_http::get(server.addr(), "/").unwrap().status, 200);
        let _open = raw_http::connect(server.addr()).unwrap();
        server.wait_for("second accepted", |s| s.accepted == 2);
        let stats = server.stop();
        assert_eq!(stats.accepted, 2);
        assert_eq!(stats.answered, 1);
        assert_eq!(stats.open, 0);
        assert!(stats.closed_at_shutdown <= 1);
        assert!(stats.max_input <= MAX_REQUEST && stats.max_output <= MAX_REQUEST);
    }

    #[test]
    fn a_real_http_client_hyper_gets_its_answers() {
        let server = start();
        let uri: hyper::Uri = format!("http://{}/dingo", server.addr()).parse().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (status, body) = runtime.block_on(async {
            use http_body_util::BodyExt;
            let client =
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http::<http_body_util::Empty<bytes::Bytes>>();
            let mut results = Vec::new();
            for _ in 0..3 {
                let response = client.get(uri.clone()).await.unwrap();
                let status = response.status();
                let body = response.into_body().collect().await.unwrap().to_bytes();
                results.push((status, body));
            }
            results.pop().unwrap()
        });
        assert_eq!(status, 200);
        assert_eq!(&body[..], b"that's so dingo!\n");
    }

    #[test]
    fn check_head_accepts_every_prefix_of_a_valid_head_as_incomplete() {
        let head = b"GET /dingo?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\nX-Empty:\r\n\r\n";
        for len in 0..head.len() {
            assert_eq!(
                check_head(&head[..len]),
                Head::Incomplete,
                "prefix of {len}"
            );
        }
        assert_eq!(check_head(head), Head::Complete(head.len()));
        let mut pipelined = head.to_vec();
        pipelined.extend_from_slice(b"GET / HTTP/1.1\r\n");
        assert_eq!(check_head(&pipelined), Head::Complete(head.len()));
    }

    #[test]
    fn check_head_rejects_what_cannot_be_http_early() {
        for bad in [
            &b"\x16"[..],
            b" GET",
            b"GET  /",
            b"GETTINGVERYLONGMETHODNAME",
            b"GET /\x01",
            b"GET / HTTP/2",
            b"GET / HTTP/1.1\n",
            b"GET / HTTP/1.1\r\nNo colon here\r\n",
            b"GET / HTTP/1.1\r\n: empty name\r\n",
            b"GET / HTTP/1.1\r\nX: a\x00b\r\n",
            b"GET / HTTP/1.1\r\nX: a\nY: b\r\n",
            b"GET / HTTP/1.1\r\n\rX",
        ] {
            assert!(
                matches!(check_head(bad), Head::Malformed(_)),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn answer_routes_and_builds_complete_responses() {
        let (status, bytes) = answer(b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(status, 200);
        let parsed = raw_http::read_response(&mut &bytes[..]).unwrap();
        assert_eq!(parsed.body_text(), "hello from mio\n");
        assert_eq!(answer(b"DELETE /dingo HTTP/1.1\r\n\r\n").0, 405);
        let (status, head) = answer(b"HEAD /dingo HTTP/1.1\r\n\r\n");
        assert_eq!(status, 200);
        let head = String::from_utf8(head).unwrap();
        assert!(head.contains("Content-Length: 17\r\n"), "{head}");
        assert!(
            head.ends_with("\r\n\r\n"),
            "a HEAD reply has no body: {head}"
        );
        assert_eq!(answer(b"GET /dingo/ HTTP/1.0\r\n\r\n").0, 404);
    }

    #[test]
    fn a_bad_serve_address_is_a_usage_error() {
        let err = run(Args::from_iter(["--serve", "not-an-address"])).unwrap_err();
        assert!(err.is::<common::demo::UsageError>(), "{err}");
    }
}
