//! What the login machine asks its driver to do, and what it tells the app.

use imlogin_protocol::{Client, ClientFrame, ClientType, ClientsChange, KickReason, LoginCode};
use serde::{Deserialize, Serialize};

use crate::device::ProofRequest;
use crate::{LoginError, Status, StoredSession};

/// Identifies one connection the machine asked for. Transport events carry
/// it back, so that a late event of an abandoned socket is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Identifies one call of `login`, `auto_login` or `kick_client`, whose
/// outcome arrives later as [`Output::Settle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// An action for the driver, polled with `LoginMachine::poll_output`.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Open a WebSocket to the link server (the driver picks the URL: LBS
    /// first when configured, else `linkUrl`) and report its events with
    /// this id.
    Connect(ConnId),
    /// Dynamic tokens only: fetch a token for this accid (call the app's
    /// `tokenProvider`) and report it with `LoginMachine::handle_token`.
    /// The login frame waits for it.
    FetchToken(ConnId, String),
    /// With [`Config::delay_hook`](crate::Config::delay_hook) only: ask the
    /// app how long to wait before the next attempt (its `reconnectDelay`)
    /// and report the answer with `LoginMachine::handle_delay`. Until it
    /// comes the machine waits `default_ms` (the backoff it drew); the
    /// `reconnecting` event is emitted with the answer.
    ChooseDelay {
        /// The attempt that failed; the answer names it.
        conn: ConnId,
        /// Failed attempts in a row, from 1.
        attempt: u32,
        /// The backoff delay the machine drew, in ms.
        default_ms: f64,
    },
    /// Device binding: answer this request with the device key (the
    /// public key; for a resume also a signature over the resume message,
    /// with a `ts` and nonce the driver picks) and report it with
    /// `LoginMachine::handle_proof`. The login frame waits for it.
    Prove(ConnId, ProofRequest),
    /// Send a frame on the connection.
    Send(ConnId, ClientFrame),
    /// Close the connection with this code; report nothing more about it.
    Close(ConnId, u16),
    /// Store the session record (credentials that just logged in).
    Persist(StoredSession),
    /// Remove the stored session record.
    ClearPersisted,
    /// Tell the app something.
    Emit(Event),
    /// Settle the promise of a request: `Ok` resolves it, `Err` rejects it.
    Settle(RequestId, Result<(), LoginError>),
}

/// Why a connection was lost, or an attempt failed, before a
/// `reconnecting` event.
///
/// Serde-derived (externally tagged) so that the tab group can carry it
/// between tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Disconnect {
    /// The connection could not be opened: the link server refused it,
    /// was unreachable, or the browser refused the URL.
    Unreachable,
    /// The connection, once open, closed with this WebSocket close code
    /// (1006: it broke without a close frame; 1012: the server restarted).
    Closed(u16),
    /// The attempt got no answer within `connectTimeoutMs`.
    Timeout,
    /// The server did not answer a heartbeat `ping` in time.
    NoPong,
    /// The server refused the login with a retryable code (416, 5xx).
    Refused(LoginCode),
    /// The server sent a frame that does not decode.
    BadFrame,
    /// The `tokenProvider` gave no token.
    NoToken,
}

impl Disconnect {
    /// The JS name of the reason: `"unreachable"`, `"closed"`, `"timeout"`,
    /// `"noPong"`, `"refused"`, `"badFrame"` or `"tokenProvider"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Disconnect::Unreachable => "unreachable",
            Disconnect::Closed(_) => "closed",
            Disconnect::Timeout => "timeout",
            Disconnect::NoPong => "noPong",
            Disconnect::Refused(_) => "refused",
            Disconnect::BadFrame => "badFrame",
            Disconnect::NoToken => "tokenProvider",
        }
    }
}

/// The account's other live sessions after a change (`"clients"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientsUpdate {
    /// The full list after the change.
    pub clients: Vec<Client>,
    /// What changed: a session of the account logged in or out; `None`
    /// for the whole list as it stands (on this session's login, or when
    /// the list is emptied because this session ended).
    pub change: Option<ClientsChange>,
    /// The session that logged in or out, when the lists before and after
    /// tell which.
    pub client: Option<Client>,
}

impl ClientsUpdate {
    /// The whole list, no change named.
    pub fn list(clients: Vec<Client>) -> Self {
        ClientsUpdate {
            clients,
            change: None,
            client: None,
        }
    }

    /// A change the server announced, with the session it concerns found
    /// by comparing the list `before` with the new one.
    pub fn changed(before: &[Client], clients: Vec<Client>, change: ClientsChange) -> Self {
        let (from, to) = match change {
            ClientsChange::Login => (&clients[..], before),
            ClientsChange::Logout => (before, &clients[..]),
        };
        let client = from
            .iter()
            .find(|c| !to.iter().any(|o| o.client_id == c.client_id))
            .cloned();
        ClientsUpdate {
            change: Some(change),
            client,
            clients,
        }
    }
}

/// Something the app is told through `on(name, listener)`.
///
/// Serde-derived so that the tab group can carry it between tabs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Event {
    /// The status changed (`"status"`).
    Status(Status),
    /// A login, auto login or reconnection ended in failure
    /// (`"loginFailed"`). Cancellations (499) are not failures.
    LoginFailed(LoginError),
    /// The server ended the session (`"kicked"`); nothing reconnects.
    #[serde(rename_all = "camelCase")]
    Kicked {
        /// Why.
        reason: KickReason,
        /// The kind of device whose login caused it, when one did.
        client_type: Option<ClientType>,
    },
    /// A connection attempt failed or the connection was lost; the next
    /// attempt comes after `delay_ms` (`"reconnecting"`).
    #[serde(rename_all = "camelCase")]
    Reconnecting {
        /// Counts the failed attempts in a row, from 1. The backoff delay
        /// lies in `[0, min(maxMs, initialMs · 2^(attempt−1))]`.
        attempt: u32,
        /// The delay before the next attempt, in ms.
        delay_ms: f64,
        /// Why the connection was lost or the attempt failed.
        reason: Disconnect,
    },
    /// The account's other live sessions changed (`"clients"`).
    Clients(ClientsUpdate),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: &str) -> Client {
        Client {
            client_id: id.into(),
            client_type: ClientType::Web,
            device_id: format!("device-{id}"),
            custom_tag: None,
            login_at: 1,
        }
    }

    #[test]
    fn a_clients_change_names_the_session_that_came_or_went() {
        let before = vec![client("a")];
        let login = ClientsUpdate::changed(
            &before,
            vec![client("a"), client("b")],
            ClientsChange::Login,
        );
        assert_eq!(login.client, Some(client("b")));
        let logout =
            ClientsUpdate::changed(&login.clients, vec![client("b")], ClientsChange::Logout);
        assert_eq!(logout.client, Some(client("a")));
        // A list that does not tell (a change already known) names none.
        let same = ClientsUpdate::changed(&before, before.clone(), ClientsChange::Login);
        assert_eq!(
            (same.change, same.client),
            (Some(ClientsChange::Login), None)
        );
    }
}
