//! Connection management: the keep-alive matrix (HTTP/1.0 and 1.1 ×
//! no Connection header, `close`, `keep-alive`), decided by the decoder
//! and echoed by the response writer.

mod util;

use eddy_http::{DateCache, ResponseHead, write_response};
use util::{contains, one};

/// (keep_alive decided, response bytes) for a GET with this version and
/// Connection header.
fn exchange(version: &str, connection: Option<&str>) -> (bool, Vec<u8>) {
    let mut raw = format!("GET / {version}\r\nHost: x\r\n");
    if let Some(c) = connection {
        raw.push_str(&format!("Connection: {c}\r\n"));
    }
    raw.push_str("\r\n");
    let mut decoder = eddy_http::Decoder::new();
    let decoded = decoder.decode(raw.as_bytes(), &Default::default()).unwrap();
    let eddy_http::Decoded::Request { request, .. } = decoded else { panic!("partial") };
    let date = DateCache::new();
    let mut out = Vec::new();
    write_response(&mut out, &ResponseHead::for_request(&request, &date), b"hi");
    (request.keep_alive, out)
}

#[test]
fn http11_keeps_alive_by_default_and_says_nothing() {
    let (keep, out) = exchange("HTTP/1.1", None);
    assert!(keep);
    assert!(!contains(&out, b"Connection:"));
}

#[test]
fn http11_close_closes_and_says_so() {
    let (keep, out) = exchange("HTTP/1.1", Some("close"));
    assert!(!keep);
    assert!(contains(&out, b"\r\nConnection: close\r\n"));
}

#[test]
fn http11_explicit_keep_alive_keeps_alive() {
    let (keep, out) = exchange("HTTP/1.1", Some("keep-alive"));
    assert!(keep);
    assert!(!contains(&out, b"Connection:"));
}

#[test]
fn http10_closes_by_default() {
    let (keep, out) = exchange("HTTP/1.0", None);
    assert!(!keep);
    assert!(contains(&out, b"\r\nConnection: close\r\n"));
}

#[test]
fn http10_close_closes() {
    let (keep, out) = exchange("HTTP/1.0", Some("close"));
    assert!(!keep);
    assert!(contains(&out, b"\r\nConnection: close\r\n"));
}

#[test]
fn http10_keep_alive_keeps_alive_and_says_so() {
    let (keep, out) = exchange("HTTP/1.0", Some("keep-alive"));
    assert!(keep);
    assert!(contains(&out, b"\r\nConnection: keep-alive\r\n"));
}

#[test]
fn connection_options_are_case_insensitive_lists() {
    assert!(!one(b"GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n").keep_alive);
    assert!(one(b"GET / HTTP/1.0\r\nconnection: Keep-Alive\r\n\r\n").keep_alive);
    assert!(one(b"GET / HTTP/1.0\r\nConnection: foo,\r\nConnection: keep-alive\r\n\r\n").keep_alive);
    // close wins over keep-alive
    assert!(!one(b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").keep_alive);
    // a token merely containing "close" is not close
    assert!(one(b"GET / HTTP/1.1\r\nConnection: closed\r\n\r\n").keep_alive);
}

#[test]
fn server_may_override_the_decision() {
    let date = DateCache::new();
    let mut out = Vec::new();
    write_response(&mut out, &ResponseHead::ok(&date).with_keep_alive(false), b"");
    assert!(contains(&out, b"\r\nConnection: close\r\n"));
}
