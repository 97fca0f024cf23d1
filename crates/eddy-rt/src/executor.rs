//! The executor: the runtime's client of the eddy loop core.
//!
//! Its phases in the loop's turn (see `eddy_reactor::loop_core`):
//! - **on_timer**: a sleep's timer fired: wake its task;
//! - **prepare**: arm the timers that sleeps asked for since the last
//!   turn, cancel those of dropped sleeps (so the wait's timeout covers
//!   them);
//! - **on_io**: an event for a registration: record its readiness, wake
//!   the task waiting on each direction it concerns;
//! - **run** ("run woken tasks"): take the messages of other threads, then
//!   poll, in wake order, at most `budget` of the tasks that are ready. A
//!   task woken during the phase waits for the next turn (the loop then
//!   does not block), so I/O and timers are never starved by tasks that
//!   keep each other ready.
//!
//! A task's poll runs inside `catch_unwind`: a panic ends the task (its
//! join handle reports it) and the loop goes on. Every future and waker is
//! dropped outside the runtime's `RefCell` borrows: their destructors may
//! reach the runtime again (a socket deregisters, a sleep frees its timer,
//! a join handle detaches).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};

use eddy_poll::Token;
use eddy_reactor::loop_core::{Io, Timer};
use eddy_reactor::{Client, LoopCore};

use crate::context::{self, Inner, Message};
use crate::slab::Id;
use crate::task::{self, DONE, JoinError, SCHEDULED, Stage};
use crate::{coop, driver, time};

pub(crate) struct Executor {
    pub(crate) inner: Rc<Inner>,
}

impl Client for Executor {
    fn on_io(&mut self, _core: &mut LoopCore, token: Token, io: Io<'_>) {
        let _enter = context::enter(&self.inner);
        let Io::Ready(event) = io else { return };
        driver::dispatch(&self.inner, token, event);
    }

    fn on_timer(&mut self, _core: &mut LoopCore, timer: Timer) {
        let _enter = context::enter(&self.inner);
        time::fire(&self.inner, timer);
    }

    fn prepare(&mut self, core: &mut LoopCore) {
        let _enter = context::enter(&self.inner);
        take_messages(&self.inner);
        time::arm(&self.inner, core);
    }

    fn has_work(&self) -> bool {
        !self.inner.queue.borrow().is_empty()
            || self.inner.remote.is_pending()
            || self.inner.main_woken.load(Ordering::Acquire)
    }

    fn run(&mut self, _core: &mut LoopCore, budget: u32) {
        let _enter = context::enter(&self.inner);
        take_messages(&self.inner);
        run_ready(&self.inner, budget as usize);
    }
}

/// Acts on what other threads sent.
pub(crate) fn take_messages(inner: &Inner) {
    for msg in inner.remote.take() {
        match msg {
            Message::Wake(id) => inner.queue.borrow_mut().push_back(id),
            Message::FreeIo(id) => drop(inner.io.borrow_mut().remove(id)),
            Message::FreeTimer(id) => time::free(inner, id),
            Message::Abort(id) => task::abort_local(inner, id),
            Message::Detach(id) => detach(inner, id),
            Message::Run(f) => f(),
        }
    }
}

fn detach(inner: &Inner, id: Id) {
    let freed = {
        let mut tasks = inner.tasks.borrow_mut();
        match tasks.get_mut(id) {
            Some(t) if matches!(t.stage, Stage::Running(_)) => {
                t.detached = true;
                None
            }
            Some(_) => tasks.remove(id),
            None => None,
        }
    };
    drop(freed);
}

/// Polls at most `max` of the tasks queued now.
pub(crate) fn run_ready(inner: &Inner, max: usize) {
    let n = inner.queue.borrow().len().min(max);
    for _ in 0..n {
        let Some(id) = inner.queue.borrow_mut().pop_front() else { break };
        poll_task(inner, id);
    }
}

fn poll_task(inner: &Inner, id: Id) {
    let (mut body, waker) = {
        let mut tasks = inner.tasks.borrow_mut();
        let Some(task) = tasks.get_mut(id) else { return };
        // Cleared before the poll: a wake during it queues the task again.
        task.header.state.fetch_and(!SCHEDULED, Ordering::AcqRel);
        let Stage::Running(body) = &mut task.stage else { return };
        let Some(body) = body.take() else { return };
        (body, Waker::from(std::sync::Arc::clone(&task.header)))
    };
    coop::reset(inner.budget);
    let mut cx = Context::from_waker(&waker);
    let polled = catch_unwind(AssertUnwindSafe(|| body.as_mut().poll(&mut cx)));
    let mut keep = None;
    let done = {
        let mut tasks = inner.tasks.borrow_mut();
        let Some(task) = tasks.get_mut(id) else {
            drop(tasks);
            drop(body);
            return;
        };
        let outcome = match polled {
            Ok(Poll::Pending) if !task.aborted => {
                task.stage = Stage::Running(Some(body));
                None
            }
            Ok(Poll::Pending) => {
                keep = Some(body);
                Some(Err(JoinError::Cancelled))
            }
            Ok(Poll::Ready(out)) => {
                keep = Some(body);
                Some(Ok(out))
            }
            Err(payload) => {
                keep = Some(body);
                Some(Err(JoinError::Panicked(payload)))
            }
        };
        match outcome {
            Some(out) => {
                task.header.state.fetch_or(DONE, Ordering::AcqRel);
                task.stage = Stage::Done(out);
                true
            }
            None => false,
        }
    };
    // The finished future's destructors run outside the borrow.
    drop(keep);
    if done {
        task::finish(inner, id);
    }
}

/// Drops every task's future (their destructors run, inside the runtime),
/// then the outputs nobody took.
pub(crate) fn shutdown(inner: &Inner) {
    loop {
        let bodies: Vec<_> = {
            let mut tasks = inner.tasks.borrow_mut();
            let mut out = Vec::new();
            for task in tasks.drain() {
                task.header.state.fetch_or(DONE, Ordering::AcqRel);
                out.push(task);
            }
            out
        };
        if bodies.is_empty() {
            break;
        }
        // A destructor may spawn again: loop until nothing is left.
        drop(bodies);
    }
    inner.queue.borrow_mut().clear();
}
