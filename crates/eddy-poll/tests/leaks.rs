//! No fd leaks: creating and dropping pollers, sources and registrations
//! (in any order, failed ones included) gives back every fd; and every fd
//! eddy opens is close-on-exec.
//!
//! These tests count the entries of `/proc/self/fd`: no other test may open
//! fds meanwhile. nextest runs each test in its own process; under `cargo
//! test` they take a lock, as the tests of this file are the only ones of
//! its binary.

#[macro_use]
mod util;

use std::collections::HashSet;
use std::io::Write;

use eddy_poll::net::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixStream};
use eddy_poll::signal::{Signal, Signals};
use eddy_poll::{Backend, Interest, Poll, Registration, Timer, Token, Trigger, Waker};
use util::{Readiness, any_local_address, expect_event, fd_count, open_fds, poller};

backend_tests!(
    create_and_drop_poll_2000_times,
    sources_dropped_before_or_after_poll,
    failed_registrations_leak_nothing,
    every_fd_is_close_on_exec,
);

fn create_and_drop_poll_2000_times(backend: Backend) {
    let _serial = util::serial();
    let before = fd_count();
    for i in 0..2000 {
        let poll = Poll::with_backend(backend).unwrap_or_else(|e| panic!("{backend}: Poll {i}: {e}"));
        drop(poll);
    }
    assert_eq!(fd_count(), before, "{backend}: 2000 Polls created and dropped");

    // Polls that waited and had a waker.
    for _ in 0..100 {
        let (mut poll, mut events) = poller(backend, 4);
        let waker = Waker::new(poll.registry(), Token(1)).unwrap();
        waker.wake().unwrap();
        expect_event(&mut poll, &mut events, Token(1), Readiness::READABLE);
    }
    assert_eq!(fd_count(), before, "{backend}: polls with wakers");
}

/// One round: a poller with one of each source registered; `poll_first`
/// chooses which is dropped first.
fn round(backend: Backend, poll_first: bool) {
    let (mut poll, mut events) = poller(backend, 16);
    let registry = poll.registry().clone();
    let (mut a, mut b) = UnixStream::pair().unwrap();
    let mut listener = TcpListener::bind(any_local_address()).unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let mut udp = UdpSocket::bind(any_local_address()).unwrap();
    let (mut d1, _d2) = UnixDatagram::pair().unwrap();
    let mut timer = Timer::new().unwrap();
    let mut signals = Signals::new(&[Signal::USR2]).unwrap();
    let (mut user, set) = Registration::new();
    let waker = Waker::new(&registry, Token(9)).unwrap();

    registry.register(&mut b, Token(1), Interest::READABLE, Trigger::Edge).unwrap();
    registry.register(&mut listener, Token(2), Interest::READABLE, Trigger::Level).unwrap();
    registry.register(&mut client, Token(3), Interest::WRITABLE, Trigger::Oneshot).unwrap();
    registry.register(&mut udp, Token(4), Interest::READABLE, Trigger::Level).unwrap();
    registry.register(&mut d1, Token(5), Interest::READABLE, Trigger::EdgeOneshot).unwrap();
    registry.register(&mut timer, Token(6), Interest::READABLE, Trigger::Edge).unwrap();
    registry.register(&mut signals, Token(7), Interest::READABLE, Trigger::Level).unwrap();
    registry.register(&mut user, Token(8), Interest::READABLE, Trigger::Level).unwrap();
    a.write_all(b"x").unwrap();
    set.set_readiness(eddy_poll::Ready::READABLE).unwrap();
    waker.wake().unwrap();
    util::expect_events(
        &mut poll,
        &mut events,
        vec![
            util::ExpectEvent::new(Token(1), Readiness::READABLE),
            util::ExpectEvent::new(Token(2), Readiness::READABLE),
            util::ExpectEvent::new(Token(8), Readiness::READABLE),
            util::ExpectEvent::new(Token(9), Readiness::READABLE),
        ],
    );
    let _accepted = listener.accept().unwrap();

    if poll_first {
        drop(poll);
        drop(registry);
    }
    drop((a, b, listener, client, udp, d1, timer, signals, user, set, waker));
}

fn sources_dropped_before_or_after_poll(backend: Backend) {
    let _serial = util::serial();
    let before = fd_count();
    for i in 0..50 {
        round(backend, i % 2 == 0);
    }
    assert_eq!(fd_count(), before, "{backend}: sources and pollers dropped in either order");
}

fn failed_registrations_leak_nothing(backend: Backend) {
    let _serial = util::serial();
    let (poll, _events) = poller(backend, 8);
    let (_a, mut b) = UnixStream::pair().unwrap();
    poll.registry().register(&mut b, Token(1), Interest::READABLE, Trigger::Level).unwrap();
    let before = fd_count();
    for _ in 0..200 {
        assert!(poll.registry().register(&mut b, Token(1), Interest::READABLE, Trigger::Level).is_err());
        assert!(poll.registry().register(&mut b, Token::RESERVED, Interest::READABLE, Trigger::Level).is_err());
        assert!(Waker::new(poll.registry(), Token::RESERVED).is_err());
        let (mut c, _d) = UnixStream::pair().unwrap();
        assert!(poll.registry().deregister(&mut c).is_err());
        assert!(poll.registry().reregister(&mut c, Token(2), Interest::READABLE, Trigger::Edge).is_err());
    }
    assert_eq!(fd_count(), before, "{backend}: failed registrations");
}

/// Every fd a poller and eddy's sources open is close-on-exec, so none
/// leaks into a child process.
fn every_fd_is_close_on_exec(backend: Backend) {
    let _serial = util::serial();
    let before = open_fds();
    let (poll, _events) = poller(backend, 8);
    let listener = TcpListener::bind(any_local_address()).unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let std_client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let _pairs = (UnixStream::pair().unwrap(), UnixDatagram::pair().unwrap(), UnixDatagram::unbound().unwrap());
    let _udp = UdpSocket::bind(any_local_address()).unwrap();
    let _timer = Timer::new().unwrap();
    let _signals = Signals::new(&[Signal::USR2]).unwrap();
    // Accept what is queued (both connections), non-blocking.
    let mut accepted = Vec::new();
    let mut events = eddy_poll::Events::with_capacity(8);
    let mut poll = poll;
    let mut listener = listener;
    poll.registry().register(&mut listener, Token(0), Interest::READABLE, Trigger::Level).unwrap();
    while accepted.len() < 2 {
        expect_event(&mut poll, &mut events, Token(0), Readiness::READABLE);
        while let Ok(conn) = listener.accept() {
            accepted.push(conn);
        }
    }
    let std_fd = std::os::fd::AsRawFd::as_raw_fd(&std_client);
    let new: HashSet<i32> = open_fds().difference(&before).copied().filter(|&fd| fd != std_fd).collect();
    assert!(new.len() >= 10, "{backend}: expected the new fds, got {new:?}");
    let inheritable: Vec<i32> = new.iter().copied().filter(|&fd| !util::raw_fd_is_cloexec(fd)).collect();
    assert!(inheritable.is_empty(), "{backend}: fds without close-on-exec: {inheritable:?}");
    drop(client);
}
