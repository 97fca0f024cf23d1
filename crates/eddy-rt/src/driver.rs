//! The I/O driver: turns the loop's events into wakes of the tasks that
//! wait on each direction of each registration.
//!
//! A socket is registered once, edge-triggered, for reading and writing
//! (no `epoll_ctl` in the steady state; on poll and select, eddy-poll
//! emulates the edge). Its slot ([`IoSlot`]) keeps the readiness the
//! events reported, a tick counting them, and one waiting task per
//! direction.
//!
//! An operation tries the syscall when the slot says the direction may be
//! ready (initially both are: a fresh socket is tried first, as Go does),
//! and parks only on `WouldBlock`. Clearing the readiness after that
//! `WouldBlock` happens only if no event arrived since the readiness was
//! read (the tick is unchanged): an event that lands between the syscall
//! and the clear is not lost (the tokio#6133 class of lost wakeup).
//! Read-closed, write-closed and error are never cleared and wake both
//! directions.

use std::io;
use std::task::{Context, Poll, Waker};

use eddy_poll::{Event, Interest, Registry, Source, Token, Trigger};
use eddy_reactor::loop_core;

use crate::context::{self, Inner, Message};
use crate::coop;
use crate::slab::Id;

const READABLE: u8 = 1;
const WRITABLE: u8 = 2;
const READ_CLOSED: u8 = 4;
const WRITE_CLOSED: u8 = 8;
const ERROR: u8 = 16;
const FINAL: u8 = READ_CLOSED | WRITE_CLOSED | ERROR;

/// A direction of I/O.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    fn ready_mask(self) -> u8 {
        match self {
            Direction::Read => READABLE | FINAL,
            Direction::Write => WRITABLE | FINAL,
        }
    }

    fn clear_mask(self) -> u8 {
        match self {
            Direction::Read => READABLE,
            Direction::Write => WRITABLE,
        }
    }
}

/// One registration's state.
pub(crate) struct IoSlot {
    ready: u8,
    /// Events recorded so far (wrapping).
    tick: u32,
    reader: Option<Waker>,
    writer: Option<Waker>,
}

/// The readiness an operation acted on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadyEvent {
    tick: u32,
}

/// An event for one of this runtime's registrations.
pub(crate) fn dispatch(inner: &Inner, token: Token, event: &Event) {
    let (index, generation) = loop_core::slot_of(token);
    let (reader, writer) = {
        let mut io = inner.io.borrow_mut();
        let Some(slot) = io.get_mut(Id { index, generation }) else { return };
        let mut bits = 0;
        if event.is_readable() {
            bits |= READABLE;
        }
        if event.is_writable() {
            bits |= WRITABLE;
        }
        if event.is_read_closed() {
            bits |= READ_CLOSED;
        }
        if event.is_write_closed() {
            bits |= WRITE_CLOSED;
        }
        if event.is_error() {
            bits |= ERROR;
        }
        slot.ready |= bits;
        slot.tick = slot.tick.wrapping_add(1);
        let both = bits & FINAL != 0;
        let r = if both || bits & READABLE != 0 { slot.reader.take() } else { None };
        let w = if both || bits & WRITABLE != 0 { slot.writer.take() } else { None };
        (r, w)
    };
    // Woken outside the borrow.
    if let Some(w) = reader {
        w.wake();
    }
    if let Some(w) = writer {
        w.wake();
    }
}

/// A source's registration with the current runtime: its slot, freed on
/// drop. The owner deregisters the source (with [`Registration::deregister`])
/// before closing it.
pub(crate) struct Registration {
    id: Id,
    runtime: u64,
    registry: Registry,
    remote: std::sync::Arc<crate::context::Remote>,
}

impl Registration {
    /// Registers `source` with the current runtime, edge-triggered for
    /// both directions.
    pub(crate) fn new(source: &mut impl Source) -> io::Result<Registration> {
        let made = context::with_current(|inner| {
            let slot = IoSlot { ready: READABLE | WRITABLE, tick: 0, reader: None, writer: None };
            let id = inner
                .io
                .borrow_mut()
                .insert(slot, loop_core::MAX_INDEX)
                .ok_or_else(|| io::Error::other("the runtime holds as many registrations as it can name"))?;
            let token = loop_core::token(inner.kind, id.index, id.generation);
            if let Err(e) =
                inner.registry.register(source, token, Interest::READABLE | Interest::WRITABLE, Trigger::Edge)
            {
                // Transactional: no slot outlives a failed registration.
                inner.io.borrow_mut().remove(id);
                return Err(e);
            }
            Ok(Registration {
                id,
                runtime: inner.id,
                registry: inner.registry.clone(),
                remote: std::sync::Arc::clone(&inner.remote),
            })
        });
        made.unwrap_or_else(|| Err(context::outside("registering a socket")))
    }

    /// Deregisters `source` (before it is closed).
    pub(crate) fn deregister(&self, source: &mut impl Source) -> io::Result<()> {
        self.registry.deregister(source)
    }

    /// Ready when the direction may be ready (`ReadyEvent` to clear it
    /// with); else the task's waker is kept for the direction.
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<io::Result<ReadyEvent>> {
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let polled = context::with_runtime(self.runtime, |inner| {
            let mut io = inner.io.borrow_mut();
            let Some(slot) = io.get_mut(self.id) else {
                return Poll::Ready(Err(io::Error::other("the socket's registration is gone")));
            };
            if slot.ready & dir.ready_mask() != 0 {
                return Poll::Ready(Ok(ReadyEvent { tick: slot.tick }));
            }
            let waiter = match dir {
                Direction::Read => &mut slot.reader,
                Direction::Write => &mut slot.writer,
            };
            if !waiter.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                // The waker replaced is dropped outside the borrow.
                let old = waiter.replace(cx.waker().clone());
                drop(io);
                drop(old);
            }
            Poll::Pending
        });
        match polled {
            Some(Poll::Pending) => {
                coop::refund();
                Poll::Pending
            }
            Some(ready) => ready,
            None => Poll::Ready(Err(context::outside("socket I/O"))),
        }
    }

    /// The operation hit `WouldBlock`: the direction is not ready, unless
    /// an event came since `ev` was read.
    pub(crate) fn clear_readiness(&self, ev: ReadyEvent, dir: Direction) {
        context::with_runtime(self.runtime, |inner| {
            if let Some(slot) = inner.io.borrow_mut().get_mut(self.id) {
                if slot.tick == ev.tick {
                    slot.ready &= !dir.clear_mask();
                }
            }
        });
    }

    /// Runs `op` when the direction is ready, until it does not hit
    /// `WouldBlock` (`EINTR` retried).
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let ev = match self.poll_ready(cx, dir) {
                Poll::Ready(Ok(ev)) => ev,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    coop::refund();
                    self.clear_readiness(ev, dir);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => coop::refund(),
                r => return Poll::Ready(r),
            }
        }
    }

    /// Tries `op` once if the direction may be ready (for `try_read` and
    /// its kin): `WouldBlock` when it is not, or when the kernel says so
    /// (the readiness is then cleared).
    pub(crate) fn try_io<R>(&self, dir: Direction, op: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
        let ev = context::with_runtime(self.runtime, |inner| {
            let mut io = inner.io.borrow_mut();
            let slot = io.get_mut(self.id)?;
            (slot.ready & dir.ready_mask() != 0).then_some(ReadyEvent { tick: slot.tick })
        });
        let Some(ev) = ev.flatten() else { return Err(io::ErrorKind::WouldBlock.into()) };
        let r = op();
        if matches!(&r, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.clear_readiness(ev, dir);
        }
        r
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let freed = context::with_runtime(self.runtime, |inner| inner.io.borrow_mut().remove(self.id));
        match freed {
            // Its wakers (if any) are dropped here, outside the borrow.
            Some(slot) => drop(slot),
            None => self.remote.post(Message::FreeIo(self.id)),
        }
    }
}
