//! [`Event`] and [`Events`]: what a wait reports; and [`Source`], what can be
//! registered.
//!
//! An `Event` is `#[repr(transparent)]` over the kernel's `struct epoll_event`
//! (12 bytes on x86_64), so the epoll backend writes events straight into the
//! caller's [`Events`] and iterating them copies nothing. The poll(2) and
//! select(2) backends build the same struct: poll's `revents` bits have the
//! same values as epoll's (`POLLIN == EPOLLIN`, ...), and select's three sets
//! become `EPOLLIN`, `EPOLLOUT` and `EPOLLPRI`. So [`Event::raw`] always shows
//! epoll-style flags, whatever the backend.
//!
//! The module path is mio's (`mio::event::{Event, Events, Source}`), for
//! code ported from it; the same types are at the crate's root too.

use std::fmt;

pub use crate::source::Source;

use crate::Token;
use crate::sys::{RawEvent, flags};

/// One readiness report: which registration, and what it is ready for.
/// Plain data: `Copy`, `Send + Sync`.
///
/// The accessors read the flags the way the kernel means them; [`raw`]
/// (`Event::raw`) gives the flags themselves, for teaching and debugging.
///
/// | accessor           | epoll / poll flags                         | select          |
/// |--------------------|--------------------------------------------|-----------------|
/// | `is_readable`      | `EPOLLIN`                                  | in read set     |
/// | `is_writable`      | `EPOLLOUT`                                 | in write set    |
/// | `is_priority`      | `EPOLLPRI`                                 | in except set   |
/// | `is_read_closed`   | `EPOLLRDHUP` or `EPOLLHUP`                 | never           |
/// | `is_write_closed`  | `EPOLLHUP`, or `EPOLLERR` (the socket can't send) | never    |
/// | `is_error`         | `EPOLLERR` (or poll's `POLLNVAL`)          | never           |
///
/// select(2) cannot tell a closed or failed socket from a ready one: it marks
/// it readable (a read returns 0 or the error) and writable; use
/// `take_error` and the read's result.
///
/// [`raw`]: Event::raw
#[derive(Copy, Clone)]
#[repr(transparent)]
pub struct Event(pub(crate) RawEvent);

impl Event {
    pub(crate) fn new(token: Token, raw: u32) -> Event {
        Event(crate::sys::raw_event(token, raw))
    }

    /// The token the registration was made with.
    #[inline]
    pub fn token(&self) -> Token {
        Token(crate::sys::raw_token(&self.0))
    }

    /// The raw epoll-style flags (`EPOLLIN` = 0x1, `EPOLLPRI` = 0x2,
    /// `EPOLLOUT` = 0x4, `EPOLLERR` = 0x8, `EPOLLHUP` = 0x10,
    /// `EPOLLRDHUP` = 0x2000).
    #[inline]
    pub fn raw(&self) -> u32 {
        crate::sys::raw_flags(&self.0)
    }

    /// Data (or a connection, for a listener) can be read; also set at a
    /// peer's FIN, where the read returns 0.
    #[inline]
    pub fn is_readable(&self) -> bool {
        self.raw() & flags::IN != 0
    }

    /// Writing would not block; also reported when a connect completes or
    /// fails.
    #[inline]
    pub fn is_writable(&self) -> bool {
        self.raw() & flags::OUT != 0
    }

    /// Priority data (TCP urgent data) is waiting.
    #[inline]
    pub fn is_priority(&self) -> bool {
        self.raw() & flags::PRI != 0
    }

    /// The peer will send nothing more (it shut down writing, closed, or
    /// reset): reads return what is buffered, then 0 or the error.
    #[inline]
    pub fn is_read_closed(&self) -> bool {
        self.raw() & (flags::RDHUP | flags::HUP) != 0
    }

    /// Nothing more can be sent: both directions are shut (`EPOLLHUP`) or
    /// the socket has an error.
    #[inline]
    pub fn is_write_closed(&self) -> bool {
        self.raw() & (flags::HUP | flags::ERR) != 0
    }

    /// The file has a pending error (`EPOLLERR`): `take_error` returns it.
    #[inline]
    pub fn is_error(&self) -> bool {
        self.raw() & (flags::ERR | flags::NVAL) != 0
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("token", &self.token())
            .field("raw", &format_args!("{:#x} ({})", self.raw(), FlagNames(self.raw())))
            .finish()
    }
}

/// Prints raw epoll flags by name: `IN|OUT|RDHUP`.
#[derive(Copy, Clone)]
pub struct FlagNames(pub u32);

impl fmt::Display for FlagNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (flags::IN, "IN"),
            (flags::PRI, "PRI"),
            (flags::OUT, "OUT"),
            (flags::ERR, "ERR"),
            (flags::HUP, "HUP"),
            (flags::NVAL, "NVAL"),
            (flags::RDHUP, "RDHUP"),
        ];
        let mut sep = "";
        let mut rest = self.0;
        for (bit, name) in names {
            if self.0 & bit != 0 {
                write!(f, "{sep}{name}")?;
                sep = "|";
                rest &= !bit;
            }
        }
        if rest != 0 {
            write!(f, "{sep}{rest:#x}")?;
        } else if sep.is_empty() {
            f.write_str("0")?;
        }
        Ok(())
    }
}

/// A reusable buffer of events filled by [`Poll::poll`](crate::Poll::poll);
/// `Send + Sync`.
///
/// Its capacity bounds how many events one wait returns; the rest stay
/// queued in the kernel (epoll's ready list, rotated so that every ready
/// registration gets its turn) or in eddy (poll, select and user sources,
/// which resume where the last wait stopped).
///
/// # Examples
///
/// ```
/// use eddy_poll::Events;
/// let events = Events::with_capacity(256);
/// assert!(events.is_empty());
/// assert_eq!(events.capacity(), 256);
/// ```
pub struct Events {
    pub(crate) list: Vec<Event>,
}

impl Events {
    /// A buffer for at most `capacity` events per wait (at least 1: a zero
    /// capacity is raised to 1, since a wait that may return nothing is
    /// useless).
    pub fn with_capacity(capacity: usize) -> Events {
        Events { list: Vec::with_capacity(capacity.max(1)) }
    }

    /// The most events one wait can return.
    pub fn capacity(&self) -> usize {
        self.list.capacity()
    }

    /// How many events the last wait returned.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the last wait returned no event (a timeout).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The events of the last wait.
    pub fn iter(&self) -> std::slice::Iter<'_, Event> {
        self.list.iter()
    }

    /// Forgets the events (the next wait does this itself).
    pub fn clear(&mut self) {
        self.list.clear();
    }

    /// Room left for events in this wait.
    pub(crate) fn remaining(&self) -> usize {
        self.list.capacity() - self.list.len()
    }
}

impl<'a> IntoIterator for &'a Events {
    type Item = &'a Event;
    type IntoIter = std::slice::Iter<'a, Event>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}
