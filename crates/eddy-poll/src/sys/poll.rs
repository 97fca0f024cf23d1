//! The poll(2) backend's wait: an array of `struct pollfd`, one per active
//! registration, handed to `ppoll` whole on every call. The table, the
//! trigger emulation and the wake-ups live in `emulated`.
//!
//! `poll`'s `revents` bits have the values of epoll's (`POLLIN == EPOLLIN`,
//! `POLLRDHUP == EPOLLRDHUP`, ...), so they are reported as they are.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use super::emulated::{PRI, READ, WRITE};
use super::timespec;

#[derive(Default)]
pub(crate) struct Wait {
    fds: Vec<libc::pollfd>,
}

impl super::emulated::Wait for Wait {
    fn check(_fd: RawFd) -> io::Result<()> {
        Ok(())
    }

    fn clear(&mut self) {
        self.fds.clear();
    }

    fn push(&mut self, fd: RawFd, d: u8) {
        let mut events = 0;
        if d & READ != 0 {
            events |= libc::POLLIN | libc::POLLRDHUP;
        }
        if d & WRITE != 0 {
            events |= libc::POLLOUT;
        }
        if d & PRI != 0 {
            events |= libc::POLLPRI;
        }
        self.fds.push(libc::pollfd { fd, events, revents: 0 });
    }

    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let ts = timeout.map(timespec).map(|t| libc::timespec { tv_sec: t.tv_sec, tv_nsec: t.tv_nsec });
        let ts_ptr = ts.as_ref().map_or(std::ptr::null(), std::ptr::from_ref);
        // SAFETY: `fds` points to `fds.len()` initialized `pollfd`s that the
        // kernel may write (`revents`) during the call; `ts_ptr` is null or
        // points to a timespec that outlives the call; the signal mask
        // pointer is null (keep the current mask).
        let n = unsafe { libc::ppoll(self.fds.as_mut_ptr(), self.fds.len() as libc::nfds_t, ts_ptr, std::ptr::null()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        // On a timeout (n == 0) the kernel set every `revents` to 0.
        Ok(())
    }

    fn ready(&self, i: usize) -> u32 {
        // `revents` is a c_short holding flag bits: reinterpret, don't extend.
        u32::from(self.fds[i].revents as u16)
    }
}
