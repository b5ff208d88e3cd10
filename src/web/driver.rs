//! The driver: runs this manager's tab-group core (and through it the
//! login machine) against the browser.
//!
//! All state lives in a [`Driver`] behind `Rc<RefCell<…>>`; browser
//! callbacks hold a `Weak` to it. An input is applied under the borrow, and
//! the core's outputs that touch only the browser (socket, timer, storage,
//! the group's channel) are carried out there too. Everything that runs app
//! code — listeners, promise settlement, `tokenProvider`, `reconnectDelay`
//! — is collected as an [`AppCall`] and made after the borrow ends, so app
//! code may call back into the manager freely (read `status`, call
//! `logout()`, …).

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use imlogin_core::protocol::LoginCode;
use imlogin_core::tab_group::{
    Call, CallId, Input, Sharing, TabConfig, TabGroup, TabId, TabOutput,
};
use imlogin_core::{ConnId, Event, LoginError, Output};
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use web_sys::AbortSignal;

use super::abort::AbortWatch;
use super::debug;
use super::device_key::DeviceKey;
use super::group::{GroupLink, GroupSignal};
use super::js;
use super::lbs;
use super::lifetime::Anchor;
use super::listeners::Listeners;
use super::network::{NetworkEvent, NetworkListeners, StorageWatch};
use super::payloads;
use super::storage::{Store, WriteError};
use super::timers::WakeTimer;
use super::transport::{Socket, SocketEvent};
use super::views::Views;
use super::wire;

/// A call into app code, made after the driver's borrow ends.
pub enum AppCall {
    /// An event listener; what it throws is reported, never propagated.
    Listener(Function, JsValue),
    /// A promise's `resolve` or `reject`.
    Settle(Function, JsValue),
    /// `tokenProvider(accid)` for attempt `conn`.
    FetchToken(Function, ConnId, String),
    /// `reconnectDelay(defaultMs, attempt)` for the attempt `conn` that
    /// failed.
    ChooseDelay(Function, ConnId, f64, u32),
}

/// A promise of this manager's app, waiting for its call's outcome.
struct Pending {
    id: CallId,
    resolve: Function,
    reject: Function,
    /// `autoLogin` resolves with a boolean; the others with `undefined`.
    resolves_value: bool,
    /// The call's `signal`, watched until it settles.
    abort: Option<AbortWatch>,
}

/// Everything one `LoginManager` owns.
pub struct Driver {
    pub(super) core: TabGroup,
    app_key: String,
    link_url: Option<String>,
    lbs_url: Option<String>,
    debug: bool,
    pub token_provider: Option<Function>,
    reconnect_delay: Option<Function>,
    pub store: Store,
    /// This profile's device key, when sessions are device-bound.
    device_key: Option<Rc<DeviceKey>>,
    pub binding: &'static str,
    socket: Option<(ConnId, Socket)>,
    timer: WakeTimer,
    _network: NetworkListeners,
    _storage_watch: Option<StorageWatch>,
    group: Option<GroupLink>,
    pub listeners: Listeners,
    /// The values of the object-valued getters, kept while unchanged.
    pub views: Views,
    pending: Vec<Pending>,
    app_calls: Vec<AppCall>,
    /// Keeps the manager's JS object alive while it holds a session.
    pub anchor: Anchor,
    holding: bool,
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

/// Carries out the core's outputs until there are none, calling app code
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
            make(rc, call);
        }
    }
}

/// Makes one call into app code (no borrow is held).
fn make(rc: &Rc<RefCell<Driver>>, call: AppCall) {
    let undefined = &JsValue::UNDEFINED;
    match call {
        AppCall::Listener(listener, payload) => {
            if let Err(e) = listener.call1(undefined, &payload) {
                js::console_error("imlogin: an event listener threw", &e);
            }
        }
        AppCall::Settle(settle, value) => {
            let _ = settle.call1(undefined, &value);
        }
        AppCall::FetchToken(provider, conn, accid) => {
            // A string, or a promise of one; a throw, a rejection or
            // anything else is a failed attempt (retried).
            let answer = provider.call1(undefined, &JsValue::from_str(&accid));
            let weak = Rc::downgrade(rc);
            wasm_bindgen_futures::spawn_local(async move {
                let token = match answer {
                    Ok(value) => wasm_bindgen_futures::JsFuture::from(Promise::resolve(&value))
                        .await
                        .ok()
                        .and_then(|v| v.as_string()),
                    Err(_) => None,
                };
                run(&weak, |d, now| d.input(now, Input::Token(conn, token)));
            });
        }
        AppCall::ChooseDelay(hook, conn, default_ms, attempt) => {
            let answer = hook
                .call2(undefined, &default_ms.into(), &attempt.into())
                .ok()
                .and_then(|v| v.as_f64());
            // A hook that called the manager may have moved it on: the core
            // ignores an answer that comes too late.
            run(&Rc::downgrade(rc), |d, now| {
                d.input(now, Input::Delay(conn, answer))
            });
        }
    }
}

/// The parts of a new driver that the constructor decided.
pub struct Parts {
    pub machine: imlogin_core::LoginMachine,
    pub app_key: String,
    pub link_url: Option<String>,
    pub lbs_url: Option<String>,
    pub debug: bool,
    pub token_provider: Option<Function>,
    pub reconnect_delay: Option<Function>,
    pub store: Store,
    pub device_key: Option<Rc<DeviceKey>>,
    /// What the saved session is bound to: `"device"`, `"token"` or
    /// `"none"` (the `sessionBinding` getter).
    pub binding: &'static str,
    pub shared_tabs: bool,
    pub online: bool,
}

/// Builds the driver, joins the tab group and wires its callbacks.
pub fn start(parts: Parts) -> Rc<RefCell<Driver>> {
    let now = js::performance_now();
    Rc::new_cyclic(|weak: &Weak<RefCell<Driver>>| {
        let on_timer = weak.clone();
        let on_network = weak.clone();
        let on_group = weak.clone();
        let on_cleared = weak.clone();
        let group = if parts.shared_tabs {
            GroupLink::join(&parts.app_key, move |signal| {
                run(&on_group, |d, now| d.on_group(now, signal))
            })
        } else {
            None
        };
        let sharing = if group.is_some() {
            Sharing::Shared
        } else {
            Sharing::PerTab
        };
        let id = TabId(js::random_hex(8));
        let mut core = TabGroup::new(parts.machine, id, sharing, TabConfig::default(), now);
        if !parts.online {
            core.handle_input(now, Input::Offline);
        }
        // Another tab clearing the record logs a manager on its own out
        // (the core ignores it in a group, where the leader's logout
        // reaches everyone).
        let storage_watch = StorageWatch::new(parts.store.session_key().to_owned(), move || {
            run(&on_cleared, |d, now| {
                d.core.handle_session_cleared_elsewhere(now)
            })
        });
        RefCell::new(Driver {
            core,
            app_key: parts.app_key,
            link_url: parts.link_url,
            lbs_url: parts.lbs_url,
            debug: parts.debug,
            token_provider: parts.token_provider,
            reconnect_delay: parts.reconnect_delay,
            store: parts.store,
            device_key: parts.device_key,
            binding: parts.binding,
            socket: None,
            timer: WakeTimer::new(move || run(&on_timer, |d, now| d.on_timer(now))),
            _network: NetworkListeners::new(move |event| {
                run(&on_network, |d, now| d.on_network(now, event))
            }),
            _storage_watch: storage_watch,
            group,
            listeners: Listeners::default(),
            views: Views::default(),
            pending: Vec::new(),
            app_calls: Vec::new(),
            anchor: Anchor::new(),
            holding: false,
            weak: weak.clone(),
        })
    })
}

impl Driver {
    // ----- what the app sees -----

    /// The tab-group core: what this manager shows.
    pub fn core(&self) -> &TabGroup {
        &self.core
    }

    /// Makes an app call (carried out here, or by the group's leader); its
    /// promise settles with the outcome. An abort of `signal` while it is
    /// pending settles it with 498 and cancels what it started (the core's
    /// `abort`).
    pub fn call(
        &mut self,
        call: Call,
        resolve: Function,
        reject: Function,
        resolves_value: bool,
        signal: Option<AbortSignal>,
    ) {
        let id = self.core.call(js::performance_now(), call);
        let abort = signal.map(|signal| {
            let weak = self.weak.clone();
            AbortWatch::new(signal, move || {
                run(&weak, |d, now| d.core.abort(now, id));
            })
        });
        self.pending.push(Pending {
            id,
            resolve,
            reject,
            resolves_value,
            abort,
        });
    }

    /// Tells this manager's listeners about `event`.
    pub fn emit_local(&mut self, event: &Event) {
        let (name, payload) = payloads::event(event);
        if let Event::Clients(update) = event {
            // The very array `clients` returns from now on.
            let list = self.views.clients(&update.clients);
            let _ = js_sys::Reflect::set(&payload, &JsValue::from_str("clients"), &list);
        }
        for listener in self.listeners.take_calls(name) {
            self.app_calls
                .push(AppCall::Listener(listener, payload.clone()));
        }
    }

    // ----- inputs -----

    fn input(&mut self, now: f64, input: Input) {
        self.core.handle_input(now, input);
    }

    fn on_timer(&mut self, now: f64) {
        self.timer.fired();
        self.core.handle_timeout(now);
    }

    fn on_network(&mut self, now: f64, event: NetworkEvent) {
        let input = match event {
            NetworkEvent::Online => Input::Online,
            NetworkEvent::Offline => Input::Offline,
            NetworkEvent::Visible => Input::Visible,
        };
        self.core.handle_input(now, input);
    }

    fn on_group(&mut self, now: f64, signal: GroupSignal) {
        match signal {
            GroupSignal::LockGranted => self.core.handle_lock_granted(now),
            GroupSignal::LockHeldElsewhere => self.core.handle_lock_held_elsewhere(now),
            GroupSignal::LockFailed => self.core.handle_lock_failed(now),
            GroupSignal::Message(message) => self.core.handle_message(now, *message),
        }
    }

    fn on_socket(&mut self, now: f64, conn: ConnId, event: SocketEvent) {
        let input = match event {
            SocketEvent::Opened => Input::Opened(conn),
            SocketEvent::Text(text) => {
                if self.debug {
                    debug::received(&text);
                }
                match wire::server_frame(&text) {
                    Some(frame) => Input::Frame(conn, frame),
                    None => Input::BadFrame(conn),
                }
            }
            SocketEvent::Binary => Input::BadFrame(conn),
            SocketEvent::Closed(code) => {
                if self.socket.as_ref().is_some_and(|(c, _)| *c == conn) {
                    self.socket = None;
                }
                Input::Closed(conn, code)
            }
        };
        self.core.handle_input(now, input);
    }

    // ----- carrying out the core's outputs -----

    /// Carries out every pending output; returns the app calls to make.
    fn drain(&mut self) -> Vec<AppCall> {
        while let Some(output) = self.core.poll_output() {
            if self.debug {
                debug::log(&output);
            }
            match output {
                TabOutput::Machine(action) => self.carry_out(action),
                TabOutput::Post(message) => {
                    if let Some(group) = &self.group {
                        group.post(&message);
                    }
                }
                TabOutput::ReleaseLock => {
                    if let Some(group) = &self.group {
                        group.let_go();
                    }
                }
                TabOutput::Emit(event) => self.emit_local(&event),
                TabOutput::Settle(id, result) => self.settle(id, result),
                TabOutput::Warn(warning) => {
                    js::console_warn(warning.message(), &JsValue::UNDEFINED);
                }
                TabOutput::Note(_) => {}
            }
        }
        self.timer.arm(self.core.poll_timeout());
        let hold = self.core.accid().is_some() || self.core.has_open_calls();
        if hold != self.holding {
            self.holding = hold;
            self.anchor.hold(hold);
        }
        std::mem::take(&mut self.app_calls)
    }

    fn settle(&mut self, id: CallId, result: Result<bool, LoginError>) {
        let Some(i) = self.pending.iter().position(|p| p.id == id) else {
            return;
        };
        let p = self.pending.swap_remove(i);
        self.app_calls.push(match result {
            Ok(value) => AppCall::Settle(
                p.resolve,
                if p.resolves_value {
                    JsValue::from_bool(value)
                } else {
                    JsValue::UNDEFINED
                },
            ),
            Err(e) => {
                let cause = p
                    .abort
                    .as_ref()
                    .filter(|_| e.code == LoginCode::Aborted)
                    .map(AbortWatch::reason);
                AppCall::Settle(
                    p.reject,
                    payloads::login_error_caused_by(&e, cause.as_ref()),
                )
            }
        });
    }

    fn carry_out(&mut self, action: Output) {
        let now = js::performance_now();
        match action {
            Output::Connect(conn) => self.connect(conn),
            Output::FetchToken(conn, accid) => match &self.token_provider {
                Some(provider) => {
                    self.app_calls
                        .push(AppCall::FetchToken(provider.clone(), conn, accid))
                }
                None => self.core.handle_input(now, Input::Token(conn, None)),
            },
            Output::Prove(conn, request) => match &self.device_key {
                Some(key) => {
                    let key = Rc::clone(key);
                    let weak = self.weak.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        let proof = key.prove(&request).await;
                        run(&weak, |d, now| d.input(now, Input::Proof(conn, proof)));
                    });
                }
                None => self.core.handle_input(now, Input::Proof(conn, None)),
            },
            Output::ChooseDelay {
                conn,
                attempt,
                default_ms,
            } => match &self.reconnect_delay {
                Some(hook) => {
                    self.app_calls.push(AppCall::ChooseDelay(
                        hook.clone(),
                        conn,
                        default_ms,
                        attempt,
                    ));
                }
                None => self.core.handle_input(now, Input::Delay(conn, None)),
            },
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
            // The core hands these over as `TabOutput::Emit`/`Settle`.
            Output::Emit(_) | Output::Settle(..) => {}
        }
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

    fn open_socket(&mut self, now: f64, conn: ConnId, url: Option<String>) {
        if self.core.machine().connection() != Some(conn) {
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
            None => self.core.handle_input(now, Input::Closed(conn, 1006)),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The manager leaves its group without logging out: a leader
        // publishes its last state and closes its socket (the next tab
        // takes over); this manager's promises still waiting reject with
        // 499. Socket, timer, listeners and the group link detach
        // themselves as the fields drop.
        self.core.close(js::performance_now());
        while let Some(output) = self.core.poll_output() {
            match output {
                TabOutput::Machine(Output::Close(conn, code)) => {
                    if let Some((c, socket)) = self.socket.take() {
                        if c == conn {
                            socket.close(code);
                        }
                    }
                }
                TabOutput::Post(message) => {
                    if let Some(group) = &self.group {
                        group.post(&message);
                    }
                }
                TabOutput::Settle(id, Err(e)) => {
                    if let Some(p) = self.pending.iter().find(|p| p.id == id) {
                        let _ = p
                            .reject
                            .call1(&JsValue::UNDEFINED, &payloads::login_error(&e));
                    }
                }
                _ => {}
            }
        }
    }
}
