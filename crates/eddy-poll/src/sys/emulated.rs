//! The registration table of the backends without a kernel interest list:
//! poll(2) and select(2).
//!
//! Those syscalls take the whole set of fds on every call, and know only
//! level triggering. So eddy keeps the interest list itself, in [`Table`]:
//! one entry per registered fd (a `Vec` indexed by fd number), each with its
//! token, interest and trigger, and the emulation state of its trigger:
//!
//! - `Oneshot` / `EdgeOneshot`: after one event the entry is switched `off`
//!   and left out of the wait set until `reregister`.
//! - `Edge`: after an event, the directions it reported are `muted` and left
//!   out of the wait set until an eddy socket's operation in that direction
//!   returns `WouldBlock` ([`would_block`]) or until `reregister`. This is
//!   mio's emulation; it differs from epoll in one way, documented on
//!   [`Trigger::Edge`](crate::Trigger::Edge).
//!
//! An eddy source keeps no handle to the table it is registered with (on
//! epoll that handle would be dead weight in every socket): the process
//! keeps a list of its live tables ([`TABLES`]), and a source's
//! `WouldBlock` ([`would_block`]) and its closing ([`closing`]) go to each
//! of them, keyed by the fd number. With no emulated poller alive, each is
//! one atomic load ([`LIVE`]). A `WouldBlock` skips the tables that hold no
//! `Edge` registration without taking their lock.
//!
//! Each wait works on a *snapshot* of the table, rebuilt only when the table
//! changed (a generation counter). Changes made while a wait is blocked
//! (another thread registers, a rearm) write the internal notifier, which is
//! slot 0 of every snapshot, so the wait returns and the next one uses the new
//! set. After the wait, every ready slot is checked against the *current*
//! table under its lock: an fd deregistered meanwhile reports nothing.
//!
//! Fairness: when more slots are ready than the caller's `Events` can hold,
//! the next wait resumes the scan where this one stopped (`cursor`), so every
//! ready registration is reported in turn.
//!
//! Costs: O(registered fds) per wait (the syscall's own cost, and the scan of
//! the results), plus O(registered fds) to rebuild the snapshot after a
//! change; a mutex per registration call.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use super::eventfd::Notifier;
use super::flags;
use crate::{Event, Events, Interest, Token, Trigger};

/// Direction bits of an emulated registration.
pub(crate) const READ: u8 = 0b001;
pub(crate) const WRITE: u8 = 0b010;
pub(crate) const PRI: u8 = 0b100;

fn dirs(interest: Interest) -> u8 {
    (if interest.is_readable() { READ } else { 0 })
        | (if interest.is_writable() { WRITE } else { 0 })
        | (if interest.is_priority() { PRI } else { 0 })
}

/// The directions an event's raw flags speak about (an error or a hang-up
/// concerns both reading and writing).
fn dirs_of(raw: u32) -> u8 {
    let both = flags::ERR | flags::HUP | flags::NVAL;
    (if raw & (flags::IN | flags::RDHUP | both) != 0 { READ } else { 0 })
        | (if raw & (flags::OUT | both) != 0 { WRITE } else { 0 })
        | (if raw & flags::PRI != 0 { PRI } else { 0 })
}

/// The raw flags a set of directions lets through; errors and hang-ups are
/// always reported, as epoll does.
fn flags_of(d: u8) -> u32 {
    (if d & READ != 0 { flags::IN | flags::RDHUP } else { 0 })
        | (if d & WRITE != 0 { flags::OUT } else { 0 })
        | (if d & PRI != 0 { flags::PRI } else { 0 })
        | flags::ERR
        | flags::HUP
        | flags::NVAL
}

/// One syscall flavour: builds its fd set from the snapshot and waits.
pub(crate) trait Wait: Send + Default + 'static {
    /// Refuses an fd the syscall cannot watch.
    fn check(fd: RawFd) -> io::Result<()>;
    /// Forgets the set.
    fn clear(&mut self);
    /// Appends slot `self.len()`: `fd` watched for the directions `d`.
    fn push(&mut self, fd: RawFd, d: u8);
    /// Waits up to `timeout`; one attempt (`EINTR` is returned).
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()>;
    /// The raw epoll-style flags of slot `i` after the wait (0: not ready).
    fn ready(&self, i: usize) -> u32;
}

#[derive(Copy, Clone, Debug)]
struct Entry {
    token: Token,
    trigger: Trigger,
    /// The registration's interest, as direction bits.
    interest: u8,
    /// Directions silenced by the edge emulation until a rearm.
    muted: u8,
    /// Set by the oneshot emulation after an event, until `reregister`.
    off: bool,
    /// Tells this registration from an earlier one of the same fd number.
    id: u64,
}

impl Entry {
    /// The directions this entry waits for now.
    fn active(&self) -> u8 {
        if self.off { 0 } else { self.interest & !self.muted }
    }
}

#[derive(Debug)]
struct State {
    /// Indexed by fd number.
    entries: Vec<Option<Entry>>,
    /// Bumped by every change of the wait set.
    generation: u64,
    next_id: u64,
    /// How many entries have the trigger `Edge` (mirrored in `Table::edges`).
    edges: usize,
}

impl State {
    fn entry(&mut self, fd: RawFd) -> Option<&mut Entry> {
        usize::try_from(fd).ok().and_then(|i| self.entries.get_mut(i)).and_then(Option::as_mut)
    }

    /// Removes `fd`'s entry; whether there was one.
    fn remove(&mut self, fd: RawFd) -> bool {
        let slot = usize::try_from(fd).ok().and_then(|i| self.entries.get_mut(i));
        let Some(old) = slot.and_then(Option::take) else { return false };
        self.edges -= usize::from(old.trigger == Trigger::Edge);
        self.generation += 1;
        true
    }
}

/// The shared half of an emulated selector: what `Registry` changes from any
/// thread.
#[derive(Debug)]
pub(crate) struct Table {
    state: Mutex<State>,
    /// Slot 0 of every wait: wakes a blocked wait after a change.
    notifier: Notifier,
    /// True while a wait is blocked on a snapshot (written under `state`'s
    /// lock): only then must a change write the notifier.
    polling: AtomicBool,
    /// `State::edges`, readable without the lock: a `WouldBlock` skips a
    /// table with no `Edge` entry. Written under the lock after each change;
    /// a source's own registration happened before its `WouldBlock`, so the
    /// count it reads includes that registration.
    edges: AtomicUsize,
}

/// Every live emulated table of the process: where a source's `WouldBlock`
/// and closing are reported, since the source keeps no handle to the table
/// (see the module's docs). Lock order: this, then a table's `state`.
static TABLES: RwLock<Vec<Arc<Table>>> = RwLock::new(Vec::new());

/// `TABLES.len()`, read without the lock: zero in a process that uses only
/// epoll, where the source's hooks below cost this one load.
static LIVE: AtomicUsize = AtomicUsize::new(0);

fn tables() -> std::sync::RwLockReadGuard<'static, Vec<Arc<Table>>> {
    TABLES.read().unwrap_or_else(PoisonError::into_inner)
}

/// Whether any emulated poller is alive in the process.
#[inline]
pub(crate) fn any() -> bool {
    // Acquire pairs with the Release of `Selector::new`; the registration a
    // source's hook is about happened before the hook in any case.
    LIVE.load(Ordering::Acquire) != 0
}

/// An eddy source's operation on `fd` in the directions `d` returned
/// `WouldBlock`: every table's `Edge` registration of `fd` waits for them
/// again.
#[inline(never)]
pub(crate) fn would_block(fd: RawFd, d: u8) {
    for table in tables().iter().filter(|t| t.edges.load(Ordering::Relaxed) != 0) {
        table.rearm(fd, d);
    }
}

/// `fd` is about to close (an eddy source is dropped or converted into its
/// fd): every table forgets its registration, as epoll does for a closed
/// file, before the number can be reused.
#[inline]
pub(crate) fn closing(fd: RawFd) {
    if any() {
        for table in tables().iter() {
            table.forget(fd);
        }
    }
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic while holding the lock cannot leave `State` half-updated in a
    // way that matters more than losing the table: keep going.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn not_found(fd: RawFd) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("fd {fd} is not registered with this poller"))
}

impl Table {
    /// Applies `change` under the lock; wakes a blocked wait if it changed
    /// the wait set.
    fn update<T>(&self, change: impl FnOnce(&mut State) -> io::Result<T>) -> io::Result<T> {
        let mut st = lock(&self.state);
        let generation = st.generation;
        let out = change(&mut st)?;
        let wake = st.generation != generation && self.polling.load(Ordering::Relaxed);
        self.edges.store(st.edges, Ordering::Relaxed);
        drop(st);
        if wake {
            self.notifier.notify()?;
        }
        Ok(out)
    }

    /// An eddy socket's operation in the directions `d` returned
    /// `WouldBlock`: un-mute them (edge emulation).
    fn rearm(&self, fd: RawFd, d: u8) {
        let _ = self.update(|st| {
            if let Some(e) = st.entry(fd) {
                if e.trigger == Trigger::Edge && e.muted & d != 0 {
                    e.muted &= !d;
                    st.generation += 1;
                }
            }
            Ok(())
        });
    }

    /// Forgets `fd`'s registration, if any (an eddy socket being dropped).
    fn forget(&self, fd: RawFd) {
        let _ = self.update(|st| {
            st.remove(fd);
            Ok(())
        });
    }
}

/// What the waiting thread keeps between waits.
struct Snapshot<W> {
    wait: W,
    /// Slot -> (fd, registration id); slot 0 is the notifier.
    slots: Vec<(RawFd, u64)>,
    /// The table generation `wait` was built from.
    generation: u64,
    /// Where the next scan of ready slots starts (fairness).
    cursor: usize,
}

pub(crate) struct Selector<W> {
    table: Arc<Table>,
    snapshot: Mutex<Snapshot<W>>,
}

/// What [`Selector::set`] does to the fd's entry.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    /// Make one: the fd must not be registered yet.
    Register,
    /// Replace it: the fd must be registered.
    Reregister,
}

impl<W: Wait> Selector<W> {
    fn set(&self, fd: RawFd, change: Change, token: Token, interest: Interest, trigger: Trigger) -> io::Result<()> {
        let new = change == Change::Register;
        W::check(fd)?;
        self.table.update(|st| {
            let idx = usize::try_from(fd).map_err(|_| not_found(fd))?;
            if new && st.entries.len() <= idx {
                st.entries.resize(idx + 1, None);
            }
            let id = st.next_id;
            let slot = st.entries.get_mut(idx).ok_or_else(|| not_found(fd))?;
            let was_edge = slot.is_some_and(|e| e.trigger == Trigger::Edge);
            let id = match (new, &*slot) {
                (true, Some(_)) => {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!("fd {fd} is already registered with this poller"),
                    ));
                }
                (false, None) => return Err(not_found(fd)),
                (true, None) => id,
                (false, Some(e)) => e.id,
            };
            *slot = Some(Entry { token, trigger, interest: dirs(interest), muted: 0, off: false, id });
            st.edges = st.edges + usize::from(trigger == Trigger::Edge) - usize::from(was_edge);
            st.next_id += u64::from(new);
            st.generation += 1;
            Ok(())
        })
    }

    /// Rebuilds the wait set from the table if it changed since last time.
    fn refresh(&self, snap: &mut Snapshot<W>, st: &State) {
        if snap.generation == st.generation {
            return;
        }
        snap.wait.clear();
        snap.slots.clear();
        snap.wait.push(self.table.notifier.as_fd().as_raw_fd(), READ);
        snap.slots.push((self.table.notifier.as_fd().as_raw_fd(), 0));
        for (fd, e) in st.entries.iter().enumerate() {
            if let Some(e) = e {
                let active = e.active();
                if active != 0 {
                    // Table indices came from fds, so they fit in a RawFd.
                    let fd = fd as RawFd;
                    snap.wait.push(fd, active);
                    snap.slots.push((fd, e.id));
                }
            }
        }
        snap.generation = st.generation;
    }

    /// Turns the ready slots into events, at most the room in `events`,
    /// starting at the cursor; applies the trigger emulation.
    fn collect(&self, snap: &mut Snapshot<W>, st: &mut State, events: &mut Events) {
        let n = snap.slots.len();
        let start = snap.cursor % n;
        for k in 0..n {
            let i = (start + k) % n;
            let raw = snap.wait.ready(i);
            if raw == 0 {
                continue;
            }
            if i == 0 {
                self.table.notifier.drain();
                continue;
            }
            let (fd, id) = snap.slots[i];
            let Some(e) = st.entry(fd).filter(|e| e.id == id) else { continue };
            let delivered = raw & flags_of(e.active());
            if delivered == 0 {
                continue;
            }
            if events.remaining() == 0 {
                snap.cursor = i;
                return;
            }
            events.list.push(Event::new(e.token, delivered));
            if e.trigger.is_oneshot() {
                e.off = true;
                st.generation += 1;
            } else if e.trigger == Trigger::Edge {
                e.muted |= dirs_of(delivered) & e.interest;
                st.generation += 1;
            }
            snap.cursor = i + 1;
        }
    }
}

impl<W: Wait> super::Selector for Selector<W> {
    fn new() -> io::Result<Self> {
        let notifier = Notifier::new()?;
        W::check(notifier.as_fd().as_raw_fd())?;
        let table = Table {
            state: Mutex::new(State { entries: Vec::new(), generation: 1, next_id: 1, edges: 0 }),
            notifier,
            polling: AtomicBool::new(false),
            edges: AtomicUsize::new(0),
        };
        let table = Arc::new(table);
        {
            let mut all = TABLES.write().unwrap_or_else(PoisonError::into_inner);
            all.push(Arc::clone(&table));
            LIVE.store(all.len(), Ordering::Release);
        }
        let snapshot = Snapshot { wait: W::default(), slots: Vec::new(), generation: 0, cursor: 0 };
        Ok(Selector { table, snapshot: Mutex::new(snapshot) })
    }

    fn register(&self, fd: BorrowedFd<'_>, token: Token, interest: Interest, trigger: Trigger) -> io::Result<()> {
        self.set(fd.as_raw_fd(), Change::Register, token, interest, trigger)
    }

    fn reregister(&self, fd: BorrowedFd<'_>, token: Token, interest: Interest, trigger: Trigger) -> io::Result<()> {
        self.set(fd.as_raw_fd(), Change::Reregister, token, interest, trigger)
    }

    fn deregister(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        let fd = fd.as_raw_fd();
        self.table.update(|st| if st.remove(fd) { Ok(()) } else { Err(not_found(fd)) })
    }

    // Out of line: inlined into `Poll::poll`, this slow path would burden the
    // epoll path's prologue (saved registers, a large frame).
    #[inline(never)]
    fn select(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.list.clear();
        let mut snap = self.snapshot.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        {
            let st = lock(&self.table.state);
            self.refresh(&mut snap, &st);
            self.table.polling.store(true, Ordering::Relaxed);
        }
        let waited = snap.wait.wait(timeout);
        let mut st = lock(&self.table.state);
        self.table.polling.store(false, Ordering::Relaxed);
        waited?;
        self.collect(&mut snap, &mut st, events);
        Ok(())
    }

    fn notify(&self) -> io::Result<()> {
        self.table.notifier.notify()
    }
}

impl<W> Drop for Selector<W> {
    /// Leaves the process's list of tables: the sources registered here no
    /// longer report to it.
    fn drop(&mut self) {
        let mut all = TABLES.write().unwrap_or_else(PoisonError::into_inner);
        all.retain(|t| !Arc::ptr_eq(t, &self.table));
        LIVE.store(all.len(), Ordering::Release);
    }
}
