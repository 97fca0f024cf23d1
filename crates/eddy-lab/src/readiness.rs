//! Readiness beyond reading a connection: `epollout-storm` (writable
//! interest), `listener-edge` (a listener's readiness), `user-readiness`
//! (readiness set from another thread).

use std::io;
use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Instant;

use eddy_poll::net::{TcpListener, TcpStream};
use eddy_poll::{Events, Interest, Poll, Ready, Registration, SetReadiness, Token, Trigger};

use super::record::{Kind, Lab};
use super::util::{QUIET, broken, errno_name, wait_accept_queue, wait_connected};

pub(crate) fn epollout_storm(lab: &mut Lab) -> io::Result<()> {
    lab.setup("an idle connected loopback socket (empty send buffer, so always writable)");
    lab.setup(
        "registered WRITABLE, Level; then WRITABLE, Edge; then READABLE only, as a loop does with no output pending",
    );
    let (_client, mut server) = super::util::tcp_pair()?;
    let (mut poll, mut events) = (lab.poller()?, Events::with_capacity(8));
    let token = Token(1);

    poll.registry().register(&mut server, token, Interest::WRITABLE, Trigger::Level)?;
    lab.note(Kind::Note, "server  registered WRITABLE, Level");
    let mut level = 0;
    for _ in 0..5 {
        let ev = lab.expect("server", &mut poll, &mut events, "level: the writable event")?;
        level += ev.iter().filter(|e| e.is_writable()).count();
    }
    lab.check("level: 5 waits", "5 writable events, one per wait", format!("{level} events"), level == 5);
    let (n, spent) = storm(&mut poll, &mut events)?;
    lab.note(
        Kind::Note,
        format!("server  {n} more level waits returned at once, each writable, in {:.1} ms: a busy loop", spent * 1e3),
    );
    poll.registry().deregister(&mut server)?;

    poll.registry().register(&mut server, token, Interest::WRITABLE, Trigger::Edge)?;
    lab.note(Kind::Note, "server  registered WRITABLE, Edge");
    let first = lab.expect("server", &mut poll, &mut events, "edge: the first writable event")?;
    let after = lab.quiet("server", &mut poll, &mut events)?;
    lab.check(
        "edge",
        "1 writable event, then none",
        format!("{} then {}", first.len(), after.len()),
        first.len() == 1 && first[0].is_writable() && after.is_empty(),
    );
    poll.registry().deregister(&mut server)?;

    poll.registry().register(&mut server, token, Interest::READABLE, Trigger::Level)?;
    lab.note(Kind::Note, "server  registered READABLE only (no output pending, so no WRITABLE interest)");
    let none = lab.quiet("server", &mut poll, &mut events)?;
    lab.write("server", &server, b"ping");
    lab.note(Kind::Note, "server  the kernel took the whole write: still nothing pending, no WRITABLE asked");
    let still = lab.quiet("server", &mut poll, &mut events)?;
    let n = none.len() + still.len();
    lab.check("writable asked only while output is pending", "no event", format!("{n} events"), n == 0);
    Ok(())
}

/// 1000 level-triggered waits on an always-writable socket: how long they
/// take (each returns at once).
fn storm(poll: &mut Poll, events: &mut Events) -> io::Result<(usize, f64)> {
    let start = Instant::now();
    let mut n = 0;
    for _ in 0..1000 {
        poll.poll(events, Some(super::util::MUST))?;
        n += usize::from(events.iter().any(|e| e.is_writable()));
    }
    Ok((n, start.elapsed().as_secs_f64()))
}

const CONNECTIONS: usize = 5;

/// What one `listener-edge` variant saw.
struct Taken {
    events: usize,
    accepted: usize,
    left: usize,
}

pub(crate) fn listener_edge(lab: &mut Lab) -> io::Result<()> {
    lab.setup(format!(
        "a listener; {CONNECTIONS} clients connect, and all are in the accept queue before the first wait"
    ));
    lab.setup(
        "variants: Edge with one accept per event; Edge accepting until WouldBlock; Level with one accept per event",
    );
    lab.setup("after the loop (no event for 100 ms), the connections still queued are counted by accepting them");
    let t = accept_variant(lab, Trigger::Edge, false)?;
    lab.check(
        "edge, one accept per event",
        "some left waiting",
        format!("{} events, {} accepted, {} left", t.events, t.accepted, t.left),
        t.left >= 1 && t.accepted == t.events,
    );
    let t = accept_variant(lab, Trigger::Edge, true)?;
    lab.check(
        "edge, accept until WouldBlock",
        format!("all {CONNECTIONS} taken, 0 left"),
        format!("{} events, {} accepted, {} left", t.events, t.accepted, t.left),
        t.accepted == CONNECTIONS && t.left == 0,
    );
    let t = accept_variant(lab, Trigger::Level, false)?;
    lab.check(
        "level, one accept per event",
        format!("{CONNECTIONS} events, all taken, 0 left"),
        format!("{} events, {} accepted, {} left", t.events, t.accepted, t.left),
        t.events == CONNECTIONS && t.accepted == CONNECTIONS && t.left == 0,
    );
    Ok(())
}

fn accept_variant(lab: &mut Lab, trigger: Trigger, until_blocked: bool) -> io::Result<Taken> {
    let mut listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let (mut poll, mut events) = (lab.poller()?, Events::with_capacity(8));
    poll.registry().register(&mut listener, Token(0), Interest::READABLE, trigger)?;
    let how = if until_blocked { "accepting until WouldBlock" } else { "one accept per event" };
    lab.note(Kind::Note, format!("server  listener registered READABLE, {trigger:?}; {how}"));
    let clients: Vec<TcpStream> =
        (0..CONNECTIONS).map(|_| TcpStream::connect(listener.local_addr()?)).collect::<io::Result<_>>()?;
    for c in &clients {
        wait_connected(c)?;
    }
    let queued = wait_accept_queue(&listener, CONNECTIONS as u32)?;
    lab.note(Kind::State, format!("server  accept queue: {queued} connections (/proc/net/tcp)"));

    let mut t = Taken { events: 0, accepted: 0, left: 0 };
    let mut batch = lab.expect("server", &mut poll, &mut events, "the listener's event")?;
    while !batch.is_empty() {
        for _ in &batch {
            t.events += 1;
            t.accepted += accept(lab, &listener, until_blocked)?;
        }
        if t.events > 10 * CONNECTIONS {
            return Err(broken(format!("{} events for {CONNECTIONS} connections", t.events)));
        }
        batch = lab.next("server", &mut poll, &mut events, QUIET)?;
    }
    lab.note(Kind::Note, "server  no event for 100 ms; counting what is still queued:");
    t.left = accept(lab, &listener, true)?;
    Ok(t)
}

/// Accepts once, or until WouldBlock; records each; returns how many.
fn accept(lab: &mut Lab, listener: &TcpListener, until_blocked: bool) -> io::Result<usize> {
    let mut n = 0;
    loop {
        match listener.accept() {
            Ok((_, peer)) => {
                n += 1;
                lab.note(Kind::Read, format!("server  accept() -> connection from {peer}"));
                if !until_blocked {
                    return Ok(n);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                lab.note(Kind::Read, "server  accept() -> WouldBlock");
                return Ok(n);
            }
            Err(e) => {
                lab.note(Kind::Read, format!("server  accept() -> Err({})", errno_name(&e)));
                return Err(e);
            }
        }
    }
}

/// Sets `ready` on `set` from a new thread.
fn set_from_thread(set: &SetReadiness, ready: Ready) -> JoinHandle<io::Result<()>> {
    let set = set.clone();
    std::thread::spawn(move || set.set_readiness(ready))
}

fn join(lab: &mut Lab, handle: JoinHandle<io::Result<()>>, what: &str) -> io::Result<()> {
    handle.join().map_err(|_| broken("the setting thread panicked"))??;
    lab.note(Kind::Write, format!("thread  set_readiness({what}) done"));
    Ok(())
}

pub(crate) fn user_readiness(lab: &mut Lab) -> io::Result<()> {
    lab.setup("a user-space source (Registration / SetReadiness) registered READABLE, token 7, with each trigger");
    lab.setup("another thread sets READABLE while this one waits; then the waits go on without a new set");
    let token = Token(7);
    let (mut poll, mut events) = (lab.poller()?, Events::with_capacity(8));

    let (mut source, set) = Registration::new();
    poll.registry().register(&mut source, token, Interest::READABLE, Trigger::Edge)?;
    let h = set_from_thread(&set, Ready::READABLE);
    let first = lab.expect("poller", &mut poll, &mut events, "edge: the readiness set by the thread")?;
    join(lab, h, "READABLE")?;
    let after = lab.quiet("poller", &mut poll, &mut events)?;
    let h = set_from_thread(&set, Ready::READABLE);
    let again = lab.expect("poller", &mut poll, &mut events, "edge: the second set")?;
    join(lab, h, "READABLE")?;
    let ok =
        first.len() == 1 && first[0].token() == token && first[0].is_readable() && after.is_empty() && again.len() == 1;
    let seen = format!("{}, then {} while still set, then {} for a new set", first.len(), after.len(), again.len());
    lab.check("edge", "1 event per set, none in between", seen, ok);
    drop(source);

    let (mut source, set) = Registration::new();
    poll.registry().register(&mut source, token, Interest::READABLE, Trigger::Level)?;
    join(lab, set_from_thread(&set, Ready::READABLE), "READABLE")?;
    let mut level = 0;
    for _ in 0..3 {
        level += lab.expect("poller", &mut poll, &mut events, "level: the readiness still set")?.len();
    }
    join(lab, set_from_thread(&set, Ready::EMPTY), "EMPTY")?;
    let cleared = lab.quiet("poller", &mut poll, &mut events)?;
    let seen = format!("{level} in 3 waits, then {} once cleared", cleared.len());
    lab.check("level", "an event on every wait while set, none once cleared", seen, level == 3 && cleared.is_empty());
    drop(source);

    let (mut source, set) = Registration::new();
    poll.registry().register(&mut source, token, Interest::READABLE, Trigger::Oneshot)?;
    let h = set_from_thread(&set, Ready::READABLE);
    let first = lab.expect("poller", &mut poll, &mut events, "oneshot: the readiness set by the thread")?;
    join(lab, h, "READABLE")?;
    join(lab, set_from_thread(&set, Ready::READABLE), "READABLE")?;
    let disarmed = lab.quiet("poller", &mut poll, &mut events)?;
    poll.registry().reregister(&mut source, token, Interest::READABLE, Trigger::Oneshot)?;
    lab.note(Kind::Note, "poller  reregister (rearm)");
    let rearmed = lab.expect("poller", &mut poll, &mut events, "oneshot: the event after the rearm")?;
    let seen =
        format!("{}, then {} despite a new set, then {} after the rearm", first.len(), disarmed.len(), rearmed.len());
    let ok = first.len() == 1 && disarmed.is_empty() && rearmed.len() == 1;
    lab.check("oneshot", "1 event, none until the rearm, 1 after it", seen, ok);
    Ok(())
}
