//! Writing to a reset peer returns `EPIPE` (after one `ECONNRESET`) and
//! never raises `SIGPIPE`, even with `SIGPIPE` at its default action.
//!
//! The Rust runtime ignores `SIGPIPE`, so a test in this process could not
//! tell. Each case re-executes this test binary as a child that restores
//! the default action first. The second child does a plain `write(2)` on
//! the same kind of socket and must die of `SIGPIPE`: that proves the
//! first child would have died too, had eddy's writes raised it.
//!
//! The behaviour belongs to the socket, not to the backend, so this runs
//! once, on epoll (which only waits for the reset to arrive).

mod util;

use std::io::{ErrorKind, Write};
use std::os::fd::AsFd;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use eddy_poll::net::TcpStream;
use eddy_poll::signal::{self, Signal};
use eddy_poll::{Backend, Interest, Token, Trigger};
use util::{Readiness, expect_event, poller, tcp_pair};

const EPIPE_SEEN: &str = "child: EPIPE seen";
const ABOUT_TO_WRITE: &str = "child: plain write(2) next";

/// A connected stream whose peer has reset the connection, the RST
/// received (awaited through a poll).
fn reset_stream() -> TcpStream {
    let (mut poll, mut events) = poller(Backend::Epoll, 8);
    let (client, mut server) = tcp_pair();
    poll.registry().register(&mut server, Token(1), Interest::READABLE, Trigger::Level).unwrap();
    client.set_linger(Some(Duration::ZERO)).unwrap();
    drop(client);
    expect_event(&mut poll, &mut events, Token(1), Readiness::READ_CLOSED);
    poll.registry().deregister(&mut server).unwrap();
    server
}

/// Writes with eddy until `EPIPE`; the first write may report the pending
/// `ECONNRESET` instead.
fn write_until_epipe(stream: &TcpStream) {
    for attempt in 0..3 {
        match (&*stream).write(b"into the void") {
            Err(e) if e.kind() == ErrorKind::BrokenPipe => return,
            Err(e) if e.kind() == ErrorKind::ConnectionReset && attempt == 0 => {}
            other => panic!("write {attempt} to a reset peer: {other:?}"),
        }
    }
    panic!("no EPIPE after 3 writes");
}

#[test]
fn writes_to_a_reset_peer_return_epipe_without_sigpipe() {
    match util::child_role().as_deref() {
        Some("eddy-write") => {
            signal::restore_default(Signal::PIPE).unwrap();
            let stream = reset_stream();
            write_until_epipe(&stream);
            // A second eddy write: EPIPE again, still alive.
            assert_eq!((&stream).write(b"x").unwrap_err().kind(), ErrorKind::BrokenPipe);
            util::say(EPIPE_SEEN);
            return;
        }
        Some("plain-write") => {
            signal::restore_default(Signal::PIPE).unwrap();
            let stream = reset_stream();
            // Consume the pending error first (a pending ECONNRESET is
            // returned without a signal), then write(2) without
            // MSG_NOSIGNAL: SIGPIPE at its default action ends the process.
            write_until_epipe(&stream);
            let mut file = std::fs::File::from(stream.as_fd().try_clone_to_owned().unwrap());
            util::say(ABOUT_TO_WRITE);
            let result = file.write(b"into the void");
            panic!("a plain write(2) to a reset peer returned {result:?} instead of raising SIGPIPE");
        }
        Some(other) => panic!("unknown child role {other}"),
        None => {}
    }

    const NAME: &str = "writes_to_a_reset_peer_return_epipe_without_sigpipe";
    let eddy = util::run_child(NAME, "eddy-write");
    assert!(
        eddy.status.success() && util::stdout_has(&eddy, EPIPE_SEEN),
        "eddy's write: child {:?}\nstdout: {}\nstderr: {}",
        eddy.status,
        String::from_utf8_lossy(&eddy.stdout),
        String::from_utf8_lossy(&eddy.stderr)
    );

    let plain = util::run_child(NAME, "plain-write");
    assert!(util::stdout_has(&plain, ABOUT_TO_WRITE), "plain write: child did not get to the write: {plain:?}");
    assert_eq!(
        plain.status.signal(),
        Some(Signal::PIPE.raw()),
        "plain write(2): the child must die of SIGPIPE; {:?}\nstderr: {}",
        plain.status,
        String::from_utf8_lossy(&plain.stderr)
    );
}
