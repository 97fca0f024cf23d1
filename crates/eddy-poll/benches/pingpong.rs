//! One byte back and forth through the poller: eddy's epoll `Poll` against
//! mio 1.x, the same workload on both, in one criterion group so that the
//! ratio comes from one run.
//!
//! The workload, on one thread: two connected Unix stream sockets `a` and
//! `b` (`socketpair`; a Unix pair has less kernel noise than TCP loopback),
//! both registered `READABLE` and edge-triggered with the same poller
//! (eddy: `Trigger::Edge`; mio: its only mode, edge). One round trip:
//!
//! 1. write 1 byte on `a`;
//! 2. poll until an event for `b` arrives;
//! 3. read `b` until a read is short or returns `WouldBlock` (what edge
//!    triggering asks; with a 64-byte buffer, the first read of 1 byte is
//!    short, so this is one read);
//! 4. write 1 byte on `b`, poll until `a` is readable, read `a` the same way.
//!
//! So one round trip is 6 syscalls on both sides: 2 `sendto(MSG_NOSIGNAL)`,
//! 2 `recvfrom` and 2 waits (eddy: `epoll_pwait` through rustix; mio:
//! `epoll_wait` through glibc). `examples/pingpong.rs` runs the same loop
//! for a fixed count, to count its syscalls with `strace -c`.
//!
//! Two groups: waits with no timeout (`None`), and waits with a 1 s timeout,
//! as an event loop with a timer pending passes (never reached here).
//!
//! ```text
//! cargo bench -p eddy-poll --bench pingpong -- --warm-up-time 1 --measurement-time 5
//! ```

use std::io::{self, Read, Write};
use std::time::Duration;

use criterion::Criterion;

/// Writes one byte; a one-byte send to an idle socket never blocks.
#[inline]
fn send_one(mut w: impl Write) {
    assert_eq!(w.write(&[1]).expect("send one byte"), 1);
}

/// Reads until a read is short or would block (an edge-triggered reader's
/// duty); a 64-byte buffer makes the read of the one waiting byte short.
#[inline]
fn drain(mut r: impl Read) {
    let mut buf = [0u8; 64];
    loop {
        match r.read(&mut buf) {
            Ok(n) if n < buf.len() => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) => panic!("read: {e}"),
        }
    }
}

mod eddy {
    use std::time::Duration;

    use eddy_poll::net::UnixStream;
    use eddy_poll::{Events, Interest, Poll, Token, Trigger};

    const A: Token = Token(0);
    const B: Token = Token(1);

    pub(crate) struct Bed {
        poll: Poll,
        events: Events,
        a: UnixStream,
        b: UnixStream,
        timeout: Option<Duration>,
    }

    impl Bed {
        pub(crate) fn new(timeout: Option<Duration>) -> std::io::Result<Bed> {
            let poll = Poll::new()?;
            let (mut a, mut b) = UnixStream::pair()?;
            poll.registry().register(&mut a, A, Interest::READABLE, Trigger::Edge)?;
            poll.registry().register(&mut b, B, Interest::READABLE, Trigger::Edge)?;
            Ok(Bed { poll, events: Events::with_capacity(64), a, b, timeout })
        }

        /// Polls until an event for `token` arrives.
        #[inline]
        fn wait_for(&mut self, token: Token) {
            loop {
                self.poll.poll(&mut self.events, self.timeout).expect("poll");
                if self.events.iter().any(|e| e.token() == token) {
                    return;
                }
            }
        }

        #[inline]
        pub(crate) fn round_trip(&mut self) {
            super::send_one(&self.a);
            self.wait_for(B);
            super::drain(&self.b);
            super::send_one(&self.b);
            self.wait_for(A);
            super::drain(&self.a);
        }
    }
}

mod mio {
    use std::time::Duration;

    use mio::net::UnixStream;
    use mio::{Events, Interest, Poll, Token};

    const A: Token = Token(0);
    const B: Token = Token(1);

    pub(crate) struct Bed {
        poll: Poll,
        events: Events,
        a: UnixStream,
        b: UnixStream,
        timeout: Option<Duration>,
    }

    impl Bed {
        pub(crate) fn new(timeout: Option<Duration>) -> std::io::Result<Bed> {
            let poll = Poll::new()?;
            let (mut a, mut b) = UnixStream::pair()?;
            poll.registry().register(&mut a, A, Interest::READABLE)?;
            poll.registry().register(&mut b, B, Interest::READABLE)?;
            Ok(Bed { poll, events: Events::with_capacity(64), a, b, timeout })
        }

        /// Polls until an event for `token` arrives.
        #[inline]
        fn wait_for(&mut self, token: Token) {
            loop {
                self.poll.poll(&mut self.events, self.timeout).expect("poll");
                if self.events.iter().any(|e| e.token() == token) {
                    return;
                }
            }
        }

        #[inline]
        pub(crate) fn round_trip(&mut self) {
            super::send_one(&self.a);
            self.wait_for(B);
            super::drain(&self.b);
            super::send_one(&self.b);
            self.wait_for(A);
            super::drain(&self.a);
        }
    }
}

fn pingpong(c: &mut Criterion) {
    for (name, timeout) in [("no_timeout", None), ("timeout_1s", Some(Duration::from_secs(1)))] {
        let mut group = c.benchmark_group(format!("pingpong_unix/{name}"));
        let mut eddy = eddy::Bed::new(timeout).expect("eddy bed");
        group.bench_function("eddy", |b| b.iter(|| eddy.round_trip()));
        let mut mio = mio::Bed::new(timeout).expect("mio bed");
        group.bench_function("mio", |b| b.iter(|| mio.round_trip()));
        group.finish();
    }
}

// What `criterion_group!` / `criterion_main!` expand to, written out: the
// macros' `pub fn` has no doc, which the workspace's `missing_docs` refuses.
fn main() {
    let mut c = Criterion::default().configure_from_args();
    pingpong(&mut c);
    c.final_summary();
}
