//! [`Token`]: the caller's name for a registration.
//!
//! The kernel hands the token back, untouched, in every event of the
//! registration (it travels in `epoll_event.data`). eddy never interprets it,
//! except for one reserved value, [`Token::RESERVED`], which names the poller's
//! own notifier and is refused at registration.

/// Associates an event with the registration that produced it.
///
/// # Examples
///
/// ```
/// use eddy_poll::Token;
/// const LISTENER: Token = Token(0);
/// assert_eq!(LISTENER.0, 0);
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Token(pub usize);

impl Token {
    /// The one token eddy keeps for itself (`usize::MAX`): it marks the
    /// poller's internal notifier. Registering with it fails with
    /// [`std::io::ErrorKind::InvalidInput`].
    pub const RESERVED: Token = Token(usize::MAX);
}

impl From<Token> for usize {
    fn from(token: Token) -> usize {
        token.0
    }
}
