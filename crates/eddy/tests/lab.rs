//! The lab in the test suite: every experiment on every backend it means
//! something on, each its own test (so a FAIL names the experiment and the
//! backend, and prints the whole report), and the `eddy lab` command:
//! the listing, `--all --json`, and the exit codes.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use eddy::lab::{EXPERIMENTS, Options, Verdict, run_with};
use eddy::poll::Backend;

const EDDY: &str = env!("CARGO_BIN_EXE_eddy");

/// Runs `name` on `backend` and asserts its verdict, printing the report
/// if it failed.
fn assert_pass(name: &str, backend: &str) {
    let backend: Backend = backend.parse().expect("a backend name");
    let options = Options { backend: Some(backend), live: false, eddy_exe: Some(PathBuf::from(EDDY)) };
    let report = run_with(name, &options).unwrap_or_else(|e| panic!("{name} on {backend}: {e}"));
    assert_eq!(report.verdict, Verdict::Pass, "{name} on {backend} failed:\n{}", report.render());
}

/// One module per experiment, one test per backend: `et_drain::epoll`, ...
macro_rules! experiments {
    ($($module:ident = $name:literal on $($backend:ident)+;)*) => {
        /// Every experiment named here, to check none is forgotten.
        const TESTED: &[&str] = &[$($name),*];
        $(
            mod $module {
                $(
                    #[test]
                    fn $backend() {
                        super::assert_pass($name, stringify!($backend));
                    }
                )+
            }
        )*
    };
}

experiments! {
    et_drain = "et-drain" on epoll poll select;
    et_partial = "et-partial" on epoll poll select;
    lt_partial = "lt-partial" on epoll poll select;
    oneshot = "oneshot" on epoll poll select;
    close_wait = "close-wait" on epoll poll select;
    rst_on_unread = "rst-on-unread" on epoll poll select;
    double_eof = "double-eof" on epoll poll select;
    delayed_requests = "delayed-requests" on epoll poll select;
    epollout_storm = "epollout-storm" on epoll poll select;
    listener_edge = "listener-edge" on epoll poll select;
    thundering_herd = "thundering-herd" on epoll;
    select_limit = "select-limit" on epoll;
    scaling = "scaling" on epoll;
    sigpipe = "sigpipe" on epoll;
    half_close = "half-close" on epoll poll select;
    user_readiness = "user-readiness" on epoll poll select;
    fairness = "fairness" on epoll;
}

#[test]
fn every_experiment_is_tested() {
    let listed: Vec<&str> = EXPERIMENTS.iter().map(|e| e.name).collect();
    assert_eq!(listed, TESTED, "tests/lab.rs must name every experiment, in order");
    assert_eq!(listed.len(), 17);
}

#[test]
fn an_experiment_refuses_a_backend_it_means_nothing_on() {
    let options = Options { backend: Some(Backend::Poll), ..Options::default() };
    let err = run_with("thundering-herd", &options).expect_err("thundering-herd is epoll only");
    assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
    assert_eq!(run_with("no-such-experiment", &Options::default()).unwrap_err().kind(), std::io::ErrorKind::NotFound);
}

fn eddy(args: &[&str]) -> Output {
    Command::new(EDDY).args(args).stdin(Stdio::null()).output().expect("the eddy binary runs")
}

#[test]
fn lab_without_arguments_lists_every_experiment() {
    let out = eddy(&["lab"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    for e in EXPERIMENTS {
        assert!(text.lines().any(|l| l.split_whitespace().next() == Some(e.name)), "{} not listed in:\n{text}", e.name);
    }
    assert_eq!(text.lines().filter(|l| l.starts_with("  ")).count(), 17, "{text}");
}

#[test]
fn unknown_experiment_exits_2() {
    let out = eddy(&["lab", "no-such-experiment"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = eddy(&["lab", "thundering-herd", "--backend", "select"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// Checks the shape of `--all --json` with Python's `json` module: an array
/// of 17 objects with the fields the issue names.
const CHECK_ALL: &str = r#"
import json, sys
data = json.load(sys.stdin)
assert isinstance(data, list) and len(data) == 17, len(data)
for r in data:
    for key, kind in [("name", str), ("backend", str), ("verdict", str), ("question", str),
                      ("expected", str), ("seen", str), ("setup", list), ("checks", list),
                      ("observations", list)]:
        assert isinstance(r.get(key), kind), (r.get("name"), key)
    assert r["verdict"] in ("PASS", "FAIL"), r["verdict"]
    assert r["observations"], r["name"]
    for o in r["observations"]:
        assert isinstance(o["t_ms"], (int, float)) and isinstance(o["kind"], str) and isinstance(o["text"], str)
        if o["kind"] == "event":
            assert isinstance(o["token"], int) and isinstance(o["raw"], int) and o["raw_hex"].startswith("0x")
    for c in r["checks"]:
        assert isinstance(c["ok"], bool) and isinstance(c["claim"], str)
print(" ".join(r["name"] + "=" + r["verdict"] for r in data))
"#;

fn python_check(script: &str, json: &[u8]) -> Option<String> {
    use std::io::Write;
    let mut child = match Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        // No Python here (test.sh installs it): the hand check below stays.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("python3: {e}"),
    };
    child.stdin.take().unwrap().write_all(json).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the JSON does not have the expected shape: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

#[test]
fn lab_all_json_passes_and_parses() {
    let out = eddy(&["lab", "--all", "--json"]);
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let text = text.trim();
    assert!(text.starts_with('[') && text.ends_with(']'), "not a JSON array:\n{text}");
    assert_eq!(text.matches("\"verdict\":").count(), 17, "{text}");
    if let Some(summary) = python_check(CHECK_ALL, text.as_bytes()) {
        assert_eq!(summary.split_whitespace().count(), 17, "{summary}");
    }
    assert!(out.status.success(), "a verdict failed ({:?}):\n{text}", out.status);
}

#[test]
fn lab_one_json_is_one_object() {
    let out = eddy(&["lab", "et-drain", "--json", "--backend", "poll"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let script = r#"
import json, sys
r = json.load(sys.stdin)
assert r["name"] == "et-drain" and r["backend"] == "poll" and r["verdict"] == "PASS", r
"#;
    assert!(text.trim().starts_with('{'), "{text}");
    python_check(script, text.as_bytes());
}
