//! One test per bug fixed in eddy-reactor, each named for the bug and
//! failing with the code that had it (each test's doc says how it failed).
//! Bugs of the whole server (`eddy serve`) are in eddy-cli's
//! `tests/regressions.rs`; eddy-poll's in its own.

mod util;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use eddy_reactor::{Config, Conn, EventLoop, Handler, Input, ListenerMode, Server, ServerConfig, Timeout};
use util::{Echo, client};

const LOOPS: usize = 2;

/// The loop blocked forever in its wait once the shutdown deadline had
/// aborted its last connection: the deadline was its last timer, nothing
/// else would wake it, and the check that ends `run` came after the wait
/// (c5a7763: a finished loop never blocks). Here `run` must return within
/// seconds of the 100 ms deadline; with the bug it never did.
#[test]
fn a_loop_finished_by_its_shutdown_deadline_blocked_in_its_next_wait() {
    let (tx, rx) = mpsc::channel();
    let (addr_tx, addr_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let cfg = Config { shutdown_timeout: Duration::from_millis(100), ..Config::default() };
        let mut lp = EventLoop::new(cfg, ()).unwrap();
        let addr = lp.listen("127.0.0.1:0".parse().unwrap(), |_, _| Some(Echo)).unwrap();
        addr_tx.send(addr).unwrap();
        while lp.stats().live == 0 {
            lp.turn(Some(Duration::from_millis(100))).unwrap();
        }
        lp.shutdown();
        let start = Instant::now();
        let result = lp.run();
        let _ = tx.send((result.map(|()| lp.stats()), start.elapsed()));
    });
    let addr: SocketAddr = addr_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let _open = client(addr);
    let (stats, took) = rx.recv_timeout(Duration::from_secs(10)).expect("run returned after the deadline");
    let stats = stats.unwrap();
    assert_eq!(stats.live, 0);
    assert!(took >= Duration::from_millis(100), "aborted before the deadline: {took:?}");
}

/// Counts what it reads and whether the peer's FIN was seen.
struct Sink;

impl Handler for Sink {
    type State = (usize, bool);
    fn on_data(&mut self, conn: &mut Conn<'_, Self>, input: &mut Input<'_>) {
        conn.state().0 += input.len();
        input.consume_all();
    }
    fn on_read_closed(&mut self, conn: &mut Conn<'_, Self>) {
        conn.state().1 = true;
        conn.close();
    }
}

/// A hang-up reported while the connection waited on the ready list (its
/// read budget spent) was dropped: the next read from the list stopped at
/// the first short read, and on epoll's edge triggering no event would
/// come again, so the peer's FIN was never read (c5a7763: remember a
/// hang-up across budgeted reads). With the bug, on epoll, the loop went
/// quiet with the FIN unread (`on_read_closed` never ran).
#[test]
fn a_hang_up_reported_while_queued_for_reading_was_forgotten() {
    // One read of at most 1 KiB per turn: 8 KiB take eight turns.
    let cfg = Config { read_buffer: 1024, read_budget_bytes: 1024, read_budget_reads: 1, ..Config::default() };
    let mut lp = EventLoop::<Sink>::new(cfg, (0, false)).unwrap();
    let addr = lp.listen("127.0.0.1:0".parse().unwrap(), |_, _| Some(Sink)).unwrap();
    let mut peer = TcpStream::connect(addr).unwrap();
    peer.write_all(&[7u8; 8 * 1024 + 100]).unwrap();
    // Turn until the first read: the connection is then on the ready list.
    for _ in 0..100 {
        lp.turn(Some(Duration::from_millis(100))).unwrap();
        if lp.state().0 > 0 {
            break;
        }
    }
    assert!(lp.state().0 > 0 && lp.state().0 < 8 * 1024, "read in budgeted steps: {}", lp.state().0);
    // The FIN arrives while the connection is queued for reading.
    peer.shutdown(std::net::Shutdown::Write).unwrap();
    for _ in 0..100 {
        lp.turn(Some(Duration::from_millis(100))).unwrap();
        if lp.state().1 {
            break;
        }
    }
    assert_eq!(*lp.state(), (8 * 1024 + 100, true), "every byte, then the FIN, was read");
}

/// Counts its idle timeouts and keeps the connection each time.
struct Keeper;

impl Handler for Keeper {
    type State = u32;
    fn on_data(&mut self, _: &mut Conn<'_, Self>, input: &mut Input<'_>) {
        input.consume_all();
    }
    fn on_timeout(&mut self, conn: &mut Conn<'_, Self>, which: Timeout) {
        assert_eq!(which, Timeout::Idle);
        *conn.state() += 1;
    }
}

/// A handler that kept its connection in `on_timeout` got the same timeout
/// again at once, turn after turn: the timeout was re-armed from the old
/// start, in the past (54da993: timeouts restart before `on_timeout`).
/// With the bug the loop never left its timer phase (the re-armed timer
/// was due within the same drain) and the test ran until its harness
/// killed it; now 300 ms of a 50 ms idle timeout give one call per period,
/// six or fewer (the loop may wake late, never early).
#[test]
fn a_kept_connection_got_its_timeout_again_at_once() {
    let cfg = Config { idle_timeout: Some(Duration::from_millis(50)), ..Config::default() };
    let mut lp = EventLoop::<Keeper>::new(cfg, 0).unwrap();
    let addr = lp.listen("127.0.0.1:0".parse().unwrap(), |_, _| Some(Keeper)).unwrap();
    let _peer = TcpStream::connect(addr).unwrap();
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(300) {
        lp.turn(Some(Duration::from_millis(10))).unwrap();
    }
    let calls = *lp.state();
    assert!((1..=6).contains(&calls), "{calls} idle timeouts in 300 ms of a 50 ms timeout");
    assert_eq!(lp.stats().live, 1, "the handler kept the connection");
}

/// No loop serves before every loop is set up, so a server whose set-up
/// fails serves nothing: here loop 1's set-up fails after a connection is
/// queued on the shared listener, while loop 0 is ready. `start` returns
/// the error, loop 0's thread ends without accepting (its factory is
/// dropped unused: the channel disconnects), and the queued connection is
/// closed with the listener.
#[test]
fn a_loop_that_fails_to_set_up_leaves_no_loop_serving() {
    // Exclusive mode on a port chosen first: one listener, bound before
    // the loop threads start, so a connection can wait in its queue.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let cfg = ServerConfig {
        threads: LOOPS,
        mode: ListenerMode::Exclusive,
        handle_signals: false,
        ..ServerConfig::new(addr)
    };
    let (accepted_tx, accepted_rx) = mpsc::channel::<()>();
    let (in_setup_tx, in_setup_rx) = mpsc::channel::<()>();
    let (fail_tx, fail_rx) = mpsc::channel::<()>();
    let fail_rx = std::sync::Mutex::new(fail_rx);
    let starter = std::thread::spawn(move || {
        let init = move |i: usize| {
            if i == 1 {
                in_setup_tx.send(()).unwrap();
                fail_rx.lock().unwrap().recv().unwrap();
                return Err(std::io::Error::other("loop 1 cannot be set up"));
            }
            EventLoop::new(Config::default(), ())
        };
        let factory = move |_: &mut (), _| {
            let _ = accepted_tx.send(());
            Some(Echo)
        };
        Server::start(&cfg, init, factory).map(|_| ())
    });

    in_setup_rx.recv_timeout(Duration::from_secs(10)).expect("loop 1 starts its set-up");
    let mut queued = client(addr);
    fail_tx.send(()).unwrap();
    let err = starter.join().unwrap().expect_err("start reports the failed set-up");
    assert!(err.to_string().contains("loop 1 cannot be set up"), "{err}");
    match accepted_rx.recv_timeout(Duration::from_secs(10)) {
        Err(mpsc::RecvTimeoutError::Disconnected) => {}
        Ok(()) => panic!("a loop accepted a connection although the server failed to start"),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("loop 0 is still alive 10 s after the failed start"),
    }
    // Nobody accepted it; the listener closed under it: reset (or EOF).
    queued.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut b = [0u8; 1];
    match queued.read(&mut b) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("the queued connection: {other:?}"),
    }
}
