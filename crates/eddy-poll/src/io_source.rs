//! [`IoSource`]: the fd inside every eddy socket, timer and signal source.
//!
//! It does two things the fd alone can't:
//!
//! - on the emulated backends (poll, select), it re-arms an `Edge`
//!   registration when an operation returns `WouldBlock` (the emulation is
//!   described in `sys::emulated`), through [`IoSource::do_io`];
//! - on those backends, it removes its registration from the table when
//!   dropped, as epoll does by itself when the fd is closed.
//!
//! It keeps no handle to the backend for either: the emulated tables are
//! found by fd number through the process's list of them (`sys::emulated`).
//! So an `IoSource` is the fd and nothing else, 4 bytes, and on epoll both
//! are one atomic load (a `WouldBlock`, a close) that finds no emulated
//! poller.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

pub(crate) use crate::sys::Dir;
use crate::sys::fd::Fd;
use crate::{Interest, Registry, Token, Trigger};

#[derive(Debug)]
pub(crate) struct IoSource {
    fd: Fd,
}

// What every eddy socket is: the fd, nothing more (the reactor's memory per
// idle connection counts on it).
const _: () = assert!(size_of::<IoSource>() == size_of::<OwnedFd>());

impl IoSource {
    pub(crate) fn new(fd: OwnedFd) -> IoSource {
        IoSource { fd: Fd::new(fd) }
    }

    /// Runs one operation; on `WouldBlock`, re-arms an emulated edge.
    #[inline]
    pub(crate) fn do_io<R>(&self, dir: Dir, op: impl FnOnce(BorrowedFd<'_>) -> io::Result<R>) -> io::Result<R> {
        let fd = self.fd.as_fd();
        let result = op(fd);
        if let Err(e) = &result {
            crate::sys::after_error(fd.as_raw_fd(), dir, e);
        }
        result
    }

    /// The fd, after the emulated backends forgot it.
    pub(crate) fn into_fd(self) -> OwnedFd {
        self.fd.into_owned()
    }

    pub(crate) fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
        trigger: Trigger,
    ) -> io::Result<()> {
        registry.register_fd(self.fd.as_fd(), token, interest, trigger)
    }

    pub(crate) fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
        trigger: Trigger,
    ) -> io::Result<()> {
        registry.reregister_fd(self.fd.as_fd(), token, interest, trigger)
    }

    pub(crate) fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        registry.deregister_fd(self.fd.as_fd())
    }
}

impl AsFd for IoSource {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Implements [`Source`](crate::Source), `AsFd` and `AsRawFd` for a type
/// with an `io: IoSource` field.
macro_rules! impl_source {
    ($ty:ty) => {
        impl $crate::Source for $ty {
            fn register(
                &mut self,
                registry: &$crate::Registry,
                token: $crate::Token,
                interest: $crate::Interest,
                trigger: $crate::Trigger,
            ) -> std::io::Result<()> {
                self.io.register(registry, token, interest, trigger)
            }

            fn reregister(
                &mut self,
                registry: &$crate::Registry,
                token: $crate::Token,
                interest: $crate::Interest,
                trigger: $crate::Trigger,
            ) -> std::io::Result<()> {
                self.io.reregister(registry, token, interest, trigger)
            }

            fn deregister(&mut self, registry: &$crate::Registry) -> std::io::Result<()> {
                self.io.deregister(registry)
            }
        }

        impl std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.io.as_fd()
            }
        }

        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                use std::os::fd::AsFd;
                self.io.as_fd().as_raw_fd()
            }
        }
    };
}
pub(crate) use impl_source;

/// The fd conversions of a socket type with an `io: IoSource` field, beside
/// its `From<Self> for OwnedFd`: `From<OwnedFd>` and `IntoRawFd` (its
/// `FromRawFd`, an `unsafe fn`, is in `sys::fd`).
macro_rules! impl_socket_fd {
    ($ty:ident) => {
        impl From<std::os::fd::OwnedFd> for $ty {
            /// Takes ownership of `fd` as it is: it must be a socket of this
            /// type's family and type, in non-blocking mode (as mio's
            /// conversions, no syscall is made; `from_std` sets the mode).
            fn from(fd: std::os::fd::OwnedFd) -> $ty {
                $ty { io: $crate::io_source::IoSource::new(fd) }
            }
        }

        impl std::os::fd::IntoRawFd for $ty {
            /// Gives up the fd (the emulated backends forget its
            /// registration first, as when the socket is dropped).
            fn into_raw_fd(self) -> std::os::fd::RawFd {
                std::os::fd::OwnedFd::from(self).into_raw_fd()
            }
        }
    };
}
pub(crate) use impl_socket_fd;
