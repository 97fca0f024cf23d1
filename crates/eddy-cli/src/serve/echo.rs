//! The echo server: every byte back, on the reactor.

use std::io;
use std::time::Duration;

use eddy::reactor::{Config, Conn, EventLoop, Handler, Input};

use super::ServeArgs;

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

/// The loop configuration `eddy serve` derives from its arguments.
pub fn loop_config(args: &ServeArgs) -> Config {
    Config {
        backend: args.backend,
        shutdown_timeout: Duration::from_secs_f64(args.shutdown_timeout.max(0.0)),
        idle_timeout: (args.idle_timeout > 0.0).then(|| Duration::from_secs_f64(args.idle_timeout)),
        ..Config::default()
    }
}

/// Runs the echo server until SIGINT or SIGTERM.
///
/// # Errors
///
/// Binding failed or a loop failed.
pub fn serve(args: &ServeArgs) -> io::Result<()> {
    let cfg = loop_config(args);
    super::run(args, "echo", "", move |_| EventLoop::new(cfg.clone(), ()), |_: &mut (), _| Some(Echo))
}
