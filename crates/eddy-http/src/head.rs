//! The request head: [`fast`](crate::fast) or httparse for the syntax,
//! our code for the limits and for the framing decisions (body length,
//! chunked, keep-alive, expect).
//!
//! Hot path: the fast parser takes the common shape; anything else goes
//! to one `httparse` call into header slots on the stack that are never
//! zeroed (`parse_with_uninit_headers`), out of line. Either way the
//! framing analysis looks only at the four names that matter
//! (`Connection`, `Content-Length`, `Transfer-Encoding`, `Expect`): by
//! length first (6, 10, 14 or 17 bytes; a request with none of those
//! skips the analysis altogether), then case-insensitively. No
//! allocation.
//!
//! Invariants of a [`Head`]: the request line and the head are within
//! [`Limits`]; its framing is unambiguous (no `Content-Length` together
//! with `Transfer-Encoding`, no two different lengths, `chunked` last and
//! once); a `Length` body is within `max_body`.

use std::mem::MaybeUninit;

use crate::error::{self, HttpError};
use crate::fast;
use crate::limits::{Limits, MAX_HEADERS_CAP};
use crate::request::HeaderIter;
use crate::scan;

/// How the body of a request is framed (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body (no `Content-Length`, or `Content-Length: 0`).
    Empty,
    /// Exactly this many bytes follow the head; never above `max_body`.
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A complete, checked request head borrowed from the input.
#[derive(Debug)]
pub(crate) struct Head<'b> {
    /// Method token, e.g. `GET`.
    pub(crate) method: &'b str,
    /// Request target as sent.
    pub(crate) path: &'b str,
    /// Minor version: 0 or 1.
    pub(crate) version: u8,
    /// The header field lines and the empty line that ends them.
    pub(crate) fields: &'b [u8],
    /// Bytes of the head, request line to final empty line.
    pub(crate) len: usize,
    /// How the body is framed.
    pub(crate) framing: Framing,
    /// Whether the connection may stay open after the response.
    pub(crate) keep_alive: bool,
    /// `Expect: 100-continue` on an HTTP/1.1 request.
    pub(crate) expects_continue: bool,
}

/// Parses the head at the start of `buf` (empty lines already skipped).
/// `Ok(None)`: the head is not complete yet (the caller checks limits).
///
/// The common shape goes through [`fast`](crate::fast), anything else
/// through httparse; both end in [`finish`], so limits and framing are
/// decided by one piece of code.
pub(crate) fn parse<'b>(buf: &'b [u8], limits: &Limits) -> Result<Option<Head<'b>>, HttpError> {
    match fast::parse(buf, limits.header_slots()) {
        Some(p) => from_fast(buf, p, limits).map(Some),
        None => parse_with_httparse(buf, limits),
    }
}

/// The head the fast path parsed at the start of `buf`, checked.
pub(crate) fn from_fast<'b>(buf: &'b [u8], p: fast::Parsed<'b>, limits: &Limits) -> Result<Head<'b>, HttpError> {
    finish(buf, p.method, p.path, p.version, p.len, limits, |fields| {
        if !p.framing {
            return Ok(Meta::plain(p.version));
        }
        // The block is validated: read the fields back from it.
        analyse(HeaderIter::new(fields).map(|f| (f.name.as_bytes(), f.value)), p.version, limits)
    })
}

/// Everything the fast path leaves: httparse decides. Kept out of line so
/// that its 3 KiB of header slots and its registers stay out of the hot
/// path.
#[inline(never)]
fn parse_with_httparse<'b>(buf: &'b [u8], limits: &Limits) -> Result<Option<Head<'b>>, HttpError> {
    let mut slots = [const { MaybeUninit::<httparse::Header<'b>>::uninit() }; MAX_HEADERS_CAP];
    let slots = slots.get_mut(..limits.header_slots()).unwrap_or_default();
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, slots) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(parse_error(e, buf, limits)),
    };
    let (Some(method), Some(path), Some(version)) = (req.method, req.path, req.version) else {
        return Err(error::BAD_REQUEST_LINE);
    };
    let fields = &*req.headers;
    finish(buf, method, path, version, len, limits, |_| {
        // Most requests carry none of the four fields `analyse` looks for
        // (their names are 6, 10, 14 and 17 bytes long): skip it for them.
        if fields.iter().any(|f| matches!(f.name.len(), 6 | 10 | 14 | 17)) {
            analyse(fields.iter().map(|f| (f.name.as_bytes(), f.value)), version, limits)
        } else {
            Ok(Meta::plain(version))
        }
    })
    .map(Some)
}

/// Length of a request line without its line end. Both parsers allow
/// exactly one SP between the three parts, so it follows from method and
/// target ("HTTP/1.x" is 8 bytes).
#[inline(always)]
pub(crate) fn request_line_len(method: &str, path: &str) -> usize {
    method.len() + path.len() + 10
}

/// The checks and decisions after the syntax, shared by both parsers:
/// limits, where the fields start, then `meta` on the field block.
#[inline(always)]
fn finish<'b>(
    buf: &'b [u8],
    method: &'b str,
    path: &'b str,
    version: u8,
    len: usize,
    limits: &Limits,
    meta: impl FnOnce(&'b [u8]) -> Result<Meta, HttpError>,
) -> Result<Head<'b>, HttpError> {
    let line_len = request_line_len(method, path);
    if line_len > limits.max_request_line {
        return Err(error::LINE_TOO_LONG);
    }
    if len > limits.max_head {
        return Err(error::HEAD_TOO_LARGE);
    }
    let fields_start = match buf.get(line_len) {
        Some(b'\r') => line_len + 2,
        _ => line_len + 1,
    };
    let fields = buf.get(fields_start..len).ok_or(error::BAD_REQUEST_LINE)?;
    let meta = meta(fields)?;
    Ok(Head {
        method,
        path,
        version,
        fields,
        len,
        framing: meta.framing,
        keep_alive: meta.keep_alive,
        expects_continue: meta.expects_continue,
    })
}

/// Checks the request line (the bytes before the first LF of `buf`)
/// against `max`, looking for the LF only from `from` on (the caller knows
/// there is none before). `Ok(true)`: the line is complete and fits;
/// `Ok(false)`: not complete yet and it may still fit; `Err`: 414, decided
/// as soon as more than `max` bytes are buffered without a line end.
pub(crate) fn check_request_line(buf: &[u8], from: usize, max: usize) -> Result<bool, HttpError> {
    let window = buf.get(..buf.len().min(max.saturating_add(2))).unwrap_or(buf);
    match scan::find_lf(window, from) {
        Some(lf) => {
            let cr = lf > 0 && window.get(lf - 1) == Some(&b'\r');
            if lf - usize::from(cr) > max { Err(error::LINE_TOO_LONG) } else { Ok(true) }
        }
        None => {
            // No LF yet: the line is at least this long (a final CR may be
            // the start of its CRLF).
            let at_least = buf.len() - usize::from(buf.last() == Some(&b'\r'));
            if at_least > max { Err(error::LINE_TOO_LONG) } else { Ok(false) }
        }
    }
}

/// Maps a syntax error to the status to answer with. A request line over
/// its limit is reported as such even when it is also malformed.
fn parse_error(e: httparse::Error, buf: &[u8], limits: &Limits) -> HttpError {
    if let Err(too_long) = check_request_line(buf, 0, limits.max_request_line) {
        return too_long;
    }
    match e {
        httparse::Error::TooManyHeaders => error::TOO_MANY_HEADERS,
        httparse::Error::HeaderName | httparse::Error::HeaderValue => error::BAD_HEADER,
        httparse::Error::Version if names_a_version(buf) => error::BAD_VERSION,
        _ => error::BAD_REQUEST_LINE,
    }
}

/// Whether the (possibly incomplete) request line ends with a token that
/// starts like a version, `HTTP/` and a digit, that httparse refused: a
/// version we do not speak (505), not garbage (400). Prefix-based, so the
/// answer does not depend on how much of the line has arrived.
fn names_a_version(buf: &[u8]) -> bool {
    let line = buf.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let version = line.rsplit(|&b| b == b' ').next().unwrap_or_default();
    matches!(version, [b'H', b'T', b'T', b'P', b'/', digit, ..] if digit.is_ascii_digit())
}

/// What the header fields decide.
struct Meta {
    framing: Framing,
    keep_alive: bool,
    expects_continue: bool,
}

impl Meta {
    /// A request without framing or connection fields: no body, and the
    /// version's default persistence.
    fn plain(version: u8) -> Meta {
        Meta { framing: Framing::Empty, keep_alive: version == 1, expects_continue: false }
    }
}

/// The transfer codings seen so far, in order.
#[derive(Default)]
struct Codings {
    /// Any `Transfer-Encoding` field at all (even an empty one).
    present: bool,
    /// `chunked` seen.
    chunked: bool,
    /// The last coding seen is `chunked`.
    last_chunked: bool,
    /// `chunked` seen more than once.
    chunked_twice: bool,
    /// A coding other than `chunked` seen.
    other: bool,
}

impl Codings {
    fn add(&mut self, value: &[u8]) {
        self.present = true;
        for coding in scan::list_elements(value) {
            let chunked = coding.eq_ignore_ascii_case(b"chunked");
            self.chunked_twice |= chunked && self.chunked;
            self.chunked |= chunked;
            self.other |= !chunked;
            self.last_chunked = chunked;
        }
    }
}

/// One pass over the parsed fields: framing, keep-alive and expectation.
#[inline]
fn analyse<'f>(
    fields: impl Iterator<Item = (&'f [u8], &'f [u8])>,
    version: u8,
    limits: &Limits,
) -> Result<Meta, HttpError> {
    let mut length: Option<u64> = None;
    let mut codings = Codings::default();
    let (mut close, mut keep_alive_token, mut expect) = (false, false, false);
    for (name, value) in fields {
        // Length first: most names are skipped by one integer compare.
        match name.len() {
            10 if name.eq_ignore_ascii_case(b"connection") => {
                for option in scan::list_elements(value) {
                    close |= option.eq_ignore_ascii_case(b"close");
                    keep_alive_token |= option.eq_ignore_ascii_case(b"keep-alive");
                }
            }
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                let n = scan::decimal(value)?;
                if length.is_some_and(|seen| seen != n) {
                    return Err(error::CONFLICTING_LENGTH);
                }
                length = Some(n);
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => codings.add(value),
            6 if name.eq_ignore_ascii_case(b"expect") => {
                expect |= scan::trim_ows(value).eq_ignore_ascii_case(b"100-continue");
            }
            _ => {}
        }
    }
    Ok(Meta {
        framing: framing(length, &codings, version, limits)?,
        // HTTP/1.1 persists unless told to close; HTTP/1.0 only when asked.
        keep_alive: !close && (version == 1 || keep_alive_token),
        // RFC 9110 §10.1.1: ignore 100-continue from an HTTP/1.0 client.
        expects_continue: expect && version == 1,
    })
}

/// The body framing, refusing every ambiguous combination (RFC 9112 §6.1,
/// §6.3): these are the request-smuggling vectors.
#[inline]
fn framing(length: Option<u64>, codings: &Codings, version: u8, limits: &Limits) -> Result<Framing, HttpError> {
    if codings.present {
        return if length.is_some() {
            Err(error::LENGTH_AND_CODING)
        } else if version == 0 {
            Err(error::CODING_IN_HTTP10)
        } else if !codings.last_chunked {
            Err(error::NOT_CHUNKED)
        } else if codings.chunked_twice {
            Err(error::CHUNKED_TWICE)
        } else if codings.other {
            Err(error::UNSUPPORTED_CODING)
        } else {
            Ok(Framing::Chunked)
        };
    }
    match length {
        None | Some(0) => Ok(Framing::Empty),
        Some(n) => match usize::try_from(n) {
            Ok(n) if n <= limits.max_body => Ok(Framing::Length(n)),
            _ => Err(error::BODY_TOO_LARGE),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &str) -> Result<Option<Head<'_>>, HttpError> {
        parse(raw.as_bytes(), &Limits::DEFAULT)
    }

    #[test]
    fn fields_exclude_the_request_line() {
        let h = head("GET /x HTTP/1.1\r\nHost: a\r\n\r\n").unwrap().unwrap();
        assert_eq!(h.fields, b"Host: a\r\n\r\n");
        assert_eq!(h.len, 28);
        let h = head("GET /x HTTP/1.0\nHost: a\n\n").unwrap().unwrap();
        assert_eq!(h.fields, b"Host: a\n\n");
    }

    #[test]
    fn check_request_line_edges() {
        assert_eq!(check_request_line(b"GET /", 0, 5), Ok(false));
        assert_eq!(check_request_line(b"GET /\r", 0, 5), Ok(false));
        assert_eq!(check_request_line(b"GET /x", 0, 5), Err(error::LINE_TOO_LONG));
        assert_eq!(check_request_line(b"GET /\r\n", 0, 5), Ok(true));
        assert_eq!(check_request_line(b"GET /\n", 0, 5), Ok(true));
        assert_eq!(check_request_line(b"GET /x\r\n", 0, 5), Err(error::LINE_TOO_LONG));
    }

    #[test]
    fn version_token_detection() {
        assert!(names_a_version(b"GET / HTTP/2.0\r\n"));
        assert!(names_a_version(b"GET / HTTP/1.2"));
        assert!(names_a_version(b"GET / HTTP/2"));
        assert!(!names_a_version(b"GET / HTTQ/1.1\r\n"));
        assert!(!names_a_version(b"GET / HTTP/x\r\n"));
    }

    #[test]
    fn codings_order_matters() {
        let mut c = Codings::default();
        c.add(b"chunked, gzip");
        assert!(c.present && !c.last_chunked && c.other);
        let mut c = Codings::default();
        c.add(b"chunked");
        c.add(b"CHUNKED");
        assert!(c.last_chunked && c.chunked_twice);
    }
}
