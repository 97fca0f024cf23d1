//! [`LoopCore`]: what the loop owns, whatever programming model runs on it,
//! and [`Client`], the interface through which it drives each model.
//!
//! The core owns the demultiplexer (`Poll`, its `Registry`, the event
//! buffer), the clock, the timing wheel, the waker, and the token space. It
//! knows nothing of connections, tasks or fibers: those are its clients.
//! The Reactor's connections and listeners are one client (`Reactor<H>`);
//! an async executor and a fiber scheduler are meant to be others, on the
//! same thread, the same poller and the same wheel. The turn that drives
//! them all is [`EventLoop::turn`](crate::EventLoop::turn); its phases are
//! calls of the [`Client`] methods, in this order:
//!
//! ```text
//! turn = update the clock         (the core: one clock read)
//!      → run due timers           (the core's wheel → Client::on_timer, by the timer's token kind)
//!      → apply interest changes   (Client::prepare: level-triggered backends re-register)
//!      → poll                     (timeout: 0 if a Client::has_work, else until the next timer)
//!      → dispatch events          (Client::on_io, by the token's kind; the waker → the inbox)
//!      → run runnable work        (Client::run, budgeted: the reactor's left-over reads and
//!                                  accepts; later "run woken tasks", "resume ready fibers")
//!      → finish the turn          (Client::finish_turn: deferred closes)
//! ```
//!
//! # The token space
//!
//! A [`Token`] names its owner: bits 28..32 are a [`Kind`], bits 0..28 an
//! index, bits 32..64 a generation (0 for tokens that need none):
//!
//! ```text
//!  63              32 31  28 27                0
//! +------------------+------+-------------------+
//! |    generation    | kind |       index       |
//! +------------------+------+-------------------+
//! ```
//!
//! The kinds are ranges of the token space, one per kind of client:
//! [`Kind::CORE`] (the waker), the reactor's [`Kind::LISTENER`],
//! [`Kind::CONNECTION`], [`Kind::HANDLER_TIMER`] and [`Kind::REACTOR`]
//! (signals, loop timers, the shutdown deadline), [`Kind::TASK`] and
//! [`Kind::FIBER`] reserved for the async executor and the fiber
//! scheduler, and the rest for clients added with
//! [`EventLoop::add_client`](crate::EventLoop::add_client). Routing an
//! event is a shift and a compare; a generation lets a client drop an event
//! or timer of a slot it has reused.
//!
//! # Readiness and completion
//!
//! The core's interface to its clients speaks of I/O events for a token
//! ([`Io`]) and of timers, not of readiness: today every event is
//! [`Io::Ready`] (epoll, poll, select); a completion driver (io_uring: the
//! kernel does the read and the loop collects the result) is planned as
//! another variant, so that it can be hosted without another split. What is
//! readiness-only stays at the edge: [`LoopCore::registry`] and
//! [`Client::prepare`].
//!
//! # Costs
//!
//! A timer is 16 bytes of payload ([`Timer`]: a token and a word) in the
//! wheel. Routing an event or a timer to the reactor is a static call (the
//! reactor is a typed field of the loop); to another client, one virtual
//! call.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eddy_poll::{Event, Events, Poll, Registry, Token, Waker};

use crate::clock::Clock;
use crate::wheel::{Tick, TimerKey, Wheel};

/// The kind bits of a token: which client it belongs to and what it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kind(u8);

impl Kind {
    /// The loop's own sources (the waker).
    pub const CORE: Kind = Kind(0);
    /// The reactor's listeners (index: the listener).
    pub const LISTENER: Kind = Kind(1);
    /// The reactor's connections (index and generation: the slot), their
    /// I/O and housekeeping timers.
    pub const CONNECTION: Kind = Kind(2);
    /// A timer a handler set on its connection (index and generation: the
    /// connection's slot; the timer's word: the handler's id).
    pub const HANDLER_TIMER: Kind = Kind(3);
    /// The reactor's own sources and timers: the signalfd, loop timers, the
    /// shutdown deadline.
    pub const REACTOR: Kind = Kind(4);
    /// Reserved for the async executor (eddy-rt).
    pub const TASK: Kind = Kind(5);
    /// Reserved for the fiber scheduler (eddy-fiber).
    pub const FIBER: Kind = Kind(6);
    /// The first kind [`EventLoop::add_client`](crate::EventLoop::add_client)
    /// hands out.
    pub const FIRST_CLIENT: Kind = Kind(7);
    /// The number of kinds (4 bits).
    pub const COUNT: usize = 16;

    /// The kind's number.
    pub fn number(self) -> u8 {
        self.0
    }

    pub(crate) fn from_number(n: u8) -> Option<Kind> {
        (usize::from(n) < Kind::COUNT).then_some(Kind(n))
    }
}

const INDEX_BITS: u32 = 28;
const KIND_SHIFT: u32 = INDEX_BITS;
const GENERATION_SHIFT: u32 = 32;

/// The largest index a token can carry.
pub const MAX_INDEX: u32 = (1 << INDEX_BITS) - 1;

/// The token of `kind`, slot `index` (at most [`MAX_INDEX`]: higher bits
/// are dropped) and `generation`.
#[inline]
pub const fn token(kind: Kind, index: u32, generation: u32) -> Token {
    let index = (index & MAX_INDEX) as usize;
    Token((generation as usize) << GENERATION_SHIFT | (kind.0 as usize) << KIND_SHIFT | index)
}

/// A token's kind.
#[inline]
pub fn kind_of(token: Token) -> Kind {
    Kind(((token.0 >> KIND_SHIFT) & 0xf) as u8)
}

/// A token's index and generation.
#[inline]
pub fn slot_of(token: Token) -> (u32, u32) {
    ((token.0 as u32) & MAX_INDEX, (token.0 >> GENERATION_SHIFT) as u32)
}

/// What the driver reports for a token. Readiness today; a completion
/// driver adds its own variant.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Io<'a> {
    /// The source is ready (readable, writable, closed, in error).
    Ready(&'a Event),
}

/// A timer on the core's wheel: the token of its owner (the kind routes
/// it, the generation lets the owner drop a timer of a reused slot) and a
/// word the owner gives it meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timer {
    /// Whose timer it is.
    pub token: Token,
    /// The owner's word.
    pub data: u64,
}

/// A client of the loop core: an async executor, a fiber scheduler, the
/// Reactor's connections, or a test's counter. The loop calls these in the
/// phases of its turn (module docs), always on the loop's thread.
pub trait Client {
    /// An I/O event for a token of this client's kind.
    fn on_io(&mut self, core: &mut LoopCore, token: Token, io: Io<'_>);

    /// A timer this client set fired (never before its deadline).
    fn on_timer(&mut self, core: &mut LoopCore, timer: Timer);

    /// Before the wait: bring registrations up to date (what the
    /// level-triggered backends need). Default: nothing.
    fn prepare(&mut self, core: &mut LoopCore) {
        let _ = core;
    }

    /// Whether work is runnable without an event; the wait then returns at
    /// once. Default: never.
    fn has_work(&self) -> bool {
        false
    }

    /// The client's phase after dispatch: run what is runnable, at most
    /// `budget` units (reads, accepts, polls of tasks, resumptions of
    /// fibers), so the other clients and the timers are not starved. More
    /// left over makes [`has_work`](Self::has_work) true. Default: nothing.
    fn run(&mut self, core: &mut LoopCore, budget: u32) {
        let _ = (core, budget);
    }

    /// The last phase of a turn: tell what ended during it. Default:
    /// nothing.
    fn finish_turn(&mut self, core: &mut LoopCore) {
        let _ = core;
    }
}

/// What the loop owns: the poller, the clock, the wheel, the waker.
pub struct LoopCore {
    pub(crate) poll: Poll,
    /// `None` only while a dispatch iterates it.
    pub(crate) events: Option<Events>,
    pub(crate) registry: Registry,
    pub(crate) clock: Clock,
    pub(crate) wheel: Wheel<Timer>,
    /// The eventfd other threads wake the loop with, made on first use.
    pub(crate) waker: Option<Arc<Waker>>,
    /// Waits made.
    pub(crate) turns: u64,
}

/// The waker's token.
pub(crate) const WAKER: Token = Token(0);

impl LoopCore {
    pub(crate) fn new(poll: Poll, events: usize) -> LoopCore {
        LoopCore {
            registry: poll.registry().clone(),
            poll,
            events: Some(Events::with_capacity(events)),
            clock: Clock::new(),
            wheel: Wheel::new(),
            waker: None,
            turns: 0,
        }
    }

    /// The registry of the loop's poller (readiness drivers).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The loop's time, read at the start of this turn and after its wait.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Turns (waits) made so far.
    pub fn turns(&self) -> u64 {
        self.turns
    }

    /// Sets a timer due `after` from now (never earlier; millisecond
    /// resolution): [`Client::on_timer`] of the owner of `timer.token` gets
    /// it.
    pub fn set_timer(&mut self, after: Duration, timer: Timer) -> TimerKey {
        let at = self.clock.deadline(after);
        self.wheel.insert(at, timer)
    }

    /// Sets a timer due at `at` (never earlier; millisecond resolution).
    pub fn set_timer_at(&mut self, at: Instant, timer: Timer) -> TimerKey {
        let tick = self.clock.deadline_at(at);
        self.wheel.insert(tick, timer)
    }

    /// Sets a timer due at wheel tick `at`.
    pub(crate) fn set_timer_at_tick(&mut self, at: Tick, timer: Timer) -> TimerKey {
        self.wheel.insert(at, timer)
    }

    /// Cancels a timer; its payload if it was pending.
    pub fn cancel_timer(&mut self, key: TimerKey) -> Option<Timer> {
        self.wheel.cancel(key)
    }

    /// Timers pending.
    pub fn timers(&self) -> usize {
        self.wheel.len()
    }

    /// The loop's waker (an eventfd, made and registered on first use):
    /// waking it from any thread makes the loop's wait return, so that
    /// the clients' `has_work` is asked again.
    ///
    /// # Errors
    ///
    /// The eventfd could not be made or registered.
    pub fn waker(&mut self) -> io::Result<Arc<Waker>> {
        if let Some(w) = &self.waker {
            return Ok(Arc::clone(w));
        }
        let w = Arc::new(Waker::new(&self.registry, WAKER)?);
        self.waker = Some(Arc::clone(&w));
        Ok(w)
    }

    /// The wait phase: blocks until an event, the next timer or `max_wait`
    /// (`Some(Duration::ZERO)`: returns at once).
    pub(crate) fn wait(&mut self, max_wait: Option<Duration>) -> io::Result<()> {
        let timeout = if max_wait == Some(Duration::ZERO) {
            max_wait
        } else {
            let next = self.wheel.next_deadline().map(|t| self.clock.until(t));
            match (next, max_wait) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        let Some(events) = self.events.as_mut() else { return Ok(()) };
        self.poll.poll(events, timeout)?;
        self.turns += 1;
        // The events happened during the wait: stamp them with its end.
        self.clock.update();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_keeps_its_kind_index_and_generation() {
        let t = token(Kind::CONNECTION, 12345, 7);
        assert_eq!(kind_of(t), Kind::CONNECTION);
        assert_eq!(slot_of(t), (12345, 7));
        let t = token(Kind(15), MAX_INDEX, u32::MAX);
        assert_eq!(kind_of(t), Kind(15));
        assert_eq!(slot_of(t), (MAX_INDEX, u32::MAX));
        assert_eq!(token(Kind::CORE, 0, 0), WAKER);
        assert_eq!(Kind::from_number(16), None);
    }
}
