//! Two link nodes (server processes on different ports) sharing one
//! PostgreSQL database: kicks, blocks, token changes and `kick{clientId}`
//! reach a session on the other node; the session list is the same from
//! both; a Nonce and the abuse buckets are shared; a killed node's clients
//! reconnect to the other one through the LBS and its sessions leave the
//! list within two heartbeats. Needs the throwaway PostgreSQL that
//! scripts/test.sh starts (IMLOGIN_TEST_PG_ADMIN_URL).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::process::Proc;
use common::{fresh_nonce, login_frame, Link, APP_KEY, DEADLINE};
use imlogin::{BackoffConfig, Config, Status};
use imlogin_native::NativeClient;
use serde_json::{json, Value};

/// Two nodes on one fresh database, or `None` (skipped, said on stderr)
/// when no PostgreSQL is configured outside CI.
async fn two_nodes(extra: &[&str]) -> Option<(Proc, Proc)> {
    let url = common::pg_database_url_or_skip().await?;
    let a = Proc::start(&url, "127.0.0.1:0", extra).await;
    let b = Proc::start(&url, "127.0.0.1:0", extra).await;
    Some((a, b))
}

fn sessions(v: &Value) -> Vec<String> {
    v["sessions"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|s| s["deviceId"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn account(node: &Proc) -> (String, String) {
    let v = node.post("/_test/accounts").await;
    (
        v["accid"].as_str().unwrap().to_owned(),
        v["token"].as_str().unwrap().to_owned(),
    )
}

async fn login(node: &Proc, accid: &str, token: &str, device: &str, mode: &str) -> (Link, Value) {
    let mut link = Link::connect(&node.ws_url()).await;
    link.send_json(login_frame(accid, token, device, mode, false))
        .await;
    let v = link.recv().await;
    assert_eq!(v["t"], "loginOk", "{v}");
    (link, v)
}

/// Both nodes list exactly `devices` for the account.
async fn both_list(a: &Proc, b: &Proc, accid: &str, devices: &[&str]) {
    let want: Vec<String> = devices.iter().map(|d| (*d).to_owned()).collect();
    for node in [a, b] {
        let v = node.get(&format!("/_test/sessions?accid={accid}")).await;
        assert_eq!(sessions(&v), want, "{v}");
    }
}

#[tokio::test]
async fn a_manual_login_on_node_b_kicks_the_session_on_node_a() {
    let Some((a, b)) = two_nodes(&[]).await else {
        return;
    };
    let (accid, token) = account(&a).await;
    let (mut on_a, _) = login(&a, &accid, &token, "dev-a", "manual").await;
    both_list(&a, &b, &accid, &["dev-a"]).await;

    let (mut on_b, ok) = login(&b, &accid, &token, "dev-b", "manual").await;
    assert_eq!(ok["clients"], json!([]), "the kicked session is not listed");
    on_a.expect_kicked_after_clients("exclusive").await;
    both_list(&a, &b, &accid, &["dev-b"]).await;

    // The device rule holds across nodes: dev-a was kicked, so its auto
    // login is refused on either node; dev-b resumes on node A, replacing
    // its own session on node B.
    let mut again = Link::connect(&a.ws_url()).await;
    again
        .send_json(login_frame(&accid, &token, "dev-a", "auto", false))
        .await;
    Link::expect_login_err(again.recv().await, &mut again, 403).await;
    let (mut resumed, _) = login(&a, &accid, &token, "dev-b", "auto").await;
    on_b.expect_kicked_after_clients("sameDevice").await;
    resumed.alive().await;
    both_list(&a, &b, &accid, &["dev-b"]).await;
}

#[tokio::test]
async fn an_auto_login_on_one_node_never_kicks_a_device_on_the_other_unless_forced() {
    let Some((a, b)) = two_nodes(&[]).await else {
        return;
    };
    let (accid, token) = account(&a).await;
    // dev-b logs in on B and loses its network: it may resume later.
    let (lost, _) = login(&b, &accid, &token, "dev-b", "manual").await;
    drop(lost);
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !sessions(&a.get(&format!("/_test/sessions?accid={accid}")).await).is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "dev-b's session ends"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (mut on_a, _) = login(&a, &accid, &token, "dev-a", "manual").await;

    let mut gentle = Link::connect(&b.ws_url()).await;
    gentle
        .send_json(login_frame(&accid, &token, "dev-b", "auto", false))
        .await;
    Link::expect_login_err(gentle.recv().await, &mut gentle, 417).await;
    on_a.alive().await;
    both_list(&a, &b, &accid, &["dev-a"]).await;

    let mut forced = Link::connect(&b.ws_url()).await;
    forced
        .send_json(login_frame(&accid, &token, "dev-b", "auto", true))
        .await;
    let v = forced.recv().await;
    assert_eq!(v["t"], "loginOk", "{v}");
    on_a.expect_kicked_after_clients("exclusive").await;
    both_list(&a, &b, &accid, &["dev-b"]).await;
}

#[tokio::test]
async fn block_token_change_and_kick_by_client_reach_the_other_node() {
    let Some((a, b)) = two_nodes(&["--max-sessions", "2"]).await else {
        return;
    };
    let (accid, token) = account(&a).await;

    // kick{clientId} from a session on A ends the one on B.
    let (mut on_a, _) = login(&a, &accid, &token, "dev-a", "manual").await;
    let (mut on_b, ok) = login(&b, &accid, &token, "dev-b", "manual").await;
    assert_eq!(ok["clients"][0]["deviceId"], "dev-a", "{ok}");
    let told = on_a.recv().await;
    assert_eq!(told["t"], "clients", "A hears of B's login: {told}");
    assert_eq!(told["clients"][0]["deviceId"], "dev-b", "{told}");
    let target = ok["clientId"].as_str().unwrap().to_owned();
    on_a.send_json(json!({"t": "kick", "clientId": target}))
        .await;
    let mut result = on_a.recv().await;
    if result["t"] == "clients" {
        result = on_a.recv().await;
    }
    assert_eq!(result["t"], "kickResult", "{result}");
    assert_eq!(result["code"], 200, "{result}");
    on_b.expect_kicked_after_clients("byClient").await;
    both_list(&a, &b, &accid, &["dev-a"]).await;

    // A token change through B kicks the session on A.
    let v = b
        .api(
            "/nimserver/user/update.action",
            &[("accid", &accid), ("token", "a-new-token")],
        )
        .await;
    assert_eq!(v["code"], 200, "{v}");
    on_a.expect_kicked_after_clients("tokenChanged").await;
    both_list(&a, &b, &accid, &[]).await;

    // Block with needkick through A kicks the session on B.
    let (mut on_b, _) = login(&b, &accid, "a-new-token", "dev-b", "manual").await;
    let v = a
        .api(
            "/nimserver/user/block.action",
            &[("accid", &accid), ("needkick", "true")],
        )
        .await;
    assert_eq!(v["code"], 200, "{v}");
    on_b.expect_kicked_after_clients("blocked").await;
    let mut refused = Link::connect(&a.ws_url()).await;
    refused
        .send_json(login_frame(&accid, "a-new-token", "dev-b", "manual", false))
        .await;
    Link::expect_login_err(refused.recv().await, &mut refused, 422).await;
    both_list(&a, &b, &accid, &[]).await;
}

#[tokio::test]
async fn a_nonce_used_on_node_a_is_refused_on_node_b_and_abuse_buckets_are_shared() {
    let Some((a, b)) = two_nodes(&["--login-rate-per-account", "3"]).await else {
        return;
    };
    let nonce = fresh_nonce();
    let v = a
        .api_with_nonce(
            "/nimserver/user/create.action",
            &[("accid", "nonce1")],
            &nonce,
        )
        .await;
    assert_eq!(v["code"], 200, "{v}");
    let v = b
        .api_with_nonce(
            "/nimserver/user/create.action",
            &[("accid", "nonce2")],
            &nonce,
        )
        .await;
    assert_eq!(v["code"], 403, "the Nonce was used on node A: {v}");
    let v = b
        .api_with_nonce(
            "/nimserver/user/create.action",
            &[("accid", "nonce2")],
            &fresh_nonce(),
        )
        .await;
    assert_eq!(v["code"], 200, "{v}");

    // Three login attempts per account per minute, counted across nodes.
    let (accid, token) = account(&a).await;
    for node in [&a, &b, &a] {
        let mut link = Link::connect(&node.ws_url()).await;
        link.send_json(login_frame(&accid, "wrong", "d", "manual", false))
            .await;
        Link::expect_login_err(link.recv().await, &mut link, 302).await;
    }
    let mut link = Link::connect(&b.ws_url()).await;
    link.send_json(login_frame(&accid, &token, "d", "manual", false))
        .await;
    let v = link.recv().await;
    assert_eq!(v["code"], 416, "the fourth attempt, on node B: {v}");
    assert!(v["retryAfterMs"].as_u64().unwrap_or(0) > 0, "{v}");
}

#[tokio::test]
async fn the_lbs_lists_every_live_node_rotated() {
    let Some((a, b)) = two_nodes(&[]).await else {
        return;
    };
    let mut firsts = BTreeSet::new();
    for node in [&a, &b, &a, &b] {
        let v = node.get(&format!("/lbs?appKey={APP_KEY}")).await;
        assert_eq!(v["code"], 200, "{v}");
        let links: BTreeSet<String> = v["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().to_owned())
            .collect();
        let want: BTreeSet<String> = [a.ws_url(), b.ws_url()].into_iter().collect();
        assert_eq!(links, want, "{v}");
        firsts.insert(v["links"][0].as_str().unwrap().to_owned());
    }
    assert_eq!(firsts.len(), 2, "new clients are spread over both nodes");
}

/// The clientIds of the account's sessions, by device, and the answering
/// node's id.
async fn placed(node: &Proc, accid: &str) -> (Vec<(String, String)>, String) {
    let v = node.get(&format!("/_test/sessions?accid={accid}")).await;
    let list = v["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["deviceId"].as_str().unwrap().to_owned(),
                s["clientId"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (list, v["node"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn killing_node_a_moves_its_clients_to_node_b_and_its_sessions_expire() {
    const HEARTBEAT_MS: u64 = 2_000;
    let hb = HEARTBEAT_MS.to_string();
    let Some((a, b)) = two_nodes(&["--heartbeat-ms", &hb, "--max-sessions", "10"]).await else {
        return;
    };
    let (accid, token) = account(&a).await;
    let (_, a_id) = placed(&a, &accid).await;
    let a_prefix = format!("{a_id}-");
    // A raw session on node B watches the account; one on node A will
    // never come back (only heartbeat expiry can remove it).
    let (mut watcher, _) = login(&b, &accid, &token, "watcher", "manual").await;
    let (_stays_dead, _) = login(&a, &accid, &token, "raw-a", "manual").await;

    // Module clients that discover their link through the LBS (served by
    // B; its fallback link is node A): the LBS rotates, so they spread.
    let lbs = format!("http://{}/lbs", b.addr);
    let mut clients = Vec::new();
    for i in 0..4 {
        let mut config = Config::new(APP_KEY, format!("moved-{i}"));
        config.backoff = BackoffConfig {
            initial_ms: 200.0,
            max_ms: 1_000.0,
        };
        let c = NativeClient::spawn_with_lbs(config, &lbs, &a.ws_url(), i);
        c.login(&accid, &token, false)
            .await
            .expect("login via the LBS");
        clients.push(c);
    }
    let (list, _) = placed(&b, &accid).await;
    let moved_from_a: Vec<String> = list
        .iter()
        .filter(|(d, id)| d.starts_with("moved-") && id.starts_with(&a_prefix))
        .map(|(d, _)| d.clone())
        .collect();
    assert!(
        !moved_from_a.is_empty(),
        "some clients landed on node A: {list:?}"
    );
    assert!(
        moved_from_a.len() < 4,
        "some clients landed on node B: {list:?}"
    );

    let killed_at = tokio::time::Instant::now();
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &a.pid()])
        .status();
    drop(a);

    let mut raw_gone_after = None;
    let deadline = killed_at + DEADLINE * 3;
    loop {
        let (list, _) = placed(&b, &accid).await;
        if raw_gone_after.is_none() && !list.iter().any(|(d, _)| d == "raw-a") {
            raw_gone_after = Some(killed_at.elapsed());
        }
        let all_back = list
            .iter()
            .filter(|(d, id)| d.starts_with("moved-") && !id.starts_with(&a_prefix))
            .count()
            == 4;
        let none_on_a = !list.iter().any(|(_, id)| id.starts_with(&a_prefix));
        if all_back && none_on_a {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "after the kill: {list:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for c in &mut clients {
        assert!(c.wait_for(Status::LoggedIn, DEADLINE).await, "logged in");
    }
    let raw_gone_after = raw_gone_after.expect("raw-a left the list");
    eprintln!(
        "node A killed: its idle session left the list after {} ms \
         (heartbeat {HEARTBEAT_MS} ms; expected within 2 heartbeats = {} ms); \
         {} clients moved to node B after {} ms",
        raw_gone_after.as_millis(),
        2 * HEARTBEAT_MS,
        moved_from_a.len(),
        killed_at.elapsed().as_millis()
    );
    // The watcher was told: its last `clients` frame lists the four moved
    // clients and nothing of node A.
    let mut last = None;
    while let Ok(Some(v)) = tokio::time::timeout(Duration::from_millis(500), async {
        match watcher.next().await {
            common::Got::Text(v) => Some(v),
            common::Got::Closed(_) => None,
        }
    })
    .await
    {
        last = Some(v);
    }
    let last = last.expect("the watcher heard of the changes");
    assert_eq!(last["t"], "clients", "{last}");
    let mut devices: Vec<&str> = last["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["deviceId"].as_str().unwrap())
        .collect();
    devices.sort_unstable();
    assert_eq!(
        devices,
        ["moved-0", "moved-1", "moved-2", "moved-3"],
        "{last}"
    );
    watcher.alive().await;
}
