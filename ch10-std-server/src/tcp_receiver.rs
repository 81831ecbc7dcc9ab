//! `tcp-receiver` ("Building Our Receiver"): reads arrive in pieces; frames are reassembled.
//!
//! The code is [`crate::async_runtime::receiver`] (the book's `async_runtime/src/reciever.rs`):
//! a [`FrameReader`] owns one connection's buffer and each [`TcpReceiver`] returns the next whole
//! frame from it. The demo's peer writes one frame in three pieces 30 ms apart, then two frames
//! in a single write: the receiver returns three `Data` in order, polled a few times per piece
//! (the reactor wakes it when bytes arrive), not millions of times. Then the book's rule — the
//! message ends at the first `WouldBlock` once some bytes are in — is applied to the first piece
//! alone, and decoding what it collected fails.
//!
//! `cargo run -p ch10 -- tcp-receiver [--gap-ms MS]`

pub use crate::async_runtime::receiver::{FrameReader, MAX_BUFFERED, TcpReceiver};

use std::io::{self, Cursor, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};

use crate::async_runtime::Executor;
use crate::data_layer::data::Data;
use crate::tcp_sender::loopback_pair;

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let gap_ms = args.value_in("gap-ms", 30u64, 0..=2_000)?;
    args.finish()?;
    let gap = Duration::from_millis(gap_ms);

    let frames = sample_frames();
    let first = frames[0].serialize()?;
    let cuts = split_points(first.len());
    println!(
        "peer: frame 1 ({} bytes) in three writes of {}, {} and {} bytes, {gap_ms} ms apart; \
         then frames 2 and 3 in one write",
        first.len(),
        cuts.0,
        cuts.1 - cuts.0,
        first.len() - cuts.1
    );
    let report = receive_pieces(&frames, gap)?;
    for (i, data) in report.frames.iter().enumerate() {
        println!("frame {}: {data:?}", i + 1);
    }
    println!(
        "then {}; {} polls, {} reads in {:.0} ms",
        match &report.end {
            Ok(None) => "end of stream at a frame boundary".to_string(),
            other => format!("{other:?}"),
        },
        report.polls,
        report.reads,
        report.took.as_secs_f64() * 1e3
    );
    if report.frames != frames {
        return Err("the frames came back different".into());
    }

    let (got, result) = book_style_receive(&first[..cuts.0], gap)?;
    match result {
        Ok(data) => println!("book-style: got {got} bytes -> decoded {data:?} (unexpected)"),
        Err(e) => println!("book-style: got {got} bytes -> {e}"),
    }
    Ok(())
}

/// The three frames the demo sends (the first is split, the other two go out together).
pub fn sample_frames() -> Vec<Data> {
    vec![
        Data {
            field1: 1,
            field2: 10,
            field3: "one frame, three writes".into(),
        },
        Data {
            field1: 2,
            field2: 20,
            field3: "two frames".into(),
        },
        Data {
            field1: 3,
            field2: 30,
            field3: "one write".into(),
        },
    ]
}

/// Where frame 1 is cut: after its 4-byte length prefix, and halfway through its body.
fn split_points(len: usize) -> (usize, usize) {
    (4, 4 + (len - 4) / 2)
}

/// What [`receive_pieces`] got.
#[derive(Debug)]
pub struct PiecesReport {
    /// Frames in the order they were returned.
    pub frames: Vec<Data>,
    /// What the receive after the last frame gave.
    pub end: io::Result<Option<Data>>,
    /// Polls of the receivers, all together.
    pub polls: u64,
    /// Reads that returned bytes.
    pub reads: u64,
    /// From the first write to the end of stream.
    pub took: Duration,
}

/// Sends `frames[0]` in three pieces `gap` apart, then the rest in one write, and closes; the
/// receiver side collects frames until the stream ends.
pub fn receive_pieces(frames: &[Data], gap: Duration) -> io::Result<PiecesReport> {
    let (ours, mut theirs) = loopback_pair()?;
    let mut bytes = Vec::new();
    for frame in frames {
        bytes.push(frame.serialize()?);
    }
    let started = Instant::now();
    let writer = thread::Builder::new()
        .name("peer".into())
        .spawn(move || -> io::Result<()> {
            theirs.set_nodelay(true)?;
            let first = &bytes[0];
            let (a, b) = split_points(first.len());
            for piece in [&first[..a], &first[a..b], &first[b..]] {
                theirs.write_all(piece)?;
                thread::sleep(gap);
            }
            theirs.write_all(&bytes[1..].concat())?;
            Ok(()) // dropping `theirs` ends the stream
        })?;
    let mut reader = FrameReader::new(ours)?;
    let mut executor = Executor::new();
    let (received, end) = executor.block_on(async {
        let mut received = Vec::new();
        loop {
            match reader.receive().await {
                Ok(Some(frame)) => received.push(frame),
                end => return (received, end),
            }
        }
    });
    writer
        .join()
        .map_err(|_| io::Error::other("the writer panicked"))??;
    Ok(PiecesReport {
        frames: received,
        end,
        polls: reader.polls(),
        reads: reader.reads(),
        took: started.elapsed(),
    })
}

/// The book's receive rule on a connection that delivers only `piece`: read until the first
/// `WouldBlock` after some bytes have arrived (sleeping 10 ms while nothing has), then decode.
/// Returns how many bytes it collected and what decoding them gave.
pub fn book_style_receive(piece: &[u8], gap: Duration) -> io::Result<(usize, io::Result<Data>)> {
    let (ours, mut theirs) = loopback_pair()?;
    theirs.write_all(piece)?;
    // The rest of the frame would follow after `gap`; the book's rule never waits for it.
    ours.set_nonblocking(true)?;
    let mut buffer = Vec::new();
    let mut local_buf = [0u8; 1024];
    let give_up = Instant::now() + gap.max(Duration::from_secs(2));
    loop {
        match (&ours).read(&mut local_buf) {
            Ok(0) => break,
            Ok(n) => buffer.extend_from_slice(&local_buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if !buffer.is_empty() || Instant::now() >= give_up {
                    break;
                }
                thread::sleep(Duration::from_millis(10));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let decoded = Data::deserialize(&mut Cursor::new(buffer.as_slice()));
    drop(theirs);
    Ok((buffer.len(), decoded))
}

/// A reader on one end of a loopback pair, and the other end to write into.
pub fn reader_pair() -> io::Result<(FrameReader, TcpStream)> {
    let (ours, theirs) = loopback_pair()?;
    Ok((FrameReader::new(ours)?, theirs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::async_runtime::test_support::within;

    fn frame(i: u32) -> Data {
        Data {
            field1: i,
            field2: i as u16,
            field3: format!("frame {i}"),
        }
    }

    #[test]
    fn a_frame_in_three_pieces_and_two_pipelined_frames() {
        let frames = sample_frames();
        let report = within(Duration::from_secs(10), move || {
            receive_pieces(&frames, Duration::from_millis(30)).unwrap()
        });
        assert_eq!(report.frames, sample_frames());
        assert!(matches!(report.end, Ok(None)), "{:?}", report.end);
        assert!(report.polls < 100, "{} polls", report.polls);
    }

    #[test]
    fn pipelined_frames_come_out_separately_and_in_order() {
        within(Duration::from_secs(10), || {
            let (mut reader, mut peer) = reader_pair().unwrap();
            let mut bytes = Vec::new();
            for i in 0..20 {
                bytes.extend(frame(i).serialize().unwrap());
            }
            peer.write_all(&bytes).unwrap();
            drop(peer);
            let mut executor = Executor::new();
            let got = executor.block_on(async {
                let mut got = Vec::new();
                while let Some(data) = reader.receive().await.unwrap() {
                    got.push(data);
                }
                got
            });
            assert_eq!(got, (0..20).map(frame).collect::<Vec<_>>());
        });
    }

    #[test]
    fn end_of_stream_mid_frame_is_unexpected_eof() {
        within(Duration::from_secs(10), || {
            let (mut reader, mut peer) = reader_pair().unwrap();
            let bytes = frame(7).serialize().unwrap();
            peer.write_all(&bytes[..bytes.len() - 1]).unwrap();
            drop(peer);
            let err = Executor::new().block_on(reader.receive()).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        });
    }

    #[test]
    fn end_of_stream_between_frames_is_none() {
        within(Duration::from_secs(10), || {
            let (mut reader, peer) = reader_pair().unwrap();
            drop(peer);
            let got = Executor::new().block_on(reader.receive()).unwrap();
            assert_eq!(got, None);
        });
    }

    #[test]
    fn a_huge_prefix_fails_after_one_read_within_the_bound() {
        within(Duration::from_secs(10), || {
            let (mut reader, mut peer) = reader_pair().unwrap();
            let mut bytes = vec![0xff, 0xff, 0xff, 0xff];
            bytes.extend(std::iter::repeat_n(b'x', 10_000));
            peer.write_all(&bytes).unwrap();
            // Give the bytes time to arrive so the first read sees them.
            thread::sleep(Duration::from_millis(20));
            let err = Executor::new().block_on(reader.receive()).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
            assert_eq!(reader.reads(), 1);
            assert!(reader.peak_buffered() <= MAX_BUFFERED);
        });
    }

    #[test]
    fn a_full_size_frame_never_grows_the_buffer_past_the_bound() {
        within(Duration::from_secs(10), || {
            let (mut reader, mut peer) = reader_pair().unwrap();
            let big = Data {
                field1: 1,
                field2: 2,
                field3: "y".repeat(crate::data_layer::data::MAX_FIELD3_LEN),
            };
            let mut bytes = big.serialize().unwrap();
            bytes.extend(frame(2).serialize().unwrap());
            let writer = thread::spawn(move || peer.write_all(&bytes));
            let mut executor = Executor::new();
            let first = executor.block_on(reader.receive()).unwrap().unwrap();
            let second = executor.block_on(reader.receive()).unwrap().unwrap();
            writer.join().unwrap().unwrap();
            assert_eq!(first, big);
            assert_eq!(second, frame(2));
            assert!(
                reader.peak_buffered() <= MAX_BUFFERED,
                "{} > {MAX_BUFFERED}",
                reader.peak_buffered()
            );
        });
    }

    #[test]
    fn a_100_ms_pause_costs_few_polls() {
        within(Duration::from_secs(10), || {
            let (mut reader, mut peer) = reader_pair().unwrap();
            let bytes = frame(1).serialize().unwrap();
            let writer = thread::spawn(move || {
                peer.write_all(&bytes[..6]).unwrap();
                thread::sleep(Duration::from_millis(100));
                peer.write_all(&bytes[6..]).unwrap();
                peer
            });
            let got = Executor::new().block_on(reader.receive()).unwrap();
            let _peer = writer.join().unwrap();
            assert_eq!(got, Some(frame(1)));
            assert!(reader.polls() <= 30, "{} polls", reader.polls());
        });
    }

    #[test]
    fn the_deadline_gives_timed_out() {
        within(Duration::from_secs(10), || {
            let (mut reader, _peer) = reader_pair().unwrap();
            let started = Instant::now();
            let deadline = started + Duration::from_millis(80);
            let err = Executor::new()
                .block_on(reader.receive().with_deadline(deadline))
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::TimedOut);
            assert!(started.elapsed() >= Duration::from_millis(80));
            assert!(reader.polls() <= 5, "{} polls", reader.polls());
        });
    }

    #[test]
    fn the_book_rule_cuts_a_split_frame_short() {
        let bytes = frame(1).serialize().unwrap();
        let (got, decoded) = book_style_receive(&bytes[..4], Duration::ZERO).unwrap();
        assert_eq!(got, 4);
        assert_eq!(decoded.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }
}
