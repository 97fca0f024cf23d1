//! Helpers of eddy-rt's tests: the backends, a runtime per backend, a
//! cross-thread one-shot channel, deterministic bytes, fd counts.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use eddy_poll::Backend;
use eddy_reactor::Config;
use eddy_rt::Runtime;

pub const BACKENDS: [Backend; 3] = [Backend::Epoll, Backend::Poll, Backend::Select];

pub fn runtime(backend: Backend) -> Runtime {
    Runtime::with_config(Config { backend, ..Config::default() }).expect("a runtime")
}

/// Runs `f`'s future on a fresh runtime of each backend.
pub fn on_every_backend<F, Fut>(f: F)
where
    F: Fn(Backend) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in BACKENDS {
        runtime(backend).block_on(f(backend)).expect("the runtime ran");
    }
}

/// A one-shot channel whose sender may be on any thread (the receiver's
/// waker is woken from there).
pub fn oneshot<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Mutex::new((None, None)));
    (Sender(Arc::clone(&shared)), Receiver(shared))
}

type Shared<T> = Arc<Mutex<(Option<T>, Option<Waker>)>>;

pub struct Sender<T>(Shared<T>);
pub struct Receiver<T>(Shared<T>);

impl<T> Sender<T> {
    pub fn send(self, value: T) {
        let waker = {
            let mut s = self.0.lock().unwrap();
            s.0 = Some(value);
            s.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = T;
    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<T> {
        let mut s = self.0.lock().unwrap();
        match s.0.take() {
            Some(v) => Poll::Ready(v),
            None => {
                s.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// xorshift64*: deterministic pseudo-random bytes and sizes.
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

/// Open fds of this process.
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}
