//! User-space readiness sources: [`Registration`] and [`SetReadiness`]
//! (mio 0.6's names), and the queue that delivers them, [`Queue`].
//!
//! A `Registration` is registered like a socket; its `SetReadiness` handles
//! (cloneable, `Send + Sync`) set its readiness from any thread. The poller
//! reports it with the trigger it was registered with, as the kernel would
//! for a socket:
//!
//! - `Edge`: one event per `set_readiness` call that sets a watched bit
//!   (several calls before one wait give one event), like new data arriving
//!   on a socket that may already be readable;
//! - `Level`: an event on every wait while a watched bit stays set;
//! - `Oneshot` / `EdgeOneshot`: one event, then none until `reregister`.
//!
//! Mechanism: a source with something to report is pushed (once: its
//! `queued` flag) onto the poller's queue, and the poller's notifier is
//! written if nobody has written it since the poller last looked (`notified`).
//! After the kernel wait, `Poll::poll` drains the queue into the room left in
//! `Events`; a level source that is still ready goes back on the queue,
//! behind the sources not reported yet, and then the next wait does not
//! block (readiness that lasts is reported again, like a level-triggered
//! socket).
//!
//! Locks: a source's own mutex and the queue's mutex are never held
//! together; wake-ups (`notify`) happen after both are released.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::ops;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use crate::poll::{Shared, check_token};
use crate::sys::flags;
use crate::{Event, Events, Interest, Registry, Source, Token, Trigger};

/// The readiness of a user source: any set of readable, writable, priority,
/// read-closed and error (empty: not ready).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Default)]
pub struct Ready(u8);

impl Ready {
    /// Not ready.
    pub const EMPTY: Ready = Ready(0);
    /// Reported as readable (`EPOLLIN`) to a readable interest.
    pub const READABLE: Ready = Ready(1);
    /// Reported as writable (`EPOLLOUT`) to a writable interest.
    pub const WRITABLE: Ready = Ready(2);
    /// Reported as priority (`EPOLLPRI`) to a priority interest.
    pub const PRIORITY: Ready = Ready(4);
    /// Reported as read-closed (`EPOLLRDHUP`) to a readable interest.
    pub const READ_CLOSED: Ready = Ready(8);
    /// Reported as an error (`EPOLLERR`) to any interest.
    pub const ERROR: Ready = Ready(16);

    /// Whether nothing is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Ready) -> bool {
        self.0 & other.0 == other.0
    }

    /// The raw epoll-style flags of what `interest` lets through.
    fn flags_for(self, interest: Interest) -> u32 {
        let mut f = 0;
        let has = |r: Ready| self.0 & r.0 != 0;
        if interest.is_readable() {
            f |= if has(Ready::READABLE) { flags::IN } else { 0 };
            f |= if has(Ready::READ_CLOSED) { flags::RDHUP } else { 0 };
        }
        if interest.is_writable() && has(Ready::WRITABLE) {
            f |= flags::OUT;
        }
        if interest.is_priority() && has(Ready::PRIORITY) {
            f |= flags::PRI;
        }
        if has(Ready::ERROR) {
            f |= flags::ERR;
        }
        f
    }
}

impl ops::BitOr for Ready {
    type Output = Ready;
    fn bitor(self, other: Ready) -> Ready {
        Ready(self.0 | other.0)
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [(1, "READABLE"), (2, "WRITABLE"), (4, "PRIORITY"), (8, "READ_CLOSED"), (16, "ERROR")];
        let mut sep = "";
        for (bit, name) in names {
            if self.0 & bit != 0 {
                write!(f, "{sep}{name}")?;
                sep = " | ";
            }
        }
        if sep.is_empty() {
            f.write_str("EMPTY")?;
        }
        Ok(())
    }
}

/// A registration of a user source with one poller.
struct Reg {
    /// Weak: the poller's queue holds the node, the node must not keep the
    /// poller alive.
    shared: Weak<Shared>,
    token: Token,
    interest: Interest,
    trigger: Trigger,
    /// False once a oneshot registration has fired, until `reregister`.
    armed: bool,
    /// Tells this registration from an earlier one (queue entries of an
    /// earlier registration are skipped).
    id: u64,
}

struct NodeState {
    readiness: Ready,
    reg: Option<Reg>,
    /// On the queue of `reg`'s poller under `reg.id`: don't push it twice.
    queued: bool,
}

struct Node {
    state: Mutex<NodeState>,
}

impl Node {
    fn lock(&self) -> MutexGuard<'_, NodeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl NodeState {
    /// Marks the node queued if it has something to report; returns the
    /// poller to push it to, with the registration id.
    fn should_queue(&mut self) -> Option<(Arc<Shared>, u64)> {
        let reg = self.reg.as_ref()?;
        if self.queued || !reg.armed || self.readiness.flags_for(reg.interest) == 0 {
            return None;
        }
        let shared = reg.shared.upgrade()?;
        self.queued = true;
        Some((shared, reg.id))
    }
}

/// A user-space readiness source: register it with a [`Registry`], set its
/// readiness through its [`SetReadiness`] from any thread.
///
/// Dropping it deregisters it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use eddy_poll::{Events, Interest, Poll, Ready, Registration, Token, Trigger};
///
/// let mut poll = Poll::new()?;
/// let (mut source, set) = Registration::new();
/// poll.registry().register(&mut source, Token(7), Interest::READABLE, Trigger::Edge)?;
///
/// std::thread::spawn(move || set.set_readiness(Ready::READABLE)).join().unwrap()?;
///
/// let mut events = Events::with_capacity(8);
/// poll.poll(&mut events, Some(Duration::from_secs(5)))?;
/// let event = events.iter().next().expect("the readiness set from the other thread");
/// assert_eq!(event.token(), Token(7));
/// assert!(event.is_readable());
/// # std::io::Result::Ok(())
/// ```
pub struct Registration {
    node: Arc<Node>,
}

/// Sets the readiness of a [`Registration`]; cloneable, `Send + Sync`.
#[derive(Clone)]
pub struct SetReadiness {
    node: Arc<Node>,
}

impl Registration {
    /// A new source, not ready, and the handle that sets its readiness.
    pub fn new() -> (Registration, SetReadiness) {
        let node =
            Arc::new(Node { state: Mutex::new(NodeState { readiness: Ready::EMPTY, reg: None, queued: false }) });
        (Registration { node: Arc::clone(&node) }, SetReadiness { node })
    }

    fn set_reg(&self, reg: Option<Reg>) -> io::Result<()> {
        let push = {
            let mut st = self.node.lock();
            let same = matches!((&st.reg, &reg), (Some(old), Some(new)) if old.id == new.id);
            if !same {
                st.queued = false;
            }
            st.reg = reg;
            st.should_queue()
        };
        match push {
            Some((shared, id)) => shared.user.push(&shared, Arc::clone(&self.node), id),
            None => Ok(()),
        }
    }
}

impl Source for Registration {
    fn register(&mut self, registry: &Registry, token: Token, interest: Interest, trigger: Trigger) -> io::Result<()> {
        check_token(token)?;
        if self.node.lock().reg.is_some() {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, "this user source is already registered"));
        }
        let shared = Arc::downgrade(&registry.shared);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        self.set_reg(Some(Reg { shared, token, interest, trigger, armed: true, id }))
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
        trigger: Trigger,
    ) -> io::Result<()> {
        check_token(token)?;
        let id = match &self.node.lock().reg {
            Some(reg) if reg.shared.ptr_eq(&Arc::downgrade(&registry.shared)) => reg.id,
            _ => return Err(io::Error::new(io::ErrorKind::NotFound, "this user source is not registered here")),
        };
        let shared = Arc::downgrade(&registry.shared);
        self.set_reg(Some(Reg { shared, token, interest, trigger, armed: true, id }))
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match &self.node.lock().reg {
            Some(reg) if reg.shared.ptr_eq(&Arc::downgrade(&registry.shared)) => {}
            _ => return Err(io::Error::new(io::ErrorKind::NotFound, "this user source is not registered here")),
        }
        self.set_reg(None)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // Deregistering pushes nothing, so it cannot fail.
        let _ = self.set_reg(None);
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration").field("readiness", &self.node.lock().readiness).finish()
    }
}

impl SetReadiness {
    /// Sets the source's readiness (replacing the previous one) and, if a
    /// watched bit is set, makes its poller report it.
    ///
    /// # Errors
    ///
    /// The poller's notifier could not be written (it is an eventfd: in
    /// practice, never).
    pub fn set_readiness(&self, ready: Ready) -> io::Result<()> {
        let push = {
            let mut st = self.node.lock();
            st.readiness = ready;
            st.should_queue()
        };
        match push {
            Some((shared, id)) => shared.user.push(&shared, Arc::clone(&self.node), id),
            None => Ok(()),
        }
    }

    /// The readiness last set.
    pub fn readiness(&self) -> Ready {
        self.node.lock().readiness
    }
}

impl fmt::Debug for SetReadiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetReadiness").field("readiness", &self.readiness()).finish()
    }
}

/// A poller's queue of user sources with something to report.
pub(crate) struct Queue {
    ready: Mutex<VecDeque<(Arc<Node>, u64)>>,
    /// True from a push until the poller collects: the next wait must not
    /// block, and pushers need not write the notifier again.
    notified: AtomicBool,
}

impl Queue {
    pub(crate) fn new() -> Queue {
        Queue { ready: Mutex::new(VecDeque::new()), notified: AtomicBool::new(false) }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<(Arc<Node>, u64)>> {
        self.ready.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, shared: &Shared, node: Arc<Node>, id: u64) -> io::Result<()> {
        self.lock().push_back((node, id));
        if !self.notified.swap(true, Ordering::AcqRel) {
            shared.selector.notify()?;
        }
        Ok(())
    }

    /// Whether sources wait to be reported (the wait must not block).
    #[inline]
    pub(crate) fn has_pending(&self) -> bool {
        self.notified.load(Ordering::Acquire)
    }

    /// Moves queued readiness into the room left in `events`.
    #[inline]
    pub(crate) fn collect(&self, events: &mut Events) {
        if self.has_pending() {
            self.collect_slow(events);
        }
    }

    #[inline(never)]
    fn collect_slow(&self, events: &mut Events) {
        // Cleared before draining: a push that lands after the drain sets it
        // again and writes the notifier, so nothing is lost.
        self.notified.store(false, Ordering::Release);
        let batch = std::mem::take(&mut *self.lock());
        let mut no_room = VecDeque::new();
        let mut again = Vec::new();
        for (node, id) in batch {
            if events.remaining() == 0 {
                no_room.push_back((node, id));
                continue;
            }
            let mut st = node.lock();
            let NodeState { readiness, reg: Some(reg), queued } = &mut *st else { continue };
            if reg.id != id {
                continue; // an entry of an earlier registration
            }
            *queued = false;
            let raw = readiness.flags_for(reg.interest);
            if !reg.armed || raw == 0 {
                continue;
            }
            events.list.push(Event::new(reg.token, raw));
            match reg.trigger {
                Trigger::Oneshot | Trigger::EdgeOneshot => reg.armed = false,
                Trigger::Level => {
                    *queued = true;
                    drop(st);
                    again.push((node, id));
                }
                Trigger::Edge => {}
            }
        }
        if !no_room.is_empty() || !again.is_empty() {
            let mut q = self.lock();
            for entry in no_room.into_iter().rev() {
                q.push_front(entry);
            }
            q.extend(again);
            self.notified.store(true, Ordering::Release);
        }
    }
}
