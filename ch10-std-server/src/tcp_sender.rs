//! `tcp-sender` ("Building Our Sender"): a non-blocking write may take only part of a buffer.
//!
//! The code is [`crate::async_runtime::sender::TcpSender`] (the book's
//! `async_runtime/src/sender.rs`): it remembers how many bytes went out and, when the socket is
//! full, waits for room through the reactor rather than waking itself. The demo pushes 32 MiB
//! through a loopback connection whose reader starts only after the sender first found the
//! socket full, and the reader checks every byte. Then a sender written the book's way — the
//! whole `write_all` on every attempt — runs against a fresh connection, and the reader sees the
//! start of the buffer arrive a second time in the middle of the stream.
//!
//! `cargo run -p ch10 -- tcp-sender [--mib N]`

pub use crate::async_runtime::sender::TcpSender;

use std::future::{Future, poll_fn};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::pin::Pin;
use std::sync::mpsc;
use std::task::Poll;
use std::thread;
use std::time::Duration;

use common::demo::{Args, DemoResult};

use crate::async_runtime::Executor;
use crate::async_runtime::reactor::{Interest, Readiness};

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let mib = args.value_in("mib", 32usize, 1..=512)?;
    args.finish()?;
    let len = mib << 20;

    let report = send_to_late_reader(len)?;
    println!(
        "sent {} bytes in {} writes, {} waits ({} polls); peer verified {} bytes{}",
        report.written,
        report.writes,
        report.waits,
        report.polls,
        report.peer.verified,
        if report.peer.is_intact(len) {
            ""
        } else {
            " — CORRUPTED"
        }
    );
    if !report.peer.is_intact(len) {
        return Err(format!("the stream arrived damaged: {:?}", report.peer).into());
    }

    let book = book_style_send(len)?;
    match book.peer.restart_at {
        Some(offset) => println!(
            "book-style: peer saw byte 0 again at offset {offset} — stream corrupted \
             ({} write_all attempts, then: {})",
            book.attempts, book.ended
        ),
        None => println!(
            "book-style: no duplicate seen this time ({} attempts, peer got {} bytes): {}",
            book.attempts, book.peer.verified, book.ended
        ),
    }
    Ok(())
}

/// What [`send_to_late_reader`] measured.
#[derive(Debug)]
pub struct SendReport {
    /// Bytes the sender reports as written.
    pub written: usize,
    /// Successful `write` calls.
    pub writes: u64,
    /// Times it waited for room.
    pub waits: u64,
    /// Times the executor polled it.
    pub polls: u64,
    /// What the reader saw.
    pub peer: PeerReport,
}

/// Sends `len` pattern bytes with [`TcpSender`] to a reader that starts reading only once the
/// sender has found the socket full.
pub fn send_to_late_reader(len: usize) -> io::Result<SendReport> {
    let (ours, theirs) = loopback_pair()?;
    ours.set_nonblocking(true)?;
    let (full_tx, full_rx) = mpsc::channel::<()>();
    let peer = thread::Builder::new().name("peer".into()).spawn(move || {
        // Start reading only once the sender has met a full socket.
        let _ = full_rx.recv_timeout(Duration::from_secs(10));
        read_and_check(theirs, len, false)
    })?;

    let mut sender = TcpSender::new(&ours, pattern(len));
    let mut polls = 0;
    let mut executor = Executor::new();
    let sent = executor.block_on(poll_fn(|cx| {
        polls += 1;
        let poll = Pin::new(&mut sender).poll(cx);
        if poll.is_pending() && sender.waits() == 1 {
            let _ = full_tx.send(());
        }
        poll
    }));
    drop(full_tx);
    let (written, writes, waits) = (sender.written(), sender.writes(), sender.waits());
    drop(sender);
    drop(ours); // end of stream for the reader
    let peer = peer
        .join()
        .map_err(|_| io::Error::other("the reader thread panicked"))??;
    sent?;
    Ok(SendReport {
        written,
        writes,
        waits,
        polls,
        peer,
    })
}

/// The book's sender: `write_all` of the whole buffer on every attempt.
///
/// Only the retry is the book's; between attempts it waits for room like ours (the book woke
/// itself at once, a spin), and it gives up after [`BOOK_ATTEMPTS`] so the demo ends.
#[derive(Debug)]
pub struct BookTcpSender<'a> {
    /// The connection (non-blocking).
    pub stream: &'a TcpStream,
    /// The whole message.
    pub buffer: Vec<u8>,
    attempts: u32,
    wait: Readiness,
}

/// How many `write_all` attempts [`BookTcpSender`] makes before giving up.
pub const BOOK_ATTEMPTS: u32 = 50;

impl<'a> BookTcpSender<'a> {
    /// A book-style sender of `buffer`.
    pub fn new(stream: &'a TcpStream, buffer: Vec<u8>) -> Self {
        BookTcpSender {
            stream,
            buffer,
            attempts: 0,
            wait: Readiness::new(stream, Interest::Writable),
        }
    }
}

impl Future for BookTcpSender<'_> {
    type Output = io::Result<u32>;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            this.attempts += 1;
            // The book's line: every attempt starts again at byte 0.
            match this.stream.write_all(&this.buffer) {
                Ok(()) => return Poll::Ready(Ok(this.attempts)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if this.attempts >= BOOK_ATTEMPTS {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!("gave up after {} attempts", this.attempts),
                        )));
                    }
                    if this.wait.poll_ready(cx).is_pending() {
                        return Poll::Pending;
                    }
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

/// What [`book_style_send`] saw.
#[derive(Debug)]
pub struct BookReport {
    /// `write_all` attempts made.
    pub attempts: u32,
    /// How the sender ended (`sent`, or its error).
    pub ended: String,
    /// What the reader saw.
    pub peer: PeerReport,
}

/// Sends `len` pattern bytes the book's way to a reader that starts once the first attempt
/// has filled the socket; the reader stops at the first wrong byte.
pub fn book_style_send(len: usize) -> io::Result<BookReport> {
    let (ours, theirs) = loopback_pair()?;
    ours.set_nonblocking(true)?;
    let (full_tx, full_rx) = mpsc::channel::<()>();
    let peer = thread::Builder::new().name("peer".into()).spawn(move || {
        let _ = full_rx.recv_timeout(Duration::from_secs(10));
        read_and_check(theirs, len, true)
    })?;
    let mut sender = BookTcpSender::new(&ours, pattern(len));
    let mut executor = Executor::new();
    let result = executor.block_on(poll_fn(|cx| {
        let poll = Pin::new(&mut sender).poll(cx);
        if poll.is_pending() {
            let _ = full_tx.send(()); // the first attempt filled the socket
        }
        poll
    }));
    drop(full_tx);
    let attempts = sender.attempts;
    drop(sender);
    drop(ours);
    let peer = peer
        .join()
        .map_err(|_| io::Error::other("the reader thread panicked"))??;
    Ok(BookReport {
        attempts,
        ended: match result {
            Ok(n) => format!("all sent after {n} attempts"),
            Err(e) => e.to_string(),
        },
        peer,
    })
}

/// What a reader found in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerReport {
    /// Bytes that matched the pattern, from the start, before any mismatch.
    pub verified: usize,
    /// Bytes read in all.
    pub received: usize,
    /// Where the first wrong byte was, if any.
    pub first_mismatch: Option<usize>,
    /// Where the start of the buffer (its marker) showed up again, if it did.
    pub restart_at: Option<usize>,
}

impl PeerReport {
    /// Exactly `len` bytes, all as sent.
    pub fn is_intact(&self, len: usize) -> bool {
        self.first_mismatch.is_none() && self.verified == len && self.received == len
    }
}

/// The first bytes of every pattern buffer; they appear nowhere else in it.
pub const MARKER: &[u8; 8] = b"\xffCH10\xffGO";

/// `len` bytes: [`MARKER`], then `i % 251` (a prime period, so a shifted copy never lines up
/// with the original, and no byte is `0xff`).
pub fn pattern(len: usize) -> Vec<u8> {
    let period: Vec<u8> = (0..251u8).collect();
    let mut bytes = Vec::with_capacity(len);
    while bytes.len() < len {
        let take = (len - bytes.len()).min(period.len());
        bytes.extend_from_slice(&period[..take]);
    }
    let head = len.min(MARKER.len());
    bytes[..head].copy_from_slice(&MARKER[..head]);
    bytes
}

/// Reads `stream` to its end (or, with `stop_at_mismatch`, to a little past the first wrong
/// byte) and compares it with [`pattern`]`(len)`.
pub fn read_and_check(
    mut stream: TcpStream,
    len: usize,
    stop_at_mismatch: bool,
) -> io::Result<PeerReport> {
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let expected = pattern(len);
    let mut received = Vec::with_capacity(len);
    let mut chunk = vec![0u8; 256 * 1024];
    let mut first_mismatch = None;
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break,
            Err(e) => return Err(e),
        };
        let start = received.len();
        received.extend_from_slice(&chunk[..n]);
        // Slice comparison is fast; look byte by byte only once something differs.
        if first_mismatch.is_none()
            && expected.get(start..received.len()) != Some(&received[start..])
        {
            first_mismatch =
                (start..received.len()).find(|&i| expected.get(i) != Some(&received[i]));
        }
        if let Some(at) = first_mismatch
            && stop_at_mismatch
            && received.len() >= at + 16
        {
            break; // enough to see what arrived there; closing resets the sender
        }
    }
    let restart_at = first_mismatch.and_then(|at| {
        let from = at.saturating_sub(MARKER.len());
        received[from..]
            .windows(MARKER.len())
            .position(|w| w == MARKER)
            .map(|p| from + p)
    });
    Ok(PeerReport {
        verified: first_mismatch.unwrap_or(received.len().min(len)),
        received: received.len(),
        first_mismatch,
        restart_at,
    })
}

/// A connected pair of loopback sockets (both blocking): `(client side, server side)`.
pub fn loopback_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let client = TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    Ok((client, server))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::async_runtime::test_support::within;

    const MIB32: usize = 32 << 20;

    #[test]
    fn thirty_two_mib_arrive_exactly_with_few_polls() {
        let report = within(Duration::from_secs(60), || send_to_late_reader(MIB32)).unwrap();
        assert_eq!(report.written, MIB32);
        assert!(report.peer.is_intact(MIB32), "{:?}", report.peer);
        assert!(
            report.waits >= 1,
            "the reader started late: the socket must fill"
        );
        assert!(report.polls <= 1_000, "{} polls for 32 MiB", report.polls);
    }

    #[test]
    fn the_book_style_retry_corrupts_the_stream() {
        let book = within(Duration::from_secs(60), || book_style_send(MIB32)).unwrap();
        let at = book
            .peer
            .restart_at
            .expect("the buffer's start must show up again");
        assert!(at > 0 && at < MIB32, "restart at {at}");
        assert_eq!(book.peer.first_mismatch.map(|m| m >= at), Some(true));
        assert!(book.attempts >= 2);
    }

    #[test]
    fn a_closed_peer_gives_an_error_not_a_panic() {
        within(Duration::from_secs(30), || {
            let (ours, theirs) = loopback_pair().unwrap();
            ours.set_nonblocking(true).unwrap();
            drop(theirs);
            let mut executor = Executor::new();
            let err = executor
                .block_on(TcpSender::new(&ours, pattern(MIB32)))
                .unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                ),
                "{err:?}"
            );
        });
    }

    #[test]
    fn a_reader_that_never_reads_times_the_sender_out() {
        within(Duration::from_secs(30), || {
            let (ours, _theirs) = loopback_pair().unwrap();
            ours.set_nonblocking(true).unwrap();
            let deadline = std::time::Instant::now() + Duration::from_millis(100);
            let mut executor = Executor::new();
            let err = executor
                .block_on(TcpSender::new(&ours, pattern(MIB32)).with_deadline(deadline))
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
        });
    }

    #[test]
    fn the_pattern_marker_is_unique() {
        let bytes = pattern(100_000);
        let count = bytes.windows(MARKER.len()).filter(|w| w == MARKER).count();
        assert_eq!(count, 1);
    }
}
