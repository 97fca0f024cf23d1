//! The epoll backend: the kernel keeps the interest list and does every
//! trigger mode itself.
//!
//! Each method is one syscall. `select` writes the kernel's events straight
//! into the caller's `Events` (no copy) and removes the event of the internal
//! notifier, if any, before returning.
//!
//! Timeouts: rustix rounds a timeout up to whole milliseconds for
//! `epoll_pwait` (or uses `epoll_pwait2` with nanoseconds where the timeout
//! does not fit), so a wait never ends before its timeout, and a sub-
//! millisecond timeout sleeps about 1 ms rather than spinning.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use rustix::event::epoll::{self, CreateFlags, EventData, EventFlags};

use super::eventfd::Notifier;
use super::{RawEvent, timespec};
use crate::{Event, Events, Interest, Token, Trigger};

pub(crate) struct Selector {
    ep: OwnedFd,
    /// Wakes a blocked `epoll_wait`; registered edge-triggered with
    /// `Token::RESERVED`, never drained (see `eventfd`).
    notifier: Notifier,
}

/// The `epoll_event.events` bits for an interest and a trigger. Every
/// readable interest also asks for `EPOLLRDHUP`, so a peer's half-close is
/// reported (`register_exclusive` takes it out again: the kernel refuses
/// it beside `EPOLLEXCLUSIVE`).
pub(crate) fn flags(interest: Interest, trigger: Trigger) -> EventFlags {
    let mut f = EventFlags::empty();
    if interest.is_readable() {
        f |= EventFlags::IN | EventFlags::RDHUP;
    }
    if interest.is_writable() {
        f |= EventFlags::OUT;
    }
    if interest.is_priority() {
        f |= EventFlags::PRI;
    }
    match trigger {
        Trigger::Level => {}
        Trigger::Edge => f |= EventFlags::ET,
        Trigger::Oneshot => f |= EventFlags::ONESHOT,
        Trigger::EdgeOneshot => f |= EventFlags::ET | EventFlags::ONESHOT,
    }
    f
}

fn data(token: Token) -> EventData {
    EventData::new_u64(token.0 as u64)
}

impl super::Selector for Selector {
    fn new() -> io::Result<Selector> {
        let ep = epoll::create(CreateFlags::CLOEXEC)?;
        let notifier = Notifier::new()?;
        epoll::add(&ep, &notifier, data(Token::RESERVED), EventFlags::IN | EventFlags::ET)?;
        Ok(Selector { ep, notifier })
    }

    fn register(&self, fd: BorrowedFd<'_>, token: Token, interest: Interest, trigger: Trigger) -> io::Result<()> {
        Ok(epoll::add(&self.ep, fd, data(token), flags(interest, trigger))?)
    }

    fn register_exclusive(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        trigger: Trigger,
    ) -> io::Result<()> {
        if trigger.is_oneshot() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "EPOLLEXCLUSIVE cannot be combined with a oneshot trigger",
            ));
        }
        let f = flags(interest, trigger).difference(EventFlags::RDHUP) | EventFlags::EXCLUSIVE;
        Ok(epoll::add(&self.ep, fd, data(token), f)?)
    }

    fn reregister(&self, fd: BorrowedFd<'_>, token: Token, interest: Interest, trigger: Trigger) -> io::Result<()> {
        Ok(epoll::modify(&self.ep, fd, data(token), flags(interest, trigger))?)
    }

    fn deregister(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        Ok(epoll::delete(&self.ep, fd)?)
    }

    fn select(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        let list = &mut events.list;
        list.clear();
        let ts = timeout.map(timespec);
        let spare: &mut [MaybeUninit<Event>] = list.spare_capacity_mut();
        // SAFETY: `Event` is `#[repr(transparent)]` over `RawEvent`, so a
        // slice of one is a valid slice of the other, same length and layout.
        let spare: &mut [MaybeUninit<RawEvent>] =
            unsafe { &mut *(std::ptr::from_mut(spare) as *mut [MaybeUninit<RawEvent>]) };
        let (filled, _) = epoll::wait(&self.ep, spare, ts.as_ref())?;
        let n = filled.len();
        // SAFETY: `epoll::wait` initialized the first `n` slots of the spare
        // capacity, and `n` is at most the capacity.
        unsafe { list.set_len(n) };
        if let Some(i) = list.iter().position(|e| e.token() == Token::RESERVED) {
            // The notifier only wakes the wait; user-space readiness is
            // collected by `Poll` after this returns.
            list.swap_remove(i);
        }
        Ok(())
    }

    fn notify(&self) -> io::Result<()> {
        self.notifier.notify()
    }
}

impl AsFd for Selector {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.ep.as_fd()
    }
}
