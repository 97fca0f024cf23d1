//! timerfd: a timer the kernel turns into readability.
//!
//! `CLOCK_MONOTONIC` (the clock of `std::time::Instant`), non-blocking,
//! close-on-exec. The kernel never fires it before its expiry on that
//! clock. A zero `it_value` would *disarm* the timer, so a zero delay is
//! rounded up to one nanosecond: "now" fires at once.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::time::Duration;

use rustix::time::{Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags};

use super::timespec;

pub(crate) fn create() -> io::Result<OwnedFd> {
    Ok(rustix::time::timerfd_create(TimerfdClockId::Monotonic, TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC)?)
}

/// Arms the timer: first expiry after `first`, then every `period` (zero:
/// once). `first == None` disarms it.
pub(crate) fn set(fd: BorrowedFd<'_>, first: Option<Duration>, period: Duration) -> io::Result<()> {
    let value = match first {
        Some(d) => timespec(d.max(Duration::from_nanos(1))),
        None => timespec(Duration::ZERO),
    };
    let spec = Itimerspec { it_interval: timespec(period), it_value: value };
    rustix::time::timerfd_settime(fd, TimerfdTimerFlags::empty(), &spec)?;
    Ok(())
}

/// Expirations since the last read; `WouldBlock` if none.
pub(crate) fn read(fd: BorrowedFd<'_>) -> io::Result<u64> {
    let mut buf = [0u8; 8];
    let n = rustix::io::read(fd, &mut buf)?;
    debug_assert_eq!(n, 8, "a timerfd read returns 8 bytes or fails");
    Ok(u64::from_ne_bytes(buf))
}
