//! Byte scanning for the slow paths: line ends, the empty line that ends a
//! head or trailer section, optional whitespace, comma-separated tokens.
//!
//! Invariant: every function here takes a `from` offset where it resumes,
//! so a caller that remembers how far it looked scans each buffered byte a
//! bounded number of times however the bytes trickle in (a head fed one
//! byte per read costs O(n), not O(n²)). Nothing here indexes out of
//! bounds: all access is through `get` and slice patterns.

use crate::error::{self, HttpError};

/// Position of the first `\n` in `buf[from..]`, as an index into `buf`.
pub(crate) fn find_lf(buf: &[u8], from: usize) -> Option<usize> {
    let tail = buf.get(from..)?;
    tail.iter().position(|&b| b == b'\n').map(|i| from + i)
}

/// End (exclusive) of the block of lines that starts at `buf[0]` and ends
/// with an empty line (`\r\n` or `\n`), looking at line ends from `from`
/// on. A caller that found nothing may resume with `from = len - 2`: an LF
/// before that had both following bytes in view already.
pub(crate) fn block_end(buf: &[u8], from: usize) -> Option<usize> {
    if from == 0 {
        match buf {
            [b'\n', ..] => return Some(1),
            [b'\r', b'\n', ..] => return Some(2),
            _ => {}
        }
    }
    let mut at = from;
    while let Some(lf) = find_lf(buf, at) {
        match buf.get(lf + 1..) {
            Some([b'\n', ..]) => return Some(lf + 2),
            Some([b'\r', b'\n', ..]) => return Some(lf + 3),
            _ => at = lf + 1,
        }
    }
    None
}

/// How many bytes of empty lines (`\r\n` or `\n`) start `buf`. RFC 9112
/// §2.2 lets a server ignore empty lines before a request line; a lone
/// `\r` at the end is left for the next read, a `\r` before anything but
/// `\n` is malformed.
pub(crate) fn empty_lines(buf: &[u8]) -> Result<usize, HttpError> {
    let mut skip = 0;
    loop {
        match buf.get(skip..) {
            Some([b'\n', ..]) => skip += 1,
            Some([b'\r', b'\n', ..]) => skip += 2,
            Some([b'\r', next, ..]) if *next != b'\n' => return Err(error::BAD_LINE_END),
            _ => return Ok(skip),
        }
    }
}

/// `bytes` without leading and trailing spaces and tabs (HTTP's OWS).
pub(crate) fn trim_ows(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !is_ows(b)).map_or(start, |i| i + 1);
    bytes.get(start..end).unwrap_or_default()
}

/// The non-empty, trimmed elements of a comma-separated field value
/// (RFC 9110 §5.6.1: empty list elements are allowed and ignored).
pub(crate) fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim_ows).filter(|e| !e.is_empty())
}

/// Parses a `Content-Length` value: one or more ASCII digits and nothing
/// else (no sign, no list, no inner space). Too large for `u64` saturates,
/// which every body limit refuses.
pub(crate) fn decimal(value: &[u8]) -> Result<u64, HttpError> {
    let value = trim_ows(value);
    if value.is_empty() {
        return Err(error::BAD_LENGTH);
    }
    let mut n: u64 = 0;
    for &b in value {
        if !b.is_ascii_digit() {
            return Err(error::BAD_LENGTH);
        }
        n = n.saturating_mul(10).saturating_add(u64::from(b - b'0'));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_end_finds_crlf_and_lf_forms() {
        assert_eq!(block_end(b"\r\nX", 0), Some(2));
        assert_eq!(block_end(b"\nX", 0), Some(1));
        assert_eq!(block_end(b"A: b\r\n\r\nrest", 0), Some(8));
        assert_eq!(block_end(b"A: b\n\nrest", 0), Some(6));
        assert_eq!(block_end(b"A: b\r\n\r", 0), None);
        assert_eq!(block_end(b"A: b\r\nC: d\r\n", 0), None);
    }

    #[test]
    fn block_end_resumes_where_told() {
        let buf = b"GET / HTTP/1.1\r\nA: b\r\n\r\n";
        for cut in 0..buf.len() {
            let seen = &buf[..cut];
            assert_eq!(block_end(seen, 0), None, "cut {cut}");
            assert_eq!(block_end(buf, cut.saturating_sub(2)), Some(buf.len()), "cut {cut}");
        }
    }

    #[test]
    fn empty_lines_are_skipped_and_bad_cr_refused() {
        assert_eq!(empty_lines(b"GET"), Ok(0));
        assert_eq!(empty_lines(b"\r\n\nGET"), Ok(3));
        assert_eq!(empty_lines(b"\r\n\r"), Ok(2));
        assert_eq!(empty_lines(b"\rX"), Err(error::BAD_LINE_END));
    }

    #[test]
    fn decimal_is_strict() {
        assert_eq!(decimal(b"0"), Ok(0));
        assert_eq!(decimal(b" 42 "), Ok(42));
        assert_eq!(decimal(b"99999999999999999999999"), Ok(u64::MAX));
        for bad in [&b""[..], b"+1", b"-1", b"1 2", b"0x10", b"1,1", b"1.0"] {
            assert_eq!(decimal(bad), Err(error::BAD_LENGTH), "{bad:?}");
        }
    }

    #[test]
    fn list_elements_trim_and_skip_empty() {
        let v: Vec<&[u8]> = list_elements(b" gzip ,, chunked,").collect();
        assert_eq!(v, vec![&b"gzip"[..], b"chunked"]);
    }
}
