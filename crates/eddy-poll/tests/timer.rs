//! `Timer` (timerfd): fires once or periodically, never early, registrable
//! like a socket on every backend.

#[macro_use]
mod util;

use std::time::{Duration, Instant};

use eddy_poll::{Backend, Interest, Poll, Timer, Token, Trigger};
use util::{LONG, Readiness, assert_would_block, expect_event, expect_no_events, expect_no_events_for, poller};

backend_tests!(
    one_shot_fires_once_never_early,
    one_shot_never_early_repeated,
    periodic_delivers_successive_expirations,
    level_timer_reported_until_read,
    disarm_stops_it,
    set_replaces_earlier_setting,
    zero_delay_fires_at_once,
);

const T: Token = Token(1);

/// Polls until the timer's read returns expirations (reading to
/// `WouldBlock` after each event, as an edge registration requires);
/// returns their count. Fails if no event of the timer came within
/// [`LONG`].
fn wait_expiry(poll: &mut Poll, events: &mut eddy_poll::Events, timer: &Timer) -> u64 {
    let deadline = Instant::now() + LONG;
    loop {
        match timer.read() {
            Ok(n) => return n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("timer read: {e}"),
        }
        let now = Instant::now();
        assert!(now < deadline, "{}: the timer did not fire", poll.backend());
        poll.poll(events, Some(deadline - now)).unwrap();
        let fired = events.iter().any(|e| e.token() == T);
        assert!(fired || Instant::now() < deadline, "{}: no event of the timer", poll.backend());
    }
}

fn one_shot_fires_once_never_early(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let mut timer = Timer::new().unwrap();
    poll.registry().register(&mut timer, T, Interest::READABLE, Trigger::Edge).unwrap();
    assert_would_block(timer.read());

    let delay = Duration::from_millis(50);
    let start = Instant::now();
    timer.set_timeout(delay).unwrap();
    expect_event(&mut poll, &mut events, T, Readiness::READABLE);
    let elapsed = start.elapsed();
    assert!(elapsed >= delay, "{backend}: fired after {elapsed:?}, set for {delay:?}");
    assert_eq!(timer.read().unwrap(), 1);
    assert_would_block(timer.read());
    // One-shot: nothing more.
    expect_no_events_for(&mut poll, &mut events, &[T], delay * 2);
    assert_would_block(timer.read());
}

fn one_shot_never_early_repeated(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let mut timer = Timer::new().unwrap();
    poll.registry().register(&mut timer, T, Interest::READABLE, Trigger::Edge).unwrap();
    for delay_us in [100u64, 500, 1_000, 2_000, 3_000, 5_000, 7_000, 10_000] {
        let delay = Duration::from_micros(delay_us);
        let start = Instant::now();
        timer.set_timeout(delay).unwrap();
        assert_eq!(wait_expiry(&mut poll, &mut events, &timer), 1);
        let elapsed = start.elapsed();
        assert!(elapsed >= delay, "{backend}: fired after {elapsed:?}, set for {delay:?}");
    }
}

fn periodic_delivers_successive_expirations(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let mut timer = Timer::new().unwrap();
    poll.registry().register(&mut timer, T, Interest::READABLE, Trigger::Edge).unwrap();
    let first = Duration::from_millis(20);
    let period = Duration::from_millis(20);
    let start = Instant::now();
    timer.set_interval(first, period).unwrap();

    // Each expiry (or batch of them) is a new event; count until 4.
    let mut total = 0u64;
    let mut reads = 0;
    while total < 4 {
        let n = wait_expiry(&mut poll, &mut events, &timer);
        assert!(n >= 1);
        total += n;
        reads += 1;
        // Never early: the n-th expiration is at first + (n - 1) * period.
        let due = first + period * u32::try_from(total - 1).unwrap();
        let elapsed = start.elapsed();
        assert!(elapsed >= due, "{backend}: {total} expirations after {elapsed:?}, due at {due:?}");
    }
    assert!(reads >= 2, "{backend}: a periodic timer gives successive events ({reads} reads for {total})");
    timer.disarm().unwrap();
}

/// Level: an expired timer not yet read is reported on every wait; after
/// the read, silence.
fn level_timer_reported_until_read(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let mut timer = Timer::new().unwrap();
    poll.registry().register(&mut timer, T, Interest::READABLE, Trigger::Level).unwrap();
    timer.set_timeout(Duration::from_millis(5)).unwrap();
    for _ in 0..3 {
        expect_event(&mut poll, &mut events, T, Readiness::READABLE);
    }
    assert_eq!(timer.read().unwrap(), 1);
    expect_no_events(&mut poll, &mut events, &[T]);
}

fn disarm_stops_it(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let mut timer = Timer::new().unwrap();
    poll.registry().register(&mut timer, T, Interest::READABLE, Trigger::Edge).unwrap();
    timer.set_interval(Duration::from_millis(30), Duration::from_millis(30)).unwrap();
    timer.disarm().unwrap();
    expect_no_events_for(&mut poll, &mut events, &[T], Duration::from_millis(150));
    assert_would_block(timer.read());
}

fn set_replaces_earlier_setting(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let mut timer = Timer::new().unwrap();
    poll.registry().register(&mut timer, T, Interest::READABLE, Trigger::Edge).unwrap();
    timer.set_timeout(Duration::from_secs(3600)).unwrap();
    let start = Instant::now();
    timer.set_timeout(Duration::from_millis(10)).unwrap();
    assert_eq!(wait_expiry(&mut poll, &mut events, &timer), 1);
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(10) && elapsed < LONG, "{backend}: {elapsed:?}");
}

fn zero_delay_fires_at_once(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let mut timer = Timer::new().unwrap();
    poll.registry().register(&mut timer, T, Interest::READABLE, Trigger::Edge).unwrap();
    let start = Instant::now();
    timer.set_timeout(Duration::ZERO).unwrap();
    expect_event(&mut poll, &mut events, T, Readiness::READABLE);
    assert!(start.elapsed() < Duration::from_secs(1), "{backend}: {:?}", start.elapsed());
    assert_eq!(timer.read().unwrap(), 1);
}
