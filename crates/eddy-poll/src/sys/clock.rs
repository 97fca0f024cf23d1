//! Monotonic clock readings for the EINTR retry in `Poll::poll`.
//!
//! `CLOCK_MONOTONIC_COARSE` is read from the vDSO in a few nanoseconds (the
//! precise clock costs 25-65 ns here): it is the time of the last timer
//! tick, so it lags `CLOCK_MONOTONIC` by less than its resolution.
//!
//! Through libc, not rustix: rustix locates the vDSO itself by parsing the
//! auxiliary vector, which crashes under valgrind (rustix issue #1559), and
//! this project profiles with callgrind. glibc's `clock_gettime` uses the
//! same vDSO, in a way valgrind understands.

use std::mem::MaybeUninit;
use std::time::Duration;

fn read(clock: libc::clockid_t, res: bool) -> Duration {
    let mut ts = MaybeUninit::<libc::timespec>::zeroed();
    // SAFETY: `ts` is valid for writes of one timespec; the clock ids used
    // here exist on every Linux this crate supports, and on the impossible
    // failure the zeroed value is read, which is still initialized.
    let ts = unsafe {
        if res {
            libc::clock_getres(clock, ts.as_mut_ptr());
        } else {
            libc::clock_gettime(clock, ts.as_mut_ptr());
        }
        ts.assume_init()
    };
    Duration::new(u64::try_from(ts.tv_sec).unwrap_or(0), u32::try_from(ts.tv_nsec).unwrap_or(0))
}

/// `CLOCK_MONOTONIC_COARSE` now.
pub(crate) fn coarse_now() -> Duration {
    read(libc::CLOCK_MONOTONIC_COARSE, false)
}

/// `CLOCK_MONOTONIC` now (the same timeline, precise).
pub(crate) fn precise_now() -> Duration {
    read(libc::CLOCK_MONOTONIC, false)
}

/// How far the coarse clock can lag the precise one.
pub(crate) fn coarse_resolution() -> Duration {
    read(libc::CLOCK_MONOTONIC_COARSE, true)
}
