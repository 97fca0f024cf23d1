//! Unix domain sockets: [`UnixListener`], [`UnixStream`], [`UnixDatagram`],
//! and their address, [`UnixAddr`].

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::net::{AddressFamily, SocketAddrAny, SocketAddrUnix, SocketType};

use super::impl_stream_io;
use crate::io_source::{Dir, IoSource, impl_source};
use crate::sys;

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
    fn from_any(addr: Option<SocketAddrAny>) -> UnixAddr {
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

    /// The path, for a path address.
    pub fn as_path(&self) -> Option<&Path> {
        match self {
            UnixAddr::Path(p) => Some(p),
            _ => None,
        }
    }
}

fn addr(path: &Path) -> io::Result<SocketAddrUnix> {
    Ok(SocketAddrUnix::new(path)?)
}

fn local(fd: &IoSource) -> io::Result<UnixAddr> {
    Ok(UnixAddr::from_any(Some(rustix::net::getsockname(fd)?)))
}

fn peer(fd: &IoSource) -> io::Result<UnixAddr> {
    Ok(UnixAddr::from_any(rustix::net::getpeername(fd)?))
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
        let fd = sys::net::socket(AddressFamily::UNIX, SocketType::STREAM)?;
        rustix::net::bind(&fd, &addr(path.as_ref())?)?;
        rustix::net::listen(&fd, 1024)?;
        Ok(UnixListener { io: IoSource::new(fd) })
    }

    /// Accepts one waiting connection (non-blocking, close-on-exec).
    ///
    /// # Errors
    ///
    /// `WouldBlock` when none is waiting; `EMFILE` when out of fds.
    pub fn accept(&self) -> io::Result<(UnixStream, UnixAddr)> {
        let (fd, addr) = self.io.do_io(Dir::Read, sys::net::accept)?;
        Ok((UnixStream { io: IoSource::new(fd) }, UnixAddr::from_any(addr)))
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn local_addr(&self) -> io::Result<UnixAddr> {
        local(&self.io)
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
        let fd = sys::net::socket(AddressFamily::UNIX, SocketType::STREAM)?;
        rustix::net::connect(&fd, &addr(path.as_ref())?)?;
        Ok(UnixStream { io: IoSource::new(fd) })
    }

    /// Two connected streams (`socketpair(2)`).
    ///
    /// # Errors
    ///
    /// Out of fds.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = sys::net::socketpair(SocketType::STREAM)?;
        Ok((UnixStream { io: IoSource::new(a) }, UnixStream { io: IoSource::new(b) }))
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn local_addr(&self) -> io::Result<UnixAddr> {
        local(&self.io)
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is gone.
    pub fn peer_addr(&self) -> io::Result<UnixAddr> {
        peer(&self.io)
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
        let fd = sys::net::socket(AddressFamily::UNIX, SocketType::DGRAM)?;
        rustix::net::bind(&fd, &addr(path.as_ref())?)?;
        Ok(UnixDatagram { io: IoSource::new(fd) })
    }

    /// An unbound socket (it can send, and receive once connected).
    ///
    /// # Errors
    ///
    /// Out of fds.
    pub fn unbound() -> io::Result<UnixDatagram> {
        Ok(UnixDatagram { io: IoSource::new(sys::net::socket(AddressFamily::UNIX, SocketType::DGRAM)?) })
    }

    /// Two connected sockets (`socketpair(2)`).
    ///
    /// # Errors
    ///
    /// Out of fds.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = sys::net::socketpair(SocketType::DGRAM)?;
        Ok((UnixDatagram { io: IoSource::new(a) }, UnixDatagram { io: IoSource::new(b) }))
    }

    /// Sets the default destination of `send`.
    ///
    /// # Errors
    ///
    /// `NotFound` / `ConnectionRefused` if nothing is bound there.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        Ok(rustix::net::connect(&self.io, &addr(path.as_ref())?)?)
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
        let to = addr(path.as_ref())?;
        self.io.do_io(Dir::Write, |fd| sys::net::send_to(fd, buf, &to))
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
        let (n, addr) = self.io.do_io(Dir::Read, |fd| sys::net::recv_from(fd, buf, false))?;
        Ok((n, UnixAddr::from_any(addr)))
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// In practice, never.
    pub fn local_addr(&self) -> io::Result<UnixAddr> {
        local(&self.io)
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` when not connected.
    pub fn peer_addr(&self) -> io::Result<UnixAddr> {
        peer(&self.io)
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
