//! Unix domain sockets: stream and datagram, as pairs and bound to paths in
//! a fresh directory under /tmp, on every backend.

#[macro_use]
mod util;

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;

use eddy_poll::net::{UnixAddr, UnixDatagram, UnixListener, UnixStream};
use eddy_poll::{Backend, Interest, Token, Trigger};
use util::{
    ExpectEvent, Readiness, TempDir, assert_error_kind, assert_would_block, expect_event, expect_events,
    expect_no_events, poller, raw, read_until_would_block,
};

backend_tests!(
    stream_pair_round_trip,
    stream_bound_path_round_trip,
    stream_shutdown_gives_read_closed,
    datagram_pair_round_trip,
    datagram_bound_paths_round_trip,
    try_io_would_block_rearms_edge,
    from_std_and_fd_conversions,
    abstract_stream_round_trip,
    abstract_datagram_round_trip,
);

const A: Token = Token(1);
const B: Token = Token(2);
const L: Token = Token(0);

fn stream_pair_round_trip(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut a, mut b) = UnixStream::pair().unwrap();
    poll.registry().register(&mut a, A, Interest::READABLE, Trigger::Edge).unwrap();
    poll.registry().register(&mut b, B, Interest::READABLE, Trigger::Edge).unwrap();
    a.write_all(b"to b").unwrap();
    b.write_all(b"to a").unwrap();
    expect_events(
        &mut poll,
        &mut events,
        vec![ExpectEvent::new(A, Readiness::READABLE), ExpectEvent::new(B, Readiness::READABLE)],
    );
    assert_eq!(read_until_would_block(&a).0, b"to a");
    assert_eq!(read_until_would_block(&b).0, b"to b");
    assert_eq!(a.local_addr().unwrap(), UnixAddr::Unnamed);
    assert_eq!(a.peer_addr().unwrap(), UnixAddr::Unnamed);
    assert!(util::is_cloexec(&a) && util::is_cloexec(&b));
}

fn stream_bound_path_round_trip(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let dir = TempDir::new("unix-stream");
    let path = dir.join("listener.sock");
    let mut listener = UnixListener::bind(&path).unwrap();
    assert_eq!(listener.local_addr().unwrap().as_path(), Some(path.as_path()));
    assert_error_kind(UnixListener::bind(&path), ErrorKind::AddrInUse);
    poll.registry().register(&mut listener, L, Interest::READABLE, Trigger::Edge).unwrap();
    assert_would_block(listener.accept());

    let mut client = UnixStream::connect(&path).unwrap();
    expect_event(&mut poll, &mut events, L, Readiness::READABLE);
    let (mut server, peer) = listener.accept().unwrap();
    assert_eq!(peer, UnixAddr::Unnamed);
    assert_eq!(client.peer_addr().unwrap().as_path(), Some(path.as_path()));
    assert!(util::is_cloexec(&server));
    assert_would_block(listener.accept());

    poll.registry().register(&mut client, A, Interest::READABLE, Trigger::Level).unwrap();
    poll.registry().register(&mut server, B, Interest::READABLE, Trigger::Level).unwrap();
    client.write_all(b"request").unwrap();
    expect_event(&mut poll, &mut events, B, Readiness::READABLE);
    let mut buf = [0u8; 7];
    server.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"request");
    server.write_all(b"response").unwrap();
    expect_event(&mut poll, &mut events, A, Readiness::READABLE);
    assert_eq!(read_until_would_block(&client).0, b"response");

    // Nobody listens at a path that does not exist.
    assert_error_kind(UnixStream::connect(dir.join("nothing.sock")), ErrorKind::NotFound);
    // The socket file stays after the listener is gone: refused.
    drop(listener);
    assert_error_kind(UnixStream::connect(&path), ErrorKind::ConnectionRefused);
}

/// epoll and poll report the peer's shutdown as read-closed; select can't
/// (readable, and the read returns 0).
fn stream_shutdown_gives_read_closed(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (a, mut b) = UnixStream::pair().unwrap();
    poll.registry().register(&mut b, B, Interest::READABLE, Trigger::Level).unwrap();
    (&a).write_all(b"bye").unwrap();
    a.shutdown(Shutdown::Write).unwrap();
    let seen = match backend {
        Backend::Epoll | Backend::Poll => {
            expect_event(&mut poll, &mut events, B, Readiness::READABLE | Readiness::READ_CLOSED)
        }
        Backend::Select => expect_event(&mut poll, &mut events, B, Readiness::READABLE),
    };
    if backend == Backend::Select {
        assert!(seen.iter().all(|s| s.raw & raw::RDHUP == 0), "select: {seen:?}");
    }
    assert_eq!(read_until_would_block(&b), (b"bye".to_vec(), true));
}

fn datagram_pair_round_trip(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut a, mut b) = UnixDatagram::pair().unwrap();
    poll.registry().register(&mut a, A, Interest::READABLE, Trigger::Edge).unwrap();
    poll.registry().register(&mut b, B, Interest::READABLE, Trigger::Edge).unwrap();
    a.send(b"first").unwrap();
    a.send(b"").unwrap();
    expect_event(&mut poll, &mut events, B, Readiness::READABLE);
    let mut buf = [0u8; 32];
    assert_eq!(b.recv(&mut buf).unwrap(), 5);
    assert_eq!(&buf[..5], b"first");
    assert_eq!(b.recv(&mut buf).unwrap(), 0, "an empty datagram is a datagram");
    assert_would_block(b.recv(&mut buf));
    b.send(b"back").unwrap();
    expect_event(&mut poll, &mut events, A, Readiness::READABLE);
    let (n, from) = a.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"back"[..], UnixAddr::Unnamed));
    expect_no_events(&mut poll, &mut events, &[A, B]);
}

fn datagram_bound_paths_round_trip(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let dir = TempDir::new("unix-dgram");
    let (pa, pb) = (dir.join("a.sock"), dir.join("b.sock"));
    let mut a = UnixDatagram::bind(&pa).unwrap();
    let mut b = UnixDatagram::bind(&pb).unwrap();
    assert_eq!(a.local_addr().unwrap().as_path(), Some(pa.as_path()));
    poll.registry().register(&mut a, A, Interest::READABLE, Trigger::Level).unwrap();
    poll.registry().register(&mut b, B, Interest::READABLE, Trigger::Level).unwrap();

    a.send_to(b"from a", &pb).unwrap();
    expect_event(&mut poll, &mut events, B, Readiness::READABLE);
    let mut buf = [0u8; 32];
    let (n, from) = b.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from.as_path()), (&b"from a"[..], Some(pa.as_path())));

    // An unbound sender has no address to answer to.
    let unbound = UnixDatagram::unbound().unwrap();
    unbound.send_to(b"anonymous", &pb).unwrap();
    expect_event(&mut poll, &mut events, B, Readiness::READABLE);
    let (n, from) = b.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"anonymous"[..], UnixAddr::Unnamed));
    assert_error_kind(unbound.send_to(b"x", dir.join("nobody.sock")), ErrorKind::NotFound);

    // Connected: `send` goes to the peer; a connected socket accepts
    // datagrams only from its peer (others get EPERM).
    b.connect(&pa).unwrap();
    assert_eq!(b.peer_addr().unwrap().as_path(), Some(pa.as_path()));
    b.send(b"from b").unwrap();
    expect_event(&mut poll, &mut events, A, Readiness::READABLE);
    assert_eq!(a.recv(&mut buf).unwrap(), 6);
}

/// `try_io` (issue 12), as in `tcp.rs`, for the stream and the datagram
/// socket.
fn try_io_would_block_rearms_edge(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut a, mut b) = UnixStream::pair().unwrap();
    let (c, mut d) = UnixDatagram::pair().unwrap();
    poll.registry().register(&mut b, B, Interest::READABLE, Trigger::Edge).unwrap();
    poll.registry().register(&mut d, A, Interest::READABLE, Trigger::Edge).unwrap();
    for round in 0..3 {
        a.write_all(b"ping").unwrap();
        c.send(b"dgram").unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![ExpectEvent::new(B, Readiness::READABLE), ExpectEvent::new(A, Readiness::READABLE)],
        );
        assert_eq!(util::drain_with(|buf| b.try_io(|| util::raw_read(&b, buf))), b"ping", "{backend}: {round}");
        assert_eq!(util::drain_with(|buf| d.try_io(|| util::raw_read(&d, buf))), b"dgram", "{backend}: {round}");
    }
}

/// Conversions (issue 12): `from_std` for the three Unix types makes std's
/// blocking sockets non-blocking; `From<OwnedFd>`, `IntoRawFd` and
/// `FromRawFd` (checked at compile time) give the same socket back.
fn from_std_and_fd_conversions(backend: Backend) {
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::os::unix::net as std_unix;
    const _: () = util::fd_conversions::<UnixStream>();
    const _: () = util::fd_conversions::<UnixListener>();
    const _: () = util::fd_conversions::<UnixDatagram>();
    let (mut poll, mut events) = poller(backend, 8);
    let dir = TempDir::new("unix-from-std");
    let path = dir.join("listener.sock");
    let mut listener = UnixListener::from_std(std_unix::UnixListener::bind(&path).unwrap()).unwrap();
    assert_would_block(listener.accept());
    poll.registry().register(&mut listener, L, Interest::READABLE, Trigger::Level).unwrap();
    let mut client = UnixStream::from_std(std_unix::UnixStream::connect(&path).unwrap()).unwrap();
    expect_event(&mut poll, &mut events, L, Readiness::READABLE);
    let (server, _) = listener.accept().unwrap();
    let fd = server.as_raw_fd();
    let mut server = UnixStream::from(OwnedFd::from(server));
    assert_eq!(server.as_raw_fd(), fd);
    poll.registry().register(&mut server, B, Interest::READABLE, Trigger::Level).unwrap();
    assert_would_block(server.read(&mut [0u8; 8]));
    client.write_all(b"hello").unwrap();
    expect_event(&mut poll, &mut events, B, Readiness::READABLE);
    assert_eq!(read_until_would_block(&server).0, b"hello");

    let (x, y) = std_unix::UnixDatagram::pair().unwrap();
    let x = UnixDatagram::from_std(x).unwrap();
    let mut y = UnixDatagram::from(OwnedFd::from(UnixDatagram::from_std(y).unwrap()));
    assert_would_block(y.recv(&mut [0u8; 8]));
    poll.registry().register(&mut y, A, Interest::READABLE, Trigger::Level).unwrap();
    x.send(b"dgram").unwrap();
    expect_event(&mut poll, &mut events, A, Readiness::READABLE);
    let mut buf = [0u8; 8];
    assert_eq!(y.recv(&mut buf).unwrap(), 5);
}

/// A name in the abstract namespace no other test (or run) uses.
fn abstract_name(tag: &str) -> Vec<u8> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("eddy-poll-{tag}-{}-{nanos}-{n}", std::process::id()).into_bytes()
}

/// Abstract-namespace addresses (issue 12), as mio takes them: a listener
/// bound with `bind_addr` to std's `SocketAddr::from_abstract_name`, a
/// client from `connect_addr`; the addresses read back as
/// `UnixAddr::Abstract` and convert to std's and back; a second bind of the
/// name is `AddrInUse`; an unnamed address is `InvalidInput`.
fn abstract_stream_round_trip(backend: Backend) {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::SocketAddr;
    let (mut poll, mut events) = poller(backend, 8);
    let name = abstract_name("stream");
    let addr = SocketAddr::from_abstract_name(&name).unwrap();
    let mut listener = UnixListener::bind_addr(&addr).unwrap();
    assert_eq!(listener.local_addr().unwrap(), UnixAddr::Abstract(name.clone()));
    assert_eq!(UnixAddr::from(&addr).as_abstract_name(), Some(name.as_slice()));
    assert_error_kind(UnixListener::bind_addr(&addr), ErrorKind::AddrInUse);
    poll.registry().register(&mut listener, L, Interest::READABLE, Trigger::Edge).unwrap();

    // Connect through an address converted from eddy's, to check that way.
    let back = SocketAddr::try_from(&listener.local_addr().unwrap()).unwrap();
    let mut client = UnixStream::connect_addr(&back).unwrap();
    assert_eq!(client.peer_addr().unwrap(), UnixAddr::Abstract(name.clone()));
    expect_event(&mut poll, &mut events, L, Readiness::READABLE);
    let (mut server, _) = listener.accept().unwrap();
    assert_eq!(server.local_addr().unwrap(), UnixAddr::Abstract(name));
    poll.registry().register(&mut server, B, Interest::READABLE, Trigger::Edge).unwrap();
    client.write_all(b"abstract").unwrap();
    expect_event(&mut poll, &mut events, B, Readiness::READABLE);
    assert_eq!(read_until_would_block(&server).0, b"abstract");

    let (unnamed, _) = std::os::unix::net::UnixStream::pair().unwrap();
    let unnamed = unnamed.local_addr().unwrap();
    assert_error_kind(UnixListener::bind_addr(&unnamed), ErrorKind::InvalidInput);
    assert_error_kind(UnixStream::connect_addr(&unnamed), ErrorKind::InvalidInput);
    assert_error_kind(SocketAddr::try_from(&UnixAddr::Unnamed), ErrorKind::InvalidInput);
    // Nobody listens on a fresh name.
    let nobody = SocketAddr::from_abstract_name(abstract_name("nobody")).unwrap();
    assert_error_kind(UnixStream::connect_addr(&nobody), ErrorKind::ConnectionRefused);
}

/// Abstract-namespace datagram sockets (issue 12): `bind_addr`, then
/// `send_to_addr` from an unbound socket (the receiver sees it unnamed) and
/// `connect_addr` + `send` from a bound one (the receiver sees its name);
/// paths work through `bind_addr` too.
fn abstract_datagram_round_trip(backend: Backend) {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::SocketAddr;
    let (mut poll, mut events) = poller(backend, 8);
    let name = abstract_name("dgram");
    let addr = SocketAddr::from_abstract_name(&name).unwrap();
    let mut receiver = UnixDatagram::bind_addr(&addr).unwrap();
    assert_eq!(receiver.local_addr().unwrap(), UnixAddr::Abstract(name));
    poll.registry().register(&mut receiver, B, Interest::READABLE, Trigger::Level).unwrap();
    let mut buf = [0u8; 16];

    let unbound = UnixDatagram::unbound().unwrap();
    unbound.send_to_addr(b"one", &addr).unwrap();
    expect_event(&mut poll, &mut events, B, Readiness::READABLE);
    let (n, from) = receiver.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"one"[..], UnixAddr::Unnamed));

    let dir = TempDir::new("unix-bind-addr");
    let path = dir.join("sender.sock");
    let sender = UnixDatagram::bind_addr(&SocketAddr::from_pathname(&path).unwrap()).unwrap();
    sender.connect_addr(&addr).unwrap();
    sender.send(b"two").unwrap();
    expect_event(&mut poll, &mut events, B, Readiness::READABLE);
    let (n, from) = receiver.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from.as_path()), (&b"two"[..], Some(path.as_path())));
    assert_would_block(receiver.recv(&mut buf));
}
