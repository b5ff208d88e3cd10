//! Validating decoders for link frames: the frame types' own serde
//! derive reads every frame, and every bad input becomes a typed
//! [`DecodeError`] that says how the receiver must answer it.

use core::fmt;

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_path_to_error::Segment;

use crate::close;
use crate::fields::field_names;
use crate::frames::{ClientFrame, LoginFrame, ServerFrame, ServerFrameByTag, CLIENT_TAGS};
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
/// against [`limits`] ([`LoginFrame::validated`]) and normalizes `accid` to
/// lower case. Unknown extra fields are ignored, so that newer clients can
/// add optional ones.
pub fn decode_client_frame(text: &str) -> Result<ClientFrame, DecodeError> {
    if text.len() > limits::MAX_FRAME_BYTES {
        return Err(DecodeError::TooLarge { len: text.len() });
    }
    let value: Value = serde_json::from_str(text).map_err(|_| DecodeError::NotJson)?;
    let Some(Value::String(tag)) = value.get("t") else {
        return Err(DecodeError::NoTag);
    };
    match tag.as_str() {
        "login" => decode_login(value),
        tag if CLIENT_TAGS.contains(&tag) => {
            ClientFrame::deserialize(&value).map_err(|_| DecodeError::BadFrame)
        }
        _ => Err(DecodeError::UnknownTag),
    }
}

/// Reads a login frame with [`LoginFrame`]'s derive, telling a missing (or
/// `null`) field from a wrongly typed one so that the 414 names it.
fn decode_login(mut value: Value) -> Result<ClientFrame, DecodeError> {
    let fields = field_names::<LoginFrame>();
    if let Value::Object(object) = &mut value {
        // An absent field reads as null: the derive then fails on the field
        // itself (or takes `None` for an optional one) rather than on the
        // whole object, and the failing field is in the error's path.
        for field in fields {
            object.entry(*field).or_insert(Value::Null);
        }
    }
    let frame: LoginFrame = serde_path_to_error::deserialize(&value).map_err(|e| {
        let failed = match e.path().iter().next_back() {
            Some(Segment::Map { key }) => fields.iter().find(|f| *f == key),
            _ => None,
        };
        match failed {
            Some(field) if value[field].is_null() => {
                DecodeError::BadLogin(FieldError::new(field, Problem::Missing))
            }
            Some(field) => DecodeError::BadLogin(FieldError::new(field, Problem::WrongType)),
            None => DecodeError::BadFrame,
        }
    })?;
    frame
        .validated()
        .map(ClientFrame::Login)
        .map_err(DecodeError::BadLogin)
}

/// Decodes a server frame received by the client.
///
/// Enforces [`limits::MAX_SERVER_FRAME_BYTES`], then reads the frame with
/// [`ServerFrame`]'s derive: text that is not JSON is
/// [`DecodeError::NotJson`]; JSON that is not one of the frames of
/// [`ServerFrame`] is [`DecodeError::BadFrame`] (the client treats either as
/// a broken connection). Unknown extra fields are ignored, and an unknown
/// kick reason reads as [`crate::KickReason::Unknown`].
pub fn decode_server_frame(text: &str) -> Result<ServerFrame, DecodeError> {
    if text.len() > limits::MAX_SERVER_FRAME_BYTES {
        return Err(DecodeError::TooLarge { len: text.len() });
    }
    serde_json::from_str(text).map_err(|e| {
        if e.is_data() {
            DecodeError::BadFrame
        } else {
            DecodeError::NotJson
        }
    })
}

/// Reads a server frame from any self-describing serde deserializer (the
/// browser's `JSON.parse` result through serde-wasm-bindgen, a
/// `serde_json::Value`): the same derive as [`decode_server_frame`], with
/// every refusal a [`DecodeError::BadFrame`].
pub fn decode_server_value<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<ServerFrame, DecodeError> {
    ServerFrame::deserialize(deserializer).map_err(|_| DecodeError::BadFrame)
}

/// Reads a server frame given as `{"<t>": frame}` (externally tagged: the
/// caller looked `"t"` up and wrapped the frame's own object in it), with
/// every refusal a [`DecodeError::BadFrame`].
///
/// For a source that can look a key up before reading the rest (the
/// browser's `JSON.parse` result through serde-wasm-bindgen): it reads each
/// field straight into the frame, where the internally tagged derive of
/// [`decode_server_value`] buffers the whole object first.
pub fn decode_server_variant<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<ServerFrame, DecodeError> {
    ServerFrameByTag::deserialize(deserializer).map_err(|_| DecodeError::BadFrame)
}
