//! The exported `LoginManager` class and the pump that runs the machine.
//!
//! All state lives in a [`Driver`] behind `Rc<RefCell<…>>`; browser
//! callbacks hold a `Weak` to it. An input is applied under the borrow, the
//! machine's outputs that touch the browser (socket, timers, storage) are
//! carried out there too, and only the calls into app code — listeners and
//! promise settlement — happen after the borrow ends, so a listener may call
//! back into the manager freely.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use imlogin_protocol::limits::MAX_SERVER_FRAME_BYTES;
use imlogin_protocol::{decode_server_value, ClientFrame, LoginCode};
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;

use super::js;
use super::json;
use super::lbs;
use super::network::{self, NetworkEvent, NetworkListeners};
use super::options::{type_error, Options};
use super::payloads::{self, EVENT_NAMES};
use super::storage::{Store, WriteError};
use super::timers::TimerSlots;
use super::transport::{Socket, SocketEvent};
use crate::{ConnId, Event, LoginError, LoginMachine, Output, RequestId, Timer};

/// A promise waiting for its request's outcome.
struct Waiter {
    request: RequestId,
    resolve: Function,
    reject: Function,
    /// `autoLogin` resolves `true`; the others resolve `undefined`.
    resolves_true: bool,
}

/// A call into app code, made after the driver's borrow ends.
struct Call {
    function: Function,
    argument: JsValue,
    /// Listener exceptions are reported, never propagated.
    is_listener: bool,
}

struct Driver {
    machine: LoginMachine,
    app_key: String,
    link_url: Option<String>,
    lbs_url: Option<String>,
    debug: bool,
    token_provider: Option<Function>,
    store: Store,
    socket: Option<(ConnId, Socket)>,
    timers: TimerSlots,
    _network: NetworkListeners,
    listeners: Vec<(&'static str, Function)>,
    waiters: Vec<Waiter>,
    weak: Weak<RefCell<Driver>>,
}

/// Applies an input from a browser callback, then pumps.
fn run(weak: &Weak<RefCell<Driver>>, input: impl FnOnce(&mut Driver, f64)) {
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
fn pump(rc: &Rc<RefCell<Driver>>) {
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

impl Driver {
    /// Carries out every pending output; returns the app calls to make.
    fn drain(&mut self) -> Vec<Call> {
        let mut calls = Vec::new();
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
                            socket.send(&frame.to_json());
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
                Output::SetTimer(timer, at) => self.timers.set(timer, at - js::performance_now()),
                Output::CancelTimer(timer) => self.timers.cancel(timer),
                Output::Persist(session) => {
                    if let Err(WriteError(e)) = self.store.save_session(&session) {
                        // Reported, not thrown: the live session goes on.
                        js::console_warn("imlogin: could not save the session record", &e);
                    }
                }
                Output::ClearPersisted => self.store.clear_session(),
                Output::Emit(event) => {
                    let (name, payload) = payloads::event(&event);
                    for (n, listener) in &self.listeners {
                        if *n == name {
                            calls.push(Call {
                                function: listener.clone(),
                                argument: payload.clone(),
                                is_listener: true,
                            });
                        }
                    }
                }
                Output::Settle(request, result) => {
                    if let Some(i) = self.waiters.iter().position(|w| w.request == request) {
                        let waiter = self.waiters.swap_remove(i);
                        calls.push(match result {
                            Ok(()) => Call {
                                function: waiter.resolve,
                                argument: if waiter.resolves_true {
                                    JsValue::TRUE
                                } else {
                                    JsValue::UNDEFINED
                                },
                                is_listener: false,
                            },
                            Err(e) => Call {
                                function: waiter.reject,
                                argument: payloads::login_error(&e),
                                is_listener: false,
                            },
                        });
                    }
                }
            }
        }
        calls
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
            .ok()
        });
        match opened {
            Some(socket) => self.socket = Some((conn, socket)),
            None => self.machine.handle_closed(now, conn, 1006),
        }
    }

    fn on_socket(&mut self, now: f64, conn: ConnId, event: SocketEvent) {
        match event {
            SocketEvent::Opened => self.machine.handle_opened(now, conn),
            SocketEvent::Frame(data) => {
                if self.debug {
                    js::console_log("imlogin: received", &data, &JsValue::UNDEFINED);
                }
                let frame = data
                    .as_string()
                    .filter(|text| text.len() <= MAX_SERVER_FRAME_BYTES)
                    .and_then(|text| json::parse(&JsValue::from_str(&text)))
                    .and_then(|value| decode_server_value(value).ok());
                match frame {
                    Some(frame) => self.machine.handle_frame(now, conn, frame),
                    None => self.machine.handle_bad_frame(now, conn),
                }
            }
            SocketEvent::Closed(code) => {
                if self.socket.as_ref().is_some_and(|(c, _)| *c == conn) {
                    self.socket = None;
                }
                self.machine.handle_closed(now, conn, code);
            }
        }
    }

    fn on_timer(&mut self, now: f64, timer: Timer) {
        self.timers.fired(timer);
        self.machine.handle_timer(now, timer);
    }

    fn on_network(&mut self, now: f64, event: NetworkEvent) {
        match event {
            NetworkEvent::Online => self.machine.handle_online(now),
            NetworkEvent::Offline => self.machine.handle_offline(now),
            NetworkEvent::Visible => self.machine.handle_visible(now),
        }
    }

    /// Registers a promise for `request` (settled by a later `Settle`).
    fn wait(
        &mut self,
        request: RequestId,
        resolve: Function,
        reject: Function,
        resolves_true: bool,
    ) {
        self.waiters.push(Waiter {
            request,
            resolve,
            reject,
            resolves_true,
        });
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Socket, timers and listeners detach themselves as fields drop;
        // promises still waiting learn that nothing will settle them.
        let error = payloads::login_error(&LoginError::new(
            LoginCode::Cancelled,
            "the LoginManager was freed",
        ));
        for waiter in self.waiters.drain(..) {
            let _ = waiter.reject.call1(&JsValue::UNDEFINED, &error);
        }
    }
}

fn debug_log(output: &Output) {
    let number = |n: f64| JsValue::from_f64(n);
    let (label, a, b): (&str, JsValue, JsValue) = match output {
        Output::Connect(c) => ("imlogin: connect #", number(c.0 as f64), JsValue::UNDEFINED),
        Output::FetchToken(c, accid) => (
            "imlogin: tokenProvider for attempt #",
            number(c.0 as f64),
            JsValue::from_str(accid),
        ),
        Output::Send(c, frame) => (
            "imlogin: send on # (tokens redacted)",
            number(c.0 as f64),
            JsValue::from_str(match frame {
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
        Output::SetTimer(t, at) => (
            "imlogin: set timer, in ms",
            JsValue::from_str(t.as_str()),
            number((at - js::performance_now()).round()),
        ),
        Output::CancelTimer(t) => (
            "imlogin: cancel timer",
            JsValue::from_str(t.as_str()),
            JsValue::UNDEFINED,
        ),
        Output::Persist(s) => (
            "imlogin: persist session of",
            JsValue::from_str(&s.credentials.accid),
            JsValue::UNDEFINED,
        ),
        Output::ClearPersisted => (
            "imlogin: clear persisted session",
            JsValue::UNDEFINED,
            JsValue::UNDEFINED,
        ),
        Output::Emit(Event::Status(s)) => (
            "imlogin: status",
            JsValue::from_str(s.as_str()),
            JsValue::UNDEFINED,
        ),
        Output::Emit(e) => (
            "imlogin: event",
            JsValue::from_str(payloads::event(e).0),
            JsValue::UNDEFINED,
        ),
        Output::Settle(_, Ok(())) => (
            "imlogin: request resolved",
            JsValue::UNDEFINED,
            JsValue::UNDEFINED,
        ),
        Output::Settle(_, Err(e)) => (
            "imlogin: request rejected",
            number(f64::from(e.code.as_u16())),
            JsValue::from_str(&e.message),
        ),
    };
    js::console_log(label, &a, &b);
}

fn new_promise() -> (Promise, Function, Function) {
    let mut slots = None;
    let promise = Promise::new(&mut |resolve, reject| slots = Some((resolve, reject)));
    // The executor runs synchronously inside `new Promise`.
    let (resolve, reject) =
        slots.unwrap_or_else(|| wasm_bindgen::throw_str("imlogin: Promise executor did not run"));
    (promise, resolve, reject)
}

fn rejected(error: JsValue) -> Promise {
    Promise::reject(&error)
}

/// Reads `{ force?: boolean }`, the options of `login` and `autoLogin`.
fn force_option(value: &Option<JsValue>) -> Result<bool, JsValue> {
    let Some(value) = value.as_ref().filter(|v| !v.is_undefined() && !v.is_null()) else {
        return Ok(false);
    };
    if !value.is_object() {
        return Err(type_error(
            "force",
            "options must be an object { force?: boolean }",
        ));
    }
    if let Some(object) = value.dyn_ref::<js_sys::Object>() {
        for key in js_sys::Object::keys(object).iter() {
            if key.as_string().as_deref() != Some("force") {
                let key = key.as_string().unwrap_or_default();
                return Err(type_error(&key, "is not a known login option"));
            }
        }
    }
    match Reflect::get(value, &JsValue::from_str("force")) {
        Ok(v) if v.is_undefined() => Ok(false),
        Ok(v) => v
            .as_bool()
            .ok_or_else(|| type_error("force", "must be a boolean")),
        Err(e) => Err(e),
    }
}

fn busy() -> JsValue {
    js_sys::Error::new(
        "imlogin: the LoginManager was called from inside its own reconnectDelay hook",
    )
    .into()
}

/// Logs in to an IM link server and keeps the session alive: manual and
/// auto login, reconnection with backoff, online/offline handling, session
/// persistence and events. See the package README and DESIGN §5.
#[wasm_bindgen]
pub struct LoginManager {
    inner: Rc<RefCell<Driver>>,
}

#[wasm_bindgen]
impl LoginManager {
    /// Creates a manager. Validates every option and throws a `TypeError`
    /// naming the field; starts nothing (no connection, no timer): call
    /// `autoLogin()` or `login()`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "LoginManagerOptions")] options: JsValue,
    ) -> Result<LoginManager, JsValue> {
        let options = Options::from_js(&options)?;
        let store = Store::new(&options.config.app_key, options.persistence);
        let mut config = options.config;
        config.device_id = store.device_id();
        let app_key = config.app_key.clone();
        let mut machine = LoginMachine::new(config, js::random_u64());
        if let Some(hook) = options.reconnect_delay {
            machine.set_delay_hook(Some(Box::new(move |default_ms: f64, attempt: u32| {
                hook.call2(&JsValue::UNDEFINED, &default_ms.into(), &attempt.into())
                    .ok()
                    .and_then(|v| v.as_f64())
                    .unwrap_or(f64::NAN)
            })));
        }
        if !network::is_online() {
            machine.handle_offline(js::performance_now());
        }
        let inner = Rc::new_cyclic(|weak: &Weak<RefCell<Driver>>| {
            let on_timer = weak.clone();
            let on_network = weak.clone();
            RefCell::new(Driver {
                machine,
                app_key,
                link_url: options.link_url,
                lbs_url: options.lbs_url,
                debug: options.debug,
                token_provider: options.token_provider,
                store,
                socket: None,
                timers: TimerSlots::new(move |timer| {
                    run(&on_timer, |d, now| d.on_timer(now, timer))
                }),
                _network: NetworkListeners::new(move |event| {
                    run(&on_network, |d, now| d.on_network(now, event))
                }),
                listeners: Vec::new(),
                waiters: Vec::new(),
                weak: weak.clone(),
            })
        });
        Ok(LoginManager { inner })
    }

    /// Manual login. Resolves once logged in; rejects with a `LoginError`
    /// (414 bad arguments, 415 offline, 302/403/417/422 from the server,
    /// 408 timeout, 499 cancelled by `logout()` or a newer login). Makes at
    /// most `retryCount` attempts; nothing reconnects after a failure.
    /// With a `tokenProvider` the token may be omitted: every attempt asks
    /// the provider.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn login(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] accid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | undefined")] token: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "LoginOptions")] options: Option<JsValue>,
    ) -> Promise {
        let force = match force_option(&options) {
            Ok(f) => f,
            Err(e) => return rejected(e),
        };
        let dynamic = self
            .inner
            .try_borrow()
            .is_ok_and(|d| d.token_provider.is_some());
        let token = match token.as_string() {
            None if dynamic && token.is_undefined() => Some(String::new()),
            t => t,
        };
        let (Some(accid), Some(token)) = (accid.as_string(), token) else {
            let field = if accid.as_string().is_none() {
                "accid must be a string"
            } else {
                "token must be a string"
            };
            let error = LoginError::new(LoginCode::BadParameter, field);
            self.emit_now(Event::LoginFailed(error.clone()));
            return rejected(payloads::login_error(&error));
        };
        let Ok(mut driver) = self.inner.try_borrow_mut() else {
            return rejected(busy());
        };
        let (promise, resolve, reject) = new_promise();
        let request = driver
            .machine
            .login(js::performance_now(), &accid, &token, force);
        driver.wait(request, resolve, reject, false);
        drop(driver);
        pump(&self.inner);
        promise
    }

    /// Auto login with the session persisted by an earlier successful login.
    /// Resolves `false` at once when none is persisted, `true` once logged
    /// in (it stays pending while offline or retrying); rejects on a fatal
    /// code, 417, or 499.
    #[wasm_bindgen(js_name = autoLogin, unchecked_return_type = "Promise<boolean>")]
    pub fn auto_login(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "LoginOptions")] options: Option<JsValue>,
    ) -> Promise {
        let force = match force_option(&options) {
            Ok(f) => f,
            Err(e) => return rejected(e),
        };
        let Ok(mut driver) = self.inner.try_borrow_mut() else {
            return rejected(busy());
        };
        let stored = driver.store.load_session();
        let Some(request) = driver
            .machine
            .auto_login(js::performance_now(), stored, force)
        else {
            return Promise::resolve(&JsValue::FALSE);
        };
        let (promise, resolve, reject) = new_promise();
        driver.wait(request, resolve, reject, true);
        drop(driver);
        pump(&self.inner);
        promise
    }

    /// Ends another live session of this account (one of `clients`).
    /// Rejects with `LoginError` 404 when there is no such session, 415 when
    /// not connected.
    #[wasm_bindgen(js_name = kickClient, unchecked_return_type = "Promise<void>")]
    pub fn kick_client(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] client_id: JsValue,
    ) -> Promise {
        let Some(client_id) = client_id.as_string() else {
            return rejected(payloads::login_error(&LoginError::new(
                LoginCode::BadParameter,
                "clientId must be a string",
            )));
        };
        let Ok(mut driver) = self.inner.try_borrow_mut() else {
            return rejected(busy());
        };
        let (promise, resolve, reject) = new_promise();
        let request = driver
            .machine
            .kick_client(js::performance_now(), &client_id);
        driver.wait(request, resolve, reject, false);
        drop(driver);
        pump(&self.inner);
        promise
    }

    /// Logs out: tells the server, closes, stops reconnecting, clears the
    /// persisted session (the device id stays), and rejects a pending login
    /// with 499.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn logout(&self) -> Promise {
        let Ok(mut driver) = self.inner.try_borrow_mut() else {
            return rejected(busy());
        };
        driver.machine.logout(js::performance_now());
        drop(driver);
        pump(&self.inner);
        Promise::resolve(&JsValue::UNDEFINED)
    }

    /// The current status: `"loggedOut"`, `"connecting"`, `"loggedIn"`,
    /// `"waiting"` or `"offline"`.
    #[wasm_bindgen(getter, unchecked_return_type = "LoginStatus")]
    pub fn status(&self) -> Result<String, JsValue> {
        let driver = self.inner.try_borrow().map_err(|_| busy())?;
        Ok(driver.machine.status().as_str().to_owned())
    }

    /// The accid being logged in with or logged in (lower case), if any.
    #[wasm_bindgen(getter)]
    pub fn accid(&self) -> Result<Option<String>, JsValue> {
        let driver = self.inner.try_borrow().map_err(|_| busy())?;
        Ok(driver.machine.accid().map(str::to_owned))
    }

    /// This browser profile's device id (kept across logouts).
    #[wasm_bindgen(getter, js_name = deviceId)]
    pub fn device_id(&self) -> Result<String, JsValue> {
        let driver = self.inner.try_borrow().map_err(|_| busy())?;
        Ok(driver.machine.device_id().to_owned())
    }

    /// The account's other live sessions.
    #[wasm_bindgen(getter, unchecked_return_type = "Client[]")]
    pub fn clients(&self) -> Result<JsValue, JsValue> {
        let driver = self.inner.try_borrow().map_err(|_| busy())?;
        Ok(payloads::clients(driver.machine.clients()))
    }

    /// Adds a listener for `"status"`, `"loginFailed"`, `"kicked"`,
    /// `"reconnecting"` or `"clients"` (typed in `LoginManagerEvents`).
    #[wasm_bindgen(skip_typescript)]
    pub fn on(&self, name: &str, listener: Function) -> Result<(), JsValue> {
        let name = event_name(name)?;
        let mut driver = self.inner.try_borrow_mut().map_err(|_| busy())?;
        if !driver
            .listeners
            .iter()
            .any(|(n, f)| *n == name && *f == listener)
        {
            driver.listeners.push((name, listener));
        }
        Ok(())
    }

    /// Removes a listener added with `on`.
    #[wasm_bindgen(skip_typescript)]
    pub fn off(&self, name: &str, listener: Function) -> Result<(), JsValue> {
        let name = event_name(name)?;
        let mut driver = self.inner.try_borrow_mut().map_err(|_| busy())?;
        driver
            .listeners
            .retain(|(n, f)| !(*n == name && *f == listener));
        Ok(())
    }
}

impl LoginManager {
    /// Emits an event that did not come from the machine (bad JS arguments).
    fn emit_now(&self, event: Event) {
        let (name, payload) = payloads::event(&event);
        let listeners: Vec<Function> = match self.inner.try_borrow() {
            Ok(d) => d
                .listeners
                .iter()
                .filter(|(n, _)| *n == name)
                .map(|(_, f)| f.clone())
                .collect(),
            Err(_) => return,
        };
        for listener in listeners {
            if let Err(e) = listener.call1(&JsValue::UNDEFINED, &payload) {
                js::console_error("imlogin: an event listener threw", &e);
            }
        }
    }
}

fn event_name(name: &str) -> Result<&'static str, JsValue> {
    EVENT_NAMES
        .iter()
        .find(|n| **n == name)
        .copied()
        .ok_or_else(|| js_sys::TypeError::new("imlogin: unknown event name; use status, loginFailed, kicked, reconnecting or clients").into())
}
