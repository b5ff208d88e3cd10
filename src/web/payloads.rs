//! The JS shapes of errors and event payloads (typed in [`super::types`]):
//! serde-derived Rust values converted by serde-wasm-bindgen's
//! JSON-compatible serializer (plain objects and arrays, numbers, strings;
//! an absent optional field is left out).

use imlogin_core::protocol::{Client, ClientType, KickReason, LoginCode};
use imlogin_core::tab_group::LastKick;
use imlogin_core::{ClientsUpdate, Disconnect, Event, LoginError};
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// `value` as a JS value; `undefined` if it has no JSON form (an integer
/// above 2^53, which no JS number holds exactly).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::UNDEFINED)
}

/// The options of the `LoginError` constructor (src/web/api.js).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LoginErrorOptions {
    retryable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_ms: Option<u64>,
}

#[wasm_bindgen(module = "/src/web/api.js")]
extern "C" {
    /// The package's `LoginError` class, exported next to `LoginManager`.
    #[wasm_bindgen(js_name = LoginError, extends = js_sys::Error)]
    type JsLoginError;

    #[wasm_bindgen(constructor, js_class = "LoginError")]
    fn new(code: u16, message: &str, options: &JsValue) -> JsLoginError;
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
    reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    close_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<LoginCode>,
}

/// The payload of `clients`.
#[derive(Serialize)]
struct Clients<'a> {
    clients: &'a [Client],
    change: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<&'a Client>,
}

/// The value of `lastKick`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LastKickValue {
    reason: KickReason,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_type: Option<ClientType>,
    at: f64,
}

/// A `LoginError` (an instance of the package's class): `name`,
/// `message`, `code`, `retryable` and, when the server gave one,
/// `retryAfterMs`.
pub fn login_error(error: &LoginError) -> JsValue {
    login_error_caused_by(error, None)
}

/// A `LoginError` whose `cause` is `cause` (an aborted signal's reason).
pub fn login_error_caused_by(error: &LoginError, cause: Option<&JsValue>) -> JsValue {
    let options = to_js(&LoginErrorOptions {
        retryable: error.retryable(),
        retry_after_ms: error.retry_after_ms,
    });
    if let Some(cause) = cause {
        let _ = js_sys::Reflect::set(&options, &JsValue::from_str("cause"), cause);
    }
    JsLoginError::new(error.code.as_u16(), &error.message, &options).into()
}

/// An array of `{ clientId, clientType, deviceId, customTag?, loginAt }`.
pub fn clients(list: &[Client]) -> JsValue {
    to_js(list)
}

/// `{ clients, change, client? }`.
fn clients_update(update: &ClientsUpdate) -> JsValue {
    to_js(&Clients {
        clients: &update.clients,
        change: update.change.map_or("list", |c| match c {
            imlogin_core::protocol::ClientsChange::Login => "login",
            imlogin_core::protocol::ClientsChange::Logout => "logout",
        }),
        client: update.client.as_ref(),
    })
}

/// `{ reason, clientType?, at }`, `at` in ms since the Unix epoch (the
/// kick's time on the driver's clock, `now_ms` being that clock now).
pub fn last_kick(kick: &LastKick, now_ms: f64) -> JsValue {
    to_js(&LastKickValue {
        reason: kick.reason,
        client_type: kick.client_type,
        at: (js_sys::Date::now() - (now_ms - kick.at)).round(),
    })
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
        Event::Reconnecting {
            attempt,
            delay_ms,
            reason,
        } => to_js(&Reconnecting {
            attempt: *attempt,
            delay_ms: *delay_ms,
            reason: reason.as_str(),
            close_code: match reason {
                Disconnect::Closed(code) => Some(*code),
                _ => None,
            },
            code: match reason {
                Disconnect::Refused(code) => Some(*code),
                _ => None,
            },
        }),
        Event::Clients(update) => clients_update(update),
    };
    (event_name(event), payload)
}

/// The event names `on`/`off` accept.
pub const EVENT_NAMES: [&str; 5] = ["status", "loginFailed", "kicked", "reconnecting", "clients"];
