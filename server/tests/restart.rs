//! A server restart, from the server's side (docs/protocol.md#server-restart,
//! #admission-pacing): the restart notice sized from the sessions a node
//! holds; a draining node leaving `/lbs`; logins beyond the node's capacity
//! answered with 416 and a `retryAfterMs` of their own; and a rolling
//! restart of two PostgreSQL nodes that loses no session.

mod common;

use std::time::Duration;

use common::process::Proc;
use common::{login_frame, Got, Link, TestServer, APP_KEY, DEADLINE};
use imlogin::{Config, Event, Status};
use imlogin_native::NativeClient;
use serde_json::Value;

/// Logs `n` sessions of fresh accounts in to `server`.
async fn sessions(server: &TestServer, n: usize) -> Vec<Link> {
    let mut links = Vec::new();
    for i in 0..n {
        let accid = format!("held_{i}");
        let token = server.create(&accid).await;
        let (link, _) = server.login_ok(&accid, &token, "dev", "manual").await;
        links.push(link);
    }
    links
}

/// The restart notice a link receives, and the close after it.
async fn notice_then_close(link: &mut Link) -> Value {
    let notice = link.recv().await;
    assert_eq!(notice["t"], "restart", "{notice}");
    assert_eq!(
        link.expect_close().await,
        Some(1012),
        "1012 after the notice"
    );
    notice
}

#[tokio::test]
async fn the_restart_notice_is_sized_from_the_sessions_held_and_the_capacity() {
    for (held, capacity) in [(3, 100), (12, 100), (12, 400)] {
        let cap = capacity.to_string();
        let mut server =
            TestServer::start(&["--login-capacity", &cap, "--restart-expected-ms", "3000"]).await;
        let mut links = sessions(&server, held).await;
        let handle = server.handle.take().expect("running");
        let stop = tokio::spawn(handle.shutdown());
        // The notice spreads the sessions over what the capacity admits.
        let spread = (held as u64 * 1_000).div_ceil(capacity);
        for link in &mut links {
            let notice = notice_then_close(link).await;
            assert_eq!(notice["retryInMs"], 3_000, "{notice}");
            assert_eq!(notice["spreadMs"], spread, "{held} sessions: {notice}");
        }
        tokio::time::timeout(DEADLINE, stop)
            .await
            .expect("shutdown finishes")
            .expect("task");
    }
}

#[tokio::test]
async fn a_draining_node_leaves_the_lbs_list_and_readiness_at_once() {
    let mut server = TestServer::start(&["--link-url", "ws://node.example/link"]).await;
    let lbs = format!("/lbs?appKey={APP_KEY}");
    assert_eq!(
        server.get_json(&lbs).await["links"][0],
        "ws://node.example/link"
    );
    // A client that never reads holds the node in its drain.
    let (_stuck, _) = tokio_tungstenite::connect_async(server.ws_url.as_str())
        .await
        .expect("connect");
    let http = server.http.clone();
    let base = server.base.clone();
    let handle = server.handle.take().expect("running");
    let stop = tokio::spawn(handle.shutdown());
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
        if ready.status() == 503 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never draining");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let v = server.get_json(&lbs).await;
    assert_eq!(v["code"], 200, "{v}");
    assert_eq!(v["links"], serde_json::json!([]), "a draining node: {v}");
    tokio::time::timeout(DEADLINE * 2, stop)
        .await
        .expect("shutdown finishes")
        .expect("task");
}

#[tokio::test]
async fn logins_beyond_the_capacity_get_416_with_a_slot_each_and_all_get_in() {
    // 10 logins per second, a burst of 32: of 48 logins sent at once, 32
    // pass and 16 are paced, each to its own slot 100 ms after the last.
    let server = TestServer::start(&["--login-capacity", "10"]).await;
    let mut accounts = Vec::new();
    for i in 0..48 {
        let accid = format!("paced_{i}");
        let token = server.create(&accid).await;
        accounts.push((accid, token));
    }
    let mut links = Vec::new();
    for _ in &accounts {
        links.push(server.connect().await);
    }
    for (link, (accid, token)) in links.iter_mut().zip(&accounts) {
        link.send_json(login_frame(accid, token, "dev", "manual", false))
            .await;
    }
    let mut admitted = Vec::new();
    let mut paced = Vec::new();
    for (mut link, account) in links.into_iter().zip(&accounts) {
        let v = link.recv().await;
        match v["t"].as_str() {
            Some("loginOk") => admitted.push(link),
            Some("loginErr") => {
                assert_eq!(v["code"], 416, "{v}");
                assert_eq!(
                    link.expect_close().await,
                    Some(1013),
                    "416 closes with 1013"
                );
                let after = v["retryAfterMs"].as_u64().expect("retryAfterMs");
                paced.push((after, account.clone()));
            }
            _ => panic!("{v}"),
        }
    }
    assert_eq!(admitted.len(), 32, "the burst is admitted");
    assert_eq!(paced.len(), 16, "the rest is paced");
    paced.sort();
    for pair in paced.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(
            (50..=150).contains(&gap),
            "each refused login gets its own slot, 100 ms apart: {:?}",
            paced.iter().map(|p| p.0).collect::<Vec<_>>()
        );
    }
    // Each comes back at its slot and gets in: 416 logs nobody out.
    let started = tokio::time::Instant::now();
    for (after, (accid, token)) in &paced {
        tokio::time::sleep_until(started + Duration::from_millis(*after)).await;
        let (mut link, v) = server.login(accid, token, "dev", "manual", false).await;
        assert_eq!(v["t"], "loginOk", "{accid} at its slot: {v}");
        link.ping_pong().await;
    }
    for mut link in admitted {
        link.ping_pong().await;
    }
}

/// Every client's status changes and failures, for the rolling restart.
struct Watched {
    client: NativeClient,
    lost: usize,
}

impl Watched {
    /// Drains the events; fails on anything that ends the session.
    fn check(&mut self) {
        for event in self.client.drain_events() {
            match event {
                Event::Status(Status::LoggedOut) => panic!("a session was logged out"),
                Event::Status(Status::Waiting) => self.lost += 1,
                Event::LoginFailed(e) if !e.retryable() => panic!("login failed: {e:?}"),
                Event::Kicked { reason, .. } => panic!("kicked: {reason:?}"),
                _ => {}
            }
        }
    }
}

async fn all_logged_in(clients: &mut [Watched]) {
    for w in clients.iter_mut() {
        assert!(
            w.client.wait_for(Status::LoggedIn, DEADLINE * 2).await,
            "back"
        );
        w.check();
    }
}

/// SIGTERM, down for a moment, started again on the same address and
/// database.
async fn restart(node: Proc, db: &str) -> Proc {
    let addr = node.addr.clone();
    node.terminate().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    Proc::start(db, &addr, &[]).await
}

#[tokio::test]
async fn a_rolling_restart_of_two_postgresql_nodes_loses_no_session() {
    let Some(db) = common::pg_database_url_or_skip().await else {
        return;
    };
    let a = Proc::start(&db, "127.0.0.1:0", &[]).await;
    let b = Proc::start(&db, "127.0.0.1:0", &[]).await;
    // Clients find their link through the LBS: half ask node A and fall
    // back to node B's link, half the reverse (a balancer in front).
    let mut clients = Vec::new();
    for i in 0..8u64 {
        let v = a.post("/_test/accounts").await;
        let (accid, token) = (v["accid"].as_str().unwrap(), v["token"].as_str().unwrap());
        let (ask, fallback) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let lbs = format!("http://{}/lbs", ask.addr);
        let config = Config::new(APP_KEY, format!("rolling-{i}"));
        let client = NativeClient::spawn_with_lbs(config, &lbs, &fallback.ws_url(), i);
        client.login(accid, token, false).await.expect("login");
        clients.push(Watched { client, lost: 0 });
    }
    all_logged_in(&mut clients).await;

    // A raw session on node A sees what a draining node says when another
    // node is live: come back at once, to the other node.
    let v = a.post("/_test/accounts").await;
    let mut raw = Link::connect(&a.ws_url()).await;
    raw.send_json(login_frame(
        v["accid"].as_str().unwrap(),
        v["token"].as_str().unwrap(),
        "raw",
        "manual",
        false,
    ))
    .await;
    assert_eq!(raw.recv().await["t"], "loginOk");

    let a = restart(a, &db).await;
    let notice = loop {
        match raw.next().await {
            Got::Text(v) if v["t"] == "restart" => break v,
            Got::Text(_) => continue,
            Got::Closed(c) => panic!("closed without a notice: {c:?}"),
        }
    };
    assert_eq!(notice["retryInMs"], 0, "another node is live: {notice}");
    all_logged_in(&mut clients).await;
    let b = restart(b, &db).await;
    all_logged_in(&mut clients).await;

    // Every client is logged in on a live node, and the session list of
    // both nodes has them all.
    for node in [&a, &b] {
        let v = node.get("/_test/sessions").await;
        let devices: Vec<&str> = v["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["deviceId"].as_str())
            .filter(|d| d.starts_with("rolling-"))
            .collect();
        assert_eq!(devices.len(), 8, "{v}");
    }
    let lost: usize = clients.iter().map(|w| w.lost).sum();
    assert!(
        lost >= 8,
        "every client moved at least once ({lost} losses)"
    );
}

#[tokio::test]
async fn a_draining_cluster_node_leaves_every_nodes_lbs_list_at_once() {
    let Some(db) = common::pg_database_url_or_skip().await else {
        return;
    };
    let mut a = Proc::start(&db, "127.0.0.1:0", &["--link-url", "ws://node-a.test/link"]).await;
    let b = Proc::start(&db, "127.0.0.1:0", &["--link-url", "ws://node-b.test/link"]).await;
    let lbs = format!("/lbs?appKey={APP_KEY}");
    let listed = |v: &Value| -> Vec<String> {
        v["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().to_owned())
            .collect()
    };
    let mut both = listed(&b.get(&lbs).await);
    both.sort();
    assert_eq!(both, ["ws://node-a.test/link", "ws://node-b.test/link"]);
    // A client that never reads holds node A in its drain for a while.
    let (_stuck, _) = tokio_tungstenite::connect_async(a.ws_url().as_str())
        .await
        .expect("connect");
    let status = tokio::process::Command::new("kill")
        .args(["-TERM", &a.pid()])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let from_b = listed(&b.get(&lbs).await);
        if from_b == ["ws://node-b.test/link"] {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "node B still lists A: {from_b:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Node A itself, while it still answers, lists only B.
    if let Ok(response) = reqwest::get(format!("http://{}{lbs}", a.addr)).await {
        if let Ok(v) = response.json::<Value>().await {
            assert_eq!(listed(&v), ["ws://node-b.test/link"], "{v}");
        }
    }
    let exit = tokio::time::timeout(DEADLINE * 3, a.child.wait())
        .await
        .expect("A exits")
        .expect("status");
    assert!(exit.success());
}
