//! What the login machine asks its driver to do, and what it tells the app.

use imlogin_protocol::{Client, ClientFrame, ClientType, KickReason};
use serde::{Deserialize, Serialize};

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
    /// A connection attempt failed; the next one comes after `delay_ms`
    /// (`"reconnecting"`).
    #[serde(rename_all = "camelCase")]
    Reconnecting {
        /// Counts the failed attempts in a row, from 1. The backoff delay
        /// lies in `[0, min(maxMs, initialMs · 2^(attempt−1))]`.
        attempt: u32,
        /// The delay before the next attempt, in ms.
        delay_ms: f64,
    },
    /// The account's other live sessions (`"clients"`).
    Clients(Vec<Client>),
}
