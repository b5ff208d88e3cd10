//! Live link sessions, whichever directory keeps them: what the directory
//! knows of a session, what a login asks of it, what a socket task can be
//! told, and the rules ([`policy`]) — the device rule, the session policy,
//! kicks and the `clients` lists — decided and applied by the same code for
//! one node and for a cluster (`crate::backend::directory`).

pub mod policy;

use imlogin_protocol::{Client, ClientType, LoginMode, ServerFrame};
use tokio::sync::mpsc;

/// An instruction to one socket task, from outside its own frame handling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Send this frame.
    Send(ServerFrame),
    /// Send this `kicked` frame, then close with 1000. The session has
    /// already left the directory.
    Kicked(ServerFrame),
    /// Close the socket with this code (test-hook drop, shutdown: 1012).
    Close(u16),
    /// Send this restart notice, then close with 1012 (shutdown). The
    /// session leaves the directory.
    Restart(ServerFrame),
}

/// The sending half of a socket task's control channel.
pub type ControlTx = mpsc::UnboundedSender<Control>;

/// What the directory knows about one live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Server-assigned session id.
    pub client_id: String,
    /// The session's device kind.
    pub client_type: ClientType,
    /// The session's device id.
    pub device_id: String,
    /// The app's tag for the session.
    pub custom_tag: Option<String>,
    /// Login time, ms since the Unix epoch.
    pub login_at: u64,
    /// The mode of the login that created the session.
    pub mode: LoginMode,
    /// Whether that login was forced.
    pub force: bool,
}

impl SessionInfo {
    /// The session as the account's other sessions see it (`clients`).
    pub fn as_client(&self) -> Client {
        Client {
            client_id: self.client_id.clone(),
            client_type: self.client_type,
            device_id: self.device_id.clone(),
            custom_tag: self.custom_tag.clone(),
            login_at: self.login_at,
        }
    }
}

/// A login that passed the credential checks and asks for a session.
#[derive(Debug)]
pub struct Admission<'a> {
    /// The account (lower case).
    pub accid: &'a str,
    /// The device kind.
    pub client_type: ClientType,
    /// The device id.
    pub device_id: &'a str,
    /// The app's tag.
    pub custom_tag: Option<&'a str>,
    /// Manual or auto.
    pub mode: LoginMode,
    /// Mandatory login: skips the device rule, may kick another device.
    pub force: bool,
    /// Whether the store knows `device_id` for this account and
    /// clientType (last successful login, or resumable); only consulted
    /// for an auto login without `force`.
    pub known_device: bool,
    /// The account's epoch read before the credential checks (one node).
    pub epoch: u64,
    /// The token hash the credential check passed against (a cluster
    /// admission refuses a changed account as stale).
    pub token_hash: &'a str,
    /// For a resume, the hash of the ticket it was checked against: a
    /// cluster admission refuses it as stale once the ticket is gone (a
    /// `revokeDeviceTicket` on any node between the check and the
    /// admission). One node needs no such check: the revocation bumps the
    /// account's epoch.
    pub ticket_hash: Option<&'a str>,
    /// Now, ms since the Unix epoch.
    pub now_ms: u64,
    /// The new session's control channel.
    pub tx: ControlTx,
}

impl Admission<'_> {
    /// What the session policy needs to know of this login.
    pub fn request(&self) -> policy::Request<'_> {
        policy::Request {
            client_type: self.client_type,
            device_id: self.device_id,
            mode: self.mode,
            force: self.force,
            known_device: self.known_device,
        }
    }

    /// The new session as the directory keeps it.
    pub fn info(&self, client_id: String) -> SessionInfo {
        SessionInfo {
            client_id,
            client_type: self.client_type,
            device_id: self.device_id.to_owned(),
            custom_tag: self.custom_tag.map(str::to_owned),
            login_at: self.now_ms,
            mode: self.mode,
            force: self.force,
        }
    }
}

/// Why an admission was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdmitError {
    /// The account changed since the credential checks: check again.
    Stale,
    /// 403: auto login from a device other than the last one.
    Forbidden,
    /// 417: an auto login would have to kick another device.
    DevicePolicy,
    /// The shared session directory cannot be reached (→ 500).
    Unavailable,
}

/// A session admitted into the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    /// The new session's id.
    pub client_id: String,
    /// The account's other live sessions, for `loginOk`.
    pub others: Vec<Client>,
    /// The devices kicked `exclusive` (to be forgotten by the store).
    pub kicked_devices: Vec<(ClientType, String)>,
}

/// A database failure of the shared directory; logged where it happens,
/// answered as a retryable 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unavailable;

impl From<Unavailable> for AdmitError {
    fn from(_: Unavailable) -> Self {
        AdmitError::Unavailable
    }
}
