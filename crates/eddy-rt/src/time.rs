//! Time on the loop's timing wheel: [`sleep`], [`sleep_until`],
//! [`timeout`], [`interval`].
//!
//! A [`Sleep`] takes a timer slot at its first poll (a sleep that is ready
//! at once, or dropped unpolled, costs no timer) and asks the loop to arm
//! it; the loop arms the wheel in its `prepare` phase, just before it
//! waits, so the wait's timeout covers it. The wheel rounds deadlines up
//! to the millisecond, and a sleep also compares the clock itself before
//! it says it is done: **never early**. Dropping a sleep frees its slot and
//! cancels its wheel timer (at the loop's next `prepare`: a create and drop
//! within one poll never touches the wheel).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use eddy_reactor::loop_core::{self, Timer};
use eddy_reactor::{LoopCore, TimerKey};

use crate::context::{self, Inner, Message};
use crate::slab::{Id, Slab};

/// The runtime's timers.
pub(crate) struct Timers {
    slots: Slab<TimerSlot>,
    /// Slots to arm on the wheel at the next `prepare`.
    to_arm: Vec<Id>,
    /// Wheel timers of freed slots, to cancel at the next `prepare`.
    to_cancel: Vec<TimerKey>,
}

struct TimerSlot {
    at: Instant,
    waker: Option<Waker>,
    /// The wheel timer, once armed; `None` again when it fired.
    key: Option<TimerKey>,
    /// On `to_arm`.
    queued: bool,
}

impl Timers {
    pub(crate) const fn new() -> Timers {
        Timers { slots: Slab::new(), to_arm: Vec::new(), to_cancel: Vec::new() }
    }

    /// Timers pending.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }
}

/// Arms and cancels what sleeps asked for since the last `prepare`.
pub(crate) fn arm(inner: &Inner, core: &mut LoopCore) {
    let mut timers = inner.timers.borrow_mut();
    let timers = &mut *timers;
    for key in timers.to_cancel.drain(..) {
        core.cancel_timer(key);
    }
    for id in timers.to_arm.drain(..) {
        if let Some(slot) = timers.slots.get_mut(id) {
            slot.queued = false;
            if let Some(old) = slot.key.take() {
                core.cancel_timer(old);
            }
            let token = loop_core::token(inner.kind, id.index, id.generation);
            slot.key = Some(core.set_timer_at(slot.at, Timer { token, data: 0 }));
        }
    }
}

/// A wheel timer of this runtime fired: wake its sleep.
pub(crate) fn fire(inner: &Inner, timer: Timer) {
    let (index, generation) = loop_core::slot_of(timer.token);
    let waker = {
        let mut timers = inner.timers.borrow_mut();
        let Some(slot) = timers.slots.get_mut(Id { index, generation }) else { return };
        slot.key = None;
        slot.waker.take()
    };
    if let Some(w) = waker {
        w.wake();
    }
}

/// Frees a slot (a dropped sleep), cancelling its wheel timer.
pub(crate) fn free(inner: &Inner, id: Id) {
    let slot = {
        let mut timers = inner.timers.borrow_mut();
        let slot = timers.slots.remove(id);
        if let Some(key) = slot.as_ref().and_then(|s| s.key) {
            timers.to_cancel.push(key);
        }
        slot
    };
    drop(slot);
}

/// Waits until `duration` has passed.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let mut rt = eddy_rt::Runtime::new()?;
/// let start = Instant::now();
/// rt.block_on(eddy_rt::time::sleep(Duration::from_millis(20)))?;
/// assert!(start.elapsed() >= Duration::from_millis(20));
/// # std::io::Result::Ok(())
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    // Beyond what an Instant holds: a sleep that never ends.
    sleep_until_opt(Instant::now().checked_add(duration))
}

/// Waits until `deadline`.
pub fn sleep_until(deadline: Instant) -> Sleep {
    sleep_until_opt(Some(deadline))
}

fn sleep_until_opt(at: Option<Instant>) -> Sleep {
    Sleep { at, slot: None }
}

/// The future of [`sleep`] and [`sleep_until`]. Dropping it cancels its
/// timer.
#[derive(Debug)]
#[must_use = "a sleep does nothing unless awaited"]
pub struct Sleep {
    /// `None`: never.
    at: Option<Instant>,
    /// The runtime and slot of its timer, once polled.
    slot: Option<(u64, Id, std::sync::Arc<context::Remote>)>,
}

impl Sleep {
    /// The deadline (`None` for a duration beyond what `Instant` holds).
    pub fn deadline(&self) -> Option<Instant> {
        self.at
    }

    /// Whether the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        self.at.is_some_and(|at| Instant::now() >= at)
    }

    /// Moves the deadline (the timer is re-armed at the loop's next
    /// `prepare`).
    pub fn reset(&mut self, deadline: Instant) {
        self.at = Some(deadline);
        if let Some((rt, id, _)) = &self.slot {
            context::with_runtime(*rt, |inner| {
                let mut timers = inner.timers.borrow_mut();
                if let Some(slot) = timers.slots.get_mut(*id) {
                    slot.at = deadline;
                    if !slot.queued {
                        slot.queued = true;
                        timers.to_arm.push(*id);
                    }
                }
            });
        }
    }

    fn poll_sleep(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(at) = self.at else {
            // Never: no timer needed; nothing will wake it.
            return Poll::Pending;
        };
        if Instant::now() >= at {
            self.release();
            return Poll::Ready(());
        }
        match &self.slot {
            Some((rt, id, _)) => {
                let id = *id;
                let old = context::with_runtime(*rt, |inner| {
                    let mut timers = inner.timers.borrow_mut();
                    let slot = timers.slots.get_mut(id)?;
                    let rearm = slot.key.is_none() && !slot.queued;
                    let old = if slot.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        None
                    } else {
                        slot.waker.replace(cx.waker().clone())
                    };
                    if rearm {
                        // Its timer fired but the clock says not yet (it
                        // cannot, by the rounding; kept safe): armed again.
                        slot.queued = true;
                        timers.to_arm.push(id);
                    }
                    old
                });
                drop(old);
            }
            None => {
                let made = context::with_current(|inner| {
                    let mut timers = inner.timers.borrow_mut();
                    let slot = TimerSlot { at, waker: Some(cx.waker().clone()), key: None, queued: true };
                    let id = timers.slots.insert(slot, loop_core::MAX_INDEX)?;
                    timers.to_arm.push(id);
                    Some((inner.id, id, std::sync::Arc::clone(&inner.remote)))
                });
                match made.flatten() {
                    Some(slot) => self.slot = Some(slot),
                    // Outside a runtime there is no wheel: a clear panic, as
                    // tokio's timers give.
                    None => panic!("eddy_rt::time::Sleep polled outside an eddy-rt runtime"),
                }
            }
        }
        // A timer that fired between the check above and now re-wakes.
        Poll::Pending
    }

    fn release(&mut self) {
        if let Some((rt, id, remote)) = self.slot.take() {
            if context::with_runtime(rt, |inner| free(inner, id)).is_none() {
                remote.post(Message::FreeTimer(id));
            }
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_sleep(cx)
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.release();
    }
}

/// The error of a [`timeout`] whose time ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed;

impl std::fmt::Display for Elapsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(_: Elapsed) -> std::io::Error {
        std::io::ErrorKind::TimedOut.into()
    }
}

/// Runs `future` for at most `duration`: its output, or [`Elapsed`] (the
/// future is then dropped). The future is polled first, so one that is
/// ready at once wins even with a zero duration.
pub async fn timeout<F: Future>(duration: Duration, future: F) -> Result<F::Output, Elapsed> {
    let mut future = std::pin::pin!(future);
    let mut sleep = sleep(duration);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = future.as_mut().poll(cx) {
            return Poll::Ready(Ok(v));
        }
        sleep.poll_sleep(cx).map(|()| Err(Elapsed))
    })
    .await
}

/// What an [`Interval`] does when ticks were missed (the task was late by
/// more than a period).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks at once, one per `tick`, until caught up; the
    /// schedule stays on its original grid (tokio's default).
    #[default]
    Burst,
    /// Fire once now, and count the next tick a full period from now.
    Delay,
    /// Fire once now, and go on at the next tick of the original grid.
    Skip,
}

/// Ticks every period (the first tick at once); see [`MissedTickBehavior`].
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks every period from `start`.
///
/// A zero period is taken as one millisecond (the wheel's resolution).
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    let period = period.max(Duration::from_millis(1));
    Interval { next: start, period, sleep: sleep_until(start), missed: MissedTickBehavior::Burst }
}

/// The stream of [`interval`].
#[derive(Debug)]
pub struct Interval {
    next: Instant,
    period: Duration,
    sleep: Sleep,
    missed: MissedTickBehavior,
}

impl Interval {
    /// Sets what missed ticks do.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Waits for the next tick; returns its scheduled time.
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if self.sleep.poll_sleep(cx).is_pending() {
            return Poll::Pending;
        }
        let tick = self.next;
        let now = Instant::now();
        let next = match self.missed {
            MissedTickBehavior::Burst => tick + self.period,
            MissedTickBehavior::Delay if now > tick + self.period => now + self.period,
            MissedTickBehavior::Skip if now > tick + self.period => {
                let behind = now.duration_since(tick).as_nanos() / self.period.as_nanos().max(1);
                tick + self.period * u32::try_from(behind + 1).unwrap_or(u32::MAX)
            }
            _ => tick + self.period,
        };
        self.next = next;
        self.sleep.reset(next);
        Poll::Ready(tick)
    }
}

/// Timers pending on the current runtime (for tests and monitoring).
pub fn pending_timers() -> usize {
    context::with_current(|inner| inner.timers.borrow().len()).unwrap_or(0)
}
