//! Shared helpers for the headless-browser tests (tests/browser_*.rs):
//! the reference server's address (baked in at compile time by
//! scripts/browser-tests.sh), its `/_test/*` hooks over `fetch`, options,
//! event recording, polling with generous deadlines, storage and
//! online/offline events.
//!
//! Nothing here asserts timings: waits poll every 50 ms up to
//! [`DEADLINE_MS`], and "nothing happens" checks watch for [`QUIET_MS`].
#![allow(dead_code)] // each test binary uses a different subset

use std::cell::RefCell;
use std::rc::Rc;

use imlogin::LoginManager;
use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The longest any wait polls before the test fails.
pub const DEADLINE_MS: f64 = 10_000.0;
/// How long "nothing happens" is watched.
pub const QUIET_MS: u32 = 3_000;
const POLL_MS: u32 = 50;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn js_fetch(url: &str, init: &JsValue) -> Promise;

    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &Function, ms: u32) -> JsValue;

    /// `new Event(name)`.
    type Event;
    #[wasm_bindgen(constructor)]
    fn new(name: &str) -> Event;

    /// `window.dispatchEvent(event)`.
    #[wasm_bindgen(js_name = dispatchEvent)]
    fn dispatch_event(event: &Event) -> bool;
}

/// The reference server's base URL, e.g. `http://127.0.0.1:40123`.
pub fn server() -> &'static str {
    match option_env!("IMLOGIN_TEST_SERVER") {
        Some(url) if !url.is_empty() => url,
        _ => panic!(
            "IMLOGIN_TEST_SERVER was not set when these tests were compiled: \
             run them with scripts/browser-tests.sh, which starts the reference \
             server and passes its URL"
        ),
    }
}

/// The app key the server was started with.
pub fn app_key() -> &'static str {
    match option_env!("IMLOGIN_TEST_APP_KEY") {
        Some(key) if !key.is_empty() => key,
        _ => panic!(
            "IMLOGIN_TEST_APP_KEY was not set when these tests were compiled: \
             run them with scripts/browser-tests.sh"
        ),
    }
}

/// The server's link URL (`ws://…/link`).
pub fn link_url() -> String {
    let base = server();
    let rest = base
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("IMLOGIN_TEST_SERVER must be http://…, got {base}"));
    format!("ws://{rest}/link")
}

/// The localStorage/sessionStorage key of the session record.
pub fn session_key() -> String {
    format!("imlogin:{}:session", app_key())
}

/// The localStorage key of the device id.
pub fn device_key() -> String {
    format!("imlogin:{}:device", app_key())
}

// ----- time -----

/// Resolves after `ms` (a real timer: the page's event loop keeps running).
pub async fn sleep(ms: u32) {
    let promise = Promise::new(&mut |resolve, _| {
        set_timeout(&resolve, ms);
    });
    JsFuture::from(promise).await.unwrap();
}

/// Polls `check` every 50 ms until it holds; fails after [`DEADLINE_MS`]
/// naming `what`.
pub async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let start = js_sys::Date::now();
    loop {
        if check() {
            return;
        }
        if js_sys::Date::now() - start > DEADLINE_MS {
            panic!("timed out after {DEADLINE_MS} ms waiting for: {what}");
        }
        sleep(POLL_MS).await;
    }
}

/// Polls the server (an async `probe`) until `check` holds on its answer.
pub async fn wait_for_server<T: std::fmt::Debug>(
    what: &str,
    mut probe: impl AsyncFnMut() -> T,
    mut check: impl FnMut(&T) -> bool,
) -> T {
    let start = js_sys::Date::now();
    loop {
        let value = probe().await;
        if check(&value) {
            return value;
        }
        if js_sys::Date::now() - start > DEADLINE_MS {
            panic!("timed out after {DEADLINE_MS} ms waiting for: {what}; last: {value:?}");
        }
        sleep(POLL_MS).await;
    }
}

/// Settles a promise: `Ok(value)` or `Err(reason)`.
pub async fn settle(promise: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(promise).await
}

// ----- the server's test hooks -----

async fn fetch_json(method: &str, path: &str) -> JsValue {
    let init = Object::new();
    Reflect::set(&init, &"method".into(), &method.into()).unwrap();
    let url = format!("{}{}", server(), path);
    let response = JsFuture::from(js_fetch(&url, &init))
        .await
        .unwrap_or_else(|e| panic!("fetch {method} {url} failed: {e:?}"));
    let json: Function = Reflect::get(&response, &"json".into())
        .unwrap()
        .unchecked_into();
    let body: Promise = json.call0(&response).unwrap().unchecked_into();
    let value = JsFuture::from(body)
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: body is not JSON: {e:?}"));
    assert_eq!(
        get_f64(&value, "code"),
        Some(200.0),
        "{method} {url} answered {}",
        stringify(&value)
    );
    value
}

/// A new account with a random accid: `(accid, token)`.
pub async fn create_account() -> (String, String) {
    let v = fetch_json("POST", "/_test/accounts").await;
    (get_str(&v, "accid"), get_str(&v, "token"))
}

/// Replaces the account's token as the server API's `update.action` does.
pub async fn set_token(accid: &str, token: &str) {
    fetch_json("POST", &format!("/_test/token?accid={accid}&token={token}")).await;
}

/// One live session as `/_test/sessions` lists it.
#[derive(Debug, Clone)]
pub struct ServerSession {
    pub client_id: String,
    pub device_id: String,
    pub mode: String,
    pub force: bool,
}

/// The account's live sessions on the server.
pub async fn sessions(accid: &str) -> Vec<ServerSession> {
    let v = fetch_json("GET", &format!("/_test/sessions?accid={accid}")).await;
    array(&v, "sessions")
        .iter()
        .map(|s| ServerSession {
            client_id: get_str(&s, "clientId"),
            device_id: get_str(&s, "deviceId"),
            mode: get_str(&s, "mode"),
            force: Reflect::get(&s, &"force".into())
                .unwrap()
                .as_bool()
                .unwrap(),
        })
        .collect()
}

/// One login attempt as `/_test/attempts` lists it.
#[derive(Debug, Clone)]
pub struct ServerAttempt {
    pub mode: String,
    pub device_id: String,
    pub code: u16,
}

/// Every login attempt for the account the server has seen, oldest first.
pub async fn attempts(accid: &str) -> Vec<ServerAttempt> {
    let v = fetch_json("GET", &format!("/_test/attempts?accid={accid}")).await;
    array(&v, "attempts")
        .iter()
        .map(|a| ServerAttempt {
            mode: get_str(&a, "mode"),
            device_id: get_str(&a, "deviceId"),
            code: get_f64(&a, "code").unwrap() as u16,
        })
        .collect()
}

/// Closes every link socket on the server (close code 1012).
pub async fn drop_all_links() {
    fetch_json("POST", "/_test/drop").await;
}

/// Makes link handshakes fail with HTTP 503 for `ms` (0 ends a pause).
pub async fn pause_links(ms: u32) {
    fetch_json("POST", &format!("/_test/pause?ms={ms}")).await;
}

// ----- JS values -----

pub fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub fn get_str(value: &JsValue, key: &str) -> String {
    get(value, key)
        .as_string()
        .unwrap_or_else(|| panic!("{key} is not a string in {}", stringify(value)))
}

pub fn get_f64(value: &JsValue, key: &str) -> Option<f64> {
    get(value, key).as_f64()
}

fn array(value: &JsValue, key: &str) -> Array {
    get(value, key)
        .dyn_into()
        .unwrap_or_else(|_| panic!("{key} is not an array in {}", stringify(value)))
}

/// `JSON.stringify(value)`, for messages.
pub fn stringify(value: &JsValue) -> String {
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| format!("{value:?}"))
}

/// An options object from `(key, value)` pairs.
pub fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let obj = Object::new();
    for (k, v) in pairs {
        Reflect::set(&obj, &JsValue::from_str(k), v).unwrap();
    }
    obj.into()
}

/// The options every test starts from: this server, the test app key,
/// quick reconnects, plus `extra` (which may override).
///
/// `tabs: "perTab"`: these tests put several managers of one app in one
/// page to play several devices; with the default `"shared"` they would
/// share one connection instead (the tab-sharing tests run in
/// tests/e2e/tabs.test.mjs, with real tabs).
pub fn options(extra: &[(&str, JsValue)]) -> JsValue {
    let backoff = object(&[("initialMs", 200.into()), ("maxMs", 1_000.into())]);
    let obj = object(&[
        ("appKey", app_key().into()),
        ("linkUrl", link_url().into()),
        ("backoff", backoff),
        ("tabs", "perTab".into()),
    ]);
    for (k, v) in extra {
        Reflect::set(&obj, &JsValue::from_str(k), v).unwrap();
    }
    obj
}

/// A manager with [`options`]`(extra)`; panics if the constructor throws.
pub fn manager(extra: &[(&str, JsValue)]) -> LoginManager {
    LoginManager::new(options(extra))
        .unwrap_or_else(|e| panic!("the constructor threw: {}", error_text(&e)))
}

/// A manager whose session record and device id live nowhere (a fresh
/// device id per manager: "another device").
pub fn device(extra: &[(&str, JsValue)]) -> LoginManager {
    let mut all = vec![("persistence", JsValue::from_str("none"))];
    all.extend(extra.iter().cloned());
    manager(&all)
}

/// `"Name: message"` of a thrown value.
pub fn error_text(e: &JsValue) -> String {
    format!(
        "{}: {}",
        get(e, "name").as_string().unwrap_or_default(),
        get(e, "message")
            .as_string()
            .unwrap_or_else(|| stringify(e))
    )
}

/// Checks that `e` is a `LoginError` with `code` and well-typed fields.
pub fn assert_login_error(e: &JsValue, code: u16) {
    assert!(
        e.is_instance_of::<js_sys::Error>(),
        "not an Error: {}",
        stringify(e)
    );
    assert_eq!(get(e, "name").as_string().as_deref(), Some("LoginError"));
    assert_eq!(
        get_f64(e, "code"),
        Some(f64::from(code)),
        "{}",
        error_text(e)
    );
    assert!(
        get(e, "message").as_string().is_some_and(|m| !m.is_empty()),
        "message missing: {}",
        error_text(e)
    );
    assert!(
        get(e, "retryable").as_bool().is_some(),
        "retryable is not a boolean"
    );
}

// ----- manager helpers -----

/// Logs in and fails the test on rejection.
pub async fn login_ok(m: &LoginManager, accid: &str, token: &str) {
    if let Err(e) = settle(m.login(accid.into(), token.into(), None)).await {
        panic!("login of {accid} rejected: {}", error_text(&e));
    }
    assert_eq!(m.status().unwrap(), "loggedIn");
}

/// Waits for the manager's status.
pub async fn wait_status(m: &LoginManager, status: &str) {
    wait_until(&format!("status {status}"), || {
        m.status().unwrap() == status
    })
    .await;
}

/// Every event the manager emitted, in order, with its payload.
pub struct Recorder {
    events: Rc<RefCell<Vec<(&'static str, JsValue)>>>,
    _listeners: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl Recorder {
    /// Listens to all five events of `m`.
    pub fn new(m: &LoginManager) -> Recorder {
        let events = Rc::new(RefCell::new(Vec::new()));
        let mut listeners = Vec::new();
        for name in ["status", "loginFailed", "kicked", "reconnecting", "clients"] {
            let sink = events.clone();
            let listener = Closure::<dyn FnMut(JsValue)>::new(move |payload| {
                sink.borrow_mut().push((name, payload))
            });
            let function: &Function = listener.as_ref().unchecked_ref();
            m.on(name, function.clone()).unwrap();
            listeners.push(listener);
        }
        Recorder {
            events,
            _listeners: listeners,
        }
    }

    /// The payloads of every `name` event so far.
    pub fn of(&self, name: &str) -> Vec<JsValue> {
        self.events
            .borrow()
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, p)| p.clone())
            .collect()
    }

    /// The `status` events so far, as strings.
    pub fn statuses(&self) -> Vec<String> {
        self.of("status")
            .iter()
            .map(|s| s.as_string().unwrap())
            .collect()
    }

    /// Waits for at least one `name` event; returns the last.
    pub async fn wait_for(&self, name: &str) -> JsValue {
        wait_until(&format!("a {name} event"), || !self.of(name).is_empty()).await;
        self.of(name).pop().unwrap()
    }

    /// Forgets the events seen so far.
    pub fn clear(&self) {
        self.events.borrow_mut().clear();
    }
}

// ----- the page -----

fn window() -> web_sys::Window {
    web_sys::window().expect("these tests run in a browser window")
}

/// Empties localStorage and sessionStorage (put back first if a test
/// broke them): every test starts clean.
pub fn clear_storage() {
    restore_storage(None);
    let w = window();
    w.local_storage().unwrap().unwrap().clear().unwrap();
    w.session_storage().unwrap().unwrap().clear().unwrap();
}

pub fn local_get(key: &str) -> Option<String> {
    window()
        .local_storage()
        .unwrap()
        .unwrap()
        .get_item(key)
        .unwrap()
}

pub fn local_set(key: &str, value: &str) {
    window()
        .local_storage()
        .unwrap()
        .unwrap()
        .set_item(key, value)
        .unwrap()
}

/// The device id as stored (a JSON string under [`device_key`]).
pub fn stored_device_id() -> Option<String> {
    let text = local_get(&device_key())?;
    let value = js_sys::JSON::parse(&text)
        .unwrap_or_else(|_| panic!("the stored device id is not JSON: {text:?}"));
    Some(
        value
            .as_string()
            .unwrap_or_else(|| panic!("the stored device id is not a JSON string: {text}")),
    )
}

/// What `window.localStorage` (or `sessionStorage`) does while a test has
/// replaced it.
#[derive(Debug, Clone, Copy)]
pub enum BrokenStorage {
    /// Reading the property throws a `SecurityError` (storage disabled by
    /// the user, a sandboxed frame).
    Throws,
    /// The property is `null` (no Web Storage at all).
    Missing,
}

thread_local! {
    /// The original property descriptors of the storages a test broke,
    /// until they are put back.
    static BROKEN: RefCell<Vec<(&'static str, JsValue)>> = const { RefCell::new(Vec::new()) };
}

/// Replaces `window[property]` (`"localStorage"` or `"sessionStorage"`)
/// until the guard drops, or until the next test's [`clear_storage`] (a
/// test that fails midway drops nothing).
pub struct StorageOverride {
    property: &'static str,
}

impl StorageOverride {
    pub fn new(property: &'static str, how: BrokenStorage) -> StorageOverride {
        let w: Object = window().unchecked_into();
        let original = Reflect::get_own_property_descriptor(&w, &property.into())
            .expect("a property descriptor");
        BROKEN.with(|b| b.borrow_mut().push((property, original)));
        let getter = match how {
            BrokenStorage::Throws => Function::new_no_args(
                "throw new DOMException('The operation is insecure.', 'SecurityError')",
            ),
            BrokenStorage::Missing => Function::new_no_args("return null"),
        };
        let descriptor = Object::new();
        Reflect::set(&descriptor, &"get".into(), &getter).unwrap();
        Reflect::set(&descriptor, &"configurable".into(), &true.into()).unwrap();
        let redefined = Reflect::define_property(&w, &property.into(), &descriptor);
        assert_eq!(redefined, Ok(true), "window.{property} can be redefined");
        let now = Reflect::get(&w, &property.into());
        match how {
            BrokenStorage::Throws => assert!(now.is_err(), "window.{property} throws"),
            BrokenStorage::Missing => assert_eq!(now, Ok(JsValue::NULL)),
        }
        StorageOverride { property }
    }
}

impl Drop for StorageOverride {
    fn drop(&mut self) {
        restore_storage(Some(self.property));
    }
}

/// Puts back the storage `property` a test broke (every one: `None`).
fn restore_storage(property: Option<&str>) {
    let w: Object = window().unchecked_into();
    BROKEN.with(|b| {
        b.borrow_mut().retain(|(p, original)| {
            if property.is_some_and(|want| want != *p) {
                return true;
            }
            if original.is_undefined() {
                Reflect::delete_property(&w, &(*p).into()).unwrap();
            } else {
                Reflect::define_property(&w, &(*p).into(), original.unchecked_ref()).unwrap();
            }
            false
        })
    });
}

pub fn session_storage_get(key: &str) -> Option<String> {
    window()
        .session_storage()
        .unwrap()
        .unwrap()
        .get_item(key)
        .unwrap()
}

/// Fires `new Event(name)` on window (`"offline"`, `"online"`).
pub fn dispatch_window_event(name: &str) {
    dispatch_event(&Event::new(name));
}
