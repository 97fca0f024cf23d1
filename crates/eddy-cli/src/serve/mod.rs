//! `eddy serve`: the servers, on the reactor.

pub mod echo;
pub mod http;

use std::io;
use std::net::SocketAddr;

use eddy::poll::Backend;
use eddy::reactor::{EventLoop, Handler, ListenerMode, Server, ServerConfig};

/// Which protocol `eddy serve` speaks.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// HTTP/1.1: `GET /` (plaintext), `GET /{ms}/{message}` (answered after
    /// the delay), `POST /echo` (the body back).
    Http,
    /// The same HTTP server, named for its delay route.
    Delay,
    /// Echo every byte back.
    Echo,
}

/// Arguments of `eddy serve`.
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// What to serve.
    #[arg(value_enum, default_value = "http")]
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
    /// Close connections idle this many seconds (0: never for echo, 60 s
    /// for HTTP keep-alive).
    #[arg(long, default_value_t = 0.0)]
    pub idle_timeout: f64,
    /// HTTP: seconds a request may take to arrive whole once its first byte
    /// came (slow clients get 408).
    #[arg(long, default_value_t = 10.0)]
    pub header_timeout: f64,
}

/// Runs `eddy serve`.
///
/// # Errors
///
/// Binding failed or a loop failed.
pub fn main(args: &ServeArgs) -> std::io::Result<()> {
    match args.kind {
        Kind::Http | Kind::Delay => http::serve(args),
        Kind::Echo => echo::serve(args),
    }
}

/// Runs `args.threads` loops (each built by `init`, accepting with
/// `factory`) on `args.addr` until SIGINT or SIGTERM; logs
/// `{what}: listening on {scheme}{address}` once bound.
fn run<H, I, F>(args: &ServeArgs, what: &str, scheme: &str, init: I, factory: F) -> io::Result<()>
where
    H: Handler,
    I: Fn(usize) -> io::Result<EventLoop<H>> + Send + Sync + 'static,
    F: FnMut(&mut H::State, SocketAddr) -> Option<H> + Clone + Send + 'static,
{
    let server_cfg = ServerConfig { threads: args.threads, mode: args.listener, ..ServerConfig::new(args.addr) };
    let server = Server::start(&server_cfg, init, factory)?;
    let addr = server.local_addr();
    let (threads, backend, listener) = (args.threads, args.backend, args.listener);
    tracing::info!("{what}: listening on {scheme}{addr} ({threads} loop(s), {backend}, {listener:?})");
    let stats = server.wait()?;
    let served: u64 = stats.iter().map(|s| s.accepted).sum();
    tracing::info!("{what}: stopped after {served} connection(s)");
    Ok(())
}
