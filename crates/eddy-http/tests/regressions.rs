//! One test per bug of the codec, each named for the bug and failing on
//! the code before its fix (issue 12, items 5-7: the codec's part).

use eddy_http::{DateCache, Decoded, Decoder, HttpError, Limits, write_error_for};

/// Decodes `raw`, which must hold one complete request, and applies `f` to it.
fn with_request<T>(raw: &[u8], f: impl FnOnce(&eddy_http::Request<'_>) -> T) -> T {
    match Decoder::new().decode(raw, &Limits::default()) {
        Ok(Decoded::Request { request, .. }) => f(&request),
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(raw)),
    }
}

/// Item 5: nothing checked `Host`; RFC 9112 §3.2 requires 400 for an
/// HTTP/1.1 request without it, for two `Host` lines, and for an invalid
/// value. (Before: there was no check to call; a server answered 200.)
#[test]
fn host_missing_repeated_or_invalid_is_refused_with_400() {
    let refused = [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nUser-Agent: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a b/c\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: user@a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: \xc3\xa9\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ];
    for raw in refused {
        let status = with_request(raw, |r| r.check_host().map_err(|e: HttpError| e.status));
        assert_eq!(status, Err(400), "{:?}", String::from_utf8_lossy(raw));
    }
    let accepted = [
        &b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nhOsT: 127.0.0.1:8080\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: \r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a:\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: xn--e-ba.example%2E\r\n\r\n",
        b"GET / HTTP/1.0\r\n\r\n",
        b"GET / HTTP/1.1\r\nHosts: a\r\nHost: b\r\n\r\n",
    ];
    for raw in accepted {
        assert_eq!(with_request(raw, |r| r.check_host()), Ok(()), "{:?}", String::from_utf8_lossy(raw));
    }
}

/// Item 6: an absolute-form target (`GET http://x/ HTTP/1.1`) was routed
/// as sent, so no route matched (404). `origin_form` is what to route on.
#[test]
fn an_absolute_form_target_routes_on_its_path() {
    for (raw, want) in [
        (&b"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n"[..], "/"),
        (b"GET http://x:8080/50/abs?q=1 HTTP/1.1\r\nHost: x\r\n\r\n", "/50/abs?q=1"),
        (b"GET http://x HTTP/1.1\r\nHost: x\r\n\r\n", "/"),
        (b"GET https://[::1]:9/a HTTP/1.1\r\nHost: x\r\n\r\n", "/a"),
        (b"GET /plain HTTP/1.1\r\nHost: x\r\n\r\n", "/plain"),
        (b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", "*"),
        (b"GET x://?/y HTTP/1.1\r\nHost: x\r\n\r\n", "/?/y"),
    ] {
        assert_eq!(with_request(raw, |r| r.origin_form().into_owned()), want, "{:?}", String::from_utf8_lossy(raw));
    }
}

/// Item 7: every error answer carried a body, a `HEAD`'s too (`HEAD` with
/// an oversized `Content-Length` got a 413 with 24 bytes of body), so a
/// client read those bytes as the start of the next response. The decoder
/// now says when the request it refused was a `HEAD`, at every stage
/// (head, `Content-Length` body, chunked body), and `write_error_for`
/// leaves the body out.
#[test]
fn an_error_answer_to_head_has_no_body() {
    let limits = Limits { max_body: 16, ..Limits::default() };
    let cases: [&[&[u8]]; 6] = [
        &[b"HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999\r\n\r\n"],
        &[b"HEAD / HTTP/1.1\r\nHost: a\r\nContent-", b"Length: x\r\n\r\n"],
        &[b"\r\nHEAD /", b"a", b"b HTTP/1.1\r\nBad Header\r\n\r\n"],
        &[b"HEAD / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n", b"abcde\r\n99\r\n"],
        &[b"HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n", b"abc"],
        &[b"HEAD / HTTP/2.0\r\n\r\n"],
    ];
    let date = DateCache::new();
    for (i, reads) in cases.iter().enumerate() {
        let mut decoder = Decoder::new();
        let mut buf = Vec::new();
        let mut error = None;
        for read in *reads {
            buf.extend_from_slice(read);
            match decoder.decode(&buf, &limits) {
                Ok(Decoded::Request { consumed, .. }) => {
                    buf.drain(..consumed);
                    // Case 4 is a valid HEAD: nothing to refuse.
                    assert!(!decoder.is_head(), "between requests");
                    break;
                }
                Ok(Decoded::Partial { consumed, .. }) => {
                    buf.drain(..consumed);
                    if !buf.is_empty() || !decoder.is_idle() {
                        assert!(decoder.is_head(), "case {i}: a HEAD in progress");
                    }
                }
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        let Some(e) = error else {
            assert_eq!(i, 4, "only case 4 decodes");
            continue;
        };
        assert!(decoder.is_head(), "case {i}: the refused request was a HEAD ({e})");
        let mut out = Vec::new();
        write_error_for(&mut out, &e, &date, decoder.is_head());
        let text = String::from_utf8_lossy(&out);
        assert!(out.ends_with(b"\r\n\r\n"), "case {i}: a body after the head: {text:?}");
        let length = format!("Content-Length: {}\r\n", e.reason.len() + 1);
        assert!(text.contains(&length), "case {i}: {text:?}");
        assert!(text.contains("Connection: close\r\n"), "case {i}: {text:?}");
    }
    // A GET's error keeps its body.
    let mut decoder = Decoder::new();
    let e = decoder.decode(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", &limits).unwrap_err();
    assert!(!decoder.is_head());
    let mut out = Vec::new();
    write_error_for(&mut out, &e, &date, decoder.is_head());
    assert!(out.ends_with(b"malformed header field\n"));
}
