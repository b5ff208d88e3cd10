//! The driver: runs the login machine against the browser, and plays this
//! manager's part in the app's tab group.
//!
//! All state lives in a [`Driver`] behind `Rc<RefCell<…>>`; browser
//! callbacks hold a `Weak` to it. An input is applied under the borrow, the
//! machine's outputs that touch the browser (socket, timers, storage, the
//! tab channel) are carried out there too, and only the calls into app code
//! — listeners and promise settlement — happen after the borrow ends, so a
//! listener may call back into the manager freely.
//!
//! **Roles** (`tabs: "shared"`, the default): the managers of one appKey in
//! one browser profile elect a leader with the Web Locks API. Only the
//! leader's machine connects; it sends its state and events to the others
//! over a BroadcastChannel and runs the calls they forward. When the
//! leader's tab closes or crashes, the browser hands the lock to the next
//! manager, which logs in again by itself (auto mode, same deviceId) if the
//! group had a session. Without Web Locks or BroadcastChannel, or with
//! `tabs: "perTab"`, each manager is on its own (`Solo`); a logout in one tab
//! still reaches the others through the `storage` event on the record.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use imlogin_protocol::{Client, LoginCode};
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

use super::debug::debug_log;
use super::js;
use super::lbs;
use super::network::{NetworkEvent, NetworkListeners, StorageWatch};
use super::payloads;
use super::storage::{Store, WriteError};
use super::tabs::{TabLink, TabSignal};
use super::timers::WakeTimer;
use super::transport::{Socket, SocketEvent};
use super::wire;
use crate::{
    ConnId, Event, LoginError, LoginMachine, Output, RequestId, Status, TabCall, TabMessage,
};

/// Who settles a request once its outcome is known.
pub enum Settler {
    /// A promise of this manager.
    Local { resolve: Function, reject: Function },
    /// A follower's forwarded call: answered with a `Reply` message.
    Remote { to: String, id: u64 },
}

/// A request the machine is working on.
struct Waiter {
    request: RequestId,
    settler: Settler,
    /// `autoLogin` resolves with a boolean; the others with `undefined`.
    resolves_value: bool,
}

/// A call waiting for the leader (a follower's), or for the election.
struct Forwarded {
    id: u64,
    call: TabCall,
    resolve: Function,
    reject: Function,
    resolves_value: bool,
}

/// A call into app code, made after the driver's borrow ends.
pub struct Call {
    function: Function,
    argument: JsValue,
    /// Listener exceptions are reported, never propagated.
    is_listener: bool,
}

/// This manager's part in its tab group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// On its own: `tabs: "perTab"`, or no Web Locks / BroadcastChannel.
    Solo,
    /// Waiting for the election's answer: calls are queued.
    Electing,
    /// Holds the group's connection.
    Leader,
    /// Mirrors the leader.
    Follower,
}

/// What a follower knows of the leader.
#[derive(Default)]
struct Mirror {
    leader: Option<String>,
    status: Option<Status>,
    accid: Option<String>,
    clients: Vec<Client>,
}

/// Everything one `LoginManager` owns.
pub struct Driver {
    pub machine: LoginMachine,
    pub app_key: String,
    pub link_url: Option<String>,
    pub lbs_url: Option<String>,
    pub debug: bool,
    pub token_provider: Option<Function>,
    pub store: Store,
    socket: Option<(ConnId, Socket)>,
    timer: WakeTimer,
    _network: NetworkListeners,
    _storage_watch: Option<StorageWatch>,
    pub listeners: Vec<(&'static str, Function)>,
    waiters: Vec<Waiter>,
    app_calls: Vec<Call>,
    /// This manager's id in its tab group.
    id: String,
    role: Role,
    tabs: Option<TabLink>,
    mirror: Mirror,
    forwarded: Vec<Forwarded>,
    next_call: u64,
    weak: Weak<RefCell<Driver>>,
}

/// Applies an input from a browser callback, then pumps.
pub fn run(weak: &Weak<RefCell<Driver>>, input: impl FnOnce(&mut Driver, f64)) {
    let Some(rc) = weak.upgrade() else { return };
    let Ok(mut driver) = rc.try_borrow_mut() else {
        return;
    };
    input(&mut driver, js::performance_now());
    drop(driver);
    pump(&rc);
}

/// Carries out the machine's outputs until there are none, calling app code
/// only between borrows.
pub fn pump(rc: &Rc<RefCell<Driver>>) {
    loop {
        let calls = match rc.try_borrow_mut() {
            Ok(mut driver) => driver.drain(),
            Err(_) => return,
        };
        if calls.is_empty() {
            return;
        }
        for call in calls {
            let result = call.function.call1(&JsValue::UNDEFINED, &call.argument);
            if let (Err(e), true) = (result, call.is_listener) {
                js::console_error("imlogin: an event listener threw", &e);
            }
        }
    }
}

/// The parts of a new driver that the constructor decided.
pub struct Parts {
    pub machine: LoginMachine,
    pub app_key: String,
    pub link_url: Option<String>,
    pub lbs_url: Option<String>,
    pub debug: bool,
    pub token_provider: Option<Function>,
    pub store: Store,
    pub shared_tabs: bool,
}

/// Builds the driver and wires its callbacks.
pub fn start(parts: Parts) -> Rc<RefCell<Driver>> {
    Rc::new_cyclic(|weak: &Weak<RefCell<Driver>>| {
        let on_timer = weak.clone();
        let on_network = weak.clone();
        let on_tab = weak.clone();
        let on_cleared = weak.clone();
        let tabs = if parts.shared_tabs {
            TabLink::join(&parts.app_key, move |signal| {
                run(&on_tab, |d, now| d.on_tab(now, signal))
            })
        } else {
            None
        };
        let role = if tabs.is_some() {
            Role::Electing
        } else {
            Role::Solo
        };
        let storage_watch = if role == Role::Solo {
            StorageWatch::new(parts.store.session_key().to_owned(), move || {
                run(&on_cleared, |d, now| d.on_record_removed(now))
            })
        } else {
            None
        };
        RefCell::new(Driver {
            machine: parts.machine,
            app_key: parts.app_key,
            link_url: parts.link_url,
            lbs_url: parts.lbs_url,
            debug: parts.debug,
            token_provider: parts.token_provider,
            store: parts.store,
            socket: None,
            timer: WakeTimer::new(move || run(&on_timer, |d, now| d.on_timer(now))),
            _network: NetworkListeners::new(move |event| {
                run(&on_network, |d, now| d.on_network(now, event))
            }),
            _storage_watch: storage_watch,
            listeners: Vec::new(),
            waiters: Vec::new(),
            app_calls: Vec::new(),
            id: js::random_hex(8),
            role,
            tabs,
            mirror: Mirror::default(),
            forwarded: Vec::new(),
            next_call: 0,
            weak: weak.clone(),
        })
    })
}

fn resolution(value: bool, resolves_value: bool) -> JsValue {
    if resolves_value {
        JsValue::from_bool(value)
    } else {
        JsValue::UNDEFINED
    }
}

impl Driver {
    // ----- what the app sees -----

    /// The status the app sees: the leader's, in a follower.
    pub fn status(&self) -> Status {
        match (self.role, self.mirror.status) {
            (Role::Follower, Some(s)) => s,
            _ => self.machine.status(),
        }
    }

    /// The accid the app sees.
    pub fn accid(&self) -> Option<String> {
        match self.role {
            Role::Follower => self.mirror.accid.clone(),
            _ => self.machine.accid().map(str::to_owned),
        }
    }

    /// The other sessions the app sees.
    pub fn clients(&self) -> &[Client] {
        match self.role {
            Role::Follower => &self.mirror.clients,
            _ => self.machine.clients(),
        }
    }

    /// Runs an app call here, forwards it to the leader, or queues it
    /// until the election has answered.
    pub fn dispatch(
        &mut self,
        call: TabCall,
        resolve: Function,
        reject: Function,
        resolves_value: bool,
    ) {
        match self.role {
            Role::Solo | Role::Leader => {
                self.execute(call, Settler::Local { resolve, reject }, resolves_value)
            }
            Role::Electing => self.forwarded.push(Forwarded {
                id: 0,
                call,
                resolve,
                reject,
                resolves_value,
            }),
            Role::Follower => self.forward(Forwarded {
                id: 0,
                call,
                resolve,
                reject,
                resolves_value,
            }),
        }
    }

    fn forward(&mut self, mut f: Forwarded) {
        self.next_call += 1;
        f.id = self.next_call;
        let message = TabMessage::Call {
            from: self.id.clone(),
            id: f.id,
            call: f.call.clone(),
        };
        self.post(&message);
        self.forwarded.push(f);
    }

    /// Runs a call on this manager's machine.
    fn execute(&mut self, call: TabCall, settler: Settler, resolves_value: bool) {
        let now = js::performance_now();
        let request = match call {
            TabCall::Login {
                accid,
                token,
                force,
            } => Some(self.machine.login(now, &accid, &token, force)),
            TabCall::AutoLogin { force } => {
                let stored = self.store.load_session();
                self.machine.auto_login(now, stored, force)
            }
            TabCall::KickClient { client_id } => Some(self.machine.kick_client(now, &client_id)),
            TabCall::Logout => {
                self.machine.logout(now);
                None
            }
        };
        match request {
            Some(request) => self.waiters.push(Waiter {
                request,
                settler,
                resolves_value,
            }),
            // Logout, and an auto login with nothing stored, settle at once.
            None => self.settle(settler, Ok(false), resolves_value),
        }
    }

    fn settle(&mut self, settler: Settler, result: Result<bool, LoginError>, resolves_value: bool) {
        match settler {
            Settler::Local { resolve, reject } => self.app_calls.push(match result {
                Ok(value) => Call {
                    function: resolve,
                    argument: resolution(value, resolves_value),
                    is_listener: false,
                },
                Err(e) => Call {
                    function: reject,
                    argument: payloads::login_error(&e),
                    is_listener: false,
                },
            }),
            Settler::Remote { to, id } => self.post(&TabMessage::Reply { to, id, result }),
        }
    }

    /// Tells this manager's listeners about `event`.
    pub fn emit_local(&mut self, event: &Event) {
        let (name, payload) = payloads::event(event);
        for (n, listener) in &self.listeners {
            if *n == name {
                self.app_calls.push(Call {
                    function: listener.clone(),
                    argument: payload.clone(),
                    is_listener: true,
                });
            }
        }
    }

    // ----- carrying out the machine's outputs -----

    /// Carries out every pending output; returns the app calls to make.
    fn drain(&mut self) -> Vec<Call> {
        let mut emitted = false;
        while let Some(output) = self.machine.poll_output() {
            if self.debug {
                debug_log(&output);
            }
            match output {
                Output::Connect(conn) => self.connect(conn),
                Output::FetchToken(conn, accid) => self.fetch_token(conn, &accid),
                Output::Send(conn, frame) => {
                    if let Some((c, socket)) = &self.socket {
                        if *c == conn {
                            socket.send(frame.to_json());
                        }
                    }
                }
                Output::Close(conn, code) => {
                    if self.socket.as_ref().is_some_and(|(c, _)| *c == conn) {
                        if let Some((_, socket)) = self.socket.take() {
                            socket.close(code);
                        }
                    }
                }
                Output::Persist(session) => {
                    if let Err(WriteError(e)) = self.store.save_session(&session) {
                        // Reported, not thrown: the live session goes on.
                        js::console_warn("imlogin: could not save the session record", &e);
                    }
                }
                Output::ClearPersisted => self.store.clear_session(),
                Output::Emit(event) => {
                    self.emit_local(&event);
                    if self.role == Role::Leader {
                        self.post(&TabMessage::Event {
                            from: self.id.clone(),
                            event,
                        });
                        emitted = true;
                    }
                }
                Output::Settle(request, result) => {
                    if let Some(i) = self.waiters.iter().position(|w| w.request == request) {
                        let waiter = self.waiters.swap_remove(i);
                        self.settle(waiter.settler, result.map(|()| true), waiter.resolves_value);
                    }
                }
            }
        }
        if emitted {
            self.post_state();
        }
        self.timer.arm(self.machine.poll_timeout());
        std::mem::take(&mut self.app_calls)
    }

    /// Starts connection `conn`: through the LBS when configured.
    fn connect(&mut self, conn: ConnId) {
        match self.lbs_url.clone() {
            Some(lbs_url) => {
                let weak = self.weak.clone();
                let app_key = self.app_key.clone();
                let fallback = self.link_url.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let url = lbs::discover(&lbs_url, &app_key).await.or(fallback);
                    run(&weak, |d, now| d.open_socket(now, conn, url));
                });
            }
            None => {
                let url = self.link_url.clone();
                self.open_socket(js::performance_now(), conn, url);
            }
        }
    }

    /// Calls the app's `tokenProvider(accid)` for attempt `conn` and hands
    /// the answer (a string, or a promise of one) to the machine. A throw,
    /// a rejection or a non-string answer is a failed attempt, retried.
    fn fetch_token(&mut self, conn: ConnId, accid: &str) {
        let Some(provider) = &self.token_provider else {
            self.machine.handle_token(js::performance_now(), conn, None);
            return;
        };
        let answer = provider.call1(&JsValue::UNDEFINED, &JsValue::from_str(accid));
        let weak = self.weak.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let token = match answer {
                Ok(value) => wasm_bindgen_futures::JsFuture::from(Promise::resolve(&value))
                    .await
                    .ok()
                    .and_then(|v| v.as_string()),
                Err(_) => None,
            };
            run(&weak, |d, now| {
                d.machine.handle_token(now, conn, token.as_deref())
            });
        });
    }

    fn open_socket(&mut self, now: f64, conn: ConnId, url: Option<String>) {
        if self.machine.connection() != Some(conn) {
            return; // abandoned while the LBS answered
        }
        let weak = self.weak.clone();
        let opened = url.and_then(|url| {
            Socket::open(&url, move |event| {
                run(&weak, |d, now| d.on_socket(now, conn, event))
            })
        });
        match opened {
            Some(socket) => self.socket = Some((conn, socket)),
            None => self.machine.handle_closed(now, conn, 1006),
        }
    }

    fn on_socket(&mut self, now: f64, conn: ConnId, event: SocketEvent) {
        match event {
            SocketEvent::Opened => self.machine.handle_opened(now, conn),
            SocketEvent::Text(text) => {
                if self.debug {
                    js::console_log(
                        "imlogin: received",
                        &JsValue::from_str(&text),
                        &JsValue::UNDEFINED,
                    );
                }
                match wire::server_frame(&text) {
                    Some(frame) => self.machine.handle_frame(now, conn, frame),
                    None => self.machine.handle_bad_frame(now, conn),
                }
            }
            SocketEvent::Binary => self.machine.handle_bad_frame(now, conn),
            SocketEvent::Closed(code) => {
                if self.socket.as_ref().is_some_and(|(c, _)| *c == conn) {
                    self.socket = None;
                }
                self.machine.handle_closed(now, conn, code);
            }
        }
    }

    fn on_timer(&mut self, now: f64) {
        self.timer.fired();
        self.machine.handle_timeout(now);
    }

    fn on_network(&mut self, now: f64, event: NetworkEvent) {
        match event {
            NetworkEvent::Online => self.machine.handle_online(now),
            NetworkEvent::Offline => self.machine.handle_offline(now),
            NetworkEvent::Visible => self.machine.handle_visible(now),
        }
    }

    /// Another tab removed the session record (a logout there): a solo
    /// manager with a session logs out too.
    fn on_record_removed(&mut self, now: f64) {
        if self.machine.accid().is_some() {
            self.machine.logout(now);
        }
    }

    // ----- the tab group -----

    fn post(&self, message: &TabMessage) {
        if let Some(tabs) = &self.tabs {
            tabs.post(&wire::to_json(message));
        }
    }

    fn post_state(&self) {
        self.post(&TabMessage::State {
            from: self.id.clone(),
            status: self.machine.status(),
            accid: self.machine.accid().map(str::to_owned),
            clients: self.machine.clients().to_vec(),
        });
    }

    fn on_tab(&mut self, now: f64, signal: TabSignal) {
        match signal {
            TabSignal::Leader => self.become_leader(now),
            TabSignal::Follower => {
                self.role = Role::Follower;
                self.post(&TabMessage::Hello {
                    from: self.id.clone(),
                });
                for f in std::mem::take(&mut self.forwarded) {
                    self.forward(f);
                }
            }
            TabSignal::Message(text) => {
                if let Some(message) = wire::from_json::<TabMessage>(&text) {
                    self.on_message(message);
                }
            }
        }
    }

    /// This manager now holds the group's connection: at once, or on taking
    /// over from a leader whose tab closed or crashed.
    fn become_leader(&mut self, now: f64) {
        let took_over = self.role == Role::Follower;
        let group_had_session = self.mirror.status.is_some_and(|s| s != Status::LoggedOut);
        self.role = Role::Leader;
        let pending = std::mem::take(&mut self.forwarded);
        let resumes = pending.iter().any(|f| {
            matches!(
                f.call,
                TabCall::Login { .. } | TabCall::AutoLogin { .. } | TabCall::Logout
            )
        });
        for f in pending {
            let settler = Settler::Local {
                resolve: f.resolve,
                reject: f.reject,
            };
            self.execute(f.call, settler, f.resolves_value);
        }
        if took_over && group_had_session && !resumes {
            // Log in again by itself, from the same record and deviceId.
            let stored = self.store.load_session();
            let _ = self.machine.auto_login(now, stored, false);
        }
        self.post_state();
    }

    fn on_message(&mut self, message: TabMessage) {
        match (self.role, message) {
            (Role::Leader, TabMessage::Hello { .. }) => self.post_state(),
            (Role::Leader, TabMessage::Call { from, id, call }) => {
                self.execute(call, Settler::Remote { to: from, id }, true)
            }
            (
                Role::Follower,
                TabMessage::State {
                    from,
                    status,
                    accid,
                    clients,
                },
            ) => {
                if self.mirror.leader.as_deref() != Some(from.as_str()) {
                    // A new leader: calls sent to the old one may be lost.
                    self.mirror.leader = Some(from);
                    for f in std::mem::take(&mut self.forwarded) {
                        self.forward(f);
                    }
                }
                self.mirror.accid = accid;
                if self.mirror.status != Some(status) {
                    self.mirror.status = Some(status);
                    self.emit_local(&Event::Status(status));
                }
                if self.mirror.clients != clients {
                    self.mirror.clients = clients.clone();
                    self.emit_local(&Event::Clients(clients));
                }
            }
            (Role::Follower, TabMessage::Event { event, .. }) => match event {
                Event::Status(s) => {
                    if self.mirror.status != Some(s) {
                        self.mirror.status = Some(s);
                        self.emit_local(&Event::Status(s));
                    }
                }
                Event::Clients(list) => {
                    self.mirror.clients = list.clone();
                    self.emit_local(&Event::Clients(list));
                }
                other => self.emit_local(&other),
            },
            (Role::Follower, TabMessage::Reply { to, id, result }) if to == self.id => {
                if let Some(i) = self.forwarded.iter().position(|f| f.id == id) {
                    let f = self.forwarded.swap_remove(i);
                    self.settle(
                        Settler::Local {
                            resolve: f.resolve,
                            reject: f.reject,
                        },
                        result,
                        f.resolves_value,
                    );
                }
            }
            _ => {}
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Socket, timers, listeners and the tab link detach themselves as
        // fields drop; promises still waiting learn that nothing will
        // settle them.
        let error = payloads::login_error(&LoginError::new(
            LoginCode::Cancelled,
            "the LoginManager was freed",
        ));
        for waiter in self.waiters.drain(..) {
            if let Settler::Local { reject, .. } = waiter.settler {
                let _ = reject.call1(&JsValue::UNDEFINED, &error);
            }
        }
        for f in self.forwarded.drain(..) {
            let _ = f.reject.call1(&JsValue::UNDEFINED, &error);
        }
    }
}
