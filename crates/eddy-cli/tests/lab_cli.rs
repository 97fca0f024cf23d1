//! The `eddy lab` command: the listing, `--all --json`, and the exit
//! codes. (Each experiment on each backend is tested in eddy-lab.)

mod util;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use eddy::lab::EXPERIMENTS;
use util::clients;

/// `eddy <args>`, bounded (every experiment's waits are).
fn eddy(args: &[&str]) -> Output {
    util::eddy_command(args, Duration::from_secs(300))
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
    // No Python here (test.sh installs it): the checks by hand stay.
    if !clients(&["python3"]) {
        return None;
    }
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
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
