//! [`Signals`]: a signalfd, registrable like a socket, and the signal mask
//! it needs.
//!
//! # Blocking the signals: who must, and how
//!
//! A signalfd only sees signals that are *pending*, and a signal becomes
//! pending, rather than delivered to its handler or default action, only in
//! a thread that **blocks** it. A process-directed signal (`kill`, Ctrl-C)
//! goes to any one thread that does not block it. So every thread of the
//! process must block the signals a `Signals` watches:
//!
//! 1. call [`block`] (or [`Signals::new`], which calls it) in `main`
//!    **before spawning any thread**: threads inherit the mask of the thread
//!    that spawns them, so every later thread blocks them too;
//! 2. a thread that existed before (or that a library spawned early) keeps
//!    its mask: call [`block`] in it as well, or such a signal may take its
//!    default action (for SIGINT and SIGTERM: end the process).
//!
//! A thread-directed signal ([`raise`], `pthread_kill`) is pending only for
//! its thread, and a signalfd reports it only when read from that thread.
//! Dropping a `Signals` does not unblock its signals (that would deliver the
//! pending ones with their default action at once).

use std::fmt;
use std::io;
use std::os::fd::AsFd;

use crate::io_source::{Dir, IoSource, impl_source};
use crate::sys::signalfd;

/// A signal number.
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct Signal(i32);

impl Signal {
    /// Interrupt from the terminal (Ctrl-C).
    pub const INT: Signal = Signal(signalfd::SIGINT);
    /// Polite termination request (the default of `kill`).
    pub const TERM: Signal = Signal(signalfd::SIGTERM);
    /// Hang-up; by convention, "reload your configuration".
    pub const HUP: Signal = Signal(signalfd::SIGHUP);
    /// Quit from the terminal (Ctrl-\).
    pub const QUIT: Signal = Signal(signalfd::SIGQUIT);
    /// User-defined signal 1.
    pub const USR1: Signal = Signal(signalfd::SIGUSR1);
    /// User-defined signal 2.
    pub const USR2: Signal = Signal(signalfd::SIGUSR2);
    /// A child process stopped or ended.
    pub const CHLD: Signal = Signal(signalfd::SIGCHLD);
    /// Write to a pipe or socket with no reader (eddy's writes never raise it).
    pub const PIPE: Signal = Signal(signalfd::SIGPIPE);
    /// The terminal's window size changed.
    pub const WINCH: Signal = Signal(signalfd::SIGWINCH);
    /// An `alarm(2)` timer expired.
    pub const ALRM: Signal = Signal(signalfd::SIGALRM);

    /// The signal with this number.
    ///
    /// # Errors
    ///
    /// `InvalidInput` outside 1..=64, and for SIGKILL and SIGSTOP, which
    /// can't be blocked or caught.
    pub fn from_raw(number: i32) -> io::Result<Signal> {
        if !(1..=64).contains(&number) || number == signalfd::SIGKILL || number == signalfd::SIGSTOP {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{number} is not a catchable signal")));
        }
        Ok(Signal(number))
    }

    /// The signal's number.
    pub const fn raw(self) -> i32 {
        self.0
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            signalfd::SIGINT => "SIGINT",
            signalfd::SIGTERM => "SIGTERM",
            signalfd::SIGHUP => "SIGHUP",
            signalfd::SIGQUIT => "SIGQUIT",
            signalfd::SIGUSR1 => "SIGUSR1",
            signalfd::SIGUSR2 => "SIGUSR2",
            signalfd::SIGCHLD => "SIGCHLD",
            signalfd::SIGPIPE => "SIGPIPE",
            signalfd::SIGWINCH => "SIGWINCH",
            signalfd::SIGALRM => "SIGALRM",
            n => return write!(f, "Signal({n})"),
        };
        f.write_str(name)
    }
}

fn raw(signals: &[Signal]) -> Vec<i32> {
    signals.iter().map(|s| s.0).collect()
}

/// Blocks `signals` in the calling thread; threads it spawns afterwards
/// inherit the mask. See the [module docs](self) for who must call it.
///
/// # Errors
///
/// `InvalidInput` for an invalid signal number.
pub fn block(signals: &[Signal]) -> io::Result<()> {
    signalfd::block(&raw(signals))
}

/// Whether `signal` is blocked in the calling thread.
///
/// # Errors
///
/// In practice, never.
pub fn is_blocked(signal: Signal) -> io::Result<bool> {
    signalfd::is_blocked(signal.0)
}

/// Sends `signal` to the calling thread (`raise(3)`): with the signal
/// blocked, it becomes pending for this thread and a `Signals` read from
/// this thread reports it.
///
/// # Errors
///
/// In practice, never.
pub fn raise(signal: Signal) -> io::Result<()> {
    signalfd::raise(signal.0)
}

/// Puts `signal`'s action back to the kernel's default (`SIG_DFL`). The
/// Rust runtime sets SIGPIPE to "ignore" at start-up; restoring its default
/// shows what eddy's `MSG_NOSIGNAL` writes protect against (a plain
/// `write(2)` to a reset peer then kills the process).
///
/// # Errors
///
/// `InvalidInput` for a signal whose action can't be changed.
pub fn restore_default(signal: Signal) -> io::Result<()> {
    signalfd::restore_default(signal.0)
}

/// Signals delivered as readiness: a signalfd for a set of signals.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use eddy_poll::signal::{self, Signal, Signals};
/// use eddy_poll::{Events, Interest, Poll, Token, Trigger};
///
/// let mut poll = Poll::new()?;
/// let mut signals = Signals::new(&[Signal::USR1])?; // blocks SIGUSR1 in this thread
/// poll.registry().register(&mut signals, Token(0), Interest::READABLE, Trigger::Level)?;
/// signal::raise(Signal::USR1)?; // pending for this thread, not delivered
///
/// let mut events = Events::with_capacity(4);
/// poll.poll(&mut events, Some(Duration::from_secs(5)))?;
/// assert_eq!(signals.receive()?, Signal::USR1);
/// # std::io::Result::Ok(())
/// ```
pub struct Signals {
    io: IoSource,
}

impl Signals {
    /// Blocks `signals` in the calling thread (see [`block`]) and opens a
    /// signalfd for them.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an invalid signal; out of file descriptors.
    pub fn new(signals: &[Signal]) -> io::Result<Signals> {
        let raw = raw(signals);
        signalfd::block(&raw)?;
        Ok(Signals { io: IoSource::new(signalfd::create(&raw)?) })
    }

    /// Takes one pending signal.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if none of the watched signals is pending for the
    /// process or for the calling thread.
    pub fn receive(&self) -> io::Result<Signal> {
        self.io.do_io(Dir::Read, signalfd::read).map(Signal)
    }
}

impl fmt::Debug for Signals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signals").field("fd", &self.io.as_fd()).finish()
    }
}

impl_source!(Signals);
