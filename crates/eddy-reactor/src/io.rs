//! The reactor's one policy for the errors of non-blocking syscalls:
//! `WouldBlock` means "the kernel has nothing more now; wait for the next
//! event", `EINTR` means "retry now", and every other error is returned as
//! it is. Every read, write, writev and accept of the reactor sends its
//! error through [`blocked`]; the success path is the plain syscall, with
//! nothing added.

use std::io;

/// What an error of a non-blocking syscall calls for, when it is not fatal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Blocked {
    /// `WouldBlock`: stop, the next event says when to go on.
    WouldBlock,
    /// `EINTR`: make the same call again.
    Retry,
}

/// Classifies an error of a non-blocking syscall: [`Blocked`], or the error
/// itself when it is fatal to the operation.
#[inline]
pub(crate) fn blocked(e: io::Error) -> io::Result<Blocked> {
    match e.kind() {
        io::ErrorKind::WouldBlock => Ok(Blocked::WouldBlock),
        io::ErrorKind::Interrupted => Ok(Blocked::Retry),
        _ => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wouldblock_waits_eintr_retries_and_the_rest_is_fatal() {
        assert_eq!(blocked(io::ErrorKind::WouldBlock.into()).ok(), Some(Blocked::WouldBlock));
        assert_eq!(blocked(io::ErrorKind::Interrupted.into()).ok(), Some(Blocked::Retry));
        let fatal = blocked(io::ErrorKind::ConnectionReset.into());
        assert_eq!(fatal.map_err(|e| e.kind()).err(), Some(io::ErrorKind::ConnectionReset));
    }
}
