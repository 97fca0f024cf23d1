//! A connection's timeouts: idle, read, write (from the loop's
//! [`Config`]), the linger deadline of a graceful close and the connect
//! deadline, all served by one housekeeping timer per connection.
//!
//! The timer is armed for the earliest deadline that applies, and only ever
//! moved earlier: a timer that fires early finds nothing due and re-arms
//! itself for the rest, so the common case (an idle deadline pushed later
//! by activity) costs two comparisons and no wheel operation. A timeout the
//! handler survives (it keeps the connection in `on_timeout`) restarts a
//! full period later, so it cannot re-arm in the past and fire in a loop.

use std::io;
use std::time::Duration;

use crate::config::Config;
use crate::connection::{Armed, Connection, state};
use crate::handler::{CloseReason, Handler, Timeout};
use crate::loop_core::{LoopCore, Timer};
use crate::reactor::Reactor;
use crate::slab::ConnId;
use crate::wheel::Tick;

/// The per-connection timeouts of the configuration, in whole ticks
/// (rounded up), computed once.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeouts {
    pub(crate) idle: Option<Tick>,
    pub(crate) read: Option<Tick>,
    pub(crate) write: Option<Tick>,
}

impl Timeouts {
    pub(crate) fn of(cfg: &Config) -> Timeouts {
        let t = |d: Option<Duration>| d.map(crate::clock::ticks_up);
        Timeouts { idle: t(cfg.idle_timeout), read: t(cfg.read_timeout), write: t(cfg.write_timeout) }
    }
}

/// Arms the housekeeping timer for the earliest deadline that applies
/// (module docs: it only ever moves earlier).
#[inline]
pub(crate) fn arm(conn: &mut Connection, core: &mut LoopCore, t: &Timeouts, id: ConnId) {
    let Some(at) = deadline(conn, t) else { return };
    if conn.timer.is_some_and(|armed| armed.at <= at) {
        return;
    }
    let key = match conn.timer {
        Some(armed) if core.wheel.reset(armed.key, at) => armed.key,
        _ => core.set_timer_at_tick(at, Timer { token: id.token(), data: 0 }),
    };
    conn.timer = Some(Armed { key, at });
}

/// The earliest deadline (tick) that applies to a connection now.
#[inline]
fn deadline(conn: &Connection, t: &Timeouts) -> Option<Tick> {
    if conn.has(state::CONNECTING) || conn.state.is_lingering() {
        return conn.deadline();
    }
    let mut at = t.idle.map_or(Tick::MAX, |idle| conn.last_active + idle);
    if let Some(b) = conn.bufs.as_deref() {
        if let (false, Some(w)) = (b.output.is_empty(), t.write) {
            at = at.min(b.output_since + w);
        }
        if let (false, Some(r)) = (b.input.is_empty(), t.read) {
            at = at.min(b.input_since + r);
        }
    }
    (at != Tick::MAX).then_some(at)
}

impl<H: Handler> Reactor<H> {
    /// The housekeeping timer fired: act on what is due, re-arm for the rest.
    pub(crate) fn housekeeping(&mut self, core: &mut LoopCore, id: ConnId) {
        let Some(entry) = self.slab.get_mut(id) else {
            self.parts.stats.stale_events += 1;
            return;
        };
        let conn = &mut entry.conn;
        conn.timer = None;
        let now = core.clock.tick();
        let t = self.parts.timeouts;
        let due = |since: Tick, ticks: Option<Tick>| ticks.is_some_and(|ticks| now >= since + ticks);
        if conn.has(state::CONNECTING) {
            if conn.deadline().is_some_and(|at| now >= at) {
                self.connect_failed(core, id, io::ErrorKind::TimedOut.into());
                return;
            }
        } else if conn.state.is_lingering() {
            if conn.deadline().is_none_or(|at| now >= at) {
                self.finish(core, id, CloseReason::Closed);
                return;
            }
        } else {
            let input_since = conn.bufs.as_ref().map(|b| b.input_since);
            let output_since = conn.bufs.as_ref().map(|b| b.output_since);
            let which = if conn.has_queue() && due(output_since.unwrap_or(now), t.write) {
                Some(Timeout::Write)
            } else if conn.input_len() > 0 && due(input_since.unwrap_or(now), t.read) {
                Some(Timeout::Read)
            } else if due(conn.last_active, t.idle) {
                Some(Timeout::Idle)
            } else {
                None
            };
            if let Some(which) = which {
                // The timeout is spent: if the handler keeps the connection,
                // the next one is a full period away.
                let stamp = core.clock.stamp();
                match which {
                    Timeout::Idle => conn.last_active = stamp,
                    Timeout::Read => conn.bufs().input_since = stamp,
                    Timeout::Write => conn.bufs().output_since = stamp,
                }
                self.call(core, id, |h, conn| h.on_timeout(conn, which));
                return;
            }
        }
        if let Some(entry) = self.slab.get_mut(id) {
            arm(&mut entry.conn, core, &self.parts.timeouts, id);
        }
    }
}
