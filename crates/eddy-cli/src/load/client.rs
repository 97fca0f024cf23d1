//! One thread of `eddy load`: an [`EventLoop`] of [`Client`] handlers, one
//! per connection, driven turn by turn by [`worker`] (which also reconnects,
//! stops at the deadline, and publishes progress).
//!
//! Every request sent is resolved exactly once: by its response (its
//! latency recorded, its status counted) or as an error of one class
//! (`read`, `write`, `timeout`, `parse`). A failed connect is a `connect`
//! error (and, with `-n`, uses one request of the budget: a run against a
//! closed port ends).

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use eddy::reactor::{CloseReason, Closed, Config, Conn, EventLoop, Handler, Input, Timeout, TimerKey};
use hdrhistogram::Histogram;

use super::parser::{Done, Parser};

/// How far ahead of its planned time a request may leave (the loop's timer
/// resolution).
const LOOKAHEAD_NS: u64 = 2_000_000;

/// What every connection of every thread does: fixed before the start.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) addr: SocketAddr,
    /// `pipeline` copies of the request, back to back.
    pub(crate) batch: Vec<u8>,
    pub(crate) request_len: usize,
    pub(crate) pipeline: usize,
    /// The method is HEAD: responses have no body.
    pub(crate) head: bool,
    pub(crate) keepalive: bool,
    pub(crate) timeout: Duration,
    /// Open model: each connection's interval between planned sends.
    pub(crate) interval_ns: Option<u64>,
    /// Open model: the first planned send of connection 0 (the others
    /// follow, 1/rate apart).
    pub(crate) rate: Option<f64>,
    /// `-d`: no request is sent (or planned) from this time on, since the
    /// start.
    pub(crate) end_ns: Option<u64>,
    /// The core each thread pins itself to (`None`: not pinned).
    pub(crate) cpus: Option<Vec<usize>>,
}

/// The classes of errors.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Errors {
    /// Connects that failed (refused, unreachable, timed out).
    pub connect: u64,
    /// Requests lost to a read error, a reset, or the server's close.
    pub read: u64,
    /// Requests lost to a failed write.
    pub write: u64,
    /// Requests unanswered within `--timeout` (no progress for that long).
    pub timeout: u64,
    /// Requests whose response could not be parsed.
    pub parse: u64,
}

impl Errors {
    /// Every error.
    pub fn total(&self) -> u64 {
        self.connect + self.read + self.write + self.timeout + self.parse
    }

    pub(crate) fn add(&mut self, o: &Errors) {
        self.connect += o.connect;
        self.read += o.read;
        self.write += o.write;
        self.timeout += o.timeout;
        self.parse += o.parse;
    }
}

#[derive(Clone, Copy)]
enum Class {
    Read,
    Write,
    Timeout,
    Parse,
}

/// A histogram of nanoseconds from 1 ns to an hour, 3 significant digits.
pub(crate) fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid histogram bounds")
}

/// What the threads show the main thread while running (the progress line,
/// the timeline).
#[derive(Debug)]
pub(crate) struct Live {
    /// Responses per thread.
    pub(crate) responses: Vec<AtomicU64>,
    /// Errors per thread.
    pub(crate) errors: Vec<AtomicU64>,
    /// Latencies since the main thread last took them.
    pub(crate) recent: Mutex<Histogram<u64>>,
}

impl Live {
    pub(crate) fn new(threads: usize) -> Live {
        Live {
            responses: (0..threads).map(|_| AtomicU64::new(0)).collect(),
            errors: (0..threads).map(|_| AtomicU64::new(0)).collect(),
            recent: Mutex::new(new_histogram()),
        }
    }
}

/// The loop's shared state: the thread's counters and histograms.
pub(crate) struct Worker {
    plan: Arc<Plan>,
    base: Instant,
    pub(crate) latency: Histogram<u64>,
    /// Open model: latency from the actual send (what a tool without the
    /// correction would report).
    pub(crate) uncorrected: Option<Histogram<u64>>,
    recent: Histogram<u64>,
    pub(crate) responses: u64,
    pub(crate) sent: u64,
    pub(crate) bytes: u64,
    pub(crate) errors: Errors,
    /// Responses by status code (index = code, 100 to 999).
    pub(crate) status: Vec<u64>,
    /// Requests left to send (`-n`); `None`: no limit.
    budget: Option<u64>,
    stop: bool,
    inflight: u64,
    reconnect: Vec<Reconnect>,
    /// Open model: planned sends not made by the end (the server was behind).
    pub(crate) behind: u64,
    /// When the last response arrived, since the start.
    pub(crate) last_ns: u64,
    /// CPU time of the thread, user and system (from /proc), and total
    /// (the thread's CPU clock), in nanoseconds.
    pub(crate) cpu_user_ns: u64,
    pub(crate) cpu_system_ns: u64,
    pub(crate) cpu_ns: u64,
}

struct Reconnect {
    slot: usize,
    next_plan: u64,
    not_before: u64,
}

impl Worker {
    fn ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    /// Takes up to `n` requests of the budget.
    fn take(&mut self, n: usize) -> usize {
        match &mut self.budget {
            None => n,
            Some(left) => {
                let n = (*left).min(n as u64);
                *left -= n;
                n as usize
            }
        }
    }

    fn lose(&mut self, n: usize, class: Class) {
        let n = n as u64;
        self.inflight -= n;
        match class {
            Class::Read => self.errors.read += n,
            Class::Write => self.errors.write += n,
            Class::Timeout => self.errors.timeout += n,
            Class::Parse => self.errors.parse += n,
        }
    }
}

/// One connection's protocol.
pub(crate) struct Client {
    slot: usize,
    parser: Parser,
    /// Each request in flight: (planned time, send time), since the start.
    inflight: VecDeque<(u64, u64)>,
    next_plan: u64,
    timer: Option<TimerKey>,
}

impl Client {
    fn new(slot: usize, next_plan: u64) -> Client {
        Client { slot, parser: Parser::default(), inflight: VecDeque::new(), next_plan, timer: None }
    }

    fn lose_all(&mut self, w: &mut Worker, class: Class) {
        let n = self.inflight.len();
        if n > 0 {
            w.lose(n, class);
            self.inflight.clear();
        }
    }

    /// Sends what is due: the next batch (closed model) or every planned
    /// request whose time has come (open model), up to the pipeline depth.
    fn pump(&mut self, conn: &mut Conn<'_, Self>, now: u64) {
        if conn.is_closing() {
            return;
        }
        let (w, out) = conn.state_and_out();
        if w.stop {
            if self.inflight.is_empty() {
                conn.close();
            }
            return;
        }
        let plan = Arc::clone(&w.plan);
        match plan.interval_ns {
            None => {
                if !self.inflight.is_empty() {
                    return;
                }
                let n = w.take(plan.pipeline);
                out.extend_from_slice(&plan.batch[..n * plan.request_len]);
                self.inflight.extend(std::iter::repeat_n((now, now), n));
                w.inflight += n as u64;
                w.sent += n as u64;
            }
            Some(interval) => {
                let end = plan.end_ns.unwrap_or(u64::MAX);
                // The loop's timers fire on millisecond ticks: a request due
                // within the next tick leaves now (early, then measured from
                // its send), so that none leaves a tick late for the timer's
                // sake.
                let horizon = now + LOOKAHEAD_NS;
                while self.inflight.len() < plan.pipeline && self.next_plan <= horizon && self.next_plan < end {
                    if w.take(1) == 0 {
                        break;
                    }
                    out.extend_from_slice(&plan.batch[..plan.request_len]);
                    self.inflight.push_back((self.next_plan, now));
                    w.inflight += 1;
                    w.sent += 1;
                    self.next_plan += interval;
                }
                let more = w.budget != Some(0) && self.next_plan < end;
                if more && self.timer.is_none() && self.inflight.len() < plan.pipeline && self.next_plan > horizon {
                    let after = self.next_plan - horizon;
                    self.timer = Some(conn.set_timer(Duration::from_nanos(after), 0));
                }
            }
        }
    }

    /// A response completed at `now`; false if the connection closes.
    fn complete(&mut self, conn: &mut Conn<'_, Self>, done: Done, now: u64) -> bool {
        let w = conn.state();
        let Some((planned, sent)) = self.inflight.pop_front() else {
            w.errors.parse += 1; // a response nobody asked for
            conn.abort();
            return false;
        };
        w.inflight -= 1;
        w.responses += 1;
        w.last_ns = now;
        w.status[usize::from(done.status.min(999))] += 1;
        // From the planned time, or from the send if it left early.
        let latency = now.saturating_sub(planned.min(sent)).max(1);
        w.latency.saturating_record(latency);
        w.recent.saturating_record(latency);
        if let Some(u) = &mut w.uncorrected {
            u.saturating_record(now.saturating_sub(sent).max(1));
        }
        if done.close || !w.plan.keepalive {
            // The server closes (or we asked it to): the rest of a
            // pipelined batch will never be answered.
            self.lose_all(w, Class::Read);
            conn.close();
            return false;
        }
        true
    }
}

impl Handler for Client {
    type State = Worker;

    fn on_open(&mut self, conn: &mut Conn<'_, Self>) {
        let now = conn.state().ns();
        self.pump(conn, now);
    }

    fn on_data(&mut self, conn: &mut Conn<'_, Self>, input: &mut Input<'_>) {
        let w = conn.state();
        let now = w.ns();
        let head = w.plan.head;
        loop {
            match self.parser.parse(input.bytes(), head) {
                Err(_) => {
                    let w = conn.state();
                    let n = self.inflight.len().max(1);
                    if self.inflight.is_empty() {
                        w.errors.parse += 1;
                    } else {
                        w.lose(n, Class::Parse);
                        self.inflight.clear();
                    }
                    input.consume_all();
                    conn.abort();
                    return;
                }
                Ok((used, done)) => {
                    input.consume(used);
                    conn.state().bytes += used as u64;
                    match done {
                        Some(done) if !self.complete(conn, done, now) => {
                            input.consume_all();
                            return;
                        }
                        Some(_) => {}
                        None if used == 0 => break,
                        None => {}
                    }
                }
            }
        }
        self.pump(conn, now);
    }

    fn on_read_closed(&mut self, conn: &mut Conn<'_, Self>) {
        let now = conn.state().ns();
        if let Some(done) = self.parser.finish_at_close() {
            self.complete(conn, done, now);
        }
        let w = conn.state();
        self.lose_all(w, Class::Read);
        conn.close();
    }

    fn on_timer(&mut self, conn: &mut Conn<'_, Self>, _id: u64) {
        self.timer = None;
        let now = conn.state().ns();
        self.pump(conn, now);
    }

    fn on_timeout(&mut self, conn: &mut Conn<'_, Self>, which: Timeout) {
        let w = conn.state();
        if !self.inflight.is_empty() {
            self.lose_all(w, Class::Timeout);
            conn.abort_with(CloseReason::Timeout(which));
        } else if w.stop {
            conn.close();
        }
        // Idle, waiting for the next planned send: nothing to do.
    }

    fn on_shutdown(&mut self, conn: &mut Conn<'_, Self>) {
        if self.inflight.is_empty() {
            conn.close();
        }
    }

    fn on_connect_failed(self, cx: &mut Closed<'_, Self>, _error: io::Error) {
        let w = cx.state();
        w.errors.connect += 1;
        w.take(1);
        let not_before = w.ns() + 10_000_000;
        if !w.stop {
            w.reconnect.push(Reconnect { slot: self.slot, next_plan: self.next_plan, not_before });
        }
    }

    fn on_close(mut self, cx: &mut Closed<'_, Self>, reason: CloseReason) {
        if let Some(key) = self.timer.take() {
            cx.cancel_timer(key);
        }
        let w = cx.state();
        let class = match &reason {
            CloseReason::Timeout(_) | CloseReason::Shutdown => Class::Timeout,
            CloseReason::Error(e) if matches!(e.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::WriteZero) => {
                Class::Write
            }
            _ => Class::Read,
        };
        self.lose_all(w, class);
        if let (Some(interval), Some(end)) = (w.plan.interval_ns, w.plan.end_ns) {
            if w.stop && self.next_plan < end {
                w.behind += (end - self.next_plan).div_ceil(interval);
            }
        }
        if !w.stop {
            w.reconnect.push(Reconnect { slot: self.slot, next_plan: self.next_plan, not_before: 0 });
        }
    }
}

/// The time since the start at which connection `slot` plans its first
/// send (open model: the connections take turns, 1/rate apart).
fn first_plan(plan: &Plan, slot: usize) -> u64 {
    match plan.rate {
        Some(rate) => (slot as f64 * 1e9 / rate) as u64,
        None => 0,
    }
}

/// Runs one thread's connections (`slots`) until its part is done; returns
/// its counters.
pub(crate) fn worker(
    plan: Arc<Plan>,
    base: Instant,
    index: usize,
    slots: std::ops::Range<usize>,
    budget: Option<u64>,
    live: Arc<Live>,
) -> io::Result<Worker> {
    if let Some(cpus) = &plan.cpus {
        let mut set = rustix::thread::CpuSet::new();
        set.set(cpus[index % cpus.len()]);
        rustix::thread::sched_setaffinity(None, &set)?;
    }
    let cpu_start = thread_cpu();
    let t = plan.timeout;
    let cfg = Config { idle_timeout: Some(t), linger_timeout: t, shutdown_timeout: t, ..Config::default() };
    let worker = Worker {
        plan: Arc::clone(&plan),
        base,
        latency: new_histogram(),
        uncorrected: plan.interval_ns.map(|_| new_histogram()),
        recent: new_histogram(),
        responses: 0,
        sent: 0,
        bytes: 0,
        errors: Errors::default(),
        status: vec![0; 1000],
        budget,
        stop: false,
        inflight: 0,
        reconnect: Vec::new(),
        behind: 0,
        last_ns: 0,
        cpu_user_ns: 0,
        cpu_system_ns: 0,
        cpu_ns: 0,
    };
    let mut lp = EventLoop::new(cfg, worker)?;
    for slot in slots {
        let c = Client::new(slot, first_plan(&plan, slot));
        lp.connect(plan.addr, Some(t), c);
    }
    let mut stopping = false;
    let mut last_publish = Instant::now();
    loop {
        let w = lp.state();
        let now = w.ns();
        let done = w.budget == Some(0) && w.inflight == 0;
        let late = plan.end_ns.is_some_and(|e| now >= e);
        if !stopping && (done || late) {
            w.stop = true;
            w.reconnect.clear();
            stopping = true;
            lp.shutdown();
        }
        if stopping && lp.is_finished() {
            break;
        }
        // Reconnects: due ones now, the others (after a failed connect)
        // once their back-off passed.
        let w = lp.state();
        let mut wait = Duration::from_millis(100);
        if let Some(e) = plan.end_ns {
            wait = wait.min(Duration::from_nanos(e.saturating_sub(now)));
        }
        let pending = std::mem::take(&mut w.reconnect);
        for r in pending {
            let w = lp.state();
            if w.stop || w.budget == Some(0) {
                continue;
            }
            if r.not_before > now {
                wait = wait.min(Duration::from_nanos(r.not_before - now));
                w.reconnect.push(r);
                continue;
            }
            let mut c = Client::new(r.slot, r.next_plan);
            c.next_plan = r.next_plan;
            lp.connect(plan.addr, Some(t), c);
        }
        lp.turn(Some(wait))?;
        let w = lp.state();
        live.responses[index].store(w.responses, Ordering::Relaxed);
        live.errors[index].store(w.errors.total(), Ordering::Relaxed);
        if last_publish.elapsed() >= Duration::from_millis(200) {
            last_publish = Instant::now();
            let mut recent = live.recent.lock().unwrap_or_else(PoisonError::into_inner);
            let _ = recent.add(&w.recent);
            w.recent.reset();
        }
    }
    let mut w = std::mem::replace(lp.state(), dead_worker(&plan, base));
    drop(lp);
    let cpu_end = thread_cpu();
    w.cpu_ns = cpu_end.0.saturating_sub(cpu_start.0);
    w.cpu_user_ns = cpu_end.1.saturating_sub(cpu_start.1);
    w.cpu_system_ns = cpu_end.2.saturating_sub(cpu_start.2);
    Ok(w)
}

fn dead_worker(plan: &Arc<Plan>, base: Instant) -> Worker {
    Worker {
        plan: Arc::clone(plan),
        base,
        latency: new_histogram(),
        uncorrected: None,
        recent: new_histogram(),
        responses: 0,
        sent: 0,
        bytes: 0,
        errors: Errors::default(),
        status: Vec::new(),
        budget: Some(0),
        stop: true,
        inflight: 0,
        reconnect: Vec::new(),
        behind: 0,
        last_ns: 0,
        cpu_user_ns: 0,
        cpu_system_ns: 0,
        cpu_ns: 0,
    }
}

/// This thread's CPU time: (total from its CPU clock, user, system from
/// /proc/thread-self/stat), in nanoseconds.
fn thread_cpu() -> (u64, u64, u64) {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    let total = ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
    let (user, system) = proc_times("/proc/thread-self/stat").unwrap_or((0, 0));
    (total, user, system)
}

/// utime and stime of a /proc `stat` file, in nanoseconds.
pub(crate) fn proc_times(path: &str) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(path).ok()?;
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    let tick = 1_000_000_000 / clock_ticks();
    Some((fields.get(11)?.parse::<u64>().ok()? * tick, fields.get(12)?.parse::<u64>().ok()? * tick))
}

/// USER_HZ, the unit of /proc's CPU times: 100 on every Linux port eddy
/// runs on (x86, arm, riscv).
pub(crate) fn clock_ticks() -> u64 {
    100
}
