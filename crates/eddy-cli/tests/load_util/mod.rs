//! What the load and bench tests share: test servers that count (a Python
//! `http.server` in several modes, a counting proxy in front of `eddy
//! serve`), and running `eddy load --json`.
#![allow(dead_code, unreachable_pub, clippy::print_stderr)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rustix::process::{Pid, Signal, kill_process};
use serde_json::Value;

/// The Python test server: `python3 -c SERVER MODE`; prints `ready PORT`
/// once listening. Every request is counted (in `/__count`, itself not
/// counted, which answers `answered resets`). Modes:
/// `plain` (200, Content-Length), `chunked` (200, chunked body), `close3`
/// (every 3rd response says `Connection: close`), `reset10` (every 10th
/// connection is reset after its first request is read), `status500`,
/// `stall` (every response waits while a 1 s stall, begun 2 s after the
/// first request, lasts).
pub const SERVER: &str = r#"
import http.server, socketserver, socket, struct, sys, threading, time
mode = sys.argv[1]
lock = threading.Lock()
state = {"answered": 0, "resets": 0, "conns": 0, "first": None}
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def log_message(self, *a): pass
    def setup(self):
        super().setup()
        with lock:
            state["conns"] += 1
            self.conn_no = state["conns"]
        self.served = 0
    def do_GET(self):
        if self.path == "/__count":
            with lock:
                body = ("%d %d" % (state["answered"], state["resets"])).encode()
            self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
            self.wfile.write(body); return
        self.served += 1
        if mode == "reset10" and self.conn_no % 10 == 0:
            with lock: state["resets"] += 1
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        if mode == "stall":
            with lock:
                now = time.monotonic()
                if state["first"] is None: state["first"] = now
                start = state["first"] + 2.0
            if start <= now < start + 1.0:
                time.sleep(start + 1.0 - now)
        with lock: state["answered"] += 1
        body = b"hello from python"
        code = 500 if mode == "status500" else 200
        self.send_response(code)
        if mode == "chunked":
            self.send_header("Transfer-Encoding", "chunked"); self.end_headers()
            self.wfile.write(b"5\r\nhello\r\nc\r\n from python\r\n0\r\n\r\n")
            return
        if mode == "close3" and state["answered"] % 3 == 0:
            self.send_header("Connection", "close"); self.close_connection = True
        self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 512
s = S(("127.0.0.1", 0), H)
print("ready", s.server_address[1], flush=True)
s.serve_forever()
"#;

/// A running test server (a child process), killed when dropped.
pub struct PyServer {
    child: Child,
    pub addr: SocketAddr,
}

impl PyServer {
    /// Starts the Python server in `mode` and waits (bounded) for its ready
    /// line.
    pub fn start(mode: &str) -> PyServer {
        let mut child = Command::new("python3")
            .args(["-c", SERVER, mode])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(20)).expect("the Python server's ready line");
        let port: u16 = line.trim().strip_prefix("ready ").and_then(|p| p.parse().ok()).expect("ready PORT");
        PyServer { child, addr: SocketAddr::from(([127, 0, 0, 1], port)) }
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// (requests answered, connections reset), as the server counted them.
    pub fn counts(&self) -> (u64, u64) {
        let mut s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"GET /__count HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").unwrap();
        let mut text = String::new();
        let _ = s.read_to_string(&mut text);
        let body = text.split("\r\n\r\n").nth(1).expect("a body");
        let mut it = body.split(' ').map(|n| n.trim().parse::<u64>().unwrap());
        (it.next().unwrap(), it.next().unwrap())
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = kill_process(Pid::from_child(&self.child), Signal::KILL);
        let _ = self.child.wait();
    }
}

/// A proxy in front of `upstream` that counts the requests going through
/// it (request heads: each `\r\n\r\n` from a client; the tests send GETs
/// without a body). A thread per direction per connection.
pub struct CountingProxy {
    pub addr: SocketAddr,
    count: Arc<AtomicU64>,
}

impl CountingProxy {
    pub fn start(upstream: SocketAddr) -> CountingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let count = Arc::new(AtomicU64::new(0));
        let c = Arc::clone(&count);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(upstream) else { continue };
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let counter = Arc::clone(&c);
                std::thread::spawn(move || pipe(client, server, Some(counter)));
                std::thread::spawn(move || pipe(s2, c2, None));
            }
        });
        CountingProxy { addr, count }
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream, count: Option<Arc<AtomicU64>>) {
    let mut buf = [0u8; 65536];
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(count) = &count {
            tail.extend_from_slice(&buf[..n]);
            let heads = tail.windows(4).filter(|w| w == b"\r\n\r\n").count() as u64;
            count.fetch_add(heads, Ordering::SeqCst);
            let keep = tail.len().min(3);
            tail.drain(..tail.len() - keep);
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Runs `eddy load URL args... --json`, bounded by `within`; returns the
/// process output and the parsed report (Null if stdout is not JSON).
pub fn load(url: &str, args: &[&str], within: Duration) -> (Output, Value) {
    let mut all = vec!["load", url, "--json"];
    all.extend_from_slice(args);
    let out = eddy_command(&all, within);
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, json)
}

/// Runs `eddy <args>` to its end; a process still running after `within`
/// is killed and the test fails.
pub fn eddy_command(args: &[&str], within: Duration) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_eddy"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the eddy binary runs");
    let pid = Pid::from_child(&child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(within) {
        Ok(out) => out.expect("eddy's output"),
        Err(_) => {
            let _ = kill_process(pid, Signal::KILL);
            panic!("eddy {args:?} still running after {within:?}");
        }
    }
}

/// A report's number at `path` (`"latency.p99"`).
pub fn num(v: &Value, path: &str) -> f64 {
    let mut at = v;
    for key in path.split('.') {
        at = &at[key];
    }
    at.as_f64().unwrap_or_else(|| panic!("{path} is not a number in {v:#}"))
}
