//! The four trigger modes on real TCP sockets, on every backend.
//!
//! epoll does every mode itself. poll(2) and select(2) are level-only, so
//! eddy emulates the others (`Trigger::Edge` docs): after an edge event, the
//! direction stays silent until an eddy socket's operation in it returns
//! `WouldBlock`, or until `reregister`; unlike epoll, new data arriving
//! before that raises no second event. Where the backends differ, each test
//! asserts each backend's documented behaviour.

#[macro_use]
mod util;

use std::io::{Read, Write};

use eddy_poll::{Backend, Interest, Token, Trigger};
use util::{
    Readiness, assert_would_block, collect_events, expect_event, expect_no_events, poller, raw, read_until_would_block,
    tcp_pair,
};

backend_tests!(
    edge_read_to_would_block_then_silence_then_new_data,
    edge_partial_read,
    edge_would_block_rearms,
    edge_writable_once_then_again_after_would_block,
    edge_readable_and_writable_are_separate,
    level_partial_read_reports_again,
    level_writable_reported_every_wait,
    oneshot_silent_until_rearmed,
    edge_oneshot_silent_until_rearmed,
    reregister_changes_trigger,
);

const T: Token = Token(1);

fn edge_read_to_would_block_then_silence_then_new_data(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut client, mut server) = tcp_pair();
    poll.registry().register(&mut server, T, Interest::READABLE, Trigger::Edge).unwrap();

    client.write_all(b"hello").unwrap();
    expect_event(&mut poll, &mut events, T, Readiness::READABLE);
    let (data, eof) = read_until_would_block(&server);
    assert_eq!((data.as_slice(), eof), (&b"hello"[..], false));
    expect_no_events(&mut poll, &mut events, &[T]);

    client.write_all(b"world").unwrap();
    expect_event(&mut poll, &mut events, T, Readiness::READABLE);
    assert_eq!(read_until_would_block(&server).0, b"world");
    expect_no_events(&mut poll, &mut events, &[T]);
}

fn edge_partial_read(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut client, mut server) = tcp_pair();
    poll.registry().register(&mut server, T, Interest::READABLE, Trigger::Edge).unwrap();

    client.write_all(b"0123456789").unwrap();
    expect_event(&mut poll, &mut events, T, Readiness::READABLE);
    let mut first = [0u8; 4];
    server.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"0123");
    // Bytes left unread: no new edge, no event (every backend).
    expect_no_events(&mut poll, &mut events, &[T]);

    client.write_all(b"!").unwrap();
    match backend {
        // A new arrival is a new edge.
        Backend::Epoll => {
            expect_event(&mut poll, &mut events, T, Readiness::READABLE);
        }
        // Emulated edge: the direction stays muted until WouldBlock or
        // reregister, so the new data raises nothing; reregister re-arms it.
        Backend::Poll | Backend::Select => {
            expect_no_events(&mut poll, &mut events, &[T]);
            poll.registry().reregister(&mut server, T, Interest::READABLE, Trigger::Edge).unwrap();
            expect_event(&mut poll, &mut events, T, Readiness::READABLE);
        }
    }
    // The old bytes come first.
    assert_eq!(read_until_would_block(&server).0, b"456789!");
    expect_no_events(&mut poll, &mut events, &[T]);
}

/// A read that returns `WouldBlock` re-arms the edge on every backend (on
/// poll and select this is the emulation's re-arm path).
fn edge_would_block_rearms(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut client, mut server) = tcp_pair();
    poll.registry().register(&mut server, T, Interest::READABLE, Trigger::Edge).unwrap();

    client.write_all(b"abcdef").unwrap();
    expect_event(&mut poll, &mut events, T, Readiness::READABLE);
    let mut two = [0u8; 2];
    server.read_exact(&mut two).unwrap();
    expect_no_events(&mut poll, &mut events, &[T]);
    assert_eq!(read_until_would_block(&server).0, b"cdef");
    assert_would_block(server.read(&mut two));
    expect_no_events(&mut poll, &mut events, &[T]);

    client.write_all(b"gh").unwrap();
    expect_event(&mut poll, &mut events, T, Readiness::READABLE);
    assert_eq!(read_until_would_block(&server).0, b"gh");
}

/// Edge on `WRITABLE`: one event for a socket with room, then silence while
/// it stays writable; after a write that returned `WouldBlock`, a new event
/// once the peer has drained the buffer.
fn edge_writable_once_then_again_after_would_block(backend: Backend) {
    const SERVER: Token = Token(2);
    let (mut poll, mut events) = poller(backend, 8);
    let (mut client, mut server) = tcp_pair();
    poll.registry().register(&mut client, T, Interest::WRITABLE, Trigger::Edge).unwrap();
    expect_event(&mut poll, &mut events, T, Readiness::WRITABLE);
    expect_no_events(&mut poll, &mut events, &[T]);

    // Fill the send buffer (and the peer's receive buffer).
    let chunk = vec![7u8; 64 * 1024];
    let mut sent = 0usize;
    loop {
        match client.write(&chunk) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("write: {e}"),
        }
        assert!(sent < 512 * 1024 * 1024, "the send buffer never filled");
    }

    // The peer drains everything: room again, a new writable edge (seen
    // while draining or after).
    poll.registry().register(&mut server, SERVER, Interest::READABLE, Trigger::Level).unwrap();
    let deadline = std::time::Instant::now() + util::LONG;
    let mut received = 0usize;
    let mut writable_again = false;
    while received < sent || !writable_again {
        assert!(
            std::time::Instant::now() < deadline,
            "{backend}: received {received} of {sent}, writable again: {writable_again}"
        );
        for s in util::poll_once(&mut poll, &mut events, util::LONG) {
            writable_again |= s.token == T && s.raw & raw::OUT != 0;
            if s.token == SERVER {
                let (data, eof) = read_until_would_block(&server);
                assert!(!eof, "unexpected end of stream");
                received += data.len();
            }
        }
    }
}

/// Edge on `READABLE | WRITABLE`: the writable event does not silence the
/// readable direction (the emulation mutes only the directions it reported).
fn edge_readable_and_writable_are_separate(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut client, mut server) = tcp_pair();
    poll.registry().register(&mut server, T, Interest::READABLE | Interest::WRITABLE, Trigger::Edge).unwrap();
    let seen = expect_event(&mut poll, &mut events, T, Readiness::WRITABLE);
    assert!(seen.iter().all(|s| s.raw & raw::IN == 0), "{backend}: nothing to read yet: {seen:?}");
    expect_no_events(&mut poll, &mut events, &[T]);

    client.write_all(b"data").unwrap();
    expect_event(&mut poll, &mut events, T, Readiness::READABLE);
    assert_eq!(read_until_would_block(&server).0, b"data");
}

fn level_partial_read_reports_again(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut client, mut server) = tcp_pair();
    poll.registry().register(&mut server, T, Interest::READABLE, Trigger::Level).unwrap();

    client.write_all(b"0123456789").unwrap();
    expect_event(&mut poll, &mut events, T, Readiness::READABLE);
    let mut first = [0u8; 4];
    server.read_exact(&mut first).unwrap();
    // Bytes remain: reported on every wait.
    for _ in 0..3 {
        let seen = util::poll_once(&mut poll, &mut events, util::LONG);
        assert!(seen.iter().any(|s| s.token == T && s.raw & raw::IN != 0), "{backend}: level: {seen:?}");
    }
    assert_eq!(read_until_would_block(&server).0, b"456789");
    expect_no_events(&mut poll, &mut events, &[T]);
}

fn level_writable_reported_every_wait(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut client, _server) = tcp_pair();
    poll.registry().register(&mut client, T, Interest::WRITABLE, Trigger::Level).unwrap();
    for _ in 0..5 {
        let seen = util::poll_once(&mut poll, &mut events, util::LONG);
        assert!(seen.iter().any(|s| s.token == T && s.raw & raw::OUT != 0), "{backend}: level: {seen:?}");
    }
}

fn oneshot_silent_until_rearmed(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut client, mut server) = tcp_pair();
    poll.registry().register(&mut server, T, Interest::READABLE, Trigger::Oneshot).unwrap();

    client.write_all(b"first").unwrap();
    expect_event(&mut poll, &mut events, T, Readiness::READABLE);
    // Disarmed: unread data and new data raise nothing.
    expect_no_events(&mut poll, &mut events, &[T]);
    client.write_all(b"second").unwrap();
    expect_no_events(&mut poll, &mut events, &[T]);
    // Reading to WouldBlock does not re-arm a oneshot either.
    assert_eq!(read_until_would_block(&server).0, b"firstsecond");
    client.write_all(b"third").unwrap();
    expect_no_events(&mut poll, &mut events, &[T]);

    // Rearmed: the pending data is reported at once, then silence again.
    poll.registry().reregister(&mut server, T, Interest::READABLE, Trigger::Oneshot).unwrap();
    expect_event(&mut poll, &mut events, T, Readiness::READABLE);
    expect_no_events(&mut poll, &mut events, &[T]);
    assert_eq!(read_until_would_block(&server).0, b"third");
}

fn edge_oneshot_silent_until_rearmed(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut client, mut server) = tcp_pair();
    poll.registry().register(&mut server, T, Interest::READABLE, Trigger::EdgeOneshot).unwrap();

    client.write_all(b"x").unwrap();
    expect_event(&mut poll, &mut events, T, Readiness::READABLE);
    client.write_all(b"y").unwrap();
    expect_no_events(&mut poll, &mut events, &[T]);
    assert_eq!(read_until_would_block(&server).0, b"xy");
    client.write_all(b"z").unwrap();
    expect_no_events(&mut poll, &mut events, &[T]);

    // A rearm of a socket that is ready then reports it (EPOLL_CTL_MOD
    // checks readiness; the emulation polls it again).
    poll.registry().reregister(&mut server, T, Interest::READABLE, Trigger::EdgeOneshot).unwrap();
    expect_event(&mut poll, &mut events, T, Readiness::READABLE);
    expect_no_events(&mut poll, &mut events, &[T]);
    assert_eq!(read_until_would_block(&server).0, b"z");

    // A rearm of a socket that is not ready reports nothing until data
    // arrives, then once.
    poll.registry().reregister(&mut server, T, Interest::READABLE, Trigger::EdgeOneshot).unwrap();
    expect_no_events(&mut poll, &mut events, &[T]);
    client.write_all(b"w").unwrap();
    expect_event(&mut poll, &mut events, T, Readiness::READABLE);
    client.write_all(b"v").unwrap();
    expect_no_events(&mut poll, &mut events, &[T]);
}

/// Reregistering switches the trigger: level (reported on every wait) to
/// edge (reported once), and back.
fn reregister_changes_trigger(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut client, mut server) = tcp_pair();
    poll.registry().register(&mut server, T, Interest::READABLE, Trigger::Level).unwrap();
    client.write_all(b"unread").unwrap();
    expect_event(&mut poll, &mut events, T, Readiness::READABLE);
    expect_event(&mut poll, &mut events, T, Readiness::READABLE);

    poll.registry().reregister(&mut server, T, Interest::READABLE, Trigger::Edge).unwrap();
    // The rearm reports the data that is there (at most once), then silence.
    let seen = collect_events(&mut poll, &mut events, util::SHORT);
    assert!(seen.iter().filter(|s| s.token == T).count() <= 1, "{backend}: edge after level: {seen:?}");
    expect_no_events(&mut poll, &mut events, &[T]);

    poll.registry().reregister(&mut server, T, Interest::READABLE, Trigger::Level).unwrap();
    for _ in 0..3 {
        expect_event(&mut poll, &mut events, T, Readiness::READABLE);
    }
}
