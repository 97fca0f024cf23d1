//! Poll timeouts: zero returns at once; a timeout, sub-millisecond ones
//! included, never returns early and never spins; a signal that interrupts
//! the wait neither ends it early nor lengthens it.

#[macro_use]
mod util;

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use eddy_poll::{Backend, Interest, Poll, Token, Trigger};
use rustix::time::{ClockId, clock_gettime};
use util::{poller, tcp_pair};

backend_tests!(
    zero_timeout_returns_at_once,
    sub_millisecond_timeout_never_early_never_spins,
    timeouts_never_early,
    stop_and_continue_neither_ends_nor_lengthens_a_wait,
);

/// CPU time of the calling thread.
fn thread_cpu_time() -> Duration {
    let t = clock_gettime(ClockId::ThreadCPUTime);
    Duration::new(u64::try_from(t.tv_sec).unwrap(), u32::try_from(t.tv_nsec).unwrap())
}

/// A poller with one registered socket that is never ready (no data, and
/// readable interest only), so each wait really waits in the kernel.
fn idle_poller(backend: Backend) -> (Poll, eddy_poll::Events, impl Sized) {
    let (poll, events) = poller(backend, 8);
    let (client, mut server) = tcp_pair();
    poll.registry().register(&mut server, Token(1), Interest::READABLE, Trigger::Level).unwrap();
    (poll, events, (client, server))
}

fn zero_timeout_returns_at_once(backend: Backend) {
    let (mut poll, mut events, _keep) = idle_poller(backend);
    let start = Instant::now();
    for _ in 0..1000 {
        poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(events.is_empty(), "{backend}: {events:?}");
    }
    let elapsed = start.elapsed();
    // About a microsecond each; 1 ms each is already 100 times too slow.
    assert!(elapsed < Duration::from_secs(1), "{backend}: 1000 zero-timeout polls took {elapsed:?}");
}

/// 1000 waits of 100 µs: each lasts at least 100 µs (epoll rounds up to
/// its 1 ms unit, so about 1.1 s in all; ppoll and pselect take the
/// nanoseconds), and the thread sleeps rather than spins: a spinning wait
/// would use about as much CPU time as wall time.
fn sub_millisecond_timeout_never_early_never_spins(backend: Backend) {
    const N: usize = 1000;
    let timeout = Duration::from_micros(100);
    let (mut poll, mut events, _keep) = idle_poller(backend);
    let cpu_start = thread_cpu_time();
    let wall_start = Instant::now();
    for i in 0..N {
        let start = Instant::now();
        poll.poll(&mut events, Some(timeout)).unwrap();
        let took = start.elapsed();
        assert!(events.is_empty(), "{backend}: {events:?}");
        assert!(took >= timeout, "{backend}: wait {i} of {timeout:?} returned after {took:?}");
    }
    let wall = wall_start.elapsed();
    let cpu = thread_cpu_time() - cpu_start;
    assert!(wall >= timeout * u32::try_from(N).unwrap());
    assert!(cpu * 2 < wall, "{backend}: {N} waits of {timeout:?} used {cpu:?} of CPU in {wall:?}: spinning");
}

fn timeouts_never_early(backend: Backend) {
    let (mut poll, mut events, _keep) = idle_poller(backend);
    for us in [1u64, 10, 999, 1_000, 1_001, 1_500, 2_000, 10_000, 25_000] {
        let timeout = Duration::from_micros(us);
        let start = Instant::now();
        poll.poll(&mut events, Some(timeout)).unwrap();
        let took = start.elapsed();
        assert!(events.is_empty(), "{backend}: {events:?}");
        assert!(took >= timeout, "{backend}: a wait of {timeout:?} returned after {took:?}");
        assert!(took < timeout + Duration::from_secs(1), "{backend}: a wait of {timeout:?} took {took:?}");
    }
}

const WAIT: Duration = Duration::from_millis(1000);
const STOP_AT: Duration = Duration::from_millis(500);
const STOPPED_FOR: Duration = Duration::from_millis(200);
/// Scheduling slack allowed on top of the expected duration.
const SLACK: Duration = Duration::from_millis(300);

/// The child waits `WAIT` while the parent stops it (SIGSTOP) `STOP_AT`
/// into the wait and continues it (SIGCONT) `STOPPED_FOR` later. No wait
/// ends early. Beyond that the backends differ, each for a kernel reason:
///
/// - epoll: `epoll_wait` returns `EINTR` after a stop and continue
///   (signal(7)); `Poll::poll` retries with the time left, so the wait
///   lasts `WAIT` from its start, the stopped time included. A retry with
///   the full timeout would last `STOP_AT + STOPPED_FOR + WAIT`.
/// - poll, select: the kernel restarts `ppoll` / `pselect6` by itself
///   (`ERESTARTNOHAND`, no handler ran) with the time that was left when
///   the stop came, written back into the timespec: the stopped time is not
///   counted, so the wait lasts `WAIT + STOPPED_FOR`. eddy never sees an
///   `EINTR` here, and can't subtract the stopped time.
fn stop_and_continue_neither_ends_nor_lengthens_a_wait(backend: Backend) {
    if util::child_role().is_some() {
        let (mut poll, mut events, _keep) = idle_poller(backend);
        util::say("polling");
        let start = Instant::now();
        poll.poll(&mut events, Some(WAIT)).unwrap();
        let took = start.elapsed();
        assert!(events.is_empty(), "{backend}: {events:?}");
        assert!(took >= WAIT, "{backend}: a wait of {WAIT:?} interrupted by a stop returned after {took:?}");
        let expected = match backend {
            Backend::Epoll => WAIT,
            Backend::Poll | Backend::Select => WAIT + STOPPED_FOR,
        };
        assert!(
            took < expected + SLACK,
            "{backend}: a wait of {WAIT:?} stopped for {STOPPED_FOR:?} took {took:?}, expected about {expected:?}"
        );
        util::say(&format!("waited {took:?}"));
        return;
    }

    let name = format!("stop_and_continue_neither_ends_nor_lengthens_a_wait::{}", backend.name());
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &name, "--nocapture", "--test-threads", "1"])
        .env(util::CHILD_ENV, "stop-continue")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = rustix::process::Pid::from_child(&child);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("polling") {
        line.clear();
        if stdout.read_line(&mut line).unwrap() == 0 {
            let _ = child.kill();
            panic!("{backend}: the child ended before polling: {:?}", child.wait_with_output());
        }
    }
    // Timed from the child's "polling": the stop lands inside its wait.
    std::thread::sleep(STOP_AT);
    rustix::process::kill_process(pid, rustix::process::Signal::STOP).unwrap();
    std::thread::sleep(STOPPED_FOR);
    rustix::process::kill_process(pid, rustix::process::Signal::CONT).unwrap();

    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut rest);
        let _ = tx.send(rest);
    });
    let rest = rx.recv_timeout(util::LONG).unwrap_or_else(|_| {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        panic!("{backend}: the child did not finish");
    });
    reader.join().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && rest.contains("waited"),
        "{backend}: child {:?}\nstdout: {rest}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
