//! Messages between the `LoginManager`s of one app in one browser profile
//! (`tabs: "shared"`): the leader, which holds the only connection, tells
//! the followers its state and events and answers the calls they forward.
//!
//! A message travels over a `BroadcastChannel` as JSON text: the serde form
//! of [`TabMessage`] (the browser driver writes and reads it with
//! serde-wasm-bindgen and the browser's `JSON.stringify`/`JSON.parse`). Text
//! that is not a message of this version is ignored.

use imlogin_protocol::Client;
use serde::{Deserialize, Serialize};

use crate::{Event, LoginError, Status};

/// A call a follower forwards to the leader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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

#[cfg(test)]
mod tests {
    use super::*;
    use imlogin_protocol::{ClientType, KickReason, LoginCode};

    fn round_trip(m: TabMessage) {
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(
            serde_json::from_str::<TabMessage>(&text).ok(),
            Some(m),
            "{text}"
        );
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
            "",
            "not json",
            "null",
            "[]",
            "{}",
            r#"{"future":{"from":"a"}}"#,
            r#"{"k":"hello","from":"a"}"#,
            r#"{"state":{"from":"a","status":"dancing","accid":null,"clients":[]}}"#,
            r#"{"call":{"from":"a","id":-1,"call":"logout"}}"#,
            r#"{"reply":{"to":"a","id":1,"result":{"Err":{"code":70000,"message":"x"}}}}"#,
        ] {
            assert!(serde_json::from_str::<TabMessage>(text).is_err(), "{text}");
        }
    }
}
