//! Every syscall of eddy-poll, behind one doorway.
//!
//! One file per backend (`epoll`, `poll`, `select`; the last two share the
//! user-space registration table in `emulated`), plus `eventfd`, `timerfd`,
//! `signalfd`, `net`, and `fd` (the fd inside every eddy source, and the
//! sockets' `FromRawFd`). Syscalls go through rustix; libc only where rustix
//! has no binding (signalfd, the signal mask, `ppoll`) and for the kernel's
//! constants (epoll flags, signal numbers). No other module of the crate
//! names rustix or libc: they call the functions here. Every `unsafe` block
//! of the crate lives under this module, each with a `// SAFETY:` line.
//!
//! The backend contract is the [`Selector`] trait: the compiler checks that
//! each backend gives the same operations with the same signatures, and
//! [`AnySelector`] picks one at run time with a `match` per call (no virtual
//! call; the epoll arm is what the optimizer sees in the hot loop).
//!
//! Error policy, shared by every backend: registering a registered fd is
//! `AlreadyExists`, changing or removing an unregistered one is `NotFound`
//! (epoll says `EEXIST` / `ENOENT`; the emulated table says the same).
//! `EINTR` is *not* retried here: `Poll::poll` retries it, in one place.

use std::io;
use std::os::fd::{BorrowedFd, RawFd};
use std::time::Duration;

use crate::{Events, Interest, Token, Trigger};

pub(crate) mod emulated;
pub(crate) mod epoll;
pub(crate) mod eventfd;
pub(crate) mod fd;
pub(crate) mod net;
pub(crate) mod poll;
pub(crate) mod select;
pub(crate) mod signalfd;
pub(crate) mod timerfd;

/// The raw flag values, as the kernel defines them (`<sys/epoll.h>`): what
/// [`crate::Event`] carries on every backend.
pub(crate) mod flags {
    pub(crate) const IN: u32 = libc::EPOLLIN as u32;
    pub(crate) const PRI: u32 = libc::EPOLLPRI as u32;
    pub(crate) const OUT: u32 = libc::EPOLLOUT as u32;
    pub(crate) const ERR: u32 = libc::EPOLLERR as u32;
    pub(crate) const HUP: u32 = libc::EPOLLHUP as u32;
    pub(crate) const RDHUP: u32 = libc::EPOLLRDHUP as u32;
    /// poll(2)'s `POLLNVAL` (the fd is not open); epoll never reports it.
    pub(crate) const NVAL: u32 = libc::POLLNVAL as u32;
}

/// The kernel's `struct epoll_event`, which [`crate::Event`] wraps.
pub(crate) type RawEvent = rustix::event::epoll::Event;

pub(crate) fn raw_event(token: Token, flags: u32) -> RawEvent {
    RawEvent {
        flags: rustix::event::epoll::EventFlags::from_bits_retain(flags),
        data: rustix::event::epoll::EventData::new_u64(token.0 as u64),
    }
}

pub(crate) fn raw_token(event: &RawEvent) -> usize {
    // `RawEvent` is packed on x86_64: copy the field out before using it.
    let data = event.data;
    data.u64() as usize
}

pub(crate) fn raw_flags(event: &RawEvent) -> u32 {
    let flags = event.flags;
    flags.bits()
}

/// A `Duration` as the kernel's `timespec`, saturating at `i64::MAX` seconds.
pub(crate) fn timespec(d: Duration) -> rustix::time::Timespec {
    rustix::time::Timespec {
        tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(d.subsec_nanos()),
    }
}

/// The backend contract. Every method but `select` may be called from any
/// thread, also while another thread is blocked in `select`, and must take
/// effect without waiting for that thread's timeout.
pub(crate) trait Selector: Sized + Send + Sync {
    /// Opens the backend (and its internal notifier).
    fn new() -> io::Result<Self>;
    /// Starts watching `fd`. `AlreadyExists` if it is watched.
    fn register(&self, fd: BorrowedFd<'_>, token: Token, interest: Interest, trigger: Trigger) -> io::Result<()>;
    /// Replaces token, interest and trigger of a watched `fd` and re-arms a
    /// oneshot. `NotFound` if it is not watched.
    fn reregister(&self, fd: BorrowedFd<'_>, token: Token, interest: Interest, trigger: Trigger) -> io::Result<()>;
    /// Stops watching `fd`; no event of it is reported afterwards.
    /// `NotFound` if it is not watched.
    fn deregister(&self, fd: BorrowedFd<'_>) -> io::Result<()>;
    /// Waits up to `timeout` (`None`: forever) and fills `events` (cleared
    /// first) with at most its capacity. One attempt: `EINTR` is returned.
    fn select(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()>;
    /// Makes a blocked (or the next) `select` return. Coalesces.
    fn notify(&self) -> io::Result<()>;
    /// Like `register`, but only one of the pollers that watch the same file
    /// this way is woken per event (`EPOLLEXCLUSIVE`). `Unsupported` on the
    /// backends without it.
    fn register_exclusive(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        trigger: Trigger,
    ) -> io::Result<()> {
        let _ = (fd, token, interest, trigger);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "exclusive wake-ups (EPOLLEXCLUSIVE) exist only on the epoll backend",
        ))
    }
}

/// Which direction an operation that returned `WouldBlock` worked in.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Dir {
    Read,
    Write,
    /// Either: a caller's own operation (`try_io`), whose direction eddy
    /// can't see.
    Both,
}

/// An eddy source's operation on `fd` in `dir` failed with `e`: if it is
/// `WouldBlock`, an emulated `Edge` registration of `fd` waits for that
/// direction again. What only the source sees, told to the backends that
/// emulate triggers in user space; in a process with no emulated poller, one
/// atomic load (before the error's kind is even looked at).
#[inline]
pub(crate) fn after_error(fd: RawFd, dir: Dir, e: &io::Error) {
    if emulated::any() && e.kind() == io::ErrorKind::WouldBlock {
        let d = match dir {
            Dir::Read => emulated::READ | emulated::PRI,
            Dir::Write => emulated::WRITE,
            Dir::Both => emulated::READ | emulated::PRI | emulated::WRITE,
        };
        emulated::would_block(fd, d);
    }
}

/// The backend chosen when the `Poll` was created.
pub(crate) enum AnySelector {
    Epoll(epoll::Selector),
    Poll(emulated::Selector<poll::Wait>),
    Select(emulated::Selector<select::Wait>),
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            AnySelector::Epoll($s) => $e,
            AnySelector::Poll($s) => $e,
            AnySelector::Select($s) => $e,
        }
    };
}

impl AnySelector {
    pub(crate) fn new(backend: crate::Backend) -> io::Result<AnySelector> {
        Ok(match backend {
            crate::Backend::Epoll => AnySelector::Epoll(epoll::Selector::new()?),
            crate::Backend::Poll => AnySelector::Poll(emulated::Selector::new()?),
            crate::Backend::Select => AnySelector::Select(emulated::Selector::new()?),
        })
    }

    pub(crate) fn register(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        trigger: Trigger,
    ) -> io::Result<()> {
        dispatch!(self, s => s.register(fd, token, interest, trigger))
    }

    pub(crate) fn register_exclusive(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        trigger: Trigger,
    ) -> io::Result<()> {
        dispatch!(self, s => s.register_exclusive(fd, token, interest, trigger))
    }

    pub(crate) fn reregister(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        trigger: Trigger,
    ) -> io::Result<()> {
        dispatch!(self, s => s.reregister(fd, token, interest, trigger))
    }

    pub(crate) fn deregister(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        dispatch!(self, s => s.deregister(fd))
    }

    #[inline]
    pub(crate) fn select(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        dispatch!(self, s => s.select(events, timeout))
    }

    pub(crate) fn notify(&self) -> io::Result<()> {
        dispatch!(self, s => s.notify())
    }
}

// SAFETY: an `Event` holds only a `u32` of flags and a `u64` token: rustix's
// `EventData` is a union that *may* hold a pointer, which makes it neither
// `Send` nor `Sync`, but eddy only ever stores an integer in it.
unsafe impl Send for crate::Event {}
// SAFETY: as above; an `Event` is plain data, never mutated through `&`.
unsafe impl Sync for crate::Event {}
