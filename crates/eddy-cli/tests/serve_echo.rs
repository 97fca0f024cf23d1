//! `eddy serve echo` as a process, from the outside: out of file
//! descriptors (under `prlimit --nofile=64:64`) it neither spins nor dies
//! and serves again once fds are free; on SIGTERM it refuses new
//! connections at once, finishes the echoes in flight and exits 0 well
//! before its shutdown timeout; with `--threads 2` both loops are set up
//! and serve, in each `--listener` mode.

// The figures each test measured go to stderr (seen with --no-capture).
#![allow(clippy::print_stderr)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use eddy::poll::{Events, Interest, Poll, Token, Trigger};
use rustix::process::{Pid, Signal, kill_process};

const EDDY: &str = env!("CARGO_BIN_EXE_eddy");

/// An `eddy serve echo` child on a free loopback port, its stderr
/// collected line by line. Killed if a test ends without waiting for it.
struct Eddy {
    child: Option<Child>,
    pid: Pid,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    log_reader: Option<std::thread::JoinHandle<()>>,
}

impl Eddy {
    /// Starts `eddy serve echo --addr 127.0.0.1:0 <args>`, under
    /// `prlimit --nofile=N:N` if `nofile` is given; waits (bounded) for the
    /// line that names the address.
    fn start(nofile: Option<u32>, args: &[&str]) -> Eddy {
        let mut cmd = match nofile {
            Some(n) => {
                let mut c = Command::new("prlimit");
                // prlimit sets the limit on itself, then execs eddy: same pid.
                c.arg(format!("--nofile={n}:{n}")).arg("--").arg(EDDY);
                c
            }
            None => Command::new(EDDY),
        };
        let mut child = cmd
            .args(["serve", "echo", "--addr", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("eddy (and prlimit) can be run");
        let pid = Pid::from_child(&child);
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let log_w = Arc::clone(&log);
        let log_reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let line = strip_ansi(&line);
                let addr = line.find("echo: listening on ").map(|at| line[at + 19..].split_whitespace().next());
                let addr = addr.flatten().map(String::from);
                log_w.lock().unwrap_or_else(PoisonError::into_inner).push(line);
                if let Some(addr) = addr {
                    let _ = tx.send(addr);
                }
            }
        });
        let mut eddy =
            Eddy { child: Some(child), pid, addr: "0.0.0.0:0".parse().unwrap(), log, log_reader: Some(log_reader) };
        let addr =
            rx.recv_timeout(Duration::from_secs(20)).unwrap_or_else(|_| panic!("no address logged: {:?}", eddy.log()));
        eddy.addr = addr.parse().expect("a socket address");
        eddy
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn proc_path(&self, rest: &str) -> String {
        format!("/proc/{}/{rest}", self.pid.as_raw_nonzero())
    }

    /// CPU time used so far, all threads (utime + stime of /proc/PID/stat).
    fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(self.proc_path("stat")).unwrap();
        // Fields after the command name (which is in parentheses).
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second())
    }

    /// Open fds numbered below `limit` (an fd inherited from the test
    /// runner may sit above the server's limit).
    fn open_fds_below(&self, limit: u32) -> usize {
        let fds = std::fs::read_dir(self.proc_path("fd")).unwrap();
        let numbers = fds.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok());
        numbers.filter(|&fd| fd < limit).count()
    }

    /// The loop threads: (name, voluntary context switches so far), by
    /// name.
    fn loop_threads(&self) -> Vec<(String, u64)> {
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
    fn epoll_instances(&self) -> Vec<Vec<(u64, u32)>> {
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

    fn terminate(&self) -> Instant {
        kill_process(self.pid, Signal::TERM).expect("SIGTERM sent");
        Instant::now()
    }

    /// Waits (bounded) for the process to exit; then for its last log line.
    fn wait_exit(&mut self, within: Duration) -> ExitStatus {
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
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// USER_HZ, the unit of /proc's CPU times (100 on every Linux port but a
/// few; asked of `getconf` to be sure).
fn clock_ticks_per_second() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output();
    out.ok().and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok()).unwrap_or(100.0)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect to eddy");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// One round trip of `msg`; `Err` if the server closed the connection.
fn echo(s: &mut TcpStream, msg: &[u8]) -> std::io::Result<()> {
    s.write_all(msg)?;
    let mut back = vec![0u8; msg.len()];
    s.read_exact(&mut back)?;
    assert_eq!(back, msg, "the echo differs");
    Ok(())
}

fn count(log: &[String], needle: &str) -> usize {
    log.iter().filter(|l| l.contains(needle)).count()
}

const PEERS: usize = 200;
const NOFILE: u32 = 64;

/// The bound on the server's CPU time while it is out of fds and 200
/// peers hold or wait for connections: nothing happens on the wire then, so
/// a correct server sleeps in `epoll_wait` (a few ms at most, mostly the
/// window's first moments); a server that retries accept in a loop burns a
/// whole core (100 %). 20 % leaves room for /proc's 10 ms granularity and
/// a loaded machine, and stays far below a spin.
const MAX_CPU_SHARE: f64 = 0.20;

#[test]
fn out_of_fds_it_neither_spins_nor_dies_and_recovers() {
    let mut eddy = Eddy::start(Some(NOFILE), &[]);
    let addr = eddy.addr;

    // 200 peers at once: the backlog (1024) holds them, so every connect
    // completes in the kernel whether the server accepts or not.
    let mut poll = Poll::new().unwrap();
    let mut peers: Vec<Option<eddy::poll::net::TcpStream>> = (0..PEERS)
        .map(|i| {
            let mut s = eddy::poll::net::TcpStream::from_std(connect(addr)).unwrap();
            poll.registry().register(&mut s, Token(i), Interest::READABLE, Trigger::Level).unwrap();
            Some(s)
        })
        .collect();

    // The server has at most NOFILE fds, some of them its own (stdio,
    // epoll, eventfd, signalfd, listener, the spare): at most NOFILE - 5
    // peers can be accepted and kept; every other one is accepted with the
    // spare fd and closed at once, so it reads EOF. Wait for that.
    let mut closed = [false; PEERS];
    let mut events = Events::with_capacity(PEERS);
    let deadline = Instant::now() + Duration::from_secs(20);
    while closed.iter().filter(|&&c| c).count() < PEERS - (NOFILE as usize - 5) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "only {} peers were closed by the server", closed.iter().filter(|&&c| c).count());
        poll.poll(&mut events, Some(left)).unwrap();
        for e in &events {
            closed[e.token().0] = true;
        }
    }

    // No spin: measure the server's CPU over a quiet window (the sleep is
    // the measurement, not a synchronization).
    let (cpu0, t0) = (eddy.cpu(), Instant::now());
    std::thread::sleep(Duration::from_secs(2));
    let (cpu, wall) = (eddy.cpu() - cpu0, t0.elapsed());
    eprintln!("out of fds: server CPU {cpu:?} over {wall:?}");
    assert!(cpu.as_secs_f64() < MAX_CPU_SHARE * wall.as_secs_f64(), "the server burned {cpu:?} of CPU in {wall:?}");
    // Read after the window, when no shed (which frees the spare for an
    // instant) can be under way.
    let state = std::fs::read_to_string(eddy.proc_path("status")).unwrap_or_default();
    let state = state.lines().find(|l| l.starts_with("State:")).unwrap_or("State: gone").to_string();
    assert_eq!(
        eddy.open_fds_below(NOFILE),
        NOFILE as usize,
        "the server is out of fds (all {NOFILE} taken); {state}; log: {:#?}",
        eddy.log()
    );

    // Every peer either was closed (EOF or reset) or is served.
    let (mut shed, mut served) = (0, 0);
    for (i, slot) in peers.iter_mut().enumerate() {
        let s = slot.as_mut().unwrap();
        if closed[i] {
            let mut b = [0u8; 1];
            match s.read(&mut b) {
                Ok(0) => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
                other => panic!("peer {i}: readable but neither EOF nor reset: {other:?}"),
            }
            shed += 1;
            *slot = None;
            continue;
        }
        // Not seen closed: an accepted connection, which must be served, or
        // an excess one shed after the wait above ended. (None may wait in
        // the backlog: with its spare fd the server sheds every excess
        // connection at once.)
        let mut std = TcpStream::from(std::os::fd::OwnedFd::from(slot.take().unwrap()));
        std.set_nonblocking(false).unwrap();
        std.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        match echo(&mut std, b"ping") {
            Ok(()) => {
                served += 1;
                *slot = Some(eddy::poll::net::TcpStream::from_std(std).unwrap());
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset | ErrorKind::BrokenPipe
                ) =>
            {
                shed += 1
            }
            Err(e) => panic!("peer {i}: {e}"),
        }
    }
    eprintln!("{served} peers served, {shed} closed at once");
    assert_eq!(served + shed, PEERS);
    assert!(served >= 1 && served <= NOFILE as usize - 5, "{served} served with {NOFILE} fds");

    // Free the fds: half-close the served peers and wait for each one's
    // EOF (the server's FIN comes as it closes the connection), then a new
    // connection is served normally.
    for s in peers.iter_mut().flatten() {
        s.shutdown(Shutdown::Write).unwrap();
    }
    let mut open: Vec<TcpStream> =
        peers.into_iter().flatten().map(|s| TcpStream::from(std::os::fd::OwnedFd::from(s))).collect();
    for s in &mut open {
        s.set_nonblocking(false).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).expect("the server's FIN");
        assert!(rest.is_empty());
    }
    drop(open);
    let mut fresh = connect(addr);
    echo(&mut fresh, b"after the episode").expect("a new connection is served once fds are free");
    drop(fresh);

    eddy.terminate();
    let status = eddy.wait_exit(Duration::from_secs(15));
    assert!(status.success(), "exit status {status}");
    let log = eddy.log();
    assert_eq!(count(&log, "out of file descriptors"), 1, "one episode, logged once: {log:#?}");
    assert_eq!(count(&log, "file descriptors available again"), 1, "the episode's end, logged once: {log:#?}");
}

const CONNS: usize = 100;
const BYTES: usize = 64 * 1024;
/// The shutdown timeout given to the server; it must exit well before.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

fn pattern(i: usize) -> Vec<u8> {
    (0..BYTES).map(|k| (k * 7 + i * 13 + k / 251) as u8).collect()
}

#[test]
fn sigterm_refuses_new_connections_finishes_echoes_and_exits_zero() {
    let mut eddy = Eddy::start(None, &["--shutdown-timeout", "10"]);
    let addr = eddy.addr;
    // 100 connections, each with 64 KiB sent: the server reads it all (it
    // queues up to 256 KiB of echo per connection), so nothing blocks; the
    // echoes wait in the server's queues and the peers' receive buffers.
    let mut conns: Vec<TcpStream> = (0..CONNS)
        .map(|i| {
            let mut s = connect(addr);
            s.write_all(&pattern(i)).unwrap();
            s
        })
        .collect();

    let signalled = eddy.terminate();
    // The listener closes at once: connect until refused, bounded. (A
    // connection that still got through is closed at once, so it does not
    // hold the shutdown. One that was in the accept queue when the listener
    // closed is reset by the kernel, which connect may report itself.)
    let refused_after = loop {
        match TcpStream::connect(addr) {
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => break signalled.elapsed(),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Err(e) => panic!("connect after SIGTERM: {e}"),
            Ok(s) => drop(s),
        }
        assert!(signalled.elapsed() < Duration::from_secs(3), "still accepting 3 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(2));
    };

    // The echoes in flight complete: half-close, read the whole echo, then
    // the server's FIN.
    for (i, s) in conns.iter_mut().enumerate() {
        s.shutdown(Shutdown::Write).unwrap_or_else(|e| panic!("connection {i}: {e}: the server dropped it"));
        let mut back = Vec::with_capacity(BYTES);
        s.read_to_end(&mut back).unwrap_or_else(|e| panic!("connection {i}: {e} after {} bytes", back.len()));
        assert!(back == pattern(i), "connection {i}: {} bytes back, not its echo", back.len());
    }
    let status = eddy.wait_exit(SHUTDOWN_TIMEOUT + Duration::from_secs(5));
    let exited_after = signalled.elapsed();
    eprintln!("SIGTERM: refused after {refused_after:?}, exited after {exited_after:?}");
    assert!(status.success(), "exit status {status}");
    assert!(exited_after < SHUTDOWN_TIMEOUT / 2, "exited {exited_after:?} after SIGTERM: it waited for its deadline");
    let log = eddy.log();
    assert_eq!(count(&log, "received: shutting down gracefully"), 1, "{log:#?}");
    assert!(log.iter().any(|l| l.contains("echo: stopped after")), "{log:#?}");
}

/// The inodes of the sockets listening on `port` (127.0.0.1), from
/// /proc/net/tcp.
fn listener_inodes(port: u16) -> Vec<u64> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let local = format!("0100007F:{port:04X}");
    table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f[1] == local && f[3] == "0A")
        .map(|f| f[9].parse().unwrap())
        .collect()
}

const EPOLLEXCLUSIVE: u32 = 1 << 28;

/// `--threads 2`: two loop threads; the listener set-up of the mode, read
/// from /proc (the epoll instances' watch lists and the listening sockets);
/// 64 connections each served 10 round trips; then a clean exit.
///
/// Which loop serves a connection is visible from outside only as the
/// loop threads' wake-ups (voluntary context switches: a loop that serves
/// nothing sleeps in `epoll_wait` and never wakes). With `reuseport` the
/// kernel hashes each connection to a listener, so both loops serve (all
/// 64 on one has odds 2 × 2⁻⁶⁴) and the test asserts it. With `exclusive`
/// the kernel wakes the first loop waiting in the listener's wait queue,
/// so on a lightly loaded server one loop may well take every connection:
/// the spread is printed, not asserted, and `tests/multi_loop.rs` in
/// eddy-reactor shows it deterministically (a blocked loop's connection
/// goes to the other).
fn two_loops(mode: &str) {
    let mut eddy = Eddy::start(None, &["--threads", "2", "--listener", mode]);
    let addr = eddy.addr;
    let log = eddy.log();
    let want = if mode == "exclusive" { "(2 loop(s), epoll, Exclusive)" } else { "(2 loop(s), epoll, ReusePort)" };
    assert!(log.iter().any(|l| l.contains(want)), "{log:#?}");

    let before = eddy.loop_threads();
    let names: Vec<&str> = before.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["eddy-loop-0", "eddy-loop-1"]);

    let listeners = listener_inodes(addr.port());
    let epolls = eddy.epoll_instances();
    let watching = |ino: u64| epolls.iter().filter(|w| w.iter().any(|&(i, _)| i == ino)).collect::<Vec<_>>();
    match mode {
        "exclusive" => {
            assert_eq!(listeners.len(), 1, "one shared listener");
            let by = watching(listeners[0]);
            assert_eq!(by.len(), 2, "the listener is in both loops' epoll: {epolls:x?}");
            for w in by {
                let events = w.iter().find(|&&(i, _)| i == listeners[0]).unwrap().1;
                assert_ne!(events & EPOLLEXCLUSIVE, 0, "registered without EPOLLEXCLUSIVE: {events:#x}");
            }
        }
        _ => {
            assert_eq!(listeners.len(), 2, "one SO_REUSEPORT listener per loop");
            let (a, b) = (watching(listeners[0]), watching(listeners[1]));
            assert_eq!((a.len(), b.len()), (1, 1), "each listener in one epoll: {epolls:x?}");
            assert!(!std::ptr::eq(a[0], b[0]), "both listeners in the same epoll: {epolls:x?}");
        }
    }

    let mut conns: Vec<TcpStream> = (0..64).map(|_| connect(addr)).collect();
    for round in 0..10u8 {
        for (i, s) in conns.iter_mut().enumerate() {
            echo(s, &[round, i as u8]).expect("served");
        }
    }
    let after = eddy.loop_threads();
    let woke: Vec<u64> = before.iter().zip(&after).map(|(b, a)| a.1 - b.1).collect();
    eprintln!("{mode}: loop wake-ups while serving 64 x 10 round trips: {woke:?}");
    if mode == "reuseport" {
        assert!(woke.iter().all(|&w| w >= 10), "a loop served (almost) nothing: wake-ups {woke:?}");
    }

    for s in &mut conns {
        s.shutdown(Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).expect("the server's FIN");
    }
    drop(conns);
    eddy.terminate();
    let status = eddy.wait_exit(Duration::from_secs(15));
    assert!(status.success(), "exit status {status}");
    assert!(eddy.log().iter().any(|l| l.contains("echo: stopped after 64 connection(s)")), "{:#?}", eddy.log());
}

#[test]
fn two_loops_with_reuseport_both_serve() {
    two_loops("reuseport");
}

#[test]
fn two_loops_with_exclusive_share_one_listener() {
    two_loops("exclusive");
}
