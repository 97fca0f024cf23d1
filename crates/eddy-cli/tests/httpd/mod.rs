//! Helpers for the HTTP tests: the `eddy serve` process, raw requests,
//! response parsing.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// An `eddy serve` child process on a free loopback port.
pub struct Serve {
    pub addr: SocketAddr,
    child: Child,
}

impl Serve {
    /// Starts `eddy serve <args> --addr 127.0.0.1:0` and waits (bounded)
    /// for the log line that names its address.
    pub fn start(args: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_eddy"))
            .arg("serve")
            .args(args)
            .args(["--addr", "127.0.0.1:0"])
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stderr(Stdio::piped())
            .spawn()
            .expect("eddy serve starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("http://") {
                    let addr = line[at + 7..].split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = rx.recv_timeout(Duration::from_secs(20)).expect("eddy serve logs its address");
        Serve { addr: addr.parse().expect("a socket address"), child }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking connection with a bounded read timeout.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_nodelay(true).unwrap();
    s
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
