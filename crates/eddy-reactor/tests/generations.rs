//! Tokens carry a generation: an event for a closed connection whose slot
//! was reused within the same turn is dropped, never delivered to the new
//! occupant.
//!
//! Set-up for one deterministic turn: connection A is open in slot s. Before
//! the turn, A's peer sends "close" (A's handler aborts at once, freeing
//! slot s), a new client B connects (the listener becomes readable: B will
//! be accepted into slot s, the most recently freed), and a user-space
//! source registered with A's token is made ready: a stale event, reported
//! after the kernel's. In that single turn the stale event must be dropped.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use eddy_poll::{Interest, Ready, Registration, Trigger};
use eddy_reactor::{Config, Conn, ConnId, EventLoop, Handler, Input};

#[derive(Default)]
struct Log {
    opened: Vec<ConnId>,
    data: Vec<(ConnId, Vec<u8>)>,
}

struct Recorder;

impl Handler for Recorder {
    type State = Log;
    fn on_open(&mut self, conn: &mut Conn<'_, Self>) {
        let id = conn.id();
        conn.state().opened.push(id);
    }
    fn on_data(&mut self, conn: &mut Conn<'_, Self>, input: &mut Input<'_>) {
        let (id, bytes) = (conn.id(), input.bytes().to_vec());
        input.consume_all();
        if bytes == b"close" {
            conn.abort();
        }
        conn.state().data.push((id, bytes));
    }
}

#[test]
fn an_event_for_a_slot_reused_in_the_same_turn_is_dropped() {
    let mut lp = EventLoop::new(Config::default(), Log::default()).unwrap();
    let addr = lp.listen("127.0.0.1:0".parse().unwrap(), |_, _| Some(Recorder)).unwrap();

    let mut a = TcpStream::connect(addr).unwrap();
    while lp.state().opened.is_empty() {
        lp.turn(Some(Duration::from_secs(5))).unwrap();
    }
    let a_id = lp.state().opened[0];

    // Everything for the one turn, before it starts.
    let (mut stale, set) = Registration::new();
    lp.registry().register(&mut stale, a_id.token(), Interest::READABLE, Trigger::Edge).unwrap();
    a.write_all(b"close").unwrap();
    let _b = TcpStream::connect(addr).unwrap(); // returns once the handshake is done: listener readable
    set.set_readiness(Ready::READABLE).unwrap();
    let before = lp.stats();
    lp.turn(Some(Duration::from_secs(5))).unwrap();
    let after = lp.stats();

    let log = lp.state();
    assert_eq!(log.opened.len(), 2, "B was accepted in this turn");
    let b_id = log.opened[1];
    assert_eq!(b_id.index(), a_id.index(), "B took A's slot");
    assert_ne!(b_id.generation(), a_id.generation());
    assert_eq!(after.closed, before.closed + 1, "A ended in this turn");
    assert_eq!(after.stale_events, before.stale_events + 1, "A's stale event was dropped");
    assert!(log.data.iter().all(|(id, _)| *id != b_id), "B got nothing: {:?}", log.data);
}
