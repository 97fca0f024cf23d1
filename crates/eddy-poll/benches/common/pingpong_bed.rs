//! The ping-pong bed shared by `benches/pingpong.rs` and
//! `examples/pingpong.rs`: two connected Unix stream sockets on one poller,
//! the same round trip on eddy-poll and on mio (see the benchmark's docs).
//! Included with `#[path]`, so both measure exactly this code.
#![allow(dead_code)]

use std::io::{self, Read, Write};

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

pub(crate) mod eddy {
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

pub(crate) mod mio {
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
