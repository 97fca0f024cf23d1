//! The echo server: every byte back, on the reactor.

use std::io;

use eddy::reactor::{Config, Conn, EventLoop, Handler, Input};

use super::{Common, EchoArgs};

/// The echo protocol: write back what arrives; at the peer's FIN, finish
/// the echo, then send ours (the reactor's default `on_read_closed`).
#[derive(Debug, Default)]
pub struct Echo;

impl Handler for Echo {
    type State = ();

    fn on_data(&mut self, conn: &mut Conn<'_, Self>, input: &mut Input<'_>) {
        conn.write(input.bytes());
        input.consume_all();
    }
}

/// The loop configuration of what every protocol shares: the backend, the
/// shutdown timeout.
pub fn common_config(args: &Common) -> Config {
    Config { backend: args.backend, shutdown_timeout: args.shutdown_timeout, ..Config::default() }
}

/// The loop configuration of the echo server: connections idle for
/// `--idle-timeout` are closed (0: never).
pub fn loop_config(args: &EchoArgs) -> Config {
    Config { idle_timeout: super::unless_zero(args.idle_timeout), ..common_config(&args.common) }
}

/// Runs the echo server until SIGINT or SIGTERM; the ready line goes to
/// `out`.
///
/// # Errors
///
/// Binding failed or a loop failed.
pub fn serve(args: &EchoArgs, out: &mut dyn io::Write) -> io::Result<()> {
    let cfg = loop_config(args);
    super::run(&args.common, "echo", "", out, move |_| EventLoop::new(cfg.clone(), ()), |_: &mut (), _| Some(Echo))
}
