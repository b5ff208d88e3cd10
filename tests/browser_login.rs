//! Headless-browser tests against the real reference server: manual login,
//! wrong token, reload + auto login, token changed, logout.
//! Run with scripts/browser-tests.sh (it starts the server and passes its
//! URL at compile time).
#![cfg(target_arch = "wasm32")]

mod browser_support;

use browser_support::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn manual_login_resolves_logged_in_and_the_server_has_a_manual_session() {
    clear_storage();
    let (accid, token) = create_account().await;
    let m = manager(&[]);
    let rec = Recorder::new(&m);
    assert_eq!(m.status().unwrap(), "loggedOut");
    assert_eq!(m.accid().unwrap(), None);

    login_ok(&m, &accid.to_uppercase(), &token).await;
    assert_eq!(m.accid().unwrap().as_deref(), Some(accid.as_str()));
    assert_eq!(rec.statuses(), ["connecting", "loggedIn"]);
    assert!(rec.of("loginFailed").is_empty());

    let live = sessions(&accid).await;
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0].mode, "manual");
    assert!(!live[0].force);
    assert_eq!(live[0].device_id, m.device_id().unwrap());
    let record = local_get(&session_key()).expect("the session record is stored");
    assert!(record.contains(&accid), "{record}");
}

#[wasm_bindgen_test]
async fn wrong_token_rejects_302_not_retryable_and_is_not_retried() {
    clear_storage();
    let (accid, _token) = create_account().await;
    let m = manager(&[("retryCount", 3.into())]);
    let rec = Recorder::new(&m);

    let e = settle(m.login(accid.as_str().into(), "wrong-token".into(), None))
        .await
        .expect_err("login with a wrong token must reject");
    assert_login_error(&e, 302);
    assert_eq!(get(&e, "retryable").as_bool(), Some(false));
    let failed = rec.wait_for("loginFailed").await;
    assert_login_error(&failed, 302);
    assert_eq!(m.status().unwrap(), "loggedOut");

    // No retry reaches the server, and nothing is persisted.
    sleep(QUIET_MS).await;
    let seen = attempts(&accid).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].code, 302);
    assert_eq!(seen[0].mode, "manual");
    assert_eq!(m.status().unwrap(), "loggedOut");
    assert!(rec.of("reconnecting").is_empty());
    assert_eq!(local_get(&session_key()), None);
}

#[wasm_bindgen_test]
async fn reloaded_page_auto_logs_in_with_mode_auto() {
    clear_storage();
    let (accid, token) = create_account().await;
    let first = manager(&[]);
    login_ok(&first, &accid, &token).await;
    let device = first.device_id().unwrap();
    drop(first); // the page goes away

    let second = manager(&[]);
    assert_eq!(second.device_id().unwrap(), device, "same browser profile");
    assert_eq!(
        second.status().unwrap(),
        "loggedOut",
        "the constructor starts nothing"
    );
    let resumed = settle(second.auto_login(None))
        .await
        .unwrap_or_else(|e| panic!("autoLogin rejected: {}", error_text(&e)));
    assert_eq!(resumed, JsValue::TRUE);
    assert_eq!(second.status().unwrap(), "loggedIn");
    assert_eq!(second.accid().unwrap().as_deref(), Some(accid.as_str()));

    let live = wait_for_server(
        "one auto session",
        async || sessions(&accid).await,
        |s| s.len() == 1 && s[0].mode == "auto",
    )
    .await;
    assert_eq!(live[0].device_id, device);
    let last = attempts(&accid).await.pop().unwrap();
    assert_eq!((last.mode.as_str(), last.code), ("auto", 200));
}

#[wasm_bindgen_test]
async fn auto_login_without_a_record_resolves_false_and_sends_nothing() {
    clear_storage();
    let m = manager(&[]);
    let rec = Recorder::new(&m);
    assert_eq!(settle(m.auto_login(None)).await.unwrap(), JsValue::FALSE);
    assert_eq!(m.status().unwrap(), "loggedOut");
    assert!(rec.statuses().is_empty(), "{:?}", rec.statuses());
}

#[wasm_bindgen_test]
async fn auto_login_after_the_token_changed_rejects_302_and_clears_the_record() {
    clear_storage();
    let (accid, token) = create_account().await;
    let first = manager(&[]);
    login_ok(&first, &accid, &token).await;
    drop(first);
    assert!(local_get(&session_key()).is_some());

    set_token(&accid, "a-brand-new-token").await;

    let second = manager(&[]);
    let rec = Recorder::new(&second);
    let e = settle(second.auto_login(None))
        .await
        .expect_err("auto login with the old token must reject");
    assert_login_error(&e, 302);
    assert_eq!(get(&e, "retryable").as_bool(), Some(false));
    assert_eq!(second.status().unwrap(), "loggedOut");
    assert_eq!(local_get(&session_key()), None, "the record is cleared");
    assert!(rec.of("reconnecting").is_empty());
    let last = attempts(&accid).await.pop().unwrap();
    assert_eq!((last.mode.as_str(), last.code), ("auto", 302));
}

#[wasm_bindgen_test]
async fn logout_ends_the_session_clears_the_record_and_keeps_the_device_id() {
    clear_storage();
    let (accid, token) = create_account().await;
    let m = manager(&[]);
    login_ok(&m, &accid, &token).await;
    let device = m.device_id().unwrap();
    assert_eq!(stored_device_id().as_deref(), Some(device.as_str()));

    settle(m.logout())
        .await
        .unwrap_or_else(|e| panic!("logout rejected: {}", error_text(&e)));
    assert_eq!(m.status().unwrap(), "loggedOut");
    wait_for_server(
        "no session left",
        async || sessions(&accid).await,
        |s| s.is_empty(),
    )
    .await;
    assert_eq!(local_get(&session_key()), None);
    assert_eq!(stored_device_id().as_deref(), Some(device.as_str()));
    assert_eq!(m.device_id().unwrap(), device);
    assert_eq!(manager(&[]).device_id().unwrap(), device);

    // Nothing comes back by itself.
    sleep(QUIET_MS).await;
    assert_eq!(m.status().unwrap(), "loggedOut");
    assert!(sessions(&accid).await.is_empty());
}

#[wasm_bindgen_test]
async fn session_persistence_keeps_the_record_in_session_storage() {
    clear_storage();
    let (accid, token) = create_account().await;
    let m = manager(&[("persistence", "session".into())]);
    login_ok(&m, &accid, &token).await;
    assert!(session_storage_get(&session_key()).is_some_and(|r| r.contains(&accid)));
    assert_eq!(local_get(&session_key()), None);
    drop(m);

    let again = manager(&[("persistence", "session".into())]);
    assert_eq!(settle(again.auto_login(None)).await.unwrap(), JsValue::TRUE);
    assert_eq!(again.status().unwrap(), "loggedIn");
}
