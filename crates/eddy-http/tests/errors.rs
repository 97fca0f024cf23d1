//! Bad input: every refusal with its status (the same in one read and byte
//! by byte), the limits exactly at their edges, and the error response.

mod util;

use eddy_http::{DateCache, Decoded, Decoder, HttpError, Limits, write_error};
use util::{contains, feed_with, one, refused, refused_with};

// ---- malformed input: 400 -------------------------------------------------

#[test]
fn malformed_request_lines_get_400() {
    for raw in [
        &b"GET/ HTTP/1.1\r\n\r\n"[..],
        b"GET  / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1 \r\n\r\n",
        b"G\x01T / HTTP/1.1\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET / FTP/1.1\r\n\r\n",
        b" GET / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\rX\r\n\r\n",
        b"\rGET / HTTP/1.1\r\n\r\n",
    ] {
        assert_eq!(refused(raw), 400, "{:?}", String::from_utf8_lossy(raw));
    }
}

#[test]
fn malformed_headers_get_400() {
    for raw in [
        &b"GET / HTTP/1.1\r\nBad Header\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nNa me: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nName : x\r\n\r\n",
        b"GET / HTTP/1.1\r\n: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",
        b"GET / HTTP/1.1\r\n X: a\r\n\r\n",
    ] {
        assert_eq!(refused(raw), 400, "{:?}", String::from_utf8_lossy(raw));
    }
}

// ---- request smuggling: 400 (501 for codings we do not implement) ---------

fn post(fields: &str, body: &str) -> Vec<u8> {
    format!("POST / HTTP/1.1\r\nHost: h\r\n{fields}\r\n{body}").into_bytes()
}

#[test]
fn content_length_with_transfer_encoding_gets_400() {
    let chunked = "1\r\nx\r\n0\r\n\r\n";
    assert_eq!(refused(&post("Content-Length: 1\r\nTransfer-Encoding: chunked\r\n", chunked)), 400);
    assert_eq!(refused(&post("Transfer-Encoding: chunked\r\nContent-Length: 1\r\n", chunked)), 400);
}

#[test]
fn different_content_lengths_get_400() {
    assert_eq!(refused(&post("Content-Length: 1\r\nContent-Length: 2\r\n", "xy")), 400);
}

#[test]
fn content_length_must_be_plain_decimal() {
    for value in ["abc", "-1", "+1", "1,1", "1, 1", "0x10", "1.0", "1 1", "", "1e3"] {
        let raw = post(&format!("Content-Length: {value}\r\n"), "x");
        assert_eq!(refused(&raw), 400, "Content-Length: {value:?}");
    }
}

#[test]
fn final_coding_must_be_chunked() {
    for te in ["gzip", "chunked, gzip", "identity", "chunked;q=1"] {
        let raw = post(&format!("Transfer-Encoding: {te}\r\n"), "0\r\n\r\n");
        assert_eq!(refused(&raw), 400, "Transfer-Encoding: {te}");
    }
    let split = post("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n", "0\r\n\r\n");
    assert_eq!(refused(&split), 400);
    assert_eq!(refused(&post("Transfer-Encoding: chunked, chunked\r\n", "0\r\n\r\n")), 400);
}

#[test]
fn other_codings_before_chunked_get_501() {
    assert_eq!(refused(&post("Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n")), 501);
}

#[test]
fn transfer_encoding_in_http10_gets_400() {
    let raw = b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    assert_eq!(refused(raw), 400);
}

#[test]
fn invalid_chunk_sizes_get_400() {
    let te = "Transfer-Encoding: chunked\r\n";
    for body in [
        "z\r\nx\r\n0\r\n\r\n",
        "\r\nx\r\n0\r\n\r\n",
        "-1\r\nx\r\n0\r\n\r\n",
        "0x1\r\nx\r\n0\r\n\r\n",
        " 1\r\nx\r\n0\r\n\r\n",
        "1\nx\r\n0\r\n\r\n",
        "1;\x01\r\nx\r\n0\r\n\r\n",
        "10000000000000000\r\n",
    ] {
        assert_eq!(refused(&post(te, body)), 400, "{body:?}");
    }
}

#[test]
fn missing_crlf_after_chunk_data_gets_400() {
    let te = "Transfer-Encoding: chunked\r\n";
    for body in ["1\r\nxy\r\n0\r\n\r\n", "1\r\nx\n0\r\n\r\n", "1\r\nx\r0\r\n\r\n", "1\r\nx0\r\n\r\n"] {
        assert_eq!(refused(&post(te, body)), 400, "{body:?}");
    }
}

#[test]
fn malformed_trailers_get_400() {
    let raw = post("Transfer-Encoding: chunked\r\n", "0\r\nBad Trailer\r\n\r\n");
    assert_eq!(refused(&raw), 400);
}

#[test]
fn overlong_chunk_size_lines_get_400() {
    let long_ext = format!("1;{}\r\nx\r\n0\r\n\r\n", "e".repeat(eddy_http::MAX_CHUNK_LINE));
    assert_eq!(refused(&post("Transfer-Encoding: chunked\r\n", &long_ext)), 400);
    let fits = format!("1;{}\r\nx\r\n0\r\n\r\n", "e".repeat(eddy_http::MAX_CHUNK_LINE - 5));
    assert_eq!(one(&post("Transfer-Encoding: chunked\r\n", &fits)).body, b"x");
}

// ---- versions --------------------------------------------------------------

#[test]
fn other_http_versions_get_505() {
    for raw in [&b"GET / HTTP/2.0\r\n\r\n"[..], b"GET / HTTP/1.2\r\n\r\n", b"GET / HTTP/0.9\r\n\r\n"] {
        assert_eq!(refused(raw), 505, "{:?}", String::from_utf8_lossy(raw));
    }
    assert_eq!(one(b"GET / HTTP/1.0\r\n\r\n").version, 0);
    assert_eq!(one(b"GET / HTTP/1.1\r\n\r\n").version, 1);
}

// ---- limits at their edges ---------------------------------------------------

/// A request line of exactly `len` bytes.
fn request_line(len: usize) -> String {
    let fixed = "GET / HTTP/1.1".len();
    format!("GET /{} HTTP/1.1", "a".repeat(len - fixed))
}

#[test]
fn request_line_limit_is_inclusive() {
    let limits = Limits::default();
    let at = format!("{}\r\nHost: h\r\n\r\n", request_line(limits.max_request_line));
    assert_eq!(one(at.as_bytes()).path.len(), limits.max_request_line - 13);
    let over = format!("{}\r\nHost: h\r\n\r\n", request_line(limits.max_request_line + 1));
    assert_eq!(refused(over.as_bytes()), 414);
}

#[test]
fn request_line_over_the_limit_is_refused_without_waiting_for_its_end() {
    let limits = Limits::default();
    let line = request_line(limits.max_request_line + 100);
    let bytes = line.as_bytes();
    // Exactly the limit buffered, no CRLF yet: may still be fine.
    assert_eq!(feed_with(&[&bytes[..limits.max_request_line]], &limits).error, None);
    // A line of exactly the limit and a CR: the CR may start the CRLF.
    let with_cr = format!("{}\r", request_line(limits.max_request_line));
    assert_eq!(feed_with(&[with_cr.as_bytes()], &limits).error, None);
    // One byte more than the limit and no line end: refused now.
    let err = feed_with(&[&bytes[..limits.max_request_line + 1]], &limits).error;
    assert_eq!(err.map(|e| e.status), Some(414));
    // Same when it trickles in.
    let mut reads: Vec<&[u8]> = vec![&bytes[..100]];
    reads.extend(bytes[100..].chunks(1000));
    assert_eq!(feed_with(&reads, &limits).error.map(|e| e.status), Some(414));
}

/// A complete head of exactly `len` bytes.
fn head_of(len: usize) -> Vec<u8> {
    let start = "GET / HTTP/1.1\r\nX-Fill: ";
    let fill = len - start.len() - 4;
    format!("{start}{}\r\n\r\n", "f".repeat(fill)).into_bytes()
}

#[test]
fn head_limit_is_inclusive() {
    let limits = Limits::default();
    let at = head_of(limits.max_head);
    assert_eq!(at.len(), 16384);
    assert_eq!(one(&at).header("x-fill").map(<[u8]>::len), Some(16384 - 28));
    assert_eq!(refused(&head_of(limits.max_head + 1)), 431);
}

#[test]
fn head_over_the_limit_is_refused_without_waiting_for_its_end() {
    let limits = Limits::default();
    let over = head_of(limits.max_head + 10);
    assert_eq!(feed_with(&[&over[..limits.max_head - 1]], &limits).error, None);
    let err = feed_with(&[&over[..limits.max_head]], &limits).error;
    assert_eq!(err.map(|e| e.status), Some(431));
}

#[test]
fn header_count_limit_is_inclusive() {
    let limits = Limits::default();
    let with = |n: usize| {
        let fields: String = (0..n).map(|i| format!("X-{i}: v\r\n")).collect();
        format!("GET / HTTP/1.1\r\n{fields}\r\n").into_bytes()
    };
    assert_eq!(one(&with(limits.max_headers)).headers.len(), 64);
    assert_eq!(refused(&with(limits.max_headers + 1)), 431);
    let few = Limits { max_headers: 2, ..limits };
    assert_eq!(feed_with(&[&with(2)], &few).requests.len(), 1);
    assert_eq!(refused_with(&with(3), &few), 431);
}

#[test]
fn body_limit_is_inclusive_and_decided_from_content_length() {
    let limits = Limits::default();
    let max = limits.max_body;
    let at = post(&format!("Content-Length: {max}\r\n"), &"b".repeat(max));
    assert_eq!(one(&at).body.len(), max);
    // Only the head sent: refused before the body arrives.
    let over = post(&format!("Content-Length: {}\r\n", max + 1), "");
    assert_eq!(feed_with(&[&over], &limits).error.map(|e| e.status), Some(413));
    let huge = post("Content-Length: 99999999999999999999999999\r\n", "");
    assert_eq!(refused(&huge), 413);
}

#[test]
fn chunked_body_limit_is_decided_as_soon_as_the_total_exceeds_it() {
    let limits = Limits { max_body: 10, ..Limits::default() };
    let te = "Transfer-Encoding: chunked\r\n";
    let at = post(te, "6\r\n012345\r\n4\r\n6789\r\n0\r\n\r\n");
    assert_eq!(feed_with(&[&at], &limits).requests[0].body, b"0123456789");
    // The size line of the chunk that goes over is enough: no data needed.
    let over = post(te, "6\r\n012345\r\n5\r\n");
    assert_eq!(refused_with(&over, &limits), 413);
}

#[test]
fn trailer_section_is_bounded() {
    let limits = Limits { max_head: 64, ..Limits::default() };
    let te = "Transfer-Encoding: chunked\r\n";
    let fits = post(te, &format!("0\r\nT: {}\r\n\r\n", "t".repeat(64 - 7)));
    assert_eq!(feed_with(&[&fits], &limits).requests.len(), 1);
    let over = post(te, &format!("0\r\nT: {}\r\n\r\n", "t".repeat(64 - 6)));
    assert_eq!(refused_with(&over, &limits), 431);
    let many = Limits { max_headers: 1, ..Limits::default() };
    let two = post(te, "0\r\nA: 1\r\nB: 2\r\n\r\n");
    assert_eq!(refused_with(&two, &many), 431);
}

// ---- after an error ------------------------------------------------------------

#[test]
fn the_error_response_closes_the_connection() {
    let date = DateCache::new();
    let err = Decoder::new().decode(b"GET / HTTP/1.1\r\nA B\r\n\r\n", &Limits::default()).unwrap_err();
    let mut out = Vec::new();
    write_error(&mut out, &err, &date);
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
    assert!(contains(&out, b"\r\nConnection: close\r\n"));
    assert!(contains(&out, b"\r\nServer: eddy\r\n"));
    let body = format!("{}\n", err.reason);
    assert!(text.ends_with(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())));
}

#[test]
fn error_status_lines_use_the_standard_phrases() {
    let date = DateCache::new();
    for (status, line) in [
        (413, "HTTP/1.1 413 Content Too Large\r\n"),
        (414, "HTTP/1.1 414 URI Too Long\r\n"),
        (431, "HTTP/1.1 431 Request Header Fields Too Large\r\n"),
        (501, "HTTP/1.1 501 Not Implemented\r\n"),
        (505, "HTTP/1.1 505 HTTP Version Not Supported\r\n"),
    ] {
        let mut out = Vec::new();
        write_error(&mut out, &HttpError::new(status, "why"), &date);
        assert!(out.starts_with(line.as_bytes()), "{status}");
    }
}

#[test]
fn the_decoder_stays_failed() {
    let mut decoder = Decoder::new();
    let limits = Limits::default();
    let err = decoder.decode(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", &limits).unwrap_err();
    assert_eq!(err.status, 400);
    assert_eq!(decoder.decode(b"GET / HTTP/1.1\r\n\r\n", &limits), Err(err));
    assert!(!matches!(decoder.decode(b"", &limits), Ok(Decoded::Partial { .. })));
}
