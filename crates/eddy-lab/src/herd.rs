//! `thundering-herd`: four threads, each blocked on its own epoll watching
//! one shared listener; how many wake per connection, without
//! `EPOLLEXCLUSIVE`, with it, and with one `SO_REUSEPORT` listener each.
//!
//! The threads register the listener edge-triggered and do not accept:
//! they only report each wake-up to the lab's thread, which accepts once
//! the wake-ups of a connection are counted. Were the threads to race for
//! the accept, a thread woken a little late would find the listener empty,
//! and epoll, re-checking readiness before returning, would put it back to
//! sleep: the count would measure that race, not the kernel's wake-ups.
//!
//! Before each connection the lab waits until every thread has said it is
//! about to wait. That is as close as user space can get to "blocked":
//! a thread between its message and its sleep is not yet on the listener's
//! wait queue as a waiter, and `EPOLLEXCLUSIVE` then also queues the event
//! on the next epoll, so a connection may wake more than one thread (the
//! man page's "one or more").

use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Instant;
use std::{fmt, io};

use eddy_poll::net::{ListenOptions, TcpListener, TcpStream};
use eddy_poll::{Events, Interest, Poll, SourceFd, Token, Trigger, Waker};

use super::record::{Kind, Lab, SeenEvent};
use super::util::{MUST, QUIET, broken, timed_out};

const THREADS: usize = 4;
const CONNECTIONS: usize = 5;
const LISTENER: Token = Token(0);
const STOP: Token = Token(1);

#[derive(Copy, Clone, PartialEq, Eq)]
enum Mode {
    Shared,
    Exclusive,
    ReusePort,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Shared => "one listener, plain registrations",
            Mode::Exclusive => "one listener, EPOLLEXCLUSIVE",
            Mode::ReusePort => "four SO_REUSEPORT listeners, one per thread",
        })
    }
}

/// A waiting thread: its poller's waker and its handle.
struct Waiter {
    waker: Waker,
    handle: JoinHandle<io::Result<()>>,
}

pub(crate) fn thundering_herd(lab: &mut Lab) -> io::Result<()> {
    lab.setup(format!(
        "{THREADS} threads, each blocked in a wait on its own epoll, which watches the listener (READABLE, Edge)"
    ));
    lab.setup(format!(
        "{CONNECTIONS} connections, one at a time; each thread reports its wake-ups; the lab counts them"
    ));
    lab.setup(
        "until 100 ms pass without one (and, without EPOLLEXCLUSIVE, all four have come), then accepts it itself",
    );
    let shared = round(lab, Mode::Shared)?;
    let exclusive = round(lab, Mode::Exclusive)?;
    let reuse = round(lab, Mode::ReusePort)?;
    let per = |w: &[usize]| w.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ");
    lab.check(
        "without EPOLLEXCLUSIVE",
        format!("{THREADS} wake-ups per connection"),
        per(&shared),
        shared.iter().all(|&n| n == THREADS),
    );
    let (sum_shared, sum_exclusive) = (shared.iter().sum::<usize>(), exclusive.iter().sum::<usize>());
    lab.check(
        "with EPOLLEXCLUSIVE",
        "1 per connection (the kernel promises one or more: a thread not yet blocked is skipped, and finds \
         the event when it waits), fewer than without it",
        per(&exclusive),
        exclusive.iter().all(|&n| n >= 1) && sum_exclusive < sum_shared,
    );
    lab.check("with SO_REUSEPORT", "1 per connection", per(&reuse), reuse.iter().all(|&n| n == 1));
    Ok(())
}

/// One mode: the wake-ups of each connection.
fn round(lab: &mut Lab, mode: Mode) -> io::Result<Vec<usize>> {
    lab.note(Kind::Note, format!("mode: {mode}"));
    let listeners = bind(mode)?;
    let addr = listeners[0].local_addr()?;
    let (tx, rx) = mpsc::channel();
    let mut waiters = Vec::new();
    for i in 0..THREADS {
        let listener = Arc::clone(&listeners[if mode == Mode::ReusePort { i } else { 0 }]);
        let poll = Poll::new()?;
        if mode == Mode::Exclusive {
            poll.registry().register_exclusive(&*listener, LISTENER, Interest::READABLE, Trigger::Edge)?;
        } else {
            let mut fd = SourceFd(listener.as_fd());
            poll.registry().register(&mut fd, LISTENER, Interest::READABLE, Trigger::Edge)?;
        }
        let waker = Waker::new(poll.registry(), STOP)?;
        let tx = tx.clone();
        let handle = std::thread::spawn(move || wait_loop(i, poll, &tx, &listener));
        waiters.push(Waiter { waker, handle });
    }
    let counts = connections(lab, mode, addr, &listeners, &rx);
    for w in &waiters {
        w.waker.wake()?;
    }
    for w in waiters {
        w.handle.join().map_err(|_| broken("a waiting thread panicked"))??;
    }
    let counts = counts?;
    Ok(counts)
}

fn bind(mode: Mode) -> io::Result<Vec<Arc<TcpListener>>> {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    if mode != Mode::ReusePort {
        return Ok(vec![Arc::new(TcpListener::bind(any)?)]);
    }
    let options = ListenOptions { reuse_port: true, ..ListenOptions::default() };
    let first = TcpListener::bind_with(any, &options)?;
    let addr = first.local_addr()?;
    let mut all = vec![Arc::new(first)];
    for _ in 1..THREADS {
        all.push(Arc::new(TcpListener::bind_with(addr, &options)?));
    }
    Ok(all)
}

/// A waiting thread: reports every listener event until its waker fires.
/// The listener is kept alive here so its registration lasts.
fn wait_loop(i: usize, mut poll: Poll, tx: &mpsc::Sender<Msg>, _listener: &TcpListener) -> io::Result<()> {
    let mut events = Events::with_capacity(4);
    let deadline = Instant::now() + 4 * MUST * CONNECTIONS as u32;
    while Instant::now() < deadline {
        // The lab's thread may have stopped listening: nothing to do then.
        let _ = tx.send(Msg::Waiting(i));
        poll.poll(&mut events, Some(MUST))?;
        for e in &events {
            if e.token() == STOP {
                return Ok(());
            }
            let _ = tx.send(Msg::Woke(i, SeenEvent::from(e)));
        }
    }
    Err(timed_out("the waiting thread's stop signal"))
}

/// What a waiting thread tells the lab's thread.
enum Msg {
    /// Thread `i` is about to wait.
    Waiting(usize),
    /// Thread `i` was woken with this event.
    Woke(usize, SeenEvent),
}

/// The threads' messages as the lab's thread sees them: which threads have
/// said they are about to wait since they last woke, and the wake-ups.
struct Herd<'a> {
    rx: &'a Receiver<Msg>,
    waiting: [bool; THREADS],
}

impl Herd<'_> {
    /// The next message before `deadline` (`None` at the deadline); keeps
    /// track of which threads are about to wait.
    fn recv(&mut self, deadline: Instant) -> io::Result<Option<Msg>> {
        match self.rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(msg) => {
                match &msg {
                    Msg::Waiting(i) => self.waiting[*i] = true,
                    Msg::Woke(i, _) => self.waiting[*i] = false,
                }
                Ok(Some(msg))
            }
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(broken("every waiting thread ended")),
        }
    }

    /// The next wake-up before `deadline`; `None` at the deadline.
    fn next_wake(&mut self, deadline: Instant) -> io::Result<Option<(usize, SeenEvent)>> {
        loop {
            match self.recv(deadline)? {
                Some(Msg::Woke(i, e)) => return Ok(Some((i, e))),
                Some(Msg::Waiting(_)) => {}
                None => return Ok(None),
            }
        }
    }

    /// Returns once every thread has said it is about to wait (it may not
    /// be blocked yet: nothing tells that), at most [`MUST`], with the
    /// wake-ups that came meanwhile: late ones of the last connection (a
    /// thread slower than the quiet window).
    fn all_waiting(&mut self) -> io::Result<Vec<(usize, SeenEvent)>> {
        let deadline = Instant::now() + MUST;
        let mut late = Vec::new();
        while !self.waiting.iter().all(|&w| w) {
            match self.recv(deadline)? {
                Some(Msg::Waiting(_)) => {}
                Some(Msg::Woke(i, e)) => late.push((i, e)),
                None => return Err(timed_out("every thread back in its wait")),
            }
        }
        Ok(late)
    }
}

/// Makes the connections one at a time and counts each one's wake-ups.
fn connections(
    lab: &mut Lab,
    mode: Mode,
    addr: SocketAddr,
    listeners: &[Arc<TcpListener>],
    rx: &Receiver<Msg>,
) -> io::Result<Vec<usize>> {
    let mut herd = Herd { rx, waiting: [false; THREADS] };
    let mut counts = Vec::new();
    for c in 0..CONNECTIONS {
        let late = herd.all_waiting()?;
        if let Some(last) = counts.last_mut() {
            for (i, e) in &late {
                lab.event_from(&format!("thread{i}"), e);
                lab.note(Kind::Note, format!("a late wake-up of connection #{}: thread {i}", c - 1));
                *last += 1;
            }
        }
        let _client = TcpStream::connect(addr)?;
        lab.note(Kind::Write, format!("client  connect #{c}"));
        let mut woken = Vec::new();
        let must = Instant::now() + MUST;
        while woken.is_empty() || (mode == Mode::Shared && woken.len() < THREADS) {
            let (i, e) = herd.next_wake(must)?.ok_or_else(|| timed_out("the wake-ups of the connection"))?;
            lab.event_from(&format!("thread{i}"), &e);
            woken.push(i);
        }
        let quiet_end = Instant::now() + QUIET;
        while let Some((i, e)) = herd.next_wake(quiet_end)? {
            lab.event_from(&format!("thread{i}"), &e);
            woken.push(i);
        }
        woken.sort_unstable();
        let accepted = accept_all(listeners)?;
        lab.note(
            Kind::Note,
            format!("connection #{c}: {} wake-ups (threads {woken:?}); accepted {accepted}", woken.len()),
        );
        counts.push(woken.len());
    }
    Ok(counts)
}

fn accept_all(listeners: &[Arc<TcpListener>]) -> io::Result<usize> {
    let mut n = 0;
    for l in listeners {
        loop {
            match l.accept() {
                Ok(_) => n += 1,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(n)
}
