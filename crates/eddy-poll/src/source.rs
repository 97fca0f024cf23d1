//! [`Source`]: anything a [`Registry`] can watch, and [`SourceFd`], the
//! doorway for a file descriptor eddy does not own.
//!
//! eddy's own types (sockets, [`Timer`](crate::Timer),
//! [`Signals`](crate::Signals), [`Registration`](crate::Registration))
//! implement `Source`; callers use them through `Registry`'s methods, which
//! forward here. A `Source` impl for a type of yours usually forwards to a
//! `SourceFd` of its fd.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use crate::{Interest, Registry, Token, Trigger};

/// A thing that can be registered with a [`Registry`].
pub trait Source {
    /// See [`Registry::register`].
    ///
    /// # Errors
    ///
    /// See [`Registry::register`].
    fn register(&mut self, registry: &Registry, token: Token, interest: Interest, trigger: Trigger) -> io::Result<()>;

    /// See [`Registry::reregister`].
    ///
    /// # Errors
    ///
    /// See [`Registry::reregister`].
    fn reregister(&mut self, registry: &Registry, token: Token, interest: Interest, trigger: Trigger)
    -> io::Result<()>;

    /// See [`Registry::deregister`].
    ///
    /// # Errors
    ///
    /// See [`Registry::deregister`].
    fn deregister(&mut self, registry: &Registry) -> io::Result<()>;
}

/// Registers a file descriptor eddy does not own (a pipe, a tty, an fd from
/// another library).
///
/// On the poll and select backends, the registration is kept by fd number:
/// deregister it before closing the fd (epoll forgets a closed fd by itself),
/// and an `Edge` registration is re-armed only by `reregister`, since eddy
/// cannot see this fd's `WouldBlock` (see [`Trigger::Edge`]).
///
/// # Examples
///
/// ```
/// use std::os::fd::AsFd;
/// use eddy_poll::{Interest, Poll, SourceFd, Token, Trigger};
///
/// let poll = Poll::new()?;
/// let (reader, _writer) = std::io::pipe()?;
/// poll.registry().register(&mut SourceFd(reader.as_fd()), Token(1), Interest::READABLE, Trigger::Level)?;
/// poll.registry().deregister(&mut SourceFd(reader.as_fd()))?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct SourceFd<'a>(pub BorrowedFd<'a>);

impl Source for SourceFd<'_> {
    fn register(&mut self, registry: &Registry, token: Token, interest: Interest, trigger: Trigger) -> io::Result<()> {
        registry.register_fd(self.0, token, interest, trigger)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
        trigger: Trigger,
    ) -> io::Result<()> {
        registry.reregister_fd(self.0, token, interest, trigger)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        registry.deregister_fd(self.0)
    }
}

impl AsFd for SourceFd<'_> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0
    }
}

/// A boxed source registers as the source inside it (as in mio), so a
/// `Vec<Box<dyn Source>>` of mixed sources can be registered.
impl<T: Source + ?Sized> Source for Box<T> {
    fn register(&mut self, registry: &Registry, token: Token, interest: Interest, trigger: Trigger) -> io::Result<()> {
        (**self).register(registry, token, interest, trigger)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
        trigger: Trigger,
    ) -> io::Result<()> {
        (**self).reregister(registry, token, interest, trigger)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        (**self).deregister(registry)
    }
}

/// A mutable reference registers as the source it points to, so a generic
/// `S: Source` can be given a borrowed source.
impl<T: Source + ?Sized> Source for &mut T {
    fn register(&mut self, registry: &Registry, token: Token, interest: Interest, trigger: Trigger) -> io::Result<()> {
        (**self).register(registry, token, interest, trigger)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
        trigger: Trigger,
    ) -> io::Result<()> {
        (**self).reregister(registry, token, interest, trigger)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        (**self).deregister(registry)
    }
}
