//! [`EventLoop`]: the reactor. It is the loop core ([`LoopCore`]: poller,
//! clock, wheel, waker) with its clients: the Reactor's connections and
//! listeners (`Reactor<H>`, a typed field: no virtual call on the hot path)
//! and any others added with [`EventLoop::add_client`] (an async executor,
//! a fiber scheduler, a test's counter). One turn reads like its
//! specification:
//!
//! ```text
//! turn = update the clock        (one clock read)
//!      → run due timers          (the wheel, each timer to the client of its token's kind)
//!      → apply interest changes  (level mode only: one reregister per changed connection)
//!      → poll                    (timeout: 0 if a client has work, else until the next timer)
//!      → dispatch events         (by token kind: accept, read, handle, write; the waker: the inbox)
//!      → run runnable work       (each client, budgeted: the reactor's left-over reads and
//!                                 accepts; woken tasks and ready fibers when those exist)
//!      → run deferred closes     (on_close of the connections that ended this turn)
//! ```
//!
//! The phases and the token space are described in `loop_core.rs`; what
//! the reactor does in each, in `reactor.rs`.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eddy_poll::net::TcpListener;
use eddy_poll::{Interest, Poll, Registry, Token};

use crate::acceptor::Acceptor;
use crate::config::Config;
use crate::handle::{Inbox, LoopHandle};
use crate::handler::Handler;
use crate::loop_core::{self, Client, Io, Kind, LoopCore, WAKER};
use crate::reactor::{Reactor, Stats};
use crate::slab::ConnId;

/// The reactor: owns the loop core (the demultiplexer, the clock, the
/// timers), the connections and their handlers (of type `H`), the
/// listeners, and any other clients of the core, and runs them turn by
/// turn.
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
    core: LoopCore,
    reactor: Reactor<H>,
    /// Clients added with `add_client`, by kind (`Kind::FIRST_CLIENT` on).
    clients: Vec<Box<dyn Client>>,
    inbox: Option<Inbox<H>>,
}

impl<H: Handler> EventLoop<H> {
    /// A loop with no listener yet, and `state` shared by its handlers.
    ///
    /// # Errors
    ///
    /// The poller could not be created (out of fds).
    pub fn new(cfg: Config, state: H::State) -> io::Result<EventLoop<H>> {
        let core = LoopCore::new(Poll::with_backend(cfg.backend)?, cfg.events);
        Ok(EventLoop { core, reactor: Reactor::new(cfg, state), clients: Vec::new(), inbox: None })
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
        let index = self.reactor.acceptors.len() as u32;
        let token = loop_core::token(Kind::LISTENER, index, 0);
        let trigger = self.reactor.trigger();
        if exclusive {
            self.core.registry.register_exclusive(&listener, token, Interest::READABLE, trigger)?;
        } else {
            self.core.registry.register(&mut listener, token, Interest::READABLE, trigger)?;
        }
        self.reactor.acceptors.push(Some(Acceptor::new(listener, Box::new(factory))));
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
        self.reactor.handle_signals(&mut self.core)
    }

    /// A handle other threads use to run closures on this loop.
    ///
    /// # Errors
    ///
    /// The waker could not be registered.
    pub fn handle(&mut self) -> io::Result<LoopHandle<H>> {
        if self.inbox.is_none() {
            self.inbox = Some(Inbox::new(self.core.waker()?));
        }
        match &self.inbox {
            Some(inbox) => Ok(inbox.handle()),
            None => Err(io::Error::other("inbox missing")),
        }
    }

    /// Adds a client of the loop core: it gets the I/O events and timers
    /// whose tokens carry the returned kind (make them with
    /// [`loop_core::token`](crate::loop_core::token)), and its phases run
    /// in every turn after the reactor's.
    ///
    /// # Errors
    ///
    /// Every kind is taken (there are `Kind::COUNT - Kind::FIRST_CLIENT`).
    pub fn add_client(&mut self, client: Box<dyn Client>) -> io::Result<Kind> {
        let n = Kind::FIRST_CLIENT.number() as usize + self.clients.len();
        let kind =
            Kind::from_number(n as u8).ok_or_else(|| io::Error::other("every client kind of the loop is taken"))?;
        self.clients.push(client);
        Ok(kind)
    }

    /// The kind the next [`add_client`](Self::add_client) will hand out
    /// (`None` when all are taken), so a client can make its tokens before
    /// it is added.
    pub fn next_client_kind(&self) -> Option<Kind> {
        Kind::from_number((Kind::FIRST_CLIENT.number() as usize + self.clients.len()).try_into().ok()?)
    }

    /// The loop core: its registry, clock and timers, for a client's
    /// set-up outside a turn.
    pub fn core(&mut self) -> &mut LoopCore {
        &mut self.core
    }

    /// Calls `f` every `period` (the first time one period from now), with
    /// the shared state and the loop's time. Loop timers keep the loop
    /// alive; they run until the loop ends.
    pub fn every(&mut self, period: Duration, f: impl FnMut(&mut H::State, Instant) + 'static) {
        self.reactor.every(&mut self.core, period, Box::new(f));
    }

    /// The shared state.
    pub fn state(&mut self) -> &mut H::State {
        &mut self.reactor.parts.state
    }

    /// The loop's counters.
    pub fn stats(&self) -> Stats {
        Stats {
            live: self.reactor.slab.len(),
            timers: self.core.timers(),
            turns: self.core.turns(),
            ..self.reactor.parts.stats
        }
    }

    /// The loop's configuration.
    pub fn config(&self) -> &Config {
        &self.reactor.parts.cfg
    }

    /// The registry of the loop's poller.
    pub fn registry(&self) -> &Registry {
        self.core.registry()
    }

    /// Whether a shutdown began and every connection has ended.
    pub fn is_finished(&self) -> bool {
        self.reactor.is_finished()
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
        self.core.clock.update();
        self.run_due_timers();
        self.apply_interest_changes();
        self.core.wait(if self.has_work() { Some(Duration::ZERO) } else { max_wait })?;
        self.dispatch_events();
        self.run_runnable_work();
        self.run_deferred_closes();
        Ok(())
    }

    /// Starts a graceful shutdown: listeners close at once (new connections
    /// are refused), every handler gets [`Handler::on_shutdown`], and
    /// connections are aborted when `Config::shutdown_timeout` passes. Then
    /// [`run`](Self::run) returns.
    pub fn shutdown(&mut self) {
        self.reactor.shutdown(&mut self.core);
    }

    /// Starts a connection to `addr` whose protocol is `handler`: it gets
    /// [`Handler::on_open`] once connected, or
    /// [`Handler::on_connect_failed`] if the connect fails or takes longer
    /// than `timeout`. Returns the connection's id, or `None` when it
    /// failed at once (the handler was told, at the end of the turn).
    pub fn connect(&mut self, addr: SocketAddr, timeout: Option<Duration>, handler: H) -> Option<ConnId> {
        self.reactor.connect(&mut self.core, addr, timeout, handler)
    }

    fn run_due_timers(&mut self) {
        let now = self.core.clock.tick();
        while let Some((_, timer)) = self.core.wheel.poll_expired(now) {
            let kind = loop_core::kind_of(timer.token);
            if kind < Kind::FIRST_CLIENT {
                self.reactor.on_timer(&mut self.core, timer);
            } else if let Some(c) = client_of(&mut self.clients, kind) {
                c.on_timer(&mut self.core, timer);
            }
        }
    }

    fn apply_interest_changes(&mut self) {
        self.reactor.prepare(&mut self.core);
        for c in &mut self.clients {
            c.prepare(&mut self.core);
        }
    }

    fn has_work(&self) -> bool {
        self.reactor.has_work() || self.clients.iter().any(|c| c.has_work())
    }

    fn dispatch_events(&mut self) {
        let Some(events) = self.core.events.take() else { return };
        for event in &events {
            self.on_event(event.token(), Io::Ready(event));
        }
        self.core.events = Some(events);
    }

    #[inline]
    fn on_event(&mut self, token: Token, io: Io<'_>) {
        let kind = loop_core::kind_of(token);
        if kind == Kind::CONNECTION {
            // The hot path: straight to the connection, no second decode.
            let Io::Ready(event) = io;
            self.reactor.on_connection_token(&mut self.core, token, event);
        } else if kind >= Kind::FIRST_CLIENT {
            if let Some(c) = client_of(&mut self.clients, kind) {
                c.on_io(&mut self.core, token, io);
            }
        } else if token == WAKER {
            self.run_inbox();
        } else {
            self.reactor.on_io(&mut self.core, token, io);
        }
    }

    fn run_runnable_work(&mut self) {
        let budget = self.reactor.parts.cfg.client_budget;
        self.reactor.run(&mut self.core, budget);
        for c in &mut self.clients {
            c.run(&mut self.core, budget);
        }
    }

    fn run_deferred_closes(&mut self) {
        self.reactor.finish_turn(&mut self.core);
        for c in &mut self.clients {
            c.finish_turn(&mut self.core);
        }
    }

    /// Runs the closures posted to this loop.
    fn run_inbox(&mut self) {
        let tasks = match &self.inbox {
            Some(inbox) => inbox.take(),
            None => return,
        };
        for task in tasks {
            task(self);
        }
    }
}

/// The added client a token or timer of `kind` belongs to.
#[inline]
fn client_of(clients: &mut [Box<dyn Client>], kind: Kind) -> Option<&mut Box<dyn Client>> {
    let i = kind.number().checked_sub(Kind::FIRST_CLIENT.number())?;
    clients.get_mut(usize::from(i))
}
