//! [`UdpSocket`].

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, OwnedFd};

use crate::io_source::{Dir, IoSource, impl_socket_fd, impl_source};
use crate::sys;

/// A UDP socket, connected to one peer or not.
///
/// Datagrams keep their boundaries: one send is one receive, empty datagrams
/// included; a receive into a buffer smaller than the datagram truncates it.
///
/// # Examples
///
/// ```
/// use eddy_poll::net::UdpSocket;
/// let a = UdpSocket::bind("127.0.0.1:0".parse().unwrap())?;
/// let b = UdpSocket::bind("127.0.0.1:0".parse().unwrap())?;
/// a.send_to(b"hi", b.local_addr()?)?;
/// let mut buf = [0; 16];
/// # let mut events = eddy_poll::Events::with_capacity(1);
/// # let mut poll = eddy_poll::Poll::new()?;
/// # let mut b = b;
/// # poll.registry().register(&mut b, eddy_poll::Token(0), eddy_poll::Interest::READABLE, eddy_poll::Trigger::Level)?;
/// # poll.poll(&mut events, Some(std::time::Duration::from_secs(5)))?;
/// let (n, from) = b.recv_from(&mut buf)?;
/// assert_eq!((&buf[..n], from), (&b"hi"[..], a.local_addr()?));
/// # std::io::Result::Ok(())
/// ```
pub struct UdpSocket {
    io: IoSource,
}

impl UdpSocket {
    /// A socket bound to `addr` (port 0: any free port).
    ///
    /// # Errors
    ///
    /// `AddrInUse`, `AddrNotAvailable`, out of fds.
    pub fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
        Ok(UdpSocket { io: IoSource::new(sys::net::udp_bind(&addr)?) })
    }

    /// Takes a socket from std, switching it to non-blocking.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        let fd = OwnedFd::from(socket);
        sys::net::set_nonblocking(fd.as_fd())?;
        Ok(UdpSocket { io: IoSource::new(fd) })
    }

    /// Sets the default destination of `send` and filters `recv` to
    /// datagrams from `addr`.
    ///
    /// # Errors
    ///
    /// `AddrNotAvailable` and the like.
    pub fn connect(&self, addr: SocketAddr) -> io::Result<()> {
        sys::net::connect_inet(self.io.as_fd(), &addr)
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when the send buffer is full; `ConnectionRefused` when an
    /// earlier datagram drew an ICMP port-unreachable; `NotConnected`.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.send(buf)
    }

    /// Sends one datagram to `addr`.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when the send buffer is full.
    pub fn send_to(&self, buf: &[u8], addr: SocketAddr) -> io::Result<usize> {
        self.io.do_io(Dir::Write, |fd| sys::net::send_to_inet(fd, buf, &addr))
    }

    /// Receives one datagram from the connected peer.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when none is queued.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.recv(buf)
    }

    /// Receives one datagram and its sender.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when none is queued.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.do_io(Dir::Read, |fd| sys::net::recv_from_inet(fd, buf, false))
    }

    /// Like [`recv`](Self::recv), leaving the datagram queued: the next
    /// receive gets it again.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when none is queued.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.peek(buf)
    }

    /// Like [`recv_from`](Self::recv_from), leaving the datagram queued.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when none is queued.
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.do_io(Dir::Read, |fd| sys::net::recv_from_inet(fd, buf, true))
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sys::net::local_inet(self.io.as_fd())
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` when not connected.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        sys::net::peer_inet(self.io.as_fd())
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        sys::net::set_broadcast(self.io.as_fd(), on)
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn broadcast(&self) -> io::Result<bool> {
        sys::net::broadcast(self.io.as_fd())
    }

    /// Sets `IP_TTL`, the time-to-live of the packets sent.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for 0 or a TTL above 255.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        sys::net::set_ttl(self.io.as_fd(), ttl)
    }

    /// The `IP_TTL` setting.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn ttl(&self) -> io::Result<u32> {
        sys::net::ttl(self.io.as_fd())
    }

    /// Joins the IPv4 multicast group `group` on the interface whose
    /// address is `interface` (`Ipv4Addr::UNSPECIFIED`: the kernel's pick).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `group` is not a multicast address; `EADDRINUSE`
    /// if already joined there; `ENODEV` / `AddrNotAvailable` if no
    /// interface has that address (or, with `UNSPECIFIED`, no route leads
    /// to the group).
    pub fn join_multicast_v4(&self, group: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        sys::net::join_multicast_v4(self.io.as_fd(), group, interface)
    }

    /// Leaves an IPv4 multicast group joined with
    /// [`join_multicast_v4`](Self::join_multicast_v4).
    ///
    /// # Errors
    ///
    /// `AddrNotAvailable` if the group was not joined on that interface.
    pub fn leave_multicast_v4(&self, group: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        sys::net::leave_multicast_v4(self.io.as_fd(), group, interface)
    }

    /// Joins the IPv6 multicast group `group` on the interface of index
    /// `interface` (0: the kernel's pick). The socket must be IPv6.
    ///
    /// # Errors
    ///
    /// As [`join_multicast_v4`](Self::join_multicast_v4); an IPv4 socket
    /// gets an error too.
    pub fn join_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        sys::net::join_multicast_v6(self.io.as_fd(), group, interface)
    }

    /// Leaves an IPv6 multicast group joined with
    /// [`join_multicast_v6`](Self::join_multicast_v6).
    ///
    /// # Errors
    ///
    /// `AddrNotAvailable` if the group was not joined on that interface.
    pub fn leave_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        sys::net::leave_multicast_v6(self.io.as_fd(), group, interface)
    }

    /// Sets `IP_MULTICAST_LOOP`: whether this host's own members of a group
    /// receive the IPv4 multicast datagrams this socket sends (default on).
    ///
    /// # Errors
    ///
    /// An IPv6 socket may refuse it.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        sys::net::set_multicast_loop_v4(self.io.as_fd(), on)
    }

    /// The `IP_MULTICAST_LOOP` setting.
    ///
    /// # Errors
    ///
    /// As [`set_multicast_loop_v4`](Self::set_multicast_loop_v4).
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        sys::net::multicast_loop_v4(self.io.as_fd())
    }

    /// Sets `IPV6_MULTICAST_LOOP`, the same for IPv6 (default on).
    ///
    /// # Errors
    ///
    /// An IPv4 socket gets an error.
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        sys::net::set_multicast_loop_v6(self.io.as_fd(), on)
    }

    /// The `IPV6_MULTICAST_LOOP` setting.
    ///
    /// # Errors
    ///
    /// An IPv4 socket gets an error.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        sys::net::multicast_loop_v6(self.io.as_fd())
    }

    /// Sets `IP_MULTICAST_TTL`, the time-to-live of the IPv4 multicast
    /// datagrams sent (default 1: they stay on the local network).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a TTL above 255.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        sys::net::set_multicast_ttl_v4(self.io.as_fd(), ttl)
    }

    /// The `IP_MULTICAST_TTL` setting.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        sys::net::multicast_ttl_v4(self.io.as_fd())
    }

    /// Sets `IP_MULTICAST_IF`: the interface, by its address, that IPv4
    /// multicast datagrams are sent from (`Ipv4Addr::UNSPECIFIED`: by the
    /// route). Not in mio; std has no such call either.
    ///
    /// # Errors
    ///
    /// `AddrNotAvailable` if no interface has that address.
    pub fn set_multicast_if_v4(&self, interface: &Ipv4Addr) -> io::Result<()> {
        sys::net::set_multicast_if_v4(self.io.as_fd(), interface)
    }

    /// The socket's pending error (an ICMP error of an earlier send),
    /// cleared by reading it.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.take_error()
    }

    /// Runs `f`, an operation of the caller's own on this socket (a syscall
    /// eddy does not wrap, made on its fd through `AsFd`), the way eddy's
    /// own operations run: if `f` returns `WouldBlock`, an `Edge`
    /// registration waits for readiness again. On epoll that is the kernel's
    /// doing; the emulated backends (poll, select) need this call to know,
    /// and re-arm both directions, as eddy cannot see which one `f` used (at
    /// worst one spurious event). mio's `try_io`.
    ///
    /// # Errors
    ///
    /// Whatever `f` returns.
    pub fn try_io<F, T>(&self, f: F) -> io::Result<T>
    where
        F: FnOnce() -> io::Result<T>,
    {
        self.io.do_io(Dir::Both, |_| f())
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket").field("fd", &self.io.as_fd()).field("local", &self.local_addr().ok()).finish()
    }
}

impl From<UdpSocket> for OwnedFd {
    fn from(s: UdpSocket) -> OwnedFd {
        s.io.into_fd()
    }
}

impl_source!(UdpSocket);
impl_socket_fd!(UdpSocket);
