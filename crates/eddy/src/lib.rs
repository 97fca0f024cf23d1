//! eddy: a Linux event-driven I/O toolkit.
//!
//! This facade re-exports the layers (`eddy-poll` today; the reactor, the
//! HTTP codec, the async runtime and the fibers as they land) and holds the
//! `eddy` command's subcommands.

#![forbid(unsafe_code)]

pub use eddy_poll as poll;
pub use eddy_reactor as reactor;

pub mod get;
pub mod lab;
pub mod serve;
