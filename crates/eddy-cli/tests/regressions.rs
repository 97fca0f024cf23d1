//! One test per bug fixed so far in the `eddy` command (or found through
//! it), each named for the bug and failing with the code before its fix.

// The figures each test measured go to stderr (seen with --no-capture).
#![allow(clippy::print_stderr)]

mod util;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use eddy::poll::{Events, Interest, Poll, Token, Trigger};
use util::{Eddy, clients, connect, count, echo, eddy_command};

const PEERS: usize = 200;
const NOFILE: u32 = 64;

/// The bound on the server's CPU time while it is out of fds and 200
/// peers hold or wait for connections: nothing happens on the wire then, so
/// a correct server sleeps in `epoll_wait` (a few ms at most, mostly the
/// window's first moments); a server that retries accept in a loop burns a
/// whole core (100 %). 20 % leaves room for /proc's 10 ms granularity and
/// a loaded machine, and stays far below a spin.
const MAX_CPU_SHARE: f64 = 0.20;

/// Out of file descriptors (`prlimit --nofile=64:64`, 200 peers at once),
/// `eddy serve echo` neither spins nor dies, and serves again once fds are
/// free. Three bugs failed it:
/// - the set-up's fd race (fixed in a4348d0): a loop started accepting
///   before the main thread made its signalfd and the signal poller, so
///   under the flood those set-ups failed with EMFILE and `eddy serve`
///   exited ("Too many open files"), about one run in three;
/// - the spare-fd trick reopened the spare before closing the excess
///   connection, so it failed with EMFILE and shed only once (0e3bbf4);
/// - out of fds with an empty accept queue, accept kept failing with
///   EMFILE and the loop spun at 100 % CPU (0e3bbf4).
#[test]
fn out_of_fds_it_neither_spins_nor_dies_and_recovers() {
    if !clients(&["prlimit"]) {
        return;
    }
    let mut eddy = Eddy::serve_with_nofile(NOFILE, &["echo"]);
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

/// The flags that take a duration, each with the subcommand it belongs to.
const DURATION_FLAGS: &[(&[&str], &str)] = &[
    (&["serve"], "--shutdown-timeout"),
    (&["serve"], "--idle-timeout"),
    (&["serve"], "--header-timeout"),
    (&["serve", "http"], "--header-timeout"),
    (&["serve"], "--body-timeout"),
    (&["serve", "echo"], "--idle-timeout"),
    (&["serve", "echo"], "--shutdown-timeout"),
    (&["get"], "--timeout"),
];

/// Every duration flag given `value` is refused by the argument parser:
/// exit code 2 and a message that names the flag and says `why`, not a
/// panic and not a server that starts. (Bounded: a server that starts
/// anyway is killed and the test fails.)
fn every_duration_flag_refuses(value: &str, why: &str) {
    for (subcommand, flag) in DURATION_FLAGS {
        let arg = format!("{flag}={value}");
        let mut args = subcommand.to_vec();
        args.extend([arg.as_str(), "--addr", "127.0.0.1:0"]);
        if subcommand == &["get"] {
            args.pop();
            args.pop();
            args.push("http://127.0.0.1:9");
        }
        let out = eddy_command(&args, Duration::from_secs(20));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "eddy {args:?}: {:?}\n{stderr}", out.status);
        assert!(!stderr.contains("panicked"), "eddy {args:?} panicked:\n{stderr}");
        assert!(stderr.contains(&format!("invalid value '{value}' for '{flag}")), "eddy {args:?}:\n{stderr}");
        assert!(stderr.contains(why), "eddy {args:?} does not say {why:?}:\n{stderr}");
    }
}

/// `Duration::from_secs_f64(inf)` panicked: "cannot convert float seconds
/// to Duration: value is either too big or NaN".
#[test]
fn a_duration_of_inf_is_a_clear_error_not_a_panic() {
    every_duration_flag_refuses("inf", "is not finite");
}

/// As `inf`: a finite number of seconds too big for a `Duration`.
#[test]
fn a_duration_of_1e300_is_a_clear_error_not_a_panic() {
    every_duration_flag_refuses("1e300", "is out of range");
}

/// A negative number of seconds was taken silently (clamped to 0, or
/// "never" for the idle timeout).
#[test]
fn a_negative_duration_is_a_clear_error_not_taken_silently() {
    every_duration_flag_refuses("-1", "is negative");
}

/// NaN seconds were taken silently (`NaN.max(0.0)` is 0; `NaN > 0.0` is
/// false, so "no idle timeout").
#[test]
fn a_duration_of_nan_is_a_clear_error_not_taken_silently() {
    every_duration_flag_refuses("NaN", "is not finite");
}

/// `--header-timeout 0` became 1 ms (`max(0.001)`): every request that
/// took more than one read got 408. 0 now disables the limit, as the help
/// says: half a request gets no answer for as long as the test watches
/// (a 408 came within milliseconds before), and its rest is answered.
#[test]
fn a_header_timeout_of_0_disables_it_instead_of_becoming_1_ms() {
    let srv = Eddy::serve(&["--header-timeout", "0"]);
    let mut s = connect(srv.addr);
    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut buf = [0u8; 256];
    match s.read(&mut buf) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("half a request was answered: {other:?} {:?}", String::from_utf8_lossy(&buf)),
    }
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"\r\n").unwrap();
    let r = util::read_responses(&mut s, 1).pop().unwrap();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"Hello, World!"[..]));
}

/// With stderr a pipe, the logs carried ANSI colour codes (the tests
/// stripped them); now colour is for a terminal only. The server here runs
/// without `NO_COLOR`.
#[test]
fn logs_to_a_pipe_carry_no_colour_codes() {
    let mut eddy = Eddy::serve_without_env(&["echo"], &["NO_COLOR"]);
    eddy.terminate();
    let status = eddy.wait_exit(Duration::from_secs(15));
    assert!(status.success(), "exit status {status}");
    let log = eddy.log();
    assert!(log.iter().any(|l| l.contains("echo: listening on 127.0.0.1:")), "{log:#?}");
    assert!(log.iter().all(|l| !l.contains('\u{1b}')), "colour codes in the log: {log:?}");
}
