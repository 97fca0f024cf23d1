//! Limits: how much of a request the decoder accepts before it refuses it.
//!
//! Every limit is checked as early as the bytes allow: a request line that
//! cannot fit is refused as soon as more than `max_request_line` bytes
//! without a line end are buffered, a head as soon as more than `max_head`
//! bytes are buffered without its end, a body from its `Content-Length`
//! before any of it arrives, and a chunked body as soon as a chunk size
//! would take the running total over `max_body`. So the bytes a connection
//! must buffer are bounded by `max_head + max_body` (plus one read).

/// The most header slots the decoder keeps on its stack; `Limits::max_headers`
/// above this is treated as this. 100 slots of 32 bytes stay under one 4 KiB
/// page, so parsing needs no stack probe; the slots are never zeroed.
pub const MAX_HEADERS_CAP: usize = 100;

/// The longest chunk-size line (size, extensions and CRLF) in a chunked
/// body; a longer one is refused with 400. Extensions are ignored, so this
/// only bounds how long the decoder waits for a line end.
pub const MAX_CHUNK_LINE: usize = 4096;

/// Limits applied by [`Decoder::decode`](crate::Decoder::decode).
///
/// All sizes are in bytes. [`Limits::DEFAULT`] (also `Default`) is
/// 8 KiB / 16 KiB / 64 headers / 1 MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line (method, target and version, without the CRLF).
    /// A longer one gets `414 URI Too Long`. Default 8192.
    pub max_request_line: usize,
    /// Longest request head: request line, header fields and the empty line
    /// that ends them, line ends included (leading empty lines before the
    /// request line are skipped and not counted). A longer one gets
    /// `431 Request Header Fields Too Large`. Also bounds a chunked body's
    /// trailer section. Default 16384.
    pub max_head: usize,
    /// Most header fields in one head (and trailer fields in one trailer
    /// section); one more gets 431. Values above [`MAX_HEADERS_CAP`] count as
    /// [`MAX_HEADERS_CAP`]. Default 64.
    pub max_headers: usize,
    /// Largest request body (decoded size for chunked bodies). A larger one
    /// gets `413 Content Too Large`. Default 1 MiB (1048576).
    pub max_body: usize,
}

impl Limits {
    /// The defaults: 8 KiB request line, 16 KiB head, 64 header fields,
    /// 1 MiB body.
    pub const DEFAULT: Limits =
        Limits { max_request_line: 8 * 1024, max_head: 16 * 1024, max_headers: 64, max_body: 1024 * 1024 };

    /// Header slots to hand the parser: `max_headers`, capped.
    pub(crate) fn header_slots(&self) -> usize {
        self.max_headers.min(MAX_HEADERS_CAP)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}
