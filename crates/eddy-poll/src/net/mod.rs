//! Non-blocking sockets: TCP, UDP and Unix domain (stream and datagram).
//!
//! Every socket is created non-blocking and close-on-exec in one syscall;
//! accepted connections too (`accept4`). No write can raise `SIGPIPE`: sends
//! use `MSG_NOSIGNAL`, so writing to a reset peer returns `EPIPE` (or
//! `ECONNRESET`) even in a process that restored `SIGPIPE`'s default action.
//!
//! Each type implements [`Source`](crate::Source): register it, then call
//! its operations when an event says it is ready, until they return
//! `WouldBlock`. Reads and writes go through `std::io::Read` / `Write`, for
//! the type and for a shared reference to it (so one `&TcpStream` can be
//! read and written). Every socket type is `Send + Sync`.
//!
//! The types here hold no syscall: each operation forwards to `sys::net`,
//! where the crate's every syscall lives.

mod tcp;
mod udp;
mod unix;

pub use tcp::{ListenOptions, TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixAddr, UnixDatagram, UnixListener, UnixStream};

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::AsFd;

use crate::io_source::{Dir, IoSource};
use crate::sys;

/// The I/O every connected stream shares.
impl IoSource {
    pub(crate) fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.do_io(Dir::Read, |fd| sys::net::recv(fd, buf, false))
    }

    pub(crate) fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.do_io(Dir::Read, |fd| sys::net::recv(fd, buf, true))
    }

    pub(crate) fn recv_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.do_io(Dir::Read, |fd| sys::net::recv_vectored(fd, bufs))
    }

    pub(crate) fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.do_io(Dir::Write, |fd| sys::net::send(fd, buf))
    }

    pub(crate) fn send_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.do_io(Dir::Write, |fd| sys::net::send_vectored(fd, bufs))
    }

    pub(crate) fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        sys::net::shutdown(self.as_fd(), how)
    }

    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        sys::net::take_error(self.as_fd())
    }
}

/// `Read` and `Write` for a stream type and for a shared reference to it.
macro_rules! impl_stream_io {
    ($ty:ty) => {
        impl std::io::Read for $ty {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.io.recv(buf)
            }
            fn read_vectored(&mut self, bufs: &mut [std::io::IoSliceMut<'_>]) -> std::io::Result<usize> {
                self.io.recv_vectored(bufs)
            }
        }

        impl std::io::Read for &$ty {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.io.recv(buf)
            }
            fn read_vectored(&mut self, bufs: &mut [std::io::IoSliceMut<'_>]) -> std::io::Result<usize> {
                self.io.recv_vectored(bufs)
            }
        }

        impl std::io::Write for $ty {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.io.send(buf)
            }
            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                self.io.send_vectored(bufs)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        impl std::io::Write for &$ty {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.io.send(buf)
            }
            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                self.io.send_vectored(bufs)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
    };
}
pub(crate) use impl_stream_io;
