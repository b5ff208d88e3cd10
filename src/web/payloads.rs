//! The JS shapes of errors and event payloads (typed in [`super::types`]):
//! serde-derived Rust values converted by serde-wasm-bindgen's
//! JSON-compatible serializer (plain objects and arrays, numbers, strings;
//! an absent optional field is left out).

use imlogin_protocol::{Client, ClientType, KickReason, LoginCode};
use js_sys::Object;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};

use crate::{Event, LoginError};

/// `value` as a JS value; `undefined` if it has no JSON form (an integer
/// above 2^53, which no JS number holds exactly).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::UNDEFINED)
}

/// The fields a `LoginError` adds to its `Error`.
#[derive(Serialize)]
struct LoginErrorFields {
    code: LoginCode,
    retryable: bool,
}

/// The payload of `kicked`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Kicked {
    reason: KickReason,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_type: Option<ClientType>,
}

/// The payload of `reconnecting`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Reconnecting {
    attempt: u32,
    delay_ms: f64,
}

/// A `LoginError`: an `Error` with `name`, `message`, and the `code` and
/// `retryable` of [`LoginErrorFields`].
pub fn login_error(error: &LoginError) -> JsValue {
    let e = js_sys::Error::new(&error.message);
    e.set_name("LoginError");
    let fields = to_js(&LoginErrorFields {
        code: error.code,
        retryable: error.retryable(),
    });
    Object::assign(&e, fields.unchecked_ref());
    e.into()
}

/// An array of `{ clientId, clientType, deviceId, customTag?, loginAt }`.
pub fn clients(list: &[Client]) -> JsValue {
    to_js(list)
}

/// The listener name of `event`.
pub fn event_name(event: &Event) -> &'static str {
    match event {
        Event::Status(_) => "status",
        Event::LoginFailed(_) => "loginFailed",
        Event::Kicked { .. } => "kicked",
        Event::Reconnecting { .. } => "reconnecting",
        Event::Clients(_) => "clients",
    }
}

/// The event's listener name and payload.
pub fn event(event: &Event) -> (&'static str, JsValue) {
    let payload = match event {
        Event::Status(s) => to_js(s),
        Event::LoginFailed(e) => login_error(e),
        Event::Kicked {
            reason,
            client_type,
        } => to_js(&Kicked {
            reason: *reason,
            client_type: *client_type,
        }),
        Event::Reconnecting { attempt, delay_ms } => to_js(&Reconnecting {
            attempt: *attempt,
            delay_ms: *delay_ms,
        }),
        Event::Clients(list) => clients(list),
    };
    (event_name(event), payload)
}

/// The event names `on`/`off` accept.
pub const EVENT_NAMES: [&str; 5] = ["status", "loginFailed", "kicked", "reconnecting", "clients"];
