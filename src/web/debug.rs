//! `debug: true`: one console line per machine output, tokens redacted
//! (a login frame is logged by its kind only).

use imlogin_protocol::ClientFrame;
use wasm_bindgen::JsValue;

use super::js;
use super::payloads;
use crate::{Event, Output};

/// Logs `output` to the console.
pub fn debug_log(output: &Output) {
    let number = |n: f64| JsValue::from_f64(n);
    let (label, a, b): (&str, JsValue, JsValue) = match output {
        Output::Connect(c) => ("imlogin: connect #", number(c.0 as f64), JsValue::UNDEFINED),
        Output::FetchToken(c, accid) => (
            "imlogin: tokenProvider for attempt #",
            number(c.0 as f64),
            JsValue::from_str(accid),
        ),
        Output::Send(c, frame) => (
            "imlogin: send on # (tokens redacted)",
            number(c.0 as f64),
            JsValue::from_str(match frame {
                ClientFrame::Login(_) => "login",
                ClientFrame::Ping => "ping",
                ClientFrame::Logout => "logout",
                ClientFrame::Kick { .. } => "kick",
            }),
        ),
        Output::Close(c, code) => (
            "imlogin: close #, code",
            number(c.0 as f64),
            number(f64::from(*code)),
        ),
        Output::Persist(s) => (
            "imlogin: persist session of",
            JsValue::from_str(&s.credentials.accid),
            JsValue::UNDEFINED,
        ),
        Output::ClearPersisted => (
            "imlogin: clear persisted session",
            JsValue::UNDEFINED,
            JsValue::UNDEFINED,
        ),
        Output::Emit(Event::Status(s)) => (
            "imlogin: status",
            JsValue::from_str(s.as_str()),
            JsValue::UNDEFINED,
        ),
        Output::Emit(e) => (
            "imlogin: event",
            JsValue::from_str(payloads::event_name(e)),
            JsValue::UNDEFINED,
        ),
        Output::Settle(_, Ok(())) => (
            "imlogin: request resolved",
            JsValue::UNDEFINED,
            JsValue::UNDEFINED,
        ),
        Output::Settle(_, Err(e)) => (
            "imlogin: request rejected",
            number(f64::from(e.code.as_u16())),
            JsValue::from_str(&e.message),
        ),
    };
    js::console_log(label, &a, &b);
}
