//! select(2) watches only fds below `FD_SETSIZE` (1024): above it eddy
//! refuses with a clear error, where epoll and poll accept the same fd.
//!
//! These tests raise RLIMIT_NOFILE and fill the fd table: nextest runs each
//! in its own process; under `cargo test` they take a lock.

mod util;

use std::io::{ErrorKind, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use eddy_poll::net::UnixStream;
use eddy_poll::{Backend, FD_SETSIZE, Interest, Poll, SourceFd, Token, Trigger};
use rustix::process::{Resource, getrlimit, setrlimit};
use util::{Readiness, expect_event, poller};

/// Makes sure at least `needed` fds can be open (raising the soft limit
/// up to the hard one if needed).
fn allow_fds(needed: u64) {
    let limit = getrlimit(Resource::Nofile);
    if limit.current.is_some_and(|soft| soft < needed) {
        let hard = limit.maximum;
        assert!(hard.is_none_or(|h| h >= needed), "RLIMIT_NOFILE hard limit {hard:?} is below {needed}");
        setrlimit(Resource::Nofile, rustix::process::Rlimit { current: Some(needed), maximum: hard }).unwrap();
    }
}

#[test]
fn fd_setsize_is_1024() {
    assert_eq!(FD_SETSIZE, 1024);
}

/// An fd at 1024 is refused by select with `InvalidInput`, whose message
/// names `FD_SETSIZE` and the backends that can watch it; epoll and poll
/// register the same fd and report its readiness. The fd just below
/// (1023) works on select.
#[test]
fn select_refuses_fd_at_fd_setsize_epoll_and_poll_accept_it() {
    let _serial = util::serial();
    allow_fds(2048);
    let (mut writer, reader) = UnixStream::pair().unwrap();
    let high: OwnedFd = rustix::io::fcntl_dupfd_cloexec(&reader, 1024).unwrap();
    assert!(high.as_raw_fd() >= 1024, "{}", high.as_raw_fd());

    let (select, _events) = poller(Backend::Select, 8);
    let err = select
        .registry()
        .register(&mut SourceFd(high.as_fd()), Token(1), Interest::READABLE, Trigger::Level)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let message = err.to_string();
    for needle in ["FD_SETSIZE", "1024", "epoll", "poll"] {
        assert!(message.contains(needle), "the message should mention {needle}: {message}");
    }
    // Refused, so not registered.
    util::assert_error_kind(select.registry().deregister(&mut SourceFd(high.as_fd())), ErrorKind::NotFound);

    writer.write_all(b"x").unwrap();
    for backend in [Backend::Epoll, Backend::Poll] {
        let (mut poll, mut events) = poller(backend, 8);
        poll.registry().register(&mut SourceFd(high.as_fd()), Token(2), Interest::READABLE, Trigger::Level).unwrap();
        expect_event(&mut poll, &mut events, Token(2), Readiness::READABLE);
        poll.registry().deregister(&mut SourceFd(high.as_fd())).unwrap();
    }

    // 1023, the last fd an fd_set holds, works on select.
    let below: OwnedFd = rustix::io::fcntl_dupfd_cloexec(&reader, 1023).unwrap();
    assert_eq!(below.as_raw_fd(), 1023, "fd 1023 should be free in this process");
    let (mut select, mut events) = poller(Backend::Select, 8);
    select.registry().register(&mut SourceFd(below.as_fd()), Token(3), Interest::READABLE, Trigger::Level).unwrap();
    expect_event(&mut select, &mut events, Token(3), Readiness::READABLE);
    select.registry().deregister(&mut SourceFd(below.as_fd())).unwrap();
}

/// With every fd below 1024 taken, eddy's own sockets land above it: select
/// refuses to register them, and refuses to start at all (its internal
/// notifier would be above it), with no fd leaked by the failed attempt;
/// epoll and poll work.
#[test]
fn select_refuses_when_every_low_fd_is_taken() {
    let _serial = util::serial();
    allow_fds(2048);
    let (_writer, reader) = UnixStream::pair().unwrap();
    // A select poller made while low fds are free keeps working.
    let early = Poll::with_backend(Backend::Select).unwrap();
    let mut fillers = Vec::new();
    loop {
        let fd = rustix::io::fcntl_dupfd_cloexec(&reader, 0).unwrap();
        let raw = fd.as_raw_fd();
        fillers.push(fd);
        if raw >= 1024 {
            break;
        }
        assert!(fillers.len() <= 1100, "the fd table does not fill");
    }

    let before = util::fd_count();
    let err = Poll::with_backend(Backend::Select).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("FD_SETSIZE"), "{err}");
    assert_eq!(util::fd_count(), before, "the failed Poll::with_backend leaked an fd");

    let (mut a, mut b) = UnixStream::pair().unwrap();
    assert!(a.as_raw_fd() >= 1024 && b.as_raw_fd() >= 1024);
    let err = early.registry().register(&mut a, Token(1), Interest::READABLE, Trigger::Level).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    for backend in [Backend::Epoll, Backend::Poll] {
        let (mut poll, mut events) = poller(backend, 8);
        poll.registry().register(&mut b, Token(2), Interest::READABLE, Trigger::Level).unwrap();
        a.write_all(b"x").unwrap();
        expect_event(&mut poll, &mut events, Token(2), Readiness::READABLE);
        poll.registry().deregister(&mut b).unwrap();
    }
}
