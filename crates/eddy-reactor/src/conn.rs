//! [`Conn`]: what a handler acts through, and [`Closed`], what it keeps
//! after its connection is gone.
//!
//! `Conn` borrows the connection's core and the loop's shared parts for the
//! length of one handler call. Writes and close requests only record what
//! to do; the loop does it when the handler returns (one `send` for all the
//! writes of a dispatch, the close after the flush).

use std::time::{Duration, Instant};

use eddy_poll::net::TcpStream;

use crate::connection::Connection;
use crate::connection::state::{ABORT, CLOSING, READ_CLOSED, REPLAY, SHUT_PENDING, USER_PAUSED};
use crate::handler::{CloseReason, Handler};
use crate::loop_core::{LoopCore, Timer};
use crate::reactor::Parts;
use crate::slab::ConnId;
use crate::wheel::TimerKey;

/// A handler's view of its connection during one call.
pub struct Conn<'a, H: Handler> {
    pub(crate) conn: &'a mut Connection,
    pub(crate) core: &'a mut LoopCore,
    pub(crate) parts: &'a mut Parts<H>,
    pub(crate) id: ConnId,
}

impl<H: Handler> Conn<'_, H> {
    /// This connection's id (unique for the loop's lifetime).
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The state every handler of this loop shares.
    pub fn state(&mut self) -> &mut H::State {
        &mut self.parts.state
    }

    /// The loop's time, read at the start of this dispatch.
    pub fn now(&self) -> Instant {
        self.core.clock.now()
    }

    /// The socket, for its addresses and options. Reading and writing it
    /// directly bypasses the loop's buffers: use [`write`](Self::write).
    pub fn stream(&self) -> &TcpStream {
        &self.conn.stream
    }

    /// Queues `data` for sending (copied). Everything written in one
    /// dispatch goes out in one syscall when the handler returns.
    pub fn write(&mut self, data: &[u8]) {
        self.out().extend_from_slice(data);
    }

    /// Queues a buffer of your own without copying it (it is sent with its
    /// neighbours in one `writev`).
    pub fn write_vec(&mut self, data: Vec<u8>) {
        if data.is_empty() {
            return;
        }
        let now = self.core.clock.stamp();
        self.conn.queue_staged(&mut self.parts.wbuf, now);
        self.conn.push_output(data, 0, now);
    }

    /// The buffer writes append to, for formatting output in place (e.g. a
    /// response head) without a temporary.
    pub fn out(&mut self) -> &mut Vec<u8> {
        self.conn.out(&mut self.parts.wbuf)
    }

    /// The shared state and the output buffer together, to format output
    /// from the state in place (e.g. a response with the cached date).
    pub fn state_and_out(&mut self) -> (&mut H::State, &mut Vec<u8>) {
        (&mut self.parts.state, self.conn.out(&mut self.parts.wbuf))
    }

    /// Output bytes not yet taken by the kernel, including this dispatch's.
    pub fn queued(&self) -> usize {
        let staged = if self.conn.has_queue() { 0 } else { self.parts.wbuf.len() };
        self.conn.queued() + staged
    }

    /// Input bytes kept from earlier reads (an incomplete message).
    pub fn buffered_input(&self) -> usize {
        self.conn.input_len()
    }

    /// Whether the peer's FIN has been read.
    pub fn is_read_closed(&self) -> bool {
        self.conn.has(READ_CLOSED)
    }

    /// Whether a close (graceful or abortive) was requested.
    pub fn is_closing(&self) -> bool {
        self.conn.state.is_closing()
    }

    /// Sends our FIN once all queued output is sent (TCP half-close); the
    /// connection keeps reading.
    pub fn shutdown_write(&mut self) {
        self.conn.state.set(SHUT_PENDING);
    }

    /// Graceful close: no more `on_data`; the queued output is sent, then
    /// our FIN; the connection ends when the peer's FIN arrives (input is
    /// read and discarded meanwhile, so closing never turns into a reset)
    /// or after the loop's linger timeout.
    pub fn close(&mut self) {
        self.close_with(CloseReason::Closed);
    }

    /// Graceful close, reporting `reason` to `on_close` (the first reason
    /// recorded is the one reported).
    pub fn close_with(&mut self, reason: CloseReason) {
        if !self.conn.has(CLOSING) {
            self.conn.state.set(CLOSING | SHUT_PENDING);
            self.conn.reason.get_or_insert(reason);
        }
    }

    /// Abortive close: unsent output is dropped and the peer gets a RST
    /// (`SO_LINGER` 0), at the end of this dispatch.
    pub fn abort(&mut self) {
        self.abort_with(CloseReason::Aborted);
    }

    /// Abortive close, reporting `reason` to `on_close`.
    pub fn abort_with(&mut self, reason: CloseReason) {
        self.conn.state.set(ABORT);
        self.conn.reason.get_or_insert(reason);
    }

    /// Stops reading (the kernel's receive buffer fills, then TCP flow
    /// control slows the peer) until [`resume_reading`](Self::resume_reading).
    pub fn pause_reading(&mut self) {
        self.conn.state.set(USER_PAUSED);
        self.parts.mark_dirty(self.conn, self.id);
    }

    /// Resumes reading after [`pause_reading`](Self::pause_reading); bytes
    /// that arrived meanwhile are read next turn.
    pub fn resume_reading(&mut self) {
        if self.conn.has(USER_PAUSED) {
            self.conn.state.clear(USER_PAUSED);
            self.replay_input();
            self.parts.mark_dirty(self.conn, self.id);
        }
    }

    /// Hands the input kept from earlier reads to `on_data` again, early in
    /// the next turn, even if no new byte arrives: for a handler that left
    /// complete messages unconsumed (e.g. requests pipelined behind one
    /// whose answer had to wait) and can now take them.
    pub fn replay_input(&mut self) {
        self.conn.state.set(REPLAY);
        self.parts.mark_ready(self.conn, self.id);
    }

    /// Calls [`Handler::on_timer`] with `id` after `after` (never earlier;
    /// millisecond resolution). Cancel it with the key if it is no longer
    /// wanted; a timer of a closed connection fires into nothing.
    pub fn set_timer(&mut self, after: Duration, id: u64) -> TimerKey {
        self.core.set_timer(after, Timer { token: self.id.timer_token(), data: id })
    }

    /// Cancels a timer; `false` if it already fired or was cancelled.
    pub fn cancel_timer(&mut self, key: TimerKey) -> bool {
        self.core.wheel.cancel(key).is_some()
    }
}

/// What a handler can still reach once its connection is gone
/// ([`Handler::on_close`], [`Handler::on_connect_failed`]).
pub struct Closed<'a, H: Handler> {
    pub(crate) core: &'a mut LoopCore,
    pub(crate) parts: &'a mut Parts<H>,
}

impl<H: Handler> Closed<'_, H> {
    /// The state every handler of this loop shares.
    pub fn state(&mut self) -> &mut H::State {
        &mut self.parts.state
    }

    /// Cancels a timer the connection had set; `false` if it already fired
    /// or was cancelled.
    pub fn cancel_timer(&mut self, key: TimerKey) -> bool {
        self.core.wheel.cancel(key).is_some()
    }

    /// The loop's time.
    pub fn now(&self) -> Instant {
        self.core.clock.now()
    }
}
