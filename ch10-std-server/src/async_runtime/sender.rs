//! `TcpSender` ("Building Our Sender", the book's `async_runtime/src/sender.rs`).
//!
//! A write on a non-blocking socket takes what fits in the kernel's send buffer and returns how
//! much that was — possibly less than asked, possibly nothing (`WouldBlock`). So a sender future
//! remembers how far it got (`written`), writes only the rest on the next poll, and when the
//! socket is full it waits for room through [`Readiness`] instead of waking itself. An optional
//! deadline turns a peer that never reads into `TimedOut` rather than a task waiting forever.

use std::future::Future;
use std::io::{self, Write};
use std::net::TcpStream;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use super::reactor::{Interest, Readiness};
use super::sleep::Sleep;

/// A future that writes all of `buffer` to `stream`, resuming where the last write stopped.
///
/// The stream must already be non-blocking (set once when the connection is made).
// Book: the book's sender held an `Arc<Mutex<TcpStream>>`; `&TcpStream` implements `Write`, so
// a borrow is enough, and nothing ever waits on (or self-wakes around) a busy lock.
#[derive(Debug)]
pub struct TcpSender<'a> {
    /// The connection (non-blocking).
    pub stream: &'a TcpStream,
    /// The bytes to send: for our server and client, one whole frame.
    pub buffer: Vec<u8>,
    /// How many bytes of `buffer` the kernel has accepted so far.
    written: usize,
    /// Waits for room in the send buffer after a `WouldBlock`.
    wait: Readiness,
    /// Fails the send with `TimedOut` if it is not done by then.
    deadline: Option<Sleep>,
    writes: u64,
    waits: u64,
}

impl<'a> TcpSender<'a> {
    /// A sender of `buffer` over `stream` (which must be non-blocking).
    pub fn new(stream: &'a TcpStream, buffer: Vec<u8>) -> Self {
        TcpSender {
            stream,
            buffer,
            written: 0,
            wait: Readiness::new(stream, Interest::Writable),
            deadline: None,
            writes: 0,
            waits: 0,
        }
    }

    /// The same sender, failing with `TimedOut` if the whole buffer is not out by `when`.
    pub fn with_deadline(mut self, when: Instant) -> Self {
        self.deadline = Some(Sleep::until(when));
        self
    }

    /// Bytes accepted by the kernel so far.
    pub fn written(&self) -> usize {
        self.written
    }

    /// Successful `write` calls so far (each may have taken part of the buffer).
    pub fn writes(&self) -> u64 {
        self.writes
    }

    /// Times the sender returned `Pending` to wait for room in the socket.
    pub fn waits(&self) -> u64 {
        self.waits
    }
}

// Book: the book wrote `type Output = io::Result<>>;`, a typo that does not compile; the output is
// `io::Result<()>`.
impl Future for TcpSender<'_> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Every field is `Unpin`, so the sender can be used through `&mut` freely.
        let this = self.get_mut();
        // Book: the book called `set_nonblocking(true)` on every poll (a system call each time);
        // our connections are made non-blocking once, when they are set up.
        while this.written < this.buffer.len() {
            // Book: the book called `write_all` on every poll; on a non-blocking socket it can
            // write part of the buffer and then fail with `WouldBlock`, and the retry sent the
            // whole buffer again from byte 0, duplicating bytes the peer already has. We write
            // only what has not gone out yet.
            match this.stream.write(&this.buffer[this.written..]) {
                Ok(0) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the socket accepted no bytes",
                    )));
                }
                Ok(n) => {
                    this.written += n;
                    this.writes += 1;
                    this.wait.reset();
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Book: the book's sender called `wake_by_ref` and returned `Pending`, so a
                    // full socket made its task spin; ours sleeps until the socket has room.
                    if this.wait.poll_ready(cx).is_ready() {
                        continue; // room already (or the wait ended): try again
                    }
                    if let Some(deadline) = &mut this.deadline
                        && Pin::new(deadline).poll(cx).is_ready()
                    {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!(
                                "send timed out with {} of {} bytes written",
                                this.written,
                                this.buffer.len()
                            ),
                        )));
                    }
                    this.waits += 1;
                    return Poll::Pending;
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }
}
