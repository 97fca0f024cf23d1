//! eddy: a Linux event-driven I/O toolkit.
//!
//! This facade re-exports the layers, each behind a cargo feature:
//!
//! | module      | crate          | feature             | what                                   |
//! |-------------|----------------|---------------------|----------------------------------------|
//! | [`poll`]    | eddy-poll      | always              | the demultiplexer: epoll, poll, select |
//! | `reactor`   | eddy-reactor   | `reactor` (default) | the Reactor pattern                    |
//! | `http`      | eddy-http      | `http` (default)    | the HTTP/1.1 codec                     |
//! | `lab`       | eddy-lab       | `lab`               | the kernel lab's experiments           |
//! | `rt`        | eddy-rt        | `rt`                | async/await on the same loop           |
//!
//! The feature `fiber` (the fibers) is reserved, and empty until that
//! layer is built.
//!
//! The `eddy` command (`eddy serve`, `eddy get`, `eddy lab`) is the
//! `eddy-cli` package; depending on this crate pulls in no argument parser
//! and no log subscriber.

#![forbid(unsafe_code)]

#[cfg(feature = "http")]
pub use eddy_http as http;
#[cfg(feature = "lab")]
pub use eddy_lab as lab;
pub use eddy_poll as poll;
#[cfg(feature = "reactor")]
pub use eddy_reactor as reactor;
#[cfg(feature = "rt")]
pub use eddy_rt as rt;
