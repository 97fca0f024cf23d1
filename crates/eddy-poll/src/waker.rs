//! [`Waker`]: wakes a blocked [`Poll::poll`](crate::Poll::poll) from any
//! thread.
//!
//! A waker is an edge-triggered user source (see `user`) whose every `wake`
//! sets it readable. Its cost is the poller's single eventfd: the first wake
//! after the poller last looked writes it (one `write(2)`), later wakes until
//! then only take two uncontended locks. So many wakes before one wait give
//! one event, and each wake after the poller looked gives a new one.

use std::fmt;
use std::io;

use crate::{Interest, Ready, Registration, Registry, SetReadiness, Token, Trigger};

/// Wakes a [`Poll`](crate::Poll) from another thread; `Send + Sync`.
///
/// Dropping it deregisters its token.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use eddy_poll::{Events, Poll, Token, Waker};
///
/// let mut poll = Poll::new()?;
/// let waker = Arc::new(Waker::new(poll.registry(), Token(10))?);
/// let w = Arc::clone(&waker);
/// std::thread::spawn(move || { w.wake().unwrap(); w.wake().unwrap(); });
///
/// let mut events = Events::with_capacity(8);
/// poll.poll(&mut events, Some(Duration::from_secs(5)))?;
/// assert!(events.iter().any(|e| e.token() == Token(10) && e.is_readable()));
/// # std::io::Result::Ok(())
/// ```
pub struct Waker {
    set: SetReadiness,
    _source: Registration,
}

impl Waker {
    /// A waker whose wakes are reported as readable events with `token`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for [`Token::RESERVED`].
    pub fn new(registry: &Registry, token: Token) -> io::Result<Waker> {
        let (mut source, set) = Registration::new();
        registry.register(&mut source, token, Interest::READABLE, Trigger::Edge)?;
        Ok(Waker { set, _source: source })
    }

    /// Makes the poller report this waker's token, waking it if it is
    /// blocked.
    ///
    /// # Errors
    ///
    /// The poller's eventfd could not be written (in practice, never).
    pub fn wake(&self) -> io::Result<()> {
        self.set.set_readiness(Ready::READABLE)
    }
}

impl fmt::Debug for Waker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waker").finish_non_exhaustive()
    }
}
