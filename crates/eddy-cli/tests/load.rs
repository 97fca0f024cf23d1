//! `eddy load` against real servers on loopback: the counts it reports
//! equal what the server counted (closed, pipelined, open models; on `eddy
//! serve` behind a counting proxy and on a Python `http.server`), the
//! coordinated-omission correction shows a stall a closed model hides, the
//! open model holds its rate, errors land in their class and the run ends
//! on time, and bad input gets a clear error. Every run is bounded in
//! count and time.

mod load_util;
mod util;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use load_util::{CountingProxy, PyServer, load, num};
use util::{Eddy, clients};

const WITHIN: Duration = Duration::from_secs(60);

/// The models every count test runs: (name, arguments).
fn models(n: &str, rate: &str) -> Vec<(&'static str, Vec<String>)> {
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        ("closed", v(&["-c", "8", "-n", n])),
        ("closed, 2 threads", v(&["-c", "8", "-t", "2", "-n", n])),
        ("pipelined", v(&["-c", "4", "--pipeline", "8", "-n", n])),
        ("open", v(&["-c", "8", "--rate", rate, "-d", "2s"])),
        ("open, pipelined", v(&["-c", "4", "--rate", rate, "--pipeline", "4", "-d", "1s"])),
        ("no keep-alive", v(&["-c", "4", "--no-keepalive", "-n", "300"])),
    ]
}

fn check_counts(what: &str, report: &serde_json::Value, server: u64, n: Option<u64>) {
    let requests = num(report, "requests") as u64;
    assert_eq!(num(report, "errors.total"), 0.0, "{what}: {report:#}");
    assert_eq!(requests, server, "{what}: eddy load reported {requests}, the server counted {server}");
    assert_eq!(num(report, "sent") as u64, requests, "{what}");
    assert_eq!(num(report, "latency.count") as u64, requests, "{what}: one latency sample per request");
    if let Some(n) = n {
        assert_eq!(requests, n, "{what}");
    }
}

#[test]
fn counts_agree_with_eddy_serve() {
    let srv = Eddy::serve(&[]);
    for (what, args) in models("3000", "2000") {
        let proxy = CountingProxy::start(srv.addr);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (out, report) = load(&proxy.url(), &args, WITHIN);
        assert!(out.status.success(), "{what}: {out:?}");
        let n = args.iter().position(|a| *a == "-n").map(|i| args[i + 1].parse().unwrap());
        check_counts(what, &report, proxy.count(), n);
        assert_eq!(report["status"]["200"].as_u64(), Some(proxy.count()), "{what}");
    }
}

#[test]
fn counts_agree_with_a_python_http_server() {
    if !clients(&["python3"]) {
        return;
    }
    for mode in ["plain", "chunked", "close3"] {
        let srv = PyServer::start(mode);
        for (what, args) in models("600", "400") {
            if mode != "plain" && what.contains("pipelined") {
                continue; // a close mid-batch loses the rest of the batch (read errors)
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let before = srv.counts().0;
            let (out, report) = load(&srv.url(), &args, WITHIN);
            assert!(out.status.success(), "{mode} {what}: {out:?}");
            let n = args.iter().position(|a| *a == "-n").map(|i| args[i + 1].parse().unwrap());
            check_counts(&format!("{mode}, {what}"), &report, srv.counts().0 - before, n);
        }
    }
}

#[test]
fn the_open_model_shows_a_stall_that_the_uncorrected_latency_hides() {
    if !clients(&["python3"]) {
        return;
    }
    let srv = PyServer::start("stall");
    let (out, r) = load(&srv.url(), &["-c", "4", "--rate", "400", "-d", "5s", "--timeout", "3s"], WITHIN);
    assert!(out.status.success(), "{out:?}");
    let corrected = num(&r, "latency.p99_9") / 1e6;
    let uncorrected_p99 = num(&r, "latency_uncorrected.p99") / 1e6;
    assert!(corrected >= 500.0, "p99.9 from the planned times: {corrected} ms; {r:#}");
    assert!(uncorrected_p99 < 100.0, "p99 from the sends: {uncorrected_p99} ms; {r:#}");
    // A closed-model run (as wrk) on a fresh stalling server hides most of
    // it too: a handful of samples waited.
    let srv = PyServer::start("stall");
    let (out, c) = load(&srv.url(), &["-c", "4", "-d", "5s", "--timeout", "3s"], WITHIN);
    assert!(out.status.success(), "{out:?}");
    let closed_p99 = num(&c, "latency.p99") / 1e6;
    assert!(closed_p99 < 100.0, "closed model p99 {closed_p99} ms; {c:#}");
    assert!(num(&c, "latency.max") / 1e6 >= 500.0, "the closed model saw the stall only in its max: {c:#}");
}

#[test]
fn the_achieved_rate_is_within_2_percent_when_the_server_keeps_up() {
    let srv = Eddy::serve(&[]);
    let (out, r) = load(&srv.url("/"), &["-c", "16", "--rate", "3000", "-d", "3s"], WITHIN);
    assert!(out.status.success(), "{out:?}");
    let achieved = num(&r, "rate.achieved");
    assert!((achieved / 3000.0 - 1.0).abs() < 0.02, "achieved {achieved} req/s of 3000: {r:#}");
    assert_eq!(r["rate"]["kept_up"], true, "{r:#}");
    assert_eq!(r["model"], "open");
}

#[test]
fn resets_500s_and_silence_are_counted_in_their_class_and_the_run_ends_on_time() {
    if !clients(&["python3"]) {
        return;
    }
    // Every 10th connection reset: one request lost (a read error) each.
    let srv = PyServer::start("reset10");
    let (out, r) = load(&srv.url(), &["-c", "4", "--no-keepalive", "-n", "200"], WITHIN);
    assert!(out.status.success(), "{out:?}");
    let (answered, resets) = srv.counts();
    assert!(resets >= 15, "{resets} resets");
    assert_eq!(num(&r, "errors.read") as u64, resets, "{r:#}");
    assert_eq!(num(&r, "requests") as u64, answered, "{r:#}");
    assert_eq!(answered + resets, 200);

    // 500s: counted by status, summarised as non-2xx.
    let srv = PyServer::start("status500");
    let (out, r) = load(&srv.url(), &["-c", "4", "-n", "300"], WITHIN);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(r["status"]["500"].as_u64(), Some(300), "{r:#}");
    assert_eq!(r["non_2xx"].as_u64(), Some(300), "{r:#}");
    let (out, _) = load(&srv.url(), &["-c", "1", "-n", "1"], WITHIN);
    assert!(out.status.success());
    let text = load_util::eddy_command(&["load", &srv.url(), "-c", "2", "-n", "10"], WITHIN);
    assert!(String::from_utf8_lossy(&text.stdout).contains("Non-2xx responses: 10"), "{text:?}");
}

#[test]
fn a_server_that_never_answers_times_out_on_time() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Accepts and holds every connection, reads nothing, answers nothing.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s);
        }
    });
    let url = format!("http://{addr}/");
    let start = Instant::now();
    let (out, r) = load(&url, &["-c", "4", "-d", "1s", "--timeout", "500ms"], WITHIN);
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(1), "no response: exit 1; {out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no response received"), "{out:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(num(&r, "errors.timeout") >= 4.0, "{r:#}");
    assert_eq!(num(&r, "requests"), 0.0);
    // -n: every attempt counts, so it ends too.
    let start = Instant::now();
    let (_, r) = load(&url, &["-c", "4", "-n", "8", "--timeout", "300ms"], WITHIN);
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
    assert_eq!(num(&r, "errors.timeout"), 8.0, "{r:#}");
}

#[test]
fn a_closed_port_is_connect_errors_and_garbage_is_parse_errors() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (out, r) = load(&format!("http://127.0.0.1:{port}/"), &["-c", "2", "-n", "20"], WITHIN);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(num(&r, "errors.connect"), 20.0, "{r:#}");

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for s in listener.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 || s.write_all(b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n").is_err() {
                        break;
                    }
                }
            });
        }
    });
    let (out, r) = load(&format!("http://{addr}/"), &["-c", "2", "-n", "50"], WITHIN);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(num(&r, "errors.parse"), 50.0, "{r:#}");
}

#[test]
fn bad_input_gets_a_clear_error() {
    for (args, code, says) in [
        (&["load", "localhost:80"][..], 2, "must start with http://"),
        (&["load", "https://127.0.0.1/"], 2, "HTTPS is not supported"),
        (&["load", "http://no-such-host.invalid/", "-n", "1"], 1, "cannot resolve host"),
        (&["load", "http://127.0.0.1:1/", "-c", "0"], 2, "-c must be at least 1"),
        (&["load", "http://127.0.0.1:1/", "-d", "1s", "-n", "5"], 2, "cannot be used with"),
        (&["load", "http://127.0.0.1:1/", "-c", "2", "-t", "3"], 2, "more than the 2 connection"),
        (&["load", "http://127.0.0.1:1/", "--pipeline", "2", "--no-keepalive"], 2, "needs keep-alive"),
        (&["load", "http://127.0.0.1:1/", "--rate", "0"], 2, "--rate must be a positive"),
        (&["load", "http://127.0.0.1:1/", "-d", "0"], 2, "-d must be more than 0"),
        (&["load", "http://127.0.0.1:1/", "-d", "ten"], 2, "a duration is"),
    ] {
        let out = load_util::eddy_command(args, WITHIN);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn text_summary_and_latency_csv() {
    let srv = Eddy::serve(&[]);
    let dir = std::env::temp_dir().join(format!("eddy-load-csv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("latency.csv");
    let out = load_util::eddy_command(
        &["load", &srv.url("/"), "-c", "4", "-n", "2000", "--pipeline", "4", "--latency-csv", csv.to_str().unwrap()],
        WITHIN,
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in
        ["Running", "Latency Distribution", "99.99%", "2000 requests in", "Requests/sec:", "Status codes: 200: 2000"]
    {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    let csv = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<Vec<f64>> =
        csv.lines().skip(1).map(|l| l.split(',').take(3).map(|x| x.parse().unwrap()).collect()).collect();
    assert!(csv.starts_with("percentile,latency_us,total_count"), "{csv}");
    assert!(rows.len() > 5, "{csv}");
    assert!(rows.windows(2).all(|w| w[0][0] <= w[1][0] && w[0][1] <= w[1][1]), "monotonic: {csv}");
    assert_eq!(rows.last().unwrap()[2], 2000.0, "{csv}");
    let _ = std::fs::remove_dir_all(&dir);
}
