//! [`Slab`]: connection storage with generational ids.
//!
//! Each slot carries a generation, bumped when its value is removed. A
//! [`ConnId`] names a slot *and* a generation, so an id (or an event token)
//! of a closed connection never reaches the connection that reused its slot:
//! lookups with a stale id find nothing. Free slots are reused last-in,
//! first-out (the most recently freed, still warm in cache).
//!
//! Token layout: the loop core's (`loop_core.rs`): the generation in the top
//! 32 bits, [`Kind::CONNECTION`] in the kind bits, the slot index below.
//! Generations start at 1, so a token of generation 0 never names a
//! connection.
//!
//! Costs: insert, lookup and remove are O(1); a slot costs `size_of::<T>()`
//! plus 8 bytes.

use eddy_poll::Token;

use crate::loop_core::{self, Kind};

/// Names one connection of one loop, for its whole life and never after.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct ConnId {
    index: u32,
    generation: u32,
}

impl ConnId {
    /// The token its registration (and its housekeeping timer) carries.
    #[inline]
    pub fn token(self) -> Token {
        loop_core::token(Kind::CONNECTION, self.index, self.generation)
    }

    /// The token of a timer its handler set.
    #[inline]
    pub(crate) fn timer_token(self) -> Token {
        loop_core::token(Kind::HANDLER_TIMER, self.index, self.generation)
    }

    /// The connection a token of [`Kind::CONNECTION`] or
    /// [`Kind::HANDLER_TIMER`] names (the caller checked the kind).
    #[inline]
    pub(crate) fn from_token(token: Token) -> Option<ConnId> {
        let (index, generation) = loop_core::slot_of(token);
        (generation != 0).then_some(ConnId { index, generation })
    }

    /// The slot index (for logs and tests: two ids with the same index and
    /// different generations are a slot reused).
    pub fn index(self) -> u32 {
        self.index
    }

    /// The slot's generation when this connection took it.
    pub fn generation(self) -> u32 {
        self.generation
    }
}

#[derive(Debug)]
struct Slot<T> {
    /// The generation of the current (or next) occupant; never 0.
    generation: u32,
    value: Option<T>,
}

#[derive(Debug)]
pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    /// Indices of empty slots, most recently freed last.
    free: Vec<u32>,
    len: usize,
}

impl<T> Slab<T> {
    pub(crate) fn new() -> Slab<T> {
        Slab { slots: Vec::new(), free: Vec::new(), len: 0 }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The id the next insert will get; `None` when the token space is full
    /// ([`loop_core::MAX_INDEX`] slots, far beyond any fd limit).
    pub(crate) fn next_id(&self) -> Option<ConnId> {
        let id = self.peek_id();
        (id.index <= loop_core::MAX_INDEX).then_some(id)
    }

    fn peek_id(&self) -> ConnId {
        match self.free.last() {
            Some(&index) => ConnId { index, generation: self.slots[index as usize].generation },
            None => ConnId { index: self.slots.len() as u32, generation: 1 },
        }
    }

    /// Stores `value` in the slot [`next_id`](Self::next_id) named.
    pub(crate) fn insert(&mut self, value: T) -> ConnId {
        let id = self.peek_id();
        match self.free.pop() {
            Some(index) => self.slots[index as usize].value = Some(value),
            None => self.slots.push(Slot { generation: 1, value: Some(value) }),
        }
        self.len += 1;
        id
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, id: ConnId) -> Option<&mut T> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.value.as_mut()
    }

    pub(crate) fn remove(&mut self, id: ConnId) -> Option<T> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        let value = slot.value.take()?;
        slot.generation = match slot.generation.wrapping_add(1) {
            0 => 1,
            g => g,
        };
        self.free.push(id.index);
        self.len -= 1;
        Some(value)
    }

    /// The ids of every occupied slot.
    pub(crate) fn ids(&self) -> Vec<ConnId> {
        let occupied = self.slots.iter().enumerate().filter(|(_, s)| s.value.is_some());
        occupied.map(|(i, s)| ConnId { index: i as u32, generation: s.generation }).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_slot_refuses_the_old_id() {
        let mut slab = Slab::new();
        let a = slab.insert("a");
        assert_eq!(slab.remove(a), Some("a"));
        let b = slab.insert("b");
        assert_eq!(a.index(), b.index(), "LIFO reuse of the freed slot");
        assert_ne!(a, b);
        assert_eq!(slab.get_mut(a), None);
        assert_eq!(slab.remove(a), None);
        assert_eq!(slab.get_mut(b), Some(&mut "b"));
        assert_eq!(ConnId::from_token(b.token()), Some(b));
        assert_eq!(ConnId::from_token(Token(3)), None, "generation 0 names no connection");
        assert_eq!(crate::loop_core::kind_of(b.token()), Kind::CONNECTION);
    }
}
