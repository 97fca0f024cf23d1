//! [`Timer`]: a timerfd, registrable like a socket.
//!
//! The kernel makes the fd readable at each expiry; [`Timer::read`] returns
//! how many expirations happened since the last read and resets it. The clock
//! is `CLOCK_MONOTONIC`, the one `Instant` uses, so the timer never fires
//! before `Instant::now() + delay` as seen when it was set.
//!
//! One timerfd per timer costs a syscall per set and an fd each; for many
//! timers, the reactor's timing wheel (one poll timeout for all) is the tool.

use std::io;
use std::os::fd::AsFd;
use std::time::Duration;

use crate::io_source::{Dir, IoSource, impl_source};
use crate::sys::timerfd;

/// A one-shot or periodic timer that becomes readable when it expires.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use eddy_poll::{Events, Interest, Poll, Timer, Token, Trigger};
///
/// let mut poll = Poll::new()?;
/// let mut timer = Timer::new()?;
/// poll.registry().register(&mut timer, Token(1), Interest::READABLE, Trigger::Edge)?;
/// let start = Instant::now();
/// timer.set_timeout(Duration::from_millis(5))?;
/// let mut events = Events::with_capacity(4);
/// while timer.read().is_err() {
///     poll.poll(&mut events, None)?;
/// }
/// assert!(start.elapsed() >= Duration::from_millis(5));
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct Timer {
    io: IoSource,
}

impl Timer {
    /// A disarmed timer.
    ///
    /// # Errors
    ///
    /// Out of file descriptors or memory.
    pub fn new() -> io::Result<Timer> {
        Ok(Timer { io: IoSource::new(timerfd::create()?) })
    }

    /// Fires once, `delay` from now (zero: at once). Replaces any earlier
    /// setting.
    ///
    /// # Errors
    ///
    /// As the `timerfd_settime` syscall (in practice, never).
    pub fn set_timeout(&self, delay: Duration) -> io::Result<()> {
        timerfd::set(self.io.as_fd(), Some(delay), Duration::ZERO)
    }

    /// Fires `first` from now, then every `period` (a zero period: once).
    ///
    /// # Errors
    ///
    /// As the `timerfd_settime` syscall (in practice, never).
    pub fn set_interval(&self, first: Duration, period: Duration) -> io::Result<()> {
        timerfd::set(self.io.as_fd(), Some(first), period)
    }

    /// Stops the timer; pending expirations not yet read are kept.
    ///
    /// # Errors
    ///
    /// As the `timerfd_settime` syscall (in practice, never).
    pub fn disarm(&self) -> io::Result<()> {
        timerfd::set(self.io.as_fd(), None, Duration::ZERO)
    }

    /// The number of expirations since the last read (at least 1), which
    /// resets it.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if the timer has not expired since the last read.
    pub fn read(&self) -> io::Result<u64> {
        self.io.do_io(Dir::Read, timerfd::read)
    }
}

impl_source!(Timer);
