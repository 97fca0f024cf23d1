//! `eddy get`: the delayed-requests client of the notes.
//!
//! One request per delay, each on its own connection, all on one poller
//! (eddy-poll, edge-triggered): `GET /{delay}/{message}` with
//! `Connection: close`. Each response is printed the moment it is complete
//! (the server's FIN ends it), with the event that brought it; with the
//! delay server, the shortest delay comes first whatever the order of
//! sending. Every stream is read to its end before it is closed, so neither
//! side sees a reset.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use eddy::poll::net::TcpStream;
use eddy::poll::{Event, Events, FlagNames, Interest, Poll, Token, Trigger};

use crate::Error;

/// Arguments of `eddy get`.
#[derive(clap::Args, Debug, Clone)]
pub struct GetArgs {
    /// The server, `http://host:port` (port 80 if none).
    #[arg(default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Delays in milliseconds, comma-separated: one request (and connection)
    /// per delay, sent in this order.
    #[arg(long, value_delimiter = ',', default_value = "5000,4000,3000,2000,1000")]
    pub delays: Vec<u64>,
    /// Give up when the responses are not all in after this long
    /// (250ms, 10s, 1.5s, 2m; a bare number is seconds; 0: never).
    #[arg(long, default_value = "60s", value_parser = crate::args::duration, allow_hyphen_values = true)]
    pub timeout: Duration,
}

/// Runs `eddy get`, reporting to `out`: exit code 0 if every response is a
/// 200, 1 if not.
///
/// # Errors
///
/// As [`run`].
pub fn main(args: &GetArgs, out: &mut dyn Write) -> Result<ExitCode, Error> {
    let arrivals = run(args, out)?;
    Ok(if arrivals.iter().all(|a| a.status == 200) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// One response as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    /// Index of the request (in sending order).
    pub index: usize,
    /// Its delay.
    pub delay_ms: u64,
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
    /// When the response was complete, since the start.
    pub elapsed: Duration,
    /// The raw flags of the event that completed it.
    pub event_flags: u32,
}

struct Request {
    stream: TcpStream,
    delay_ms: u64,
    sent: bool,
    response: Vec<u8>,
    done: bool,
}

/// `host:port` of an `http://` URL.
fn address(url: &str) -> io::Result<(SocketAddr, String)> {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let host = rest.split('/').next().unwrap_or("");
    let with_port = if host.contains(':') && !host.ends_with(']') { host.to_string() } else { format!("{host}:80") };
    let addr = with_port.to_socket_addrs()?.next();
    let addr = addr.ok_or_else(|| io::Error::new(ErrorKind::InvalidInput, format!("cannot resolve {host:?}")))?;
    Ok((addr, host.to_string()))
}

/// Status and body of a complete `Connection: close` response.
fn parse(bytes: &[u8]) -> io::Result<(u16, Vec<u8>)> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let bad = |what: &str| io::Error::new(ErrorKind::InvalidData, format!("bad response: {what}"));
    match resp.parse(bytes) {
        Ok(httparse::Status::Complete(head)) => {
            Ok((resp.code.ok_or_else(|| bad("no status"))?, bytes[head..].to_vec()))
        }
        Ok(httparse::Status::Partial) => Err(bad("incomplete head")),
        Err(e) => Err(bad(&e.to_string())),
    }
}

/// Sends the requests and collects the responses in arrival order,
/// reporting each one to `out` as it comes.
///
/// # Errors
///
/// A connect or read failed, a response was malformed, or the timeout
/// passed.
pub fn run(args: &GetArgs, out: &mut dyn Write) -> io::Result<Vec<Arrival>> {
    let (addr, host) = address(&args.url)?;
    let mut poll = Poll::new()?;
    let mut reqs = Vec::new();
    for (i, &delay_ms) in args.delays.iter().enumerate() {
        let mut stream = TcpStream::connect(addr)?;
        poll.registry().register(&mut stream, Token(i), Interest::READABLE | Interest::WRITABLE, Trigger::Edge)?;
        reqs.push(Request { stream, delay_ms, sent: false, response: Vec::new(), done: false });
    }
    writeln!(out, "sent {} request(s) to {addr}, each on its own connection, on one poller", reqs.len())?;
    let start = Instant::now();
    // 0: no deadline.
    let deadline = (!args.timeout.is_zero()).then(|| start + args.timeout);
    let mut events = Events::with_capacity(64);
    let mut arrivals = Vec::new();
    while arrivals.len() < reqs.len() {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left.is_some_and(|l| l.is_zero()) {
            return Err(io::Error::new(ErrorKind::TimedOut, "responses still missing at the timeout"));
        }
        poll.poll(&mut events, left)?;
        for event in &events {
            let i = event.token().0;
            if let Some(arrival) = step(&mut reqs[i], i, event, &host)? {
                let arrival = Arrival { elapsed: start.elapsed(), ..arrival };
                report(out, &arrival)?;
                arrivals.push(arrival);
            }
        }
    }
    Ok(arrivals)
}

/// Handles one event of request `i`; returns its arrival once complete.
fn step(r: &mut Request, i: usize, event: &Event, host: &str) -> io::Result<Option<Arrival>> {
    if r.done {
        return Ok(None);
    }
    if !r.sent && (event.is_writable() || event.is_error()) {
        if let Some(e) = r.stream.take_error()? {
            return Err(e);
        }
        let req = format!("GET /{}/reply-{} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n", r.delay_ms, i + 1);
        // A fresh socket takes a small request whole.
        r.stream.write_all(req.as_bytes())?;
        r.sent = true;
    }
    let mut buf = [0u8; 4096];
    loop {
        match r.stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => r.response.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    // EOF: the server sent everything and its FIN; our drop sends ours.
    r.done = true;
    let (status, body) = parse(&r.response)?;
    Ok(Some(Arrival {
        index: i,
        delay_ms: r.delay_ms,
        status,
        body,
        elapsed: Duration::ZERO,
        event_flags: event.raw(),
    }))
}

fn report(out: &mut dyn Write, a: &Arrival) -> io::Result<()> {
    writeln!(
        out,
        "{:>8.3}s  request #{} (delay {} ms): {} {:?}  <- event token={} flags={:#x} ({})",
        a.elapsed.as_secs_f64(),
        a.index + 1,
        a.delay_ms,
        a.status,
        String::from_utf8_lossy(&a.body),
        a.index,
        a.event_flags,
        FlagNames(a.event_flags)
    )
}
