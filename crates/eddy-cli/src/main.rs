//! The `eddy` command: parses the command line, sets up the logs and runs
//! one subcommand. Every subcommand has the same entry point,
//! `main(&Args, stdout) -> Result<ExitCode, Error>`.
#![forbid(unsafe_code)]
#![allow(clippy::print_stderr)]

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use eddy_cli::{bench, get, lab, load, serve};

#[derive(Parser)]
#[command(name = "eddy", version, about = "eddy: a Linux event-driven I/O toolkit")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a protocol on the reactor: HTTP (the default) or echo. Logs go
    /// to stderr (RUST_LOG sets the level); once listening, one `ready ...`
    /// line goes to stdout.
    Serve(serve::ServeArgs),
    /// Send delayed requests (`GET /{ms}/{message}`), one connection each, on
    /// one poller; print each response as it arrives.
    Get(get::GetArgs),
    /// Reproduce, on loopback, what the kernel does under edge, level and
    /// oneshot triggering, around FIN, RST and close; assert each verdict.
    Lab(lab::LabArgs),
    /// Load an HTTP/1.1 server (wrk-like, closed model; --rate: open model
    /// with coordinated-omission correction, wrk2-like) and report req/s,
    /// latency percentiles and errors.
    Load(load::LoadArgs),
    /// Run HTTP servers side by side (each pinned to a core), load each with
    /// `eddy load`, and compare server CPU per request, req/s and latency:
    /// tables, DIR/results.json and SVG plots.
    Bench(bench::BenchArgs),
}

/// Logs to stderr, at the level RUST_LOG says (info by default), in colour
/// only on a terminal (and not with NO_COLOR set).
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()))
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs();
    let mut out = std::io::stdout();
    let (name, result) = match &cli.command {
        Command::Serve(args) => ("serve", serve::main(args, &mut out)),
        Command::Get(args) => ("get", get::main(args, &mut out)),
        Command::Lab(args) => ("lab", lab::main(args, &mut out)),
        Command::Load(args) => ("load", load::main(args, &mut out)),
        Command::Bench(args) => ("bench", bench::main(args, &mut out)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("eddy {name}: {e}");
            e.exit_code()
        }
    }
}
