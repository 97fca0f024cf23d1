//! [`Connection`]: the buffered connection of the Reactor pattern, the
//! loop's state of one connection apart from its handler, and the I/O
//! mechanics on it (queued output, writev, the input kept between reads).
//! Its state bits are [`State`] (`state.rs`), its timeouts `timeouts.rs`.
//!
//! Memory: an idle connection holds no buffer. `bufs` is allocated when
//! bytes must outlive a dispatch (input a handler left unconsumed, output
//! the kernel did not take) and freed as soon as both are empty again. The
//! rest is the socket (4 bytes: its fd), the state bits, two ticks, the
//! housekeeping timer (key and tick) and the close reason: 72 bytes, checked
//! at compile time below.
//!
//! Output path: while a connection has nothing queued, its handler writes
//! into the loop's shared staging buffer; after the handler returns, the
//! loop sends it in one `send`, and copies only what the kernel did not take
//! into the connection's queue (large leftovers are moved, not copied). With
//! output queued, writes append to the queue's tail, and the queue is sent
//! with one `writev` (`sendmsg`) of up to 64 chunks.

pub(crate) mod state;
pub(crate) mod timeouts;

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};

use eddy_poll::net::TcpStream;

use std::num::NonZeroU64;

use crate::handler::CloseReason;
use crate::io::{Blocked, blocked};
use crate::wheel::{Tick, TimerKey};
pub(crate) use state::State;
use state::{BLOCKED, Bit};

/// Bytes that outlive a dispatch.
#[derive(Debug, Default)]
pub(crate) struct Bufs {
    /// Input the handler left unconsumed (an incomplete message).
    pub(crate) input: Vec<u8>,
    /// Output the kernel has not taken yet, in order.
    pub(crate) output: VecDeque<Vec<u8>>,
    /// Bytes of `output[0]` already sent.
    pub(crate) front_sent: usize,
    /// Tick at which `input` became non-empty (read timeout).
    pub(crate) input_since: u64,
    /// Tick of the last output progress while output was queued (write
    /// timeout).
    pub(crate) output_since: u64,
}

/// The housekeeping timer of a connection, as armed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Armed {
    pub(crate) key: TimerKey,
    /// The tick it is armed for.
    pub(crate) at: Tick,
}

/// A connection, apart from its handler.
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) stream: TcpStream,
    /// `None` while no byte must outlive a dispatch.
    pub(crate) bufs: Option<Box<Bufs>>,
    pub(crate) state: State,
    /// Tick of the last read or write progress (idle timeout).
    pub(crate) last_active: Tick,
    /// The linger deadline (closing) or the connect deadline, as a tick of
    /// at least 1 (see [`Connection::set_deadline`]).
    deadline: Option<NonZeroU64>,
    /// The housekeeping timer (timeouts, linger, connect), armed for the
    /// earliest of them (or earlier); `None` when none applies.
    pub(crate) timer: Option<Armed>,
    /// Why it is closing, once a close was requested (the first reason
    /// recorded wins).
    pub(crate) reason: Option<CloseReason>,
}

// The idle memory per connection is this plus the slab's generation.
const _: () = assert!(std::mem::size_of::<Connection>() <= 72);

const IOV_MAX: usize = 64;

impl Connection {
    pub(crate) fn new(stream: TcpStream, now: Tick) -> Connection {
        Connection {
            stream,
            bufs: None,
            state: State::default(),
            last_active: now,
            deadline: None,
            timer: None,
            reason: None,
        }
    }

    #[inline]
    pub(crate) fn has(&self, bits: Bit) -> bool {
        self.state.any(bits)
    }

    /// The linger or connect deadline, if one is set.
    #[inline]
    pub(crate) fn deadline(&self) -> Option<Tick> {
        self.deadline.map(NonZeroU64::get)
    }

    /// Sets the linger or connect deadline. Tick 0 (due at the clock's
    /// very start) is stored as 1: later, never earlier.
    pub(crate) fn set_deadline(&mut self, at: Tick) {
        self.deadline = NonZeroU64::new(at.max(1));
    }

    /// Output bytes queued in the connection (not counting the staging
    /// buffer).
    pub(crate) fn queued(&self) -> usize {
        match &self.bufs {
            Some(b) => b.output.iter().map(Vec::len).sum::<usize>() - b.front_sent,
            None => 0,
        }
    }

    pub(crate) fn has_queue(&self) -> bool {
        self.bufs.as_ref().is_some_and(|b| !b.output.is_empty())
    }

    pub(crate) fn input_len(&self) -> usize {
        self.bufs.as_ref().map_or(0, |b| b.input.len())
    }

    pub(crate) fn bufs(&mut self) -> &mut Bufs {
        self.bufs.get_or_insert_with(Box::default)
    }

    /// Frees the buffers once nothing is in them.
    pub(crate) fn release_bufs(&mut self) {
        if self.bufs.as_ref().is_some_and(|b| b.input.is_empty() && b.output.is_empty()) {
            self.bufs = None;
        }
    }

    /// Where a write of this connection goes: the tail of its queue (a
    /// queue exists) or the shared staging buffer.
    pub(crate) fn out<'a>(&'a mut self, staging: &'a mut Vec<u8>) -> &'a mut Vec<u8> {
        match &mut self.bufs {
            Some(b) if !b.output.is_empty() => b.output.back_mut().unwrap_or(staging),
            _ => staging,
        }
    }

    /// Moves the staged bytes into the queue (before queueing a buffer of
    /// its own, so order is kept).
    pub(crate) fn queue_staged(&mut self, staging: &mut Vec<u8>, now: Tick) {
        if !staging.is_empty() {
            let chunk = std::mem::take(staging);
            self.push_output(chunk, 0, now);
        }
    }

    pub(crate) fn push_output(&mut self, chunk: Vec<u8>, sent: usize, now: Tick) {
        let b = self.bufs();
        if b.output.is_empty() {
            b.front_sent = sent;
            b.output_since = now;
        }
        b.output.push_back(chunk);
    }

    /// Sends the staged bytes (which belong to this connection), else the
    /// queue, until done or `WouldBlock`. Returns whether everything was
    /// sent; sets `BLOCKED` when the kernel refused more.
    pub(crate) fn flush(&mut self, staging: &mut Vec<u8>, now: Tick) -> io::Result<bool> {
        if !staging.is_empty() {
            let sent = self.send_staged(staging)?;
            let all = sent == staging.len();
            if sent > 0 {
                self.last_active = now;
            }
            if !all {
                self.state.set(BLOCKED);
                let left = staging.len() - sent;
                if left >= 16 * 1024 {
                    // Large leftover: move the buffer instead of copying it.
                    let chunk = std::mem::take(staging);
                    self.push_output(chunk, sent, now);
                } else {
                    let chunk = staging[sent..].to_vec();
                    self.push_output(chunk, 0, now);
                }
            }
            staging.clear();
            return Ok(all);
        }
        self.send_queue(now)
    }

    fn send_staged(&mut self, staging: &[u8]) -> io::Result<usize> {
        let mut sent = 0;
        while sent < staging.len() {
            match (&self.stream).write(&staging[sent..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => sent += n,
                Err(e) => match blocked(e)? {
                    Blocked::Retry => {}
                    Blocked::WouldBlock => break,
                },
            }
        }
        Ok(sent)
    }

    fn send_queue(&mut self, now: Tick) -> io::Result<bool> {
        let Some(b) = self.bufs.as_mut() else { return Ok(true) };
        while !b.output.is_empty() {
            let mut iov = [IoSlice::new(&[]); IOV_MAX];
            let mut k = 0;
            for (i, chunk) in b.output.iter().take(IOV_MAX).enumerate() {
                iov[i] = IoSlice::new(if i == 0 { &chunk[b.front_sent..] } else { chunk });
                k = i + 1;
            }
            let mut n = match (&self.stream).write_vectored(&iov[..k]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => n,
                Err(e) => match blocked(e)? {
                    Blocked::Retry => continue,
                    Blocked::WouldBlock => {
                        self.state.set(BLOCKED);
                        return Ok(false);
                    }
                },
            };
            self.last_active = now;
            b.output_since = now;
            while n > 0 {
                let front = b.output[0].len() - b.front_sent;
                if n < front {
                    b.front_sent += n;
                    break;
                }
                n -= front;
                b.output.pop_front();
                b.front_sent = 0;
            }
        }
        self.release_bufs();
        Ok(true)
    }
}
