//! Helpers every experiment shares: loopback connections, bounded waits that
//! record what they see, reads and writes that record their result, and TCP
//! states.
//!
//! Two bounds, and only two: [`MUST`] for what must happen (generous, so a
//! loaded machine still passes: the wait returns as soon as it happens) and
//! [`QUIET`] for a window in which something must *not* happen (a FAIL only
//! if it does happen, never because the machine was slow).

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eddy_poll::net::{TcpListener, TcpStream};
use eddy_poll::{Event, Events, Interest, Poll, Token, Trigger};
use rustix::io::Errno;

use super::record::{Kind, Lab};
use super::tcpstate::{self, TcpRow};

/// How long a wait for something that must happen may take.
pub(crate) const MUST: Duration = Duration::from_secs(5);
/// How long to watch for something that must not happen.
pub(crate) const QUIET: Duration = Duration::from_millis(100);

/// The `TimedOut` error of a must-happen wait, saying what was awaited.
pub(crate) fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, format!("{what}: nothing within {} s", MUST.as_secs()))
}

/// An error of the experiment's own logic (something seen that makes
/// going on pointless), with what was seen.
pub(crate) fn broken(what: impl Into<String>) -> io::Error {
    io::Error::other(what.into())
}

/// The name of an errno, for the common ones (`EPIPE`, ...).
pub(crate) fn errno_name(e: &io::Error) -> String {
    let Some(code) = e.raw_os_error() else { return format!("{:?}", e.kind()) };
    let name = match Errno::from_raw_os_error(code) {
        Errno::AGAIN => "EAGAIN",
        Errno::PIPE => "EPIPE",
        Errno::CONNRESET => "ECONNRESET",
        Errno::NOTCONN => "ENOTCONN",
        Errno::CONNREFUSED => "ECONNREFUSED",
        Errno::CONNABORTED => "ECONNABORTED",
        Errno::BADF => "EBADF",
        Errno::INVAL => "EINVAL",
        Errno::MFILE => "EMFILE",
        Errno::TIMEDOUT => "ETIMEDOUT",
        _ => return format!("errno {code}"),
    };
    name.to_string()
}

/// Whether `e` is the error a reset leaves behind: `ECONNRESET`, or `EPIPE`
/// (what the kernel reports when the reset found the socket in CLOSE_WAIT,
/// or once the reset's error has been taken).
pub(crate) fn is_reset(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe)
}

/// The result of one read or write.
#[derive(Debug)]
pub(crate) enum Io {
    /// This many bytes.
    Done(usize),
    /// A read returned 0: the peer sent FIN and everything before it was read.
    Eof,
    /// Nothing to read, or no room to write.
    WouldBlock,
    /// Any other error.
    Failed(io::Error),
}

impl Io {
    fn from_result(r: io::Result<usize>, zero_is_eof: bool) -> Io {
        match r {
            Ok(0) if zero_is_eof => Io::Eof,
            Ok(n) => Io::Done(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Io::WouldBlock,
            Err(e) => Io::Failed(e),
        }
    }

    /// For a person: `16`, `0 (EOF)`, `WouldBlock`, `Err(ECONNRESET)`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Io::Done(n) => n.to_string(),
            Io::Eof => "0 (EOF)".to_string(),
            Io::WouldBlock => "WouldBlock".to_string(),
            Io::Failed(e) => format!("Err({})", errno_name(e)),
        }
    }

    /// Whether it failed with a reset's error.
    pub(crate) fn is_reset(&self) -> bool {
        matches!(self, Io::Failed(e) if is_reset(e))
    }
}

/// Bytes for a person: printable ASCII as it is, the rest escaped; long
/// runs cut.
pub(crate) fn show_bytes(data: &[u8]) -> String {
    const MAX: usize = 48;
    let mut s: String = data.iter().take(MAX).flat_map(|b| std::ascii::escape_default(*b)).map(char::from).collect();
    if data.len() > MAX {
        s.push_str("...");
    }
    format!("\"{s}\"")
}

/// Waits (at most `bound`) until `poll` reports anything.
fn wait_any(poll: &mut Poll, events: &mut Events, bound: Duration) -> io::Result<()> {
    let deadline = Instant::now() + bound;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        poll.poll(events, Some(left))?;
        // An empty return before the deadline is a spurious wake-up (the
        // emulated backends have them when a rearm changes the wait set).
        if !events.is_empty() || left.is_zero() {
            return Ok(());
        }
    }
}

impl Lab {
    /// A poller on the experiment's backend.
    pub(crate) fn poller(&self) -> io::Result<Poll> {
        Poll::with_backend(self.backend)
    }

    /// Waits until `poll` reports something (at most [`MUST`]); records and
    /// returns the events of that one wait.
    ///
    /// # Errors
    ///
    /// `TimedOut` if nothing came, saying `what` was awaited.
    pub(crate) fn expect(
        &mut self,
        who: &str,
        poll: &mut Poll,
        events: &mut Events,
        what: &str,
    ) -> io::Result<Vec<Event>> {
        wait_any(poll, events, MUST)?;
        if events.is_empty() {
            self.note(Kind::Note, format!("{who:<7} no event within {} s: {what}", MUST.as_secs()));
            return Err(timed_out(what));
        }
        Ok(self.record(who, events))
    }

    /// One wait of at most `bound` (spurious empty returns waited
    /// through); records and returns its events, none at the deadline.
    pub(crate) fn next(
        &mut self,
        who: &str,
        poll: &mut Poll,
        events: &mut Events,
        bound: Duration,
    ) -> io::Result<Vec<Event>> {
        wait_any(poll, events, bound)?;
        Ok(self.record(who, events))
    }

    /// Watches `poll` for [`QUIET`]; records and returns every event seen.
    pub(crate) fn quiet(&mut self, who: &str, poll: &mut Poll, events: &mut Events) -> io::Result<Vec<Event>> {
        let deadline = Instant::now() + QUIET;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            poll.poll(events, Some(left))?;
            seen.extend(self.record(who, events));
        }
        if seen.is_empty() {
            self.note(Kind::Note, format!("{who:<7} no event in a {} ms window", QUIET.as_millis()));
        }
        Ok(seen)
    }

    fn record(&mut self, who: &str, events: &Events) -> Vec<Event> {
        let list: Vec<Event> = events.iter().copied().collect();
        for e in &list {
            self.event(who, e);
        }
        list
    }

    /// One read of at most `size` bytes; records it.
    pub(crate) fn read(&mut self, who: &str, mut src: impl Read, size: usize) -> (Io, Vec<u8>) {
        let mut buf = vec![0; size];
        let io = Io::from_result(src.read(&mut buf), true);
        let data = match io {
            Io::Done(n) => buf[..n].to_vec(),
            _ => Vec::new(),
        };
        let shown = if data.is_empty() { String::new() } else { format!(" {}", show_bytes(&data)) };
        self.note(Kind::Read, format!("{who:<7} read({size}) -> {}{shown}", io.describe()));
        (io, data)
    }

    /// Reads `size` bytes at a time until anything but a full read; records
    /// each; returns every result and the bytes read.
    pub(crate) fn read_until_blocked(&mut self, who: &str, src: impl Read + Copy, size: usize) -> (Vec<Io>, Vec<u8>) {
        let (mut all, mut data) = (Vec::new(), Vec::new());
        loop {
            let (io, d) = self.read(who, src, size);
            data.extend(d);
            let go_on = matches!(io, Io::Done(_));
            all.push(io);
            if !go_on {
                return (all, data);
            }
        }
    }

    /// One write of `data`; records it.
    pub(crate) fn write(&mut self, who: &str, mut sink: impl Write, data: &[u8]) -> Io {
        let io = Io::from_result(sink.write(data), false);
        self.note(Kind::Write, format!("{who:<7} write({}) -> {} {}", data.len(), io.describe(), show_bytes(data)));
        io
    }

    /// Records the TCP state of the socket `local` -> `remote`.
    ///
    /// # Errors
    ///
    /// `/proc/net/tcp` cannot be read.
    pub(crate) fn tcp_state(&mut self, who: &str, local: SocketAddr, remote: SocketAddr) -> io::Result<Option<TcpRow>> {
        Ok(self.tcp_states(&[(who, local, remote)])?.remove(0))
    }

    /// Records the TCP states of several sockets `(who, local, remote)`,
    /// all from one read of `/proc/net/tcp`.
    ///
    /// # Errors
    ///
    /// `/proc/net/tcp` cannot be read.
    pub(crate) fn tcp_states(&mut self, sockets: &[(&str, SocketAddr, SocketAddr)]) -> io::Result<Vec<Option<TcpRow>>> {
        let v6 = sockets.first().is_some_and(|s| s.1.is_ipv6());
        let rows = tcpstate::rows(v6)?;
        let mut out = Vec::new();
        for &(who, local, remote) in sockets {
            let row = tcpstate::find(&rows, local, remote);
            let text = match &row {
                Some(r) => r.describe(),
                None => "no socket (the kernel has freed it)".to_string(),
            };
            self.note(Kind::State, format!("{who:<7} {local} -> {remote}: {text}"));
            out.push(row);
        }
        Ok(out)
    }

    /// Waits for `stream` to be readable or failed, on a poller of its own
    /// (the experiment's pollers are not disturbed); records the event.
    ///
    /// # Errors
    ///
    /// `TimedOut` if nothing came within [`MUST`].
    pub(crate) fn wait_peer(&mut self, who: &str, stream: &TcpStream, what: &str) -> io::Result<Vec<Event>> {
        let mut poll = Poll::new()?;
        let mut events = Events::with_capacity(4);
        let mut fd = eddy_poll::SourceFd(std::os::fd::AsFd::as_fd(stream));
        poll.registry().register(&mut fd, Token(99), Interest::READABLE, Trigger::Level)?;
        self.expect(who, &mut poll, &mut events, what)
    }
}

/// Waits until `stream` shows read-closed (its peer's FIN has been
/// processed), on a poller of its own, edge-triggered so that unread bytes
/// do not make every wait return; at most [`MUST`].
///
/// # Errors
///
/// `TimedOut` if no read-closed event came.
pub(crate) fn wait_read_closed(stream: &TcpStream) -> io::Result<()> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(4);
    let mut fd = eddy_poll::SourceFd(std::os::fd::AsFd::as_fd(stream));
    poll.registry().register(&mut fd, Token(0), Interest::READABLE, Trigger::Edge)?;
    let deadline = Instant::now() + MUST;
    loop {
        if events.iter().any(Event::is_read_closed) {
            return Ok(());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(timed_out("the peer's FIN"));
        }
        poll.poll(&mut events, Some(left))?;
    }
}

/// A connected loopback TCP pair `(client, server)`, both established.
///
/// # Errors
///
/// A socket call failed, or the connection did not complete within [`MUST`].
pub(crate) fn tcp_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let client = TcpStream::connect(listener.local_addr()?)?;
    let mut server = accept_n(&listener, 1)?;
    wait_connected(&client)?;
    Ok((client, server.remove(0)))
}

/// Accepts `n` connections from `listener`, waiting at most [`MUST`].
///
/// # Errors
///
/// An accept failed, or fewer than `n` came in time.
pub(crate) fn accept_n(listener: &TcpListener, n: usize) -> io::Result<Vec<TcpStream>> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(4);
    let mut fd = eddy_poll::SourceFd(std::os::fd::AsFd::as_fd(listener));
    poll.registry().register(&mut fd, Token(0), Interest::READABLE, Trigger::Level)?;
    let deadline = Instant::now() + MUST;
    let mut out = Vec::new();
    while out.len() < n {
        match listener.accept() {
            Ok((s, _)) => out.push(s),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(timed_out("accepting the set-up connections"));
                }
                poll.poll(&mut events, Some(left))?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Waits until a connecting `stream` is connected (writable), at most
/// [`MUST`].
///
/// # Errors
///
/// The connect failed, or did not finish in time.
pub(crate) fn wait_connected(stream: &TcpStream) -> io::Result<()> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(4);
    let mut fd = eddy_poll::SourceFd(std::os::fd::AsFd::as_fd(stream));
    poll.registry().register(&mut fd, Token(0), Interest::WRITABLE, Trigger::Level)?;
    wait_any(&mut poll, &mut events, MUST)?;
    if events.is_empty() {
        return Err(timed_out("connecting on loopback"));
    }
    match stream.take_error()? {
        Some(e) => Err(e),
        None => stream.peer_addr().map(|_| ()),
    }
}

/// Waits until `listener`'s accept queue holds at least `n` connections
/// (read from `/proc/net/tcp`), at most [`MUST`]. A connect completes on the
/// client before the server has processed the handshake's last ACK, so
/// "every client is connected" does not yet mean "every connection is
/// queued"; no event tells the latter, so this re-reads the kernel's count,
/// yielding the CPU in between.
///
/// # Errors
///
/// `/proc/net/tcp` unreadable, or the queue stayed shorter.
pub(crate) fn wait_accept_queue(listener: &TcpListener, n: u32) -> io::Result<u32> {
    let addr = listener.local_addr()?;
    let deadline = Instant::now() + MUST;
    loop {
        let queued = tcpstate::listener(addr)?.map_or(0, |r| r.rx_queue);
        if queued >= n {
            return Ok(queued);
        }
        if Instant::now() >= deadline {
            return Err(broken(format!(
                "the accept queue holds {queued} of {n} connections after {} s",
                MUST.as_secs()
            )));
        }
        std::thread::yield_now();
    }
}
