//! [`Config`]: every tunable of an event loop, with its default and why.

use std::time::Duration;

use eddy_poll::Backend;

/// How an [`EventLoop`](crate::EventLoop) behaves. `Config::default()` is
/// what `eddy serve` uses.
#[derive(Clone, Debug)]
pub struct Config {
    /// The demultiplexer's backend. On epoll, connections are registered
    /// once, edge-triggered for reading and writing, and never touched again
    /// (no `epoll_ctl` in the steady state). On poll and select, which only
    /// trigger by level, the loop registers writable interest only while
    /// output is pending and drops readable interest while reading is paused.
    pub backend: Backend,
    /// Events per wait. Default 1024.
    pub events: usize,
    /// The loop's shared read buffer: every read lands here first, and only
    /// bytes a handler leaves unconsumed are copied into the connection.
    /// Default 64 KiB.
    pub read_buffer: usize,
    /// Fairness: bytes read from one connection per turn before the others
    /// get their turn; what is left is read next turn, before the loop
    /// blocks again. Default 64 KiB.
    pub read_budget_bytes: usize,
    /// Fairness: reads from one connection per turn. Default 4.
    pub read_budget_reads: u32,
    /// Connections accepted per listener per turn. Default 64.
    pub accept_budget: u32,
    /// The budget of the run phase of each client of the loop core added
    /// with [`EventLoop::add_client`](crate::EventLoop::add_client) (tasks
    /// polled, fibers resumed, per turn); the reactor's connections have
    /// their own read budgets above. Default 64.
    pub client_budget: u32,
    /// Backpressure: when a connection's queued output reaches this, the
    /// loop stops reading from it (and never reads more than the room
    /// left). Default 256 KiB.
    pub high_watermark: usize,
    /// Reading resumes when queued output falls to this. Default 64 KiB.
    pub low_watermark: usize,
    /// Close a connection with no read or write progress for this long.
    /// Default: none.
    pub idle_timeout: Option<Duration>,
    /// Close a connection whose unconsumed input (an incomplete message)
    /// has waited this long for the rest. Default: none.
    pub read_timeout: Option<Duration>,
    /// Abort a connection whose pending output made no progress for this
    /// long. Default: none.
    pub write_timeout: Option<Duration>,
    /// A graceful close waits this long for the peer's FIN after sending its
    /// own, then closes anyway. Default 5 s.
    pub linger_timeout: Duration,
    /// A graceful shutdown (SIGINT, SIGTERM, [`EventLoop::shutdown`]) lets
    /// connections finish for this long, then aborts the rest. Default 10 s.
    ///
    /// [`EventLoop::shutdown`]: crate::EventLoop::shutdown
    pub shutdown_timeout: Duration,
    /// Set `TCP_NODELAY` on every connection. Default true.
    pub nodelay: bool,
    /// Pause accepting this long after an accept error the spare fd cannot
    /// absorb (out of fds with no spare, or an unexpected error). Default
    /// 100 ms.
    pub accept_retry: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            backend: Backend::Epoll,
            events: 1024,
            read_buffer: 64 * 1024,
            read_budget_bytes: 64 * 1024,
            read_budget_reads: 4,
            accept_budget: 64,
            client_budget: 64,
            high_watermark: 256 * 1024,
            low_watermark: 64 * 1024,
            idle_timeout: None,
            read_timeout: None,
            write_timeout: None,
            linger_timeout: Duration::from_secs(5),
            shutdown_timeout: Duration::from_secs(10),
            nodelay: true,
            accept_retry: Duration::from_millis(100),
        }
    }
}

impl Config {
    /// Whether connections are registered edge-triggered (epoll) or by level
    /// with interest kept up to date (poll, select).
    pub(crate) fn edge(&self) -> bool {
        self.backend == Backend::Epoll
    }
}
