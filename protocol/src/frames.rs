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
    /// The app server revoked this device's resume ticket (clears the
    /// persisted session). An older client reads it as
    /// [`KickReason::Unknown`], like [`KickReason::Server`].
    Revoked,
    /// A reason this version does not know; treated like [`KickReason::Server`].
    #[serde(other)]
    Unknown,
}

impl KickReason {
    /// Whether a client kicked for this reason must forget its persisted
    /// session (its credentials can never work again).
    pub const fn clears_session(self) -> bool {
        matches!(
            self,
            KickReason::Blocked | KickReason::TokenChanged | KickReason::Revoked
        )
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
            KickReason::Revoked => "revoked",
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
///
/// It carries exactly one credential: a `token` (optionally with a
/// `deviceKey` to bind, which earns a resume ticket in `loginOk`), or a
/// resume `ticket` with `ts`, `nonce` and `sig` (auto logins only). See
/// [`LoginFrame::credential`] and docs/protocol.md, "Device-bound sessions".
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginFrame {
    /// The app's key.
    pub app_key: String,
    /// The IM account id (normalized to lower case by the decoder).
    pub accid: String,
    /// The account's token: a secret, redacted in `Debug`. Absent in a
    /// resume, which sends `ticket` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
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
    /// With a `token`: the device's public key to bind a resume ticket to
    /// (base64url of the 65-byte uncompressed SEC1 P-256 point).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_key: Option<String>,
    /// Instead of a `token`: the resume ticket of an earlier binding, a
    /// secret, redacted in `Debug`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// With a `ticket`: the client's estimate of the server's clock, ms
    /// since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<u64>,
    /// With a `ticket`: 16 random bytes, base64url, never sent twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// With a `ticket`: the device key's signature of
    /// [`LoginFrame::resume_message`] (base64url of the 64-byte r‖s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig: Option<String>,
}

/// A resume ticket as `loginOk` carries it: a secret, so its `Debug`
/// shows `<redacted>`; on the wire a plain string.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResumeTicket(pub String);

impl ResumeTicket {
    /// The ticket itself.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ResumeTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResumeTicket(<redacted>)")
    }
}

impl From<String> for ResumeTicket {
    fn from(ticket: String) -> Self {
        ResumeTicket(ticket)
    }
}

/// The credential of a validated [`LoginFrame`]: exactly one of a token or
/// a resume ticket.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Credential<'a> {
    /// A login with the account's token, binding `device_key` when given.
    Token {
        /// The token.
        token: &'a str,
        /// The public key to bind a resume ticket to.
        device_key: Option<&'a str>,
    },
    /// A resume with a ticket, signed by the bound device key.
    Ticket {
        /// The ticket.
        ticket: &'a str,
        /// The client's estimate of the server's clock, ms since the epoch.
        ts: u64,
        /// The frame's nonce.
        nonce: &'a str,
        /// The signature of [`LoginFrame::resume_message`].
        sig: &'a str,
    },
}

impl fmt::Debug for Credential<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Token { device_key, .. } => f
                .debug_struct("Token")
                .field("token", &"<redacted>")
                .field("device_key", device_key)
                .finish(),
            Credential::Ticket { ts, nonce, sig, .. } => f
                .debug_struct("Ticket")
                .field("ticket", &"<redacted>")
                .field("ts", ts)
                .field("nonce", nonce)
                .field("sig", sig)
                .finish(),
        }
    }
}

/// Shown instead of a secret in `Debug`: whether it is there, never what.
fn redacted(secret: &Option<String>) -> &'static str {
    match secret {
        Some(_) => "<redacted>",
        None => "None",
    }
}

impl fmt::Debug for LoginFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginFrame")
            .field("app_key", &self.app_key)
            .field("accid", &self.accid)
            .field("token", &redacted(&self.token))
            .field("device_id", &self.device_id)
            .field("client_type", &self.client_type)
            .field("mode", &self.mode)
            .field("force", &self.force)
            .field("custom_tag", &self.custom_tag)
            .field("sdk", &self.sdk)
            .field("device_key", &self.device_key)
            .field("ticket", &redacted(&self.ticket))
            .field("ts", &self.ts)
            .field("nonce", &self.nonce)
            .field("sig", &self.sig)
            .finish()
    }
}

/// A frame from the client to the link server.
// A frame lives only from its decoding to its handling, one at a time per
// connection: boxing the login would cost an allocation per login and
// change every match on it, for no memory saved.
#[allow(clippy::large_enum_variant)]
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
        /// The resume ticket bound to the `deviceKey` the login sent (a
        /// secret to keep instead of the token); absent otherwise.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ticket: Option<ResumeTicket>,
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
        #[serde(default)]
        ticket: Option<ResumeTicket>,
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
}

impl LoginFrame {
    /// The frame with every field checked against [`limits`] and `accid`
    /// lower-cased: what the server accepts. Fields are checked in wire
    /// order; the first bad one is reported. Exactly one of `token` and
    /// `ticket` must be present (neither: `token` is missing; both:
    /// `ticket` is not allowed); `deviceKey` only with a token; `ts`,
    /// `nonce` and `sig` only, and all of them, with a ticket, whose login
    /// must be an auto login.
    pub fn validated(mut self) -> Result<Self, FieldError> {
        use limits::Problem::{Missing, NotAllowed};
        let refuse = |field| Err(FieldError::new(field, NotAllowed));
        limits::check_app_key(&self.app_key)?;
        self.accid = limits::normalize_accid(&self.accid)?;
        match (&self.token, &self.ticket) {
            (None, None) => return Err(FieldError::new("token", Missing)),
            (Some(token), None) => limits::check_token(token)?,
            (Some(_), Some(_)) => return refuse("ticket"),
            (None, Some(_)) => {}
        }
        limits::check_device_id(&self.device_id)?;
        if let Some(tag) = &self.custom_tag {
            limits::check_custom_tag(tag)?;
        }
        limits::check_sdk(&self.sdk)?;
        if let Some(key) = &self.device_key {
            if self.token.is_none() {
                return refuse("deviceKey");
            }
            limits::check_device_key(key)?;
        }
        if let Some(ticket) = &self.ticket {
            if self.mode != LoginMode::Auto {
                return refuse("ticket");
            }
            limits::check_ticket(ticket)?;
            if self.ts.is_none() {
                return Err(FieldError::new("ts", Missing));
            }
            limits::check_nonce(
                self.nonce
                    .as_deref()
                    .ok_or(FieldError::new("nonce", Missing))?,
            )?;
            limits::check_sig(self.sig.as_deref().ok_or(FieldError::new("sig", Missing))?)?;
        } else {
            for (field, present) in [
                ("ts", self.ts.is_some()),
                ("nonce", self.nonce.is_some()),
                ("sig", self.sig.is_some()),
            ] {
                if present {
                    return refuse(field);
                }
            }
        }
        Ok(self)
    }

    /// The frame's credential. For a frame that [`LoginFrame::validated`]
    /// accepted it is always `Some`; `None` for a frame that breaks its
    /// rules (no credential, both, or a ticket without `ts`, `nonce` or
    /// `sig`).
    pub fn credential(&self) -> Option<Credential<'_>> {
        match (&self.token, &self.ticket) {
            (Some(token), None) => Some(Credential::Token {
                token,
                device_key: self.device_key.as_deref(),
            }),
            (None, Some(ticket)) => Some(Credential::Ticket {
                ticket,
                ts: self.ts?,
                nonce: self.nonce.as_deref()?,
                sig: self.sig.as_deref()?,
            }),
            _ => None,
        }
    }

    /// The bytes a resume's `sig` signs (UTF-8):
    /// `"imlogin-resume-v1\n" + appKey + "\n" + accid + "\n" + deviceId +
    /// "\n" + ticket + "\n" + ts + "\n" + nonce`, with `ts` in decimal and
    /// `accid` exactly as the client sends it.
    pub fn resume_message(
        app_key: &str,
        accid: &str,
        device_id: &str,
        ticket: &str,
        ts: u64,
        nonce: &str,
    ) -> String {
        format!(
            "{RESUME_SIGNATURE_CONTEXT}\n{app_key}\n{accid}\n{device_id}\n{ticket}\n{ts}\n{nonce}"
        )
    }
}

/// The first line of every signed resume message: names the scheme and its
/// version, so that a signature made for anything else never verifies.
pub const RESUME_SIGNATURE_CONTEXT: &str = "imlogin-resume-v1";

/// The `"t"` of every [`ClientFrame`] kind.
pub const CLIENT_TAGS: [&str; 4] = ["login", "ping", "logout", "kick"];

/// The `"t"` of every [`ServerFrame`] kind.
pub const SERVER_TAGS: [&str; 6] = [
    "loginOk",
    "loginErr",
    "kicked",
    "clients",
    "kickResult",
    "pong",
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
