//! One test per bug fixed in eddy-poll, each named for the bug; each fails
//! on the code before its fix.
//!
//! | test | bug | fixed in |
//! |------|-----|----------|
//! | `eintr_retry_timed_by_the_coarse_clock_ended_waits_early` | the `EINTR` retry of `Poll::poll` timed the wait from `CLOCK_MONOTONIC_COARSE`, which lags the precise clock by more than its resolution after an idle spell: an interrupted wait ended early (999 ms for 1 s) | e5a5632 |
//! | `user_source_reregistered_while_queued_was_queued_twice` | reregistering a user source that was already queued queued it again: one wait reported it once per reregistration | ea837e2 |
//! | `exclusive_registration_asked_for_rdhup_and_was_refused` | `register_exclusive` with a readable interest asked for `EPOLLRDHUP`, which the kernel refuses beside `EPOLLEXCLUSIVE`: `EINVAL` | ea837e2 |
//! | `unnamed_unix_address_was_read_as_an_empty_abstract_name` | an unnamed Unix socket's address (the family alone) was read as `UnixAddr::Abstract([])` | ea837e2 |
//! | `kernel_events_filling_events_starved_user_sources` | user-space readiness went only into the room the kernel's events left: level sockets filling a small `Events` kept user sources and wakers out for good | ea837e2 |
//! | `level_user_source_requeued_first_starved_the_others` | a level user source still ready went back to the front of the queue: with room for one event, the same source on every wait | ea837e2 |
//! | `socket_in_two_emulated_pollers_was_forgotten_by_the_first_only` | a socket kept the re-arm handle of the first emulated poller it was registered with: dropped, it left a stale registration in the second, which reported a new fd of the same number under the old token | issue 12 |
//! | `edge_would_block_rearmed_the_first_emulated_poller_only` | likewise, a `WouldBlock` re-armed the `Edge` registration of the first emulated poller only: the second stayed silent for good | issue 12 |
//!
//! Broader tests cover the same code too: `timeouts.rs`'s
//! `stop_and_continue_neither_ends_nor_lengthens_a_wait` (one stop, and the
//! wait's length per backend), `exclusive.rs` (exclusive wake-ups among
//! several pollers) and `unix.rs` (addresses among round trips). Tests that
//! were exactly a regression test moved here (each says from where).

#[macro_use]
mod util;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use eddy_poll::net::{UnixAddr, UnixDatagram, UnixListener, UnixStream};
use eddy_poll::{Backend, Interest, Ready, Registration, Token, Trigger, Waker};
use util::{LONG, Readiness, expect_event, expect_no_events, poll_once, poller, tcp_listener, tcp_pair};

backend_tests!(
    eintr_retry_timed_by_the_coarse_clock_ended_waits_early,
    user_source_reregistered_while_queued_was_queued_twice,
    kernel_events_filling_events_starved_user_sources,
    level_user_source_requeued_first_starved_the_others,
    socket_in_two_emulated_pollers_was_forgotten_by_the_first_only,
    edge_would_block_rearmed_the_first_emulated_poller_only,
);

// ---- The EINTR retry ended waits early (e5a5632).

/// Waits, each interrupted once.
const WAITS: usize = 16;
/// Each wait's timeout.
const WAIT: Duration = Duration::from_millis(100);

/// A thread's scheduler state (`R`, `S`, `T`, `Z`, ...), from
/// `/proc/PID/task/TID/stat`; `None` once it is gone.
fn thread_state(pid: u32, tid: &str) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).ok()?;
    // "tid (comm) S ...": the command may hold spaces and parentheses.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// Waits (bounded) until the child's polling thread is in `state`.
fn await_thread_state(pid: u32, tid: &str, state: char, what: &str) {
    let deadline = Instant::now() + LONG;
    loop {
        match thread_state(pid, tid) {
            Some(s) if s == state => return,
            Some('Z' | 'X') | None => panic!("the child ended while {what}"),
            _ => {}
        }
        assert!(Instant::now() < deadline, "the child's thread never got to {state:?} while {what}");
        std::thread::yield_now();
    }
}

/// The child waits `WAITS` times on an idle poller, `WAIT` each; the parent
/// stops (SIGSTOP) and continues (SIGCONT) it during every wait. No wait
/// may end before its timeout: nothing registered can become ready, so an
/// early return is a miscounted retry.
///
/// Against the bug: each wait starts right after the last one timed out, so
/// the CPU was idle and the coarse clock lags (on the 2-vCPU test VM, after
/// a 20 ms epoll timeout, it lagged its 4 ms resolution by more than 1 ms in
/// about half the samples); the retry then subtracted that lag from the
/// time left.
///
/// Per backend: `epoll_wait` returns `EINTR` after a stop and continue, so
/// on epoll every wait goes through the retry. The kernel restarts `ppoll`
/// and `pselect6` by itself (no handler ran), so on poll and select eddy
/// sees no `EINTR` and the test checks only that they stay right; a signal
/// with a handler would reach their retry too, but installing one takes
/// unsafe code, which this crate keeps in `src/sys/`.
fn eintr_retry_timed_by_the_coarse_clock_ended_waits_early(backend: Backend) {
    let name = format!("eintr_retry_timed_by_the_coarse_clock_ended_waits_early::{}", backend.name());
    if util::child_role().is_some() {
        let (mut poll, mut events) = poller(backend, 8);
        let (_client, mut server) = tcp_pair();
        poll.registry().register(&mut server, Token(1), Interest::READABLE, Trigger::Level).unwrap();
        // "PID/task/TID": the parent watches this thread's state.
        let thread = std::fs::read_link("/proc/thread-self").unwrap();
        let tid = thread.file_name().unwrap().to_string_lossy().into_owned();
        for i in 0..WAITS {
            util::say(&format!("polling {i} {tid}"));
            let start = Instant::now();
            poll.poll(&mut events, Some(WAIT)).unwrap();
            let took = start.elapsed();
            assert!(events.is_empty(), "{backend}: wait {i}: {events:?}");
            assert!(took >= WAIT, "{backend}: wait {i} of {WAIT:?}, stopped and continued, returned after {took:?}");
            assert!(took < WAIT + Duration::from_secs(1), "{backend}: wait {i} of {WAIT:?} took {took:?}");
        }
        util::say("done");
        return;
    }

    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &name, "--nocapture", "--test-threads", "1"])
        .env(util::CHILD_ENV, "eintr")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let rpid = rustix::process::Pid::from_child(&child);
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, lines) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in stdout.lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let kill_and_fail = |why: String| -> ! {
        let _ = rustix::process::kill_process(rpid, rustix::process::Signal::KILL);
        panic!("{backend}: {why}");
    };
    let (mut stops, mut done) = (0, false);
    loop {
        let line = match lines.recv_timeout(LONG) {
            Ok(line) => line,
            // Its standard output closed: the child ended (its status says how).
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => kill_and_fail(format!("the child was silent for {LONG:?}")),
        };
        if line == "done" {
            done = true;
            continue;
        }
        // With one test thread, the harness prints "test NAME ... " first,
        // on the line of the child's first word.
        let Some(tid) = line.split_once("polling ").and_then(|(_, rest)| rest.split(' ').nth(1)) else {
            continue; // the test harness's own output
        };
        // Blocked in the wait (the child does nothing else after saying
        // "polling"), then stopped, then continued.
        await_thread_state(pid, tid, 'S', "waiting to be stopped");
        rustix::process::kill_process(rpid, rustix::process::Signal::STOP).unwrap();
        await_thread_state(pid, tid, 'T', "being stopped");
        rustix::process::kill_process(rpid, rustix::process::Signal::CONT).unwrap();
        stops += 1;
    }
    let out = child.wait_with_output().unwrap();
    reader.join().unwrap();
    assert!(
        out.status.success(),
        "{backend}: child {:?}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(done && stops == WAITS, "{backend}: {stops} of {WAITS} waits interrupted; done: {done}");
}

// ---- A user source reregistered while queued was queued twice (ea837e2).

const U: Token = Token(3);

/// Moved from `user_source.rs` (was `reregister_while_queued_reports_once`).
/// A source that is queued when it is reregistered (several times) is still
/// reported once per wait, not once per reregistration. The bug: the
/// reregistration cleared the source's `queued` flag, so it was pushed onto
/// the poller's queue again, and one wait reported it four times.
fn user_source_reregistered_while_queued_was_queued_twice(backend: Backend) {
    for trigger in [Trigger::Level, Trigger::Edge] {
        let (mut poll, mut events) = poller(backend, 8);
        let (mut source, set) = Registration::new();
        poll.registry().register(&mut source, U, Interest::READABLE, trigger).unwrap();
        set.set_readiness(Ready::READABLE).unwrap();
        for _ in 0..3 {
            poll.registry().reregister(&mut source, U, Interest::READABLE, trigger).unwrap();
        }
        for _ in 0..3 {
            let seen = poll_once(&mut poll, &mut events, LONG);
            let count = seen.iter().filter(|s| s.token == U).count();
            assert!(count <= 1, "{backend} {trigger:?}: one event per wait at most: {seen:?}");
            if trigger == Trigger::Edge {
                break;
            }
        }
        if trigger == Trigger::Edge {
            expect_no_events(&mut poll, &mut events, &[U]);
        }
    }
}

// ---- register_exclusive asked for EPOLLRDHUP and was refused (ea837e2).

/// epoll only: the other backends have no exclusive registration (they
/// answer `Unsupported`, checked in `exclusive.rs`). Every readable interest
/// asks epoll for `EPOLLRDHUP` too; beside `EPOLLEXCLUSIVE` the kernel
/// refuses it with `EINVAL`, so before the fix no readable exclusive
/// registration could be made at all.
#[test]
fn exclusive_registration_asked_for_rdhup_and_was_refused() {
    const L: Token = Token(0);
    let (mut poll, mut events) = poller(Backend::Epoll, 8);
    let (listener, addr) = tcp_listener();
    poll.registry().register_exclusive(&listener, L, Interest::READABLE, Trigger::Level).unwrap();
    // Edge, and with writable too: the same flags less EPOLLRDHUP.
    let (other, _events) = poller(Backend::Epoll, 8);
    other
        .registry()
        .register_exclusive(&listener, Token(1), Interest::READABLE | Interest::WRITABLE, Trigger::Edge)
        .unwrap();
    drop(other);
    // The registration works: a connection is reported and accepted.
    let _client = std::net::TcpStream::connect(addr).unwrap();
    expect_event(&mut poll, &mut events, L, Readiness::READABLE);
    let (stream, _) = listener.accept().unwrap();
    assert_eq!(stream.local_addr().unwrap(), addr);
}

// ---- An unnamed Unix address was read as an empty abstract name (ea837e2).

/// The kernel gives an unnamed socket's address as the family alone
/// (`addrlen == sizeof(sa_family_t)`), which rustix reads as an abstract
/// name of zero bytes: it was `UnixAddr::Abstract([])`. Every place an address is read: `local_addr` and
/// `peer_addr` of a pair, `accept`'s peer, and `recv_from`'s sender. No
/// backend is involved, so one test.
#[test]
fn unnamed_unix_address_was_read_as_an_empty_abstract_name() {
    let (a, b) = UnixStream::pair().unwrap();
    assert_eq!(a.local_addr().unwrap(), UnixAddr::Unnamed);
    assert_eq!(a.peer_addr().unwrap(), UnixAddr::Unnamed);
    assert_eq!(b.local_addr().unwrap(), UnixAddr::Unnamed);

    // A Unix connect completes at once: the connection is queued when
    // `connect` returns, so `accept` needs no wait.
    let dir = util::TempDir::new("regression-unnamed");
    let path = dir.join("listener.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let client = UnixStream::connect(&path).unwrap();
    let (server, peer) = listener.accept().unwrap();
    assert_eq!(peer, UnixAddr::Unnamed);
    assert_eq!(server.peer_addr().unwrap(), UnixAddr::Unnamed);
    assert_eq!(client.local_addr().unwrap(), UnixAddr::Unnamed);
    assert_eq!(client.peer_addr().unwrap().as_path(), Some(path.as_path()));

    // A Unix datagram is in the receiver's queue when `send_to` returns.
    let bound = dir.join("dgram.sock");
    let receiver = UnixDatagram::bind(&bound).unwrap();
    let sender = UnixDatagram::unbound().unwrap();
    assert_eq!(sender.local_addr().unwrap(), UnixAddr::Unnamed);
    sender.send_to(b"anonymous", &bound).unwrap();
    let mut buf = [0u8; 16];
    let (n, from) = receiver.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"anonymous"[..], UnixAddr::Unnamed));
}

// ---- Fairness of user sources in a small `Events` (ea837e2).

/// Moved from `events.rs` (was `capacity_one_delivers_sockets_and_user_sources`).
/// Sockets, level user sources and a waker together, room for one event:
/// nothing is starved, neither the user sources by the sockets nor the
/// sockets by the user sources. The bug: user-space readiness was collected
/// only into the room the kernel's events left, so level sockets that filled
/// `Events` on every wait kept the user sources out for good (`Poll` now
/// reports them first on the next wait).
fn kernel_events_filling_events_starved_user_sources(backend: Backend) {
    const SOCKETS: usize = 3;
    const USERS: usize = 3;
    let (mut poll, mut events) = poller(backend, 1);
    let mut pairs = Vec::new();
    for i in 0..SOCKETS {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        poll.registry().register(&mut b, Token(i), Interest::READABLE, Trigger::Level).unwrap();
        a.write_all(b"x").unwrap();
        pairs.push((a, b));
    }
    let mut users = Vec::new();
    for i in 0..USERS {
        let (mut source, set) = Registration::new();
        poll.registry().register(&mut source, Token(100 + i), Interest::READABLE, Trigger::Level).unwrap();
        set.set_readiness(Ready::READABLE).unwrap();
        users.push((source, set));
    }
    let waker = Waker::new(poll.registry(), Token(200)).unwrap();
    waker.wake().unwrap();

    let all: HashSet<Token> =
        (0..SOCKETS).map(Token).chain((0..USERS).map(|i| Token(100 + i))).chain([Token(200)]).collect();
    // Every source is ready now; a fair poller reports each within a few
    // rounds of waits (allow 3 rounds: the order is the backend's).
    let order = util::distinct_over_waits(&mut poll, &mut events, 3 * all.len());
    let seen: HashSet<Token> = order.iter().copied().collect();
    let missing: Vec<_> = all.difference(&seen).collect();
    assert!(missing.is_empty(), "{backend}: never reported {missing:?}; order {order:?}");
}

/// Moved from `events.rs` (was `capacity_one_delivers_every_level_user_source`).
/// N level user sources, room for one event per wait: N waits report N
/// distinct sources, every round. The bug: a level source still ready went
/// back to the front of the queue, ahead of the sources not reported yet,
/// so with room for one the first source was reported on every wait.
fn level_user_source_requeued_first_starved_the_others(backend: Backend) {
    const N: usize = 4;
    let (mut poll, mut events) = poller(backend, 1);
    let mut users = Vec::new();
    for i in 0..N {
        let (mut source, set) = Registration::new();
        poll.registry().register(&mut source, Token(i), Interest::READABLE, Trigger::Level).unwrap();
        set.set_readiness(Ready::READABLE).unwrap();
        users.push((source, set));
    }
    for round in 0..3 {
        let order = util::distinct_over_waits(&mut poll, &mut events, N);
        let distinct: HashSet<Token> = order.iter().copied().collect();
        assert_eq!(distinct.len(), N, "{backend}: round {round}: {N} waits gave {order:?}");
    }
}

// ---- The emulated backends' per-socket re-arm handle knew one poller (issue 12).

/// A socket registered with two pollers of one backend, then dropped: no
/// poller reports the new socket that gets its fd number. Before the fix the
/// socket held the re-arm handle of the first emulated poller only (and was
/// 24 bytes for it), so its drop left the second poller's entry behind; now
/// the tables are found by fd number (and the socket is its fd, 4 bytes).
/// On epoll the kernel forgets a closed file by itself.
fn socket_in_two_emulated_pollers_was_forgotten_by_the_first_only(backend: Backend) {
    let (mut first, mut events) = poller(backend, 8);
    let (mut second, _) = poller(backend, 8);
    let (a, mut b) = UnixStream::pair().unwrap();
    first.registry().register(&mut b, Token(1), Interest::READABLE, Trigger::Level).unwrap();
    second.registry().register(&mut b, Token(1), Interest::READABLE, Trigger::Level).unwrap();
    let old = [a.as_raw_fd(), b.as_raw_fd()];
    drop(b);
    drop(a);
    let (mut c, mut d) = UnixStream::pair().unwrap();
    assert!(old.contains(&c.as_raw_fd()) && old.contains(&d.as_raw_fd()), "the fd numbers are reused");
    c.write_all(b"x").unwrap();
    d.write_all(b"y").unwrap();
    expect_no_events(&mut first, &mut events, &[Token(1)]);
    expect_no_events(&mut second, &mut events, &[Token(1)]);
    // And the fd can be registered anew with both.
    second.registry().register(&mut c, Token(2), Interest::READABLE, Trigger::Level).unwrap();
    first.registry().register(&mut c, Token(2), Interest::READABLE, Trigger::Level).unwrap();
    expect_event(&mut second, &mut events, Token(2), Readiness::READABLE);
}

/// A socket registered `Edge` with two pollers of one backend: after it is
/// drained to `WouldBlock`, new data is reported by both. Before the fix,
/// the `WouldBlock` re-armed the first emulated poller only.
fn edge_would_block_rearmed_the_first_emulated_poller_only(backend: Backend) {
    let (mut first, mut events) = poller(backend, 8);
    let (mut second, _) = poller(backend, 8);
    let (mut a, mut b) = UnixStream::pair().unwrap();
    first.registry().register(&mut b, Token(1), Interest::READABLE, Trigger::Edge).unwrap();
    second.registry().register(&mut b, Token(1), Interest::READABLE, Trigger::Edge).unwrap();
    for round in 0..3 {
        a.write_all(b"ping").unwrap();
        expect_event(&mut first, &mut events, Token(1), Readiness::READABLE);
        expect_event(&mut second, &mut events, Token(1), Readiness::READABLE);
        let (read, closed) = util::read_until_would_block(&b);
        assert_eq!((read.as_slice(), closed), (&b"ping"[..], false), "{backend}: round {round}");
    }
}
