//! [`Acceptor`]: the concrete handler of a listening socket.
//!
//! On readiness it accepts until `WouldBlock`, at most
//! `Config::accept_budget` connections per turn (the rest are accepted next
//! turn, before the loop blocks: an edge-triggered listener would not
//! report them again).
//!
//! Out of file descriptors (`EMFILE`, `ENFILE`, also `ENOBUFS`/`ENOMEM`):
//! the kernel keeps the connection queued and the listener readable, so a
//! naive loop spins (level) or stalls (edge). The acceptor keeps one spare
//! fd (`/dev/null`) open: it closes the spare, accepts the excess connection
//! and closes it at once (the peer sees its connection closed, not a hang),
//! then reopens the spare, until the queue is empty. If the spare cannot be
//! reopened, it stops accepting for `Config::accept_retry` and tries again
//! on a timer. Each episode is logged once, when it begins, and once when
//! accepting succeeds again.

use std::fs::File;
use std::io;

use eddy_poll::net::TcpListener;

/// What an accept error calls for.
pub(crate) enum AcceptError {
    /// The connection went away while queued (`ECONNABORTED`, `EPROTO`, ...):
    /// try the next one.
    Transient,
    /// Out of fds or kernel memory: the spare-fd dance.
    Exhausted,
    /// Anything else: log it and back off.
    Other,
}

pub(crate) fn classify(e: &io::Error) -> AcceptError {
    match e.raw_os_error() {
        Some(libc_errno::ECONNABORTED | libc_errno::EPROTO | libc_errno::EPERM | libc_errno::EINTR) => {
            AcceptError::Transient
        }
        Some(libc_errno::EMFILE | libc_errno::ENFILE | libc_errno::ENOBUFS | libc_errno::ENOMEM) => {
            AcceptError::Exhausted
        }
        _ => AcceptError::Other,
    }
}

/// errno values (Linux), named without pulling libc into this crate.
mod libc_errno {
    pub(super) const EPERM: i32 = 1;
    pub(super) const EINTR: i32 = 4;
    pub(super) const ENOMEM: i32 = 12;
    pub(super) const ENFILE: i32 = 23;
    pub(super) const EMFILE: i32 = 24;
    pub(super) const EPROTO: i32 = 71;
    pub(super) const ENOBUFS: i32 = 105;
    pub(super) const ECONNABORTED: i32 = 103;
}

/// What [`Acceptor::shed_one`] did.
pub(crate) enum Shed {
    /// An excess connection was accepted with the spare fd and closed.
    One,
    /// No connection was queued: stop until the listener is readable again
    /// (accepting on would fail with EMFILE forever: a spin).
    QueueEmpty,
    /// No spare fd: pause accepting, retry on a timer.
    NoSpare,
}

/// A listener and how to make a handler for each connection it accepts.
pub(crate) struct Acceptor<F> {
    pub(crate) listener: TcpListener,
    /// Makes the handler of an accepted connection (`None` refuses it).
    pub(crate) factory: F,
    /// A spare fd to give back when out of fds; `None` while it is spent.
    spare: Option<File>,
    /// An out-of-fds episode is in progress (logged once).
    pub(crate) exhausted: bool,
    /// Accepting is paused until the retry timer fires.
    pub(crate) paused: bool,
    /// More connections may be queued: accept next turn without an event.
    pub(crate) ready: bool,
}

impl<F> Acceptor<F> {
    pub(crate) fn new(listener: TcpListener, factory: F) -> Acceptor<F> {
        Acceptor { listener, factory, spare: open_spare(), exhausted: false, paused: false, ready: false }
    }

    /// Out of fds: uses the spare to accept one queued connection and close
    /// it.
    pub(crate) fn shed_one(&mut self) -> Shed {
        if !self.exhausted {
            self.exhausted = true;
            tracing::warn!("out of file descriptors: closing excess connections at once until some are freed");
        }
        let Some(spare) = self.spare.take() else { return Shed::NoSpare };
        drop(spare);
        let accepted = self.listener.accept();
        // Out of fds, accept fails with EMFILE whether or not a connection
        // is queued; only with the spare's fd free does it say which.
        let empty = matches!(&accepted, Err(e) if e.kind() == io::ErrorKind::WouldBlock);
        // The excess connection (if any) is closed at once, freeing the fd
        // the spare is reopened in.
        drop(accepted);
        self.spare = open_spare();
        match (self.spare.is_some(), empty) {
            (false, _) => Shed::NoSpare,
            (true, true) => Shed::QueueEmpty,
            (true, false) => Shed::One,
        }
    }

    /// An accept succeeded: an out-of-fds episode is over.
    pub(crate) fn recovered(&mut self) {
        if self.exhausted {
            self.exhausted = false;
            if self.spare.is_none() {
                self.spare = open_spare();
            }
            tracing::info!("file descriptors available again: accepting");
        }
    }
}

fn open_spare() -> Option<File> {
    File::open("/dev/null").ok()
}
