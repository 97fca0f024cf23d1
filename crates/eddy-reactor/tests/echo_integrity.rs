//! 1000 concurrent connections each send 1 MiB of pseudo-random bytes in
//! random-size chunks and get exactly their bytes back: nothing lost,
//! nothing reordered, nothing mixed between connections.
//!
//! The clients run on one thread, on eddy-poll (level-triggered), so 1000
//! connections need no 1000 threads; each compares the FNV hash of what it
//! sent with the hash of what came back.

mod util;

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use eddy_poll::net::TcpStream;
use eddy_poll::{Events, Interest, Poll, Token, Trigger};
use eddy_reactor::Config;
use util::{EchoServer, Fnv, Rng};

const CONNS: usize = 1000;
const BYTES: usize = 1 << 20;

struct Client {
    stream: TcpStream,
    rng: Rng,
    sent: usize,
    received: usize,
    sent_hash: Fnv,
    received_hash: Fnv,
    /// The chunk being sent and how much of it went out.
    chunk: Vec<u8>,
    chunk_off: usize,
}

impl Client {
    fn write_some(&mut self) {
        while self.sent < BYTES {
            if self.chunk_off == self.chunk.len() {
                let size = (1 + self.rng.below(64 * 1024) as usize).min(BYTES - self.sent);
                self.chunk.resize(size, 0);
                self.rng.fill(&mut self.chunk);
                self.sent_hash.update(&self.chunk);
                self.chunk_off = 0;
            }
            match self.stream.write(&self.chunk[self.chunk_off..]) {
                Ok(n) => {
                    self.chunk_off += n;
                    self.sent += n;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => panic!("client write failed: {e}"),
            }
        }
    }

    fn read_some(&mut self, buf: &mut [u8]) {
        loop {
            match self.stream.read(buf) {
                Ok(0) => panic!("server closed early after {} bytes", self.received),
                Ok(n) => {
                    self.received_hash.update(&buf[..n]);
                    self.received += n;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => panic!("client read failed: {e}"),
            }
        }
    }
}

#[test]
fn thousand_connections_each_get_their_megabyte_back() {
    let server = EchoServer::start(Config::default());
    let mut poll = Poll::new().unwrap();
    let mut clients: Vec<Client> = (0..CONNS)
        .map(|i| {
            let mut stream = TcpStream::connect(server.addr).unwrap();
            let interest = Interest::READABLE | Interest::WRITABLE;
            poll.registry().register(&mut stream, Token(i), interest, Trigger::Level).unwrap();
            Client {
                stream,
                rng: Rng::new(i as u64 + 1),
                sent: 0,
                received: 0,
                sent_hash: Fnv::default(),
                received_hash: Fnv::default(),
                chunk: Vec::new(),
                chunk_off: 0,
            }
        })
        .collect();
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 64 * 1024];
    let mut done = 0;
    let deadline = Instant::now() + Duration::from_secs(300);
    while done < CONNS {
        assert!(Instant::now() < deadline, "stalled: {done} of {CONNS} connections complete");
        poll.poll(&mut events, Some(Duration::from_secs(10))).unwrap();
        for event in &events {
            let c = &mut clients[event.token().0];
            let was_done = c.received == BYTES;
            if event.is_writable() && c.sent < BYTES {
                c.write_some();
                if c.sent == BYTES {
                    // Everything sent: stop asking for writability.
                    poll.registry()
                        .reregister(&mut c.stream, event.token(), Interest::READABLE, Trigger::Level)
                        .unwrap();
                }
            }
            if event.is_readable() {
                c.read_some(&mut buf);
            }
            assert!(c.received <= c.sent, "more bytes came back than were sent");
            if !was_done && c.received == BYTES {
                done += 1;
            }
        }
    }
    for (i, c) in clients.iter().enumerate() {
        assert_eq!(c.sent_hash, c.received_hash, "connection {i}: the echo differs from what was sent");
    }
    drop(clients);
    let stats = server.stop();
    assert_eq!(stats.accepted, CONNS as u64);
}
