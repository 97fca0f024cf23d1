//! Signals as async events: [`ctrl_c`] and [`Signals`], a signalfd
//! (eddy-poll's [`Signals`](eddy_poll::signal::Signals)) registered with
//! the runtime's driver like a socket.
//!
//! # Block the signals in every thread
//!
//! A signalfd sees a signal only while it is *pending*, and a signal stays
//! pending (rather than running its default action: for SIGINT and
//! SIGTERM, ending the process) only in a thread that **blocks** it. A
//! process-directed signal (`kill`, Ctrl-C in a terminal) goes to any one
//! thread that does not block it. So every thread of the process must block
//! the signals waited for here:
//!
//! - [`Signals::new`] and [`ctrl_c`] block them in the **calling thread**
//!   (the runtime's loop thread), and threads spawned from it afterwards
//!   inherit the mask;
//! - threads that already exist keep their mask: the other loops of
//!   [`Runtimes`](crate::Runtimes), the [`spawn_blocking`](crate::spawn_blocking)
//!   pool, a library's threads, `main` if the runtime runs elsewhere. Call
//!   [`block`] in `main` **before any thread or runtime is made** (the
//!   simple, robust way), or in each such thread.
//!
//! A thread-directed signal ([`raise`], `pthread_kill`) is pending only for
//! its thread, and a signalfd reports it only to a read from that thread:
//! here, the loop thread of the runtime the `Signals` belongs to.
//!
//! Dropping a `Signals` does not unblock its signals (the pending ones
//! would then take their default action at once). Each `Signals` is its
//! own signalfd, and a read takes a pending signal from the kernel: with
//! two `Signals` (or two `ctrl_c` futures) watching one signal, one
//! delivery completes one of them.

use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll};

pub use eddy_poll::signal::{Signal, block, raise};

use crate::driver::{Direction, Registration};

/// Completes at the next SIGINT (Ctrl-C), or at one already pending.
///
/// Blocks SIGINT in the calling thread when first polled (see the
/// [module docs](self) for the other threads): from then on, Ctrl-C no
/// longer ends the process by itself. Cancel safe: a SIGINT is taken from
/// the kernel only by the poll that completes.
///
/// # Errors
///
/// Not inside a runtime; out of file descriptors.
pub async fn ctrl_c() -> io::Result<()> {
    let mut signals = Signals::new(&[Signal::INT])?;
    signals.recv().await.map(drop)
}

/// A stream of signals: those of a set, as they arrive, from a signalfd
/// registered with the current runtime.
pub struct Signals {
    io: eddy_poll::Signals,
    reg: Registration,
}

impl Signals {
    /// Blocks `signals` in the calling thread (see the [module docs](self)
    /// for the other threads), opens a signalfd for them and registers it
    /// with the current runtime.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an invalid signal; out of file descriptors; not
    /// inside a runtime.
    pub fn new(signals: &[Signal]) -> io::Result<Signals> {
        let mut io = eddy_poll::Signals::new(signals)?;
        let reg = Registration::new(&mut io)?;
        Ok(Signals { io, reg })
    }

    /// The next signal of the set: one pending now, or waits for one.
    /// A standard signal raised several times while pending is received
    /// once. Cancel safe: a signal is taken only by the poll that returns
    /// it.
    ///
    /// # Errors
    ///
    /// Not inside the runtime the stream belongs to; the read's error.
    pub async fn recv(&mut self) -> io::Result<Signal> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls [`recv`](Self::recv).
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Signal>> {
        self.reg.poll_io(cx, Direction::Read, || self.io.receive())
    }

    /// A signal pending now, without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if none is pending, or the read's error.
    pub fn try_recv(&mut self) -> io::Result<Signal> {
        self.reg.try_io(Direction::Read, || self.io.receive())
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        let _ = self.reg.deregister(&mut self.io);
    }
}

impl std::fmt::Debug for Signals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.io.fmt(f)
    }
}
