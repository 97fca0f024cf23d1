//! `Registry`: register, reregister, deregister, their errors (the same on
//! every backend), and registrations made from another thread while a poll
//! is blocked.

#[macro_use]
mod util;

use std::io::{ErrorKind, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use eddy_poll::net::UnixStream;
use eddy_poll::{Backend, Interest, Poll, Ready, Registration, SourceFd, Token, Trigger, Waker};
use util::{
    ExpectEvent, LONG, Readiness, assert_error_kind, collect_events, expect_event, expect_events, expect_no_events,
    poller, raw, tcp_pair,
};

backend_tests!(
    register_twice_is_already_exists,
    reregister_replaces_interest_and_token,
    reregister_and_deregister_unknown_are_not_found,
    reserved_token_is_refused,
    no_event_after_deregister,
    no_event_after_deregister_of_pending_readiness,
    register_again_after_deregister,
    register_from_another_thread_during_blocked_poll,
    reregister_from_another_thread_during_blocked_poll,
    deregister_from_another_thread_during_blocked_poll,
    dropped_socket_is_forgotten,
    raw_fd_closed_without_deregister,
    boxed_and_borrowed_sources_register,
);

fn register_twice_is_already_exists(backend: Backend) {
    let (poll, _events) = poller(backend, 8);
    let registry = poll.registry();
    let (mut client, _server) = tcp_pair();
    registry.register(&mut client, Token(1), Interest::READABLE, Trigger::Level).unwrap();
    for trigger in [Trigger::Level, Trigger::Edge, Trigger::Oneshot, Trigger::EdgeOneshot] {
        assert_error_kind(
            registry.register(&mut client, Token(2), Interest::WRITABLE, trigger),
            ErrorKind::AlreadyExists,
        );
    }

    let (reader, _writer) = rustix::pipe::pipe().unwrap();
    registry.register(&mut SourceFd(reader.as_fd()), Token(3), Interest::READABLE, Trigger::Level).unwrap();
    assert_error_kind(
        registry.register(&mut SourceFd(reader.as_fd()), Token(3), Interest::READABLE, Trigger::Level),
        ErrorKind::AlreadyExists,
    );
    registry.deregister(&mut SourceFd(reader.as_fd())).unwrap();

    let (mut source, _set) = Registration::new();
    registry.register(&mut source, Token(4), Interest::READABLE, Trigger::Edge).unwrap();
    assert_error_kind(
        registry.register(&mut source, Token(4), Interest::READABLE, Trigger::Edge),
        ErrorKind::AlreadyExists,
    );
}

fn reregister_replaces_interest_and_token(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut client, mut server) = tcp_pair();
    // Writable at once (an empty send buffer), nothing to read.
    poll.registry().register(&mut server, Token(1), Interest::WRITABLE, Trigger::Level).unwrap();
    expect_event(&mut poll, &mut events, Token(1), Readiness::WRITABLE);

    poll.registry().reregister(&mut server, Token(2), Interest::READABLE, Trigger::Level).unwrap();
    // Still writable, but writability is no longer watched; nothing to read.
    expect_no_events(&mut poll, &mut events, &[Token(1), Token(2)]);

    client.write_all(b"ping").unwrap();
    expect_event(&mut poll, &mut events, Token(2), Readiness::READABLE);
    // Level: the data is reported again; never under the old token, never
    // as writable.
    let seen = collect_events(&mut poll, &mut events, util::SHORT);
    assert!(!seen.is_empty(), "{backend}: level readable must be reported again");
    for s in &seen {
        assert_eq!(s.token, Token(2), "{backend}: only the new token: {seen:?}");
        assert_eq!(s.raw & raw::OUT, 0, "{backend}: writable is no longer watched: {seen:?}");
    }
}

fn reregister_and_deregister_unknown_are_not_found(backend: Backend) {
    let (poll, _events) = poller(backend, 8);
    let registry = poll.registry();
    let (mut client, _server) = tcp_pair();
    assert_error_kind(
        registry.reregister(&mut client, Token(1), Interest::READABLE, Trigger::Level),
        ErrorKind::NotFound,
    );
    assert_error_kind(registry.deregister(&mut client), ErrorKind::NotFound);

    // Registered, then deregistered: unknown again.
    registry.register(&mut client, Token(1), Interest::READABLE, Trigger::Level).unwrap();
    registry.deregister(&mut client).unwrap();
    assert_error_kind(registry.deregister(&mut client), ErrorKind::NotFound);
    assert_error_kind(
        registry.reregister(&mut client, Token(1), Interest::READABLE, Trigger::Edge),
        ErrorKind::NotFound,
    );

    // A raw fd.
    let (reader, _writer) = rustix::pipe::pipe().unwrap();
    assert_error_kind(registry.deregister(&mut SourceFd(reader.as_fd())), ErrorKind::NotFound);
    assert_error_kind(
        registry.reregister(&mut SourceFd(reader.as_fd()), Token(2), Interest::READABLE, Trigger::Level),
        ErrorKind::NotFound,
    );

    // A user source.
    let (mut source, _set) = Registration::new();
    assert_error_kind(
        registry.reregister(&mut source, Token(3), Interest::READABLE, Trigger::Edge),
        ErrorKind::NotFound,
    );
    assert_error_kind(registry.deregister(&mut source), ErrorKind::NotFound);

    // Registered with another poller: unknown to this one.
    let other = Poll::with_backend(backend).unwrap();
    let (mut elsewhere, _peer) = tcp_pair();
    other.registry().register(&mut elsewhere, Token(4), Interest::READABLE, Trigger::Level).unwrap();
    assert_error_kind(registry.deregister(&mut elsewhere), ErrorKind::NotFound);
    assert_error_kind(
        registry.reregister(&mut elsewhere, Token(4), Interest::READABLE, Trigger::Level),
        ErrorKind::NotFound,
    );
    let (mut user, _set) = Registration::new();
    other.registry().register(&mut user, Token(5), Interest::READABLE, Trigger::Level).unwrap();
    assert_error_kind(registry.deregister(&mut user), ErrorKind::NotFound);
    assert_error_kind(
        registry.reregister(&mut user, Token(5), Interest::READABLE, Trigger::Level),
        ErrorKind::NotFound,
    );
}

fn reserved_token_is_refused(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let registry = poll.registry().clone();
    let (mut client, mut server) = tcp_pair();
    assert_error_kind(
        registry.register(&mut server, Token::RESERVED, Interest::READABLE, Trigger::Level),
        ErrorKind::InvalidInput,
    );
    let (mut source, set) = Registration::new();
    assert_error_kind(
        registry.register(&mut source, Token::RESERVED, Interest::READABLE, Trigger::Level),
        ErrorKind::InvalidInput,
    );
    assert_error_kind(Waker::new(&registry, Token::RESERVED), ErrorKind::InvalidInput);
    assert_error_kind(
        registry.register_exclusive(&server, Token::RESERVED, Interest::READABLE, Trigger::Level),
        ErrorKind::InvalidInput,
    );

    // The refusals left nothing behind: the same sources register now, and
    // reregistering with the reserved token is refused too.
    registry.register(&mut server, Token(1), Interest::READABLE, Trigger::Level).unwrap();
    registry.register(&mut source, Token(2), Interest::READABLE, Trigger::Level).unwrap();
    assert_error_kind(
        registry.reregister(&mut server, Token::RESERVED, Interest::READABLE, Trigger::Level),
        ErrorKind::InvalidInput,
    );
    assert_error_kind(
        registry.reregister(&mut source, Token::RESERVED, Interest::READABLE, Trigger::Level),
        ErrorKind::InvalidInput,
    );
    client.write_all(b"x").unwrap();
    set.set_readiness(eddy_poll::Ready::READABLE).unwrap();
    let seen = expect_events(
        &mut poll,
        &mut events,
        vec![ExpectEvent::new(Token(1), Readiness::READABLE), ExpectEvent::new(Token(2), Readiness::READABLE)],
    );
    assert!(seen.iter().all(|s| s.token != Token::RESERVED), "{backend}: the notifier leaked out: {seen:?}");
}

fn no_event_after_deregister(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut client, mut server) = tcp_pair();
    poll.registry().register(&mut server, Token(1), Interest::READABLE, Trigger::Level).unwrap();
    client.write_all(b"one").unwrap();
    expect_event(&mut poll, &mut events, Token(1), Readiness::READABLE);

    poll.registry().deregister(&mut server).unwrap();
    // Still readable (nothing was read) and more data arrives: silence.
    client.write_all(b"two").unwrap();
    expect_no_events(&mut poll, &mut events, &[Token(1)]);
}

/// Readiness already in the kernel (a Unix socket's write queues the bytes on
/// the peer before it returns) when the socket is deregistered, before any
/// wait: no wait reports it.
fn no_event_after_deregister_of_pending_readiness(backend: Backend) {
    for trigger in [Trigger::Level, Trigger::Edge, Trigger::Oneshot, Trigger::EdgeOneshot] {
        let (mut poll, mut events) = poller(backend, 8);
        let (mut a, mut b) = UnixStream::pair().unwrap();
        poll.registry().register(&mut b, Token(1), Interest::READABLE, trigger).unwrap();
        a.write_all(b"pending").unwrap();
        poll.registry().deregister(&mut b).unwrap();
        expect_no_events(&mut poll, &mut events, &[Token(1)]);
    }

    // Readiness the kernel already queued on the ready list (epoll) or saw
    // in the last wait (poll, select): a level socket that was reported and
    // not read.
    let (mut poll, mut events) = poller(backend, 1);
    let (mut client, mut server) = tcp_pair();
    let (mut client2, mut server2) = tcp_pair();
    poll.registry().register(&mut server, Token(1), Interest::READABLE, Trigger::Level).unwrap();
    poll.registry().register(&mut server2, Token(2), Interest::READABLE, Trigger::Level).unwrap();
    client.write_all(b"a").unwrap();
    client2.write_all(b"b").unwrap();
    // Both ready; with room for one event, one of them stays pending.
    expect_events(
        &mut poll,
        &mut events,
        vec![ExpectEvent::new(Token(1), Readiness::READABLE), ExpectEvent::new(Token(2), Readiness::READABLE)],
    );
    poll.registry().deregister(&mut server).unwrap();
    poll.registry().deregister(&mut server2).unwrap();
    expect_no_events(&mut poll, &mut events, &[Token(1), Token(2)]);
}

fn register_again_after_deregister(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut a, mut b) = UnixStream::pair().unwrap();
    poll.registry().register(&mut b, Token(1), Interest::READABLE, Trigger::Level).unwrap();
    poll.registry().deregister(&mut b).unwrap();
    a.write_all(b"x").unwrap();
    expect_no_events(&mut poll, &mut events, &[Token(1)]);
    // Registering again with a new token reports the data already there.
    poll.registry().register(&mut b, Token(2), Interest::READABLE, Trigger::Level).unwrap();
    let seen = expect_event(&mut poll, &mut events, Token(2), Readiness::READABLE);
    assert!(seen.iter().all(|s| s.token == Token(2)), "{backend}: {seen:?}");
}

/// Runs `change` on another thread while this thread is blocked in a poll
/// of 10 s, and returns how long that poll (retried on empty wake-ups) took
/// to report `token`. The change is delayed a little so that the poll is
/// most likely blocked when it happens; the test is valid either way.
fn blocked_poll_sees<T: Send + 'static>(
    poll: &mut Poll,
    token: Token,
    change: impl FnOnce() -> T + Send + 'static,
) -> (Duration, T) {
    let mut events = eddy_poll::Events::with_capacity(8);
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let changer = std::thread::spawn(move || {
        started_rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        change()
    });
    let start = Instant::now();
    started_tx.send(()).unwrap();
    let mut found = false;
    while !found && start.elapsed() < Duration::from_secs(10) {
        poll.poll(&mut events, Some(Duration::from_secs(10))).unwrap();
        found = events.iter().any(|e| e.token() == token);
    }
    let took = start.elapsed();
    let out = changer.join().unwrap();
    assert!(found, "{}: the change made on another thread was not reported", poll.backend());
    (took, out)
}

fn register_from_another_thread_during_blocked_poll(backend: Backend) {
    let (mut poll, _events) = poller(backend, 8);
    let registry = poll.registry().clone();
    let (mut a, mut b) = UnixStream::pair().unwrap();
    a.write_all(b"ready before registration").unwrap();
    let (took, _b) = blocked_poll_sees(&mut poll, Token(7), move || {
        registry.register(&mut b, Token(7), Interest::READABLE, Trigger::Level).unwrap();
        b
    });
    assert!(took < LONG, "{backend}: a registration from another thread took {took:?} to be seen");
}

fn reregister_from_another_thread_during_blocked_poll(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let registry = poll.registry().clone();
    let (mut a, mut b) = UnixStream::pair().unwrap();
    poll.registry().register(&mut b, Token(1), Interest::READABLE, Trigger::Oneshot).unwrap();
    a.write_all(b"x").unwrap();
    expect_event(&mut poll, &mut events, Token(1), Readiness::READABLE);
    // Disarmed; rearmed (with a new token) from another thread while blocked.
    let (took, _b) = blocked_poll_sees(&mut poll, Token(2), move || {
        registry.reregister(&mut b, Token(2), Interest::READABLE, Trigger::Oneshot).unwrap();
        b
    });
    assert!(took < LONG, "{backend}: a reregistration from another thread took {took:?} to be seen");
}

fn deregister_from_another_thread_during_blocked_poll(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let registry = poll.registry().clone();
    let (mut a, mut b) = UnixStream::pair().unwrap();
    let (mut c, mut d) = UnixStream::pair().unwrap();
    poll.registry().register(&mut b, Token(1), Interest::READABLE, Trigger::Level).unwrap();
    poll.registry().register(&mut d, Token(2), Interest::READABLE, Trigger::Level).unwrap();
    // Another thread deregisters `b`, then makes both readable; the blocked
    // poll must report `d` and never `b`.
    let changer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        registry.deregister(&mut b).unwrap();
        a.write_all(b"x").unwrap();
        c.write_all(b"y").unwrap();
        (a, b, c)
    });
    let mut seen = expect_event(&mut poll, &mut events, Token(2), Readiness::READABLE);
    let _keep = changer.join().unwrap();
    seen.extend(collect_events(&mut poll, &mut events, util::SHORT));
    assert!(seen.iter().all(|s| s.token == Token(2)), "{backend}: a deregistered socket was reported: {seen:?}");
}

/// Dropping a registered eddy socket removes its registration (epoll: the
/// kernel does it at close; poll and select: the socket's drop), so a new
/// socket that gets the same fd number is not reported under the old token
/// and can be registered anew.
fn dropped_socket_is_forgotten(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (a, mut b) = UnixStream::pair().unwrap();
    poll.registry().register(&mut b, Token(1), Interest::READABLE, Trigger::Level).unwrap();
    let old = [a.as_raw_fd(), b.as_raw_fd()];
    drop(b);
    drop(a);
    let (mut c, mut d) = UnixStream::pair().unwrap();
    assert!(old.contains(&c.as_raw_fd()) && old.contains(&d.as_raw_fd()), "the fd numbers are reused");
    c.write_all(b"x").unwrap();
    d.write_all(b"y").unwrap();
    expect_no_events(&mut poll, &mut events, &[Token(1)]);
    poll.registry().register(&mut c, Token(2), Interest::READABLE, Trigger::Level).unwrap();
    poll.registry().register(&mut d, Token(3), Interest::READABLE, Trigger::Level).unwrap();
    let seen = expect_events(
        &mut poll,
        &mut events,
        vec![ExpectEvent::new(Token(2), Readiness::READABLE), ExpectEvent::new(Token(3), Readiness::READABLE)],
    );
    assert!(seen.iter().all(|s| s.token != Token(1)), "{backend}: the dropped socket's token: {seen:?}");
}

/// A raw fd (`SourceFd`) closed while registered: epoll forgets it by
/// itself; poll reports it with `POLLNVAL` (an error event); select's wait
/// fails with `EBADF` (the `Poll::poll` docs say so). Deregister before
/// closing.
fn raw_fd_closed_without_deregister(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (reader, writer) = rustix::pipe::pipe().unwrap();
    poll.registry().register(&mut SourceFd(reader.as_fd()), Token(1), Interest::READABLE, Trigger::Level).unwrap();
    drop(reader);
    match backend {
        Backend::Epoll => expect_no_events(&mut poll, &mut events, &[Token(1)]),
        Backend::Poll => {
            let seen = expect_event(&mut poll, &mut events, Token(1), Readiness::ERROR);
            assert!(seen.iter().any(|s| s.raw & raw::NVAL != 0), "poll: POLLNVAL: {seen:?}");
        }
        Backend::Select => {
            let err = poll.poll(&mut events, Some(Duration::from_millis(10))).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(rustix::io::Errno::BADF.raw_os_error()), "select: {err}");
        }
    }
    drop(writer);
}

/// mio's paths and impls (issue 12): `event::{Event, Events, Source}` name
/// the root's types, and a `Box<dyn Source>` or a `&mut` source registers,
/// reregisters and deregisters as the source inside it.
fn boxed_and_borrowed_sources_register(backend: Backend) {
    use eddy_poll::event::{Event, Events, Source};
    let _same: fn(&Events) -> Option<&Event> = |e: &eddy_poll::Events| e.iter().next();
    let (mut poll, mut events): (_, Events) = poller(backend, 8);
    let (mut a, b) = UnixStream::pair().unwrap();
    let (mut c, d) = UnixStream::pair().unwrap();
    let (mut user, set) = Registration::new();
    let mut sources: Vec<Box<dyn Source>> = vec![Box::new(b), Box::new(d)];
    for (i, source) in sources.iter_mut().enumerate() {
        poll.registry().register(source, Token(i), Interest::READABLE, Trigger::Level).unwrap();
    }
    fn register_generic<S: Source>(registry: &eddy_poll::Registry, mut source: S) {
        registry.register(&mut source, Token(9), Interest::READABLE, Trigger::Level).unwrap();
    }
    register_generic(poll.registry(), &mut user);
    a.write_all(b"x").unwrap();
    c.write_all(b"y").unwrap();
    set.set_readiness(Ready::READABLE).unwrap();
    expect_events(
        &mut poll,
        &mut events,
        vec![
            ExpectEvent::new(Token(0), Readiness::READABLE),
            ExpectEvent::new(Token(1), Readiness::READABLE),
            ExpectEvent::new(Token(9), Readiness::READABLE),
        ],
    );
    let mut first: &mut Box<dyn Source> = &mut sources[0];
    poll.registry().reregister(&mut first, Token(5), Interest::READABLE, Trigger::Level).unwrap();
    expect_event(&mut poll, &mut events, Token(5), Readiness::READABLE);
    for source in &mut sources {
        poll.registry().deregister(source).unwrap();
    }
    assert_error_kind(poll.registry().deregister(&mut sources[1]), ErrorKind::NotFound);
    poll.registry().deregister(&mut &mut user).unwrap();
    expect_no_events(&mut poll, &mut events, &[Token(0), Token(1), Token(5), Token(9)]);
}
