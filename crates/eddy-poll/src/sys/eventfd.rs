//! The eventfd every `Poll` keeps to wake its own wait: [`Notifier`].
//!
//! One eventfd per poller (non-blocking, close-on-exec). `notify` adds 1 to
//! its counter, which makes it readable; `drain` reads the counter back to 0.
//! The epoll backend registers it edge-triggered and never drains it: every
//! write is a new edge, and the counter cannot realistically reach its
//! maximum (2^64 - 2); if it ever does, the write would block and `notify`
//! drains first. The emulated backends poll it level-triggered and drain it
//! when it fires.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::event::{EventfdFlags, eventfd};

#[derive(Debug)]
pub(crate) struct Notifier {
    fd: OwnedFd,
}

impl Notifier {
    pub(crate) fn new() -> io::Result<Notifier> {
        let fd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        Ok(Notifier { fd })
    }

    /// Makes the eventfd readable.
    pub(crate) fn notify(&self) -> io::Result<()> {
        match rustix::io::write(&self.fd, &1u64.to_ne_bytes()) {
            Ok(_) => Ok(()),
            Err(rustix::io::Errno::AGAIN) => {
                // The counter is at its maximum: reset it and write again.
                self.drain();
                rustix::io::write(&self.fd, &1u64.to_ne_bytes())?;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Resets the counter; the eventfd is not readable afterwards.
    pub(crate) fn drain(&self) {
        let mut buf = [0u8; 8];
        // WouldBlock means there was nothing to drain: fine.
        let _ = rustix::io::read(&self.fd, &mut buf);
    }
}

impl AsFd for Notifier {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
