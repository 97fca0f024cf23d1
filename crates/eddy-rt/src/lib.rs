//! eddy-rt: async/await on the eddy loop.
//!
//! A [`Runtime`] is an executor added to an eddy loop as one more client
//! of its core (`eddy_reactor::loop_core`): one thread, one poller and one
//! timing wheel serve the Reactor's handlers and the tasks at once, in the
//! same turns. The runtime's phases in the turn: its events wake the tasks
//! waiting on each direction of each socket (`driver.rs`), its timers the
//! sleeps (`time.rs`), and "run woken tasks" polls them, budgeted
//! (`executor.rs`).
//!
//! What is here:
//! - the executor: [`Runtime::block_on`], [`spawn`] / [`spawn_local`]
//!   with a [`JoinHandle`] (abort, detach on drop, [`JoinError`] for a
//!   panic or a cancel), a [`JoinSet`], [`yield_now`], [`spawn_blocking`]
//!   on a bounded pool;
//! - several cores: [`Runtimes`] (one loop per thread), a [`Handle`] to
//!   spawn onto a given loop from any thread;
//! - wakers that wake a task on its home loop from any thread (the loop's
//!   eventfd and a message queue); a wake during a poll polls once more;
//! - the I/O driver (edge-triggered registrations, readiness cleared only
//!   if no newer event came) and async TCP sockets ([`net`]) implementing
//!   `futures_io`'s traits;
//! - [`time`]: `sleep`, `sleep_until`, `timeout`, `interval` on the loop's
//!   wheel, never early;
//! - a cooperative budget per task poll (`coop.rs`);
//! - with the feature `hyper`, `eddy_rt::hyper`: hyper 1.x's IO,
//!   executor and timer traits on eddy-rt (hyper-util's tokio adapter for
//!   eddy).
//!
//! Tasks never move between threads (one runtime per loop, one loop per
//! core); `spawn` requires `Send` only to offer the signature tokio users
//! know.
//!
//! # Safety
//!
//! No `unsafe` here: wakers are `std::task::Wake` implementations, pinning
//! goes through `Box::pin` and `std::pin::pin!`.

#![forbid(unsafe_code)]

mod blocking;
mod context;
mod coop;
mod driver;
mod executor;
mod handle;
#[cfg(feature = "hyper")]
pub mod hyper;
mod join_set;
pub mod net;
mod runtime;
mod runtimes;
pub mod signal;
mod slab;
mod task;
pub mod time;

pub use blocking::{BlockingHandle, spawn_blocking};
pub use handle::{Handle, RemoteJoinHandle};
pub use join_set::JoinSet;
pub use runtime::{NoConnections, Runtime};
pub use runtimes::Runtimes;
pub use task::{AbortHandle, JoinError, JoinHandle, spawn, spawn_local, yield_now};
