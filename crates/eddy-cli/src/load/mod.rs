//! `eddy load`: an HTTP/1.1 load generator on eddy's own loop.
//!
//! One [`EventLoop`](eddy::reactor::EventLoop) per `--threads`, the
//! connections split over them, each connection a
//! [`Handler`](eddy::reactor::Handler) (`client.rs`) that writes the
//! request serialized once (`target.rs`) and frames the responses with a
//! minimal parser of its own (`parser.rs`).
//!
//! - **Closed model** (default, as wrk): each connection sends its next
//!   request (or `--pipeline` batch) when the previous answer completes.
//! - **Open model** (`--rate R`, as wrk2): the rate is split evenly over the
//!   connections, each sends at planned times (1/R apart over all of them),
//!   up to `--pipeline` requests in flight, and latency is measured from the
//!   planned time: a stalled server shows in the percentiles
//!   (coordinated-omission correction). The uncorrected latency (from the
//!   actual send) is reported beside it. The loop's timers have millisecond
//!   resolution: a planned send may leave up to 1 ms late, and that wait is
//!   part of its latency.
//! - **Latency**: one HdrHistogram (1 ns to 1 h, 3 digits) per thread,
//!   merged. Pipelined: one sample per request, from its own batch's send
//!   time to its own response.
//! - **End**: `-d` stops sending at the deadline, then waits (at most
//!   `--timeout`) for the answers in flight; `-n` counts every attempt
//!   (responses, errors, failed connects) toward N. A request is a timeout
//!   when its connection makes no progress for `--timeout`; a connect
//!   taking longer is a connect error. So no run outlives its deadline by
//!   more than one `--timeout`, and `-n N` against a server that never
//!   answers ends after at most N/(c*P) timeouts.
//!
//! The report's JSON schema is in `report.rs`.

mod client;
mod parser;
mod report;
mod target;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError, mpsc};
use std::time::{Duration, Instant};

pub use client::Errors;
pub(crate) use client::proc_times;
pub use report::{PERCENTILES, Report, human};
pub use target::Url;

use crate::Error;
use crate::args::{self, DURATION_FORMAT};
use client::{Live, Plan};

/// What `eddy load --help` says after the options.
const AFTER_HELP: &str = "\
Durations: 250ms, 10s, 1.5s, 2m, 1h; a bare number is seconds.
Closed model (default): each connection sends its next request, or --pipeline batch, when the
previous answer completes. Open model (--rate): requests leave at planned times and latency is
measured from the planned time (coordinated omission corrected, as wrk2).
Pipelined latency: one sample per request, from its own batch's send time.
Errors: connect, read (reset, closed early), write, timeout (no progress for --timeout), parse;
every status code is counted. --json prints every figure (schema eddy-load/1).";

/// Arguments of `eddy load`.
#[derive(clap::Args, Debug, Clone)]
#[command(after_help = AFTER_HELP)]
pub struct LoadArgs {
    /// The URL: http://host[:port][/path] (no HTTPS).
    pub url: String,
    /// Connections, kept open (keep-alive) and split over the threads.
    #[arg(short = 'c', long = "connections", default_value_t = 10)]
    pub connections: usize,
    /// How long to send (default 10s when -n is not given).
    #[arg(short = 'd', long, value_parser = args::duration, conflicts_with = "requests", help_heading = None)]
    pub duration: Option<Duration>,
    /// Send this many requests (every attempt counts, errors included), then stop.
    #[arg(short = 'n', long)]
    pub requests: Option<u64>,
    /// Event loops, one thread each.
    #[arg(short = 't', long, default_value_t = 1)]
    pub threads: usize,
    /// Requests per write on a connection (HTTP pipelining).
    #[arg(long, default_value_t = 1)]
    pub pipeline: usize,
    /// Open model: total requests per second, at planned times.
    #[arg(long, short = 'R')]
    pub rate: Option<f64>,
    /// The request method.
    #[arg(short = 'm', long, default_value = "GET")]
    pub method: String,
    /// A request header, 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// The request body, read from FILE (Content-Length set).
    #[arg(long, value_name = "FILE")]
    pub body: Option<PathBuf>,
    /// A request with no progress for this long is a timeout error; also
    /// the connect timeout.
    #[arg(long, value_parser = args::duration, default_value = "2s")]
    pub timeout: Duration,
    /// A new connection per request (`Connection: close`).
    #[arg(long)]
    pub no_keepalive: bool,
    /// Print the report as JSON (schema eddy-load/1).
    #[arg(long)]
    pub json: bool,
    /// Write the latency percentile spectrum (HdrHistogram style) to FILE as CSV.
    #[arg(long, value_name = "FILE")]
    pub latency_csv: Option<PathBuf>,
}

/// A load to run, checked: what [`run`] takes (`eddy bench` builds these
/// too).
#[derive(Debug, Clone)]
pub struct Load {
    /// The URL as given.
    pub url: String,
    /// Connections.
    pub connections: usize,
    /// How long (`None`: until `requests`).
    pub duration: Option<Duration>,
    /// How many requests (`None`: until `duration`).
    pub requests: Option<u64>,
    /// Threads.
    pub threads: usize,
    /// Pipeline depth.
    pub pipeline: usize,
    /// Open model rate.
    pub rate: Option<f64>,
    /// Method, headers, body.
    pub method: String,
    /// Extra headers.
    pub headers: Vec<String>,
    /// Body.
    pub body: Option<Vec<u8>>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Keep-alive.
    pub keepalive: bool,
    /// Pin thread i to `cpus[i % len]`.
    pub cpus: Option<Vec<usize>>,
    /// Show the live progress line (on stderr).
    pub progress: bool,
}

impl Load {
    /// A closed-model GET of `url` with `connections` for `duration`, one
    /// thread: the shape `eddy bench` runs.
    pub fn closed(url: &str, connections: usize, pipeline: usize, duration: Duration) -> Load {
        Load {
            url: url.to_string(),
            connections,
            duration: Some(duration),
            requests: None,
            threads: 1,
            pipeline,
            rate: None,
            method: "GET".into(),
            headers: Vec::new(),
            body: None,
            timeout: Duration::from_secs(2),
            keepalive: true,
            cpus: None,
            progress: false,
        }
    }

    fn from_args(a: &LoadArgs) -> Result<Load, Error> {
        let body = match &a.body {
            Some(path) => Some(
                std::fs::read(path).map_err(|e| Error::usage(format!("cannot read --body {}: {e}", path.display())))?,
            ),
            None => None,
        };
        Ok(Load {
            url: a.url.clone(),
            connections: a.connections,
            duration: if a.requests.is_none() { Some(a.duration.unwrap_or(Duration::from_secs(10))) } else { None },
            requests: a.requests,
            threads: a.threads,
            pipeline: a.pipeline,
            rate: a.rate,
            method: a.method.clone(),
            headers: a.headers.clone(),
            body,
            timeout: a.timeout,
            keepalive: !a.no_keepalive,
            cpus: None,
            progress: !a.json && std::io::stdout().is_terminal() && std::io::stderr().is_terminal(),
        })
    }

    fn check(&self) -> Result<(), Error> {
        let u = |m: String| Error::usage(m);
        if self.connections == 0 {
            return Err(u("-c must be at least 1 connection".into()));
        }
        if self.threads == 0 {
            return Err(u("--threads must be at least 1".into()));
        }
        if self.threads > self.connections {
            return Err(u(format!(
                "--threads {} is more than the {} connection(s): each thread needs at least one",
                self.threads, self.connections
            )));
        }
        if self.pipeline == 0 || self.pipeline > 1024 {
            return Err(u("--pipeline must be 1 to 1024".into()));
        }
        if self.pipeline > 1 && !self.keepalive {
            return Err(u("--pipeline needs keep-alive: it cannot be used with --no-keepalive".into()));
        }
        if self.duration.is_some() && self.requests.is_some() {
            return Err(u("give a duration (-d) or a number of requests (-n), not both".into()));
        }
        if self.duration.is_some_and(|d| d.is_zero()) {
            return Err(u(format!("-d must be more than 0 ({DURATION_FORMAT})")));
        }
        if self.requests == Some(0) {
            return Err(u("-n must be at least 1".into()));
        }
        if self.timeout.is_zero() {
            return Err(u("--timeout must be more than 0".into()));
        }
        if let Some(r) = self.rate {
            if !(r.is_finite() && r > 0.0) {
                return Err(u(format!("--rate must be a positive number of requests per second, not {r}")));
            }
        }
        Ok(())
    }
}

/// Runs `eddy load`: the report to `out` (text or JSON), the spectrum to
/// `--latency-csv`.
///
/// # Errors
///
/// Bad input (exit code 2); a host that does not resolve, a file that
/// cannot be written (1). A run with no response at all prints its report
/// and exits 1.
pub fn main(args: &LoadArgs, out: &mut dyn Write) -> Result<ExitCode, Error> {
    let load = Load::from_args(args)?;
    let report = run(&load)?;
    if args.json {
        let text = serde_json::to_string_pretty(&report.json()).map_err(|e| Error::new(e.to_string()))?;
        writeln!(out, "{text}")?;
    } else {
        out.write_all(report.text().as_bytes())?;
    }
    out.flush()?;
    if let Some(path) = &args.latency_csv {
        std::fs::write(path, report.csv()).map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))?;
    }
    if report.requests == 0 {
        return Err(Error::new(format!("no response received ({} error(s))", report.errors.total())));
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs one load to its end.
///
/// # Errors
///
/// As [`main`]; a thread that could not start its loop.
pub fn run(load: &Load) -> Result<Report, Error> {
    load.check()?;
    let url = Url::parse(&load.url)?;
    let addr = url.resolve()?[0];
    let head = load.method.eq_ignore_ascii_case("HEAD");
    let request = target::serialize(&load.method, &url, &load.headers, load.body.as_deref(), !load.keepalive)?;
    let (c, t) = (load.connections, load.threads);
    let plan = Arc::new(Plan {
        addr,
        batch: request.repeat(load.pipeline),
        request_len: request.len(),
        pipeline: load.pipeline,
        head,
        keepalive: load.keepalive,
        timeout: load.timeout,
        interval_ns: load.rate.map(|r| ((c as f64 * 1e9 / r) as u64).max(1)),
        rate: load.rate,
        end_ns: load.duration.map(|d| d.as_nanos() as u64),
        cpus: load.cpus.clone(),
    });
    let live = Arc::new(Live::new(t));
    let (tx, rx) = mpsc::channel();
    let base = Instant::now();
    let mut handles = Vec::new();
    for i in 0..t {
        let slots = i * c / t..(i + 1) * c / t;
        let budget = load.requests.map(|n| {
            let share = |k: usize| (n as u128 * (k * c / t) as u128 / c as u128) as u64;
            share(i + 1) - share(i)
        });
        let (plan, live, tx) = (Arc::clone(&plan), Arc::clone(&live), tx.clone());
        let h = std::thread::Builder::new().name(format!("eddy-load-{i}")).spawn(move || {
            let r = client::worker(plan, base, i, slots, budget, live);
            let _ = tx.send(());
            r
        })?;
        handles.push(h);
    }
    drop(tx);
    let timeline = watch(load, base, &live, &rx);
    let mut workers = Vec::new();
    for h in handles {
        match h.join() {
            Ok(Ok(w)) => workers.push(w),
            Ok(Err(e)) => return Err(Error::new(format!("a load thread failed: {e}"))),
            Err(_) => return Err(Error::new("a load thread panicked")),
        }
    }
    let wall = base.elapsed();
    let mut latency = client::new_histogram();
    let mut uncorrected = load.rate.map(|_| client::new_histogram());
    let mut status = std::collections::BTreeMap::new();
    let mut errors = Errors::default();
    let (mut requests, mut sent, mut bytes, mut behind, mut last) = (0, 0, 0, 0, 0);
    let (mut user, mut system, mut cpu) = (0, 0, 0);
    for w in &workers {
        let _ = latency.add(&w.latency);
        if let (Some(u), Some(wu)) = (&mut uncorrected, &w.uncorrected) {
            let _ = u.add(wu);
        }
        for (code, &n) in w.status.iter().enumerate() {
            if n > 0 {
                *status.entry(code as u16).or_insert(0) += n;
            }
        }
        errors.add(&w.errors);
        requests += w.responses;
        sent += w.sent;
        bytes += w.bytes;
        behind += w.behind;
        last = last.max(w.last_ns);
        user += w.cpu_user_ns;
        system += w.cpu_system_ns;
        cpu += w.cpu_ns;
    }
    let elapsed = if requests > 0 { Duration::from_nanos(last) } else { wall };
    Ok(Report {
        url: load.url.clone(),
        connections: c,
        threads: t,
        pipeline: load.pipeline,
        keepalive: load.keepalive,
        rate: load.rate,
        elapsed,
        requests,
        sent,
        bytes,
        errors,
        status,
        latency,
        uncorrected,
        behind,
        cpu_user_ns: user,
        cpu_system_ns: system,
        cpu_ns: cpu,
        timeline,
    })
}

/// While the threads run: the timeline (responses per interval) and, on a
/// terminal, the live progress line. Returns when every thread has ended.
fn watch(load: &Load, base: Instant, live: &Live, done: &mpsc::Receiver<()>) -> Vec<(Duration, Duration, u64)> {
    let interval = match load.duration {
        Some(d) => (d / 20).clamp(Duration::from_millis(100), Duration::from_secs(1)),
        None => Duration::from_millis(250),
    };
    let bar = load.progress.then(|| {
        let bar = match load.duration {
            Some(d) => indicatif::ProgressBar::new(d.as_millis() as u64),
            None => indicatif::ProgressBar::new(load.requests.unwrap_or(0)),
        };
        let style = indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar
    });
    let mut so_far = client::new_histogram();
    let total = |v: &[std::sync::atomic::AtomicU64]| v.iter().map(|a| a.load(Ordering::Relaxed)).sum::<u64>();
    let (mut timeline, mut last_count, mut last_t) = (Vec::new(), 0u64, Duration::ZERO);
    let mut running = load.threads;
    let tick = interval.min(Duration::from_millis(250));
    let mut next_point = interval;
    while running > 0 {
        let now = base.elapsed();
        let wait = next_point.saturating_sub(now).min(tick);
        match done.recv_timeout(wait) {
            Ok(()) => running -= 1,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => running = 0,
        }
        let now = base.elapsed();
        let count = total(&live.responses);
        if now >= next_point || running == 0 {
            if count > last_count || running > 0 {
                timeline.push((now, now - last_t, count - last_count));
            }
            last_count = count;
            last_t = now;
            next_point = now + interval;
            if let Some(bar) = &bar {
                let _ = so_far.add(&*live.recent.lock().unwrap_or_else(PoisonError::into_inner));
                live.recent.lock().unwrap_or_else(PoisonError::into_inner).reset();
                let rps = timeline.last().map_or(0.0, |(_, i, n)| *n as f64 / i.as_secs_f64().max(1e-9));
                let p99 = if so_far.is_empty() { "-".into() } else { human(so_far.value_at_quantile(0.99) as f64) };
                bar.set_message(format!(
                    "{count} req, {rps:.0} req/s now, {} errors, p99 so far {p99}",
                    total(&live.errors)
                ));
                bar.set_position(if load.duration.is_some() { now.as_millis() as u64 } else { count });
            }
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    timeline
}
