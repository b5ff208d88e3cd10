//! The login status a user interface shows.

/// Where the login machine stands. Exposed to JS as the strings of
/// [`Status::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// No session: nothing is connected and nothing will reconnect.
    LoggedOut,
    /// A connection attempt (open + login handshake) is under way.
    Connecting,
    /// Logged in; heartbeats keep the connection checked.
    LoggedIn,
    /// Backing off before the next connection attempt.
    Waiting,
    /// The browser reports no network: nothing is attempted until it returns.
    Offline,
}

impl Status {
    /// The JS name: `"loggedOut"`, `"connecting"`, `"loggedIn"`, `"waiting"`
    /// or `"offline"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::LoggedOut => "loggedOut",
            Status::Connecting => "connecting",
            Status::LoggedIn => "loggedIn",
            Status::Waiting => "waiting",
            Status::Offline => "offline",
        }
    }
}
