//! A hierarchical timing wheel: the reactor's timers.
//!
//! The reactor keeps one [`Wheel`] per loop. Each turn it asks
//! [`Wheel::next_deadline`] how long `poll` may sleep, and after `poll` it
//! fires what is due with [`Wheel::poll_expired`] (or [`Wheel::advance`]).
//! Idle, read and write timeouts are [`Wheel::insert`]ed, re-armed with
//! [`Wheel::reset`] and [`Wheel::cancel`]led far more often than they fire,
//! so those three are O(1) and allocation-free in the steady state.
//!
//! # Time
//! A [`Tick`] is a millisecond since the reactor's clock base. The reactor
//! rounds deadlines *up* and the current time *down*, so a timer that
//! fires when `now >= deadline` never fires early. The wheel's clock,
//! [`Wheel::now`], starts at 0 and only moves forward: a `now` smaller than
//! it is taken as equal to it.
//!
//! # Geometry
//! Six levels of 64 slots. A slot of level `l` spans `64^l` ticks, so level
//! 0 has one tick per slot and the six levels reach `64^6` ticks (about 2.2
//! years) ahead. A timer with deadline `d` lives on the level of the
//! highest base-64 digit in which `d` differs from the clock, in the slot
//! named by that digit of `d`. A timer more than that far ahead (its digits
//! above the sixth differ from the clock's) waits on an *overflow* list
//! instead of being clamped into the top level: when the clock reaches the
//! start of the 2.2-year block of the earliest overflow deadline, the whole
//! list is re-cascaded and what now fits moves into the levels.
//!
//! # Invariants
//! - Every timer on a slot or on the overflow list has `deadline > now()`;
//!   every timer on the *due* list has `deadline <= now()`.
//! - A timer on level `l` agrees with `now()` in every digit above `l`, and
//!   its digit `l` is greater than the clock's. So in each level only slots
//!   after the clock's are occupied, every timer of a level-0 slot has the
//!   same deadline, and every occupied slot of level `l` comes before every
//!   occupied slot of level `l + 1`: the next thing to happen is the first
//!   set bit of the lowest non-empty level (or the overflow list).
//! - Bit `s` of the level-`l` bitmap is set iff slot `s` of level `l` holds
//!   a timer.
//! - The due list is in firing order: a slot is cascaded onto it only when
//!   it is empty, and a timer inserted late is appended with the clock as
//!   its effective deadline (see Order).
//!
//! # Order
//! Timers fire in order of *effective deadline*, and timers with equal
//! effective deadlines fire in insertion order (a [`Wheel::reset`] counts as
//! a new insertion). The effective deadline is the deadline, except for a
//! timer inserted already late (`deadline <= now()`): it is due at once and
//! is queued behind the timers already due, in insertion order, so its
//! effective deadline is `now()` at insertion. Sorting late timers among
//! themselves would cost an O(k) insert for no one's benefit: they are all
//! late. A timer never fires before its deadline.
//!
//! # Firing: push or pull
//! [`Wheel::advance`] hands every due timer to a closure, which cannot
//! touch the wheel. [`Wheel::poll_expired`] returns them one at a time, so
//! a reactor can run callbacks that insert and cancel timers:
//!
//! ```
//! use eddy_reactor::wheel::Wheel;
//!
//! let mut wheel = Wheel::new();
//! wheel.insert(10, "a");
//! wheel.insert(20, "b");
//! let mut fired = Vec::new();
//! while let Some((_key, name)) = wheel.poll_expired(15) {
//!     if name == "a" {
//!         wheel.insert(12, "a again"); // due within this drain: fires in it
//!         wheel.insert(30, "later");
//!     }
//!     fired.push(name);
//! }
//! assert_eq!(fired, ["a", "a again"]);
//! assert_eq!(wheel.now(), 15);
//! assert_eq!(wheel.next_deadline(), Some(20));
//! ```
//!
//! During such a drain the clock moves in steps, slot by slot, up to the
//! `now` of the drain. A timer inserted inside the drain with a deadline
//! `<=` the drain's `now` fires *in the same drain*, at its place in
//! deadline order. So a callback that always re-arms itself at a deadline
//! `<= now` makes the drain endless; re-arm periodic timers at
//! `deadline + period` with `period >= 1`, or cap the drain.
//!
//! # Precision of `next_deadline`
//! It is a lower bound of every pending deadline, computed from the bitmaps
//! without looking at entries: exact when the earliest timer is on level 0
//! (within 64 ticks of the clock), the start of its slot on a higher level
//! (at most `64^l - 1` ticks early), the start of the 2.2-year block for
//! the overflow list. Waking at an early bound and calling `advance` or
//! `poll_expired` cascades that slot down, after which the bound is exact
//! or a level lower: a timer costs the reactor at most one early wake-up
//! per level. It is `<= now()` exactly when a timer is due, so a reactor
//! that polls with a zero timeout then never spins.
//!
//! # Costs
//! - `insert`, `cancel`, `reset`: O(1), no search; a slab slot is reused
//!   when one is free, otherwise the slab grows (amortized O(1)).
//! - `advance`/`poll_expired`: O(1) per fired timer plus O(1) per occupied
//!   slot reached (a jump of hours costs nothing more than a jump of one
//!   tick: the clock jumps to the next occupied slot through the bitmaps).
//!   A timer is cascaded at most once per level it starts above 0, plus
//!   once per 2.2-year block it waits on the overflow list.
//! - `next_deadline`: at most 6 bitmap tests.
//! - Memory: `24 + size_of::<T>()` bytes per timer rounded up to 8 (32
//!   bytes for an 8-byte `T`), the slab keeping its high-water mark, plus
//!   about 3 KiB of list heads and bitmaps per wheel. A [`TimerKey`] is 12
//!   bytes.
//!
//! Measured by `benches/wheel.rs` (`cargo bench -p eddy-reactor --bench
//! wheel`) against a `BinaryHeap` and tokio-util's `DelayQueue`, with a
//! million live timers: the figures and what they mean are in the
//! repository's `docs/PERFORMANCE.md` ("The timing wheel"). Expiry is bound
//! by memory latency, not by arithmetic: with a million timers the entries
//! are tens of megabytes in random slab order, and a timer minutes ahead is
//! cascaded several times before it fires, each a walk of a cold list.
//! A reactor's
//! timeouts are mostly reset or cancelled before they fire, which is what
//! the O(1) operations are for.
//!
//! `BinaryHeap<Reverse<(Tick, u64)>>` cancels lazily: the id goes into a
//! `HashSet` and the entry stays in the heap until it reaches the top,
//! where expiry skips it; its cancel is O(1) only on average and leaves an
//! O(log n) pop for later. `DelayQueue` is tokio-util's, on a paused tokio
//! clock.

mod store;

use std::fmt;

use store::{ListId, NIL, Store};

/// Milliseconds since the reactor's clock base.
///
/// The reactor converts `Instant`s into ticks, deadlines rounded up and the
/// current time rounded down, so that firing when `now >= deadline` is
/// never early.
pub type Tick = u64;

/// Bits of a base-64 digit: each level has `1 << SLOT_BITS` slots.
const SLOT_BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << SLOT_BITS;
/// Number of levels; together they reach `64^LEVELS` ticks ahead.
const LEVELS: usize = 6;
/// Ticks of one block of the whole wheel, as a bit count: `64^6 = 2^36`.
const SPAN_BITS: u32 = SLOT_BITS * LEVELS as u32;

/// Names one inserted timer, for [`Wheel::cancel`] and [`Wheel::reset`].
///
/// A slab index, a generation and the wheel's number (12 bytes): once the
/// timer has fired or been cancelled, its key never reaches another timer,
/// even one stored in the same slab slot (unless that slot is reused
/// exactly `2^32` times while the key is kept), and a key is refused by
/// every wheel but the one that issued it and its clones (unless `2^32`
/// wheels are created in between).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TimerKey {
    /// Slab index of the entry.
    index: u32,
    /// Generation of the slab slot when the timer was inserted.
    generation: u32,
    /// Number of the wheel that issued the key (never 0).
    wheel: std::num::NonZeroU32,
}

/// A hierarchical timing wheel of timers carrying values of type `T`.
///
/// See the [module documentation](self) for the geometry, the order in
/// which timers fire, and the costs.
#[derive(Clone)]
pub struct Wheel<T> {
    /// The timers and the lists they are threaded on.
    store: Store<T>,
    /// The clock: the tick the wheel has advanced to. Timers on a slot or
    /// the overflow list are after it; timers on the due list are not.
    elapsed: Tick,
    /// Bit `s` of `occupied[l]` is set iff slot `s` of level `l` is
    /// non-empty; only bits above the clock's level-`l` digit can be set.
    occupied: [u64; LEVELS],
    /// Lower bound of the deadlines on the due list (only meaningful while
    /// it is non-empty): reset when a timer lands on the empty list.
    due_floor: Tick,
    /// Lower bound of the deadlines on the overflow list (only meaningful
    /// while it is non-empty): exact after a re-cascade, low after cancels.
    overflow_floor: Tick,
}

impl<T> Wheel<T> {
    /// Bytes of slab one pending timer occupies: `24 + size_of::<T>()`,
    /// rounded up to the alignment of `T` and of `u64`.
    pub const TIMER_BYTES: usize = store::entry_size::<T>();

    /// An empty wheel with its clock at tick 0.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty wheel with room for `capacity` timers before it allocates.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            store: Store::with_capacity(capacity),
            elapsed: 0,
            occupied: [0; LEVELS],
            due_floor: 0,
            overflow_floor: 0,
        }
    }

    /// The tick the wheel has advanced to.
    ///
    /// After `advance(now, ..)` or a `poll_expired(now)` that returned
    /// `None` it is `now`; during a drain it moves up to `now` in steps.
    pub fn now(&self) -> Tick {
        self.elapsed
    }

    /// Number of pending timers (not yet fired nor cancelled).
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether no timer is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Arms a timer that fires `value` once the clock reaches `deadline`.
    ///
    /// O(1). A `deadline <= now()` is due at once: it fires at the next
    /// `advance` or `poll_expired` (within the current drain if one is
    /// going on), after the timers already due.
    ///
    /// # Panics
    /// Only if `u32::MAX - 1` timers are already pending, which takes over
    /// 96 GiB: the slab is indexed by `u32`.
    pub fn insert(&mut self, deadline: Tick, value: T) -> TimerKey {
        let list = self.claim(deadline);
        self.store.insert(list, deadline, value)
    }

    /// Disarms the timer of `key` and returns its value.
    ///
    /// O(1). `None` if the timer has already fired or been cancelled, or
    /// if `key` comes from another wheel.
    pub fn cancel(&mut self, key: TimerKey) -> Option<T> {
        let (list, value) = self.store.remove(key)?;
        self.release(list);
        Some(value)
    }

    /// Moves the pending timer of `key` to `deadline`, keeping its key and
    /// value; it then fires after timers of equal deadline inserted before.
    ///
    /// O(1), the cheap way to push an idle timeout back. Returns `false`
    /// (and does nothing) if the timer is no longer pending.
    pub fn reset(&mut self, key: TimerKey, deadline: Tick) -> bool {
        let Some(index) = self.store.find(key) else {
            return false;
        };
        let Some(old) = self.store.unlink(index) else {
            return false;
        };
        self.release(old);
        let list = self.claim(deadline);
        self.store.link_back(index, list, deadline);
        true
    }

    /// Whether the timer of `key` is pending.
    pub fn contains(&self, key: TimerKey) -> bool {
        self.store.find(key).is_some()
    }

    /// The deadline the pending timer of `key` was inserted or reset with.
    pub fn deadline(&self, key: TimerKey) -> Option<Tick> {
        self.store.deadline(key)
    }

    /// A lower bound of the earliest pending deadline, to set the poll
    /// timeout; `None` when no timer is pending.
    ///
    /// Exact when the earliest timer is within 64 ticks of the clock,
    /// otherwise the start of its slot (see the module documentation). It
    /// is `<= now()` iff some timer is due now. O(1), no entry is read.
    pub fn next_deadline(&self) -> Option<Tick> {
        if !self.store.is_empty(ListId::DUE) {
            return Some(self.due_floor);
        }
        self.next_event().map(|(at, _)| at)
    }

    /// Returns the next timer due at `now` (deadline `<= now`), or `None`
    /// once there is none, leaving the clock at `now`.
    ///
    /// Timers come in deadline order (see the module documentation). The
    /// caller may insert, reset and cancel timers between calls; a timer
    /// inserted with a deadline `<= now` comes out in the same drain.
    pub fn poll_expired(&mut self, now: Tick) -> Option<(TimerKey, T)> {
        loop {
            if let Some(expired) = self.store.pop_front(ListId::DUE) {
                return Some(expired);
            }
            match self.next_event() {
                Some((at, list)) if at <= now => self.cascade(at, list),
                _ => {
                    self.elapsed = self.elapsed.max(now);
                    return None;
                }
            }
        }
    }

    /// Moves the clock to `now` and calls `fire` with every timer whose
    /// deadline is `<= now`, in deadline order; never one that is later.
    ///
    /// `fire` cannot reach the wheel: to insert or cancel timers while
    /// firing, drain with [`Wheel::poll_expired`] instead.
    pub fn advance(&mut self, now: Tick, mut fire: impl FnMut(TimerKey, T)) {
        while let Some((key, value)) = self.poll_expired(now) {
            fire(key, value);
        }
    }

    /// Picks the list for a timer due at `deadline` and records it in the
    /// bitmap or the floors; the caller links the timer there next.
    fn claim(&mut self, deadline: Tick) -> ListId {
        if deadline <= self.elapsed {
            self.due_floor = self.floor_with(ListId::DUE, self.due_floor, deadline);
            return ListId::DUE;
        }
        let level = level_for(self.elapsed, deadline);
        if level >= LEVELS {
            self.overflow_floor = self.floor_with(ListId::OVERFLOW, self.overflow_floor, deadline);
            return ListId::OVERFLOW;
        }
        let slot = digit(deadline, level);
        self.occupied[level] |= 1 << slot;
        ListId::slot(level, slot)
    }

    /// The floor of `list` once a timer due at `deadline` joins it.
    fn floor_with(&self, list: ListId, floor: Tick, deadline: Tick) -> Tick {
        if self.store.is_empty(list) { deadline } else { floor.min(deadline) }
    }

    /// Clears the bitmap bit of `list` if a timer just left it empty.
    fn release(&mut self, list: ListId) {
        if let Some((level, slot)) = list.as_slot() {
            if self.store.is_empty(list) {
                self.occupied[level] &= !(1 << slot);
            }
        }
    }

    /// When the next slot (or the overflow list) comes due, and which.
    fn next_event(&self) -> Option<(Tick, ListId)> {
        for (level, &bits) in self.occupied.iter().enumerate() {
            if bits != 0 {
                let slot = bits.trailing_zeros() as usize;
                let at = slot_start(self.elapsed, level, slot);
                return Some((at, ListId::slot(level, slot)));
            }
        }
        if self.store.is_empty(ListId::OVERFLOW) {
            None
        } else {
            Some((block_start(self.overflow_floor), ListId::OVERFLOW))
        }
    }

    /// Moves the clock to `at`, where `list` comes due, and re-files its
    /// timers relative to it: down a level or more, or onto the due list.
    fn cascade(&mut self, at: Tick, list: ListId) {
        self.elapsed = at;
        if let Some((level, slot)) = list.as_slot() {
            self.occupied[level] &= !(1 << slot);
        }
        let mut index = self.store.detach(list);
        while let Some((deadline, next)) = self.store.step(index) {
            let target = self.claim(deadline);
            self.store.link_back(index, target, deadline);
            index = next;
        }
        debug_assert_eq!(index, NIL);
    }
}

impl<T> Default for Wheel<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for Wheel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wheel")
            .field("now", &self.elapsed)
            .field("len", &self.len())
            .field("next_deadline", &self.next_deadline())
            .finish_non_exhaustive()
    }
}

/// The level of a timer due at `deadline > elapsed`: index of the highest
/// base-64 digit in which the two differ (`>= LEVELS`: overflow).
fn level_for(elapsed: Tick, deadline: Tick) -> usize {
    (((elapsed ^ deadline) | 1).ilog2() / SLOT_BITS) as usize
}

/// Digit `level` of `tick` in base 64: its slot on that level.
fn digit(tick: Tick, level: usize) -> usize {
    ((tick >> (SLOT_BITS * level as u32)) as usize) & (SLOTS - 1)
}

/// First tick of slot `slot` of level `level`, in the clock's block of
/// that level (same digits above `level` as `elapsed`).
fn slot_start(elapsed: Tick, level: usize, slot: usize) -> Tick {
    let shift = SLOT_BITS * level as u32;
    let above = !((1 << (shift + SLOT_BITS)) - 1);
    (elapsed & above) | ((slot as Tick) << shift)
}

/// First tick of the `64^6`-tick block that holds `tick`.
fn block_start(tick: Tick) -> Tick {
    tick & !((1 << SPAN_BITS) - 1)
}

#[cfg(test)]
mod tests;
