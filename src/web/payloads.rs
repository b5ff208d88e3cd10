//! The JS shapes of errors and event payloads (typed in [`super::types`]).

use imlogin_protocol::Client;
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::JsValue;

use crate::{Event, LoginError};

fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), &value.into());
}

/// A `LoginError`: an `Error` with `name`, `code`, `message`, `retryable`.
pub fn login_error(error: &LoginError) -> JsValue {
    let e = js_sys::Error::new(&error.message);
    e.set_name("LoginError");
    set(&e, "code", error.code.as_u16());
    set(&e, "retryable", error.retryable());
    e.into()
}

/// `{ clientId, clientType, deviceId, customTag?, loginAt }`.
pub fn client(c: &Client) -> JsValue {
    let obj = Object::new();
    set(&obj, "clientId", c.client_id.as_str());
    set(&obj, "clientType", c.client_type.as_str());
    set(&obj, "deviceId", c.device_id.as_str());
    if let Some(tag) = &c.custom_tag {
        set(&obj, "customTag", tag.as_str());
    }
    set(&obj, "loginAt", c.login_at as f64);
    obj.into()
}

/// An array of [`client`]s.
pub fn clients(list: &[Client]) -> JsValue {
    list.iter().map(client).collect::<Array>().into()
}

/// The event's listener name and payload.
pub fn event(event: &Event) -> (&'static str, JsValue) {
    match event {
        Event::Status(s) => ("status", JsValue::from_str(s.as_str())),
        Event::LoginFailed(e) => ("loginFailed", login_error(e)),
        Event::Kicked {
            reason,
            client_type,
        } => {
            let obj = Object::new();
            set(&obj, "reason", reason.as_str());
            if let Some(t) = client_type {
                set(&obj, "clientType", t.as_str());
            }
            ("kicked", obj.into())
        }
        Event::Reconnecting { attempt, delay_ms } => {
            let obj = Object::new();
            set(&obj, "attempt", *attempt);
            set(&obj, "delayMs", *delay_ms);
            ("reconnecting", obj.into())
        }
        Event::Clients(list) => ("clients", clients(list)),
    }
}

/// The event names `on`/`off` accept.
pub const EVENT_NAMES: [&str; 5] = ["status", "loginFailed", "kicked", "reconnecting", "clients"];
