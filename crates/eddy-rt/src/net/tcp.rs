//! TCP: [`TcpListener`] and [`TcpStream`].

use std::future::poll_fn;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use eddy_poll::net as sys;

use crate::driver::{Direction, Registration};

/// A listening TCP socket.
pub struct TcpListener {
    io: sys::TcpListener,
    reg: Registration,
}

impl TcpListener {
    /// Binds `addr` (backlog 1024, `SO_REUSEADDR`) and registers it with
    /// the current runtime.
    ///
    /// # Errors
    ///
    /// The bind failed (`AddrInUse`...), or this is not inside a runtime.
    pub async fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
        TcpListener::from_eddy(sys::TcpListener::bind(addr)?)
    }

    /// Binds `addr` with `SO_REUSEPORT`, so that each loop of
    /// [`Runtimes`](crate::Runtimes) can bind the same address and the
    /// kernel spreads new connections over them.
    ///
    /// # Errors
    ///
    /// As [`bind`](Self::bind).
    pub async fn bind_reuseport(addr: SocketAddr) -> io::Result<TcpListener> {
        let opts = sys::ListenOptions { reuse_port: true, ..sys::ListenOptions::default() };
        TcpListener::from_eddy(sys::TcpListener::bind_with(addr, &opts)?)
    }

    /// Adopts a listener bound elsewhere (made non-blocking here).
    ///
    /// # Errors
    ///
    /// As [`bind`](Self::bind)'s registration.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        TcpListener::from_eddy(sys::TcpListener::from_std(listener)?)
    }

    fn from_eddy(mut io: sys::TcpListener) -> io::Result<TcpListener> {
        let reg = Registration::new(&mut io)?;
        Ok(TcpListener { io, reg })
    }

    /// Accepts a connection (registered with the current runtime).
    ///
    /// Cancel safe: a connection is taken from the kernel's queue only by a
    /// poll that returns it.
    ///
    /// # Errors
    ///
    /// The accept failed (`EMFILE`...), or registering the connection did.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection.
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        match self.reg.poll_io(cx, Direction::Read, || self.io.accept()) {
            Poll::Ready(Ok((stream, peer))) => Poll::Ready(TcpStream::from_eddy(stream).map(|s| (s, peer))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// `getsockname` failed.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        let _ = self.reg.deregister(&mut self.io);
    }
}

impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.io.fmt(f)
    }
}

/// A connected TCP socket.
pub struct TcpStream {
    io: sys::TcpStream,
    reg: Registration,
}

impl TcpStream {
    /// Connects to `addr`: a non-blocking connect, then a wait for the
    /// socket to become writable, then its error, if any.
    ///
    /// # Errors
    ///
    /// Refused, unreachable, or any error the kernel reports for the
    /// connect; not inside a runtime.
    pub async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = TcpStream::from_eddy(sys::TcpStream::connect(addr)?)?;
        poll_fn(|cx| {
            let ev = match stream.reg.poll_ready(cx, Direction::Write) {
                Poll::Ready(Ok(ev)) => ev,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            if let Some(e) = stream.io.take_error()? {
                return Poll::Ready(Err(e));
            }
            match stream.io.peer_addr() {
                Ok(_) => Poll::Ready(Ok(())),
                // Still connecting: the initial "maybe writable" was a guess.
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                    stream.reg.clear_readiness(ev, Direction::Write);
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
                Err(e) => Poll::Ready(Err(e)),
            }
        })
        .await?;
        Ok(stream)
    }

    /// Adopts a connected std socket (made non-blocking here).
    ///
    /// # Errors
    ///
    /// The registration failed, or not inside a runtime.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        TcpStream::from_eddy(sys::TcpStream::from_std(stream)?)
    }

    fn from_eddy(mut io: sys::TcpStream) -> io::Result<TcpStream> {
        let reg = Registration::new(&mut io)?;
        Ok(TcpStream { io, reg })
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// Not connected.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// `getsockname` failed.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    /// Sets `TCP_NODELAY`.
    ///
    /// # Errors
    ///
    /// `setsockopt` failed.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.io.set_nodelay(on)
    }

    /// Shuts down one or both directions (`Write`: our FIN, after what was
    /// sent).
    ///
    /// # Errors
    ///
    /// Not connected.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.shutdown(how)
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
    /// at the peer's FIN (or for an empty `buf`). Cancel safe.
    ///
    /// # Errors
    ///
    /// Reset, or another read error.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_read_priv(cx, buf)).await
    }

    /// Writes some of `buf`, waiting for room if there is none. Cancel
    /// safe.
    ///
    /// # Errors
    ///
    /// Reset (`EPIPE` never raises `SIGPIPE`), or another write error.
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
        poll_fn(|cx| self.reg.poll_io(cx, Direction::Write, || (&self.io).write_vectored(bufs))).await
    }

    /// Reads without taking the bytes from the kernel's queue. Cancel safe.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.reg.poll_io(cx, Direction::Read, || self.io.peek(buf))).await
    }

    /// Borrowed halves, to read and write from two places of one task (or
    /// two futures joined).
    pub fn split(&self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf(self), WriteHalf(self))
    }

    /// Owned halves, for two tasks. Dropping both closes the socket; the
    /// write half's drop does not shut down the write side (call
    /// `shutdown`).
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

impl Drop for TcpStream {
    fn drop(&mut self) {
        let _ = self.reg.deregister(&mut self.io);
    }
}

impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.io.fmt(f)
    }
}

/// `futures_io` for a stream reached through a shared reference.
macro_rules! async_io {
    ($ty:ty, $($get:tt)*) => {
        impl futures_io::AsyncRead for $ty {
            fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
                let s: &TcpStream = $($get)*(&*self);
                s.poll_read_priv(cx, buf)
            }
        }
        impl futures_io::AsyncWrite for $ty {
            fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                let s: &TcpStream = $($get)*(&*self);
                s.poll_write_priv(cx, buf)
            }
            fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
                let s: &TcpStream = $($get)*(&*self);
                s.poll_write_vectored_priv(cx, bufs)
            }
            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                // Nothing is buffered in user space.
                Poll::Ready(Ok(()))
            }
            /// Shuts down the write side (our FIN).
            fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                let s: &TcpStream = $($get)*(&*self);
                Poll::Ready(s.shutdown(Shutdown::Write))
            }
        }
    };
}

fn id(s: &TcpStream) -> &TcpStream {
    s
}
fn deref<'a>(s: &&'a TcpStream) -> &'a TcpStream {
    s
}

async_io!(TcpStream, id);
async_io!(&TcpStream, deref);

/// The read half of [`TcpStream::split`].
#[derive(Debug)]
pub struct ReadHalf<'a>(&'a TcpStream);
/// The write half of [`TcpStream::split`].
#[derive(Debug)]
pub struct WriteHalf<'a>(&'a TcpStream);
/// The read half of [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf(Arc<TcpStream>);
/// The write half of [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedWriteHalf(Arc<TcpStream>);

fn read_half<'a>(h: &ReadHalf<'a>) -> &'a TcpStream {
    h.0
}
fn write_half<'a>(h: &WriteHalf<'a>) -> &'a TcpStream {
    h.0
}
fn owned_read(h: &OwnedReadHalf) -> &TcpStream {
    &h.0
}
fn owned_write(h: &OwnedWriteHalf) -> &TcpStream {
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
    pub fn reunite(self, other: OwnedWriteHalf) -> Result<TcpStream, (OwnedReadHalf, OwnedWriteHalf)> {
        if !Arc::ptr_eq(&self.0, &other.0) {
            return Err((self, other));
        }
        drop(other);
        Arc::try_unwrap(self.0).map_err(unreachable_halves)
    }

    /// The stream, for its addresses, options and readiness methods.
    pub fn stream(&self) -> &TcpStream {
        &self.0
    }
}

/// Both halves were given and one was dropped: the Arc has one owner.
fn unreachable_halves(_: Arc<TcpStream>) -> (OwnedReadHalf, OwnedWriteHalf) {
    unreachable!("both halves of a stream were given to reunite")
}

impl OwnedWriteHalf {
    /// The stream, for its addresses, options and readiness methods.
    pub fn stream(&self) -> &TcpStream {
        &self.0
    }
}
