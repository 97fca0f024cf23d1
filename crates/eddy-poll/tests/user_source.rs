//! User-space readiness sources (`Registration` / `SetReadiness`), set from
//! another thread, obey the trigger mode like a socket.

#[macro_use]
mod util;

use std::io::ErrorKind;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use eddy_poll::{Backend, Interest, Poll, Ready, Registration, SetReadiness, Token, Trigger};
use util::{
    LONG, Readiness, assert_error_kind, collect_events, expect_event, expect_no_events, poll_once, poller, raw,
};

backend_tests!(
    edge_one_event_per_set,
    level_every_poll_while_set,
    oneshot_once_until_reregister,
    edge_oneshot_once_until_reregister,
    set_from_another_thread_ends_blocked_poll,
    interest_filters_readiness,
    closed_and_error_readiness,
    reregister_replaces_token_and_interest,
    no_event_after_deregister_or_drop,
);

const U: Token = Token(3);

/// Sets `ready` on another thread and waits for it to be done.
fn set_elsewhere(set: &SetReadiness, ready: Ready) {
    let set = set.clone();
    std::thread::spawn(move || set.set_readiness(ready)).join().unwrap().unwrap();
}

fn count(seen: &[util::Seen], token: Token) -> usize {
    seen.iter().filter(|s| s.token == token).count()
}

fn edge_one_event_per_set(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut source, set) = Registration::new();
    poll.registry().register(&mut source, U, Interest::READABLE, Trigger::Edge).unwrap();
    expect_no_events(&mut poll, &mut events, &[U]);

    for _ in 0..3 {
        set_elsewhere(&set, Ready::READABLE);
        expect_event(&mut poll, &mut events, U, Readiness::READABLE);
        // Still readable, no new set: silence.
        expect_no_events(&mut poll, &mut events, &[U]);
    }
    // Several sets before one wait: one event.
    for _ in 0..5 {
        set_elsewhere(&set, Ready::READABLE);
    }
    let seen = collect_events(&mut poll, &mut events, util::SHORT);
    assert_eq!(count(&seen, U), 1, "{backend}: {seen:?}");
}

fn level_every_poll_while_set(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut source, set) = Registration::new();
    poll.registry().register(&mut source, U, Interest::READABLE, Trigger::Level).unwrap();
    set_elsewhere(&set, Ready::READABLE);
    for _ in 0..5 {
        let seen = poll_once(&mut poll, &mut events, LONG);
        // Exactly one event per wait, like a level socket.
        assert_eq!(count(&seen, U), 1, "{backend}: level, set: {seen:?}");
    }
    set_elsewhere(&set, Ready::EMPTY);
    // A wait may still carry the last queued report; after it, none.
    poll_once(&mut poll, &mut events, Duration::ZERO);
    expect_no_events(&mut poll, &mut events, &[U]);

    set_elsewhere(&set, Ready::READABLE);
    expect_event(&mut poll, &mut events, U, Readiness::READABLE);
    expect_event(&mut poll, &mut events, U, Readiness::READABLE);
}

fn oneshot_once_until_reregister(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut source, set) = Registration::new();
    poll.registry().register(&mut source, U, Interest::READABLE, Trigger::Oneshot).unwrap();
    set_elsewhere(&set, Ready::READABLE);
    expect_event(&mut poll, &mut events, U, Readiness::READABLE);
    expect_no_events(&mut poll, &mut events, &[U]);
    set_elsewhere(&set, Ready::READABLE);
    expect_no_events(&mut poll, &mut events, &[U]);

    // Rearmed while still ready: reported again, once.
    poll.registry().reregister(&mut source, U, Interest::READABLE, Trigger::Oneshot).unwrap();
    let seen = expect_event(&mut poll, &mut events, U, Readiness::READABLE);
    assert_eq!(count(&seen, U), 1, "{backend}: {seen:?}");
    expect_no_events(&mut poll, &mut events, &[U]);

    // Rearmed while not ready: nothing until it is set.
    set_elsewhere(&set, Ready::EMPTY);
    poll.registry().reregister(&mut source, U, Interest::READABLE, Trigger::Oneshot).unwrap();
    expect_no_events(&mut poll, &mut events, &[U]);
    set_elsewhere(&set, Ready::READABLE);
    expect_event(&mut poll, &mut events, U, Readiness::READABLE);
    expect_no_events(&mut poll, &mut events, &[U]);
}

fn edge_oneshot_once_until_reregister(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut source, set) = Registration::new();
    poll.registry().register(&mut source, U, Interest::READABLE, Trigger::EdgeOneshot).unwrap();
    set_elsewhere(&set, Ready::READABLE);
    expect_event(&mut poll, &mut events, U, Readiness::READABLE);
    set_elsewhere(&set, Ready::READABLE);
    expect_no_events(&mut poll, &mut events, &[U]);
    poll.registry().reregister(&mut source, U, Interest::READABLE, Trigger::EdgeOneshot).unwrap();
    // Ready at the rearm: reported once (as a socket's EPOLL_CTL_MOD does).
    let seen = collect_events(&mut poll, &mut events, util::SHORT);
    assert_eq!(count(&seen, U), 1, "{backend}: {seen:?}");
    set_elsewhere(&set, Ready::READABLE);
    expect_no_events(&mut poll, &mut events, &[U]);
}

fn set_from_another_thread_ends_blocked_poll(backend: Backend) {
    for trigger in [Trigger::Edge, Trigger::Level, Trigger::Oneshot, Trigger::EdgeOneshot] {
        let (mut poll, mut events) = poller(backend, 8);
        let (mut source, set) = Registration::new();
        poll.registry().register(&mut source, U, Interest::READABLE, trigger).unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            rx.recv().unwrap();
            // Most likely after the poll blocked; valid either way.
            std::thread::sleep(Duration::from_millis(30));
            set.set_readiness(Ready::READABLE).unwrap();
        });
        let start = Instant::now();
        tx.send(()).unwrap();
        let mut found = false;
        while !found && start.elapsed() < Duration::from_secs(10) {
            poll.poll(&mut events, Some(Duration::from_secs(10))).unwrap();
            found = events.iter().any(|e| e.token() == U && e.is_readable());
        }
        let took = start.elapsed();
        thread.join().unwrap();
        assert!(found && took < LONG, "{backend} {trigger:?}: found {found} after {took:?}");
    }
}

fn interest_filters_readiness(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut source, set) = Registration::new();
    poll.registry().register(&mut source, U, Interest::READABLE, Trigger::Level).unwrap();
    set_elsewhere(&set, Ready::WRITABLE | Ready::PRIORITY);
    expect_no_events(&mut poll, &mut events, &[U]);
    set_elsewhere(&set, Ready::READABLE | Ready::WRITABLE);
    let seen = expect_event(&mut poll, &mut events, U, Readiness::READABLE);
    assert!(seen.iter().all(|s| s.raw & (raw::OUT | raw::PRI) == 0), "{backend}: not watched: {seen:?}");
    assert_eq!(set.readiness(), Ready::READABLE | Ready::WRITABLE);

    poll.registry().reregister(&mut source, U, Interest::WRITABLE | Interest::PRIORITY, Trigger::Level).unwrap();
    let seen = expect_event(&mut poll, &mut events, U, Readiness::WRITABLE);
    assert!(seen.iter().all(|s| s.raw & raw::IN == 0), "{backend}: readable is not watched now: {seen:?}");
    set_elsewhere(&set, Ready::PRIORITY);
    expect_event(&mut poll, &mut events, U, Readiness::PRIORITY);
}

fn closed_and_error_readiness(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut source, set) = Registration::new();
    poll.registry().register(&mut source, U, Interest::READABLE, Trigger::Edge).unwrap();
    set_elsewhere(&set, Ready::READABLE | Ready::READ_CLOSED);
    expect_event(&mut poll, &mut events, U, Readiness::READABLE | Readiness::READ_CLOSED);

    // An error is reported whatever the interest.
    let (mut other, set_other) = Registration::new();
    poll.registry().register(&mut other, Token(4), Interest::WRITABLE, Trigger::Edge).unwrap();
    set_elsewhere(&set_other, Ready::ERROR);
    let seen = expect_event(&mut poll, &mut events, Token(4), Readiness::ERROR);
    assert!(seen.iter().filter(|s| s.token == Token(4)).all(|s| s.raw & raw::ERR != 0), "{seen:?}");
}

fn reregister_replaces_token_and_interest(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut source, set) = Registration::new();
    poll.registry().register(&mut source, U, Interest::READABLE, Trigger::Level).unwrap();
    set_elsewhere(&set, Ready::READABLE);
    expect_event(&mut poll, &mut events, U, Readiness::READABLE);
    poll.registry().reregister(&mut source, Token(5), Interest::READABLE, Trigger::Level).unwrap();
    let seen = collect_events(&mut poll, &mut events, util::SHORT);
    assert!(count(&seen, Token(5)) > 0 && count(&seen, U) == 0, "{backend}: the new token only: {seen:?}");
    // Reregister with another poller: NotFound.
    let other = Poll::with_backend(backend).unwrap();
    assert_error_kind(
        other.registry().reregister(&mut source, U, Interest::READABLE, Trigger::Level),
        ErrorKind::NotFound,
    );
}

// A source reregistered while queued is reported once per wait: see
// `regressions.rs`, `user_source_reregistered_while_queued_was_queued_twice`.

fn no_event_after_deregister_or_drop(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut source, set) = Registration::new();
    poll.registry().register(&mut source, U, Interest::READABLE, Trigger::Level).unwrap();
    set_elsewhere(&set, Ready::READABLE);
    poll.registry().deregister(&mut source).unwrap();
    expect_no_events(&mut poll, &mut events, &[U]);
    set_elsewhere(&set, Ready::READABLE);
    expect_no_events(&mut poll, &mut events, &[U]);
    assert_error_kind(poll.registry().deregister(&mut source), ErrorKind::NotFound);

    // Registered again: the readiness set meanwhile is reported.
    poll.registry().register(&mut source, Token(6), Interest::READABLE, Trigger::Level).unwrap();
    expect_event(&mut poll, &mut events, Token(6), Readiness::READABLE);

    // Dropped while queued: nothing, and setting it afterwards is harmless.
    drop(source);
    expect_no_events(&mut poll, &mut events, &[Token(6)]);
    set_elsewhere(&set, Ready::READABLE);
    expect_no_events(&mut poll, &mut events, &[Token(6)]);

    // The poller dropped first: setting readiness is harmless too.
    let (mut source, set) = Registration::new();
    poll.registry().register(&mut source, Token(7), Interest::READABLE, Trigger::Level).unwrap();
    drop(poll);
    set.set_readiness(Ready::READABLE).unwrap();
}
