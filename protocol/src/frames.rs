//! Typed link frames, exactly as they travel: JSON objects tagged by `"t"`.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::json::ObjectWriter;
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
}

impl ClientFrame {
    /// The frame as JSON text, ready to send: the same text as
    /// `serde_json::to_string(self)` (the fixture tests pin both), written
    /// without serde so that the browser build carries no JSON library.
    pub fn to_json(&self) -> String {
        let w = ObjectWriter::new();
        match self {
            ClientFrame::Login(f) => w
                .string("t", "login")
                .string("appKey", &f.app_key)
                .string("accid", &f.accid)
                .string("token", &f.token)
                .string("deviceId", &f.device_id)
                .string("clientType", f.client_type.as_str())
                .string("mode", f.mode.as_str())
                .boolean("force", f.force)
                .optional_string("customTag", f.custom_tag.as_deref())
                .string("sdk", &f.sdk),
            ClientFrame::Ping => w.string("t", "ping"),
            ClientFrame::Logout => w.string("t", "logout"),
            ClientFrame::Kick { client_id } => w.string("t", "kick").string("clientId", client_id),
        }
        .finish()
    }
}

impl ServerFrame {
    /// The frame as JSON text, ready to send.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
