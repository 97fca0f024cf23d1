//! Memory per idle connection: `eddy serve echo` against a tokio echo
//! server, in the same run.
//!
//! For each server (a child process): start it, make and close one
//! warm-up connection (so buffers every server touches once are counted
//! before), read its resident set (`VmRSS`), open N idle connections
//! (connected, nothing sent; N = 10,000, or `IDLE_CONNS`), make sure the
//! server accepted them all, read `VmRSS` again: (after − before) / N.
//!
//! "Accepted them all": every server here accepts from one listener in one
//! thread, in the kernel's queue order, so a marker connection that gets
//! its byte echoed proves every connection before it was accepted (and, on
//! tokio's current-thread runtime, its task spawned and polled once: tasks
//! run in spawn order). A marker follows every 1,000 connections (pacing
//! the client, so the accept backlog never overflows) and the last one;
//! markers are closed at once. The server's open fds are checked too.
//!
//! The tokio servers are `examples/tokio_echo.rs`, run as this same binary
//! with `--as-tokio-echo` (the file is included below as a module, so the
//! benchmark does not depend on where cargo puts examples).
//!
//! File descriptors: the benchmark raises its soft `RLIMIT_NOFILE` to the
//! hard limit (N client sockets here) and the servers inherit it (N server
//! sockets there): each process needs N plus a few.
//!
//! `cargo bench -p eddy-cli --bench idle_memory`

#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../examples/tokio_echo.rs"]
#[allow(dead_code)]
mod tokio_echo;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const EDDY: &str = env!("CARGO_BIN_EXE_eddy");
const AS_TOKIO: &str = "--as-tokio-echo";
const BATCH: usize = 1000;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(AS_TOKIO) {
        let (addr, mode) = tokio_echo::parse(&args[1..]).expect("tokio_echo arguments");
        tokio_echo::serve(addr, mode).expect("tokio_echo serves");
        return;
    }
    let n: usize = std::env::var("IDLE_CONNS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let limit = raise_nofile();
    assert!(limit as usize > n + 100, "RLIMIT_NOFILE {limit} is too low for {n} connections");
    let me = std::env::current_exe().expect("the benchmark's own path");

    let eddy = || {
        let mut c = Command::new(EDDY);
        c.args(["serve", "echo", "--addr", "127.0.0.1:0"]).env("NO_COLOR", "1");
        c
    };
    let tokio = |mode: &str, buf: &str| {
        let mut c = Command::new(&me);
        c.args([AS_TOKIO, "--addr", "127.0.0.1:0", "--mode", mode, "--buf", buf]);
        c
    };
    let servers: Vec<(&str, Command)> = vec![
        ("eddy serve echo (reactor, 1 loop)", eddy()),
        ("tokio, read/write loop, 4 KiB array buffer", tokio("array", "4096")),
        ("tokio, read/write loop, 8 KiB array buffer", tokio("array", "8192")),
        ("tokio, tokio::io::copy (8 KiB heap buffer)", tokio("copy", "0")),
    ];

    println!("idle connections: {n} per server (RLIMIT_NOFILE {limit})");
    println!("{:<46} {:>12} {:>12} {:>12} {:>10}", "server", "RSS before", "RSS after", "RssAnon +", "B / conn");
    let mut results = Vec::new();
    for (name, cmd) in servers {
        let m = measure(cmd, n);
        let per = (m.after.rss as f64 - m.before.rss as f64) / n as f64;
        println!(
            "{name:<46} {:>9} kB {:>9} kB {:>9} kB {per:>10.0}",
            m.before.rss / 1024,
            m.after.rss / 1024,
            (m.after.anon as i64 - m.before.anon as i64) / 1024
        );
        results.push((name, per));
    }
    let eddy_per = results[0].1;
    for (name, per) in &results[1..] {
        println!("{name}: {:.1} x eddy's", per / eddy_per);
    }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard one; returns it.
fn raise_nofile() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut lim = getrlimit(Resource::Nofile);
    lim.current = lim.maximum;
    setrlimit(Resource::Nofile, lim).expect("raise RLIMIT_NOFILE");
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

#[derive(Clone, Copy)]
struct Memory {
    /// VmRSS, bytes.
    rss: u64,
    /// RssAnon (heap and stacks, no file pages), bytes.
    anon: u64,
}

struct Measurement {
    before: Memory,
    after: Memory,
}

fn memory(pid: u32) -> Memory {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the server's /proc status");
    let kb = |key: &str| -> u64 {
        let line = status.lines().find(|l| l.starts_with(key)).expect("a VmRSS / RssAnon line");
        line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
    };
    Memory { rss: kb("VmRSS:"), anon: kb("RssAnon:") }
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(Iterator::count).unwrap_or(0)
}

/// One byte echoed on a fresh connection, which is then closed.
fn marker(addr: SocketAddr) {
    let mut s = TcpStream::connect(addr).expect("marker connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(b"m").unwrap();
    let mut b = [0u8; 1];
    s.read_exact(&mut b).expect("the marker's echo");
}

struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(mut cmd: Command) -> (Server, SocketAddr) {
    let mut child =
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("the server starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(at) = line.find("listening on ") {
                let addr = line[at + 13..].split_whitespace().next().unwrap_or("").to_string();
                let _ = tx.send(addr);
            }
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(20)).expect("the server logs its address");
    (Server { child }, addr.parse().expect("a socket address"))
}

fn measure(cmd: Command, n: usize) -> Measurement {
    let (server, addr) = start(cmd);
    let pid = server.child.id();
    marker(addr); // warm-up
    marker(addr);
    let before = memory(pid);

    let t = Instant::now();
    let (mut connecting, mut worst) = (Duration::ZERO, Duration::ZERO);
    let mut idle = Vec::with_capacity(n);
    while idle.len() < n {
        for _ in 0..BATCH.min(n - idle.len()) {
            let c = Instant::now();
            idle.push(TcpStream::connect(addr).expect("idle connect"));
            connecting += c.elapsed();
            worst = worst.max(c.elapsed());
        }
        marker(addr);
    }
    let fds = open_fds(pid);
    assert!(fds >= n, "the server holds {fds} fds for {n} connections");
    // Let anything the server does after an accept settle, then read.
    std::thread::sleep(Duration::from_millis(300));
    marker(addr);
    let after = memory(pid);
    eprintln!(
        "  {n} connections accepted in {:?} ({connecting:?} in connect, the slowest {worst:?}); server fds {fds}",
        t.elapsed()
    );
    // The server first: its sockets close (FIN), then the clients' do, so
    // no client port is left in TIME_WAIT for the next server's run.
    drop(server);
    drop(idle);
    Measurement { before, after }
}
