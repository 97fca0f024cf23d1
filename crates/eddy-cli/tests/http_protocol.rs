//! HTTP/1.1 rules of `eddy serve`, over raw sockets: keep-alive, pipelining,
//! 100-continue, delays in order, every refusal with its status, slowloris,
//! idle keep-alive.

mod util;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use util::{Eddy, closes_cleanly, connect, read_responses, roundtrip};

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n";

#[test]
fn a_hundred_pipelined_requests_in_one_write_get_a_hundred_answers_in_order() {
    let srv = Eddy::serve(&[]);
    let mut s = connect(srv.addr);
    let mut burst = Vec::new();
    for i in 0..100 {
        if i % 10 == 9 {
            burst.extend_from_slice(
                format!("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\n{:03}", i).as_bytes(),
            );
        } else {
            burst.extend_from_slice(GET);
        }
    }
    s.write_all(&burst).unwrap();
    let rs = read_responses(&mut s, 100);
    for (i, r) in rs.iter().enumerate() {
        assert_eq!(r.status, 200);
        let want = if i % 10 == 9 { format!("{i:03}").into_bytes() } else { b"Hello, World!".to_vec() };
        assert_eq!(r.body, want, "response {i} out of order");
    }
}

#[test]
fn a_delayed_answer_holds_back_the_pipelined_ones() {
    let srv = Eddy::serve(&[]);
    let mut s = connect(srv.addr);
    s.write_all(b"GET /150/slow HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let start = Instant::now();
    let rs = read_responses(&mut s, 2);
    assert!(start.elapsed() >= Duration::from_millis(150));
    assert_eq!((rs[0].body.as_slice(), rs[1].body.as_slice()), (&b"slow"[..], &b"Hello, World!"[..]));
}

#[test]
fn http10_keeps_alive_only_when_asked() {
    let srv = Eddy::serve(&[]);
    let (r, mut s) = roundtrip(srv.addr, b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(r.status, 200);
    assert!(closes_cleanly(&mut s), "HTTP/1.0 without keep-alive: the server closes");
    let (r, mut s) = roundtrip(srv.addr, b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(r.header("Connection"), Some("keep-alive"));
    s.write_all(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").unwrap();
    assert_eq!(read_responses(&mut s, 1)[0].status, 200, "the connection stayed open");
}

#[test]
fn connection_close_is_answered_then_closed() {
    let srv = Eddy::serve(&[]);
    let (r, mut s) = roundtrip(srv.addr, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_eq!(r.header("Connection"), Some("close"));
    assert!(closes_cleanly(&mut s));
}

#[test]
fn expect_100_continue_gets_the_interim_answer_first() {
    let srv = Eddy::serve(&[]);
    let mut s = connect(srv.addr);
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n").unwrap();
    let mut buf = [0u8; 25];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(b"hello").unwrap();
    let r = read_responses(&mut s, 1).pop().unwrap();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello"[..]));
}

/// Sends `req`; expects `status`, then a clean close.
fn refused(srv: &Eddy, req: &[u8], status: u16) {
    let mut s = connect(srv.addr);
    // The server may close before reading everything: a write error is fine.
    let _ = s.write_all(req);
    let r = read_responses(&mut s, 1).pop().unwrap();
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&req[..req.len().min(80)]));
    assert_eq!(r.header("Connection"), Some("close"));
}

#[test]
fn bad_input_gets_its_status_and_the_connection_closes() {
    let srv = Eddy::serve(&[]);
    refused(&srv, b"GET / HTTP/1.1 extra\r\nHost: t\r\n\r\n", 400);
    refused(&srv, b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400);
    let long_line = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(9000));
    refused(&srv, long_line.as_bytes(), 414);
    let big_head = format!("GET / HTTP/1.1\r\nHost: t\r\nX: {}\r\n\r\n", "b".repeat(17000));
    refused(&srv, big_head.as_bytes(), 431);
    refused(&srv, b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n", 413);
    refused(&srv, b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 400);
    refused(&srv, b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400);
    refused(&srv, b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400);
    refused(&srv, b"GET /99999999999/x HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    // Nothing else was affected: the server still answers.
    assert_eq!(roundtrip(srv.addr, GET).0.status, 200);
}

#[test]
fn a_slow_header_block_gets_408_and_a_close() {
    let srv = Eddy::serve(&["--header-timeout", "0.3"]);
    let mut s = connect(srv.addr);
    let start = Instant::now();
    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ").unwrap();
    let r = read_responses(&mut s, 1).pop().unwrap();
    assert_eq!(r.status, 408);
    assert!(start.elapsed() >= Duration::from_millis(300), "408 before the header timeout");
    assert!(closes_cleanly(&mut s));
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_its_timeout() {
    let srv = Eddy::serve(&["--idle-timeout", "0.3"]);
    let (r, mut s) = roundtrip(srv.addr, GET);
    assert_eq!(r.status, 200);
    let start = Instant::now();
    assert!(closes_cleanly(&mut s));
    assert!(start.elapsed() >= Duration::from_millis(250), "closed too early: {:?}", start.elapsed());
}
