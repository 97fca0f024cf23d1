//! The dispatch phase: what the loop does for one event, one ready entry or
//! one timer of a connection or a listener.
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

use crate::acceptor::{AcceptError, Shed, classify};
use crate::conn::Conn;
use crate::core::flag;
use crate::event_loop::{Ended, EventLoop, LISTENER_BASE, Parts, SIGNALS, TimerEntry, WAKER};
use crate::handler::{CloseReason, Handler, Input, Timeout};
use crate::slab::ConnId;

/// The reason an I/O error ends a connection with.
fn reason_for(e: io::Error) -> CloseReason {
    match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionAborted => {
            CloseReason::Reset
        }
        _ => CloseReason::Error(e),
    }
}

impl<H: Handler> EventLoop<H> {
    pub(crate) fn dispatch(&mut self) {
        // Work left over from the last turn first: it has waited longest.
        let mut ready = std::mem::take(&mut self.parts.ready);
        for &id in &ready {
            match self.slab.get_mut(id) {
                Some(e) => e.core.flags = (e.core.flags & !flag::READY) | flag::READ_THIS_TURN,
                None => continue,
            }
            self.service(id, true, false);
        }
        for i in 0..self.acceptors.len() {
            if self.acceptors[i].as_ref().is_some_and(|a| a.ready && !a.paused) {
                self.accept(i);
            }
        }
        if let Some(events) = self.events.take() {
            for event in &events {
                self.on_event(event);
            }
            self.events = Some(events);
        }
        for &id in &ready {
            if let Some(e) = self.slab.get_mut(id) {
                e.core.flags &= !flag::READ_THIS_TURN;
            }
        }
        ready.clear();
        if self.parts.ready.is_empty() {
            self.parts.ready = ready;
        }
    }

    fn on_event(&mut self, event: &Event) {
        let token = event.token();
        if let Some(id) = ConnId::from_token(token) {
            let Some(entry) = self.slab.get_mut(id) else {
                self.parts.stats.stale_events += 1;
                return;
            };
            if entry.core.has(flag::CONNECTING) {
                self.finish_connect(id);
                return;
            }
            let hup = event.is_read_closed() || event.is_error();
            let mut read = event.is_readable() || hup;
            if read && entry.core.has(flag::READY | flag::READ_THIS_TURN) {
                // Already read this turn (from the ready list, or up to its
                // budget): read first thing next turn instead.
                if hup {
                    entry.core.flags |= flag::HUP;
                }
                self.parts.mark_ready(&mut entry.core, id);
                read = false;
            }
            self.service(id, read, hup);
        } else if token == WAKER {
            self.run_inbox();
        } else if token == SIGNALS {
            self.on_signals();
        } else if token.0 >= LISTENER_BASE {
            self.accept(token.0 - LISTENER_BASE);
        }
    }

    /// Reads (if `read`), then flushes and advances closing.
    pub(crate) fn service(&mut self, id: ConnId, read: bool, hup: bool) {
        if read {
            if let Err(reason) = self.read(id, hup) {
                self.finish(id, reason);
                return;
            }
        }
        self.after_io(id);
    }

    /// The read step: budgeted reads, each handed to `on_data`.
    fn read(&mut self, id: ConnId, hup: bool) -> Result<(), CloseReason> {
        let Some(entry) = self.slab.get_mut(id) else { return Ok(()) };
        let parts = &mut self.parts;
        let rbuf = &mut self.rbuf[..];
        if hup {
            entry.core.flags |= flag::HUP;
        }
        if entry.core.has(flag::REPLAY) {
            entry.core.flags &= !flag::REPLAY;
            if entry.core.input_len() > 0 && !entry.core.has(flag::CLOSING | flag::ABORT | flag::USER_PAUSED) {
                deliver(entry, parts, &[], id);
            }
        }
        let (mut bytes_left, mut reads_left) = (parts.cfg.read_budget_bytes, parts.cfg.read_budget_reads);
        let high = parts.cfg.high_watermark;
        loop {
            let core = &mut entry.core;
            if core.has(flag::READ_CLOSED | flag::PAUSED | flag::USER_PAUSED | flag::ABORT) {
                return Ok(());
            }
            let discard = core.has(flag::CLOSING);
            let staged = if core.has_queue() { 0 } else { parts.wbuf.len() };
            let queued = core.queued() + staged;
            if !discard && queued >= high {
                core.flags |= flag::PAUSED;
                parts.stats.backpressure_pauses += 1;
                parts.mark_dirty(core, id);
                entry.handler.on_backpressure(&mut Conn { core: &mut entry.core, parts, id }, true);
                return Ok(());
            }
            if reads_left == 0 || bytes_left == 0 {
                parts.mark_ready(core, id);
                return Ok(());
            }
            let room = if discard { rbuf.len() } else { high - queued }.min(bytes_left).min(rbuf.len());
            let n = match (&core.stream).read(&mut rbuf[..room]) {
                Ok(0) => {
                    core.flags |= flag::READ_CLOSED;
                    parts.mark_dirty(core, id);
                    if !discard {
                        entry.handler.on_read_closed(&mut Conn { core: &mut entry.core, parts, id });
                    }
                    return Ok(());
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(reason_for(e)),
            };
            core.last_active = parts.clock.stamp();
            let hup = core.has(flag::HUP);
            bytes_left -= n;
            reads_left -= 1;
            if !discard {
                deliver(entry, parts, &rbuf[..n], id);
            }
            if n < room && !hup {
                // A short read emptied the kernel's queue.
                return Ok(());
            }
        }
    }

    /// Calls `f` on a live connection's handler, then flushes.
    pub(crate) fn call(&mut self, id: ConnId, f: impl FnOnce(&mut H, &mut Conn<'_, H>)) {
        let Some(entry) = self.slab.get_mut(id) else {
            self.parts.stats.stale_events += 1;
            return;
        };
        let conn = &mut Conn { core: &mut entry.core, parts: &mut self.parts, id };
        f(&mut entry.handler, conn);
        self.after_io(id);
    }

    /// The flush and close-progress steps, then the bookkeeping: one slab
    /// lookup for all of it (this runs once per dispatch of a connection).
    pub(crate) fn after_io(&mut self, id: ConnId) {
        let Some(entry) = self.slab.get_mut(id) else { return };
        let parts = &mut self.parts;
        let done = match flush(entry, parts, id) {
            Ok(()) => close_progress(entry, parts, id),
            Err(reason) => Some(reason),
        };
        if let Some(reason) = done {
            // Nothing staged by this connection may reach the next one.
            parts.wbuf.clear();
            self.finish(id, reason);
            return;
        }
        let core = &mut entry.core;
        if core.bufs.is_some() {
            parts.stats.max_queued = parts.stats.max_queued.max(core.queued());
            core.release_bufs();
        }
        parts.mark_dirty(core, id);
        arm_housekeeping(&mut entry.core, parts, id);
    }

    /// Ends a connection now: its fd is closed (with RST if aborting), its
    /// slot and buffers freed, its timer cancelled; `on_close` runs at the
    /// end of the turn.
    pub(crate) fn finish(&mut self, id: ConnId, reason: CloseReason) {
        let Some(mut entry) = self.release(id) else { return };
        let reason = entry.core.reason.take().unwrap_or(reason);
        if matches!(reason, CloseReason::Aborted | CloseReason::Shutdown | CloseReason::Timeout(Timeout::Write)) {
            let _ = entry.core.stream.set_linger(Some(std::time::Duration::ZERO));
        }
        let crate::Entry { handler, core } = entry;
        drop(core);
        self.ended.push(Ended::Closed(handler, reason));
    }

    /// Takes a connection out of its slot, cancels its timer and counts it
    /// closed; the caller closes the fd (by dropping the core) and queues
    /// the handler's last call.
    fn release(&mut self, id: ConnId) -> Option<crate::Entry<H>> {
        let mut entry = self.slab.remove(id)?;
        if let Some(key) = entry.core.timer.take() {
            self.parts.wheel.cancel(key);
        }
        self.parts.stats.closed += 1;
        Some(entry)
    }

    /// The housekeeping timer fired: act on what is due, re-arm for the rest.
    pub(crate) fn housekeeping(&mut self, id: ConnId) {
        let Some(entry) = self.slab.get_mut(id) else {
            self.parts.stats.stale_events += 1;
            return;
        };
        let core = &mut entry.core;
        core.timer = None;
        core.timer_at = u64::MAX;
        let now = self.parts.clock.tick();
        let t = self.parts.timeouts;
        let due = |since: u64, ticks: Option<u64>| ticks.is_some_and(|ticks| now >= since + ticks);
        if core.has(flag::CONNECTING) {
            if core.deadline != 0 && now >= core.deadline {
                self.connect_failed(id, io::ErrorKind::TimedOut.into());
                return;
            }
        } else if core.has(flag::CLOSING) && core.has(flag::WRITE_SHUT) {
            if now >= core.deadline {
                self.finish(id, CloseReason::Closed);
                return;
            }
        } else {
            let input_since = core.bufs.as_ref().map(|b| b.input_since);
            let output_since = core.bufs.as_ref().map(|b| b.output_since);
            let which = if core.has_queue() && due(output_since.unwrap_or(now), t.write) {
                Some(Timeout::Write)
            } else if core.input_len() > 0 && due(input_since.unwrap_or(now), t.read) {
                Some(Timeout::Read)
            } else if due(core.last_active, t.idle) {
                Some(Timeout::Idle)
            } else {
                None
            };
            if let Some(which) = which {
                // The timeout is spent: if the handler keeps the connection,
                // the next one is a full period away (and the timer cannot
                // re-arm in the past, which would fire it in a loop).
                let stamp = self.parts.clock.stamp();
                match which {
                    Timeout::Idle => core.last_active = stamp,
                    Timeout::Read => core.bufs().input_since = stamp,
                    Timeout::Write => core.bufs().output_since = stamp,
                }
                self.call(id, |h, conn| h.on_timeout(conn, which));
                return;
            }
        }
        if let Some(entry) = self.slab.get_mut(id) {
            arm_housekeeping(&mut entry.core, &mut self.parts, id);
        }
    }

    /// A connecting socket became writable (or failed).
    fn finish_connect(&mut self, id: ConnId) {
        let Some(entry) = self.slab.get_mut(id) else { return };
        match entry.core.stream.take_error() {
            Ok(Some(e)) | Err(e) => return self.connect_failed(id, e),
            Ok(None) => {}
        }
        if entry.core.stream.peer_addr().is_err() {
            return; // still connecting: a spurious wake-up
        }
        entry.core.flags &= !flag::CONNECTING;
        entry.core.last_active = self.parts.clock.stamp();
        self.parts.mark_dirty(&mut entry.core, id);
        self.call(id, |h, conn| h.on_open(conn));
    }

    fn connect_failed(&mut self, id: ConnId, error: io::Error) {
        if let Some(entry) = self.release(id) {
            self.ended.push(Ended::ConnectFailed(entry.handler, error));
        }
    }

    /// Accepts on listener `i`, up to the budget.
    pub(crate) fn accept(&mut self, i: usize) {
        let budget = self.parts.cfg.accept_budget;
        for _ in 0..budget {
            let Some(Some(acc)) = self.acceptors.get_mut(i) else { return };
            acc.ready = false;
            if acc.paused {
                return;
            }
            match acc.listener.accept() {
                Ok((stream, peer)) => {
                    acc.recovered();
                    match (acc.factory)(&mut self.parts.state, peer) {
                        Some(handler) => {
                            self.open(stream, handler, false, None);
                        }
                        None => drop(stream),
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => match classify(&e) {
                    AcceptError::Transient => {}
                    AcceptError::Exhausted => {
                        if !acc.exhausted {
                            self.parts.stats.fd_exhaustion_episodes += 1;
                        }
                        match acc.shed_one() {
                            Shed::One => self.parts.stats.shed += 1,
                            Shed::QueueEmpty => return,
                            Shed::NoSpare => {
                                self.pause_accepting(i);
                                return;
                            }
                        }
                    }
                    AcceptError::Other => {
                        tracing::error!("accept failed: {e}; retrying shortly");
                        self.pause_accepting(i);
                        return;
                    }
                },
            }
        }
        // Budget spent: more may be queued, and an edge will not say so.
        if let Some(Some(acc)) = self.acceptors.get_mut(i) {
            acc.ready = true;
        }
    }

    fn pause_accepting(&mut self, i: usize) {
        if let Some(Some(acc)) = self.acceptors.get_mut(i) {
            acc.paused = true;
            let retry = self.parts.cfg.accept_retry;
            self.parts.set_timer(retry, TimerEntry::AcceptRetry(i));
        }
    }

    fn on_signals(&mut self) {
        let mut stop = false;
        if let Some(signals) = &self.signals {
            while let Ok(sig) = signals.receive() {
                tracing::info!("{sig:?} received: shutting down gracefully");
                stop = true;
            }
        }
        if stop {
            self.shutdown();
        }
    }
}

/// Hands `data` (after any input kept from before) to `on_data`; keeps
/// what it leaves unconsumed.
fn deliver<H: Handler>(entry: &mut crate::Entry<H>, parts: &mut Parts<H>, data: &[u8], id: ConnId) {
    let now = parts.clock.stamp();
    let kept = entry.core.bufs.as_mut().map(|b| std::mem::take(&mut b.input)).unwrap_or_default();
    if kept.is_empty() {
        let mut input = Input::new(data);
        entry.handler.on_data(&mut Conn { core: &mut entry.core, parts, id }, &mut input);
        let rest = &data[input.consumed()..];
        if !rest.is_empty() && !entry.core.has(flag::CLOSING | flag::ABORT) {
            let b = entry.core.bufs();
            b.input.extend_from_slice(rest);
            b.input_since = now;
        }
    } else {
        let mut buf = kept;
        buf.extend_from_slice(data);
        let mut input = Input::new(&buf);
        entry.handler.on_data(&mut Conn { core: &mut entry.core, parts, id }, &mut input);
        let consumed = input.consumed();
        if entry.core.has(flag::CLOSING | flag::ABORT) {
            buf.clear();
        } else if consumed > 0 {
            buf.drain(..consumed);
            entry.core.bufs().input_since = now;
        }
        if !buf.is_empty() {
            entry.core.bufs().input = buf;
        }
    }
}

/// The flush step: send what the handler wrote; `on_drained` when a queue
/// that had blocked is empty; resume reading at the low watermark.
fn flush<H: Handler>(entry: &mut crate::Entry<H>, parts: &mut Parts<H>, id: ConnId) -> Result<(), CloseReason> {
    if entry.core.has(flag::ABORT) {
        parts.wbuf.clear();
        return Ok(());
    }
    let now = parts.clock.stamp();
    let was_blocked = entry.core.has(flag::BLOCKED);
    let mut all = entry.core.flush(&mut parts.wbuf, now).map_err(reason_for)?;
    if all && was_blocked {
        entry.core.flags &= !flag::BLOCKED;
        entry.handler.on_drained(&mut Conn { core: &mut entry.core, parts, id });
        all = entry.core.flush(&mut parts.wbuf, now).map_err(reason_for)?;
    }
    let core = &mut entry.core;
    if core.has(flag::PAUSED) && core.queued() <= parts.cfg.low_watermark {
        core.flags &= !flag::PAUSED;
        parts.mark_ready(core, id);
        entry.handler.on_backpressure(&mut Conn { core: &mut entry.core, parts, id }, false);
        if !all || !parts.wbuf.is_empty() {
            entry.core.flush(&mut parts.wbuf, now).map_err(reason_for)?;
        }
    }
    Ok(())
}

/// Sends our FIN when due; returns the reason if the connection is done.
fn close_progress<H: Handler>(entry: &mut crate::Entry<H>, parts: &mut Parts<H>, id: ConnId) -> Option<CloseReason> {
    let core = &mut entry.core;
    if core.has(flag::ABORT) {
        return Some(CloseReason::Aborted);
    }
    if core.has(flag::SHUT_PENDING) && !core.has(flag::WRITE_SHUT) && !core.has_queue() {
        core.flags |= flag::WRITE_SHUT;
        if let Err(e) = core.stream.shutdown(std::net::Shutdown::Write) {
            return Some(reason_for(e));
        }
        if core.has(flag::CLOSING) && !core.has(flag::READ_CLOSED) {
            // Wait for the peer's FIN (reading and discarding what is left,
            // so the close never turns into a reset), at most the linger
            // timeout.
            core.deadline = parts.clock.deadline(parts.cfg.linger_timeout);
            parts.mark_ready(core, id);
        }
    }
    if core.has(flag::CLOSING) && core.has(flag::WRITE_SHUT) && core.has(flag::READ_CLOSED) {
        return Some(CloseReason::Closed);
    }
    None
}

/// Arms the housekeeping timer for the earliest deadline that applies. It
/// only ever moves earlier: a timer that fires early re-arms itself, so the
/// common case (an idle deadline pushed later by activity) costs two
/// comparisons and no wheel operation.
#[inline]
fn arm_housekeeping<H: Handler>(core: &mut crate::core::Core, parts: &mut Parts<H>, id: ConnId) {
    let Some(at) = deadline(core, &parts.timeouts) else { return };
    if core.timer.is_some() && core.timer_at <= at {
        return;
    }
    let wheel = &mut parts.wheel;
    match core.timer {
        Some(key) if wheel.reset(key, at) => {}
        _ => core.timer = Some(wheel.insert(at, TimerEntry::Housekeeping(id))),
    }
    core.timer_at = at;
}

/// The earliest deadline (tick) that applies to a connection now.
#[inline]
fn deadline(core: &crate::core::Core, t: &crate::event_loop::Timeouts) -> Option<u64> {
    if core.has(flag::CONNECTING) || (core.has(flag::CLOSING) && core.has(flag::WRITE_SHUT)) {
        return (core.deadline != 0).then_some(core.deadline);
    }
    let mut at = t.idle.map_or(u64::MAX, |idle| core.last_active + idle);
    if let Some(b) = core.bufs.as_deref() {
        if let (false, Some(w)) = (b.output.is_empty(), t.write) {
            at = at.min(b.output_since + w);
        }
        if let (false, Some(r)) = (b.input.is_empty(), t.read) {
            at = at.min(b.input_since + r);
        }
    }
    (at != u64::MAX).then_some(at)
}
