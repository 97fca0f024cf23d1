//! [`Core`]: a connection's state apart from its handler, and the I/O
//! mechanics on it (queued output, writev, the input kept between reads).
//!
//! Memory: an idle connection holds no buffer. `bufs` is allocated when
//! bytes must outlive a dispatch (input a handler left unconsumed, output
//! the kernel did not take) and freed as soon as both are empty again. The
//! rest is the socket (24 bytes), flags, two ticks and the housekeeping
//! timer's key: see `Core`'s size in the crate docs.
//!
//! Output path: while a connection has nothing queued, its handler writes
//! into the loop's shared staging buffer; after the handler returns, the
//! loop sends it in one `send`, and copies only what the kernel did not take
//! into the connection's queue (large leftovers are moved, not copied). With
//! output queued, writes append to the queue's tail, and the queue is sent
//! with one `writev` (`sendmsg`) of up to 64 chunks.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};

use eddy_poll::net::TcpStream;

use crate::handler::CloseReason;
use crate::wheel::TimerKey;

/// Connection state bits. Each is set and cleared where its comment says.
pub(crate) mod flag {
    /// The peer's FIN was read (a read returned 0). Never cleared.
    pub(crate) const READ_CLOSED: u16 = 1 << 0;
    /// Our FIN was sent (`shutdown(Write)`). Never cleared.
    pub(crate) const WRITE_SHUT: u16 = 1 << 1;
    /// Send our FIN once the output queue is empty (`shutdown_write`,
    /// `close`). Never cleared.
    pub(crate) const SHUT_PENDING: u16 = 1 << 2;
    /// Graceful close requested: no more `on_data` (reads are discarded),
    /// FIN after the output, then wait for the peer's FIN. Never cleared.
    pub(crate) const CLOSING: u16 = 1 << 3;
    /// Abortive close requested: RST at the end of this dispatch.
    pub(crate) const ABORT: u16 = 1 << 4;
    /// Reading paused by backpressure (output at the high watermark);
    /// cleared at the low watermark.
    pub(crate) const PAUSED: u16 = 1 << 5;
    /// Reading paused by the handler; cleared by `resume_reading`.
    pub(crate) const USER_PAUSED: u16 = 1 << 6;
    /// On the loop's ready list (to be serviced next turn without an
    /// event); cleared when serviced.
    pub(crate) const READY: u16 = 1 << 7;
    /// A non-blocking connect is in progress; cleared when it completes.
    pub(crate) const CONNECTING: u16 = 1 << 8;
    /// A write hit `WouldBlock`: call `on_drained` when the queue empties.
    pub(crate) const BLOCKED: u16 = 1 << 9;
    /// Level mode: the registration watches readability.
    pub(crate) const WANT_READ: u16 = 1 << 10;
    /// Level mode: the registration watches writability.
    pub(crate) const WANT_WRITE: u16 = 1 << 11;
    /// Level mode: on the dirty list (interest to be recomputed before the
    /// next wait); cleared when applied.
    pub(crate) const DIRTY: u16 = 1 << 12;
    /// An event reported the peer's FIN, a reset or an error: read until
    /// EOF or an error, never stop at a short read (no new event will come
    /// for it). Set by such an event; left set.
    pub(crate) const HUP: u16 = 1 << 13;
    /// Hand the kept input to `on_data` again at the next read step, even
    /// with no new byte (`replay_input`, `resume_reading`); cleared then.
    pub(crate) const REPLAY: u16 = 1 << 14;
    /// Serviced from the ready list in this turn's dispatch: an event for it
    /// later in the same dispatch does not read again (the read budget is
    /// per turn); its read waits for the next turn's ready list. Set and
    /// cleared within one dispatch.
    pub(crate) const READ_THIS_TURN: u16 = 1 << 15;
}

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

/// A connection, apart from its handler.
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) stream: TcpStream,
    /// `None` while no byte must outlive a dispatch.
    pub(crate) bufs: Option<Box<Bufs>>,
    /// `flag::*` bits.
    pub(crate) flags: u16,
    /// Tick of the last read or write progress (idle timeout).
    pub(crate) last_active: u64,
    /// Tick of the linger deadline (closing) or the connect deadline.
    pub(crate) deadline: u64,
    /// The housekeeping timer (timeouts, linger, connect), armed for the
    /// earliest of them (or earlier); `None` when none applies.
    pub(crate) timer: Option<TimerKey>,
    /// The tick `timer` is armed for (`u64::MAX` when none).
    pub(crate) timer_at: u64,
    /// Why it is closing, once a close was requested (the first reason
    /// recorded wins).
    pub(crate) reason: Option<CloseReason>,
}

const IOV_MAX: usize = 64;

impl Core {
    pub(crate) fn new(stream: TcpStream, now: u64) -> Core {
        Core {
            stream,
            bufs: None,
            flags: 0,
            last_active: now,
            deadline: 0,
            timer: None,
            timer_at: u64::MAX,
            reason: None,
        }
    }

    #[inline]
    pub(crate) fn has(&self, f: u16) -> bool {
        self.flags & f != 0
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
    pub(crate) fn queue_staged(&mut self, staging: &mut Vec<u8>, now: u64) {
        if !staging.is_empty() {
            let chunk = std::mem::take(staging);
            self.push_output(chunk, 0, now);
        }
    }

    pub(crate) fn push_output(&mut self, chunk: Vec<u8>, sent: usize, now: u64) {
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
    pub(crate) fn flush(&mut self, staging: &mut Vec<u8>, now: u64) -> io::Result<bool> {
        if !staging.is_empty() {
            let sent = self.send_staged(staging)?;
            let all = sent == staging.len();
            if sent > 0 {
                self.last_active = now;
            }
            if !all {
                self.flags |= flag::BLOCKED;
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
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        Ok(sent)
    }

    fn send_queue(&mut self, now: u64) -> io::Result<bool> {
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
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.flags |= flag::BLOCKED;
                    return Ok(false);
                }
                Err(e) => return Err(e),
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
