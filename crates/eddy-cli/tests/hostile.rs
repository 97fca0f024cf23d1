//! `eddy serve` against a hostile or unusual client (issue 12, items 1-8),
//! one test per bug, each named for it and failing on the code before its
//! fix, on every backend (epoll, poll, select) and with two loops. The
//! client is Python's h11 (`util/h11_client.py`): strict, so every byte
//! the server sends must parse as RFC 9112 says (a body after an answer
//! to HEAD, bytes after `Connection: close`, a cut message all fail).
//!
//! Time is the point of several tests (a deadline passes, or a connection
//! stays open): they read with bounded timeouts and check when things
//! happened; nothing sleeps to synchronize.

mod util;

use std::io::Read;
use std::time::{Duration, Instant};

use util::step::{mark, read_for, req, request, send, shut_wr, sleep, wait_responses};
use util::{Eddy, H11, H11Child, connect, h11, h11_client};

/// Generates one test per backend (and one with two loops) from `fn
/// run(args)`, `args` being the backend's flags for `eddy serve`.
macro_rules! on_every_backend {
    ($(#[$doc:meta])* fn $name:ident($args:ident: &[&str]) $body:block) => {
        $(#[$doc])*
        mod $name {
            use super::*;

            fn run($args: &[&str]) $body

            #[test]
            fn epoll() {
                run(&["--backend", "epoll"]);
            }

            #[test]
            fn poll() {
                run(&["--backend", "poll"]);
            }

            #[test]
            fn select() {
                run(&["--backend", "select"]);
            }

            #[test]
            fn two_loops() {
                run(&["--threads", "2"]);
            }
        }
    };
}

/// `eddy serve` with the backend's flags and `more`.
fn serve(backend: &[&str], more: &[&str]) -> Eddy {
    Eddy::serve(&[backend, more].concat())
}

/// Steps: `n` times, wait `every` seconds, then write `piece`.
fn trickle(piece: &[u8], every: f64, n: usize) -> Vec<String> {
    (0..n).flat_map(|_| [sleep(every), send(piece)]).collect()
}

fn steps(parts: &[&[String]]) -> Vec<String> {
    parts.concat()
}

on_every_backend! {
    /// Item 1: `GET /2000/late` and `GET /` in one write, header timeout
    /// 1 s: the unread second request aged past the loop's read timeout
    /// while the first waited, so at 1 s the client got 408 and a close,
    /// and `late` was never sent. A request waiting behind an answer is
    /// not a slow client: both are answered, in order.
    fn a_request_pipelined_behind_a_delayed_one_is_answered_not_timed_out(backend: &[&str]) {
        if !h11_client() {
            return;
        }
        let srv = serve(backend, &["--header-timeout", "1"]);
        let run = h11(srv.addr, &steps(&[
            &[send(b"GET /2000/late HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n")],
            &[req("GET"), req("GET"), wait_responses(2), shut_wr(), read_for(5.0)],
        ]));
        run.assert_parsed(2);
        let (late, hello) = (&run.responses[0], &run.responses[1]);
        assert_eq!((late.status, late.body.as_slice()), (200, &b"late"[..]), "{}", run.output);
        assert!(late.at >= 1.9, "the delayed answer came early: {}", run.output);
        assert_eq!((hello.status, hello.body.as_slice()), (200, &b"Hello, World!"[..]), "{}", run.output);
        run.assert_closed_within(6.0);
    }
}

/// Starts a body that trickles in, `head` then `pieces` every 0.25 s for
/// 4 s, and checks that with `--header-timeout 1 --body-timeout 1` it gets
/// 408 (with `Connection: close`) about 1 s after the head and a clean
/// close: progress of a byte at a time is not progress.
fn trickled_body_gets_408(srv: &Eddy, head: &[u8], piece: &[u8]) -> std::thread::JoinHandle<H11> {
    let addr = srv.addr;
    let all = steps(&[&request("POST", head), &trickle(piece, 0.25, 16), &[read_for(3.0)]]);
    std::thread::spawn(move || h11(addr, &all))
}

fn assert_408_at_the_deadline(run: &H11, what: &str) {
    run.assert_parsed(1);
    let r = &run.responses[0];
    assert_eq!(r.status, 408, "{what}: {}", run.output);
    assert!(r.closes(), "{what}: the 408 says Connection: close: {}", run.output);
    assert!((0.9..2.5).contains(&r.at), "{what}: the 408 came at {} s, not at the 1 s deadline: {}", r.at, run.output);
    run.assert_closed_within(3.0);
}

on_every_backend! {
    /// Item 2: a chunked `POST /echo` whose body trickles in (a 1-byte
    /// chunk every 0.25 s, or 10 bytes every 0.25 s of an announced
    /// 100,000-byte chunk) escaped the header timeout: the chunked decoder
    /// consumed what came, so the loop's read timeout (unconsumed input)
    /// never fired, and the connection stayed open as long as the client
    /// trickled. Now the body must arrive whole within `--body-timeout` of
    /// the head's end, whatever its framing (a trickled `Content-Length`
    /// body, cut before too, is checked alongside).
    fn a_trickled_chunked_body_gets_408_at_its_deadline(backend: &[&str]) {
        if !h11_client() {
            return;
        }
        let srv = serve(backend, &["--header-timeout", "1", "--body-timeout", "1"]);
        let chunked = b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
        let one_byte_chunks = trickled_body_gets_408(&srv, chunked, b"1\r\nx\r\n");
        let big = [&chunked[..], b"186a0\r\n"].concat();
        let one_big_chunk = trickled_body_gets_408(&srv, &big, b"0123456789");
        let length = trickled_body_gets_408(&srv, b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n", b"x");
        assert_408_at_the_deadline(&one_byte_chunks.join().unwrap(), "1-byte chunks");
        assert_408_at_the_deadline(&one_big_chunk.join().unwrap(), "a 100,000-byte chunk, 10 bytes at a time");
        assert_408_at_the_deadline(&length.join().unwrap(), "a Content-Length body, a byte at a time");
    }
}

on_every_backend! {
    /// Item 3: `\r\n` every 0.25 s to a server with `--header-timeout 1
    /// --idle-timeout 2` kept the connection open for as long as it went
    /// on (the decoder skips empty lines, so no input was left for the
    /// read timeout, and each one was progress for the idle timeout).
    /// Empty lines before a request count toward its head's deadline: the
    /// connection is closed at 1 s (no request came: nothing to answer).
    fn empty_lines_before_a_request_count_toward_its_deadline(backend: &[&str]) {
        if !h11_client() {
            return;
        }
        let srv = serve(backend, &["--header-timeout", "1", "--idle-timeout", "2"]);
        let run = h11(srv.addr, &steps(&[&[send(b"\r\n")], &trickle(b"\r\n", 0.25, 16), &[read_for(3.0)]]));
        run.assert_parsed(0);
        run.assert_closed_within(1.9);
        assert!(run.end.1 >= 0.9, "closed before the deadline: {}", run.output);
    }
}

on_every_backend! {
    /// Item 4: a graceful shutdown (`--shutdown-timeout 5`) with 100 idle
    /// keep-alive connections and 10 delayed answers in flight: the idle
    /// ones closed at once, but the 10 answers came without `Connection:
    /// close` and their connections stayed open, so the process waited
    /// out the 5 s and the 10 clients saw RST. Now every answer during the
    /// shutdown says `Connection: close`, the connection closes cleanly,
    /// and the process exits as soon as the last one is done.
    fn a_graceful_shutdown_closes_answered_connections_and_exits_when_they_are_done(backend: &[&str]) {
        if !h11_client() {
            return;
        }
        let mut srv = serve(backend, &["--shutdown-timeout", "5"]);
        let mut idle: Vec<_> = (0..100)
            .map(|_| {
                let (r, s) = util::roundtrip(srv.addr, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
                assert_eq!(r.status, 200);
                s
            })
            .collect();
        // Each client's first answer (after 0 ms) proves the server holds
        // its second request, the delayed one: in flight when SIGTERM comes.
        let mut flying: Vec<H11Child> = (0..10)
            .map(|_| {
                H11Child::start(srv.addr, &[
                    send(b"GET /0/first HTTP/1.1\r\nHost: t\r\n\r\nGET /1500/x HTTP/1.1\r\nHost: t\r\n\r\n"),
                    req("GET"),
                    req("GET"),
                    wait_responses(1),
                    mark("in-flight"),
                    read_for(10.0),
                ])
            })
            .collect();
        for c in &mut flying {
            c.wait_mark("in-flight");
        }
        let t0 = srv.terminate();
        // Each idle client closes its end on the server's FIN, as clients
        // do (the server's graceful close waits for that).
        for mut s in idle.drain(..) {
            assert!(util::closes_cleanly(&mut s), "an idle connection was reset");
        }
        let idle_closed = t0.elapsed();
        assert!(idle_closed < Duration::from_secs(1), "the idle connections took {idle_closed:?} to close");
        let status = srv.wait_exit(Duration::from_secs(15));
        let exited = t0.elapsed();
        assert!(status.success(), "exit status {status}");
        for c in flying {
            let run = c.finish();
            run.assert_parsed(2);
            let answer = &run.responses[1];
            assert_eq!((answer.status, answer.body.as_slice()), (200, &b"x"[..]), "{}", run.output);
            assert!(answer.closes(), "an answer during the shutdown says Connection: close: {}", run.output);
            assert_eq!(run.end.0, "eof", "the connection closed cleanly, not with RST: {}", run.output);
        }
        assert!(
            exited < Duration::from_millis(4000),
            "the process exited {exited:?} after SIGTERM: not when the last answer (at 1.5 s) was done"
        );
    }
}

on_every_backend! {
    /// Item 4: a second SIGTERM during a graceful shutdown did nothing
    /// (the signal was no longer read): the process waited out the whole
    /// `--shutdown-timeout`. Now the second one ends the wait at once.
    fn a_second_sigterm_ends_the_shutdown_at_once(backend: &[&str]) {
        if !h11_client() {
            return;
        }
        let mut srv = serve(backend, &["--shutdown-timeout", "30"]);
        let mut client = H11Child::start(srv.addr, &[
            send(b"GET /0/first HTTP/1.1\r\nHost: t\r\n\r\nGET /20000/late HTTP/1.1\r\nHost: t\r\n\r\n"),
            req("GET"),
            req("GET"),
            wait_responses(1),
            mark("in-flight"),
            read_for(30.0),
        ]);
        client.wait_mark("in-flight");
        srv.terminate();
        let log = srv.wait_for_log("received: shutting down gracefully", Duration::from_secs(10));
        assert!(log.iter().any(|l| l.contains("received: shutting down gracefully")), "{log:#?}");
        let t1 = srv.terminate();
        let status = srv.wait_exit(Duration::from_secs(15));
        let exited = t1.elapsed();
        assert!(status.success(), "exit status {status}");
        assert!(exited < Duration::from_secs(3), "exited {exited:?} after the second SIGTERM");
        let run = client.finish();
        assert!(run.error.is_none(), "{}", run.output);
        assert_eq!(run.responses.len(), 1, "the 20 s answer was not waited for: {}", run.output);
        assert!(run.end.0 == "reset" || run.end.0 == "eof", "{}", run.output);
    }
}

/// One request on its own connection; the h11 run (the server closes or
/// keeps it: the client half-closes after the answer).
fn one(srv: &Eddy, method: &str, raw: &[u8]) -> H11 {
    h11(srv.addr, &steps(&[&request(method, raw), &[wait_responses(1), shut_wr(), read_for(5.0)]]))
}

on_every_backend! {
    /// Item 5: `Host` was never checked: an HTTP/1.1 request without it,
    /// with two, or with `Host: a b/c` got 200; RFC 9112 §3.2 requires 400.
    fn host_missing_repeated_or_invalid_gets_400(backend: &[&str]) {
        if !h11_client() {
            return;
        }
        let srv = serve(backend, &[]);
        for raw in [
            &b"GET / HTTP/1.1\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a b/c\r\n\r\n",
            b"GET /50/x HTTP/1.1\r\nHost: a@b\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nContent-Length: 2\r\n\r\nab",
        ] {
            let run = one(&srv, if raw.starts_with(b"POST") { "POST" } else { "GET" }, raw);
            run.assert_parsed(1);
            let r = &run.responses[0];
            assert_eq!(r.status, 400, "{:?}: {}", String::from_utf8_lossy(raw), run.output);
            assert!(r.closes(), "{}", run.output);
            run.assert_closed_within(2.0);
        }
        // HTTP/1.0 needs no Host.
        let run = one(&srv, "GET", b"GET / HTTP/1.0\r\n\r\n");
        run.assert_parsed(1);
        assert_eq!(run.responses[0].status, 200, "{}", run.output);
    }
}

on_every_backend! {
    /// Item 6: an absolute-form target (`GET http://x/ HTTP/1.1`) got 404;
    /// a server must accept it (RFC 9112 §3.2.2) and route on its path.
    fn an_absolute_form_target_is_routed_on_its_path(backend: &[&str]) {
        if !h11_client() {
            return;
        }
        let srv = serve(backend, &[]);
        for (raw, body) in [
            (&b"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n"[..], &b"Hello, World!"[..]),
            (b"GET http://x HTTP/1.1\r\nHost: x\r\n\r\n", b"Hello, World!"),
            (b"GET http://x:8080/50/abs HTTP/1.1\r\nHost: x:8080\r\n\r\n", b"abs"),
            (b"POST http://x/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody", b"body"),
        ] {
            let method = if raw.starts_with(b"POST") { "POST" } else { "GET" };
            let run = one(&srv, method, raw);
            run.assert_parsed(1);
            let r = &run.responses[0];
            assert_eq!((r.status, r.body.as_slice()), (200, body), "{:?}: {}", String::from_utf8_lossy(raw), run.output);
        }
    }
}

on_every_backend! {
    /// Item 7: error answers to HEAD carried a body (`HEAD /86400001/x`: a
    /// 400 with 38 bytes; a HEAD with an oversized Content-Length: a 413
    /// with one), which a client reads as the start of the next response:
    /// h11 refuses it. No answer to HEAD has a body, a 408 included.
    fn an_error_answer_to_head_has_no_body(backend: &[&str]) {
        if !h11_client() {
            return;
        }
        let srv = serve(backend, &["--header-timeout", "1"]);
        for (raw, status) in [
            (&b"HEAD /86400001/x HTTP/1.1\r\nHost: t\r\n\r\n"[..], 400),
            (b"HEAD / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\n\r\n", 413),
            (b"HEAD / HTTP/1.1\r\n\r\n", 400),
            (b"HEAD / HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n", 400),
            (b"HEAD / HTTP/1.1\r\nHost: t\r\n", 408),
        ] {
            let run = h11(srv.addr, &steps(&[&request("HEAD", raw), &[read_for(5.0)]]));
            run.assert_parsed(1);
            let r = &run.responses[0];
            assert_eq!(r.status, status, "{:?}: {}", String::from_utf8_lossy(raw), run.output);
            assert!(r.closes(), "{}", run.output);
            run.assert_closed_within(3.0);
        }
        // The body of a GET's error is still there.
        let run = h11(srv.addr, &steps(&[&request("GET", b"GET /86400001/x HTTP/1.1\r\nHost: t\r\n\r\n"), &[read_for(5.0)]]));
        run.assert_parsed(1);
        assert_eq!(run.responses[0].body, b"the delay must be at most 86400000 ms\n", "{}", run.output);
    }
}

on_every_backend! {
    /// Item 8: `GET /300/x` then `shutdown(SHUT_WR)` got no answer (the FIN
    /// was taken for a client gone, and the timer cancelled), while a plain
    /// GET or POST then SHUT_WR was answered. A client that half-closes
    /// after its requests gets every answer, in order, then a clean close.
    fn a_half_closed_client_still_gets_its_delayed_answer(backend: &[&str]) {
        if !h11_client() {
            return;
        }
        let srv = serve(backend, &[]);
        let cases: [(&[u8], &[&[u8]]); 4] = [
            (b"GET /300/x HTTP/1.1\r\nHost: t\r\n\r\n", &[b"x"]),
            (b"GET /300/a HTTP/1.1\r\nHost: t\r\n\r\nGET /100/b HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n", &[b"a", b"b", b"Hello, World!"]),
            (b"GET / HTTP/1.1\r\nHost: t\r\n\r\n", &[b"Hello, World!"]),
            (b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok", &[b"ok"]),
        ];
        for (raw, bodies) in cases {
            let methods: Vec<String> =
                bodies.iter().map(|_| req(if raw.starts_with(b"POST") { "POST" } else { "GET" })).collect();
            let run = h11(srv.addr, &steps(&[&[send(raw), shut_wr()], &methods, &[read_for(5.0)]]));
            run.assert_parsed(bodies.len());
            for (r, body) in run.responses.iter().zip(bodies) {
                assert_eq!((r.status, r.body.as_slice()), (200, *body), "{}", run.output);
            }
            run.assert_closed_within(3.0);
        }
        // A client that sends half a request and half-closes is closed.
        let mut s = connect(srv.addr);
        std::io::Write::write_all(&mut s, b"GET /300/x HTTP/1.1\r\nHo").unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let start = Instant::now();
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty() && start.elapsed() < Duration::from_secs(5), "{:?}", String::from_utf8_lossy(&rest));
    }
}
