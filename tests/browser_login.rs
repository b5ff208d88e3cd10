//! Headless-browser tests against the real reference server: manual login,
//! wrong token, reload + auto login (twice while reconnecting, from another
//! device, forced, with credentials just issued), the server's refusals
//! (302, 403, 417, 419, 422), logout, `debug: true`.
//! Run with scripts/browser-tests.sh (it starts the server and passes its
//! URL at compile time).
#![cfg(target_arch = "wasm32")]

mod browser_support;

use browser_support::*;
use wasm_bindgen::{JsCast, JsValue};
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
async fn auto_login_after_the_token_changed_rejects_and_clears_the_record() {
    clear_storage();
    let (accid, token) = create_account().await;
    let first = manager(&[]);
    login_ok(&first, &accid, &token).await;
    drop(first);
    let ticket_record = local_get(&session_key()).expect("a ticket record");

    set_token(&accid, "a-brand-new-token").await;

    // The saved ticket (device binding) was revoked with the old token:
    // 419. A token record of an earlier version holds the old token: 302.
    for (record, code) in [(ticket_record, 419), (String::new(), 302)] {
        if record.is_empty() {
            save_record(&accid, &token);
        } else {
            local_set(&session_key(), &record);
        }
        let second = manager(&[]);
        let rec = Recorder::new(&second);
        let e = settle(second.auto_login(None))
            .await
            .expect_err("auto login with the old token must reject");
        assert_login_error(&e, code);
        assert_eq!(get(&e, "retryable").as_bool(), Some(false));
        assert_eq!(second.status().unwrap(), "loggedOut");
        assert_eq!(local_get(&session_key()), None, "the record is cleared");
        assert!(rec.of("reconnecting").is_empty());
        let last = attempts(&accid).await.pop().unwrap();
        assert_eq!((last.mode.as_str(), last.code), ("auto", code));
    }
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

#[wasm_bindgen_test]
async fn auto_login_twice_while_reconnecting_joins_the_retries_without_499_or_a_reset() {
    clear_storage();
    pause_links(0).await;
    let (accid, token) = create_account().await;
    let first = manager(&[]);
    login_ok(&first, &accid, &token).await;
    drop(first); // a reload: the record stays

    let m = manager(&[]);
    let rec = Recorder::new(&m);
    pause_links(3_000).await;
    // The first attempt fails (paused): autoLogin settles true, and the
    // session is retried by itself.
    assert_eq!(settle(m.auto_login(None)).await.unwrap(), JsValue::TRUE);
    wait_until("a retry under way", || !rec.of("reconnecting").is_empty()).await;
    // A route change calls autoLogin again, twice: both join.
    let again = [m.auto_login(None), m.auto_login(None)];
    for p in again {
        assert_eq!(
            settle(p)
                .await
                .unwrap_or_else(|e| panic!("rejected: {}", error_text(&e))),
            JsValue::TRUE
        );
    }
    wait_status(&m, "loggedIn").await;
    let attempts_seen: Vec<f64> = rec
        .of("reconnecting")
        .iter()
        .map(|r| get_f64(r, "attempt").unwrap())
        .collect();
    assert!(
        attempts_seen.windows(2).all(|w| w[1] == w[0] + 1.0),
        "the backoff was never reset: {attempts_seen:?}"
    );
    assert!(rec.of("loginFailed").is_empty());
    assert_eq!(sessions(&accid).await.len(), 1);
}

#[wasm_bindgen_test]
async fn auto_login_from_another_device_is_refused_with_403_and_the_record_cleared() {
    clear_storage();
    let (accid, token) = create_account().await;
    // Another device (its own device id) logs in; this browser never did.
    let elsewhere = device(&[]);
    login_ok(&elsewhere, &accid, &token).await;
    save_record(&accid, &token);
    let m = manager(&[]);
    let rec = Recorder::new(&m);
    let e = settle(m.auto_login(None))
        .await
        .expect_err("an auto login from an unknown device is refused");
    assert_login_error(&e, 403);
    assert_eq!(get(&e, "retryable").as_bool(), Some(false));
    assert_eq!(local_get(&session_key()), None, "the record is cleared");
    assert_login_error(&rec.wait_for("loginFailed").await, 403);
    assert_eq!(m.status().unwrap(), "loggedOut");
    sleep(QUIET_MS).await;
    assert!(
        rec.of("reconnecting").is_empty(),
        "auth failures never loop"
    );
    assert_eq!(elsewhere.status().unwrap(), "loggedIn", "nobody was kicked");
}

#[wasm_bindgen_test]
async fn a_forced_auto_login_takes_over_from_another_device() {
    clear_storage();
    let (accid, token) = create_account().await;
    let elsewhere = device(&[]);
    login_ok(&elsewhere, &accid, &token).await;
    save_record(&accid, &token);
    let m = manager(&[]);
    let force = object(&[("force", true.into())]);
    let resumed = settle(m.auto_login(Some(force)))
        .await
        .unwrap_or_else(|e| panic!("a forced auto login rejected: {}", error_text(&e)));
    assert_eq!(resumed, JsValue::TRUE);
    assert_eq!(m.status().unwrap(), "loggedIn");
    let mine = sessions(&accid)
        .await
        .into_iter()
        .find(|s| s.device_id == m.device_id().unwrap())
        .expect("a session from this device");
    assert_eq!((mine.mode.as_str(), mine.force), ("auto", true));
}

#[wasm_bindgen_test]
async fn auto_login_with_credentials_just_issued_logs_in_in_auto_mode_and_saves_them() {
    clear_storage();
    let (accid, token) = create_account().await;
    let m = manager(&[]);
    let rec = Recorder::new(&m);
    // The app server has just issued them; nothing is saved yet, and this
    // device never logged in: force skips the device check.
    let issued = object(&[
        ("accid", accid.as_str().into()),
        ("token", token.as_str().into()),
        ("force", true.into()),
    ]);
    let resumed = settle(m.auto_login(Some(issued)))
        .await
        .unwrap_or_else(|e| panic!("rejected: {}", error_text(&e)));
    assert_eq!(resumed, JsValue::TRUE);
    let live = sessions(&accid).await;
    assert_eq!(live.len(), 1);
    assert_eq!((live[0].mode.as_str(), live[0].force), ("auto", true));
    assert!(local_get(&session_key()).is_some_and(|r| r.contains(&accid)));

    // In auto mode: a lost connection is retried for ever, never forced.
    drop_all_links().await;
    rec.wait_for("reconnecting").await;
    wait_status(&m, "loggedIn").await;
    let last = attempts(&accid).await.pop().unwrap();
    assert_eq!((last.mode.as_str(), last.code), ("auto", 200));

    // Without force, from a device the server does not know: 403, reported.
    drop(m);
    clear_storage();
    let stranger = manager(&[]);
    let issued = object(&[
        ("accid", accid.as_str().into()),
        ("token", token.as_str().into()),
    ]);
    let e = settle(stranger.auto_login(Some(issued)))
        .await
        .expect_err("unforced, from an unknown device");
    assert_login_error(&e, 403);

    // Bad ones are refused before any traffic.
    let before = attempts(&accid).await.len();
    let bad = object(&[("accid", "no spaces".into()), ("token", "t".into())]);
    assert_login_error(
        &settle(stranger.auto_login(Some(bad))).await.unwrap_err(),
        414,
    );
    let no_token = object(&[("accid", accid.as_str().into())]);
    assert_login_error(
        &settle(stranger.auto_login(Some(no_token)))
            .await
            .unwrap_err(),
        414,
    );
    let unknown = object(&[("acid", accid.as_str().into())]);
    let e = settle(stranger.auto_login(Some(unknown)))
        .await
        .unwrap_err();
    assert!(
        e.is_instance_of::<js_sys::TypeError>(),
        "{}",
        error_text(&e)
    );
    assert_eq!(attempts(&accid).await.len(), before);
}

#[wasm_bindgen_test]
async fn a_full_device_limit_refuses_an_auto_login_with_417_and_keeps_the_record() {
    clear_storage();
    let (accid, token) = create_account().await;
    // This browser logs in, then its page goes away without a logout: its
    // device stays one the server lets resume.
    let first = manager(&[]);
    login_ok(&first, &accid, &token).await;
    drop(first);
    wait_for_server(
        "no session",
        async || sessions(&accid).await,
        |s| s.is_empty(),
    )
    .await;
    // Two other devices fill the account's two sessions (--max-sessions 2).
    let (a, b) = (device(&[]), device(&[]));
    login_ok(&a, &accid, &token).await;
    login_ok(&b, &accid, &token).await;

    let m = manager(&[]);
    let rec = Recorder::new(&m);
    let e = settle(m.auto_login(None))
        .await
        .expect_err("an auto login never ends another device's session");
    assert_login_error(&e, 417);
    assert_login_error(&rec.wait_for("loginFailed").await, 417);
    assert!(
        local_get(&session_key()).is_some(),
        "417 keeps the saved session"
    );
    assert_eq!(m.status().unwrap(), "loggedOut");
    assert_eq!(
        (a.status().unwrap(), b.status().unwrap()),
        ("loggedIn".into(), "loggedIn".into())
    );
    sleep(QUIET_MS).await;
    assert!(rec.of("reconnecting").is_empty());
}

#[wasm_bindgen_test]
async fn a_blocked_account_is_refused_with_422_and_the_record_cleared() {
    clear_storage();
    let (accid, token) = blocked_account();
    let m = manager(&[]);
    let e = settle(m.login(accid.into(), token.into(), None))
        .await
        .expect_err("a blocked account cannot log in");
    assert_login_error(&e, 422);
    assert_eq!(get(&e, "retryable").as_bool(), Some(false));

    save_record(accid, token);
    let rec = Recorder::new(&m);
    let e = settle(m.auto_login(None))
        .await
        .expect_err("nor auto log in");
    assert_login_error(&e, 422);
    assert_login_error(&rec.wait_for("loginFailed").await, 422);
    assert_eq!(local_get(&session_key()), None, "the record is cleared");
    sleep(QUIET_MS).await;
    assert!(rec.of("reconnecting").is_empty());
}

#[wasm_bindgen_test]
async fn debug_output_tells_what_happens_and_never_shows_the_token() {
    clear_storage();
    let (accid, token) = create_account().await;
    let console = ConsoleCapture::new("log");
    let m = manager(&[("debug", true.into())]);
    let rec = Recorder::new(&m);
    login_ok(&m, &accid, &token).await;
    drop_all_links().await;
    rec.wait_for("reconnecting").await;
    wait_status(&m, "loggedIn").await;
    settle(m.logout()).await.expect("logout");
    let lines = console.lines();
    drop(console);
    let text = lines.join("\n");
    for expected in [
        "imlogin: connect #",
        "imlogin: send on # (tokens redacted)",
        "imlogin: status loggedIn",
        "imlogin: event reconnecting",
        "imlogin: persist session of",
        "imlogin: clear persisted session",
        "imlogin: received",
    ] {
        assert!(text.contains(expected), "no {expected:?} in:\n{text}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains("send on") && l.ends_with(" login")),
        "the login frame is logged by its kind:\n{text}"
    );
    assert!(
        !text.contains(&token),
        "the token leaked into the log:\n{text}"
    );
}
