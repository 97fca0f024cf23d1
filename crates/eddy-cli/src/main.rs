//! The `eddy` command.
#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "eddy", version, about = "eddy: a Linux event-driven I/O toolkit")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a protocol on the reactor (logs go to stderr; RUST_LOG sets the level).
    Serve(eddy_cli::serve::ServeArgs),
    /// Send delayed requests (`GET /{ms}/{message}`), one connection each, on
    /// one poller; print each response as it arrives.
    Get(eddy_cli::get::GetArgs),
    /// Reproduce, on loopback, what the kernel does under edge, level and
    /// oneshot triggering, around FIN, RST and close; assert each verdict.
    Lab(eddy_cli::lab::LabArgs),
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Serve(args) => {
            init_logs();
            match eddy_cli::serve::main(&args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("eddy serve: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Get(args) => match eddy_cli::get::run(&args, &mut std::io::stdout()) {
            Ok(arrivals) if arrivals.iter().all(|a| a.status == 200) => ExitCode::SUCCESS,
            Ok(_) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("eddy get: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Lab(args) => eddy_cli::lab::main(&args),
    }
}
