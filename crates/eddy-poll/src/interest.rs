//! [`Interest`] (which directions a registration watches) and [`Trigger`]
//! (when the kernel reports them).
//!
//! `Interest` is a non-zero bit set: an empty interest cannot be built, so a
//! registration that watches nothing cannot exist (use `deregister`).

use std::fmt;
use std::num::NonZeroU8;
use std::ops;

const READABLE: u8 = 0b001;
const WRITABLE: u8 = 0b010;
const PRIORITY: u8 = 0b100;

/// The readiness a registration watches: readable, writable, priority, or any
/// union of them; never empty.
///
/// Read-closed, write-closed and error conditions need no interest: the
/// kernel reports them with whatever was asked for (epoll always reports
/// `EPOLLERR` and `EPOLLHUP`; eddy adds `EPOLLRDHUP` to every readable
/// interest so a peer's half-close is seen, except in an exclusive
/// registration, where the kernel refuses it).
///
/// # Examples
///
/// ```
/// use eddy_poll::Interest;
/// let both = Interest::READABLE | Interest::WRITABLE;
/// assert!(both.is_readable() && both.is_writable());
/// assert_eq!(both.remove(Interest::WRITABLE), Some(Interest::READABLE));
/// assert_eq!(Interest::READABLE.remove(Interest::READABLE), None);
/// ```
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct Interest(NonZeroU8);

impl Interest {
    /// Data can be read (`EPOLLIN`), a listener can accept, a peer closed.
    pub const READABLE: Interest = Interest(NonZeroU8::new(READABLE).unwrap());
    /// Data can be written without blocking (`EPOLLOUT`); a connect finished.
    pub const WRITABLE: Interest = Interest(NonZeroU8::new(WRITABLE).unwrap());
    /// Priority (TCP out-of-band) data is waiting (`EPOLLPRI`; select's
    /// exception set).
    pub const PRIORITY: Interest = Interest(NonZeroU8::new(PRIORITY).unwrap());

    /// The union of `self` and `other`.
    #[must_use]
    pub const fn add(self, other: Interest) -> Interest {
        // The OR of two non-zero values is non-zero, so `None` cannot happen.
        match NonZeroU8::new(self.0.get() | other.0.get()) {
            Some(bits) => Interest(bits),
            None => self,
        }
    }

    /// `self` without `other`, or `None` when nothing would be left.
    #[must_use]
    pub const fn remove(self, other: Interest) -> Option<Interest> {
        match NonZeroU8::new(self.0.get() & !other.0.get()) {
            Some(bits) => Some(Interest(bits)),
            None => None,
        }
    }

    /// Watches readability.
    pub const fn is_readable(self) -> bool {
        self.0.get() & READABLE != 0
    }

    /// Watches writability.
    pub const fn is_writable(self) -> bool {
        self.0.get() & WRITABLE != 0
    }

    /// Watches priority data.
    pub const fn is_priority(self) -> bool {
        self.0.get() & PRIORITY != 0
    }

    /// Whether every direction of `other` is in `self`.
    pub const fn contains(self, other: Interest) -> bool {
        self.0.get() & other.0.get() == other.0.get()
    }
}

impl ops::BitOr for Interest {
    type Output = Interest;
    fn bitor(self, other: Interest) -> Interest {
        self.add(other)
    }
}

impl ops::BitOrAssign for Interest {
    fn bitor_assign(&mut self, other: Interest) {
        *self = self.add(other);
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        for (set, name) in
            [(self.is_readable(), "READABLE"), (self.is_writable(), "WRITABLE"), (self.is_priority(), "PRIORITY")]
        {
            if set {
                write!(f, "{sep}{name}")?;
                sep = " | ";
            }
        }
        Ok(())
    }
}

/// When the kernel reports a registration's readiness; chosen per
/// registration (mio 0.6 had this choice; mio 1.x keeps only `Edge`).
///
/// On the epoll backend each mode is the kernel's own. poll(2) and select(2)
/// only know level triggering; there eddy emulates the others in user space,
/// as the variant docs say.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// Report readiness on each *change*: epoll's `EPOLLET`.
    ///
    /// The kernel queues an event when the file's wait queue is woken (new
    /// data, new space, a FIN, an error) and does not queue it again until the
    /// next wake-up. So the caller must consume until `WouldBlock` (or a short
    /// read, which proves the queue was drained): bytes left behind raise no
    /// new event until *new* bytes arrive, and then the old ones come first.
    ///
    /// poll/select (emulated, as mio does it): after an event, the direction
    /// stays silent until an operation on an eddy socket returns
    /// `WouldBlock`, or until `reregister`. Unlike epoll, new data arriving
    /// before that raises no second event, and a raw fd registered through
    /// [`SourceFd`](crate::SourceFd) is re-armed only by `reregister`.
    Edge,
    /// Report readiness on every wait while it lasts: epoll's default, and
    /// what poll(2) and select(2) do natively.
    ///
    /// Leaving bytes unread, or watching `WRITABLE` on a socket with room in
    /// its send buffer, makes every wait return at once.
    Level,
    /// Report once, then nothing until `reregister`: `EPOLLONESHOT`, level
    /// based (a rearm of a still-ready file reports it again at once).
    Oneshot,
    /// `EPOLLET | EPOLLONESHOT`: one event on a change, then nothing until
    /// `reregister`, which reports again only if the file is ready then.
    EdgeOneshot,
}

impl Trigger {
    /// Whether the registration is disabled after its first event.
    pub const fn is_oneshot(self) -> bool {
        matches!(self, Trigger::Oneshot | Trigger::EdgeOneshot)
    }

    /// Whether events are reported on changes rather than on state.
    pub const fn is_edge(self) -> bool {
        matches!(self, Trigger::Edge | Trigger::EdgeOneshot)
    }
}
