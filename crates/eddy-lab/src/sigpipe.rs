//! `sigpipe`: with SIGPIPE at its default action, a plain `write(2)` to a
//! reset peer kills the process; the same write through eddy returns
//! `EPIPE`. Both run in a child process (by default this binary as `eddy
//! lab --child sigpipe-plain|sigpipe-eddy`; see [`crate::ChildCommand`]),
//! since one of them must die.
//!
//! Why a write *after* the reset was seen: the RST leaves `ECONNRESET` as
//! the socket's pending error, and the first call to look at it (here the
//! read that sees the reset) takes it. From then on the socket is shut in
//! both directions, and a write fails with `EPIPE`, raising SIGPIPE unless
//! `MSG_NOSIGNAL` is given. Had nothing taken the error, the first write
//! would return `ECONNRESET` without a signal; so the child writes up to
//! three times, and reports each result it lives to see.

use std::io::{self, Read as _, Write as _};
use std::net::Shutdown;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitCode, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use eddy_poll::signal::{self, Signal};
use eddy_poll::{Events, Interest, Poll, Token, Trigger};

use super::record::{Kind, Lab, SeenEvent, describe_event};
use super::util::{MUST, broken, errno_name, tcp_pair, timed_out};

const PLAIN: &str = "sigpipe-plain";
const EDDY: &str = "sigpipe-eddy";

pub(crate) fn sigpipe(lab: &mut Lab) -> io::Result<()> {
    lab.setup("two child processes (this binary, `eddy lab --child MODE`), each restoring SIGPIPE's default action");
    lab.setup("in each: a loopback connection; the server resets it (SO_LINGER 0, close); the client reads the reset,");
    lab.setup(
        "then writes one byte, up to three times: plain write(2) in one child, eddy's TcpStream::write in the other",
    );
    let child = match lab.child.clone() {
        Some(child) => child,
        None => crate::ChildCommand::current_eddy()?,
    };
    lab.note(Kind::Note, format!("child binary: {} {}", child.program.display(), child.args.join(" ")));

    let plain = run_child(lab, &child, PLAIN)?;
    lab.check(
        "plain write(2)",
        "the child killed by signal 13 (SIGPIPE)",
        describe_status(plain.0),
        plain.0.signal() == Some(13),
    );
    let eddy = run_child(lab, &child, EDDY)?;
    let epipe = eddy.1.iter().any(|l| l.contains("write(1) -> Err(EPIPE)"));
    lab.check(
        "eddy write",
        "Err(EPIPE), and the child exits normally",
        format!("{}, {}", if epipe { "Err(EPIPE)" } else { "no EPIPE" }, describe_status(eddy.0)),
        epipe && eddy.0.code() == Some(0),
    );
    Ok(())
}

fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(13)) => "killed by signal 13 (SIGPIPE)".to_string(),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        (None, None) => format!("{status}"),
    }
}

/// Runs one child, bounded; records its lines; returns its status and
/// its lines.
fn run_child(lab: &mut Lab, command: &crate::ChildCommand, mode: &str) -> io::Result<(ExitStatus, Vec<String>)> {
    let child = Command::new(&command.program)
        .args(&command.args)
        .arg(mode)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    lab.note(Kind::Note, format!("spawned child {pid}: {mode}"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    let output = match rx.recv_timeout(2 * MUST) {
        Ok(output) => output?,
        Err(_) => {
            if let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
            return Err(timed_out("the child process"));
        }
    };
    let mut lines = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let (kind, text) = line.split_once('\t').unwrap_or(("note", line));
        match kind {
            "event" => match parse_event(text) {
                Some(seen) => lab.event_from("child", &seen),
                None => lab.note(Kind::Note, format!("child   {text}")),
            },
            "read" => lab.note(Kind::Read, format!("child   {text}")),
            "write" => lab.note(Kind::Write, format!("child   {text}")),
            _ => lab.note(Kind::Note, format!("child   {text}")),
        }
        lines.push(text.to_string());
    }
    for line in String::from_utf8_lossy(&output.stderr).lines() {
        lab.note(Kind::Note, format!("child   stderr: {line}"));
    }
    lab.note(Kind::Note, format!("child   {}", describe_status(output.status)));
    Ok((output.status, lines))
}

/// An event line of the child: `token<TAB>raw<TAB>text`.
fn parse_event(text: &str) -> Option<SeenEvent> {
    let mut f = text.splitn(3, '\t');
    let token = f.next()?.parse().ok()?;
    let raw = f.next()?.parse().ok()?;
    Some(SeenEvent { token, raw, text: f.next()?.to_string() })
}

/// One line to the parent, flushed at once (the next call may kill us).
fn say(kind: &str, text: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{kind}\t{text}");
    let _ = out.flush();
}

/// The child's side of `sigpipe`.
pub(crate) fn child_main(mode: &str) -> ExitCode {
    let plain = match mode {
        PLAIN => true,
        EDDY => false,
        _ => {
            let _ = writeln!(io::stderr(), "eddy lab: unknown child mode {mode:?}");
            return ExitCode::from(2);
        }
    };
    match child_run(plain) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say("note", &format!("error: {e}"));
            ExitCode::FAILURE
        }
    }
}

fn child_run(plain: bool) -> io::Result<()> {
    signal::restore_default(Signal::PIPE)?;
    say("note", "SIGPIPE restored to its default action (terminate)");
    let (client, server) = tcp_pair()?;
    server.set_linger(Some(Duration::ZERO))?;
    drop(server);
    say("write", "server  close() with SO_LINGER 0 -> RST");
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(4);
    let mut fd = eddy_poll::SourceFd(std::os::fd::AsFd::as_fd(&client));
    poll.registry().register(&mut fd, Token(1), Interest::READABLE, Trigger::Level)?;
    poll.poll(&mut events, Some(MUST))?;
    let e = events.iter().next().ok_or_else(|| timed_out("the reset's event"))?;
    say("event", &format!("{}\t{}\tclient  {}", e.token().0, e.raw(), describe_event(e)));
    let mut buf = [0u8; 16];
    let read = (&client).read(&mut buf);
    say("read", &format!("client  read(16) -> {}", result(&read)));
    for _ in 0..3 {
        let how = if plain { "plain write(2)" } else { "eddy TcpStream::write (MSG_NOSIGNAL)" };
        say("write", &format!("client  {how} of 1 byte..."));
        let r = if plain { rustix::io::write(&client, b"x").map_err(io::Error::from) } else { (&client).write(b"x") };
        say("write", &format!("client  write(1) -> {}", result(&r)));
        if matches!(&r, Err(e) if e.kind() == io::ErrorKind::BrokenPipe) {
            return Ok(());
        }
    }
    // Not reached if the kernel behaves as documented; the parent says so.
    let _ = client.shutdown(Shutdown::Both);
    Err(broken("three writes to a reset peer and no EPIPE"))
}

fn result(r: &io::Result<usize>) -> String {
    match r {
        Ok(0) => "0".to_string(),
        Ok(n) => n.to_string(),
        Err(e) => format!("Err({})", errno_name(e)),
    }
}
