//! `debug: true`: one console line per output of the tab-group core (the
//! login machine's actions and events, the group's messages, roles and
//! calls), and one per frame received. Tokens never appear: a login frame
//! and a message between tabs are logged by their kind only.

use imlogin_core::device::ProofRequest;
use imlogin_core::protocol::ClientFrame;
use imlogin_core::tab_group::{GroupMessage, Note, TabOutput};
use imlogin_core::{Event, Output};
use wasm_bindgen::JsValue;

use super::js;
use super::payloads;

/// Logs a frame the link server sent (server frames carry no token).
pub fn received(text: &str) {
    js::console_log(
        "imlogin: received",
        &JsValue::from_str(text),
        &JsValue::UNDEFINED,
    );
}

fn message_kind(message: &GroupMessage) -> &'static str {
    match message {
        GroupMessage::Hello { .. } => "hello",
        GroupMessage::Lead { .. } => "lead",
        GroupMessage::Known { .. } => "known",
        GroupMessage::State { .. } => "state",
        GroupMessage::Event { .. } => "event",
        GroupMessage::Call { .. } => "call",
        GroupMessage::Abort { .. } => "abort",
        GroupMessage::Reply { .. } => "reply",
    }
}

/// Logs `output` to the console.
pub fn log(output: &TabOutput) {
    let number = |n: f64| JsValue::from_f64(n);
    let text = |s: &str| JsValue::from_str(s);
    let none = JsValue::UNDEFINED;
    let (label, a, b): (&str, JsValue, JsValue) = match output {
        TabOutput::Machine(action) => match action {
            Output::Connect(c) => ("imlogin: connect #", number(c.0 as f64), none),
            Output::FetchToken(c, accid) => (
                "imlogin: tokenProvider for attempt #",
                number(c.0 as f64),
                text(accid),
            ),
            Output::Prove(c, request) => (
                "imlogin: device key for attempt # (tickets redacted)",
                number(c.0 as f64),
                text(match request {
                    ProofRequest::PublicKey => "public key",
                    ProofRequest::Resume(_) => "signed resume",
                }),
            ),
            Output::ChooseDelay { conn, attempt, .. } => (
                "imlogin: reconnectDelay after attempt #, failure",
                number(conn.0 as f64),
                number(f64::from(*attempt)),
            ),
            Output::Send(c, frame) => (
                "imlogin: send on # (tokens redacted)",
                number(c.0 as f64),
                text(match frame {
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
                text(&s.credentials.accid),
                none,
            ),
            Output::ClearPersisted => ("imlogin: clear persisted session", none.clone(), none),
            Output::Emit(_) | Output::Settle(..) => return,
        },
        TabOutput::Post(message) => (
            "imlogin: tabs: post (tokens redacted)",
            text(message_kind(message)),
            none,
        ),
        TabOutput::Emit(Event::Status(s)) => ("imlogin: status", text(s.as_str()), none),
        TabOutput::Emit(e) => ("imlogin: event", text(payloads::event_name(e)), none),
        TabOutput::Settle(_, Ok(_)) => ("imlogin: call resolved", none.clone(), none),
        TabOutput::Settle(_, Err(e)) => (
            "imlogin: call rejected",
            number(f64::from(e.code.as_u16())),
            text(&e.message),
        ),
        TabOutput::Warn(_) => return,
        TabOutput::ReleaseLock => ("imlogin: tabs: lock given back", none.clone(), none),
        TabOutput::Note(Note::Role(role)) => ("imlogin: tabs: role", text(role.as_str()), none),
        TabOutput::Note(Note::CarriedOut { caller, call, .. }) => {
            let mut of = String::from("of tab ");
            of.push_str(&caller.0);
            ("imlogin: tabs: carried out", text(call), text(&of))
        }
        TabOutput::Note(Note::Resumed { accid }) => {
            ("imlogin: tabs: took over the session of", text(accid), none)
        }
    };
    js::console_log(label, &a, &b);
}
