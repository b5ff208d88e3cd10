//! What one node tells another about a session it holds, as the payload of
//! a PostgreSQL `NOTIFY` on the holding node's channel: a frame to send, a
//! `kicked` frame that ends the session, or a nudge to re-read the
//! account's session list when that list is too long for a payload.

use imlogin_protocol::{ClientsChange, ServerFrame};
use serde::{Deserialize, Serialize};

/// PostgreSQL refuses `NOTIFY` payloads of 8000 bytes or more; a `clients`
/// list longer than this is sent as [`Notice::Refresh`] instead.
pub const MAX_PAYLOAD: usize = 7_900;

/// One message to one session on the node listening on the channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "camelCase")]
pub enum Notice {
    /// Send `frame` to session `to`.
    Send {
        /// The target session's clientId.
        to: String,
        /// The frame.
        frame: ServerFrame,
    },
    /// Send this `kicked` frame to session `to`, then close it; its row is
    /// already gone from the sessions table.
    Kicked {
        /// The target session's clientId.
        to: String,
        /// The `kicked` frame.
        frame: ServerFrame,
    },
    /// The account of session `to` changed (`change`) but its list did not
    /// fit a payload: the holding node reads the list and sends it.
    Refresh {
        /// The target session's clientId.
        to: String,
        /// The account, to read its sessions.
        accid: String,
        /// What changed.
        change: ClientsChange,
    },
}

impl Notice {
    /// The payload text.
    pub fn encode(&self) -> String {
        // Serializing these plain enums and strings cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a payload; `None` for one this node cannot read (logged by
    /// the caller, never a panic).
    pub fn decode(payload: &str) -> Option<Notice> {
        serde_json::from_str(payload).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imlogin_protocol::KickReason;

    #[test]
    fn notices_round_trip() {
        let n = Notice::Kicked {
            to: "ab-1".into(),
            frame: ServerFrame::Kicked {
                reason: KickReason::SameDevice,
                client_type: None,
            },
        };
        assert_eq!(Notice::decode(&n.encode()), Some(n));
        assert_eq!(Notice::decode("{\"k\":\"nope\"}"), None);
    }
}
