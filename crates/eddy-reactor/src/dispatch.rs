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

use crate::acceptor::{AcceptError, classify};
use crate::conn::Conn;
use crate::core::flag;
use crate::event_loop::{Ended, EventLoop, LISTENER_BASE, SIGNALS, TimerEntry, WAKER};
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

/// Ticks in a duration, rounded up (a deadline computed with it is never
/// early).
fn ticks(d: std::time::Duration) -> u64 {
    let ms = d.as_millis() as u64;
    if d > std::time::Duration::from_millis(ms) { ms + 1 } else { ms }
}

impl<H: Handler> EventLoop<H> {
    pub(crate) fn dispatch(&mut self) {
        // Work left over from the last turn first: it has waited longest.
        let mut ready = std::mem::take(&mut self.parts.ready);
        for &id in &ready {
            match self.slab.get_mut(id) {
                Some(e) => e.core.flags &= !flag::READY,
                None => continue,
            }
            self.service(id, true, false);
        }
        ready.clear();
        if self.parts.ready.is_empty() {
            self.parts.ready = ready;
        }
        for i in 0..self.acceptors.len() {
            if self.acceptors[i].as_ref().is_some_and(|a| a.ready && !a.paused) {
                self.accept(i);
            }
        }
        let Some(events) = self.events.take() else { return };
        for event in &events {
            self.on_event(event);
        }
        self.events = Some(events);
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
            let read = event.is_readable() || hup;
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
        if let Some(entry) = self.slab.get_mut(id) {
            if hup {
                entry.core.flags |= flag::HUP;
            }
            if entry.core.has(flag::REPLAY) {
                entry.core.flags &= !flag::REPLAY;
                if entry.core.input_len() > 0 && !entry.core.has(flag::CLOSING | flag::ABORT | flag::USER_PAUSED) {
                    self.deliver(id, 0);
                }
            }
        }
        let (mut bytes_left, mut reads_left) = (self.parts.cfg.read_budget_bytes, self.parts.cfg.read_budget_reads);
        let high = self.parts.cfg.high_watermark;
        loop {
            let Some(entry) = self.slab.get_mut(id) else { return Ok(()) };
            let core = &mut entry.core;
            if core.has(flag::READ_CLOSED | flag::PAUSED | flag::USER_PAUSED | flag::ABORT) {
                return Ok(());
            }
            let discard = core.has(flag::CLOSING);
            let staged = if core.has_queue() { 0 } else { self.parts.wbuf.len() };
            let queued = core.queued() + staged;
            if !discard && queued >= high {
                core.flags |= flag::PAUSED;
                self.parts.stats.backpressure_pauses += 1;
                self.parts.mark_dirty(core, id);
                let conn = &mut Conn { core: &mut entry.core, parts: &mut self.parts, id };
                entry.handler.on_backpressure(conn, true);
                return Ok(());
            }
            if reads_left == 0 || bytes_left == 0 {
                self.parts.mark_ready(core, id);
                return Ok(());
            }
            let room = if discard { self.rbuf.len() } else { high - queued }.min(bytes_left).min(self.rbuf.len());
            let n = match (&core.stream).read(&mut self.rbuf[..room]) {
                Ok(0) => {
                    core.flags |= flag::READ_CLOSED;
                    self.parts.mark_dirty(core, id);
                    if !discard {
                        let conn = &mut Conn { core: &mut entry.core, parts: &mut self.parts, id };
                        entry.handler.on_read_closed(conn);
                    }
                    return Ok(());
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(reason_for(e)),
            };
            core.last_active = self.parts.clock.stamp();
            let hup = core.has(flag::HUP);
            bytes_left -= n;
            reads_left -= 1;
            if !discard {
                self.deliver(id, n);
            }
            if n < room && !hup {
                // A short read emptied the kernel's queue.
                return Ok(());
            }
        }
    }

    /// Hands `rbuf[..n]` (after any input kept from before) to `on_data`;
    /// keeps what it leaves unconsumed.
    fn deliver(&mut self, id: ConnId, n: usize) {
        let Some(entry) = self.slab.get_mut(id) else { return };
        let now = self.parts.clock.stamp();
        let data = &self.rbuf[..n];
        let kept = entry.core.bufs.as_mut().map(|b| std::mem::take(&mut b.input)).unwrap_or_default();
        if kept.is_empty() {
            let mut input = Input::new(data);
            let conn = &mut Conn { core: &mut entry.core, parts: &mut self.parts, id };
            entry.handler.on_data(conn, &mut input);
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
            let conn = &mut Conn { core: &mut entry.core, parts: &mut self.parts, id };
            entry.handler.on_data(conn, &mut input);
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

    /// The flush and close-progress steps.
    pub(crate) fn after_io(&mut self, id: ConnId) {
        if let Err(reason) = self.flush(id) {
            self.parts.wbuf.clear();
            self.finish(id, reason);
            return;
        }
        if let Some(reason) = self.close_progress(id) {
            self.finish(id, reason);
            return;
        }
        let Some(entry) = self.slab.get_mut(id) else { return };
        let core = &mut entry.core;
        self.parts.stats.max_queued = self.parts.stats.max_queued.max(core.queued());
        core.release_bufs();
        self.parts.mark_dirty(core, id);
        self.arm_housekeeping(id);
    }

    fn flush(&mut self, id: ConnId) -> Result<(), CloseReason> {
        let Some(entry) = self.slab.get_mut(id) else { return Ok(()) };
        if entry.core.has(flag::ABORT) {
            self.parts.wbuf.clear();
            return Ok(());
        }
        let now = self.parts.clock.stamp();
        let was_blocked = entry.core.has(flag::BLOCKED);
        let mut all = entry.core.flush(&mut self.parts.wbuf, now).map_err(reason_for)?;
        if all && was_blocked {
            entry.core.flags &= !flag::BLOCKED;
            let conn = &mut Conn { core: &mut entry.core, parts: &mut self.parts, id };
            entry.handler.on_drained(conn);
            all = entry.core.flush(&mut self.parts.wbuf, now).map_err(reason_for)?;
        }
        let core = &mut entry.core;
        if core.has(flag::PAUSED) && core.queued() <= self.parts.cfg.low_watermark {
            core.flags &= !flag::PAUSED;
            self.parts.mark_ready(core, id);
            let conn = &mut Conn { core: &mut entry.core, parts: &mut self.parts, id };
            entry.handler.on_backpressure(conn, false);
            if !all || !self.parts.wbuf.is_empty() {
                entry.core.flush(&mut self.parts.wbuf, now).map_err(reason_for)?;
            }
        }
        Ok(())
    }

    /// Sends our FIN when due; returns the reason if the connection is done.
    fn close_progress(&mut self, id: ConnId) -> Option<CloseReason> {
        let entry = self.slab.get_mut(id)?;
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
                // Wait for the peer's FIN (reading and discarding what is
                // left, so the close never turns into a reset), at most the
                // linger timeout.
                core.deadline = self.parts.clock.deadline(self.parts.cfg.linger_timeout);
                self.parts.mark_ready(core, id);
            }
        }
        if core.has(flag::CLOSING) && core.has(flag::WRITE_SHUT) && core.has(flag::READ_CLOSED) {
            return Some(CloseReason::Closed);
        }
        None
    }

    /// Ends a connection now: its fd is closed (with RST if aborting), its
    /// slot and buffers freed, its timer cancelled; `on_close` runs at the
    /// end of the turn.
    pub(crate) fn finish(&mut self, id: ConnId, reason: CloseReason) {
        let Some(mut entry) = self.slab.remove(id) else { return };
        if let Some(key) = entry.core.timer.take() {
            self.parts.wheel.cancel(key);
        }
        let reason = entry.core.reason.take().unwrap_or(reason);
        if matches!(reason, CloseReason::Aborted | CloseReason::Shutdown | CloseReason::Timeout(Timeout::Write)) {
            let _ = entry.core.stream.set_linger(Some(std::time::Duration::ZERO));
        }
        self.parts.stats.closed += 1;
        let crate::Entry { handler, core } = entry;
        drop(core);
        self.ended.push(Ended::Closed(handler, reason));
    }

    /// Arms the housekeeping timer for the earliest deadline that applies
    /// (only moves it earlier; a timer that fires early re-arms itself).
    fn arm_housekeeping(&mut self, id: ConnId) {
        let Some(entry) = self.slab.get_mut(id) else { return };
        let Some(at) = deadline(&entry.core, &self.parts.cfg) else { return };
        let wheel = &mut self.parts.wheel;
        match entry.core.timer {
            Some(key) if wheel.deadline(key).is_some_and(|d| d <= at) => {}
            Some(key) if wheel.reset(key, at) => {}
            _ => entry.core.timer = Some(wheel.insert(at, TimerEntry::Housekeeping(id))),
        }
    }

    /// The housekeeping timer fired: act on what is due, re-arm for the rest.
    pub(crate) fn housekeeping(&mut self, id: ConnId) {
        let Some(entry) = self.slab.get_mut(id) else {
            self.parts.stats.stale_events += 1;
            return;
        };
        let core = &mut entry.core;
        core.timer = None;
        let now = self.parts.clock.tick();
        let cfg = &self.parts.cfg;
        let due = |since: u64, t: Option<std::time::Duration>| t.is_some_and(|t| now >= since + ticks(t));
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
            let which = if core.has_queue() && due(output_since.unwrap_or(now), cfg.write_timeout) {
                Some(Timeout::Write)
            } else if core.input_len() > 0 && due(input_since.unwrap_or(now), cfg.read_timeout) {
                Some(Timeout::Read)
            } else if due(core.last_active, cfg.idle_timeout) {
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
        self.arm_housekeeping(id);
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
        if let Some(mut entry) = self.slab.remove(id) {
            if let Some(key) = entry.core.timer.take() {
                self.parts.wheel.cancel(key);
            }
            self.parts.stats.closed += 1;
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
                        if acc.shed_one() {
                            self.parts.stats.shed += 1;
                        } else {
                            self.pause_accepting(i);
                            return;
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

/// The earliest deadline (tick) that applies to a connection now.
fn deadline(core: &crate::core::Core, cfg: &crate::Config) -> Option<u64> {
    if core.has(flag::CONNECTING) || (core.has(flag::CLOSING) && core.has(flag::WRITE_SHUT)) {
        return (core.deadline != 0).then_some(core.deadline);
    }
    let at = |since: u64, t: Option<std::time::Duration>| t.map(|t| since + ticks(t));
    let bufs = core.bufs.as_deref();
    let write = bufs.filter(|b| !b.output.is_empty()).and_then(|b| at(b.output_since, cfg.write_timeout));
    let read = bufs.filter(|b| !b.input.is_empty()).and_then(|b| at(b.input_since, cfg.read_timeout));
    let idle = at(core.last_active, cfg.idle_timeout);
    [write, read, idle].into_iter().flatten().min()
}
