//! The response writer and the Date cache: exact bytes, a right
//! Content-Length always, HEAD/204/304 rules, and well-formedness checked
//! by parsing our own output back with httparse.

mod util;

use std::time::{Duration, UNIX_EPOCH};

use eddy_http::{DATE_LEN, DateCache, ResponseHead, reason_phrase, write_response};
use util::contains;

fn date_at(secs: u64) -> DateCache {
    let mut date = DateCache::new();
    date.refresh(UNIX_EPOCH + Duration::from_secs(secs));
    date
}

/// Parses one response from `bytes`: (status, headers, body).
fn parse(bytes: &[u8]) -> (u16, Vec<(String, String)>, &[u8]) {
    let mut slots = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut slots);
    let httparse::Status::Complete(len) = resp.parse(bytes).expect("well-formed") else {
        panic!("incomplete response")
    };
    let headers =
        resp.headers.iter().map(|h| (h.name.to_owned(), String::from_utf8(h.value.to_vec()).unwrap())).collect();
    (resp.code.unwrap(), headers, &bytes[len..])
}

fn value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

#[test]
fn plaintext_response_bytes_are_exact() {
    let date = date_at(784_111_777);
    let mut out = Vec::new();
    let head = ResponseHead::ok(&date).with_content_type("text/plain");
    write_response(&mut out, &head, b"Hello, World!");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "HTTP/1.1 200 OK\r\nServer: eddy\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
         Content-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!"
    );
}

#[test]
fn content_length_is_always_the_body_length() {
    let date = DateCache::new();
    for len in [0usize, 1, 9, 10, 99, 100, 1000, 65_536, 123_457] {
        let body = vec![b'z'; len];
        let mut out = b"previous bytes stay".to_vec();
        write_response(&mut out, &ResponseHead::ok(&date), &body);
        let (status, headers, rest) = parse(&out[19..]);
        assert_eq!(status, 200);
        assert_eq!(value(&headers, "content-length"), Some(len.to_string().as_str()));
        assert_eq!(rest, &body[..]);
        assert!(out.starts_with(b"previous bytes stay"));
    }
}

#[test]
fn every_response_has_date_and_server() {
    let date = DateCache::new();
    let mut out = Vec::new();
    write_response(&mut out, &ResponseHead::new(404, "Not Found", &date), b"no");
    let (status, headers, body) = parse(&out);
    assert_eq!(status, 404);
    assert_eq!(value(&headers, "server"), Some("eddy"));
    assert_eq!(value(&headers, "date").map(str::len), Some(DATE_LEN));
    assert_eq!(value(&headers, "date").unwrap().as_bytes(), date.as_bytes());
    assert_eq!(body, b"no");
}

#[test]
fn extra_headers_follow_in_order() {
    let date = DateCache::new();
    let mut out = Vec::new();
    let extra = [("X-A", "1"), ("Cache-Control", "no-store"), ("X-A", "2")];
    let head = ResponseHead::new(201, "Created", &date).with_headers(&extra).with_content_type("application/json");
    write_response(&mut out, &head, b"{}");
    let (status, headers, body) = parse(&out);
    assert_eq!(status, 201);
    let names: Vec<_> = headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Server", "Date", "Content-Type", "Content-Length", "X-A", "Cache-Control", "X-A"]);
    assert_eq!(body, b"{}");
}

#[test]
fn head_responses_carry_the_length_but_not_the_body() {
    let date = DateCache::new();
    let mut out = Vec::new();
    let head = ResponseHead { head: true, ..ResponseHead::ok(&date) };
    write_response(&mut out, &head, b"0123456789");
    assert!(out.ends_with(b"\r\nContent-Length: 10\r\n\r\n"));
}

#[test]
fn no_content_and_not_modified_have_no_body() {
    let date = DateCache::new();
    let mut out = Vec::new();
    write_response(&mut out, &ResponseHead::new(204, "No Content", &date), b"ignored");
    assert!(!contains(&out, b"Content-Length") && out.ends_with(b"\r\n\r\n"));
    out.clear();
    write_response(&mut out, &ResponseHead::new(304, "Not Modified", &date), b"abc");
    assert!(out.ends_with(b"\r\nContent-Length: 3\r\n\r\n"));
    out.clear();
    write_response(&mut out, &ResponseHead::new(103, "Early Hints", &date), b"abc");
    assert!(!contains(&out, b"Content-Length") && out.ends_with(b"\r\n\r\n"));
}

#[test]
fn date_cache_is_29_bytes_and_refreshes() {
    let mut date = date_at(0);
    assert_eq!(date.as_bytes(), b"Thu, 01 Jan 1970 00:00:00 GMT");
    date.refresh(UNIX_EPOCH + Duration::from_secs(1));
    assert_eq!(date.as_bytes(), b"Thu, 01 Jan 1970 00:00:01 GMT");
    date.refresh(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    assert_eq!(date.as_bytes(), b"Tue, 14 Nov 2023 22:13:20 GMT");
    assert_eq!(DateCache::new().as_bytes().len(), 29);
    assert!(DateCache::new().as_bytes().ends_with(b" GMT"));
}

#[test]
fn reason_phrases() {
    assert_eq!(reason_phrase(200), "OK");
    assert_eq!(reason_phrase(431), "Request Header Fields Too Large");
    assert_eq!(reason_phrase(599), "");
}
