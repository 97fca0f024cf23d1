//! `fairness`: one peer floods, ten send a little; who is served in a turn
//! of an edge-triggered loop, reading until WouldBlock or with a per-turn
//! read budget.
//!
//! The lab plays all eleven peers. "Without pause" is modelled by filling
//! the flooding peer's path (its send buffer and the server's receive
//! queue) until its write returns WouldBlock before every turn; each small
//! peer sends 100 bytes per turn, and the turn starts once they are all in
//! the server's receive queues. A turn is one wait and the dispatch of its
//! events. With the budget (one 16 KiB read per peer per turn), a peer
//! whose read was full may have more: it is kept on a carry list and
//! served next turn without a new event (an edge-triggered registration
//! would not report those bytes again), as eddy's reactor does.

use std::collections::BTreeSet;
use std::io::{self, Read as _, Write as _};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eddy_poll::net::{TcpListener, TcpStream};
use eddy_poll::{Events, Interest, Poll, Token, Trigger};

use super::record::{Kind, Lab};
use super::util::{MUST, accept_n, broken, errno_name, wait_connected};

const SMALL: usize = 10;
const TURNS: usize = 3;
/// Bytes per read; with the budget, one read per peer per turn.
const READ: usize = 16 * 1024;
const LITTLE: usize = 100;
/// The flood's pushes stop here even if the kernel would take more.
const FLOOD_CAP: usize = 64 << 20;

/// One turn: bytes served per peer (0 is the flood), and how much the flood
/// got before the first small peer was served.
struct Turn {
    served: Vec<usize>,
    flood_first: usize,
    small_wait: Duration,
}

struct Peers {
    clients: Vec<TcpStream>,
    servers: Vec<TcpStream>,
    poll: Poll,
}

pub(crate) fn fairness(lab: &mut Lab) -> io::Result<()> {
    lab.setup(format!(
        "{} loopback connections, registered READABLE, Edge; peer 0 floods, peers 1-{SMALL} send {LITTLE} bytes a turn",
        SMALL + 1
    ));
    lab.setup("before each turn the flood's path is filled until its write returns WouldBlock ('without pause')");
    lab.setup(format!(
        "policy A: on each event read {READ} bytes at a time until WouldBlock; policy B: one {READ}-byte read"
    ));
    lab.setup("per peer per turn, peers with a full read carried to the next turn; 3 turns each");
    let greedy = policy(lab, false)?;
    let budget = policy(lab, true)?;
    table(lab, "A (until WouldBlock)", &greedy);
    table(lab, "B (budget)", &budget);

    let starved = greedy.iter().all(|t| t.served[0] >= 8 * READ && t.served[1..].iter().all(|&n| n == LITTLE));
    let flood: Vec<String> = greedy.iter().map(|t| t.served[0].to_string()).collect();
    lab.check(
        "A: flood bytes per turn",
        format!("its whole backlog, at least {}, while each small peer gets its {LITTLE} after it", 8 * READ),
        flood.join(", "),
        starved,
    );
    let everyone = budget.iter().all(|t| t.served[1..].iter().all(|&n| n == LITTLE));
    let capped = budget.iter().all(|t| t.served[0] <= READ && t.flood_first <= READ);
    let small: Vec<String> =
        budget.iter().map(|t| format!("{}/{SMALL}", t.served[1..].iter().filter(|&&n| n == LITTLE).count())).collect();
    lab.check("B: small peers served, per turn", format!("{SMALL}/{SMALL} each turn"), small.join(", "), everyone);
    let flood: Vec<String> = budget.iter().map(|t| t.served[0].to_string()).collect();
    lab.check("B: flood bytes per turn", format!("at most {READ}"), flood.join(", "), capped);
    Ok(())
}

fn table(lab: &mut Lab, name: &str, turns: &[Turn]) {
    lab.note(Kind::Note, format!("policy {name}: bytes served per peer per turn (peer 0 floods)"));
    for (k, t) in turns.iter().enumerate() {
        let small: Vec<String> = t.served[1..].iter().map(ToString::to_string).collect();
        lab.note(
            Kind::Note,
            format!(
                "  turn {}: flood {:>9}  small [{}]  first small peer served after {} flood bytes, {:.2} ms",
                k + 1,
                t.served[0],
                small.join(" "),
                t.flood_first,
                t.small_wait.as_secs_f64() * 1e3
            ),
        );
    }
}

fn connect(lab: &Lab) -> io::Result<Peers> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let clients: Vec<TcpStream> =
        (0..=SMALL).map(|_| TcpStream::connect(listener.local_addr()?)).collect::<io::Result<_>>()?;
    let mut accepted = accept_n(&listener, SMALL + 1)?;
    let mut servers = Vec::new();
    for c in &clients {
        wait_connected(c)?;
        let me = c.local_addr()?;
        let k =
            accepted.iter().position(|s| s.peer_addr().ok() == Some(me)).ok_or_else(|| broken("a lost connection"))?;
        servers.push(accepted.swap_remove(k));
    }
    let poll = lab.poller()?;
    for (k, s) in servers.iter_mut().enumerate() {
        poll.registry().register(s, Token(k), Interest::READABLE, Trigger::Edge)?;
    }
    Ok(Peers { clients, servers, poll })
}

/// Runs the turns of one policy.
fn policy(lab: &mut Lab, budget: bool) -> io::Result<Vec<Turn>> {
    let mut peers = connect(lab)?;
    let mut events = Events::with_capacity(32);
    let mut carry = BTreeSet::new();
    let mut turns = Vec::new();
    lab.note(Kind::Note, format!("policy {}", if budget { "B (budget)" } else { "A (until WouldBlock)" }));
    for turn in 1..=TURNS {
        feed(lab, &peers, turn)?;
        let timeout = if carry.is_empty() { MUST } else { Duration::ZERO };
        let batch = lab.next("server", &mut peers.poll, &mut events, timeout)?;
        if batch.is_empty() && carry.is_empty() {
            return Err(super::util::timed_out("the turn's events"));
        }
        let mut order: Vec<usize> = batch.iter().map(|e| e.token().0).collect();
        order.extend(carry.iter().filter(|k| !order.contains(k)).copied().collect::<Vec<_>>());
        carry.clear();
        let start = Instant::now();
        let mut t = Turn { served: vec![0; SMALL + 1], flood_first: 0, small_wait: Duration::ZERO };
        for k in order {
            if k > 0 && t.small_wait.is_zero() {
                t.small_wait = start.elapsed();
                t.flood_first = t.served[0];
            }
            let (bytes, more) = serve(lab, &peers.servers[k], k, budget)?;
            t.served[k] += bytes;
            if more {
                carry.insert(k);
            }
        }
        turns.push(t);
    }
    Ok(turns)
}

/// The peers' part of a turn: the flood fills its path, each small peer
/// sends a little; returns once the small peers' bytes are all queued at
/// the server.
fn feed(lab: &mut Lab, peers: &Peers, turn: usize) -> io::Result<()> {
    let chunk = vec![b'f'; 64 * 1024];
    let (mut pushed, mut writes) = (0, 0);
    let end = loop {
        match (&peers.clients[0]).write(&chunk) {
            Ok(n) => (pushed, writes) = (pushed + n, writes + 1),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break "WouldBlock".to_string(),
            Err(e) => return Err(e),
        }
        if pushed >= FLOOD_CAP {
            break format!("the lab's cap of {FLOOD_CAP}");
        }
    };
    lab.note(Kind::Write, format!("peer 0  turn {turn}: {writes} writes of up to 65536 -> {pushed} bytes, then {end}"));
    for (k, c) in peers.clients.iter().enumerate().skip(1) {
        let mut c = c;
        c.write_all(&[b'a' + k as u8; LITTLE])?;
    }
    lab.note(Kind::Write, format!("peers 1-{SMALL}: one write of {LITTLE} bytes each"));
    let deadline = Instant::now() + MUST;
    let mut buf = [0u8; LITTLE];
    for s in &peers.servers[1..] {
        while s.peek(&mut buf).unwrap_or(0) < LITTLE {
            if Instant::now() > deadline {
                return Err(broken("a small peer's bytes did not reach the server"));
            }
            std::thread::yield_now();
        }
    }
    Ok(())
}

/// Serves peer `k`: until WouldBlock, or one read with the budget. Returns
/// the bytes read and whether more may be waiting (a full read).
fn serve(lab: &mut Lab, mut stream: &TcpStream, k: usize, budget: bool) -> io::Result<(usize, bool)> {
    let mut buf = vec![0u8; READ];
    let (mut bytes, mut reads) = (0, 0);
    let (end, more) = loop {
        match stream.read(&mut buf) {
            Ok(0) => break ("0 (EOF)".to_string(), false),
            Ok(n) => (bytes, reads) = (bytes + n, reads + 1),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break ("WouldBlock".to_string(), false),
            Err(e) => break (format!("Err({})", errno_name(&e)), false),
        }
        if budget {
            let full = bytes == READ;
            break (if full { "the budget; carried".to_string() } else { "a short read".to_string() }, full);
        }
    };
    lab.note(Kind::Read, format!("server  peer {k}: {reads} reads of up to {READ} -> {bytes} bytes, then {end}"));
    Ok((bytes, more))
}
