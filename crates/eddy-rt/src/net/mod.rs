//! Async sockets on the runtime's driver: [`TcpListener`], [`TcpStream`]
//! (with borrowed and owned read and write halves).
//!
//! Each socket is registered once, edge-triggered, when it is made (inside
//! a runtime), and deregistered when dropped. Operations try the syscall
//! first and park the task only on `WouldBlock`. They implement
//! `futures_io`'s `AsyncRead` and `AsyncWrite`, so `futures-util`'s
//! combinators (`copy`, `BufReader`, `lines`, `split`) work on them; the
//! readiness methods (`readable`, `writable`) with `try_read` / `try_write`
//! serve users who drive the syscalls themselves.
//!
//! # Cancel safety
//!
//! Every `async fn` here is cancel safe: dropping its future before it
//! completes loses no data, because an operation either completes within
//! one poll (the syscall returned bytes) or has done nothing (it hit
//! `WouldBlock` and parked). `write_all` is the exception: dropped midway,
//! some of the buffer may have been sent (as with tokio).
//!
//! One reader and one writer at a time: a registration keeps one waiting
//! task per direction (a second reader replaces the first one's waker).

mod tcp;
mod udp;
pub mod unix;

pub use tcp::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, TcpListener, TcpStream, WriteHalf};
pub use udp::UdpSocket;
pub use unix::{UnixAddr, UnixDatagram, UnixListener, UnixStream};
