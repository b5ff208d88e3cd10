//! The exported `LoginManager` class: argument checking and promises; the
//! work is done by the [`Driver`](super::driver) and its tab-group core.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

use super::device_key::DeviceKey;
use super::driver::{self, Driver, Parts};
use super::js;
use super::lifetime;
use super::network;
use super::options::{auto_login_options, login_options, Options, Persistence, SessionBinding};
use super::payloads::{self, EVENT_NAMES};
use super::storage::Store;
use crate::protocol::LoginCode;
use crate::tab_group::{Call, WireCredentials};
use crate::{Event, LoginError, LoginMachine};
use web_sys::AbortSignal;

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

/// The manager is in the middle of its own work: only possible if a
/// browser API it calls ran app code synchronously.
fn busy() -> JsValue {
    js_sys::Error::new("imlogin: the LoginManager was called while it was busy").into()
}

/// Logs in to an IM link server and keeps the session alive: manual and
/// auto login, reconnection with backoff, online/offline handling, session
/// persistence, one connection shared by all tabs, and events. See the
/// package README (API at a glance) and docs/behaviour.md.
#[wasm_bindgen]
pub struct LoginManager {
    inner: Rc<RefCell<Driver>>,
}

#[wasm_bindgen]
impl LoginManager {
    /// Creates a manager. Validates every option and throws a `TypeError`
    /// naming the field; starts no connection and no timer (it joins the
    /// app's tab group): call `autoLogin()` or `login()`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "LoginManagerOptions")] options: JsValue,
    ) -> Result<LoginManager, JsValue> {
        let options = Options::from_js(&options)?;
        let store = Store::new(&options.config.app_key, options.persistence);
        let mut config = options.config;
        config.device_id = store.device_id();
        let app_key = config.app_key.clone();
        let device_key = DeviceKey::new(&app_key, options.persistence != Persistence::None);
        config.device_binding = device_key.is_some();
        config.persist_token = options.session_binding == SessionBinding::Token;
        if device_key.is_none() && options.session_binding == SessionBinding::Device {
            js::console_warn(
                "imlogin: sessionBinding \"device\": this browser has no WebCrypto or \
                 IndexedDB for a device key, so no session is saved (see sessionBinding)",
                &JsValue::UNDEFINED,
            );
        }
        let binding = match (&device_key, options.session_binding) {
            (Some(_), _) => "device",
            (None, SessionBinding::Token) => "token",
            (None, SessionBinding::Device) => "none",
        };
        let machine = LoginMachine::new(config, js::random_u64());
        let inner = driver::start(Parts {
            machine,
            app_key,
            link_url: options.link_url,
            lbs_url: options.lbs_url,
            debug: options.debug,
            token_provider: options.token_provider,
            reconnect_delay: options.reconnect_delay,
            store,
            device_key,
            binding,
            shared_tabs: options.shared_tabs,
            online: network::is_online(),
        });
        driver::pump(&inner);
        lifetime::constructing(Rc::downgrade(&inner), || {
            LoginManager {
                inner: Rc::clone(&inner),
            }
            .into()
        });
        Ok(LoginManager { inner })
    }

    /// Makes an app call (here, or through the tab group's leader),
    /// which `signal` may abort.
    fn call(&self, call: Call, resolves_value: bool, signal: Option<AbortSignal>) -> Promise {
        let Ok(mut driver) = self.inner.try_borrow_mut() else {
            return rejected(busy());
        };
        let (promise, resolve, reject) = new_promise();
        driver.call(call, resolve, reject, resolves_value, signal);
        drop(driver);
        driver::pump(&self.inner);
        promise
    }

    /// Refuses a call whose arguments are not even strings (414), as the
    /// machine refuses bad ones: `loginFailed` fires and the promise
    /// rejects, and nothing else changes.
    fn refuse(&self, message: &'static str) -> Promise {
        let error = LoginError::new(LoginCode::BadParameter, message);
        if let Ok(mut driver) = self.inner.try_borrow_mut() {
            driver.emit_local(&Event::LoginFailed(error.clone()));
        }
        driver::pump(&self.inner);
        rejected(payloads::login_error(&error))
    }

    fn has_token_provider(&self) -> bool {
        self.inner
            .try_borrow()
            .is_ok_and(|d| d.token_provider.is_some())
    }

    /// Manual login. Resolves once logged in; rejects with a `LoginError`
    /// (414 bad arguments, 415 offline, 302/403/417/422 from the server,
    /// 408 timeout, 498 aborted by `signal`, 499 cancelled by `logout()`
    /// or a newer login). Makes at most `retryCount` attempts; nothing
    /// reconnects after a failure. With a `tokenProvider` the token may be
    /// omitted: every attempt asks the provider.
    ///
    /// An abort of `options.signal` rejects at once with 498 (its `cause`
    /// is the signal's `reason`) and stops the login: the connection
    /// attempt closes and the status becomes `"loggedOut"`; the saved
    /// session is left as it was. An already aborted signal rejects before
    /// anything starts.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn login(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] accid: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string")] token: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "LoginOptions")] options: Option<JsValue>,
    ) -> Promise {
        let options = match login_options(options.as_ref()) {
            Ok(o) => o,
            Err(e) => return rejected(e),
        };
        if let Some(aborted) = already_aborted(options.signal.as_ref()) {
            return aborted;
        }
        let token = match token.as_string() {
            None if self.has_token_provider() && token.is_undefined() => Some(String::new()),
            t => t,
        };
        let Some(accid) = accid.as_string() else {
            return self.refuse("accid must be a string");
        };
        let Some(token) = token else {
            return self.refuse("token must be a string");
        };
        self.call(
            Call::Login {
                accid,
                token,
                force: options.force,
            },
            false,
            options.signal,
        )
    }

    /// Auto login. Without credentials it resumes the session saved by an
    /// earlier successful login (or the one the tab group holds); with
    /// `{ accid, token }` — credentials your app server has just issued —
    /// it logs in with those instead, in auto mode, and saves them on
    /// success (CommsEase's "auto login with the ID issued by the server";
    /// add `force: true` to skip the device check).
    ///
    /// Settles on the first outcome: `false` at once when nothing is saved;
    /// `true` once logged in, and `true` too as soon as an attempt fails
    /// for network reasons or the browser is offline (the session is kept
    /// and resumed by itself; `status` tells where it stands); rejects on a
    /// terminal refusal (302, 403, 414, 417, 422), 498 (aborted by
    /// `signal`) or 499. Called again while a login is under way, it joins
    /// it.
    ///
    /// An abort of `options.signal` rejects at once with 498 and stops the
    /// login it started — unless another call still waits on it, or the
    /// session had logged in before (then it reconnects on); the saved
    /// session is kept. An already aborted signal rejects before anything
    /// starts.
    #[wasm_bindgen(js_name = autoLogin, unchecked_return_type = "Promise<boolean>")]
    pub fn auto_login(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "AutoLoginOptions")] options: Option<
            JsValue,
        >,
    ) -> Promise {
        let options = match auto_login_options(options.as_ref()) {
            Ok(o) => o,
            Err(e) => return rejected(e),
        };
        if let Some(aborted) = already_aborted(options.signal.as_ref()) {
            return aborted;
        }
        let call = match options.issued {
            None => {
                let saved = self
                    .inner
                    .try_borrow()
                    .ok()
                    .and_then(|d| d.store.load_session());
                Call::auto_login(saved.as_ref(), options.force)
            }
            Some((accid, token)) => {
                let token = match token {
                    Some(t) => t,
                    None if self.has_token_provider() => String::new(),
                    None => return self.refuse("token must be a string"),
                };
                Call::AutoLoginWith {
                    credentials: WireCredentials::new(accid, token),
                    force: options.force,
                }
            }
        };
        self.call(call, true, options.signal)
    }

    /// Ends another live session of this account (one of `clients`).
    /// Rejects with `LoginError` 404 when there is no such session, 415 when
    /// not connected.
    #[wasm_bindgen(js_name = kickClient, unchecked_return_type = "Promise<void>")]
    pub fn kick_client(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] client_id: JsValue,
    ) -> Promise {
        match client_id.as_string() {
            Some(client_id) => self.call(Call::KickClient { client_id }, false, None),
            None => rejected(payloads::login_error(&LoginError::new(
                LoginCode::BadParameter,
                "clientId must be a string",
            ))),
        }
    }

    /// Logs out (every tab of the app, with shared tabs): tells the server,
    /// closes, stops reconnecting, clears the persisted session (the device
    /// id stays), and rejects a pending login with 499.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn logout(&self) -> Promise {
        self.call(Call::Logout, false, None)
    }

    /// The current status: `"loggedOut"`, `"connecting"`, `"loggedIn"`,
    /// `"waiting"` or `"offline"` (with shared tabs, the group's).
    #[wasm_bindgen(getter, unchecked_return_type = "LoginStatus")]
    pub fn status(&self) -> Result<String, JsValue> {
        let driver = self.inner.try_borrow().map_err(|_| busy())?;
        Ok(driver.core().status().as_str().to_owned())
    }

    /// The accid being logged in with or logged in (lower case), if any.
    #[wasm_bindgen(getter)]
    pub fn accid(&self) -> Result<Option<String>, JsValue> {
        let driver = self.inner.try_borrow().map_err(|_| busy())?;
        Ok(driver.core().accid().map(str::to_owned))
    }

    /// The device id the server sees for this browser profile (kept
    /// across logouts; with shared tabs, the group's).
    #[wasm_bindgen(getter, js_name = deviceId)]
    pub fn device_id(&self) -> Result<String, JsValue> {
        let driver = self.inner.try_borrow().map_err(|_| busy())?;
        Ok(driver.core().device_id().to_owned())
    }

    /// What the saved session is bound to in this browser: `"device"` (a
    /// resume ticket bound to this profile's device key, never the token),
    /// `"token"` (no device key here, and `sessionBinding: "token"` allowed
    /// the token record) or `"none"` (no device key here and
    /// `sessionBinding: "device"`: nothing is saved, every page load needs
    /// a login).
    #[wasm_bindgen(getter, js_name = sessionBinding, unchecked_return_type = "\"device\" | \"token\" | \"none\"")]
    pub fn session_binding(&self) -> Result<String, JsValue> {
        let driver = self.inner.try_borrow().map_err(|_| busy())?;
        Ok(driver.binding.to_owned())
    }

    /// The account's other live sessions: a frozen array, the same object
    /// on every read until the list changes (so it suits React's
    /// `useSyncExternalStore`).
    #[wasm_bindgen(getter, unchecked_return_type = "readonly Client[]")]
    pub fn clients(&self) -> Result<JsValue, JsValue> {
        let mut driver = self.inner.try_borrow_mut().map_err(|_| busy())?;
        let driver = &mut *driver;
        Ok(driver.views.clients(driver.core.clients()))
    }

    /// The last kick this manager reported (`kicked`), with `at` in ms
    /// since the Unix epoch: `{ reason, clientType?, at }`, or `undefined`
    /// if there was none. It stays readable after the event, until the
    /// next kick: a frozen object, the same on every read until then.
    #[wasm_bindgen(getter, js_name = lastKick, unchecked_return_type = "LastKick | undefined")]
    pub fn last_kick(&self) -> Result<JsValue, JsValue> {
        let mut driver = self.inner.try_borrow_mut().map_err(|_| busy())?;
        let driver = &mut *driver;
        Ok(driver
            .views
            .last_kick(driver.core.last_kick(), js::performance_now()))
    }

    /// Adds a listener for `"status"`, `"loginFailed"`, `"kicked"`,
    /// `"reconnecting"` or `"clients"` (typed in `LoginManagerEvents`);
    /// returns a function that removes it. Adding the same function for
    /// the same event again changes nothing.
    #[wasm_bindgen(skip_typescript)]
    pub fn on(&self, name: &str, listener: Function) -> Result<Function, JsValue> {
        self.listen(name, listener, false)
    }

    /// Like `on`, but the listener is removed as it is called the first
    /// time; returns a function that removes it before then.
    #[wasm_bindgen(skip_typescript)]
    pub fn once(&self, name: &str, listener: Function) -> Result<Function, JsValue> {
        self.listen(name, listener, true)
    }

    fn listen(&self, name: &str, listener: Function, once: bool) -> Result<Function, JsValue> {
        let name = event_name(name)?;
        let mut driver = self.inner.try_borrow_mut().map_err(|_| busy())?;
        let id = driver.listeners.add(name, listener, once);
        let weak = Rc::downgrade(&self.inner);
        let unsubscribe = Closure::<dyn Fn()>::new(move || {
            let Some(rc) = weak.upgrade() else { return };
            if let Ok(mut driver) = rc.try_borrow_mut() {
                driver.listeners.remove_id(id);
            };
        });
        Ok(unsubscribe.into_js_value().unchecked_into())
    }

    /// Removes a listener added with `on` or `once`.
    #[wasm_bindgen(skip_typescript)]
    pub fn off(&self, name: &str, listener: Function) -> Result<(), JsValue> {
        let name = event_name(name)?;
        let mut driver = self.inner.try_borrow_mut().map_err(|_| busy())?;
        driver.listeners.remove(name, &listener);
        Ok(())
    }
}

/// A promise rejected with 498 when `signal` has already aborted.
fn already_aborted(signal: Option<&AbortSignal>) -> Option<Promise> {
    let signal = signal.filter(|s| s.aborted())?;
    let error = LoginError::from_code(LoginCode::Aborted);
    Some(rejected(payloads::login_error_caused_by(
        &error,
        Some(&signal.reason()),
    )))
}

fn event_name(name: &str) -> Result<&'static str, JsValue> {
    EVENT_NAMES
        .iter()
        .find(|n| **n == name)
        .copied()
        .ok_or_else(|| {
            js_sys::TypeError::new(
            "imlogin: unknown event name; use status, loginFailed, kicked, reconnecting or clients",
        )
        .into()
        })
}
