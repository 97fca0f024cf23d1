//! The reactor's one policy for non-blocking syscalls: `EINTR` is retried
//! here and nowhere else, `WouldBlock` becomes `None` ("the kernel has
//! nothing more now; wait for the next event"), every other error is
//! returned as it is.

use std::io;

/// Runs a non-blocking syscall: `Ok(Some(v))` when it did something,
/// `Ok(None)` on `WouldBlock`, retried on `EINTR`.
#[inline]
pub(crate) fn nonblocking<T>(mut call: impl FnMut() -> io::Result<T>) -> io::Result<Option<T>> {
    loop {
        match call() {
            Ok(v) => return Ok(Some(v)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eintr_is_retried_and_wouldblock_is_none() {
        let mut calls = 0;
        let r = nonblocking(|| {
            calls += 1;
            match calls {
                1 | 2 => Err(io::Error::from(io::ErrorKind::Interrupted)),
                _ => Ok(7),
            }
        });
        assert_eq!(r.ok(), Some(Some(7)));
        assert_eq!(calls, 3);
        let r: io::Result<Option<()>> = nonblocking(|| Err(io::ErrorKind::WouldBlock.into()));
        assert!(matches!(r, Ok(None)));
        let r: io::Result<Option<()>> = nonblocking(|| Err(io::ErrorKind::ConnectionReset.into()));
        assert_eq!(r.map_err(|e| e.kind()).err(), Some(io::ErrorKind::ConnectionReset));
    }
}
