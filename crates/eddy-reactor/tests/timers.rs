//! Timers: the loop's idle and read timeouts, and handler timers (never
//! early, cancelled ones never fire).

mod util;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use eddy_reactor::{CloseReason, Closed, Config, Conn, EventLoop, Handler, Input, TimerKey};
use util::EchoServer;

#[test]
fn the_idle_timeout_closes_a_silent_connection() {
    let idle = Duration::from_millis(100);
    let server = EchoServer::start(Config { idle_timeout: Some(idle), ..Config::default() });
    let start = Instant::now();
    let mut s = util::client(server.addr);
    let mut buf = [0u8; 8];
    assert_eq!(s.read(&mut buf).expect("a FIN, not a reset"), 0, "closed by the server");
    assert!(start.elapsed() >= idle, "closed before the idle timeout: {:?}", start.elapsed());
}

#[test]
fn the_idle_timeout_spares_an_active_connection() {
    let idle = Duration::from_millis(150);
    let server = EchoServer::start(Config { idle_timeout: Some(idle), ..Config::default() });
    let mut s = util::client(server.addr);
    let start = Instant::now();
    // Activity every 30 ms for 3 idle periods: never idle long enough.
    let mut buf = [0u8; 1];
    while start.elapsed() < 3 * idle {
        s.write_all(b"x").unwrap();
        s.read_exact(&mut buf).expect("still open while active");
        std::thread::sleep(Duration::from_millis(30)); // the client's pace, not synchronization
    }
    assert_eq!(s.read(&mut buf).expect("closed once idle"), 0);
}

#[test]
fn the_read_timeout_closes_an_incomplete_message() {
    /// Consumes only whole lines.
    struct Lines;
    impl Handler for Lines {
        type State = Vec<String>;
        fn on_data(&mut self, conn: &mut Conn<'_, Self>, input: &mut Input<'_>) {
            while let Some(n) = input.bytes().iter().position(|&b| b == b'\n') {
                conn.write(&input.bytes()[..=n]);
                input.consume(n + 1);
            }
        }
        fn on_close(self, cx: &mut Closed<'_, Self>, reason: CloseReason) {
            cx.state().push(format!("{reason:?}"));
        }
    }
    let read_timeout = Duration::from_millis(80);
    let cfg = Config { read_timeout: Some(read_timeout), ..Config::default() };
    let mut lp = EventLoop::new(cfg, Vec::new()).unwrap();
    let addr = lp.listen("127.0.0.1:0".parse().unwrap(), |_, _| Some(Lines)).unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"whole\npart").unwrap();
    let start = Instant::now();
    while lp.state().is_empty() {
        assert!(start.elapsed() < Duration::from_secs(10), "the read timeout never fired");
        lp.turn(Some(Duration::from_millis(50))).unwrap();
    }
    assert!(start.elapsed() >= read_timeout);
    assert_eq!(lp.state().as_slice(), ["Timeout(Read)"]);
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"whole\n");
}

/// Sets timers 1 (30 ms) and 2 (80 ms) at open, cancels 1; closes at 2.
struct Timed {
    cancelled: Option<TimerKey>,
    set_at: Option<Instant>,
}

#[derive(Default)]
struct Fired {
    ids: Vec<(u64, Duration)>,
    cancel_reported: Option<bool>,
}

impl Handler for Timed {
    type State = Fired;
    fn on_open(&mut self, conn: &mut Conn<'_, Self>) {
        self.set_at = Some(Instant::now());
        let one = conn.set_timer(Duration::from_millis(30), 1);
        conn.set_timer(Duration::from_millis(80), 2);
        let ok = conn.cancel_timer(one);
        conn.state().cancel_reported = Some(ok);
        self.cancelled = Some(one);
    }
    fn on_data(&mut self, _: &mut Conn<'_, Self>, input: &mut Input<'_>) {
        input.consume_all();
    }
    fn on_timer(&mut self, conn: &mut Conn<'_, Self>, id: u64) {
        let waited = self.set_at.map(|t| t.elapsed()).unwrap_or_default();
        conn.state().ids.push((id, waited));
        if id == 2 {
            if let Some(k) = self.cancelled {
                assert!(!conn.cancel_timer(k), "a cancelled timer cannot be cancelled again");
            }
            conn.close();
        }
    }
}

#[test]
fn a_cancelled_timer_never_fires_and_none_fires_early() {
    let mut lp = EventLoop::new(Config::default(), Fired::default()).unwrap();
    let addr = lp.listen("127.0.0.1:0".parse().unwrap(), |_, _| Some(Timed { cancelled: None, set_at: None })).unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    let start = Instant::now();
    while lp.state().ids.is_empty() || lp.stats().live > 0 {
        assert!(start.elapsed() < Duration::from_secs(10), "timer 2 never fired");
        lp.turn(Some(Duration::from_millis(50))).unwrap();
        if lp.state().ids.iter().any(|(id, _)| *id == 2) {
            // Let the graceful close finish: our FIN.
            let _ = s.shutdown(std::net::Shutdown::Write);
        }
    }
    let fired = &lp.state().ids;
    assert_eq!(fired.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [2], "only timer 2 fired");
    assert!(fired[0].1 >= Duration::from_millis(80), "timer 2 fired early: {:?}", fired[0].1);
    assert_eq!(lp.state().cancel_reported, Some(true));
    let mut buf = [0u8; 1];
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(s.read(&mut buf).expect("a graceful close: FIN, not a reset"), 0);
}
