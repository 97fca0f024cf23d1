//! A generational slab: tasks, registrations and timers are named by an
//! [`Id`] (slot index and generation), so a waker, an event or a timer of
//! something that ended never reaches what reused its slot.

/// A slot and the generation of its occupant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Id {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

struct Slot<T> {
    /// The current (or next) occupant's generation; never 0.
    generation: u32,
    value: Option<T>,
}

pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    len: usize,
}

impl<T> Slab<T> {
    pub(crate) const fn new() -> Slab<T> {
        Slab { slots: Vec::new(), free: Vec::new(), len: 0 }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Stores `value`; `None` when `max_index` slots are taken.
    pub(crate) fn insert(&mut self, value: T, max_index: u32) -> Option<Id> {
        self.insert_with(|_| value, max_index)
    }

    /// Stores the value `make` builds from its id; `None` (and `make` not
    /// called) when `max_index` slots are taken.
    pub(crate) fn insert_with(&mut self, make: impl FnOnce(Id) -> T, max_index: u32) -> Option<Id> {
        let id = match self.free.last() {
            Some(&index) => Id { index, generation: self.slots[index as usize].generation },
            None => {
                let index = u32::try_from(self.slots.len()).ok().filter(|&i| i <= max_index)?;
                Id { index, generation: 1 }
            }
        };
        let value = Some(make(id));
        if self.free.pop().is_some() {
            self.slots[id.index as usize].value = value;
        } else {
            self.slots.push(Slot { generation: 1, value });
        }
        self.len += 1;
        Some(id)
    }

    pub(crate) fn get_mut(&mut self, id: Id) -> Option<&mut T> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.value.as_mut()
    }

    pub(crate) fn remove(&mut self, id: Id) -> Option<T> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        let value = slot.value.take()?;
        slot.generation = slot.generation.checked_add(1).unwrap_or(1);
        self.free.push(id.index);
        self.len -= 1;
        Some(value)
    }

    /// Takes every value out (the slab is empty after).
    pub(crate) fn drain(&mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len);
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if let Some(v) = slot.value.take() {
                slot.generation = slot.generation.checked_add(1).unwrap_or(1);
                self.free.push(i as u32);
                out.push(v);
            }
        }
        self.len = 0;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_slot_refuses_the_old_id() {
        let mut slab = Slab::new();
        let a = slab.insert('a', 10).unwrap();
        assert_eq!(slab.remove(a), Some('a'));
        let b = slab.insert('b', 10).unwrap();
        assert_eq!(a.index, b.index);
        assert!(slab.get_mut(a).is_none());
        assert_eq!(slab.get_mut(b), Some(&mut 'b'));
        assert_eq!(slab.insert('c', 0), None, "index 1 is past the limit");
        assert_eq!(slab.drain(), ['b']);
        assert_eq!(slab.len(), 0);
    }
}
