//! `Waker`: wakes a blocked poll from any thread; many wakes before one
//! poll give one event.

#[macro_use]
mod util;

use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use eddy_poll::{Backend, Token, Waker};
use util::{LONG, Readiness, collect_events, expect_event, expect_no_events, poller, raw};

backend_tests!(
    wakes_coalesce_into_one_event,
    wake_from_another_thread_ends_blocked_poll,
    each_wake_after_a_poll_is_a_new_event,
    no_lost_wake_up,
    dropped_waker_reports_nothing,
    several_wakers,
);

const W: Token = Token(10);

fn wakes_coalesce_into_one_event(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 64);
    let waker = Waker::new(poll.registry(), W).unwrap();
    for _ in 0..100 {
        waker.wake().unwrap();
    }
    let seen = collect_events(&mut poll, &mut events, util::SHORT);
    let wakes: Vec<_> = seen.iter().filter(|s| s.token == W).collect();
    assert_eq!(wakes.len(), 1, "{backend}: 100 wakes before one poll: {seen:?}");
    assert_eq!(wakes[0].raw & raw::IN, raw::IN, "{backend}: a wake is readable: {seen:?}");
}

fn wake_from_another_thread_ends_blocked_poll(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let waker = Arc::new(Waker::new(poll.registry(), W).unwrap());
    let w = Arc::clone(&waker);
    let (tx, rx) = mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        rx.recv().unwrap();
        // Most likely after the poll below blocked; valid either way.
        std::thread::sleep(Duration::from_millis(50));
        w.wake().unwrap();
    });
    let start = Instant::now();
    tx.send(()).unwrap();
    let mut woken = false;
    while !woken && start.elapsed() < Duration::from_secs(10) {
        poll.poll(&mut events, Some(Duration::from_secs(10))).unwrap();
        woken = events.iter().any(|e| e.token() == W && e.is_readable());
    }
    let took = start.elapsed();
    thread.join().unwrap();
    assert!(woken, "{backend}: the wake was not reported");
    assert!(took < LONG, "{backend}: a 10 s poll woken after 50 ms returned after {took:?}");
}

fn each_wake_after_a_poll_is_a_new_event(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let waker = Waker::new(poll.registry(), W).unwrap();
    for _ in 0..3 {
        waker.wake().unwrap();
        expect_event(&mut poll, &mut events, W, Readiness::READABLE);
        expect_no_events(&mut poll, &mut events, &[W]);
    }
}

/// Ping-pong with another thread: each wake must end the poll that waits
/// for it (a lost wake-up leaves the poll blocked until the test fails).
fn no_lost_wake_up(backend: Backend) {
    const ROUNDS: usize = 300;
    let (mut poll, mut events) = poller(backend, 8);
    let waker = Arc::new(Waker::new(poll.registry(), W).unwrap());
    let w = Arc::clone(&waker);
    let (go_tx, go_rx) = mpsc::channel::<bool>();
    let thread = std::thread::spawn(move || {
        while go_rx.recv().unwrap() {
            w.wake().unwrap();
        }
    });
    let deadline = Instant::now() + LONG * 2;
    for round in 0..ROUNDS {
        go_tx.send(true).unwrap();
        loop {
            let now = Instant::now();
            assert!(now < deadline, "{backend}: wake {round} was lost");
            poll.poll(&mut events, Some(deadline - now)).unwrap();
            if events.iter().any(|e| e.token() == W) {
                break;
            }
        }
    }
    go_tx.send(false).unwrap();
    thread.join().unwrap();
}

fn dropped_waker_reports_nothing(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let waker = Waker::new(poll.registry(), W).unwrap();
    waker.wake().unwrap();
    drop(waker);
    expect_no_events(&mut poll, &mut events, &[W]);
    // Its token can be used again.
    let again = Waker::new(poll.registry(), W).unwrap();
    again.wake().unwrap();
    expect_event(&mut poll, &mut events, W, Readiness::READABLE);
}

fn several_wakers(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let a = Waker::new(poll.registry(), Token(1)).unwrap();
    let b = Waker::new(poll.registry(), Token(2)).unwrap();
    b.wake().unwrap();
    let seen = expect_event(&mut poll, &mut events, Token(2), Readiness::READABLE);
    assert!(seen.iter().all(|s| s.token != Token(1)), "{backend}: only the woken one: {seen:?}");
    a.wake().unwrap();
    b.wake().unwrap();
    util::expect_events(
        &mut poll,
        &mut events,
        vec![
            util::ExpectEvent::new(Token(1), Readiness::READABLE),
            util::ExpectEvent::new(Token(2), Readiness::READABLE),
        ],
    );
}
