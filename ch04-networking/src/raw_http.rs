//! Helper: a tiny blocking HTTP/1.1 client on `std::net::TcpStream`, for the mio demos and tests.
//!
//! The mio servers of "Polling Sockets in Futures" are tested the way a hostile network would use
//! them: with well-formed requests, but also with garbage, half-written requests and sockets closed
//! midway. A full client (hyper, reqwest) refuses to send most of that, so the demos and tests
//! write raw bytes themselves and read the answer back with [`read_response`]. Every socket here has
//! read and write timeouts ([`IO_TIMEOUT`]), so a server that never answers fails a test instead of
//! hanging it.
//!
//! ```no_run
//! # fn main() -> std::io::Result<()> {
//! let addr = "127.0.0.1:8080".parse().unwrap();
//! let response = ch04::raw_http::get(addr, "/dingo")?;
//! println!("{} {}", response.status, response.body_text());
//! # Ok(())
//! # }
//! ```

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

/// How long a client waits for the server to connect, accept bytes or answer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest response head (status line and headers) [`read_response`] accepts.
pub const MAX_HEAD: usize = 64 * 1024;

/// The largest response body [`read_response`] accepts.
pub const MAX_BODY: usize = 1024 * 1024;

/// A response as read off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code, e.g. 200.
    pub status: u16,
    /// The reason phrase, e.g. `OK`.
    pub reason: String,
    /// The headers in the order received (names as sent).
    pub headers: Vec<(String, String)>,
    /// The body: `Content-Length` bytes, or everything up to end of stream without one.
    pub body: Vec<u8>,
}

impl Response {
    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy UTF-8).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Connects to `addr` with [`IO_TIMEOUT`] for the connection and for every read and write.
pub fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(stream)
}

/// Sends `GET path` with `Host` and `Connection: close` on a fresh connection; returns the answer.
pub fn get(addr: SocketAddr, path: &str) -> io::Result<Response> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    exchange(addr, request.as_bytes())
}

/// Sends `bytes` as they are on a fresh connection, then reads one response.
pub fn exchange(addr: SocketAddr, bytes: &[u8]) -> io::Result<Response> {
    let mut stream = connect(addr)?;
    stream.write_all(bytes)?;
    read_response(&mut stream)
}

/// Sends `bytes`, closes our write half (the server sees end of stream), then reads one response.
pub fn exchange_half_closed(addr: SocketAddr, bytes: &[u8]) -> io::Result<Response> {
    let mut stream = connect(addr)?;
    stream.write_all(bytes)?;
    stream.shutdown(Shutdown::Write)?;
    read_response(&mut stream)
}

/// Reads one response: the head up to the blank line, then `Content-Length` bytes of body (or,
/// without that header, everything up to end of stream).
///
/// End of stream before a complete head is `UnexpectedEof`; a head that does not parse, or that
/// is larger than [`MAX_HEAD`], is `InvalidData`.
pub fn read_response(stream: &mut impl Read) -> io::Result<Response> {
    let mut received = Vec::new();
    let head_len = loop {
        if let Some(end) = find_blank_line(&received) {
            break end;
        }
        if received.len() > MAX_HEAD {
            return Err(invalid("response head larger than 64 KiB"));
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "end of stream after {} bytes, before a complete response head",
                    received.len()
                ),
            ));
        }
        received.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&received[..head_len])
        .map_err(|_| invalid("response head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let (status, reason) = parse_status_line(status_line)?;
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid(format!("header line without a colon: {line:?}")))?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let mut response = Response {
        status,
        reason,
        headers,
        body: received[head_len..].to_vec(),
    };
    match response.header("content-length") {
        Some(text) => {
            let len: usize = text
                .parse()
                .map_err(|_| invalid(format!("bad Content-Length: {text:?}")))?;
            if len > MAX_BODY {
                return Err(invalid("response body larger than 1 MiB"));
            }
            while response.body.len() < len {
                let mut chunk = [0u8; 4096];
                let n = stream.read(&mut chunk)?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "end of stream inside the response body",
                    ));
                }
                response.body.extend_from_slice(&chunk[..n]);
            }
            response.body.truncate(len);
        }
        None => {
            let mut rest = Vec::new();
            stream.take((MAX_BODY + 1) as u64).read_to_end(&mut rest)?;
            response.body.extend_from_slice(&rest);
        }
    }
    Ok(response)
}

/// Reads until the peer closes: `Ok(n)` with the number of bytes received on the way.
///
/// Useful to watch a server close a connection it has given up on.
pub fn read_to_close(stream: &mut impl Read) -> io::Result<usize> {
    let mut total = 0;
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n,
            // A close with unread data arrives as a reset: closed all the same.
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(total),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The index just past the first `\r\n\r\n`, if any.
pub fn find_blank_line(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}

fn parse_status_line(line: &str) -> io::Result<(u16, String)> {
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(invalid(format!("not an HTTP/1.x status line: {line:?}")));
    }
    let status = parts
        .next()
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid(format!("no status code in {line:?}")))?;
    Ok((status, parts.next().unwrap_or_default().to_string()))
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_response_with_content_length_and_ignores_what_follows() {
        let wire =
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\nConnection: close\r\n\r\nnope!extra";
        let response = read_response(&mut &wire[..]).unwrap();
        assert_eq!(response.status, 404);
        assert_eq!(response.reason, "Not Found");
        assert_eq!(response.header("connection"), Some("close"));
        assert_eq!(response.body, b"nope!");
    }

    #[test]
    fn without_content_length_the_body_runs_to_end_of_stream() {
        let wire = b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nall of it";
        let response = read_response(&mut &wire[..]).unwrap();
        assert_eq!(response.body_text(), "all of it");
    }

    #[test]
    fn end_of_stream_before_the_head_is_unexpected_eof_and_junk_is_invalid_data() {
        let err = read_response(&mut &b"HTTP/1.1 200 OK\r\n"[..]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let err = read_response(&mut &b"SSH-2.0-x\r\n\r\n"[..]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let err = read_response(&mut &b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc"[..])
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
