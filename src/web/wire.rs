//! JSON text to and from serde types through the browser's own
//! `JSON.parse`/`JSON.stringify` and serde-wasm-bindgen.

use imlogin_protocol::limits::MAX_SERVER_FRAME_BYTES;
use imlogin_protocol::{decode_server_variant, ServerFrame};
use js_sys::{Object, Reflect};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

/// `text` read as a `T`; `None` when it is not JSON or not a `T`.
pub fn from_json<T: DeserializeOwned>(text: &str) -> Option<T> {
    let value = js_sys::JSON::parse(text).ok()?;
    serde_wasm_bindgen::from_value(value).ok()
}

/// `value` as JSON text.
pub fn to_json<T: Serialize>(value: &T) -> String {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .ok()
        .and_then(|v| js_sys::JSON::stringify(&v).ok())
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

/// The `"t"` of a frame.
#[derive(Deserialize)]
struct Tag {
    t: String,
}

/// A server frame from its text; `None` for anything that is not one.
///
/// The parsed object is read twice, without buffering: its `"t"` first,
/// then, as the payload of `{"<t>": object}`, the frame's fields.
pub fn server_frame(text: &str) -> Option<ServerFrame> {
    if text.len() > MAX_SERVER_FRAME_BYTES {
        return None;
    }
    let value = js_sys::JSON::parse(text).ok()?;
    let Tag { t } = serde_wasm_bindgen::from_value(value.clone()).ok()?;
    // (Writing one key of a fresh object: Reflect.set is the smallest way,
    // 0.2 KB gzipped less than Object.fromEntries.)
    let wrapper = Object::new();
    Reflect::set(&wrapper, &JsValue::from_str(&t), &value).ok()?;
    decode_server_variant(serde_wasm_bindgen::Deserializer::from(JsValue::from(
        wrapper,
    )))
    .ok()
}
