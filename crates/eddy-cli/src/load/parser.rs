//! The response parser `eddy load` frames responses with: incremental, no
//! allocation, just what a load generator needs: the status line, the end
//! of the head, `Content-Length`, `Transfer-Encoding: chunked`, whether the
//! connection closes after the response (`Connection: close`, HTTP/1.0
//! without keep-alive), and bodies read until the server closes when
//! neither length is given. Interim `1xx` responses (but `101`) are skipped.
//! Body bytes are consumed as they arrive, never buffered; a head waits,
//! unconsumed, until it is complete (at most [`MAX_HEAD`] bytes).
//!
//! Anything else is a [`ParseError`]: the load counts it in its `parse`
//! class and drops the connection; nothing a server sends can panic it.

use std::fmt;

/// The longest response head accepted.
pub(crate) const MAX_HEAD: usize = 64 * 1024;
/// The longest chunk-size line accepted.
const MAX_CHUNK_LINE: usize = 4096;

/// A response that is not HTTP/1.x as this parser reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError(pub(crate) &'static str);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// One complete response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Done {
    /// The status code.
    pub(crate) status: u16,
    /// The server closes the connection after it.
    pub(crate) close: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Body(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkEnd,
    Trailers,
    UntilClose,
}

/// The parser of one connection's responses.
#[derive(Debug)]
pub(crate) struct Parser {
    state: State,
    status: u16,
    close: bool,
    /// Where the search for the end of the head resumes (bytes already
    /// scanned in earlier calls).
    scanned: usize,
}

impl Default for Parser {
    fn default() -> Parser {
        Parser { state: State::Head, status: 0, close: false, scanned: 0 }
    }
}

impl Parser {
    /// The response read until the close, now complete.
    pub(crate) fn finish_at_close(&mut self) -> Option<Done> {
        if self.state != State::UntilClose {
            return None;
        }
        self.state = State::Head;
        Some(Done { status: self.status, close: true })
    }

    /// Reads from `buf`: returns the bytes used, and the response if one
    /// completed (call again with the rest). `(0, None)`: more bytes are
    /// needed. `head_request`: the request was a HEAD (no body follows).
    pub(crate) fn parse(&mut self, buf: &[u8], head_request: bool) -> Result<(usize, Option<Done>), ParseError> {
        match self.state {
            State::Head => self.head(buf, head_request),
            State::Body(left) => {
                let n = (buf.len() as u64).min(left);
                if n == left {
                    self.state = State::Head;
                    return Ok((n as usize, Some(self.done())));
                }
                self.state = State::Body(left - n);
                Ok((n as usize, None))
            }
            State::ChunkSize => {
                let Some(end) = find_crlf(buf) else {
                    return if buf.len() > MAX_CHUNK_LINE {
                        Err(ParseError("chunk-size line too long"))
                    } else {
                        Ok((0, None))
                    };
                };
                let line = &buf[..end];
                let hex = line.split(|&b| b == b';').next().unwrap_or_default();
                let hex = trim(hex);
                if hex.is_empty() || hex.len() > 15 || !hex.iter().all(u8::is_ascii_hexdigit) {
                    return Err(ParseError("bad chunk size"));
                }
                let size = hex.iter().fold(0u64, |acc, &b| acc * 16 + u64::from(hex_value(b)));
                self.state = if size == 0 { State::Trailers } else { State::ChunkData(size) };
                Ok((end + 2, None))
            }
            State::ChunkData(left) => {
                let n = (buf.len() as u64).min(left);
                self.state = if n == left { State::ChunkEnd } else { State::ChunkData(left - n) };
                Ok((n as usize, None))
            }
            State::ChunkEnd => {
                if buf.len() < 2 {
                    return Ok((0, None));
                }
                if &buf[..2] != b"\r\n" {
                    return Err(ParseError("chunk data not followed by CRLF"));
                }
                self.state = State::ChunkSize;
                Ok((2, None))
            }
            State::Trailers => {
                let Some(end) = find_crlf(buf) else {
                    return if buf.len() > MAX_HEAD { Err(ParseError("trailer too long")) } else { Ok((0, None)) };
                };
                if end == 0 {
                    self.state = State::Head;
                    return Ok((2, Some(self.done())));
                }
                Ok((end + 2, None))
            }
            State::UntilClose => Ok((buf.len(), None)),
        }
    }

    fn done(&self) -> Done {
        Done { status: self.status, close: self.close }
    }

    fn head(&mut self, buf: &[u8], head_request: bool) -> Result<(usize, Option<Done>), ParseError> {
        // Tolerate empty lines before a status line (RFC 9112 2.2).
        let lead = buf.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
        if lead > 0 && self.scanned == 0 {
            return Ok((lead, None));
        }
        if buf.len() >= 5 && &buf[..5] != b"HTTP/" {
            return Err(ParseError("not an HTTP response (no HTTP/ status line)"));
        }
        let Some(end) = find_head_end(buf, self.scanned.saturating_sub(3)) else {
            if buf.len() > MAX_HEAD {
                return Err(ParseError("response head longer than 64 KiB"));
            }
            self.scanned = buf.len();
            return Ok((0, None));
        };
        self.scanned = 0;
        let head = &buf[..end];
        let mut lines = head.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let status_line = lines.next().unwrap_or_default();
        let (minor, status) = status_line_fields(status_line)?;
        let mut length: Option<u64> = None;
        let mut chunked = false;
        let mut close = minor == 0;
        for line in lines {
            if line.is_empty() {
                continue;
            }
            let colon = line.iter().position(|&b| b == b':').ok_or(ParseError("header line without a colon"))?;
            let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
            if name.is_empty() || name.iter().any(|b| b.is_ascii_whitespace()) {
                return Err(ParseError("bad header name"));
            }
            if name.eq_ignore_ascii_case(b"content-length") {
                if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
                    return Err(ParseError("bad Content-Length"));
                }
                let n = value.iter().fold(0u64, |acc, &b| acc * 10 + u64::from(b - b'0'));
                if length.is_some_and(|l| l != n) {
                    return Err(ParseError("conflicting Content-Length headers"));
                }
                length = Some(n);
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                let last = value.rsplit(|&b| b == b',').next().map(trim).unwrap_or_default();
                chunked = last.eq_ignore_ascii_case(b"chunked");
                if !chunked {
                    // Any other final coding: the body ends at the close.
                    close = true;
                }
            } else if name.eq_ignore_ascii_case(b"connection") {
                for token in value.split(|&b| b == b',').map(trim) {
                    if token.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") && minor == 0 {
                        close = false;
                    }
                }
            }
        }
        self.status = status;
        self.close = close;
        if status == 101 {
            return Err(ParseError("101 Switching Protocols: eddy load does not upgrade"));
        }
        if (100..200).contains(&status) {
            return Ok((end, None)); // interim: the real response follows
        }
        let no_body = head_request || status == 204 || status == 304;
        self.state = if no_body {
            State::Head
        } else if chunked {
            State::ChunkSize
        } else if let Some(0) = length {
            State::Head
        } else if let Some(n) = length {
            State::Body(n)
        } else {
            self.close = true;
            State::UntilClose
        };
        let done = (self.state == State::Head).then(|| self.done());
        Ok((end, done))
    }
}

/// `HTTP/1.x SSS reason` -> (x, SSS).
fn status_line_fields(line: &[u8]) -> Result<(u8, u16), ParseError> {
    let bad = ParseError("bad status line");
    if line.len() < 12 || &line[..7] != b"HTTP/1." || line[8] != b' ' {
        return Err(bad);
    }
    let minor = match line[7] {
        b'0' => 0,
        b'1' => 1,
        _ => return Err(bad),
    };
    let code = &line[9..12];
    if !code.iter().all(u8::is_ascii_digit) || line.get(12).is_some_and(|&b| b != b' ') {
        return Err(bad);
    }
    let status = code.iter().fold(0u16, |acc, &b| acc * 10 + u16::from(b - b'0'));
    if status < 100 {
        return Err(bad);
    }
    Ok((minor, status))
}

/// The end of the head (just past its blank line), searching from `from`.
fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < buf.len() {
        let nl = buf[i..].iter().position(|&b| b == b'\n')? + i;
        if nl >= 1 && buf[nl - 1] == b'\n' {
            return Some(nl + 1);
        }
        if nl >= 3 && &buf[nl - 3..nl] == b"\r\n\r" {
            return Some(nl + 1);
        }
        i = nl + 1;
    }
    None
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `wire` to a parser `step` bytes at a time (as reads would
    /// deliver it, unconsumed bytes kept); returns the responses.
    fn feed(wire: &[u8], step: usize, head: bool) -> Result<Vec<Done>, ParseError> {
        let mut p = Parser::default();
        let (mut buf, mut out) = (Vec::new(), Vec::new());
        for piece in wire.chunks(step) {
            buf.extend_from_slice(piece);
            loop {
                let (used, done) = p.parse(&buf, head)?;
                buf.drain(..used);
                out.extend(done);
                if used == 0 {
                    break;
                }
            }
        }
        out.extend(p.finish_at_close());
        Ok(out)
    }

    const OK: Done = Done { status: 200, close: false };

    #[test]
    fn every_framing_at_every_split() {
        let cases: &[(&[u8], bool, &[Done])] = &[
            (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 404 NF\r\ncontent-length:0\r\n\r\n", false, &[OK, Done { status: 404, close: false }]),
            (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\n", false, &[OK]),
            (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi", false, &[Done { status: 200, close: true }]),
            (b"HTTP/1.0 200 OK\r\n\r\nuntil the close", false, &[Done { status: 200, close: true }]),
            (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", false, &[OK]),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n", true, &[OK]),
            (b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 NM\r\n\r\n", false, &[Done { status: 204, close: false }, Done { status: 304, close: false }]),
            (b"HTTP/1.1 500 Oops\nContent-Length: 1\n\nx", false, &[Done { status: 500, close: false }]),
        ];
        for &(wire, head, want) in cases {
            for step in [1, 2, 3, 7, 64, wire.len()] {
                assert_eq!(
                    feed(wire, step, head).as_deref(),
                    Ok(want),
                    "step {step}: {}",
                    String::from_utf8_lossy(wire)
                );
            }
        }
    }

    #[test]
    fn garbage_is_an_error_never_a_panic() {
        for wire in [
            &b"SSH-2.0-OpenSSH\r\n\r\n"[..],
            b"HTTP/1.1 2x0 OK\r\n\r\n",
            b"HTTP/2 200\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxYZ",
            b"HTTP/1.1 101 Switching\r\n\r\n",
            b"HTTP/1.1 099 Low\r\n\r\n",
        ] {
            assert!(feed(wire, 1, false).is_err(), "{}", String::from_utf8_lossy(wire));
            assert!(feed(wire, wire.len(), false).is_err(), "{}", String::from_utf8_lossy(wire));
        }
        let mut huge = b"HTTP/1.1 200 OK\r\n".to_vec();
        huge.extend(std::iter::repeat_n(b'a', MAX_HEAD + 10));
        assert!(feed(&huge, 4096, false).is_err());
        // Arbitrary bytes: an error or nothing, never a panic.
        let mut x: u32 = 12345;
        for _ in 0..2000 {
            let wire: Vec<u8> = (0..64)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    b"HTTP/1.1 200\r\n:Content-Length0123456789abcdefchunked;"[(x >> 16) as usize % 52]
                })
                .collect();
            let _ = feed(&wire, 5, false);
        }
    }
}
