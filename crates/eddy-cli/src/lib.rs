//! The `eddy` command's subcommands: [`serve`], [`get`], [`lab`]. The
//! binary (`src/main.rs`) parses the command line and calls one of them.

#![forbid(unsafe_code)]

pub mod get;
pub mod lab;
pub mod serve;
