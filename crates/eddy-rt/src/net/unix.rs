//! Unix domain sockets: [`UnixListener`], [`UnixStream`] (with borrowed and
//! owned read and write halves), [`UnixDatagram`]; their address is
//! eddy-poll's [`UnixAddr`].

use std::future::poll_fn;
use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::SocketAddr as StdUnixAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use eddy_poll::net as sys;
pub use eddy_poll::net::UnixAddr;

use crate::driver::{Direction, Registration};

/// A listening Unix stream socket.
pub struct UnixListener {
    io: sys::UnixListener,
    reg: Registration,
}

impl UnixListener {
    /// Binds `path` (which must not exist), listens (backlog 1024) and
    /// registers the socket with the current runtime. The path stays in
    /// the file system after the listener is dropped: remove it yourself.
    ///
    /// # Errors
    ///
    /// `AddrInUse` if the path exists; the file system's errors; not
    /// inside a runtime.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        UnixListener::from_eddy(sys::UnixListener::bind(path)?)
    }

    /// Binds `addr`, a path or a name in Linux's abstract namespace (std's
    /// `SocketAddrExt::from_abstract_name`), and listens.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an unnamed address; otherwise as
    /// [`bind`](Self::bind).
    pub fn bind_addr(addr: &StdUnixAddr) -> io::Result<UnixListener> {
        UnixListener::from_eddy(sys::UnixListener::bind_addr(addr)?)
    }

    /// Adopts a listener bound elsewhere (made non-blocking here).
    ///
    /// # Errors
    ///
    /// The registration failed, or not inside a runtime.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        UnixListener::from_eddy(sys::UnixListener::from_std(listener)?)
    }

    fn from_eddy(mut io: sys::UnixListener) -> io::Result<UnixListener> {
        let reg = Registration::new(&mut io)?;
        Ok(UnixListener { io, reg })
    }

    /// Accepts a connection (registered with the current runtime).
    ///
    /// Cancel safe: a connection is taken from the kernel's queue only by a
    /// poll that returns it.
    ///
    /// # Errors
    ///
    /// The accept failed (`EMFILE`...), or registering the connection did.
    pub async fn accept(&self) -> io::Result<(UnixStream, UnixAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection.
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, UnixAddr)>> {
        match self.reg.poll_io(cx, Direction::Read, || self.io.accept()) {
            Poll::Ready(Ok((stream, peer))) => Poll::Ready(UnixStream::from_eddy(stream).map(|s| (s, peer))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// `getsockname` failed.
    pub fn local_addr(&self) -> io::Result<UnixAddr> {
        self.io.local_addr()
    }

    /// The socket's pending error, cleared by reading it.
    ///
    /// # Errors
    ///
    /// `getsockopt` failed.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.take_error()
    }
}

impl Drop for UnixListener {
    fn drop(&mut self) {
        let _ = self.reg.deregister(&mut self.io);
    }
}

impl std::fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.io.fmt(f)
    }
}

/// A connected Unix stream socket.
pub struct UnixStream {
    io: sys::UnixStream,
    reg: Registration,
}

/// The first pause of [`UnixStream::connect`] on a full accept queue, and
/// the longest.
const CONNECT_RETRY: (Duration, Duration) = (Duration::from_millis(1), Duration::from_millis(64));

impl UnixStream {
    /// Connects to the listener at `path`. A Unix connect completes or
    /// fails at once, but for a full accept queue (`WouldBlock`): that one
    /// is retried after a pause (1 ms, doubling up to 64 ms) until the
    /// listener makes room. Cancel safe (bound it with
    /// [`timeout`](crate::time::timeout)).
    ///
    /// # Errors
    ///
    /// `NotFound` / `ConnectionRefused` if nobody listens there; not
    /// inside a runtime.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let path = path.as_ref();
        UnixStream::connect_with(|| sys::UnixStream::connect(path)).await
    }

    /// Connects to the listener at `addr`, a path or an abstract name, as
    /// [`connect`](Self::connect).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an unnamed address; otherwise as
    /// [`connect`](Self::connect).
    pub async fn connect_addr(addr: &StdUnixAddr) -> io::Result<UnixStream> {
        UnixStream::connect_with(|| sys::UnixStream::connect_addr(addr)).await
    }

    async fn connect_with(connect: impl Fn() -> io::Result<sys::UnixStream>) -> io::Result<UnixStream> {
        let mut pause = CONNECT_RETRY.0;
        loop {
            match connect() {
                Ok(stream) => return UnixStream::from_eddy(stream),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    crate::time::sleep(pause).await;
                    pause = (pause * 2).min(CONNECT_RETRY.1);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Two connected streams (`socketpair(2)`), both registered with the
    /// current runtime.
    ///
    /// # Errors
    ///
    /// Out of fds; not inside a runtime.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = sys::UnixStream::pair()?;
        Ok((UnixStream::from_eddy(a)?, UnixStream::from_eddy(b)?))
    }

    /// Adopts a connected std socket (made non-blocking here).
    ///
    /// # Errors
    ///
    /// The registration failed, or not inside a runtime.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        UnixStream::from_eddy(sys::UnixStream::from_std(stream)?)
    }

    fn from_eddy(mut io: sys::UnixStream) -> io::Result<UnixStream> {
        let reg = Registration::new(&mut io)?;
        Ok(UnixStream { io, reg })
    }

    /// The local address (`Unnamed` for a connected client or a pair).
    ///
    /// # Errors
    ///
    /// `getsockname` failed.
    pub fn local_addr(&self) -> io::Result<UnixAddr> {
        self.io.local_addr()
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is gone.
    pub fn peer_addr(&self) -> io::Result<UnixAddr> {
        self.io.peer_addr()
    }

    /// Shuts down one or both directions (`Write`: the peer reads EOF
    /// after what was sent).
    ///
    /// # Errors
    ///
    /// `NotConnected`.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.shutdown(how)
    }

    /// The socket's pending error, cleared by reading it.
    ///
    /// # Errors
    ///
    /// `getsockopt` failed.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.take_error()
    }

    /// Waits until the socket may be readable (or read-closed, or in
    /// error). Cancel safe. A following `try_read` may still see
    /// `WouldBlock` (a spurious readiness): then wait again.
    ///
    /// # Errors
    ///
    /// Not inside the socket's runtime.
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.reg.poll_ready(cx, Direction::Read).map_ok(drop)).await
    }

    /// Waits until the socket may be writable (or closed, or in error).
    /// Cancel safe.
    ///
    /// # Errors
    ///
    /// Not inside the socket's runtime.
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.reg.poll_ready(cx, Direction::Write).map_ok(drop)).await
    }

    /// Reads what is there now, without waiting: `WouldBlock` if nothing
    /// is (the readiness is then cleared, so `readable` waits for the
    /// next event).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the read's error.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.reg.try_io(Direction::Read, || (&self.io).read(buf))
    }

    /// Writes what the kernel takes now, without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the write's error.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.reg.try_io(Direction::Write, || (&self.io).write(buf))
    }

    /// Reads into `buf`: the bytes there now, or waits for some. `Ok(0)`
    /// at the peer's close or write shutdown (or for an empty `buf`).
    /// Cancel safe.
    ///
    /// # Errors
    ///
    /// `ConnectionReset` (the peer closed with unread data), or another
    /// read error.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_read_priv(cx, buf)).await
    }

    /// Writes some of `buf`, waiting for room if there is none. Cancel
    /// safe.
    ///
    /// # Errors
    ///
    /// `BrokenPipe` once the peer is gone (never `SIGPIPE`), or another
    /// write error.
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_write_priv(cx, buf)).await
    }

    /// Writes all of `buf`. Not cancel safe: dropped midway, a prefix may
    /// have been sent.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write); `WriteZero` if the kernel takes nothing.
    pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self.write(buf).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Writes from several buffers in one syscall (`sendmsg`). Cancel safe.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    pub async fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_write_vectored_priv(cx, bufs)).await
    }

    /// Borrowed halves, to read and write from two places of one task (or
    /// two futures joined). With `futures_util::AsyncReadExt` in scope,
    /// `stream.split()` is that trait's `split` (it takes the stream by
    /// value): write `UnixStream::split(&stream)`.
    pub fn split(&self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf(self), WriteHalf(self))
    }

    /// Owned halves, for two tasks. Dropping both closes the socket; the
    /// write half's drop does not shut down the write side (call
    /// `shutdown`, or `close` from `AsyncWriteExt`).
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let shared = Arc::new(self);
        (OwnedReadHalf(Arc::clone(&shared)), OwnedWriteHalf(shared))
    }

    fn poll_read_priv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.reg.poll_io(cx, Direction::Read, || (&self.io).read(buf))
    }

    fn poll_write_priv(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.reg.poll_io(cx, Direction::Write, || (&self.io).write(buf))
    }

    fn poll_write_vectored_priv(&self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        self.reg.poll_io(cx, Direction::Write, || (&self.io).write_vectored(bufs))
    }
}

impl Drop for UnixStream {
    fn drop(&mut self) {
        let _ = self.reg.deregister(&mut self.io);
    }
}

impl std::fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.io.fmt(f)
    }
}

/// `futures_io` for a stream reached through a shared reference.
macro_rules! async_io {
    ($ty:ty, $($get:tt)*) => {
        impl futures_io::AsyncRead for $ty {
            fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
                let s: &UnixStream = $($get)*(&*self);
                s.poll_read_priv(cx, buf)
            }
        }
        impl futures_io::AsyncWrite for $ty {
            fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                let s: &UnixStream = $($get)*(&*self);
                s.poll_write_priv(cx, buf)
            }
            fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
                let s: &UnixStream = $($get)*(&*self);
                s.poll_write_vectored_priv(cx, bufs)
            }
            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                // Nothing is buffered in user space.
                Poll::Ready(Ok(()))
            }
            /// Shuts down the write side (the peer reads EOF).
            fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                let s: &UnixStream = $($get)*(&*self);
                Poll::Ready(s.shutdown(Shutdown::Write))
            }
        }
    };
}

fn id(s: &UnixStream) -> &UnixStream {
    s
}
fn deref<'a>(s: &&'a UnixStream) -> &'a UnixStream {
    s
}

async_io!(UnixStream, id);
async_io!(&UnixStream, deref);

/// The read half of [`UnixStream::split`].
#[derive(Debug)]
pub struct ReadHalf<'a>(&'a UnixStream);
/// The write half of [`UnixStream::split`].
#[derive(Debug)]
pub struct WriteHalf<'a>(&'a UnixStream);
/// The read half of [`UnixStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf(Arc<UnixStream>);
/// The write half of [`UnixStream::into_split`].
#[derive(Debug)]
pub struct OwnedWriteHalf(Arc<UnixStream>);

fn read_half<'a>(h: &ReadHalf<'a>) -> &'a UnixStream {
    h.0
}
fn write_half<'a>(h: &WriteHalf<'a>) -> &'a UnixStream {
    h.0
}
fn owned_read(h: &OwnedReadHalf) -> &UnixStream {
    &h.0
}
fn owned_write(h: &OwnedWriteHalf) -> &UnixStream {
    &h.0
}

impl futures_io::AsyncRead for ReadHalf<'_> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        read_half(&self).poll_read_priv(cx, buf)
    }
}

impl futures_io::AsyncRead for OwnedReadHalf {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        owned_read(&self).poll_read_priv(cx, buf)
    }
}

macro_rules! write_half_io {
    ($ty:ty, $get:ident) => {
        impl futures_io::AsyncWrite for $ty {
            fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                $get(&self).poll_write_priv(cx, buf)
            }
            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                $get(&self).poll_write_vectored_priv(cx, bufs)
            }
            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
            fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready($get(&self).shutdown(Shutdown::Write))
            }
        }
    };
}

write_half_io!(WriteHalf<'_>, write_half);
write_half_io!(OwnedWriteHalf, owned_write);

impl OwnedReadHalf {
    /// Puts the halves back together; `Err` gives them back if they are
    /// not of one stream.
    ///
    /// # Errors
    ///
    /// The halves are of two streams.
    pub fn reunite(self, other: OwnedWriteHalf) -> Result<UnixStream, (OwnedReadHalf, OwnedWriteHalf)> {
        if !Arc::ptr_eq(&self.0, &other.0) {
            return Err((self, other));
        }
        drop(other);
        Arc::try_unwrap(self.0).map_err(unreachable_halves)
    }

    /// The stream, for its addresses and readiness methods.
    pub fn stream(&self) -> &UnixStream {
        &self.0
    }
}

/// Both halves were given and one was dropped: the Arc has one owner.
fn unreachable_halves(_: Arc<UnixStream>) -> (OwnedReadHalf, OwnedWriteHalf) {
    unreachable!("both halves of a stream were given to reunite")
}

impl OwnedWriteHalf {
    /// The stream, for its addresses and readiness methods.
    pub fn stream(&self) -> &UnixStream {
        &self.0
    }
}

/// A Unix datagram socket.
///
/// Datagrams keep their boundaries; a receive into a smaller buffer
/// truncates. Every send and receive is cancel safe: a datagram is taken
/// from (or handed to) the kernel only by a poll that returns. A send to a
/// peer whose queue is full waits (Unix datagrams are not dropped on the
/// floor: the sender is flow-controlled).
pub struct UnixDatagram {
    io: sys::UnixDatagram,
    reg: Registration,
}

impl UnixDatagram {
    /// A socket bound to `path` (which must not exist), registered with
    /// the current runtime.
    ///
    /// # Errors
    ///
    /// `AddrInUse` if the path exists; not inside a runtime.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        UnixDatagram::from_eddy(sys::UnixDatagram::bind(path)?)
    }

    /// A socket bound to `addr`, a path or an abstract name.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an unnamed address; otherwise as
    /// [`bind`](Self::bind).
    pub fn bind_addr(addr: &StdUnixAddr) -> io::Result<UnixDatagram> {
        UnixDatagram::from_eddy(sys::UnixDatagram::bind_addr(addr)?)
    }

    /// An unbound socket (it can send, and receive once connected).
    ///
    /// # Errors
    ///
    /// Out of fds; not inside a runtime.
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_eddy(sys::UnixDatagram::unbound()?)
    }

    /// Two connected sockets (`socketpair(2)`).
    ///
    /// # Errors
    ///
    /// Out of fds; not inside a runtime.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = sys::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_eddy(a)?, UnixDatagram::from_eddy(b)?))
    }

    /// Adopts a std socket (made non-blocking here).
    ///
    /// # Errors
    ///
    /// The registration failed, or not inside a runtime.
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        UnixDatagram::from_eddy(sys::UnixDatagram::from_std(socket)?)
    }

    fn from_eddy(mut io: sys::UnixDatagram) -> io::Result<UnixDatagram> {
        let reg = Registration::new(&mut io)?;
        Ok(UnixDatagram { io, reg })
    }

    /// Sets the default destination of [`send`](Self::send) (and keeps
    /// only its datagrams for [`recv`](Self::recv)). Completes at once.
    ///
    /// # Errors
    ///
    /// `NotFound` / `ConnectionRefused` if nothing is bound there.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.io.connect(path)
    }

    /// As [`connect`](Self::connect), to a path or an abstract name.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an unnamed address; otherwise as
    /// [`connect`](Self::connect).
    pub fn connect_addr(&self, addr: &StdUnixAddr) -> io::Result<()> {
        self.io.connect_addr(addr)
    }

    /// Sends one datagram to the connected peer, waiting while its queue
    /// is full. Cancel safe.
    ///
    /// # Errors
    ///
    /// `NotConnected`; `ConnectionRefused` when the peer is gone.
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

    /// Sends one datagram to the socket bound at `path`. Cancel safe.
    ///
    /// # Errors
    ///
    /// `NotFound` / `ConnectionRefused` if nothing is bound there.
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        poll_fn(|cx| self.reg.poll_io(cx, Direction::Write, || self.io.send_to(buf, path))).await
    }

    /// Sends one datagram to `addr`, a path or an abstract name. Cancel
    /// safe.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an unnamed address; otherwise as
    /// [`send_to`](Self::send_to).
    pub async fn send_to_addr(&self, buf: &[u8], addr: &StdUnixAddr) -> io::Result<usize> {
        poll_fn(|cx| self.reg.poll_io(cx, Direction::Write, || self.io.send_to_addr(buf, addr))).await
    }

    /// Receives one datagram, waiting for one. Cancel safe.
    ///
    /// # Errors
    ///
    /// The receive's error.
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

    /// Receives one datagram and its sender's address (`Unnamed` for an
    /// unbound sender). Cancel safe.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, UnixAddr)> {
        poll_fn(|cx| self.reg.poll_io(cx, Direction::Read, || self.io.recv_from(buf))).await
    }

    /// Waits until a datagram may be queued. Cancel safe; a following
    /// `try_recv` may still see `WouldBlock`: then wait again.
    ///
    /// # Errors
    ///
    /// Not inside the socket's runtime.
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.reg.poll_ready(cx, Direction::Read).map_ok(drop)).await
    }

    /// Waits until a send may not block. Cancel safe.
    ///
    /// # Errors
    ///
    /// Not inside the socket's runtime.
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.reg.poll_ready(cx, Direction::Write).map_ok(drop)).await
    }

    /// Sends to the connected peer now, without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock` (the peer's queue is full), or the send's error.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.reg.try_io(Direction::Write, || self.io.send(buf))
    }

    /// Sends to the socket bound at `path` now, without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the send's error.
    pub fn try_send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        self.reg.try_io(Direction::Write, || self.io.send_to(buf, path))
    }

    /// Receives a datagram queued now, without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock` (none is queued; the readiness is then cleared), or
    /// the receive's error.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.reg.try_io(Direction::Read, || self.io.recv(buf))
    }

    /// Receives a datagram queued now and its sender, without waiting.
    ///
    /// # Errors
    ///
    /// As [`try_recv`](Self::try_recv).
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, UnixAddr)> {
        self.reg.try_io(Direction::Read, || self.io.recv_from(buf))
    }

    /// The local address (`Unnamed` if unbound).
    ///
    /// # Errors
    ///
    /// `getsockname` failed.
    pub fn local_addr(&self) -> io::Result<UnixAddr> {
        self.io.local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` when not connected.
    pub fn peer_addr(&self) -> io::Result<UnixAddr> {
        self.io.peer_addr()
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
    /// `getsockopt` failed.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.take_error()
    }
}

impl Drop for UnixDatagram {
    fn drop(&mut self) {
        let _ = self.reg.deregister(&mut self.io);
    }
}

impl std::fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.io.fmt(f)
    }
}
