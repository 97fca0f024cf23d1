//! signalfd and the signal mask (libc: rustix has no safe binding for them).
//!
//! A signalfd reports the signals of its mask that are *pending* for the
//! reading thread or for the process. A signal that is not blocked is
//! delivered the ordinary way (handler or default action) before it can be
//! pending, so the signals must be blocked in every thread that could take
//! them; see `crate::signal`.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd};

/// The signal numbers `crate::signal` names (Linux's values).
pub(crate) const SIGINT: i32 = libc::SIGINT;
pub(crate) const SIGTERM: i32 = libc::SIGTERM;
pub(crate) const SIGHUP: i32 = libc::SIGHUP;
pub(crate) const SIGQUIT: i32 = libc::SIGQUIT;
pub(crate) const SIGUSR1: i32 = libc::SIGUSR1;
pub(crate) const SIGUSR2: i32 = libc::SIGUSR2;
pub(crate) const SIGCHLD: i32 = libc::SIGCHLD;
pub(crate) const SIGPIPE: i32 = libc::SIGPIPE;
pub(crate) const SIGWINCH: i32 = libc::SIGWINCH;
pub(crate) const SIGALRM: i32 = libc::SIGALRM;
/// The two signals that can be neither blocked nor caught.
pub(crate) const SIGKILL: i32 = libc::SIGKILL;
pub(crate) const SIGSTOP: i32 = libc::SIGSTOP;

fn sigset(signals: &[i32]) -> io::Result<libc::sigset_t> {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `set` is valid for writes; sigemptyset initializes it.
    if unsafe { libc::sigemptyset(set.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    for &sig in signals {
        // SAFETY: `set` was initialized by sigemptyset above.
        if unsafe { libc::sigaddset(set.as_mut_ptr(), sig) } != 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{sig} is not a valid signal number")));
        }
    }
    // SAFETY: initialized by sigemptyset (and sigaddset).
    Ok(unsafe { set.assume_init() })
}

/// Blocks `signals` in the calling thread (`pthread_sigmask(SIG_BLOCK)`).
pub(crate) fn block(signals: &[i32]) -> io::Result<()> {
    let set = sigset(signals)?;
    // SAFETY: `set` is an initialized sigset; a null old-set pointer is
    // allowed.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

/// Whether `sig` is blocked in the calling thread.
pub(crate) fn is_blocked(sig: i32) -> io::Result<bool> {
    let mut old = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: a null new set only queries; `old` is valid for writes.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), old.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    // SAFETY: pthread_sigmask succeeded, so it wrote the current mask.
    let old = unsafe { old.assume_init() };
    // SAFETY: `old` is an initialized sigset.
    Ok(unsafe { libc::sigismember(&old, sig) } == 1)
}

/// A non-blocking, close-on-exec signalfd for `signals`.
pub(crate) fn create(signals: &[i32]) -> io::Result<OwnedFd> {
    let set = sigset(signals)?;
    // SAFETY: -1 asks for a new fd; `set` is an initialized sigset.
    let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: signalfd returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Reads one pending signal's number; `WouldBlock` if none is pending.
pub(crate) fn read(fd: BorrowedFd<'_>) -> io::Result<i32> {
    // struct signalfd_siginfo is 128 bytes; ssi_signo is its first u32.
    let mut buf = [0u8; 128];
    let n = rustix::io::read(fd, &mut buf)?;
    if n < 4 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "short read from a signalfd"));
    }
    let signo = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]);
    Ok(i32::try_from(signo).unwrap_or(0))
}

/// Sends `sig` to the calling thread (raise(3)).
pub(crate) fn raise(sig: i32) -> io::Result<()> {
    // SAFETY: raise has no memory-safety preconditions; what the signal does
    // is the caller's intent (with the signal blocked it only becomes
    // pending).
    if unsafe { libc::raise(sig) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Puts `sig`'s disposition back to the default action (`SIG_DFL`).
pub(crate) fn restore_default(sig: i32) -> io::Result<()> {
    // SAFETY: SIG_DFL installs no handler, so no Rust code can run in signal
    // context; the call has no memory-safety preconditions.
    if unsafe { libc::signal(sig, libc::SIG_DFL) } == libc::SIG_ERR {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
