//! Chunked transfer coding (RFC 9112 §7.1), decoded incrementally.
//!
//! The decoder copies chunk data into the request's body `Vec` as it
//! arrives and reports the framing and data bytes as consumed, so the
//! caller's buffer never holds more than one partial chunk-size line or
//! the trailer section. Each phase remembers how far it looked, so every
//! byte is examined a bounded number of times however the bytes are split.
//!
//! Strictness (these are the smuggling vectors): a chunk size is one or
//! more hex digits that fit in 64 bits; the size line ends with CRLF (a
//! bare LF is refused); extensions after `;` are ignored but may not hold
//! control characters other than HTAB; the data must be followed by CRLF.
//! The running total is checked against `max_body` when a chunk size is
//! read, before its data arrives. Trailers end with an empty line, are
//! validated by httparse, and count against `max_head`/`max_headers`.

use std::borrow::Cow;

use crate::error::{self, HttpError};
use crate::head::Head;
use crate::limits::{Limits, MAX_CHUNK_LINE, MAX_HEADERS_CAP};
use crate::request::{Body, Headers, HostField, Request};
use crate::scan;

/// Where the decoder is inside a chunked body. `scanned` fields count
/// bytes (from the first unconsumed one) already searched for a line end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chunk {
    /// Reading a chunk-size line.
    Size { scanned: usize },
    /// Inside chunk data: `remaining` bytes still to copy.
    Data { remaining: usize },
    /// After chunk data: expecting CRLF.
    DataEnd,
    /// After the last chunk: reading the trailer section.
    Trailers { scanned: usize },
}

impl Chunk {
    /// Where a chunked body starts.
    pub(crate) const START: Chunk = Chunk::Size { scanned: 0 };
}

/// A chunked request in progress: its head, copied when it was parsed
/// (the caller drops the bytes), and the body decoded so far.
#[derive(Debug)]
pub(crate) struct Pending {
    method: String,
    path: String,
    /// The header field block, as in [`Headers`].
    fields: Vec<u8>,
    version: u8,
    keep_alive: bool,
    expects_continue: bool,
    /// Decoded chunk data; never longer than `max_body`.
    pub(crate) body: Vec<u8>,
}

impl Pending {
    /// Copies what the request needs from its head.
    pub(crate) fn new(head: &Head<'_>) -> Box<Pending> {
        Box::new(Pending {
            method: head.method.to_owned(),
            path: head.path.to_owned(),
            fields: head.fields.to_vec(),
            version: head.version,
            keep_alive: head.keep_alive,
            expects_continue: head.expects_continue,
            body: Vec::new(),
        })
    }

    /// Whether the request is a `HEAD`.
    pub(crate) fn is_head(&self) -> bool {
        self.method == "HEAD"
    }

    /// The finished request; `trailers` is the validated trailer block.
    pub(crate) fn into_request(self, trailers: &[u8]) -> Request<'_> {
        Request {
            is_head: self.method == "HEAD",
            method: Cow::Owned(self.method),
            path: Cow::Owned(self.path),
            version: self.version,
            headers: Headers::from_block(Cow::Owned(self.fields)),
            body: Body::Owned(self.body),
            trailers: Headers::from_block(Cow::Borrowed(trailers)),
            keep_alive: self.keep_alive,
            expects_continue: self.expects_continue,
            host: HostField::UNKNOWN,
        }
    }
}

/// What one call made of the chunked body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Progress<'b> {
    /// The body and trailers are complete; the request ends at `end`.
    Done { trailers: &'b [u8], end: usize },
    /// More bytes are needed; `buf[..consumed]` may be dropped.
    Partial { consumed: usize },
}

/// Decodes as much of the chunked body in `buf[pos..]` as is there,
/// appending data to `body` and moving `phase` on.
pub(crate) fn advance<'b>(
    phase: &mut Chunk,
    body: &mut Vec<u8>,
    buf: &'b [u8],
    mut pos: usize,
    limits: &Limits,
) -> Result<Progress<'b>, HttpError> {
    loop {
        let rest = buf.get(pos..).unwrap_or_default();
        match *phase {
            Chunk::Size { scanned } => {
                let Some(lf) = scan::find_lf(rest, scanned) else {
                    if rest.len() >= MAX_CHUNK_LINE {
                        return Err(error::CHUNK_LINE_TOO_LONG);
                    }
                    *phase = Chunk::Size { scanned: rest.len() };
                    return Ok(Progress::Partial { consumed: pos });
                };
                if lf + 1 > MAX_CHUNK_LINE {
                    return Err(error::CHUNK_LINE_TOO_LONG);
                }
                let size = chunk_size(rest.get(..lf).unwrap_or_default())?;
                pos += lf + 1;
                *phase = next_after_size(size, body.len(), limits)?;
            }
            Chunk::Data { remaining } => {
                let take = remaining.min(rest.len());
                body.extend_from_slice(rest.get(..take).unwrap_or_default());
                pos += take;
                if take < remaining {
                    *phase = Chunk::Data { remaining: remaining - take };
                    return Ok(Progress::Partial { consumed: pos });
                }
                *phase = Chunk::DataEnd;
            }
            Chunk::DataEnd => match rest {
                [b'\r', b'\n', ..] => {
                    pos += 2;
                    *phase = Chunk::START;
                }
                [] | [b'\r'] => return Ok(Progress::Partial { consumed: pos }),
                _ => return Err(error::MISSING_CHUNK_CRLF),
            },
            Chunk::Trailers { scanned } => {
                let Some(end) = scan::block_end(rest, scanned.saturating_sub(2)) else {
                    if rest.len() >= limits.max_head {
                        return Err(error::TRAILERS_TOO_LARGE);
                    }
                    *phase = Chunk::Trailers { scanned: rest.len() };
                    return Ok(Progress::Partial { consumed: pos });
                };
                let trailers = rest.get(..end).unwrap_or_default();
                check_trailers(trailers, limits)?;
                return Ok(Progress::Done { trailers, end: pos + end });
            }
        }
    }
}

/// The phase after a chunk-size line announcing `size` bytes, with
/// `decoded` bytes of body so far: 413 as soon as the total would exceed
/// the limit.
fn next_after_size(size: u64, decoded: usize, limits: &Limits) -> Result<Chunk, HttpError> {
    if size == 0 {
        return Ok(Chunk::Trailers { scanned: 0 });
    }
    match usize::try_from(size).ok().and_then(|s| s.checked_add(decoded)) {
        Some(total) if total <= limits.max_body => Ok(Chunk::Data { remaining: total - decoded }),
        _ => Err(error::BODY_TOO_LARGE),
    }
}

/// Parses a chunk-size line (without its LF): hex size, optional
/// whitespace, optional `;` extensions (ignored), then the CR.
fn chunk_size(line: &[u8]) -> Result<u64, HttpError> {
    let line = line.strip_suffix(b"\r").ok_or(error::BAD_CHUNK_SIZE)?;
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(error::BAD_CHUNK_SIZE);
    }
    let (hex, after) = line.split_at(digits);
    let mut size: u64 = 0;
    for &b in hex {
        let digit = u64::from(match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => b - b'A' + 10,
        });
        size = size.checked_mul(16).and_then(|s| s.checked_add(digit)).ok_or(error::BAD_CHUNK_SIZE)?;
    }
    match scan::trim_ows(after) {
        [] => Ok(size),
        [b';', ext @ ..] if !ext.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) => Ok(size),
        _ => Err(error::BAD_CHUNK_SIZE),
    }
}

/// Validates a trailer section (fields and the final empty line).
fn check_trailers(block: &[u8], limits: &Limits) -> Result<(), HttpError> {
    if block.len() > limits.max_head {
        return Err(error::TRAILERS_TOO_LARGE);
    }
    // Rare path: zeroed slots are fine here.
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS_CAP];
    let slots = slots.get_mut(..limits.header_slots()).unwrap_or_default();
    match httparse::parse_headers(block, slots) {
        Ok(httparse::Status::Complete((len, _))) if len == block.len() => Ok(()),
        Err(httparse::Error::TooManyHeaders) => Err(error::TOO_MANY_TRAILERS),
        _ => Err(error::BAD_TRAILER),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_size_lines() {
        assert_eq!(chunk_size(b"0\r"), Ok(0));
        assert_eq!(chunk_size(b"1aF\r"), Ok(0x1af));
        assert_eq!(chunk_size(b"5;name=value;x\r"), Ok(5));
        assert_eq!(chunk_size(b"5 ; ext\r"), Ok(5));
        assert_eq!(chunk_size(b"ffffffffffffffff\r"), Ok(u64::MAX));
        for bad in [&b"\r"[..], b"5", b" 5\r", b"-5\r", b"0x5\r", b"5 6\r", b"5;\x01\r", b"10000000000000000\r"] {
            assert_eq!(chunk_size(bad), Err(error::BAD_CHUNK_SIZE), "{bad:?}");
        }
    }

    #[test]
    fn total_is_checked_before_data() {
        let limits = Limits { max_body: 10, ..Limits::DEFAULT };
        assert_eq!(next_after_size(4, 6, &limits), Ok(Chunk::Data { remaining: 4 }));
        assert_eq!(next_after_size(5, 6, &limits), Err(error::BODY_TOO_LARGE));
        assert_eq!(next_after_size(u64::MAX, 1, &limits), Err(error::BODY_TOO_LARGE));
    }

    #[test]
    fn advance_reports_consumed_framing_and_data() {
        let mut phase = Chunk::START;
        let mut body = Vec::new();
        let limits = Limits::DEFAULT;
        let r = advance(&mut phase, &mut body, b"5\r\nhel", 0, &limits);
        assert_eq!(r, Ok(Progress::Partial { consumed: 6 }));
        assert_eq!(phase, Chunk::Data { remaining: 2 });
        let r = advance(&mut phase, &mut body, b"lo\r\n0\r\nT: v\r\n\r\nX", 0, &limits);
        assert_eq!(r, Ok(Progress::Done { trailers: b"T: v\r\n\r\n", end: 15 }));
        assert_eq!(body, b"hello");
    }
}
