//! The one error type of the decoder: an HTTP status to answer with.
//!
//! Every error the decoder returns means "answer with this status, then
//! close the connection" (see [`write_error`](crate::write_error)). The
//! `reason` is a short human message used as the error response body; the
//! status line carries the standard phrase from
//! [`reason_phrase`](crate::reason_phrase). Errors are `Copy` and cost
//! nothing to build: every one is a constant below.

use std::fmt;

/// A request the decoder refuses: the status to answer with and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HttpError {
    /// The HTTP status code to answer with (400, 413, 414, 431, 501, 505).
    pub status: u16,
    /// A short human message, used as the error response body.
    pub reason: &'static str,
}

impl HttpError {
    /// An error with this status and message.
    pub const fn new(status: u16, reason: &'static str) -> Self {
        HttpError { status, reason }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.reason)
    }
}

impl std::error::Error for HttpError {}

// 400: the message cannot be framed or parsed.
pub(crate) const BAD_REQUEST_LINE: HttpError = HttpError::new(400, "malformed request line");
pub(crate) const BAD_HEADER: HttpError = HttpError::new(400, "malformed header field");
pub(crate) const BAD_LINE_END: HttpError = HttpError::new(400, "malformed line end");
pub(crate) const BAD_LENGTH: HttpError = HttpError::new(400, "invalid Content-Length");
pub(crate) const CONFLICTING_LENGTH: HttpError = HttpError::new(400, "conflicting Content-Length values");
pub(crate) const LENGTH_AND_CODING: HttpError = HttpError::new(400, "both Content-Length and Transfer-Encoding");
pub(crate) const NOT_CHUNKED: HttpError = HttpError::new(400, "final transfer coding is not chunked");
pub(crate) const CHUNKED_TWICE: HttpError = HttpError::new(400, "chunked applied more than once");
pub(crate) const CODING_IN_HTTP10: HttpError = HttpError::new(400, "Transfer-Encoding in an HTTP/1.0 request");
pub(crate) const BAD_CHUNK_SIZE: HttpError = HttpError::new(400, "invalid chunk size line");
pub(crate) const CHUNK_LINE_TOO_LONG: HttpError = HttpError::new(400, "chunk size line too long");
pub(crate) const MISSING_CHUNK_CRLF: HttpError = HttpError::new(400, "missing CRLF after chunk data");
pub(crate) const BAD_TRAILER: HttpError = HttpError::new(400, "malformed trailer field");
// 400: the `Host` checks of `Request::check_host` (RFC 9112 §3.2).
pub(crate) const MISSING_HOST: HttpError = HttpError::new(400, "missing Host header field");
pub(crate) const TWO_HOSTS: HttpError = HttpError::new(400, "more than one Host header field");
pub(crate) const BAD_HOST: HttpError = HttpError::new(400, "invalid Host header field value");
// Limits.
pub(crate) const BODY_TOO_LARGE: HttpError = HttpError::new(413, "request body too large");
pub(crate) const LINE_TOO_LONG: HttpError = HttpError::new(414, "request line too long");
pub(crate) const HEAD_TOO_LARGE: HttpError = HttpError::new(431, "request head too large");
pub(crate) const TOO_MANY_HEADERS: HttpError = HttpError::new(431, "too many header fields");
pub(crate) const TRAILERS_TOO_LARGE: HttpError = HttpError::new(431, "trailer section too large");
pub(crate) const TOO_MANY_TRAILERS: HttpError = HttpError::new(431, "too many trailer fields");
// What we do not implement.
pub(crate) const UNSUPPORTED_CODING: HttpError = HttpError::new(501, "unsupported transfer coding");
pub(crate) const BAD_VERSION: HttpError = HttpError::new(505, "HTTP version not supported");
