//! [`State`]: a connection's state bits, as one small type with named
//! predicates.
//!
//! Each bit says where it is set and cleared. The rules between bits (the
//! combinations that cannot happen) are checked by `debug_assert!` after
//! every change ([`State::check`]):
//! - `WRITE_SHUT` implies `SHUT_PENDING` (our FIN is sent only once asked
//!   for);
//! - `CLOSING` implies `SHUT_PENDING` (a graceful close sends our FIN);
//! - `CONNECTING` excludes `READ_CLOSED` and `WRITE_SHUT` (no byte moves
//!   before the connect completes).
//!
//! `READ_CLOSED`, `WRITE_SHUT`, `SHUT_PENDING`, `CLOSING` and `HUP` are
//! never cleared once set.

/// One state bit (or a union of them, for [`State::any`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Bit(u16);

impl std::ops::BitOr for Bit {
    type Output = Bit;
    #[inline]
    fn bitor(self, other: Bit) -> Bit {
        Bit(self.0 | other.0)
    }
}

/// The peer's FIN was read (a read returned 0). Never cleared.
pub(crate) const READ_CLOSED: Bit = Bit(1 << 0);
/// Our FIN was sent (`shutdown(Write)`). Never cleared.
pub(crate) const WRITE_SHUT: Bit = Bit(1 << 1);
/// Send our FIN once the output queue is empty (`shutdown_write`, `close`).
/// Never cleared.
pub(crate) const SHUT_PENDING: Bit = Bit(1 << 2);
/// Graceful close requested: no more `on_data` (reads are discarded), FIN
/// after the output, then wait for the peer's FIN. Never cleared.
pub(crate) const CLOSING: Bit = Bit(1 << 3);
/// Abortive close requested: RST at the end of this dispatch.
pub(crate) const ABORT: Bit = Bit(1 << 4);
/// Reading paused by backpressure (output at the high watermark); cleared
/// at the low watermark.
pub(crate) const PAUSED: Bit = Bit(1 << 5);
/// Reading paused by the handler; cleared by `resume_reading`.
pub(crate) const USER_PAUSED: Bit = Bit(1 << 6);
/// On the reactor's ready list (to be serviced next turn without an event);
/// cleared when serviced.
pub(crate) const READY: Bit = Bit(1 << 7);
/// A non-blocking connect is in progress; cleared when it completes.
pub(crate) const CONNECTING: Bit = Bit(1 << 8);
/// A write hit `WouldBlock`: call `on_drained` when the queue empties.
pub(crate) const BLOCKED: Bit = Bit(1 << 9);
/// Level mode: the registration watches readability.
pub(crate) const WATCH_READ: Bit = Bit(1 << 10);
/// Level mode: the registration watches writability.
pub(crate) const WATCH_WRITE: Bit = Bit(1 << 11);
/// Level mode: on the dirty list (interest to be recomputed before the next
/// wait); cleared when applied.
pub(crate) const DIRTY: Bit = Bit(1 << 12);
/// An event reported the peer's FIN, a reset or an error: read until EOF or
/// an error, never stop at a short read (no new event will come for it).
/// Set by such an event; left set.
pub(crate) const HUP: Bit = Bit(1 << 13);
/// Hand the kept input to `on_data` again at the next read step, even with
/// no new byte (`replay_input`, `resume_reading`); cleared then.
pub(crate) const REPLAY: Bit = Bit(1 << 14);
/// A connection's state bits.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct State(u16);

impl State {
    /// Whether any of `bits` is set.
    #[inline]
    pub(crate) fn any(self, bits: Bit) -> bool {
        self.0 & bits.0 != 0
    }

    /// Sets `bits`.
    #[inline]
    pub(crate) fn set(&mut self, bits: Bit) {
        self.0 |= bits.0;
        self.check();
    }

    /// Clears `bits`.
    #[inline]
    pub(crate) fn clear(&mut self, bits: Bit) {
        self.0 &= !bits.0;
        self.check();
    }

    /// Whether a close, graceful or abortive, was requested.
    #[inline]
    pub(crate) fn is_closing(self) -> bool {
        self.any(CLOSING | ABORT)
    }

    /// Whether the read step must not read now: the peer's FIN is in, an
    /// abort is pending, or reading is paused (backpressure or handler).
    #[inline]
    pub(crate) fn reads_stopped(self) -> bool {
        self.any(READ_CLOSED | PAUSED | USER_PAUSED | ABORT)
    }

    /// Whether a graceful close sent its FIN and waits for the peer's
    /// (the linger deadline governs).
    #[inline]
    pub(crate) fn is_lingering(self) -> bool {
        self.any(CLOSING) && self.any(WRITE_SHUT)
    }

    /// Whether both FINs are through on a graceful close: the connection
    /// is done.
    #[inline]
    pub(crate) fn is_closed_both_ways(self) -> bool {
        self.is_lingering() && self.any(READ_CLOSED)
    }

    /// Whether our FIN is due once the output is sent.
    #[inline]
    pub(crate) fn fin_due(self) -> bool {
        self.any(SHUT_PENDING) && !self.any(WRITE_SHUT)
    }

    /// Level mode: whether the registration should watch readability. A
    /// closing connection reads (and discards) until the peer's FIN even
    /// while paused, so the close never turns into a reset.
    #[inline]
    pub(crate) fn wants_read(self) -> bool {
        !self.any(READ_CLOSED) && (!self.any(PAUSED | USER_PAUSED) || self.any(CLOSING))
    }

    /// Level mode: whether the registration should watch writability, given
    /// whether output is queued.
    #[inline]
    pub(crate) fn wants_write(self, queued: bool) -> bool {
        queued || self.any(CONNECTING)
    }

    /// Level mode: the interest registered now, as (read, write).
    #[inline]
    pub(crate) fn watching(self) -> (bool, bool) {
        (self.any(WATCH_READ), self.any(WATCH_WRITE))
    }

    /// Level mode: records the interest now registered.
    #[inline]
    pub(crate) fn set_watching(&mut self, (read, write): (bool, bool)) {
        self.clear(WATCH_READ | WATCH_WRITE);
        if read {
            self.set(WATCH_READ);
        }
        if write {
            self.set(WATCH_WRITE);
        }
    }

    /// The rules between bits (module docs): checked in debug builds after
    /// every change.
    #[inline]
    fn check(self) {
        debug_assert!(!self.any(WRITE_SHUT) || self.any(SHUT_PENDING), "FIN sent unasked: {self:?}");
        debug_assert!(!self.any(CLOSING) || self.any(SHUT_PENDING), "closing without a FIN due: {self:?}");
        debug_assert!(
            !(self.any(CONNECTING) && self.any(READ_CLOSED | WRITE_SHUT)),
            "bytes moved while connecting: {self:?}"
        );
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const NAMES: [&str; 15] = [
            "READ_CLOSED",
            "WRITE_SHUT",
            "SHUT_PENDING",
            "CLOSING",
            "ABORT",
            "PAUSED",
            "USER_PAUSED",
            "READY",
            "CONNECTING",
            "BLOCKED",
            "WATCH_READ",
            "WATCH_WRITE",
            "DIRTY",
            "HUP",
            "REPLAY",
        ];
        let set = NAMES.iter().enumerate().filter(|(i, _)| self.0 & (1 << i) != 0).map(|(_, n)| n);
        f.debug_set().entries(set).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates_read_the_bits() {
        let mut s = State::default();
        assert!(s.wants_read() && !s.is_closing() && !s.reads_stopped());
        s.set(USER_PAUSED);
        assert!(!s.wants_read() && s.reads_stopped());
        s.set(CLOSING | SHUT_PENDING);
        assert!(s.wants_read(), "a closing connection reads to the peer's FIN even paused");
        assert!(s.is_closing() && s.fin_due() && !s.is_lingering());
        s.set(WRITE_SHUT);
        assert!(s.is_lingering() && !s.fin_due() && !s.is_closed_both_ways());
        s.set(READ_CLOSED);
        assert!(s.is_closed_both_ways() && !s.wants_read());
        assert_eq!(format!("{s:?}"), r#"{"READ_CLOSED", "WRITE_SHUT", "SHUT_PENDING", "CLOSING", "USER_PAUSED"}"#);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "FIN sent unasked")]
    fn a_fin_without_a_request_is_refused() {
        State::default().set(WRITE_SHUT);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "bytes moved while connecting")]
    fn reading_eof_while_connecting_is_refused() {
        let mut s = State::default();
        s.set(CONNECTING);
        s.set(READ_CLOSED);
    }
}
