//! Validating decoders for link frames: every bad input becomes a typed
//! [`DecodeError`] that says how the receiver must answer it.

use core::fmt;

use serde_json::{Map, Value};

use crate::close;
use crate::frames::{ClientFrame, ClientType, LoginFrame, LoginMode, ServerFrame};
use crate::limits::{self, FieldError, Problem};

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
/// Enforces [`limits::MAX_SERVER_FRAME_BYTES`]; anything that is not one of
/// the frames of [`ServerFrame`] is an error (the client treats it as a
/// broken connection).
pub fn decode_server_frame(text: &str) -> Result<ServerFrame, DecodeError> {
    if text.len() > limits::MAX_SERVER_FRAME_BYTES {
        return Err(DecodeError::TooLarge { len: text.len() });
    }
    serde_json::from_str(text).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            DecodeError::NotJson
        } else {
            DecodeError::BadFrame
        }
    })
}
