//! `delayed-requests`: a delay server and its client on one poller, in one
//! thread.
//!
//! The server answers `GET /{ms}/{message} HTTP/1.1` with `message` after
//! `ms`: the head at the deadline, the body one unit later (a response that
//! is "still coming" for a while, as a streamed one is), then it shuts down
//! writing and closes once the client's FIN (or an error) comes back. The
//! client opens five connections and sends delays of 5, 4, 3, 2, 1 units.
//!
//! The unit is 20 ms. Deadlines are taken from the loop's clock of the turn
//! that read the request, and the timers fire in deadline order even when a
//! turn is late, so the order of the answers depends only on the requests
//! reaching the server less than a unit apart. They are sent in one burst,
//! microseconds apart; 20 ms is far above what a loaded machine adds to
//! that, and short enough that both runs take a quarter of a second.
//!
//! What a loaded machine can change: a turn that comes late finds several
//! responses complete at once, and within one wait the events come in the
//! poller's order (on epoll the order of the wake-ups, so still the order
//! of the writes; on poll and select the order of the fds). The check
//! therefore orders the responses turn by turn, those of one turn in any
//! order, and prints such a group in brackets.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use eddy_poll::net::{TcpListener, TcpStream};
use eddy_poll::{Event, Events, Interest, Poll, Token, Trigger};

use super::record::{Kind, Lab};
use super::util::{Io, MUST, broken, timed_out};

const UNIT: Duration = Duration::from_millis(20);
const REQUESTS: [(u32, &str); 5] = [(5, "five"), (4, "four"), (3, "three"), (2, "two"), (1, "one")];
const LISTENER: Token = Token(0);
const SERVER_BASE: usize = 100;
const CLIENT_BASE: usize = 200;

struct ServerConn {
    stream: TcpStream,
    input: Vec<u8>,
    /// The body to send, once the request is parsed.
    message: Option<String>,
    /// The client's FIN was read.
    eof: bool,
    /// The server shut down writing after the body.
    finished: bool,
}

struct ClientConn {
    stream: TcpStream,
    units: u32,
    message: &'static str,
    sent: bool,
    input: Vec<u8>,
}

struct Timer {
    at: Instant,
    server: usize,
    body: bool,
}

/// What a run saw.
#[derive(Default)]
struct Outcome {
    /// Units asked for, in the order the responses completed, with the
    /// number of the turn that completed each.
    order: Vec<(u64, u32)>,
    /// Responses whose body was not the message asked for.
    wrong: Vec<String>,
    /// Errors on the client's side.
    client_errors: usize,
    /// Errors on the server's side that are a reset's (ECONNRESET, EPIPE).
    server_resets: usize,
    /// Any other server error.
    server_other: usize,
}

struct Session<'a> {
    lab: &'a mut Lab,
    poll: Poll,
    events: Events,
    listener: TcpListener,
    servers: Vec<Option<ServerConn>>,
    clients: Vec<Option<ClientConn>>,
    timers: Vec<Timer>,
    start: Instant,
    /// Contrast run: drop every other stream once the first response is in.
    drop_after_first: bool,
    /// Counts the waits, to tell which responses completed together.
    turn: u64,
    out: Outcome,
}

pub(crate) fn delayed_requests(lab: &mut Lab) -> io::Result<()> {
    lab.setup("a delay server (GET /{ms}/{message}: the head after ms, the body one unit later) on one poller;");
    lab.setup(
        "a client on the same poller opens 5 connections and sends delays of 5, 4, 3, 2, 1 units (1 unit = 20 ms)",
    );
    lab.setup("everything registered Edge, read and accepted until WouldBlock; every stream closed properly");
    lab.setup("contrast: the client drops its other streams as soon as the first response is in");
    let normal = Session::new(lab, false)?.drive()?;
    lab.check(
        "order of the responses (units)",
        "1, 2, 3, 4, 5 (a [group] completed in one turn may come in any order: within one wait, the events \
         come in the poller's order, which on poll and select is the order of the fds, not of the arrivals)",
        show_order(&normal.order),
        in_order(&normal.order),
    );
    lab.check("bodies", "each the message asked for", format!("{} wrong", normal.wrong.len()), normal.wrong.is_empty());
    let errors = normal.client_errors + normal.server_resets + normal.server_other;
    lab.check("resets", "none on either side", format!("{errors} errors"), errors == 0);

    let dropped = Session::new(lab, true)?.drive()?;
    lab.check(
        "contrast: dropped streams",
        "one response, then on each of the 4 others the server's write is answered by RST, and its next \
         write or shutdown fails (EPIPE, ECONNRESET or ENOTCONN; a read may see the reset first, as ECONNRESET)",
        format!(
            "responses completed {}, then {} resets, {} other errors",
            show_order(&dropped.order),
            dropped.server_resets,
            dropped.server_other
        ),
        dropped.order.len() == 1 && dropped.server_resets == REQUESTS.len() - 1 && dropped.server_other == 0,
    );
    Ok(())
}

impl<'a> Session<'a> {
    fn new(lab: &'a mut Lab, drop_after_first: bool) -> io::Result<Session<'a>> {
        let mut listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let poll = lab.poller()?;
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE, Trigger::Edge)?;
        let mut clients = Vec::new();
        for (j, &(units, message)) in REQUESTS.iter().enumerate() {
            let mut stream = TcpStream::connect(listener.local_addr()?)?;
            let interest = Interest::READABLE | Interest::WRITABLE;
            poll.registry().register(&mut stream, Token(CLIENT_BASE + j), interest, Trigger::Edge)?;
            clients.push(Some(ClientConn { stream, units, message, sent: false, input: Vec::new() }));
        }
        let run = if drop_after_first { "contrast run" } else { "normal run" };
        lab.note(Kind::Note, format!("{run}: {} clients connecting", clients.len()));
        Ok(Session {
            lab,
            poll,
            events: Events::with_capacity(32),
            listener,
            servers: Vec::new(),
            clients,
            timers: Vec::new(),
            start: Instant::now(),
            drop_after_first,
            turn: 0,
            out: Outcome::default(),
        })
    }

    /// The loop: timers, poll, dispatch; until every stream is closed.
    /// A turn's clock is read once, after the wait: deadlines of the
    /// requests read in one turn share it.
    fn drive(mut self) -> io::Result<Outcome> {
        let deadline = self.start + MUST;
        loop {
            let now = Instant::now();
            if now > deadline {
                return Err(timed_out("every stream of the delayed requests closed"));
            }
            self.fire_timers(now)?;
            if self.clients.iter().all(Option::is_none) && self.servers.iter().all(Option::is_none) {
                return Ok(self.out);
            }
            let next = self.timers.iter().map(|t| t.at).min().map_or(deadline, |at| at.min(deadline));
            self.poll.poll(&mut self.events, Some(next.saturating_duration_since(Instant::now())))?;
            let batch: Vec<Event> = self.events.iter().copied().collect();
            let turn = Instant::now();
            self.turn += 1;
            for e in &batch {
                self.dispatch(e, turn)?;
            }
        }
    }

    fn dispatch(&mut self, e: &Event, turn: Instant) -> io::Result<()> {
        let t = e.token().0;
        if e.token() == LISTENER {
            self.lab.event("server", e);
            self.accept()
        } else if (SERVER_BASE..CLIENT_BASE).contains(&t) {
            self.lab.event("server", e);
            self.on_server(t - SERVER_BASE, turn)
        } else {
            self.lab.event("client", e);
            self.on_client(t - CLIENT_BASE, e)
        }
    }

    fn accept(&mut self) -> io::Result<()> {
        loop {
            match self.listener.accept() {
                Ok((mut stream, peer)) => {
                    let i = self.servers.len();
                    let token = Token(SERVER_BASE + i);
                    self.poll.registry().register(&mut stream, token, Interest::READABLE, Trigger::Edge)?;
                    self.lab.note(Kind::Read, format!("server  accept() -> connection {i} from {peer}"));
                    self.servers.push(Some(ServerConn {
                        stream,
                        input: Vec::new(),
                        message: None,
                        eof: false,
                        finished: false,
                    }));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    fn elapsed_ms(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1e3
    }

    /// Reads a server connection until WouldBlock; schedules the answer
    /// once the request is complete; closes once finished and the client
    /// is done.
    fn on_server(&mut self, i: usize, turn: Instant) -> io::Result<()> {
        let Some(conn) = self.servers.get_mut(i).and_then(Option::as_mut) else { return Ok(()) };
        let (reads, data) = self.lab.read_until_blocked("server", &conn.stream, 1024);
        conn.input.extend(data);
        for io in &reads {
            match io {
                Io::Eof => conn.eof = true,
                Io::Failed(e) if super::util::is_reset(e) => self.out.server_resets += 1,
                Io::Failed(_) => self.out.server_other += 1,
                _ => {}
            }
        }
        let failed = reads.iter().any(|io| matches!(io, Io::Failed(_)));
        if conn.message.is_none() && conn.input.windows(4).any(|w| w == b"\r\n\r\n") {
            let (ms, message) =
                parse_request(&conn.input).ok_or_else(|| broken("the server got a malformed request"))?;
            self.lab.note(Kind::Note, format!("server  request {i}: {message:?} due in {ms} ms"));
            conn.message = Some(message);
            self.timers.push(Timer { at: turn + Duration::from_millis(ms), server: i, body: false });
        }
        if failed || (conn.finished && conn.eof) {
            self.close_server(i, if failed { "after an error" } else { "after the client's FIN" });
        }
        Ok(())
    }

    fn close_server(&mut self, i: usize, why: &str) {
        if self.servers.get_mut(i).and_then(Option::take).is_some() {
            self.timers.retain(|t| t.server != i);
            self.lab.note(Kind::Write, format!("server  close() connection {i} {why}"));
        }
    }

    /// Fires every due timer, in deadline order.
    fn fire_timers(&mut self, now: Instant) -> io::Result<()> {
        while let Some(k) =
            (0..self.timers.len()).filter(|&k| self.timers[k].at <= now).min_by_key(|&k| self.timers[k].at)
        {
            let t = self.timers.remove(k);
            self.answer(t)?;
        }
        Ok(())
    }

    /// Writes a head or a body; a body is followed by shutdown(Write).
    fn answer(&mut self, t: Timer) -> io::Result<()> {
        let Some(conn) = self.servers.get_mut(t.server).and_then(Option::as_mut) else { return Ok(()) };
        let message = conn.message.clone().unwrap_or_default();
        let bytes = if t.body {
            message.into_bytes()
        } else {
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", message.len()).into_bytes()
        };
        let late = now_ms(t.at.elapsed());
        self.lab.note(Kind::Note, format!("server  timer of connection {} ({} ms late)", t.server, late));
        let io = self.lab.write("server", &conn.stream, &bytes);
        match io {
            Io::Done(_) if !t.body => self.timers.push(Timer { at: t.at + UNIT, server: t.server, body: true }),
            Io::Done(_) => match conn.stream.shutdown(Shutdown::Write) {
                Ok(()) => {
                    conn.finished = true;
                    self.lab.note(Kind::Write, format!("server  shutdown(Write) connection {} -> FIN", t.server));
                    if conn.eof {
                        self.close_server(t.server, "after the client's FIN");
                    }
                }
                // The write was taken, and the peer's RST came back before
                // the shutdown: the connection is already closed.
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                    let text = format!("server  shutdown(Write) connection {} -> Err(ENOTCONN): reset", t.server);
                    self.lab.note(Kind::Write, text);
                    self.out.server_resets += 1;
                    self.close_server(t.server, "after the reset");
                }
                Err(e) => return Err(e),
            },
            Io::Failed(e) => {
                if super::util::is_reset(&e) {
                    self.out.server_resets += 1;
                } else {
                    self.out.server_other += 1;
                }
                self.close_server(t.server, "after the write met a reset");
            }
            Io::WouldBlock | Io::Eof => return Err(broken("a small write to an idle socket would block")),
        }
        Ok(())
    }

    /// Sends the request once connected; reads the response until EOF.
    fn on_client(&mut self, j: usize, e: &Event) -> io::Result<()> {
        let Some(conn) = self.clients.get_mut(j).and_then(Option::as_mut) else { return Ok(()) };
        if e.is_writable() && !conn.sent {
            let request = format!(
                "GET /{}/{} HTTP/1.1\r\nHost: lab\r\n\r\n",
                u128::from(conn.units) * UNIT.as_millis(),
                conn.message
            );
            let io = self.lab.write("client", &conn.stream, request.as_bytes());
            if !matches!(io, Io::Done(n) if n == request.len()) {
                return Err(broken(format!("the client's request write returned {}", io.describe())));
            }
            conn.sent = true;
        }
        if !e.is_readable() && !e.is_read_closed() && !e.is_error() {
            return Ok(());
        }
        let (reads, data) = self.lab.read_until_blocked("client", &conn.stream, 1024);
        conn.input.extend(data);
        if reads.iter().any(|io| matches!(io, Io::Failed(_))) {
            self.out.client_errors += 1;
            self.clients[j] = None;
            return Ok(());
        }
        if reads.iter().any(|io| matches!(io, Io::Eof)) {
            self.complete(j);
        }
        Ok(())
    }

    /// A response is complete (EOF): prints it, closes the stream; in the
    /// contrast run, drops every other stream.
    fn complete(&mut self, j: usize) {
        let Some(conn) = self.clients.get_mut(j).and_then(Option::take) else { return };
        let body = response_body(&conn.input).unwrap_or_default();
        let ms = self.elapsed_ms();
        self.lab.note(
            Kind::Note,
            format!("client  response {:?} after {ms:.1} ms (asked for {} units); close()", body, conn.units),
        );
        if body != conn.message {
            self.out.wrong.push(body);
        }
        self.out.order.push((self.turn, conn.units));
        if self.drop_after_first {
            let left = self.clients.iter_mut().filter_map(Option::take).count();
            self.lab.note(Kind::Write, format!("client  drops its {left} other streams, responses still coming"));
        }
    }
}

/// Whether the responses came in the order of their delays, turn by turn
/// (those of one turn in any order among themselves).
fn in_order(order: &[(u64, u32)]) -> bool {
    let mut sorted = order.to_vec();
    sorted.sort_unstable();
    sorted.iter().map(|o| o.1).eq(1..=REQUESTS.len() as u32)
}

/// `1, [3 2], 4, 5`: the units, those completed in one turn bracketed.
fn show_order(order: &[(u64, u32)]) -> String {
    let mut groups: Vec<Vec<u32>> = Vec::new();
    for (k, &(turn, units)) in order.iter().enumerate() {
        match groups.last_mut() {
            Some(g) if k > 0 && order[k - 1].0 == turn => g.push(units),
            _ => groups.push(vec![units]),
        }
    }
    let shown: Vec<String> = groups
        .iter()
        .map(|g| match g.as_slice() {
            [one] => one.to_string(),
            many => format!("[{}]", many.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")),
        })
        .collect();
    shown.join(", ")
}

fn now_ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

/// `GET /{ms}/{message} HTTP/1.1` -> `(ms, message)`.
fn parse_request(input: &[u8]) -> Option<(u64, String)> {
    let text = std::str::from_utf8(input).ok()?;
    let mut words = text.lines().next()?.split_whitespace();
    let (method, path, version) = (words.next()?, words.next()?, words.next()?);
    if method != "GET" || !version.starts_with("HTTP/1.") {
        return None;
    }
    let (ms, message) = path.strip_prefix('/')?.split_once('/')?;
    Some((ms.parse().ok()?, message.to_string()))
}

/// The body of a complete `200 OK` response.
fn response_body(input: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(input).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_delay_request_and_response() {
        assert_eq!(parse_request(b"GET /100/five HTTP/1.1\r\nHost: x\r\n\r\n"), Some((100, "five".to_string())));
        assert_eq!(parse_request(b"POST /1/x HTTP/1.1\r\n\r\n"), None);
        assert_eq!(response_body(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none").as_deref(), Some("one"));
    }

    #[test]
    fn responses_of_one_turn_may_come_in_any_order() {
        let order = [(1, 1), (3, 3), (3, 2), (4, 4), (5, 5)];
        assert!(in_order(&order));
        assert_eq!(show_order(&order), "1, [3 2], 4, 5");
        assert!(!in_order(&[(1, 2), (2, 1), (3, 3), (4, 4), (5, 5)]));
    }
}
