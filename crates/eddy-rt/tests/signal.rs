//! Signals on every backend: `ctrl_c` and `Signals::recv` over a signalfd.
//!
//! Every signal here is raised at the current thread (`signal::raise`),
//! which is the runtime's loop thread (`block_on` runs there), after the
//! stream blocked it in that thread: it becomes pending for this thread
//! only and no other test thread can be hit. Each raise is preceded by an
//! assertion that the signal is blocked, so a mistake fails the test
//! instead of ending the process.

mod util;

use std::io::ErrorKind;
use std::time::Duration;

use eddy_poll::signal::is_blocked;
use eddy_rt::signal::{Signal, Signals, block, ctrl_c, raise};
use eddy_rt::time::{sleep, timeout};
use eddy_rt::{spawn_local, yield_now};
use util::on_every_backend;

const WAIT: Duration = Duration::from_secs(10);

fn raise_blocked(signal: Signal) {
    assert!(is_blocked(signal).unwrap(), "{signal:?} must be blocked in this thread before it is raised");
    raise(signal).unwrap();
}

#[test]
fn ctrl_c_completes_at_a_raised_sigint() {
    on_every_backend(|backend| async move {
        let waiter = spawn_local(ctrl_c());
        // ctrl_c blocks SIGINT when first polled.
        for _ in 0..100 {
            if is_blocked(Signal::INT).unwrap() {
                break;
            }
            yield_now().await;
        }
        yield_now().await;
        assert!(!waiter.is_finished(), "no SIGINT yet ({backend:?})");
        raise_blocked(Signal::INT);
        timeout(WAIT, waiter).await.expect("ctrl_c completes").unwrap().unwrap();
    });
}

#[test]
fn recv_gets_each_raised_signal_once() {
    on_every_backend(|backend| async move {
        let mut signals = Signals::new(&[Signal::USR1, Signal::USR2]).unwrap();
        assert!(is_blocked(Signal::USR1).unwrap() && is_blocked(Signal::USR2).unwrap(), "new blocks them");
        assert_eq!(signals.try_recv().map_err(|e| e.kind()), Err(ErrorKind::WouldBlock));
        raise_blocked(Signal::USR2);
        raise_blocked(Signal::USR1);
        // A standard signal raised twice while pending is pending once.
        raise_blocked(Signal::USR1);
        let mut got = vec![
            timeout(WAIT, signals.recv()).await.unwrap().unwrap(),
            timeout(WAIT, signals.recv()).await.unwrap().unwrap(),
        ];
        got.sort_by_key(|s| s.raw());
        assert_eq!(got, vec![Signal::USR1, Signal::USR2], "{backend:?}");
        assert_eq!(signals.try_recv().map_err(|e| e.kind()), Err(ErrorKind::WouldBlock), "{backend:?}");
    });
}

/// The task parks on the signalfd; a signal raised later (by another task
/// of the loop) wakes it, round after round.
#[test]
fn a_waiting_recv_is_woken_by_a_later_signal() {
    on_every_backend(|backend| async move {
        let mut signals = Signals::new(&[Signal::USR1]).unwrap();
        for round in 0..5 {
            let raiser = spawn_local(async {
                sleep(Duration::from_millis(5)).await;
                raise_blocked(Signal::USR1);
            });
            let got = timeout(WAIT, signals.recv()).await.expect("woken by the signal").unwrap();
            assert_eq!(got, Signal::USR1, "round {round} ({backend:?})");
            raiser.await.unwrap();
        }
    });
}

/// A signal that arrived while blocked, before the stream existed, is
/// pending: the stream reports it.
#[test]
fn a_signal_pending_before_the_stream_is_received() {
    on_every_backend(|backend| async move {
        block(&[Signal::USR2]).unwrap();
        raise_blocked(Signal::USR2);
        let mut signals = Signals::new(&[Signal::USR2]).unwrap();
        let got = timeout(WAIT, signals.recv()).await.unwrap().unwrap();
        assert_eq!(got, Signal::USR2, "{backend:?}");
    });
}

/// A pending `recv` dropped before the signal came loses nothing.
#[test]
fn a_dropped_pending_recv_then_a_new_recv_gets_the_signal() {
    on_every_backend(|backend| async move {
        let mut signals = Signals::new(&[Signal::HUP]).unwrap();
        assert!(timeout(Duration::from_millis(20), signals.recv()).await.is_err(), "nothing yet");
        raise_blocked(Signal::HUP);
        let got = timeout(WAIT, signals.recv()).await.expect("not lost").unwrap();
        assert_eq!(got, Signal::HUP, "{backend:?}");
    });
}

/// Dropping the stream deregisters and closes the signalfd, and leaves
/// the signal blocked (a pending one would otherwise take its default
/// action).
#[test]
fn dropping_the_stream_frees_its_fd_and_keeps_the_signal_blocked() {
    on_every_backend(|backend| async move {
        let before = util::fd_count();
        let signals = Signals::new(&[Signal::USR1]).unwrap();
        assert_eq!(util::fd_count(), before + 1);
        drop(signals);
        assert_eq!(util::fd_count(), before, "{backend:?}");
        assert!(is_blocked(Signal::USR1).unwrap());
    });
}

#[test]
fn outside_a_runtime_signals_is_a_clear_error() {
    let err = Signals::new(&[Signal::USR2]).unwrap_err();
    assert!(err.to_string().contains("not inside"), "{err}");
}
