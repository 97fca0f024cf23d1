//! [`Reactor`]: the Reactor pattern's connections and listeners, as one
//! client of the loop core.
//!
//! It owns the connection slab (each slot a handler beside the loop's
//! [`Connection`] state of it), the acceptors, the signalfd, the loop
//! timers and what is shared by the handlers of one loop ([`Parts`]); the
//! core hands it the events and timers of its token kinds
//! ([`Kind::LISTENER`], [`Kind::CONNECTION`], [`Kind::HANDLER_TIMER`],
//! [`Kind::REACTOR`]). Its phases in the turn:
//! - **on_io / on_timer**: route to the acceptor (`acceptor.rs`), the
//!   connector (`connector.rs`), the dispatcher (`dispatch.rs`), the
//!   connection's timeouts (`connection/timeouts.rs`) or the shutdown
//!   (`shutdown.rs`);
//! - **prepare** (level-triggered backends only): apply interest changes;
//! - **run**: the work left over from before this turn's dispatch (reads a
//!   budget cut short, handlers that asked for their input again, listeners
//!   with more queued than the accept budget): each connection and listener
//!   is read at most once per turn, whether by an event or from this list
//!   (what the dispatch itself puts on the list waits for the next turn);
//! - **finish_turn**: the deferred closes (`on_close` of the connections
//!   that ended this turn).
//!
//! Invariants:
//! - a connection's slot and fd are released the moment it ends; its
//!   handler's `on_close` runs at the end of the turn. An event or timer of
//!   an ended connection names a stale [`ConnId`] and is dropped (counted in
//!   [`Stats::stale_events`]), never delivered to the slot's next occupant;
//! - the loop blocks only when no connection or listener has work left over
//!   from the previous turn (the ready list is empty);
//! - on epoll, the steady state makes no `epoll_ctl`: connections are
//!   registered once, edge-triggered for both directions.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eddy_poll::signal::Signals;
use eddy_poll::{Interest, Token, Trigger};

use crate::acceptor::Acceptor;
use crate::config::Config;
use crate::connection::timeouts::Timeouts;
use crate::connection::{Connection, state};
use crate::handler::{CloseReason, Handler};
use crate::loop_core::{self, Client, Io, Kind, LoopCore, Timer};
use crate::slab::{ConnId, Slab};

/// Counters of one loop, for tests and monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections open now.
    pub live: usize,
    /// Connections accepted.
    pub accepted: u64,
    /// Connections opened by [`EventLoop::connect`](crate::EventLoop::connect).
    pub connected: u64,
    /// Connections ended.
    pub closed: u64,
    /// Events and timers that named an ended connection and were dropped.
    pub stale_events: u64,
    /// Out-of-fds episodes of the acceptors.
    pub fd_exhaustion_episodes: u64,
    /// Excess connections accepted and closed at once during those
    /// episodes.
    pub shed: u64,
    /// The most output one connection ever had queued after a flush.
    pub max_queued: usize,
    /// Times reading was paused because output reached the high watermark.
    pub backpressure_pauses: u64,
    /// Waits made (turns).
    pub turns: u64,
    /// Timers pending in the wheel now (connection timeouts, handler timers,
    /// loop timers, other clients' timers).
    pub timers: usize,
}

/// A handler factory of a listener.
pub(crate) type Factory<H> = Box<dyn FnMut(&mut <H as Handler>::State, SocketAddr) -> Option<H>>;
/// A loop timer's callback.
type LoopTimer<H> = Box<dyn FnMut(&mut <H as Handler>::State, Instant)>;

/// A connection's slot: its handler beside the loop's state of it (kept
/// apart so a handler call can borrow both).
pub(crate) struct Entry<H> {
    pub(crate) handler: H,
    pub(crate) conn: Connection,
}

/// The parts of the reactor a handler call may touch (all but the
/// connection slab, which holds the handler being called, and the read
/// buffer, which holds its input).
pub(crate) struct Parts<H: Handler> {
    pub(crate) cfg: Config,
    /// `cfg`'s timeouts in ticks.
    pub(crate) timeouts: Timeouts,
    /// Staging buffer: the output of the connection being dispatched, when
    /// it has none queued. Empty between dispatches.
    pub(crate) wbuf: Vec<u8>,
    /// Connections to service without waiting for an event.
    pub(crate) ready: Vec<ConnId>,
    /// Level mode: connections whose registered interest may be stale.
    pub(crate) dirty: Vec<ConnId>,
    pub(crate) state: H::State,
    pub(crate) stats: Stats,
}

impl<H: Handler> Parts<H> {
    pub(crate) fn mark_ready(&mut self, conn: &mut Connection, id: ConnId) {
        if !conn.has(state::READY) {
            conn.state.set(state::READY);
            self.ready.push(id);
        }
    }

    pub(crate) fn mark_dirty(&mut self, conn: &mut Connection, id: ConnId) {
        if !self.cfg.edge() && !conn.has(state::DIRTY) {
            conn.state.set(state::DIRTY);
            self.dirty.push(id);
        }
    }
}

/// What ended during a turn, for the deferred-close phase.
pub(crate) enum Ended<H> {
    Closed(H, CloseReason),
    ConnectFailed(H, io::Error),
}

/// The words of the reactor's own timers ([`Kind::REACTOR`]).
pub(crate) mod timer {
    /// Loop timer number `index` ([`EventLoop::every`](crate::EventLoop::every)).
    pub(crate) const LOOP: u64 = 0;
    /// The graceful shutdown's deadline.
    pub(crate) const SHUTDOWN: u64 = 1;
}

/// The signalfd's token.
pub(crate) const SIGNALS: Token = loop_core::token(Kind::REACTOR, 0, 0);

/// How a connection came to be.
pub(crate) enum Origin {
    /// Accepted by a listener: `on_open` at once.
    Accepted,
    /// A non-blocking connect in progress: `on_open` once it completes,
    /// `on_connect_failed` if it fails or outlasts the timeout.
    Connecting(Option<Duration>),
}

/// The Reactor pattern's client of the loop core.
pub(crate) struct Reactor<H: Handler> {
    pub(crate) slab: Slab<Entry<H>>,
    /// Every read lands here first.
    pub(crate) rbuf: Vec<u8>,
    pub(crate) acceptors: Vec<Option<Acceptor<Factory<H>>>>,
    pub(crate) parts: Parts<H>,
    pub(crate) ended: Vec<Ended<H>>,
    pub(crate) signals: Option<Signals>,
    pub(crate) loop_timers: Vec<(Duration, LoopTimer<H>)>,
    /// Set when a graceful shutdown began.
    pub(crate) stopping: bool,
    /// How many entries of `parts.ready` were there before this turn's
    /// dispatch (set in `prepare`): the run phase services those.
    pub(crate) ready_before_dispatch: usize,
}

impl<H: Handler> Reactor<H> {
    pub(crate) fn new(cfg: Config, state: H::State) -> Reactor<H> {
        let parts = Parts {
            timeouts: Timeouts::of(&cfg),
            wbuf: Vec::with_capacity(cfg.read_buffer),
            ready: Vec::new(),
            dirty: Vec::new(),
            state,
            stats: Stats::default(),
            cfg,
        };
        Reactor {
            rbuf: vec![0; parts.cfg.read_buffer.max(1)],
            slab: Slab::new(),
            acceptors: Vec::new(),
            parts,
            ended: Vec::new(),
            signals: None,
            loop_timers: Vec::new(),
            stopping: false,
            ready_before_dispatch: 0,
        }
    }

    /// The trigger registrations use: edge on epoll, level elsewhere.
    pub(crate) fn trigger(&self) -> Trigger {
        if self.parts.cfg.edge() { Trigger::Edge } else { Trigger::Level }
    }

    /// Calls `f` every `period` (see [`EventLoop::every`](crate::EventLoop::every)).
    pub(crate) fn every(&mut self, core: &mut LoopCore, period: Duration, f: LoopTimer<H>) {
        let index = self.loop_timers.len() as u32;
        self.loop_timers.push((period, f));
        core.set_timer(period, reactor_timer(index, timer::LOOP));
    }

    /// Registers a new connection and stores it; `None` if registering
    /// failed (the handler is told).
    pub(crate) fn open(
        &mut self,
        core: &mut LoopCore,
        mut stream: eddy_poll::net::TcpStream,
        handler: H,
        origin: Origin,
    ) -> Option<ConnId> {
        if self.parts.cfg.nodelay {
            let _ = stream.set_nodelay(true);
        }
        let connecting = matches!(origin, Origin::Connecting(_));
        let registered = match self.slab.next_id() {
            Some(id) => {
                let (interest, trigger, watching) = match (self.parts.cfg.edge(), connecting) {
                    (true, _) => (Interest::READABLE | Interest::WRITABLE, Trigger::Edge, (false, false)),
                    (false, false) => (Interest::READABLE, Trigger::Level, (true, false)),
                    (false, true) => (Interest::WRITABLE, Trigger::Level, (false, true)),
                };
                core.registry.register(&mut stream, id.token(), interest, trigger).map(|()| (id, watching))
            }
            None => Err(io::Error::other("the loop's connection slots are all taken")),
        };
        let (id, watching) = match registered {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("cannot register a connection: {e}");
                self.ended.push(match origin {
                    Origin::Connecting(_) => Ended::ConnectFailed(handler, e),
                    Origin::Accepted => Ended::Closed(handler, CloseReason::Error(e)),
                });
                return None;
            }
        };
        let mut conn = Connection::new(stream, core.clock.stamp());
        conn.state.set_watching(watching);
        match origin {
            Origin::Connecting(timeout) => {
                conn.state.set(state::CONNECTING);
                if let Some(t) = timeout {
                    conn.set_deadline(core.clock.deadline(t));
                }
                self.parts.stats.connected += 1;
            }
            Origin::Accepted => self.parts.stats.accepted += 1,
        }
        let inserted = self.slab.insert(Entry { handler, conn });
        debug_assert_eq!(id, inserted);
        if connecting {
            self.after_io(core, id);
        } else {
            self.call(core, id, |h, conn| h.on_open(conn));
        }
        Some(id)
    }

    /// Ends a connection now: its fd is closed (with RST if aborting), its
    /// slot and buffers freed, its timer cancelled; `on_close` runs at the
    /// end of the turn.
    pub(crate) fn finish(&mut self, core: &mut LoopCore, id: ConnId, reason: CloseReason) {
        let Some(mut entry) = self.release(core, id) else { return };
        let reason = entry.conn.reason.take().unwrap_or(reason);
        if matches!(reason, CloseReason::Aborted | CloseReason::Shutdown | CloseReason::Timeout(crate::Timeout::Write))
        {
            let _ = entry.conn.stream.set_linger(Some(Duration::ZERO));
        }
        let Entry { handler, conn } = entry;
        drop(conn);
        self.ended.push(Ended::Closed(handler, reason));
    }

    /// Takes a connection out of its slot, cancels its timer and counts it
    /// closed; the caller closes the fd (by dropping the connection) and
    /// queues the handler's last call.
    pub(crate) fn release(&mut self, core: &mut LoopCore, id: ConnId) -> Option<Entry<H>> {
        let mut entry = self.slab.remove(id)?;
        if let Some(armed) = entry.conn.timer.take() {
            core.wheel.cancel(armed.key);
        }
        self.parts.stats.closed += 1;
        Some(entry)
    }

    /// Level mode: re-registers every connection whose wanted interest
    /// changed.
    fn apply_interest_changes(&mut self, core: &mut LoopCore) {
        let mut dirty = std::mem::take(&mut self.parts.dirty);
        for id in dirty.drain(..) {
            let Some(entry) = self.slab.get_mut(id) else { continue };
            let conn = &mut entry.conn;
            conn.state.clear(state::DIRTY);
            let wanted = (conn.state.wants_read(), conn.state.wants_write(conn.has_queue()));
            let current = conn.state.watching();
            if wanted == current {
                continue;
            }
            let interest = match wanted {
                (true, true) => Some(Interest::READABLE | Interest::WRITABLE),
                (true, false) => Some(Interest::READABLE),
                (false, true) => Some(Interest::WRITABLE),
                (false, false) => None,
            };
            let reg = &core.registry;
            let result = match (interest, current != (false, false)) {
                (Some(i), true) => reg.reregister(&mut conn.stream, id.token(), i, Trigger::Level),
                (Some(i), false) => reg.register(&mut conn.stream, id.token(), i, Trigger::Level),
                (None, _) => reg.deregister(&mut conn.stream),
            };
            match result {
                Ok(()) => conn.state.set_watching(wanted),
                Err(e) => self.finish(core, id, CloseReason::Error(e)),
            }
        }
        // Keep the list's allocation for the next turn.
        if self.parts.dirty.is_empty() {
            self.parts.dirty = dirty;
        }
    }

    fn run_deferred_closes(&mut self, core: &mut LoopCore) {
        for ended in std::mem::take(&mut self.ended) {
            let mut cx = crate::conn::Closed { core, parts: &mut self.parts };
            match ended {
                Ended::Closed(h, reason) => h.on_close(&mut cx, reason),
                Ended::ConnectFailed(h, e) => h.on_connect_failed(&mut cx, e),
            }
        }
    }

    /// Whether a shutdown began and every connection has ended.
    pub(crate) fn is_finished(&self) -> bool {
        self.stopping && self.slab.len() == 0
    }

    fn run_loop_timer(&mut self, core: &mut LoopCore, index: u32) {
        let now = core.clock.now();
        if let Some((period, f)) = self.loop_timers.get_mut(index as usize) {
            f(&mut self.parts.state, now);
            let period = *period;
            core.set_timer(period, reactor_timer(index, timer::LOOP));
        }
    }
}

impl<H: Handler> Reactor<H> {
    /// An event for a token of [`Kind::CONNECTION`].
    #[inline]
    pub(crate) fn on_connection_token(&mut self, core: &mut LoopCore, token: Token, event: &eddy_poll::Event) {
        match ConnId::from_token(token) {
            Some(id) => self.on_connection_event(core, id, event),
            None => self.parts.stats.stale_events += 1,
        }
    }
}

/// A timer of the reactor's own ([`Kind::REACTOR`]).
pub(crate) fn reactor_timer(index: u32, data: u64) -> Timer {
    Timer { token: loop_core::token(Kind::REACTOR, index, 0), data }
}

impl<H: Handler> Client for Reactor<H> {
    #[inline]
    fn on_io(&mut self, core: &mut LoopCore, token: Token, io: Io<'_>) {
        let Io::Ready(event) = io;
        match loop_core::kind_of(token) {
            Kind::CONNECTION => self.on_connection_token(core, token, event),
            Kind::LISTENER => self.on_listener_event(core, loop_core::slot_of(token).0 as usize),
            _ if token == SIGNALS => self.on_signals(core),
            _ => self.parts.stats.stale_events += 1,
        }
    }

    fn on_timer(&mut self, core: &mut LoopCore, timer: Timer) {
        let (index, _) = loop_core::slot_of(timer.token);
        match loop_core::kind_of(timer.token) {
            Kind::CONNECTION => match ConnId::from_token(timer.token) {
                Some(id) => self.housekeeping(core, id),
                None => self.parts.stats.stale_events += 1,
            },
            Kind::HANDLER_TIMER => match ConnId::from_token(timer.token) {
                Some(id) => self.call(core, id, |h, conn| h.on_timer(conn, timer.data)),
                None => self.parts.stats.stale_events += 1,
            },
            Kind::LISTENER => self.resume_accepting(index as usize),
            Kind::REACTOR if timer.data == timer::LOOP => self.run_loop_timer(core, index),
            Kind::REACTOR if timer.data == timer::SHUTDOWN => self.shutdown_deadline(core),
            _ => self.parts.stats.stale_events += 1,
        }
    }

    fn prepare(&mut self, core: &mut LoopCore) {
        if !self.parts.dirty.is_empty() {
            self.apply_interest_changes(core);
        }
        // Nothing else runs before the dispatch: what is on the list now has
        // waited since before it.
        self.ready_before_dispatch = self.parts.ready.len();
    }

    fn has_work(&self) -> bool {
        !self.parts.ready.is_empty()
            || self.acceptors.iter().flatten().any(|a| a.ready && !a.paused)
            // A finished loop (its last connection ended by a timer of this
            // turn) must not block: `run` returns after this turn.
            || self.is_finished()
    }

    fn run(&mut self, core: &mut LoopCore, _budget: u32) {
        // Each connection and listener has its own read or accept budget;
        // the list holds each at most once.
        self.run_ready(core);
        self.accept_backlog(core);
    }

    fn finish_turn(&mut self, core: &mut LoopCore) {
        if !self.ended.is_empty() {
            self.run_deferred_closes(core);
        }
    }
}
