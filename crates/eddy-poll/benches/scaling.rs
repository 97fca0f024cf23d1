//! Cost of one wait against the number of registrations, per backend.
//!
//! The bed, for a backend and a number N: N idle registrations (both ends of
//! N/2 Unix socket pairs, nothing written, level-triggered `READABLE`) and
//! one ready one (a socket with one unread byte, level-triggered
//! `READABLE`), so every `poll(Some(Duration::ZERO))` returns exactly one
//! event. Measured: one such wait, in ns. epoll keeps the interest list in
//! the kernel and should be flat in N; poll(2) and select(2) pass the whole
//! set on every wait and should grow linearly.
//!
//! Both ends of a pair are registered so that N = 10,000 needs about 10,000
//! fds, not 20,000; the soft `RLIMIT_NOFILE` is raised to the hard one when
//! it is too low. select(2) runs only where every fd of the bed stays below
//! `FD_SETSIZE` (1024); a bed that does not fit is skipped, and said so.
//!
//! ```text
//! cargo bench -p eddy-poll --bench scaling -- --warm-up-time 1 --measurement-time 5
//! ```

use std::hint::black_box;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, PlotConfiguration};
use eddy_poll::net::UnixStream;
use eddy_poll::{Backend, Events, FD_SETSIZE, Interest, Poll, Token, Trigger};
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// The numbers of idle registrations.
const SIZES: [usize; 4] = [10, 100, 1_000, 10_000];

/// The token of the one ready registration; idle ones are `Token(0..N)`.
const READY: Token = Token(1 << 40);

/// Fds a bed needs beyond its N idle ones: the ready pair, the poller and
/// its notifier, stdio and criterion's own files, with room to spare.
const SPARE_FDS: u64 = 64;

/// One poller with N idle registrations and one ready one.
struct Bed {
    poll: Poll,
    events: Events,
    /// Kept open: closing them would remove them from the interest list.
    _idle: Vec<UnixStream>,
    /// `.1` is registered and holds one unread byte; `.0` is the writer.
    _ready: (UnixStream, UnixStream),
}

impl Bed {
    /// The bed for `backend` and `n` idle registrations; `None` on select
    /// when one of its fds would be at or above `FD_SETSIZE`.
    fn new(backend: Backend, n: usize) -> io::Result<Option<Bed>> {
        // The poller first, so that its own fds are the lowest.
        let poll = Poll::with_backend(backend)?;
        let mut idle = Vec::with_capacity(n);
        for _ in 0..n.div_ceil(2) {
            let (a, b) = UnixStream::pair()?;
            idle.push(a);
            idle.push(b);
        }
        idle.truncate(n);
        let (mut writer, mut reader) = UnixStream::pair()?;
        let highest = idle.iter().chain([&writer, &reader]).map(AsRawFd::as_raw_fd).max().unwrap_or(0);
        if backend == Backend::Select && !usize::try_from(highest).is_ok_and(|fd| fd < FD_SETSIZE) {
            return Ok(None);
        }
        for (i, s) in idle.iter_mut().enumerate() {
            poll.registry().register(s, Token(i), Interest::READABLE, Trigger::Level)?;
        }
        poll.registry().register(&mut reader, READY, Interest::READABLE, Trigger::Level)?;
        writer.write_all(b"x")?;
        let mut bed = Bed { poll, events: Events::with_capacity(64), _idle: idle, _ready: (writer, reader) };
        bed.check()?;
        Ok(Some(bed))
    }

    /// One wait that must not block.
    #[inline]
    fn wait(&mut self) -> io::Result<usize> {
        self.poll.poll(&mut self.events, Some(Duration::ZERO))?;
        Ok(self.events.len())
    }

    /// The workload is what it claims: every wait reports the ready
    /// registration, and only it (level-triggered, so also the second time).
    fn check(&mut self) -> io::Result<()> {
        for _ in 0..2 {
            self.wait()?;
            let tokens: Vec<Token> = self.events.iter().map(|e| e.token()).collect();
            assert_eq!(tokens, [READY], "{}: one wait must report exactly the ready socket", self.poll.backend());
        }
        Ok(())
    }
}

/// Raises the soft `RLIMIT_NOFILE` to at least `needed` fds if the hard
/// limit allows; returns whether the limit is now high enough.
fn ensure_nofile(needed: u64) -> bool {
    let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
    if current.is_none_or(|c| c >= needed) {
        return true;
    }
    if maximum.is_some_and(|m| m < needed) {
        return false;
    }
    setrlimit(Resource::Nofile, Rlimit { current: Some(needed), maximum }).is_ok()
}

/// Tells on stderr why a size is left out (a benchmark's report, not
/// library output).
#[allow(clippy::print_stderr)]
fn skip(backend: Backend, n: usize, why: &str) {
    eprintln!("scaling: {backend} with N = {n} skipped: {why}");
}

fn scaling(c: &mut Criterion) {
    for backend in Backend::ALL {
        let mut group = c.benchmark_group(format!("wait_one_ready/{backend}"));
        group.plot_config(PlotConfiguration::default().summary_scale(criterion::AxisScale::Logarithmic));
        for n in SIZES {
            if !ensure_nofile(n as u64 + SPARE_FDS) {
                skip(backend, n, "RLIMIT_NOFILE's hard limit is too low");
                continue;
            }
            let mut bed = match Bed::new(backend, n) {
                Ok(Some(bed)) => bed,
                Ok(None) => {
                    skip(backend, n, "an fd would be at or above FD_SETSIZE (1024)");
                    continue;
                }
                Err(e) => panic!("{backend}, N = {n}: setting up the bed failed: {e}"),
            };
            group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
                b.iter(|| black_box(bed.wait().expect("a zero-timeout wait")));
            });
        }
        group.finish();
    }
}

// What `criterion_group!` / `criterion_main!` expand to, written out: the
// macros' `pub fn` has no doc, which the workspace's `missing_docs` refuses.
fn main() {
    let mut c = Criterion::default().configure_from_args();
    scaling(&mut c);
    c.final_summary();
}
