//! Tasks: [`spawn`], [`spawn_local`], [`JoinHandle`], [`JoinError`],
//! [`AbortHandle`], [`yield_now`].
//!
//! A task is two allocations: its header (`Arc<Header>`, what its
//! [`Waker`] is: the task's id, its state bits, the way home) and its body
//! (the boxed future, which owns the user's future; its output is boxed
//! too, unless it is zero-sized, e.g. `()`). One allocation, as async-task
//! does, needs a hand-made waker vtable, that is `unsafe`, and this crate
//! has none: the header must be `Send + Sync` (a waker may go to any
//! thread) while the future need not be `Send`, so they cannot share a
//! safe allocation.
//!
//! State bits of the header:
//! - `SCHEDULED`: the task is in its loop's run queue (or a message to put
//!   it there is on its way). Set by a wake, cleared just before the task
//!   is polled, so a wake during the poll queues it again: no lost wakeup.
//! - `DONE`: the task completed, panicked or was aborted: wakes are
//!   ignored. Never cleared.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use crate::context::{self, Inner, Message, Remote};
use crate::slab::Id;

pub(crate) const SCHEDULED: u8 = 1;
pub(crate) const DONE: u8 = 2;

/// A task's future, its output boxed.
pub(crate) type Body = Pin<Box<dyn Future<Output = Box<dyn Any>>>>;

/// What a task's waker is.
pub(crate) struct Header {
    pub(crate) id: Id,
    pub(crate) state: AtomicU8,
    pub(crate) remote: Arc<Remote>,
}

impl Wake for Header {
    fn wake(self: Arc<Self>) {
        self.schedule();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.schedule();
    }
}

impl Header {
    /// Queues the task on its loop, once: on the loop's own thread straight
    /// into its run queue, from elsewhere through its remote queue.
    fn schedule(&self) {
        if self.state.fetch_or(SCHEDULED, Ordering::AcqRel) & (SCHEDULED | DONE) != 0 {
            return;
        }
        let local = context::with_runtime(self.remote.runtime, |inner| inner.queue.borrow_mut().push_back(self.id));
        if local.is_none() {
            self.remote.post(Message::Wake(self.id));
        }
    }
}

/// Where a task's life stands, in its slot.
pub(crate) enum Stage {
    /// Runnable; `None` while it is being polled.
    Running(Option<Body>),
    /// Completed, panicked or aborted; the output waits for its join
    /// handle.
    Done(Result<Box<dyn Any>, JoinError>),
    /// The join handle took the output.
    Taken,
}

/// A task's slot in its runtime.
pub(crate) struct Task {
    pub(crate) header: Arc<Header>,
    pub(crate) stage: Stage,
    /// The task awaiting this one's join handle.
    pub(crate) join_waker: Option<Waker>,
    /// The join handle was dropped: free the slot at completion.
    pub(crate) detached: bool,
    /// Aborted while being polled: drop the future when the poll returns.
    pub(crate) aborted: bool,
}

/// Why a task gave no output.
pub enum JoinError {
    /// It was aborted ([`JoinHandle::abort`]) or its runtime was dropped
    /// first.
    Cancelled,
    /// It panicked; the payload is inside.
    Panicked(Box<dyn Any + Send>),
}

impl JoinError {
    /// Whether the task was aborted.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JoinError::Cancelled)
    }

    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panicked(_))
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("the task was cancelled"),
            JoinError::Panicked(p) => {
                let msg = p.downcast_ref::<&str>().copied().or_else(|| p.downcast_ref::<String>().map(String::as_str));
                write!(f, "the task panicked: {}", msg.unwrap_or("(a payload that is not a string)"))
            }
        }
    }
}

impl std::error::Error for JoinError {}

/// Awaits a task's output; dropping it detaches the task (it runs on).
///
/// It is polled on the task's own loop (tasks never move between loops);
/// it is `Send` when the output is, so a `Send` future may hold one.
pub struct JoinHandle<T> {
    header: Arc<Header>,
    _output: PhantomData<T>,
}

// A handle holds no `T`, only its type: it never needs pinning.
impl<T> Unpin for JoinHandle<T> {}

/// Aborts a task from anywhere (a clone-able, `Send + Sync` half of a
/// [`JoinHandle`]).
#[derive(Clone)]
pub struct AbortHandle {
    header: Arc<Header>,
}

/// Spawns `future` on the current loop: it runs there, interleaved with
/// the other tasks, handlers and fibers of the loop, and never moves. The
/// same as [`spawn_local`], for futures that are `Send` (the signature
/// tokio users know).
///
/// # Panics
///
/// Outside a runtime (there is no loop to run it on), as tokio's does.
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_local(future)
}

/// Spawns `future`, which need not be `Send`, on the current loop.
///
/// # Panics
///
/// Outside a runtime, or when the loop holds 2^28 tasks.
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    match context::current("spawn").and_then(|inner| spawn_on(&inner, future)) {
        Ok(h) => h,
        Err(e) => panic!("eddy_rt::spawn: {e}"),
    }
}

/// Spawns `future` on the runtime `inner`.
pub(crate) fn spawn_on<F>(inner: &Inner, future: F) -> std::io::Result<JoinHandle<F::Output>>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let body: Body = Box::pin(async move { Box::new(future.await) as Box<dyn Any> });
    let remote = Arc::clone(&inner.remote);
    let mut header = None;
    let id = inner.tasks.borrow_mut().insert_with(
        |id| {
            let h = Arc::new(Header { id, state: AtomicU8::new(SCHEDULED), remote });
            header = Some(Arc::clone(&h));
            Task { header: h, stage: Stage::Running(Some(body)), join_waker: None, detached: false, aborted: false }
        },
        eddy_reactor::loop_core::MAX_INDEX,
    );
    let (Some(id), Some(header)) = (id, header) else {
        return Err(std::io::Error::other("the loop holds as many tasks as it can name"));
    };
    inner.queue.borrow_mut().push_back(id);
    Ok(JoinHandle { header, _output: PhantomData })
}

impl<T: 'static> JoinHandle<T> {
    /// Aborts the task: its future is dropped at once (its destructors run,
    /// its sockets are deregistered and closed); awaiting the handle then
    /// gives [`JoinError::Cancelled`]. A task that already finished keeps
    /// its output. On another thread than the task's, the abort happens on
    /// the task's loop at its next turn.
    pub fn abort(&self) {
        abort(&self.header);
    }

    /// Whether the task has finished (completed, panicked or aborted).
    pub fn is_finished(&self) -> bool {
        self.header.state.load(Ordering::Acquire) & DONE != 0
    }

    /// A handle that can abort the task from any thread.
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle { header: Arc::clone(&self.header) }
    }
}

impl AbortHandle {
    /// As [`JoinHandle::abort`].
    pub fn abort(&self) {
        abort(&self.header);
    }

    /// Whether the task has finished.
    pub fn is_finished(&self) -> bool {
        self.header.state.load(Ordering::Acquire) & DONE != 0
    }
}

fn abort(header: &Arc<Header>) {
    let id = header.id;
    let done = context::with_runtime(header.remote.runtime, |inner| abort_local(inner, id));
    if done.is_none() {
        header.remote.post(Message::Abort(id));
    }
}

/// Aborts task `id` of `inner` (on its loop thread).
pub(crate) fn abort_local(inner: &Inner, id: Id) {
    let dropped = {
        let mut tasks = inner.tasks.borrow_mut();
        let Some(task) = tasks.get_mut(id) else { return };
        match &mut task.stage {
            Stage::Running(Some(_)) => {
                let Stage::Running(body) = std::mem::replace(&mut task.stage, Stage::Done(Err(JoinError::Cancelled)))
                else {
                    return;
                };
                task.header.state.fetch_or(DONE, Ordering::AcqRel);
                body
            }
            // Being polled: dropped when its poll returns.
            Stage::Running(None) => {
                task.aborted = true;
                None
            }
            Stage::Done(_) | Stage::Taken => None,
        }
    };
    if dropped.is_some() {
        // The future's destructors may reach the runtime: no borrow held.
        drop(dropped);
        finish(inner, id);
    }
}

/// The task `id` is done (its stage says how): wake its joiner, or free
/// the slot if nobody will join it.
pub(crate) fn finish(inner: &Inner, id: Id) {
    let (waker, freed) = {
        let mut tasks = inner.tasks.borrow_mut();
        let Some(task) = tasks.get_mut(id) else { return };
        if task.detached { (None, tasks.remove(id)) } else { (task.join_waker.take(), None) }
    };
    drop(freed);
    if let Some(w) = waker {
        w.wake();
    }
}

impl<T: 'static> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let id = self.header.id;
        let polled = context::with_runtime(self.header.remote.runtime, |inner| {
            let mut tasks = inner.tasks.borrow_mut();
            let Some(task) = tasks.get_mut(id) else {
                return Poll::Ready(Err(JoinError::Cancelled));
            };
            match std::mem::replace(&mut task.stage, Stage::Taken) {
                Stage::Done(out) => {
                    let freed = tasks.remove(id);
                    drop(tasks);
                    drop(freed);
                    Poll::Ready(out.map(|any| match any.downcast::<T>() {
                        Ok(t) => *t,
                        // The body was made from a future of output `T`.
                        Err(_) => unreachable!("a task's output has the type of its future"),
                    }))
                }
                running @ Stage::Running(_) => {
                    task.stage = running;
                    if !task.join_waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        task.join_waker = Some(cx.waker().clone());
                    }
                    Poll::Pending
                }
                Stage::Taken => Poll::Ready(Err(JoinError::Cancelled)),
            }
        });
        match polled {
            Some(p) => p,
            None => panic!("eddy_rt::JoinHandle polled off its task's loop (tasks never move between loops)"),
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let id = self.header.id;
        let on_loop = context::with_runtime(self.header.remote.runtime, |inner| {
            let freed = {
                let mut tasks = inner.tasks.borrow_mut();
                match tasks.get_mut(id) {
                    Some(task) if matches!(task.stage, Stage::Running(_)) => {
                        task.detached = true;
                        None
                    }
                    Some(_) => tasks.remove(id),
                    None => None,
                }
            };
            drop(freed);
        });
        if on_loop.is_none() {
            // Dropped off the loop: the loop frees what is left when the
            // task ends (an abort message would end it early: not wanted).
            self.header.remote.post(Message::Detach(id));
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &(self.header.state.load(Ordering::Relaxed) & DONE != 0))
            .finish()
    }
}

/// Yields to the loop once: the task is queued behind the others that are
/// ready, and the loop's other phases may run before it is polled again.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await;
}
