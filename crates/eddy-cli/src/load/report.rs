//! What `eddy load` reports: the threads' counters merged into a
//! [`Report`], printed as a wrk-like summary, as JSON (`--json`), and as a
//! percentile spectrum (`--latency-csv`).
//!
//! # The JSON schema (`eddy load --json`), version `eddy-load/1`
//!
//! One object; times are integer nanoseconds unless the name says `_s`
//! (seconds, a float); later versions only add fields.
//!
//! ```text
//! schema           "eddy-load/1"
//! url              the URL as given
//! model            "closed" (default) or "open" (--rate)
//! connections      -c;   threads: --threads;   pipeline: --pipeline;   keepalive: bool
//! rate             null, or {asked, achieved (req/s), kept_up (achieved >= 98% of asked),
//!                  behind (planned requests not sent by the end)}
//! elapsed_s        from the start to the last response (to the end, if none came)
//! requests         responses received (every status)
//! sent             requests written; sent = requests + read + write + timeout + parse errors
//! bytes_read       response bytes
//! req_per_s        requests / elapsed_s;   bytes_per_s: bytes_read / elapsed_s
//! latency          {min, mean, stdev, max, p50, p90, p99, p99_9, p99_99, count} (ns): closed
//!                  model, from each request's send (a pipelined batch's send time for each of
//!                  its requests); open model, from each request's planned time (corrected;
//!                  from its send if it left up to 2 ms early: the loop's timers tick in ms)
//! latency_uncorrected  open model only (else null): the same from the actual send time
//! spectrum         [{percentile (0 to 100), latency_ns, count}]: the HdrHistogram percentile
//!                  distribution of `latency` (5 steps per halving of the tail)
//! errors           {connect, read, write, timeout, parse, total}
//! status           {"200": n, ...}: responses by status code;   non_2xx: their sum but 2xx
//! client_cpu       {user_ns, system_ns, total_ns, ns_per_request}: the load's threads
//! timeline         [{t_s (end of the interval), interval_s, requests}]: responses per interval
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{Value, json};

use super::client::Errors;

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// The URL as given.
    pub url: String,
    /// Connections, threads, pipeline depth.
    pub connections: usize,
    /// Loops (threads).
    pub threads: usize,
    /// Requests per batch.
    pub pipeline: usize,
    /// Keep-alive (false: `--no-keepalive`).
    pub keepalive: bool,
    /// `--rate`: the open model.
    pub rate: Option<f64>,
    /// From the start to the last response.
    pub elapsed: Duration,
    /// Responses.
    pub requests: u64,
    /// Requests written.
    pub sent: u64,
    /// Response bytes.
    pub bytes: u64,
    /// Errors by class.
    pub errors: Errors,
    /// Responses by status.
    pub status: BTreeMap<u16, u64>,
    /// Latency (ns), as the module docs say.
    pub latency: Histogram<u64>,
    /// Open model: latency from the send.
    pub uncorrected: Option<Histogram<u64>>,
    /// Open model: planned requests never sent.
    pub behind: u64,
    /// The load's own CPU: user, system, total (ns).
    pub cpu_user_ns: u64,
    /// System part.
    pub cpu_system_ns: u64,
    /// Total (the threads' CPU clocks).
    pub cpu_ns: u64,
    /// (end of the interval since the start, the interval, responses in it).
    pub timeline: Vec<(Duration, Duration, u64)>,
}

/// A latency in a human unit, as wrk prints it.
pub fn human(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2}s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2}ms", ns / 1e6)
    } else {
        format!("{:.2}us", ns / 1e3)
    }
}

fn human_bytes(b: f64) -> String {
    if b >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}GB", b / (1024.0 * 1024.0 * 1024.0))
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.2}MB", b / (1024.0 * 1024.0))
    } else if b >= 1024.0 {
        format!("{:.2}KB", b / 1024.0)
    } else {
        format!("{b:.0}B")
    }
}

/// The percentiles the reports show: (label, JSON key, quantile).
pub const PERCENTILES: [(&str, &str, f64); 5] = [
    ("50%", "p50", 0.50),
    ("90%", "p90", 0.90),
    ("99%", "p99", 0.99),
    ("99.9%", "p99_9", 0.999),
    ("99.99%", "p99_99", 0.9999),
];

fn latency_json(h: &Histogram<u64>) -> Value {
    let mut o = serde_json::Map::new();
    let empty = h.is_empty();
    let v = |x: u64| if empty { json!(null) } else { json!(x) };
    o.insert("count".into(), json!(h.len()));
    o.insert("min".into(), v(h.min()));
    o.insert("mean".into(), if empty { json!(null) } else { json!(h.mean().round() as u64) });
    o.insert("stdev".into(), if empty { json!(null) } else { json!(h.stdev().round() as u64) });
    o.insert("max".into(), v(h.max()));
    for (_, key, q) in PERCENTILES {
        o.insert(key.into(), v(h.value_at_quantile(q)));
    }
    Value::Object(o)
}

impl Report {
    /// Requests per second.
    pub fn req_per_s(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 { self.requests as f64 / s } else { 0.0 }
    }

    /// Responses whose status is not 2xx.
    pub fn non_2xx(&self) -> u64 {
        self.status.iter().filter(|(s, _)| !(200..300).contains(*s)).map(|(_, n)| n).sum()
    }

    /// Open model: whether the server kept up (achieved at least 98 % of
    /// the asked rate).
    pub fn kept_up(&self) -> Option<bool> {
        self.rate.map(|r| self.req_per_s() >= 0.98 * r)
    }

    /// The percentile spectrum of `latency`: (percentile 0..100, ns, count
    /// up to it).
    pub fn spectrum(&self) -> Vec<(f64, u64, u64)> {
        let mut out = Vec::new();
        if self.latency.is_empty() {
            return out;
        }
        let mut total = 0;
        for v in self.latency.iter_quantiles(5) {
            total += v.count_since_last_iteration();
            out.push((v.quantile_iterated_to() * 100.0, self.latency.highest_equivalent(v.value_iterated_to()), total));
        }
        out
    }

    /// The whole report as the `eddy-load/1` JSON object.
    pub fn json(&self) -> Value {
        let rate = self.rate.map(|asked| {
            json!({"asked": asked, "achieved": self.req_per_s(), "kept_up": self.kept_up(), "behind": self.behind})
        });
        let status: serde_json::Map<String, Value> =
            self.status.iter().map(|(s, n)| (s.to_string(), json!(n))).collect();
        let per_req = if self.requests > 0 { self.cpu_ns as f64 / self.requests as f64 } else { 0.0 };
        json!({
            "schema": "eddy-load/1",
            "url": self.url,
            "model": if self.rate.is_some() { "open" } else { "closed" },
            "connections": self.connections,
            "threads": self.threads,
            "pipeline": self.pipeline,
            "keepalive": self.keepalive,
            "rate": rate,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "requests": self.requests,
            "sent": self.sent,
            "bytes_read": self.bytes,
            "req_per_s": self.req_per_s(),
            "bytes_per_s": if self.elapsed.is_zero() { 0.0 } else { self.bytes as f64 / self.elapsed.as_secs_f64() },
            "latency": latency_json(&self.latency),
            "latency_uncorrected": self.uncorrected.as_ref().map(latency_json),
            "spectrum": self.spectrum().iter().map(|(p, ns, n)| json!({"percentile": p, "latency_ns": ns, "count": n})).collect::<Vec<_>>(),
            "errors": {
                "connect": self.errors.connect, "read": self.errors.read, "write": self.errors.write,
                "timeout": self.errors.timeout, "parse": self.errors.parse, "total": self.errors.total(),
            },
            "status": status,
            "non_2xx": self.non_2xx(),
            "client_cpu": {
                "user_ns": self.cpu_user_ns, "system_ns": self.cpu_system_ns, "total_ns": self.cpu_ns,
                "ns_per_request": per_req,
            },
            "timeline": self.timeline.iter().map(|(t, i, n)| json!({"t_s": t.as_secs_f64(), "interval_s": i.as_secs_f64(), "requests": n})).collect::<Vec<_>>(),
        })
    }

    /// The percentile spectrum as CSV (`--latency-csv`).
    pub fn csv(&self) -> String {
        let mut out = String::from("percentile,latency_us,total_count,one_over_one_minus_percentile\n");
        for (p, ns, n) in self.spectrum() {
            let inv = if p >= 100.0 { "inf".to_string() } else { format!("{:.2}", 1.0 / (1.0 - p / 100.0)) };
            let _ = writeln!(out, "{:.6},{:.3},{n},{inv}", p, ns as f64 / 1e3);
        }
        out
    }

    /// The wrk-like summary.
    pub fn text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "Running {:.2}s test @ {}", self.elapsed.as_secs_f64(), self.url);
        let model = match self.rate {
            Some(r) => format!("open model at {r} req/s"),
            None => "closed model".to_string(),
        };
        let _ = writeln!(
            o,
            "  {} thread(s) and {} connection(s), {model}, pipeline {}, {}",
            self.threads,
            self.connections,
            self.pipeline,
            if self.keepalive { "keep-alive" } else { "a connection per request" }
        );
        let h = &self.latency;
        let from = if self.rate.is_some() {
            "from each request's planned time (coordinated omission corrected)"
        } else if self.pipeline > 1 {
            "one sample per request, from its batch's send time"
        } else {
            "from each request's send time"
        };
        let _ = writeln!(o, "  Latency, {from}:");
        if h.is_empty() {
            let _ = writeln!(o, "    no response");
        } else {
            let _ = writeln!(o, "    {:>10} {:>10} {:>10} {:>10}", "min", "mean", "stdev", "max");
            let _ = writeln!(
                o,
                "    {:>10} {:>10} {:>10} {:>10}",
                human(h.min() as f64),
                human(h.mean()),
                human(h.stdev()),
                human(h.max() as f64)
            );
            let _ = writeln!(o, "  Latency Distribution");
            for (label, _, q) in PERCENTILES {
                let unc = self
                    .uncorrected
                    .as_ref()
                    .map(|u| format!("   (from the send: {})", human(u.value_at_quantile(q) as f64)))
                    .unwrap_or_default();
                let _ = writeln!(o, "    {label:>6}  {:>10}{unc}", human(h.value_at_quantile(q) as f64));
            }
        }
        let _ = writeln!(
            o,
            "  {} requests in {:.2}s, {} read",
            self.requests,
            self.elapsed.as_secs_f64(),
            human_bytes(self.bytes as f64)
        );
        let e = &self.errors;
        if e.total() > 0 {
            let _ = writeln!(
                o,
                "  Errors: connect {}, read {}, write {}, timeout {}, parse {}",
                e.connect, e.read, e.write, e.timeout, e.parse
            );
        }
        let codes: Vec<String> = self.status.iter().map(|(s, n)| format!("{s}: {n}")).collect();
        if !codes.is_empty() {
            let _ = writeln!(o, "  Status codes: {}", codes.join(", "));
        }
        if self.non_2xx() > 0 {
            let _ = writeln!(o, "  Non-2xx responses: {}", self.non_2xx());
        }
        let _ = writeln!(o, "Requests/sec: {:>12.2}", self.req_per_s());
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let _ = writeln!(o, "Transfer/sec: {:>12}", human_bytes(self.bytes as f64 / secs));
        if let Some(r) = self.rate {
            let achieved = self.req_per_s();
            let _ =
                writeln!(o, "Rate: asked {r:.2} req/s, achieved {achieved:.2} req/s ({:.1}%)", 100.0 * achieved / r);
            if self.kept_up() == Some(false) {
                let _ = writeln!(
                    o,
                    "  the server did not keep up: {} planned request(s) were never sent; the latencies include the wait",
                    self.behind
                );
            }
        }
        if self.requests > 0 {
            let n = self.requests as f64;
            let _ = writeln!(
                o,
                "Client CPU: {:.0} ns/request (user {:.0}, system {:.0})",
                self.cpu_ns as f64 / n,
                self.cpu_user_ns as f64 / n,
                self.cpu_system_ns as f64 / n
            );
        }
        o
    }
}
