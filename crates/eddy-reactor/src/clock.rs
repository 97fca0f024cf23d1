//! [`Clock`]: the loop's notion of "now", read once per phase, and its
//! conversion to the wheel's millisecond ticks.
//!
//! Invariant (never early): a deadline `Instant` becomes the tick
//! `ceil((deadline - base) / 1 ms)`, and "now" becomes
//! `floor((now - base) / 1 ms)`. Firing when `now_tick >= deadline_tick`
//! therefore implies `now >= deadline`.
//!
//! Cost: one `Instant::now()` (a vDSO `clock_gettime`, no syscall) per
//! update; the loop updates it at the start of a turn and after a wait that
//! blocked.

use std::time::{Duration, Instant};

use crate::wheel::Tick;

/// The loop's cached time.
#[derive(Debug)]
pub(crate) struct Clock {
    base: Instant,
    now: Instant,
    /// `now` in ticks, rounded down (what is due).
    tick: Tick,
    /// `now` in ticks, rounded up (when a timeout starts).
    stamp: Tick,
}

/// Ticks in `d`, rounded up.
pub(crate) fn ticks_up(d: Duration) -> Tick {
    let ms = d.as_millis() as Tick;
    if d > Duration::from_millis(ms) { ms + 1 } else { ms }
}

impl Clock {
    pub(crate) fn new() -> Clock {
        let now = Instant::now();
        Clock { base: now, now, tick: 0, stamp: 0 }
    }

    /// Reads the system clock (and derives both ticks once, so that reading
    /// them costs nothing in the dispatch).
    #[inline]
    pub(crate) fn update(&mut self) {
        self.now = Instant::now();
        let since = self.now - self.base;
        self.tick = since.as_millis() as Tick;
        self.stamp = ticks_up(since);
    }

    /// The time of the last update.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        self.now
    }

    /// The current tick, rounded down.
    #[inline]
    pub(crate) fn tick(&self) -> Tick {
        self.tick
    }

    /// "Now" as the start of a timeout (when the last byte moved): rounded
    /// up, so a timeout counted from it never fires early.
    #[inline]
    pub(crate) fn stamp(&self) -> Tick {
        self.stamp
    }

    /// The tick at which something due `after` from now may fire: rounded
    /// up, so it never fires early.
    pub(crate) fn deadline(&self, after: Duration) -> Tick {
        ticks_up((self.now + after) - self.base)
    }

    /// The tick at which something due at `at` may fire: rounded up, so it
    /// never fires early (an instant before the clock's base is tick 0).
    pub(crate) fn deadline_at(&self, at: Instant) -> Tick {
        ticks_up(at.saturating_duration_since(self.base))
    }

    /// How long from now until `tick` begins (zero if it has).
    pub(crate) fn until(&self, tick: Tick) -> Duration {
        let at = self.base + Duration::from_millis(tick);
        at.saturating_duration_since(self.now)
    }
}
