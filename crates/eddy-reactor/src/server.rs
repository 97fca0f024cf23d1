//! [`Server`]: several event loops, one per thread (one per core), serving
//! one address.
//!
//! Two ways to share the address ([`ListenerMode`]):
//! - `ReusePort`: each loop binds its own listener with `SO_REUSEPORT`; the
//!   kernel hashes each new connection to one of them (no shared accept
//!   queue, no wake-up of idle loops).
//! - `Exclusive`: one listener, registered in every loop's epoll with
//!   `EPOLLEXCLUSIVE`: a connection wakes one waiting loop, not all of them
//!   (no thundering herd); the accept queue is shared (epoll only).
//!
//! Signals: with `handle_signals`, SIGINT and SIGTERM are blocked in the
//! calling thread *before* the loop threads are spawned (they inherit the
//! mask), and [`Server::wait`] turns either into a graceful shutdown of
//! every loop; a second one ends that shutdown at once (every connection
//! left is aborted). `wait` returns as soon as the last loop has ended:
//! each loop thread, as it ends, wakes the poller `wait` blocks in.
//!
//! Set-up before service: every fd the server needs for itself (the
//! signalfd and its poller, each loop's epoll, waker and spare fd) is made
//! before any loop accepts. A loop that accepted at once could take the
//! last fds of a process with a low limit under a flood of connections,
//! and a set-up that came after would fail with `EMFILE` and end the
//! server. So each loop thread sets up, reports, and waits for the word
//! to run, which comes when every loop is ready.

use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use eddy_poll::net::{ListenOptions, TcpListener};
use eddy_poll::signal::{self, Signal, Signals};
use eddy_poll::{Events, Interest, Poll, Token, Trigger, Waker};

use crate::event_loop::EventLoop;
use crate::handle::LoopHandle;
use crate::handler::Handler;
use crate::reactor::Stats;

/// How several loops share one listening address.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ListenerMode {
    /// One `SO_REUSEPORT` listener per loop.
    ReusePort,
    /// One listener shared with `EPOLLEXCLUSIVE`.
    Exclusive,
}

impl std::str::FromStr for ListenerMode {
    type Err = String;
    fn from_str(s: &str) -> Result<ListenerMode, String> {
        match s {
            "reuseport" => Ok(ListenerMode::ReusePort),
            "exclusive" => Ok(ListenerMode::Exclusive),
            _ => Err(format!("unknown listener mode {s:?}: use reuseport or exclusive")),
        }
    }
}

/// What a [`Server`] runs.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The address to listen on.
    pub addr: SocketAddr,
    /// How many loops (threads). Default 1.
    pub threads: usize,
    /// How the loops share the address. Default `ReusePort`.
    pub mode: ListenerMode,
    /// Turn SIGINT / SIGTERM into a graceful shutdown. Default true.
    pub handle_signals: bool,
}

impl ServerConfig {
    /// One loop on `addr`, `SO_REUSEPORT`, signals handled.
    pub fn new(addr: SocketAddr) -> ServerConfig {
        ServerConfig { addr, threads: 1, mode: ListenerMode::ReusePort, handle_signals: true }
    }
}

/// Running loops and the handles to reach them.
pub struct Server<H: Handler> {
    handles: Vec<LoopHandle<H>>,
    threads: Vec<JoinHandle<io::Result<Stats>>>,
    local_addr: SocketAddr,
    /// With `handle_signals`: SIGINT and SIGTERM, and a poller waiting on
    /// them (made before the loops run: see the module docs).
    signals: Option<(Poll, Signals)>,
    /// Loop threads still running, and the waker (of the signals' poller)
    /// each one wakes as it ends.
    running: Arc<AtomicUsize>,
    ended: Option<Arc<Waker>>,
}

/// The poller tokens of [`Server::wait`].
const SIGNALS: Token = Token(0);
const LOOP_ENDED: Token = Token(1);

/// Counts a loop thread out when it ends (panics included) and wakes
/// [`Server::wait`].
struct Running {
    running: Arc<AtomicUsize>,
    ended: Option<Arc<Waker>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.running.fetch_sub(1, Ordering::AcqRel);
        if let Some(w) = &self.ended {
            let _ = w.wake();
        }
    }
}

fn listeners(cfg: &ServerConfig) -> io::Result<Vec<TcpListener>> {
    let n = cfg.threads.max(1);
    match cfg.mode {
        ListenerMode::ReusePort => {
            let opts = ListenOptions { reuse_port: true, ..ListenOptions::default() };
            let first = TcpListener::bind_with(cfg.addr, &opts)?;
            let addr = first.local_addr()?; // the port chosen, if 0
            let mut all = vec![first];
            for _ in 1..n {
                all.push(TcpListener::bind_with(addr, &opts)?);
            }
            Ok(all)
        }
        ListenerMode::Exclusive => {
            let first = TcpListener::bind(cfg.addr)?;
            let fd = OwnedFd::from(first);
            let mut all = Vec::with_capacity(n);
            for _ in 1..n {
                all.push(TcpListener::from_std(std::net::TcpListener::from(fd.try_clone()?))?);
            }
            all.push(TcpListener::from_std(std::net::TcpListener::from(fd))?);
            Ok(all)
        }
    }
}

impl<H: Handler> Server<H> {
    /// Starts `cfg.threads` loops. Each thread builds its loop with
    /// `init(index)` (state, loop timers), then gets a listener whose
    /// connections' handlers `factory` makes, then runs.
    ///
    /// # Errors
    ///
    /// Binding failed, or a loop could not be set up.
    pub fn start<I, F>(cfg: &ServerConfig, init: I, factory: F) -> io::Result<Server<H>>
    where
        I: Fn(usize) -> io::Result<EventLoop<H>> + Send + Sync + 'static,
        F: FnMut(&mut H::State, SocketAddr) -> Option<H> + Clone + Send + 'static,
    {
        let signals = if cfg.handle_signals {
            // Before any thread exists: they all inherit the mask.
            signal::block(&[Signal::INT, Signal::TERM])?;
            let poll = Poll::new()?;
            let mut signals = Signals::new(&[Signal::INT, Signal::TERM])?;
            poll.registry().register(&mut signals, SIGNALS, Interest::READABLE, Trigger::Level)?;
            Some((poll, signals))
        } else {
            None
        };
        let ended = match &signals {
            Some((poll, _)) => Some(Arc::new(Waker::new(poll.registry(), LOOP_ENDED)?)),
            None => None,
        };
        let listeners = listeners(cfg)?;
        let running = Arc::new(AtomicUsize::new(listeners.len()));
        let local_addr = listeners[0].local_addr()?;
        let exclusive = cfg.mode == ListenerMode::Exclusive;
        let init = std::sync::Arc::new(init);
        let (tx, rx) = mpsc::channel();
        let mut threads = Vec::new();
        let mut go = Vec::new();
        for (i, listener) in listeners.into_iter().enumerate() {
            let (init, factory, tx) = (std::sync::Arc::clone(&init), factory.clone(), tx.clone());
            let guard = Running { running: Arc::clone(&running), ended: ended.clone() };
            let (go_tx, go_rx) = mpsc::channel::<()>();
            go.push(go_tx);
            let thread = std::thread::Builder::new().name(format!("eddy-loop-{i}")).spawn(move || {
                let _running = guard;
                let setup = (|| {
                    let mut lp = init(i)?;
                    lp.add_listener(listener, factory, exclusive)?;
                    let handle = lp.handle()?;
                    Ok::<_, io::Error>((lp, handle))
                })();
                match setup {
                    Ok((mut lp, handle)) => {
                        let _ = tx.send(Ok((i, handle)));
                        // Every loop is set up (or the server gave up:
                        // the sender is gone, and this loop never runs).
                        if go_rx.recv().is_ok() {
                            lp.run()?;
                        }
                        Ok(lp.stats())
                    }
                    Err(e) => {
                        let _ = tx.send(Err(io::Error::new(e.kind(), e.to_string())));
                        Err(e)
                    }
                }
            })?;
            threads.push(thread);
        }
        drop(tx);
        let mut handles: Vec<Option<LoopHandle<H>>> = (0..threads.len()).map(|_| None).collect();
        for msg in rx.iter().take(threads.len()) {
            let (i, handle) = msg?;
            handles[i] = Some(handle);
        }
        let handles = handles
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| io::Error::other("a loop failed to start"))?;
        for g in go {
            let _ = g.send(());
        }
        Ok(Server { handles, threads, local_addr, signals, running, ended })
    }

    /// The address the loops listen on (the port chosen, for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The handle of each loop, in order.
    pub fn handles(&self) -> &[LoopHandle<H>] {
        &self.handles
    }

    /// Asks every loop to shut down gracefully; asked again during that
    /// shutdown, ends it at once (every connection left is aborted).
    pub fn shutdown(&self) {
        for h in &self.handles {
            let _ = h.shutdown();
        }
    }

    /// Waits for SIGINT or SIGTERM (if the server handles signals), shuts
    /// every loop down, and returns their final counters as soon as they
    /// all ended. A second SIGINT or SIGTERM during the shutdown ends it at
    /// once.
    ///
    /// # Errors
    ///
    /// A loop failed, or the signalfd could not be read.
    pub fn wait(mut self) -> io::Result<Vec<Stats>> {
        if let Some((mut poll, signals)) = self.signals.take() {
            let mut events = Events::with_capacity(4);
            let mut stopping = false;
            loop {
                while let Ok(sig) = signals.receive() {
                    if stopping {
                        tracing::info!("{sig:?} received again: closing every connection now");
                    } else {
                        tracing::info!("{sig:?} received: shutting down gracefully");
                    }
                    // The second request ends the shutdown at once.
                    self.shutdown();
                    stopping = true;
                }
                if self.running.load(Ordering::Acquire) == 0 {
                    break;
                }
                // Woken by a signal or by a loop that ended; the timeout
                // is only a safety net.
                poll.poll(&mut events, Some(Duration::from_millis(500)))?;
            }
            self.ended = None;
        }
        self.join()
    }

    /// Waits for every loop to end (after [`shutdown`](Self::shutdown)).
    ///
    /// # Errors
    ///
    /// A loop failed.
    pub fn join(self) -> io::Result<Vec<Stats>> {
        let mut stats = Vec::new();
        for t in self.threads {
            stats.push(t.join().map_err(|_| io::Error::other("an event loop thread panicked"))??);
        }
        Ok(stats)
    }
}
