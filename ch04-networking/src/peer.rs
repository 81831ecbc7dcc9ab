//! Helper: a raw peer made of std sockets on a thread of its own, for the IO-adapter demos and
//! the tests.
//!
//! The adapters are about bytes, not HTTP, so they are easiest to watch against a peer that does
//! exactly one simple thing with them: read to end of stream and say how much arrived
//! ([`answer_with_count`]), capture a request head ([`capture_head`]), or send a payload in
//! chunks with pauses ([`send_in_chunks`]). The behaviours are generic over `Read + Write`, so
//! the tests run them over TLS too.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

/// How long a peer waits on a silent socket before giving up, so a broken client cannot hang it.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A peer listening on `127.0.0.1`, serving one connection, whose result can be collected.
#[derive(Debug)]
pub struct Peer<T> {
    addr: SocketAddr,
    result: flume::Receiver<io::Result<T>>,
}

/// Starts a peer: it accepts one connection and runs `serve` on it, on a thread of its own.
pub fn spawn<T, F>(serve: F) -> io::Result<Peer<T>>
where
    T: Send + 'static,
    F: FnOnce(&mut TcpStream) -> io::Result<T> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let (report, result) = flume::bounded(1);
    thread::Builder::new()
        .name("raw-peer".into())
        .spawn(move || {
            let outcome = listener.accept().and_then(|(mut stream, _)| {
                stream.set_read_timeout(Some(IO_TIMEOUT))?;
                stream.set_write_timeout(Some(IO_TIMEOUT))?;
                serve(&mut stream)
            });
            let _ = report.send(outcome);
        })?;
    Ok(Peer { addr, result })
}

impl<T> Peer<T> {
    /// Where the peer listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Waits (at most `timeout`) for what the peer's `serve` returned.
    pub fn result(self, timeout: Duration) -> io::Result<T> {
        self.result.recv_timeout(timeout).map_err(|e| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the peer did not finish: {e}"),
            )
        })?
    }
}

/// Reads until end of stream (the other side shut down its write half), then answers
/// `peer read N bytes` and returns what it read.
pub fn answer_with_count<S: Read + Write>(stream: &mut S) -> io::Result<Vec<u8>> {
    let mut received = Vec::new();
    stream.read_to_end(&mut received)?;
    write!(stream, "peer read {} bytes", received.len())?;
    stream.flush()?;
    Ok(received)
}

/// Reads a request head (up to the blank line), answers `200 OK` with the body `ok` and
/// `Connection: close`, and returns the head as text.
pub fn capture_head<S: Read + Write>(stream: &mut S) -> io::Result<String> {
    let head = read_head(stream)?;
    stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")?;
    stream.flush()?;
    Ok(head)
}

/// Reads up to and including the blank line that ends a request head, a byte at a time (so
/// nothing after it is consumed), and returns it as text.
pub fn read_head<S: Read>(stream: &mut S) -> io::Result<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// Sends `payload` in `chunks` roughly equal pieces, pausing `pause` before each, then returns
/// (the caller closes the stream by dropping it).
pub fn send_in_chunks<S: Write>(
    stream: &mut S,
    payload: &[u8],
    chunks: usize,
    pause: Duration,
) -> io::Result<()> {
    let size = payload.len().div_ceil(chunks.max(1)).max(1);
    for chunk in payload.chunks(size) {
        thread::sleep(pause);
        stream.write_all(chunk)?;
        stream.flush()?;
    }
    Ok(())
}

/// A payload whose bytes say where they are (`i % 251`), so a reordered or lost chunk shows.
pub fn patterned(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}
