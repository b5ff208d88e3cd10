//! The app's hooks against the real server: `tokenProvider` is asked once
//! per connection attempt (a string or a promise of one), and
//! `reconnectDelay` decides the backoff.
#![cfg(target_arch = "wasm32")]

mod browser_support;

use std::cell::Cell;
use std::rc::Rc;

use browser_support::*;
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn token_provider_is_asked_before_every_attempt() {
    clear_storage();
    let (accid, token) = create_account().await;
    let calls = Rc::new(Cell::new(0u32));
    let seen = calls.clone();
    let expected = accid.clone();
    let provider = Closure::<dyn FnMut(JsValue) -> JsValue>::new(move |asked: JsValue| {
        assert_eq!(asked.as_string().as_deref(), Some(expected.as_str()));
        seen.set(seen.get() + 1);
        // Every other answer is a promise.
        if seen.get() % 2 == 0 {
            Promise::resolve(&JsValue::from_str(&token)).into()
        } else {
            JsValue::from_str(&token)
        }
    });
    let function: &Function = provider.as_ref().unchecked_ref();
    let m = manager(&[("tokenProvider", function.clone().into())]);
    // No token: the provider gives one.
    if let Err(e) = settle(m.login(accid.as_str().into(), JsValue::UNDEFINED, None)).await {
        panic!("login with a tokenProvider rejected: {}", error_text(&e));
    }
    assert_eq!(calls.get(), 1, "one call for one attempt");
    drop_all_links().await;
    wait_until("a reconnection asked again", || calls.get() == 2).await;
    wait_status(&m, "loggedIn").await;
    assert_eq!(sessions(&accid).await.len(), 1);
}

#[wasm_bindgen_test]
async fn a_failing_token_provider_is_retried_and_never_reaches_the_server() {
    clear_storage();
    let (accid, token) = create_account().await;
    let calls = Rc::new(Cell::new(0u32));
    let seen = calls.clone();
    let provider = Closure::<dyn FnMut(JsValue) -> JsValue>::new(move |_| {
        seen.set(seen.get() + 1);
        match seen.get() {
            1 => Promise::reject(&JsValue::from_str("token service down")).into(),
            2 => JsValue::from_f64(42.0), // not a string
            _ => JsValue::from_str(&token),
        }
    });
    let function: &Function = provider.as_ref().unchecked_ref();
    let m = manager(&[
        ("tokenProvider", function.clone().into()),
        ("retryCount", 5.into()),
    ]);
    if let Err(e) = settle(m.login(accid.as_str().into(), JsValue::UNDEFINED, None)).await {
        panic!("login rejected: {}", error_text(&e));
    }
    assert_eq!(calls.get(), 3);
    let seen_by_server = attempts(&accid).await;
    assert_eq!(
        seen_by_server.len(),
        1,
        "failed tokens never reach the server: {seen_by_server:?}"
    );
}

#[wasm_bindgen_test]
async fn reconnect_delay_decides_the_backoff() {
    clear_storage();
    let (accid, token) = create_account().await;
    let asked = Rc::new(Cell::new((0.0f64, 0u32)));
    let seen = asked.clone();
    let hook = Closure::<dyn FnMut(JsValue, JsValue) -> JsValue>::new(
        move |default_ms: JsValue, attempt: JsValue| {
            seen.set((
                default_ms.as_f64().unwrap_or(-1.0),
                attempt.as_f64().unwrap_or(0.0) as u32,
            ));
            JsValue::from_f64(123.0)
        },
    );
    let function: &Function = hook.as_ref().unchecked_ref();
    let m = manager(&[("reconnectDelay", function.clone().into())]);
    let rec = Recorder::new(&m);
    login_ok(&m, &accid, &token).await;
    drop_all_links().await;
    let event = rec.wait_for("reconnecting").await;
    assert_eq!(
        get_f64(&event, "delayMs"),
        Some(123.0),
        "the hook's delay is used"
    );
    let (default_ms, attempt) = asked.get();
    assert_eq!(attempt, 1);
    assert!(
        (0.0..=200.0).contains(&default_ms),
        "the default it was offered: {default_ms}"
    );
    wait_status(&m, "loggedIn").await;
}
