//! What the tabs of one group say to each other: [`GroupMessage`] and the
//! values it carries. Serde-derived; the driver carries them as they are
//! (a structured clone over a `BroadcastChannel`, or JSON) and hands every
//! message it receives to [`TabGroup::handle_message`](super::TabGroup::handle_message).
//!
//! Every message goes to every other tab of the group (a broadcast), so
//! each says who sent it (`from`) and, when it is meant for one tab, whom it
//! is for (`to`). Messages that a tab cannot use are ignored, never errors:
//! another tab may run another version.

use core::fmt;

use imlogin_protocol::Client;
use serde::{Deserialize, Serialize};

use crate::machine::Handover;
use crate::{Credentials, Event, LoginError, Status, StoredSession};

/// A tab's id in its group: random, chosen by the driver, unique among the
/// tabs of one browser profile.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TabId(pub String);

impl fmt::Display for TabId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One app call anywhere in the group: the tab it was made in and that
/// tab's number for it (numbers only grow).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CallRef {
    /// The tab whose app made the call, and whose promise waits.
    pub tab: TabId,
    /// That tab's [`CallId`](super::CallId) number.
    pub id: u64,
}

/// An accid and token (and, with device binding, the resume ticket) as
/// they travel between tabs (the same-origin tabs of one profile: the trust
/// domain of localStorage, which share one device key). `Debug` redacts
/// the token and the ticket.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct WireCredentials {
    /// The IM account id.
    pub accid: String,
    /// Its token; empty with a `tokenProvider`, or when only the ticket is
    /// known.
    pub token: String,
    /// The resume ticket, when the session holds one (absent from the
    /// messages of versions before device binding).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// The clock offset kept with the ticket, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skew: Option<f64>,
}

// Equality of the messages that carry it; a skew that is not a number
// (only a broken tab would send one) is never used (`checked` makes it 0).
impl Eq for WireCredentials {}

impl fmt::Debug for WireCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WireCredentials")
            .field("accid", &self.accid)
            .field("token", &"<redacted>")
            .field("ticket", &self.ticket.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl From<&Credentials> for WireCredentials {
    fn from(c: &Credentials) -> Self {
        WireCredentials {
            accid: c.accid.clone(),
            token: c.token.clone(),
            ticket: c.ticket.as_ref().map(|t| t.ticket.clone()),
            skew: c.ticket.as_ref().map(|t| t.skew_ms),
        }
    }
}

impl WireCredentials {
    /// An accid and token as the app passed them.
    pub fn new(accid: String, token: String) -> Self {
        WireCredentials {
            accid,
            token,
            ticket: None,
            skew: None,
        }
    }

    /// The credentials, if they are within the protocol's limits (an empty
    /// token is allowed: dynamic tokens, or a ticket); `None` for anything
    /// another tab should not have sent.
    pub(crate) fn checked(&self) -> Option<Credentials> {
        let mut credentials = match &self.ticket {
            Some(ticket) => Credentials::resumed(&self.accid, ticket, self.skew.unwrap_or(0.0)),
            None if self.token.is_empty() => Credentials::accid_only(&self.accid),
            None => Credentials::new(&self.accid, &self.token),
        }
        .ok()?;
        if self.ticket.is_some() && !self.token.is_empty() {
            imlogin_protocol::limits::check_token(&self.token).ok()?;
            credentials.token.clone_from(&self.token);
        }
        Some(credentials)
    }
}

/// A call an app made in some tab, as the leader carries it out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Call {
    /// `login(accid, token, { force })`.
    Login {
        /// As the app gave it (the leader's machine checks it).
        accid: String,
        /// As the app gave it; empty with a `tokenProvider`.
        token: String,
        /// Mandatory login.
        force: bool,
    },
    /// `autoLogin({ force })`, with the session record the calling tab's
    /// storage holds (with `persistence: "session"` each tab has its own).
    /// When the group has a session the call joins it, whatever the record.
    AutoLogin {
        /// The caller's saved session, if any.
        saved: Option<WireCredentials>,
        /// Mandatory login.
        force: bool,
    },
    /// `autoLogin({ accid, token, force })`: credentials the app server has
    /// just issued.
    AutoLoginWith {
        /// The credentials.
        credentials: WireCredentials,
        /// Mandatory login.
        force: bool,
    },
    /// `logout()`: ends the session in every tab.
    Logout,
    /// `kickClient(clientId)`.
    KickClient {
        /// The session to end.
        client_id: String,
    },
}

impl Call {
    /// `autoLogin()` with the caller's stored record.
    pub fn auto_login(saved: Option<&StoredSession>, force: bool) -> Call {
        Call::AutoLogin {
            saved: saved.map(|s| WireCredentials::from(&s.credentials)),
            force,
        }
    }

    /// The JS name of the call, for logs.
    pub const fn name(&self) -> &'static str {
        match self {
            Call::Login { .. } => "login",
            Call::AutoLogin { .. } | Call::AutoLoginWith { .. } => "autoLogin",
            Call::Logout => "logout",
            Call::KickClient { .. } => "kickClient",
        }
    }
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Call::Login { accid, force, .. } => f
                .debug_struct("Login")
                .field("accid", accid)
                .field("token", &"<redacted>")
                .field("force", force)
                .finish(),
            Call::AutoLogin { saved, force } => f
                .debug_struct("AutoLogin")
                .field("saved", saved)
                .field("force", force)
                .finish(),
            Call::AutoLoginWith { credentials, force } => f
                .debug_struct("AutoLoginWith")
                .field("credentials", credentials)
                .field("force", force)
                .finish(),
            Call::Logout => f.write_str("Logout"),
            Call::KickClient { client_id } => f
                .debug_struct("KickClient")
                .field("client_id", client_id)
                .finish(),
        }
    }
}

/// The group's session as the leader holds it: what a tab taking over
/// needs to carry it on, whatever the persistence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The credentials being logged in with, or logged in.
    pub credentials: WireCredentials,
    /// They have logged in: the session is resumed in auto mode.
    pub established: bool,
    /// Mandatory login until the first success.
    pub force: bool,
    /// A manual login under way (resumed as one).
    pub manual: bool,
}

impl SessionRecord {
    pub(crate) fn from_handover(h: &Handover) -> Self {
        SessionRecord {
            credentials: WireCredentials::from(&h.credentials),
            established: h.established,
            force: h.force,
            manual: h.manual,
        }
    }

    /// The record for the machine; `None` when its credentials are not
    /// valid ones.
    pub(crate) fn handover(&self) -> Option<Handover> {
        Some(Handover {
            credentials: self.credentials.checked()?,
            established: self.established,
            force: self.force,
            manual: self.manual,
        })
    }
}

/// Everything the leader publishes after each change: what followers show,
/// and what the next leader needs to take over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupState {
    /// The status every tab shows.
    pub status: Status,
    /// The accid logged in (or being logged in with).
    pub accid: Option<String>,
    /// The account's other live sessions.
    pub clients: Vec<Client>,
    /// The device id the group's connection logs in with.
    pub device_id: String,
    /// The session, if any.
    pub session: Option<SessionRecord>,
    /// Calls (of any tab) waiting for the session's outcome.
    pub waiting: Vec<CallRef>,
    /// `kickClient` calls sent on the connection, their result not yet in.
    pub kicks: Vec<CallRef>,
    /// For each calling tab, the highest call number the group has carried
    /// out: a call at or below it is never carried out again.
    pub done: Vec<CallRef>,
}

/// A published [`GroupState`] and its place in the group's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamped {
    /// The leader that published it.
    pub leader: TabId,
    /// That leader's term.
    pub term: u64,
    /// Its publication number within the term.
    pub seq: u64,
    /// The state.
    pub state: GroupState,
}

impl Stamped {
    /// The order of publications: by term, then leader id (so that two
    /// leaders can never tie), then number.
    pub fn key(&self) -> (u64, &TabId, u64) {
        (self.term, &self.leader, self.seq)
    }
}

/// The version of [`GroupMessage`]'s form: drivers put it in the names of
/// the group's channel and lock, so that the tabs of two versions of an
/// app (during a deploy) form two groups that ignore each other instead of
/// one that misreads itself.
pub const GROUP_VERSION: u32 = 3;

/// One message on the group's channel.
///
/// Externally tagged (`{"state": {…}}`): a reader finds the variant by its
/// key without buffering the message first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GroupMessage {
    /// A tab that joined asks the leader for its state.
    Hello {
        /// The sender.
        from: TabId,
    },
    /// A tab has just become the leader (its term is higher than any it
    /// knew of) and gathers what the others know before it acts.
    #[serde(rename_all = "camelCase")]
    Lead {
        /// The new leader.
        from: TabId,
        /// Its term.
        term: u64,
    },
    /// A tab tells a leader what it knows: the leader it follows (a leader
    /// that does not rank above it moves past it, so that every tab follows
    /// it) and the newest state (which a leader taking over carries on).
    #[serde(rename_all = "camelCase")]
    Known {
        /// The sender.
        from: TabId,
        /// The leader.
        to: TabId,
        /// The leader the sender follows, and its term.
        follows: Option<(TabId, u64)>,
        /// The newest publication the sender has seen, if any.
        stamped: Option<Stamped>,
    },
    /// The leader's state, after each change and in answer to `Hello`.
    #[serde(rename_all = "camelCase")]
    State {
        /// The publication (its `leader` is the sender).
        stamped: Stamped,
    },
    /// Something the leader's app was told (`loginFailed`, `kicked`,
    /// `reconnecting`, `status`, `clients`); followers tell theirs.
    #[serde(rename_all = "camelCase")]
    Event {
        /// The leader.
        from: TabId,
        /// Its term.
        term: u64,
        /// The event.
        event: Event,
    },
    /// A tab asks the leader to carry out its app's call.
    #[serde(rename_all = "camelCase")]
    Call {
        /// The calling tab.
        from: TabId,
        /// The leader it is sent to.
        to: TabId,
        /// The caller's number for it.
        id: u64,
        /// What to do.
        call: Call,
    },
    /// The calling tab's app aborted its call (an `AbortSignal`): the
    /// leader cancels the login it waits on, unless another call waits on
    /// it too. The caller has already settled it (498).
    #[serde(rename_all = "camelCase")]
    Abort {
        /// The calling tab.
        from: TabId,
        /// The leader the call was sent to.
        to: TabId,
        /// The caller's number for the call.
        id: u64,
    },
    /// The outcome of a call, for the tab that made it.
    #[serde(rename_all = "camelCase")]
    Reply {
        /// The tab that carried it out.
        from: TabId,
        /// The calling tab.
        to: TabId,
        /// The caller's number for it.
        id: u64,
        /// `Ok(value)` resolves the caller's promise (`value` is what
        /// `autoLogin` resolves with), `Err` rejects it.
        result: Result<bool, LoginError>,
    },
}

impl GroupMessage {
    /// The tab that sent it.
    pub fn from(&self) -> &TabId {
        match self {
            GroupMessage::Hello { from }
            | GroupMessage::Lead { from, .. }
            | GroupMessage::Known { from, .. }
            | GroupMessage::Event { from, .. }
            | GroupMessage::Call { from, .. }
            | GroupMessage::Abort { from, .. }
            | GroupMessage::Reply { from, .. } => from,
            GroupMessage::State { stamped } => &stamped.leader,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imlogin_protocol::{ClientType, KickReason, LoginCode};

    fn round_trip(m: GroupMessage) {
        let text = serde_json::to_string(&m).expect("serializes");
        let back: GroupMessage = serde_json::from_str(&text).expect("deserializes");
        assert_eq!(back, m, "{text}");
    }

    #[test]
    fn every_message_round_trips_through_json() {
        let a = TabId("a".into());
        let b = TabId("b".into());
        let state = GroupState {
            status: Status::LoggedIn,
            accid: Some("alice".into()),
            clients: vec![Client {
                client_id: "c1".into(),
                client_type: ClientType::Web,
                device_id: "d".into(),
                custom_tag: None,
                login_at: 1,
            }],
            device_id: "dev".into(),
            session: Some(SessionRecord {
                credentials: WireCredentials::new("alice".into(), "t".into()),
                established: true,
                force: false,
                manual: false,
            }),
            waiting: vec![CallRef {
                tab: b.clone(),
                id: 3,
            }],
            kicks: vec![],
            done: vec![CallRef {
                tab: b.clone(),
                id: 3,
            }],
        };
        let stamped = Stamped {
            leader: a.clone(),
            term: 2,
            seq: 9,
            state,
        };
        round_trip(GroupMessage::Hello { from: a.clone() });
        round_trip(GroupMessage::Lead {
            from: a.clone(),
            term: 3,
        });
        round_trip(GroupMessage::Known {
            from: b.clone(),
            to: a.clone(),
            follows: Some((a.clone(), 2)),
            stamped: Some(stamped.clone()),
        });
        round_trip(GroupMessage::State { stamped });
        for event in [
            Event::Status(Status::Waiting),
            Event::LoginFailed(LoginError::new(LoginCode::Blocked, "blocked")),
            Event::Kicked {
                reason: KickReason::Exclusive,
                client_type: Some(ClientType::Pc),
            },
            Event::Reconnecting {
                attempt: 2,
                delay_ms: 1500.0,
                reason: crate::Disconnect::Closed(1012),
            },
            Event::Reconnecting {
                attempt: 3,
                delay_ms: 0.0,
                reason: crate::Disconnect::Refused(LoginCode::Unavailable),
            },
            Event::Clients(crate::ClientsUpdate::list(vec![])),
            Event::Clients(crate::ClientsUpdate {
                clients: vec![],
                change: Some(imlogin_protocol::ClientsChange::Logout),
                client: None,
            }),
        ] {
            round_trip(GroupMessage::Event {
                from: a.clone(),
                term: 2,
                event,
            });
        }
        for call in [
            Call::Login {
                accid: "alice".into(),
                token: "t".into(),
                force: true,
            },
            Call::AutoLogin {
                saved: None,
                force: false,
            },
            Call::AutoLoginWith {
                credentials: WireCredentials::new("alice".into(), "t".into()),
                force: true,
            },
            Call::Logout,
            Call::KickClient {
                client_id: "c9".into(),
            },
        ] {
            round_trip(GroupMessage::Call {
                from: b.clone(),
                to: a.clone(),
                id: 4,
                call,
            });
        }
        round_trip(GroupMessage::Reply {
            from: a.clone(),
            to: b.clone(),
            id: 4,
            result: Ok(true),
        });
        round_trip(GroupMessage::Reply {
            from: a,
            to: b,
            id: 5,
            result: Err(LoginError::new(LoginCode::Cancelled, "cancelled")),
        });
    }

    #[test]
    fn debug_never_shows_a_token() {
        let call = Call::Login {
            accid: "alice".into(),
            token: "secret-token".into(),
            force: false,
        };
        let record = SessionRecord {
            credentials: WireCredentials::new("alice".into(), "secret-token".into()),
            established: true,
            force: false,
            manual: false,
        };
        for text in [format!("{call:?}"), format!("{record:?}")] {
            assert!(!text.contains("secret-token"), "{text}");
        }
    }

    #[test]
    fn credentials_from_another_tab_are_checked() {
        let bad = WireCredentials::new("al ice".into(), "t".into());
        assert!(bad.checked().is_none());
        let dynamic = WireCredentials::new("Alice".into(), String::new());
        assert_eq!(dynamic.checked().unwrap().accid, "alice");
    }
}
