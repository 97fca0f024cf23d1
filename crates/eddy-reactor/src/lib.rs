//! eddy-reactor: the loop core and the Reactor pattern on it.
//!
//! # The loop core
//!
//! [`LoopCore`] owns what every programming model on the loop shares: the
//! demultiplexer (`eddy_poll::Poll`), the clock, the timing [`wheel`], the
//! waker, and the token space, a range of tokens per kind of client
//! ([`Kind`]). The Reactor's connections are one [`Client`] of it; an async
//! executor and a fiber scheduler are meant to be others, on the same
//! thread and the same wheel ([`EventLoop::add_client`]). The turn and its
//! phases: `event_loop.rs` and `loop_core.rs`.
//!
//! # The Reactor's roles, and the file of each
//!
//! - **handles**: the sockets (`eddy_poll::net`);
//! - the **synchronous event demultiplexer**: `eddy_poll::Poll`, inside the
//!   core (`loop_core.rs`);
//! - the **event handler**: the [`Handler`] trait, one value per connection
//!   (`handler.rs`), acting through [`Conn`] (`conn.rs`);
//! - the **concrete handlers**: the **acceptor** (`acceptor.rs`: the accept
//!   loop, its budget, the spare-fd handling of `EMFILE`), the
//!   **connector** (`connector.rs`: a non-blocking connect and its
//!   timeout), the **buffered connection** (`connection/`: its state bits
//!   in `state.rs`, its buffers and output path in `mod.rs`, its timeouts
//!   in `timeouts.rs`);
//! - the **dispatcher** (`dispatch.rs`): an event or a ready entry of a
//!   connection becomes read, `on_data`, flush and close progress;
//! - the **reactor**: [`EventLoop`] (`event_loop.rs`: the turn and the
//!   public API) and the reactor's client of the core (`reactor.rs`: the
//!   connection slab, routing by token kind, deferred closes).
//!
//! Around them: graceful shutdown and signals (`shutdown.rs`), several
//! loops, one per core ([`Server`], `server.rs`), [`LoopHandle`] to post
//! work to a loop from another thread (`handle.rs`), the one policy for
//! `WouldBlock` and `EINTR` (`io.rs`), the generational slab behind
//! [`ConnId`] (`slab.rs`), every tunable with its default ([`Config`]).
//!
//! A user writes a protocol by implementing [`Handler`] and never touches
//! epoll. See the [`Handler`] example for an echo server's whole protocol.
//!
//! # Costs
//!
//! An idle connection holds no buffer: its slot is the socket, its state
//! bits, two ticks, its housekeeping timer and its close reason (72 bytes,
//! checked at compile time, plus the slot's generation). The measured
//! figures (memory per idle connection, syscalls and instructions per
//! request, the wheel's operations), with the command that reproduces
//! each, are in the repository's `docs/PERFORMANCE.md`.
//!
//! # Threads
//!
//! An [`EventLoop`] runs on one thread and its handlers never move
//! (`Handler` need not be `Send`). [`LoopHandle`] and [`ConnId`] are `Send`
//! and `Sync` (checked at compile time below): they are how other threads
//! reach a loop.

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

// The promises of the "Threads" section, checked at compile time.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    struct Local(#[allow(dead_code)] std::rc::Rc<()>);
    impl Handler for Local {
        type State = std::rc::Rc<()>;
        fn on_data(&mut self, _: &mut Conn<'_, Self>, _: &mut Input<'_>) {}
    }
    // Even for a handler and state that are neither Send nor Sync.
    send_sync::<LoopHandle<Local>>();
    send_sync::<ConnId>();
    send_sync::<TimerKey>();
    send_sync::<Config>();
    send_sync::<ServerConfig>();
    send_sync::<Stats>();
    send_sync::<loop_core::Timer>();
};
