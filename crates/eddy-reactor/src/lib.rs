//! eddy-reactor: the Reactor pattern on eddy-poll.
//!
//! The roles, by name:
//! - **handles**: the sockets (`eddy_poll::net`);
//! - the **synchronous event demultiplexer**: `eddy_poll::Poll`;
//! - the **event handler**: the [`Handler`] trait, one value per connection;
//! - **concrete handlers**: the acceptor (accepts and makes a handler per
//!   connection: [`EventLoop::listen`]), the connector
//!   ([`EventLoop::connect`]) and the buffered connection every handler acts
//!   through ([`Conn`]);
//! - the **reactor**: [`EventLoop`], whose turn is a sequence of named
//!   phases (see its module docs).
//!
//! Around them: a hierarchical timing [`wheel`] (O(1) insert and cancel)
//! that sets the poll timeout and drives per-connection idle, read and write
//! timeouts; backpressure by watermarks; graceful and abortive close;
//! graceful shutdown on SIGINT/SIGTERM; several loops, one per core
//! ([`Server`]); [`LoopHandle`] to post work to a loop from another thread.
//!
//! A user writes a protocol by implementing [`Handler`] and never touches
//! epoll. See the [`Handler`] example for an echo server's whole protocol.
//!
//! # Costs
//!
//! Measured (`docs/PERFORMANCE.md` has the commands and every run):
//! - **Memory**: an idle connection costs its slab slot, 104 bytes with the
//!   echo handler (the socket, flags, two ticks, the housekeeping timer's
//!   key and no buffer: buffers exist only while bytes are in flight);
//!   10,000 idle echo connections cost 115 B each in RSS, against 4,864 B
//!   for a tokio echo server with a 4 KiB buffer per task.
//! - **Syscalls**: per request of a keep-alive HTTP connection, one read,
//!   one write and a share of one `epoll_wait` (2.23 at 128 connections);
//!   no `epoll_ctl` in the steady state.
//! - **Timers**: insert 5 ns, cancel 42 ns with a million live timers
//!   (4.5 × and 6.3 × faster than tokio-util's `DelayQueue`).
//! - **Dispatch**: about 300 instructions per event in the loop itself
//!   (event, read, flush, timeout bookkeeping), beside the handler's own.

#![forbid(unsafe_code)]

mod acceptor;
mod clock;
mod config;
mod conn;
mod connection;
mod connector;
mod dispatch;
mod event_loop;
mod handle;
mod handler;
mod io;
pub mod loop_core;
mod reactor;
mod server;
mod shutdown;
mod slab;
pub mod wheel;

pub use config::Config;
pub use conn::{Closed, Conn};
pub use event_loop::EventLoop;
pub use handle::LoopHandle;
pub use handler::{CloseReason, Handler, Input, Timeout};
pub use loop_core::{Client, Kind, LoopCore};
pub use reactor::Stats;
pub use server::{ListenerMode, Server, ServerConfig};
pub use slab::ConnId;
pub use wheel::TimerKey;
