//! What an experiment records ([`Lab`]) and what it hands back ([`Report`]):
//! the observations in the order they happened, the checks with their
//! verdicts, and the two renderings, for a person and as JSON.

use std::fmt::{self, Display, Write as _};
use std::io::Write as _;
use std::time::{Duration, Instant};

use eddy_poll::{Backend, Event, FlagNames};

use super::json;

/// What kind of thing an [`Observation`] saw.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An event returned by a wait.
    Event,
    /// A read (or an accept) and its result.
    Read,
    /// A write (or a shutdown, a close) and its result.
    Write,
    /// A TCP state read from `/proc/net/tcp`.
    State,
    /// Anything else worth telling: a registration, a timing, a child's exit.
    Note,
}

impl Kind {
    /// The lowercase name used in both renderings.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Event => "event",
            Kind::Read => "read",
            Kind::Write => "write",
            Kind::State => "state",
            Kind::Note => "note",
        }
    }
}

/// One thing the experiment saw, with the time since it started.
#[derive(Clone, Debug)]
pub struct Observation {
    /// Time since the experiment started.
    pub at: Duration,
    /// What kind of observation it is.
    pub kind: Kind,
    /// For a person: who did what, and the result.
    pub text: String,
    /// For an event: the token.
    pub token: Option<usize>,
    /// For an event: the raw epoll-style flags.
    pub raw: Option<u32>,
}

/// One claim of an experiment, checked.
#[derive(Clone, Debug)]
pub struct Check {
    /// What is claimed.
    pub claim: String,
    /// What the claim expects.
    pub expected: String,
    /// What was seen.
    pub seen: String,
    /// Whether what was seen satisfies the claim.
    pub ok: bool,
}

/// The outcome of an experiment.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every check held.
    Pass,
    /// A check failed, or the experiment could not run to its end.
    Fail,
}

impl Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
        })
    }
}

/// Everything one run of an experiment observed and concluded.
#[derive(Clone, Debug)]
pub struct Report {
    /// The experiment's name (`et-drain`, ...).
    pub name: &'static str,
    /// The backend it ran on, or `all` for the experiments that compare them.
    pub backend: String,
    /// The question the experiment answers.
    pub question: &'static str,
    /// How it is set up.
    pub setup: Vec<String>,
    /// What it saw, in order.
    pub observations: Vec<Observation>,
    /// Its claims, checked.
    pub checks: Vec<Check>,
    /// Why it could not finish (a bounded wait ran out, a syscall failed).
    pub error: Option<String>,
    /// PASS if every check held and nothing went wrong.
    pub verdict: Verdict,
}

impl Report {
    /// What the experiment expected: its claims, joined.
    pub fn expected(&self) -> String {
        join(self.checks.iter().map(|c| format!("{}: {}", c.claim, c.expected)))
    }

    /// What it saw: per claim, joined (and the error, if any).
    pub fn seen(&self) -> String {
        let mut seen = join(self.checks.iter().map(|c| format!("{}: {}", c.claim, c.seen)));
        if let Some(e) = &self.error {
            if !seen.is_empty() {
                seen.push_str("; ");
            }
            seen.push_str(&format!("error: {e}"));
        }
        seen
    }

    /// The whole report for a person, as `eddy lab NAME` prints it.
    pub fn render(&self) -> String {
        let mut out = header(self.name, &self.backend, self.question);
        for s in &self.setup {
            out.push_str(&setup_line(s));
        }
        for o in &self.observations {
            out.push_str(&observation_line(o));
        }
        for c in &self.checks {
            out.push_str(&check_line(c));
        }
        out.push_str(&self.verdict_line());
        out
    }

    /// The closing line: verdict, expected, seen.
    pub fn verdict_line(&self) -> String {
        let mut line =
            format!("verdict: {}\n  expected: {}\n  seen:     {}\n", self.verdict, self.expected(), self.seen());
        if self.verdict == Verdict::Fail {
            for c in self.checks.iter().filter(|c| !c.ok) {
                let _ = writeln!(line, "  failed:   {}: expected {}, seen {}", c.claim, c.expected, c.seen);
            }
        }
        line
    }

    /// One JSON object: name, backend, verdict, question, expected, seen,
    /// error, setup, checks and observations.
    pub fn to_json(&self) -> String {
        let mut o = json::Object::new();
        o.str("name", self.name);
        o.str("backend", &self.backend);
        o.str("verdict", &self.verdict.to_string());
        o.str("question", self.question);
        o.str("expected", &self.expected());
        o.str("seen", &self.seen());
        match &self.error {
            Some(e) => o.str("error", e),
            None => o.raw("error", "null"),
        }
        o.raw("setup", &json::array(self.setup.iter().map(|s| json::string(s))));
        o.raw("checks", &json::array(self.checks.iter().map(check_json)));
        o.raw("observations", &json::array(self.observations.iter().map(observation_json)));
        o.finish()
    }
}

fn join(parts: impl Iterator<Item = String>) -> String {
    parts.collect::<Vec<_>>().join("; ")
}

fn check_json(c: &Check) -> String {
    let mut o = json::Object::new();
    o.str("claim", &c.claim);
    o.str("expected", &c.expected);
    o.str("seen", &c.seen);
    o.raw("ok", if c.ok { "true" } else { "false" });
    o.finish()
}

fn observation_json(ob: &Observation) -> String {
    let mut o = json::Object::new();
    o.raw("t_ms", &format!("{:.3}", ob.at.as_secs_f64() * 1e3));
    o.str("kind", ob.kind.name());
    o.str("text", &ob.text);
    if let Some(t) = ob.token {
        o.raw("token", &t.to_string());
    }
    if let Some(r) = ob.raw {
        o.raw("raw", &r.to_string());
        o.str("raw_hex", &format!("{r:#x}"));
    }
    o.finish()
}

fn header(name: &str, backend: &str, question: &str) -> String {
    format!("== {name} ({backend}) ==\nquestion: {question}\n")
}

fn setup_line(s: &str) -> String {
    format!("setup:    {s}\n")
}

fn observation_line(o: &Observation) -> String {
    format!("  {:>9.3} ms  {:<5}  {}\n", o.at.as_secs_f64() * 1e3, o.kind.name(), o.text)
}

fn check_line(c: &Check) -> String {
    let mark = if c.ok { "ok" } else { "FAILED" };
    format!("check:    {}: expected {}; seen {} .. {mark}\n", c.claim, c.expected, c.seen)
}

/// An event for a person: token, the four bits an event loop acts on, and
/// the raw flags in hex and by name.
pub(crate) fn describe_event(e: &Event) -> String {
    let bits = [
        (e.is_readable(), "readable"),
        (e.is_writable(), "writable"),
        (e.is_read_closed(), "read-closed"),
        (e.is_write_closed(), "write-closed"),
        (e.is_error(), "error"),
    ];
    let on: Vec<&str> = bits.iter().filter(|(set, _)| *set).map(|(_, n)| *n).collect();
    format!("token={} [{}] raw={:#06x} ({})", e.token().0, on.join(" "), e.raw(), FlagNames(e.raw()))
}

/// An event as another thread saw it: described, with its token and raw
/// flags.
#[derive(Clone, Debug)]
pub(crate) struct SeenEvent {
    pub(crate) token: usize,
    pub(crate) raw: u32,
    pub(crate) text: String,
}

impl From<&Event> for SeenEvent {
    fn from(e: &Event) -> SeenEvent {
        SeenEvent { token: e.token().0, raw: e.raw(), text: describe_event(e) }
    }
}

/// The running record of one experiment, handed to its function.
pub(crate) struct Lab {
    /// The backend the experiment's pollers use.
    pub(crate) backend: Backend,
    /// The child process of the experiments that need one.
    pub(crate) child: Option<crate::ChildCommand>,
    start: Instant,
    /// Print each line as it is recorded (the CLI without `--json`).
    live: bool,
    setup: Vec<String>,
    observations: Vec<Observation>,
    checks: Vec<Check>,
}

impl Lab {
    pub(crate) fn new(backend: Backend, live: bool, child: Option<crate::ChildCommand>) -> Lab {
        Lab {
            backend,
            child,
            start: Instant::now(),
            live,
            setup: Vec::new(),
            observations: Vec::new(),
            checks: Vec::new(),
        }
    }

    /// Whether the backend emulates edge and oneshot triggering (poll,
    /// select) rather than leaving them to the kernel (epoll).
    pub(crate) fn emulated(&self) -> bool {
        self.backend != Backend::Epoll
    }

    fn emit(&self, line: &str) {
        if self.live {
            let mut out = std::io::stdout().lock();
            // A closed stdout is no reason to stop an experiment.
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        }
    }

    /// Prints the header (live mode) before the experiment starts.
    pub(crate) fn begin(&mut self, name: &str, backend: &str, question: &str) {
        self.start = Instant::now();
        self.emit(&header(name, backend, question));
    }

    /// Records a line of the set-up.
    pub(crate) fn setup(&mut self, text: impl Into<String>) {
        let text = text.into();
        self.emit(&setup_line(&text));
        self.setup.push(text);
    }

    fn push(&mut self, kind: Kind, text: String, token: Option<usize>, raw: Option<u32>) {
        let o = Observation { at: self.start.elapsed(), kind, text, token, raw };
        self.emit(&observation_line(&o));
        self.observations.push(o);
    }

    /// Records an observation.
    pub(crate) fn note(&mut self, kind: Kind, text: impl Into<String>) {
        self.push(kind, text.into(), None, None);
    }

    /// Records an event seen by `who`.
    pub(crate) fn event(&mut self, who: &str, e: &Event) {
        self.push(Kind::Event, format!("{who:<7} {}", describe_event(e)), Some(e.token().0), Some(e.raw()));
    }

    /// Records an event seen on another thread, already described there
    /// (an `Event` is not `Send`).
    pub(crate) fn event_from(&mut self, who: &str, seen: &SeenEvent) {
        self.push(Kind::Event, format!("{who:<7} {}", seen.text), Some(seen.token), Some(seen.raw));
    }

    /// Records a claim, what it expects, what was seen, and whether that
    /// satisfies it.
    pub(crate) fn check(&mut self, claim: &str, expected: impl Display, seen: impl Display, ok: bool) {
        let c = Check { claim: claim.to_string(), expected: expected.to_string(), seen: seen.to_string(), ok };
        self.emit(&check_line(&c));
        self.checks.push(c);
    }

    /// Ends the record: the report, with the verdict.
    pub(crate) fn finish(
        self,
        name: &'static str,
        backend: String,
        question: &'static str,
        error: Option<String>,
    ) -> Report {
        let ok = error.is_none() && !self.checks.is_empty() && self.checks.iter().all(|c| c.ok);
        let report = Report {
            name,
            backend,
            question,
            setup: self.setup,
            observations: self.observations,
            checks: self.checks,
            error,
            verdict: if ok { Verdict::Pass } else { Verdict::Fail },
        };
        if self.live {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(report.verdict_line().as_bytes());
            let _ = out.write_all(b"\n");
        }
        report
    }
}
