//! The `scaling` experiment's measurement as data, over a wider range of
//! sizes: the time of one wait on select, poll and epoll against the number
//! of idle registered descriptors (`eddy lab scaling --plot FILE.svg` draws
//! it). The method is the experiment's (and eddy-poll's `scaling`
//! benchmark's): N idle Unix datagram sockets and one Unix stream with a
//! byte always unread, all registered READABLE, Level, on a fresh poller;
//! the fastest of 5 batches of 100 waits, each returning the one ready fd.

use std::io::{self, Write as _};
use std::os::fd::AsRawFd;

use eddy_poll::net::{UnixDatagram, UnixStream};
use eddy_poll::{Backend, FD_SETSIZE, Interest, Poll, Token, Trigger};

use super::limits::{raise_nofile, time_waits};

/// The sizes the curve is measured at by default.
pub const SCALING_SIZES: [usize; 7] = [10, 30, 100, 300, 1000, 3000, 10_000];

/// One point of the curve: microseconds per wait on each backend (`None`:
/// select cannot watch an fd at or above `FD_SETSIZE`).
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingPoint {
    /// Idle descriptors registered beside the ready one.
    pub fds: usize,
    /// (backend, µs per wait).
    pub micros: Vec<(Backend, Option<f64>)>,
}

/// Measures the wait on every backend at each size of `sizes`.
///
/// # Errors
///
/// The fd limit cannot be raised above the largest size; a socket or a
/// poller could not be made; a wait returned something but the ready fd.
pub fn scaling_curve(sizes: &[usize]) -> io::Result<Vec<ScalingPoint>> {
    let max = sizes.iter().copied().max().unwrap_or(0);
    raise_nofile(max as u64 + 64)?;
    // The pollers and the ready fd first: low, so that select can watch
    // them (a poller keeps its own fds, its waker's among them).
    let mut polls: Vec<(Backend, Poll)> = [Backend::Select, Backend::Poll, Backend::Epoll]
        .into_iter()
        .map(|b| Ok((b, Poll::with_backend(b)?)))
        .collect::<io::Result<_>>()?;
    let (mut writer, mut ready) = UnixStream::pair()?;
    let mut idle: Vec<UnixDatagram> = (0..max).map(|_| UnixDatagram::unbound()).collect::<io::Result<_>>()?;
    writer.write_all(b"x")?;
    let mut out = Vec::new();
    for &n in sizes {
        let mut micros = Vec::new();
        for (backend, poll) in &mut polls {
            let backend = *backend;
            let fits = |fd: i32| fd < FD_SETSIZE as i32;
            let select_ok = ready.as_raw_fd() < FD_SETSIZE as i32 && idle[..n].iter().all(|s| fits(s.as_raw_fd()));
            if backend == Backend::Select && !select_ok {
                micros.push((backend, None));
                continue;
            }
            let registry = poll.registry().clone();
            registry.register(&mut ready, Token(0), Interest::READABLE, Trigger::Level)?;
            for (i, s) in idle[..n].iter_mut().enumerate() {
                registry.register(s, Token(i + 1), Interest::READABLE, Trigger::Level)?;
            }
            let us = time_waits(poll)?;
            for s in &mut idle[..n] {
                registry.deregister(s)?;
            }
            registry.deregister(&mut ready)?;
            micros.push((backend, Some(us)));
        }
        out.push(ScalingPoint { fds: n, micros });
    }
    Ok(out)
}
