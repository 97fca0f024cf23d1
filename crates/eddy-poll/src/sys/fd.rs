//! [`Fd`]: the owned file descriptor inside every eddy source, which tells
//! the emulated backends when it is about to close; and the sockets'
//! `FromRawFd` (an `unsafe fn` each, so it lives here).
//!
//! The emulated backends (poll, select) keep registrations by fd number, so
//! a registration must leave their tables before its fd closes and the
//! number can be reused. epoll needs nothing: the kernel forgets a closed
//! file itself. The source keeps no handle to the backend for this (that
//! would cost every socket a pointer and more, on epoll too): the tables are
//! found through the process's list of them (`emulated::closing`), which is
//! one atomic load when no emulated poller exists.

use std::mem::ManuallyDrop;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use super::emulated;

/// An owned fd that leaves every emulated backend's table before it closes.
/// As large as the fd: 4 bytes.
#[derive(Debug)]
pub(crate) struct Fd(ManuallyDrop<OwnedFd>);

impl Fd {
    pub(crate) fn new(fd: OwnedFd) -> Fd {
        Fd(ManuallyDrop::new(fd))
    }

    /// The fd itself, after the emulated backends forgot it (as when it is
    /// dropped, so a conversion to `OwnedFd` keeps no stale registration).
    pub(crate) fn into_owned(self) -> OwnedFd {
        emulated::closing(self.0.as_raw_fd());
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped (it is a `ManuallyDrop`), so the
        // `OwnedFd` is taken out exactly once and `Fd::drop` does not run.
        unsafe { ManuallyDrop::take(&mut this.0) }
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        emulated::closing(self.0.as_raw_fd());
        // SAFETY: `drop` runs once, and the field is not used after it;
        // `into_owned`, the only other taker, keeps `drop` from running.
        unsafe { ManuallyDrop::drop(&mut self.0) }
    }
}

impl AsFd for Fd {
    #[inline]
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// `FromRawFd` for the sockets, each through its `From<OwnedFd>`.
macro_rules! impl_from_raw_fd {
    ($($ty:ty),+ $(,)?) => {
        $(
            impl std::os::fd::FromRawFd for $ty {
                /// Takes ownership of `fd` as it is, as `From<OwnedFd>`
                /// does: it must be a socket of this type's family and type,
                /// in non-blocking mode.
                ///
                /// # Safety
                ///
                /// `fd` must be open and owned by nothing else (the
                /// contract of `OwnedFd::from_raw_fd`).
                unsafe fn from_raw_fd(fd: std::os::fd::RawFd) -> $ty {
                    // SAFETY: the caller promises `fd` is open and owned by
                    // nothing else, which is `OwnedFd::from_raw_fd`'s
                    // contract.
                    <$ty>::from(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
                }
            }
        )+
    };
}

impl_from_raw_fd!(
    crate::net::TcpListener,
    crate::net::TcpStream,
    crate::net::UdpSocket,
    crate::net::UnixListener,
    crate::net::UnixStream,
    crate::net::UnixDatagram,
);
