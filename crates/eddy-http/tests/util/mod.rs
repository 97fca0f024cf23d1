//! Shared helpers: drive a `Decoder` the way a server does and snapshot
//! what it yields, so tests compare plain owned values.
#![allow(dead_code, unreachable_pub)]

use eddy_http::{Body, Decoded, Decoder, HttpError, Limits, Request};

/// An owned copy of everything a `Request` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub method: String,
    pub path: String,
    pub version: u8,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    pub body_borrowed: bool,
    pub trailers: Vec<(String, Vec<u8>)>,
    pub keep_alive: bool,
    pub is_head: bool,
    pub expects_continue: bool,
}

impl Snapshot {
    pub fn of(r: &Request<'_>) -> Self {
        let fields = |h: &eddy_http::Headers<'_>| h.iter().map(|f| (f.name.to_owned(), f.value.to_vec())).collect();
        Snapshot {
            method: r.method.to_string(),
            path: r.path.to_string(),
            version: r.version,
            headers: fields(&r.headers),
            body: r.body.to_vec(),
            body_borrowed: matches!(r.body, Body::Borrowed(_)),
            trailers: fields(&r.trailers),
            keep_alive: r.keep_alive,
            is_head: r.is_head,
            expects_continue: r.expects_continue,
        }
    }

    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }
}

/// What feeding a connection produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Requests, in order.
    pub requests: Vec<Snapshot>,
    /// For each `send_continue`, how many requests had completed before it.
    pub continues: Vec<usize>,
    /// The error that ended decoding, if any.
    pub error: Option<HttpError>,
    /// Bytes still buffered, not consumed.
    pub leftover: Vec<u8>,
}

/// Feeds `reads` one after the other into one connection buffer, decoding
/// after each read until `Partial` or an error, as a server does.
pub fn feed_with(reads: &[&[u8]], limits: &Limits) -> Outcome {
    let mut decoder = Decoder::new();
    let mut buf = Vec::new();
    let mut out = Outcome::default();
    for read in reads {
        buf.extend_from_slice(read);
        loop {
            match decoder.decode(&buf, limits) {
                Ok(Decoded::Request { request, consumed }) => {
                    out.requests.push(Snapshot::of(&request));
                    assert!(consumed > 0 && consumed <= buf.len());
                    buf.drain(..consumed);
                }
                Ok(Decoded::Partial { consumed, send_continue }) => {
                    assert!(consumed <= buf.len());
                    buf.drain(..consumed);
                    if send_continue {
                        out.continues.push(out.requests.len());
                    }
                    break;
                }
                Err(e) => {
                    out.error = Some(e);
                    out.leftover = buf;
                    return out;
                }
            }
        }
    }
    out.leftover = buf;
    out
}

/// Everything in one read, default limits.
pub fn feed(bytes: &[u8]) -> Outcome {
    feed_with(&[bytes], &Limits::default())
}

/// One byte per read, default limits.
pub fn feed_bytewise(bytes: &[u8]) -> Outcome {
    let reads: Vec<&[u8]> = bytes.chunks(1).collect();
    feed_with(&reads, &Limits::default())
}

/// The single request in `bytes` (panics unless exactly one decodes).
pub fn one(bytes: &[u8]) -> Snapshot {
    let out = feed(bytes);
    assert_eq!(out.error, None, "unexpected error for {:?}", String::from_utf8_lossy(bytes));
    assert_eq!(out.requests.len(), 1, "{out:?}");
    out.requests.into_iter().next().unwrap()
}

/// The status `bytes` is refused with, in one read and byte by byte (the
/// same both ways).
pub fn refused_with(bytes: &[u8], limits: &Limits) -> u16 {
    let whole = feed_with(&[bytes], limits);
    let reads: Vec<&[u8]> = bytes.chunks(1).collect();
    let bytewise = feed_with(&reads, limits);
    let status = whole.error.map(|e| e.status);
    assert_eq!(status, bytewise.error.map(|e| e.status), "one read vs bytewise");
    status.unwrap_or_else(|| panic!("accepted: {:?}", String::from_utf8_lossy(bytes)))
}

/// Like `refused_with`, default limits.
pub fn refused(bytes: &[u8]) -> u16 {
    refused_with(bytes, &Limits::default())
}

/// Whether `haystack` contains `needle`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
