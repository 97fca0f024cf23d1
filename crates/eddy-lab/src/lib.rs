//! eddy-lab: what the kernel does under edge, level and oneshot triggering,
//! and around FIN, RST and close, each shown by a program that runs it for
//! real on loopback, prints what happened and asserts it.
//!
//! The `eddy lab` command is this crate's front end (the CLI parses the
//! arguments into a [`Request`] and calls [`command`]): `eddy lab` lists the
//! experiments, `eddy lab NAME` runs one, `eddy lab --all` runs every one
//! and exits non-zero if any verdict fails; `--json` prints
//! machine-readable results (one object, or an array with `--all`);
//! `--backend epoll|poll|select` picks the poller where the experiment means
//! something on more than one. The test suite (`tests/lab.rs`) runs every
//! experiment through [`run_with`].
//!
//! # How an experiment is built
//!
//! Each experiment is a function of a `Lab` record (`record.rs`), in one
//! file per family (`trigger`, `close`, `readiness`, `delay`, `herd`,
//! `limits`, `sigpipe`, `fairness`). It states its question (in
//! [`EXPERIMENTS`]) and its set-up, then acts and records, in order, every
//! event (token, the readable / writable / read-closed / write-closed /
//! error bits, the raw flags in hex and by name), every read and write with
//! its size and result, and the TCP state from `/proc/net/tcp` where it
//! matters. Each claim is a *check*: what is expected, what was seen, ok or
//! not. The verdict is PASS when every check holds and the experiment ran to
//! its end; a wait that ran out, or a syscall that failed, is a FAIL that
//! says so.
//!
//! It uses eddy-poll's public API; raw syscalls (through rustix) only where
//! the experiment is about the raw syscall: a plain `write(2)` for
//! `sigpipe`, raising the fd limit and `dup` for `select-limit`.
//!
//! `sigpipe` runs part of itself in a child process, a program that calls
//! [`child_main`] with the mode it is given: see [`ChildCommand`].
//!
//! # Waiting, and what verdicts tolerate
//!
//! Nothing sleeps to synchronize: every wait is for an event (or a child,
//! or a message from a thread) and is bounded. What must happen may take up
//! to 5 s (it returns as soon as it happens, so a loaded machine only makes
//! it slower); what must not happen is watched for 100 ms, and only an
//! actual event in that window fails a check, never slowness. Two
//! preconditions have no event to wait for, and are polled instead,
//! yielding the CPU in between and bounded likewise: `listener-edge` must
//! know that every connection is in the accept queue (it re-reads the
//! kernel's count in `/proc/net/tcp`), and `fairness` that the small peers'
//! bytes are in the server's receive queues before a turn (it peeks).
//!
//! Where the kernel may legitimately vary, the check accepts every
//! behaviour it documents and the experiment says why: a wait that returns
//! no event (a spurious wake-up) is waited through; a reset shows as
//! `ECONNRESET` or as `EPIPE` depending on the state it found the socket
//! in, and a reset that comes after a FIN reads as EOF (the next write
//! fails); `EPOLLEXCLUSIVE` wakes "one or more" waiters; two wake-ups of a
//! socket may merge into one edge; events that complete in one late turn
//! come in the poller's order. On poll and select, edge and oneshot
//! triggering are emulated by eddy (see `eddy_poll::Trigger`), and select
//! has no read-closed bit: where that changes what is seen, the experiment
//! expects what the emulation documents and says so.

#![forbid(unsafe_code)]

mod close;
mod delay;
mod fairness;
mod herd;
mod json;
mod limits;
mod readiness;
mod record;
mod scaling;
mod sigpipe;
mod tcpstate;
mod trigger;
mod util;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use eddy_poll::Backend;

pub use record::{Check, Kind, Observation, Report, Verdict};
pub use scaling::{SCALING_SIZES, ScalingPoint, scaling_curve};

/// What `eddy lab` was asked to do (the CLI parses its arguments into
/// this).
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// The experiment to run; without it (and without `all`), list them.
    pub name: Option<String>,
    /// Run every experiment; a failed verdict makes the exit code non-zero.
    pub all: bool,
    /// Print machine-readable results: one JSON object, or an array with
    /// `all`.
    pub json: bool,
    /// The poller (default: the experiment's first; with `all`,
    /// experiments that mean nothing on it are skipped).
    pub backend: Option<Backend>,
    /// The child process of the experiments that need one (`None`:
    /// [`ChildCommand::eddy_lab`] of this process's executable).
    pub child: Option<ChildCommand>,
}

/// How an experiment starts its child process: `program args... MODE`,
/// where the program hands `MODE` to [`child_main`] and exits with the code
/// it returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildCommand {
    /// The program.
    pub program: PathBuf,
    /// The arguments before the mode.
    pub args: Vec<String>,
}

impl ChildCommand {
    /// `program lab --child MODE`: the shape of the `eddy` command.
    pub fn eddy_lab(program: PathBuf) -> ChildCommand {
        ChildCommand { program, args: vec!["lab".to_string(), "--child".to_string()] }
    }

    /// This process's own executable, as the `eddy` command.
    ///
    /// # Errors
    ///
    /// The path of the executable cannot be read.
    pub fn current_eddy() -> io::Result<ChildCommand> {
        Ok(ChildCommand::eddy_lab(std::env::current_exe()?))
    }
}

/// On which backends an experiment runs.
#[derive(Copy, Clone, Debug)]
pub enum Backends {
    /// On any of these, chosen with `--backend`; the first is the default.
    Each(&'static [Backend]),
    /// The experiment compares the backends itself; `--backend` is ignored.
    Compares,
}

const ALL: &[Backend] = &Backend::ALL;
const EPOLL: &[Backend] = &[Backend::Epoll];

/// One experiment: its name, its question, where it runs, and its program.
pub struct Experiment {
    /// The name `eddy lab NAME` takes.
    pub name: &'static str,
    /// The question it answers.
    pub question: &'static str,
    /// The backends it means something on.
    pub backends: Backends,
    run: fn(&mut record::Lab) -> io::Result<()>,
}

impl Experiment {
    /// Whether it runs on `backend`.
    pub fn supports(&self, backend: Backend) -> bool {
        match self.backends {
            Backends::Each(list) => list.contains(&backend),
            Backends::Compares => true,
        }
    }

    /// The backend it runs on by default.
    pub fn default_backend(&self) -> Backend {
        match self.backends {
            Backends::Each(list) => list.first().copied().unwrap_or_default(),
            Backends::Compares => Backend::Epoll,
        }
    }
}

impl std::fmt::Debug for Experiment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Experiment").field("name", &self.name).field("backends", &self.backends).finish()
    }
}

macro_rules! experiment {
    ($name:literal, $backends:expr, $run:path, $question:literal) => {
        Experiment { name: $name, question: $question, backends: $backends, run: $run }
    };
}

/// Every experiment, in the order `eddy lab` lists them.
pub const EXPERIMENTS: &[Experiment] = &[
    experiment!(
        "et-drain",
        Backends::Each(ALL),
        trigger::et_drain,
        "Edge-triggered, reading 16 bytes at a time: how many events and reads does a 20-byte arrival take?"
    ),
    experiment!(
        "et-partial",
        Backends::Each(ALL),
        trigger::et_partial,
        "Edge-triggered, one 16-byte read per event: is there an event for the 4 bytes left?"
    ),
    experiment!(
        "lt-partial",
        Backends::Each(ALL),
        trigger::lt_partial,
        "Level-triggered, one 16-byte read per event: is the rest reported, and how does the peer's close look?"
    ),
    experiment!(
        "oneshot",
        Backends::Each(ALL),
        trigger::oneshot,
        "Oneshot: what is reported after the first event, and what happens to what is left unread?"
    ),
    experiment!(
        "close-wait",
        Backends::Each(ALL),
        close::close_wait,
        "What does a server that never closes after the peer's FIN leave behind?"
    ),
    experiment!(
        "rst-on-unread",
        Backends::Each(ALL),
        close::rst_on_unread,
        "What does the peer see when a socket is closed with unread data, and when it is drained and shut down first?"
    ),
    experiment!(
        "double-eof",
        Backends::Each(ALL),
        close::double_eof,
        "How many EOF notifications does an edge-triggered client get after its server closes?"
    ),
    experiment!(
        "delayed-requests",
        Backends::Each(ALL),
        delay::delayed_requests,
        "Five requests on one poller, answered after 5, 4, 3, 2, 1 units: in which order do they come back, and what does dropping them do?"
    ),
    experiment!(
        "epollout-storm",
        Backends::Each(ALL),
        readiness::epollout_storm,
        "What does writable interest on an idle connected socket cost under level and edge triggering?"
    ),
    experiment!(
        "listener-edge",
        Backends::Each(ALL),
        readiness::listener_edge,
        "Several connections arrive together: how many does one accept per event take, edge- and level-triggered?"
    ),
    experiment!(
        "thundering-herd",
        Backends::Each(EPOLL),
        herd::thundering_herd,
        "Four threads each wait on their own epoll watching one listener: how many wake per connection?"
    ),
    experiment!(
        "select-limit",
        Backends::Compares,
        limits::select_limit,
        "Can each backend watch a file descriptor at or above FD_SETSIZE (1024)?"
    ),
    experiment!(
        "scaling",
        Backends::Compares,
        limits::scaling,
        "How does the time of one wait grow with the number of idle descriptors, for select, poll and epoll?"
    ),
    experiment!(
        "sigpipe",
        Backends::Each(EPOLL),
        sigpipe::sigpipe,
        "What does writing to a reset peer do with SIGPIPE at its default action: plainly, and through eddy?"
    ),
    experiment!(
        "half-close",
        Backends::Each(ALL),
        close::half_close,
        "How does the peer's shutdown(Write) show, and can we still write to it?"
    ),
    experiment!(
        "user-readiness",
        Backends::Each(ALL),
        readiness::user_readiness,
        "Is readiness set from another thread delivered, and in the trigger mode of its registration?"
    ),
    experiment!(
        "fairness",
        Backends::Each(EPOLL),
        fairness::fairness,
        "One peer floods, ten send a little: who is served in a turn, reading until WouldBlock or with a budget?"
    ),
];

/// The experiment named `name`.
pub fn find(name: &str) -> Option<&'static Experiment> {
    EXPERIMENTS.iter().find(|e| e.name == name)
}

/// How [`run_with`] runs an experiment.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The backend (`None`: the experiment's default).
    pub backend: Option<Backend>,
    /// Print every line to stdout as it is recorded.
    pub live: bool,
    /// The child process of the experiments that need one (`None`:
    /// [`ChildCommand::current_eddy`]).
    pub child: Option<ChildCommand>,
}

/// Runs the experiment `name` on `backend`, printing nothing.
///
/// # Errors
///
/// `NotFound` for an unknown name; `Unsupported` if the experiment means
/// nothing on `backend`. A failed experiment is a [`Report`] with a FAIL
/// verdict, not an error.
pub fn run(name: &str, backend: Backend) -> io::Result<Report> {
    run_with(name, &Options { backend: Some(backend), ..Options::default() })
}

/// Runs the experiment `name` as `options` say.
///
/// # Errors
///
/// As [`run`].
pub fn run_with(name: &str, options: &Options) -> io::Result<Report> {
    let exp =
        find(name).ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no experiment named {name:?}")))?;
    let backend = options.backend.unwrap_or(exp.default_backend());
    if !exp.supports(backend) {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("{} means something only on {}", exp.name, backend_list(exp)),
        ));
    }
    let label = match exp.backends {
        Backends::Compares => "all".to_string(),
        Backends::Each(_) => backend.name().to_string(),
    };
    let mut lab = record::Lab::new(backend, options.live, options.child.clone());
    lab.begin(exp.name, &label, exp.question);
    let error = (exp.run)(&mut lab).err().map(|e| format!("{} ({:?})", e, e.kind()));
    Ok(lab.finish(exp.name, label, exp.question, error))
}

fn backend_list(exp: &Experiment) -> String {
    match exp.backends {
        Backends::Each(list) => list.iter().map(|b| b.name()).collect::<Vec<_>>().join(", "),
        Backends::Compares => "every backend (it compares them)".to_string(),
    }
}

/// The listing `eddy lab` prints.
pub fn listing() -> String {
    let mut out = String::from("experiments (eddy lab NAME [--backend B] [--json], or eddy lab --all):\n");
    for e in EXPERIMENTS {
        out.push_str(&format!("  {:<17} [{}] {}\n", e.name, backend_list(e), e.question));
    }
    out
}

/// The child side of an experiment that runs one (`MODE` of
/// [`ChildCommand`]): its exit code is the child's; an unknown mode is 2.
pub fn child_main(mode: &str) -> ExitCode {
    sigpipe::child_main(mode)
}

/// What `eddy lab` does, as [`command`] reports it.
#[derive(Debug)]
pub enum Outcome {
    /// Every verdict passed (or the listing was printed).
    Pass,
    /// At least one verdict failed.
    Fail,
}

/// Runs `eddy lab` as `req` says: the listing, one experiment, or every
/// one; reports and verdicts go to `out` (a skipped experiment is noted on
/// `note`).
///
/// # Errors
///
/// `NotFound` for an unknown experiment (its message ends with the
/// listing); `Unsupported` if it means nothing on the backend; an error
/// writing to `out`. A failed verdict is [`Outcome::Fail`], not an error.
pub fn command(req: &Request, out: &mut dyn Write, note: &mut dyn Write) -> io::Result<Outcome> {
    let outcome = match (&req.name, req.all) {
        (Some(name), _) => run_one(out, name, req)?,
        (None, true) => run_all(out, note, req)?,
        (None, false) => {
            out.write_all(listing().as_bytes())?;
            Outcome::Pass
        }
    };
    out.flush()?;
    Ok(outcome)
}

fn options(req: &Request, backend: Option<Backend>) -> Options {
    Options { backend, live: !req.json, child: req.child.clone() }
}

fn outcome(reports: &[Report]) -> Outcome {
    if reports.iter().all(|r| r.verdict == Verdict::Pass) { Outcome::Pass } else { Outcome::Fail }
}

fn run_one(out: &mut dyn Write, name: &str, req: &Request) -> io::Result<Outcome> {
    let report = run_with(name, &options(req, req.backend)).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            io::Error::new(e.kind(), format!("{e}\n{}", listing().trim_end()))
        } else {
            e
        }
    })?;
    if req.json {
        writeln!(out, "{}", report.to_json())?;
    }
    Ok(outcome(&[report]))
}

fn run_all(out: &mut dyn Write, note: &mut dyn Write, req: &Request) -> io::Result<Outcome> {
    let mut reports = Vec::new();
    for exp in EXPERIMENTS {
        if let Some(b) = req.backend.filter(|b| !exp.supports(*b)) {
            writeln!(note, "eddy lab: skipping {}: it means nothing on {b}", exp.name)?;
            continue;
        }
        let report = run_with(exp.name, &options(req, req.backend))
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", exp.name)))?;
        reports.push(report);
    }
    if req.json {
        writeln!(out, "{}", json::array(reports.iter().map(Report::to_json)))?;
    } else {
        writeln!(out, "== summary ==")?;
        for r in &reports {
            writeln!(out, "  {:<4} {:<17} ({})", r.verdict.to_string(), r.name, r.backend)?;
        }
    }
    Ok(outcome(&reports))
}
