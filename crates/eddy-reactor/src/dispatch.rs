//! The dispatcher: what the reactor does for one event or one ready entry
//! of a connection.
//!
//! Servicing a connection is always the same three steps:
//! 1. **read** (if readable): up to the per-turn budget, into the loop's
//!    shared buffer; each read's bytes (after any kept from before) go to
//!    `on_data`; stop at a short read (the kernel's queue is empty: on
//!    epoll's edge triggering, the next arrival is a new event), at
//!    `WouldBlock`, at EOF (`on_read_closed`, once), or when the output
//!    reaches the high watermark (backpressure);
//! 2. **flush**: everything the handler wrote goes out in one `send` (or one
//!    `writev` of the queue); `on_drained` if the queue had blocked and is
//!    now empty; reading resumes at the low watermark;
//! 3. **close progress**: FIN once the output is empty (graceful close and
//!    half-close), end when both FINs are through, RST on abort; then the
//!    housekeeping timer and (level mode) interest bookkeeping.

use std::io::{self, Read};

use eddy_poll::Event;

use crate::conn::Conn;
use crate::connection::state::{
    ABORT, BLOCKED, CLOSING, CONNECTING, HUP, PAUSED, READ_CLOSED, READY, REPLAY, USER_PAUSED, WRITE_SHUT,
};
use crate::handler::{CloseReason, Handler, Input};
use crate::io::{Blocked, blocked};
use crate::loop_core::LoopCore;
use crate::reactor::{Entry, Parts, Reactor};
use crate::slab::ConnId;

/// The reason an I/O error ends a connection with.
pub(crate) fn reason_for(e: io::Error) -> CloseReason {
    match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionAborted => {
            CloseReason::Reset
        }
        _ => CloseReason::Error(e),
    }
}

/// What servicing a connection starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    /// No read (it waits for the ready list): flush and close progress only.
    FlushOnly,
    /// The read step, stopping at a short read.
    Read,
    /// The read step after a hang-up or an error was reported: read until
    /// EOF or the error, never stop at a short read (no new event will come).
    ReadToEof,
}

impl<H: Handler> Reactor<H> {
    /// An event for a live connection.
    #[inline(always)]
    pub(crate) fn on_connection_event(&mut self, core: &mut LoopCore, id: ConnId, event: &Event) {
        let Some(entry) = self.slab.get_mut(id) else {
            self.parts.stats.stale_events += 1;
            return;
        };
        if entry.conn.has(CONNECTING) {
            self.finish_connect(core, id);
            return;
        }
        let hup = event.is_read_closed() || event.is_error();
        let mut step = match (event.is_readable() || hup, hup) {
            (false, _) => Service::FlushOnly,
            (true, false) => Service::Read,
            (true, true) => Service::ReadToEof,
        };
        if step != Service::FlushOnly && entry.conn.has(READY) {
            // On the ready list since before this dispatch: it is read from
            // the list in the run phase instead (once per turn).
            if hup {
                entry.conn.state.set(HUP);
            }
            self.parts.mark_ready(&mut entry.conn, id);
            step = Service::FlushOnly;
        }
        self.service(core, id, step);
    }

    /// The run phase: the connections that were on the ready list before
    /// this turn's dispatch (`ready_before_dispatch`), each read once. Those
    /// put on it during the dispatch (a read that spent its budget, a
    /// handler that asked for its input again) were read this turn or asked
    /// this turn: they wait for the next one.
    pub(crate) fn run_ready(&mut self, core: &mut LoopCore) {
        let n = std::mem::take(&mut self.ready_before_dispatch);
        if n == 0 {
            return;
        }
        let mut ready = std::mem::take(&mut self.parts.ready);
        // Keep the later ones, in order, as the start of the next list.
        self.parts.ready.extend_from_slice(&ready[n..]);
        for &id in &ready[..n] {
            let Some(e) = self.slab.get_mut(id) else { continue };
            e.conn.state.clear(READY);
            self.service(core, id, Service::Read);
        }
        ready.clear();
        if self.parts.ready.is_empty() {
            self.parts.ready = ready;
        }
    }

    /// Reads (unless `FlushOnly`), then flushes and advances closing.
    #[inline]
    pub(crate) fn service(&mut self, core: &mut LoopCore, id: ConnId, step: Service) {
        if step != Service::FlushOnly {
            if let Err(reason) = self.read(core, id, step) {
                self.finish(core, id, reason);
                return;
            }
        }
        self.after_io(core, id);
    }

    /// The read step: budgeted reads, each handed to `on_data`.
    fn read(&mut self, core: &mut LoopCore, id: ConnId, step: Service) -> Result<(), CloseReason> {
        let Some(entry) = self.slab.get_mut(id) else { return Ok(()) };
        let parts = &mut self.parts;
        let rbuf = &mut self.rbuf[..];
        if step == Service::ReadToEof {
            entry.conn.state.set(HUP);
        }
        if entry.conn.has(REPLAY) {
            entry.conn.state.clear(REPLAY);
            if entry.conn.input_len() > 0 && !entry.conn.has(CLOSING | ABORT | USER_PAUSED) {
                deliver(entry, core, parts, &[], id);
            }
        }
        let (mut bytes_left, mut reads_left) = (parts.cfg.read_budget_bytes, parts.cfg.read_budget_reads);
        let high = parts.cfg.high_watermark;
        loop {
            let conn = &mut entry.conn;
            if conn.state.reads_stopped() {
                return Ok(());
            }
            let discard = conn.has(CLOSING);
            let staged = if conn.has_queue() { 0 } else { parts.wbuf.len() };
            let queued = conn.queued() + staged;
            if !discard && queued >= high {
                conn.state.set(PAUSED);
                parts.stats.backpressure_pauses += 1;
                parts.mark_dirty(conn, id);
                entry.handler.on_backpressure(&mut Conn { conn: &mut entry.conn, core, parts, id }, true);
                return Ok(());
            }
            if reads_left == 0 || bytes_left == 0 {
                parts.mark_ready(conn, id);
                return Ok(());
            }
            let room = if discard { rbuf.len() } else { high - queued }.min(bytes_left).min(rbuf.len());
            let n = match (&conn.stream).read(&mut rbuf[..room]) {
                Ok(0) => {
                    conn.state.set(READ_CLOSED);
                    parts.mark_dirty(conn, id);
                    if !discard {
                        entry.handler.on_read_closed(&mut Conn { conn: &mut entry.conn, core, parts, id });
                    }
                    return Ok(());
                }
                Ok(n) => n,
                Err(e) => match blocked(e) {
                    Ok(Blocked::Retry) => continue,
                    Ok(Blocked::WouldBlock) => return Ok(()),
                    Err(e) => return Err(reason_for(e)),
                },
            };
            conn.last_active = core.clock.stamp();
            let hup = conn.has(HUP);
            bytes_left -= n;
            reads_left -= 1;
            if !discard {
                deliver(entry, core, parts, &rbuf[..n], id);
            }
            if n < room && !hup {
                // A short read emptied the kernel's queue.
                return Ok(());
            }
        }
    }

    /// Calls `f` on a live connection's handler, then flushes.
    pub(crate) fn call(&mut self, core: &mut LoopCore, id: ConnId, f: impl FnOnce(&mut H, &mut Conn<'_, H>)) {
        let Some(entry) = self.slab.get_mut(id) else {
            self.parts.stats.stale_events += 1;
            return;
        };
        let conn = &mut Conn { conn: &mut entry.conn, core, parts: &mut self.parts, id };
        f(&mut entry.handler, conn);
        self.after_io(core, id);
    }

    /// The flush and close-progress steps, then the bookkeeping: one slab
    /// lookup for all of it (this runs once per dispatch of a connection).
    pub(crate) fn after_io(&mut self, core: &mut LoopCore, id: ConnId) {
        let Some(entry) = self.slab.get_mut(id) else { return };
        let parts = &mut self.parts;
        let done = match flush(entry, core, parts, id) {
            Ok(()) => close_progress(entry, core, id, parts),
            Err(reason) => Some(reason),
        };
        if let Some(reason) = done {
            // Nothing staged by this connection may reach the next one.
            parts.wbuf.clear();
            self.finish(core, id, reason);
            return;
        }
        let conn = &mut entry.conn;
        if conn.bufs.is_some() {
            parts.stats.max_queued = parts.stats.max_queued.max(conn.queued());
            conn.release_bufs();
        }
        parts.mark_dirty(conn, id);
        crate::connection::timeouts::arm(&mut entry.conn, core, &parts.timeouts, id);
    }
}

/// Hands `data` (after any input kept from before) to `on_data`; keeps
/// what it leaves unconsumed.
fn deliver<H: Handler>(entry: &mut Entry<H>, core: &mut LoopCore, parts: &mut Parts<H>, data: &[u8], id: ConnId) {
    let now = core.clock.stamp();
    let kept = entry.conn.bufs.as_mut().map(|b| std::mem::take(&mut b.input)).unwrap_or_default();
    if kept.is_empty() {
        let mut input = Input::new(data);
        entry.handler.on_data(&mut Conn { conn: &mut entry.conn, core, parts, id }, &mut input);
        let rest = &data[input.consumed()..];
        if !rest.is_empty() && !entry.conn.state.is_closing() {
            let b = entry.conn.bufs();
            b.input.extend_from_slice(rest);
            b.input_since = now;
        }
    } else {
        let mut buf = kept;
        buf.extend_from_slice(data);
        let mut input = Input::new(&buf);
        entry.handler.on_data(&mut Conn { conn: &mut entry.conn, core, parts, id }, &mut input);
        let consumed = input.consumed();
        if entry.conn.state.is_closing() {
            buf.clear();
        } else if consumed > 0 {
            buf.drain(..consumed);
            entry.conn.bufs().input_since = now;
        }
        if !buf.is_empty() {
            entry.conn.bufs().input = buf;
        }
    }
}

/// The flush step: send what the handler wrote; `on_drained` when a queue
/// that had blocked is empty; resume reading at the low watermark.
fn flush<H: Handler>(
    entry: &mut Entry<H>,
    core: &mut LoopCore,
    parts: &mut Parts<H>,
    id: ConnId,
) -> Result<(), CloseReason> {
    if entry.conn.has(ABORT) {
        parts.wbuf.clear();
        return Ok(());
    }
    let now = core.clock.stamp();
    let was_blocked = entry.conn.has(BLOCKED);
    let mut all = entry.conn.flush(&mut parts.wbuf, now).map_err(reason_for)?;
    if all && was_blocked {
        entry.conn.state.clear(BLOCKED);
        entry.handler.on_drained(&mut Conn { conn: &mut entry.conn, core, parts, id });
        all = entry.conn.flush(&mut parts.wbuf, now).map_err(reason_for)?;
    }
    let conn = &mut entry.conn;
    if conn.has(PAUSED) && conn.queued() <= parts.cfg.low_watermark {
        conn.state.clear(PAUSED);
        parts.mark_ready(conn, id);
        entry.handler.on_backpressure(&mut Conn { conn: &mut entry.conn, core, parts, id }, false);
        if !all || !parts.wbuf.is_empty() {
            entry.conn.flush(&mut parts.wbuf, now).map_err(reason_for)?;
        }
    }
    Ok(())
}

/// Sends our FIN when due; returns the reason if the connection is done.
fn close_progress<H: Handler>(
    entry: &mut Entry<H>,
    core: &mut LoopCore,
    id: ConnId,
    parts: &mut Parts<H>,
) -> Option<CloseReason> {
    let conn = &mut entry.conn;
    if conn.has(ABORT) {
        return Some(CloseReason::Aborted);
    }
    if conn.state.fin_due() && !conn.has_queue() {
        conn.state.set(WRITE_SHUT);
        if let Err(e) = conn.stream.shutdown(std::net::Shutdown::Write) {
            return Some(reason_for(e));
        }
        if conn.has(CLOSING) && !conn.has(READ_CLOSED) {
            // Wait for the peer's FIN (reading and discarding what is left,
            // so the close never turns into a reset), at most the linger
            // timeout.
            conn.set_deadline(core.clock.deadline(parts.cfg.linger_timeout));
            parts.mark_ready(conn, id);
        }
    }
    if conn.state.is_closed_both_ways() {
        return Some(CloseReason::Closed);
    }
    None
}
