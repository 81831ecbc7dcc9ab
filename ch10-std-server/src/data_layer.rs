//! `data-layer` ("Setting Up the Basics"): the book's `data_layer` crate, and a demo of its
//! wire format.
//!
//! The code is in [`data`] (the book's `data_layer/src/data.rs`): `Data` with `serialize` and
//! `deserialize`, plus [`decode_frame`] for bytes that arrive in pieces. Every integer is
//! big-endian, every frame starts with its length, and every length read from the peer is
//! checked against [`MAX_FRAME_LEN`] before anything is allocated.
//!
//! The book's four crates are one package here: `src/data_layer.rs` + `src/data_layer/`,
//! `src/async_runtime.rs` + `src/async_runtime/`, `src/server.rs` + `src/server/` and
//! `src/client.rs` + `src/client/` (see the crate docs).
//!
//! The demo prints the golden vector in our layout and in the book's, round-trips three
//! messages, and feeds six hostile inputs to the decoder. Run it with
//! `cargo run -p ch10 -- data-layer`.

pub mod data;

pub use data::{Data, MAX_FIELD3_LEN, MAX_FRAME_LEN, decode_frame};

use std::io::Cursor;

use common::demo::{Args, DemoResult};

/// The book's layout, for comparison only: `field1`, `field2`, the string length and the
/// string, in the CPU's native byte order, with no frame length (a sound copy of its idea).
pub fn book_serialize(data: &Data) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&data.field1.to_ne_bytes());
    bytes.extend_from_slice(&data.field2.to_ne_bytes());
    bytes.extend_from_slice(&(data.field3.len() as u32).to_ne_bytes());
    bytes.extend_from_slice(data.field3.as_bytes());
    bytes
}

/// Bytes as `00 0c 68 …`.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub use common::xorshift::XorShift;

/// Random test data for the frame format, on top of `common`'s [`XorShift`].
pub trait RandomData {
    /// A string of at most `max_bytes` bytes mixing 1-, 2-, 3- and 4-byte UTF-8 characters.
    fn text(&mut self, max_bytes: usize) -> String;
    /// A random `Data` whose `field3` has at most `max_bytes` bytes.
    fn data(&mut self, max_bytes: usize) -> Data;
}

impl RandomData for XorShift {
    fn text(&mut self, max_bytes: usize) -> String {
        const CHARS: [char; 8] = ['a', 'Z', '7', ' ', 'é', 'ß', '€', '🦀'];
        let target = self.below(max_bytes as u64 + 1) as usize;
        let mut text = String::with_capacity(target);
        loop {
            let c = CHARS[self.below(CHARS.len() as u64) as usize];
            if text.len() + c.len_utf8() > target {
                return text;
            }
            text.push(c);
        }
    }

    fn data(&mut self, max_bytes: usize) -> Data {
        Data {
            field1: self.next_u64() as u32,
            field2: self.next_u64() as u16,
            field3: self.text(max_bytes),
        }
    }
}

/// The six hostile inputs of the demo, labelled.
pub fn hostile_inputs() -> Vec<(&'static str, Vec<u8>)> {
    let mut lying = Data {
        field1: 1,
        field2: 2,
        field3: "hi".into(),
    }
    .serialize()
    .unwrap_or_default();
    lying[10..14].copy_from_slice(&5u32.to_be_bytes()); // says 5, carries 2
    let mut bad_utf8 = Data {
        field1: 1,
        field2: 2,
        field3: "hi".into(),
    }
    .serialize()
    .unwrap_or_default();
    bad_utf8[15] = 0xff;
    vec![
        ("empty", vec![]),
        ("3 bytes", vec![0, 0, 0]),
        ("prefix ff ff ff ff", vec![0xff, 0xff, 0xff, 0xff]),
        ("prefix 9", vec![0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        ("field3 length 5 in a 2-byte body", lying),
        ("an ff byte in field3", bad_utf8),
    ]
}

/// Runs the demo.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    let golden = Data {
        field1: 1,
        field2: 2,
        field3: "hi".into(),
    };
    let ours = golden.serialize()?;
    let book = book_serialize(&golden);
    println!("{golden:?}");
    println!(
        "  ours  ({:>2} bytes, big-endian, framed): {}",
        ours.len(),
        hex(&ours)
    );
    println!(
        "  book  ({:>2} bytes, this CPU's order, {}): {}",
        book.len(),
        if cfg!(target_endian = "little") {
            "little-endian"
        } else {
            "big-endian"
        },
        hex(&book)
    );

    println!("round trips:");
    let messages = [
        Data {
            field1: 0,
            field2: 0,
            field3: String::new(),
        },
        Data {
            field1: 7,
            field2: 7,
            field3: "Hello, server! 7".into(),
        },
        Data {
            field1: u32::MAX,
            field2: u16::MAX,
            field3: "🦀🦀🦀".into(),
        },
    ];
    for message in &messages {
        let frame = message.serialize()?;
        let back = Data::deserialize(&mut Cursor::new(frame.as_slice()))?;
        println!(
            "  {:>2} bytes -> {back:?} {}",
            frame.len(),
            if &back == message {
                "(same)"
            } else {
                "(DIFFERENT)"
            }
        );
    }

    println!("hostile inputs (each rejected with an error, nothing allocated beyond the bound):");
    for (label, bytes) in hostile_inputs() {
        match Data::deserialize(&mut Cursor::new(bytes.as_slice())) {
            Ok(data) => println!("  {label:<34} -> accepted?! {data:?}"),
            Err(e) => println!("  {label:<34} -> {:?}: {e}", e.kind()),
        }
    }
    // The book's reader takes `len` from bytes 6..10 and allocates it before reading anything.
    let mut book_hostile = book_serialize(&golden);
    book_hostile[6..10].copy_from_slice(&[0xff; 4]);
    let asked = u32::from_ne_bytes([
        book_hostile[6],
        book_hostile[7],
        book_hostile[8],
        book_hostile[9],
    ]);
    println!(
        "book's decoder, string length ff ff ff ff: `vec![0u8; {asked}]` = a {:.0} GiB buffer \
         before reading a byte (ours: the string length must equal the frame length - 10, \
         at most 65,526, else InvalidData)",
        f64::from(asked) / f64::from(1u32 << 30)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, ErrorKind};

    use super::*;
    use crate::data_layer::data::{HEADER_LEN, PREFIX_LEN};

    fn frame(data: &Data) -> Vec<u8> {
        data.serialize().unwrap()
    }

    fn deserialize(bytes: &[u8]) -> std::io::Result<Data> {
        Data::deserialize(&mut Cursor::new(bytes))
    }

    #[test]
    fn golden_vector() {
        let data = Data {
            field1: 1,
            field2: 2,
            field3: "hi".into(),
        };
        let bytes = frame(&data);
        assert_eq!(
            bytes,
            [0, 0, 0, 0x0c, 0, 0, 0, 1, 0, 2, 0, 0, 0, 2, 0x68, 0x69]
        );
        assert_eq!(
            hex(&bytes),
            "00 00 00 0c 00 00 00 01 00 02 00 00 00 02 68 69"
        );
        if cfg!(target_endian = "little") {
            assert_eq!(
                hex(&book_serialize(&data)),
                "01 00 00 00 02 00 02 00 00 00 68 69"
            );
        }
        assert_eq!(decode_frame(&bytes).unwrap(), Some((data, 16)));
    }

    #[test]
    fn ten_thousand_random_messages_round_trip() {
        let mut rng = XorShift::new(0x5eed);
        let mut cases: Vec<Data> = (0..10_000).map(|_| rng.data(1_000)).collect();
        cases.push(Data {
            field1: 0,
            field2: 0,
            field3: String::new(),
        });
        cases.push(Data {
            field1: u32::MAX,
            field2: u16::MAX,
            field3: "x".repeat(MAX_FIELD3_LEN),
        });
        assert!(
            cases
                .iter()
                .any(|d| d.field3.chars().any(|c| c.len_utf8() == 4))
        );
        for data in &cases {
            let bytes = frame(data);
            assert_eq!(bytes.len(), PREFIX_LEN + HEADER_LEN + data.field3.len());
            let mut cursor = Cursor::new(bytes.as_slice());
            assert_eq!(&Data::deserialize(&mut cursor).unwrap(), data);
            assert_eq!(cursor.position() as usize, bytes.len());
            assert_eq!(
                decode_frame(&bytes).unwrap(),
                Some((data.clone(), bytes.len()))
            );
        }
    }

    #[test]
    fn every_strict_prefix_is_incomplete() {
        let mut rng = XorShift::new(7);
        for data in (0..20).map(|_| rng.data(300)) {
            let bytes = frame(&data);
            for cut in 0..bytes.len() {
                let head = &bytes[..cut];
                assert_eq!(decode_frame(head).unwrap(), None, "cut at {cut}");
                let mut cursor = Cursor::new(head);
                let err = Data::deserialize(&mut cursor).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::UnexpectedEof, "cut at {cut}: {err}");
                assert_eq!(cursor.position(), 0, "the cursor is left where it was");
            }
        }
    }

    /// `decode_frame` and `deserialize` agree on `bytes`, and neither panics.
    fn check_agreement(bytes: &[u8]) -> Result<(), ErrorKind> {
        let streamed = decode_frame(bytes);
        let whole = deserialize(bytes);
        match (&streamed, &whole) {
            (Ok(Some((a, n))), Ok(b)) => {
                assert_eq!(a, b);
                assert_eq!(*n, PREFIX_LEN + HEADER_LEN + a.field3.len());
                Ok(())
            }
            (Ok(None), Err(e)) if e.kind() == ErrorKind::UnexpectedEof => Err(e.kind()),
            (Err(a), Err(b)) if a.kind() == ErrorKind::InvalidData => {
                assert_eq!(b.kind(), ErrorKind::InvalidData, "{a} / {b}");
                Err(a.kind())
            }
            other => panic!(
                "disagreement on {:?}: {other:?}",
                hex(&bytes[..bytes.len().min(32)])
            ),
        }
    }

    #[test]
    fn random_and_mutated_frames_give_ok_or_err_never_a_panic() {
        let mut rng = XorShift::new(0xdead_beef);
        let (mut ok, mut invalid, mut short) = (0, 0, 0);
        let mut tally = |r: Result<(), ErrorKind>| match r {
            Ok(()) => ok += 1,
            Err(ErrorKind::InvalidData) => invalid += 1,
            Err(_) => short += 1,
        };
        for _ in 0..10_000 {
            let len = rng.below(64) as usize;
            let mut bytes = rng.bytes(len);
            // Half of them get a plausible prefix so the decoder gets past the first check.
            if len >= 4 && rng.below(2) == 0 {
                let body = (len - 4).max(HEADER_LEN) as u32;
                bytes[..4].copy_from_slice(&body.to_be_bytes());
            }
            tally(check_agreement(&bytes));
        }
        for _ in 0..10_000 {
            let mut bytes = frame(&rng.data(200));
            for _ in 0..=rng.below(3) {
                let i = rng.below(bytes.len() as u64) as usize;
                bytes[i] = rng.next_u64() as u8;
            }
            let cut = bytes.len() - rng.below(3) as usize;
            tally(check_agreement(&bytes[..cut]));
        }
        // Each kind of outcome really happened.
        assert!(
            ok > 100 && invalid > 1_000 && short > 1_000,
            "{ok} {invalid} {short}"
        );
    }

    #[test]
    fn concatenated_frames_decode_in_turn() {
        let a = Data {
            field1: 1,
            field2: 1,
            field3: "first".into(),
        };
        let b = Data {
            field1: 2,
            field2: 2,
            field3: "the second one".into(),
        };
        let mut stream = frame(&a);
        stream.extend(frame(&b));
        let (first, used) = decode_frame(&stream).unwrap().unwrap();
        assert_eq!((first, used), (a.clone(), 14 + 5));
        let (second, used2) = decode_frame(&stream[used..]).unwrap().unwrap();
        assert_eq!((second, used2), (b.clone(), 14 + 14));
        let mut cursor = Cursor::new(stream.as_slice());
        assert_eq!(Data::deserialize(&mut cursor).unwrap(), a);
        assert_eq!(Data::deserialize(&mut cursor).unwrap(), b);
        assert_eq!(decode_frame(&stream[used + used2..]).unwrap(), None);
    }

    #[test]
    fn a_field3_one_byte_too_long_does_not_serialize() {
        let data = Data {
            field1: 0,
            field2: 0,
            field3: "x".repeat(MAX_FIELD3_LEN + 1),
        };
        assert_eq!(
            data.serialize().unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn hostile_inputs_are_rejected_with_the_right_kind() {
        let kinds: Vec<_> = hostile_inputs()
            .iter()
            .map(|(_, bytes)| deserialize(bytes).unwrap_err().kind())
            .collect();
        use ErrorKind::*;
        assert_eq!(
            kinds,
            [
                UnexpectedEof,
                UnexpectedEof,
                InvalidData,
                InvalidData,
                InvalidData,
                InvalidData
            ]
        );
        // A bad prefix is refused from its 4 bytes alone, by the streaming decoder too.
        let err = decode_frame(&[0xff; 4]).unwrap_err();
        assert_eq!(err.to_string(), "frame length 4294967295 exceeds 65536");
        assert!(decode_frame(&65_537u32.to_be_bytes()).is_err());
        assert_eq!(decode_frame(&65_536u32.to_be_bytes()).unwrap(), None);
        // A lying string length is refused once the 14 header bytes are there.
        let mut lying = frame(&Data {
            field1: 0,
            field2: 0,
            field3: "abc".into(),
        });
        lying[10..14].copy_from_slice(&[0xff; 4]);
        assert_eq!(decode_frame(&lying[..14]).unwrap_err().kind(), InvalidData);
    }
}
