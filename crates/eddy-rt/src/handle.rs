//! [`Handle`]: reaching a runtime's loop from any thread, to spawn onto it.
//!
//! A spawn through a handle travels as a message on the loop's remote
//! queue (one lock, and one eventfd write per batch); on the loop it
//! becomes an ordinary local task. Its [`RemoteJoinHandle`] is `Send`: the
//! output comes back through a shared cell.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use crate::context::{Message, Remote};
use crate::task::{JoinError, spawn_local};

/// Spawns onto one runtime's loop from any thread; `Clone + Send + Sync`.
#[derive(Clone, Debug)]
pub struct Handle {
    pub(crate) remote: Arc<Remote>,
}

/// The output cell of a task spawned through a [`Handle`].
struct Cell<T> {
    out: Option<Result<T, JoinError>>,
    waker: Option<Waker>,
}

/// Awaits a task spawned through a [`Handle`], from any thread.
pub struct RemoteJoinHandle<T> {
    cell: Arc<Mutex<Cell<T>>>,
}

impl Handle {
    /// Spawns `future` on the handle's loop; it runs there and never
    /// moves.
    pub fn spawn<F>(&self, future: F) -> RemoteJoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let cell = Arc::new(Mutex::new(Cell { out: None, waker: None }));
        let back = Arc::clone(&cell);
        self.remote.post(Message::Run(Box::new(move || {
            let task = spawn_local(future);
            // A second task carries the outcome (panic or cancel included)
            // back to the other thread.
            drop(spawn_local(async move {
                let out = task.await;
                let waker = {
                    let mut c = back.lock().unwrap_or_else(PoisonError::into_inner);
                    c.out = Some(out);
                    c.waker.take()
                };
                if let Some(w) = waker {
                    w.wake();
                }
            }));
        })));
        RemoteJoinHandle { cell }
    }
}

impl Handle {
    /// Runs `make` on the handle's loop and spawns the future it builds
    /// there (which need not be `Send`); the task is detached.
    pub fn spawn_with<M, F>(&self, make: M)
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future<Output = ()> + 'static,
    {
        self.remote.post(Message::Run(Box::new(move || drop(spawn_local(make())))));
    }
}

impl<T> Future for RemoteJoinHandle<T> {
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

impl<T> RemoteJoinHandle<T> {
    /// Blocks this (non-runtime) thread until the task is done.
    pub fn join(self) -> Result<T, JoinError> {
        let thread = std::thread::current();
        let waker = Waker::from(Arc::new(ThreadWaker(thread)));
        let mut cx = Context::from_waker(&waker);
        let mut this = self;
        loop {
            if let Poll::Ready(out) = Pin::new(&mut this).poll(&mut cx) {
                return out;
            }
            std::thread::park();
        }
    }
}

struct ThreadWaker(std::thread::Thread);

impl std::task::Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}
