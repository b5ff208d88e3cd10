//! The tab group: the `LoginManager`s of one app in one browser profile
//! share one connection (`tabs: "shared"`). A sans-IO core, like the login
//! machine it owns: no clock, no Web Locks, no channel — inputs carry `now`,
//! effects are polled.
//!
//! One [`TabGroup`] runs in each tab. The tab whose driver holds the Web
//! Lock is the **leader**: its [`LoginMachine`] holds the group's only
//! connection, it carries out every tab's calls and publishes its state.
//! The others are **followers**: they show the leader's status, accid,
//! clients and events, and send it their app's calls. When the leader's tab
//! closes or crashes, the lock passes to a follower, which **takes over**:
//! it gathers what the group knows for
//! [`takeover_grace_ms`](TabConfig::takeover_grace_ms), then carries the
//! session on from memory (whatever the persistence, from the same device
//! id) and answers the calls still open. Where Web Locks are refused or
//! never answer, each tab falls back to working on its own and says so
//! once ([`Warning::PerTabFallback`]).
//!
//! Guarantees, checked by `tests/tab_group_properties.rs` on simulated tabs:
//! at most one tab holds or opens a connection; every call of every tab is
//! carried out at most once (calls carry their tab's id and number, and the
//! group's ledger of carried-out calls travels with its state) and its
//! promise settled exactly once; once messages are delivered, every
//! follower shows what the leader shows, and every change of what a tab
//! shows comes with a `status` (or `clients`) event; a logout in any tab
//! ends the session in every tab; a group that loses its leader gets its
//! session back without typing. The takeover relies on one assumption: a
//! message a tab posted before it vanished arrives within half of
//! `takeover_grace_ms`.
//!
//! Methods fall in five groups, as in quinn-proto's `Connection`:
//!
//! - **getters**: [`role`](TabGroup::role), [`status`](TabGroup::status),
//!   [`accid`](TabGroup::accid), [`clients`](TabGroup::clients),
//!   [`device_id`](TabGroup::device_id), [`machine`](TabGroup::machine), …
//!   — what this tab shows, the leader's state in a follower;
//! - **app commands**: [`call`](TabGroup::call) (`login`, `autoLogin`,
//!   `logout`, `kickClient`, run here or sent to the leader) and
//!   [`close`](TabGroup::close);
//! - **`handle_*` inputs**: the lock's answers
//!   ([`handle_lock_granted`](TabGroup::handle_lock_granted),
//!   [`handle_lock_held_elsewhere`](TabGroup::handle_lock_held_elsewhere),
//!   [`handle_lock_failed`](TabGroup::handle_lock_failed)), the other tabs'
//!   messages ([`handle_message`](TabGroup::handle_message)), the
//!   connection's and the browser's events for the machine
//!   ([`handle_input`](TabGroup::handle_input)), the storage event in a tab
//!   on its own
//!   ([`handle_session_cleared_elsewhere`](TabGroup::handle_session_cleared_elsewhere)),
//!   and [`handle_timeout`](TabGroup::handle_timeout);
//! - **`poll_*` outputs**: [`poll_output`](TabGroup::poll_output), then
//!   [`poll_timeout`](TabGroup::poll_timeout).
//!
//! A driver: creates the core ([`TabGroup::new`]) and, with
//! [`Sharing::Shared`], asks for the lock at once (`ifAvailable` first;
//! when it is held elsewhere, queues for it) and reports the answers. After
//! every input it drains [`poll_output`](TabGroup::poll_output) — carrying
//! out [`TabOutput::Machine`] actions and posting [`TabOutput::Post`]
//! messages at once, and calling the app (listeners, promises) only after
//! that, outside any borrow of the core — then arms its one timer for
//! [`poll_timeout`](TabGroup::poll_timeout). The core never calls app code.
//!
//! ```
//! use imlogin_core::tab_group::{Call, Role, Sharing, TabConfig, TabGroup, TabId, TabOutput};
//! use imlogin_core::{Config, LoginMachine};
//!
//! let tab = |id: &str| {
//!     let machine = LoginMachine::new(Config::new("app-key", "device-1"), 7);
//!     TabGroup::new(machine, TabId(id.into()), Sharing::Shared, TabConfig::default(), 0.0)
//! };
//! let (mut a, mut b) = (tab("a"), tab("b"));
//! a.handle_lock_granted(0.0);
//! b.handle_lock_held_elsewhere(0.0);
//! // Carry every message to the other tab (a BroadcastChannel would).
//! let mut pass = |from: &mut TabGroup, to: &mut TabGroup| {
//!     while let Some(output) = from.poll_output() {
//!         if let TabOutput::Post(message) = output {
//!             to.handle_message(0.0, message);
//!         }
//!     }
//! };
//! for _ in 0..3 {
//!     pass(&mut a, &mut b);
//!     pass(&mut b, &mut a);
//! }
//! assert_eq!((a.role(), b.role()), (Role::Leader, Role::Follower));
//! // A call in the follower is carried out by the leader's machine.
//! b.call(0.0, Call::Login { accid: "alice".into(), token: "t".into(), force: false });
//! pass(&mut b, &mut a);
//! assert_eq!(a.machine().accid(), Some("alice"));
//! assert_eq!(b.machine().accid(), None);
//! ```

mod ledger;
mod message;
mod output;

use std::collections::VecDeque;

use crate::device::DeviceProof;
use imlogin_protocol::{Client, LoginCode, ServerFrame};

use crate::{
    ClientsUpdate, ConnId, Event, LoginError, LoginMachine, Output, RequestId, Status,
    StoredSession,
};
use ledger::Ledger;
pub use message::{
    Call, CallRef, GroupMessage, GroupState, SessionRecord, Stamped, TabId, WireCredentials,
    GROUP_VERSION,
};
pub use output::{CallId, LastKick, Note, Role, TabOutput, Warning};

/// How long the group waits for the browser, in ms of the driver's clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TabConfig {
    /// How long a tab waits for the Web Lock's first answer, and then for a
    /// leader to be heard, before it works on its own (default 2 000).
    pub election_timeout_ms: f64,
    /// How long a tab that takes over from another leader gathers what the
    /// group knows before it acts (default 100): it must outlast the
    /// delivery of the messages the old leader posted before it vanished,
    /// and the other tabs' answers.
    pub takeover_grace_ms: f64,
}

impl Default for TabConfig {
    fn default() -> Self {
        TabConfig {
            election_timeout_ms: 2_000.0,
            takeover_grace_ms: 100.0,
        }
    }
}

/// Whether a tab takes part in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// `tabs: "shared"`: join the group (the driver asks for the Web Lock).
    Shared,
    /// `tabs: "perTab"`, or no Web Locks / BroadcastChannel at all: work on
    /// its own from the start.
    PerTab,
}

/// An event of the connection or the browser, for the tab's machine.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The connection opened.
    Opened(ConnId),
    /// Dynamic tokens: the token fetched for the attempt (`None` when the
    /// provider failed).
    Token(ConnId, Option<String>),
    /// Device binding: the device key's answer for the attempt (`None`
    /// when the key could not be used): see `Output::Prove`. Only the
    /// leader's machine asks for one, so the leader signs with the
    /// profile's one device key.
    Proof(ConnId, Option<DeviceProof>),
    /// The app's `reconnectDelay` answer for the attempt that failed
    /// (`None` when it gave none): see `Output::ChooseDelay`.
    Delay(ConnId, Option<f64>),
    /// A decoded frame arrived (the driver decodes the text: a browser
    /// with its own `JSON.parse`, so that no JSON decoder of frames is
    /// linked into the package).
    Frame(ConnId, ServerFrame),
    /// A frame arrived that does not decode (the driver decoded it).
    BadFrame(ConnId),
    /// The connection closed (or failed to open) with this code.
    Closed(ConnId, u16),
    /// The connection reported an error.
    Error(ConnId),
    /// The browser is online.
    Online,
    /// The browser is offline.
    Offline,
    /// The page became visible.
    Visible,
}

/// One of this tab's app's calls, until it is settled.
#[derive(Debug)]
struct OwnCall {
    id: u64,
    call: Call,
    /// The tab it was sent to (this one when run or queued here).
    sent_to: Option<TabId>,
}

/// What a tab shows its app.
#[derive(Debug, Clone, PartialEq)]
struct View {
    status: Status,
    accid: Option<String>,
    clients: Vec<Client>,
    device_id: String,
}

impl View {
    fn of_machine(m: &LoginMachine) -> View {
        View {
            status: m.status(),
            accid: m.accid().map(str::to_owned),
            clients: m.clients().to_vec(),
            device_id: m.device_id().to_owned(),
        }
    }

    fn of_state(s: &GroupState) -> View {
        View {
            status: s.status,
            accid: s.accid.clone(),
            clients: s.clients.clone(),
            device_id: s.device_id.clone(),
        }
    }
}

/// One tab's part in its group. See the module documentation.
#[derive(Debug)]
pub struct TabGroup {
    id: TabId,
    machine: LoginMachine,
    config: TabConfig,
    role: Role,
    outputs: VecDeque<TabOutput>,
    shown: View,
    own: Vec<OwnCall>,
    next_call: u64,
    /// The leader this tab follows, or followed until it took over: id and
    /// term.
    followed: Option<(TabId, u64)>,
    /// That leader's state, kept current by its `State` and `Event`s.
    mirror: Option<Stamped>,
    /// The newest publication heard from any leader: what a takeover
    /// carries on.
    newest: Option<Stamped>,
    /// The highest term heard of.
    max_term: u64,
    /// As leader: its term, publication number and last published state.
    term: u64,
    seq: u64,
    published: Option<GroupState>,
    /// As a leader taking over: when it stops gathering, and the calls
    /// that wait until then.
    gather_until: Option<f64>,
    queue: Vec<(CallRef, Call)>,
    /// The machine's requests, and whose calls they answer.
    requests: Vec<(RequestId, CallRef)>,
    kicks: Vec<(RequestId, CallRef)>,
    done: Ledger,
    /// When the wait for the lock's answer, or for a leader, ends.
    election_deadline: Option<f64>,
    warned: bool,
    /// The last kick this tab's app was told of.
    last_kick: Option<LastKick>,
}

fn freed() -> LoginError {
    LoginError::new(LoginCode::Cancelled, "the LoginManager was freed")
}

impl TabGroup {
    /// A tab's core, owning its login machine. With [`Sharing::Shared`] it
    /// starts [`Role::Electing`] and says hello to the group (the driver
    /// asks for the lock now); with [`Sharing::PerTab`] it is
    /// [`Role::Solo`].
    pub fn new(
        machine: LoginMachine,
        id: TabId,
        sharing: Sharing,
        config: TabConfig,
        now: f64,
    ) -> Self {
        let shown = View::of_machine(&machine);
        let mut group = TabGroup {
            id,
            machine,
            config,
            role: Role::Solo,
            outputs: VecDeque::new(),
            shown,
            own: Vec::new(),
            next_call: 0,
            followed: None,
            mirror: None,
            newest: None,
            max_term: 0,
            term: 0,
            seq: 0,
            published: None,
            gather_until: None,
            queue: Vec::new(),
            requests: Vec::new(),
            kicks: Vec::new(),
            done: Ledger::default(),
            election_deadline: None,
            warned: false,
            last_kick: None,
        };
        if sharing == Sharing::Shared {
            group.role = Role::Electing;
            group.election_deadline = Some(now + group.config.election_timeout_ms);
            group.post(GroupMessage::Hello {
                from: group.id.clone(),
            });
        }
        group
    }

    // ----- getters -----

    /// This tab's id.
    pub fn id(&self) -> &TabId {
        &self.id
    }

    /// This tab's part in the group.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether this tab, having become leader in another's place, is still
    /// gathering what the group knows (calls wait meanwhile).
    pub fn is_taking_over(&self) -> bool {
        self.gather_until.is_some()
    }

    /// The status this tab shows: its machine's when it holds the
    /// connection (or works on its own), else the leader's. Every change
    /// comes with an [`Event::Status`].
    pub fn status(&self) -> Status {
        self.shown.status
    }

    /// The accid this tab shows.
    pub fn accid(&self) -> Option<&str> {
        self.shown.accid.as_deref()
    }

    /// The account's other live sessions, as this tab shows them.
    pub fn clients(&self) -> &[Client] {
        &self.shown.clients
    }

    /// The device id the group's connection logs in with (a follower shows
    /// the leader's).
    pub fn device_id(&self) -> &str {
        &self.shown.device_id
    }

    /// This tab's login machine (idle unless this tab holds the
    /// connection or works on its own).
    pub fn machine(&self) -> &LoginMachine {
        &self.machine
    }

    /// The last kick this tab's app was told of (NIM's
    /// `getKickedOfflineDetail`), with the time on the driver's clock at
    /// which it was told; it stays until the next kick.
    pub fn last_kick(&self) -> Option<&LastKick> {
        self.last_kick.as_ref()
    }

    /// Whether this tab's app has a call still waiting for its outcome.
    pub fn has_open_calls(&self) -> bool {
        !self.own.is_empty()
    }

    /// The next action for the driver, in order; `None` when there is none.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<TabOutput> {
        self.outputs.pop_front()
    }

    /// When the driver must call [`handle_timeout`](Self::handle_timeout)
    /// next, on its clock (the machine's deadline, the election's, the
    /// takeover's, whichever is first).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<f64> {
        [
            self.machine.poll_timeout(),
            self.election_deadline,
            self.gather_until,
        ]
        .into_iter()
        .flatten()
        .min_by(f64::total_cmp)
    }

    // ----- app commands -----

    /// An app call: carried out here when this tab holds the connection or
    /// works on its own, sent to the leader when there is one, held until
    /// the election has answered otherwise. Its outcome comes as
    /// [`TabOutput::Settle`] with the returned id, exactly once.
    pub fn call(&mut self, now: f64, call: Call) -> CallId {
        self.next_call += 1;
        let id = self.next_call;
        if self.role == Role::Closed {
            self.outputs
                .push_back(TabOutput::Settle(CallId(id), Err(freed())));
            return CallId(id);
        }
        self.own.push(OwnCall {
            id,
            call: call.clone(),
            sent_to: None,
        });
        let origin = CallRef {
            tab: self.id.clone(),
            id,
        };
        match self.role {
            Role::Solo | Role::Leader => {
                self.mark_sent(id, self.id.clone());
                if self.is_taking_over() {
                    self.queue.push((origin, call));
                } else {
                    self.execute(now, origin, call);
                }
            }
            Role::Electing | Role::Follower => self.send_own(),
            Role::Closed => {}
        }
        self.after_input(now);
        CallId(id)
    }

    /// The app aborted its call `id` (the call's `AbortSignal`): it settles
    /// at once with 498, and the login it waits on is cancelled as
    /// [`LoginMachine::abort`] says — here, or by the leader it was sent
    /// to. A call not sent anywhere yet is dropped; one already settled is
    /// left alone.
    pub fn abort(&mut self, now: f64, id: CallId) {
        let Some(i) = self.own.iter().position(|c| c.id == id.0) else {
            return;
        };
        let call = self.own.remove(i);
        self.outputs.push_back(TabOutput::Settle(
            id,
            Err(LoginError::from_code(LoginCode::Aborted)),
        ));
        let origin = CallRef {
            tab: self.id.clone(),
            id: id.0,
        };
        match call.sent_to {
            Some(to) if to == self.id => self.cancel(now, &origin),
            Some(to) => self.post(GroupMessage::Abort {
                from: self.id.clone(),
                to,
                id: id.0,
            }),
            None => {}
        }
        self.after_input(now);
    }

    /// This tab leaves (its page goes away, or the app frees the manager):
    /// a leader publishes its last state and closes its connection without
    /// logging out — the session moves on with the group, and the driver
    /// releasing the lock hands it to the next tab. This tab's calls still
    /// open settle with 499. Everything afterwards is ignored.
    pub fn close(&mut self, now: f64) {
        if self.role == Role::Closed {
            return;
        }
        self.after_input(now);
        self.machine.shut_down();
        while let Some(output) = self.machine.poll_output() {
            self.outputs.push_back(TabOutput::Machine(output));
        }
        for call in core::mem::take(&mut self.own) {
            self.outputs
                .push_back(TabOutput::Settle(CallId(call.id), Err(freed())));
        }
        self.set_role(Role::Closed);
        self.election_deadline = None;
        self.gather_until = None;
    }

    // ----- election inputs -----

    /// The driver holds the Web Lock: this tab becomes the leader — at once
    /// when it knew of no leader before, else after gathering what the
    /// group knows (a takeover). Ignored when already leading. A tab that
    /// fell back to working on its own gives the lock back
    /// ([`TabOutput::ReleaseLock`]): held, it would keep the group from its
    /// next leader.
    pub fn handle_lock_granted(&mut self, now: f64) {
        match self.role {
            Role::Electing | Role::Follower => {
                self.lead(now);
                self.after_input(now);
            }
            Role::Solo => self.outputs.push_back(TabOutput::ReleaseLock),
            Role::Leader | Role::Closed => {}
        }
    }

    /// The lock is held by another tab (the `ifAvailable` request came back
    /// empty; the driver now queues for it): this tab follows, and asks for
    /// the leader's state if it has not heard it yet.
    pub fn handle_lock_held_elsewhere(&mut self, now: f64) {
        if self.role != Role::Electing {
            return;
        }
        self.set_role(Role::Follower);
        if self.followed.is_some() {
            self.election_deadline = None;
        } else {
            self.election_deadline = Some(now + self.config.election_timeout_ms);
            self.post(GroupMessage::Hello {
                from: self.id.clone(),
            });
        }
        self.send_own();
        self.after_input(now);
    }

    /// The lock request was refused (a sandboxed frame, an opaque origin)
    /// or failed: with no leader heard, this tab works on its own and warns
    /// once; with one, it follows it but cannot take over (and warns once).
    pub fn handle_lock_failed(&mut self, now: f64) {
        match self.role {
            Role::Electing if self.followed.is_none() => self.fall_back(now),
            Role::Electing => {
                self.set_role(Role::Follower);
                self.election_deadline = None;
                self.warn(Warning::CannotTakeOver);
                self.send_own();
            }
            Role::Follower => self.warn(Warning::CannotTakeOver),
            _ => return,
        }
        self.after_input(now);
    }

    // ----- the other tabs -----

    /// A message another tab of the group posted.
    pub fn handle_message(&mut self, now: f64, message: GroupMessage) {
        if self.role == Role::Closed || *message.from() == self.id {
            return;
        }
        match message {
            GroupMessage::Hello { .. } => self.answer_hello(),
            GroupMessage::Lead { from, term } => {
                self.max_term = self.max_term.max(term);
                match self.role {
                    Role::Electing | Role::Follower => {
                        if self.is_newer_leader(&from, term) {
                            self.follow(from.clone(), term);
                        }
                        // To a new leader: what this tab knows; to one that
                        // ranks below the leader this tab follows (it did
                        // not hear of it): that leader, to move past.
                        self.report_to(from);
                    }
                    Role::Leader => self.outrank(&from, term),
                    _ => {}
                }
            }
            GroupMessage::Known {
                to,
                follows,
                stamped,
                ..
            } => {
                if to == self.id && self.role == Role::Leader {
                    if let Some((leader, term)) = follows {
                        self.outrank(&leader, term);
                    }
                    if let Some(stamped) = stamped {
                        self.learn(stamped);
                    }
                }
            }
            GroupMessage::State { stamped } => self.on_state(stamped),
            GroupMessage::Event { from, term, event } => {
                let listening =
                    matches!(self.role, Role::Electing | Role::Follower) || self.is_taking_over();
                if listening && self.followed == Some((from, term)) {
                    if let Some(mirror) = &mut self.mirror {
                        match &event {
                            Event::Status(s) => mirror.state.status = *s,
                            Event::Clients(update) => {
                                mirror.state.clients.clone_from(&update.clients);
                            }
                            _ => {}
                        }
                    }
                    self.show_event(now, event);
                }
            }
            GroupMessage::Call { from, to, id, call } => {
                if to == self.id && self.role == Role::Leader {
                    let origin = CallRef { tab: from, id };
                    if self.is_taking_over() {
                        if !self.queue.iter().any(|(o, _)| *o == origin) {
                            self.queue.push((origin, call));
                        }
                    } else {
                        self.execute(now, origin, call);
                    }
                }
            }
            GroupMessage::Abort { from, to, id } => {
                if to == self.id && self.role == Role::Leader {
                    self.cancel(now, &CallRef { tab: from, id });
                }
            }
            GroupMessage::Reply { to, id, result, .. } => {
                if to == self.id {
                    self.settle_own(id, result);
                }
            }
        }
        self.after_input(now);
    }

    // ----- the machine's and the browser's events -----

    /// An event of this tab's connection or browser, for its machine (a
    /// follower's machine only keeps track of online/offline).
    pub fn handle_input(&mut self, now: f64, input: Input) {
        if self.role == Role::Closed {
            return;
        }
        let m = &mut self.machine;
        match input {
            Input::Opened(conn) => m.handle_opened(now, conn),
            Input::Token(conn, token) => m.handle_token(now, conn, token.as_deref()),
            Input::Proof(conn, proof) => m.handle_proof(now, conn, proof),
            Input::Delay(conn, delay_ms) => m.handle_delay(now, conn, delay_ms),
            Input::Frame(conn, frame) => m.handle_frame(now, conn, frame),
            Input::BadFrame(conn) => m.handle_bad_frame(now, conn),
            Input::Closed(conn, code) => m.handle_closed(now, conn, code),
            Input::Error(conn) => m.handle_error(now, conn),
            Input::Online => m.handle_online(now),
            Input::Offline => m.handle_offline(now),
            Input::Visible => m.handle_visible(now),
        }
        self.after_input(now);
    }

    /// Another tab removed the session record (the `storage` event): a tab
    /// on its own with a session logs out too, so that a logout still
    /// reaches every tab without a group. Ignored in a group, where the
    /// leader's logout reaches everyone.
    pub fn handle_session_cleared_elsewhere(&mut self, now: f64) {
        if self.role == Role::Solo && self.machine.accid().is_some() {
            self.machine.logout(now);
            self.after_input(now);
        }
    }

    /// The driver's clock reached [`poll_timeout`](Self::poll_timeout):
    /// whatever is due by `now` happens. Early calls do nothing.
    pub fn handle_timeout(&mut self, now: f64) {
        if self.role == Role::Closed {
            return;
        }
        if self.election_deadline.is_some_and(|at| at <= now) {
            self.election_deadline = None;
            self.election_timed_out(now);
        }
        if self.gather_until.is_some_and(|at| at <= now) {
            self.finish_takeover(now);
        }
        self.machine.handle_timeout(now);
        self.after_input(now);
    }

    // ----- internals: roles -----

    fn set_role(&mut self, role: Role) {
        if self.role != role {
            self.role = role;
            self.outputs.push_back(TabOutput::Note(Note::Role(role)));
        }
    }

    fn warn(&mut self, warning: Warning) {
        if !self.warned {
            self.warned = true;
            self.outputs.push_back(TabOutput::Warn(warning));
        }
    }

    /// No lock answer, or no leader heard, in time.
    fn election_timed_out(&mut self, now: f64) {
        match self.role {
            Role::Electing if self.followed.is_some() => {
                // A leader answered but the lock did not: follow it; the
                // lock may still come (and with it the takeover).
                self.set_role(Role::Follower);
                self.send_own();
            }
            Role::Electing | Role::Follower if self.followed.is_none() => self.fall_back(now),
            _ => {}
        }
    }

    /// Works on its own from now on: calls held for the election run here.
    fn fall_back(&mut self, now: f64) {
        self.set_role(Role::Solo);
        self.election_deadline = None;
        self.warn(Warning::PerTabFallback);
        let held: Vec<(u64, Call)> = self.own.iter().map(|c| (c.id, c.call.clone())).collect();
        for (id, call) in held {
            self.mark_sent(id, self.id.clone());
            let origin = CallRef {
                tab: self.id.clone(),
                id,
            };
            self.execute(now, origin, call);
        }
    }

    /// Becomes the leader; gathers first if there was a leader before: one
    /// this tab heard of, or the one that held the lock while this tab
    /// waited for it (its word may still be on the way). Only a tab that
    /// got the lock at its first request, and heard of no leader, starts
    /// at once: nobody was queued, so no other tab holds anything of a
    /// group.
    fn lead(&mut self, now: f64) {
        let takes_over =
            self.role == Role::Follower || self.followed.is_some() || self.newest.is_some();
        self.set_role(Role::Leader);
        self.election_deadline = None;
        self.term = self.max_term + 1;
        self.max_term = self.term;
        self.seq = 0;
        self.post(GroupMessage::Lead {
            from: self.id.clone(),
            term: self.term,
        });
        // This tab's open calls are now the leader's to carry out (those the
        // old leader carried out are skipped by the ledger).
        let open: Vec<(u64, Call)> = self.own.iter().map(|c| (c.id, c.call.clone())).collect();
        for (id, call) in open {
            self.mark_sent(id, self.id.clone());
            let origin = CallRef {
                tab: self.id.clone(),
                id,
            };
            self.queue.push((origin, call));
        }
        if takes_over {
            self.gather_until = Some(now + self.config.takeover_grace_ms);
        } else {
            self.finish_takeover(now);
        }
    }

    /// The gathering is over: carry on the newest state known, answer what
    /// it left open, then carry out the calls that waited.
    fn finish_takeover(&mut self, now: f64) {
        self.gather_until = None;
        if let Some(basis) = self.newest.clone() {
            self.done.merge(&basis.state.done);
            self.machine.set_device_id(&basis.state.device_id);
            let handover = basis
                .state
                .session
                .as_ref()
                .and_then(SessionRecord::handover);
            match handover {
                Some(handover) => {
                    let accid = handover.credentials.accid.clone();
                    self.outputs
                        .push_back(TabOutput::Note(Note::Resumed { accid }));
                    let request = self.machine.resume(now, handover);
                    for waiting in basis.state.waiting {
                        self.requests.push((request, waiting));
                    }
                }
                None => {
                    let gone = LoginError::new(LoginCode::Cancelled, "the session ended");
                    for waiting in basis.state.waiting {
                        self.reply(waiting, Err(gone.clone()));
                    }
                }
            }
            // A kick's result would have come on the old leader's
            // connection, which is gone.
            for kick in basis.state.kicks {
                let lost = LoginError::new(
                    LoginCode::NetworkUnavailable,
                    "connection to the link server lost",
                );
                self.reply(kick, Err(lost));
            }
        }
        self.followed = None;
        self.mirror = None;
        for (origin, call) in core::mem::take(&mut self.queue) {
            self.execute(now, origin, call);
        }
    }

    /// Whether `(term, leader)` comes after the leader this tab follows.
    fn is_newer_leader(&self, leader: &TabId, term: u64) -> bool {
        match &self.followed {
            None => true,
            Some((id, t)) => (term, leader) > (*t, id),
        }
    }

    /// Follows `leader` from now on, and sends it this tab's open calls.
    fn follow(&mut self, leader: TabId, term: u64) {
        self.followed = Some((leader, term));
        if self.role == Role::Follower {
            self.election_deadline = None;
        }
        self.send_own();
    }

    /// Tells `leader` whom this tab follows and the newest state it knows.
    fn report_to(&mut self, leader: TabId) {
        let message = GroupMessage::Known {
            from: self.id.clone(),
            to: leader,
            follows: self.followed.clone(),
            stamped: self.newest.clone(),
        };
        self.post(message);
    }

    /// A leader hears of another leader's term: unless it ranks above it,
    /// it moves past it and says so, so that every tab follows it (another
    /// leader can only be one that is gone, whose word came late).
    fn outrank(&mut self, leader: &TabId, term: u64) {
        self.max_term = self.max_term.max(term);
        if self.role == Role::Leader
            && *leader != self.id
            && (term, leader) >= (self.term, &self.id)
        {
            self.term = self.max_term + 1;
            self.max_term = self.term;
            self.post(GroupMessage::Lead {
                from: self.id.clone(),
                term: self.term,
            });
            // Publish again under the new term.
            self.published = None;
        }
    }

    /// Keeps `stamped` if it is the newest publication heard of (a leader
    /// not taking over only moves past its term); returns whether it was.
    fn learn(&mut self, stamped: Stamped) -> bool {
        self.outrank(&stamped.leader, stamped.term);
        if self.role == Role::Leader && !self.is_taking_over() {
            return false;
        }
        let newer = self.newest.as_ref().is_none_or(|n| stamped.key() > n.key());
        if newer {
            self.newest = Some(stamped);
        }
        newer
    }

    fn on_state(&mut self, stamped: Stamped) {
        let following = matches!(self.role, Role::Electing | Role::Follower);
        if !following && !self.is_taking_over() {
            if self.role == Role::Leader {
                self.outrank(&stamped.leader, stamped.term);
            }
            return;
        }
        let became_newest = self.learn(stamped.clone());
        let from_followed = self
            .followed
            .as_ref()
            .is_some_and(|(id, t)| *id == stamped.leader && *t == stamped.term);
        if from_followed {
            let newer = self
                .mirror
                .as_ref()
                .is_none_or(|m| m.leader != stamped.leader || m.seq < stamped.seq);
            if newer {
                self.mirror = Some(stamped);
            }
        } else if following && self.is_newer_leader(&stamped.leader, stamped.term) {
            // A leader this tab had not heard of (it joined late).
            self.follow(stamped.leader.clone(), stamped.term);
            self.mirror = Some(stamped);
        } else if following && became_newest {
            // A late word of an older leader: the leader taking over may
            // not have heard it (it opened after it was posted).
            if let Some((leader, _)) = self.followed.clone() {
                self.report_to(leader);
            }
        }
    }

    fn answer_hello(&mut self) {
        if self.role != Role::Leader {
            return;
        }
        if self.is_taking_over() {
            self.post(GroupMessage::Lead {
                from: self.id.clone(),
                term: self.term,
            });
        } else if let Some(state) = self.published.clone() {
            self.post(GroupMessage::State {
                stamped: Stamped {
                    leader: self.id.clone(),
                    term: self.term,
                    seq: self.seq,
                    state,
                },
            });
        }
    }

    // ----- internals: calls -----

    fn mark_sent(&mut self, id: u64, to: TabId) {
        if let Some(call) = self.own.iter_mut().find(|c| c.id == id) {
            call.sent_to = Some(to);
        }
    }

    /// Sends the open calls the followed leader has not been sent.
    fn send_own(&mut self) {
        let Some((leader, _)) = self.followed.clone() else {
            return;
        };
        if !matches!(self.role, Role::Electing | Role::Follower) {
            return;
        }
        let mut messages = Vec::new();
        for call in &mut self.own {
            if call.sent_to.as_ref() != Some(&leader) {
                call.sent_to = Some(leader.clone());
                messages.push(GroupMessage::Call {
                    from: self.id.clone(),
                    to: leader.clone(),
                    id: call.id,
                    call: call.call.clone(),
                });
            }
        }
        for message in messages {
            self.post(message);
        }
    }

    /// Carries out a call on this tab's machine, unless the group already
    /// has (or, for this tab's own call, it has been settled meanwhile).
    fn execute(&mut self, now: f64, origin: CallRef, call: Call) {
        let settled = origin.tab == self.id && !self.own.iter().any(|c| c.id == origin.id);
        if settled || self.done.covers(&origin) {
            return;
        }
        self.done.record(&origin);
        self.outputs.push_back(TabOutput::Note(Note::CarriedOut {
            caller: origin.tab.clone(),
            id: origin.id,
            call: call.name(),
        }));
        let m = &mut self.machine;
        match call {
            Call::Login {
                accid,
                token,
                force,
            } => {
                let request = m.login(now, &accid, &token, force);
                self.requests.push((request, origin));
            }
            Call::AutoLogin { saved, force } => {
                // The group's session, when there is one, wins over the
                // caller's record (with `persistence: "session"` a tab may
                // hold an older one): the call joins it.
                let saved = saved.filter(|_| m.accid().is_none());
                let stored = saved
                    .and_then(|c| c.checked())
                    .map(|credentials| StoredSession {
                        credentials,
                        saved_at: 0,
                    });
                match m.auto_login(now, stored, force) {
                    Some(request) => self.requests.push((request, origin)),
                    None => self.reply(origin, Ok(false)),
                }
            }
            Call::AutoLoginWith { credentials, force } => {
                let request = m.auto_login_with(now, &credentials.accid, &credentials.token, force);
                self.requests.push((request, origin));
            }
            Call::Logout => {
                m.logout(now);
                self.reply(origin, Ok(true));
            }
            Call::KickClient { client_id } => {
                let request = m.kick_client(now, &client_id);
                self.kicks.push((request, origin));
            }
        }
    }

    /// Cancels the call `origin` that its tab aborted (and settled): a
    /// queued call is dropped; a carried-out login is aborted on the
    /// machine unless another call shares its request.
    fn cancel(&mut self, now: f64, origin: &CallRef) {
        if let Some(i) = self.queue.iter().position(|(o, _)| o == origin) {
            self.queue.remove(i);
            return;
        }
        let Some(i) = self.requests.iter().position(|(_, o)| o == origin) else {
            return;
        };
        let (request, _) = self.requests.remove(i);
        if !self.requests.iter().any(|(r, _)| *r == request) {
            self.machine.abort(now, request);
        }
    }

    /// Answers a call: settles it here, or replies to the tab that made it.
    fn reply(&mut self, origin: CallRef, result: Result<bool, LoginError>) {
        if origin.tab == self.id {
            self.settle_own(origin.id, result);
        } else {
            let message = GroupMessage::Reply {
                from: self.id.clone(),
                to: origin.tab,
                id: origin.id,
                result,
            };
            self.post(message);
        }
    }

    fn settle_own(&mut self, id: u64, result: Result<bool, LoginError>) {
        if let Some(i) = self.own.iter().position(|c| c.id == id) {
            self.own.remove(i);
            self.outputs
                .push_back(TabOutput::Settle(CallId(id), result));
        }
    }

    // ----- internals: after every input -----

    fn post(&mut self, message: GroupMessage) {
        self.outputs.push_back(TabOutput::Post(message));
    }

    /// Whether the app sees this tab's own machine.
    fn shows_machine(&self) -> bool {
        self.role == Role::Solo || (self.role == Role::Leader && !self.is_taking_over())
    }

    fn show_event(&mut self, now: f64, event: Event) {
        match &event {
            Event::Status(s) => self.shown.status = *s,
            Event::Clients(update) => self.shown.clients.clone_from(&update.clients),
            Event::Kicked {
                reason,
                client_type,
            } => {
                self.last_kick = Some(LastKick {
                    reason: *reason,
                    client_type: *client_type,
                    at: now,
                });
            }
            _ => {}
        }
        self.outputs.push_back(TabOutput::Emit(event));
    }

    /// Carries the machine's outputs on: actions to the driver, events to
    /// the app (and, from a leader, to the group), outcomes to the calls.
    fn pump_machine(&mut self, now: f64) {
        while let Some(output) = self.machine.poll_output() {
            match output {
                Output::Emit(event) => {
                    if !self.shows_machine() {
                        continue;
                    }
                    if self.role == Role::Leader {
                        self.post(GroupMessage::Event {
                            from: self.id.clone(),
                            term: self.term,
                            event: event.clone(),
                        });
                    }
                    self.show_event(now, event);
                }
                Output::Settle(request, result) => {
                    let result = result.map(|()| true);
                    let mut answered = Vec::new();
                    self.requests.retain(|(r, origin)| {
                        let ours = *r == request;
                        if ours {
                            answered.push(origin.clone());
                        }
                        !ours
                    });
                    if let Some(i) = self.kicks.iter().position(|(r, _)| *r == request) {
                        answered.push(self.kicks.remove(i).1);
                    }
                    for origin in answered {
                        self.reply(origin, result.clone());
                    }
                }
                other => self.outputs.push_back(TabOutput::Machine(other)),
            }
        }
    }

    /// Makes what the app sees match its source (the machine, or the
    /// leader's state); every change of status or clients is an event.
    fn reconcile(&mut self, now: f64) {
        let view = if self.shows_machine() {
            Some(View::of_machine(&self.machine))
        } else {
            self.mirror.as_ref().map(|m| View::of_state(&m.state))
        };
        let Some(view) = view else { return };
        if view.status != self.shown.status {
            self.show_event(now, Event::Status(view.status));
        }
        if view.clients != self.shown.clients {
            self.show_event(
                now,
                Event::Clients(ClientsUpdate::list(view.clients.clone())),
            );
        }
        self.shown = view;
    }

    /// The group's state as this leader holds it.
    fn snapshot(&self) -> GroupState {
        let m = &self.machine;
        GroupState {
            status: m.status(),
            accid: m.accid().map(str::to_owned),
            clients: m.clients().to_vec(),
            device_id: m.device_id().to_owned(),
            session: m.handover().as_ref().map(SessionRecord::from_handover),
            waiting: self.requests.iter().map(|(_, o)| o.clone()).collect(),
            kicks: self.kicks.iter().map(|(_, o)| o.clone()).collect(),
            done: self.done.entries().to_vec(),
        }
    }

    /// A leader posts its state when it changed.
    fn publish(&mut self) {
        if self.role != Role::Leader || self.is_taking_over() {
            return;
        }
        let state = self.snapshot();
        if self.published.as_ref() == Some(&state) {
            return;
        }
        self.seq += 1;
        let stamped = Stamped {
            leader: self.id.clone(),
            term: self.term,
            seq: self.seq,
            state: state.clone(),
        };
        self.post(GroupMessage::State {
            stamped: stamped.clone(),
        });
        self.newest = Some(stamped);
        self.published = Some(state);
    }

    fn after_input(&mut self, now: f64) {
        if self.role == Role::Closed {
            return;
        }
        self.pump_machine(now);
        self.reconcile(now);
        self.publish();
    }
}
