//! [`LoopHandle`]: how another thread hands work to a loop: a queue of
//! closures and the loop core's [`Waker`] (the poller's eventfd) to make the
//! loop look at it.
//!
//! The poster locks the queue, pushes, unlocks, then wakes (outside the
//! lock). The loop, on the waker's event, takes the whole queue under the
//! lock and runs the closures after releasing it, so a closure may post
//! again without deadlock. Many posts before the loop looks cost one wake-up.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use eddy_poll::Waker;

use crate::event_loop::EventLoop;
use crate::handler::Handler;

type Task<H> = Box<dyn FnOnce(&mut EventLoop<H>) + Send>;
type Queue<H> = Arc<Mutex<Vec<Task<H>>>>;

/// The loop's end: the queue and the waker.
pub(crate) struct Inbox<H: Handler> {
    queue: Queue<H>,
    waker: Arc<Waker>,
}

impl<H: Handler> Inbox<H> {
    pub(crate) fn new(waker: Arc<Waker>) -> Inbox<H> {
        Inbox { queue: Arc::default(), waker }
    }

    pub(crate) fn handle(&self) -> LoopHandle<H> {
        LoopHandle { queue: Arc::clone(&self.queue), waker: Arc::clone(&self.waker) }
    }

    pub(crate) fn take(&self) -> Vec<Task<H>> {
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Runs closures on a loop from any thread; `Clone + Send + Sync`.
///
/// # Examples
///
/// ```
/// use eddy_reactor::{Config, Conn, EventLoop, Handler, Input};
///
/// struct Nop;
/// impl Handler for Nop {
///     type State = u32;
///     fn on_data(&mut self, _: &mut Conn<'_, Self>, input: &mut Input<'_>) { input.consume_all() }
/// }
///
/// let mut lp = EventLoop::<Nop>::new(Config::default(), 0)?;
/// let handle = lp.handle()?;
/// std::thread::spawn(move || handle.post(|lp| *lp.state() += 1)).join().unwrap()?;
/// while *lp.state() == 0 {
///     lp.turn(Some(std::time::Duration::from_secs(5)))?;
/// }
/// # std::io::Result::Ok(())
/// ```
pub struct LoopHandle<H: Handler> {
    queue: Queue<H>,
    waker: Arc<Waker>,
}

impl<H: Handler> Clone for LoopHandle<H> {
    fn clone(&self) -> Self {
        LoopHandle { queue: Arc::clone(&self.queue), waker: Arc::clone(&self.waker) }
    }
}

impl<H: Handler> LoopHandle<H> {
    /// Runs `task` on the loop's thread during its next turn.
    ///
    /// # Errors
    ///
    /// The loop's eventfd could not be written (in practice, never).
    pub fn post(&self, task: impl FnOnce(&mut EventLoop<H>) + Send + 'static) -> io::Result<()> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner).push(Box::new(task));
        self.waker.wake()
    }

    /// Asks the loop to shut down gracefully.
    ///
    /// # Errors
    ///
    /// As [`post`](Self::post).
    pub fn shutdown(&self) -> io::Result<()> {
        self.post(EventLoop::shutdown)
    }
}
