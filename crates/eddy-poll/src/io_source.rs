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
//! Both go through the backend's opaque re-arm handle ([`ReArm`]), which
//! the backend hands out at registration (`None` on epoll). On epoll both are
//! a `None` check: one branch on `WouldBlock` only.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

pub(crate) use crate::sys::Dir;
use crate::sys::ReArm;
use crate::{Interest, Registry, Token, Trigger};

/// The registration of an fd with a backend that emulates triggers; tells
/// the backend the fd is gone when dropped.
#[derive(Debug)]
struct Tracked {
    rearm: ReArm,
    fd: RawFd,
    /// The trigger is `Edge`, so `WouldBlock` re-arms.
    edge: bool,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.rearm.forget(self.fd);
    }
}

#[derive(Debug)]
pub(crate) struct IoSource {
    /// Declared before `fd`: dropped (so the backend forgets the
    /// registration) before the fd is closed and its number can be reused.
    tracked: Option<Tracked>,
    fd: OwnedFd,
}

impl IoSource {
    pub(crate) fn new(fd: OwnedFd) -> IoSource {
        IoSource { tracked: None, fd }
    }

    /// Runs one operation; on `WouldBlock`, re-arms an emulated edge.
    #[inline]
    pub(crate) fn do_io<R>(&self, dir: Dir, op: impl FnOnce(BorrowedFd<'_>) -> io::Result<R>) -> io::Result<R> {
        let result = op(self.fd.as_fd());
        if let (Err(e), Some(t)) = (&result, &self.tracked) {
            if t.edge && e.kind() == io::ErrorKind::WouldBlock {
                t.rearm.would_block(t.fd, dir);
            }
        }
        result
    }

    /// The fd, after the backend forgot it.
    pub(crate) fn into_fd(self) -> OwnedFd {
        let IoSource { tracked, fd } = self;
        drop(tracked);
        fd
    }

    /// Keeps the backend's re-arm handle (if any) after a successful
    /// (re)registration. A source registered with a second emulated poller
    /// keeps tracking the first one only.
    fn track(&mut self, registry: &Registry, trigger: Trigger) {
        let edge = trigger == Trigger::Edge;
        match (&mut self.tracked, registry.shared.selector.rearm()) {
            (Some(t), Some(rearm)) if t.rearm.same(&rearm) => t.edge = edge,
            (None, Some(rearm)) => {
                self.tracked = Some(Tracked { rearm, fd: self.fd.as_raw_fd(), edge });
            }
            _ => {}
        }
    }

    pub(crate) fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
        trigger: Trigger,
    ) -> io::Result<()> {
        registry.register_fd(self.fd.as_fd(), token, interest, trigger)?;
        self.track(registry, trigger);
        Ok(())
    }

    pub(crate) fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
        trigger: Trigger,
    ) -> io::Result<()> {
        registry.reregister_fd(self.fd.as_fd(), token, interest, trigger)?;
        self.track(registry, trigger);
        Ok(())
    }

    pub(crate) fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        registry.deregister_fd(self.fd.as_fd())?;
        let same = |t: &Tracked| registry.shared.selector.rearm().is_some_and(|r| r.same(&t.rearm));
        if self.tracked.as_ref().is_some_and(same) {
            if let Some(mut t) = self.tracked.take() {
                // Already gone from the backend: an fd of -1 makes Drop a
                // no-op, so it can't remove a later registration of the fd.
                t.fd = -1;
            }
        }
        Ok(())
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
