//! `Registry::register_exclusive` (`EPOLLEXCLUSIVE`): one listener shared by
//! several pollers; epoll only.

#[macro_use]
mod util;

use std::io::ErrorKind;
use std::time::Instant;

use eddy_poll::{Backend, Interest, Token, Trigger};
use util::{LONG, Readiness, assert_error_kind, expect_event, poll_once, poller, tcp_listener};

backend_tests!(exclusive_registration);

const L: Token = Token(0);

fn exclusive_registration(backend: Backend) {
    match backend {
        Backend::Epoll => exclusive_on_epoll(),
        // poll(2) and select(2) have no such flag.
        Backend::Poll | Backend::Select => {
            let (poll, _events) = poller(backend, 8);
            let (listener, _addr) = tcp_listener();
            for trigger in [Trigger::Level, Trigger::Edge] {
                assert_error_kind(
                    poll.registry().register_exclusive(&listener, L, Interest::READABLE, trigger),
                    ErrorKind::Unsupported,
                );
            }
        }
    }
}

/// Two pollers watch one listener exclusively: a connection wakes at least
/// one of them, and the one woken can accept it. Oneshot is refused; a
/// second exclusive registration in the same poller is `AlreadyExists`.
fn exclusive_on_epoll() {
    let (mut first, mut first_events) = poller(Backend::Epoll, 8);
    let (mut second, mut second_events) = poller(Backend::Epoll, 8);
    let (listener, addr) = tcp_listener();
    first.registry().register_exclusive(&listener, L, Interest::READABLE, Trigger::Level).unwrap();
    second.registry().register_exclusive(&listener, L, Interest::READABLE, Trigger::Level).unwrap();
    assert_error_kind(
        first.registry().register_exclusive(&listener, L, Interest::READABLE, Trigger::Level),
        ErrorKind::AlreadyExists,
    );
    for trigger in [Trigger::Oneshot, Trigger::EdgeOneshot] {
        let (other, _events) = poller(Backend::Epoll, 8);
        assert_error_kind(
            other.registry().register_exclusive(&listener, L, Interest::READABLE, trigger),
            ErrorKind::InvalidInput,
        );
    }
    // The kernel takes no EPOLLPRI beside EPOLLEXCLUSIVE.
    let (other, _events) = poller(Backend::Epoll, 8);
    assert_error_kind(
        other.registry().register_exclusive(&listener, L, Interest::READABLE | Interest::PRIORITY, Trigger::Level),
        ErrorKind::InvalidInput,
    );
    // Edge is fine, and writable too.
    other.registry().register_exclusive(&listener, L, Interest::READABLE | Interest::WRITABLE, Trigger::Edge).unwrap();
    // An exclusive registration can't be modified: the kernel refuses.
    let mut listener = listener;
    assert_error_kind(
        other.registry().reregister(&mut listener, L, Interest::READABLE, Trigger::Edge),
        ErrorKind::InvalidInput,
    );
    drop(other);

    let _client = std::net::TcpStream::connect(addr).unwrap();
    let deadline = Instant::now() + LONG;
    let mut woken = [false, false];
    while woken == [false, false] {
        assert!(Instant::now() < deadline, "no poller woken for the connection");
        woken[0] =
            poll_once(&mut first, &mut first_events, std::time::Duration::from_millis(50)).iter().any(|s| s.token == L);
        woken[1] = poll_once(&mut second, &mut second_events, std::time::Duration::from_millis(50))
            .iter()
            .any(|s| s.token == L);
    }
    let (stream, _) = listener.accept().unwrap();
    assert_eq!(stream.local_addr().unwrap(), addr);

    // Deregistered from one poller, the listener still wakes the other.
    first.registry().deregister(&mut listener).unwrap();
    let _client2 = std::net::TcpStream::connect(addr).unwrap();
    expect_event(&mut second, &mut second_events, L, Readiness::READABLE);
    listener.accept().unwrap();
}
