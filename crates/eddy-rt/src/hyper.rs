//! hyper 1.x on eddy-rt (feature `hyper`): what hyper-util's tokio adapter
//! (`TokioIo`, `TokioExecutor`, `TokioTimer`) is for tokio.
//!
//! - [`EddyIo`] makes any `futures_io::AsyncRead + AsyncWrite` (eddy-rt's
//!   [`TcpStream`](crate::net::TcpStream), its halves, a TLS stream...) a
//!   `hyper::rt::Read + Write`, and any hyper IO (an upgraded connection)
//!   a `futures_io` one.
//! - [`EddyExecutor`] spawns hyper's background futures (HTTP/2's) on the
//!   current loop with [`spawn`](crate::spawn); [`EddyLocalExecutor`] does
//!   so for `!Send` futures with [`spawn_local`](crate::spawn_local) (a
//!   loop's tasks never leave its thread, so nothing needs `Send`).
//! - [`EddyTimer`] gives hyper its timeouts (header read, keep-alive) on
//!   the loop's timing wheel ([`time::Sleep`]).
//!
//! ```no_run
//! use std::convert::Infallible;
//! use eddy_rt::hyper::{EddyIo, EddyTimer};
//! use hyper::{Request, Response, body::Incoming, server::conn::http1, service::service_fn};
//!
//! async fn hello(_: Request<Incoming>) -> Result<Response<String>, Infallible> {
//!     Ok(Response::new("Hello, World!".to_string()))
//! }
//!
//! let mut rt = eddy_rt::Runtime::new()?;
//! rt.block_on(async {
//!     let listener = eddy_rt::net::TcpListener::bind("127.0.0.1:8080".parse().unwrap()).await?;
//!     loop {
//!         let (stream, _) = listener.accept().await?;
//!         eddy_rt::spawn(async move {
//!             let conn = http1::Builder::new().timer(EddyTimer).serve_connection(EddyIo::new(stream), service_fn(hello));
//!             let _ = conn.await;
//!         });
//!     }
//!     # #[allow(unreachable_code)] std::io::Result::Ok(())
//! })??;
//! # std::io::Result::Ok(())
//! ```
//!
//! # Reads: one copy, no `unsafe`
//!
//! hyper hands a read a `ReadBufCursor` over uninitialized memory; filling
//! it in place needs `unsafe` (`as_mut` + `advance`), which this crate
//! forbids, and the cursor's safe `initialize_unfilled` gives a slice but
//! no safe way to mark it filled. So [`EddyIo`] reads into a scratch buffer
//! of the thread (64 KiB, allocated and zeroed once per thread, shared by
//! every connection of the loop: no memory per connection, no zeroing per
//! read) and `put_slice`s what came: one `memcpy` of the bytes read, a few
//! nanoseconds for a request head, ~10 GB/s for bodies. A read is never
//! larger than the cursor's room, so nothing read is ever held back.

use std::cell::Cell;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ::hyper::rt::{ReadBuf, ReadBufCursor};

use crate::time;

/// The scratch buffer's size: the most one read takes.
const SCRATCH: usize = 64 * 1024;

thread_local! {
    /// The read scratch of this thread: taken by a read, put back after.
    static SCRATCH_BUF: Cell<Option<Box<[u8]>>> = const { Cell::new(None) };
}

/// An IO object for hyper over a `futures_io` one, and for `futures_io`
/// over a hyper one (`hyper::upgrade::Upgraded`): hyper-util's `TokioIo`
/// for eddy-rt.
///
/// `T` must be `Unpin` (eddy-rt's sockets are); pin a `!Unpin` stream in a
/// `Box` (`Pin<Box<T>>` is `Unpin` and keeps the traits).
#[derive(Debug)]
pub struct EddyIo<T> {
    inner: T,
    write_vectored: bool,
}

impl<T> EddyIo<T> {
    /// Wraps `inner`. It is told to hyper as having an efficient
    /// vectored write (true of eddy-rt's `TcpStream` and its halves: one
    /// `sendmsg`); for a stream whose `poll_write_vectored` is
    /// `futures_io`'s default, say otherwise with
    /// [`with_write_vectored(false)`](Self::with_write_vectored).
    pub fn new(inner: T) -> EddyIo<T> {
        EddyIo { inner, write_vectored: true }
    }

    /// What hyper is told of the vectored write: `true`, hyper queues a
    /// response's head and body buffers and writes them with one vectored
    /// write; `false`, it copies them into one buffer first.
    #[must_use]
    pub fn with_write_vectored(mut self, efficient: bool) -> EddyIo<T> {
        self.write_vectored = efficient;
        self
    }

    /// The wrapped stream.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably.
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the stream.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T> ::hyper::rt::Read for EddyIo<T>
where
    T: futures_io::AsyncRead + Unpin,
{
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, mut buf: ReadBufCursor<'_>) -> Poll<io::Result<()>> {
        let inner = Pin::new(&mut self.get_mut().inner);
        // The thread's scratch (or, re-entered or while the thread ends,
        // a buffer of this read's own).
        let mut scratch =
            SCRATCH_BUF.try_with(Cell::take).ok().flatten().unwrap_or_else(|| vec![0u8; SCRATCH].into_boxed_slice());
        let window = &mut scratch[..buf.remaining().min(SCRATCH)];
        let out = match inner.poll_read(cx, window) {
            // A reader that says it read more than it was given is broken:
            // an error, never a panic.
            Poll::Ready(Ok(got)) => match window.get(..got) {
                Some(bytes) => {
                    buf.put_slice(bytes);
                    Poll::Ready(Ok(()))
                }
                None => Poll::Ready(Err(io::Error::other("poll_read returned more bytes than it was given room for"))),
            },
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        };
        let _ = SCRATCH_BUF.try_with(|s| s.set(Some(scratch)));
        out
    }
}

impl<T> ::hyper::rt::Write for EddyIo<T>
where
    T: futures_io::AsyncWrite + Unpin,
{
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    /// `futures_io`'s `poll_close`: for eddy-rt's `TcpStream`, our FIN.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.write_vectored
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }
}

impl<T> futures_io::AsyncRead for EddyIo<T>
where
    T: ::hyper::rt::Read + Unpin,
{
    /// Zero-copy: `buf` is initialized, so hyper's `ReadBuf::new` takes it
    /// as it is.
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut read_buf = ReadBuf::new(buf);
        match Pin::new(&mut self.get_mut().inner).poll_read(cx, read_buf.unfilled()) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(read_buf.filled().len())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> futures_io::AsyncWrite for EddyIo<T>
where
    T: ::hyper::rt::Write + Unpin,
{
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// hyper's executor for `Send` futures: [`spawn`](crate::spawn) on the
/// current loop (the task is detached; it runs to its end). hyper-util's
/// `TokioExecutor` for eddy-rt.
///
/// # Panics
///
/// `execute` panics outside an eddy-rt runtime, as `spawn` does (hyper
/// calls it from the connection's future, which runs on one).
#[derive(Clone, Copy, Debug, Default)]
pub struct EddyExecutor;

impl<F> ::hyper::rt::Executor<F> for EddyExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        drop(crate::spawn(future));
    }
}

/// hyper's executor for futures that need not be `Send` (a `!Send`
/// service, HTTP/2 with `Rc` state): [`spawn_local`](crate::spawn_local)
/// on the current loop. eddy-rt is thread-per-core, so this is as good as
/// [`EddyExecutor`].
///
/// # Panics
///
/// As [`EddyExecutor`], outside a runtime.
#[derive(Clone, Copy, Debug, Default)]
pub struct EddyLocalExecutor;

impl<F> ::hyper::rt::Executor<F> for EddyLocalExecutor
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn execute(&self, future: F) {
        drop(crate::spawn_local(future));
    }
}

/// hyper's timer on the loop's timing wheel: hyper-util's `TokioTimer`
/// for eddy-rt. Its sleeps, like every eddy-rt sleep, are never early and
/// are rounded up to the wheel's millisecond; they must be polled inside
/// the runtime (hyper polls them in the connection's future).
#[derive(Clone, Copy, Debug, Default)]
pub struct EddyTimer;

/// [`time::Sleep`] as a `hyper::rt::Sleep`.
#[derive(Debug)]
struct EddySleep(time::Sleep);

impl Future for EddySleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.get_mut().0).poll(cx)
    }
}

impl ::hyper::rt::Sleep for EddySleep {}

impl ::hyper::rt::Timer for EddyTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(EddySleep(time::sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(EddySleep(time::sleep_until(deadline)))
    }

    /// Moves an eddy sleep's deadline in place (its timer slot is kept and
    /// re-armed); a sleep of another timer is replaced.
    fn reset(&self, sleep: &mut Pin<Box<dyn ::hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<EddySleep>() {
            Some(ours) => ours.get_mut().0.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}
