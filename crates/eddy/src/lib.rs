//! eddy: a Linux event-driven I/O toolkit.
//!
//! This facade re-exports the layers: [`poll`] (the demultiplexer),
//! [`reactor`] (the Reactor pattern) and [`http`] (the HTTP/1.1 codec); the
//! async runtime and the fibers will join them as they are built. It also
//! holds the `eddy` command's subcommands: [`serve`], [`get`], [`lab`].

#![forbid(unsafe_code)]

pub use eddy_http as http;
pub use eddy_lab as lab;
pub use eddy_poll as poll;
pub use eddy_reactor as reactor;

pub mod get;
pub mod lab_cli;
pub mod serve;
