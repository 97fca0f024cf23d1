//! `eddy lab`: the arguments, parsed into an [`eddy::lab::Request`] for the
//! lab to run.

use std::io::{self, Write};
use std::process::ExitCode;

use eddy::lab::{ChildCommand, Outcome, Request};
use eddy::poll::Backend;

use crate::Error;

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
    #[arg(long, value_parser = crate::args::backend)]
    pub backend: Option<Backend>,
    /// With `scaling`: also measure the wait cost at 10 to 10,000
    /// descriptors and draw it (select, poll, epoll) to this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<std::path::PathBuf>,
    /// The part of an experiment that runs in a child process (internal).
    #[arg(long, hide = true)]
    pub child: Option<String>,
}

/// Runs `eddy lab`: the listing, one experiment or all of them, to `out`;
/// exit code 1 if a verdict failed.
///
/// # Errors
///
/// An unknown experiment, or one that means nothing on the backend (exit
/// code 2, the listing in the message); an experiment that could not run.
pub fn main(args: &LabArgs, out: &mut dyn Write) -> Result<ExitCode, Error> {
    if let Some(mode) = &args.child {
        return Ok(eddy::lab::child_main(mode));
    }
    if let Some(path) = &args.plot {
        if args.name.as_deref() != Some("scaling") {
            return Err(Error::usage("--plot draws the scaling experiment only: eddy lab scaling --plot FILE.svg"));
        }
        let code = run_request(args, out)?;
        crate::lab_plot::scaling(path, out)?;
        return Ok(code);
    }
    run_request(args, out)
}

fn run_request(args: &LabArgs, out: &mut dyn Write) -> Result<ExitCode, Error> {
    let req = Request {
        name: args.name.clone(),
        all: args.all,
        json: args.json,
        backend: args.backend,
        child: Some(ChildCommand::current_eddy()?),
    };
    match eddy::lab::command(&req, out, &mut io::stderr()) {
        Ok(Outcome::Pass) => Ok(ExitCode::SUCCESS),
        Ok(Outcome::Fail) => Ok(ExitCode::FAILURE),
        Err(e) => Err(Error::usage(e.to_string())),
    }
}
