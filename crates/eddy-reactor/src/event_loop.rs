//! [`EventLoop`]: the reactor. One turn reads like its specification:
//!
//! ```text
//! turn = update the clock      (one clock read)
//!      → run due timers        (the wheel: timeouts, user timers, loop timers)
//!      → apply interest changes (level mode only: one reregister per changed connection)
//!      → poll                  (timeout: 0 if work is ready, else until the next timer)
//!      → dispatch              (ready list, then events: accept, read, handle, write)
//!      → run deferred closes   (on_close of the connections that ended this turn)
//! ```
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

use eddy_poll::net::{TcpListener, TcpStream};
use eddy_poll::signal::{Signal, Signals};
use eddy_poll::{Events, Interest, Poll, Registry, Token, Trigger};

use crate::acceptor::Acceptor;
use crate::clock::Clock;
use crate::config::Config;
use crate::core::{Core, flag};
use crate::handle::{Inbox, LoopHandle};
use crate::handler::{CloseReason, Handler};
use crate::slab::{ConnId, Slab};
use crate::wheel::{TimerKey, Wheel};

/// The loop's own tokens (connection tokens are at or above `1 << 32`).
pub(crate) const WAKER: Token = Token(0);
pub(crate) const SIGNALS: Token = Token(1);
/// Listener `i` has token `LISTENER_BASE + i`.
pub(crate) const LISTENER_BASE: usize = 16;

/// What a timer of the wheel stands for.
#[derive(Debug)]
pub(crate) enum TimerEntry {
    /// A connection's timeouts, linger or connect deadline.
    Housekeeping(ConnId),
    /// A timer set by a handler.
    User(ConnId, u64),
    /// A loop timer ([`EventLoop::every`]).
    Loop(usize),
    /// Resume accepting on listener `i` after a back-off.
    AcceptRetry(usize),
    /// The graceful shutdown's deadline.
    Shutdown,
}

/// Counters of one loop, for tests and monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections open now.
    pub live: usize,
    /// Connections accepted.
    pub accepted: u64,
    /// Connections opened by [`EventLoop::connect`].
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
    /// loop timers).
    pub timers: usize,
}

/// A handler factory of a listener.
pub(crate) type Factory<H> = Box<dyn FnMut(&mut <H as Handler>::State, SocketAddr) -> Option<H>>;
/// A loop timer's callback.
type LoopTimer<H> = Box<dyn FnMut(&mut <H as Handler>::State, Instant)>;

/// The per-connection timeouts of the configuration, in whole ticks
/// (rounded up), computed once.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeouts {
    pub(crate) idle: Option<u64>,
    pub(crate) read: Option<u64>,
    pub(crate) write: Option<u64>,
}

impl Timeouts {
    fn of(cfg: &Config) -> Timeouts {
        let t = |d: Option<Duration>| d.map(crate::clock::ticks_up);
        Timeouts { idle: t(cfg.idle_timeout), read: t(cfg.read_timeout), write: t(cfg.write_timeout) }
    }
}

/// The parts of the loop a handler call may touch (all but the connection
/// slab, which holds the handler being called, and the read buffer, which
/// holds its input).
pub(crate) struct Parts<H: Handler> {
    pub(crate) cfg: Config,
    /// `cfg`'s timeouts in ticks.
    pub(crate) timeouts: Timeouts,
    pub(crate) registry: Registry,
    pub(crate) clock: Clock,
    pub(crate) wheel: Wheel<TimerEntry>,
    /// Staging buffer: the output of the connection being dispatched, when
    /// it has none queued. Empty between dispatches.
    pub(crate) wbuf: Vec<u8>,
    /// Connections to service next turn without waiting for an event.
    pub(crate) ready: Vec<ConnId>,
    /// Level mode: connections whose registered interest may be stale.
    pub(crate) dirty: Vec<ConnId>,
    pub(crate) state: H::State,
    pub(crate) stats: Stats,
}

impl<H: Handler> Parts<H> {
    pub(crate) fn mark_ready(&mut self, core: &mut Core, id: ConnId) {
        if !core.has(flag::READY) {
            core.flags |= flag::READY;
            self.ready.push(id);
        }
    }

    pub(crate) fn mark_dirty(&mut self, core: &mut Core, id: ConnId) {
        if !self.cfg.edge() && !core.has(flag::DIRTY) {
            core.flags |= flag::DIRTY;
            self.dirty.push(id);
        }
    }

    pub(crate) fn set_timer(&mut self, after: Duration, entry: TimerEntry) -> TimerKey {
        let at = self.clock.deadline(after);
        self.wheel.insert(at, entry)
    }
}

/// What ended during a turn, for the deferred-close phase.
pub(crate) enum Ended<H> {
    Closed(H, CloseReason),
    ConnectFailed(H, io::Error),
}

/// The reactor: owns the demultiplexer, the connections and their handlers
/// (of type `H`), the listeners and the timers, and runs them turn by turn.
///
/// # Examples
///
/// ```no_run
/// use eddy_reactor::{Config, Conn, EventLoop, Handler, Input};
///
/// struct Echo;
/// impl Handler for Echo {
///     type State = ();
///     fn on_data(&mut self, conn: &mut Conn<'_, Self>, input: &mut Input<'_>) {
///         conn.write(input.bytes());
///         input.consume_all();
///     }
/// }
///
/// let mut lp = EventLoop::new(Config::default(), ())?;
/// lp.listen("127.0.0.1:7000".parse().unwrap(), |_, _| Some(Echo))?;
/// lp.handle_signals()?; // SIGINT / SIGTERM: graceful shutdown
/// lp.run()?;
/// # std::io::Result::Ok(())
/// ```
pub struct EventLoop<H: Handler> {
    pub(crate) poll: Poll,
    /// `None` only while a dispatch iterates it.
    pub(crate) events: Option<Events>,
    pub(crate) slab: Slab<crate::Entry<H>>,
    /// Every read lands here first.
    pub(crate) rbuf: Vec<u8>,
    pub(crate) acceptors: Vec<Option<Acceptor<Factory<H>>>>,
    pub(crate) parts: Parts<H>,
    pub(crate) ended: Vec<Ended<H>>,
    pub(crate) inbox: Option<Inbox<H>>,
    pub(crate) signals: Option<Signals>,
    timers: Vec<(Duration, LoopTimer<H>)>,
    /// Set when a graceful shutdown began.
    pub(crate) stopping: bool,
}

impl<H: Handler> EventLoop<H> {
    /// A loop with no listener yet, and `state` shared by its handlers.
    ///
    /// # Errors
    ///
    /// The poller could not be created (out of fds).
    pub fn new(cfg: Config, state: H::State) -> io::Result<EventLoop<H>> {
        let poll = Poll::with_backend(cfg.backend)?;
        let parts = Parts {
            timeouts: Timeouts::of(&cfg),
            registry: poll.registry().clone(),
            clock: Clock::new(),
            wheel: Wheel::new(),
            wbuf: Vec::with_capacity(cfg.read_buffer),
            ready: Vec::new(),
            dirty: Vec::new(),
            state,
            stats: Stats::default(),
            cfg,
        };
        Ok(EventLoop {
            events: Some(Events::with_capacity(parts.cfg.events)),
            rbuf: vec![0; parts.cfg.read_buffer.max(1)],
            poll,
            slab: Slab::new(),
            acceptors: Vec::new(),
            parts,
            ended: Vec::new(),
            inbox: None,
            signals: None,
            timers: Vec::new(),
            stopping: false,
        })
    }

    /// Binds `addr` and accepts connections on it, making each one's
    /// handler with `factory` (`None` closes the connection at once).
    /// Returns the bound address (with the port chosen, for port 0).
    ///
    /// # Errors
    ///
    /// The bind failed (`AddrInUse`...).
    pub fn listen<F>(&mut self, addr: SocketAddr, factory: F) -> io::Result<SocketAddr>
    where
        F: FnMut(&mut H::State, SocketAddr) -> Option<H> + 'static,
    {
        self.add_listener(TcpListener::bind(addr)?, factory, false)
    }

    /// Accepts connections on a listener made elsewhere (e.g. bound with
    /// `SO_REUSEPORT`, one per loop). With `exclusive`, the listener is
    /// registered with `EPOLLEXCLUSIVE` (epoll only): several loops share
    /// one listener and a connection wakes only one of them.
    ///
    /// # Errors
    ///
    /// The registration failed.
    pub fn add_listener<F>(&mut self, mut listener: TcpListener, factory: F, exclusive: bool) -> io::Result<SocketAddr>
    where
        F: FnMut(&mut H::State, SocketAddr) -> Option<H> + 'static,
    {
        let addr = listener.local_addr()?;
        let token = Token(LISTENER_BASE + self.acceptors.len());
        let trigger = if self.parts.cfg.edge() { Trigger::Edge } else { Trigger::Level };
        if exclusive {
            self.parts.registry.register_exclusive(&listener, token, Interest::READABLE, trigger)?;
        } else {
            self.parts.registry.register(&mut listener, token, Interest::READABLE, trigger)?;
        }
        self.acceptors.push(Some(Acceptor::new(listener, Box::new(factory))));
        Ok(addr)
    }

    /// Registers SIGINT and SIGTERM: either starts a graceful
    /// [`shutdown`](Self::shutdown). Blocks them in the calling thread
    /// (see `eddy_poll::signal` for the other threads).
    ///
    /// # Errors
    ///
    /// The signalfd could not be created.
    pub fn handle_signals(&mut self) -> io::Result<()> {
        let mut signals = Signals::new(&[Signal::INT, Signal::TERM])?;
        self.parts.registry.register(&mut signals, SIGNALS, Interest::READABLE, Trigger::Level)?;
        self.signals = Some(signals);
        Ok(())
    }

    /// A handle other threads use to run closures on this loop.
    ///
    /// # Errors
    ///
    /// The waker could not be registered.
    pub fn handle(&mut self) -> io::Result<LoopHandle<H>> {
        if self.inbox.is_none() {
            self.inbox = Some(Inbox::new(&self.parts.registry, WAKER)?);
        }
        match &self.inbox {
            Some(inbox) => Ok(inbox.handle()),
            None => Err(io::Error::other("inbox missing")),
        }
    }

    /// Calls `f` every `period` (the first time one period from now), with
    /// the shared state and the loop's time. Loop timers keep the loop
    /// alive; they run until the loop ends.
    pub fn every(&mut self, period: Duration, f: impl FnMut(&mut H::State, Instant) + 'static) {
        let index = self.timers.len();
        self.timers.push((period, Box::new(f)));
        self.parts.set_timer(period, TimerEntry::Loop(index));
    }

    /// The shared state.
    pub fn state(&mut self) -> &mut H::State {
        &mut self.parts.state
    }

    /// The loop's counters.
    pub fn stats(&self) -> Stats {
        Stats { live: self.slab.len(), timers: self.parts.wheel.len(), ..self.parts.stats }
    }

    /// The loop's configuration.
    pub fn config(&self) -> &Config {
        &self.parts.cfg
    }

    /// The registry of the loop's poller.
    pub fn registry(&self) -> &Registry {
        &self.parts.registry
    }

    /// Whether a shutdown began and every connection has ended.
    pub fn is_finished(&self) -> bool {
        self.stopping && self.slab.len() == 0
    }

    /// Runs turns until a graceful shutdown finishes.
    ///
    /// # Errors
    ///
    /// The poller failed (not `EINTR`, which is retried).
    pub fn run(&mut self) -> io::Result<()> {
        while !self.is_finished() {
            self.turn(None)?;
        }
        Ok(())
    }

    /// One turn of the loop, waiting at most `max_wait` for events.
    ///
    /// # Errors
    ///
    /// The poller failed.
    pub fn turn(&mut self, max_wait: Option<Duration>) -> io::Result<()> {
        self.parts.clock.update();
        self.run_timers();
        self.apply_interest_changes();
        self.wait(max_wait)?;
        self.dispatch();
        self.run_deferred_closes();
        Ok(())
    }

    /// Starts a graceful shutdown: listeners close at once (new connections
    /// are refused), every handler gets [`Handler::on_shutdown`], and
    /// connections are aborted when `Config::shutdown_timeout` passes. Then
    /// [`run`](Self::run) returns.
    pub fn shutdown(&mut self) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        self.acceptors.clear();
        let timeout = self.parts.cfg.shutdown_timeout;
        self.parts.set_timer(timeout, TimerEntry::Shutdown);
        for id in self.slab.ids() {
            self.call(id, |h, conn| h.on_shutdown(conn));
        }
    }

    fn run_timers(&mut self) {
        let now = self.parts.clock.tick();
        while let Some((_, entry)) = self.parts.wheel.poll_expired(now) {
            match entry {
                TimerEntry::Housekeeping(id) => self.housekeeping(id),
                TimerEntry::User(id, n) => self.call(id, |h, conn| h.on_timer(conn, n)),
                TimerEntry::Loop(i) => {
                    let now = self.parts.clock.now();
                    if let Some((period, f)) = self.timers.get_mut(i) {
                        f(&mut self.parts.state, now);
                        let period = *period;
                        self.parts.set_timer(period, TimerEntry::Loop(i));
                    }
                }
                TimerEntry::AcceptRetry(i) => {
                    if let Some(Some(acc)) = self.acceptors.get_mut(i) {
                        acc.paused = false;
                        acc.ready = true;
                    }
                }
                TimerEntry::Shutdown => {
                    for id in self.slab.ids() {
                        self.finish(id, CloseReason::Shutdown);
                    }
                }
            }
        }
    }

    fn apply_interest_changes(&mut self) {
        let mut dirty = std::mem::take(&mut self.parts.dirty);
        for id in dirty.drain(..) {
            let Some(entry) = self.slab.get_mut(id) else { continue };
            let core = &mut entry.core;
            core.flags &= !flag::DIRTY;
            let read = !core.has(flag::PAUSED | flag::USER_PAUSED | flag::READ_CLOSED)
                || (core.has(flag::CLOSING) && !core.has(flag::READ_CLOSED));
            let write = core.has_queue() || core.has(flag::CONNECTING);
            let wanted = (read, write);
            let current = (core.has(flag::WANT_READ), core.has(flag::WANT_WRITE));
            if wanted == current {
                continue;
            }
            let interest = match wanted {
                (true, true) => Some(Interest::READABLE | Interest::WRITABLE),
                (true, false) => Some(Interest::READABLE),
                (false, true) => Some(Interest::WRITABLE),
                (false, false) => None,
            };
            let reg = &self.parts.registry;
            let result = match (interest, current != (false, false)) {
                (Some(i), true) => reg.reregister(&mut core.stream, id.token(), i, Trigger::Level),
                (Some(i), false) => reg.register(&mut core.stream, id.token(), i, Trigger::Level),
                (None, _) => reg.deregister(&mut core.stream),
            };
            match result {
                Ok(()) => {
                    core.flags &= !(flag::WANT_READ | flag::WANT_WRITE);
                    core.flags |= if read { flag::WANT_READ } else { 0 } | if write { flag::WANT_WRITE } else { 0 };
                }
                Err(e) => self.finish(id, CloseReason::Error(e)),
            }
        }
        // Keep the list's allocation for the next turn.
        if self.parts.dirty.is_empty() {
            self.parts.dirty = dirty;
        }
    }

    fn has_ready_work(&self) -> bool {
        !self.parts.ready.is_empty() || self.acceptors.iter().flatten().any(|a| a.ready && !a.paused)
    }

    fn wait(&mut self, max_wait: Option<Duration>) -> io::Result<()> {
        let timeout = if self.has_ready_work() || self.is_finished() {
            // A finished loop (its last connection ended by a timer of this
            // turn) must not block: `run` returns after this turn.
            Some(Duration::ZERO)
        } else {
            let next = self.parts.wheel.next_deadline().map(|t| self.parts.clock.until(t));
            match (next, max_wait) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        let Some(events) = self.events.as_mut() else { return Ok(()) };
        self.poll.poll(events, timeout)?;
        self.parts.stats.turns += 1;
        // The events happened during the wait: stamp them with its end.
        self.parts.clock.update();
        Ok(())
    }

    fn run_deferred_closes(&mut self) {
        for ended in std::mem::take(&mut self.ended) {
            let mut cx = crate::conn::Closed { parts: &mut self.parts };
            match ended {
                Ended::Closed(h, reason) => h.on_close(&mut cx, reason),
                Ended::ConnectFailed(h, e) => h.on_connect_failed(&mut cx, e),
            }
        }
    }

    /// Starts a connection to `addr` whose protocol is `handler`: it gets
    /// [`Handler::on_open`] once connected, or
    /// [`Handler::on_connect_failed`] if the connect fails or takes longer
    /// than `timeout`. Returns the connection's id, or `None` when it
    /// failed at once (the handler was told, at the end of the turn).
    pub fn connect(&mut self, addr: SocketAddr, timeout: Option<Duration>, handler: H) -> Option<ConnId> {
        match TcpStream::connect(addr) {
            Ok(stream) => self.open(stream, handler, true, timeout),
            Err(e) => {
                self.ended.push(Ended::ConnectFailed(handler, e));
                None
            }
        }
    }

    /// Registers a new connection and stores it; `None` if registering
    /// failed (the handler is told).
    pub(crate) fn open(
        &mut self,
        mut stream: TcpStream,
        handler: H,
        connecting: bool,
        timeout: Option<Duration>,
    ) -> Option<ConnId> {
        if self.parts.cfg.nodelay {
            let _ = stream.set_nodelay(true);
        }
        let id = self.slab.next_id();
        let edge = self.parts.cfg.edge();
        let (interest, trigger, want) = match (edge, connecting) {
            (true, _) => (Interest::READABLE | Interest::WRITABLE, Trigger::Edge, 0),
            (false, false) => (Interest::READABLE, Trigger::Level, flag::WANT_READ),
            (false, true) => (Interest::WRITABLE, Trigger::Level, flag::WANT_WRITE),
        };
        if let Err(e) = self.parts.registry.register(&mut stream, id.token(), interest, trigger) {
            tracing::warn!("cannot register a connection: {e}");
            self.ended.push(if connecting {
                Ended::ConnectFailed(handler, e)
            } else {
                Ended::Closed(handler, CloseReason::Error(e))
            });
            return None;
        }
        let mut core = Core::new(stream, self.parts.clock.stamp());
        core.flags |= want;
        if connecting {
            core.flags |= flag::CONNECTING;
            if let Some(t) = timeout {
                core.deadline = self.parts.clock.deadline(t);
            }
            self.parts.stats.connected += 1;
        } else {
            self.parts.stats.accepted += 1;
        }
        let id2 = self.slab.insert(crate::Entry { handler, core });
        debug_assert_eq!(id, id2);
        if connecting {
            self.after_io(id);
        } else {
            self.call(id, |h, conn| h.on_open(conn));
        }
        Some(id)
    }
}
