//! The socket syscalls, with eddy's two policies applied in one place:
//!
//! - every socket and every accepted connection is created non-blocking and
//!   close-on-exec in the same syscall (`SOCK_NONBLOCK | SOCK_CLOEXEC`,
//!   `accept4`), so no fd leaks into a child between two calls;
//! - every send on a connected stream uses `MSG_NOSIGNAL`, so writing to a
//!   reset or closed peer returns `EPIPE` instead of raising `SIGPIPE`, even
//!   in a process that restored `SIGPIPE`'s default action (`write(2)` and
//!   `writev(2)` have no such flag, so they are never used on sockets).

use std::io::{self, IoSlice, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::{BorrowedFd, OwnedFd};

use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvFlags, SendAncillaryBuffer, SendFlags, SocketAddrAny, SocketFlags,
    SocketType,
};

const FLAGS: SocketFlags = SocketFlags::NONBLOCK.union(SocketFlags::CLOEXEC);

pub(crate) fn socket(family: AddressFamily, ty: SocketType) -> io::Result<OwnedFd> {
    Ok(rustix::net::socket_with(family, ty, FLAGS, None)?)
}

pub(crate) fn family_of(addr: &SocketAddr) -> AddressFamily {
    match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    }
}

pub(crate) fn socketpair(ty: SocketType) -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(rustix::net::socketpair(AddressFamily::UNIX, ty, FLAGS, None)?)
}

/// Starts a non-blocking connect: `Ok` when it completed or is in progress
/// (`EINPROGRESS`); the caller waits for writability and asks `take_error`.
pub(crate) fn connect(fd: BorrowedFd<'_>, addr: &impl rustix::net::addr::SocketAddrArg) -> io::Result<()> {
    match rustix::net::connect(fd, addr) {
        Ok(()) | Err(rustix::io::Errno::INPROGRESS) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// `accept4(SOCK_NONBLOCK | SOCK_CLOEXEC)`.
pub(crate) fn accept(fd: BorrowedFd<'_>) -> io::Result<(OwnedFd, Option<SocketAddrAny>)> {
    Ok(rustix::net::acceptfrom_with(fd, FLAGS)?)
}

pub(crate) fn inet_addr(addr: Option<SocketAddrAny>) -> io::Result<SocketAddr> {
    addr.and_then(|a| SocketAddr::try_from(a).ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an IPv4 or IPv6 socket address"))
}

pub(crate) fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    Ok(rustix::net::send(fd, buf, SendFlags::NOSIGNAL)?)
}

pub(crate) fn send_vectored(fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    Ok(rustix::net::sendmsg(fd, bufs, &mut SendAncillaryBuffer::default(), SendFlags::NOSIGNAL)?)
}

pub(crate) fn send_to(
    fd: BorrowedFd<'_>,
    buf: &[u8],
    addr: &impl rustix::net::addr::SocketAddrArg,
) -> io::Result<usize> {
    Ok(rustix::net::sendto(fd, buf, SendFlags::NOSIGNAL, addr)?)
}

pub(crate) fn recv(fd: BorrowedFd<'_>, buf: &mut [u8], peek: bool) -> io::Result<usize> {
    let flags = if peek { RecvFlags::PEEK } else { RecvFlags::empty() };
    Ok(rustix::net::recv(fd, buf, flags)?.0)
}

pub(crate) fn recv_vectored(fd: BorrowedFd<'_>, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
    Ok(rustix::net::recvmsg(fd, bufs, &mut RecvAncillaryBuffer::default(), RecvFlags::empty())?.bytes)
}

pub(crate) fn recv_from(fd: BorrowedFd<'_>, buf: &mut [u8], peek: bool) -> io::Result<(usize, Option<SocketAddrAny>)> {
    let flags = if peek { RecvFlags::PEEK } else { RecvFlags::empty() };
    let (n, _, addr) = rustix::net::recvfrom(fd, buf, flags)?;
    Ok((n, addr))
}

/// The socket's pending error (`SO_ERROR`), cleared by reading it.
pub(crate) fn take_error(fd: BorrowedFd<'_>) -> io::Result<Option<io::Error>> {
    Ok(rustix::net::sockopt::socket_error(fd)?.err().map(io::Error::from))
}
