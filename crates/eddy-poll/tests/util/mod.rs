//! Helpers shared by every integration test of eddy-poll.
//!
//! - [`backend_tests!`] turns `fn name(backend: Backend)` into one test per
//!   backend (`name::epoll`, `name::poll`, `name::select`), so a failure
//!   names its backend.
//! - [`expect_events`] waits (bounded) until every expected event was seen,
//!   tolerating what the kernel may legitimately add: empty wake-ups, extra
//!   events, extra flags.
//! - [`expect_no_events`] fails on any event of the named tokens within a
//!   short window.
//! - Socket pairs on loopback, fd counting, temporary paths, child
//!   processes.
//!
//! Every wait is bounded: [`LONG`] for what must happen, [`SHORT`] for what
//! must not.

#![allow(dead_code)]

use std::collections::HashSet;
use std::fmt;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::ops;
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use eddy_poll::net::{TcpListener, TcpStream};
use eddy_poll::{Backend, Event, Events, FlagNames, Poll, Token};

/// How long a "must happen" wait may take before the test fails.
pub(crate) const LONG: Duration = Duration::from_secs(5);
/// How long a "must not happen" check watches.
pub(crate) const SHORT: Duration = Duration::from_millis(100);

/// One test per backend: `backend_tests!(a, b)` makes modules `a` and `b`,
/// each with the tests `epoll`, `poll` and `select`, calling `fn a(Backend)`.
#[allow(unused_macros)]
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[test]
                fn epoll() {
                    super::$name(eddy_poll::Backend::Epoll);
                }
                #[test]
                fn poll() {
                    super::$name(eddy_poll::Backend::Poll);
                }
                #[test]
                fn select() {
                    super::$name(eddy_poll::Backend::Select);
                }
            }
        )+
    };
}

/// A poller on `backend` and an event buffer of `capacity`.
pub(crate) fn poller(backend: Backend, capacity: usize) -> (Poll, Events) {
    let poll = Poll::with_backend(backend).unwrap_or_else(|e| panic!("{backend}: Poll::with_backend: {e}"));
    assert_eq!(poll.backend(), backend);
    (poll, Events::with_capacity(capacity))
}

/// The raw epoll-style flag values, as `Event::raw` reports them.
pub(crate) mod raw {
    pub(crate) const IN: u32 = 0x1;
    pub(crate) const PRI: u32 = 0x2;
    pub(crate) const OUT: u32 = 0x4;
    pub(crate) const ERR: u32 = 0x8;
    pub(crate) const HUP: u32 = 0x10;
    pub(crate) const RDHUP: u32 = 0x2000;
    /// poll(2)'s `POLLNVAL`: the fd is not open.
    pub(crate) const NVAL: u32 = 0x20;
}

/// What an expected event must carry (all of the bits given; more are fine).
#[derive(Copy, Clone, PartialEq, Eq)]
pub(crate) struct Readiness(u8);

impl Readiness {
    pub(crate) const READABLE: Readiness = Readiness(1);
    pub(crate) const WRITABLE: Readiness = Readiness(2);
    pub(crate) const READ_CLOSED: Readiness = Readiness(4);
    pub(crate) const WRITE_CLOSED: Readiness = Readiness(8);
    pub(crate) const ERROR: Readiness = Readiness(16);
    pub(crate) const PRIORITY: Readiness = Readiness(32);

    /// Whether `event` has every bit of `self`.
    pub(crate) fn matches(self, event: &Event) -> bool {
        let has = |r: Readiness| self.0 & r.0 == 0;
        (has(Readiness::READABLE) || event.is_readable())
            && (has(Readiness::WRITABLE) || event.is_writable())
            && (has(Readiness::READ_CLOSED) || event.is_read_closed())
            && (has(Readiness::WRITE_CLOSED) || event.is_write_closed())
            && (has(Readiness::ERROR) || event.is_error())
            && (has(Readiness::PRIORITY) || event.is_priority())
    }
}

impl ops::BitOr for Readiness {
    type Output = Readiness;
    fn bitor(self, other: Readiness) -> Readiness {
        Readiness(self.0 | other.0)
    }
}

impl fmt::Debug for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = ["READABLE", "WRITABLE", "READ_CLOSED", "WRITE_CLOSED", "ERROR", "PRIORITY"];
        let set: Vec<&str> =
            names.iter().enumerate().filter(|(i, _)| self.0 & (1 << i) != 0).map(|(_, n)| *n).collect();
        f.write_str(&set.join(" | "))
    }
}

/// An event a test waits for: this token, with at least this readiness.
#[derive(Copy, Clone, Debug)]
pub(crate) struct ExpectEvent {
    pub(crate) token: Token,
    pub(crate) readiness: Readiness,
}

impl ExpectEvent {
    pub(crate) fn new(token: Token, readiness: Readiness) -> ExpectEvent {
        ExpectEvent { token, readiness }
    }

    fn matches(&self, event: &Event) -> bool {
        event.token() == self.token && self.readiness.matches(event)
    }
}

/// An event as seen, copied out of `Events`.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(crate) struct Seen {
    pub(crate) token: Token,
    pub(crate) raw: u32,
}

impl Seen {
    pub(crate) fn of(event: &Event) -> Seen {
        Seen { token: event.token(), raw: event.raw() }
    }
}

impl fmt::Debug for Seen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({:?}, {})", self.token, FlagNames(self.raw))
    }
}

/// One wait of at most `timeout`; the events it returned.
pub(crate) fn poll_once(poll: &mut Poll, events: &mut Events, timeout: Duration) -> Vec<Seen> {
    poll.poll(events, Some(timeout)).unwrap_or_else(|e| panic!("{}: poll: {e}", poll.backend()));
    assert!(events.len() <= events.capacity(), "more events than the buffer holds");
    events.iter().map(Seen::of).collect()
}

/// Polls until every expected event was seen (each expected event matched
/// by a distinct event), within [`LONG`]. Empty wake-ups, other events and
/// extra flags are tolerated. Returns everything seen.
pub(crate) fn expect_events(poll: &mut Poll, events: &mut Events, expected: Vec<ExpectEvent>) -> Vec<Seen> {
    let deadline = Instant::now() + LONG;
    let mut missing = expected;
    let mut seen = Vec::new();
    while !missing.is_empty() {
        let now = Instant::now();
        assert!(now < deadline, "{}: still missing {missing:?} after {LONG:?}; seen: {}", poll.backend(), brief(&seen));
        poll.poll(events, Some((deadline - now).min(Duration::from_millis(500))))
            .unwrap_or_else(|e| panic!("{}: poll: {e}", poll.backend()));
        for event in events.iter() {
            seen.push(Seen::of(event));
            if let Some(i) = missing.iter().position(|x| x.matches(event)) {
                missing.swap_remove(i);
            }
        }
    }
    seen
}

/// Polls until `n` non-empty waits happened (empty wake-ups don't count);
/// returns the token of each.
pub(crate) fn distinct_over_waits(poll: &mut Poll, events: &mut Events, n: usize) -> Vec<Token> {
    let deadline = Instant::now() + LONG;
    let mut order = Vec::new();
    while order.len() < n {
        assert!(Instant::now() < deadline, "{}: only {order:?}", poll.backend());
        let seen = poll_once(poll, events, LONG);
        assert!(seen.len() <= 1, "{}: capacity 1 returned {seen:?}", poll.backend());
        order.extend(seen.iter().map(|s| s.token));
    }
    order
}

/// A list of events for a failure message: all of them, or the first and
/// last few of a long one.
pub(crate) fn brief(seen: &[Seen]) -> String {
    const KEEP: usize = 10;
    if seen.len() <= 2 * KEEP {
        return format!("{seen:?}");
    }
    let first = &seen[..KEEP];
    let last = &seen[seen.len() - KEEP..];
    format!("{} events: {first:?} ... {last:?}", seen.len())
}

/// Shorthand for one expected event.
pub(crate) fn expect_event(poll: &mut Poll, events: &mut Events, token: Token, readiness: Readiness) -> Vec<Seen> {
    expect_events(poll, events, vec![ExpectEvent::new(token, readiness)])
}

/// Polls for [`SHORT`] and fails on any event carrying one of `tokens`.
pub(crate) fn expect_no_events(poll: &mut Poll, events: &mut Events, tokens: &[Token]) {
    expect_no_events_for(poll, events, tokens, SHORT);
}

/// As [`expect_no_events`], for `window`.
pub(crate) fn expect_no_events_for(poll: &mut Poll, events: &mut Events, tokens: &[Token], window: Duration) {
    let seen = collect_events(poll, events, window);
    let bad: Vec<Seen> = seen.iter().filter(|s| tokens.contains(&s.token)).copied().collect();
    assert!(bad.is_empty(), "{}: unexpected events {} (all seen: {})", poll.backend(), brief(&bad), brief(&seen));
}

/// Everything reported within `window` (several waits).
pub(crate) fn collect_events(poll: &mut Poll, events: &mut Events, window: Duration) -> Vec<Seen> {
    let deadline = Instant::now() + window;
    let mut seen = Vec::new();
    loop {
        let now = Instant::now();
        if now >= deadline {
            return seen;
        }
        seen.extend(poll_once(poll, events, deadline - now));
    }
}

/// The distinct tokens among `seen`.
pub(crate) fn tokens(seen: &[Seen]) -> HashSet<Token> {
    seen.iter().map(|s| s.token).collect()
}

/// `127.0.0.1:0`.
pub(crate) fn any_local_address() -> SocketAddr {
    "127.0.0.1:0".parse().expect("a valid address")
}

/// A connected TCP pair on loopback: (client, server), both non-blocking.
/// Uses std's blocking calls, so both ends are established on return.
pub(crate) fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = std::net::TcpListener::bind(any_local_address()).expect("bind");
    let client = std::net::TcpStream::connect(listener.local_addr().expect("local_addr")).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    (TcpStream::from_std(client).expect("from_std"), TcpStream::from_std(server).expect("from_std"))
}

/// A listening eddy TCP socket on loopback and its address.
pub(crate) fn tcp_listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind(any_local_address()).expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    (listener, addr)
}

/// A loopback address where nothing listens (a port just freed).
pub(crate) fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind(any_local_address()).expect("bind");
    listener.local_addr().expect("local_addr")
}

/// Reads until `WouldBlock` (or end of stream); returns what was read and
/// whether the end of stream was seen.
pub(crate) fn read_until_would_block(mut reader: impl Read) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return (out, false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// Asserts the result is `WouldBlock`.
#[track_caller]
pub(crate) fn assert_would_block<T: fmt::Debug>(result: io::Result<T>) {
    match result {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        other => panic!("expected WouldBlock, got {other:?}"),
    }
}

/// Asserts the result is an error of `kind`.
#[track_caller]
pub(crate) fn assert_error_kind<T: fmt::Debug>(result: io::Result<T>, kind: io::ErrorKind) {
    match result {
        Err(e) if e.kind() == kind => {}
        other => panic!("expected an error of kind {kind:?}, got {other:?}"),
    }
}

/// Serializes the tests of one binary that count or fill the process's fd
/// table, for runners that run tests as threads of one process (`cargo
/// test`); under nextest each test has its own process anyway.
pub(crate) fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The number of open fds of this process (entries of `/proc/self/fd`,
/// less the one the listing itself holds).
pub(crate) fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count() - 1
}

/// The open fds of this process.
pub(crate) fn open_fds() -> HashSet<i32> {
    let dir = std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd");
    let mut fds: HashSet<i32> = dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
    // The listing's own fd is gone now; keep only the fds still open.
    fds.retain(|fd| Path::new(&format!("/proc/self/fd/{fd}")).exists());
    fds
}

/// Whether `fd` is close-on-exec, read from `/proc/self/fdinfo`.
pub(crate) fn is_cloexec(fd: &impl AsFd) -> bool {
    raw_fd_is_cloexec(fd.as_fd().as_raw_fd())
}

/// Whether the fd numbered `raw` is close-on-exec (`O_CLOEXEC` in the
/// `flags:` line of `/proc/self/fdinfo/N`, octal).
pub(crate) fn raw_fd_is_cloexec(raw: i32) -> bool {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{raw}")).expect("fdinfo");
    let flags = info
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        .expect("a flags line");
    flags & 0o2_000_000 != 0
}

/// A directory under /tmp with a unique name, removed when dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = PathBuf::from(format!("/tmp/eddy-poll-{tag}-{}-{nanos}-{n}", std::process::id()));
        std::fs::create_dir(&path).expect("create temp dir");
        TempDir(path)
    }

    pub(crate) fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The environment variable that tells a re-executed test binary which
/// child role to play.
pub(crate) const CHILD_ENV: &str = "EDDY_POLL_TEST_CHILD";

/// The child role this process was started for, if any.
pub(crate) fn child_role() -> Option<String> {
    std::env::var(CHILD_ENV).ok()
}

/// Runs this test binary again as a child, running only the test `name`
/// (its full path, e.g. `module::test`), with [`CHILD_ENV`] set to `role`.
/// Bounded: the child is killed if it has not finished within `2 * LONG`.
pub(crate) fn run_child(name: &str, role: &str) -> std::process::Output {
    let exe = std::env::current_exe().expect("current_exe");
    let mut command = std::process::Command::new(exe);
    command.args(["--exact", name, "--nocapture", "--test-threads", "1"]);
    run_child_command(command, name, role)
}

/// As [`run_child`], the child in a network namespace of its own (made by
/// util-linux's `unshare`, in a user namespace so no privilege is needed),
/// with its loopback interface up (iproute2's `ip`): a test there may send
/// to any address, multicast groups included, and nothing leaves it.
pub(crate) fn run_child_in_private_network(name: &str, role: &str) -> std::process::Output {
    for tool in ["unshare", "ip"] {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(found, "{name} needs `{tool}` (util-linux's unshare, iproute2's ip) to make a private network");
    }
    let exe = std::env::current_exe().expect("current_exe");
    let mut command = std::process::Command::new("unshare");
    command
        .args(["--user", "--map-root-user", "--net", "sh", "-c", r#"ip link set lo up && exec "$0" "$@""#])
        .arg(exe)
        .args(["--exact", name, "--nocapture", "--test-threads", "1"]);
    run_child_command(command, name, role)
}

fn run_child_command(mut command: std::process::Command, name: &str, role: &str) -> std::process::Output {
    let child = command
        .env(CHILD_ENV, role)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn the child");
    let pid = rustix::process::Pid::from_child(&child);
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(LONG * 2) {
        Ok(out) => {
            waiter.join().expect("the waiting thread");
            out.expect("wait for the child")
        }
        Err(_) => {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            let _ = waiter.join();
            panic!("child {role} of {name} did not finish within {:?}", LONG * 2);
        }
    }
}

/// Whether the child's standard output contains `marker` (proves the
/// child ran the test body, not an empty filter).
pub(crate) fn stdout_has(out: &std::process::Output, marker: &str) -> bool {
    String::from_utf8_lossy(&out.stdout).contains(marker)
}

/// Writes `marker` on standard output, for the parent to find.
pub(crate) fn say(marker: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{marker}");
    let _ = out.flush();
}

/// One `read(2)` on `fd`, a syscall eddy does not make for the caller:
/// what a `try_io` closure does.
pub(crate) fn raw_read(fd: impl AsFd, buf: &mut [u8]) -> io::Result<usize> {
    Ok(rustix::io::read(fd, buf)?)
}

/// One `write(2)` on `fd`, likewise.
pub(crate) fn raw_write(fd: impl AsFd, buf: &[u8]) -> io::Result<usize> {
    Ok(rustix::io::write(fd, buf)?)
}

/// Calls `read_once` (a read inside `try_io`) until it returns
/// `WouldBlock`; what was read.
pub(crate) fn drain_with(mut read_once: impl FnMut(&mut [u8]) -> io::Result<usize>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match read_once(&mut buf) {
            Ok(0) => panic!("end of stream"),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return out,
            Err(e) => panic!("read in try_io: {e}"),
        }
    }
}

/// Compile-time check: `T` converts to and from raw and owned fds both
/// ways, and lends its fd.
pub(crate) const fn fd_conversions<T>()
where
    T: std::os::fd::FromRawFd + std::os::fd::IntoRawFd + From<std::os::fd::OwnedFd> + AsFd + AsRawFd,
    std::os::fd::OwnedFd: From<T>,
{
}
