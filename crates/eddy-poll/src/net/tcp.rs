//! [`TcpListener`] and [`TcpStream`].

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use super::impl_stream_io;
use crate::io_source::{Dir, IoSource, impl_socket_fd, impl_source};
use crate::sys;

/// How [`TcpListener::bind_with`] sets up a listening socket.
#[derive(Clone, Debug)]
pub struct ListenOptions {
    /// The accept queue's length (`listen(2)`'s backlog; the kernel caps it
    /// at `net.core.somaxconn`). Default 1024.
    pub backlog: i32,
    /// `SO_REUSEADDR`: bind even while old connections of the port sit in
    /// TIME_WAIT. Default true.
    pub reuse_address: bool,
    /// `SO_REUSEPORT`: let several sockets (one per event loop) bind the same
    /// address; the kernel spreads incoming connections over them. Default
    /// false.
    pub reuse_port: bool,
}

impl Default for ListenOptions {
    fn default() -> ListenOptions {
        ListenOptions { backlog: 1024, reuse_address: true, reuse_port: false }
    }
}

/// A listening TCP socket.
///
/// # Examples
///
/// ```
/// use eddy_poll::net::{TcpListener, TcpStream};
/// use eddy_poll::{Events, Interest, Poll, Token, Trigger};
///
/// let mut poll = Poll::new()?;
/// let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
/// poll.registry().register(&mut listener, Token(0), Interest::READABLE, Trigger::Edge)?;
/// let _client = TcpStream::connect(listener.local_addr()?)?;
///
/// let mut events = Events::with_capacity(8);
/// loop {
///     match listener.accept() {
///         Ok((_stream, peer)) => { assert!(peer.ip().is_loopback()); break; }
///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => poll.poll(&mut events, None)?,
///         Err(e) => return Err(e),
///     }
/// }
/// # std::io::Result::Ok(())
/// ```
pub struct TcpListener {
    io: IoSource,
}

impl TcpListener {
    /// Binds `addr` (port 0: any free port) with the default
    /// [`ListenOptions`] and starts listening.
    ///
    /// # Errors
    ///
    /// `AddrInUse`, `AddrNotAvailable`, `PermissionDenied`, out of fds.
    pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
        TcpListener::bind_with(addr, &ListenOptions::default())
    }

    /// Binds `addr` with `options` and starts listening.
    ///
    /// # Errors
    ///
    /// As [`TcpListener::bind`].
    pub fn bind_with(addr: SocketAddr, options: &ListenOptions) -> io::Result<TcpListener> {
        Ok(TcpListener { io: IoSource::new(sys::net::tcp_listener(&addr, options)?) })
    }

    /// Takes a listener from std, switching it to non-blocking.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        let fd = OwnedFd::from(listener);
        sys::net::set_nonblocking(fd.as_fd())?;
        Ok(TcpListener { io: IoSource::new(fd) })
    }

    /// Accepts one waiting connection (non-blocking, close-on-exec).
    ///
    /// # Errors
    ///
    /// `WouldBlock` when none is waiting; `EMFILE` / `ENFILE` when out of
    /// fds (the connection stays queued: see the reactor's acceptor for what
    /// to do); `ECONNABORTED` when the peer gave up while queued.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (fd, addr) = self.io.do_io(Dir::Read, sys::net::accept_inet)?;
        Ok((TcpStream { io: IoSource::new(fd) }, addr))
    }

    /// The address it listens on (the port chosen, after binding port 0).
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sys::net::local_inet(self.io.as_fd())
    }

    /// The socket's pending error, cleared by reading it.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.take_error()
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
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener").field("fd", &self.io.as_fd()).field("addr", &self.local_addr().ok()).finish()
    }
}

impl From<TcpListener> for OwnedFd {
    fn from(l: TcpListener) -> OwnedFd {
        l.io.into_fd()
    }
}

impl_source!(TcpListener);
impl_socket_fd!(TcpListener);

/// A connected (or connecting) TCP socket.
pub struct TcpStream {
    io: IoSource,
}

// The reactor keeps one per connection and counts on it in its memory per
// idle connection: the fd, nothing more (as mio's, 4 bytes). The emulated
// backends find their registration by fd number (see `io_source`).
const _: () = assert!(
    size_of::<TcpStream>() == 4,
    "TcpStream is larger than its fd: the reactor's memory per idle connection counts on 4 bytes"
);

impl TcpStream {
    /// Starts connecting to `addr` and returns at once. Register the stream
    /// for `WRITABLE`: when it is reported, [`take_error`](Self::take_error)
    /// says whether the connect failed (`ECONNREFUSED`, ...) and
    /// [`peer_addr`](Self::peer_addr) succeeds once it is connected.
    ///
    /// # Errors
    ///
    /// Errors known at once (`ENETUNREACH`, out of fds); a refusal is
    /// reported later, as above.
    pub fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
        Ok(TcpStream { io: IoSource::new(sys::net::tcp_connect(&addr)?) })
    }

    /// Takes a stream from std, switching it to non-blocking.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        let fd = OwnedFd::from(stream);
        sys::net::set_nonblocking(fd.as_fd())?;
        Ok(TcpStream { io: IoSource::new(fd) })
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` while connecting or after a failed connect.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        sys::net::peer_inet(self.io.as_fd())
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sys::net::local_inet(self.io.as_fd())
    }

    /// Shuts down reading, writing (sends a FIN once queued data is sent) or
    /// both.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is gone.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.shutdown(how)
    }

    /// Reads without consuming: the same bytes are read again.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if nothing is buffered; as `read` otherwise.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.peek(buf)
    }

    /// Sets `TCP_NODELAY` (no Nagle delay for small writes).
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        sys::net::set_nodelay(self.io.as_fd(), on)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn nodelay(&self) -> io::Result<bool> {
        sys::net::nodelay(self.io.as_fd())
    }

    /// Sets `SO_LINGER`. `Some(Duration::ZERO)` makes `close` abortive: the
    /// kernel drops unsent data and sends RST instead of FIN.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        sys::net::set_linger(self.io.as_fd(), linger)
    }

    /// The `SO_LINGER` setting.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        sys::net::linger(self.io.as_fd())
    }

    /// Sets `SO_KEEPALIVE` (the kernel probes an idle connection).
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn set_keepalive(&self, on: bool) -> io::Result<()> {
        sys::net::set_keepalive(self.io.as_fd(), on)
    }

    /// Whether `SO_KEEPALIVE` is set.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn keepalive(&self) -> io::Result<bool> {
        sys::net::keepalive(self.io.as_fd())
    }

    /// Sets the kernel's receive buffer size (`SO_RCVBUF`; the kernel
    /// doubles the value for its bookkeeping).
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn set_recv_buffer_size(&self, bytes: usize) -> io::Result<()> {
        sys::net::set_recv_buffer_size(self.io.as_fd(), bytes)
    }

    /// Sets the kernel's send buffer size (`SO_SNDBUF`; doubled likewise).
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn set_send_buffer_size(&self, bytes: usize) -> io::Result<()> {
        sys::net::set_send_buffer_size(self.io.as_fd(), bytes)
    }

    /// The socket's pending error (`SO_ERROR`), cleared by reading it: after
    /// a connect, `Some(ECONNREFUSED)` and the like.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.take_error()
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

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("fd", &self.io.as_fd())
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}

impl From<TcpStream> for OwnedFd {
    fn from(s: TcpStream) -> OwnedFd {
        s.io.into_fd()
    }
}

impl_source!(TcpStream);
impl_socket_fd!(TcpStream);
impl_stream_io!(TcpStream);
