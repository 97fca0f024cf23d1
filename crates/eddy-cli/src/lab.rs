//! `eddy lab`: the arguments, parsed into an [`eddy::lab::Request`].

use std::io;
use std::process::ExitCode;

use eddy::poll::Backend;

/// Arguments of `eddy lab`.
#[derive(clap::Args, Debug, Default)]
pub struct LabArgs {
    /// The experiment to run; without it (and without --all), list them.
    pub name: Option<String>,
    /// Run every experiment; exit non-zero if any verdict fails.
    #[arg(long, conflicts_with = "name")]
    pub all: bool,
    /// Print machine-readable results: one JSON object, or an array with
    /// --all.
    #[arg(long)]
    pub json: bool,
    /// The poller: epoll, poll or select (default: the experiment's first;
    /// with --all, experiments that mean nothing on it are skipped).
    #[arg(long, value_parser = parse_backend)]
    pub backend: Option<Backend>,
    /// The part of an experiment that runs in a child process (internal).
    #[arg(long, hide = true)]
    pub child: Option<String>,
}

fn parse_backend(s: &str) -> Result<Backend, String> {
    s.parse().map_err(|e: io::Error| e.to_string())
}

/// Runs `eddy lab`.
pub fn main(args: &LabArgs) -> ExitCode {
    if let Some(mode) = &args.child {
        return eddy::lab::child_main(mode);
    }
    let req = eddy::lab::Request {
        name: args.name.clone(),
        all: args.all,
        json: args.json,
        backend: args.backend,
        child: None,
    };
    match eddy::lab::command(&req, &mut io::stdout(), &mut io::stderr()) {
        Ok(eddy::lab::Outcome::Pass) => ExitCode::SUCCESS,
        Ok(eddy::lab::Outcome::Fail) => ExitCode::FAILURE,
        Err(e) => {
            let _ = io::Write::write_fmt(&mut io::stderr(), format_args!("eddy lab: {e}\n"));
            ExitCode::from(2)
        }
    }
}
