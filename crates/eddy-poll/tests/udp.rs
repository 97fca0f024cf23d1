//! `UdpSocket` on loopback: datagrams keep their boundaries, from empty to
//! the IPv4 maximum, on every backend.

#[macro_use]
mod util;

use std::io::ErrorKind;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::OwnedFd;

use eddy_poll::net::UdpSocket;
use eddy_poll::{Backend, Interest, Token, Trigger};
use util::{
    Readiness, any_local_address, assert_error_kind, assert_would_block, expect_event, expect_no_events, poller, raw,
};

backend_tests!(
    empty_datagram_round_trip,
    largest_datagram_round_trip,
    datagrams_keep_boundaries,
    connected_round_trip,
    connected_to_closed_port_reports_refused,
    edge_rearms_on_would_block,
    peek_leaves_the_datagram_queued,
    try_io_would_block_rearms_edge,
    from_std_and_fd_conversions,
);

const A: Token = Token(1);
const B: Token = Token(2);

/// The largest IPv4 UDP payload: 65535 (IP total length) - 20 (IP header)
/// - 8 (UDP header) = 65507 bytes.
const MAX_IPV4_UDP: usize = 65_507;

fn bound_pair() -> (UdpSocket, UdpSocket) {
    (UdpSocket::bind(any_local_address()).unwrap(), UdpSocket::bind(any_local_address()).unwrap())
}

fn empty_datagram_round_trip(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (a, mut b) = bound_pair();
    poll.registry().register(&mut b, B, Interest::READABLE, Trigger::Edge).unwrap();
    assert_eq!(a.send_to(b"", b.local_addr().unwrap()).unwrap(), 0);
    expect_event(&mut poll, &mut events, B, Readiness::READABLE);
    let mut buf = [0u8; 16];
    let (n, from) = b.recv_from(&mut buf).unwrap();
    assert_eq!((n, from), (0, a.local_addr().unwrap()), "{backend}");
    assert_would_block(b.recv_from(&mut buf));
}

fn largest_datagram_round_trip(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (a, mut b) = bound_pair();
    poll.registry().register(&mut b, B, Interest::READABLE, Trigger::Edge).unwrap();
    let data: Vec<u8> = (0..MAX_IPV4_UDP).map(|i| (i % 251) as u8).collect();
    assert_eq!(a.send_to(&data, b.local_addr().unwrap()).unwrap(), MAX_IPV4_UDP);
    // One byte more does not fit in an IPv4 datagram.
    let too_big = vec![0u8; MAX_IPV4_UDP + 1];
    let err = a.send_to(&too_big, b.local_addr().unwrap()).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(rustix::io::Errno::MSGSIZE.raw_os_error()), "{err}");

    expect_event(&mut poll, &mut events, B, Readiness::READABLE);
    let mut buf = vec![0u8; 70_000];
    let (n, from) = b.recv_from(&mut buf).unwrap();
    assert_eq!((n, from), (MAX_IPV4_UDP, a.local_addr().unwrap()));
    assert!(buf[..n] == data[..], "{backend}: the payload changed");
    assert_would_block(b.recv_from(&mut buf));
}

fn datagrams_keep_boundaries(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (a, mut b) = bound_pair();
    poll.registry().register(&mut b, B, Interest::READABLE, Trigger::Level).unwrap();
    let to = b.local_addr().unwrap();
    for msg in [&b"one"[..], b"", b"three", b"a longer fourth datagram"] {
        a.send_to(msg, to).unwrap();
    }
    expect_event(&mut poll, &mut events, B, Readiness::READABLE);
    let mut buf = [0u8; 64];
    for msg in [&b"one"[..], b"", b"three", b"a longer fourth datagram"] {
        let (n, _) = b.peek_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], msg, "peek");
        let (n, _) = b.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], msg);
    }
    assert_would_block(b.recv_from(&mut buf));
    // A buffer smaller than the datagram truncates it (the rest is gone).
    a.send_to(b"truncated", to).unwrap();
    expect_event(&mut poll, &mut events, B, Readiness::READABLE);
    let mut small = [0u8; 4];
    assert_eq!(b.recv_from(&mut small).unwrap().0, 4);
    assert_eq!(&small, b"trun");
    assert_would_block(b.recv_from(&mut buf));
    expect_no_events(&mut poll, &mut events, &[B]);
}

fn connected_round_trip(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut a, mut b) = bound_pair();
    a.connect(b.local_addr().unwrap()).unwrap();
    b.connect(a.local_addr().unwrap()).unwrap();
    assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
    poll.registry().register(&mut a, A, Interest::READABLE, Trigger::Edge).unwrap();
    poll.registry().register(&mut b, B, Interest::READABLE | Interest::WRITABLE, Trigger::Level).unwrap();
    expect_event(&mut poll, &mut events, B, Readiness::WRITABLE);
    a.send(b"ping").unwrap();
    expect_event(&mut poll, &mut events, B, Readiness::READABLE);
    let mut buf = [0u8; 16];
    assert_eq!(b.recv(&mut buf).unwrap(), 4);
    b.send(b"pong").unwrap();
    expect_event(&mut poll, &mut events, A, Readiness::READABLE);
    assert_eq!(a.recv(&mut buf).unwrap(), 4);
    assert_eq!(&buf[..4], b"pong");
    let unconnected = UdpSocket::bind(any_local_address()).unwrap();
    assert_error_kind(unconnected.peer_addr(), ErrorKind::NotConnected);
    assert!(util::is_cloexec(&unconnected));
}

/// A connected UDP socket whose datagram draws an ICMP port unreachable:
/// epoll and poll report an error (`EPOLLERR`); select, readable (and
/// writable). The next receive returns `ConnectionRefused`.
fn connected_to_closed_port_reports_refused(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let closed = {
        let s = std::net::UdpSocket::bind(any_local_address()).unwrap();
        s.local_addr().unwrap()
    };
    let mut a = UdpSocket::bind(any_local_address()).unwrap();
    a.connect(closed).unwrap();
    poll.registry().register(&mut a, A, Interest::READABLE, Trigger::Level).unwrap();
    a.send(b"anyone?").unwrap();
    let seen = match backend {
        Backend::Epoll | Backend::Poll => expect_event(&mut poll, &mut events, A, Readiness::ERROR),
        Backend::Select => expect_event(&mut poll, &mut events, A, Readiness::READABLE),
    };
    if backend == Backend::Select {
        assert!(seen.iter().all(|s| s.raw & raw::ERR == 0), "select has no error bit: {seen:?}");
    }
    assert_error_kind(a.recv(&mut [0u8; 16]), ErrorKind::ConnectionRefused);
    assert_would_block(a.recv(&mut [0u8; 16]));
}

/// Edge: on poll and select, a receive that returns `WouldBlock` re-arms;
/// on epoll each datagram is a new edge anyway.
fn edge_rearms_on_would_block(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (a, mut b) = bound_pair();
    poll.registry().register(&mut b, B, Interest::READABLE, Trigger::Edge).unwrap();
    let to = b.local_addr().unwrap();
    let mut buf = [0u8; 16];
    for round in 0..3u8 {
        a.send_to(&[round], to).unwrap();
        expect_event(&mut poll, &mut events, B, Readiness::READABLE);
        assert_eq!(b.recv_from(&mut buf).unwrap().0, 1);
        assert_eq!(buf[0], round);
        assert_would_block(b.recv_from(&mut buf));
        expect_no_events(&mut poll, &mut events, &[B]);
    }
}

/// `try_io` (issue 12), as in `tcp.rs`: a raw `recv` through `try_io` that
/// returns `WouldBlock` re-arms an `Edge` registration.
fn try_io_would_block_rearms_edge(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (a, mut b) = bound_pair();
    poll.registry().register(&mut b, B, Interest::READABLE, Trigger::Edge).unwrap();
    let to = b.local_addr().unwrap();
    for round in 0..3u8 {
        a.send_to(&[round], to).unwrap();
        expect_event(&mut poll, &mut events, B, Readiness::READABLE);
        let read = util::drain_with(|buf| b.try_io(|| util::raw_read(&b, buf)));
        assert_eq!(read, [round], "{backend}");
    }
}

/// Conversions (issue 12), as in `tcp.rs`.
fn from_std_and_fd_conversions(backend: Backend) {
    use std::os::fd::{AsRawFd, OwnedFd};
    const _: () = util::fd_conversions::<UdpSocket>();
    let (mut poll, mut events) = poller(backend, 8);
    let b = UdpSocket::from_std(std::net::UdpSocket::bind(any_local_address()).unwrap()).unwrap();
    assert_would_block(b.recv_from(&mut [0u8; 8]));
    let fd = b.as_raw_fd();
    let mut b = UdpSocket::from(OwnedFd::from(b));
    assert_eq!(b.as_raw_fd(), fd);
    poll.registry().register(&mut b, B, Interest::READABLE, Trigger::Level).unwrap();
    let a = UdpSocket::bind(any_local_address()).unwrap();
    a.send_to(b"hi", b.local_addr().unwrap()).unwrap();
    expect_event(&mut poll, &mut events, B, Readiness::READABLE);
    let mut buf = [0u8; 8];
    assert_eq!(b.recv_from(&mut buf).unwrap(), (2, a.local_addr().unwrap()));
}

/// `peek` on a connected socket (issue 12): the datagram stays queued; the
/// next `recv` gets it whole; a `peek` into a short buffer truncates the
/// copy, not the datagram.
fn peek_leaves_the_datagram_queued(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (a, mut b) = bound_pair();
    a.connect(b.local_addr().unwrap()).unwrap();
    b.connect(a.local_addr().unwrap()).unwrap();
    poll.registry().register(&mut b, B, Interest::READABLE, Trigger::Level).unwrap();
    assert_would_block(b.peek(&mut [0u8; 8]));
    a.send(b"datagram").unwrap();
    expect_event(&mut poll, &mut events, B, Readiness::READABLE);
    let mut buf = [0u8; 16];
    for _ in 0..2 {
        assert_eq!(b.peek(&mut buf).unwrap(), 8);
        assert_eq!(&buf[..8], b"datagram");
    }
    let mut short = [0u8; 4];
    assert_eq!(b.peek(&mut short).unwrap(), 4);
    assert_eq!(&short, b"data");
    // Still queued, so still reported (level).
    expect_event(&mut poll, &mut events, B, Readiness::READABLE);
    assert_eq!(b.recv(&mut buf).unwrap(), 8);
    assert_eq!(&buf[..8], b"datagram");
    assert_would_block(b.peek(&mut buf));
}

/// `set_ttl` / `ttl` and `broadcast` (issue 12): the values round-trip, std
/// reads the same from the fd, and an out-of-range TTL is `InvalidInput`.
#[test]
fn ttl_and_broadcast_round_trip() {
    let socket = UdpSocket::bind(any_local_address()).unwrap();
    assert!(!socket.broadcast().unwrap());
    socket.set_broadcast(true).unwrap();
    assert!(socket.broadcast().unwrap());
    socket.set_ttl(33).unwrap();
    assert_eq!(socket.ttl().unwrap(), 33);
    assert_error_kind(socket.set_ttl(256), ErrorKind::InvalidInput);
    let std = std::net::UdpSocket::from(OwnedFd::from(socket));
    assert_eq!(std.ttl().unwrap(), 33);
    assert!(std.broadcast().unwrap());
}

/// The multicast options (issue 12) on IPv4 and IPv6 sockets: each
/// round-trips and std reads the same from the fd. No datagram is sent
/// (see the next test for that).
#[test]
fn multicast_options_round_trip() {
    let v4 = UdpSocket::bind(any_local_address()).unwrap();
    assert!(v4.multicast_loop_v4().unwrap(), "the kernel's default");
    v4.set_multicast_loop_v4(false).unwrap();
    assert!(!v4.multicast_loop_v4().unwrap());
    assert_eq!(v4.multicast_ttl_v4().unwrap(), 1, "the kernel's default");
    v4.set_multicast_ttl_v4(4).unwrap();
    assert_eq!(v4.multicast_ttl_v4().unwrap(), 4);
    assert_error_kind(v4.set_multicast_ttl_v4(256), ErrorKind::InvalidInput);
    // Not a multicast group.
    assert!(v4.join_multicast_v4(&Ipv4Addr::LOCALHOST, &Ipv4Addr::UNSPECIFIED).is_err());
    let std = std::net::UdpSocket::from(OwnedFd::from(v4));
    assert!(!std.multicast_loop_v4().unwrap());
    assert_eq!(std.multicast_ttl_v4().unwrap(), 4);

    let v6 = UdpSocket::bind("[::1]:0".parse().unwrap()).unwrap();
    assert!(v6.multicast_loop_v6().unwrap(), "the kernel's default");
    v6.set_multicast_loop_v6(false).unwrap();
    assert!(!v6.multicast_loop_v6().unwrap());
    assert!(v6.join_multicast_v6(&Ipv6Addr::LOCALHOST, 0).is_err(), "not a multicast group");
    assert!(!std::net::UdpSocket::from(OwnedFd::from(v6)).multicast_loop_v6().unwrap());
}

/// Joining and leaving a multicast group (issue 12), with datagrams, on
/// every backend: in a child process with a network of its own (see
/// `util::run_child_in_private_network`), so the group's traffic stays
/// there. A member receives the group's datagram (with the sender's
/// address); after `leave_multicast_v4` it receives nothing more. IPv6:
/// join and leave on the loopback interface succeed (the private network
/// has no IPv6 multicast route to send on).
#[test]
fn multicast_join_and_leave_in_a_private_network() {
    const NAME: &str = "multicast_join_and_leave_in_a_private_network";
    if util::child_role().as_deref() == Some("netns") {
        for backend in Backend::ALL {
            multicast_join_and_leave(backend);
        }
        util::say("multicast: every backend done");
        return;
    }
    let out = util::run_child_in_private_network(NAME, "netns");
    assert!(
        out.status.success() && util::stdout_has(&out, "multicast: every backend done"),
        "the child failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn multicast_join_and_leave(backend: Backend) {
    let group = Ipv4Addr::new(239, 1, 2, 3);
    let (mut poll, mut events) = poller(backend, 8);
    let mut member = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0).into()).unwrap();
    let to = SocketAddr::from((group, member.local_addr().unwrap().port()));
    member.join_multicast_v4(&group, &Ipv4Addr::LOCALHOST).unwrap();
    assert_error_kind(member.join_multicast_v4(&group, &Ipv4Addr::LOCALHOST), ErrorKind::AddrInUse);
    poll.registry().register(&mut member, B, Interest::READABLE, Trigger::Level).unwrap();
    let sender = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0).into()).unwrap();
    sender.set_multicast_if_v4(&Ipv4Addr::LOCALHOST).unwrap();
    sender.send_to(b"to the group", to).unwrap();
    expect_event(&mut poll, &mut events, B, Readiness::READABLE);
    let mut buf = [0u8; 32];
    let (n, from) = member.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"to the group"[..], sender.local_addr().unwrap()), "{backend}");
    member.leave_multicast_v4(&group, &Ipv4Addr::LOCALHOST).unwrap();
    assert!(member.leave_multicast_v4(&group, &Ipv4Addr::LOCALHOST).is_err(), "{backend}: left already");
    sender.send_to(b"after leaving", to).unwrap();
    expect_no_events(&mut poll, &mut events, &[B]);

    let v6 = UdpSocket::bind((Ipv6Addr::UNSPECIFIED, 0).into()).unwrap();
    let group6: Ipv6Addr = "ff02::1:3".parse().unwrap();
    v6.join_multicast_v6(&group6, 1).unwrap();
    v6.leave_multicast_v6(&group6, 1).unwrap();
}
