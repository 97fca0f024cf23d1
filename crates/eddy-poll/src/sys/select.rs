//! The select(2) backend's wait: three `fd_set` bit arrays of `FD_SETSIZE`
//! (1024) bits, rebuilt from the snapshot and handed to `pselect6` on every
//! call. The table, the trigger emulation and the wake-ups live in
//! `emulated`.
//!
//! `fd_set` is a fixed array of 1024 bits: an fd at or above `FD_SETSIZE`
//! cannot be watched (writing its bit would overrun the array in C), so
//! registering one is refused with `InvalidInput`. Since select reports only
//! "in the read / write / exception set", events carry `EPOLLIN`, `EPOLLOUT`
//! and `EPOLLPRI` only: a hang-up or an error shows as readable (and
//! writable), and the read or `take_error` tells which.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use rustix::event::{FdSetElement, FdSetIter, fd_set_insert};

use super::emulated::{PRI, READ, WRITE};
use super::flags;
use super::timespec;

/// `FD_SETSIZE` on Linux.
pub(crate) const FD_SETSIZE: usize = libc::FD_SETSIZE;
const WORDS: usize = FD_SETSIZE / (8 * std::mem::size_of::<FdSetElement>());

type FdSet = [FdSetElement; WORDS];

pub(crate) struct Wait {
    /// What each set asks for, kept to rebuild the sets the kernel
    /// overwrites with its answer.
    want: Box<[FdSet; 3]>,
    /// The kernel's answer after a wait.
    got: Box<[FdSet; 3]>,
    /// Slot -> fd.
    fds: Vec<RawFd>,
    /// One past the highest fd in the sets.
    nfds: RawFd,
    /// fd -> raw flags after a wait (indexed by fd, below FD_SETSIZE).
    ready: Box<[u32; FD_SETSIZE]>,
}

impl Default for Wait {
    fn default() -> Wait {
        Wait {
            want: Box::new([[FdSetElement::default(); WORDS]; 3]),
            got: Box::new([[FdSetElement::default(); WORDS]; 3]),
            fds: Vec::new(),
            nfds: 0,
            ready: Box::new([0; FD_SETSIZE]),
        }
    }
}

impl super::emulated::Wait for Wait {
    fn check(fd: RawFd) -> io::Result<()> {
        if usize::try_from(fd).is_ok_and(|fd| fd < FD_SETSIZE) {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "select(2) cannot watch fd {fd}: an fd_set holds only fds below FD_SETSIZE \
                 ({FD_SETSIZE}); use the epoll or poll backend, which have no such limit"
            ),
        ))
    }

    fn clear(&mut self) {
        *self.want = [[FdSetElement::default(); WORDS]; 3];
        self.fds.clear();
        self.nfds = 0;
    }

    fn push(&mut self, fd: RawFd, d: u8) {
        for (set, dir) in [(0, READ), (1, WRITE), (2, PRI)] {
            if d & dir != 0 {
                fd_set_insert(&mut self.want[set], fd);
            }
        }
        self.fds.push(fd);
        self.nfds = self.nfds.max(fd + 1);
    }

    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        for &fd in &self.fds {
            // `check` kept every fd below FD_SETSIZE.
            self.ready[fd as usize] = 0;
        }
        *self.got = *self.want;
        let ts = timeout.map(timespec);
        let [r, w, x] = &mut *self.got;
        // SAFETY: every fd in the sets is registered, and registration
        // borrows an open fd; an fd closed since then without deregistering
        // makes the kernel answer EBADF, which is returned, not undefined
        // behaviour. Each set holds FD_SETSIZE bits and `nfds` is at most
        // FD_SETSIZE.
        unsafe { rustix::event::select(self.nfds, Some(r), Some(w), Some(x), ts.as_ref())? };
        for (set, bit) in [(0, flags::IN), (1, flags::OUT), (2, flags::PRI)] {
            for fd in FdSetIter::new(&self.got[set]) {
                self.ready[fd as usize] |= bit;
            }
        }
        Ok(())
    }

    fn ready(&self, i: usize) -> u32 {
        self.ready[self.fds[i] as usize]
    }
}
