//! `eddy bench` on two tiny servers (`eddy serve` and a keep-alive Python
//! `http.server`): it writes valid SVG plots (parsed as XML, with their
//! labels and legends) and a results.json whose summary matches the
//! printed table.

mod load_util;
mod util;

use std::time::Duration;

use util::{EDDY, clients};

const PY: &str = r#"
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def log_message(self, *a): pass
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;

#[test]
fn bench_writes_svg_plots_and_json_that_match_the_table() {
    if !clients(&["python3"]) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("eddy-bench-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let script = dir.with_extension("py");
    std::fs::write(&script, PY).unwrap();
    let eddy_server = format!("eddy={EDDY} serve --addr 127.0.0.1:{{port}}");
    let py_server = format!("python=python3 {} {{port}}", script.display());
    let out = load_util::eddy_command(
        &[
            "bench",
            "--server",
            &eddy_server,
            "--server",
            &py_server,
            "--loads",
            "c4,pipe2-c4",
            "--rounds",
            "2",
            "--duration",
            "1s",
            "--out",
            dir.to_str().unwrap(),
        ],
        Duration::from_secs(120),
    );
    assert!(out.status.success(), "{out:?}");
    let table = String::from_utf8_lossy(&out.stdout).into_owned();

    // The JSON, and its summary against the table's rows.
    let results: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["schema"], "eddy-bench/1");
    assert_eq!(results["runs"].as_array().unwrap().len(), 2 * 2 * 2, "servers x loads x rounds");
    let summary = results["summary"].as_array().unwrap();
    assert_eq!(summary.len(), 4);
    let mut section = String::new();
    let mut checked = 0;
    for line in table.lines() {
        if let Some(rest) = line.strip_prefix("== ") {
            section = rest.split_whitespace().next().unwrap().to_string();
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 11 || !(f[0] == "eddy" || f[0] == "python") {
            continue;
        }
        let row = summary.iter().find(|r| r["load"] == section.as_str() && r["server"] == f[0]).expect("a row");
        let n = |v: &serde_json::Value| v.as_f64().unwrap();
        assert_eq!(f[1].parse::<f64>().unwrap(), n(&row["req_per_s"]["median"]), "{line}");
        assert_eq!(f[5].parse::<f64>().unwrap(), n(&row["ns_per_request"]["user"]), "{line}");
        assert_eq!(f[6].parse::<f64>().unwrap(), n(&row["ns_per_request"]["system"]), "{line}");
        assert_eq!(f[7].parse::<f64>().unwrap(), n(&row["ns_per_request"]["total"]), "{line}");
        assert_eq!(f[9].parse::<f64>().unwrap(), n(&row["ratio"]), "{line}");
        assert!(n(&row["req_per_s"]["median"]) > 0.0, "{line}");
        checked += 1;
    }
    assert_eq!(checked, 4, "{table}");
    assert!(summary.iter().filter(|r| r["server"] == "eddy").all(|r| r["ratio"] == 1.0), "the first server is 1.00");

    // Every plot parses as SVG and carries its labels and legend.
    for (file, needles) in [
        ("ns_per_request.svg", &["ns per request", "eddy user", "python system", "c4", "pipe2-c4"][..]),
        ("latency-c4.svg", &["percentile", "latency, ms", "eddy", "python", "99%"]),
        ("latency-pipe2-c4.svg", &["percentile", "eddy", "python"]),
        ("rps-c4.svg", &["req/s", "time, s", "eddy", "python"]),
        ("rps-pipe2-c4.svg", &["req/s", "eddy"]),
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{file} is not XML: {e}"));
        assert_eq!(doc.root_element().tag_name().name(), "svg", "{file}");
        let texts: Vec<String> = doc
            .descendants()
            .filter(|n| n.tag_name().name() == "text")
            .filter_map(|n| n.text())
            .map(|t| t.trim().to_string())
            .collect();
        for needle in needles {
            assert!(texts.iter().any(|t| t.contains(needle)), "{file}: no text {needle:?} in {texts:?}");
        }
        let shapes = doc.descendants().filter(|n| matches!(n.tag_name().name(), "rect" | "polyline" | "path")).count();
        assert!(shapes > 5, "{file}: {shapes} shapes");
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&script);
}

#[test]
fn bench_bad_arguments() {
    for (args, says) in [
        (&["bench", "--server", "noequals"][..], "NAME=COMMAND"),
        (&["bench", "--server", "a=cmd without port"], "{port}"),
        (&["bench", "--server", "a=x {port}", "--loads", "q12"], "bad load"),
        (&["bench", "--server", "a=x {port}", "--rounds", "0"], "--rounds"),
    ] {
        let out = load_util::eddy_command(args, Duration::from_secs(30));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn lab_scaling_plot_draws_every_backend() {
    let dir = std::env::temp_dir().join(format!("eddy-scaling-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("scaling.svg");
    let out = load_util::eddy_command(&["lab", "scaling", "--plot", svg.to_str().unwrap()], Duration::from_secs(120));
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("10000") && stdout.contains("verdict: PASS"), "{stdout}");
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("valid SVG");
    let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).map(str::trim).collect();
    for needle in ["select", "poll", "epoll", "registered descriptors (log)", "microseconds per wait (log)"] {
        assert!(texts.contains(&needle), "{needle}: {texts:?}");
    }
    let out = load_util::eddy_command(&["lab", "et-drain", "--plot", svg.to_str().unwrap()], Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
