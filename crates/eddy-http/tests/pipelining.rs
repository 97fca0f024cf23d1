//! Pipelined requests: decoded in order from one buffer, each with its
//! own `consumed`, answered into one output buffer.

mod util;

use eddy_http::{DateCache, Decoded, Decoder, Limits, ResponseHead, write_response};
use util::{feed, feed_bytewise};

const MIXED: &[u8] = b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n\
POST /2 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello\
PUT /3 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
HEAD /4 HTTP/1.1\r\n\r\n\
GET /5 HTTP/1.1\r\nConnection: close\r\n\r\n";

#[test]
fn requests_come_out_in_order() {
    let out = feed(MIXED);
    assert_eq!(out.error, None);
    let paths: Vec<_> = out.requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/1", "/2", "/3", "/4", "/5"]);
    assert_eq!(out.requests[1].body, b"hello");
    assert_eq!(out.requests[2].body, b"abc");
    assert!(out.requests[3].is_head);
    assert!(!out.requests[4].keep_alive);
    assert!(out.leftover.is_empty());
    assert_eq!(feed_bytewise(MIXED), out);
}

#[test]
fn consumed_partitions_the_buffer_exactly() {
    let mut decoder = Decoder::new();
    let limits = Limits::default();
    let mut at = 0;
    let mut sizes = Vec::new();
    while let Ok(Decoded::Request { consumed, .. }) = decoder.decode(&MIXED[at..], &limits) {
        sizes.push(consumed);
        at += consumed;
    }
    assert_eq!(at, MIXED.len());
    assert_eq!(sizes[0], b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n".len());
    assert_eq!(sizes[1], b"POST /2 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello".len());
    assert_eq!(decoder.decode(&MIXED[at..], &limits), Ok(Decoded::Partial { consumed: 0, send_continue: false }));
}

#[test]
fn a_partial_request_after_complete_ones_waits() {
    let mut bytes = MIXED[..MIXED.len() - 2].to_vec();
    let out = feed(&bytes);
    assert_eq!(out.requests.len(), 4);
    assert_eq!(out.leftover, b"GET /5 HTTP/1.1\r\nConnection: close\r\n");
    bytes.extend_from_slice(b"\r\n");
    assert_eq!(feed(&bytes).requests.len(), 5);
}

#[test]
fn empty_lines_between_requests_are_skipped() {
    let out = feed(b"\r\nGET /a HTTP/1.1\r\n\r\n\r\n\nGET /b HTTP/1.1\r\n\r\n");
    assert_eq!(out.error, None);
    assert_eq!(out.requests.len(), 2);
}

#[test]
fn all_responses_of_one_read_go_in_one_buffer_in_order() {
    let input = b"GET /a HTTP/1.1\r\n\r\nGET /bb HTTP/1.1\r\n\r\nGET /ccc HTTP/1.1\r\n\r\n";
    let date = DateCache::new();
    let mut decoder = Decoder::new();
    let mut out = Vec::new();
    let mut at = 0;
    while let Ok(Decoded::Request { request, consumed }) = decoder.decode(&input[at..], &Limits::default()) {
        write_response(&mut out, &ResponseHead::for_request(&request, &date), request.path.as_bytes());
        at += consumed;
    }
    let text = String::from_utf8(out).unwrap();
    let bodies: Vec<_> = text.split("\r\n\r\n").skip(1).map(|s| s.split("HTTP/1.1").next().unwrap()).collect();
    assert_eq!(bodies, ["/a", "/bb", "/ccc"]);
}
