//! The exported `LoginManager` class: argument checking and promises; the
//! work is done by the [`Driver`](super::driver).

use std::cell::RefCell;
use std::rc::Rc;

use imlogin_protocol::LoginCode;
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

use super::driver::{self, Driver, Parts};
use super::js;
use super::network;
use super::options::{force_option, Options};
use super::payloads::{self, EVENT_NAMES};
use super::storage::Store;
use crate::{Event, LoginError, LoginMachine, TabCall};

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

fn busy() -> JsValue {
    js_sys::Error::new(
        "imlogin: the LoginManager was called from inside its own reconnectDelay hook",
    )
    .into()
}

/// Logs in to an IM link server and keeps the session alive: manual and
/// auto login, reconnection with backoff, online/offline handling, session
/// persistence, one connection shared by all tabs, and events. See the
/// package README and DESIGN §5.
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
        let inner = driver::start(Parts {
            machine,
            app_key,
            link_url: options.link_url,
            lbs_url: options.lbs_url,
            debug: options.debug,
            token_provider: options.token_provider,
            store,
            shared_tabs: options.shared_tabs,
        });
        Ok(LoginManager { inner })
    }

    /// Runs (or forwards to the tab group's leader) an app call.
    fn call(&self, call: TabCall, resolves_value: bool) -> Promise {
        let Ok(mut driver) = self.inner.try_borrow_mut() else {
            return rejected(busy());
        };
        let (promise, resolve, reject) = new_promise();
        driver.dispatch(call, resolve, reject, resolves_value);
        drop(driver);
        driver::pump(&self.inner);
        promise
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
        #[wasm_bindgen(unchecked_optional_param_type = "string")] token: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "LoginOptions")] options: Option<JsValue>,
    ) -> Promise {
        let force = match force_option(options.as_ref()) {
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
            if let Ok(mut driver) = self.inner.try_borrow_mut() {
                driver.emit_local(&Event::LoginFailed(error.clone()));
            }
            driver::pump(&self.inner);
            return rejected(payloads::login_error(&error));
        };
        self.call(
            TabCall::Login {
                accid,
                token,
                force,
            },
            false,
        )
    }

    /// Auto login with the session persisted by an earlier successful login.
    /// Settles on the first outcome: `false` at once when none is persisted;
    /// `true` once logged in, and `true` too as soon as an attempt fails for
    /// network reasons or the browser is offline (the session is kept and
    /// resumed by itself; `status` tells where it stands); rejects on a
    /// terminal refusal (302, 403, 414, 417, 422) or 499. Called again while
    /// a login is under way, it joins it.
    #[wasm_bindgen(js_name = autoLogin, unchecked_return_type = "Promise<boolean>")]
    pub fn auto_login(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "LoginOptions")] options: Option<JsValue>,
    ) -> Promise {
        match force_option(options.as_ref()) {
            Ok(force) => self.call(TabCall::AutoLogin { force }, true),
            Err(e) => rejected(e),
        }
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
            Some(client_id) => self.call(TabCall::KickClient { client_id }, false),
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
        self.call(TabCall::Logout, false)
    }

    /// The current status: `"loggedOut"`, `"connecting"`, `"loggedIn"`,
    /// `"waiting"` or `"offline"`.
    #[wasm_bindgen(getter, unchecked_return_type = "LoginStatus")]
    pub fn status(&self) -> Result<String, JsValue> {
        let driver = self.inner.try_borrow().map_err(|_| busy())?;
        Ok(driver.status().as_str().to_owned())
    }

    /// The accid being logged in with or logged in (lower case), if any.
    #[wasm_bindgen(getter)]
    pub fn accid(&self) -> Result<Option<String>, JsValue> {
        let driver = self.inner.try_borrow().map_err(|_| busy())?;
        Ok(driver.accid())
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
        Ok(payloads::clients(driver.clients()))
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
