//! Helpers shared by the reactor's integration tests: an echo handler, a
//! loop on its own thread, a deterministic byte stream, bounded waits.
#![allow(dead_code, unreachable_pub)]

use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use eddy_reactor::{Config, Conn, EventLoop, Handler, Input, LoopHandle, Stats};

/// Every byte back; the default `on_read_closed` closes after the echo.
pub struct Echo;

impl Handler for Echo {
    type State = ();
    fn on_data(&mut self, conn: &mut Conn<'_, Self>, input: &mut Input<'_>) {
        conn.write(input.bytes());
        input.consume_all();
    }
}

/// An echo loop on its own thread.
pub struct EchoServer {
    pub addr: SocketAddr,
    pub handle: LoopHandle<Echo>,
    thread: Option<JoinHandle<io::Result<Stats>>>,
}

impl EchoServer {
    pub fn start(cfg: Config) -> EchoServer {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let mut lp = EventLoop::new(cfg, ())?;
            let addr = lp.listen("127.0.0.1:0".parse().unwrap(), |_, _| Some(Echo))?;
            tx.send((addr, lp.handle()?)).unwrap();
            lp.run()?;
            Ok(lp.stats())
        });
        let (addr, handle) = rx.recv_timeout(Duration::from_secs(10)).expect("the echo loop started");
        EchoServer { addr, handle, thread: Some(thread) }
    }

    /// The loop's counters, read on the loop's thread.
    pub fn stats(&self) -> Stats {
        let (tx, rx) = mpsc::channel();
        self.handle.post(move |lp| tx.send(lp.stats()).unwrap()).unwrap();
        rx.recv_timeout(Duration::from_secs(10)).expect("the loop answered")
    }

    /// Waits (bounded) until the loop's counters satisfy `f`. The condition
    /// lives inside the loop, so it is polled: one stats request per
    /// millisecond at most.
    pub fn wait_for(&self, what: &str, f: impl Fn(&Stats) -> bool) -> Stats {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = self.stats();
            if f(&s) {
                return s;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; last stats {s:?}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    pub fn stop(mut self) -> Stats {
        self.handle.shutdown().unwrap();
        self.thread.take().unwrap().join().unwrap().unwrap()
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = self.handle.shutdown();
            let _ = t.join();
        }
    }
}

/// xorshift64*: a deterministic stream of pseudo-random bytes and sizes.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// FNV-1a, 64 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fnv(pub u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// A blocking client connection with a read timeout (so a test never
/// hangs on a read).
pub fn client(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect to the test server");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

/// Reads until EOF (bounded by the socket's read timeout).
pub fn read_to_end(s: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    Ok(out)
}

/// This process's resident set size, in bytes.
pub fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kb: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}
