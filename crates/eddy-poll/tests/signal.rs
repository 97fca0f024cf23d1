//! `Signals` (signalfd): a blocked signal becomes readiness, on every
//! backend.
//!
//! `signal::raise` is thread-directed: the signal is pending for the
//! calling thread only, and a signalfd reports it when read from that
//! thread, so each test blocks, raises and reads on its own thread. The
//! mask changes stay in the test's thread (nextest runs each test in its own
//! process anyway).

#[macro_use]
mod util;

use std::io::ErrorKind;

use eddy_poll::signal::{self, Signal, Signals};
use eddy_poll::{Backend, Interest, Token, Trigger};
use util::{Readiness, assert_error_kind, assert_would_block, expect_event, expect_no_events, poller};

backend_tests!(delivers_sigusr1, delivers_each_signal_once, edge_signals_rearm_on_would_block);

const S: Token = Token(1);

fn delivers_sigusr1(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let mut signals = Signals::new(&[Signal::USR1]).unwrap();
    assert!(signal::is_blocked(Signal::USR1).unwrap(), "Signals::new blocks its signals in this thread");
    poll.registry().register(&mut signals, S, Interest::READABLE, Trigger::Level).unwrap();
    expect_no_events(&mut poll, &mut events, &[S]);
    assert_would_block(signals.receive());

    signal::raise(Signal::USR1).unwrap();
    expect_event(&mut poll, &mut events, S, Readiness::READABLE);
    assert_eq!(signals.receive().unwrap(), Signal::USR1);
    assert_would_block(signals.receive());
    expect_no_events(&mut poll, &mut events, &[S]);
}

fn delivers_each_signal_once(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let mut signals = Signals::new(&[Signal::USR1, Signal::USR2]).unwrap();
    poll.registry().register(&mut signals, S, Interest::READABLE, Trigger::Level).unwrap();
    signal::raise(Signal::USR2).unwrap();
    signal::raise(Signal::USR1).unwrap();
    // A standard signal raised twice while pending is pending once.
    signal::raise(Signal::USR1).unwrap();
    expect_event(&mut poll, &mut events, S, Readiness::READABLE);
    let mut got = vec![signals.receive().unwrap(), signals.receive().unwrap()];
    got.sort_by_key(|s| s.raw());
    assert_eq!(got, vec![Signal::USR1, Signal::USR2]);
    assert_would_block(signals.receive());
}

/// Edge on the emulated backends re-arms when `receive` returns
/// `WouldBlock`, as for a socket; on epoll each new signal is a new edge.
fn edge_signals_rearm_on_would_block(backend: Backend) {
    let (mut poll, mut events) = poller(backend, 8);
    let mut signals = Signals::new(&[Signal::USR2]).unwrap();
    poll.registry().register(&mut signals, S, Interest::READABLE, Trigger::Edge).unwrap();
    for _ in 0..3 {
        signal::raise(Signal::USR2).unwrap();
        expect_event(&mut poll, &mut events, S, Readiness::READABLE);
        assert_eq!(signals.receive().unwrap(), Signal::USR2);
        assert_would_block(signals.receive());
        expect_no_events(&mut poll, &mut events, &[S]);
    }
}

#[test]
fn uncatchable_and_invalid_signals_are_refused() {
    let kill = rustix::process::Signal::KILL.as_raw();
    let stop = rustix::process::Signal::STOP.as_raw();
    for n in [0, kill, stop, 65, -1] {
        assert_error_kind(Signal::from_raw(n), ErrorKind::InvalidInput);
    }
    assert_eq!(Signal::from_raw(Signal::USR1.raw()).unwrap(), Signal::USR1);
    assert_eq!(format!("{:?}", Signal::TERM), "SIGTERM");
}
