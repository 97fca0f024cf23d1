//! [`Handler`]: the event handler of the Reactor pattern, one per
//! connection, and what the loop hands it: [`Input`], [`CloseReason`],
//! [`Timeout`].
//!
//! A protocol is a type implementing `Handler`. The loop owns one value of
//! it per connection (stored inline in the connection's slot: no box, no
//! virtual call) and calls its methods when something happens; the handler
//! acts through the [`Conn`] it is given (write, close, set timers) and
//! never touches epoll. Every method but `on_data` has a default.

use std::io;

use crate::conn::{Closed, Conn};

/// Why a connection ended; given to [`Handler::on_close`].
#[derive(Debug)]
pub enum CloseReason {
    /// Closed gracefully: our FIN was sent after all output, and the peer's
    /// FIN arrived (or the linger timeout passed waiting for it).
    Closed,
    /// The handler asked for an abortive close: RST, unsent output dropped.
    Aborted,
    /// The peer reset the connection (`ECONNRESET`, or `EPIPE` on a write).
    Reset,
    /// Another I/O error.
    Error(io::Error),
    /// A timeout of the loop's [`Config`](crate::Config) ended it.
    Timeout(Timeout),
    /// The loop shut down before the connection finished (its shutdown
    /// deadline passed): aborted.
    Shutdown,
}

/// The loop's per-connection timeouts (see [`Config`](crate::Config)).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Timeout {
    /// No read or write progress for `idle_timeout`.
    Idle,
    /// Unconsumed input waited `read_timeout` for the rest of its message.
    Read,
    /// Pending output made no progress for `write_timeout`.
    Write,
}

/// The bytes received and not yet consumed, given to [`Handler::on_data`].
///
/// Consume what you handled; the rest stays and comes back, with what
/// arrives next, at the next `on_data`.
#[derive(Debug)]
pub struct Input<'a> {
    buf: &'a [u8],
    consumed: usize,
}

impl<'a> Input<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Input<'a> {
        Input { buf, consumed: 0 }
    }

    /// The unconsumed bytes.
    #[inline]
    pub fn bytes(&self) -> &'a [u8] {
        &self.buf[self.consumed..]
    }

    /// Marks the first `n` unconsumed bytes handled (at most all of them).
    #[inline]
    pub fn consume(&mut self, n: usize) {
        self.consumed = (self.consumed + n).min(self.buf.len());
    }

    /// Marks every byte handled.
    #[inline]
    pub fn consume_all(&mut self) {
        self.consumed = self.buf.len();
    }

    /// How many bytes are unconsumed.
    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len() - self.consumed
    }

    /// Whether every byte is consumed.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn consumed(&self) -> usize {
        self.consumed
    }
}

/// A connection's protocol: the loop calls these methods; the handler acts
/// through the [`Conn`] it is given.
///
/// # Examples
///
/// An echo server's whole protocol:
///
/// ```
/// use eddy_reactor::{Conn, Handler, Input};
///
/// struct Echo;
///
/// impl Handler for Echo {
///     type State = ();
///     fn on_data(&mut self, conn: &mut Conn<'_, Self>, input: &mut Input<'_>) {
///         conn.write(input.bytes());
///         input.consume_all();
///     }
/// }
/// ```
pub trait Handler: Sized + 'static {
    /// State shared by every handler of one loop (a cache, counters, a
    /// configuration): reached through [`Conn::state`]. `()` if none.
    type State: 'static;

    /// The connection is open: accepted, or connected by
    /// [`EventLoop::connect`](crate::EventLoop::connect).
    fn on_open(&mut self, conn: &mut Conn<'_, Self>) {
        let _ = conn;
    }

    /// New bytes arrived; `input` holds them after any left unconsumed
    /// before.
    fn on_data(&mut self, conn: &mut Conn<'_, Self>, input: &mut Input<'_>);

    /// The peer will send nothing more (its FIN arrived; reads returned 0).
    /// Writing still works (TCP half-close). Default: close gracefully once
    /// the output is sent.
    fn on_read_closed(&mut self, conn: &mut Conn<'_, Self>) {
        conn.close();
    }

    /// Output that had filled the kernel's send buffer has all been sent.
    fn on_drained(&mut self, conn: &mut Conn<'_, Self>) {
        let _ = conn;
    }

    /// Reading was paused (`true`: queued output reached the high
    /// watermark) or resumed (`false`: it fell to the low watermark).
    fn on_backpressure(&mut self, conn: &mut Conn<'_, Self>, paused: bool) {
        let _ = (conn, paused);
    }

    /// A timer set with [`Conn::set_timer`] fired.
    fn on_timer(&mut self, conn: &mut Conn<'_, Self>, id: u64) {
        let _ = (conn, id);
    }

    /// One of the loop's timeouts expired. Default: close gracefully (idle,
    /// read) or abort (write: the peer is not reading, a graceful close
    /// would wait for it too). A handler that keeps the connection gets the
    /// same timeout again a full period later.
    fn on_timeout(&mut self, conn: &mut Conn<'_, Self>, which: Timeout) {
        match which {
            Timeout::Idle | Timeout::Read => conn.close_with(CloseReason::Timeout(which)),
            Timeout::Write => conn.abort_with(CloseReason::Timeout(which)),
        }
    }

    /// The loop is shutting down: finish soon. Default: nothing (the
    /// connection goes on until it ends or the shutdown deadline aborts it).
    fn on_shutdown(&mut self, conn: &mut Conn<'_, Self>) {
        let _ = conn;
    }

    /// A connect started with [`EventLoop::connect`](crate::EventLoop::connect)
    /// failed (refused, unreachable, timed out).
    fn on_connect_failed(self, cx: &mut Closed<'_, Self>, error: io::Error) {
        let _ = (cx, error);
    }

    /// The connection is closed and its slot freed; the last call.
    fn on_close(self, cx: &mut Closed<'_, Self>, reason: CloseReason) {
        let _ = (cx, reason);
    }
}
