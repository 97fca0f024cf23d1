//! Unix domain sockets: [`UnixListener`], [`UnixStream`], [`UnixDatagram`],
//! and their address, [`UnixAddr`].

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, OwnedFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::SocketAddr as StdUnixAddr;
use std::path::{Path, PathBuf};

use super::impl_stream_io;
use crate::io_source::{Dir, IoSource, impl_socket_fd, impl_source};
use crate::sys;
use crate::sys::net::{Kind, UnixTarget};

/// The address of a Unix socket.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UnixAddr {
    /// Not bound (a `connect`ed client, one end of a `pair`).
    Unnamed,
    /// Bound to a path in the file system.
    Path(PathBuf),
    /// Bound to a name in Linux's abstract namespace (no file).
    Abstract(Vec<u8>),
}

impl UnixAddr {
    /// The path, for a path address.
    pub fn as_path(&self) -> Option<&Path> {
        match self {
            UnixAddr::Path(p) => Some(p),
            _ => None,
        }
    }

    /// The name, for an abstract address (without the leading NUL byte).
    pub fn as_abstract_name(&self) -> Option<&[u8]> {
        match self {
            UnixAddr::Abstract(name) => Some(name),
            _ => None,
        }
    }
}

/// std's address (as `std::os::unix::net` and mio take it) as eddy's.
impl From<&StdUnixAddr> for UnixAddr {
    fn from(addr: &StdUnixAddr) -> UnixAddr {
        if let Some(path) = addr.as_pathname() {
            UnixAddr::Path(path.to_path_buf())
        } else if let Some(name) = addr.as_abstract_name() {
            UnixAddr::Abstract(name.to_vec())
        } else {
            UnixAddr::Unnamed
        }
    }
}

/// eddy's address as std's (to hand to `std::os::unix::net` or mio).
impl TryFrom<&UnixAddr> for StdUnixAddr {
    type Error = io::Error;

    /// # Errors
    ///
    /// `InvalidInput` for `Unnamed` (std can't build one) or a path or name
    /// too long for `sockaddr_un`.
    fn try_from(addr: &UnixAddr) -> io::Result<StdUnixAddr> {
        match addr {
            UnixAddr::Path(path) => StdUnixAddr::from_pathname(path),
            UnixAddr::Abstract(name) => StdUnixAddr::from_abstract_name(name),
            UnixAddr::Unnamed => Err(unnamed()),
        }
    }
}

fn unnamed() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "an unnamed Unix address names no socket to bind or connect to")
}

/// Where std's address points: a path or an abstract name.
fn target(addr: &StdUnixAddr) -> io::Result<UnixTarget<'_>> {
    if let Some(path) = addr.as_pathname() {
        Ok(UnixTarget::Path(path))
    } else if let Some(name) = addr.as_abstract_name() {
        Ok(UnixTarget::Abstract(name))
    } else {
        Err(unnamed())
    }
}

/// A listening Unix stream socket.
pub struct UnixListener {
    io: IoSource,
}

impl UnixListener {
    /// Binds `path` (which must not exist) and listens, backlog 1024.
    ///
    /// # Errors
    ///
    /// `AddrInUse` if the path exists; the file system's errors.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        Ok(UnixListener { io: IoSource::new(sys::net::unix_listener(UnixTarget::Path(path.as_ref()), 1024)?) })
    }

    /// Binds `addr`, a path or a name in Linux's abstract namespace (std's
    /// `SocketAddrExt::from_abstract_name`), and listens, backlog 1024.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an unnamed address; `AddrInUse` if the path
    /// exists or the abstract name is taken; the file system's errors.
    pub fn bind_addr(addr: &StdUnixAddr) -> io::Result<UnixListener> {
        Ok(UnixListener { io: IoSource::new(sys::net::unix_listener(target(addr)?, 1024)?) })
    }

    /// Takes a listener from std, switching it to non-blocking.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        let fd = OwnedFd::from(listener);
        sys::net::set_nonblocking(fd.as_fd())?;
        Ok(UnixListener { io: IoSource::new(fd) })
    }

    /// Accepts one waiting connection (non-blocking, close-on-exec).
    ///
    /// # Errors
    ///
    /// `WouldBlock` when none is waiting; `EMFILE` when out of fds.
    pub fn accept(&self) -> io::Result<(UnixStream, UnixAddr)> {
        let (fd, addr) = self.io.do_io(Dir::Read, sys::net::accept_unix)?;
        Ok((UnixStream { io: IoSource::new(fd) }, addr))
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn local_addr(&self) -> io::Result<UnixAddr> {
        sys::net::local_unix(self.io.as_fd())
    }

    /// The socket's pending error, cleared by reading it.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.take_error()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener").field("fd", &self.io.as_fd()).field("addr", &self.local_addr().ok()).finish()
    }
}

impl From<UnixListener> for OwnedFd {
    fn from(s: UnixListener) -> OwnedFd {
        s.io.into_fd()
    }
}

impl_source!(UnixListener);
impl_socket_fd!(UnixListener);

/// A connected Unix stream socket.
pub struct UnixStream {
    io: IoSource,
}

impl UnixStream {
    /// Connects to the listener at `path`. Unlike TCP, a Unix connect
    /// completes at once or fails at once.
    ///
    /// # Errors
    ///
    /// `NotFound` / `ConnectionRefused` if nobody listens there;
    /// `WouldBlock` if the listener's accept queue is full.
    pub fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        Ok(UnixStream { io: IoSource::new(sys::net::unix_connect(UnixTarget::Path(path.as_ref()))?) })
    }

    /// Connects to the listener at `addr`, a path or an abstract name.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an unnamed address; otherwise as
    /// [`connect`](Self::connect).
    pub fn connect_addr(addr: &StdUnixAddr) -> io::Result<UnixStream> {
        Ok(UnixStream { io: IoSource::new(sys::net::unix_connect(target(addr)?)?) })
    }

    /// Takes a stream from std, switching it to non-blocking.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        let fd = OwnedFd::from(stream);
        sys::net::set_nonblocking(fd.as_fd())?;
        Ok(UnixStream { io: IoSource::new(fd) })
    }

    /// Two connected streams (`socketpair(2)`).
    ///
    /// # Errors
    ///
    /// Out of fds.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = sys::net::unix_pair(Kind::Stream)?;
        Ok((UnixStream { io: IoSource::new(a) }, UnixStream { io: IoSource::new(b) }))
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn local_addr(&self) -> io::Result<UnixAddr> {
        sys::net::local_unix(self.io.as_fd())
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is gone.
    pub fn peer_addr(&self) -> io::Result<UnixAddr> {
        sys::net::peer_unix(self.io.as_fd())
    }

    /// Shuts down reading, writing or both.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is gone.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.shutdown(how)
    }

    /// The socket's pending error, cleared by reading it.
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

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream").field("fd", &self.io.as_fd()).finish()
    }
}

impl From<UnixStream> for OwnedFd {
    fn from(s: UnixStream) -> OwnedFd {
        s.io.into_fd()
    }
}

impl_source!(UnixStream);
impl_socket_fd!(UnixStream);
impl_stream_io!(UnixStream);

/// A Unix datagram socket.
pub struct UnixDatagram {
    io: IoSource,
}

impl UnixDatagram {
    /// A socket bound to `path` (which must not exist).
    ///
    /// # Errors
    ///
    /// `AddrInUse` if the path exists.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram { io: IoSource::new(sys::net::unix_bind(UnixTarget::Path(path.as_ref()), Kind::Datagram)?) })
    }

    /// A socket bound to `addr`, a path or an abstract name.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an unnamed address; `AddrInUse` if the path
    /// exists or the abstract name is taken.
    pub fn bind_addr(addr: &StdUnixAddr) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram { io: IoSource::new(sys::net::unix_bind(target(addr)?, Kind::Datagram)?) })
    }

    /// Takes a socket from std, switching it to non-blocking.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        let fd = OwnedFd::from(socket);
        sys::net::set_nonblocking(fd.as_fd())?;
        Ok(UnixDatagram { io: IoSource::new(fd) })
    }

    /// An unbound socket (it can send, and receive once connected).
    ///
    /// # Errors
    ///
    /// Out of fds.
    pub fn unbound() -> io::Result<UnixDatagram> {
        Ok(UnixDatagram { io: IoSource::new(sys::net::unix_unbound(Kind::Datagram)?) })
    }

    /// Two connected sockets (`socketpair(2)`).
    ///
    /// # Errors
    ///
    /// Out of fds.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = sys::net::unix_pair(Kind::Datagram)?;
        Ok((UnixDatagram { io: IoSource::new(a) }, UnixDatagram { io: IoSource::new(b) }))
    }

    /// Sets the default destination of `send`.
    ///
    /// # Errors
    ///
    /// `NotFound` / `ConnectionRefused` if nothing is bound there.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        sys::net::connect_unix(self.io.as_fd(), UnixTarget::Path(path.as_ref()))
    }

    /// Sets the default destination of `send` to `addr`, a path or an
    /// abstract name.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an unnamed address; otherwise as
    /// [`connect`](Self::connect).
    pub fn connect_addr(&self, addr: &StdUnixAddr) -> io::Result<()> {
        sys::net::connect_unix(self.io.as_fd(), target(addr)?)
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when the peer's queue is full; `ConnectionRefused` when
    /// the peer is gone.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.send(buf)
    }

    /// Sends one datagram to the socket bound at `path`.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when the peer's queue is full.
    pub fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        self.io.do_io(Dir::Write, |fd| sys::net::send_to_unix(fd, buf, UnixTarget::Path(path.as_ref())))
    }

    /// Sends one datagram to the socket bound at `addr`, a path or an
    /// abstract name.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an unnamed address; otherwise as
    /// [`send_to`](Self::send_to).
    pub fn send_to_addr(&self, buf: &[u8], addr: &StdUnixAddr) -> io::Result<usize> {
        let to = target(addr)?;
        self.io.do_io(Dir::Write, |fd| sys::net::send_to_unix(fd, buf, to))
    }

    /// Receives one datagram.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when none is queued.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.recv(buf)
    }

    /// Receives one datagram and its sender's address.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when none is queued.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, UnixAddr)> {
        self.io.do_io(Dir::Read, |fd| sys::net::recv_from_unix(fd, buf))
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn local_addr(&self) -> io::Result<UnixAddr> {
        sys::net::local_unix(self.io.as_fd())
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` when not connected.
    pub fn peer_addr(&self) -> io::Result<UnixAddr> {
        sys::net::peer_unix(self.io.as_fd())
    }

    /// Shuts down reading, writing or both.
    ///
    /// # Errors
    ///
    /// `NotConnected` when not connected.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.shutdown(how)
    }

    /// The socket's pending error, cleared by reading it.
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

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixDatagram").field("fd", &self.io.as_fd()).finish()
    }
}

impl From<UnixDatagram> for OwnedFd {
    fn from(s: UnixDatagram) -> OwnedFd {
        s.io.into_fd()
    }
}

impl_source!(UnixDatagram);
impl_socket_fd!(UnixDatagram);
