//! `eddy serve` against the clients a user would use: curl, Python's
//! http.client, ab, h2load, wrk, and `eddy get`. Each run is short and
//! bounded. A test whose client is not installed is skipped with a note,
//! or fails under `EDDY_REQUIRE_CLIENTS` (as `./test.sh` runs them).

mod util;

use util::{EDDY, Eddy, clients, run};

#[test]
fn curl_reuses_one_keep_alive_connection() {
    if !clients(&["curl"]) {
        return;
    }
    let srv = Eddy::serve(&[]);
    let (ok, out) = run("curl", &["-sv", "--max-time", "10", &srv.url("/"), &srv.url("/")]);
    assert!(ok, "{out}");
    assert_eq!(out.matches("Hello, World!").count(), 2, "{out}");
    assert!(out.contains("Re-using existing connection") || out.contains("Reusing existing connection"), "{out}");
    assert!(out.contains("< Date: ") && out.contains("< Server: eddy"), "{out}");
}

#[test]
fn curl_connection_close_is_honoured() {
    if !clients(&["curl"]) {
        return;
    }
    let srv = Eddy::serve(&[]);
    let (ok, out) = run("curl", &["-sv", "--max-time", "10", "-H", "Connection: close", &srv.url("/")]);
    assert!(ok, "{out}");
    assert!(out.contains("Hello, World!"), "{out}");
    assert!(out.to_ascii_lowercase().contains("< connection: close"), "the response says close: {out}");
    assert!(out.contains("Closing connection"), "curl saw the server close: {out}");
}

#[test]
fn curl_post_echo_head_and_404() {
    if !clients(&["curl"]) {
        return;
    }
    let srv = Eddy::serve(&[]);
    let (ok, out) = run("curl", &["-s", "--max-time", "10", "--data-binary", "some body", &srv.url("/echo")]);
    assert!(ok && out == "some body", "{out}");
    let (ok, out) =
        run("curl", &["-s", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}", &srv.url("/nope")]);
    assert!(ok && out == "404", "{out}");
    let (ok, out) = run("curl", &["-sI", "--max-time", "10", &srv.url("/")]);
    assert!(ok && out.contains("Content-Length: 13") && !out.contains("Hello"), "{out}");
}

#[test]
fn python_http_client() {
    if !clients(&["python3"]) {
        return;
    }
    let srv = Eddy::serve(&[]);
    let script = r#"
import http.client, sys
host, port = sys.argv[1], int(sys.argv[2])
c = http.client.HTTPConnection(host, port, timeout=10)
c.request("GET", "/"); r = c.getresponse(); body = r.read()
assert (r.status, body) == (200, b"Hello, World!"), (r.status, body)
assert r.getheader("Content-Type") == "text/plain"
c.request("GET", "/50/later"); r = c.getresponse()
assert (r.status, r.read()) == (200, b"later")
c.request("POST", "/echo", body=b"x" * 100000); r = c.getresponse()
assert (r.status, r.read()) == (200, b"x" * 100000)
c.request("HEAD", "/"); r = c.getresponse()
assert (r.status, r.read(), r.getheader("Content-Length")) == (200, b"", "13")
c.request("GET", "/missing"); r = c.getresponse(); r.read()
assert r.status == 404
c.request("POST", "/echo", body=iter([b"chunk1-", b"chunk2"]), encode_chunked=True); r = c.getresponse()
assert (r.status, r.read()) == (200, b"chunk1-chunk2")
print("ok")
"#;
    let port = srv.addr.port().to_string();
    let (ok, out) = run("python3", &["-c", script, "127.0.0.1", &port]);
    assert!(ok && out.trim() == "ok", "{out}");
}

#[test]
fn ab_keep_alive_short_run_has_no_failures() {
    if !clients(&["timeout", "ab"]) {
        return;
    }
    let srv = Eddy::serve(&[]);
    let (ok, out) = run("timeout", &["60", "ab", "-k", "-q", "-n", "5000", "-c", "16", &srv.url("/")]);
    assert!(ok, "{out}");
    assert!(out.contains("Complete requests:      5000"), "{out}");
    assert!(out.contains("Failed requests:        0"), "{out}");
    assert!(out.contains("Keep-Alive requests:    5000"), "{out}");
    assert!(!out.contains("Non-2xx"), "{out}");
}

#[test]
fn h2load_pipelined_short_run_has_no_failures() {
    if !clients(&["timeout", "h2load"]) {
        return;
    }
    let srv = Eddy::serve(&[]);
    let (ok, out) = run("timeout", &["60", "h2load", "--h1", "-n", "10000", "-c", "16", "-m", "16", &srv.url("/")]);
    assert!(ok, "{out}");
    assert!(out.contains("10000 total, 10000 started, 10000 done, 10000 succeeded, 0 failed, 0 errored"), "{out}");
}

#[test]
fn wrk_for_two_seconds_has_no_socket_errors() {
    if !clients(&["timeout", "wrk"]) {
        return;
    }
    let srv = Eddy::serve(&["--threads", "2"]);
    let (ok, out) = run("timeout", &["60", "wrk", "-t1", "-c64", "-d2s", &srv.url("/")]);
    assert!(ok, "{out}");
    assert!(!out.contains("Socket errors"), "{out}");
    assert!(!out.contains("Non-2xx"), "{out}");
    let requests: u64 = out.lines().find_map(|l| l.split(" requests in").next()?.trim().parse().ok()).unwrap_or(0);
    assert!(requests > 1000, "{out}");
}

#[test]
fn eddy_get_sees_the_shortest_delay_first() {
    let srv = Eddy::serve(&[]);
    let (ok, out) = run(EDDY, &["get", "--delays", "250,200,150,100,50", &srv.url("")]);
    assert!(ok, "{out}");
    let order: Vec<&str> = out.lines().filter_map(|l| l.split("request #").nth(1)?.split(' ').next()).collect();
    assert_eq!(order, ["5", "4", "3", "2", "1"], "{out}");
    assert_eq!(out.matches(" 200 \"reply-").count(), 5, "{out}");
}
