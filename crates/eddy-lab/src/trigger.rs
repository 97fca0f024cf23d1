//! The trigger experiments: `et-drain`, `et-partial`, `lt-partial`,
//! `oneshot`. Each uses one loopback connection; the lab plays the peer
//! (the client) and the server, whose side is registered with the trigger
//! under test.

use std::io;
use std::net::Shutdown;

use eddy_poll::net::TcpStream;
use eddy_poll::{Events, Interest, Poll, Token, Trigger};

use super::record::{Kind, Lab};
use super::tcpstate;
use super::util::{Io, show_bytes, tcp_pair, wait_read_closed};

const SERVER: Token = Token(1);
/// What the peer sends first: 20 bytes, one write, one segment.
const DATA: &[u8; 20] = b"0123456789abcdefghij";
/// What the peer sends next.
const MORE: &[u8; 4] = b"KLMN";

/// The results of several reads, for a person: `16, 4, WouldBlock`.
fn sizes(reads: &[Io]) -> String {
    reads.iter().map(Io::describe).collect::<Vec<_>>().join(", ")
}

/// A connection whose server side is registered with `trigger`.
fn setup(lab: &mut Lab, trigger: Trigger) -> io::Result<(TcpStream, TcpStream, Poll, Events)> {
    let (client, mut server) = tcp_pair()?;
    let poll = lab.poller()?;
    poll.registry().register(&mut server, SERVER, Interest::READABLE, trigger)?;
    lab.note(Kind::Note, format!("server  registered READABLE, {trigger:?}, token {}", SERVER.0));
    Ok((client, server, poll, Events::with_capacity(8)))
}

pub(crate) fn et_drain(lab: &mut Lab) -> io::Result<()> {
    lab.setup("a loopback TCP connection; the server side is registered READABLE, Edge");
    lab.setup(
        "the peer sends 20 bytes in one write; on the event the server reads 16 bytes at a time until WouldBlock",
    );
    if lab.emulated() {
        lab.setup("edge is emulated on this backend: after an event the direction is muted until a WouldBlock");
    }
    let (client, server, mut poll, mut events) = setup(lab, Trigger::Edge)?;
    lab.write("peer", &client, DATA);
    let first = lab.expect("server", &mut poll, &mut events, "the event for the 20 bytes")?;
    let (reads, data) = lab.read_until_blocked("server", &server, 16);
    let later = lab.quiet("server", &mut poll, &mut events)?;

    let n = first.len() + later.len();
    let readable = first.iter().all(|e| e.token() == SERVER && e.is_readable());
    lab.check("events", "1, readable", format!("{n}{}", if readable { ", readable" } else { "" }), n == 1 && readable);
    let seen = sizes(&reads);
    lab.check("reads", "16, 4, WouldBlock", &seen, seen == "16, 4, WouldBlock");
    lab.check("bytes", show_bytes(DATA), show_bytes(&data), data == DATA);
    Ok(())
}

pub(crate) fn et_partial(lab: &mut Lab) -> io::Result<()> {
    lab.setup("a loopback TCP connection; the server side is registered READABLE, Edge");
    lab.setup("the peer sends 20 bytes; the server reads 16 once per event; later the peer sends 4 more");
    let emulated = lab.emulated();
    if emulated {
        lab.setup(
            "edge is emulated on this backend: the direction stays muted until a read returns WouldBlock, \
             so (unlike epoll) even the new arrival raises no event; the server then reads until WouldBlock",
        );
    }
    let (client, server, mut poll, mut events) = setup(lab, Trigger::Edge)?;
    lab.write("peer", &client, DATA);
    lab.expect("server", &mut poll, &mut events, "the event for the 20 bytes")?;
    lab.read("server", &server, 16);
    let left = lab.quiet("server", &mut poll, &mut events)?;
    lab.check("event for the 4 bytes left", "none", format!("{} events", left.len()), left.is_empty());

    lab.write("peer", &client, MORE);
    let want = b"ghijKLMN";
    if emulated {
        let after = lab.quiet("server", &mut poll, &mut events)?;
        lab.check(
            "event for the new arrival (emulated edge)",
            "none",
            format!("{} events", after.len()),
            after.is_empty(),
        );
        let (reads, data) = lab.read_until_blocked("server", &server, 16);
        lab.check("next reads", "8, WouldBlock", sizes(&reads), sizes(&reads) == "8, WouldBlock");
        lab.check("old bytes first", show_bytes(want), show_bytes(&data), data == want);
        lab.write("peer", &client, b"OPQR");
        let rearmed =
            lab.expect("server", &mut poll, &mut events, "the event after the WouldBlock re-armed the edge")?;
        lab.check("event once WouldBlock re-armed it", "1", rearmed.len(), rearmed.len() == 1);
    } else {
        let second = lab.expect("server", &mut poll, &mut events, "the event for the new arrival")?;
        lab.check("event for the new arrival", "1", second.len(), second.len() == 1);
        let (io, data) = lab.read("server", &server, 16);
        lab.check("next read", "8", io.describe(), matches!(io, Io::Done(8)));
        lab.check("old bytes first", show_bytes(want), show_bytes(&data), data == want);
    }
    Ok(())
}

pub(crate) fn lt_partial(lab: &mut Lab) -> io::Result<()> {
    lab.setup("a loopback TCP connection; the server side is registered READABLE, Level");
    lab.setup("the peer sends 20 bytes; the server reads 16 once per event; then the peer closes");
    let select = lab.backend == eddy_poll::Backend::Select;
    if select {
        lab.setup("select has no read-closed bit: the close shows as readable (0x1), and the read's 0 tells EOF");
    }
    let (client, server, mut poll, mut events) = setup(lab, Trigger::Level)?;
    lab.write("peer", &client, DATA);
    lab.expect("server", &mut poll, &mut events, "the event for the 20 bytes")?;
    lab.read("server", &server, 16);
    let second = lab.expect("server", &mut poll, &mut events, "level: the event for the 4 bytes left")?;
    lab.check("event for the rest", "1", second.len(), second.len() == 1 && second[0].is_readable());
    let (io, _) = lab.read("server", &server, 16);
    lab.check("second read", "4", io.describe(), matches!(io, Io::Done(4)));
    let drained = lab.quiet("server", &mut poll, &mut events)?;
    lab.check("events once drained", "none", format!("{} events", drained.len()), drained.is_empty());

    drop(client);
    lab.note(Kind::Write, "peer    close() -> FIN");
    let close = lab.expect("server", &mut poll, &mut events, "the event for the peer's close")?;
    let raw = close.first().map_or(0, |e| e.raw());
    let (want, ok) = if select {
        ("readable only, raw 0x1", raw == 0x1)
    } else {
        ("read-closed, raw 0x2001 (IN|RDHUP)", raw == 0x2001 && close[0].is_read_closed())
    };
    lab.check("the close's event", want, format!("raw {raw:#x}"), ok);
    let (io, _) = lab.read("server", &server, 16);
    lab.check("read after the close", "0 (EOF)", io.describe(), matches!(io, Io::Eof));
    Ok(())
}

pub(crate) fn oneshot(lab: &mut Lab) -> io::Result<()> {
    lab.setup("a loopback TCP connection; the server side is registered READABLE, Oneshot");
    lab.setup("the peer sends 20 bytes; the server reads 16 once; the peer sends 4 more and shuts down writing");
    lab.setup("(shutdown(Write) sends the FIN of a close, and keeps the peer's fd to see what comes back)");
    lab.setup(
        "rearmed variant: a new connection; after the partial read and the peer's 4 bytes, the server reregisters",
    );
    oneshot_disarmed(lab)?;
    lab.note(Kind::Note, "rearmed variant:");
    oneshot_rearmed(lab)
}

fn oneshot_disarmed(lab: &mut Lab) -> io::Result<()> {
    let (client, server, mut poll, mut events) = setup(lab, Trigger::Oneshot)?;
    let (local, remote) = (server.local_addr()?, server.peer_addr()?);
    lab.write("peer", &client, DATA);
    lab.expect("server", &mut poll, &mut events, "the first event")?;
    lab.read("server", &server, 16);
    lab.write("peer", &client, MORE);
    client.shutdown(Shutdown::Write)?;
    lab.note(Kind::Write, "peer    shutdown(Write) -> FIN");
    let silent = lab.quiet("server", &mut poll, &mut events)?;
    lab.check(
        "events after the first, despite new data and FIN",
        "none",
        format!("{} events", silent.len()),
        silent.is_empty(),
    );

    // The disarmed registration can't say when the FIN is in; a poller of
    // the lab's own can.
    wait_read_closed(&server)?;
    let row = lab.tcp_state("server", local, remote)?;
    let (state, unread) = row.as_ref().map_or((0, 0), |r| (r.state, r.rx_queue));
    lab.check(
        "server socket",
        "CLOSE_WAIT with the 8 unread bytes (rx_queue >= 8; the FIN counts one)",
        row.map_or("gone".to_string(), |r| r.describe()),
        state == tcpstate::CLOSE_WAIT && unread >= 8,
    );

    drop(server);
    lab.note(Kind::Write, "server  close() with 8 bytes unread");
    lab.wait_peer("peer", &client, "the peer's event after the server's close")?;
    let (io, _) = lab.read("peer", &client, 64);
    lab.check("peer's read after the close", "Err(ECONNRESET): the close sent RST", io.describe(), io.is_reset());
    lab.tcp_state("peer", remote, local)?;
    Ok(())
}

fn oneshot_rearmed(lab: &mut Lab) -> io::Result<()> {
    let (client, mut server, mut poll, mut events) = setup(lab, Trigger::Oneshot)?;
    lab.write("peer", &client, DATA);
    lab.expect("server", &mut poll, &mut events, "the first event")?;
    lab.read("server", &server, 16);
    lab.write("peer", &client, MORE);
    let silent = lab.quiet("server", &mut poll, &mut events)?;
    lab.check(
        "rearmed variant: events before the rearm",
        "none",
        format!("{} events", silent.len()),
        silent.is_empty(),
    );
    poll.registry().reregister(&mut server, SERVER, Interest::READABLE, Trigger::Oneshot)?;
    lab.note(Kind::Note, "server  reregister READABLE, Oneshot (rearm)");
    let rearmed = lab.expect("server", &mut poll, &mut events, "the event after the rearm")?;
    lab.check("rearmed variant: event after the rearm", "1", rearmed.len(), rearmed.len() == 1);
    let (reads, data) = lab.read_until_blocked("server", &server, 16);
    let want = b"ghijKLMN";
    lab.check("rearmed variant: reads", "8, WouldBlock", sizes(&reads), sizes(&reads) == "8, WouldBlock");
    lab.check("rearmed variant: the old bytes, then the new", show_bytes(want), show_bytes(&data), data == want);
    Ok(())
}
