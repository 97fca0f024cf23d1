//! [`spawn_blocking`]: blocking work on a small bounded pool of threads,
//! its result awaited like a task's.
//!
//! The pool is shared by the process's runtimes: at most 16 threads, made
//! on demand, each leaving after 10 s without work. A job waits in the
//! queue while all 16 are busy. Its result comes back through a shared
//! cell whose waker (the awaiting task's) wakes the task on its own loop.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::task::JoinError;

const MAX_THREADS: usize = 16;
const KEEP_ALIVE: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    state: Mutex<PoolState>,
    work: Condvar,
}

struct PoolState {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        state: Mutex::new(PoolState { queue: VecDeque::new(), threads: 0, idle: 0 }),
        work: Condvar::new(),
    })
}

fn submit(job: Job) {
    let p = pool();
    let mut st = p.state.lock().unwrap_or_else(PoisonError::into_inner);
    st.queue.push_back(job);
    if st.idle > 0 {
        p.work.notify_one();
    } else if st.threads < MAX_THREADS {
        st.threads += 1;
        let spawned = std::thread::Builder::new().name("eddy-rt-blocking".into()).spawn(worker);
        if spawned.is_err() {
            // No thread: the job waits for one that exists (or, with none,
            // for the next submit to try again).
            st.threads -= 1;
        }
    }
}

fn worker() {
    let p = pool();
    let mut st = p.state.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        if let Some(job) = st.queue.pop_front() {
            drop(st);
            job();
            st = p.state.lock().unwrap_or_else(PoisonError::into_inner);
            continue;
        }
        st.idle += 1;
        let (guard, timeout) = p.work.wait_timeout(st, KEEP_ALIVE).unwrap_or_else(PoisonError::into_inner);
        st = guard;
        st.idle -= 1;
        if timeout.timed_out() && st.queue.is_empty() {
            st.threads -= 1;
            return;
        }
    }
}

struct Cell<T> {
    out: Option<Result<T, JoinError>>,
    waker: Option<Waker>,
}

/// The result of [`spawn_blocking`].
pub struct BlockingHandle<T> {
    cell: Arc<Mutex<Cell<T>>>,
}

/// Runs `f` on the blocking pool; await the handle for its result (a
/// panic in `f` is a [`JoinError::Panicked`]).
pub fn spawn_blocking<F, T>(f: F) -> BlockingHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let cell = Arc::new(Mutex::new(Cell { out: None, waker: None }));
    let back = Arc::clone(&cell);
    submit(Box::new(move || {
        let out = catch_unwind(AssertUnwindSafe(f)).map_err(JoinError::Panicked);
        let waker = {
            let mut c = back.lock().unwrap_or_else(PoisonError::into_inner);
            c.out = Some(out);
            c.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }));
    BlockingHandle { cell }
}

impl<T> Future for BlockingHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut c = self.cell.lock().unwrap_or_else(PoisonError::into_inner);
        match c.out.take() {
            Some(out) => Poll::Ready(out),
            None => {
                c.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
