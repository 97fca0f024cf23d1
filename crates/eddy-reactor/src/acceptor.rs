//! [`Acceptor`]: the concrete handler of a listening socket, and the
//! reactor's accept loop.
//!
//! On readiness it accepts until `WouldBlock`, at most
//! `Config::accept_budget` connections per turn (the rest are accepted in
//! the next turn's run phase, before the loop blocks: an edge-triggered
//! listener would not report them again). Each accepted connection gets the
//! handler the listener's factory makes (`None` closes it at once).
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

use crate::handler::Handler;
use crate::io::{Blocked, blocked};
use crate::loop_core::{self, Kind, LoopCore, Timer};
use crate::reactor::{Origin, Reactor};

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
        Some(libc_errno::ECONNABORTED | libc_errno::EPROTO | libc_errno::EPERM) => AcceptError::Transient,
        Some(libc_errno::EMFILE | libc_errno::ENFILE | libc_errno::ENOBUFS | libc_errno::ENOMEM) => {
            AcceptError::Exhausted
        }
        _ => AcceptError::Other,
    }
}

/// errno values (Linux), named without pulling libc into this crate.
mod libc_errno {
    pub(super) const EPERM: i32 = 1;
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
    /// The turn (low 32 bits) it last accepted in: one budget per turn.
    accepted_turn: u32,
}

impl<F> Acceptor<F> {
    pub(crate) fn new(listener: TcpListener, factory: F) -> Acceptor<F> {
        Acceptor {
            listener,
            factory,
            spare: open_spare(),
            exhausted: false,
            paused: false,
            ready: false,
            accepted_turn: 0,
        }
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
        let empty = matches!(accepted.map_err(blocked), Err(Ok(Blocked::WouldBlock)));
        // The excess connection (if any) was closed at once (dropped by the
        // match above), freeing the fd the spare is reopened in.
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

impl<H: Handler> Reactor<H> {
    /// Listener `i` is readable.
    pub(crate) fn on_listener_event(&mut self, core: &mut LoopCore, i: usize) {
        self.accept(core, i);
    }

    /// The run phase: listeners with more queued than their last budget,
    /// unless they accepted this turn already.
    pub(crate) fn accept_backlog(&mut self, core: &mut LoopCore) {
        let turn = core.turns as u32;
        for i in 0..self.acceptors.len() {
            if self.acceptors[i].as_ref().is_some_and(|a| a.ready && !a.paused && a.accepted_turn != turn) {
                self.accept(core, i);
            }
        }
    }

    /// Accepts on listener `i`, up to the budget.
    pub(crate) fn accept(&mut self, core: &mut LoopCore, i: usize) {
        let budget = self.parts.cfg.accept_budget;
        if let Some(Some(acc)) = self.acceptors.get_mut(i) {
            acc.accepted_turn = core.turns as u32;
        }
        for _ in 0..budget {
            let Some(Some(acc)) = self.acceptors.get_mut(i) else { return };
            acc.ready = false;
            if acc.paused {
                return;
            }
            match acc.listener.accept() {
                Ok((stream, peer)) => {
                    acc.recovered();
                    if let Some(handler) = (acc.factory)(&mut self.parts.state, peer) {
                        self.open(core, stream, handler, Origin::Accepted);
                    }
                }
                Err(e) => match blocked(e) {
                    Ok(Blocked::WouldBlock) => return,
                    Ok(Blocked::Retry) => {}
                    Err(e) => match classify(&e) {
                        AcceptError::Transient => {}
                        AcceptError::Exhausted => {
                            if !acc.exhausted {
                                self.parts.stats.fd_exhaustion_episodes += 1;
                            }
                            match acc.shed_one() {
                                Shed::One => self.parts.stats.shed += 1,
                                Shed::QueueEmpty => return,
                                Shed::NoSpare => {
                                    self.pause_accepting(core, i);
                                    return;
                                }
                            }
                        }
                        AcceptError::Other => {
                            tracing::error!("accept failed: {e}; retrying shortly");
                            self.pause_accepting(core, i);
                            return;
                        }
                    },
                },
            }
        }
        // Budget spent: more may be queued, and an edge will not say so.
        if let Some(Some(acc)) = self.acceptors.get_mut(i) {
            acc.ready = true;
        }
    }

    fn pause_accepting(&mut self, core: &mut LoopCore, i: usize) {
        if let Some(Some(acc)) = self.acceptors.get_mut(i) {
            acc.paused = true;
            let retry = self.parts.cfg.accept_retry;
            core.set_timer(retry, Timer { token: loop_core::token(Kind::LISTENER, i as u32, 0), data: 0 });
        }
    }

    /// The retry timer of a paused listener fired.
    pub(crate) fn resume_accepting(&mut self, i: usize) {
        if let Some(Some(acc)) = self.acceptors.get_mut(i) {
            acc.paused = false;
            acc.ready = true;
        }
    }
}
