//! Headless-browser tests of the JS API's conventions against the real
//! reference server: `on` returns an unsubscribe function, `once`, the
//! `signal` of `login` and `autoLogin` (aborted before and during the
//! call), errors of the package's `LoginError` class, and getters that
//! return the same object until the value changes (`clients`, `lastKick`).
//! Run with scripts/browser-tests.sh (it starts the server and passes its
//! URL at compile time).
#![cfg(target_arch = "wasm32")]

mod browser_support;

use std::cell::Cell;
use std::rc::Rc;

use browser_support::*;
use imlogin::LoginManager;
use js_sys::{Function, Object};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::AbortController;

wasm_bindgen_test_configure!(run_in_browser);

/// A listener that counts its calls.
fn counter() -> (Rc<Cell<u32>>, Function) {
    let count = Rc::new(Cell::new(0));
    let seen = count.clone();
    let listener = Closure::<dyn Fn(JsValue)>::new(move |_| seen.set(seen.get() + 1));
    (count, listener.into_js_value().unchecked_into())
}

/// A call refused before any traffic (414): `loginFailed` fires at once.
async fn refused_login(m: &LoginManager) {
    let e = settle(m.login(JsValue::from(42), "t".into(), None))
        .await
        .expect_err("a number accid is refused");
    assert_login_error(&e, 414);
}

/// `{ signal }` of a new controller.
fn with_signal(controller: &AbortController, extra: &[(&str, JsValue)]) -> JsValue {
    let mut pairs = vec![("signal", JsValue::from(controller.signal()))];
    pairs.extend(extra.iter().cloned());
    object(&pairs)
}

/// The name of the class `value` was made by.
fn class_name(value: &JsValue) -> String {
    get_str(&get(value, "constructor"), "name")
}

fn assert_aborted(e: &JsValue, reason: &JsValue) {
    assert_login_error(e, 498);
    assert_eq!(get(e, "retryable").as_bool(), Some(false));
    assert!(
        Object::is(&get(e, "cause"), reason),
        "cause is the signal's reason: {}",
        stringify(&get(e, "cause"))
    );
}

#[wasm_bindgen_test]
async fn on_returns_an_unsubscribe_function_that_stops_delivery() {
    clear_storage();
    let m = device(&[]);
    let (count, listener) = counter();
    let unsubscribe: Function = m.on("loginFailed", listener.clone()).unwrap();
    refused_login(&m).await;
    assert_eq!(count.get(), 1);

    unsubscribe.call0(&JsValue::UNDEFINED).unwrap();
    refused_login(&m).await;
    assert_eq!(count.get(), 1, "no delivery after unsubscribing");
    // A second call is harmless, and the listener can be added again.
    unsubscribe.call0(&JsValue::UNDEFINED).unwrap();
    let again: Function = m.on("loginFailed", listener.clone()).unwrap();
    refused_login(&m).await;
    assert_eq!(count.get(), 2);
    // The old unsubscribe function does not remove the new registration
    // (it already ran), `off` still does.
    unsubscribe.call0(&JsValue::UNDEFINED).unwrap();
    refused_login(&m).await;
    assert_eq!(count.get(), 3);
    m.off("loginFailed", listener).unwrap();
    refused_login(&m).await;
    assert_eq!(count.get(), 3);
    again.call0(&JsValue::UNDEFINED).unwrap();
}

#[wasm_bindgen_test]
async fn once_fires_once_and_its_unsubscribe_cancels_it_before() {
    clear_storage();
    let m = device(&[]);
    let (count, listener) = counter();
    m.once("loginFailed", listener).unwrap();
    refused_login(&m).await;
    refused_login(&m).await;
    assert_eq!(count.get(), 1, "once fires once");

    let (never, listener) = counter();
    let unsubscribe = m.once("loginFailed", listener).unwrap();
    unsubscribe.call0(&JsValue::UNDEFINED).unwrap();
    refused_login(&m).await;
    assert_eq!(never.get(), 0);
    assert_eq!(count.get(), 1);
}

#[wasm_bindgen_test]
async fn an_aborted_signal_rejects_login_and_auto_login_at_once_with_498_and_starts_nothing() {
    clear_storage();
    let (accid, token) = create_account().await;
    let m = device(&[]);
    let rec = Recorder::new(&m);
    let controller = AbortController::new().unwrap();
    let reason = JsValue::from_str("the user went elsewhere");
    controller.abort_with_reason(&reason);

    let e = settle(m.login(
        accid.as_str().into(),
        token.as_str().into(),
        Some(with_signal(&controller, &[])),
    ))
    .await
    .expect_err("an aborted signal rejects");
    assert_aborted(&e, &reason);
    let issued = with_signal(
        &controller,
        &[
            ("accid", accid.as_str().into()),
            ("token", token.as_str().into()),
        ],
    );
    let e = settle(m.auto_login(Some(issued)))
        .await
        .expect_err("an aborted signal rejects autoLogin too");
    assert_aborted(&e, &reason);

    assert_eq!(m.status().unwrap(), "loggedOut");
    sleep(QUIET_MS).await;
    assert!(rec.statuses().is_empty(), "{:?}", rec.statuses());
    assert!(rec.of("loginFailed").is_empty(), "an abort is no failure");
    assert!(
        attempts(&accid).await.is_empty(),
        "nothing reached the server"
    );
}

#[wasm_bindgen_test]
async fn aborting_a_login_under_way_rejects_498_closes_the_attempt_and_leaves_no_session() {
    clear_storage();
    let (accid, token) = create_account().await;
    let m = device(&[]);
    let rec = Recorder::new(&m);
    let controller = AbortController::new().unwrap();
    let login = m.login(
        accid.as_str().into(),
        token.as_str().into(),
        Some(with_signal(&controller, &[])),
    );
    assert_eq!(m.status().unwrap(), "connecting");
    controller.abort();
    let e = settle(login).await.expect_err("the abort rejects");
    assert_aborted(&e, &controller.signal().reason());
    assert_eq!(m.status().unwrap(), "loggedOut");

    sleep(QUIET_MS).await;
    assert_eq!(m.status().unwrap(), "loggedOut", "nothing reconnects");
    assert!(
        sessions(&accid).await.is_empty(),
        "no session on the server"
    );
    assert_eq!(rec.statuses(), ["connecting", "loggedOut"]);
    assert!(rec.of("loginFailed").is_empty());

    // An abort after the call settled changes nothing.
    let controller = AbortController::new().unwrap();
    let login = m.login(
        accid.as_str().into(),
        token.as_str().into(),
        Some(with_signal(&controller, &[])),
    );
    settle(login).await.expect("logs in");
    controller.abort();
    sleep(500).await;
    assert_eq!(m.status().unwrap(), "loggedIn");
    settle(m.logout()).await.expect("logs out");
}

#[wasm_bindgen_test]
async fn aborting_an_auto_login_under_way_stops_it_and_keeps_the_saved_session() {
    clear_storage();
    let (accid, token) = create_account().await;
    let first = manager(&[]);
    login_ok(&first, &accid, &token).await;
    drop(first);
    let record = local_get(&session_key()).expect("a saved session");

    let m = manager(&[]);
    let controller = AbortController::new().unwrap();
    let auto = m.auto_login(Some(with_signal(&controller, &[])));
    assert_eq!(m.status().unwrap(), "connecting");
    controller.abort();
    let e = settle(auto).await.expect_err("the abort rejects");
    assert_login_error(&e, 498);
    sleep(QUIET_MS).await;
    assert_eq!(m.status().unwrap(), "loggedOut");
    assert_eq!(
        local_get(&session_key()),
        Some(record),
        "the record is kept"
    );
}

#[wasm_bindgen_test]
async fn rejections_and_login_failed_payloads_are_of_the_login_error_class() {
    clear_storage();
    let (accid, _token) = create_account().await;
    let m = device(&[]);
    let rec = Recorder::new(&m);
    let e = settle(m.login(accid.as_str().into(), "wrong".into(), None))
        .await
        .expect_err("a wrong token rejects");
    assert_login_error(&e, 302);
    assert_eq!(class_name(&e), "LoginError");
    let failed = rec.wait_for("loginFailed").await;
    assert!(
        Object::is(&get(&failed, "constructor"), &get(&e, "constructor")),
        "one class for rejections and events"
    );
    assert!(e.is_instance_of::<js_sys::Error>());
    assert!(
        get(&e, "stack").as_string().is_some(),
        "a real Error has a stack"
    );
    assert!(
        !Object::keys(e.unchecked_ref::<Object>()).includes(&"retryAfterMs".into(), 0),
        "retryAfterMs only when the server gave one"
    );
}

#[wasm_bindgen_test]
async fn clients_and_last_kick_are_the_same_object_until_they_change() {
    clear_storage();
    let (accid, token) = create_account().await;
    let a = device(&[]);
    let rec = Recorder::new(&a);
    login_ok(&a, &accid, &token).await;
    let empty = a.clients().unwrap();
    assert!(Object::is(&empty, &a.clients().unwrap()), "same empty list");
    assert!(Object::is_frozen(empty.unchecked_ref::<Object>()));

    let b = device(&[]);
    login_ok(&b, &accid, &token).await;
    let event = rec.wait_for("clients").await;
    let one = a.clients().unwrap();
    assert!(!Object::is(&one, &empty), "a new list after the change");
    assert_eq!(js_sys::Array::from(&one).length(), 1);
    assert!(
        Object::is(&one, &a.clients().unwrap()),
        "then the same again"
    );
    assert!(
        Object::is(&get(&event, "clients"), &one),
        "the event's list is the getter's"
    );
    assert!(Object::is_frozen(one.unchecked_ref::<Object>()));
    assert!(Object::is_frozen(
        js_sys::Array::from(&one).get(0).unchecked_ref::<Object>()
    ));

    assert!(a.last_kick().unwrap().is_undefined());
    let b_list = b.clients().unwrap();
    let a_id = get_str(&js_sys::Array::from(&b_list).get(0), "clientId");
    settle(b.kick_client(a_id.into())).await.expect("kicks a");
    rec.wait_for("kicked").await;
    let kick = a.last_kick().unwrap();
    assert!(kick.is_object());
    sleep(50).await;
    assert!(Object::is(&kick, &a.last_kick().unwrap()), "same lastKick");
    settle(b.logout()).await.expect("logs out");
}
