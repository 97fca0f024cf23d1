//! Writing responses: status line and headers appended to the caller's
//! output buffer, from constants wherever possible.
//!
//! Every response carries `Server: eddy`, `Date` (from a [`DateCache`]) and
//! a `Content-Length` that is the length of the body passed in, so it is
//! always right; `Connection: close` when the connection closes after it
//! and `Connection: keep-alive` when an HTTP/1.0 connection stays open.
//! The status line always says `HTTP/1.1` (RFC 9110 §6.2: a server sends
//! its own version; HTTP/1.0 clients accept it).
//!
//! Costs: a `200 OK` is one reserve and about eight `extend_from_slice`
//! calls of constants and caller slices, plus a digit loop for the length:
//! no allocation beyond the buffer's growth, no `format!`.

use crate::date::DateCache;
use crate::error::HttpError;
use crate::request::Request;

/// The interim response to write when [`Decoded::Partial`] says
/// `send_continue` (`Expect: 100-continue`).
///
/// [`Decoded::Partial`]: crate::Decoded::Partial
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Bytes a head needs besides the caller's strings: status line, Server,
/// Date, the field names, a 20-digit length, Connection, final CRLF.
const HEAD_OVERHEAD: usize = 160;

/// What to say about a response; the body is passed to [`write_response`].
///
/// Strings must not contain CR or LF (they are copied as they are); the
/// extra `headers` must not repeat the ones written here (`Server`,
/// `Date`, `Content-Length`, `Connection`, `Content-Type`).
///
/// # Examples
///
/// ```
/// use eddy_http::{write_response, DateCache, ResponseHead};
///
/// let date = DateCache::new();
/// let mut out = Vec::new();
/// let head = ResponseHead::ok(&date).with_content_type("text/plain");
/// write_response(&mut out, &head, b"Hello, World!");
/// assert!(out.starts_with(b"HTTP/1.1 200 OK\r\nServer: eddy\r\nDate: "));
/// assert!(out.ends_with(b"Content-Length: 13\r\n\r\nHello, World!"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ResponseHead<'a> {
    /// Status code, 100..=999.
    pub status: u16,
    /// Reason phrase, e.g. `OK` (see [`reason_phrase`]).
    pub reason: &'a str,
    /// `Content-Type` value, if any.
    pub content_type: Option<&'a str>,
    /// Further header fields, written in order after the standard ones.
    pub headers: &'a [(&'a str, &'a str)],
    /// The `Date` value.
    pub date: &'a DateCache,
    /// Keep the connection open after this response; `false` writes
    /// `Connection: close` (and the server closes after writing it).
    pub keep_alive: bool,
    /// Minor version of the request answered: with 0 (HTTP/1.0) and
    /// `keep_alive`, `Connection: keep-alive` is written.
    pub version: u8,
    /// The request was `HEAD`: write the `Content-Length` of the body but
    /// not the body.
    pub head: bool,
}

impl<'a> ResponseHead<'a> {
    /// A response with this status to an HTTP/1.1 request that keeps the
    /// connection open; no content type, no extra headers.
    pub fn new(status: u16, reason: &'a str, date: &'a DateCache) -> Self {
        ResponseHead {
            status,
            reason,
            content_type: None,
            headers: &[],
            date,
            keep_alive: true,
            version: 1,
            head: false,
        }
    }

    /// `200 OK`, keep-alive, HTTP/1.1.
    pub fn ok(date: &'a DateCache) -> Self {
        ResponseHead::new(200, "OK", date)
    }

    /// `200 OK` answering `request`: its keep-alive decision, version and
    /// HEAD-ness carried over.
    pub fn for_request(request: &Request<'_>, date: &'a DateCache) -> Self {
        ResponseHead {
            keep_alive: request.keep_alive,
            version: request.version,
            head: request.is_head,
            ..ResponseHead::ok(date)
        }
    }

    /// The same with another status.
    pub fn with_status(self, status: u16, reason: &'a str) -> Self {
        ResponseHead { status, reason, ..self }
    }

    /// The same with a `Content-Type`.
    pub fn with_content_type(self, content_type: &'a str) -> Self {
        ResponseHead { content_type: Some(content_type), ..self }
    }

    /// The same with extra header fields.
    pub fn with_headers(self, headers: &'a [(&'a str, &'a str)]) -> Self {
        ResponseHead { headers, ..self }
    }

    /// The same with another keep-alive decision (e.g. `false` when the
    /// server is shutting down).
    pub fn with_keep_alive(self, keep_alive: bool) -> Self {
        ResponseHead { keep_alive, ..self }
    }
}

/// Appends a complete response to `out`: status line, `Server`, `Date`,
/// `Content-Type` if set, `Content-Length: body.len()`, `Connection` as
/// needed, the extra headers, then `body` unless `resp.head`.
///
/// A 1xx or 204 status gets neither `Content-Length` nor body (RFC 9110
/// §8.6 forbids the field there); a 304 gets the `Content-Length` of
/// `body` (the representation's) but not the body, like `HEAD`.
pub fn write_response(out: &mut Vec<u8>, resp: &ResponseHead<'_>, body: &[u8]) {
    let (length, send_body) = match resp.status {
        100..=199 | 204 => (None, false),
        304 => (Some(body.len()), false),
        _ => (Some(body.len()), !resp.head),
    };
    let extras: usize = resp.headers.iter().map(|(n, v)| n.len() + v.len() + 4).sum();
    let content_type = resp.content_type.map_or(0, str::len);
    let body_len = if send_body { body.len() } else { 0 };
    out.reserve(HEAD_OVERHEAD + resp.reason.len() + content_type + extras + body_len);
    write_head(out, resp, length);
    if send_body {
        out.extend_from_slice(body);
    }
}

/// Appends the error response for `err`: its status with the standard
/// phrase, `Connection: close`, and `err.reason` plus a newline as a
/// `text/plain` body. Close the connection after writing it.
///
/// # Examples
///
/// ```
/// use eddy_http::{write_error, DateCache, Decoder, Limits};
///
/// let err = Decoder::new().decode(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", &Limits::default());
/// let mut out = Vec::new();
/// write_error(&mut out, &err.unwrap_err(), &DateCache::new());
/// assert!(out.starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
/// assert!(out.windows(19).any(|w| w == b"Connection: close\r\n"));
/// ```
pub fn write_error(out: &mut Vec<u8>, err: &HttpError, date: &DateCache) {
    write_error_for(out, err, date, false);
}

/// As [`write_error`], answering a `HEAD` request if `head`: the same head
/// (the `Content-Length` of the message included) without the body, as
/// every answer to `HEAD` must be (RFC 9110 §9.3.2). Whether the request
/// refused was a `HEAD` is [`Decoder::is_head`](crate::Decoder::is_head).
///
/// # Examples
///
/// ```
/// use eddy_http::{write_error_for, DateCache, Decoder, Limits};
///
/// let mut decoder = Decoder::new();
/// let raw = b"HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999\r\n\r\n";
/// let err = decoder.decode(raw, &Limits::default()).unwrap_err();
/// let mut out = Vec::new();
/// write_error_for(&mut out, &err, &DateCache::new(), decoder.is_head());
/// assert!(out.starts_with(b"HTTP/1.1 413 Content Too Large\r\n"));
/// assert!(out.ends_with(b"\r\n\r\n"), "no body");
/// ```
pub fn write_error_for(out: &mut Vec<u8>, err: &HttpError, date: &DateCache, head: bool) {
    let resp = ResponseHead {
        content_type: Some("text/plain; charset=utf-8"),
        keep_alive: false,
        ..ResponseHead::new(err.status, reason_phrase(err.status), date)
    };
    out.reserve(HEAD_OVERHEAD + 64 + err.reason.len());
    write_head(out, &resp, Some(err.reason.len() + 1));
    if !head {
        out.extend_from_slice(err.reason.as_bytes());
        out.push(b'\n');
    }
}

/// Status line and header fields, through the empty line.
fn write_head(out: &mut Vec<u8>, resp: &ResponseHead<'_>, length: Option<usize>) {
    if resp.status == 200 && resp.reason == "OK" {
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\nServer: eddy\r\nDate: ");
    } else {
        let code = resp.status.min(999);
        let digits = [b'0' + (code / 100) as u8, b'0' + (code / 10 % 10) as u8, b'0' + (code % 10) as u8];
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(&digits);
        out.push(b' ');
        out.extend_from_slice(resp.reason.as_bytes());
        out.extend_from_slice(b"\r\nServer: eddy\r\nDate: ");
    }
    out.extend_from_slice(resp.date.as_bytes());
    if let Some(content_type) = resp.content_type {
        out.extend_from_slice(b"\r\nContent-Type: ");
        out.extend_from_slice(content_type.as_bytes());
    }
    if let Some(length) = length {
        out.extend_from_slice(b"\r\nContent-Length: ");
        push_decimal(out, length);
    }
    if !resp.keep_alive {
        out.extend_from_slice(b"\r\nConnection: close");
    } else if resp.version == 0 {
        out.extend_from_slice(b"\r\nConnection: keep-alive");
    }
    for (name, value) in resp.headers {
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
    }
    out.extend_from_slice(b"\r\n\r\n");
}

/// Appends `n` in decimal.
fn push_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(at..).unwrap_or_default());
}

/// The standard reason phrase of a status code (RFC 9110 §15), or `""`.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        417 => "Expectation Failed",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_formatting() {
        for n in [0usize, 7, 10, 13, 99, 100, 65_535, 1 << 20, usize::MAX] {
            let mut out = b"x".to_vec();
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}").into_bytes());
        }
    }

    #[test]
    fn odd_status_codes_still_make_three_digits() {
        let date = DateCache::new();
        let mut out = Vec::new();
        write_response(&mut out, &ResponseHead::new(1234, "X", &date), b"");
        assert!(out.starts_with(b"HTTP/1.1 999 X\r\n"));
        out.clear();
        write_response(&mut out, &ResponseHead::new(42, "Y", &date), b"");
        assert!(out.starts_with(b"HTTP/1.1 042 Y\r\n"));
    }
}
