//! [`Runtime`]: async/await on an eddy [`EventLoop`]: the loop's core
//! gains one more client, the executor, and `block_on` turns the loop
//! until a future is done.
//!
//! The runtime can own a loop of its own ([`Runtime::new`]) or join one
//! that also serves Reactor handlers ([`Runtime::on`]): then one thread,
//! one poller and one timing wheel serve the handlers and the tasks, in
//! the same turns.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use eddy_reactor::{Config, Conn, EventLoop, Handler, Input};

use crate::context::{self, Inner, Remote};
use crate::executor::{self, Executor};
use crate::slab::Slab;
use crate::task::{self, JoinHandle};
use crate::time::Timers;

/// The handler type of a loop that serves no Reactor connections (a loop
/// of tasks only). It has no values.
pub enum NoConnections {}

impl Handler for NoConnections {
    type State = ();
    fn on_data(&mut self, _: &mut Conn<'_, Self>, _: &mut Input<'_>) {
        match *self {}
    }
}

/// The default budget: operations per task poll.
const BUDGET: u32 = 128;

/// An async runtime on one eddy loop (one thread).
///
/// # Examples
///
/// ```
/// let mut rt = eddy_rt::Runtime::new()?;
/// let answer = rt.block_on(async {
///     let task = eddy_rt::spawn(async { 6 * 7 });
///     task.await.unwrap()
/// })?;
/// assert_eq!(answer, 42);
/// # std::io::Result::Ok(())
/// ```
pub struct Runtime<H: Handler = NoConnections> {
    // `Drop::drop` drops every task first, inside the runtime; then the
    // loop (with its executor client) and the state go.
    lp: EventLoop<H>,
    inner: Rc<Inner>,
}

/// Wakes `block_on`'s future.
struct MainWaker {
    woken: Arc<AtomicBool>,
    remote: Arc<Remote>,
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.woken.swap(true, Ordering::AcqRel) && context::with_runtime(self.remote.runtime, |_| ()).is_none() {
            // From another thread: the loop may be blocked in its wait.
            self.remote.notify();
        }
    }
}

impl Runtime<NoConnections> {
    /// A runtime on a loop of its own, with the default configuration
    /// (epoll).
    ///
    /// # Errors
    ///
    /// The poller or its waker could not be made (out of fds).
    pub fn new() -> io::Result<Runtime> {
        Runtime::with_config(Config::default())
    }

    /// A runtime on a loop of its own made with `cfg` (its backend, event
    /// batch, run budget).
    ///
    /// # Errors
    ///
    /// As [`Runtime::new`].
    pub fn with_config(cfg: Config) -> io::Result<Runtime> {
        Runtime::on(EventLoop::new(cfg, ())?)
    }
}

impl<H: Handler> Runtime<H> {
    /// A runtime on `lp`, which may also serve Reactor listeners and
    /// connections: tasks and handlers share its thread, poller and wheel.
    ///
    /// # Errors
    ///
    /// The loop's waker could not be made, or the loop has no client kind
    /// left.
    pub fn on(mut lp: EventLoop<H>) -> io::Result<Runtime<H>> {
        let id = context::next_runtime_id();
        let remote = Arc::new(Remote::new(id, lp.core().waker()?));
        let budget = BUDGET;
        // The kind is known once the client is added; the client needs the
        // state: the state is made with the kind the loop will hand out.
        let kind = lp.next_client_kind().ok_or_else(|| io::Error::other("the loop has no client kind left"))?;
        let inner = Rc::new(Inner {
            id,
            kind,
            registry: lp.registry().clone(),
            tasks: RefCell::new(Slab::new()),
            queue: RefCell::new(VecDeque::new()),
            remote,
            io: RefCell::new(Slab::new()),
            timers: RefCell::new(Timers::new()),
            main_woken: Arc::new(AtomicBool::new(false)),
            budget,
        });
        let added = lp.add_client(Box::new(Executor { inner: Rc::clone(&inner) }))?;
        debug_assert_eq!(added, kind);
        Ok(Runtime { lp, inner })
    }

    /// The loop the runtime runs on: its listeners, handlers, stats.
    pub fn event_loop(&mut self) -> &mut EventLoop<H> {
        &mut self.lp
    }

    /// Runs `future` to completion on this thread, turning the loop (its
    /// tasks, handlers and timers) meanwhile.
    ///
    /// # Errors
    ///
    /// The poller failed (not `EINTR`, which is retried): the future is
    /// dropped and the error returned, rather than a panic.
    pub fn block_on<F: Future>(&mut self, future: F) -> io::Result<F::Output> {
        let _enter = context::enter(&self.inner);
        let main =
            Arc::new(MainWaker { woken: Arc::clone(&self.inner.main_woken), remote: Arc::clone(&self.inner.remote) });
        let waker = Waker::from(main);
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        self.inner.main_woken.store(true, Ordering::Release);
        loop {
            if self.inner.main_woken.swap(false, Ordering::AcqRel) {
                crate::coop::reset(self.inner.budget);
                if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
                    return Ok(v);
                }
            }
            self.lp.turn(None)?;
        }
    }

    /// Spawns `future` on this runtime's loop (from outside `block_on`).
    ///
    /// # Errors
    ///
    /// The loop holds as many tasks as it can name.
    pub fn spawn<F>(&self, future: F) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let _enter = context::enter(&self.inner);
        task::spawn_on(&self.inner, future)
    }

    /// A handle to spawn onto this runtime's loop from any thread.
    pub fn handle(&self) -> crate::Handle {
        crate::Handle { remote: Arc::clone(&self.inner.remote) }
    }

    /// Tasks not yet finished or joined.
    pub fn tasks(&self) -> usize {
        self.inner.tasks.borrow().len()
    }
}

impl<H: Handler> Drop for Runtime<H> {
    /// Drops every task (their destructors run inside the runtime, so
    /// their sockets deregister and close and their timers are freed).
    fn drop(&mut self) {
        let _enter = context::enter(&self.inner);
        executor::shutdown(&self.inner);
        executor::take_messages(&self.inner);
    }
}
