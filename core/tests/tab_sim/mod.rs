//! N simulated tabs of one browser profile on a virtual clock, each running
//! a `TabGroup` (and its login machine) like the browser driver would: a
//! simulated BroadcastChannel with random delays (in order per sender and
//! receiver, delivered only to tabs open when the message was posted), a
//! simulated Web Locks manager, localStorage and sessionStorage, and a
//! scripted link server with the device rule. In the spirit of quinn-proto's
//! test `Pair`: `advance` jumps from one wake-up to the next, and every
//! output is recorded so that tests and properties can check it.

#![allow(dead_code)]

use imlogin_core::device::{DeviceProof, ProofRequest, ResumeProof};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use imlogin_core::protocol::{
    ClientFrame, KickReason, LoginCode, LoginFrame, LoginMode, ServerFrame,
};
use imlogin_core::tab_group::{
    Call, CallId, GroupMessage, Input, Note, Role, Sharing, TabConfig, TabGroup, TabId, TabOutput,
    Warning,
};
use imlogin_core::{
    Config, ConnId, Event, LoginError, LoginMachine, Output, Rng, Status, StoredSession,
};

pub const APP_KEY: &str = "app-key";

/// Where the session record lives (the `persistence` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// localStorage: one record and one device id for every tab.
    Local,
    /// sessionStorage: one record per tab; the device id in localStorage.
    Session,
    /// Nothing stored: no record, and a fresh device id in every tab.
    None,
}

/// How the simulated Web Locks manager answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locks {
    /// As in a browser: one holder, a queue.
    Working,
    /// Every request fails (a sandboxed frame, an opaque origin).
    Refusing,
    /// Requests never answer.
    Silent,
}

/// An app call, as the tests name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallKind {
    Login(&'static str),
    AutoLogin,
    AutoLoginWith(&'static str),
    Logout,
    Kick,
}

/// What a call did to the group's session when it was carried out, for
/// the properties: `Starts` may start or replace it, `Ends` ends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Starts,
    Ends,
    None,
}

/// One app call and what became of it.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub kind: CallKind,
    pub effect: Effect,
    pub settled: Vec<Result<bool, LoginError>>,
}

/// One tab: its core and what its driver keeps.
pub struct SimTab {
    pub core: TabGroup,
    pub name: TabId,
    /// sessionStorage's session record.
    pub session_record: Option<StoredSession>,
    /// The socket the driver has open (or opening).
    pub socket: Option<ConnId>,
    pub calls: BTreeMap<u64, CallRecord>,
    pub statuses: Vec<Status>,
    pub clients_events: usize,
    pub last_clients: Vec<imlogin_core::protocol::Client>,
    pub events: Vec<Event>,
    pub warnings: Vec<Warning>,
    pub roles: Vec<Role>,
}

/// Something that happens at a point of virtual time.
#[derive(Debug, Clone)]
enum Happening {
    /// A message (as JSON text, as it would travel) reaches a tab.
    Deliver { to: usize, text: String },
    /// The lock manager's answer reaches a tab.
    Lock { tab: usize, answer: LockAnswer },
    /// A socket event reaches a tab.
    Socket {
        tab: usize,
        conn: ConnId,
        event: SocketEvent,
    },
    /// A frame reaches the server.
    ServerGets {
        tab: usize,
        conn: ConnId,
        frame: ClientFrame,
    },
    /// The server sees a socket open (and says so to the tab).
    ServerAccepts { tab: usize, conn: ConnId },
    /// The server sees a socket closed by its client (or its tab vanish).
    ServerLoses { tab: usize, conn: ConnId },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LockAnswer {
    Granted,
    HeldElsewhere,
    Failed,
}

#[derive(Debug, Clone)]
enum SocketEvent {
    Opened,
    Frame(ServerFrame),
    Closed(u16),
}

/// A logged-in session at the server.
#[derive(Debug, Clone)]
pub struct ServerSession {
    pub tab: usize,
    pub conn: ConnId,
    pub accid: String,
    pub device: String,
    pub client_id: String,
}

/// The scripted link server: accepts every token, applies the device rule
/// (an auto login without `force` only from a device that logged in and
/// was neither logged out nor kicked since), one session per account.
#[derive(Debug, Default)]
pub struct Server {
    pub sockets: HashSet<(usize, ConnId)>,
    pub live: Vec<ServerSession>,
    pub known_devices: HashMap<String, HashSet<String>>,
    pub logins: Vec<LoginFrame>,
    pub refusals: Vec<(String, u16)>,
    pub kick_frames: Vec<String>,
    pub kicked_others: usize,
    /// Device binding: issued tickets and the key each is bound to.
    pub tickets: HashMap<String, String>,
    next_client: u64,
}

/// The browser profile: tabs, channel, locks, storage, network, server.
pub struct Sim {
    pub now: f64,
    rng: Rng,
    /// Every message and socket event takes up to this long.
    pub max_delay_ms: f64,
    pub persistence: Persistence,
    pub locks: Locks,
    pub sharing: Sharing,
    pub config: TabConfig,
    pub tabs: Vec<Option<SimTab>>,
    pub local_record: Option<StoredSession>,
    pub online: bool,
    pub server: Server,
    lock_holder: Option<usize>,
    lock_queue: VecDeque<usize>,
    queue: Vec<(f64, u64, Happening)>,
    next_seq: u64,
    fifo: HashMap<(usize, usize), f64>,
    /// How many times each call (tab name, number) was carried out.
    pub carried: HashMap<(TabId, u64), u32>,
    /// Calls carried out, in order, with their effect on the session.
    pub carried_log: Vec<((TabId, u64), Effect)>,
    /// Every call's kind and effect, by (tab name, number), for calls whose
    /// tab is gone too.
    pub registry: HashMap<(TabId, u64), Effect>,
    /// Every invariant violation seen, in order (tests assert it is empty).
    pub violations: Vec<String>,
    /// Print every happening and output to stderr (for a failing case).
    pub trace: bool,
    /// Device binding: tabs opened from now on bind their sessions to the
    /// profile's one device key ([`PROFILE_KEY`]).
    pub binding: bool,
    /// The tabs whose driver answered a device-key request, in order.
    pub signers: Vec<usize>,
    next_tab: usize,
}

/// The device key every tab of the simulated profile shares.
pub const PROFILE_KEY: &str = "profile-key";

impl Sim {
    pub fn new(seed: u64, persistence: Persistence, locks: Locks) -> Sim {
        Sim {
            now: 0.0,
            rng: Rng::new(seed),
            max_delay_ms: TabConfig::default().takeover_grace_ms / 2.0,
            persistence,
            locks,
            sharing: Sharing::Shared,
            config: TabConfig::default(),
            tabs: Vec::new(),
            local_record: None,
            online: true,
            server: Server::default(),
            lock_holder: None,
            lock_queue: VecDeque::new(),
            queue: Vec::new(),
            next_seq: 0,
            fifo: HashMap::new(),
            carried: HashMap::new(),
            carried_log: Vec::new(),
            registry: HashMap::new(),
            violations: Vec::new(),
            trace: std::env::var_os("TAB_SIM_TRACE").is_some(),
            binding: false,
            signers: Vec::new(),
            next_tab: 0,
        }
    }

    /// A random delay in `[0, max_delay_ms]`, whole ms.
    fn delay(&mut self) -> f64 {
        (self.rng.next_f64() * (self.max_delay_ms + 1.0))
            .floor()
            .min(self.max_delay_ms)
    }

    fn schedule(&mut self, at: f64, what: Happening) {
        self.next_seq += 1;
        self.queue.push((at, self.next_seq, what));
    }

    fn schedule_soon(&mut self, what: Happening) {
        let at = self.now + self.delay();
        self.schedule(at, what);
    }

    // ----- tabs -----

    /// Opens a tab; returns its number.
    pub fn open(&mut self) -> usize {
        let index = self.tabs.len();
        self.next_tab += 1;
        let name = TabId(format!("t{}", self.next_tab));
        let device = match self.persistence {
            Persistence::Local | Persistence::Session => "device-profile".to_owned(),
            Persistence::None => format!("device-{}", self.next_tab),
        };
        let mut config = Config::new(APP_KEY, device);
        config.login_timeout_ms = 60_000.0;
        config.device_binding = self.binding;
        let machine = LoginMachine::new(config, 1000 + self.next_tab as u64);
        let mut core = TabGroup::new(machine, name.clone(), self.sharing, self.config, self.now);
        if !self.online {
            core.handle_input(self.now, Input::Offline);
        }
        let initial = core.status();
        self.tabs.push(Some(SimTab {
            core,
            name,
            session_record: None,
            socket: None,
            calls: BTreeMap::new(),
            statuses: vec![initial],
            clients_events: 0,
            last_clients: Vec::new(),
            events: Vec::new(),
            warnings: Vec::new(),
            roles: Vec::new(),
        }));
        if self.sharing == Sharing::Shared {
            match self.locks {
                Locks::Working => {
                    if self.lock_holder.is_none() && self.lock_queue.is_empty() {
                        self.lock_holder = Some(index);
                        self.schedule_soon(Happening::Lock {
                            tab: index,
                            answer: LockAnswer::Granted,
                        });
                    } else {
                        // ifAvailable came back empty; the driver queues.
                        self.lock_queue.push_back(index);
                        self.schedule_soon(Happening::Lock {
                            tab: index,
                            answer: LockAnswer::HeldElsewhere,
                        });
                    }
                }
                Locks::Refusing => self.schedule_soon(Happening::Lock {
                    tab: index,
                    answer: LockAnswer::Failed,
                }),
                Locks::Silent => {}
            }
        }
        self.drain(index);
        self.check();
        index
    }

    /// The tab's page closes (or the app calls `free()`).
    pub fn close(&mut self, index: usize) {
        let now = self.now;
        let Some(tab) = self.tab_mut(index) else {
            return;
        };
        tab.core.close(now);
        self.drain(index);
        self.remove(index);
    }

    /// The tab vanishes without a word (a renderer crash).
    pub fn crash(&mut self, index: usize) {
        if self.tab(index).is_some() {
            self.remove(index);
        }
    }

    fn remove(&mut self, index: usize) {
        let tab = self.tabs[index].take().expect("tab is open");
        if let Some(conn) = tab.socket {
            // The server notices the socket gone.
            self.tell_server(index, Happening::ServerLoses { tab: index, conn });
        }
        self.lock_queue.retain(|&t| t != index);
        self.pass_lock(index);
        self.check();
    }

    /// Tab `index` lets go of the lock, if it holds it: the next in line
    /// gets it.
    fn pass_lock(&mut self, index: usize) {
        if self.lock_holder == Some(index) {
            self.lock_holder = self.lock_queue.pop_front();
            if let Some(next) = self.lock_holder {
                self.schedule_soon(Happening::Lock {
                    tab: next,
                    answer: LockAnswer::Granted,
                });
            }
        }
    }

    pub fn tab(&self, index: usize) -> Option<&SimTab> {
        self.tabs.get(index).and_then(Option::as_ref)
    }

    fn tab_mut(&mut self, index: usize) -> Option<&mut SimTab> {
        self.tabs.get_mut(index).and_then(Option::as_mut)
    }

    /// The open tabs' numbers.
    pub fn open_tabs(&self) -> Vec<usize> {
        (0..self.tabs.len())
            .filter(|&i| self.tabs[i].is_some())
            .collect()
    }

    /// The tab that leads, if exactly one does.
    pub fn leader(&self) -> Option<usize> {
        let leaders: Vec<usize> = self
            .open_tabs()
            .into_iter()
            .filter(|&i| self.tab(i).is_some_and(|t| t.core.role() == Role::Leader))
            .collect();
        (leaders.len() == 1).then(|| leaders[0])
    }

    /// The record `autoLogin()` would read in this tab.
    pub fn saved(&self, index: usize) -> Option<StoredSession> {
        match self.persistence {
            Persistence::Local => self.local_record.clone(),
            Persistence::Session => self.tab(index)?.session_record.clone(),
            Persistence::None => None,
        }
    }

    /// The app of tab `index` makes a call.
    pub fn call(&mut self, index: usize, kind: CallKind) -> Option<CallId> {
        self.tab(index)?;
        let saved = self.saved(index);
        let (call, effect) = match kind {
            CallKind::Login(accid) => (
                Call::Login {
                    accid: accid.into(),
                    token: format!("token-{accid}"),
                    force: false,
                },
                Effect::Starts,
            ),
            CallKind::AutoLogin => {
                let effect = if saved.is_some() {
                    Effect::Starts
                } else {
                    Effect::None
                };
                (Call::auto_login(saved.as_ref(), false), effect)
            }
            CallKind::AutoLoginWith(accid) => (
                Call::AutoLoginWith {
                    credentials: imlogin_core::tab_group::WireCredentials::new(
                        accid.into(),
                        format!("token-{accid}"),
                    ),
                    force: true,
                },
                Effect::Starts,
            ),
            CallKind::Logout => (Call::Logout, Effect::Ends),
            CallKind::Kick => (
                Call::KickClient {
                    client_id: "someone-else".into(),
                },
                Effect::None,
            ),
        };
        let now = self.now;
        let tab = self.tab_mut(index)?;
        let id = tab.core.call(now, call);
        let name = tab.name.clone();
        tab.calls.insert(
            id.0,
            CallRecord {
                kind,
                effect,
                settled: Vec::new(),
            },
        );
        self.registry.insert((name, id.0), effect);
        self.drain(index);
        self.check();
        Some(id)
    }

    /// The app of tab `index` aborts its call `id` (an `AbortSignal`).
    pub fn abort(&mut self, index: usize, id: CallId) {
        let now = self.now;
        if let Some(tab) = self.tab_mut(index) {
            tab.core.abort(now, id);
        }
        self.drain(index);
        self.check();
    }

    // ----- network and server -----

    pub fn set_online(&mut self, online: bool) {
        self.online = online;
        for i in self.open_tabs() {
            let now = self.now;
            if let Some(tab) = self.tab_mut(i) {
                let input = if online {
                    Input::Online
                } else {
                    Input::Offline
                };
                tab.core.handle_input(now, input);
            }
            self.drain(i);
        }
        self.check();
    }

    /// The server ends every live session with a kick.
    pub fn server_kicks(&mut self) {
        for session in std::mem::take(&mut self.server.live) {
            self.forget_device(&session.accid, &session.device);
            let frame = ServerFrame::Kicked {
                reason: KickReason::Server,
                client_type: None,
            };
            self.tell_tab(session.tab, session.conn, SocketEvent::Frame(frame));
            self.tell_tab(session.tab, session.conn, SocketEvent::Closed(4000));
            self.server.sockets.remove(&(session.tab, session.conn));
        }
    }

    fn forget_device(&mut self, accid: &str, device: &str) {
        if let Some(devices) = self.server.known_devices.get_mut(accid) {
            devices.remove(device);
        }
    }

    fn tell_tab(&mut self, tab: usize, conn: ConnId, event: SocketEvent) {
        // One socket's events stay in order.
        let key = (usize::MAX - 1, tab);
        let at = (self.now + self.delay()).max(self.fifo.get(&key).copied().unwrap_or(0.0));
        self.fifo.insert(key, at);
        self.schedule(at, Happening::Socket { tab, conn, event });
    }

    /// What a tab's sockets tell the server arrives in order (a frame sent
    /// before a close arrives before it).
    fn tell_server(&mut self, tab: usize, what: Happening) {
        let key = (tab, usize::MAX - 1);
        let at = (self.now + self.delay()).max(self.fifo.get(&key).copied().unwrap_or(0.0));
        self.fifo.insert(key, at);
        self.schedule(at, what);
    }

    fn server_gets(&mut self, tab: usize, conn: ConnId, frame: ClientFrame) {
        if !self.server.sockets.contains(&(tab, conn)) {
            return;
        }
        match frame {
            ClientFrame::Login(login) => {
                self.server.logins.push(login.clone());
                if let Some(ticket) = &login.ticket {
                    let bound = self.server.tickets.get(ticket);
                    if bound
                        .is_none_or(|key| login.sig.as_deref() != Some(&format!("signed-by-{key}")))
                    {
                        self.server.refusals.push((login.accid.clone(), 419));
                        let answer = ServerFrame::LoginErr {
                            code: LoginCode::DeviceBindingRefused,
                            message: "device binding refused".into(),
                            retry_after_ms: None,
                        };
                        self.tell_tab(tab, conn, SocketEvent::Frame(answer));
                        self.tell_tab(tab, conn, SocketEvent::Closed(1008));
                        self.server.sockets.remove(&(tab, conn));
                        return;
                    }
                }
                let known = self
                    .server
                    .known_devices
                    .get(&login.accid)
                    .is_some_and(|d| d.contains(&login.device_id));
                if login.mode == LoginMode::Auto && !login.force && !known {
                    self.server.refusals.push((login.accid.clone(), 403));
                    let answer = ServerFrame::LoginErr {
                        code: LoginCode::Forbidden,
                        message: "auto login from another device".into(),
                        retry_after_ms: None,
                    };
                    self.tell_tab(tab, conn, SocketEvent::Frame(answer));
                    self.tell_tab(tab, conn, SocketEvent::Closed(1008));
                    self.server.sockets.remove(&(tab, conn));
                    return;
                }
                // One session per account: an older one is replaced (its
                // own device) or kicked (another device).
                let (old, keep): (Vec<ServerSession>, Vec<ServerSession>) = self
                    .server
                    .live
                    .drain(..)
                    .partition(|s| s.accid == login.accid);
                self.server.live = keep;
                for s in old {
                    if s.device != login.device_id {
                        self.server.kicked_others += 1;
                        let kick = ServerFrame::Kicked {
                            reason: KickReason::Exclusive,
                            client_type: None,
                        };
                        self.tell_tab(s.tab, s.conn, SocketEvent::Frame(kick));
                    }
                    self.tell_tab(s.tab, s.conn, SocketEvent::Closed(4001));
                    self.server.sockets.remove(&(s.tab, s.conn));
                }
                self.server
                    .known_devices
                    .entry(login.accid.clone())
                    .or_default()
                    .insert(login.device_id.clone());
                self.server.next_client += 1;
                let client_id = format!("c{}", self.server.next_client);
                self.server.live.push(ServerSession {
                    tab,
                    conn,
                    accid: login.accid.clone(),
                    device: login.device_id.clone(),
                    client_id: client_id.clone(),
                });
                let ok = ServerFrame::LoginOk {
                    client_id,
                    server_time: 1_700_000_000_000,
                    heartbeat_ms: 30_000,
                    clients: vec![],
                    ticket: login.device_key.as_ref().map(|key| {
                        let ticket = imlogin_core::device::base64url(
                            &[self.server.tickets.len() as u8 + 1; 32],
                        );
                        self.server.tickets.insert(ticket.clone(), key.clone());
                        ticket.into()
                    }),
                };
                self.tell_tab(tab, conn, SocketEvent::Frame(ok));
            }
            ClientFrame::Ping => self.tell_tab(tab, conn, SocketEvent::Frame(ServerFrame::Pong)),
            ClientFrame::Logout => {
                if let Some(i) = self
                    .server
                    .live
                    .iter()
                    .position(|s| s.tab == tab && s.conn == conn)
                {
                    let s = self.server.live.remove(i);
                    self.forget_device(&s.accid, &s.device);
                }
                self.server.sockets.remove(&(tab, conn));
                self.tell_tab(tab, conn, SocketEvent::Closed(1000));
            }
            ClientFrame::Kick { client_id } => {
                self.server.kick_frames.push(client_id.clone());
                let answer = ServerFrame::KickResult {
                    client_id,
                    code: LoginCode::NotFound,
                };
                self.tell_tab(tab, conn, SocketEvent::Frame(answer));
            }
        }
    }

    fn server_loses(&mut self, tab: usize, conn: ConnId) {
        self.server.sockets.remove(&(tab, conn));
        self.server
            .live
            .retain(|s| !(s.tab == tab && s.conn == conn));
    }

    // ----- the driver -----

    /// Carries out a tab's outputs, as the browser driver does.
    fn drain(&mut self, index: usize) {
        loop {
            let now = self.now;
            let Some(tab) = self.tab_mut(index) else {
                return;
            };
            let Some(output) = tab.core.poll_output() else {
                return;
            };
            let _ = now;
            self.carry_out(index, output);
        }
    }

    fn carry_out(&mut self, index: usize, output: TabOutput) {
        if self.trace {
            let name = self
                .tab(index)
                .map(|t| t.name.0.clone())
                .unwrap_or_default();
            eprintln!("{:>9} {name} -> {output:?}", self.now);
        }
        match output {
            TabOutput::Machine(action) => self.machine_action(index, action),
            TabOutput::Post(message) => {
                let text = serde_json::to_string(&message).expect("a message serializes");
                for to in self.open_tabs() {
                    if to == index {
                        continue;
                    }
                    let key = (index, to);
                    let at =
                        (self.now + self.delay()).max(self.fifo.get(&key).copied().unwrap_or(0.0));
                    self.fifo.insert(key, at);
                    self.schedule(
                        at,
                        Happening::Deliver {
                            to,
                            text: text.clone(),
                        },
                    );
                }
            }
            TabOutput::Emit(event) => {
                let tab = self.tab_mut(index).expect("open");
                match &event {
                    Event::Status(s) => tab.statuses.push(*s),
                    Event::Clients(update) => {
                        tab.clients_events += 1;
                        tab.last_clients.clone_from(&update.clients);
                    }
                    _ => {}
                }
                tab.events.push(event);
            }
            TabOutput::Settle(id, result) => {
                let tab = self.tab_mut(index).expect("open");
                let name = tab.name.clone();
                match tab.calls.get_mut(&id.0) {
                    Some(record) => record.settled.push(result),
                    None => self
                        .violations
                        .push(format!("{name} settled unknown call {}", id.0)),
                }
            }
            TabOutput::ReleaseLock => self.pass_lock(index),
            TabOutput::Warn(w) => self.tab_mut(index).expect("open").warnings.push(w),
            TabOutput::Note(Note::Role(role)) => {
                self.tab_mut(index).expect("open").roles.push(role)
            }
            TabOutput::Note(Note::CarriedOut { caller, id, .. }) => {
                let key = (caller, id);
                *self.carried.entry(key.clone()).or_default() += 1;
                let effect = self.registry.get(&key).copied().unwrap_or(Effect::None);
                self.carried_log.push((key, effect));
            }
            TabOutput::Note(Note::Resumed { .. }) => {}
        }
    }

    fn machine_action(&mut self, index: usize, action: Output) {
        match action {
            Output::Connect(conn) => {
                self.tab_mut(index).expect("open").socket = Some(conn);
                if self.online {
                    self.schedule_soon(Happening::ServerAccepts { tab: index, conn });
                } else {
                    self.tell_tab(index, conn, SocketEvent::Closed(1006));
                }
            }
            Output::FetchToken(conn, _) => {
                let now = self.now;
                let tab = self.tab_mut(index).expect("open");
                tab.core
                    .handle_input(now, Input::Token(conn, Some("provided".into())));
            }
            // The profile's one key signs, in whichever tab asks.
            Output::Prove(conn, request) => {
                let now = self.now;
                let proof = self.binding.then(|| DeviceProof {
                    device_key: PROFILE_KEY.into(),
                    wall_ms: now,
                    resume: match request {
                        ProofRequest::PublicKey => None,
                        ProofRequest::Resume(_) => Some(ResumeProof {
                            ts: now as u64,
                            nonce: "nonce".into(),
                            sig: format!("signed-by-{PROFILE_KEY}"),
                        }),
                    },
                });
                if proof.is_some() {
                    self.signers.push(index);
                }
                let tab = self.tab_mut(index).expect("open");
                tab.core.handle_input(now, Input::Proof(conn, proof));
            }
            Output::ChooseDelay { conn, .. } => {
                let now = self.now;
                let tab = self.tab_mut(index).expect("open");
                tab.core.handle_input(now, Input::Delay(conn, None));
            }
            Output::Send(conn, frame) => {
                if self.tab(index).is_some_and(|t| t.socket == Some(conn)) {
                    self.tell_server(
                        index,
                        Happening::ServerGets {
                            tab: index,
                            conn,
                            frame,
                        },
                    );
                }
            }
            Output::Close(conn, _) => {
                let tab = self.tab_mut(index).expect("open");
                if tab.socket == Some(conn) {
                    tab.socket = None;
                }
                self.tell_server(index, Happening::ServerLoses { tab: index, conn });
            }
            Output::Persist(record) => match self.persistence {
                Persistence::Local => self.local_record = Some(record),
                Persistence::Session => {
                    self.tab_mut(index).expect("open").session_record = Some(record)
                }
                Persistence::None => {}
            },
            Output::ClearPersisted => match self.persistence {
                Persistence::Local => {
                    self.local_record = None;
                    // The `storage` event reaches every other tab.
                    for other in self.open_tabs() {
                        if other != index {
                            let now = self.now;
                            if let Some(t) = self.tab_mut(other) {
                                t.core.handle_session_cleared_elsewhere(now);
                            }
                            self.drain(other);
                        }
                    }
                }
                Persistence::Session => self.tab_mut(index).expect("open").session_record = None,
                Persistence::None => {}
            },
            Output::Emit(_) | Output::Settle(..) => {
                self.violations
                    .push("the core passed Emit/Settle on as a machine action".into());
            }
        }
    }

    fn happen(&mut self, what: Happening) {
        if self.trace {
            eprintln!("{:>9} happens {what:?}", self.now);
        }
        match what {
            Happening::Deliver { to, text } => {
                let message: GroupMessage =
                    serde_json::from_str(&text).expect("a message deserializes");
                let now = self.now;
                if let Some(tab) = self.tab_mut(to) {
                    tab.core.handle_message(now, message);
                    self.drain(to);
                }
            }
            Happening::Lock { tab, answer } => {
                let now = self.now;
                if let Some(t) = self.tab_mut(tab) {
                    match answer {
                        LockAnswer::Granted => t.core.handle_lock_granted(now),
                        LockAnswer::HeldElsewhere => t.core.handle_lock_held_elsewhere(now),
                        LockAnswer::Failed => t.core.handle_lock_failed(now),
                    }
                    self.drain(tab);
                }
            }
            Happening::Socket { tab, conn, event } => {
                let now = self.now;
                if let Some(t) = self.tab_mut(tab) {
                    let input = match event {
                        SocketEvent::Opened => Input::Opened(conn),
                        SocketEvent::Frame(frame) => Input::Frame(conn, frame),
                        SocketEvent::Closed(code) => {
                            if t.socket == Some(conn) {
                                t.socket = None;
                            }
                            Input::Closed(conn, code)
                        }
                    };
                    t.core.handle_input(now, input);
                    self.drain(tab);
                }
            }
            Happening::ServerGets { tab, conn, frame } => self.server_gets(tab, conn, frame),
            Happening::ServerAccepts { tab, conn } => {
                let wanted = self.tab(tab).is_some_and(|t| t.socket == Some(conn));
                if self.online && wanted {
                    self.server.sockets.insert((tab, conn));
                    self.tell_tab(tab, conn, SocketEvent::Opened);
                } else if wanted {
                    self.tell_tab(tab, conn, SocketEvent::Closed(1006));
                }
            }
            Happening::ServerLoses { tab, conn } => self.server_loses(tab, conn),
        }
    }

    // ----- time -----

    /// Whether a channel message is on its way.
    pub fn messages_in_flight(&self) -> bool {
        self.queue
            .iter()
            .any(|(_, _, h)| matches!(h, Happening::Deliver { .. }))
    }

    /// Runs everything due up to `until`, in order, checking the
    /// invariants after each step.
    pub fn advance_to(&mut self, until: f64) {
        loop {
            let next_happening = self
                .queue
                .iter()
                .enumerate()
                .min_by(|a, b| (a.1 .0, a.1 .1).partial_cmp(&(b.1 .0, b.1 .1)).unwrap())
                .map(|(i, (at, _, _))| (i, *at));
            let next_wake = self
                .open_tabs()
                .into_iter()
                .filter_map(|i| self.tab(i).unwrap().core.poll_timeout().map(|at| (i, at)))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            let (at, is_wake) = match (next_happening, next_wake) {
                (Some((_, h)), Some((_, w))) if w < h => (w, true),
                (Some((_, h)), _) => (h, false),
                (None, Some((_, w))) => (w, true),
                (None, None) => break,
            };
            if at > until {
                break;
            }
            self.now = self.now.max(at);
            if is_wake {
                let (i, _) = next_wake.unwrap();
                let now = self.now;
                let tab = self.tab_mut(i).unwrap();
                tab.core.handle_timeout(now);
                if tab.core.poll_timeout().is_some_and(|at| at <= now) {
                    let name = tab.name.clone();
                    self.violations
                        .push(format!("at {now}: {name} woke up and is still due"));
                    return;
                }
                self.drain(i);
            } else {
                let (i, _) = next_happening.unwrap();
                let (_, _, what) = self.queue.remove(i);
                self.happen(what);
            }
            self.check();
        }
        self.now = self.now.max(until);
    }

    pub fn advance(&mut self, ms: f64) {
        let until = self.now + ms;
        self.advance_to(until);
    }

    /// Online, then long enough for every message, takeover, reconnection
    /// and call to be done with.
    pub fn settle(&mut self) {
        if !self.online {
            self.set_online(true);
        }
        self.advance(120_000.0);
    }

    // ----- invariants -----

    /// The invariants that hold after every step; violations are recorded.
    pub fn check(&mut self) {
        let mut found = Vec::new();
        let open = self.open_tabs();
        if self.locks == Locks::Working && self.sharing == Sharing::Shared {
            let connected: Vec<&TabId> = open
                .iter()
                .map(|&i| self.tab(i).unwrap())
                .filter(|t| t.core.machine().connection().is_some())
                .map(|t| &t.name)
                .collect();
            if connected.len() > 1 {
                found.push(format!(
                    "at {}: more than one tab holds or opens a connection: {connected:?}",
                    self.now
                ));
            }
        }
        for (key, n) in &self.carried {
            if *n > 1 {
                found.push(format!("call {key:?} carried out {n} times"));
            }
        }
        for &i in &open {
            let tab = self.tab(i).unwrap();
            for (id, record) in &tab.calls {
                if record.settled.len() > 1 {
                    found.push(format!(
                        "{} call {id} ({:?}) settled {} times: {:?}",
                        tab.name,
                        record.kind,
                        record.settled.len(),
                        record.settled
                    ));
                }
            }
            if tab.statuses.last() != Some(&tab.core.status()) {
                found.push(format!(
                    "at {}: {} shows {:?} but its last status event was {:?}",
                    self.now,
                    tab.name,
                    tab.core.status(),
                    tab.statuses.last()
                ));
            }
            if tab.last_clients != tab.core.clients() {
                found.push(format!(
                    "{} shows clients without a clients event",
                    tab.name
                ));
            }
            if tab.warnings.len() > 1 {
                found.push(format!("{} warned {} times", tab.name, tab.warnings.len()));
            }
        }
        if let Some(problem) = self.out_of_sync() {
            found.push(format!("at {}: {problem}", self.now));
        }
        for f in found {
            if !self.violations.contains(&f) {
                self.violations.push(f);
            }
        }
    }

    /// Once no message is on its way and the leader has settled in, every
    /// follower shows the leader's status, accid and clients.
    pub fn out_of_sync(&self) -> Option<String> {
        if self.locks != Locks::Working
            || self.sharing != Sharing::Shared
            || self.messages_in_flight()
        {
            return None;
        }
        let leader = self.tab(self.leader()?)?;
        if leader.core.is_taking_over() {
            return None;
        }
        for i in self.open_tabs() {
            let tab = self.tab(i).unwrap();
            if tab.core.role() == Role::Leader {
                continue;
            }
            let (l, f) = (&leader.core, &tab.core);
            if (f.status(), f.accid(), f.clients()) != (l.status(), l.accid(), l.clients()) {
                return Some(format!(
                    "{} ({:?}) shows {:?}/{:?} while leader {} shows {:?}/{:?}",
                    tab.name,
                    f.role(),
                    f.status(),
                    f.accid(),
                    leader.name,
                    l.status(),
                    l.accid()
                ));
            }
        }
        None
    }

    /// Every call of an open tab, settled exactly once (after `settle`).
    pub fn unsettled_calls(&self) -> Vec<String> {
        let mut out = Vec::new();
        for i in self.open_tabs() {
            let tab = self.tab(i).unwrap();
            for (id, record) in &tab.calls {
                if record.settled.len() != 1 {
                    out.push(format!(
                        "{} call {id} ({:?}) settled {} times",
                        tab.name,
                        record.kind,
                        record.settled.len()
                    ));
                }
            }
        }
        out
    }

    /// The outcome of a tab's call, if settled once.
    pub fn outcome(&self, index: usize, id: CallId) -> Option<Result<bool, LoginError>> {
        let record = self.tab(index)?.calls.get(&id.0)?;
        assert!(record.settled.len() <= 1, "settled twice: {record:?}");
        record.settled.first().cloned()
    }

    /// The effect of the last carried-out call that starts or ends a
    /// session.
    pub fn last_session_call(&self) -> Option<Effect> {
        self.carried_log
            .iter()
            .rev()
            .map(|(_, e)| *e)
            .find(|e| *e != Effect::None)
    }

    /// What every tab shows: (name, role, status, accid).
    pub fn views(&self) -> Vec<(String, Role, Status, Option<String>)> {
        self.open_tabs()
            .into_iter()
            .map(|i| {
                let t = self.tab(i).unwrap();
                (
                    t.name.0.clone(),
                    t.core.role(),
                    t.core.status(),
                    t.core.accid().map(str::to_owned),
                )
            })
            .collect()
    }
}
