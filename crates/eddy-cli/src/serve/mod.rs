//! `eddy serve`: the servers, on the reactor.
//!
//! `eddy serve http [OPTIONS]` (also plain `eddy serve [OPTIONS]`, and
//! `eddy serve delay`, an alias) serves HTTP/1.1; `eddy serve echo
//! [OPTIONS]` echoes every byte back. Both run `--threads` loops on
//! `--addr` until SIGINT or SIGTERM, then shut down gracefully.
//!
//! # The ready line
//!
//! Once every loop is set up and listening, `eddy serve` prints one line
//! to stdout, and flushes it:
//!
//! ```text
//! ready addr=127.0.0.1:38211 loops=2 backend=epoll listener=reuseport protocol=http
//! ```
//!
//! `ready`, then `key=value` fields separated by one space, in this order:
//! `addr` (the bound address, the real port when `--addr` asked for port
//! 0), `loops` (event loops, one thread each), `backend` (`epoll`, `poll`,
//! `select`), `listener` (`reuseport`, `exclusive`), `protocol` (`http`,
//! `echo`). Later versions may add fields at the end. Nothing else is
//! written to stdout; the logs go to stderr.

pub mod echo;
pub mod http;

use std::io::{self, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use eddy::poll::Backend;
use eddy::reactor::{EventLoop, Handler, ListenerMode, Server, ServerConfig};

use crate::Error;
use crate::args::{self, listener_name};

/// What `eddy serve --help` says after the options.
const AFTER_HELP: &str = "\
Durations: 250ms, 10s, 1.5s, 2m, 1h; a bare number is seconds; 0 is explained by each flag.
Once listening, one line goes to stdout:
  ready addr=127.0.0.1:8080 loops=1 backend=epoll listener=reuseport protocol=http";

/// Arguments of `eddy serve`: a protocol, or (none) HTTP with the options
/// given here.
#[derive(clap::Args, Debug, Clone)]
#[command(args_conflicts_with_subcommands = true, after_help = AFTER_HELP)]
pub struct ServeArgs {
    /// The protocol; without one, HTTP.
    #[command(subcommand)]
    pub protocol: Option<Protocol>,
    /// The HTTP server's options, when no protocol is named.
    #[command(flatten)]
    pub http: HttpArgs,
}

/// What `eddy serve` speaks.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Protocol {
    /// HTTP/1.1: `GET /` (plaintext), `GET /{ms}/{message}` (answered after
    /// the delay), `POST /echo` (the body back). The default.
    #[command(visible_alias = "delay", after_help = AFTER_HELP)]
    Http(HttpArgs),
    /// Echo every byte back.
    #[command(after_help = AFTER_HELP)]
    Echo(EchoArgs),
}

/// The options every protocol shares.
#[derive(clap::Args, Debug, Clone)]
pub struct Common {
    /// Address to listen on (loopback by default; port 0: any free port,
    /// named by the ready line).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Event loops, one thread each.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// How several loops share the address: `reuseport` (one listener per
    /// loop) or `exclusive` (one listener, EPOLLEXCLUSIVE).
    #[arg(long, default_value = "reuseport", value_parser = args::listener)]
    pub listener: ListenerMode,
    /// The demultiplexer: epoll, poll or select.
    #[arg(long, default_value = "epoll", value_parser = args::backend)]
    pub backend: Backend,
    /// How long a graceful shutdown (SIGINT, SIGTERM) lets connections
    /// finish before closing them (0: close them at once); the server exits
    /// as soon as the last one is done. A second SIGINT or SIGTERM ends the
    /// wait at once.
    #[arg(long, default_value = "10s", value_parser = args::duration, allow_hyphen_values = true)]
    pub shutdown_timeout: Duration,
}

/// Options of `eddy serve http`.
#[derive(clap::Args, Debug, Clone)]
pub struct HttpArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: Common,
    /// Close a connection that made no progress (nothing read, nothing
    /// written) for this long, such as a keep-alive connection between
    /// requests; one waiting for a delayed answer is not idle (0: never).
    #[arg(long, default_value = "60s", value_parser = args::duration, allow_hyphen_values = true)]
    pub idle_timeout: Duration,
    /// How long a request head may take to arrive whole, from its first
    /// byte (empty lines before it included); a slower one gets 408 and a
    /// close (0: no limit).
    #[arg(long, default_value = "10s", value_parser = args::duration, allow_hyphen_values = true)]
    pub header_timeout: Duration,
    /// How long a request body may take to arrive whole once its head has,
    /// whatever its framing (Content-Length or chunked) and however
    /// steadily it trickles; a slower one gets 408 and a close (0: no
    /// limit).
    #[arg(long, default_value = "10s", value_parser = args::duration, allow_hyphen_values = true)]
    pub body_timeout: Duration,
}

/// Options of `eddy serve echo`.
#[derive(clap::Args, Debug, Clone)]
pub struct EchoArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: Common,
    /// Close a connection that made no progress (nothing read, nothing
    /// written) for this long (0: never).
    #[arg(long, default_value = "0", value_parser = args::duration, allow_hyphen_values = true)]
    pub idle_timeout: Duration,
}

/// Runs `eddy serve`: the ready line to `out`, then serves until SIGINT
/// or SIGTERM.
///
/// # Errors
///
/// Binding failed, a loop failed, or the ready line could not be written.
pub fn main(args: &ServeArgs, out: &mut dyn Write) -> Result<ExitCode, Error> {
    match &args.protocol {
        None => http::serve(&args.http, out)?,
        Some(Protocol::Http(http)) => http::serve(http, out)?,
        Some(Protocol::Echo(echo)) => echo::serve(echo, out)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `Some(d)`, or `None` for zero: a timeout that 0 disables.
fn unless_zero(d: Duration) -> Option<Duration> {
    (!d.is_zero()).then_some(d)
}

/// Runs `args.threads` loops (each built by `init`, accepting with
/// `factory`) on `args.addr` until SIGINT or SIGTERM; logs
/// `{protocol}: listening on {scheme}{address}` and prints the ready line
/// once every loop is set up.
fn run<H, I, F>(args: &Common, protocol: &str, scheme: &str, out: &mut dyn Write, init: I, factory: F) -> io::Result<()>
where
    H: Handler,
    I: Fn(usize) -> io::Result<EventLoop<H>> + Send + Sync + 'static,
    F: FnMut(&mut H::State, SocketAddr) -> Option<H> + Clone + Send + 'static,
{
    let server_cfg = ServerConfig { threads: args.threads, mode: args.listener, ..ServerConfig::new(args.addr) };
    // Returns once every loop is set up and listening.
    let server = Server::start(&server_cfg, init, factory)?;
    let addr = server.local_addr();
    let (threads, backend, listener) = (args.threads, args.backend, args.listener);
    tracing::info!("{protocol}: listening on {scheme}{addr} ({threads} loop(s), {backend}, {listener:?})");
    let ready = ready_line(addr, threads, backend, listener, protocol);
    if let Err(e) = out.write_all(ready.as_bytes()).and_then(|()| out.flush()) {
        // Nobody can learn that the server is up: stop it.
        server.shutdown();
        let _ = server.join();
        return Err(io::Error::new(e.kind(), format!("writing the ready line: {e}")));
    }
    let stats = server.wait()?;
    let served: u64 = stats.iter().map(|s| s.accepted).sum();
    tracing::info!("{protocol}: stopped after {served} connection(s)");
    Ok(())
}

/// The ready line (see the module's doc), with its newline.
pub fn ready_line(addr: SocketAddr, loops: usize, backend: Backend, listener: ListenerMode, protocol: &str) -> String {
    let listener = listener_name(listener);
    format!("ready addr={addr} loops={loops} backend={backend} listener={listener} protocol={protocol}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_line_has_its_documented_shape() {
        let line = ready_line("127.0.0.1:38211".parse().unwrap(), 2, Backend::Epoll, ListenerMode::ReusePort, "http");
        assert_eq!(line, "ready addr=127.0.0.1:38211 loops=2 backend=epoll listener=reuseport protocol=http\n");
        let line = ready_line("[::1]:80".parse().unwrap(), 1, Backend::Select, ListenerMode::Exclusive, "echo");
        assert_eq!(line, "ready addr=[::1]:80 loops=1 backend=select listener=exclusive protocol=echo\n");
    }
}
