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
//! On epoll both are a `None` check: one branch on `WouldBlock` only.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;

use crate::sys::emulated::{self, Table};
use crate::{Interest, Registry, Token, Trigger};

/// Which directions an operation works in, for the edge re-arm.
#[derive(Copy, Clone)]
pub(crate) enum Dir {
    Read,
    Write,
}

/// The registration of an fd in an emulated backend's table; removes it
/// from the table when dropped.
#[derive(Debug)]
struct Emulated {
    table: Arc<Table>,
    fd: RawFd,
    /// The trigger is `Edge`, so `WouldBlock` re-arms.
    edge: bool,
}

impl Drop for Emulated {
    fn drop(&mut self) {
        self.table.forget(self.fd);
    }
}

#[derive(Debug)]
pub(crate) struct IoSource {
    /// Declared before `fd`: dropped (so the table entry is removed) before
    /// the fd is closed and its number can be reused.
    emulated: Option<Emulated>,
    fd: OwnedFd,
}

impl IoSource {
    pub(crate) fn new(fd: OwnedFd) -> IoSource {
        IoSource { emulated: None, fd }
    }

    /// Runs one operation; on `WouldBlock`, re-arms an emulated edge.
    #[inline]
    pub(crate) fn do_io<R>(&self, dir: Dir, op: impl FnOnce(BorrowedFd<'_>) -> io::Result<R>) -> io::Result<R> {
        let result = op(self.fd.as_fd());
        if let (Err(e), Some(em)) = (&result, &self.emulated) {
            if em.edge && e.kind() == io::ErrorKind::WouldBlock {
                let d = match dir {
                    Dir::Read => emulated::READ | emulated::PRI,
                    Dir::Write => emulated::WRITE,
                };
                em.table.rearm(em.fd, d);
            }
        }
        result
    }

    /// The fd, after leaving any emulated table.
    pub(crate) fn into_fd(self) -> OwnedFd {
        let IoSource { emulated, fd } = self;
        drop(emulated);
        fd
    }

    /// Remembers the emulated table (if any) after a successful
    /// (re)registration. A source registered with a second emulated poller
    /// keeps tracking the first one only.
    fn track(&mut self, registry: &Registry, trigger: Trigger) {
        let edge = trigger == Trigger::Edge;
        match (&mut self.emulated, registry.shared.selector.edge_rearm()) {
            (Some(em), Some(table)) if Arc::ptr_eq(&em.table, &table) => em.edge = edge,
            (None, Some(table)) => {
                self.emulated = Some(Emulated { table, fd: self.fd.as_raw_fd(), edge });
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
        let same = |em: &Emulated| registry.shared.selector.edge_rearm().is_some_and(|t| Arc::ptr_eq(&t, &em.table));
        if self.emulated.as_ref().is_some_and(same) {
            if let Some(mut em) = self.emulated.take() {
                // Already gone from the table: an fd of -1 makes Drop a
                // no-op, so it can't remove a later registration of the fd.
                em.fd = -1;
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
