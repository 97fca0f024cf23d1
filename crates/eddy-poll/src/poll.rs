//! [`Poll`], the demultiplexer, and [`Registry`], its `Send + Sync` handle.
//!
//! `Poll` owns the backend and is the only one that waits (`poll` takes
//! `&mut self`). `Registry` is a cheap clone (an `Arc`) that registers,
//! reregisters and deregisters from any thread, also while another thread is
//! blocked in `poll`: on epoll the kernel sees the change at once; on the
//! emulated backends the change wakes the blocked wait, which then waits on
//! the new set.
//!
//! One wait is: the backend's wait (kernel events), then the user-space
//! readiness queue (user sources and wakers) into the room left. When the
//! kernel's events left no room for queued user-space readiness, the next
//! wait reports that readiness first, without a kernel wait, so neither
//! side starves the other in a small `Events`. `EINTR` is
//! retried here, and only here, with the time already waited subtracted, so
//! a signal neither ends a wait early nor lengthens it.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::sys::AnySelector;
use crate::user::Queue;
use crate::{Events, Interest, Source, Token, Trigger};

/// Which syscall a [`Poll`] waits with.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Backend {
    /// epoll(7): the kernel keeps the interest list; a wait costs O(ready),
    /// whatever the number of registrations. Every trigger mode is native.
    #[default]
    Epoll,
    /// poll(2): the whole fd array is passed on every wait, O(registered).
    /// Level triggering only; the others are emulated (see [`Trigger`]).
    Poll,
    /// select(2): three bit sets of `FD_SETSIZE` (1024) bits; fds at or above
    /// 1024 are refused. O(highest fd) per wait. Emulated triggers as for
    /// `Poll`; events carry only readable / writable / priority.
    Select,
}

impl Backend {
    /// Every backend, epoll first.
    pub const ALL: [Backend; 3] = [Backend::Epoll, Backend::Poll, Backend::Select];

    /// The lowercase name: `epoll`, `poll` or `select`.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Epoll => "epoll",
            Backend::Poll => "poll",
            Backend::Select => "select",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = io::Error;
    fn from_str(s: &str) -> io::Result<Backend> {
        Backend::ALL.into_iter().find(|b| b.name() == s).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("unknown backend {s:?}: use epoll, poll or select"))
        })
    }
}

/// What `Poll` and every `Registry` clone share.
pub(crate) struct Shared {
    pub(crate) selector: AnySelector,
    /// User-space readiness (user sources, wakers) waiting to be reported.
    pub(crate) user: Queue,
    backend: Backend,
}

/// The demultiplexer: waits for readiness on everything registered with its
/// [`Registry`]. `Send`: it may be built on one thread and wait on another.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use eddy_poll::{Events, Poll};
///
/// let mut poll = Poll::new()?;
/// let mut events = Events::with_capacity(64);
/// // Nothing registered: the wait times out with no event.
/// poll.poll(&mut events, Some(Duration::from_millis(1)))?;
/// assert!(events.is_empty());
/// # std::io::Result::Ok(())
/// ```
pub struct Poll {
    registry: Registry,
    /// The last wait's kernel events left no room for queued user-space
    /// readiness: the next wait reports that first.
    user_first: bool,
}

impl Poll {
    /// A poller on epoll.
    ///
    /// # Errors
    ///
    /// The process is out of file descriptors (`EMFILE`) or memory.
    pub fn new() -> io::Result<Poll> {
        Poll::with_backend(Backend::Epoll)
    }

    /// A poller on the given backend.
    ///
    /// # Errors
    ///
    /// As [`Poll::new`]; with `Select`, `InvalidInput` if the internal
    /// notifier's fd would be at or above `FD_SETSIZE`.
    pub fn with_backend(backend: Backend) -> io::Result<Poll> {
        let selector = AnySelector::new(backend)?;
        let shared = Shared { selector, user: Queue::new(), backend };
        Ok(Poll { registry: Registry { shared: Arc::new(shared) }, user_first: false })
    }

    /// The backend this poller waits with.
    pub fn backend(&self) -> Backend {
        self.registry.shared.backend
    }

    /// The handle to register sources with; clone it for other threads.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Waits until a registration is ready or `timeout` passes (`None`:
    /// forever; zero: returns at once), and fills `events` with at most its
    /// capacity. A timeout never ends early; a sub-millisecond one sleeps
    /// about a millisecond on epoll (the syscall's unit) and never spins.
    ///
    /// `events` may be empty on return: the timeout passed, or a wake-up
    /// found nothing left to report (the kernel allows such spurious
    /// wake-ups; callers must tolerate them).
    ///
    /// # Errors
    ///
    /// Whatever the wait syscall reports other than `EINTR`, which is
    /// retried here. With select, `EBADF` if a registered fd was closed
    /// without being deregistered.
    pub fn poll(&mut self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        let shared = &*self.registry.shared;
        if std::mem::take(&mut self.user_first) {
            events.clear();
            shared.user.collect(events);
            if !events.is_empty() {
                return Ok(());
            }
        }
        // Only an EINTR needs the start time. It is the precise clock: the
        // coarse one lags it by more than its resolution after an idle spell
        // (NO_HZ_IDLE; measured: up to 5.8 ms with 4 ms ticks), which would
        // end a retried wait early.
        let start = match timeout {
            Some(t) if !t.is_zero() => Some(std::time::Instant::now()),
            _ => None,
        };
        let mut left = timeout;
        loop {
            let wait = if shared.user.has_pending() { Some(Duration::ZERO) } else { left };
            match shared.selector.select(events, wait) {
                Ok(()) => break,
                // The one place EINTR is retried: wait again for what is left.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    if let (Some(t), Some(start)) = (timeout, start) {
                        left = Some(t.saturating_sub(start.elapsed()));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        shared.user.collect(events);
        self.user_first = events.remaining() == 0 && shared.user.has_pending();
        Ok(())
    }
}

impl std::fmt::Debug for Poll {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poll").field("backend", &self.backend()).finish()
    }
}

/// Registers sources with a [`Poll`]; `Clone + Send + Sync`.
///
/// Errors are the same on every backend: registering a registered source is
/// `AlreadyExists`; reregistering or deregistering one that is not
/// registered is `NotFound`; [`Token::RESERVED`] is `InvalidInput`.
#[derive(Clone)]
pub struct Registry {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) fn check_token(token: Token) -> io::Result<()> {
    if token == Token::RESERVED {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "Token(usize::MAX) is reserved for eddy's internal notifier",
        ));
    }
    Ok(())
}

impl Registry {
    /// Starts watching `source` for `interest`, reported as `trigger` says,
    /// in events carrying `token`.
    ///
    /// # Errors
    ///
    /// `AlreadyExists` if it is registered; `InvalidInput` for
    /// [`Token::RESERVED`], or on select for an fd at or above `FD_SETSIZE`;
    /// what the kernel says (`EPERM` for a file epoll cannot watch).
    pub fn register<S: Source + ?Sized>(
        &self,
        source: &mut S,
        token: Token,
        interest: Interest,
        trigger: Trigger,
    ) -> io::Result<()> {
        source.register(self, token, interest, trigger)
    }

    /// Replaces the token, interest and trigger of a registered source, and
    /// re-arms a oneshot registration. A source that is ready now is
    /// reported at the next wait, whatever the trigger.
    ///
    /// # Errors
    ///
    /// `NotFound` if it is not registered.
    pub fn reregister<S: Source + ?Sized>(
        &self,
        source: &mut S,
        token: Token,
        interest: Interest,
        trigger: Trigger,
    ) -> io::Result<()> {
        source.reregister(self, token, interest, trigger)
    }

    /// Stops watching `source`. No event of it is reported by any later
    /// wait, even if it was ready in the kernel already (events already
    /// returned in an `Events` are the caller's to skip).
    ///
    /// # Errors
    ///
    /// `NotFound` if it is not registered.
    pub fn deregister<S: Source + ?Sized>(&self, source: &mut S) -> io::Result<()> {
        source.deregister(self)
    }

    /// Registers `source` so that, among all the pollers that watch the same
    /// file this way, only one is woken per event (`EPOLLEXCLUSIVE`): one
    /// listener shared by several event loops without a thundering herd. Such
    /// a registration can't be reregistered (the kernel refuses); deregister
    /// it and register again. It reports no read-closed bit: the kernel
    /// accepts only `EPOLLIN`, `EPOLLOUT`, `EPOLLERR`, `EPOLLHUP` and
    /// `EPOLLET` beside `EPOLLEXCLUSIVE`, so eddy leaves out the `EPOLLRDHUP`
    /// it adds to other readable interests.
    ///
    /// # Errors
    ///
    /// `Unsupported` on poll and select; `InvalidInput` with a oneshot
    /// trigger or a priority interest; `AlreadyExists` as for
    /// [`register`](Registry::register).
    pub fn register_exclusive(
        &self,
        source: &impl AsFd,
        token: Token,
        interest: Interest,
        trigger: Trigger,
    ) -> io::Result<()> {
        check_token(token)?;
        self.shared.selector.register_exclusive(source.as_fd(), token, interest, trigger)
    }

    /// The backend of the `Poll` this registry belongs to.
    pub fn backend(&self) -> Backend {
        self.shared.backend
    }

    /// Whether `self` and `other` register with the same `Poll`.
    pub fn same_poll(&self, other: &Registry) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    pub(crate) fn register_fd(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        trigger: Trigger,
    ) -> io::Result<()> {
        check_token(token)?;
        self.shared.selector.register(fd, token, interest, trigger)
    }

    pub(crate) fn reregister_fd(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        trigger: Trigger,
    ) -> io::Result<()> {
        check_token(token)?;
        self.shared.selector.reregister(fd, token, interest, trigger)
    }

    pub(crate) fn deregister_fd(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        self.shared.selector.deregister(fd)
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("backend", &self.backend()).finish()
    }
}
