//! `Data` and its wire format ("Setting Up the Basics", the book's `data_layer/src/data.rs`).
//!
//! TCP carries a stream of bytes, not messages, and the bytes come from a peer we do not
//! trust. So the format fixes three things the book left open: the byte order (big-endian,
//! "network order", on every CPU), where each message ends (a 4-byte length prefix), and how
//! large a length may be before we believe it (at most [`MAX_FRAME_LEN`], checked before any
//! allocation).
//!
//! ```text
//! frame:  | N: u32 BE | body: N bytes                                            |
//! body:   | field1: u32 BE | field2: u16 BE | len: u32 BE | field3: len bytes UTF-8 |
//!         10 <= N <= 65,536 and len == N - 10 (so len <= 65,526)
//! ```
//!
//! `Data { field1: 1, field2: 2, field3: "hi" }` is the 16 bytes
//! `00 00 00 0c | 00 00 00 01 | 00 02 | 00 00 00 02 | 68 69`.

use std::io::{self, Cursor, Read};

/// Bytes of the body before `field3`: `field1` (4) + `field2` (2) + the string length (4).
pub const HEADER_LEN: usize = 10;
/// The largest body a frame may announce (the length prefix's bound).
pub const MAX_FRAME_LEN: usize = 65_536;
/// The longest `field3` that fits in a frame.
pub const MAX_FIELD3_LEN: usize = MAX_FRAME_LEN - HEADER_LEN;
/// Bytes of the length prefix.
pub const PREFIX_LEN: usize = 4;

/// The message both sides exchange (the book's three fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Data {
    /// A number (the client uses it as the request id).
    pub field1: u32,
    /// A smaller number.
    pub field2: u16,
    /// Some text, at most [`MAX_FIELD3_LEN`] bytes of UTF-8.
    pub field3: String,
}

impl Data {
    /// The whole frame: length prefix, then the body, every integer big-endian.
    ///
    /// Fails with `InvalidInput` if `field3` is longer than [`MAX_FIELD3_LEN`] bytes.
    pub fn serialize(&self) -> io::Result<Vec<u8>> {
        // Book: `self.field3.len() as u32` silently truncated a string over 4 GiB, and nothing
        // bounded it; ours refuses a string that would not fit in a frame.
        let len = self.field3.len();
        if len > MAX_FIELD3_LEN {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("field3 is {len} bytes, more than the {MAX_FIELD3_LEN} a frame can carry"),
            ));
        }
        let body_len = HEADER_LEN + len;
        let mut bytes = Vec::with_capacity(PREFIX_LEN + body_len);
        // Book: `to_ne_bytes` wrote the CPU's own byte order, so a big-endian peer would read
        // garbage; a wire format fixes one order, and big-endian is the network's convention.
        // Book: `bytes.write(..)?` ignored how many bytes were written (clippy's deny-by-default
        // `unused_io_amount`); appending to a `Vec` cannot fail, so we extend it directly.
        bytes.extend_from_slice(&(body_len as u32).to_be_bytes());
        bytes.extend_from_slice(&self.field1.to_be_bytes());
        bytes.extend_from_slice(&self.field2.to_be_bytes());
        bytes.extend_from_slice(&(len as u32).to_be_bytes());
        bytes.extend_from_slice(self.field3.as_bytes());
        Ok(bytes)
    }

    /// Reads exactly one frame at the cursor's position and moves the cursor past it.
    ///
    /// Errors: `InvalidData` for a frame length outside `10..=65,536` (noticed from the 4-byte
    /// prefix alone), a `field3` length that disagrees with the frame length, or bad UTF-8;
    /// `UnexpectedEof` when the bytes end before the frame does. On error the cursor is left
    /// where it was.
    pub fn deserialize(cursor: &mut Cursor<&[u8]>) -> io::Result<Data> {
        let start = cursor.position();
        let result = read_frame(cursor);
        if result.is_err() {
            cursor.set_position(start);
        }
        result
    }
}

/// The body of [`Data::deserialize`], reading field by field as the book does.
fn read_frame(cursor: &mut Cursor<&[u8]>) -> io::Result<Data> {
    let mut prefix = [0u8; 4];
    cursor.read_exact(&mut prefix)?;
    let frame_len = check_frame_len(u32::from_be_bytes(prefix))?;

    let mut field1_bytes = [0u8; 4];
    let mut field2_bytes = [0u8; 2];
    let mut len_bytes = [0u8; 4];
    cursor.read_exact(&mut field1_bytes)?;
    cursor.read_exact(&mut field2_bytes)?;
    cursor.read_exact(&mut len_bytes)?;
    let field1 = u32::from_be_bytes(field1_bytes);
    let field2 = u16::from_be_bytes(field2_bytes);
    let len = check_field3_len(u32::from_be_bytes(len_bytes), frame_len)?;

    // Book: `vec![0u8; len]` with `len` straight from the peer reserved up to 4 GiB before
    // reading a byte (and a failed allocation aborts the process); ours allocates only after
    // `len` passed the frame bound and the bytes are actually there.
    let available =
        cursor.get_ref().len() as u64 - cursor.position().min(cursor.get_ref().len() as u64);
    if available < len as u64 {
        return Err(truncated(
            PREFIX_LEN + frame_len,
            PREFIX_LEN + HEADER_LEN + available as usize,
        ));
    }
    let mut field3_bytes = vec![0u8; len];
    cursor.read_exact(&mut field3_bytes)?;
    let field3 = String::from_utf8(field3_bytes).map_err(|e| invalid_utf8(&e.utf8_error()))?;
    Ok(Data {
        field1,
        field2,
        field3,
    })
}

/// Decodes the first frame in `buf`, for a stream that arrives in pieces.
///
/// `Ok(Some((data, consumed)))` when a whole frame is there (`consumed` = 14 + string length);
/// `Ok(None)` when more bytes are needed; `Err(InvalidData)` as soon as the bytes present prove
/// the frame bad (a bad prefix needs only 4 bytes, a lying string length 14). Allocates nothing
/// but the decoded `String`, at most [`MAX_FIELD3_LEN`] bytes.
pub fn decode_frame(buf: &[u8]) -> io::Result<Option<(Data, usize)>> {
    let Some(prefix) = buf.first_chunk::<4>() else {
        return Ok(None);
    };
    let frame_len = check_frame_len(u32::from_be_bytes(*prefix))?;
    let body = &buf[PREFIX_LEN..];
    let Some(header) = body.first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let len = check_field3_len(
        u32::from_be_bytes([header[6], header[7], header[8], header[9]]),
        frame_len,
    )?;
    let Some(text) = body.get(HEADER_LEN..HEADER_LEN + len) else {
        return Ok(None);
    };
    let field3 = std::str::from_utf8(text).map_err(|e| invalid_utf8(&e))?;
    let data = Data {
        field1: u32::from_be_bytes([header[0], header[1], header[2], header[3]]),
        field2: u16::from_be_bytes([header[4], header[5]]),
        field3: field3.to_owned(),
    };
    Ok(Some((data, PREFIX_LEN + frame_len)))
}

/// The frame length a 4-byte prefix announces, if it is within `10..=MAX_FRAME_LEN`.
pub fn check_frame_len(announced: u32) -> io::Result<usize> {
    let len = announced as usize;
    if len > MAX_FRAME_LEN {
        return Err(invalid(format!(
            "frame length {announced} exceeds {MAX_FRAME_LEN}"
        )));
    }
    if len < HEADER_LEN {
        return Err(invalid(format!(
            "frame length {announced} is shorter than the {HEADER_LEN}-byte header"
        )));
    }
    Ok(len)
}

fn check_field3_len(announced: u32, frame_len: usize) -> io::Result<usize> {
    let expected = frame_len - HEADER_LEN;
    if announced as usize != expected {
        return Err(invalid(format!(
            "field3 length {announced} does not match frame length {frame_len} (expected {expected})"
        )));
    }
    Ok(expected)
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

fn invalid_utf8(e: &std::str::Utf8Error) -> io::Error {
    invalid(format!("field3 is not valid UTF-8: {e}"))
}

fn truncated(needed: usize, have: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("truncated frame: {have} of {needed} bytes"),
    )
}
