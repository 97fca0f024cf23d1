//! The cooperative budget: a task may complete at most `budget` I/O
//! operations per poll (the runtime's `budget`, default 128); the next one
//! returns `Pending` after waking the task, so the task goes to the back of
//! the run queue and the loop's timers, events and other tasks get their
//! turn. A task that is always ready (a flooded socket, a busy channel)
//! cannot starve the loop (the tokio#2542 class of bug). It is the same
//! idea as the reactor's per-connection read budget (`Config::read_budget_*`)
//! and the loop's per-client run budget (`Config::client_budget`: tasks
//! polled per turn): each bounds how long one source of work holds the
//! thread.
//!
//! Outside a task (no budget was set) operations are never refused.

use std::cell::Cell;
use std::task::{Context, Poll};

thread_local! {
    static BUDGET: Cell<u32> = const { Cell::new(u32::MAX) };
}

/// Gives the task about to be polled its budget.
pub(crate) fn reset(budget: u32) {
    BUDGET.with(|b| b.set(budget));
}

/// Spends one unit; `Pending` (the task woken to be polled again later)
/// when none is left.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    BUDGET.with(|b| match b.get() {
        0 => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        n => {
            b.set(n - 1);
            Poll::Ready(())
        }
    })
}

/// Gives back the unit of an operation that did not complete (it hit
/// `WouldBlock`).
#[inline]
pub(crate) fn refund() {
    BUDGET.with(|b| b.set(b.get().saturating_add(1)));
}
