//! `eddy bench`: HTTP servers side by side, measured as `bench/run.sh`
//! measures them, in Rust.
//!
//! Each round visits every server in turn (the first server rotating per
//! round): start it (`sh -c 'exec CMD'`, `{port}` replaced by a free port)
//! pinned to `--server-cpu` (the affinity is set on the spawning thread
//! and inherited), wait until it answers HTTP (polled: a foreign process
//! has no ready event; bounded by 20 s), then per load read the server's
//! utime and stime from `/proc/PID/stat`, run `eddy load` in this process
//! on one thread pinned to `--client-cpu`, read them again; stop the
//! server by its PID (SIGTERM, SIGKILL after 5 s).
//!
//! Per load a table of medians over the rounds (with min–max spread):
//! req/s, p50, p99, server CPU ns per request (user, system, total), and
//! the total's ratio to the first server's. `DIR/results.json` (schema
//! `eddy-bench/1`: `runs`, one entry per server, load and round, and
//! `summary`, the table's rows, same numbers) and SVG plots:
//! `ns_per_request.svg`, `latency-LOAD.svg` (percentile spectra),
//! `rps-LOAD.svg` (req/s over time, every run).

mod plot;

pub(crate) use plot::lines as plot_lines;

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};
use serde_json::{Value, json};

use crate::Error;
use crate::args;
use crate::load::{self, Load, Report};

/// Arguments of `eddy bench`.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// A server: 'NAME=COMMAND', `{port}` in COMMAND replaced by the port it
    /// must serve HTTP on (127.0.0.1); repeatable; the first is the baseline.
    #[arg(long = "server", required = true, value_name = "NAME=CMD")]
    pub servers: Vec<String>,
    /// The loads, comma-separated: cN (N connections), pipeP-cN (P
    /// pipelined requests per write).
    #[arg(long, default_value = "c128,c16,pipe16-c128", value_delimiter = ',')]
    pub loads: Vec<String>,
    /// Rounds (medians are taken over them).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Length of each load.
    #[arg(long, value_parser = args::duration, default_value = "5s")]
    pub duration: Duration,
    /// Where results.json and the plots go.
    #[arg(long, default_value = "bench-results")]
    pub out: PathBuf,
    /// The path loaded.
    #[arg(long, default_value = "/")]
    pub path: String,
    /// The core the servers are pinned to.
    #[arg(long, default_value_t = 0)]
    pub server_cpu: usize,
    /// The core the load runs on (default: 1, or 0 on a one-core machine).
    #[arg(long)]
    pub client_cpu: Option<usize>,
}

#[derive(Debug, Clone)]
struct Spec {
    name: String,
    connections: usize,
    pipeline: usize,
}

fn parse_load(s: &str) -> Result<Spec, Error> {
    let bad = || Error::usage(format!("bad load {s:?}: cN or pipeP-cN (e.g. c128, pipe16-c128)"));
    let (pipeline, conns) = match s.split_once('-') {
        Some((p, c)) => (p.strip_prefix("pipe").ok_or_else(bad)?.parse().map_err(|_| bad())?, c),
        None => (1, s),
    };
    let connections: usize = conns.strip_prefix('c').ok_or_else(bad)?.parse().map_err(|_| bad())?;
    if connections == 0 || pipeline == 0 {
        return Err(bad());
    }
    Ok(Spec { name: s.to_string(), connections, pipeline })
}

fn parse_server(s: &str) -> Result<(String, String), Error> {
    match s.split_once('=') {
        Some((n, c)) if !n.trim().is_empty() && c.contains("{port}") => Ok((n.trim().to_string(), c.to_string())),
        Some((n, _)) if !n.trim().is_empty() => {
            Err(Error::usage(format!("--server {s:?}: the command must contain {{port}}")))
        }
        _ => Err(Error::usage(format!("--server {s:?}: give NAME=COMMAND"))),
    }
}

/// One load of one server in one round.
struct Run {
    server: usize,
    load: usize,
    round: usize,
    report: Report,
    user_ns: u64,
    system_ns: u64,
}

impl Run {
    fn per_req(&self) -> (f64, f64) {
        let n = self.report.requests.max(1) as f64;
        (self.user_ns as f64 / n, self.system_ns as f64 / n)
    }
}

/// Runs `eddy bench`: the tables to `out`, results.json and the plots to
/// `--out`.
///
/// # Errors
///
/// Bad arguments (2); a server that does not start or answer, a file that
/// cannot be written (1).
pub fn main(a: &BenchArgs, out: &mut dyn Write) -> Result<ExitCode, Error> {
    let servers: Vec<(String, String)> = a.servers.iter().map(|s| parse_server(s)).collect::<Result<_, _>>()?;
    let specs: Vec<Spec> = a.loads.iter().map(|s| parse_load(s.trim())).collect::<Result<_, _>>()?;
    if a.rounds == 0 {
        return Err(Error::usage("--rounds must be at least 1"));
    }
    if a.duration.is_zero() {
        return Err(Error::usage("--duration must be more than 0"));
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let client_cpu = a.client_cpu.unwrap_or(if cpus > 1 { 1 } else { 0 });
    std::fs::create_dir_all(&a.out).map_err(|e| Error::new(format!("cannot create {}: {e}", a.out.display())))?;
    let mut runs = Vec::new();
    for round in 0..a.rounds {
        for k in 0..servers.len() {
            let s = (k + round) % servers.len();
            let (name, cmd) = &servers[s];
            let mut server = Server::start(cmd, a.server_cpu)?;
            server
                .wait_ready(&a.path, Duration::from_secs(20))
                .map_err(|e| Error::new(format!("server {name}: {e}")))?;
            for (l, spec) in specs.iter().enumerate() {
                let url = format!("http://127.0.0.1:{}{}", server.port, a.path);
                let mut load = Load::closed(&url, spec.connections, spec.pipeline, a.duration);
                load.cpus = Some(vec![client_cpu]);
                let before = server.cpu()?;
                let report = load::run(&load)?;
                let after = server.cpu()?;
                tracing::info!(
                    "round {} {name} {}: {:.0} req/s, {} errors",
                    round + 1,
                    spec.name,
                    report.req_per_s(),
                    report.errors.total()
                );
                runs.push(Run {
                    server: s,
                    load: l,
                    round,
                    report,
                    user_ns: after.0.saturating_sub(before.0),
                    system_ns: after.1.saturating_sub(before.1),
                });
            }
            server.stop();
        }
    }
    let summary = summarize(&servers, &specs, &runs);
    out.write_all(tables(a, &servers, &specs, &summary).as_bytes())?;
    let results = json!({
        "schema": "eddy-bench/1",
        "servers": servers.iter().map(|(n, c)| json!({"name": n, "command": c})).collect::<Vec<_>>(),
        "loads": specs.iter().map(|s| json!({"name": s.name, "connections": s.connections, "pipeline": s.pipeline})).collect::<Vec<_>>(),
        "rounds": a.rounds,
        "duration_s": a.duration.as_secs_f64(),
        "server_cpu": a.server_cpu,
        "client_cpu": client_cpu,
        "runs": runs.iter().map(|r| run_json(&servers, &specs, r)).collect::<Vec<_>>(),
        "summary": summary.iter().map(Row::json).collect::<Vec<_>>(),
    });
    let path = a.out.join("results.json");
    let text = serde_json::to_string_pretty(&results).map_err(|e| Error::new(e.to_string()))?;
    std::fs::write(&path, text).map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))?;
    plots(a, &servers, &specs, &runs, &summary)?;
    writeln!(out, "results: {} (and the plots beside it)", path.display())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// A server process, pinned, on its port.
struct Server {
    child: Option<Child>,
    pid: Pid,
    port: u16,
}

impl Server {
    fn start(cmd: &str, cpu: usize) -> Result<Server, Error> {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr())?.port();
        let line = cmd.replace("{port}", &port.to_string());
        // The affinity is the spawning thread's, inherited by the child.
        let child = std::thread::scope(|s| {
            s.spawn(|| -> Result<Child, Error> {
                let mut set = rustix::thread::CpuSet::new();
                set.set(cpu);
                rustix::thread::sched_setaffinity(None, &set)
                    .map_err(|e| Error::new(format!("cannot pin to core {cpu}: {e}")))?;
                Command::new("sh")
                    .arg("-c")
                    .arg(format!("exec {line}"))
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .map_err(|e| Error::new(format!("cannot start {line:?}: {e}")))
            })
            .join()
            .unwrap_or_else(|_| Err(Error::new("the spawning thread panicked")))
        })?;
        Ok(Server { pid: Pid::from_child(&child), child: Some(child), port })
    }

    /// Polls (a foreign process has no ready event) until the server
    /// answers a GET with an HTTP status line, bounded by `within`.
    fn wait_ready(&mut self, path: &str, within: Duration) -> Result<(), String> {
        let start = Instant::now();
        loop {
            if let Some(child) = &mut self.child {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("exited ({status}) before answering"));
                }
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
                let mut line = String::new();
                if s.write_all(req.as_bytes()).is_ok()
                    && BufReader::new(&mut s).read_line(&mut line).is_ok()
                    && line.starts_with("HTTP/1.")
                {
                    return Ok(());
                }
            }
            if start.elapsed() > within {
                return Err(format!("did not answer HTTP on port {} within {within:?}", self.port));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// utime and stime so far (ns).
    fn cpu(&self) -> Result<(u64, u64), Error> {
        let path = format!("/proc/{}/stat", self.pid.as_raw_nonzero());
        crate::load::proc_times(&path).ok_or_else(|| Error::new(format!("cannot read {path}")))
    }

    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let _ = kill_process(self.pid, Signal::TERM);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = kill_process(self.pid, Signal::KILL);
        let _ = child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// (median, min, max).
fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
    (median, v[0], v[n - 1])
}

/// One row of a table: a server under a load, medians over the rounds.
struct Row {
    load: String,
    server: String,
    rps: (f64, f64, f64),
    p50_ns: f64,
    p99_ns: f64,
    user: f64,
    system: f64,
    total: (f64, f64, f64),
    ratio: f64,
    errors: u64,
}

impl Row {
    fn json(&self) -> Value {
        json!({
            "load": self.load, "server": self.server,
            "req_per_s": {"median": self.rps.0.round(), "min": self.rps.1.round(), "max": self.rps.2.round()},
            "p50_ns": self.p50_ns.round(), "p99_ns": self.p99_ns.round(),
            "ns_per_request": {
                "user": self.user.round(), "system": self.system.round(), "total": self.total.0.round(),
                "total_min": self.total.1.round(), "total_max": self.total.2.round(),
            },
            "ratio": (self.ratio * 100.0).round() / 100.0,
            "errors": self.errors,
        })
    }
}

fn summarize(servers: &[(String, String)], specs: &[Spec], runs: &[Run]) -> Vec<Row> {
    let mut rows = Vec::new();
    for (l, spec) in specs.iter().enumerate() {
        let mut base = None;
        for (s, (name, _)) in servers.iter().enumerate() {
            let mine: Vec<&Run> = runs.iter().filter(|r| r.load == l && r.server == s).collect();
            let col = |f: &dyn Fn(&Run) -> f64| stats(mine.iter().map(|r| f(r)).collect());
            let total = col(&|r| r.per_req().0 + r.per_req().1);
            let base_total = *base.get_or_insert(total.0);
            rows.push(Row {
                load: spec.name.clone(),
                server: name.clone(),
                rps: col(&|r| r.report.req_per_s()),
                p50_ns: col(&|r| r.report.latency.value_at_quantile(0.5) as f64).0,
                p99_ns: col(&|r| r.report.latency.value_at_quantile(0.99) as f64).0,
                user: col(&|r| r.per_req().0).0,
                system: col(&|r| r.per_req().1).0,
                total,
                ratio: if base_total > 0.0 { total.0 / base_total } else { 0.0 },
                errors: mine.iter().map(|r| r.report.errors.total()).sum(),
            });
        }
    }
    rows
}

fn tables(a: &BenchArgs, servers: &[(String, String)], specs: &[Spec], rows: &[Row]) -> String {
    let width = servers.iter().map(|(n, _)| n.len()).max().unwrap_or(6).max(6);
    let mut o = String::new();
    for spec in specs {
        let _ = writeln!(
            o,
            "\n== {} ({} connection(s), pipeline {}; {} round(s) x {:.1}s; medians [min-max])",
            spec.name,
            spec.connections,
            spec.pipeline,
            a.rounds,
            a.duration.as_secs_f64()
        );
        let _ = writeln!(
            o,
            "{:<width$}  {:>9} {:>17}  {:>9} {:>9}  {:>9} {:>9} {:>9} {:>13}  {:>6}  {:>6}",
            "server", "req/s", "[spread]", "p50", "p99", "user ns", "sys ns", "total ns", "[spread]", "ratio", "errors"
        );
        for r in rows.iter().filter(|r| r.load == spec.name) {
            let _ = writeln!(
                o,
                "{:<width$}  {:>9.0} {:>17}  {:>9} {:>9}  {:>9.0} {:>9.0} {:>9.0} {:>13}  {:>6.2}  {:>6}",
                r.server,
                r.rps.0,
                format!("[{:.0}-{:.0}]", r.rps.1, r.rps.2),
                load::human(r.p50_ns),
                load::human(r.p99_ns),
                r.user,
                r.system,
                r.total.0,
                format!("[{:.0}-{:.0}]", r.total.1, r.total.2),
                r.ratio,
                r.errors
            );
        }
    }
    o
}

fn run_json(servers: &[(String, String)], specs: &[Spec], r: &Run) -> Value {
    let (u, s) = r.per_req();
    json!({
        "server": servers[r.server].0, "load": specs[r.load].name, "round": r.round + 1,
        "req_per_s": r.report.req_per_s(), "requests": r.report.requests, "errors": r.report.errors.total(),
        "p50_ns": r.report.latency.value_at_quantile(0.5), "p99_ns": r.report.latency.value_at_quantile(0.99),
        "server_user_ns": r.user_ns, "server_system_ns": r.system_ns,
        "ns_per_request": {"user": u, "system": s, "total": u + s},
        "client_cpu_ns": r.report.cpu_ns,
        "spectrum": r.report.spectrum().iter().map(|(p, ns, _)| json!([p, ns])).collect::<Vec<_>>(),
        "timeline": timeline(&r.report).iter().map(|(t, v)| json!([t, v])).collect::<Vec<_>>(),
    })
}

/// (seconds since the start, req/s in the interval).
fn timeline(r: &Report) -> Vec<(f64, f64)> {
    r.timeline.iter().map(|(t, i, n)| (t.as_secs_f64(), *n as f64 / i.as_secs_f64().max(1e-9))).collect()
}

fn file_name(load: &str) -> String {
    load.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
}

fn plots(a: &BenchArgs, servers: &[(String, String)], specs: &[Spec], runs: &[Run], rows: &[Row]) -> Result<(), Error> {
    let names: Vec<String> = servers.iter().map(|(n, _)| n.clone()).collect();
    let loads: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    let cell = |l: usize, s: usize| {
        rows.iter().find(|r| r.load == loads[l] && r.server == names[s]).map_or((0.0, 0.0), |r| (r.user, r.system))
    };
    plot::ns_per_request(&a.out.join("ns_per_request.svg"), &loads, &names, &cell)?;
    for (l, spec) in specs.iter().enumerate() {
        // The spectrum of each server's median run (by req/s).
        let mut lines = Vec::new();
        for (s, name) in names.iter().enumerate() {
            let mut mine: Vec<&Run> = runs.iter().filter(|r| r.load == l && r.server == s).collect();
            mine.sort_by(|x, y| x.report.req_per_s().total_cmp(&y.report.req_per_s()));
            if let Some(r) = mine.get(mine.len() / 2) {
                lines.push((name.clone(), r.report.spectrum().iter().map(|(p, ns, _)| (*p, *ns as f64)).collect()));
            }
        }
        let title = format!("Latency by percentile, {} (median run)", spec.name);
        plot::spectrum(&a.out.join(format!("latency-{}.svg", file_name(&spec.name))), &title, &lines)?;
        let series: Vec<(String, Vec<(f64, f64)>)> =
            runs.iter().filter(|r| r.load == l).map(|r| (names[r.server].clone(), timeline(&r.report))).collect();
        let title = format!("Requests per second over each run, {} (every round)", spec.name);
        plot::lines(
            &a.out.join(format!("rps-{}.svg", file_name(&spec.name))),
            &title,
            "time, s",
            "req/s",
            false,
            &series,
        )?;
    }
    Ok(())
}
