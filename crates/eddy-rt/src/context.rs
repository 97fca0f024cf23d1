//! The runtime's state on its loop thread ([`Inner`]), reached by tasks,
//! sockets and timers through a thread-local while the loop runs, and the
//! part other threads may touch ([`Remote`]).
//!
//! Invariants:
//! - every `RefCell` of `Inner` is borrowed only for the length of a
//!   bookkeeping step, never across a poll of a future or a `wake` (a
//!   future's destructor or a waker may reach the same cell);
//! - `CURRENT` is the runtime whose loop thread this is, from the moment a
//!   [`Runtime`](crate::Runtime) is entered (`block_on`, a phase of the
//!   loop) until the guard that entered it is dropped.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use eddy_poll::Registry;
use eddy_reactor::Kind;

use crate::driver::IoSlot;
use crate::slab::{Id, Slab};
use crate::task::Task;
use crate::time::Timers;

/// A unique number per runtime: a socket, a timer or a task handle carries
/// the number of the runtime it belongs to.
pub(crate) fn next_runtime_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// What another thread asks of a loop.
pub(crate) enum Message {
    /// Poll this task (a cross-thread `Waker::wake`).
    Wake(Id),
    /// A registration was dropped on another thread: free its slot.
    FreeIo(Id),
    /// A timer was dropped on another thread: free it.
    FreeTimer(Id),
    /// Abort this task (an `AbortHandle` used on another thread).
    Abort(Id),
    /// Its join handle was dropped on another thread.
    Detach(Id),
    /// Run this on the loop (a spawn through a [`Handle`](crate::Handle)).
    Run(Box<dyn FnOnce() + Send>),
}

/// The runtime's end that other threads reach: a queue of messages and the
/// loop's waker. Posting locks, pushes, unlocks, then wakes the loop once
/// per batch (outside the lock).
pub(crate) struct Remote {
    pub(crate) runtime: u64,
    messages: Mutex<Vec<Message>>,
    /// Set when a message is queued and the loop has not taken the queue yet.
    pending: AtomicBool,
    /// The loop core's waker (its eventfd).
    waker: Arc<eddy_poll::Waker>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("runtime", &self.runtime).finish_non_exhaustive()
    }
}

impl Remote {
    pub(crate) fn new(runtime: u64, waker: Arc<eddy_poll::Waker>) -> Remote {
        Remote { runtime, messages: Mutex::new(Vec::new()), pending: AtomicBool::new(false), waker }
    }

    /// Queues `msg` and wakes the loop (once per batch).
    pub(crate) fn post(&self, msg: Message) {
        self.messages.lock().unwrap_or_else(PoisonError::into_inner).push(msg);
        self.notify();
    }

    /// Makes the loop look at its queues (its wait returns).
    pub(crate) fn notify(&self) {
        if !self.pending.swap(true, Ordering::AcqRel) {
            // The eventfd write can only fail if the counter overflows,
            // which a pending wake-up cannot let happen.
            let _ = self.waker.wake();
        }
    }

    pub(crate) fn is_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Takes every queued message.
    pub(crate) fn take(&self) -> Vec<Message> {
        if !self.pending.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        std::mem::take(&mut *self.messages.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The runtime's state on its loop thread.
pub(crate) struct Inner {
    pub(crate) id: u64,
    /// The token kind of this runtime's registrations and timers.
    pub(crate) kind: Kind,
    pub(crate) registry: Registry,
    pub(crate) tasks: RefCell<Slab<Task>>,
    /// Tasks to poll, in wake order (each at most once: its `SCHEDULED` bit).
    pub(crate) queue: RefCell<VecDeque<Id>>,
    pub(crate) remote: Arc<Remote>,
    pub(crate) io: RefCell<Slab<IoSlot>>,
    pub(crate) timers: RefCell<Timers>,
    /// The future of `block_on` was woken.
    pub(crate) main_woken: Arc<AtomicBool>,
    /// Operations a task may do per poll before it is made to yield.
    pub(crate) budget: u32,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Inner>>> = const { RefCell::new(None) };
}

/// Calls `f` with the current runtime, if this thread is running one.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Inner) -> R) -> Option<R> {
    CURRENT.with(|c| c.borrow().as_deref().map(f))
}

/// Calls `f` with runtime `id` if it is the current one.
#[inline]
pub(crate) fn with_runtime<R>(id: u64, f: impl FnOnce(&Inner) -> R) -> Option<R> {
    CURRENT.with(|c| c.borrow().as_deref().filter(|inner| inner.id == id).map(f))
}

/// The current runtime, for spawning; an error naming what was attempted
/// outside one.
pub(crate) fn current(what: &str) -> io::Result<Rc<Inner>> {
    CURRENT.with(|c| c.borrow().clone()).ok_or_else(|| outside(what))
}

/// The error of an operation attempted outside a runtime (or on another
/// runtime's thread).
pub(crate) fn outside(what: &str) -> io::Error {
    io::Error::other(format!("{what}: not inside the eddy-rt runtime it belongs to (block_on, or a phase of its loop)"))
}

/// Makes `inner` the current runtime until dropped (restoring the previous
/// one). Entering the runtime that is already current costs one compare.
pub(crate) struct Enter {
    prev: Option<Option<Rc<Inner>>>,
}

pub(crate) fn enter(inner: &Rc<Inner>) -> Enter {
    let same = CURRENT.with(|c| c.borrow().as_ref().is_some_and(|cur| Rc::ptr_eq(cur, inner)));
    if same {
        return Enter { prev: None };
    }
    let prev = CURRENT.with(|c| c.replace(Some(Rc::clone(inner))));
    Enter { prev: Some(prev) }
}

impl Drop for Enter {
    fn drop(&mut self) {
        if let Some(prev) = self.prev.take() {
            // The replaced value is dropped after the borrow ends.
            let _replaced = CURRENT.with(|c| c.replace(prev));
        }
    }
}
