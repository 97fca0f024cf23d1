//! `TcpListener` and `TcpStream` on loopback: accept, connect, round trips,
//! half-close, reset, refused connect, priority data; the events each
//! backend reports for them (select reports only readable / writable /
//! priority, see `Event`).

#[macro_use]
mod util;

use std::io::{ErrorKind, IoSlice, IoSliceMut, Read, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

use eddy_poll::net::{TcpListener, TcpStream};
use eddy_poll::{Backend, Interest, Token, Trigger};
use util::{
    ExpectEvent, LONG, Readiness, assert_error_kind, assert_would_block, closed_port, expect_event, expect_events,
    expect_no_events, poll_once, poller, raw, read_until_would_block, tcp_listener, tcp_pair,
};

backend_tests!(
    accept_and_connect,
    round_trip_both_ways,
    peer_shutdown_write_gives_read_closed_after_data,
    peer_reset_gives_read_closed_or_error_and_reset_read,
    connect_to_closed_port_gives_error_event,
    priority_data_is_reported,
    listener_edge_accept_until_would_block,
    try_io_would_block_rearms_edge,
    from_std_and_fd_conversions,
);

const LISTENER: Token = Token(0);
const CLIENT: Token = Token(1);
const SERVER: Token = Token(2);

fn accept_and_connect(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut listener, addr) = tcp_listener();
    poll.registry().register(&mut listener, LISTENER, Interest::READABLE, Trigger::Edge).unwrap();
    let mut client = TcpStream::connect(addr).unwrap();
    poll.registry().register(&mut client, CLIENT, Interest::WRITABLE, Trigger::Edge).unwrap();
    expect_events(
        &mut poll,
        &mut events,
        vec![ExpectEvent::new(LISTENER, Readiness::READABLE), ExpectEvent::new(CLIENT, Readiness::WRITABLE)],
    );
    assert!(client.take_error().unwrap().is_none());
    assert_eq!(client.peer_addr().unwrap(), addr);

    let (server, peer) = listener.accept().unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
    assert_eq!(server.local_addr().unwrap(), addr);
    assert_would_block(listener.accept());
    // Sockets are close-on-exec, accepted ones included.
    assert!(util::is_cloexec(&listener) && util::is_cloexec(&client) && util::is_cloexec(&server));
    // And non-blocking: nothing to read is WouldBlock, not a hang.
    assert_would_block((&server).read(&mut [0u8; 8]));
}

fn round_trip_both_ways(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut client, mut server) = tcp_pair();
    poll.registry().register(&mut client, CLIENT, Interest::READABLE, Trigger::Edge).unwrap();
    poll.registry().register(&mut server, SERVER, Interest::READABLE, Trigger::Edge).unwrap();

    let n = client.write_vectored(&[IoSlice::new(b"hello, "), IoSlice::new(b"server")]).unwrap();
    assert_eq!(n, 13);
    expect_event(&mut poll, &mut events, SERVER, Readiness::READABLE);
    let mut peeked = [0u8; 5];
    assert_eq!(server.peek(&mut peeked).unwrap(), 5);
    assert_eq!(&peeked, b"hello");
    let (mut a, mut b) = ([0u8; 7], [0u8; 6]);
    let n = server.read_vectored(&mut [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)]).unwrap();
    assert_eq!((n, &a, &b), (13, b"hello, ", b"server"));
    assert_would_block(server.read(&mut a));

    (&server).write_all(b"hello, client").unwrap();
    expect_event(&mut poll, &mut events, CLIENT, Readiness::READABLE);
    assert_eq!(read_until_would_block(&client).0, b"hello, client");
}

/// The peer sends data and shuts down writing: the data is read first, then
/// the end of stream. epoll and poll report read-closed (`EPOLLRDHUP` /
/// `POLLRDHUP`); select has no such bit: readable only, and the read says 0.
fn peer_shutdown_write_gives_read_closed_after_data(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut client, mut server) = tcp_pair();
    poll.registry().register(&mut server, SERVER, Interest::READABLE, Trigger::Level).unwrap();
    client.write_all(b"last words").unwrap();
    client.shutdown(Shutdown::Write).unwrap();

    match backend {
        Backend::Epoll | Backend::Poll => {
            let seen = expect_event(&mut poll, &mut events, SERVER, Readiness::READABLE | Readiness::READ_CLOSED);
            // Half-closed, not closed: writing still works.
            assert!(seen.iter().all(|s| s.raw & (raw::HUP | raw::ERR) == 0), "{backend}: {seen:?}");
        }
        Backend::Select => {
            let seen = expect_event(&mut poll, &mut events, SERVER, Readiness::READABLE);
            assert!(seen.iter().all(|s| s.raw & !(raw::IN | raw::OUT | raw::PRI) == 0), "select: {seen:?}");
        }
    }
    // The data sent before the FIN comes first, then the end of stream
    // (awaited: the FIN may arrive after the data).
    let mut data = Vec::new();
    let deadline = Instant::now() + LONG;
    loop {
        let (chunk, eof) = read_until_would_block(&server);
        data.extend(chunk);
        if eof {
            break;
        }
        assert!(Instant::now() < deadline, "{backend}: no end of stream");
        poll_once(&mut poll, &mut events, LONG);
    }
    assert_eq!(data, b"last words");
    // The other direction is still open.
    poll.registry().register(&mut client, CLIENT, Interest::READABLE, Trigger::Level).unwrap();
    (&server).write_all(b"reply").unwrap();
    expect_event(&mut poll, &mut events, CLIENT, Readiness::READABLE);
    let reply = read_until_would_block(&client).0;
    assert_eq!(&reply, b"reply");
}

/// The peer closes with `SO_LINGER` 0: an RST and no FIN. epoll and poll
/// report read-closed or an error (the kernel sets `EPOLLIN | EPOLLERR |
/// EPOLLHUP | EPOLLRDHUP`); select, readable. The first read returns
/// `ConnectionReset`, strictly: an RST received in ESTABLISHED sets
/// `sk_err = ECONNRESET` (`tcp_reset`), and a read returns that pending error
/// before any end of stream. Only a peer that had sent a FIN first (our
/// socket in CLOSE_WAIT) would give `EPIPE` instead, and with linger 0 no
/// FIN is sent, so no EOF-only outcome is legitimate here.
fn peer_reset_gives_read_closed_or_error_and_reset_read(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (client, mut server) = tcp_pair();
    poll.registry().register(&mut server, SERVER, Interest::READABLE, Trigger::Level).unwrap();
    client.set_linger(Some(Duration::ZERO)).unwrap();
    assert_eq!(client.linger().unwrap(), Some(Duration::ZERO));
    drop(client);

    let seen = expect_event(&mut poll, &mut events, SERVER, Readiness::READABLE);
    let last = seen.iter().rev().find(|s| s.token == SERVER).unwrap();
    match backend {
        Backend::Epoll | Backend::Poll => assert!(
            last.raw & (raw::RDHUP | raw::HUP | raw::ERR) != 0,
            "{backend}: read-closed or error after a reset: {seen:?}"
        ),
        Backend::Select => assert_eq!(last.raw & !(raw::IN | raw::OUT | raw::PRI), 0, "select: {seen:?}"),
    }
    assert_error_kind((&server).read(&mut [0u8; 16]), ErrorKind::ConnectionReset);
}

/// A connect to a port where nothing listens: epoll and poll report an
/// error or write-closed event (`EPOLLERR | EPOLLHUP` with `EPOLLOUT`);
/// select reports writable. `take_error` then says `ConnectionRefused`, and
/// clears it.
fn connect_to_closed_port_gives_error_event(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let addr = closed_port();
    let mut client = TcpStream::connect(addr).unwrap();
    poll.registry().register(&mut client, CLIENT, Interest::READABLE | Interest::WRITABLE, Trigger::Level).unwrap();
    let seen = match backend {
        Backend::Epoll | Backend::Poll => {
            let seen = poll_until(&mut poll, &mut events, |e| e.is_error() || e.is_write_closed());
            assert!(seen.is_error() || seen.is_write_closed(), "{backend}: {seen:?}");
            seen.raw()
        }
        Backend::Select => {
            let seen = poll_until(&mut poll, &mut events, |e| e.is_writable());
            assert!(!seen.is_error() && !seen.is_write_closed() && !seen.is_read_closed(), "select: {seen:?}");
            seen.raw()
        }
    };
    let error = client.take_error().unwrap().unwrap_or_else(|| panic!("{backend}: no error after {seen:#x}"));
    assert_eq!(error.kind(), ErrorKind::ConnectionRefused, "{backend}: {error}");
    assert!(client.take_error().unwrap().is_none(), "take_error clears it");
    assert_error_kind(client.peer_addr(), ErrorKind::NotConnected);
}

/// Polls until an event of `CLIENT` satisfies `pred`; returns it.
fn poll_until(
    poll: &mut eddy_poll::Poll,
    events: &mut eddy_poll::Events,
    pred: impl Fn(&eddy_poll::Event) -> bool,
) -> eddy_poll::Event {
    let deadline = Instant::now() + LONG;
    loop {
        assert!(Instant::now() < deadline, "{}: no such event", poll.backend());
        poll.poll(events, Some(Duration::from_millis(500))).unwrap();
        if let Some(e) = events.iter().find(|e| e.token() == CLIENT && pred(e)) {
            return *e;
        }
    }
}

/// TCP urgent data (`MSG_OOB`) is reported to a `PRIORITY` interest:
/// `EPOLLPRI` / `POLLPRI`, and select's exception set.
fn priority_data_is_reported(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (client, mut server) = tcp_pair();
    poll.registry().register(&mut server, SERVER, Interest::PRIORITY, Trigger::Level).unwrap();
    expect_no_events(&mut poll, &mut events, &[SERVER]);
    rustix::net::send(&client, b"!", rustix::net::SendFlags::OOB).unwrap();
    let seen = expect_event(&mut poll, &mut events, SERVER, Readiness::PRIORITY);
    assert!(seen.iter().all(|s| s.raw & raw::IN == 0), "{backend}: readable is not watched: {seen:?}");
}

/// An edge-registered listener: one event for a burst of connections, all
/// accepted until `WouldBlock`, then a new event for the next connection.
fn listener_edge_accept_until_would_block(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut listener, addr) = tcp_listener();
    poll.registry().register(&mut listener, LISTENER, Interest::READABLE, Trigger::Edge).unwrap();
    let clients: Vec<_> = (0..5).map(|_| std::net::TcpStream::connect(addr).unwrap()).collect();
    expect_event(&mut poll, &mut events, LISTENER, Readiness::READABLE);
    let mut accepted = 0;
    let deadline = Instant::now() + LONG;
    while accepted < clients.len() {
        match listener.accept() {
            Ok(_) => accepted += 1,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "{backend}: accepted {accepted}");
                // The rest are still on their way: wait for the next edge.
                expect_event(&mut poll, &mut events, LISTENER, Readiness::READABLE);
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
    assert_would_block(listener.accept());
    expect_no_events(&mut poll, &mut events, &[LISTENER]);
    let _late = std::net::TcpStream::connect(addr).unwrap();
    expect_event(&mut poll, &mut events, LISTENER, Readiness::READABLE);
    listener.accept().unwrap();
}

#[test]
fn socket_options_round_trip() {
    let (client, _server) = tcp_pair();
    client.set_nodelay(true).unwrap();
    assert!(client.nodelay().unwrap());
    client.set_nodelay(false).unwrap();
    assert!(!client.nodelay().unwrap());
    client.set_keepalive(true).unwrap();
    assert!(client.keepalive().unwrap());
    client.set_linger(Some(Duration::from_secs(3))).unwrap();
    assert_eq!(client.linger().unwrap(), Some(Duration::from_secs(3)));
    client.set_linger(None).unwrap();
    assert_eq!(client.linger().unwrap(), None);
    client.set_recv_buffer_size(64 * 1024).unwrap();
    client.set_send_buffer_size(64 * 1024).unwrap();
    let listener = TcpListener::bind_with(
        util::any_local_address(),
        &eddy_poll::net::ListenOptions { backlog: 16, reuse_address: true, reuse_port: true },
    )
    .unwrap();
    let addr = listener.local_addr().unwrap();
    // SO_REUSEPORT: a second listener on the same address.
    let second =
        TcpListener::bind_with(addr, &eddy_poll::net::ListenOptions { reuse_port: true, ..Default::default() })
            .unwrap();
    assert_eq!(second.local_addr().unwrap(), addr);
    assert_error_kind(TcpListener::bind(addr), ErrorKind::AddrInUse);
}

/// Every socket is its fd and nothing more, 4 bytes as mio's on epoll: the
/// emulated backends keep no handle in the socket (issue 12: `TcpStream`
/// was 24 bytes, paid by every idle connection).
#[test]
fn sockets_are_the_size_of_their_fd() {
    use eddy_poll::net::{UdpSocket, UnixDatagram, UnixListener, UnixStream};
    assert_eq!(size_of::<TcpStream>(), 4);
    // mio's is 4 in release builds (16 in debug ones, where it keeps a
    // selector id to catch misuse).
    if !cfg!(debug_assertions) {
        assert_eq!(size_of::<TcpStream>(), size_of::<mio::net::TcpStream>());
    }
    assert_eq!(size_of::<Option<TcpStream>>(), 4, "the fd's niche is kept");
    for size in [
        size_of::<TcpListener>(),
        size_of::<UdpSocket>(),
        size_of::<UnixStream>(),
        size_of::<UnixListener>(),
        size_of::<UnixDatagram>(),
        size_of::<eddy_poll::Timer>(),
        size_of::<eddy_poll::Signals>(),
    ] {
        assert_eq!(size, 4);
    }
}

/// `try_io` (issue 12): a read eddy does not make (a raw `read(2)` on the
/// fd) run through `try_io` re-arms an `Edge` registration when it returns
/// `WouldBlock`, as eddy's own reads do, so each new arrival is reported.
/// Without it the emulated backends would stay silent after the first.
fn try_io_would_block_rearms_edge(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut client, mut server) = tcp_pair();
    poll.registry().register(&mut server, SERVER, Interest::READABLE, Trigger::Edge).unwrap();
    for round in 0..3 {
        client.write_all(b"ping").unwrap();
        expect_event(&mut poll, &mut events, SERVER, Readiness::READABLE);
        let read = util::drain_with(|buf| server.try_io(|| util::raw_read(&server, buf)));
        assert_eq!(read, b"ping", "{backend}: round {round}");
    }
    // What the closure returns, `try_io` returns.
    assert_eq!(client.try_io(|| util::raw_write(&client, b"x")).unwrap(), 1);
    assert_eq!(client.try_io(|| Ok::<_, std::io::Error>(7)).unwrap(), 7);
}

/// Conversions (issue 12): `from_std` makes std's blocking sockets
/// non-blocking; `From<OwnedFd>`, `IntoRawFd` and `FromRawFd` (checked at
/// compile time; the runtime path is `From<OwnedFd>`) give the same socket
/// back, still registrable and working.
fn from_std_and_fd_conversions(backend: Backend) {
    use std::os::fd::{AsRawFd, OwnedFd};
    const _: () = util::fd_conversions::<TcpStream>();
    const _: () = util::fd_conversions::<TcpListener>();
    let (mut poll, mut events) = poller(backend, 8);
    let std_listener = std::net::TcpListener::bind(util::any_local_address()).unwrap();
    let addr = std_listener.local_addr().unwrap();
    let listener = TcpListener::from_std(std_listener).unwrap();
    assert_would_block(listener.accept());
    let fd = listener.as_raw_fd();
    let mut listener = TcpListener::from(OwnedFd::from(listener));
    assert_eq!(listener.as_raw_fd(), fd);
    poll.registry().register(&mut listener, LISTENER, Interest::READABLE, Trigger::Level).unwrap();
    let mut client = TcpStream::from_std(std::net::TcpStream::connect(addr).unwrap()).unwrap();
    expect_event(&mut poll, &mut events, LISTENER, Readiness::READABLE);
    let (server, _) = listener.accept().unwrap();
    let mut server = TcpStream::from(OwnedFd::from(server));
    poll.registry().register(&mut server, SERVER, Interest::READABLE, Trigger::Edge).unwrap();
    assert_would_block(server.read(&mut [0u8; 8]));
    client.write_all(b"hello").unwrap();
    expect_event(&mut poll, &mut events, SERVER, Readiness::READABLE);
    assert_eq!(read_until_would_block(&server).0, b"hello");
}

/// `set_ttl` / `ttl` (issue 12) on a stream and a listener: the value
/// round-trips, std reads the same from the fd, and out-of-range values are
/// refused with `InvalidInput`.
#[test]
fn ttl_round_trip() {
    use std::os::fd::OwnedFd;
    let (client, _server) = tcp_pair();
    let (listener, _) = tcp_listener();
    client.set_ttl(42).unwrap();
    assert_eq!(client.ttl().unwrap(), 42);
    listener.set_ttl(7).unwrap();
    assert_eq!(listener.ttl().unwrap(), 7);
    for bad in [0, 256] {
        assert_error_kind(client.set_ttl(bad), ErrorKind::InvalidInput);
        assert_error_kind(listener.set_ttl(bad), ErrorKind::InvalidInput);
    }
    assert_eq!(std::net::TcpStream::from(OwnedFd::from(client)).ttl().unwrap(), 42);
    assert_eq!(std::net::TcpListener::from(OwnedFd::from(listener)).ttl().unwrap(), 7);
}
