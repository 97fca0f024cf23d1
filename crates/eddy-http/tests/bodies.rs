//! Request bodies: Content-Length (zero copy), chunked (extensions
//! ignored, trailers kept), `Expect: 100-continue` signalling, and HEAD.

mod util;

use eddy_http::{Body, CONTINUE, DateCache, Decoded, Decoder, Limits, ResponseHead, write_response};
use util::{contains, feed, feed_bytewise, feed_with, one};

#[test]
fn content_length_body_is_borrowed_from_the_buffer() {
    let buf = b"POST /p HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello worldGET";
    let mut decoder = Decoder::new();
    let Ok(Decoded::Request { request, consumed }) = decoder.decode(buf, &Limits::default()) else {
        panic!("no request")
    };
    assert_eq!(consumed, buf.len() - 3);
    let Body::Borrowed(body) = request.body else { panic!("copied") };
    assert_eq!(body, b"hello world");
    assert_eq!(body.as_ptr(), buf[consumed - 11..].as_ptr(), "not zero copy");
}

#[test]
fn identical_repeated_content_lengths_are_accepted() {
    let r = one(b"POST / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc");
    assert_eq!(r.body, b"abc");
}

#[test]
fn zero_length_and_absent_bodies_are_empty() {
    assert!(one(b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").body.is_empty());
    assert!(one(b"DELETE / HTTP/1.1\r\n\r\n").body.is_empty());
}

#[test]
fn content_length_body_split_anywhere_is_the_same() {
    let raw = b"PUT /x HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789";
    let whole = feed(raw);
    for cut in 0..raw.len() {
        let out = feed_with(&[&raw[..cut], &raw[cut..]], &Limits::default());
        assert_eq!(out, whole, "cut at {cut}");
    }
    assert_eq!(feed_bytewise(raw), whole);
}

const CHUNKED: &[u8] = b"POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
5;name=value\r\nhello\r\n\
1 ; a ; b=\"c\"\r\n \r\n\
6\r\nworld!\r\n\
0;last\r\nExpires: never\r\nX-Checksum: abc\r\n\r\n";

#[test]
fn chunked_body_is_decoded_with_extensions_ignored_and_trailers_kept() {
    let r = one(CHUNKED);
    assert_eq!(r.body, b"hello world!");
    assert!(!r.body_borrowed);
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/up");
    assert_eq!(r.header("host"), Some(&b"h"[..]));
    assert_eq!(r.trailers, vec![("Expires".into(), b"never".to_vec()), ("X-Checksum".into(), b"abc".to_vec())]);
    assert_eq!(feed_bytewise(CHUNKED).requests, vec![r]);
}

#[test]
fn chunked_trailers_are_reachable_through_the_api() {
    let mut decoder = Decoder::new();
    let Ok(Decoded::Request { request, consumed }) = decoder.decode(CHUNKED, &Limits::default()) else {
        panic!("no request")
    };
    assert_eq!(consumed, CHUNKED.len());
    assert_eq!(request.trailers.get("x-checksum"), Some(&b"abc"[..]));
    assert_eq!(request.trailers.len(), 2);
    assert!(request.headers.get("x-checksum").is_none());
}

#[test]
fn chunked_body_may_be_empty_and_without_trailers() {
    let r = one(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    assert!(r.body.is_empty() && r.trailers.is_empty());
}

#[test]
fn chunked_is_case_insensitive_and_may_come_in_several_fields() {
    let r = one(b"POST / HTTP/1.1\r\nTransfer-Encoding: \r\nTransfer-Encoding: Chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n");
    assert_eq!(r.body, b"x");
}

#[test]
fn chunked_framing_is_consumed_as_it_arrives() {
    let mut decoder = Decoder::new();
    let limits = Limits::default();
    let head = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab";
    let r = decoder.decode(head, &limits);
    // Head, size line and the data so far are taken into the decoder.
    assert_eq!(r, Ok(Decoded::Partial { consumed: head.len(), send_continue: false }));
    assert!(!decoder.is_idle());
    let r = decoder.decode(b"cd\r\n0\r\n\r\n", &limits).unwrap();
    let Decoded::Request { request, consumed } = r else { panic!("partial") };
    assert_eq!(consumed, 9);
    assert_eq!(&*request.body, b"abcd");
    assert!(decoder.is_idle());
}

/// The `send_continue` flags and request count for `reads`.
fn continues(reads: &[&[u8]]) -> (Vec<usize>, usize) {
    let out = feed_with(reads, &Limits::default());
    assert_eq!(out.error, None);
    (out.continues, out.requests.len())
}

#[test]
fn expect_continue_is_signalled_once_when_the_body_is_missing() {
    let head: &[u8] = b"PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n";
    assert_eq!(continues(&[head, b"ab", b"cd"]), (vec![0], 1));
    // Body partly there already: still signalled.
    let mut with_some = head.to_vec();
    with_some.extend_from_slice(b"a");
    assert_eq!(continues(&[&with_some, b"bcd"]), (vec![0], 1));
    // Whole body there: nothing to ask for.
    let mut whole = head.to_vec();
    whole.extend_from_slice(b"abcd");
    assert_eq!(continues(&[&whole]), (vec![], 1));
    let out = feed(&whole);
    assert!(out.requests[0].expects_continue);
}

#[test]
fn expect_continue_with_chunked_body() {
    let head: &[u8] = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nexpect: 100-Continue\r\n\r\n";
    assert_eq!(continues(&[head, b"2\r\nhi\r\n0\r\n\r\n"]), (vec![0], 1));
    // Byte by byte: still once.
    let mut raw = head.to_vec();
    raw.extend_from_slice(b"2\r\nhi\r\n0\r\n\r\n");
    let reads: Vec<&[u8]> = raw.chunks(1).collect();
    assert_eq!(continues(&reads), (vec![0], 1));
}

#[test]
fn expect_continue_is_not_signalled_without_a_body_or_for_http10() {
    assert_eq!(continues(&[b"PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n"]), (vec![], 1));
    assert_eq!(continues(&[b"GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n"]), (vec![], 1));
    let head: &[u8] = b"PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
    assert_eq!(continues(&[head, b"ok"]), (vec![], 1));
    assert!(!feed_with(&[head, b"ok"], &Limits::default()).requests[0].expects_continue);
}

#[test]
fn expect_continue_for_a_second_pipelined_request() {
    let first: &[u8] = b"GET / HTTP/1.1\r\n\r\nPUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
    assert_eq!(continues(&[first, b"ok"]), (vec![1], 2));
}

#[test]
fn continue_bytes_are_the_interim_response() {
    assert_eq!(CONTINUE, b"HTTP/1.1 100 Continue\r\n\r\n");
}

#[test]
fn head_gets_the_get_length_and_no_body() {
    let r = one(b"HEAD /x HTTP/1.1\r\n\r\n");
    assert!(r.is_head);
    assert!(!one(b"GET /x HTTP/1.1\r\n\r\n").is_head);
    let mut decoder = Decoder::new();
    let Ok(Decoded::Request { request, .. }) = decoder.decode(b"HEAD /x HTTP/1.1\r\n\r\n", &Limits::default()) else {
        panic!()
    };
    let date = DateCache::new();
    let mut out = Vec::new();
    write_response(&mut out, &ResponseHead::for_request(&request, &date), b"twelve bytes");
    assert!(contains(&out, b"\r\nContent-Length: 12\r\n"));
    assert!(out.ends_with(b"\r\n\r\n"), "body written for HEAD");
    assert!(!contains(&out, b"twelve"));
}
