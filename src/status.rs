//! The login status a user interface shows.

use serde::{Deserialize, Serialize};

/// Where the login machine stands. Exposed to JS as the strings of
/// [`Status::as_str`] (its serde form).
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
}

#[cfg(test)]
mod tests {
    use super::Status;

    #[test]
    fn the_serde_form_of_every_status_is_its_js_name() {
        for s in [
            Status::LoggedOut,
            Status::Connecting,
            Status::LoggedIn,
            Status::Waiting,
            Status::Offline,
        ] {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<Status>(&json).unwrap(), s);
        }
        assert!(serde_json::from_str::<Status>("\"LoggedIn\"").is_err());
    }
}
