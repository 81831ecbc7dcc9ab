//! `TcpReceiver` ("Building Our Receiver", the book's `async_runtime/src/reciever.rs`).
//!
//! A read returns whatever has arrived: part of a message, exactly one, or one and a half. So
//! the receiver keeps a per-connection buffer ([`FrameReader`]), appends each read to it, and
//! hands out a [`Data`] only once a whole frame is there, keeping the surplus for the next one.
//! The frame's length prefix says where a message ends, and it is checked against
//! [`MAX_FRAME_LEN`] before the buffer grows: whatever a peer sends, a connection holds at most
//! [`MAX_BUFFERED`] bytes. When nothing is there to read, the task waits on [`Readiness`].
// Book: the book's module is spelled `reciever`; ours is `receiver`.

use std::future::Future;
use std::io::{self, Read};
use std::net::TcpStream;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use super::reactor::{Interest, Readiness};
use super::sleep::Sleep;
use crate::data_layer::data::{self, Data, MAX_FRAME_LEN};

/// A future that resolves to the next whole frame from a [`FrameReader`]'s connection:
/// `Ok(Some(data))`, or `Ok(None)` if the peer closed cleanly between frames.
///
/// Errors: `UnexpectedEof` if the peer closed in the middle of a frame, `InvalidData` as soon as
/// a bad length prefix (or a bad body) is seen, `TimedOut` past the deadline, and whatever the
/// socket reports (`ConnectionReset`, …).
// Book: the book's receiver read until the peer closed the connection and returned the raw
// bytes, so one connection carried one message and the buffer grew without limit; ours returns
// one length-prefixed frame at a time and keeps the connection open for the next.
#[derive(Debug)]
pub struct TcpReceiver<'a> {
    /// The connection and its buffer of bytes read but not yet returned.
    pub reader: &'a mut FrameReader,
    /// Waits for data after a `WouldBlock`.
    wait: Readiness,
    /// Fails the receive with `TimedOut` if no whole frame has arrived by then.
    deadline: Option<Sleep>,
}

impl<'a> TcpReceiver<'a> {
    /// A receive of the next frame from `reader`.
    pub fn new(reader: &'a mut FrameReader) -> Self {
        let wait = Readiness::new(&reader.stream, Interest::Readable);
        TcpReceiver {
            reader,
            wait,
            deadline: None,
        }
    }

    /// The same receive, failing with `TimedOut` unless a whole frame has arrived by `when`
    /// (a peer sending one byte at a time cannot hold the connection open forever).
    pub fn with_deadline(mut self, when: Instant) -> Self {
        self.deadline = Some(Sleep::until(when));
        self
    }
}

impl Future for TcpReceiver<'_> {
    type Output = io::Result<Option<Data>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let reader = &mut *this.reader;
        reader.polls += 1;
        loop {
            // A whole frame may already be buffered (the peer pipelined several).
            if let Some(frame) = reader.take_frame()? {
                return Poll::Ready(Ok(Some(frame)));
            }
            // Book: the book's receiver treated the first `WouldBlock` or the end of the
            // connection as the end of the message; the length prefix tells us where it ends.
            match reader.read_chunk() {
                Ok(0) if reader.buf.is_empty() => return Poll::Ready(Ok(None)),
                Ok(0) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "the peer closed the connection {} bytes into a frame",
                            reader.buf.len()
                        ),
                    )));
                }
                Ok(_) => this.wait.reset(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Book: the book's receiver called `wake_by_ref` on `WouldBlock`, a busy
                    // loop until data came; ours is woken when the socket has data.
                    if this.wait.poll_ready(cx).is_ready() {
                        continue;
                    }
                    if let Some(deadline) = &mut this.deadline
                        && Pin::new(deadline).poll(cx).is_ready()
                    {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!(
                                "no whole frame before the deadline ({} bytes buffered)",
                                reader.buf.len()
                            ),
                        )));
                    }
                    return Poll::Pending;
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

/// How much one read asks for.
pub const CHUNK: usize = 4096;

/// The most a [`FrameReader`] ever holds: an unfinished frame (prefix and at most
/// [`MAX_FRAME_LEN`] bytes of body) plus one read.
pub const MAX_BUFFERED: usize = 4 + MAX_FRAME_LEN + CHUNK;

/// One connection's receiving side: the socket and the bytes read from it but not yet decoded.
///
/// It owns the stream; write replies through [`FrameReader::stream`] (a `&TcpStream` writes).
#[derive(Debug)]
pub struct FrameReader {
    stream: TcpStream,
    buf: Vec<u8>,
    polls: u64,
    reads: u64,
    peak: usize,
}

impl FrameReader {
    /// Makes `stream` non-blocking (once, here) and wraps it.
    pub fn new(stream: TcpStream) -> io::Result<Self> {
        stream.set_nonblocking(true)?;
        Ok(FrameReader {
            stream,
            buf: Vec::new(),
            polls: 0,
            reads: 0,
            peak: 0,
        })
    }

    /// The next frame: `reader.receive().await`.
    pub fn receive(&mut self) -> TcpReceiver<'_> {
        TcpReceiver::new(self)
    }

    /// The connection (to write replies, or read its addresses).
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Gives the connection back.
    pub fn into_inner(self) -> TcpStream {
        self.stream
    }

    /// Bytes read but not yet returned as a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The largest buffer this reader has allocated (at most [`MAX_BUFFERED`] bytes).
    pub fn peak_buffered(&self) -> usize {
        self.peak
    }

    /// Times a [`TcpReceiver`] of this reader was polled.
    pub fn polls(&self) -> u64 {
        self.polls
    }

    /// Reads that returned data.
    pub fn reads(&self) -> u64 {
        self.reads
    }

    // Book: the book returned `self.buffer.to_vec()`, a copy, where `mem::take` would have moved
    // the buffer out; ours decodes the frame straight from the buffer and drains those bytes.
    /// Removes and returns the first whole frame in the buffer, if there is one. A bad prefix
    /// fails as soon as its 4 bytes are here, before the buffer grows any further.
    fn take_frame(&mut self) -> io::Result<Option<Data>> {
        match data::decode_frame(&self.buf)? {
            Some((frame, used)) => {
                self.buf.drain(..used);
                Ok(Some(frame))
            }
            None => Ok(None),
        }
    }

    /// One read of at most [`CHUNK`] bytes appended to the buffer. Only called when the buffer
    /// holds no whole frame, so it stays within [`MAX_BUFFERED`].
    fn read_chunk(&mut self) -> io::Result<usize> {
        let start = self.buf.len();
        debug_assert!(start < 4 + MAX_FRAME_LEN, "a whole frame was left unread");
        // Room for the rest of the frame whose (already checked) prefix is here, plus one read,
        // reserved exactly: the allocation never exceeds `MAX_BUFFERED`.
        let frame_end = match self.buf.first_chunk::<4>() {
            Some(prefix) => (4 + u32::from_be_bytes(*prefix) as usize).min(4 + MAX_FRAME_LEN),
            None => 0,
        };
        let want = frame_end.max(start) + CHUNK;
        if self.buf.capacity() < want {
            self.buf.reserve_exact(want - start);
        }
        self.buf.resize(start + CHUNK, 0);
        self.peak = self.peak.max(self.buf.capacity());
        let result = (&self.stream).read(&mut self.buf[start..]);
        let got = *result.as_ref().unwrap_or(&0);
        self.buf.truncate(start + got);
        if got > 0 {
            self.reads += 1;
        }
        result
    }
}
