//! The app's hooks against the real server: `tokenProvider` is asked once
//! per connection attempt (a string or a promise of one), and
//! `reconnectDelay` decides the backoff. Both are app code, called when the
//! manager is not busy: they may read it, even call it.
#![cfg(target_arch = "wasm32")]

mod browser_support;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use imlogin::LoginManager;

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

/// A slot for a manager that its own hooks can reach.
type Slot = Rc<RefCell<Option<LoginManager>>>;

#[wasm_bindgen_test]
async fn a_token_provider_may_read_the_manager() {
    clear_storage();
    let (accid, token) = create_account().await;
    let slot: Slot = Rc::new(RefCell::new(None));
    let seen = Rc::new(RefCell::new(Vec::<Result<String, String>>::new()));
    let (reach, log) = (slot.clone(), seen.clone());
    let provider = Closure::<dyn FnMut(JsValue) -> JsValue>::new(move |_| {
        let status = reach
            .borrow()
            .as_ref()
            .map(|m| m.status().map_err(|e| error_text(&e)))
            .unwrap_or_else(|| Err("no manager".into()));
        log.borrow_mut().push(status);
        JsValue::from_str(&token)
    });
    let function: &Function = provider.as_ref().unchecked_ref();
    *slot.borrow_mut() = Some(manager(&[("tokenProvider", function.clone().into())]));
    let login =
        slot.borrow()
            .as_ref()
            .unwrap()
            .login(accid.as_str().into(), JsValue::UNDEFINED, None);
    if let Err(e) = settle(login).await {
        panic!("login rejected: {}", error_text(&e));
    }
    assert_eq!(
        *seen.borrow(),
        vec![Ok("connecting".to_owned())],
        "the provider read the status while the attempt was under way"
    );
}

#[wasm_bindgen_test]
async fn a_reconnect_delay_hook_may_read_the_manager_and_even_log_it_out() {
    clear_storage();
    pause_links(0).await;
    let (accid, token) = create_account().await;
    let slot: Slot = Rc::new(RefCell::new(None));
    let seen = Rc::new(RefCell::new(Vec::<String>::new()));
    let (reach, log) = (slot.clone(), seen.clone());
    let hook = Closure::<dyn FnMut(JsValue, JsValue) -> JsValue>::new(move |_, _| {
        let manager = reach.borrow();
        let m = manager.as_ref().unwrap();
        log.borrow_mut()
            .push(m.status().unwrap_or_else(|e| error_text(&e)));
        if log.borrow().len() == 2 {
            // The second failure: the app gives up from inside the hook.
            drop(m.logout());
        }
        JsValue::from_f64(50.0)
    });
    let function: &Function = hook.as_ref().unchecked_ref();
    *slot.borrow_mut() = Some(manager(&[("reconnectDelay", function.clone().into())]));
    let rec = Recorder::new(slot.borrow().as_ref().unwrap());
    let login =
        slot.borrow()
            .as_ref()
            .unwrap()
            .login(accid.as_str().into(), token.as_str().into(), None);
    settle(login).await.expect("login");
    pause_links(5_000).await;
    drop_all_links().await;
    wait_until("two delays asked", || seen.borrow().len() >= 2).await;
    pause_links(0).await;
    let m = slot.borrow_mut().take().unwrap();
    wait_status(&m, "loggedOut").await;
    assert_eq!(*seen.borrow(), vec!["waiting", "waiting"]);
    // One reconnecting event: the second retry was ended by the logout
    // before its delay was known.
    assert_eq!(rec.of("reconnecting").len(), 1, "{:?}", rec.statuses());
    sleep(QUIET_MS).await;
    assert_eq!(m.status().unwrap(), "loggedOut");
    assert!(sessions(&accid).await.is_empty());
}
