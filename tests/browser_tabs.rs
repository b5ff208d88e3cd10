//! `tabs: "shared"` in one page: the managers of one app elect a leader
//! (Web Locks), only the leader connects, the others mirror it over a
//! BroadcastChannel and take over when it goes; without Web Locks each
//! works on its own. (Real tabs, closed and crashed, are tested with
//! Playwright in tests/e2e/tabs.test.mjs.)
#![cfg(target_arch = "wasm32")]

mod browser_support;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use browser_support::*;
use imlogin::LoginManager;
use js_sys::Function;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A manager that shares its connection with the page's others.
fn shared() -> LoginManager {
    manager(&[("tabs", "shared".into())])
}

/// Two managers, the first elected leader before the second joins.
async fn leader_and_follower() -> (LoginManager, LoginManager) {
    let leader = shared();
    sleep(200).await;
    let follower = shared();
    sleep(200).await;
    (leader, follower)
}

#[wasm_bindgen_test]
async fn shared_tabs_hold_one_connection_and_mirror_the_leader() {
    clear_storage();
    let (accid, token) = create_account().await;
    let (leader, follower) = leader_and_follower().await;
    let rec = Recorder::new(&follower);
    // A login called in the follower runs in the leader.
    if let Err(e) = settle(follower.login(accid.as_str().into(), token.as_str().into(), None)).await
    {
        panic!("forwarded login rejected: {}", error_text(&e));
    }
    wait_status(&leader, "loggedIn").await;
    wait_status(&follower, "loggedIn").await;
    assert_eq!(follower.accid().unwrap().as_deref(), Some(accid.as_str()));
    assert!(
        rec.statuses().contains(&"loggedIn".to_owned()),
        "{:?}",
        rec.statuses()
    );
    sleep(500).await;
    let live = sessions(&accid).await;
    assert_eq!(live.len(), 1, "one connection for both managers: {live:?}");
    assert_eq!(attempts(&accid).await.len(), 1);
    // autoLogin in the follower finds the group logged in.
    let resumed = settle(follower.auto_login(None)).await.expect("autoLogin");
    assert_eq!(resumed.as_bool(), Some(true));
}

#[wasm_bindgen_test]
async fn logout_in_a_follower_logs_out_every_tab() {
    clear_storage();
    let (accid, token) = create_account().await;
    let (leader, follower) = leader_and_follower().await;
    login_ok(&leader, &accid, &token).await;
    wait_status(&follower, "loggedIn").await;
    settle(follower.logout()).await.expect("logout resolves");
    wait_status(&leader, "loggedOut").await;
    wait_status(&follower, "loggedOut").await;
    wait_for_server(
        "no session left",
        async || sessions(&accid).await,
        |s| s.is_empty(),
    )
    .await;
    assert_eq!(local_get(&session_key()), None, "the record is cleared");
}

#[wasm_bindgen_test]
async fn a_follower_takes_over_when_the_leader_goes_without_a_kick() {
    clear_storage();
    let (accid, token) = create_account().await;
    let (leader, follower) = leader_and_follower().await;
    let rec = Recorder::new(&follower);
    login_ok(&leader, &accid, &token).await;
    wait_status(&follower, "loggedIn").await;
    let device = follower.device_id().unwrap();
    let before = attempts(&accid).await.len();
    // The mirrored login's own "connecting" must not count as the takeover.
    rec.clear();

    drop(leader); // free(): the lock passes to the follower
    wait_until("the follower logged in by itself", || {
        rec.statuses().iter().any(|s| s == "connecting") && follower.status().unwrap() == "loggedIn"
    })
    .await;
    // Until the server has seen the old leader's socket close, its manual
    // session is still listed (WebKit closes a freed socket late).
    let live = wait_for_server(
        "one session again, the follower's",
        async || sessions(&accid).await,
        |s| s.len() == 1 && s[0].mode == "auto",
    )
    .await;
    assert_eq!(live[0].mode, "auto", "taken over in auto mode");
    assert_eq!(live[0].device_id, device, "from the same device id");
    let after = attempts(&accid).await;
    assert_eq!(after.len(), before + 1, "{after:?}");
    assert!(after.iter().all(|a| a.code == 200), "{after:?}");
    assert!(rec.of("kicked").is_empty(), "nobody was kicked");
}

#[wasm_bindgen_test]
async fn failures_reach_the_follower_as_rejections_and_events() {
    clear_storage();
    let (accid, _) = create_account().await;
    let (_leader, follower) = leader_and_follower().await;
    let rec = Recorder::new(&follower);
    let e = settle(follower.login(accid.as_str().into(), "wrong-token".into(), None))
        .await
        .expect_err("302");
    assert_login_error(&e, 302);
    let failed = rec.wait_for("loginFailed").await;
    assert_login_error(&failed, 302);
    assert_eq!(follower.status().unwrap(), "loggedOut");
}

/// A leader and a follower with `persistence`, the leader elected first.
async fn pair_with(persistence: &str) -> (LoginManager, LoginManager) {
    let extra = [
        ("tabs", "shared".into()),
        ("persistence", persistence.into()),
    ];
    let leader = manager(&extra);
    sleep(200).await;
    let follower = manager(&extra);
    sleep(200).await;
    (leader, follower)
}

#[wasm_bindgen_test]
async fn the_group_session_survives_its_leader_whatever_the_persistence_with_a_status_event_for_every_change(
) {
    // Nothing to resume from storage ("session": the leader's tab's own
    // storage; "none": nothing at all): the follower carries the session
    // on from what the group told it.
    for persistence in ["session", "none", "local"] {
        clear_storage();
        let (accid, token) = create_account().await;
        let (leader, follower) = pair_with(persistence).await;
        let rec = Recorder::new(&follower);
        login_ok(&leader, &accid, &token).await;
        wait_status(&follower, "loggedIn").await;
        let device = leader.device_id().unwrap();
        assert_eq!(follower.device_id().unwrap(), device, "{persistence}");
        rec.clear();

        // The status getter is watched all along: it may only ever show
        // what a status event said last.
        drop(leader);
        let start = js_sys::Date::now();
        let mut shown = Vec::new();
        loop {
            let now = follower.status().unwrap();
            let told = rec.statuses().last().cloned();
            if let Some(told) = &told {
                assert_eq!(
                    &now, told,
                    "{persistence}: the getter moved without an event"
                );
            } else {
                assert_eq!(now, "loggedIn", "{persistence}: changed without an event");
            }
            if shown.last() != Some(&now) {
                shown.push(now.clone());
            }
            if now == "loggedIn" && rec.statuses().iter().any(|s| s == "connecting") {
                break;
            }
            assert!(
                js_sys::Date::now() - start < DEADLINE_MS,
                "{persistence}: no takeover; shown {shown:?}, told {:?}",
                rec.statuses()
            );
            sleep(10).await;
        }
        assert!(
            !rec.statuses().iter().any(|s| s == "loggedOut"),
            "{persistence}: {:?}",
            rec.statuses()
        );
        assert_eq!(follower.accid().unwrap().as_deref(), Some(accid.as_str()));
        let live = wait_for_server(
            "one session again",
            async || sessions(&accid).await,
            |s| s.len() == 1,
        )
        .await;
        assert_eq!(live[0].mode, "auto", "{persistence}: no typing");
        assert_eq!(
            live[0].device_id, device,
            "{persistence}: the group's device"
        );
        assert!(rec.of("kicked").is_empty(), "{persistence}");
        settle(follower.logout()).await.expect("logout");
    }
}

#[wasm_bindgen_test]
async fn refused_or_throwing_web_locks_fall_back_to_per_tab_at_once_and_warn_once() {
    for how in [BrokenLocks::Refusing, BrokenLocks::Throwing] {
        clear_storage();
        let (accid, token) = create_account().await;
        let warnings = ConsoleCapture::new("warn");
        let locks = LocksOverride::new(how);
        let m = shared();
        // The login waits for the election, which the refusal ends.
        let start = js_sys::Date::now();
        login_ok(&m, &accid, &token).await;
        let took = js_sys::Date::now() - start;
        assert!(took < DEADLINE_MS, "{how:?}: {took} ms");
        drop(locks);
        sleep(500).await;
        let lines = warnings.lines();
        let fallback: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains("Web Locks are unavailable"))
            .collect();
        assert_eq!(fallback.len(), 1, "{how:?}: warned once: {lines:?}");
        settle(m.logout()).await.expect("logout");
    }
}

#[wasm_bindgen_test]
async fn web_locks_that_never_answer_fall_back_to_per_tab_after_the_election_timeout() {
    clear_storage();
    let (accid, token) = create_account().await;
    let warnings = ConsoleCapture::new("warn");
    let locks = LocksOverride::new(BrokenLocks::Silent);
    let m = shared();
    let login = m.login(accid.as_str().into(), token.as_str().into(), None);
    drop(locks);
    // The login is held for the election (2 s), then made on its own.
    if let Err(e) = settle(login).await {
        panic!("login rejected: {}", error_text(&e));
    }
    assert_eq!(m.status().unwrap(), "loggedIn");
    let lines = warnings.lines();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("Web Locks are unavailable"))
            .count(),
        1,
        "{lines:?}"
    );
    settle(m.logout()).await.expect("logout");
}

#[wasm_bindgen_test]
async fn a_call_forwarded_as_the_leader_goes_is_carried_out_once_and_settled_once() {
    clear_storage();
    let (accid, token) = create_account().await;
    let (leader, follower) = leader_and_follower().await;
    // The leader is freed the moment it starts carrying out the follower's
    // login (its socket is opening): its last word tells the follower, which
    // takes over, that the call is the group's already.
    let slot = Rc::new(RefCell::new(Some(leader)));
    let freeing = slot.clone();
    let on_status = Closure::<dyn FnMut(JsValue)>::new(move |status: JsValue| {
        if status.as_string().as_deref() == Some("connecting") {
            drop(freeing.borrow_mut().take());
        }
    });
    slot.borrow()
        .as_ref()
        .unwrap()
        .on(
            "status",
            on_status.as_ref().unchecked_ref::<Function>().clone(),
        )
        .unwrap();
    let settled = Rc::new(Cell::new(0u32));
    let login = follower.login(accid.as_str().into(), token.as_str().into(), None);
    let count = settled.clone();
    let outcome = settle(login).await;
    count.set(count.get() + 1);
    if let Err(e) = outcome {
        panic!("the forwarded login rejected: {}", error_text(&e));
    }
    assert!(slot.borrow().is_none(), "the leader went mid-call");
    wait_status(&follower, "loggedIn").await;
    sleep(QUIET_MS).await;
    assert_eq!(settled.get(), 1);
    let seen = attempts(&accid).await;
    assert_eq!(
        seen.iter().filter(|a| a.mode == "manual").count(),
        1,
        "the login was made once: {seen:?}"
    );
    assert_eq!(sessions(&accid).await.len(), 1);
}

#[wasm_bindgen_test]
async fn auto_login_with_issued_credentials_in_a_follower_runs_in_the_leader() {
    clear_storage();
    let (accid, token) = create_account().await;
    let (leader, follower) = leader_and_follower().await;
    let options = object(&[
        ("accid", accid.as_str().into()),
        ("token", token.as_str().into()),
        ("force", true.into()),
    ]);
    let resumed = settle(follower.auto_login(Some(options)))
        .await
        .unwrap_or_else(|e| panic!("autoLogin rejected: {}", error_text(&e)));
    assert_eq!(resumed, JsValue::TRUE);
    wait_status(&leader, "loggedIn").await;
    let live = sessions(&accid).await;
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!((live[0].mode.as_str(), live[0].force), ("auto", true));
    assert!(
        local_get(&session_key()).is_some_and(|r| r.contains(&accid)),
        "saved like any login"
    );
}

#[wasm_bindgen_test]
async fn a_follower_hears_why_the_leader_reconnects_and_what_changed_in_the_clients() {
    clear_storage();
    pause_links(0).await;
    let (accid, token) = create_account().await;
    let (leader, follower) = leader_and_follower().await;
    let rec = Recorder::new(&follower);
    login_ok(&leader, &accid, &token).await;
    let other = device(&[]);
    login_ok(&other, &accid, &token).await;
    let change = rec.wait_for("clients").await;
    wait_until("the follower hears of the other device", || {
        rec.of("clients")
            .iter()
            .any(|e| get(e, "change").as_string().as_deref() == Some("login"))
    })
    .await;
    let login = rec
        .of("clients")
        .into_iter()
        .find(|e| get(e, "change").as_string().as_deref() == Some("login"))
        .unwrap();
    assert_eq!(
        get_str(&get(&login, "client"), "deviceId"),
        other.device_id().unwrap(),
        "{}",
        stringify(&change)
    );
    drop(other);
    drop_all_links().await;
    let event = rec.wait_for("reconnecting").await;
    assert_eq!(get_str(&event, "reason"), "closed", "{}", stringify(&event));
    assert_restart_close_code(&event);
    wait_status(&follower, "loggedIn").await;
}
