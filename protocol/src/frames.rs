//! Typed link frames, exactly as they travel: JSON objects tagged by `"t"`.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::limits::{self, FieldError};
use crate::LoginCode;

/// The kind of device a session runs on. The browser module always sends
/// [`ClientType::Web`]; the native driver and tools may use the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientType {
    /// A browser.
    Web,
    /// A Windows/Linux desktop app.
    Pc,
    /// A macOS desktop app.
    Mac,
    /// An Android app.
    Android,
    /// An iOS app.
    Ios,
}

impl ClientType {
    /// The wire name (`"web"`, `"pc"`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            ClientType::Web => "web",
            ClientType::Pc => "pc",
            ClientType::Mac => "mac",
            ClientType::Android => "android",
            ClientType::Ios => "ios",
        }
    }

    /// Parses a wire name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "web" => ClientType::Web,
            "pc" => ClientType::Pc,
            "mac" => ClientType::Mac,
            "android" => ClientType::Android,
            "ios" => ClientType::Ios,
            _ => return None,
        })
    }
}

/// Whether a login was typed by the user or resumed from a persisted session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoginMode {
    /// The user called `login(accid, token)`: may kick other devices.
    Manual,
    /// A resumed session or a reconnect: subject to the device rule and
    /// never kicks another device.
    Auto,
}

impl LoginMode {
    /// The wire name (`"manual"` or `"auto"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            LoginMode::Manual => "manual",
            LoginMode::Auto => "auto",
        }
    }
}

/// Why the server ended a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum KickReason {
    /// A manual or forced login elsewhere took the account's only slot.
    Exclusive,
    /// A newer login from the same deviceId replaced this session.
    SameDevice,
    /// Another session of the account kicked this one with `kick`.
    ByClient,
    /// An operator ended the session.
    Server,
    /// The account was blocked (clears the persisted session).
    Blocked,
    /// The token was changed or refreshed (clears the persisted session).
    TokenChanged,
    /// A reason this version does not know; treated like [`KickReason::Server`].
    #[serde(other)]
    Unknown,
}

impl KickReason {
    /// Whether a client kicked for this reason must forget its persisted
    /// session (its credentials can never work again).
    pub const fn clears_session(self) -> bool {
        matches!(self, KickReason::Blocked | KickReason::TokenChanged)
    }

    /// The wire name (`"exclusive"`, `"sameDevice"`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            KickReason::Exclusive => "exclusive",
            KickReason::SameDevice => "sameDevice",
            KickReason::ByClient => "byClient",
            KickReason::Server => "server",
            KickReason::Blocked => "blocked",
            KickReason::TokenChanged => "tokenChanged",
            KickReason::Unknown => "unknown",
        }
    }
}

/// What changed in a `clients` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientsChange {
    /// Another session of the account logged in.
    Login,
    /// Another session of the account ended.
    Logout,
}

/// One live session of an account, as shown to its other sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Client {
    /// Server-assigned id of the session, the argument of `kick`.
    pub client_id: String,
    /// The session's device kind.
    pub client_type: ClientType,
    /// The session's device id.
    pub device_id: String,
    /// The app's free-form tag for the session, if it set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_tag: Option<String>,
    /// When the session logged in, in ms since the Unix epoch.
    pub login_at: u64,
}

/// The `login` frame: the first and only frame accepted before `loginOk`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginFrame {
    /// The app's key.
    pub app_key: String,
    /// The IM account id (normalized to lower case by the decoder).
    pub accid: String,
    /// The account's token: a secret, redacted in `Debug`.
    pub token: String,
    /// The id of this browser profile or device.
    pub device_id: String,
    /// The kind of device.
    pub client_type: ClientType,
    /// Manual or auto login.
    pub mode: LoginMode,
    /// "Mandatory login": skips the device rule and may kick another device.
    pub force: bool,
    /// An app-chosen tag shown to the account's other sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_tag: Option<String>,
    /// The client library and version, e.g. `imlogin/0.1.0`.
    pub sdk: String,
}

impl fmt::Debug for LoginFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginFrame")
            .field("app_key", &self.app_key)
            .field("accid", &self.accid)
            .field("token", &"<redacted>")
            .field("device_id", &self.device_id)
            .field("client_type", &self.client_type)
            .field("mode", &self.mode)
            .field("force", &self.force)
            .field("custom_tag", &self.custom_tag)
            .field("sdk", &self.sdk)
            .finish()
    }
}

/// A frame from the client to the link server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "camelCase")]
pub enum ClientFrame {
    /// Log in; see [`LoginFrame`].
    Login(LoginFrame),
    /// Application-level heartbeat; answered with `pong`.
    Ping,
    /// End this session; the server forgets it and closes with 1000.
    Logout,
    /// Kick another session of the same account.
    #[serde(rename_all = "camelCase")]
    Kick {
        /// The `clientId` of the session to end.
        client_id: String,
    },
}

/// A frame from the link server to the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "camelCase")]
pub enum ServerFrame {
    /// The login succeeded.
    #[serde(rename_all = "camelCase")]
    LoginOk {
        /// This session's id.
        client_id: String,
        /// The server's clock, ms since the Unix epoch.
        server_time: u64,
        /// The heartbeat interval the server suggests, in ms.
        heartbeat_ms: u64,
        /// The account's other live sessions.
        clients: Vec<Client>,
    },
    /// The login failed; the server closes the socket next.
    #[serde(rename_all = "camelCase")]
    LoginErr {
        /// Why (see [`LoginCode`]).
        code: LoginCode,
        /// A human-readable explanation.
        message: String,
        /// With 416: wait at least this long before the next attempt.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    /// The session was ended by the server; the socket closes next.
    #[serde(rename_all = "camelCase")]
    Kicked {
        /// Why.
        reason: KickReason,
        /// The kind of device whose login caused the kick, when one did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_type: Option<ClientType>,
    },
    /// The account's other live sessions changed.
    Clients {
        /// What happened.
        change: ClientsChange,
        /// The full list of the account's other live sessions after it.
        clients: Vec<Client>,
    },
    /// The answer to `kick`.
    #[serde(rename_all = "camelCase")]
    KickResult {
        /// The `clientId` the kick named.
        client_id: String,
        /// 200 when the session was kicked, 404 when there was none.
        code: LoginCode,
    },
    /// The answer to `ping`.
    Pong,
    /// The server is going away (a graceful restart or a drain); it closes
    /// the socket with 1012 next. The client makes no attempt before a
    /// moment drawn uniformly from `[retryInMs, retryInMs + spreadMs]`
    /// after it, and falls back to its backoff, starting small, after
    /// that. docs/protocol.md (#server-restart).
    #[serde(rename_all = "camelCase")]
    Restart {
        /// How long until the server (or, in a cluster, another node)
        /// expects the client back, in ms: 0 when another node can take it
        /// now.
        retry_in_ms: u64,
        /// Over how long the returning clients are to spread, in ms.
        spread_ms: u64,
    },
}

/// [`ServerFrame`]'s variants externally tagged (`{"loginOk": {…}}`): a
/// `serde(remote)` view, so the compiler checks that it builds exactly
/// `ServerFrame`'s variants from exactly its fields. Read by
/// [`crate::decode_server_variant`]; `tests/fixtures.rs` checks that it
/// reads every fixture as the derive on `ServerFrame` does.
#[derive(Deserialize)]
#[serde(remote = "ServerFrame", rename_all = "camelCase")]
pub(crate) enum ServerFrameByTag {
    #[serde(rename_all = "camelCase")]
    LoginOk {
        client_id: String,
        server_time: u64,
        heartbeat_ms: u64,
        clients: Vec<Client>,
    },
    #[serde(rename_all = "camelCase")]
    LoginErr {
        code: LoginCode,
        message: String,
        #[serde(default)]
        retry_after_ms: Option<u64>,
    },
    #[serde(rename_all = "camelCase")]
    Kicked {
        reason: KickReason,
        #[serde(default)]
        client_type: Option<ClientType>,
    },
    Clients {
        change: ClientsChange,
        clients: Vec<Client>,
    },
    #[serde(rename_all = "camelCase")]
    KickResult {
        client_id: String,
        code: LoginCode,
    },
    // Braces: the frame's own object is the payload, as for the others.
    Pong {},
    #[serde(rename_all = "camelCase")]
    Restart {
        retry_in_ms: u64,
        spread_ms: u64,
    },
}

impl LoginFrame {
    /// The frame with every field checked against [`limits`] and `accid`
    /// lower-cased: what the server accepts. Fields are checked in wire
    /// order; the first bad one is reported.
    pub fn validated(mut self) -> Result<Self, FieldError> {
        limits::check_app_key(&self.app_key)?;
        self.accid = limits::normalize_accid(&self.accid)?;
        limits::check_token(&self.token)?;
        limits::check_device_id(&self.device_id)?;
        if let Some(tag) = &self.custom_tag {
            limits::check_custom_tag(tag)?;
        }
        limits::check_sdk(&self.sdk)?;
        Ok(self)
    }
}

/// The `"t"` of every [`ClientFrame`] kind.
pub const CLIENT_TAGS: [&str; 4] = ["login", "ping", "logout", "kick"];

/// The `"t"` of every [`ServerFrame`] kind.
pub const SERVER_TAGS: [&str; 7] = [
    "loginOk",
    "loginErr",
    "kicked",
    "clients",
    "kickResult",
    "pong",
    "restart",
];

impl ClientFrame {
    /// The frame as JSON text, ready to send (compact, `"t"` first, fields
    /// in declaration order: `tests/fixtures/` pins the exact text).
    pub fn to_json(&self) -> String {
        to_json(self)
    }
}

impl ServerFrame {
    /// The frame as JSON text, ready to send (compact, `"t"` first).
    pub fn to_json(&self) -> String {
        to_json(self)
    }
}

fn to_json(frame: &impl Serialize) -> String {
    // Cannot fail: every frame field is a string, a bool, an integer or a
    // list of such, and map keys are field names.
    serde_json::to_string(frame).unwrap_or_default()
}
