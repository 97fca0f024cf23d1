//! Graceful shutdown, and the signals that start it.
//!
//! A shutdown (SIGINT or SIGTERM on the loop's signalfd, a
//! [`LoopHandle::shutdown`](crate::LoopHandle::shutdown), or
//! [`EventLoop::shutdown`](crate::EventLoop::shutdown)) closes the listeners
//! at once (new connections are refused), tells every handler
//! ([`Handler::on_shutdown`]) and arms the shutdown deadline
//! (`Config::shutdown_timeout`); connections still open at the deadline are
//! aborted. The loop's `run` returns when the last connection has ended.
//!
//! A second request to shut down while one is under way (a second SIGINT
//! or SIGTERM, a second [`LoopHandle::shutdown`](crate::LoopHandle::shutdown)
//! or `EventLoop::shutdown`) ends the wait at once: the deadline comes now.

use std::io;

use eddy_poll::Interest;
use eddy_poll::Trigger;
use eddy_poll::signal::{Signal, Signals};

use crate::handler::{CloseReason, Handler};
use crate::loop_core::LoopCore;
use crate::reactor::{Reactor, SIGNALS, reactor_timer, timer};

impl<H: Handler> Reactor<H> {
    /// Registers SIGINT and SIGTERM on a signalfd.
    pub(crate) fn handle_signals(&mut self, core: &mut LoopCore) -> io::Result<()> {
        let mut signals = Signals::new(&[Signal::INT, Signal::TERM])?;
        core.registry.register(&mut signals, SIGNALS, Interest::READABLE, Trigger::Level)?;
        self.signals = Some(signals);
        Ok(())
    }

    /// Starts a graceful shutdown; during one, ends it at once (the
    /// deadline's aborts, now).
    pub(crate) fn shutdown(&mut self, core: &mut LoopCore) {
        if self.stopping {
            self.shutdown_deadline(core);
            return;
        }
        self.stopping = true;
        self.acceptors.clear();
        let timeout = self.parts.cfg.shutdown_timeout;
        core.set_timer(timeout, reactor_timer(0, timer::SHUTDOWN));
        for id in self.slab.ids() {
            self.call(core, id, |h, conn| h.on_shutdown(conn));
        }
    }

    /// The shutdown deadline passed: every connection left is aborted.
    pub(crate) fn shutdown_deadline(&mut self, core: &mut LoopCore) {
        for id in self.slab.ids() {
            self.finish(core, id, CloseReason::Shutdown);
        }
    }

    /// The signalfd is readable.
    pub(crate) fn on_signals(&mut self, core: &mut LoopCore) {
        let mut stop = false;
        if let Some(signals) = &self.signals {
            while let Ok(sig) = signals.receive() {
                if self.stopping {
                    tracing::info!("{sig:?} received again: closing every connection now");
                } else {
                    tracing::info!("{sig:?} received: shutting down gracefully");
                }
                stop = true;
            }
        }
        if stop {
            self.shutdown(core);
        }
    }
}
