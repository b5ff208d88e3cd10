//! Link login: every code, the device rule, the session policy, kicks and
//! `clients` frames, against a real server over a real WebSocket.

mod common;

use common::{login_frame, Link, TestServer};
use serde_json::json;

#[tokio::test]
async fn login_ok_carries_client_id_server_time_heartbeat_and_other_sessions() {
    let s = TestServer::start(&["--max-sessions", "2", "--heartbeat-ms", "15000"]).await;
    let token = s.create("Alice").await;
    let (mut a, ok) = s.login_ok("ALICE", &token, "dev-a", "manual").await;
    assert!(ok["clientId"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(ok["serverTime"].as_u64().unwrap() > 1_600_000_000_000);
    assert_eq!(ok["heartbeatMs"], 15000);
    assert_eq!(ok["clients"], json!([]));

    let (_b, ok_b) = s.login_ok("alice", &token, "dev-b", "manual").await;
    let others = ok_b["clients"].as_array().unwrap();
    assert_eq!(others.len(), 1);
    assert_eq!(others[0]["clientId"], ok["clientId"]);
    assert_eq!(others[0]["deviceId"], "dev-a");
    assert_eq!(others[0]["clientType"], "web");
    assert!(others[0]["loginAt"].as_u64().is_some());

    // The first session hears about the second.
    let change = a.recv().await;
    assert_eq!(change["t"], "clients");
    assert_eq!(change["change"], "login");
    assert_eq!(change["clients"][0]["clientId"], ok_b["clientId"]);
    a.ping_pong().await;
}

#[tokio::test]
async fn unknown_accid_and_wrong_token_get_302() {
    let s = TestServer::start(&[]).await;
    let token = s.create("bob").await;
    let (mut l, v) = s.login("nobody", &token, "d", "manual", false).await;
    Link::expect_login_err(v, &mut l, 302).await;
    let (mut l, v) = s.login("bob", "wrong-token", "d", "manual", false).await;
    Link::expect_login_err(v, &mut l, 302).await;
}

#[tokio::test]
async fn bad_fields_and_unknown_app_key_get_414() {
    let s = TestServer::start(&[]).await;
    let token = s.create("carol").await;
    let mut bad = Vec::new();
    let mut f = login_frame("carol", &token, "d", "manual", false);
    f["appKey"] = json!("someone-elses-key");
    bad.push(f);
    let mut f = login_frame("carol", &token, "d", "manual", false);
    f["deviceId"] = json!("");
    bad.push(f);
    let mut f = login_frame("carol", &token, "d", "manual", false);
    f.as_object_mut().unwrap().remove("sdk");
    bad.push(f);
    let mut f = login_frame("carol", &token, "d", "manual", false);
    f["force"] = json!("yes");
    bad.push(f);
    bad.push(login_frame("carol!", &token, "d", "manual", false));
    for frame in bad {
        let mut l = s.connect().await;
        l.send_json(frame.clone()).await;
        let v = l.recv().await;
        assert_eq!(v["code"], 414, "{frame} → {v}");
        Link::expect_login_err(v, &mut l, 414).await;
    }
}

#[tokio::test]
async fn blocked_account_gets_422_and_unblock_lets_it_in() {
    let s = TestServer::start(&[]).await;
    let token = s.create("dave").await;
    let v = s
        .api("/nimserver/user/block.action", &[("accid", "dave")])
        .await;
    assert_eq!(v["code"], 200);
    let (mut l, v) = s.login("dave", &token, "d", "manual", false).await;
    Link::expect_login_err(v, &mut l, 422).await;
    // A wrong token on a blocked account is still 302 (302 comes first).
    let (mut l, v) = s.login("dave", "nope", "d", "manual", false).await;
    Link::expect_login_err(v, &mut l, 302).await;
    let v = s
        .api("/nimserver/user/unblock.action", &[("accid", "dave")])
        .await;
    assert_eq!(v["code"], 200);
    s.login_ok("dave", &token, "d", "manual").await;
}

#[tokio::test]
async fn auto_login_from_another_device_is_forbidden_unless_forced() {
    let s = TestServer::start(&[]).await;
    let token = s.create("erin").await;
    let (mut a, _) = s.login_ok("erin", &token, "dev-a", "manual").await;
    let (mut b, v) = s.login("erin", &token, "dev-b", "auto", false).await;
    Link::expect_login_err(v, &mut b, 403).await;
    a.ping_pong().await; // A is untouched.

    let (mut b, v) = s.login("erin", &token, "dev-b", "auto", true).await;
    assert_eq!(v["t"], "loginOk", "{v}");
    a.expect_kicked("exclusive").await;
    b.ping_pong().await;
}

#[tokio::test]
async fn auto_login_with_no_recorded_device_is_forbidden() {
    let s = TestServer::start(&[]).await;
    let token = s.create("frank").await;
    let (mut l, v) = s.login("frank", &token, "dev-a", "auto", false).await;
    Link::expect_login_err(v, &mut l, 403).await;
}

#[tokio::test]
async fn same_device_replaces_its_old_session_in_any_mode() {
    let s = TestServer::start(&[]).await;
    let token = s.create("gina").await;
    let (mut first, _) = s.login_ok("gina", &token, "dev-a", "manual").await;
    let (mut second, _) = s.login_ok("gina", &token, "dev-a", "auto").await;
    first.expect_kicked("sameDevice").await;
    let (_third, _) = s.login_ok("gina", &token, "dev-a", "manual").await;
    second.expect_kicked("sameDevice").await;
}

#[tokio::test]
async fn manual_login_kicks_the_oldest_other_device_exclusive() {
    let s = TestServer::start(&["--max-sessions", "2"]).await;
    let token = s.create("hank").await;
    let (mut a, _) = s.login_ok("hank", &token, "dev-a", "manual").await;
    let (mut b, _) = s.login_ok("hank", &token, "dev-b", "manual").await;
    assert_eq!(a.recv().await["change"], "login");
    let (_c, ok_c) = s.login_ok("hank", &token, "dev-c", "manual").await;
    let kicked = a.recv().await;
    assert_eq!(kicked["t"], "kicked");
    assert_eq!(kicked["reason"], "exclusive");
    assert_eq!(kicked["clientType"], "web");
    assert_eq!(a.expect_close().await, Some(1000));
    // B survives and sees the new list: just C.
    let change = b.recv().await;
    assert_eq!(change["t"], "clients");
    assert_eq!(change["clients"].as_array().unwrap().len(), 1);
    assert_eq!(change["clients"][0]["clientId"], ok_c["clientId"]);
    // A kicked device cannot come back with an auto login.
    let (mut a2, v) = s.login("hank", &token, "dev-a", "auto", false).await;
    Link::expect_login_err(v, &mut a2, 403).await;
}

#[tokio::test]
async fn auto_login_from_a_third_device_at_max_sessions_gets_417() {
    let s = TestServer::start(&["--max-sessions", "2"]).await;
    let token = s.create("ivy").await;
    // C logs in, then loses its connection (no logout): it may resume.
    let (c, _) = s.login_ok("ivy", &token, "dev-c", "manual").await;
    drop(c);
    let deadline = tokio::time::Instant::now() + common::DEADLINE;
    loop {
        let v = s.get_json("/_test/sessions?accid=ivy").await;
        if v["sessions"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "C never left");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (mut a, _) = s.login_ok("ivy", &token, "dev-a", "manual").await;
    let (mut b, _) = s.login_ok("ivy", &token, "dev-b", "manual").await;
    let (mut c, v) = s.login("ivy", &token, "dev-c", "auto", false).await;
    Link::expect_login_err(v, &mut c, 417).await;
    // Nobody was kicked.
    assert_eq!(a.recv().await["change"], "login");
    a.ping_pong().await;
    b.ping_pong().await;
    let v = s.get_json("/_test/sessions?accid=ivy").await;
    assert_eq!(v["sessions"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn kick_ends_another_session_and_answers_kick_result() {
    let s = TestServer::start(&["--max-sessions", "2"]).await;
    let token = s.create("jack").await;
    let (mut a, ok_a) = s.login_ok("jack", &token, "dev-a", "manual").await;
    let (mut b, ok_b) = s.login_ok("jack", &token, "dev-b", "manual").await;
    assert_eq!(a.recv().await["change"], "login");

    // Unknown id and self → 404.
    a.send_json(json!({"t":"kick","clientId":"nope"})).await;
    let r = a.recv().await;
    assert_eq!(r, json!({"t":"kickResult","clientId":"nope","code":404}));
    a.send_json(json!({"t":"kick","clientId":ok_a["clientId"]}))
        .await;
    assert_eq!(a.recv().await["code"], 404);

    a.send_json(json!({"t":"kick","clientId":ok_b["clientId"]}))
        .await;
    let r = a.recv().await;
    assert_eq!(r["t"], "kickResult");
    assert_eq!(r["code"], 200);
    let change = a.recv().await;
    assert_eq!(change["t"], "clients");
    assert_eq!(change["change"], "logout");
    assert_eq!(change["clients"], json!([]));
    b.expect_kicked("byClient").await;
}

#[tokio::test]
async fn logout_tells_the_other_sessions_and_forgets_the_device() {
    let s = TestServer::start(&["--max-sessions", "2"]).await;
    let token = s.create("kate").await;
    let (mut a, _) = s.login_ok("kate", &token, "dev-a", "manual").await;
    let (mut b, _) = s.login_ok("kate", &token, "dev-b", "manual").await;
    assert_eq!(a.recv().await["change"], "login");
    b.send_json(json!({"t":"logout"})).await;
    assert_eq!(b.expect_close().await, Some(1000));
    let change = a.recv().await;
    assert_eq!(change["change"], "logout");
    assert_eq!(change["clients"], json!([]));
    let (mut b2, v) = s.login("kate", &token, "dev-b", "auto", false).await;
    Link::expect_login_err(v, &mut b2, 403).await;
}

#[tokio::test]
async fn a_device_that_lost_its_connection_resumes_with_auto_login() {
    let s = TestServer::start(&[]).await;
    let token = s.create("liam").await;
    let (a, _) = s.login_ok("liam", &token, "dev-a", "manual").await;
    drop(a);
    s.login_ok("liam", &token, "dev-a", "auto").await;
}

#[tokio::test]
async fn refresh_token_fails_old_token_with_302_and_kicks_token_changed() {
    let s = TestServer::start(&[]).await;
    let old = s.create("mona").await;
    let (mut a, _) = s.login_ok("mona", &old, "dev-a", "manual").await;
    let v = s
        .api("/nimserver/user/refreshToken.action", &[("accid", "mona")])
        .await;
    assert_eq!(v["code"], 200);
    let new = v["info"]["token"].as_str().unwrap().to_owned();
    assert_eq!(new.len(), 32);
    assert_ne!(new, old);
    a.expect_kicked("tokenChanged").await;
    let (mut l, v) = s.login("mona", &old, "dev-a", "auto", false).await;
    Link::expect_login_err(v, &mut l, 302).await;
    s.login_ok("mona", &new, "dev-a", "manual").await;
}

#[tokio::test]
async fn update_changes_the_token_and_kicks_token_changed() {
    let s = TestServer::start(&[]).await;
    let old = s.create("nick").await;
    let (mut a, _) = s.login_ok("nick", &old, "dev-a", "manual").await;
    let v = s
        .api(
            "/nimserver/user/update.action",
            &[("accid", "NICK"), ("token", "brand-new")],
        )
        .await;
    assert_eq!(v, json!({"code":200}));
    a.expect_kicked("tokenChanged").await;
    let (mut l, v) = s.login("nick", &old, "dev-a", "manual", false).await;
    Link::expect_login_err(v, &mut l, 302).await;
    s.login_ok("nick", "brand-new", "dev-a", "manual").await;
}

#[tokio::test]
async fn block_with_needkick_kicks_live_sessions_blocked() {
    let s = TestServer::start(&[]).await;
    let token = s.create("olga").await;
    let (mut a, _) = s.login_ok("olga", &token, "dev-a", "manual").await;
    let v = s
        .api(
            "/nimserver/user/block.action",
            &[("accid", "olga"), ("needkick", "true")],
        )
        .await;
    assert_eq!(v["code"], 200);
    a.expect_kicked("blocked").await;
    let (mut l, v) = s.login("olga", &token, "dev-a", "manual", false).await;
    Link::expect_login_err(v, &mut l, 422).await;
}

#[tokio::test]
async fn block_without_needkick_leaves_live_sessions() {
    let s = TestServer::start(&[]).await;
    let token = s.create("pete").await;
    let (mut a, _) = s.login_ok("pete", &token, "dev-a", "manual").await;
    let v = s
        .api(
            "/nimserver/user/block.action",
            &[("accid", "pete"), ("needkick", "false")],
        )
        .await;
    assert_eq!(v["code"], 200);
    a.ping_pong().await;
}

#[tokio::test]
async fn test_hooks_list_sessions_and_attempts() {
    let s = TestServer::start(&[]).await;
    let token = s.create("quin").await;
    let (_a, ok) = s.login_ok("quin", &token, "dev-a", "manual").await;
    let (mut l, v) = s.login("quin", &token, "dev-b", "auto", false).await;
    Link::expect_login_err(v, &mut l, 403).await;

    let v = s.get_json("/_test/sessions?accid=QUIN").await;
    let sessions = v["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["clientId"], ok["clientId"]);
    assert_eq!(sessions[0]["mode"], "manual");
    assert_eq!(sessions[0]["deviceId"], "dev-a");

    let v = s.get_json("/_test/attempts?accid=quin").await;
    assert_eq!(v["count"], 2);
    assert_eq!(v["attempts"][0]["code"], 200);
    assert_eq!(v["attempts"][1]["code"], 403);
    assert_eq!(v["attempts"][1]["mode"], "auto");
    assert_eq!(v["attempts"][1]["deviceId"], "dev-b");
}
