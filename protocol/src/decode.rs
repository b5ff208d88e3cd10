//! Validating decoders for link frames: every bad input becomes a typed
//! [`DecodeError`] that says how the receiver must answer it.

use core::fmt;

use serde_json::{Map, Value};

use crate::close;
use crate::frames::{
    Client, ClientFrame, ClientType, ClientsChange, KickReason, LoginFrame, LoginMode, ServerFrame,
};
use crate::json::JsonValue;
use crate::limits::{self, FieldError, Problem};
use crate::LoginCode;

/// Why a received frame was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The payload is larger than the limit (client frames: 4096 bytes).
    TooLarge {
        /// The payload's size in bytes.
        len: usize,
    },
    /// The payload is not JSON (or nests deeper than the parser allows).
    NotJson,
    /// The payload is JSON but not an object with a string `"t"`.
    NoTag,
    /// The `"t"` tag names no frame this side accepts.
    UnknownTag,
    /// A known frame (other than `login`) with missing or wrong fields.
    BadFrame,
    /// A well-formed `login` frame with a missing, wrongly typed or
    /// out-of-limits field: answered with `loginErr` 414, not a close.
    BadLogin(FieldError),
}

impl DecodeError {
    /// The WebSocket close code the server answers this error with, or
    /// `None` for [`DecodeError::BadLogin`], which gets `loginErr` 414.
    pub const fn close_code(&self) -> Option<u16> {
        match self {
            DecodeError::TooLarge { .. } => Some(close::MESSAGE_TOO_BIG),
            DecodeError::BadLogin(_) => None,
            _ => Some(close::POLICY_VIOLATION),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooLarge { .. } => f.write_str("frame too large"),
            DecodeError::NotJson => f.write_str("frame is not JSON"),
            DecodeError::NoTag => f.write_str("frame is not an object with a string \"t\""),
            DecodeError::UnknownTag => f.write_str("unknown frame type"),
            DecodeError::BadFrame => f.write_str("frame has missing or wrong fields"),
            DecodeError::BadLogin(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decodes a client frame received by the server.
///
/// Enforces [`limits::MAX_FRAME_BYTES`], validates every `login` field
/// against [`limits`] and normalizes `accid` to lower case. Unknown extra
/// fields are ignored, so that newer clients can add optional ones.
pub fn decode_client_frame(text: &str) -> Result<ClientFrame, DecodeError> {
    if text.len() > limits::MAX_FRAME_BYTES {
        return Err(DecodeError::TooLarge { len: text.len() });
    }
    let value: Value = serde_json::from_str(text).map_err(|_| DecodeError::NotJson)?;
    let Value::Object(obj) = value else {
        return Err(DecodeError::NoTag);
    };
    let tag = obj
        .get("t")
        .and_then(Value::as_str)
        .ok_or(DecodeError::NoTag)?;
    match tag {
        "login" => decode_login(&obj)
            .map(ClientFrame::Login)
            .map_err(DecodeError::BadLogin),
        "ping" => Ok(ClientFrame::Ping),
        "logout" => Ok(ClientFrame::Logout),
        "kick" => match obj.get("clientId") {
            Some(Value::String(id)) => Ok(ClientFrame::Kick {
                client_id: id.clone(),
            }),
            _ => Err(DecodeError::BadFrame),
        },
        _ => Err(DecodeError::UnknownTag),
    }
}

fn required_str<'a>(
    obj: &'a Map<String, Value>,
    field: &'static str,
) -> Result<&'a str, FieldError> {
    match obj.get(field) {
        None | Some(Value::Null) => Err(FieldError::new(field, Problem::Missing)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(FieldError::new(field, Problem::WrongType)),
    }
}

fn decode_login(obj: &Map<String, Value>) -> Result<LoginFrame, FieldError> {
    let app_key = required_str(obj, "appKey")?;
    limits::check_app_key(app_key)?;
    let accid = limits::normalize_accid(required_str(obj, "accid")?)?;
    let token = required_str(obj, "token")?;
    limits::check_token(token)?;
    let device_id = required_str(obj, "deviceId")?;
    limits::check_device_id(device_id)?;
    let client_type = ClientType::parse(required_str(obj, "clientType")?)
        .ok_or(FieldError::new("clientType", Problem::WrongType))?;
    let mode = match required_str(obj, "mode")? {
        "manual" => LoginMode::Manual,
        "auto" => LoginMode::Auto,
        _ => return Err(FieldError::new("mode", Problem::WrongType)),
    };
    let force = match obj.get("force") {
        None | Some(Value::Null) => return Err(FieldError::new("force", Problem::Missing)),
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(FieldError::new("force", Problem::WrongType)),
    };
    let custom_tag = match obj.get("customTag") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            limits::check_custom_tag(s)?;
            Some(s.clone())
        }
        Some(_) => return Err(FieldError::new("customTag", Problem::WrongType)),
    };
    let sdk = required_str(obj, "sdk")?;
    limits::check_sdk(sdk)?;
    Ok(LoginFrame {
        app_key: app_key.to_owned(),
        accid,
        token: token.to_owned(),
        device_id: device_id.to_owned(),
        client_type,
        mode,
        force,
        custom_tag,
        sdk: sdk.to_owned(),
    })
}

/// Decodes a server frame received by the client.
///
/// Enforces [`limits::MAX_SERVER_FRAME_BYTES`], then reads the frame with
/// [`decode_server_value`].
pub fn decode_server_frame(text: &str) -> Result<ServerFrame, DecodeError> {
    if text.len() > limits::MAX_SERVER_FRAME_BYTES {
        return Err(DecodeError::TooLarge { len: text.len() });
    }
    let value: Value = serde_json::from_str(text).map_err(|_| DecodeError::NotJson)?;
    decode_server_value(&value)
}

/// Reads a server frame from an already parsed JSON value (a `serde_json`
/// value, or the browser's `JSON.parse` result in the wasm build).
///
/// Anything that is not one of the frames of [`ServerFrame`] is an error
/// (the client treats it as a broken connection); unknown extra fields are
/// ignored, and an unknown kick reason reads as [`KickReason::Unknown`].
/// Written by hand rather than with serde's derive, whose internally tagged
/// enums pull buffering and float formatting into the browser build.
pub fn decode_server_value<V: JsonValue>(value: V) -> Result<ServerFrame, DecodeError> {
    if value.key_count().is_none() {
        return Err(DecodeError::NoTag);
    }
    let tag = value
        .field("t")
        .and_then(|t| t.string())
        .ok_or(DecodeError::NoTag)?;
    let frame = match tag.as_str() {
        "loginOk" => ServerFrame::LoginOk {
            client_id: string(&value, "clientId")?,
            server_time: uint(&value, "serverTime")?,
            heartbeat_ms: uint(&value, "heartbeatMs")?,
            clients: client_list(&value)?,
        },
        "loginErr" => ServerFrame::LoginErr {
            code: code(&value)?,
            message: string(&value, "message")?,
            retry_after_ms: match value.field("retryAfterMs") {
                None => None,
                Some(v) => Some(v.uint().ok_or(DecodeError::BadFrame)?),
            },
        },
        "kicked" => ServerFrame::Kicked {
            reason: match string(&value, "reason")?.as_str() {
                "exclusive" => KickReason::Exclusive,
                "sameDevice" => KickReason::SameDevice,
                "byClient" => KickReason::ByClient,
                "server" => KickReason::Server,
                "blocked" => KickReason::Blocked,
                "tokenChanged" => KickReason::TokenChanged,
                _ => KickReason::Unknown,
            },
            client_type: match value.field("clientType") {
                None => None,
                Some(v) => Some(client_type(&v)?),
            },
        },
        "clients" => ServerFrame::Clients {
            change: match string(&value, "change")?.as_str() {
                "login" => ClientsChange::Login,
                "logout" => ClientsChange::Logout,
                _ => return Err(DecodeError::BadFrame),
            },
            clients: client_list(&value)?,
        },
        "kickResult" => ServerFrame::KickResult {
            client_id: string(&value, "clientId")?,
            code: code(&value)?,
        },
        "pong" => ServerFrame::Pong,
        _ => return Err(DecodeError::UnknownTag),
    };
    Ok(frame)
}

fn string<V: JsonValue>(obj: &V, key: &str) -> Result<String, DecodeError> {
    obj.field(key)
        .and_then(|v| v.string())
        .ok_or(DecodeError::BadFrame)
}

fn uint<V: JsonValue>(obj: &V, key: &str) -> Result<u64, DecodeError> {
    obj.field(key)
        .and_then(|v| v.uint())
        .ok_or(DecodeError::BadFrame)
}

fn code<V: JsonValue>(obj: &V) -> Result<LoginCode, DecodeError> {
    let n = uint(obj, "code")?;
    u16::try_from(n)
        .map(LoginCode::from)
        .map_err(|_| DecodeError::BadFrame)
}

fn client_type<V: JsonValue>(v: &V) -> Result<ClientType, DecodeError> {
    v.string()
        .as_deref()
        .and_then(ClientType::parse)
        .ok_or(DecodeError::BadFrame)
}

fn client_list<V: JsonValue>(obj: &V) -> Result<Vec<Client>, DecodeError> {
    let items = obj
        .field("clients")
        .and_then(|v| v.items())
        .ok_or(DecodeError::BadFrame)?;
    items
        .iter()
        .map(|c| {
            if c.key_count().is_none() {
                return Err(DecodeError::BadFrame);
            }
            Ok(Client {
                client_id: string(c, "clientId")?,
                client_type: client_type(&c.field("clientType").ok_or(DecodeError::BadFrame)?)?,
                device_id: string(c, "deviceId")?,
                custom_tag: match c.field("customTag") {
                    None => None,
                    Some(v) => Some(v.string().ok_or(DecodeError::BadFrame)?),
                },
                login_at: uint(c, "loginAt")?,
            })
        })
        .collect()
}
