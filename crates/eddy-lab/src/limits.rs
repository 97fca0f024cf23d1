//! The backends compared: `select-limit` (which can watch an fd at or above
//! `FD_SETSIZE`) and `scaling` (the time of one wait against the number of
//! idle fds).

use std::io::{self, Write as _};
use std::net::TcpStream as StdTcpStream;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use eddy_poll::net::{TcpStream, UnixDatagram, UnixStream};
use eddy_poll::{Backend, Events, FD_SETSIZE, Interest, Poll, Token, Trigger};
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

use super::record::{Kind, Lab};
use super::util::{MUST, broken, errno_name, tcp_pair};

/// Makes the soft fd limit at least `needed`, within the hard limit.
pub(crate) fn raise_nofile(needed: u64) -> io::Result<Rlimit> {
    let limit = getrlimit(Resource::Nofile);
    if limit.current.is_some_and(|c| c >= needed) || limit.current.is_none() {
        return Ok(limit);
    }
    if limit.maximum.is_some_and(|m| m < needed) {
        return Err(broken(format!(
            "the hard fd limit {:?} is below {needed}: no fd >= FD_SETSIZE can exist",
            limit.maximum
        )));
    }
    setrlimit(Resource::Nofile, Rlimit { current: Some(needed), maximum: limit.maximum })?;
    Ok(getrlimit(Resource::Nofile))
}

pub(crate) fn select_limit(lab: &mut Lab) -> io::Result<()> {
    lab.setup(format!("a loopback TCP connection whose server side is dup'ed to an fd >= FD_SETSIZE ({FD_SETSIZE})"));
    lab.setup("(raising the soft fd limit if needed); each backend registers that fd READABLE, Level");
    lab.setup("the peer sends a byte: epoll and poll must report it; select must refuse the registration");
    // The pollers' own fds are taken first, below FD_SETSIZE: select's must be.
    let mut polls: Vec<(Backend, Poll)> =
        Backend::ALL.iter().map(|&b| Ok((b, Poll::with_backend(b)?))).collect::<io::Result<_>>()?;
    let limit = raise_nofile(FD_SETSIZE as u64 + 64)?;
    lab.note(Kind::Note, format!("fd limit: soft {:?}, hard {:?}", limit.current, limit.maximum));
    let (client, server) = tcp_pair()?;
    let high: OwnedFd = rustix::io::fcntl_dupfd_cloexec(&server, FD_SETSIZE as i32)?;
    let fd = high.as_raw_fd();
    lab.note(Kind::Note, format!("server  fcntl(F_DUPFD_CLOEXEC, {FD_SETSIZE}) -> fd {fd}; the original closed"));
    drop(server);
    let mut high = TcpStream::from_std(StdTcpStream::from(high))?;
    lab.write("peer", &client, b"x");

    let mut events = Events::with_capacity(4);
    for (backend, poll) in &mut polls {
        let who = backend.name();
        match poll.registry().register(&mut high, Token(1), Interest::READABLE, Trigger::Level) {
            Ok(()) => {
                lab.note(Kind::Note, format!("{who:<7} register(fd {fd}) -> Ok"));
                let ev = lab.expect(who, poll, &mut events, "the byte on the high fd")?;
                poll.registry().deregister(&mut high)?;
                let ok = *backend != Backend::Select && ev.iter().any(|e| e.token() == Token(1) && e.is_readable());
                let want = if *backend == Backend::Select { "refused" } else { "registered, and the byte reported" };
                lab.check(&format!("{who} and fd {fd}"), want, "registered, and the byte reported", ok);
            }
            Err(e) => {
                lab.note(Kind::Note, format!("{who:<7} register(fd {fd}) -> Err({:?}: {e})", e.kind()));
                let ok = *backend == Backend::Select && e.kind() == io::ErrorKind::InvalidInput;
                let want = if *backend == Backend::Select {
                    "refused with InvalidInput (an fd_set has FD_SETSIZE bits)"
                } else {
                    "registered, and the byte reported"
                };
                lab.check(&format!("{who} and fd {fd}"), want, format!("Err({:?}) {}", e.kind(), errno_name(&e)), ok);
            }
        }
    }
    Ok(())
}

/// The numbers of idle fds `scaling` measures.
const SIZES: [usize; 3] = [10, 100, 1000];
/// Waits per batch, and batches per measure (the fastest batch counts: the
/// others were slowed by whatever else ran on the machine).
const BATCH: u32 = 100;
const BATCHES: usize = 5;

pub(crate) fn scaling(lab: &mut Lab) -> io::Result<()> {
    lab.setup(format!("N idle Unix datagram sockets (N = {SIZES:?}) and one Unix stream with a byte always unread"));
    lab.setup("all registered READABLE, Level, on a fresh poller of each backend; each wait returns that one ready fd");
    lab.setup(format!(
        "time per wait: the fastest of {BATCHES} batches of {BATCH} waits (a quick version of the benchmark)"
    ));
    raise_nofile(2 * SIZES[SIZES.len() - 1] as u64 + 64)?;
    let idle: Vec<UnixDatagram> =
        (0..SIZES[SIZES.len() - 1]).map(|_| UnixDatagram::unbound()).collect::<io::Result<_>>()?;
    let (mut writer, mut ready) = UnixStream::pair()?;
    writer.write_all(b"x")?;
    let mut idle = idle;
    let order = [Backend::Select, Backend::Poll, Backend::Epoll];
    let mut table: Vec<[Option<f64>; 3]> = Vec::new();
    for &n in &SIZES {
        let mut row = [None; 3];
        for (slot, &backend) in row.iter_mut().zip(&order) {
            *slot = measure(lab, backend, &mut ready, &mut idle[..n])?;
        }
        table.push(row);
    }
    print_table(lab, &table);
    judge(lab, &table);
    Ok(())
}

/// Microseconds per wait on `backend` with `idle` registered beside
/// `ready`; `None` if select can't watch one of the fds.
fn measure(
    lab: &mut Lab,
    backend: Backend,
    ready: &mut UnixStream,
    idle: &mut [UnixDatagram],
) -> io::Result<Option<f64>> {
    let mut poll = Poll::with_backend(backend)?;
    let registry = poll.registry().clone();
    registry.register(ready, Token(0), Interest::READABLE, Trigger::Level)?;
    let mut registered = 0;
    let mut refused = None;
    for (i, s) in idle.iter_mut().enumerate() {
        match registry.register(s, Token(i + 1), Interest::READABLE, Trigger::Level) {
            Ok(()) => registered += 1,
            Err(e) if backend == Backend::Select && e.kind() == io::ErrorKind::InvalidInput => {
                refused = Some(s.as_raw_fd());
                break;
            }
            Err(e) => return Err(e),
        }
    }
    let result = match refused {
        Some(fd) => {
            lab.note(Kind::Note, format!("select  N={}: fd {fd} is >= FD_SETSIZE: not measured", idle.len()));
            None
        }
        None => Some(time_waits(&mut poll)?),
    };
    for s in &mut idle[..registered] {
        registry.deregister(s)?;
    }
    registry.deregister(ready)?;
    Ok(result)
}

pub(crate) fn time_waits(poll: &mut Poll) -> io::Result<f64> {
    let mut events = Events::with_capacity(16);
    let mut wait = |events: &mut Events| -> io::Result<()> {
        poll.poll(events, Some(MUST))?;
        if events.len() != 1 || events.iter().any(|e| e.token() != Token(0)) {
            return Err(broken(format!("a wait returned {events:?}, not the one ready fd")));
        }
        Ok(())
    };
    for _ in 0..BATCH / 3 {
        wait(&mut events)?;
    }
    let mut best = Duration::MAX;
    for _ in 0..BATCHES {
        let start = Instant::now();
        for _ in 0..BATCH {
            wait(&mut events)?;
        }
        best = best.min(start.elapsed());
    }
    Ok(best.as_secs_f64() * 1e6 / f64::from(BATCH))
}

fn cell(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_string(), |us| format!("{us:.2}"))
}

fn print_table(lab: &mut Lab, table: &[[Option<f64>; 3]]) {
    lab.note(Kind::Note, format!("{:>6}  {:>11}  {:>11}  {:>11}", "N", "select µs", "poll µs", "epoll µs"));
    for (n, row) in SIZES.iter().zip(table) {
        lab.note(Kind::Note, format!("{n:>6}  {:>11}  {:>11}  {:>11}", cell(row[0]), cell(row[1]), cell(row[2])));
    }
}

/// Growth from the smallest N to the largest, for column `col`.
fn growth(table: &[[Option<f64>; 3]], col: usize) -> Option<f64> {
    Some(table.last()?[col]? / table.first()?[col]?)
}

fn judge(lab: &mut Lab, table: &[[Option<f64>; 3]]) {
    let (first, last) = (SIZES[0], SIZES[SIZES.len() - 1]);
    let poll = growth(table, 1).unwrap_or(0.0);
    let epoll = growth(table, 2).unwrap_or(f64::MAX);
    lab.check(
        &format!("poll from N={first} to N={last}"),
        "grows at least 3x (the whole array is passed and scanned on every wait)",
        format!("x{poll:.1}"),
        poll >= 3.0,
    );
    lab.check(
        &format!("epoll from N={first} to N={last}"),
        "grows less than half as much as poll (a wait costs O(ready))",
        format!("x{epoll:.1}"),
        epoll < poll / 2.0,
    );
    match growth(table, 0) {
        Some(select) => lab.note(Kind::Note, format!("select grew x{select:.1}, like poll (it scans every fd too)")),
        None => lab.note(Kind::Note, "select could not be measured at every N (fds >= FD_SETSIZE in this process)"),
    }
}
