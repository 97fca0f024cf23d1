//! The HTTP handler driven turn by turn in this process: every split of a
//! request into reads gives the same answer, a delay whose client leaves
//! leaves no timer behind, and two loops both serve.

mod util;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use eddy::poll::Backend;
use eddy::reactor::{Config, EventLoop, ListenerMode, Server, ServerConfig};
use eddy_cli::serve::http::{Http, HttpState, new_loop};
use util::parse_one;

fn http_loop() -> (EventLoop<Http>, SocketAddr) {
    let cfg = Config { idle_timeout: Some(Duration::from_secs(60)), ..Config::default() };
    let mut lp = new_loop(cfg).unwrap();
    let addr = lp.listen("127.0.0.1:0".parse().unwrap(), |_: &mut HttpState, _| Some(Http::default())).unwrap();
    (lp, addr)
}

/// Status, headers (without Date) and body of one response.
type Answer = (u16, Vec<(String, String)>, Vec<u8>);

/// Sends `req` in pieces of `step` bytes, one loop turn per piece (on
/// loopback a write is in the receiver's queue when it returns, so each
/// turn reads exactly one piece), then collects one response per entry of
/// `heads` (true: the answer to a HEAD, no body) or up to EOF. The Date
/// header is dropped.
fn responses(req: &[u8], step: usize, heads: &[bool]) -> Vec<Answer> {
    let want = heads.len();
    let (mut lp, addr) = http_loop();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
    while lp.stats().accepted == 0 {
        lp.turn(Some(Duration::from_secs(5))).unwrap();
    }
    for piece in req.chunks(step) {
        s.write_all(piece).unwrap();
        lp.turn(Some(Duration::from_secs(5))).unwrap();
    }
    let (mut buf, mut out, mut chunk) = (Vec::new(), Vec::new(), [0u8; 8192]);
    let start = Instant::now();
    while out.len() < want && start.elapsed() < Duration::from_secs(10) {
        lp.turn(Some(Duration::from_millis(1))).unwrap();
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => {}
        }
        while let Some((r, used)) = parse_one(&buf, heads.get(out.len()).copied().unwrap_or(false)) {
            buf.drain(..used);
            let headers = r.headers.into_iter().filter(|(k, _)| k != "Date").collect();
            out.push((r.status, headers, r.body));
        }
    }
    out
}

#[test]
fn every_split_of_a_request_gives_the_same_answers_as_one_read() {
    let cases: [(&[u8], &[bool]); 5] = [
        (b"GET / HTTP/1.1\r\nHost: t\r\n\r\n", &[false]),
        (b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world", &[false]),
        (b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n", &[false]),
        (b"GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /missing HTTP/1.1\r\nHost: t\r\n\r\nHEAD / HTTP/1.1\r\nHost: t\r\n\r\n", &[false, false, true]),
        (b"GET / HTTP/1.1\r\nHost: t\r\nX-Bad\r\n\r\n", &[false]),
    ];
    for (req, heads) in cases {
        let whole = responses(req, req.len(), heads);
        assert_eq!(whole.len(), heads.len(), "{}: {whole:?}", String::from_utf8_lossy(req));
        for step in [1, 2, 3, 7, 16] {
            assert_eq!(responses(req, step, heads), whole, "step {step}: {}", String::from_utf8_lossy(req));
        }
    }
}

/// A client that is gone (its RST arrives) before its delayed answer ends
/// the connection and its timer, on every backend. (A FIN alone is a
/// half-close: that client still gets its answer, as `hostile.rs` checks.)
#[test]
fn a_delay_whose_client_resets_leaves_no_timer_behind() {
    for backend in [Backend::Epoll, Backend::Poll, Backend::Select] {
        let cfg = Config { backend, idle_timeout: Some(Duration::from_secs(60)), ..Config::default() };
        let mut lp = new_loop(cfg).unwrap();
        let addr = lp.listen("127.0.0.1:0".parse().unwrap(), |_: &mut HttpState, _| Some(Http::default())).unwrap();
        lp.turn(Some(Duration::ZERO)).unwrap();
        let baseline = lp.stats().timers; // the Date refresh
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /60000/never HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        let start = Instant::now();
        while lp.stats().timers < baseline + 2 {
            assert!(start.elapsed() < Duration::from_secs(10), "{backend}: the delay timer was never set");
            lp.turn(Some(Duration::from_millis(10))).unwrap();
        }
        // SO_LINGER 0: the close sends RST.
        rustix::net::sockopt::set_socket_linger(&s, Some(Duration::ZERO)).unwrap();
        drop(s);
        while lp.stats().live > 0 {
            assert!(start.elapsed() < Duration::from_secs(10), "{backend}: the connection was not closed");
            lp.turn(Some(Duration::from_millis(10))).unwrap();
        }
        lp.turn(Some(Duration::ZERO)).unwrap();
        assert_eq!(lp.stats().timers, baseline, "{backend}: the delay timer (and the idle timer) are gone");
    }
}

fn get(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let mut buf = vec![0u8; 512];
    let n = s.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK"));
    s
}

fn two_loops(mode: ListenerMode) -> Server<Http> {
    let cfg =
        ServerConfig { threads: 2, mode, handle_signals: false, ..ServerConfig::new("127.0.0.1:0".parse().unwrap()) };
    Server::start(&cfg, |_| new_loop(Config::default()), |_: &mut HttpState, _| Some(Http::default())).unwrap()
}

#[test]
fn with_two_reuseport_loops_both_serve() {
    let server = two_loops(ListenerMode::ReusePort);
    // The kernel hashes each connection's addresses to one listener: with
    // 64 connections, the odds that one loop gets none are 2^-63.
    let conns: Vec<TcpStream> = (0..64).map(|_| get(server.local_addr())).collect();
    server.shutdown();
    drop(conns);
    let accepted: Vec<u64> = server.join().unwrap().iter().map(|s| s.accepted).collect();
    assert_eq!(accepted.iter().sum::<u64>(), 64);
    assert!(accepted.iter().all(|&a| a > 0), "one loop served nothing: {accepted:?}");
}

#[test]
fn with_two_exclusive_loops_each_serves_while_the_other_is_busy() {
    // EPOLLEXCLUSIVE wakes one loop waiting in epoll_wait; an idle machine
    // may always pick the same one. So make each loop busy in turn (a
    // posted task that blocks it): the other must take the connection.
    let server = two_loops(ListenerMode::Exclusive);
    let mut conns = Vec::new();
    for busy in 0..2 {
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let (started, is_blocked) = std::sync::mpsc::channel::<()>();
        server.handles()[busy]
            .post(move |_| {
                started.send(()).unwrap();
                let _ = blocked.recv_timeout(Duration::from_secs(20));
            })
            .unwrap();
        is_blocked.recv_timeout(Duration::from_secs(10)).unwrap();
        conns.push(get(server.local_addr())); // answered by the other loop
        release.send(()).unwrap();
    }
    server.shutdown();
    drop(conns);
    let accepted: Vec<u64> = server.join().unwrap().iter().map(|s| s.accepted).collect();
    assert_eq!(accepted, [1, 1], "each loop took the connection made while the other was busy");
}
