//! Several loops ([`Server`]): connections are spread over the loops in
//! both listener modes, work posted from another thread runs on the loop it
//! was posted to, and `shutdown` + `join` end every loop and close the
//! listeners.

// The figures each test measured go to stderr (seen with --no-capture).
#![allow(clippy::print_stderr)]

mod util;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use eddy_reactor::{Config, EventLoop, ListenerMode, Server, ServerConfig, Stats};
use util::{Echo, client};

const LOOPS: usize = 2;

fn start(mode: ListenerMode) -> Server<Echo> {
    let cfg = ServerConfig {
        threads: LOOPS,
        mode,
        handle_signals: false,
        ..ServerConfig::new("127.0.0.1:0".parse().unwrap())
    };
    let loop_cfg = Config { shutdown_timeout: Duration::from_secs(5), ..Config::default() };
    let server = Server::start(&cfg, move |_| EventLoop::new(loop_cfg.clone(), ()), |_: &mut (), _| Some(Echo))
        .expect("the server starts");
    assert_eq!(server.handles().len(), LOOPS);
    server
}

/// Loop `i`'s counters, read on its thread.
fn loop_stats(server: &Server<Echo>, i: usize) -> Stats {
    let (tx, rx) = mpsc::channel();
    server.handles()[i].post(move |lp| tx.send(lp.stats()).unwrap()).unwrap();
    rx.recv_timeout(Duration::from_secs(10)).unwrap_or_else(|_| panic!("loop {i} answered"))
}

/// A connection that has been served: one byte echoed.
fn served(addr: SocketAddr) -> TcpStream {
    let mut s = client(addr);
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    echo(&mut s);
    s
}

fn echo(s: &mut TcpStream) {
    s.write_all(b"e").unwrap();
    let mut b = [0u8; 1];
    s.read_exact(&mut b).expect("the echo (no loop served the connection within the read timeout?)");
    assert_eq!(&b, b"e");
}

/// Posts a task that keeps loop `i` busy (out of `epoll_wait`) until the
/// returned sender is used or dropped; returns once the task runs.
fn block(server: &Server<Echo>, i: usize) -> mpsc::Sender<()> {
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    server.handles()[i]
        .post(move |_| {
            entered_tx.send(()).unwrap();
            // Bounded: a test that died releases the loop anyway.
            let _ = release_rx.recv_timeout(Duration::from_secs(20));
        })
        .unwrap();
    entered_rx.recv_timeout(Duration::from_secs(10)).unwrap_or_else(|_| panic!("loop {i} ran the blocking task"));
    release_tx
}

/// `shutdown` + `join` (bounded): every loop ends with no connection left,
/// and the address refuses connections.
fn stop(server: Server<Echo>) -> Vec<Stats> {
    let addr = server.local_addr();
    server.shutdown();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(server.join()));
    let stats = rx.recv_timeout(Duration::from_secs(15)).expect("every loop ended").expect("no loop failed");
    assert_eq!(stats.len(), LOOPS);
    assert!(stats.iter().all(|s| s.live == 0), "connections left: {stats:?}");
    let err = TcpStream::connect(addr).expect_err("the listeners are closed");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    stats
}

/// With `SO_REUSEPORT` the kernel picks one of the loops' listeners for each
/// connection by a hash of its 4-tuple (a keyed jhash, so for 64
/// connections from distinct source ports the picks are as good as
/// independent and uniform): all 64 on one loop has odds 2 × 2⁻⁶⁴.
#[test]
fn reuseport_spreads_connections_over_both_loops() {
    let server = start(ListenerMode::ReusePort);
    let conns: Vec<TcpStream> = (0..64).map(|_| served(server.local_addr())).collect();
    let accepted: Vec<u64> = (0..LOOPS).map(|i| loop_stats(&server, i).accepted).collect();
    eprintln!("accepted per loop: {accepted:?}");
    assert_eq!(accepted.iter().sum::<u64>(), 64);
    assert!(accepted.iter().all(|&a| a > 0), "one loop accepted nothing: {accepted:?}");
    drop(conns);
    let stats = stop(server);
    assert_eq!(stats.iter().map(|s| s.accepted).collect::<Vec<_>>(), accepted);
}

/// With `EPOLLEXCLUSIVE` a connection wakes one loop among those waiting in
/// `epoll_wait`. Made deterministic: while loop 0 runs a blocking task,
/// only loop 1 waits, so loop 1 must accept; then the other way round.
#[test]
fn exclusive_gives_each_connection_to_a_waiting_loop() {
    let server = start(ListenerMode::Exclusive);
    let addr = server.local_addr();

    let release0 = block(&server, 0);
    let mut a = served(addr); // only loop 1 can serve it
    assert_eq!(loop_stats(&server, 1).accepted, 1, "loop 1 accepted while loop 0 was busy");

    let release1 = block(&server, 1);
    release0.send(()).unwrap();
    let mut b = served(addr); // only loop 0 can serve it
    assert_eq!(loop_stats(&server, 0).accepted, 1, "loop 0 accepted while loop 1 was busy");
    release1.send(()).unwrap();

    assert_eq!(loop_stats(&server, 1).accepted, 1, "loop 1 took no second connection");
    assert_eq!(loop_stats(&server, 0).live, 1);
    assert_eq!(loop_stats(&server, 1).live, 1);
    echo(&mut a);
    echo(&mut b);
    drop((a, b));
    let stats = stop(server);
    assert_eq!(stats.iter().map(|s| s.accepted).collect::<Vec<_>>(), [1, 1]);
}

#[test]
fn posted_work_runs_on_the_target_loop_in_both_modes() {
    for mode in [ListenerMode::ReusePort, ListenerMode::Exclusive] {
        let server = start(mode);
        for i in 0..LOOPS {
            let (tx, rx) = mpsc::channel();
            server.handles()[i]
                .post(move |_| tx.send(std::thread::current().name().map(String::from)).unwrap())
                .unwrap();
            let name = rx.recv_timeout(Duration::from_secs(10)).expect("the task ran");
            assert_eq!(name.as_deref(), Some(format!("eddy-loop-{i}").as_str()), "{mode:?}");
        }
        let conn = served(server.local_addr());
        drop(conn);
        let stats = stop(server);
        assert_eq!(stats.iter().map(|s| s.accepted).sum::<u64>(), 1, "{mode:?}");
    }
}

/// `shutdown` with connections open: they get the loop's shutdown timeout
/// (here a short one) and are aborted; every loop still ends.
#[test]
fn shutdown_and_join_end_every_loop_even_with_connections_open() {
    let cfg =
        ServerConfig { threads: LOOPS, handle_signals: false, ..ServerConfig::new("127.0.0.1:0".parse().unwrap()) };
    let loop_cfg = Config { shutdown_timeout: Duration::from_millis(300), ..Config::default() };
    let server =
        Server::start(&cfg, move |_| EventLoop::new(loop_cfg.clone(), ()), |_: &mut (), _| Some(Echo)).unwrap();
    let mut open: Vec<TcpStream> = (0..16).map(|_| served(server.local_addr())).collect();
    let stats = stop(server);
    assert_eq!(stats.iter().map(|s| s.accepted).sum::<u64>(), 16);
    for s in &mut open {
        let mut b = [0u8; 1];
        let err = s.read(&mut b).expect_err("aborted at the shutdown deadline");
        assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    }
}
