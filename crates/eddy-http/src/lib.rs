//! eddy-http: the HTTP/1.1 codec shared by every eddy server flavour.
//!
//! Pure code, no sockets and no threads: a per-connection [`Decoder`] that
//! turns the bytes a connection has read into [`Request`]s, and
//! [`write_response`] / [`write_error`] that append responses to the
//! connection's output buffer. The reactor, async and fiber servers all
//! drive it the same way:
//!
//! ```
//! use eddy_http::{write_error, write_response, DateCache, Decoded, Decoder, Limits, ResponseHead, CONTINUE};
//!
//! let (limits, date) = (Limits::default(), DateCache::new());
//! let mut decoder = Decoder::new();
//! // One read: two pipelined requests; all responses go out in one write.
//! let mut input = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec();
//! let mut output = Vec::new();
//! let mut close = false;
//! loop {
//!     match decoder.decode(&input, &limits) {
//!         Ok(Decoded::Request { request, consumed }) => {
//!             let head = ResponseHead::for_request(&request, &date).with_content_type("text/plain");
//!             write_response(&mut output, &head, b"Hello, World!");
//!             close = !request.keep_alive;
//!             input.drain(..consumed);
//!             if close { break; }
//!         }
//!         Ok(Decoded::Partial { consumed, send_continue }) => {
//!             input.drain(..consumed);
//!             if send_continue { output.extend_from_slice(CONTINUE); }
//!             break; // read more
//!         }
//!         Err(err) => {
//!             write_error(&mut output, &err, &date);
//!             close = true; // after writing `output`
//!             break;
//!         }
//!     }
//! }
//! assert_eq!(output.windows(13).filter(|w| w == b"Hello, World!").count(), 2);
//! assert!(!close && input.is_empty());
//! ```
//!
//! # What it implements
//!
//! - Parsing: a fast path (`fast`) for the common head shape, httparse
//!   for everything else, which it decides; framing and connection
//!   management here.
//! - Keep-alive: HTTP/1.1 by default, HTTP/1.0 only with `Connection:
//!   keep-alive` (the response then says so); `Connection: close` honoured
//!   both ways. [`Request::keep_alive`] is the decision.
//! - Pipelining: `decode` yields each complete request of the buffer in
//!   order; any split of the bytes into reads yields the same requests.
//! - Bodies by `Content-Length` (borrowed, zero copy) and by chunked
//!   transfer coding (extensions ignored, trailers kept in
//!   [`Request::trailers`]); `Expect: 100-continue` signalled by
//!   [`Decoded::Partial::send_continue`](Decoded::Partial); `HEAD`
//!   answered without a body by [`ResponseHead::head`].
//! - Refusals with the right status, after which the connection closes:
//!   400 malformed or ambiguously framed (request smuggling: both
//!   `Content-Length` and `Transfer-Encoding`, two different lengths, a
//!   length that is not plain decimal, a final coding other than
//!   `chunked`, a bad chunk size or missing CRLF after chunk data), 413,
//!   414, 431, 501 and 505, each decided as early as the bytes allow
//!   ([`Limits`]).
//! - Left to the server, with the codec's help: the `Host` checks of RFC
//!   9112 §3.2 ([`Request::check_host`]: 400 for a missing, repeated or
//!   invalid `Host`), routing on an absolute-form target
//!   ([`Request::origin_form`]), and answering a refused `HEAD` without a
//!   body ([`Decoder::is_head`], [`write_error_for`]).
//! - Not implemented: `Upgrade`/`CONNECT` tunnels (they parse as ordinary
//!   requests), transfer codings other than `chunked` (501), obsolete line
//!   folding (400, as httparse does).
//!
//! # Costs
//!
//! The hot path, a complete small request of the common shape in the
//! buffer, is parsed once by the fast path (eight bytes at a time for the
//! target and the values, a table for method and names), looks at the
//! field names only by length unless one could frame the message,
//! allocates nothing and copies nothing. Anything the fast path does not
//! take goes to httparse, which decides; differential proptests hold the
//! two to the same answers. A `Decoder` is 32 bytes.
//!
//! `benches/codec.rs` (criterion, `cargo bench -p eddy-http --bench
//! codec`) measures the benchmarking thread's CPU time for the plaintext
//! keep-alive workload, `GET / HTTP/1.1` with a Host header (40 bytes),
//! against a baseline that only counts `\r\n\r\n` in the same bytes, as a
//! raw C epoll server does. Two runs on the project's shared 2-core
//! machine (2026-11-23; the same loop moves by up to 40 % between runs):
//!
//! | per iteration | eddy-http | `\r\n\r\n` count | ratio |
//! |---|---|---|---|
//! | decode 1 GET | 15.5–18.6 ns | 11.7 ns | 1.3–1.6× |
//! | decode 16 pipelined GETs | 260–301 ns (16–19 ns each) | 194–223 ns | 1.35× |
//! | write 1 plaintext response | 13.0–13.6 ns | | |
//! | decode and answer 16 pipelined GETs | 406–482 ns (25–30 ns each) | | |
//! | httparse alone, 1 GET (reference) | 31–32 ns | | |
//!
//! Before the fast path (httparse for every head) the same loops took
//! 46–52 ns for one GET and 0.82–0.90 µs for 16. In instructions
//! (callgrind, which the machine's load does not disturb), a loop that
//! decodes a 16-request batch and drops each request costs about 330 per
//! request, against about 700 when every head went through httparse.
//!
//! Module map: `decoder` ([`Decoder`]) drives `head` parsing (`fast` or
//! httparse, then limits and framing) and `chunked` decoding, with `scan`
//! for the byte searches of the slow paths; `request` holds what they
//! produce; `response` and `date` write the answers; `limits` and `error`
//! are the knobs and the refusals.

#![forbid(unsafe_code)]

mod chunked;
mod date;
mod decoder;
mod error;
mod fast;
mod head;
mod limits;
mod request;
mod response;
mod scan;

pub use date::{DATE_LEN, DateCache};
pub use decoder::{Decoded, Decoder};
pub use error::HttpError;
pub use limits::{Limits, MAX_CHUNK_LINE, MAX_HEADERS_CAP};
pub use request::{Body, Header, HeaderIter, Headers, HostCache, Request};
pub use response::{CONTINUE, ResponseHead, reason_phrase, write_error, write_error_for, write_response};
