//! eddy-poll: the demultiplexer at the bottom of eddy.
//!
//! A readiness event loop's bottom layer, on Linux: register sockets and
//! other sources with a [`Registry`], wait for them with [`Poll::poll`], and
//! act on the [`Event`]s it returns. It is what mio is to tokio, with four
//! things mio does not give:
//!
//! - the **backend** is chosen at run time: epoll (default), poll(2) or
//!   select(2) ([`Backend`]), behind one API and one error policy;
//! - the **trigger** is chosen per registration ([`Trigger`]): `Edge`,
//!   `Level`, `Oneshot` or `EdgeOneshot`;
//! - **user-space readiness sources** ([`Registration`] / [`SetReadiness`],
//!   as in mio 0.6) obey the trigger like a socket does;
//! - a **timerfd** ([`Timer`]) and a **signalfd** ([`Signals`]) register like
//!   sockets.
//!
//! # Layout
//!
//! `sys/` holds every syscall (and every `unsafe` block of the crate), one
//! file per backend, with the `Selector` trait as the backend contract.
//! Above it, the portable types forward to it: [`Poll`], [`Registry`],
//! [`Token`], [`Interest`], [`Trigger`], [`Event`], [`Events`], [`Waker`],
//! [`Registration`], [`Timer`], [`Signals`], and the sockets of [`net`].
//!
//! # Coming from mio
//!
//! The API is mio 1.x's, plus a [`Trigger`] argument to `register` and
//! `reregister` (`Trigger::Edge` is mio's behaviour), with mio's paths
//! (`eddy_poll::event::{Event, Events, Source}`) beside the flat names. The
//! guide, with a mio program ported and both run as doc-tests, is
//! `docs/from-mio.md` in the repository.
//!
//! # Errors
//!
//! Every fallible call returns `std::io::Result`. The same misuse gives the
//! same error on every backend: registering twice is `AlreadyExists`;
//! reregistering or deregistering what is not registered is `NotFound`;
//! select refuses an fd at or above `FD_SETSIZE` with `InvalidInput`.
//! `EINTR` is retried in one place, inside [`Poll::poll`].
//!
//! # The trigger modes, each shown
//!
//! The examples use a Unix socket pair: `a` writes, `b` is registered.
//!
//! **Edge**: one event per arrival; bytes left unread raise nothing until
//! new bytes arrive.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::time::Duration;
//! use eddy_poll::net::UnixStream;
//! use eddy_poll::{Events, Interest, Poll, Token, Trigger};
//!
//! let mut poll = Poll::new()?;
//! let mut events = Events::with_capacity(8);
//! let (mut a, mut b) = UnixStream::pair()?;
//! poll.registry().register(&mut b, Token(1), Interest::READABLE, Trigger::Edge)?;
//!
//! a.write_all(b"0123456789")?;
//! poll.poll(&mut events, Some(Duration::from_secs(5)))?;
//! assert!(events.iter().any(|e| e.token() == Token(1) && e.is_readable()));
//!
//! let mut buf = [0; 4];
//! b.read_exact(&mut buf)?; // 6 bytes stay unread
//! poll.poll(&mut events, Some(Duration::from_millis(10)))?;
//! assert!(events.is_empty(), "edge: no new arrival, no event");
//!
//! a.write_all(b"!")?; // a new arrival is a new edge
//! poll.poll(&mut events, Some(Duration::from_secs(5)))?;
//! assert!(events.iter().any(|e| e.token() == Token(1)));
//! let mut rest = [0; 16];
//! let n = b.read(&mut rest)?;
//! assert_eq!(&rest[..n], b"456789!", "the old bytes come first");
//! # std::io::Result::Ok(())
//! ```
//!
//! **Level**: an event on every wait while bytes remain.
//!
//! ```
//! # use std::io::{Read, Write};
//! # use std::time::Duration;
//! # use eddy_poll::net::UnixStream;
//! # use eddy_poll::{Events, Interest, Poll, Token, Trigger};
//! # let mut poll = Poll::new()?;
//! # let mut events = Events::with_capacity(8);
//! # let (mut a, mut b) = UnixStream::pair()?;
//! poll.registry().register(&mut b, Token(1), Interest::READABLE, Trigger::Level)?;
//! a.write_all(b"0123456789")?;
//! for _ in 0..3 {
//!     poll.poll(&mut events, Some(Duration::from_secs(5)))?;
//!     assert!(events.iter().any(|e| e.token() == Token(1)), "still readable: reported again");
//! }
//! # std::io::Result::Ok(())
//! ```
//!
//! **Oneshot**: one event, then silence, even for new data, until
//! `reregister`; a rearm of a still-ready socket reports it at once.
//!
//! ```
//! # use std::io::{Read, Write};
//! # use std::time::Duration;
//! # use eddy_poll::net::UnixStream;
//! # use eddy_poll::{Events, Interest, Poll, Token, Trigger};
//! # let mut poll = Poll::new()?;
//! # let mut events = Events::with_capacity(8);
//! # let (mut a, mut b) = UnixStream::pair()?;
//! poll.registry().register(&mut b, Token(1), Interest::READABLE, Trigger::Oneshot)?;
//! a.write_all(b"first")?;
//! poll.poll(&mut events, Some(Duration::from_secs(5)))?;
//! assert_eq!(events.len(), 1);
//! a.write_all(b"second")?;
//! poll.poll(&mut events, Some(Duration::from_millis(10)))?;
//! assert!(events.is_empty(), "disarmed until reregister");
//! poll.registry().reregister(&mut b, Token(1), Interest::READABLE, Trigger::Oneshot)?;
//! poll.poll(&mut events, Some(Duration::from_secs(5)))?;
//! assert_eq!(events.len(), 1, "rearmed: the pending data is reported");
//! # std::io::Result::Ok(())
//! ```
//!
//! **EdgeOneshot**: one event on an arrival, then silence until
//! `reregister`.
//!
//! ```
//! # use std::io::{Read, Write};
//! # use std::time::Duration;
//! # use eddy_poll::net::UnixStream;
//! # use eddy_poll::{Events, Interest, Poll, Token, Trigger};
//! # let mut poll = Poll::new()?;
//! # let mut events = Events::with_capacity(8);
//! # let (mut a, mut b) = UnixStream::pair()?;
//! poll.registry().register(&mut b, Token(1), Interest::READABLE, Trigger::EdgeOneshot)?;
//! a.write_all(b"x")?;
//! poll.poll(&mut events, Some(Duration::from_secs(5)))?;
//! assert_eq!(events.len(), 1);
//! a.write_all(b"y")?;
//! poll.poll(&mut events, Some(Duration::from_millis(10)))?;
//! assert!(events.is_empty());
//! # std::io::Result::Ok(())
//! ```
//!
//! # Costs
//!
//! One wait costs O(ready) on epoll and O(registered) on poll and select;
//! an epoll round trip makes the same syscalls as mio's. Measured costs (per
//! backend, against mio, and how each figure was taken): see
//! `docs/PERFORMANCE.md` in the repository. The benchmarks behind them are
//! this crate's `benches/scaling.rs` and `benches/pingpong.rs`.
//!
//! # Platform
//!
//! Linux only, 64-bit only; both are checked at compile time. The backends
//! are Linux's epoll, `ppoll` and `pselect6`, the notifier an eventfd, and
//! [`Timer`] and [`Signals`] are a timerfd and a signalfd. A [`Token`] is a
//! `usize` carried whole in `epoll_event`'s 64-bit data, and eddy's reactor
//! packs a 32-bit generation above bit 32 of its tokens.
//!
//! # Threads
//!
//! Checked at compile time below: [`Registry`], [`Waker`] and
//! [`SetReadiness`] are `Send + Sync` (the registry and the setter are
//! `Clone` as well), so other threads register, wake and set readiness while
//! one thread waits; [`Poll`] is `Send`, so it can move to the thread that
//! waits; [`Event`] and [`Events`] are `Send + Sync`; and so are the sockets
//! of [`net`].

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(unsafe_code)]

pub mod event;
mod interest;
mod io_source;
pub mod net;
mod poll;
pub mod signal;
mod source;
#[allow(unsafe_code)]
mod sys;
mod timer;
mod token;
mod user;
mod waker;

pub use event::{Event, Events, FlagNames};
pub use interest::{Interest, Trigger};
pub use poll::{Backend, Poll, Registry};
pub use signal::Signals;
pub use source::{Source, SourceFd};
pub use timer::Timer;
pub use token::Token;
pub use user::{Ready, Registration, SetReadiness};
pub use waker::Waker;

/// The migration guide from mio, `docs/from-mio.md`: its mio program and
/// the eddy port of it run as doc-tests of this crate, so neither rots.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/from-mio.md")]
pub struct FromMioGuide;

/// `FD_SETSIZE`: the select backend refuses fds at or above it.
pub const FD_SETSIZE: usize = sys::select::FD_SETSIZE;

#[cfg(not(target_os = "linux"))]
compile_error!(
    "eddy-poll runs on Linux only: its backends are epoll(7), ppoll(2) and pselect6(2) with Linux's flag values, \
     and its notifier, Timer and Signals are an eventfd, a timerfd and a signalfd"
);

#[cfg(not(target_pointer_width = "64"))]
compile_error!(
    "eddy-poll needs a 64-bit target: a Token is a usize carried whole in epoll_event's 64-bit data, and eddy's \
     reactor packs a 32-bit generation above bit 32 of its tokens"
);

// The thread-safety the docs promise (see "Threads" above), checked by the
// compiler: a change that loses one fails to build here.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    const fn send_sync_clone<T: Send + Sync + Clone>() {}
    const fn send<T: Send>() {}
    send_sync_clone::<Registry>();
    send_sync_clone::<SetReadiness>();
    send_sync::<Waker>();
    send::<Poll>();
    send_sync::<Event>();
    send_sync::<Events>();
    send_sync::<net::TcpListener>();
    send_sync::<net::TcpStream>();
    send_sync::<net::UdpSocket>();
    send_sync::<net::UnixListener>();
    send_sync::<net::UnixStream>();
    send_sync::<net::UnixDatagram>();
};
