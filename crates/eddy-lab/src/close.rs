//! The experiments around FIN, RST and close: `close-wait`,
//! `rst-on-unread`, `double-eof`, `half-close`.

use std::io;
use std::net::{Shutdown, SocketAddr};

use eddy_poll::net::{TcpListener, TcpStream};
use eddy_poll::{Backend, Event, Events, Interest, Token, Trigger};

use super::record::{Kind, Lab};
use super::tcpstate::{self, state_name};
use super::util::{Io, accept_n, show_bytes, tcp_pair, wait_connected};

const CLIENTS: usize = 3;

pub(crate) fn close_wait(lab: &mut Lab) -> io::Result<()> {
    lab.setup(format!(
        "a listener and {CLIENTS} loopback clients; the server registers each connection READABLE, Level"
    ));
    lab.setup("the clients close; on each EOF (a read of 0) the server deregisters the connection and then");
    lab.setup("first round: keeps it open (never closes); second round: closes it");
    let (kept, states) = eof_round(lab, false)?;
    let waiting = states.iter().filter(|s| **s == tcpstate::CLOSE_WAIT).count();
    lab.check(
        "server that never closes",
        format!("{CLIENTS} sockets in CLOSE_WAIT"),
        format!("{waiting} in CLOSE_WAIT"),
        waiting == CLIENTS,
    );

    let (_, states) = eof_round(lab, true)?;
    let waiting = states.iter().filter(|s| **s == tcpstate::CLOSE_WAIT).count();
    let names: Vec<&str> = states.iter().map(|s| if *s == 0 { "gone" } else { state_name(*s) }).collect();
    lab.check(
        "server that closes",
        "no socket in CLOSE_WAIT (LAST_ACK until the peer's ACK, then gone)",
        format!("{waiting} in CLOSE_WAIT ({})", names.join(", ")),
        waiting == 0,
    );

    lab.note(Kind::Note, "the first server closes its connections at last:");
    let sockets: Vec<(&str, SocketAddr, SocketAddr)> = kept.iter().map(|&(_, l, r)| ("server", l, r)).collect();
    drop(kept);
    lab.tcp_states(&sockets)?;
    Ok(())
}

/// One round of `close-wait`: returns the never-closed streams (with their
/// addresses) and the state of each server-side socket after every EOF
/// (0 if the kernel has freed it).
#[allow(clippy::type_complexity)]
fn eof_round(lab: &mut Lab, close: bool) -> io::Result<(Vec<(TcpStream, SocketAddr, SocketAddr)>, Vec<u8>)> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let clients: Vec<TcpStream> =
        (0..CLIENTS).map(|_| TcpStream::connect(listener.local_addr()?)).collect::<io::Result<_>>()?;
    let mut servers: Vec<Option<TcpStream>> = accept_n(&listener, CLIENTS)?.into_iter().map(Some).collect();
    let mut poll = lab.poller()?;
    let mut events = Events::with_capacity(8);
    for (i, s) in servers.iter_mut().enumerate() {
        if let Some(s) = s {
            poll.registry().register(s, Token(i), Interest::READABLE, Trigger::Level)?;
        }
    }
    for c in &clients {
        wait_connected(c)?;
    }
    let addrs: Vec<(SocketAddr, SocketAddr)> =
        servers.iter().flatten().map(|s| Ok((s.local_addr()?, s.peer_addr()?))).collect::<io::Result<_>>()?;
    drop(clients);
    lab.note(Kind::Write, format!("peers   close() x{CLIENTS} -> FIN"));

    let mut eofs = 0;
    while eofs < CLIENTS {
        for e in lab.expect("server", &mut poll, &mut events, "the EOF of every connection")? {
            let Some(stream) = servers.get_mut(e.token().0).and_then(Option::as_mut) else { continue };
            let (io, _) = lab.read("server", &*stream, 64);
            if !matches!(io, Io::Eof) {
                continue;
            }
            eofs += 1;
            poll.registry().deregister(stream)?;
            if close {
                servers[e.token().0] = None;
                lab.note(Kind::Write, format!("server  close() connection {}", e.token().0));
            } else {
                lab.note(Kind::Note, format!("server  keeps connection {} open", e.token().0));
            }
        }
    }
    let sockets: Vec<(&str, SocketAddr, SocketAddr)> =
        addrs.iter().flat_map(|&(l, r)| [("server", l, r), ("peer", r, l)]).collect();
    let rows = lab.tcp_states(&sockets)?;
    let states = rows.iter().step_by(2).map(|r| r.as_ref().map_or(0, |r| r.state)).collect();
    let kept = servers.into_iter().zip(addrs).filter_map(|(s, (l, r))| s.map(|s| (s, l, r))).collect();
    Ok((kept, states))
}

/// Whether `e` shows a reset the way the backend can: error and
/// read-closed bits, or (select) just readable.
fn shows_reset(backend: Backend, e: &Event) -> bool {
    if backend == Backend::Select { e.is_readable() } else { e.is_error() && e.is_read_closed() }
}

pub(crate) fn rst_on_unread(lab: &mut Lab) -> io::Result<()> {
    lab.setup("a loopback TCP connection; the peer (client) is registered READABLE, Edge, and sends 100 bytes");
    lab.setup("first: the server closes without reading them; second: the server shuts down writing, drains, closes");
    if lab.backend == Backend::Select {
        lab.setup("select has no error or read-closed bit: a reset shows as readable, and the read tells which");
    }
    let request = [b'r'; 100];

    let (mut client, server) = tcp_pair()?;
    let (mut poll, mut events) = (lab.poller()?, Events::with_capacity(8));
    poll.registry().register(&mut client, Token(2), Interest::READABLE, Trigger::Edge)?;
    let (local, remote) = (server.local_addr()?, server.peer_addr()?);
    lab.write("peer", &client, &request);
    lab.wait_peer("server", &server, "the 100 bytes at the server")?;
    lab.tcp_state("server", local, remote)?;
    drop(server);
    lab.note(Kind::Write, "server  close() with 100 bytes unread");
    let ev = lab.expect("peer", &mut poll, &mut events, "the peer's event after the close")?;
    let reset_bits = ev.iter().any(|e| shows_reset(lab.backend, e));
    let (io, _) = lab.read("peer", &client, 64);
    lab.tcp_state("peer", remote, local)?;
    lab.check("unread close: the peer's event", "error and read-closed (RST)", raw_list(&ev), reset_bits);
    lab.check("unread close: the peer's read", "Err(ECONNRESET)", io.describe(), io.is_reset());

    let (mut client, server) = tcp_pair()?;
    let (mut poll, mut events) = (lab.poller()?, Events::with_capacity(8));
    poll.registry().register(&mut client, Token(2), Interest::READABLE, Trigger::Edge)?;
    let (local, remote) = (server.local_addr()?, server.peer_addr()?);
    lab.write("peer", &client, &request);
    lab.wait_peer("server", &server, "the 100 bytes at the server")?;
    server.shutdown(Shutdown::Write)?;
    lab.note(Kind::Write, "server  shutdown(Write) -> FIN");
    let (reads, _) = lab.read_until_blocked("server", &server, 4096);
    drop(server);
    lab.note(Kind::Write, "server  close() with nothing unread");
    let ev = lab.expect("peer", &mut poll, &mut events, "the peer's event for the FIN")?;
    let (io, _) = lab.read("peer", &client, 64);
    let later = lab.quiet("peer", &mut poll, &mut events)?;
    let pending = client.take_error()?;
    lab.note(Kind::Note, format!("peer    take_error() -> {pending:?}"));
    lab.tcp_states(&[("peer", remote, local), ("server", local, remote)])?;
    let drained = reads.iter().map(Io::describe).collect::<Vec<_>>().join(", ");
    lab.check("drain: the server's reads", "100, WouldBlock", &drained, drained == "100, WouldBlock");
    let fin_bits = ev.iter().all(|e| !e.is_error());
    lab.check("drain: the peer's event", "no error bit (FIN, not RST)", raw_list(&ev), fin_bits);
    lab.check("drain: the peer's read", "0 (EOF)", io.describe(), matches!(io, Io::Eof));
    let clean = later.is_empty() && pending.is_none();
    lab.check("drain: afterwards", "no event, no pending error", format!("{} events, {pending:?}", later.len()), clean);
    Ok(())
}

fn raw_list(events: &[Event]) -> String {
    let raws: Vec<String> = events.iter().map(|e| format!("{:#x}", e.raw())).collect();
    format!("raw {}", raws.join(", "))
}

pub(crate) fn double_eof(lab: &mut Lab) -> io::Result<()> {
    lab.setup("a loopback TCP connection; the client is registered READABLE, Edge; the server closes (FIN)");
    lab.setup("on the EOF the client shuts down its own side, as it does before closing; first it stays registered,");
    lab.setup("then (a new connection) it deregisters at the first EOF; every event is read, a read of 0 is an EOF");
    let emulated = lab.emulated();
    if emulated {
        lab.setup("edge is emulated on this backend: a read of 0 is not WouldBlock, so the direction stays muted");
    }
    let stay = eof_count(lab, false)?;
    let (want, ok) = if emulated { ("1 (muted after the EOF)", stay == 1) } else { ("2 or more", stay >= 2) };
    lab.check("EOF notifications while registered", want, stay, ok);
    let gone = eof_count(lab, true)?;
    lab.check("EOF notifications when deregistered at the first", "1", gone, gone == 1);
    if !emulated {
        lab.note(
            Kind::Note,
            "an edge is any wake-up of the socket: the FIN, then the client's own shutdown and the final ACK \
             (the last two may merge); each finds the socket at EOF, so each reads as one more EOF",
        );
    }
    Ok(())
}

fn eof_count(lab: &mut Lab, deregister: bool) -> io::Result<usize> {
    let (mut client, server) = tcp_pair()?;
    let (mut poll, mut events) = (lab.poller()?, Events::with_capacity(8));
    poll.registry().register(&mut client, Token(1), Interest::READABLE, Trigger::Edge)?;
    drop(server);
    lab.note(Kind::Write, "server  close() -> FIN");
    lab.expect("client", &mut poll, &mut events, "the first EOF's event")?;
    let (io, _) = lab.read("client", &client, 64);
    let mut count = usize::from(matches!(io, Io::Eof));
    if deregister {
        poll.registry().deregister(&mut client)?;
        lab.note(Kind::Note, "client  deregister");
    }
    client.shutdown(Shutdown::Write)?;
    lab.note(Kind::Write, "client  shutdown(Write) -> FIN");
    if !deregister && !lab.emulated() {
        for _ in lab.expect("client", &mut poll, &mut events, "the event of the client's own shutdown")? {
            let (io, _) = lab.read("client", &client, 64);
            count += usize::from(matches!(io, Io::Eof));
        }
    }
    for _ in lab.quiet("client", &mut poll, &mut events)? {
        let (io, _) = lab.read("client", &client, 64);
        count += usize::from(matches!(io, Io::Eof));
    }
    Ok(count)
}

pub(crate) fn half_close(lab: &mut Lab) -> io::Result<()> {
    lab.setup("a loopback TCP connection; the server side is registered READABLE, Edge");
    lab.setup("the peer shuts down writing (FIN) and keeps reading; the server looks at the event, writes, then reads");
    let select = lab.backend == Backend::Select;
    if select {
        lab.setup("select has no read-closed bit: the FIN shows as readable, and only the read's 0 tells EOF");
    }
    let (client, mut server) = tcp_pair()?;
    let (mut poll, mut events) = (lab.poller()?, Events::with_capacity(8));
    poll.registry().register(&mut server, Token(1), Interest::READABLE, Trigger::Edge)?;
    client.shutdown(Shutdown::Write)?;
    lab.note(Kind::Write, "peer    shutdown(Write) -> FIN");
    let ev = lab.expect("server", &mut poll, &mut events, "the event for the peer's FIN")?;
    let closed = ev.iter().any(|e| if select { e.is_readable() } else { e.is_read_closed() });
    let want = if select { "readable (select can't say more)" } else { "read-closed, before any read" };
    lab.check("the FIN's event", want, raw_list(&ev), closed);

    let reply = b"still here after your FIN";
    let io = lab.write("server", &server, reply);
    lab.check("server's write", reply.len(), io.describe(), matches!(io, Io::Done(n) if n == reply.len()));
    lab.wait_peer("peer", &client, "the server's reply at the peer")?;
    let (_, data) = lab.read("peer", &client, 64);
    lab.check("peer reads it", show_bytes(reply), show_bytes(&data), data == reply);
    let (io, _) = lab.read("server", &server, 64);
    lab.check("server's read", "0 (EOF)", io.describe(), matches!(io, Io::Eof));
    Ok(())
}
