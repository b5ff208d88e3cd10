//! Invariants of the login machine under random event sequences (proptest).
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{HashMap, HashSet};

use imlogin_core::protocol::{ClientType, KickReason, LoginCode, ServerFrame};
use imlogin_core::{
    Config, ConnId, Credentials, Event, LoginMachine, Output, RequestId, Status, StoredSession,
};
use proptest::prelude::*;

/// One thing that can happen to the machine.
#[derive(Debug, Clone)]
enum Step {
    Login {
        valid: bool,
        force: bool,
    },
    AutoLogin {
        stored: bool,
        force: bool,
    },
    /// An auto login with credentials the app server just issued.
    AutoLoginWith {
        token: u8,
        force: bool,
    },
    Logout,
    Kick,
    /// The current connection opens.
    Opened,
    /// The server answers the login (0 = ok, else a code).
    Answer(u16, Option<u64>),
    Pong,
    Kicked(u8),
    Closed,
    Error,
    Garbage,
    /// Time passes: the machine wakes at each deadline on the way.
    Advance(u32),
    Offline,
    Online,
    Visible,
    /// A stale event for a connection the machine abandoned.
    StaleOpened,
    /// Dynamic tokens: the provider answers for the current attempt.
    Token(bool),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => (any::<bool>(), any::<bool>()).prop_map(|(v, f)| Step::Login { valid: v || f, force: f }),
        2 => (any::<bool>(), any::<bool>()).prop_map(|(s, f)| Step::AutoLogin { stored: s, force: f }),
        1 => (0u8..3, any::<bool>()).prop_map(|(t, f)| Step::AutoLoginWith { token: t, force: f }),
        1 => Just(Step::Logout),
        1 => Just(Step::Kick),
        4 => Just(Step::Opened),
        4 => (prop::sample::select(vec![0u16, 0, 0, 302, 403, 414, 416, 417, 422, 500, 503]),
              prop::option::of(0u64..60_000)).prop_map(|(c, r)| Step::Answer(c, r)),
        2 => Just(Step::Pong),
        1 => (0u8..6).prop_map(Step::Kicked),
        3 => Just(Step::Closed),
        1 => Just(Step::Error),
        1 => Just(Step::Garbage),
        5 => (0u32..120_000).prop_map(Step::Advance),
        2 => Just(Step::Offline),
        2 => Just(Step::Online),
        1 => Just(Step::Visible),
        1 => Just(Step::StaleOpened),
        3 => any::<bool>().prop_map(Step::Token),
    ]
}

/// A driver that keeps the books the invariants are checked against.
struct World {
    m: LoginMachine,
    now: f64,
    online: bool,
    /// Connections asked for and neither closed by the machine nor reported
    /// closed to it.
    live: HashSet<ConnId>,
    abandoned: Vec<ConnId>,
    requests: HashSet<RequestId>,
    /// The `login` calls among them.
    manual: HashSet<RequestId>,
    settled: HashMap<RequestId, u32>,
    /// The `retryAfterMs` of the last retryable answer, the delay's floor.
    floor: Option<f64>,
    dynamic: bool,
}

impl World {
    fn new(seed: u64) -> Self {
        let mut config = Config::new("app", "dev");
        config.login_timeout_ms = 20_000.0;
        // Half the runs use dynamic tokens (the JS tokenProvider).
        let dynamic = seed % 2 == 0;
        config.dynamic_token = dynamic;
        World {
            m: LoginMachine::new(config, seed),
            now: 0.0,
            online: true,
            live: HashSet::new(),
            abandoned: Vec::new(),
            requests: HashSet::new(),
            manual: HashSet::new(),
            settled: HashMap::new(),
            floor: None,
            dynamic,
        }
    }

    fn current(&self) -> Option<ConnId> {
        self.m.connection()
    }

    /// Drains outputs and checks the invariants that hold at every output.
    fn drain(&mut self) -> Result<(), TestCaseError> {
        while let Some(out) = self.m.poll_output() {
            match out {
                Output::Connect(c) => {
                    prop_assert!(self.online, "Connect while the browser is offline");
                    prop_assert!(self.m.accid().is_some(), "Connect without a session");
                    self.live.insert(c);
                }
                Output::Close(c, _) => {
                    self.live.remove(&c);
                    self.abandoned.push(c);
                }
                Output::Settle(id, _) => {
                    prop_assert!(self.requests.contains(&id), "settled an unknown request");
                    *self.settled.entry(id).or_default() += 1;
                    prop_assert_eq!(self.settled[&id], 1, "a request settled twice");
                }
                Output::Send(c, _) => {
                    prop_assert!(self.live.contains(&c), "send on a dead connection")
                }
                Output::FetchToken(c, _) => {
                    prop_assert!(self.dynamic, "a token fetched without dynamic tokens");
                    prop_assert!(
                        self.live.contains(&c),
                        "a token fetched for a dead connection"
                    )
                }
                Output::Emit(Event::Reconnecting {
                    attempt, delay_ms, ..
                }) => {
                    let bound = (1_000.0 * 2f64.powi(attempt as i32 - 1)).min(30_000.0);
                    let floor = self.floor.take().unwrap_or(0.0);
                    prop_assert!(
                        delay_ms >= 0.0 && (delay_ms <= bound || delay_ms == floor),
                        "delay {} outside [0, {}] (floor {})",
                        delay_ms,
                        bound,
                        floor
                    );
                }
                _ => {}
            }
            prop_assert!(
                self.live.len() <= 1,
                "more than one connection open or opening"
            );
        }
        if let Some(at) = self.m.poll_timeout() {
            prop_assert!(
                at >= self.now,
                "a deadline in the past: {} < {}",
                at,
                self.now
            );
        }
        // autoLogin settles on the first outcome: nothing waits through a
        // backoff or offline, except calls that joined a manual login.
        if matches!(self.m.status(), Status::Waiting | Status::Offline) {
            let unsettled = |id: &&RequestId| !self.settled.contains_key(id);
            prop_assert!(
                self.requests.iter().filter(unsettled).count() == 0
                    || self.manual.iter().any(|id| !self.settled.contains_key(id)),
                "a call still waits in {:?} without a manual login under way",
                self.m.status()
            );
        }
        Ok(())
    }

    fn apply(&mut self, step: &Step) -> Result<(), TestCaseError> {
        let now = self.now;
        match step.clone() {
            Step::Login { valid, force } => {
                let id = self
                    .m
                    .login(now, if valid { "alice" } else { "bad accid" }, "tok", force);
                self.requests.insert(id);
                self.manual.insert(id);
            }
            Step::AutoLogin { stored, force } => {
                let s = stored.then(|| StoredSession {
                    credentials: Credentials::new("alice", "tok").unwrap(),
                    saved_at: 0,
                });
                if let Some(id) = self.m.auto_login(now, s, force) {
                    self.requests.insert(id);
                }
            }
            Step::AutoLoginWith { token, force } => {
                let token = ["tok", "fresh", ""][usize::from(token)];
                let id = self.m.auto_login_with(now, "alice", token, force);
                self.requests.insert(id);
            }
            Step::Logout => {
                self.m.logout(now);
                self.drain()?;
                prop_assert_eq!(
                    self.m.poll_timeout(),
                    None,
                    "a deadline is left after logout"
                );
                prop_assert!(self.live.is_empty(), "a connection is open after logout");
                prop_assert!(!self.m.has_pending_login());
            }
            Step::Kick => {
                let id = self.m.kick_client(now, "other");
                self.requests.insert(id);
            }
            Step::Opened => {
                if let Some(c) = self.current() {
                    self.m.handle_opened(now, c);
                }
            }
            Step::Answer(code, retry_after_ms) => {
                if let Some(c) = self.current() {
                    self.floor = retry_after_ms.map(|ms| ms as f64);
                    let frame = if code == 0 {
                        ServerFrame::LoginOk {
                            client_id: "me".into(),
                            server_time: 1,
                            heartbeat_ms: 30_000,
                            clients: vec![],
                            ticket: None,
                        }
                    } else {
                        ServerFrame::LoginErr {
                            code: LoginCode::from(code),
                            message: String::new(),
                            retry_after_ms,
                        }
                    };
                    self.m.handle_frame(now, c, frame);
                }
            }
            Step::Pong => {
                if let Some(c) = self.current() {
                    self.m.handle_frame(now, c, ServerFrame::Pong);
                }
            }
            Step::Kicked(n) => {
                if let Some(c) = self.current() {
                    let reason = [
                        KickReason::Exclusive,
                        KickReason::SameDevice,
                        KickReason::ByClient,
                        KickReason::Server,
                        KickReason::Blocked,
                        KickReason::TokenChanged,
                    ][usize::from(n) % 6];
                    self.m.handle_frame(
                        now,
                        c,
                        ServerFrame::Kicked {
                            reason,
                            client_type: Some(ClientType::Web),
                        },
                    );
                }
            }
            Step::Closed | Step::Error => {
                if let Some(c) = self.current() {
                    self.live.remove(&c);
                    if matches!(step, Step::Closed) {
                        self.m.handle_closed(now, c, 1006);
                    } else {
                        self.m.handle_error(now, c);
                    }
                }
            }
            Step::Garbage => {
                if let Some(c) = self.current() {
                    self.m.handle_text(now, c, "][");
                }
            }
            Step::Advance(ms) => {
                let until = self.now + f64::from(ms);
                while let Some(at) = self.m.poll_timeout() {
                    if at > until {
                        break;
                    }
                    self.now = self.now.max(at);
                    self.m.handle_timeout(self.now);
                    self.drain()?;
                    if let Some(next) = self.m.poll_timeout() {
                        prop_assert!(
                            next > self.now,
                            "handle_timeout left {} due at {}",
                            next,
                            self.now
                        );
                    }
                }
                self.now = until;
            }
            Step::Offline => {
                self.online = false;
                self.m.handle_offline(now);
            }
            Step::Online => {
                self.online = true;
                self.m.handle_online(now);
            }
            Step::Visible => self.m.handle_visible(now),
            Step::Token(ok) => {
                if let Some(c) = self.current() {
                    self.m.handle_token(now, c, ok.then_some("fresh-token"));
                }
            }
            Step::StaleOpened => {
                if let Some(&c) = self.abandoned.last() {
                    self.m.handle_opened(now, c);
                    self.m.handle_frame(now, c, ServerFrame::Pong);
                    self.m.handle_closed(now, c, 1000);
                }
            }
        }
        self.drain()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_for_random_event_sequences(seed in any::<u64>(), steps in prop::collection::vec(step(), 1..80)) {
        let mut w = World::new(seed);
        for s in &steps {
            w.apply(s)?;
        }
        // Every promise settles exactly once, at the latest on logout.
        w.m.logout(w.now);
        w.drain()?;
        for id in &w.requests {
            prop_assert_eq!(w.settled.get(id).copied(), Some(1), "request {:?} never settled", id);
        }
        prop_assert_eq!(w.m.poll_timeout(), None);
    }
}
