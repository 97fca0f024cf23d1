//! The entries of the wheel: a slab with generations, threaded on intrusive
//! doubly-linked lists, one list per slot plus the due and overflow lists.
//!
//! The store knows nothing of time: it keeps entries, hands out and checks
//! keys, and links, unlinks and walks lists in O(1) per step. Where an
//! entry belongs is decided by the wheel (`super`).
//!
//! Nothing here panics on a bad index: every access goes through `get`, and
//! a key whose slot is vacant or whose generation differs is simply not
//! found. The one exception is running out of `u32` indices (see `insert`).

use std::num::{NonZeroU16, NonZeroU32};
use std::sync::atomic::{AtomicU32, Ordering};

use super::{LEVELS, SLOTS, Tick, TimerKey};

/// "No entry": the end of a list, or of the chain of vacant entries.
pub(super) const NIL: u32 = u32::MAX;

/// Number of lists: one per slot of each level, then the due list, then
/// the overflow list.
const LISTS: usize = LEVELS * SLOTS + 2;

/// The list an entry is linked on.
///
/// Stored as `1 + index` in a `NonZeroU16`: the zero niche lets
/// `Entry::Vacant` share the space of an occupied entry's links, so an entry
/// costs `24 + size_of::<T>()` bytes (rounded up to 8) and not 8 more.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct ListId(NonZeroU16);

impl ListId {
    /// Timers whose deadline is `<=` the wheel's clock, in firing order.
    pub(super) const DUE: Self = Self::from_index(LEVELS * SLOTS);
    /// Timers whose deadline is beyond the reach of the top level.
    pub(super) const OVERFLOW: Self = Self::from_index(LEVELS * SLOTS + 1);

    /// The list of slot `slot` (`< SLOTS`) of level `level` (`< LEVELS`).
    pub(super) const fn slot(level: usize, slot: usize) -> Self {
        Self::from_index(level * SLOTS + slot)
    }

    /// `(level, slot)` if this is a slot list, `None` for due and overflow.
    pub(super) const fn as_slot(self) -> Option<(usize, usize)> {
        let index = self.index();
        if index < LEVELS * SLOTS { Some((index / SLOTS, index % SLOTS)) } else { None }
    }

    const fn from_index(index: usize) -> Self {
        // `index < LISTS <= u16::MAX`, so neither the cast nor the add saturates.
        Self(NonZeroU16::MIN.saturating_add(index as u16))
    }

    const fn index(self) -> usize {
        self.0.get() as usize - 1
    }
}

/// The intrusive part of an occupied entry.
#[derive(Clone, Debug)]
struct Links {
    /// The deadline the timer was inserted (or last reset) with.
    deadline: Tick,
    /// Previous entry on the same list, or `NIL` at the head.
    prev: u32,
    /// Next entry on the same list, or `NIL` at the tail.
    next: u32,
    /// Generation of this slab slot while it holds this timer; the key
    /// handed out carries the same value.
    generation: u32,
    /// The list this entry is on; `ends[list]` reaches it by `next` links.
    list: ListId,
}

#[derive(Clone, Debug)]
enum Entry<T> {
    /// A free slab slot. `generation` is the one the next occupant gets: it
    /// is bumped on every removal, so the keys of earlier occupants fail.
    Vacant { generation: u32, next_free: u32 },
    /// A live timer.
    Occupied { links: Links, value: T },
}

/// Number of the next store created: it goes into every key the store hands
/// out, so a key is refused by any other wheel (clones share the number).
static NEXT_WHEEL: AtomicU32 = AtomicU32::new(1);

/// Head and tail of one list (`NIL` both when empty).
#[derive(Clone, Copy, Debug)]
struct Ends {
    head: u32,
    tail: u32,
}

const EMPTY: Ends = Ends { head: NIL, tail: NIL };

/// The slab of timer entries and the ends of every list.
#[derive(Clone, Debug)]
pub(super) struct Store<T> {
    /// Every slab slot ever allocated; vacant ones are chained from `free`.
    entries: Vec<Entry<T>>,
    /// First vacant entry (chained through `Vacant::next_free`), or `NIL`.
    free: u32,
    /// Number of occupied entries (live timers).
    len: usize,
    /// Head and tail of each list, indexed by `ListId::index`.
    ends: [Ends; LISTS],
    /// This wheel's number, stamped on its keys (never 0: `Option<TimerKey>`
    /// costs no more than a key).
    wheel: NonZeroU32,
}

impl<T> Store<T> {
    pub(super) fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Vec::with_capacity(capacity),
            free: NIL,
            len: 0,
            ends: [EMPTY; LISTS],
            // After 2^32 wheels the count wraps: skip 0.
            wheel: NonZeroU32::new(NEXT_WHEEL.fetch_add(1, Ordering::Relaxed)).unwrap_or(NonZeroU32::MIN),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self, list: ListId) -> bool {
        self.ends[list.index()].head == NIL
    }

    /// Stores a new timer at the tail of `list` and returns its key.
    ///
    /// # Panics
    /// If `u32::MAX` entries are live at once (over 96 GiB of entries).
    pub(super) fn insert(&mut self, list: ListId, deadline: Tick, value: T) -> TimerKey {
        let (index, generation) = match self.entries.get(self.free as usize) {
            Some(&Entry::Vacant { generation, next_free }) => {
                let index = self.free;
                self.free = next_free;
                (index, generation)
            }
            _ => match u32::try_from(self.entries.len()) {
                Ok(index) if index != NIL => {
                    self.entries.push(Entry::Vacant { generation: 0, next_free: NIL });
                    (index, 0)
                }
                _ => panic!("timer wheel: more than u32::MAX - 1 live timers"),
            },
        };
        self.entries[index as usize] =
            Entry::Occupied { links: Links { deadline, prev: NIL, next: NIL, generation, list }, value };
        self.link_back(index, list, deadline);
        self.len += 1;
        TimerKey { index, generation, wheel: self.wheel }
    }

    /// Removes the timer of `key`: its list (to update the bitmaps) and value.
    pub(super) fn remove(&mut self, key: TimerKey) -> Option<(ListId, T)> {
        let index = self.find(key)?;
        let list = self.unlink(index)?;
        let vacant = Entry::Vacant { generation: key.generation.wrapping_add(1), next_free: self.free };
        let Entry::Occupied { value, .. } = std::mem::replace(&mut self.entries[index as usize], vacant) else {
            return None; // `find` saw it occupied; kept total rather than asserted
        };
        self.free = index;
        self.len -= 1;
        Some((list, value))
    }

    /// Removes and returns the head of `list`.
    pub(super) fn pop_front(&mut self, list: ListId) -> Option<(TimerKey, T)> {
        let index = self.ends[list.index()].head;
        let key = self.key_at(index)?;
        let (_, value) = self.remove(key)?;
        Some((key, value))
    }

    /// The entry index of a live `key`, `None` if stale or foreign.
    pub(super) fn find(&self, key: TimerKey) -> Option<u32> {
        match self.entries.get(key.index as usize) {
            Some(Entry::Occupied { links, .. }) if links.generation == key.generation && key.wheel == self.wheel => {
                Some(key.index)
            }
            _ => None,
        }
    }

    /// The deadline stored with a live `key`.
    pub(super) fn deadline(&self, key: TimerKey) -> Option<Tick> {
        self.links(self.find(key)?).map(|links| links.deadline)
    }

    /// Takes entry `index` off its list, leaving it occupied but on no list
    /// until `link_back`. Returns the list it was on.
    pub(super) fn unlink(&mut self, index: u32) -> Option<ListId> {
        let links = self.links(index)?;
        let (prev, next, list) = (links.prev, links.next, links.list);
        match self.links_mut(prev) {
            Some(p) => p.next = next,
            None => self.ends[list.index()].head = next,
        }
        match self.links_mut(next) {
            Some(n) => n.prev = prev,
            None => self.ends[list.index()].tail = prev,
        }
        Some(list)
    }

    /// Links entry `index` (on no list) at the tail of `list` with `deadline`.
    pub(super) fn link_back(&mut self, index: u32, list: ListId, deadline: Tick) {
        let tail = self.ends[list.index()].tail;
        let Some(links) = self.links_mut(index) else {
            return;
        };
        *links = Links { deadline, prev: tail, next: NIL, generation: links.generation, list };
        match self.links_mut(tail) {
            Some(t) => t.next = index,
            None => self.ends[list.index()].head = index,
        }
        self.ends[list.index()].tail = index;
    }

    /// Empties `list` in O(1) and returns its first entry (or `NIL`). The
    /// entries keep their `next` links, so the caller walks the chain with
    /// `next_of` and must `link_back` every entry of it: until then they
    /// are on no list.
    pub(super) fn detach(&mut self, list: ListId) -> u32 {
        std::mem::replace(&mut self.ends[list.index()], EMPTY).head
    }

    /// `(deadline, next)` of entry `index`, `None` for `NIL`.
    pub(super) fn step(&self, index: u32) -> Option<(Tick, u32)> {
        self.links(index).map(|links| (links.deadline, links.next))
    }

    fn key_at(&self, index: u32) -> Option<TimerKey> {
        self.links(index).map(|links| TimerKey { index, generation: links.generation, wheel: self.wheel })
    }

    fn links(&self, index: u32) -> Option<&Links> {
        match self.entries.get(index as usize) {
            Some(Entry::Occupied { links, .. }) => Some(links),
            _ => None,
        }
    }

    fn links_mut(&mut self, index: u32) -> Option<&mut Links> {
        match self.entries.get_mut(index as usize) {
            Some(Entry::Occupied { links, .. }) => Some(links),
            _ => None,
        }
    }
}

/// Bytes one timer occupies in the slab, for a value of type `T`.
pub(super) const fn entry_size<T>() -> usize {
    size_of::<Entry<T>>()
}

#[cfg(test)]
impl<T> Store<T> {
    /// Deadlines along `list`, checking that its `prev` links, `list` tags
    /// and tail agree with the `next` chain.
    pub(super) fn walk(&self, list: ListId) -> Vec<Tick> {
        let mut deadlines = Vec::new();
        let (mut prev, mut index) = (NIL, self.ends[list.index()].head);
        while let Some(links) = self.links(index) {
            assert_eq!(links.prev, prev, "prev link of {index}");
            assert_eq!(links.list, list, "list tag of {index}");
            deadlines.push(links.deadline);
            (prev, index) = (index, links.next);
        }
        assert_eq!(index, NIL, "chain ends on a vacant entry");
        assert_eq!(self.ends[list.index()].tail, prev, "tail of {list:?}");
        deadlines
    }

    /// The free chain and the entry count agree with the slab.
    pub(super) fn check_slab(&self) {
        let occupied = self.entries.iter().filter(|e| matches!(e, Entry::Occupied { .. })).count();
        assert_eq!(occupied, self.len);
        let mut free = 0;
        let mut index = self.free;
        while let Some(&Entry::Vacant { next_free, .. }) = self.entries.get(index as usize) {
            free += 1;
            index = next_free;
        }
        assert_eq!(index, NIL);
        assert_eq!(free + occupied, self.entries.len());
    }
}
