//! `Events` and `Event`: capacity bounds each wait and nothing is starved;
//! the accessors read the flags as `event.rs` documents, per backend.

#[macro_use]
mod util;

use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

use eddy_poll::net::UnixStream;
use eddy_poll::{Backend, Events, FlagNames, Interest, Token, Trigger, Waker};
use util::{LONG, Readiness, expect_event, poll_once, poller, raw, tcp_pair};

backend_tests!(
    capacity_one_delivers_every_ready_socket,
    capacity_bounds_each_wait,
    timeout_gives_empty_events,
    writable_event_flags,
);

/// N level-ready sockets, room for one event per wait: N waits report N
/// distinct sockets (epoll rotates its ready list; poll and select resume
/// the scan where the last wait stopped).
fn capacity_one_delivers_every_ready_socket(backend: Backend) {
    const N: usize = 6;
    let (mut poll, mut events) = poller(backend, 1);
    let mut pairs = Vec::new();
    for i in 0..N {
        let (mut client, mut server) = tcp_pair();
        poll.registry().register(&mut server, Token(i), Interest::READABLE, Trigger::Level).unwrap();
        client.write_all(b"x").unwrap();
        pairs.push((client, server));
    }
    // Wait until every socket has been seen ready once (the data is on its
    // way through loopback), then count from a steady state.
    util::expect_events(
        &mut poll,
        &mut events,
        (0..N).map(|i| util::ExpectEvent::new(Token(i), Readiness::READABLE)).collect(),
    );
    for round in 0..3 {
        let order = util::distinct_over_waits(&mut poll, &mut events, N);
        let distinct: HashSet<Token> = order.iter().copied().collect();
        assert_eq!(distinct.len(), N, "{backend}: round {round}: {N} waits gave {order:?}");
    }
}

// Two fairness tests moved to `regressions.rs`, named for the bugs they
// caught: `kernel_events_filling_events_starved_user_sources` and
// `level_user_source_requeued_first_starved_the_others`.

fn capacity_bounds_each_wait(backend: Backend) {
    const N: usize = 10;
    let (mut poll, mut events) = poller(backend, 4);
    assert_eq!(events.capacity(), 4);
    let mut pairs = Vec::new();
    for i in 0..N {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        poll.registry().register(&mut b, Token(i), Interest::READABLE, Trigger::Edge).unwrap();
        a.write_all(b"x").unwrap();
        pairs.push((a, b));
    }
    // Edge: each socket reported once, at most 4 per wait, all within a
    // few waits.
    let mut seen = HashSet::new();
    let deadline = std::time::Instant::now() + LONG;
    while seen.len() < N {
        assert!(std::time::Instant::now() < deadline, "{backend}: only {seen:?}");
        let batch = poll_once(&mut poll, &mut events, LONG);
        assert!(batch.len() <= 4, "{backend}: {batch:?}");
        for s in batch {
            assert!(seen.insert(s.token), "{backend}: edge reported {:?} twice", s.token);
        }
    }
    assert_eq!(Events::with_capacity(0).capacity(), 1, "a zero capacity is raised to 1");
}

fn timeout_gives_empty_events(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let waker = Waker::new(poll.registry(), Token(1)).unwrap();
    waker.wake().unwrap();
    expect_event(&mut poll, &mut events, Token(1), Readiness::READABLE);
    // The next wait times out and leaves nothing from the last one.
    poll.poll(&mut events, Some(Duration::from_millis(20))).unwrap();
    assert!(events.is_empty(), "{backend}: {events:?}");
    assert_eq!(events.len(), 0);
    assert_eq!(events.iter().count(), 0);
}

/// What each accessor reports for a writable TCP socket, and the raw flags
/// (select reports only IN, OUT and PRI).
fn writable_event_flags(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let (mut client, _server) = tcp_pair();
    poll.registry().register(&mut client, Token(1), Interest::READABLE | Interest::WRITABLE, Trigger::Level).unwrap();
    poll.poll(&mut events, Some(LONG)).unwrap();
    let event = events.iter().find(|e| e.token() == Token(1)).expect("writable at once");
    assert!(event.is_writable() && !event.is_readable(), "{backend}: {event:?}");
    assert!(!event.is_read_closed() && !event.is_write_closed() && !event.is_error() && !event.is_priority());
    assert_eq!(event.raw(), raw::OUT, "{backend}: {event:?}");
    let debug = format!("{event:?}");
    assert!(debug.contains("Token(1)") && debug.contains("OUT"), "{debug}");
    for &(bits, name) in &[(raw::IN | raw::OUT, "IN|OUT"), (raw::RDHUP | raw::HUP, "HUP|RDHUP"), (0, "0")] {
        assert_eq!(FlagNames(bits).to_string(), name);
    }
}
