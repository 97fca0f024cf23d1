//! The `eddy` command's subcommands: [`serve`], [`get`], [`lab`], [`load`], [`bench`]. Each has
//! one entry point of one shape, `main(&Args, stdout) -> Result<ExitCode,
//! Error>`; the binary (`src/main.rs`) parses the command line, sets up the
//! logs and calls one of them.

#![forbid(unsafe_code)]

pub mod args;
pub mod bench;
mod error;
pub mod get;
pub mod lab;
mod lab_plot;
pub mod load;
pub mod serve;

pub use error::Error;
