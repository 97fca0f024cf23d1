//! The loop core serves more than the Reactor: a second, minimal client (a
//! counter of its own events and timers, on a socket pair of its own) and a
//! reactor connection are served by one loop, in the same turns, on every
//! backend.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::Duration;

use eddy_poll::net::UnixStream;
use eddy_poll::{Backend, Interest, Token, Trigger};
use eddy_reactor::loop_core::{self, Client, Io, Kind, LoopCore, Timer};
use eddy_reactor::{Config, Conn, EventLoop, Handler, Input};

/// What happened, by whom, in which turn (the turn is filled in by the test
/// after each turn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    EchoData,
    CounterIo,
    CounterTimer,
    CounterRun,
    CounterFinish,
}

type Log = Rc<RefCell<Vec<Seen>>>;

struct Echo;

impl Handler for Echo {
    type State = Log;
    fn on_data(&mut self, conn: &mut Conn<'_, Self>, input: &mut Input<'_>) {
        conn.state().borrow_mut().push(Seen::EchoData);
        conn.write(input.bytes());
        input.consume_all();
    }
}

/// The test's client of the core: one end of a socket pair, and a timer it
/// re-arms every 5 ms while it has ticks left.
struct Counter {
    kind: Kind,
    socket: UnixStream,
    log: Log,
    ticks_left: u32,
}

impl Counter {
    fn token(&self) -> Token {
        loop_core::token(self.kind, 0, 1)
    }
}

impl Client for Counter {
    fn on_io(&mut self, _core: &mut LoopCore, token: Token, io: Io<'_>) {
        assert_eq!(token, self.token(), "only the counter's own tokens reach it");
        let Io::Ready(event) = io else { return };
        if event.is_readable() {
            let mut buf = [0u8; 64];
            // Edge-triggered: read to WouldBlock.
            while let Ok(n) = (&self.socket).read(&mut buf) {
                if n == 0 {
                    break;
                }
            }
            self.log.borrow_mut().push(Seen::CounterIo);
        }
    }

    fn on_timer(&mut self, core: &mut LoopCore, timer: Timer) {
        assert_eq!(timer, Timer { token: self.token(), data: 42 }, "the timer comes back as it was set");
        self.log.borrow_mut().push(Seen::CounterTimer);
        self.ticks_left -= 1;
        if self.ticks_left > 0 {
            core.set_timer(Duration::from_millis(5), timer);
        }
    }

    fn run(&mut self, _core: &mut LoopCore, budget: u32) {
        assert!(budget > 0);
        self.log.borrow_mut().push(Seen::CounterRun);
    }

    fn finish_turn(&mut self, _core: &mut LoopCore) {
        self.log.borrow_mut().push(Seen::CounterFinish);
    }
}

fn one_loop_serves_a_connection_and_a_second_client_in_the_same_turns(backend: Backend) {
    let log: Log = Rc::default();
    let cfg = Config { backend, ..Config::default() };
    let mut lp = EventLoop::<Echo>::new(cfg, Rc::clone(&log)).unwrap();
    let addr = lp.listen("127.0.0.1:0".parse().unwrap(), |_, _| Some(Echo)).unwrap();

    let (mut ours, theirs) = UnixStream::pair().unwrap();
    let mut counter = Counter { kind: Kind::FIRST_CLIENT, socket: theirs, log: Rc::clone(&log), ticks_left: 3 };
    let kind = {
        let token = counter.token();
        let core = lp.core();
        core.registry().register(&mut counter.socket, token, Interest::READABLE, Trigger::Edge).unwrap();
        core.set_timer(Duration::from_millis(5), Timer { token, data: 42 });
        lp.add_client(Box::new(counter)).unwrap()
    };
    assert_eq!(kind, Kind::FIRST_CLIENT, "the first added client gets the first client kind");

    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // Accept the connection first (turns until the reactor has it).
    for _ in 0..100 {
        lp.turn(Some(Duration::from_millis(100))).unwrap();
        if lp.stats().live == 1 {
            break;
        }
    }
    assert_eq!(lp.stats().live, 1, "the connection was accepted");
    log.borrow_mut().clear();

    // Both peers write before the next turns: the reactor connection's bytes
    // and the counter's land in the same waits.
    tcp.write_all(b"ping").unwrap();
    ours.write_all(b"x").unwrap();
    let mut turns: Vec<(u64, Vec<Seen>)> = Vec::new();
    for _ in 0..200 {
        lp.turn(Some(Duration::from_millis(100))).unwrap();
        let seen = std::mem::take(&mut *log.borrow_mut());
        turns.push((lp.stats().turns, seen));
        let all: Vec<Seen> = turns.iter().flat_map(|(_, s)| s.iter().copied()).collect();
        if all.contains(&Seen::EchoData) && all.iter().filter(|s| **s == Seen::CounterTimer).count() == 3 {
            break;
        }
    }
    let mut echoed = [0u8; 4];
    tcp.read_exact(&mut echoed).unwrap();
    assert_eq!(&echoed, b"ping");

    let both = turns.iter().find(|(_, s)| s.contains(&Seen::EchoData) && s.contains(&Seen::CounterIo));
    assert!(both.is_some(), "one turn dispatched both the connection's event and the counter's: {turns:?}");
    let timers: usize = turns.iter().map(|(_, s)| s.iter().filter(|x| **x == Seen::CounterTimer).count()).sum();
    assert_eq!(timers, 3, "the counter's timers fired on the loop's wheel, three times: {turns:?}");
    for (turn, seen) in &turns {
        // Every turn runs the counter's phases once, in order, after the
        // events and timers of that turn.
        let phases: Vec<&Seen> = seen.iter().filter(|s| matches!(s, Seen::CounterRun | Seen::CounterFinish)).collect();
        assert_eq!(phases, [&Seen::CounterRun, &Seen::CounterFinish], "turn {turn}: {seen:?}");
        assert_eq!(seen.last(), Some(&Seen::CounterFinish), "turn {turn}: finish_turn comes last: {seen:?}");
    }
}

#[test]
fn one_loop_serves_a_connection_and_a_second_client_in_the_same_turns_epoll() {
    one_loop_serves_a_connection_and_a_second_client_in_the_same_turns(Backend::Epoll);
}

#[test]
fn one_loop_serves_a_connection_and_a_second_client_in_the_same_turns_poll() {
    one_loop_serves_a_connection_and_a_second_client_in_the_same_turns(Backend::Poll);
}

#[test]
fn one_loop_serves_a_connection_and_a_second_client_in_the_same_turns_select() {
    one_loop_serves_a_connection_and_a_second_client_in_the_same_turns(Backend::Select);
}

/// A token of a kind no client holds is dropped, not delivered to the
/// reactor or to another client.
#[test]
fn a_token_of_an_unknown_kind_reaches_no_client() {
    let log: Log = Rc::default();
    let mut lp = EventLoop::<Echo>::new(Config::default(), Rc::clone(&log)).unwrap();
    let (mut ours, mut theirs) = UnixStream::pair().unwrap();
    let stray = loop_core::token(Kind::FIBER, 0, 1);
    lp.registry().register(&mut theirs, stray, Interest::READABLE, Trigger::Level).unwrap();
    ours.write_all(b"x").unwrap();
    let before = lp.stats();
    lp.turn(Some(Duration::from_millis(100))).unwrap();
    assert!(log.borrow().is_empty(), "no handler saw it");
    assert_eq!(lp.stats().live, before.live);
    assert_eq!(lp.stats().stale_events, before.stale_events + 1, "it was dropped and counted");
}
