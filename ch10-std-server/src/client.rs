//! `client` ("Building Our Async Client"): many requests overlapping on one executor thread.
//!
//! [`send_data`] is the book's request: connect, send one frame with [`TcpSender`], receive the
//! reply with a [`TcpReceiver`](crate::async_runtime::receiver::TcpReceiver). Spawn hundreds of
//! them on one [`Executor`] and they all wait for the server at the same time, so the total is
//! about one request's latency, not the sum. [`Client`] is the keep-alive form (many requests on
//! one connection) that the load test and the benchmark use.
//!
//! `cargo run -p ch10 -- client` starts its own server on a free port (100 ms of work per
//! request) and sends 200 requests at once; `--addr 127.0.0.1:7878` talks to a running
//! `ch10 server` instead and exits with status 0 only if every reply matched its request.

pub mod unblock;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};

use crate::async_runtime::Executor;
use crate::async_runtime::receiver::FrameReader;
use crate::async_runtime::sender::TcpSender;
use crate::data_layer::data::{Data, MAX_FRAME_LEN, decode_frame};
use crate::server::handler::REPLY_TEXT;
use crate::server::{Server, ServerConfig};
use unblock::unblock;

/// One request on a connection of its own: connects to `addr`, sends `Data { field1, field2,
/// field3 }` and returns the server's reply.
// Book: the book returned the reply's bytes as a `String`; ours decodes the reply frame.
pub async fn send_data(
    addr: SocketAddr,
    field1: u32,
    field2: u16,
    field3: String,
) -> io::Result<Data> {
    // Book: `TcpStream::connect("127.0.0.1:7878"?)` puts the `?` inside the string (it does not
    // compile) and connects to a fixed address; ours takes the address as an argument.
    let mut client = Client::connect(addr).await?;
    client
        .request(Data {
            field1,
            field2,
            field3,
        })
        .await
}

// Book: the listing of `send_data` is followed by two stray lines, `)` and `}`, left over from a
// page break; they belong to no code.

/// A keep-alive connection to the server: one request at a time, many per connection.
#[derive(Debug)]
pub struct Client {
    reader: FrameReader,
    timeout: Duration,
}

/// How long `connect` may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one request may take (send and reply) before it fails with `TimedOut`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

impl Client {
    /// Connects to `addr` (on a helper thread: std's `connect` blocks).
    // Book: the book's `TcpStream::connect` blocked the executor thread, stalling every other
    // request on it for the whole handshake; ours runs it on a helper thread.
    pub async fn connect(addr: SocketAddr) -> io::Result<Client> {
        let stream = unblock(move || TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)).await?;
        Client::from_stream(stream)
    }

    /// Wraps a connected stream (making it non-blocking).
    pub fn from_stream(stream: TcpStream) -> io::Result<Client> {
        stream.set_nodelay(true)?;
        Ok(Client {
            reader: FrameReader::new(stream)?,
            timeout: REQUEST_TIMEOUT,
        })
    }

    /// Sends `data` and waits for the reply frame.
    pub async fn request(&mut self, data: Data) -> io::Result<Data> {
        let deadline = Instant::now() + self.timeout;
        TcpSender::new(self.reader.stream(), data.serialize()?)
            .with_deadline(deadline)
            .await?;
        match self.reader.receive().with_deadline(deadline).await? {
            Some(reply) => Ok(reply),
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection without replying",
            )),
        }
    }

    /// The connection.
    pub fn stream(&self) -> &TcpStream {
        self.reader.stream()
    }
}

/// `Ok` if `reply` answers the request with `field1` and `field2`; otherwise what differs.
pub fn check_reply(field1: u32, field2: u16, reply: &Data) -> Result<(), String> {
    if reply.field1 == field1 && reply.field2 == field2 && reply.field3 == REPLY_TEXT {
        Ok(())
    } else {
        Err(format!(
            "expected field1 {field1}, field2 {field2}, field3 {REPLY_TEXT:?}; got {reply:?}"
        ))
    }
}

/// A request over a plain blocking socket (no executor): writes the frame and reads the reply.
/// Test and benchmark load generators use it, so they measure the server, not our client.
pub fn blocking_request(stream: &mut TcpStream, data: &Data) -> io::Result<Data> {
    stream.write_all(&data.serialize()?)?;
    read_frame_blocking(stream)?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection without replying",
        )
    })
}

/// Reads one frame from a blocking socket: `Ok(None)` if the stream ends before any byte of it.
pub fn read_frame_blocking(stream: &mut impl Read) -> io::Result<Option<Data>> {
    let mut prefix = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match stream.read(&mut prefix[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_be_bytes(prefix) as usize;
    if len > MAX_FRAME_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame length {len} exceeds {MAX_FRAME_LEN}"),
        ));
    }
    let mut frame = vec![0u8; 4 + len];
    frame[..4].copy_from_slice(&prefix);
    stream.read_exact(&mut frame[4..])?;
    match decode_frame(&frame)? {
        Some((data, _)) => Ok(Some(data)),
        None => Err(io::ErrorKind::UnexpectedEof.into()),
    }
}

/// What a batch of requests gave.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Replies that matched their requests.
    pub matched: usize,
    /// `(request number, what went wrong)` for every other request.
    pub failures: Vec<(u32, String)>,
    /// The first replies, for printing.
    pub shown: Vec<Data>,
    /// Wall time for the whole batch.
    pub took: Duration,
}

/// Sends `n` requests at once (one connection each, as the book does) from one executor thread
/// and checks every reply; keeps the first `show` replies.
pub fn send_all(addr: SocketAddr, n: u32, show: usize) -> Outcome {
    let started = Instant::now();
    let mut executor = Executor::new();
    // Book: the book polled its executor on a spawned thread in an endless loop (a core at
    // 100 % for the life of the process) and called `recv().unwrap()` on each handle; ours
    // drives the tasks with `block_on`, which parks while all of them wait.
    let handles: Vec<_> = (0..n)
        .map(|i| executor.spawn(send_data(addr, i, i as u16, format!("Hello, server! {i}"))))
        .collect();
    let results = executor.block_on(async {
        let mut results = Vec::with_capacity(handles.len());
        for handle in handles {
            results.push(handle.await);
        }
        results
    });
    let mut outcome = Outcome {
        took: started.elapsed(),
        ..Outcome::default()
    };
    for (i, result) in (0..n).zip(results) {
        match result {
            Ok(Ok(reply)) => match check_reply(i, i as u16, &reply) {
                Ok(()) => {
                    outcome.matched += 1;
                    if outcome.shown.len() < show {
                        outcome.shown.push(reply);
                    }
                }
                Err(why) => outcome.failures.push((i, why)),
            },
            Ok(Err(e)) => outcome.failures.push((i, e.to_string())),
            Err(e) => outcome.failures.push((i, e.to_string())),
        }
    }
    outcome
}

/// Runs the demo: `client [--addr ADDR] [--requests N] [--show K]`.
pub fn run(mut args: Args) -> DemoResult {
    let addr: Option<SocketAddr> = args.value("addr")?;
    // Book: the book sent 4,000 requests at once, more sockets than the 1,024 open files many
    // systems allow by default; ours defaults to 200 (raise `ulimit -n` before `--requests 4000`).
    let requests = args.value_in("requests", 200u32, 1..=100_000)?;
    let show = args.value_in("show", 5usize, 0..=100_000)?;
    args.finish()?;

    let (server, work) = match addr {
        Some(_) => (None, None),
        None => {
            let config = ServerConfig {
                // Every request has a connection of its own, all open at once.
                max_connections: ServerConfig::default()
                    .max_connections
                    .max(requests as usize),
                ..ServerConfig::default()
            };
            let work = config.work;
            let server = Server::bind("127.0.0.1:0", config)?;
            println!(
                "started a server on {} ({work:?} of work per request)",
                server.local_addr()
            );
            (Some(server), Some(work))
        }
    };
    let target = addr.or(server.as_ref().map(|s| s.local_addr()));
    let Some(target) = target else {
        return Err("no server address".into());
    };
    println!("sending {requests} requests at once to {target} from one executor thread");
    let outcome = send_all(target, requests, show);

    for reply in &outcome.shown {
        println!("Result: {reply:?}");
    }
    if outcome.matched > outcome.shown.len() {
        println!("… {} more", outcome.matched - outcome.shown.len());
    }
    for (i, why) in outcome.failures.iter().take(show.max(5)) {
        println!("request {i} failed: {why}");
    }
    if outcome.failures.len() > show.max(5) {
        println!("… {} more failures", outcome.failures.len() - show.max(5));
    }
    let serial = work
        .map(|w| format!(" (one at a time: ≥ {:.1} s)", (w * requests).as_secs_f64()))
        .unwrap_or_default();
    // Book: the book's timing line was labelled with a leftover `expensive_function()`; ours says
    // what was timed.
    println!(
        "{}/{requests} replies matched in {:.2} s{serial}",
        outcome.matched,
        outcome.took.as_secs_f64()
    );
    if let Some(server) = server {
        server.shutdown();
    }
    if !outcome.failures.is_empty() {
        return Err(format!(
            "{} of {requests} requests failed or got a wrong reply",
            outcome.failures.len()
        )
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::async_runtime::test_support::within;
    use std::net::TcpListener;

    #[test]
    fn fifty_requests_with_100_ms_of_work_overlap() {
        within(Duration::from_secs(20), || {
            let server = Server::bind("127.0.0.1:0", ServerConfig::default()).unwrap();
            let outcome = send_all(server.local_addr(), 50, 3);
            assert_eq!(outcome.matched, 50, "{:?}", outcome.failures);
            assert!(outcome.failures.is_empty());
            assert_eq!(outcome.shown.len(), 3);
            // One at a time this would take at least 50 × 100 ms = 5 s.
            assert!(outcome.took < Duration::from_secs(1), "{:?}", outcome.took);
        });
    }

    #[test]
    fn a_refused_connection_is_an_error() {
        let addr = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap()
        }; // dropped: nothing listens there now
        let result = within(Duration::from_secs(10), move || {
            Executor::new().block_on(send_data(addr, 1, 1, "anyone?".into()))
        });
        assert_eq!(result.unwrap_err().kind(), io::ErrorKind::ConnectionRefused);
    }

    #[test]
    fn keep_alive_requests_and_their_checks() {
        within(Duration::from_secs(20), || {
            let server = Server::bind(
                "127.0.0.1:0",
                ServerConfig {
                    work: Duration::ZERO,
                    ..ServerConfig::default()
                },
            )
            .unwrap();
            let addr = server.local_addr();
            let mut executor = Executor::new();
            let replies = executor.block_on(async move {
                let mut client = Client::connect(addr).await.unwrap();
                let mut replies = Vec::new();
                for i in 0..20u32 {
                    let request = Data {
                        field1: i,
                        field2: 2 * i as u16,
                        field3: "é".repeat(i as usize),
                    };
                    replies.push(client.request(request).await.unwrap());
                }
                replies
            });
            for (i, reply) in (0..20u32).zip(&replies) {
                check_reply(i, 2 * i as u16, reply).unwrap();
            }
            assert!(check_reply(1, 2, &replies[0]).is_err());
            // One connection carried all twenty.
            assert!(server.wait_until_idle(Duration::from_secs(2)));
            assert_eq!(server.stats().accepted, 1);
            assert_eq!(server.stats().requests, 20);
        });
    }

    #[test]
    fn a_blocking_read_rejects_a_huge_prefix_before_allocating() {
        let mut bytes: &[u8] = &[0xff, 0xff, 0xff, 0xff, 0, 0];
        let err = read_frame_blocking(&mut bytes).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let mut empty: &[u8] = &[];
        assert!(read_frame_blocking(&mut empty).unwrap().is_none());
    }
}
