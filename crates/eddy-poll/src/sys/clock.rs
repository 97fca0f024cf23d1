//! Monotonic clock readings for the EINTR retry in `Poll::poll`.
//!
//! `CLOCK_MONOTONIC_COARSE` is read from the vDSO in a few nanoseconds (the
//! precise clock costs 25-65 ns here): it is the time of the last timer
//! tick, so it lags `CLOCK_MONOTONIC` by less than its resolution.

use std::time::Duration;

use rustix::time::{ClockId, Timespec, clock_getres, clock_gettime};

fn duration(t: Timespec) -> Duration {
    Duration::new(u64::try_from(t.tv_sec).unwrap_or(0), u32::try_from(t.tv_nsec).unwrap_or(0))
}

/// `CLOCK_MONOTONIC_COARSE` now.
pub(crate) fn coarse_now() -> Duration {
    duration(clock_gettime(ClockId::MonotonicCoarse))
}

/// `CLOCK_MONOTONIC` now (the same timeline, precise).
pub(crate) fn precise_now() -> Duration {
    duration(clock_gettime(ClockId::Monotonic))
}

/// How far the coarse clock can lag the precise one.
pub(crate) fn coarse_resolution() -> Duration {
    duration(clock_getres(ClockId::MonotonicCoarse))
}
