//! What every test of the `eddy` command shares: the `eddy serve` process
//! (started, awaited by its ready line, its log collected, stopped), the
//! check for the clients a test drives, raw HTTP requests and response
//! parsing.
#![allow(dead_code, unreachable_pub, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};

/// The `eddy` binary under test.
pub const EDDY: &str = env!("CARGO_BIN_EXE_eddy");

/// How long a server may take to print its ready line.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// The environment variable under which a missing client fails the test
/// instead of skipping it (`./test.sh` sets it: CI never skips).
pub const REQUIRE_CLIENTS: &str = "EDDY_REQUIRE_CLIENTS";

/// The Debian package that has `cmd`.
fn package_of(cmd: &str) -> &str {
    match cmd {
        "ab" => "apache2-utils",
        "h2load" => "nghttp2-client",
        "prlimit" => "util-linux",
        "timeout" => "coreutils",
        other => other,
    }
}

fn on_path(cmd: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .any(|dir| std::fs::metadata(dir.join(cmd)).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// Whether every client in `cmds` (curl, wrk, ab, h2load, python3, ...)
/// can be run. If one cannot: with `EDDY_REQUIRE_CLIENTS` set (to anything
/// but empty or `0`), the test fails; without it, this says on stderr what
/// to install and returns false, and the test returns at once (skipped).
pub fn clients(cmds: &[&str]) -> bool {
    let missing: Vec<&str> = cmds.iter().copied().filter(|c| !on_path(c)).collect();
    if missing.is_empty() {
        return true;
    }
    let packages: Vec<&str> = missing.iter().map(|c| package_of(c)).collect();
    skip_or_fail(&format!("needs {} (apt-get install {})", missing.join(", "), packages.join(" ")))
}

/// What a missing client means: with `EDDY_REQUIRE_CLIENTS`, a failure;
/// without, a note on stderr and `false` (the test returns: skipped).
fn skip_or_fail(what: &str) -> bool {
    let required = std::env::var(REQUIRE_CLIENTS).is_ok_and(|v| !v.is_empty() && v != "0");
    assert!(!required, "{what}, and {REQUIRE_CLIENTS} is set: a missing client is a failure");
    eprintln!("skipped: {what}");
    false
}

/// Whether the strict client ([`h11`]: python3 with the h11 module) can
/// run; as [`clients`] if not (`./test.sh` installs h11 with pip).
pub fn h11_client() -> bool {
    if !clients(&["python3"]) {
        return false;
    }
    let ok = Command::new("python3").args(["-c", "import h11"]).output().is_ok_and(|o| o.status.success());
    ok || skip_or_fail("needs the Python module h11 (pip install h11)")
}

/// The strict client's script (see its docstring for the steps).
const H11_CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/util/h11_client.py");

/// The steps of an [`h11`] run.
pub mod step {
    /// Write these bytes.
    pub fn send(bytes: &[u8]) -> String {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!("send:{hex}")
    }
    /// The next response answers a request with this method.
    pub fn req(method: &str) -> String {
        format!("req:{method}")
    }
    /// Write `bytes` and say which request they are.
    pub fn request(method: &str, bytes: &[u8]) -> [String; 2] {
        [send(bytes), req(method)]
    }
    pub fn sleep(secs: f64) -> String {
        format!("sleep:{secs}")
    }
    /// Wait until `n` responses are complete.
    pub fn wait_responses(n: usize) -> String {
        format!("await:{n}")
    }
    pub fn mark(text: &str) -> String {
        format!("mark:{text}")
    }
    pub fn shut_wr() -> String {
        "shut_wr".to_string()
    }
    pub fn reset() -> String {
        "reset".to_string()
    }
    /// After the steps, wait at most `secs` for the server to close.
    pub fn read_for(secs: f64) -> String {
        format!("read:{secs}")
    }
}

/// One response as h11 parsed it.
#[derive(Debug, Clone)]
pub struct H11Response {
    /// Seconds from the connect.
    pub at: f64,
    pub status: u16,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

impl H11Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    /// Whether it says `Connection: close`.
    pub fn closes(&self) -> bool {
        self.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// What the strict client saw.
#[derive(Debug, Clone)]
pub struct H11 {
    pub responses: Vec<H11Response>,
    /// How the connection ended (`eof`, `reset`, `open`: still open when
    /// the client stopped reading), and when.
    pub end: (String, f64),
    pub send_failed: Option<f64>,
    /// h11 refused what the server sent.
    pub error: Option<String>,
    /// The client's whole output.
    pub output: String,
}

impl H11 {
    fn parse(output: &str) -> H11 {
        let unhex = |h: &str| (0..h.len() / 2).map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap()).collect();
        let mut run = H11 {
            responses: Vec::new(),
            end: ("none".into(), 0.0),
            send_failed: None,
            error: None,
            output: output.into(),
        };
        for line in output.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            let at = || f[1].parse::<f64>().unwrap();
            match f[0] {
                "response" => run.responses.push(H11Response {
                    at: at(),
                    status: f[2].parse().unwrap(),
                    body: unhex(f[3]),
                    headers: f[4..]
                        .iter()
                        .map(|h| {
                            let (n, v) = h.split_once('=').unwrap();
                            (n.to_string(), String::from_utf8_lossy(&unhex(v)).into_owned())
                        })
                        .collect(),
                }),
                "end" => run.end = (f[2].to_string(), at()),
                "send-failed" => run.send_failed = Some(at()),
                "error" => run.error = Some(f[2..].join(" ")),
                _ => {}
            }
        }
        run
    }

    /// Every response parsed (h11 refused nothing), and there are `n`.
    pub fn assert_parsed(&self, n: usize) -> &H11 {
        assert!(self.error.is_none(), "h11 refused the server's bytes: {}", self.output);
        assert_eq!(self.responses.len(), n, "responses: {}", self.output);
        self
    }

    /// The server closed the connection cleanly (FIN, not RST), within
    /// `secs` of the connect.
    pub fn assert_closed_within(&self, secs: f64) -> &H11 {
        assert_eq!(self.end.0, "eof", "the end of the connection: {}", self.output);
        assert!(self.end.1 <= secs, "closed after {} s, not within {secs} s: {}", self.end.1, self.output);
        self
    }
}

/// Runs the strict client against `addr` (see `step`), bounded.
pub fn h11(addr: SocketAddr, steps: &[String]) -> H11 {
    let child = h11_spawn(addr, steps);
    let pid = Pid::from_child(&child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    let out = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(out) => out.expect("the h11 client's output"),
        Err(_) => {
            let _ = kill_process(pid, Signal::KILL);
            panic!("the h11 client {steps:?} still running after 60 s");
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("Traceback") || stderr.contains("ProtocolError"), "the h11 client failed: {stderr}");
    H11::parse(&String::from_utf8_lossy(&out.stdout))
}

/// Starts the strict client; its stdout is piped (events, one a line).
pub fn h11_spawn(addr: SocketAddr, steps: &[String]) -> Child {
    Command::new("python3")
        .arg(H11_CLIENT)
        .arg(addr.to_string())
        .args(steps)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs")
}

/// Collects a spawned client's output: the events until `mark text` now
/// (returned at once), the rest when it ends.
pub struct H11Child {
    lines: mpsc::Receiver<String>,
    child: Child,
    seen: Vec<String>,
}

impl H11Child {
    pub fn start(addr: SocketAddr, steps: &[String]) -> H11Child {
        let mut child = h11_spawn(addr, steps);
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        H11Child { lines, child, seen: Vec::new() }
    }

    /// Waits (bounded) for the client's `mark text` line.
    pub fn wait_mark(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| panic!("no mark {text:?}: {:?}", self.seen));
            let hit = line.starts_with("mark\t") && line.ends_with(&format!("\t{text}"));
            self.seen.push(line);
            if hit {
                return;
            }
        }
    }

    /// Waits (bounded) for the client to end; what it saw.
    pub fn finish(mut self) -> H11 {
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Ok(line) = self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            self.seen.push(line);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        H11::parse(&self.seen.join("\n"))
    }
}

/// An `eddy serve` child process on a free loopback port, its stderr (the
/// log) collected line by line. Stopped with SIGTERM (then SIGKILL, if it
/// does not exit in time) when dropped.
pub struct Eddy {
    child: Option<Child>,
    pid: Pid,
    /// The address it serves on, from its ready line.
    pub addr: SocketAddr,
    /// The ready line's fields (`addr`, `loops`, `backend`, `listener`,
    /// `protocol`).
    pub ready: BTreeMap<String, String>,
    log: Arc<(Mutex<Vec<String>>, Condvar)>,
    log_reader: Option<JoinHandle<()>>,
}

impl Eddy {
    /// Starts `eddy serve <args> --addr 127.0.0.1:0` (`args` may begin with
    /// the protocol: `["echo", "--threads", "2"]`) and waits (bounded) for
    /// its ready line.
    pub fn serve(args: &[&str]) -> Eddy {
        Eddy::start(None, args, &[])
    }

    /// As [`Eddy::serve`], under `prlimit --nofile=N:N`.
    pub fn serve_with_nofile(nofile: u32, args: &[&str]) -> Eddy {
        Eddy::start(Some(nofile), args, &[])
    }

    /// As [`Eddy::serve`], with `env` removed from the environment (the
    /// tests set `RUST_LOG=info` and nothing else).
    pub fn serve_without_env(args: &[&str], env: &[&str]) -> Eddy {
        Eddy::start(None, args, env)
    }

    fn start(nofile: Option<u32>, args: &[&str], remove_env: &[&str]) -> Eddy {
        let mut cmd = match nofile {
            Some(n) => {
                let mut c = Command::new("prlimit");
                // prlimit sets the limit on itself, then execs eddy: same pid.
                c.arg(format!("--nofile={n}:{n}")).arg("--").arg(EDDY);
                c
            }
            None => Command::new(EDDY),
        };
        cmd.arg("serve").args(args).args(["--addr", "127.0.0.1:0"]).env("RUST_LOG", "info");
        for var in remove_env {
            cmd.env_remove(var);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("eddy (and prlimit) can be run");
        let pid = Pid::from_child(&child);
        let (stdout, stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let log = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let log_w = Arc::clone(&log);
        let log_reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                log_w.0.lock().unwrap_or_else(PoisonError::into_inner).push(line);
                log_w.1.notify_all();
            }
        });
        // The ready line is the first line on stdout; the rest (none is
        // expected) is read and dropped so that the server never blocks.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
            if let Some(first) = lines.next() {
                let _ = tx.send(first);
            }
            lines.for_each(drop);
        });
        let mut eddy = Eddy {
            child: Some(child),
            pid,
            addr: "0.0.0.0:0".parse().unwrap(),
            ready: BTreeMap::new(),
            log,
            log_reader: Some(log_reader),
        };
        let line = match rx.recv_timeout(READY_WITHIN) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("no ready line within {READY_WITHIN:?}; log: {:#?}", eddy.log())
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = eddy.wait_exit(Duration::from_secs(10));
                panic!("eddy serve exited ({status}) without a ready line; log: {:#?}", eddy.log())
            }
        };
        eddy.ready = parse_ready(&line).unwrap_or_else(|| panic!("not a ready line: {line:?}"));
        eddy.addr = eddy.ready["addr"].parse().expect("the ready line's addr is a socket address");
        eddy
    }

    /// `http://{addr}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The log so far (stderr, one entry per line).
    pub fn log(&self) -> Vec<String> {
        self.log.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Waits (at most `within`) for a log line that contains `needle`
    /// (the ready line on stdout may overtake the log on stderr); returns
    /// the log.
    pub fn wait_for_log(&self, needle: &str, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        let mut log = self.log.0.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || log.iter().any(|l| l.contains(needle)) {
                return log.clone();
            }
            log = self.log.1.wait_timeout(log, left).unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    /// `/proc/{pid}/{rest}`.
    pub fn proc_path(&self, rest: &str) -> String {
        format!("/proc/{}/{rest}", self.pid.as_raw_nonzero())
    }

    /// CPU time used so far, all threads (utime + stime of /proc/PID/stat).
    pub fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(self.proc_path("stat")).unwrap();
        // Fields after the command name (which is in parentheses).
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second())
    }

    /// Open fds numbered below `limit` (an fd inherited from the test
    /// runner may sit above the server's limit).
    pub fn open_fds_below(&self, limit: u32) -> usize {
        let fds = std::fs::read_dir(self.proc_path("fd")).unwrap();
        let numbers = fds.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok());
        numbers.filter(|&fd| fd < limit).count()
    }

    /// The loop threads: (name, voluntary context switches so far), by
    /// name.
    pub fn loop_threads(&self) -> Vec<(String, u64)> {
        let mut loops = Vec::new();
        for task in std::fs::read_dir(self.proc_path("task")).unwrap().flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            let name = comm.trim().to_string();
            if !name.starts_with("eddy-loop-") {
                continue;
            }
            let status = std::fs::read_to_string(task.path().join("status")).unwrap();
            let line = status.lines().find(|l| l.starts_with("voluntary_ctxt_switches:")).unwrap();
            loops.push((name, line.split_whitespace().nth(1).unwrap().parse().unwrap()));
        }
        loops.sort();
        loops
    }

    /// Every epoll instance of the process: what it watches, as (inode of
    /// the watched file, event mask), from /proc/PID/fdinfo.
    pub fn epoll_instances(&self) -> Vec<Vec<(u64, u32)>> {
        let mut all = Vec::new();
        for fd in std::fs::read_dir(self.proc_path("fd")).unwrap().flatten() {
            let is_epoll = std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy() == "anon_inode:[eventpoll]");
            if !is_epoll {
                continue;
            }
            let info = std::fs::read_to_string(self.proc_path(&format!("fdinfo/{}", fd.file_name().to_string_lossy())));
            let watched = info
                .unwrap_or_default()
                .lines()
                .filter(|l| l.starts_with("tfd:"))
                .map(|l| {
                    let field = |key: &str| {
                        let at = l.find(key).unwrap() + key.len();
                        l[at..].split_whitespace().next().unwrap().to_string()
                    };
                    let ino = u64::from_str_radix(&field("ino:"), 16).unwrap();
                    (ino, u32::from_str_radix(&field("events:"), 16).unwrap())
                })
                .collect();
            all.push(watched);
        }
        all
    }

    /// Sends SIGTERM; returns when.
    pub fn terminate(&self) -> Instant {
        kill_process(self.pid, Signal::TERM).expect("SIGTERM sent");
        Instant::now()
    }

    /// Waits (bounded) for the process to exit; then for its last log line.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("not waited for yet");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || tx.send(child.wait()));
        match rx.recv_timeout(within) {
            Ok(status) => {
                if let Some(r) = self.log_reader.take() {
                    r.join().unwrap();
                }
                status.unwrap()
            }
            Err(_) => {
                let _ = kill_process(self.pid, Signal::KILL);
                panic!("eddy did not exit within {within:?}; log: {:#?}", self.log());
            }
        }
    }
}

impl Drop for Eddy {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        // A graceful stop, bounded; then a kill.
        let _ = kill_process(self.pid, Signal::TERM);
        let (tx, rx) = mpsc::channel();
        let pid = self.pid;
        std::thread::spawn(move || tx.send(child.wait()));
        if rx.recv_timeout(Duration::from_secs(15)).is_err() {
            let _ = kill_process(pid, Signal::KILL);
            let _ = rx.recv_timeout(Duration::from_secs(5));
        }
    }
}

/// The fields of a ready line (`ready key=value ...`), or `None` if it is
/// not one.
pub fn parse_ready(line: &str) -> Option<BTreeMap<String, String>> {
    let mut words = line.split(' ');
    if words.next()? != "ready" {
        return None;
    }
    words.map(|w| w.split_once('=').map(|(k, v)| (k.to_string(), v.to_string()))).collect()
}

/// USER_HZ, the unit of /proc's CPU times (100 on every Linux port but a
/// few; asked of `getconf` to be sure).
fn clock_ticks_per_second() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output();
    out.ok().and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok()).unwrap_or(100.0)
}

/// Runs `eddy <args>` to its end, bounded (a process still running after
/// `within` is killed and the test fails).
pub fn eddy_command(args: &[&str], within: Duration) -> Output {
    let child = Command::new(EDDY)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the eddy binary runs");
    let pid = Pid::from_child(&child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(within) {
        Ok(out) => out.expect("eddy's output"),
        Err(_) => {
            let _ = kill_process(pid, Signal::KILL);
            panic!("eddy {args:?} still running after {within:?}");
        }
    }
}

/// A blocking connection with bounded reads and writes, no Nagle delay.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect to eddy");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// One echo round trip of `msg`; `Err` if the server closed the connection.
pub fn echo(s: &mut TcpStream, msg: &[u8]) -> std::io::Result<()> {
    s.write_all(msg)?;
    let mut back = vec![0u8; msg.len()];
    s.read_exact(&mut back)?;
    assert_eq!(back, msg, "the echo differs");
    Ok(())
}

/// Lines of `log` that contain `needle`.
pub fn count(log: &[String], needle: &str) -> usize {
    log.iter().filter(|l| l.contains(needle)).count()
}

/// One parsed response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Parses one complete response at the start of `buf` (HEAD: no body);
/// `None` if more bytes are needed.
pub fn parse_one(buf: &[u8], head_request: bool) -> Option<(Response, usize)> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut r = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(n) = r.parse(buf).expect("a well-formed response") else { return None };
    let headers: Vec<(String, String)> =
        r.headers.iter().map(|h| (h.name.to_string(), String::from_utf8_lossy(h.value).into_owned())).collect();
    let status = r.code.unwrap();
    let len = if head_request || status == 100 {
        0
    } else {
        let cl = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-length"));
        cl.map(|(_, v)| v.parse::<usize>().unwrap()).expect("eddy always sends Content-Length")
    };
    if buf.len() < n + len {
        return None;
    }
    Some((Response { status, headers, body: buf[n..n + len].to_vec() }, n + len))
}

/// Reads `count` responses from `s`.
pub fn read_responses(s: &mut TcpStream, count: usize) -> Vec<Response> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut chunk = [0u8; 16384];
    while out.len() < count {
        while let Some((r, used)) = parse_one(&buf, false) {
            buf.drain(..used);
            out.push(r);
            if out.len() == count {
                return out;
            }
        }
        let n = s.read(&mut chunk).expect("a response (read timed out?)");
        assert!(n > 0, "EOF after {} of {count} responses", out.len());
        buf.extend_from_slice(&chunk[..n]);
    }
    out
}

/// Sends `req` and reads one response.
pub fn roundtrip(addr: SocketAddr, req: &[u8]) -> (Response, TcpStream) {
    let mut s = connect(addr);
    s.write_all(req).unwrap();
    let r = read_responses(&mut s, 1).pop().unwrap();
    (r, s)
}

/// Reads until EOF: true if the peer closed cleanly (FIN), false on reset.
pub fn closes_cleanly(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return false,
            Err(e) => panic!("waiting for the close: {e}"),
        }
    }
}

/// Runs a command, returns (success, stdout + stderr).
pub fn run(cmd: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd} must be installed: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}
