//! Closing: half-close, graceful close, abortive close, peer reset, and the
//! read side's EOF delivered once.

mod util;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use eddy_reactor::{CloseReason, Closed, Config, Conn, EventLoop, Handler, Input};
use util::{EchoServer, client, read_to_end};

#[test]
fn half_close_gets_the_whole_echo_then_the_servers_fin() {
    let server = EchoServer::start(Config::default());
    let mut s = client(server.addr);
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let mut w = s.try_clone().unwrap();
    let payload = data.clone();
    let writer = std::thread::spawn(move || {
        w.write_all(&payload).unwrap();
        w.shutdown(Shutdown::Write).unwrap();
    });
    let echoed = read_to_end(&mut s).expect("the echo, then EOF (the server's FIN), not a reset");
    writer.join().unwrap();
    assert_eq!(echoed, data);
    server.wait_for("the connection to end", |st| st.live == 0 && st.closed == 1);
}

#[test]
fn a_peer_reset_mid_stream_frees_the_slot_and_its_buffers() {
    let server = EchoServer::start(Config::default());
    let s = client(server.addr);
    // Send without reading until every buffer on the way is full and the
    // server has output queued; a send blocked for 500 ms says so.
    s.set_write_timeout(Some(Duration::from_millis(500))).unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![7u8; 64 * 1024];
        loop {
            match (&s).write(&chunk) {
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return s,
                Err(e) => panic!("{e}"),
            }
        }
    });
    let s = writer.join().unwrap();
    server.wait_for("output queued in the server", |st| st.max_queued > 0);
    // RST: linger 0, then close.
    socket2_linger_zero(&s);
    drop(s);
    let st = server.wait_for("the reset connection to be freed", |st| st.live == 0);
    assert_eq!(st.closed, 1);
}

fn socket2_linger_zero(s: &std::net::TcpStream) {
    let fd = s.try_clone().unwrap();
    let eddy = eddy_poll::net::TcpStream::from_std(fd).unwrap();
    eddy.set_linger(Some(Duration::ZERO)).unwrap();
}

/// Closes (gracefully or not) at the first byte; counts EOFs.
struct Closer {
    abort: bool,
}

#[derive(Default)]
struct Log {
    read_closed: u32,
    reasons: Vec<String>,
}

impl Handler for Closer {
    type State = Log;
    fn on_data(&mut self, conn: &mut Conn<'_, Self>, input: &mut Input<'_>) {
        input.consume_all();
        conn.write(b"bye\n");
        if self.abort { conn.abort() } else { conn.close() }
    }
    fn on_read_closed(&mut self, conn: &mut Conn<'_, Self>) {
        conn.state().read_closed += 1;
        conn.close();
    }
    fn on_close(self, cx: &mut Closed<'_, Self>, reason: CloseReason) {
        cx.state().reasons.push(format!("{reason:?}"));
    }
}

fn closer_loop(abort: bool) -> (EventLoop<Closer>, SocketAddr) {
    let mut lp = EventLoop::new(Config::default(), Log::default()).unwrap();
    let addr = lp.listen("127.0.0.1:0".parse().unwrap(), move |_, _| Some(Closer { abort })).unwrap();
    (lp, addr)
}

fn turn_until(lp: &mut EventLoop<Closer>, what: &str, f: impl Fn(&mut EventLoop<Closer>) -> bool) {
    for _ in 0..2000 {
        if f(lp) {
            return;
        }
        lp.turn(Some(Duration::from_millis(10))).unwrap();
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn graceful_close_with_data_still_coming_sends_fin_not_rst() {
    let (mut lp, addr) = closer_loop(false);
    let mut s = client(addr);
    // More than the server reads before it closes: it must discard the rest
    // rather than reset.
    let mut w = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || w.write_all(&[1u8; 200_000]));
    s.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let mut turns = 0;
    loop {
        lp.turn(Some(Duration::from_millis(5))).unwrap();
        turns += 1;
        assert!(turns < 4000, "no FIN from the server");
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("graceful close must not reset: {e}"),
        }
    }
    assert_eq!(got, b"bye\n");
    turn_until(&mut lp, "the writer to finish", |_| writer.is_finished());
    writer.join().unwrap().expect("the server kept reading (and discarding) until our FIN");
    drop(s); // our FIN: the server's close completes
    turn_until(&mut lp, "the connection to end", |lp| lp.stats().live == 0);
    lp.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(lp.state().reasons, ["Closed"]);
}

#[test]
fn abort_sends_rst() {
    let (mut lp, addr) = closer_loop(true);
    let mut s = client(addr);
    s.write_all(b"x").unwrap();
    turn_until(&mut lp, "the abort", |lp| lp.stats().closed == 1);
    let mut buf = [0u8; 16];
    let err = loop {
        match s.read(&mut buf) {
            Ok(0) => panic!("an abort must reset, not FIN"),
            Ok(_) => continue, // "bye" may or may not have been sent before the RST
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    lp.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(lp.state().reasons, ["Aborted"]);
}

#[test]
fn the_peers_eof_is_delivered_once() {
    let (mut lp, addr) = closer_loop(false);
    let s = client(addr);
    turn_until(&mut lp, "the accept", |lp| lp.stats().accepted == 1);
    s.shutdown(Shutdown::Write).unwrap();
    turn_until(&mut lp, "our FIN after theirs", |lp| lp.state().read_closed == 1);
    // Several more turns with the socket at EOF: no second notification.
    for _ in 0..5 {
        lp.turn(Some(Duration::from_millis(5))).unwrap();
    }
    assert_eq!(lp.state().read_closed, 1);
    turn_until(&mut lp, "the end", |lp| lp.stats().live == 0);
}
