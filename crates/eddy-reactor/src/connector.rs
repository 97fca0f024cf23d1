//! The connector: a connection the reactor opens itself. A non-blocking
//! `connect` starts it; the socket's first writability (or error) completes
//! it, and the handler then gets `on_open`, or `on_connect_failed` if the
//! connect fails or outlasts its timeout (the connection's housekeeping
//! timer serves the timeout: `connection/timeouts.rs`).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use eddy_poll::net::TcpStream;

use crate::connection::state;
use crate::handler::Handler;
use crate::loop_core::LoopCore;
use crate::reactor::{Ended, Origin, Reactor};
use crate::slab::ConnId;

impl<H: Handler> Reactor<H> {
    /// Starts a connection to `addr` (see [`EventLoop::connect`](crate::EventLoop::connect)).
    pub(crate) fn connect(
        &mut self,
        core: &mut LoopCore,
        addr: SocketAddr,
        timeout: Option<Duration>,
        handler: H,
    ) -> Option<ConnId> {
        match TcpStream::connect(addr) {
            Ok(stream) => self.open(core, stream, handler, Origin::Connecting(timeout)),
            Err(e) => {
                self.ended.push(Ended::ConnectFailed(handler, e));
                None
            }
        }
    }

    /// A connecting socket became writable (or failed).
    pub(crate) fn finish_connect(&mut self, core: &mut LoopCore, id: ConnId) {
        let Some(entry) = self.slab.get_mut(id) else { return };
        match entry.conn.stream.take_error() {
            Ok(Some(e)) | Err(e) => return self.connect_failed(core, id, e),
            Ok(None) => {}
        }
        if entry.conn.stream.peer_addr().is_err() {
            return; // still connecting: a spurious wake-up
        }
        entry.conn.state.clear(state::CONNECTING);
        entry.conn.last_active = core.clock.stamp();
        self.parts.mark_dirty(&mut entry.conn, id);
        self.call(core, id, |h, conn| h.on_open(conn));
    }

    /// The connect failed or timed out: the slot is freed, the handler told
    /// at the end of the turn.
    pub(crate) fn connect_failed(&mut self, core: &mut LoopCore, id: ConnId, error: io::Error) {
        if let Some(entry) = self.release(core, id) {
            self.ended.push(Ended::ConnectFailed(entry.handler, error));
        }
    }
}
