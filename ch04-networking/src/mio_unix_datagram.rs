//! `mio-unix-datagram` (extra, after the book's closing remark in "Sending Data over the Socket"):
//! messages between two mio `UnixDatagram` sockets.
//!
//! The book ends its mio section by noting that mio also drives Unix datagram sockets: same
//! machine only, no network stack on the way, and, unlike a TCP stream, message boundaries are
//! kept: each `send` arrives as exactly one `recv`. It shows no code; this demo makes the remark
//! runnable with the same steps as the TCP demos: register with a token, wait in `Poll::poll`,
//! then receive until `WouldBlock`.
//!
//! Two datagram details worth seeing:
//!
//! - `Ok(0)` from `recv` is an empty datagram, not "the peer closed" as on a stream.
//! - A datagram larger than the buffer passed to `recv` is cut to the buffer; the rest is
//!   discarded (Linux and macOS `recv(2)`), so size the buffer for the largest message.
//!
//! Run it with `cargo run -p ch04 -- mio-unix-datagram`. Unix only: elsewhere it says so.

use common::demo::{Args, DemoResult};

#[cfg(unix)]
pub use unix::*;

#[cfg(unix)]
mod unix {
    use std::io::{self, ErrorKind};
    use std::time::{Duration, Instant};

    use mio::net::UnixDatagram;
    use mio::{Events, Interest, Poll, Token};

    /// The token of the sending end.
    pub const SENDER: Token = Token(0);
    /// The token of the receiving end.
    pub const RECEIVER: Token = Token(1);

    /// Sends each of `messages` from one end of a `UnixDatagram::pair`, then waits (at most
    /// `limit`) with mio until the other end has received as many datagrams, reading each into a
    /// buffer of `buffer_size` bytes. Returns the datagrams as received.
    pub fn send_and_receive(
        messages: &[&[u8]],
        buffer_size: usize,
        limit: Duration,
    ) -> io::Result<Vec<Vec<u8>>> {
        let (mut sender, mut receiver) = UnixDatagram::pair()?;
        let mut poll = Poll::new()?;
        poll.registry()
            .register(&mut sender, SENDER, Interest::READABLE)?;
        poll.registry()
            .register(&mut receiver, RECEIVER, Interest::READABLE)?;

        for message in messages {
            let sent = sender.send(message)?;
            if sent != message.len() {
                return Err(io::Error::other("a datagram was sent short"));
            }
        }

        let mut received = Vec::new();
        let mut events = Events::with_capacity(8);
        let mut buffer = vec![0u8; buffer_size];
        let deadline = Instant::now() + limit;
        while received.len() < messages.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    format!("{} of {} datagrams arrived", received.len(), messages.len()),
                ));
            }
            match poll.poll(&mut events, Some(left)) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            for event in events.iter() {
                if event.token() == RECEIVER {
                    receive_all(&receiver, &mut buffer, &mut received)?;
                }
            }
        }
        Ok(received)
    }

    /// Receives until `WouldBlock` (readiness is an edge: one event may stand for many datagrams).
    pub fn receive_all(
        socket: &UnixDatagram,
        buffer: &mut [u8],
        received: &mut Vec<Vec<u8>>,
    ) -> io::Result<()> {
        loop {
            match socket.recv(buffer) {
                // Any size, 0 included: one datagram, cut to the buffer if it was larger.
                Ok(n) => received.push(buffer[..n].to_vec()),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// The messages the demo sends: three sizes, one of them empty.
pub const MESSAGES: [&str; 3] = [
    "that's so dingo!",
    "",
    "hello from the other end of the pair",
];

/// Runs the demo (no arguments).
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    #[cfg(unix)]
    {
        use std::time::Duration;
        let messages: Vec<&[u8]> = MESSAGES.iter().map(|m| m.as_bytes()).collect();
        println!(
            "UnixDatagram::pair(): two connected sockets, no address, no network stack; \
             sending {} datagrams",
            messages.len()
        );
        let received = send_and_receive(&messages, 1024, Duration::from_secs(5))?;
        for (i, datagram) in received.iter().enumerate() {
            println!(
                "received datagram {}: {:>2} bytes {:?}",
                i + 1,
                datagram.len(),
                String::from_utf8_lossy(datagram)
            );
        }
        println!(
            "then recv said WouldBlock: {} sends arrived as {} datagrams, boundaries kept \
             (the empty one too)",
            messages.len(),
            received.len()
        );
    }
    #[cfg(not(unix))]
    println!("mio-unix-datagram needs Unix domain sockets: this demo runs on Unix only");
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::io::ErrorKind;
    use std::time::Duration;

    #[test]
    fn three_sends_arrive_as_three_datagrams_of_the_exact_sizes_in_order() {
        let big = vec![7u8; 3000];
        let messages: [&[u8]; 3] = [b"hello", &big, b"that's so dingo!\n"];
        let received = send_and_receive(&messages, 4096, Duration::from_secs(2)).unwrap();
        let sizes: Vec<usize> = received.iter().map(Vec::len).collect();
        assert_eq!(sizes, [5, 3000, 17]);
        assert_eq!(received, messages.map(<[u8]>::to_vec));
    }

    #[test]
    fn an_empty_datagram_is_a_message_not_end_of_stream() {
        let received = send_and_receive(&[b"", b"x"], 16, Duration::from_secs(2)).unwrap();
        assert_eq!(received, [Vec::new(), b"x".to_vec()]);
    }

    #[test]
    fn recv_on_an_empty_socket_is_would_block() {
        let (_a, b) = mio::net::UnixDatagram::pair().unwrap();
        let mut buffer = [0u8; 16];
        let err = b.recv(&mut buffer).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
    }

    #[test]
    fn a_datagram_larger_than_the_buffer_is_cut_to_the_buffer() {
        // recv(2): the excess of a datagram that does not fit is discarded, and the next recv
        // reads the next datagram, not the rest of this one.
        let received =
            send_and_receive(&[b"0123456789abcdef", b"next"], 8, Duration::from_secs(2)).unwrap();
        assert_eq!(received, [b"01234567".to_vec(), b"next".to_vec()]);
    }
}
