//! Messages between the `LoginManager`s of one app in one browser profile
//! (`tabs: "shared"`): the leader, which holds the only connection, tells
//! the followers its state and events and answers the calls they forward.
//!
//! Messages are JSON text (they travel over a `BroadcastChannel`), written
//! with the protocol's [`ObjectWriter`] and read through [`JsonValue`], so
//! they are tested natively and cost the package no JSON library.

use imlogin_protocol::json::{JsonValue, ObjectWriter};
use imlogin_protocol::{decode_server_value, Client, LoginCode, ServerFrame};

use crate::{Event, LoginError, Status};

/// A call a follower forwards to the leader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TabCall {
    /// `login(accid, token, { force })`; the token travels only between
    /// same-origin tabs of one profile (the trust domain of localStorage).
    Login {
        /// As given by the app (the leader validates it).
        accid: String,
        /// As given by the app; empty with a `tokenProvider`.
        token: String,
        /// Mandatory login.
        force: bool,
    },
    /// `autoLogin({ force })`.
    AutoLogin {
        /// Mandatory login.
        force: bool,
    },
    /// `logout()`.
    Logout,
    /// `kickClient(clientId)`.
    KickClient {
        /// The session to end.
        client_id: String,
    },
}

/// One message on the tabs channel.
#[derive(Debug, Clone, PartialEq)]
pub enum TabMessage {
    /// A new manager asks the leader for its state.
    Hello {
        /// The sender's manager id.
        from: String,
    },
    /// The leader's state, sent on every change and after a `Hello`.
    State {
        /// The leader's manager id.
        from: String,
        /// The leader's status.
        status: Status,
        /// The accid logged in (or being logged in with).
        accid: Option<String>,
        /// The account's other live sessions.
        clients: Vec<Client>,
    },
    /// An event of the leader's (`loginFailed`, `kicked`, `reconnecting`;
    /// `status` and `clients` travel as [`TabMessage::State`]).
    Event {
        /// The leader's manager id.
        from: String,
        /// The event.
        event: Event,
    },
    /// A follower forwards an app call to the leader.
    Call {
        /// The follower's manager id.
        from: String,
        /// The follower's id for the call.
        id: u64,
        /// What to do.
        call: TabCall,
    },
    /// The leader's answer to a [`TabMessage::Call`].
    Reply {
        /// The follower's manager id.
        to: String,
        /// The call's id.
        id: u64,
        /// `Ok(value)` resolves the follower's promise with `value` (the
        /// `autoLogin` boolean), `Err` rejects it.
        result: Result<bool, LoginError>,
    },
}

fn client_json(c: &Client) -> String {
    ObjectWriter::new()
        .string("clientId", &c.client_id)
        .string("clientType", c.client_type.as_str())
        .string("deviceId", &c.device_id)
        .optional_string("customTag", c.custom_tag.as_deref())
        .uint("loginAt", c.login_at)
        .finish()
}

/// The list as a `clients` frame, which the protocol decoder reads back.
fn clients_frame(clients: &[Client]) -> String {
    let mut list = String::from("[");
    for (i, c) in clients.iter().enumerate() {
        if i > 0 {
            list.push(',');
        }
        list.push_str(&client_json(c));
    }
    list.push(']');
    ObjectWriter::new()
        .string("t", "clients")
        .string("change", "login")
        .raw("clients", &list)
        .finish()
}

impl TabMessage {
    /// The message as JSON text.
    pub fn encode(&self) -> String {
        match self {
            TabMessage::Hello { from } => ObjectWriter::new()
                .string("k", "hello")
                .string("from", from)
                .finish(),
            TabMessage::State {
                from,
                status,
                accid,
                clients,
            } => ObjectWriter::new()
                .string("k", "state")
                .string("from", from)
                .string("status", status.as_str())
                .optional_string("accid", accid.as_deref())
                .raw("clients", &clients_frame(clients))
                .finish(),
            TabMessage::Event { from, event } => {
                let w = ObjectWriter::new()
                    .string("k", "event")
                    .string("from", from);
                match event {
                    Event::LoginFailed(e) => w
                        .string("event", "loginFailed")
                        .uint("code", u64::from(e.code.as_u16()))
                        .string("message", &e.message),
                    Event::Kicked {
                        reason,
                        client_type,
                    } => w.string("event", "kicked").raw(
                        "frame",
                        &ObjectWriter::new()
                            .string("t", "kicked")
                            .string("reason", reason.as_str())
                            .optional_string("clientType", client_type.map(|t| t.as_str()))
                            .finish(),
                    ),
                    Event::Reconnecting { attempt, delay_ms } => w
                        .string("event", "reconnecting")
                        .uint("attempt", u64::from(*attempt))
                        .uint("delayMs", delay_ms.max(0.0) as u64),
                    Event::Status(s) => w.string("event", "status").string("status", s.as_str()),
                    Event::Clients(list) => w
                        .string("event", "clients")
                        .raw("frame", &clients_frame(list)),
                }
                .finish()
            }
            TabMessage::Call { from, id, call } => {
                let w = ObjectWriter::new()
                    .string("k", "call")
                    .string("from", from)
                    .uint("id", *id);
                match call {
                    TabCall::Login {
                        accid,
                        token,
                        force,
                    } => w
                        .string("op", "login")
                        .string("accid", accid)
                        .string("token", token)
                        .boolean("force", *force),
                    TabCall::AutoLogin { force } => {
                        w.string("op", "autoLogin").boolean("force", *force)
                    }
                    TabCall::Logout => w.string("op", "logout"),
                    TabCall::KickClient { client_id } => {
                        w.string("op", "kickClient").string("clientId", client_id)
                    }
                }
                .finish()
            }
            TabMessage::Reply { to, id, result } => {
                let w = ObjectWriter::new()
                    .string("k", "reply")
                    .string("to", to)
                    .uint("id", *id);
                match result {
                    Ok(value) => w.boolean("ok", true).boolean("value", *value),
                    Err(e) => w
                        .boolean("ok", false)
                        .uint("code", u64::from(e.code.as_u16()))
                        .string("message", &e.message),
                }
                .finish()
            }
        }
    }

    /// Reads a message; `None` for anything that is not one (another
    /// version's message, garbage): it is ignored.
    pub fn decode<V: JsonValue>(value: V) -> Option<TabMessage> {
        let text = |key: &str| value.field(key).and_then(|v| v.string());
        let flag = |key: &str| value.field(key).and_then(|v| v.boolean());
        let number = |key: &str| value.field(key).and_then(|v| v.uint());
        let kind = text("k")?;
        Some(match kind.as_str() {
            "hello" => TabMessage::Hello {
                from: text("from")?,
            },
            "state" => TabMessage::State {
                from: text("from")?,
                status: Status::parse(&text("status")?)?,
                accid: text("accid"),
                clients: match decode_server_value(value.field("clients")?).ok()? {
                    ServerFrame::Clients { clients, .. } => clients,
                    _ => return None,
                },
            },
            "event" => TabMessage::Event {
                from: text("from")?,
                event: match text("event")?.as_str() {
                    "loginFailed" => Event::LoginFailed(LoginError::new(
                        LoginCode::from(u16::try_from(number("code")?).ok()?),
                        text("message")?,
                    )),
                    "kicked" => match decode_server_value(value.field("frame")?).ok()? {
                        ServerFrame::Kicked {
                            reason,
                            client_type,
                        } => Event::Kicked {
                            reason,
                            client_type,
                        },
                        _ => return None,
                    },
                    "reconnecting" => Event::Reconnecting {
                        attempt: u32::try_from(number("attempt")?).ok()?,
                        delay_ms: number("delayMs")? as f64,
                    },
                    "status" => Event::Status(Status::parse(&text("status")?)?),
                    "clients" => match decode_server_value(value.field("frame")?).ok()? {
                        ServerFrame::Clients { clients, .. } => Event::Clients(clients),
                        _ => return None,
                    },
                    _ => return None,
                },
            },
            "call" => TabMessage::Call {
                from: text("from")?,
                id: number("id")?,
                call: match text("op")?.as_str() {
                    "login" => TabCall::Login {
                        accid: text("accid")?,
                        token: text("token")?,
                        force: flag("force")?,
                    },
                    "autoLogin" => TabCall::AutoLogin {
                        force: flag("force")?,
                    },
                    "logout" => TabCall::Logout,
                    "kickClient" => TabCall::KickClient {
                        client_id: text("clientId")?,
                    },
                    _ => return None,
                },
            },
            "reply" => TabMessage::Reply {
                to: text("to")?,
                id: number("id")?,
                result: if flag("ok")? {
                    Ok(flag("value")?)
                } else {
                    Err(LoginError::new(
                        LoginCode::from(u16::try_from(number("code")?).ok()?),
                        text("message")?,
                    ))
                },
            },
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imlogin_protocol::{ClientType, KickReason};

    fn round_trip(m: TabMessage) {
        let text = m.encode();
        let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(TabMessage::decode(&value), Some(m), "{text}");
    }

    #[test]
    fn every_message_round_trips() {
        let client = Client {
            client_id: "c\"1".into(),
            client_type: ClientType::Web,
            device_id: "d".into(),
            custom_tag: Some("tag".into()),
            login_at: 1_700_000_000_000,
        };
        round_trip(TabMessage::Hello { from: "a".into() });
        round_trip(TabMessage::State {
            from: "a".into(),
            status: Status::LoggedIn,
            accid: Some("alice".into()),
            clients: vec![
                client.clone(),
                Client {
                    custom_tag: None,
                    ..client.clone()
                },
            ],
        });
        round_trip(TabMessage::State {
            from: "a".into(),
            status: Status::LoggedOut,
            accid: None,
            clients: vec![],
        });
        for event in [
            Event::LoginFailed(LoginError::new(LoginCode::TokenMismatch, "nope \\ \n")),
            Event::Kicked {
                reason: KickReason::Exclusive,
                client_type: Some(ClientType::Pc),
            },
            Event::Kicked {
                reason: KickReason::TokenChanged,
                client_type: None,
            },
            Event::Reconnecting {
                attempt: 3,
                delay_ms: 2_500.0,
            },
            Event::Status(Status::Waiting),
            Event::Clients(vec![client.clone()]),
        ] {
            round_trip(TabMessage::Event {
                from: "a".into(),
                event,
            });
        }
        for call in [
            TabCall::Login {
                accid: "Alice".into(),
                token: "t".into(),
                force: true,
            },
            TabCall::AutoLogin { force: false },
            TabCall::Logout,
            TabCall::KickClient {
                client_id: "c9".into(),
            },
        ] {
            round_trip(TabMessage::Call {
                from: "b".into(),
                id: 7,
                call,
            });
        }
        round_trip(TabMessage::Reply {
            to: "b".into(),
            id: 7,
            result: Ok(true),
        });
        round_trip(TabMessage::Reply {
            to: "b".into(),
            id: 8,
            result: Err(LoginError::new(LoginCode::Cancelled, "cancelled")),
        });
    }

    #[test]
    fn garbage_and_foreign_messages_are_ignored() {
        for text in [
            "null",
            "[]",
            "{}",
            r#"{"k":"future"}"#,
            r#"{"k":"state","from":"a","status":"dancing","clients":{"t":"clients","change":"login","clients":[]}}"#,
            r#"{"k":"call","from":"a","id":-1,"op":"logout"}"#,
            r#"{"k":"reply","to":"a","id":1,"ok":false,"code":70000,"message":"x"}"#,
        ] {
            let value: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(TabMessage::decode(&value), None, "{text}");
        }
    }
}
