//! `tabs: "shared"` in one page: the managers of one app elect a leader
//! (Web Locks), only the leader connects, the others mirror it over a
//! BroadcastChannel and take over when it goes. (Real tabs, closed and
//! crashed, are tested with Playwright in tests/e2e/tabs.test.mjs.)
#![cfg(target_arch = "wasm32")]

mod browser_support;

use browser_support::*;
use imlogin::LoginManager;
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

    drop(leader); // free(): the lock passes to the follower
    wait_until("the follower logged in by itself", || {
        rec.statuses().iter().any(|s| s == "connecting") && follower.status().unwrap() == "loggedIn"
    })
    .await;
    let live = wait_for_server(
        "one session again",
        async || sessions(&accid).await,
        |s| s.len() == 1,
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
