//! The per-connection request decoder: framing and connection management
//! on top of [`head`](crate::head) and [`chunked`](crate::chunked).
//!
//! Contract with the caller: it keeps the unconsumed input in one buffer,
//! appends each read after it, calls [`Decoder::decode`] on the whole
//! unconsumed buffer until it returns `Partial`, and drops exactly the
//! `consumed` bytes each call reports (after handling a request, since the
//! request borrows them). Every split of the same bytes into reads yields
//! the same requests (`tests/splits.rs` proves it with proptest).
//!
//! Costs: a complete request in the buffer is parsed once, with no
//! allocation and no copy (zero-copy `Content-Length` body). Between
//! requests, a complete head of the common shape with no field that could
//! frame a body (`GET` with `Host` and the like) is answered by
//! [`Decoder::decode`] itself, inlined into the caller; everything else
//! goes through the state machine out of line, which decides the same
//! way (a unit test holds the two together on both sides of each limit).
//! A head or body that arrives in pieces is never re-parsed on each read:
//! the decoder remembers how far it looked (a head fed one byte at a time
//! costs O(n), not O(n²)), waits for a `Content-Length` body without
//! looking at the head again, and parses the head once more when the body
//! is all there. A chunked request allocates: its head is copied and its
//! body collected in a `Vec`.
//!
//! After an error the decoder stays failed: every later call returns the
//! same error, so a caller cannot read past a request it could not frame.

use std::borrow::Cow;

use crate::chunked::{self, Chunk, Pending, Progress};
use crate::error::{self, HttpError};
use crate::fast;
use crate::head::{self, Framing, Head};
use crate::limits::Limits;
use crate::request::{Body, Headers, HostField, Request};
use crate::scan;

/// Decodes the requests of one connection, in order.
///
/// It holds only where it is in the current request: 32 bytes on 64-bit
/// targets (asserted by a test), plus, during a chunked request only, one
/// heap block with the copied head and the body decoded so far.
///
/// # Examples
///
/// ```
/// use eddy_http::{Decoded, Decoder, Limits};
///
/// let mut decoder = Decoder::new();
/// let limits = Limits::default();
/// let mut input = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n".to_vec();
/// let mut paths = Vec::new();
/// loop {
///     match decoder.decode(&input, &limits)? {
///         Decoded::Request { request, consumed } => {
///             paths.push(request.path.into_owned());
///             input.drain(..consumed);
///         }
///         Decoded::Partial { consumed, .. } => {
///             input.drain(..consumed);
///             break;
///         }
///     }
/// }
/// assert_eq!(paths, ["/a"]);
/// input.extend_from_slice(b"Host: x\r\n\r\n"); // the next read
/// match decoder.decode(&input, &limits)? {
///     Decoded::Request { request, .. } => assert_eq!(request.path, "/b"),
///     Decoded::Partial { .. } => unreachable!(),
/// }
/// # Ok::<(), eddy_http::HttpError>(())
/// ```
#[derive(Debug, Default)]
pub struct Decoder {
    state: State,
}

/// Where the decoder is. Offsets count from the first byte of the buffer
/// the next `decode` call will see (the caller dropped what was consumed).
#[derive(Debug)]
enum State {
    /// Waiting for a complete head. `scanned`: bytes already known not to
    /// hold the end of the head (0: nothing looked at yet, parse at once);
    /// `line_checked`: the request line is complete and within its limit;
    /// `head`: the bytes so far start with `HEAD `.
    Head { scanned: usize, line_checked: bool, head: bool },
    /// Head complete and checked, `Content-Length` body incomplete: wait
    /// until `needed` bytes are buffered, then parse the head again.
    Body { needed: usize, head: bool },
    /// Inside a chunked body; the head and the body so far are in `pending`.
    Chunked { phase: Chunk, pending: Box<Pending> },
    /// An error was returned; it is returned again on every call. `head`:
    /// the request refused was a `HEAD`, as far as its bytes tell.
    Failed { error: HttpError, head: bool },
}

impl State {
    /// Between requests, nothing looked at.
    const IDLE: State = State::Head { scanned: 0, line_checked: false, head: false };
}

impl Default for State {
    fn default() -> Self {
        State::IDLE
    }
}

/// What [`Decoder::decode`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded<'b> {
    /// A complete request. `consumed` bytes of the buffer belong to it
    /// (and to the empty lines before it); drop them after handling it.
    Request {
        /// The request, borrowing from the buffer.
        request: Request<'b>,
        /// Bytes of the buffer this request used.
        consumed: usize,
    },
    /// More bytes are needed. `consumed` bytes of the buffer were taken
    /// into the decoder (chunked framing and data, skipped empty lines) and
    /// must be dropped before the next call.
    Partial {
        /// Bytes of the buffer to drop now.
        consumed: usize,
        /// Write [`CONTINUE`](crate::CONTINUE) now: the head of an HTTP/1.1
        /// request with `Expect: 100-continue` and a body is complete, and
        /// the body has not all arrived. Set on one call per request.
        send_continue: bool,
    },
}

impl Decoder {
    /// A decoder waiting for the first request of a connection.
    pub const fn new() -> Self {
        Decoder { state: State::IDLE }
    }

    /// Decodes the next request from `buf`, the connection's unconsumed
    /// input (the bytes earlier calls did not consume, then new reads).
    ///
    /// # Errors
    ///
    /// An [`HttpError`] whose status the server answers with (see
    /// [`write_error`](crate::write_error)) before closing the connection:
    /// 400 malformed or ambiguously framed request, 413 body over
    /// `max_body`, 414 request line over `max_request_line`, 431 head over
    /// `max_head` or more than `max_headers` fields, 501 a transfer coding
    /// other than `chunked`, 505 an HTTP version other than 1.0 and 1.1.
    /// The decoder stays failed afterwards.
    #[inline]
    pub fn decode<'b>(&mut self, buf: &'b [u8], limits: &Limits) -> Result<Decoded<'b>, HttpError> {
        // The hot path: between requests, and the next head has the common
        // shape and is all there. The state stays `IDLE`.
        if let State::Head { scanned: 0, .. } = self.state {
            if buf.is_empty() {
                // Every request of the read answered: the usual last call.
                return Ok(Decoded::Partial { consumed: 0, send_continue: false });
            }
            if let Some(p) = fast::parse(buf, limits.header_slots()) {
                if !p.framing && p.len <= limits.max_head && p.line_len() <= limits.max_request_line {
                    return Ok(Decoded::Request { request: plain(buf, &p), consumed: p.len });
                }
                let is_head = p.method == "HEAD";
                let head = head::from_fast(buf, p, limits).map_err(|e| self.fail(e, is_head))?;
                return self.start_body(buf, 0, head, limits);
            }
        }
        self.decode_slow(buf, limits)
    }

    /// Every other case: a head that is incomplete, unusual or after empty
    /// lines, a body, a chunked body, a failed decoder.
    #[inline(never)]
    fn decode_slow<'b>(&mut self, buf: &'b [u8], limits: &Limits) -> Result<Decoded<'b>, HttpError> {
        // Every arm returns in tail position (no local copy of the result)
        // and records errors through `fail`.
        match std::mem::replace(&mut self.state, State::IDLE) {
            State::Head { scanned, line_checked, .. } => self.head(buf, scanned, line_checked, limits),
            State::Body { needed, head } if buf.len() < needed => {
                self.state = State::Body { needed, head };
                Ok(Decoded::Partial { consumed: 0, send_continue: false })
            }
            State::Body { .. } => self.head(buf, 0, false, limits),
            State::Chunked { phase, pending } => self.chunked(buf, 0, phase, pending, false, limits),
            State::Failed { error, head } => Err(self.fail(error, head)),
        }
    }

    /// Records `e` (refusing a `HEAD` request if `head`) so that every
    /// later call returns it too.
    #[cold]
    fn fail(&mut self, e: HttpError, head: bool) -> HttpError {
        self.state = State::Failed { error: e, head };
        e
    }

    /// Whether the request being decoded, or the one the decoder refused,
    /// is a `HEAD` as far as its bytes tell (they start with `HEAD `): its
    /// answer, an error or a 408 included, must have no body (write it
    /// with [`write_error_for`](crate::write_error_for)). `false` between
    /// requests.
    pub fn is_head(&self) -> bool {
        match &self.state {
            State::Head { head, .. } | State::Body { head, .. } | State::Failed { head, .. } => *head,
            State::Chunked { pending, .. } => pending.is_head(),
        }
    }

    /// Whether the head of the request being decoded is complete and its
    /// body is still arriving (a `Content-Length` body or a chunked one):
    /// for a server whose deadline for the body differs from the head's.
    pub fn is_reading_body(&self) -> bool {
        matches!(self.state, State::Body { .. } | State::Chunked { .. })
    }

    /// Whether the decoder is between requests: no part of a request has
    /// been seen or taken in. Exact after a call that returned `Partial`
    /// (a graceful shutdown may close such an idle connection); after a
    /// `Request` the caller's buffer may still hold the next one.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Head { scanned: 0, .. })
    }

    /// Looks for a complete head at the start of `buf`.
    fn head<'b>(
        &mut self,
        buf: &'b [u8],
        scanned: usize,
        line_checked: bool,
        limits: &Limits,
    ) -> Result<Decoded<'b>, HttpError> {
        let skip = scan::empty_lines(buf).map_err(|e| self.fail(e, false))?;
        let rest = buf.get(skip..).unwrap_or_default();
        if rest.is_empty() {
            // The common end of a pipelined batch: nothing more to look at.
            return Ok(Decoded::Partial { consumed: skip, send_continue: false });
        }
        let is_head = rest.starts_with(b"HEAD ");
        // Parse on a first look, or when the end of the head has arrived
        // since the last one; in between only the limits can be crossed.
        if scanned == 0 || scan::block_end(rest, scanned.saturating_sub(2)).is_some() {
            if let Some(head) = head::parse(rest, limits).map_err(|e| self.fail(e, is_head))? {
                return self.start_body(buf, skip, head, limits);
            }
        }
        let line_checked = line_checked
            || head::check_request_line(rest, scanned, limits.max_request_line).map_err(|e| self.fail(e, is_head))?;
        // Incomplete with `max_head` bytes buffered: the head is longer.
        if rest.len() >= limits.max_head {
            return Err(self.fail(error::HEAD_TOO_LARGE, is_head));
        }
        self.state = State::Head { scanned: rest.len(), line_checked, head: is_head };
        Ok(Decoded::Partial { consumed: skip, send_continue: false })
    }

    /// The head (after `skip` bytes of empty lines) is complete: frame the
    /// body that follows it.
    fn start_body<'b>(
        &mut self,
        buf: &'b [u8],
        skip: usize,
        head: Head<'b>,
        limits: &Limits,
    ) -> Result<Decoded<'b>, HttpError> {
        let body_start = skip + head.len;
        match head.framing {
            Framing::Empty => Ok(Decoded::Request { request: borrowed(&head, &[]), consumed: body_start }),
            Framing::Length(n) => {
                let end = body_start.saturating_add(n);
                if let Some(body) = buf.get(body_start..end) {
                    return Ok(Decoded::Request { request: borrowed(&head, body), consumed: end });
                }
                self.state = State::Body { needed: head.len.saturating_add(n), head: head.method == "HEAD" };
                Ok(Decoded::Partial { consumed: skip, send_continue: head.expects_continue })
            }
            Framing::Chunked => {
                let pending = Pending::new(&head);
                self.chunked(buf, body_start, Chunk::START, pending, head.expects_continue, limits)
            }
        }
    }

    /// Decodes chunked body bytes from `buf[pos..]`.
    fn chunked<'b>(
        &mut self,
        buf: &'b [u8],
        pos: usize,
        mut phase: Chunk,
        mut pending: Box<Pending>,
        send_continue: bool,
        limits: &Limits,
    ) -> Result<Decoded<'b>, HttpError> {
        let progress = chunked::advance(&mut phase, &mut pending.body, buf, pos, limits);
        let is_head = pending.is_head();
        match progress.map_err(|e| self.fail(e, is_head))? {
            Progress::Partial { consumed } => {
                self.state = State::Chunked { phase, pending };
                Ok(Decoded::Partial { consumed, send_continue })
            }
            Progress::Done { trailers, end } => {
                Ok(Decoded::Request { request: pending.into_request(trailers), consumed: end })
            }
        }
    }
}

/// A request the fast path parsed with no field that could frame it: no
/// body and the version's default persistence, what `head::finish` and
/// `start_body` decide for it too.
#[inline(always)]
fn plain<'b>(buf: &'b [u8], p: &fast::Parsed<'b>) -> Request<'b> {
    let head = Head {
        method: p.method,
        path: p.path,
        version: p.version,
        fields: p.fields(buf),
        len: p.len,
        framing: Framing::Empty,
        keep_alive: p.version == 1,
        expects_continue: false,
    };
    let mut request = borrowed(&head, &[]);
    let block = p.line_len() + 2;
    request.host = match p.host {
        fast::HostSeen::Absent => HostField::ABSENT,
        fast::HostSeen::Many => HostField::MANY,
        fast::HostSeen::One { start, end } => HostField::one(start - block, end - block),
    };
    request
}

/// A request borrowed entirely from the input.
#[inline(always)]
fn borrowed<'b>(head: &Head<'b>, body: &'b [u8]) -> Request<'b> {
    Request {
        method: Cow::Borrowed(head.method),
        path: Cow::Borrowed(head.path),
        version: head.version,
        headers: Headers::from_block(Cow::Borrowed(head.fields)),
        body: Body::Borrowed(body),
        trailers: Headers::empty(),
        keep_alive: head.keep_alive,
        is_head: head.method == "HEAD",
        expects_continue: head.expects_continue,
        host: HostField::UNKNOWN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoder_is_small() {
        // The type's docs state this size: keep them in step.
        #[cfg(target_pointer_width = "64")]
        assert_eq!(std::mem::size_of::<Decoder>(), 32);
    }

    #[test]
    fn waiting_for_a_body_does_not_reparse_until_complete() {
        let mut d = Decoder::new();
        let limits = Limits::DEFAULT;
        let full = b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
        let r = d.decode(&full[..40], &limits);
        assert_eq!(r, Ok(Decoded::Partial { consumed: 0, send_continue: false }));
        assert!(matches!(d.state, State::Body { needed: 41, head: false }));
        // Garbage where the head was: not looked at while waiting.
        let mut garbled = full.to_vec();
        garbled[0] = b'\0';
        assert!(matches!(d.decode(&garbled[..40], &limits), Ok(Decoded::Partial { .. })));
        assert!(d.decode(&garbled, &limits).is_err());
    }

    #[test]
    fn the_hot_path_decides_as_the_general_path() {
        // `decode` answers plain heads itself; `decode_slow` goes through
        // `head::finish` and `start_body`. Same bytes, same limits, same
        // answer, on both sides of every limit.
        let heads: [&[u8]; 8] = [
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\nGET / HTTP/1.1\r\n",
            b"GET /old HTTP/1.0\r\nHost: x\r\n\r\n",
            b"HEAD / HTTP/1.1\r\nHost: x\r\nX-Trace: 1\r\n\r\n",
            b"HEAD /x?y HTTP/1.0\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n",
            b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nContent-Length: 2\r\n\r\nab",
            b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
            b"OPTIONS * HTTP/1.1\r\n\r\n",
        ];
        let empty = Decoder::new().decode(b"", &Limits::DEFAULT);
        assert_eq!(empty, Decoder::new().decode_slow(b"", &Limits::DEFAULT));
        for raw in heads {
            let line = raw.iter().position(|&b| b == b'\r').unwrap();
            let head = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
            for (max_request_line, max_head) in
                [(line, head), (line - 1, head), (line, head - 1), (8192, 16384), (line, 1)]
            {
                let limits = Limits { max_request_line, max_head, ..Limits::DEFAULT };
                let hot = Decoder::new().decode(raw, &limits);
                let general = Decoder::new().decode_slow(raw, &limits);
                assert_eq!(hot, general, "{:?} {limits:?}", String::from_utf8_lossy(raw));
            }
        }
    }

    #[test]
    fn errors_are_sticky() {
        let mut d = Decoder::new();
        let limits = Limits::DEFAULT;
        let e = d.decode(b"\0\r\n\r\n", &limits).unwrap_err();
        assert_eq!(d.decode(b"GET / HTTP/1.1\r\n\r\n", &limits), Err(e));
    }

    #[test]
    fn idle_tracks_partial_requests() {
        let mut d = Decoder::new();
        let limits = Limits::DEFAULT;
        assert!(d.is_idle());
        let _ = d.decode(b"\r\n", &limits);
        assert!(d.is_idle());
        let _ = d.decode(b"GE", &limits);
        assert!(!d.is_idle());
        let _ = d.decode(b"GET / HTTP/1.1\r\n\r\n", &limits);
        assert!(d.is_idle());
    }
}
