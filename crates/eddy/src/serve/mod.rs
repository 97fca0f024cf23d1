//! `eddy serve`: the servers, on the reactor.

pub mod echo;

use std::net::SocketAddr;

use eddy_poll::Backend;
use eddy_reactor::ListenerMode;

/// Which protocol `eddy serve` speaks.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Echo every byte back.
    Echo,
}

/// Arguments of `eddy serve`.
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// What to serve.
    #[arg(value_enum)]
    pub kind: Kind,
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Event loops, one thread each.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// How several loops share the address: `reuseport` (one listener per
    /// loop) or `exclusive` (one listener, EPOLLEXCLUSIVE).
    #[arg(long, default_value = "reuseport")]
    pub listener: ListenerMode,
    /// The demultiplexer: epoll, poll or select.
    #[arg(long, default_value = "epoll")]
    pub backend: Backend,
    /// Seconds a graceful shutdown (SIGINT, SIGTERM) lets connections finish.
    #[arg(long, default_value_t = 10.0)]
    pub shutdown_timeout: f64,
    /// Close connections idle this many seconds (0: never).
    #[arg(long, default_value_t = 0.0)]
    pub idle_timeout: f64,
}

/// Runs `eddy serve`.
///
/// # Errors
///
/// Binding failed or a loop failed.
pub fn main(args: &ServeArgs) -> std::io::Result<()> {
    match args.kind {
        Kind::Echo => echo::serve(args),
    }
}
