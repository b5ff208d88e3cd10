//! A virtual-clock harness for the login machine: a scripted server, a
//! clock the test advances, and every output recorded.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};

use imlogin_core::device::{DeviceProof, ProofRequest, ResumeProof};
use imlogin_core::protocol::{
    Client, ClientFrame, ClientType, KickReason, LoginCode, LoginFrame, LoginMode, ServerFrame,
};
use imlogin_core::{
    Config, ConnId, Credentials, Disconnect, Event, LoginError, LoginMachine, Output, RequestId,
    Status, StoredSession,
};

/// How the scripted server answers the next connection attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Open and answer the login frame with `loginOk`.
    Accept,
    /// Fail to open (connection refused): the socket reports closed at once.
    Refuse,
    /// Never open: the attempt hangs until the connect timeout.
    Hang,
    /// Open, then answer the login with `loginErr`.
    Err(u16, Option<u64>),
}

/// The machine, its virtual clock, and a scripted peer.
pub struct Harness {
    pub m: LoginMachine,
    pub now: f64,
    /// Every output with the virtual time it was polled at.
    pub log: Vec<(f64, Output)>,
    /// Replies for the next attempts, in order; `default_reply` after that.
    pub replies: VecDeque<Reply>,
    pub default_reply: Reply,
    /// Whether the scripted server answers `ping` with `pong`.
    pub answers_ping: bool,
    /// The connection the peer considers open, if any.
    pub open: Option<ConnId>,
    /// Login frames the server received.
    pub logins: Vec<LoginFrame>,
    /// Outcomes of requests, by id.
    pub settled: HashMap<RequestId, Vec<Result<(), LoginError>>>,
    /// What the driver's storage holds.
    pub persisted: Option<StoredSession>,
    /// Whether the browser is online.
    pub online: bool,
    /// Dynamic tokens: answers to the next `FetchToken`s (`None` = the
    /// provider failed); after these, `dyn-<conn>`.
    pub token_answers: VecDeque<Option<String>>,
    /// Accids the machine asked tokens for, in order.
    pub token_requests: Vec<String>,
    /// When set, token requests wait in `deferred_tokens` for the test.
    pub defer_tokens: bool,
    pub deferred_tokens: Vec<ConnId>,
    /// With `Config::delay_hook`: the app's answers to the next
    /// `ChooseDelay`s (`None`: it gave none); after these, none.
    pub delay_answers: VecDeque<Option<f64>>,
    /// What the machine asked the app: `(attempt, default_ms)`.
    pub delay_questions: Vec<(u32, f64)>,
    /// The scripted device key: its public key (`None`: the driver has no
    /// usable key and answers every `Prove` with `None`).
    pub device_key: Option<String>,
    /// The device's wall clock minus the virtual clock, in ms.
    pub wall_offset: f64,
    /// What the machine asked of the device key, in order.
    pub proof_requests: Vec<ProofRequest>,
    /// When set, `Prove`s wait in `deferred_proofs` for the test.
    pub defer_proofs: bool,
    pub deferred_proofs: Vec<(ConnId, ProofRequest)>,
    /// The scripted server's tickets: ticket → the public key it is bound
    /// to. A resume is accepted when its ticket is here and its `sig` is
    /// [`fake_sig`] of that key; else refused with 419.
    pub tickets: HashMap<String, String>,
    /// The server's clock minus the virtual clock, in ms.
    pub server_offset: f64,
}

/// The scripted device key's "signature": stands for an ECDSA signature
/// by `key` over `message` (the harness only checks that the machine
/// sends what the key produced for the message it asked about).
pub fn fake_sig(key: &str, message: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes().chain(message.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    imlogin_core::device::base64url(&h.to_le_bytes().repeat(8))
}

/// A ticket of the scripted server: `n` as 32 bytes, base64url.
pub fn ticket(n: u8) -> String {
    imlogin_core::device::base64url(&[n; 32])
}

pub const KEY_A: &str = "key-of-device-a";

pub const APP_KEY: &str = "app-key";
pub const DEVICE: &str = "device-a";

pub fn config() -> Config {
    Config::new(APP_KEY, DEVICE)
}

pub fn creds(accid: &str, token: &str) -> StoredSession {
    StoredSession {
        credentials: Credentials::new(accid, token).unwrap(),
        saved_at: 1,
    }
}

impl Harness {
    pub fn new() -> Self {
        Self::with_config(config(), 7)
    }

    pub fn with_config(config: Config, seed: u64) -> Self {
        Harness {
            m: LoginMachine::new(config, seed),
            now: 0.0,
            log: Vec::new(),
            replies: VecDeque::new(),
            default_reply: Reply::Accept,
            answers_ping: true,
            open: None,
            logins: Vec::new(),
            settled: HashMap::new(),
            persisted: None,
            online: true,
            token_answers: VecDeque::new(),
            token_requests: Vec::new(),
            defer_tokens: false,
            deferred_tokens: Vec::new(),
            delay_answers: VecDeque::new(),
            delay_questions: Vec::new(),
            device_key: Some(KEY_A.into()),
            wall_offset: 1_700_000_000_000.0,
            proof_requests: Vec::new(),
            defer_proofs: false,
            deferred_proofs: Vec::new(),
            tickets: HashMap::new(),
            server_offset: 1_700_000_000_000.0,
        }
    }

    /// A harness whose machine binds sessions to its device key.
    pub fn binding(persist_token: bool) -> Self {
        let mut config = config();
        config.device_binding = true;
        config.persist_token = persist_token;
        Self::with_config(config, 7)
    }

    /// The scripted device key's answer to `request`, at the current time.
    pub fn proof_for(&self, request: &ProofRequest) -> Option<DeviceProof> {
        let key = self.device_key.clone()?;
        let wall_ms = self.now + self.wall_offset;
        let resume = match request {
            ProofRequest::PublicKey => None,
            ProofRequest::Resume(fields) => {
                let ts = (wall_ms + fields.skew_ms) as u64;
                let nonce = imlogin_core::device::base64url(&[self.proof_requests.len() as u8; 16]);
                let sig = fake_sig(&key, &fields.message(ts, &nonce));
                Some(ResumeProof { ts, nonce, sig })
            }
        };
        Some(DeviceProof {
            device_key: key,
            wall_ms,
            resume,
        })
    }

    /// Answers a deferred `Prove`.
    pub fn answer_proof(&mut self, i: usize) {
        let (conn, request) = self.deferred_proofs.remove(i);
        let proof = self.proof_for(&request);
        self.m.handle_proof(self.now, conn, proof);
        self.pump();
    }

    /// Plays the driver: drains outputs and lets the scripted server answer.
    pub fn pump(&mut self) {
        while let Some(output) = self.m.poll_output() {
            self.log.push((self.now, output.clone()));
            match output {
                Output::Connect(conn) => {
                    assert!(
                        self.open.is_none(),
                        "Connect while {:?} is still open",
                        self.open
                    );
                    let reply = self
                        .replies
                        .pop_front()
                        .unwrap_or_else(|| self.default_reply.clone());
                    match reply {
                        Reply::Refuse => self.m.handle_closed(self.now, conn, 1006),
                        Reply::Hang => self.open = Some(conn),
                        Reply::Accept | Reply::Err(..) => {
                            self.open = Some(conn);
                            self.replies.push_front(reply);
                            self.m.handle_opened(self.now, conn);
                        }
                    }
                }
                Output::Send(conn, frame) => self.server_receives(conn, frame),
                Output::Prove(conn, request) => {
                    self.proof_requests.push(request.clone());
                    if self.defer_proofs {
                        self.deferred_proofs.push((conn, request));
                        continue;
                    }
                    let proof = self.proof_for(&request);
                    self.m.handle_proof(self.now, conn, proof);
                }
                Output::FetchToken(conn, accid) => {
                    self.token_requests.push(accid);
                    if self.defer_tokens {
                        self.deferred_tokens.push(conn);
                        continue;
                    }
                    let answer = self
                        .token_answers
                        .pop_front()
                        .unwrap_or_else(|| Some(format!("dyn-{}", conn.0)));
                    self.m.handle_token(self.now, conn, answer.as_deref());
                }
                Output::ChooseDelay {
                    conn,
                    attempt,
                    default_ms,
                } => {
                    self.delay_questions.push((attempt, default_ms));
                    let answer = self.delay_answers.pop_front().flatten();
                    self.m.handle_delay(self.now, conn, answer);
                }
                Output::Close(conn, _) => {
                    assert_eq!(
                        self.open,
                        Some(conn),
                        "Close of a connection that is not open"
                    );
                    self.open = None;
                }
                Output::Persist(s) => self.persisted = Some(s),
                Output::ClearPersisted => self.persisted = None,
                Output::Emit(_) => {}
                Output::Settle(id, result) => self.settled.entry(id).or_default().push(result),
            }
        }
        if let Some(at) = self.m.poll_timeout() {
            assert!(
                at >= self.now,
                "a deadline in the past: {at} < {}",
                self.now
            );
        }
    }

    fn server_receives(&mut self, conn: ConnId, frame: ClientFrame) {
        match frame {
            ClientFrame::Login(login) => {
                let reply = self.replies.pop_front().unwrap_or(Reply::Accept);
                let server_time = (self.now + self.server_offset) as u64;
                // The scripted binding: a token login with a deviceKey earns
                // a ticket; a resume must match its ticket's key.
                let mut issued = None;
                let mut reply = reply;
                if let Some(t) = &login.ticket {
                    let message = LoginFrame::resume_message(
                        &login.app_key,
                        &login.accid,
                        &login.device_id,
                        t,
                        login.ts.unwrap_or(0),
                        login.nonce.as_deref().unwrap_or(""),
                    );
                    let good = self.tickets.get(t).is_some_and(|key| {
                        login.sig.as_deref() == Some(fake_sig(key, &message).as_str())
                    }) && login
                        .ts
                        .is_some_and(|ts| (ts as f64 - server_time as f64).abs() <= 300_000.0);
                    if !good && reply == Reply::Accept {
                        reply = Reply::Err(419, None);
                    }
                } else if let (Some(key), Reply::Accept) = (&login.device_key, &reply) {
                    let t = ticket(self.tickets.len() as u8 + 1);
                    self.tickets.insert(t.clone(), key.clone());
                    issued = Some(t);
                }
                self.logins.push(login);
                let answer = match reply {
                    Reply::Err(code, retry_after_ms) => ServerFrame::LoginErr {
                        code: LoginCode::from(code),
                        message: "scripted".into(),
                        retry_after_ms,
                    },
                    _ => ServerFrame::LoginOk {
                        client_id: format!("c{}", conn.0),
                        server_time,
                        heartbeat_ms: 30_000,
                        clients: vec![],
                        ticket: issued.map(Into::into),
                    },
                };
                // After loginErr the machine closes first (asserted by the
                // Close bookkeeping), so the server's own close is never seen.
                self.m.handle_frame(self.now, conn, answer);
            }
            ClientFrame::Ping => {
                if self.answers_ping {
                    self.m.handle_frame(self.now, conn, ServerFrame::Pong);
                }
            }
            ClientFrame::Logout | ClientFrame::Kick { .. } => {}
        }
    }

    /// Advances virtual time by `ms`, waking the machine at each deadline
    /// that falls due on the way (the driver's one timer).
    pub fn advance(&mut self, ms: f64) {
        let until = self.now + ms;
        while let Some(at) = self.m.poll_timeout() {
            if at > until {
                break;
            }
            self.now = self.now.max(at);
            self.m.handle_timeout(self.now);
            self.pump();
        }
        self.now = until;
    }

    /// The machine's next deadline, relative to now.
    pub fn next_wake_in(&self) -> Option<f64> {
        self.m.poll_timeout().map(|at| at - self.now)
    }

    pub fn login(&mut self, accid: &str, token: &str) -> RequestId {
        let id = self.m.login(self.now, accid, token, false);
        self.pump();
        id
    }

    pub fn auto_login(&mut self, stored: Option<StoredSession>) -> Option<RequestId> {
        let id = self.m.auto_login(self.now, stored, false);
        self.pump();
        id
    }

    pub fn logout(&mut self) {
        self.m.logout(self.now);
        self.pump();
    }

    pub fn offline(&mut self) {
        self.online = false;
        self.m.handle_offline(self.now);
        self.pump();
    }

    pub fn online(&mut self) {
        self.online = true;
        self.m.handle_online(self.now);
        self.pump();
    }

    /// The server drops the open connection.
    pub fn drop_connection(&mut self, code: u16) {
        let conn = self.open.take().expect("no open connection to drop");
        self.m.handle_closed(self.now, conn, code);
        self.pump();
    }

    /// The server sends a frame on the open connection.
    pub fn server_sends(&mut self, frame: ServerFrame) {
        let conn = self.open.expect("no open connection");
        self.m.handle_frame(self.now, conn, frame);
        self.pump();
    }

    pub fn status(&self) -> Status {
        self.m.status()
    }

    pub fn outcome(&self, id: RequestId) -> Option<Result<(), LoginError>> {
        let outcomes = self.settled.get(&id)?;
        assert_eq!(
            outcomes.len(),
            1,
            "request {id:?} settled {} times",
            outcomes.len()
        );
        Some(outcomes[0].clone())
    }

    pub fn rejected_code(&self, id: RequestId) -> u16 {
        match self.outcome(id) {
            Some(Err(e)) => e.code.as_u16(),
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    pub fn connects(&self) -> usize {
        self.log
            .iter()
            .filter(|(_, o)| matches!(o, Output::Connect(_)))
            .count()
    }

    pub fn connect_times(&self) -> Vec<f64> {
        self.log
            .iter()
            .filter(|(_, o)| matches!(o, Output::Connect(_)))
            .map(|(t, _)| *t)
            .collect()
    }

    pub fn events(&self) -> Vec<Event> {
        self.log
            .iter()
            .filter_map(|(_, o)| match o {
                Output::Emit(e) => Some(e.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn reconnect_delays(&self) -> Vec<(u32, f64)> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Reconnecting {
                    attempt, delay_ms, ..
                } => Some((attempt, delay_ms)),
                _ => None,
            })
            .collect()
    }

    /// Why each `reconnecting` event said the connection was lost.
    pub fn reconnect_reasons(&self) -> Vec<Disconnect> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Reconnecting { reason, .. } => Some(reason),
                _ => None,
            })
            .collect()
    }

    pub fn statuses(&self) -> Vec<Status> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Status(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    pub fn last_login(&self) -> &LoginFrame {
        self.logins.last().expect("no login frame sent")
    }

    /// Logs in manually and checks it worked.
    pub fn logged_in_as(accid: &str) -> Self {
        let mut h = Harness::new();
        let id = h.login(accid, "token-1");
        assert_eq!(h.outcome(id), Some(Ok(())));
        assert_eq!(h.status(), Status::LoggedIn);
        h
    }
}

pub fn client(id: &str, device: &str) -> Client {
    Client {
        client_id: id.into(),
        client_type: ClientType::Web,
        device_id: device.into(),
        custom_tag: None,
        login_at: 1,
    }
}

pub fn kicked(reason: KickReason) -> ServerFrame {
    ServerFrame::Kicked {
        reason,
        client_type: Some(ClientType::Web),
    }
}

pub fn is_auto(frame: &LoginFrame) -> bool {
    frame.mode == LoginMode::Auto
}

pub const HOUR: f64 = 3_600_000.0;
