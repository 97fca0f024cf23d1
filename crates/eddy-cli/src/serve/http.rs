//! The HTTP/1.1 server of `eddy serve`, on the reactor: the plaintext
//! benchmark route, the delay server and a body echo.
//!
//! Routes:
//! - `GET /` → `200 text/plain` `Hello, World!`;
//! - `GET /{ms}/{message}` → `message`, after `ms` milliseconds, on a
//!   timer of the loop's wheel (the delay server of the notes); a client
//!   that goes away (its FIN arrives) before the answer cancels the timer;
//! - `POST /echo` → the request body back;
//! - anything else → `404`.
//!
//! One connection's requests are answered in order: while a delayed
//! answer is pending, later pipelined requests stay unconsumed in the
//! connection's input and are replayed when it has been written.
//!
//! Hot path (`GET /` on a keep-alive HTTP/1.1 connection): one decode
//! (eddy-http's fast path), one comparison of the path, and one copy of a response kept
//! ready in the loop's state (it only changes when the `Date` does, once a
//! second). Every response of one read goes out in one `send`.

use std::io;
use std::time::{Duration, SystemTime};

use eddy::http::{
    CONTINUE, DateCache, Decoded, Decoder, HttpError, Limits, Request, ResponseHead, write_error, write_response,
};
use eddy::reactor::{CloseReason, Closed, Config, Conn, EventLoop, Handler, Input, Timeout, TimerKey};

use super::HttpArgs;

/// The longest delay `GET /{ms}/{message}` accepts: one day.
pub const MAX_DELAY_MS: u64 = 24 * 60 * 60 * 1000;

/// What every connection of one loop shares.
pub struct HttpState {
    /// The `Date` header's value, refreshed once a second by a loop timer.
    pub date: DateCache,
    /// Request limits.
    pub limits: Limits,
    /// The whole keep-alive answer to `GET /`, rebuilt with the date.
    hello: Vec<u8>,
}

impl HttpState {
    /// State with the current date.
    pub fn new(limits: Limits) -> HttpState {
        let mut state = HttpState { date: DateCache::new(), limits, hello: Vec::new() };
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

/// A delayed answer waiting for its timer.
struct Pending {
    key: TimerKey,
    /// The response, complete, written when the timer fires.
    response: Vec<u8>,
    keep_alive: bool,
}

/// One HTTP connection.
#[derive(Default)]
pub struct Http {
    decoder: Decoder,
    pending: Option<Box<Pending>>,
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
        if req.path == "/" && req.method == "GET" && req.keep_alive && req.version == 1 {
            // The benchmark's request: the cached answer.
            out.extend_from_slice(&state.hello);
            return Next::Continue;
        }
        let (status, body, content_type): (u16, &[u8], &str) = match (req.method.as_ref(), req.path.as_ref()) {
            ("GET" | "HEAD", "/") => (200, HELLO, "text/plain"),
            ("POST", "/echo") => (200, req.body.as_bytes(), "application/octet-stream"),
            ("GET" | "HEAD", path) => match parse_delay(path) {
                Some(Ok((ms, message))) => {
                    let head = ResponseHead::for_request(req, &conn.state().date).with_content_type("text/plain");
                    let mut response = Vec::new();
                    write_response(&mut response, &head, message.as_bytes());
                    let key = conn.set_timer(Duration::from_millis(ms), 0);
                    self.pending = Some(Box::new(Pending { key, response, keep_alive: req.keep_alive }));
                    return Next::Wait;
                }
                Some(Err(e)) => {
                    let (state, out) = conn.state_and_out();
                    write_error(out, &e, &state.date);
                    return Next::Close;
                }
                None => (404, b"not found\n", "text/plain"),
            },
            _ => (404, b"not found\n", "text/plain"),
        };
        let (state, out) = conn.state_and_out();
        let head = ResponseHead::for_request(req, &state.date)
            .with_status(status, eddy::http::reason_phrase(status))
            .with_content_type(content_type);
        write_response(out, &head, body);
        if req.keep_alive { Next::Continue } else { Next::Close }
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
                    let next = self.respond(conn, request);
                    input.consume(consumed);
                    match next {
                        Next::Continue | Next::Wait => {}
                        Next::Close => return conn.close(),
                    }
                }
                Ok(Decoded::Partial { consumed, send_continue }) => {
                    input.consume(*consumed);
                    if *send_continue {
                        conn.write(CONTINUE);
                    }
                    return;
                }
                Err(e) => {
                    let (state, out) = conn.state_and_out();
                    write_error(out, e, &state.date);
                    input.consume_all();
                    return conn.close();
                }
            }
        }
    }

    fn on_timer(&mut self, conn: &mut Conn<'_, Self>, _id: u64) {
        let Some(p) = self.pending.take() else { return };
        conn.write(&p.response);
        if p.keep_alive {
            // Requests pipelined behind the delayed one are waiting.
            conn.replay_input();
        } else {
            conn.close();
        }
    }

    fn on_read_closed(&mut self, conn: &mut Conn<'_, Self>) {
        // A client that leaves before its delayed answer is gone: cancel the
        // timer (a half-closing client is taken as gone too, as nginx does).
        if let Some(p) = self.pending.take() {
            conn.cancel_timer(p.key);
        }
        conn.close();
    }

    fn on_timeout(&mut self, conn: &mut Conn<'_, Self>, which: Timeout) {
        match which {
            // A request that did not arrive whole in time (slowloris).
            Timeout::Read => {
                let (state, out) = conn.state_and_out();
                write_error(out, &HttpError::new(408, "request timeout"), &state.date);
                conn.close_with(CloseReason::Timeout(which));
            }
            // Idle while an answer is pending is not idle.
            Timeout::Idle if self.pending.is_some() => {}
            _ => conn.close_with(CloseReason::Timeout(which)),
        }
    }

    fn on_shutdown(&mut self, conn: &mut Conn<'_, Self>) {
        // Between requests: close now. Mid-request: the answer's
        // `Connection` handling closes after it, or the deadline does.
        if self.pending.is_none() && self.decoder.is_idle() && conn.buffered_input() == 0 {
            conn.close();
        }
    }

    fn on_close(self, cx: &mut Closed<'_, Self>, _reason: CloseReason) {
        if let Some(p) = self.pending {
            cx.cancel_timer(p.key);
        }
    }
}

/// The loop configuration of the HTTP server: connections idle for
/// `--idle-timeout` are closed; a request must arrive whole within
/// `--header-timeout` of its first byte (else 408). 0 disables either.
pub fn loop_config(args: &HttpArgs) -> Config {
    let mut cfg = super::echo::common_config(&args.common);
    cfg.idle_timeout = super::unless_zero(args.idle_timeout);
    cfg.read_timeout = super::unless_zero(args.header_timeout);
    cfg
}

/// One HTTP loop: state, the once-a-second date refresh.
///
/// # Errors
///
/// The poller could not be created.
pub fn new_loop(cfg: Config) -> io::Result<EventLoop<Http>> {
    let mut lp = EventLoop::new(cfg, HttpState::new(Limits::default()))?;
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
    let cfg = loop_config(args);
    let init = move |_| new_loop(cfg.clone());
    super::run(&args.common, "http", "http://", out, init, |_: &mut HttpState, _| Some(Http::default()))
}
