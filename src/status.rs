//! The login status a user interface shows.

use serde::{Deserialize, Serialize};

/// Where the login machine stands. Exposed to JS as the strings of
/// [`Status::as_str`] (also its serde form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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

    /// Parses a JS name of [`Status::as_str`]; `None` for anything else.
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "loggedOut" => Status::LoggedOut,
            "connecting" => Status::Connecting,
            "loggedIn" => Status::LoggedIn,
            "waiting" => Status::Waiting,
            "offline" => Status::Offline,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Status;

    #[test]
    fn every_status_parses_back_from_its_js_name() {
        for s in [
            Status::LoggedOut,
            Status::Connecting,
            Status::LoggedIn,
            Status::Waiting,
            Status::Offline,
        ] {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("LoggedIn"), None);
    }
}
