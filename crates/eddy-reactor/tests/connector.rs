//! The connector: a non-blocking connect whose outcome, success, refusal or
//! timeout, reaches the handler.

use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eddy_poll::net::{ListenOptions, TcpListener};
use eddy_reactor::{CloseReason, Closed, Config, Conn, EventLoop, Handler, Input};

#[derive(Debug, PartialEq)]
enum Outcome {
    Open,
    Echo(Vec<u8>),
    Failed(ErrorKind),
    Closed,
}

/// Client side: on open, sends "ping" and waits for it back. Server side:
/// echoes.
enum Side {
    Client,
    Server,
}

impl Handler for Side {
    type State = Vec<Outcome>;
    fn on_open(&mut self, conn: &mut Conn<'_, Self>) {
        if let Side::Client = self {
            conn.state().push(Outcome::Open);
            conn.write(b"ping");
        }
    }
    fn on_data(&mut self, conn: &mut Conn<'_, Self>, input: &mut Input<'_>) {
        let bytes = input.bytes().to_vec();
        input.consume_all();
        match self {
            Side::Server => conn.write(&bytes),
            Side::Client => {
                conn.state().push(Outcome::Echo(bytes));
                conn.close();
            }
        }
    }
    fn on_connect_failed(self, cx: &mut Closed<'_, Self>, error: io::Error) {
        cx.state().push(Outcome::Failed(error.kind()));
    }
    fn on_close(self, cx: &mut Closed<'_, Self>, _: CloseReason) {
        if let Side::Client = self {
            cx.state().push(Outcome::Closed);
        }
    }
}

fn run_until(lp: &mut EventLoop<Side>, n: usize) {
    let start = Instant::now();
    while lp.state().len() < n {
        assert!(start.elapsed() < Duration::from_secs(10), "outcomes so far: {:?}", lp.state());
        lp.turn(Some(Duration::from_millis(50))).unwrap();
    }
}

#[test]
fn a_connect_that_succeeds_opens_and_talks() {
    let mut lp = EventLoop::new(Config::default(), Vec::new()).unwrap();
    let addr = lp.listen("127.0.0.1:0".parse().unwrap(), |_, _| Some(Side::Server)).unwrap();
    assert!(lp.connect(addr, Some(Duration::from_secs(5)), Side::Client).is_some());
    run_until(&mut lp, 3);
    assert_eq!(lp.state().as_slice(), [Outcome::Open, Outcome::Echo(b"ping".to_vec()), Outcome::Closed]);
    assert_eq!(lp.stats().connected, 1);
}

#[test]
fn a_refused_connect_reaches_the_handler() {
    // A port nobody listens on: bind one, note it, close it.
    let port = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap().local_addr().unwrap().port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut lp = EventLoop::new(Config::default(), Vec::new()).unwrap();
    lp.connect(addr, Some(Duration::from_secs(5)), Side::Client);
    run_until(&mut lp, 1);
    assert_eq!(lp.state().as_slice(), [Outcome::Failed(ErrorKind::ConnectionRefused)]);
    assert_eq!(lp.stats().live, 0);
}

#[test]
fn a_connect_that_times_out_reaches_the_handler() {
    // A listener with a backlog of 0 that never accepts: once its queue
    // holds a connection, the kernel drops further SYNs, so a connect hangs
    // in SYN_SENT until our timeout.
    let opts = ListenOptions { backlog: 0, ..ListenOptions::default() };
    let listener = TcpListener::bind_with("127.0.0.1:0".parse().unwrap(), &opts).unwrap();
    let addr = listener.local_addr().unwrap();
    let _fill: Vec<_> =
        (0..2).map(|_| std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300))).collect();
    let mut lp = EventLoop::new(Config::default(), Vec::new()).unwrap();
    let timeout = Duration::from_millis(300);
    let start = Instant::now();
    lp.connect(addr, Some(timeout), Side::Client);
    run_until(&mut lp, 1);
    assert_eq!(lp.state().as_slice(), [Outcome::Failed(ErrorKind::TimedOut)]);
    assert!(start.elapsed() >= timeout, "timed out early: {:?}", start.elapsed());
    drop(listener);
}
