//! The child process of the lab's experiments that need one (`sigpipe`),
//! for the lab's own tests: `eddy-lab-child MODE` does what `eddy lab
//! --child MODE` does. Not a front end: the `eddy` command is.
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    match std::env::args().nth(1) {
        Some(mode) => eddy_lab::child_main(&mode),
        None => ExitCode::from(2),
    }
}
