//! The HTTP/1.1 server of `eddy serve`, on the reactor: the plaintext
//! benchmark route, the delay server and a body echo.
//!
//! Routes (on the target's path; an absolute-form target,
//! `http://host/path`, routes on its path):
//! - `GET /` → `200 text/plain` `Hello, World!`;
//! - `GET /{ms}/{message}` → `message`, after `ms` milliseconds, on a
//!   timer of the loop's wheel (the delay server of the notes);
//! - `POST /echo` → the request body back;
//! - anything else → `404`.
//!
//! Every request is checked for `Host` first (RFC 9112 §3.2: 400 if an
//! HTTP/1.1 request has none, or any request two, or an invalid one). No
//! answer to `HEAD` has a body, errors included.
//!
//! One connection's requests are answered in order: while a delayed
//! answer is pending, later pipelined requests stay unconsumed in the
//! connection's input (reading pauses once that holds more than a whole
//! request may) and are replayed when it has been written. They are not
//! slow: their deadline starts when they are taken up.
//!
//! Deadlines: a request must arrive whole in time, however it is framed
//! and however steadily it trickles: its head within `--header-timeout`
//! of its first byte (leading empty lines count), then its body, whether
//! `Content-Length` or chunked, within `--body-timeout` of the head's
//! end. A late one gets `408` and a close (a connection that sent only
//! empty lines is just closed). One handler timer, set only while a
//! request is incomplete at the end of a read (never for a request that
//! arrives whole), enforces them.
//!
//! Half-close: a client that shuts its write side after a request still
//! gets every answer (its read side is open), then the connection closes.
//! A client that is gone (RST, or a write that fails) ends the connection
//! and its delay timer with it.
//!
//! Graceful shutdown: connections between requests close at once; every
//! answer written after it began says `Connection: close`, and the
//! connection then closes gracefully, so the loop ends as soon as the
//! last answer is through.
//!
//! Hot path (`GET /` on a keep-alive HTTP/1.1 connection): one decode
//! (eddy-http's fast path), the `Host` check (a pass over the fields), one
//! comparison of the path, and one copy of a response kept ready in the
//! loop's state (it only changes when the `Date` does, once a second).
//! Every response of one read goes out in one `send`.

use std::io;
use std::time::{Duration, SystemTime};

use eddy::http::{
    CONTINUE, DateCache, Decoded, Decoder, HostCache, HttpError, Limits, Request, ResponseHead, write_error_for,
    write_response,
};
use eddy::reactor::{CloseReason, Closed, Config, Conn, EventLoop, Handler, Input, Timeout, TimerKey};

use super::HttpArgs;

/// The longest delay `GET /{ms}/{message}` accepts: one day.
pub const MAX_DELAY_MS: u64 = 24 * 60 * 60 * 1000;

/// How long a request may take to arrive (`None`: no limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadlines {
    /// The head, from its first byte (leading empty lines included) to its
    /// end (`--header-timeout`).
    pub head: Option<Duration>,
    /// The body, from the head's end to the body's end, whatever its
    /// framing (`--body-timeout`).
    pub body: Option<Duration>,
}

impl Default for Deadlines {
    /// `eddy serve`'s defaults: 10 s each.
    fn default() -> Deadlines {
        Deadlines { head: Some(Duration::from_secs(10)), body: Some(Duration::from_secs(10)) }
    }
}

/// What every connection of one loop shares.
pub struct HttpState {
    /// The `Date` header's value, refreshed once a second by a loop timer.
    pub date: DateCache,
    /// Request limits.
    pub limits: Limits,
    /// Request deadlines.
    pub deadlines: Deadlines,
    /// A graceful shutdown began: every answer says `Connection: close`.
    pub stopping: bool,
    /// The whole keep-alive answer to `GET /`, rebuilt with the date.
    hello: Vec<u8>,
    /// The last `Host` value that passed the checks.
    hosts: HostCache,
}

impl HttpState {
    /// State with the current date and the default deadlines.
    pub fn new(limits: Limits) -> HttpState {
        let mut state = HttpState {
            date: DateCache::new(),
            limits,
            deadlines: Deadlines::default(),
            stopping: false,
            hello: Vec::new(),
            hosts: HostCache::new(),
        };
        state.refresh(SystemTime::now());
        state
    }

    /// Refreshes the date and the responses cached with it.
    pub fn refresh(&mut self, now: SystemTime) {
        self.date.refresh(now);
        self.hello.clear();
        let head = ResponseHead::ok(&self.date).with_content_type("text/plain");
        write_response(&mut self.hello, &head, HELLO);
    }
}

const HELLO: &[u8] = b"Hello, World!";

/// The handler timers' ids.
const DELAY: u64 = 0;
const DEADLINE: u64 = 1;

/// A delayed answer waiting for its timer.
struct Pending {
    key: TimerKey,
    /// The body; the head is written when the timer fires (a shutdown may
    /// have begun meanwhile, and then it says `Connection: close`).
    message: Box<str>,
    keep_alive: bool,
    version: u8,
    head: bool,
}

/// Which part of a request the deadline timer bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Head,
    Body,
}

/// One HTTP connection.
#[derive(Default)]
pub struct Http {
    decoder: Decoder,
    pending: Option<Box<Pending>>,
    /// The deadline of the request in progress, while one is armed.
    deadline: Option<(TimerKey, Phase)>,
}

/// What a request asks the connection to do next.
enum Next {
    Continue,
    Wait,
    Close,
}

impl Http {
    fn respond(&mut self, conn: &mut Conn<'_, Self>, req: &Request<'_>) -> Next {
        let (state, out) = conn.state_and_out();
        if let Err(e) = req.check_host_cached(&mut state.hosts) {
            write_error_for(out, &e, &state.date, req.is_head);
            return Next::Close;
        }
        let keep_alive = req.keep_alive && !state.stopping;
        if req.path == "/" && req.method == "GET" && keep_alive && req.version == 1 {
            // The benchmark's request: the cached answer.
            out.extend_from_slice(&state.hello);
            return Next::Continue;
        }
        let path = req.origin_form();
        let (status, body, content_type): (u16, &[u8], &str) = match (req.method.as_ref(), path.as_ref()) {
            ("GET" | "HEAD", "/") => (200, HELLO, "text/plain"),
            ("POST", "/echo") => (200, req.body.as_bytes(), "application/octet-stream"),
            ("GET" | "HEAD", path) => match parse_delay(path) {
                Some(Ok((ms, message))) => {
                    let key = conn.set_timer(Duration::from_millis(ms), DELAY);
                    self.pending = Some(Box::new(Pending {
                        key,
                        message: message.into(),
                        keep_alive: req.keep_alive,
                        version: req.version,
                        head: req.is_head,
                    }));
                    return Next::Wait;
                }
                Some(Err(e)) => {
                    write_error_for(out, &e, &state.date, req.is_head);
                    return Next::Close;
                }
                None => (404, b"not found\n", "text/plain"),
            },
            _ => (404, b"not found\n", "text/plain"),
        };
        let head = ResponseHead::for_request(req, &state.date)
            .with_status(status, eddy::http::reason_phrase(status))
            .with_content_type(content_type)
            .with_keep_alive(keep_alive);
        write_response(out, &head, body);
        if keep_alive { Next::Continue } else { Next::Close }
    }

    /// A request is incomplete at the end of a read: make sure the deadline
    /// of the part it is in (head or body) is armed.
    fn arm_deadline(&mut self, conn: &mut Conn<'_, Self>) {
        let phase = if self.decoder.is_reading_body() { Phase::Body } else { Phase::Head };
        match self.deadline {
            Some((_, armed)) if armed == phase => return,
            Some((key, _)) => {
                conn.cancel_timer(key);
                self.deadline = None;
            }
            None => {}
        }
        let deadlines = conn.state().deadlines;
        let limit = match phase {
            Phase::Head => deadlines.head,
            Phase::Body => deadlines.body,
        };
        if let Some(limit) = limit {
            self.deadline = Some((conn.set_timer(limit, DEADLINE), phase));
        }
    }

    /// The request in progress is complete: its deadline is met.
    fn disarm_deadline(&mut self, conn: &mut Conn<'_, Self>) {
        if let Some((key, _)) = self.deadline.take() {
            conn.cancel_timer(key);
        }
    }

    /// The delayed answer's timer fired: write it, then go on with the
    /// requests behind it, or close.
    fn answer_pending(&mut self, conn: &mut Conn<'_, Self>, p: &Pending) {
        // A half-closed client sends nothing more: once what it sent is
        // answered, the connection is done.
        let done = conn.is_read_closed() && conn.buffered_input() == 0;
        let (state, out) = conn.state_and_out();
        let keep_alive = p.keep_alive && !state.stopping && !done;
        let head = ResponseHead { keep_alive, version: p.version, head: p.head, ..ResponseHead::ok(&state.date) }
            .with_content_type("text/plain");
        write_response(out, &head, p.message.as_bytes());
        if keep_alive {
            // Requests pipelined behind the delayed one are waiting.
            conn.resume_reading();
            conn.replay_input();
        } else {
            conn.close();
        }
    }
}

/// `/{ms}/{message}`: `None` if the path is not of that shape, an error if
/// the delay is not a number of milliseconds up to a day.
fn parse_delay(path: &str) -> Option<Result<(u64, &str), HttpError>> {
    let rest = path.strip_prefix('/')?;
    let (ms, message) = rest.split_once('/')?;
    if ms.is_empty() || !ms.bytes().all(|b| b.is_ascii_digit()) || message.contains('/') {
        return None;
    }
    match ms.parse::<u64>() {
        Ok(ms) if ms <= MAX_DELAY_MS => Some(Ok((ms, message))),
        _ => Some(Err(HttpError::new(400, "the delay must be at most 86400000 ms"))),
    }
}

impl Handler for Http {
    type State = HttpState;

    fn on_data(&mut self, conn: &mut Conn<'_, Self>, input: &mut Input<'_>) {
        let limits = conn.state().limits;
        while self.pending.is_none() {
            // Matched by reference: the request is used where decode left it.
            match &self.decoder.decode(input.bytes(), &limits) {
                Ok(Decoded::Request { request, consumed }) => {
                    let consumed = *consumed;
                    self.disarm_deadline(conn);
                    let next = self.respond(conn, request);
                    input.consume(consumed);
                    match next {
                        Next::Continue | Next::Wait => {}
                        Next::Close => return conn.close(),
                    }
                }
                Ok(Decoded::Partial { consumed, send_continue }) => {
                    // Some of a request arrived (empty lines before it
                    // included) if bytes were taken or are left.
                    let started = *consumed > 0 || input.len() > *consumed || !self.decoder.is_idle();
                    input.consume(*consumed);
                    if *send_continue {
                        conn.write(CONTINUE);
                    }
                    if conn.is_read_closed() {
                        // Every complete request is answered; the rest of
                        // this one can never come.
                        return conn.close();
                    }
                    if started {
                        self.arm_deadline(conn);
                    }
                    return;
                }
                Err(e) => {
                    let (state, out) = conn.state_and_out();
                    write_error_for(out, e, &state.date, self.decoder.is_head());
                    input.consume_all();
                    return conn.close();
                }
            }
        }
        // Waiting for a delayed answer: what comes meanwhile stays in the
        // input, but no more than a whole request may take.
        if input.len() > limits.max_head.saturating_add(limits.max_body) {
            conn.pause_reading();
        }
    }

    fn on_timer(&mut self, conn: &mut Conn<'_, Self>, id: u64) {
        match id {
            DELAY => {
                if let Some(p) = self.pending.take() {
                    self.answer_pending(conn, &p);
                }
            }
            DEADLINE => {
                self.deadline = None;
                if self.pending.is_some() {
                    return;
                }
                if !self.decoder.is_idle() || conn.buffered_input() > 0 {
                    let (state, out) = conn.state_and_out();
                    write_error_for(out, &HttpError::new(408, "request timeout"), &state.date, self.decoder.is_head());
                }
                // Else only empty lines came: no request to answer.
                conn.close_with(CloseReason::Timeout(Timeout::Read));
            }
            _ => {}
        }
    }

    fn on_read_closed(&mut self, conn: &mut Conn<'_, Self>) {
        // A half-close: the client sends nothing more but still reads. A
        // delayed answer is still written (then the connection closes);
        // otherwise every complete request has been answered.
        if self.pending.is_none() {
            conn.close();
        }
    }

    fn on_timeout(&mut self, conn: &mut Conn<'_, Self>, which: Timeout) {
        match which {
            // Idle, or input unconsumed, while an answer is pending: the
            // connection waits for us, not for the client.
            Timeout::Idle | Timeout::Read if self.pending.is_some() => {}
            // A loop configured with a read timeout (`eddy serve` uses the
            // deadlines instead): a request that did not arrive in time.
            Timeout::Read => {
                let (state, out) = conn.state_and_out();
                write_error_for(out, &HttpError::new(408, "request timeout"), &state.date, self.decoder.is_head());
                conn.close_with(CloseReason::Timeout(which));
            }
            Timeout::Idle => conn.close_with(CloseReason::Timeout(which)),
            Timeout::Write => conn.abort_with(CloseReason::Timeout(which)),
        }
    }

    fn on_shutdown(&mut self, conn: &mut Conn<'_, Self>) {
        // From now on every answer of this loop says `Connection: close`.
        conn.state().stopping = true;
        // Between requests: close now. Mid-request or waiting for a delayed
        // answer: the answer closes the connection.
        if self.pending.is_none() && self.decoder.is_idle() && conn.buffered_input() == 0 {
            conn.close();
        }
    }

    fn on_close(self, cx: &mut Closed<'_, Self>, _reason: CloseReason) {
        if let Some(p) = self.pending {
            cx.cancel_timer(p.key);
        }
        if let Some((key, _)) = self.deadline {
            cx.cancel_timer(key);
        }
    }
}

/// The loop configuration of the HTTP server: connections idle for
/// `--idle-timeout` are closed (0: never). The request deadlines are the
/// handler's ([`deadlines`]), not the loop's read timeout, which a request
/// waiting behind a delayed answer would trip.
pub fn loop_config(args: &HttpArgs) -> Config {
    let mut cfg = super::echo::common_config(&args.common);
    cfg.idle_timeout = super::unless_zero(args.idle_timeout);
    cfg
}

/// The request deadlines of `--header-timeout` and `--body-timeout` (0:
/// no limit).
pub fn deadlines(args: &HttpArgs) -> Deadlines {
    Deadlines { head: super::unless_zero(args.header_timeout), body: super::unless_zero(args.body_timeout) }
}

/// One HTTP loop with the default deadlines: state, the once-a-second
/// date refresh.
///
/// # Errors
///
/// The poller could not be created.
pub fn new_loop(cfg: Config) -> io::Result<EventLoop<Http>> {
    new_loop_with(cfg, Deadlines::default())
}

/// One HTTP loop with these request deadlines.
///
/// # Errors
///
/// The poller could not be created.
pub fn new_loop_with(cfg: Config, deadlines: Deadlines) -> io::Result<EventLoop<Http>> {
    let mut state = HttpState::new(Limits::default());
    state.deadlines = deadlines;
    let mut lp = EventLoop::new(cfg, state)?;
    lp.every(Duration::from_secs(1), |state: &mut HttpState, _| state.refresh(SystemTime::now()));
    Ok(lp)
}

/// Runs the HTTP server until SIGINT or SIGTERM; the ready line goes to
/// `out`.
///
/// # Errors
///
/// Binding failed or a loop failed.
pub fn serve(args: &HttpArgs, out: &mut dyn io::Write) -> io::Result<()> {
    let (cfg, deadlines) = (loop_config(args), deadlines(args));
    let init = move |_| new_loop_with(cfg.clone(), deadlines);
    super::run(&args.common, "http", "http://", out, init, |_: &mut HttpState, _| Some(Http::default()))
}
