//! UDP: [`UdpSocket`].

use std::future::poll_fn;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::task::{Context, Poll};

use eddy_poll::net as sys;

use crate::driver::{Direction, Registration};

/// A UDP socket, connected to one peer or not.
///
/// Datagrams keep their boundaries: one send is one receive (empty
/// datagrams included); a receive into a buffer smaller than the datagram
/// truncates it. Every receive and send here is cancel safe: a datagram is
/// taken from (or handed to) the kernel only by a poll that returns.
///
/// Share it between tasks with an `Arc` (all methods take `&self`); one
/// receiver and one sender may wait at a time.
pub struct UdpSocket {
    io: sys::UdpSocket,
    reg: Registration,
}

impl UdpSocket {
    /// Binds `addr` (port 0: any free port) and registers the socket with
    /// the current runtime.
    ///
    /// # Errors
    ///
    /// `AddrInUse`, `AddrNotAvailable`, out of fds; not inside a runtime.
    pub async fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
        UdpSocket::from_eddy(sys::UdpSocket::bind(addr)?)
    }

    /// Adopts a std socket (made non-blocking here).
    ///
    /// # Errors
    ///
    /// The registration failed, or not inside a runtime.
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        UdpSocket::from_eddy(sys::UdpSocket::from_std(socket)?)
    }

    fn from_eddy(mut io: sys::UdpSocket) -> io::Result<UdpSocket> {
        let reg = Registration::new(&mut io)?;
        Ok(UdpSocket { io, reg })
    }

    /// Sets the default destination of [`send`](Self::send) and keeps only
    /// datagrams from `addr` for [`recv`](Self::recv). Completes at once
    /// (a UDP connect sends nothing).
    ///
    /// # Errors
    ///
    /// `AddrNotAvailable` and the like.
    pub async fn connect(&self, addr: SocketAddr) -> io::Result<()> {
        self.io.connect(addr)
    }

    /// Sends one datagram to the connected peer, waiting for room in the
    /// send buffer. Cancel safe.
    ///
    /// # Errors
    ///
    /// `NotConnected`; `ConnectionRefused` when an earlier datagram drew
    /// an ICMP port-unreachable; `EMSGSIZE` for a datagram too big.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_send(cx, buf)).await
    }

    /// Polls [`send`](Self::send).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.reg.poll_io(cx, Direction::Write, || self.io.send(buf))
    }

    /// Sends one datagram to `target`. Cancel safe.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send), but for `NotConnected`.
    pub async fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        poll_fn(|cx| self.poll_send_to(cx, buf, target)).await
    }

    /// Polls [`send_to`](Self::send_to).
    ///
    /// # Errors
    ///
    /// As [`send_to`](Self::send_to).
    pub fn poll_send_to(&self, cx: &mut Context<'_>, buf: &[u8], target: SocketAddr) -> Poll<io::Result<usize>> {
        self.reg.poll_io(cx, Direction::Write, || self.io.send_to(buf, target))
    }

    /// Receives one datagram from the connected peer, waiting for one.
    /// Cancel safe.
    ///
    /// # Errors
    ///
    /// `ConnectionRefused` after an ICMP port-unreachable, and other
    /// receive errors.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_recv(cx, buf)).await
    }

    /// Polls [`recv`](Self::recv).
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.reg.poll_io(cx, Direction::Read, || self.io.recv(buf))
    }

    /// Receives one datagram and its sender, waiting for one. Cancel safe.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_recv_from(cx, buf)).await
    }

    /// Polls [`recv_from`](Self::recv_from).
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub fn poll_recv_from(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.reg.poll_io(cx, Direction::Read, || self.io.recv_from(buf))
    }

    /// As [`recv`](Self::recv), leaving the datagram queued: the next
    /// receive gets it again. Cancel safe.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.reg.poll_io(cx, Direction::Read, || self.io.peek(buf))).await
    }

    /// As [`recv_from`](Self::recv_from), leaving the datagram queued.
    /// Cancel safe.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.reg.poll_io(cx, Direction::Read, || self.io.peek_from(buf))).await
    }

    /// Waits until a datagram may be queued (or the socket is in error).
    /// Cancel safe. A following `try_recv` may still see `WouldBlock` (a
    /// spurious readiness): then wait again.
    ///
    /// # Errors
    ///
    /// Not inside the socket's runtime.
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.reg.poll_ready(cx, Direction::Read).map_ok(drop)).await
    }

    /// Waits until the send buffer may have room. Cancel safe.
    ///
    /// # Errors
    ///
    /// Not inside the socket's runtime.
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.reg.poll_ready(cx, Direction::Write).map_ok(drop)).await
    }

    /// Sends to the connected peer now, without waiting: `WouldBlock` if
    /// the send buffer is full (the readiness is then cleared).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the send's error.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.reg.try_io(Direction::Write, || self.io.send(buf))
    }

    /// Sends to `target` now, without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the send's error.
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.reg.try_io(Direction::Write, || self.io.send_to(buf, target))
    }

    /// Receives a datagram queued now, without waiting: `WouldBlock` if
    /// none is (the readiness is then cleared, so `readable` waits for the
    /// next event).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the receive's error.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.reg.try_io(Direction::Read, || self.io.recv(buf))
    }

    /// Receives a datagram queued now and its sender, without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the receive's error.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.reg.try_io(Direction::Read, || self.io.recv_from(buf))
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// `getsockname` failed.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.peer_addr()
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// # Errors
    ///
    /// `setsockopt` failed.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.set_broadcast(on)
    }

    /// The `SO_BROADCAST` setting.
    ///
    /// # Errors
    ///
    /// `getsockopt` failed.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.broadcast()
    }

    /// Sets `IP_TTL`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a TTL above 255.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.set_ttl(ttl)
    }

    /// The `IP_TTL` setting.
    ///
    /// # Errors
    ///
    /// `getsockopt` failed.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.ttl()
    }

    /// Joins the IPv4 multicast group `group` on the interface of address
    /// `interface` (`UNSPECIFIED`: the kernel's pick).
    ///
    /// # Errors
    ///
    /// As eddy-poll's `UdpSocket::join_multicast_v4`.
    pub fn join_multicast_v4(&self, group: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.io.join_multicast_v4(group, interface)
    }

    /// Leaves an IPv4 multicast group.
    ///
    /// # Errors
    ///
    /// `AddrNotAvailable` if it was not joined on that interface.
    pub fn leave_multicast_v4(&self, group: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.io.leave_multicast_v4(group, interface)
    }

    /// Joins the IPv6 multicast group `group` on the interface of index
    /// `interface` (0: the kernel's pick).
    ///
    /// # Errors
    ///
    /// As eddy-poll's `UdpSocket::join_multicast_v6`.
    pub fn join_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.join_multicast_v6(group, interface)
    }

    /// Leaves an IPv6 multicast group.
    ///
    /// # Errors
    ///
    /// `AddrNotAvailable` if it was not joined on that interface.
    pub fn leave_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.leave_multicast_v6(group, interface)
    }

    /// Sets `IP_MULTICAST_LOOP`.
    ///
    /// # Errors
    ///
    /// `setsockopt` failed.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.io.set_multicast_loop_v4(on)
    }

    /// The `IP_MULTICAST_LOOP` setting.
    ///
    /// # Errors
    ///
    /// `getsockopt` failed.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.io.multicast_loop_v4()
    }

    /// Sets `IPV6_MULTICAST_LOOP`.
    ///
    /// # Errors
    ///
    /// An IPv4 socket gets an error.
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.io.set_multicast_loop_v6(on)
    }

    /// The `IPV6_MULTICAST_LOOP` setting.
    ///
    /// # Errors
    ///
    /// An IPv4 socket gets an error.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.io.multicast_loop_v6()
    }

    /// Sets `IP_MULTICAST_TTL`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a TTL above 255.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.io.set_multicast_ttl_v4(ttl)
    }

    /// The `IP_MULTICAST_TTL` setting.
    ///
    /// # Errors
    ///
    /// `getsockopt` failed.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.io.multicast_ttl_v4()
    }

    /// Sets `IP_MULTICAST_IF`, the interface (by address) IPv4 multicast is
    /// sent from.
    ///
    /// # Errors
    ///
    /// `AddrNotAvailable` if no interface has that address.
    pub fn set_multicast_if_v4(&self, interface: &Ipv4Addr) -> io::Result<()> {
        self.io.set_multicast_if_v4(interface)
    }

    /// The socket's pending error (an ICMP error of an earlier send),
    /// cleared by reading it.
    ///
    /// # Errors
    ///
    /// `getsockopt` failed.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.take_error()
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        let _ = self.reg.deregister(&mut self.io);
    }
}

impl std::fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.io.fmt(f)
    }
}
