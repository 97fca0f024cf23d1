//! The socket syscalls, with eddy's two policies applied in one place:
//!
//! - every socket and every accepted connection is created non-blocking and
//!   close-on-exec in the same syscall (`SOCK_NONBLOCK | SOCK_CLOEXEC`,
//!   `accept4`), so no fd leaks into a child between two calls;
//! - every send on a connected stream uses `MSG_NOSIGNAL`, so writing to a
//!   reset or closed peer returns `EPIPE` instead of raising `SIGPIPE`, even
//!   in a process that restored `SIGPIPE`'s default action (`write(2)` and
//!   `writev(2)` have no such flag, so they are never used on sockets).
//!
//! Everything here speaks std's types (`SocketAddr`, `Path`, `Shutdown`,
//! `Duration`) and eddy's [`UnixAddr`], never rustix's: `crate::net` forwards
//! to these functions, one call per operation, and names no binding.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvFlags, SendAncillaryBuffer, SendFlags, SocketAddrAny, SocketAddrUnix,
    SocketFlags, SocketType, sockopt,
};

use crate::net::{ListenOptions, UnixAddr};

const FLAGS: SocketFlags = SocketFlags::NONBLOCK.union(SocketFlags::CLOEXEC);

/// A socket's type: byte stream or datagrams.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Kind {
    Stream,
    Datagram,
}

impl Kind {
    fn ty(self) -> SocketType {
        match self {
            Kind::Stream => SocketType::STREAM,
            Kind::Datagram => SocketType::DGRAM,
        }
    }
}

fn socket(family: AddressFamily, kind: Kind) -> io::Result<OwnedFd> {
    Ok(rustix::net::socket_with(family, kind.ty(), FLAGS, None)?)
}

fn family_of(addr: &SocketAddr) -> AddressFamily {
    match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    }
}

/// Where a Unix socket is bound or connected: a path in the file system or
/// a name in Linux's abstract namespace.
#[derive(Copy, Clone, Debug)]
pub(crate) enum UnixTarget<'a> {
    Path(&'a Path),
    Abstract(&'a [u8]),
}

fn unix_addr(target: UnixTarget<'_>) -> io::Result<SocketAddrUnix> {
    Ok(match target {
        UnixTarget::Path(path) => SocketAddrUnix::new(path)?,
        UnixTarget::Abstract(name) => SocketAddrUnix::new_abstract_name(name)?,
    })
}

fn inet_addr(addr: Option<SocketAddrAny>) -> io::Result<SocketAddr> {
    addr.and_then(|a| SocketAddr::try_from(a).ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an IPv4 or IPv6 socket address"))
}

/// An address the kernel returned for a Unix socket. An unnamed socket's
/// address is just the family (`addrlen == sizeof(sa_family_t)`), which
/// rustix would read as an empty abstract name: that is `Unnamed`.
fn unix_addr_of(addr: Option<SocketAddrAny>) -> UnixAddr {
    let named = |a: &SocketAddrAny| usize::try_from(a.addr_len()).is_ok_and(|n| n > size_of::<libc::sa_family_t>());
    let Some(addr) = addr.filter(named).and_then(|a| SocketAddrUnix::try_from(a).ok()) else {
        return UnixAddr::Unnamed;
    };
    if let Some(path) = addr.path_bytes() {
        UnixAddr::Path(PathBuf::from(std::ffi::OsStr::from_bytes(path)))
    } else if let Some(name) = addr.abstract_name() {
        UnixAddr::Abstract(name.to_vec())
    } else {
        UnixAddr::Unnamed
    }
}

/// Starts a non-blocking connect: `Ok` when it completed or is in progress
/// (`EINPROGRESS`); the caller waits for writability and asks `take_error`.
fn connect_started(fd: BorrowedFd<'_>, addr: &impl rustix::net::addr::SocketAddrArg) -> io::Result<()> {
    match rustix::net::connect(fd, addr) {
        Ok(()) | Err(rustix::io::Errno::INPROGRESS) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

// ---- Set-up: one function per constructor of `crate::net`.

/// A listening TCP socket bound to `addr`, set up as `options` say.
pub(crate) fn tcp_listener(addr: &SocketAddr, options: &ListenOptions) -> io::Result<OwnedFd> {
    let fd = socket(family_of(addr), Kind::Stream)?;
    sockopt::set_socket_reuseaddr(&fd, options.reuse_address)?;
    if options.reuse_port {
        sockopt::set_socket_reuseport(&fd, true)?;
    }
    rustix::net::bind(&fd, addr)?;
    rustix::net::listen(&fd, options.backlog)?;
    Ok(fd)
}

/// A TCP socket whose connect to `addr` has started.
pub(crate) fn tcp_connect(addr: &SocketAddr) -> io::Result<OwnedFd> {
    let fd = socket(family_of(addr), Kind::Stream)?;
    connect_started(fd.as_fd(), addr)?;
    Ok(fd)
}

/// A UDP socket bound to `addr`.
pub(crate) fn udp_bind(addr: &SocketAddr) -> io::Result<OwnedFd> {
    let fd = socket(family_of(addr), Kind::Datagram)?;
    rustix::net::bind(&fd, addr)?;
    Ok(fd)
}

/// A Unix socket of `kind`, bound to nothing.
pub(crate) fn unix_unbound(kind: Kind) -> io::Result<OwnedFd> {
    socket(AddressFamily::UNIX, kind)
}

/// A Unix socket of `kind` bound to `path` (or an abstract name).
pub(crate) fn unix_bind(path: UnixTarget<'_>, kind: Kind) -> io::Result<OwnedFd> {
    let fd = socket(AddressFamily::UNIX, kind)?;
    rustix::net::bind(&fd, &unix_addr(path)?)?;
    Ok(fd)
}

/// A Unix stream socket bound to `path` and listening.
pub(crate) fn unix_listener(path: UnixTarget<'_>, backlog: i32) -> io::Result<OwnedFd> {
    let fd = unix_bind(path, Kind::Stream)?;
    rustix::net::listen(&fd, backlog)?;
    Ok(fd)
}

/// A Unix stream socket connected to the listener at `path` (a Unix connect
/// completes or fails at once: `EAGAIN` when the accept queue is full).
pub(crate) fn unix_connect(path: UnixTarget<'_>) -> io::Result<OwnedFd> {
    let fd = socket(AddressFamily::UNIX, Kind::Stream)?;
    rustix::net::connect(&fd, &unix_addr(path)?)?;
    Ok(fd)
}

/// Two connected Unix sockets of `kind` (`socketpair(2)`).
pub(crate) fn unix_pair(kind: Kind) -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(rustix::net::socketpair(AddressFamily::UNIX, kind.ty(), FLAGS, None)?)
}

/// Switches a socket taken from std to non-blocking (`ioctl(FIONBIO)`, as
/// std's `set_nonblocking` does).
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    Ok(rustix::io::ioctl_fionbio(fd, true)?)
}

// ---- Connections.

/// `accept4(SOCK_NONBLOCK | SOCK_CLOEXEC)` on a TCP listener.
pub(crate) fn accept_inet(fd: BorrowedFd<'_>) -> io::Result<(OwnedFd, SocketAddr)> {
    let (fd, addr) = rustix::net::acceptfrom_with(fd, FLAGS)?;
    Ok((fd, inet_addr(addr)?))
}

/// `accept4(SOCK_NONBLOCK | SOCK_CLOEXEC)` on a Unix listener.
pub(crate) fn accept_unix(fd: BorrowedFd<'_>) -> io::Result<(OwnedFd, UnixAddr)> {
    let (fd, addr) = rustix::net::acceptfrom_with(fd, FLAGS)?;
    Ok((fd, unix_addr_of(addr)))
}

/// Sets a datagram socket's default peer.
pub(crate) fn connect_inet(fd: BorrowedFd<'_>, addr: &SocketAddr) -> io::Result<()> {
    Ok(rustix::net::connect(fd, addr)?)
}

/// Sets a Unix datagram socket's default peer.
pub(crate) fn connect_unix(fd: BorrowedFd<'_>, path: UnixTarget<'_>) -> io::Result<()> {
    Ok(rustix::net::connect(fd, &unix_addr(path)?)?)
}

pub(crate) fn shutdown(fd: BorrowedFd<'_>, how: Shutdown) -> io::Result<()> {
    let how = match how {
        Shutdown::Read => rustix::net::Shutdown::Read,
        Shutdown::Write => rustix::net::Shutdown::Write,
        Shutdown::Both => rustix::net::Shutdown::Both,
    };
    Ok(rustix::net::shutdown(fd, how)?)
}

// ---- Addresses.

pub(crate) fn local_inet(fd: BorrowedFd<'_>) -> io::Result<SocketAddr> {
    inet_addr(Some(rustix::net::getsockname(fd)?))
}

pub(crate) fn peer_inet(fd: BorrowedFd<'_>) -> io::Result<SocketAddr> {
    inet_addr(rustix::net::getpeername(fd)?)
}

pub(crate) fn local_unix(fd: BorrowedFd<'_>) -> io::Result<UnixAddr> {
    Ok(unix_addr_of(Some(rustix::net::getsockname(fd)?)))
}

pub(crate) fn peer_unix(fd: BorrowedFd<'_>) -> io::Result<UnixAddr> {
    Ok(unix_addr_of(rustix::net::getpeername(fd)?))
}

// ---- Data.

pub(crate) fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    Ok(rustix::net::send(fd, buf, SendFlags::NOSIGNAL)?)
}

pub(crate) fn send_vectored(fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    Ok(rustix::net::sendmsg(fd, bufs, &mut SendAncillaryBuffer::default(), SendFlags::NOSIGNAL)?)
}

pub(crate) fn send_to_inet(fd: BorrowedFd<'_>, buf: &[u8], addr: &SocketAddr) -> io::Result<usize> {
    Ok(rustix::net::sendto(fd, buf, SendFlags::NOSIGNAL, addr)?)
}

pub(crate) fn send_to_unix(fd: BorrowedFd<'_>, buf: &[u8], path: UnixTarget<'_>) -> io::Result<usize> {
    Ok(rustix::net::sendto(fd, buf, SendFlags::NOSIGNAL, &unix_addr(path)?)?)
}

pub(crate) fn recv(fd: BorrowedFd<'_>, buf: &mut [u8], peek: bool) -> io::Result<usize> {
    let flags = if peek { RecvFlags::PEEK } else { RecvFlags::empty() };
    Ok(rustix::net::recv(fd, buf, flags)?.0)
}

pub(crate) fn recv_vectored(fd: BorrowedFd<'_>, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
    Ok(rustix::net::recvmsg(fd, bufs, &mut RecvAncillaryBuffer::default(), RecvFlags::empty())?.bytes)
}

fn recv_from(fd: BorrowedFd<'_>, buf: &mut [u8], peek: bool) -> io::Result<(usize, Option<SocketAddrAny>)> {
    let flags = if peek { RecvFlags::PEEK } else { RecvFlags::empty() };
    let (n, _, addr) = rustix::net::recvfrom(fd, buf, flags)?;
    Ok((n, addr))
}

pub(crate) fn recv_from_inet(fd: BorrowedFd<'_>, buf: &mut [u8], peek: bool) -> io::Result<(usize, SocketAddr)> {
    let (n, addr) = recv_from(fd, buf, peek)?;
    Ok((n, inet_addr(addr)?))
}

pub(crate) fn recv_from_unix(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, UnixAddr)> {
    let (n, addr) = recv_from(fd, buf, false)?;
    Ok((n, unix_addr_of(addr)))
}

// ---- Options.

/// The socket's pending error (`SO_ERROR`), cleared by reading it.
pub(crate) fn take_error(fd: BorrowedFd<'_>) -> io::Result<Option<io::Error>> {
    Ok(sockopt::socket_error(fd)?.err().map(io::Error::from))
}

pub(crate) fn set_nodelay(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    Ok(sockopt::set_tcp_nodelay(fd, on)?)
}

pub(crate) fn nodelay(fd: BorrowedFd<'_>) -> io::Result<bool> {
    Ok(sockopt::tcp_nodelay(fd)?)
}

pub(crate) fn set_linger(fd: BorrowedFd<'_>, linger: Option<Duration>) -> io::Result<()> {
    Ok(sockopt::set_socket_linger(fd, linger)?)
}

pub(crate) fn linger(fd: BorrowedFd<'_>) -> io::Result<Option<Duration>> {
    Ok(sockopt::socket_linger(fd)?)
}

pub(crate) fn set_keepalive(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    Ok(sockopt::set_socket_keepalive(fd, on)?)
}

pub(crate) fn keepalive(fd: BorrowedFd<'_>) -> io::Result<bool> {
    Ok(sockopt::socket_keepalive(fd)?)
}

pub(crate) fn set_recv_buffer_size(fd: BorrowedFd<'_>, bytes: usize) -> io::Result<()> {
    Ok(sockopt::set_socket_recv_buffer_size(fd, bytes)?)
}

pub(crate) fn set_send_buffer_size(fd: BorrowedFd<'_>, bytes: usize) -> io::Result<()> {
    Ok(sockopt::set_socket_send_buffer_size(fd, bytes)?)
}

pub(crate) fn set_broadcast(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    Ok(sockopt::set_socket_broadcast(fd, on)?)
}

pub(crate) fn broadcast(fd: BorrowedFd<'_>) -> io::Result<bool> {
    Ok(sockopt::socket_broadcast(fd)?)
}

/// `IP_TTL`: the time-to-live of the unicast packets sent.
pub(crate) fn set_ttl(fd: BorrowedFd<'_>, ttl: u32) -> io::Result<()> {
    Ok(sockopt::set_ip_ttl(fd, ttl)?)
}

pub(crate) fn ttl(fd: BorrowedFd<'_>) -> io::Result<u32> {
    Ok(sockopt::ip_ttl(fd)?)
}

// ---- Multicast.

pub(crate) fn join_multicast_v4(fd: BorrowedFd<'_>, group: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
    Ok(sockopt::set_ip_add_membership(fd, group, interface)?)
}

pub(crate) fn leave_multicast_v4(fd: BorrowedFd<'_>, group: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
    Ok(sockopt::set_ip_drop_membership(fd, group, interface)?)
}

pub(crate) fn join_multicast_v6(fd: BorrowedFd<'_>, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
    Ok(sockopt::set_ipv6_add_membership(fd, group, interface)?)
}

pub(crate) fn leave_multicast_v6(fd: BorrowedFd<'_>, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
    Ok(sockopt::set_ipv6_drop_membership(fd, group, interface)?)
}

pub(crate) fn set_multicast_loop_v4(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    Ok(sockopt::set_ip_multicast_loop(fd, on)?)
}

pub(crate) fn multicast_loop_v4(fd: BorrowedFd<'_>) -> io::Result<bool> {
    Ok(sockopt::ip_multicast_loop(fd)?)
}

pub(crate) fn set_multicast_loop_v6(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    Ok(sockopt::set_ipv6_multicast_loop(fd, on)?)
}

pub(crate) fn multicast_loop_v6(fd: BorrowedFd<'_>) -> io::Result<bool> {
    Ok(sockopt::ipv6_multicast_loop(fd)?)
}

pub(crate) fn set_multicast_ttl_v4(fd: BorrowedFd<'_>, ttl: u32) -> io::Result<()> {
    Ok(sockopt::set_ip_multicast_ttl(fd, ttl)?)
}

pub(crate) fn multicast_ttl_v4(fd: BorrowedFd<'_>) -> io::Result<u32> {
    Ok(sockopt::ip_multicast_ttl(fd)?)
}

/// `IP_MULTICAST_IF`: the interface (by its address) multicast datagrams
/// are sent from.
pub(crate) fn set_multicast_if_v4(fd: BorrowedFd<'_>, interface: &Ipv4Addr) -> io::Result<()> {
    Ok(sockopt::set_ip_multicast_if(fd, interface)?)
}
