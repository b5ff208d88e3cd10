//! Faults, survived: the server killed during the login handshake; a
//! half-open connection (a proxy that silently stops forwarding), detected
//! by the client's pong timeout and by the server's ping control frames; a
//! locked SQLite database (retryable 500, no corruption); and 1 000 login
//! machines riding through a graceful restart. Deadlines are generous;
//! nothing is timed.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::process::Proc;
use common::proxy::Proxy;
use common::{Link, TestServer, APP_KEY, DEADLINE};
use imlogin::{BackoffConfig, Config, Event, Status};
use imlogin_native::NativeClient;
use serde_json::Value;
use sqlx::{Connection, Row, SqliteConnection};

fn machine(device: &str, link_url: &str, seed: u64) -> NativeClient {
    let mut config = Config::new(APP_KEY, device);
    config.backoff = BackoffConfig {
        initial_ms: 200.0,
        max_ms: 1_000.0,
    };
    config.retry_count = 10;
    config.connect_timeout_ms = 1_000.0;
    NativeClient::spawn(config, link_url, seed)
}

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE * 2;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn sessions(v: &Value) -> usize {
    v["sessions"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn server_killed_during_the_login_handshake_then_the_login_completes() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::fresh_database_url(dir.path()).await;
    let server = Proc::start(&db, "127.0.0.1:0", &[]).await;
    let addr = server.addr.clone();
    let account = server.post("/_test/accounts").await;
    let accid = account["accid"].as_str().unwrap().to_owned();
    let token = account["token"].as_str().unwrap().to_owned();

    let proxy = Proxy::start(addr.parse().unwrap()).await;
    let killed = Arc::new(AtomicBool::new(false));
    let (pid, k) = (server.pid(), killed.clone());
    proxy.on_login(move || {
        // SIGKILL before the login frame reaches the server: no goodbye,
        // and no loginOk the client could get from the dying process.
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status();
        k.store(true, Ordering::SeqCst);
    });
    // The manual login's attempts must outlast the restart of the binary,
    // which takes seconds on a loaded machine: slower backoff here, the
    // same ten attempts, and a deadline well past the restart.
    let mut config = Config::new(APP_KEY, "chaos-kill");
    config.backoff = BackoffConfig {
        initial_ms: 500.0,
        max_ms: 3_000.0,
    };
    config.retry_count = 10;
    config.connect_timeout_ms = 1_000.0;
    config.login_timeout_ms = 60_000.0;
    let c = NativeClient::spawn(config, &format!("ws://{}/link", proxy.addr), 1);
    let login = tokio::spawn(async move {
        let result = c.login(&accid, &token, false).await;
        (c, result)
    });
    wait_until("the kill", || {
        let k = killed.clone();
        async move { k.load(Ordering::SeqCst) }
    })
    .await;
    drop(server);
    let server = Proc::start(&db, &addr, &[]).await;
    let (c, result) = tokio::time::timeout(DEADLINE * 3, login)
        .await
        .expect("the login settles")
        .unwrap();
    result.expect("the manual login completes on a later attempt");
    assert_eq!(c.status(), Status::LoggedIn);
    assert!(proxy.accepted() >= 2, "it took another connection");
    let v = server.get("/_test/sessions").await;
    assert_eq!(sessions(&v), 1, "{v}");
}

#[tokio::test]
async fn half_open_connection_is_detected_by_both_sides_then_reconnected() {
    let s = TestServer::start(&["--heartbeat-ms", "1000"]).await;
    let addr = s.handle.as_ref().unwrap().local_addr();
    let proxy = Proxy::start(addr).await;
    let account = s.post_json("/_test/accounts").await;
    let accid = account["accid"].as_str().unwrap().to_owned();
    let token = account["token"].as_str().unwrap().to_owned();
    let mut c = machine("chaos-half-open", &format!("ws://{}/link", proxy.addr), 2);
    c.login(&accid, &token, false).await.expect("login");
    let url = format!("/_test/sessions?accid={accid}");
    assert_eq!(sessions(&s.get_json(&url).await), 1);

    proxy.blackhole(true);
    // The client: no pong within heartbeatMs → close, reconnect (which
    // cannot get through yet).
    assert!(
        c.wait_for(Status::Waiting, DEADLINE).await,
        "the client notices the dead connection"
    );
    // The server: no answer to its pings for two heartbeats → dropped,
    // although no FIN or close ever arrived.
    wait_until("the server drops the silent session", || {
        let (s, url) = (&s, url.clone());
        async move { sessions(&s.get_json(&url).await) == 0 }
    })
    .await;

    proxy.blackhole(false);
    assert!(
        c.wait_for(Status::LoggedIn, DEADLINE).await,
        "reconnected by itself"
    );
    let v = s.get_json(&url).await;
    assert_eq!(v["sessions"][0]["mode"], "auto", "{v}");
    let events = c.drain_events();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::LoginFailed(_) | Event::Kicked { .. })),
        "{events:?}"
    );
}

#[tokio::test]
async fn locked_sqlite_gives_a_retryable_500_and_no_corruption() {
    // About SQLite's file lock: on SQLite whatever IMLOGIN_TEST_BACKEND says.
    let dir = tempfile::tempdir().unwrap();
    let db = common::fresh_sqlite_url(dir.path());
    let s = TestServer::start_with_database(dir, &db, &["--db-busy-timeout-ms", "200"]).await;
    let token = s.create("before").await;
    let mut locker = SqliteConnection::connect(&db).await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut locker)
        .await
        .unwrap();
    sqlx::query("UPDATE accounts SET name = 'locker' WHERE accid = 'before'")
        .execute(&mut locker)
        .await
        .unwrap();

    // Writes fail after the busy timeout with 500, which is retryable.
    let v = s
        .api("/nimserver/user/create.action", &[("accid", "during")])
        .await;
    assert_eq!(v["code"], 500, "{v}");
    assert_eq!(v["desc"], "server error", "no detail leaks: {v}");
    let (mut l, v) = s.login("before", &token, "d", "manual", false).await;
    Link::expect_login_err(v, &mut l, 500).await;
    // A login machine retries 500 by itself...
    let mut c = machine("chaos-locked", &s.ws_url, 3);
    let pending = tokio::spawn(async move {
        let r = c.login("before", &token, false).await;
        let ok = c.wait_for(Status::LoggedIn, DEADLINE).await;
        (r, ok)
    });
    wait_until("the machine meets the lock", || async {
        let v = s.get_json("/_test/attempts?accid=before").await;
        v["attempts"]
            .as_array()
            .is_some_and(|a| a.iter().filter(|x| x["code"] == 500).count() >= 2)
    })
    .await;
    // ... and gets in once the lock is gone.
    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    let (r, ok) = pending.await.unwrap();
    r.expect("the retried login succeeds");
    assert!(ok);

    s.create("after").await;
    let check: String = sqlx::query("PRAGMA integrity_check")
        .fetch_one(&mut locker)
        .await
        .unwrap()
        .get(0);
    assert_eq!(check, "ok");
    let names: Vec<String> = sqlx::query("SELECT accid FROM accounts ORDER BY accid")
        .fetch_all(&mut locker)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        names,
        ["after", "before"],
        "the refused create left nothing"
    );
    let name: String = sqlx::query("SELECT name FROM accounts WHERE accid = 'before'")
        .fetch_one(&mut locker)
        .await
        .unwrap()
        .get(0);
    assert_eq!(name, "", "the rolled-back write is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_machines_ride_through_a_graceful_restart() {
    const N: usize = 1_000;
    // This one test raises the per-IP limits explicitly: every client
    // comes from 127.0.0.1.
    let limits = [
        "--max-sessions-per-ip",
        "10000",
        "--login-rate-per-ip",
        "100000",
    ];
    let dir = tempfile::tempdir().unwrap();
    let db = common::fresh_database_url(dir.path()).await;
    let server = Proc::start(&db, "127.0.0.1:0", &limits).await;
    let addr = server.addr.clone();

    let mut accounts = Vec::with_capacity(N);
    let http = reqwest::Client::new();
    for _ in 0..N / 50 {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let (http, addr) = (http.clone(), addr.clone());
            set.spawn(async move {
                let v: Value = http
                    .post(format!("http://{addr}/_test/accounts"))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                (
                    v["accid"].as_str().unwrap().to_owned(),
                    v["token"].as_str().unwrap().to_owned(),
                )
            });
        }
        while let Some(r) = set.join_next().await {
            accounts.push(r.unwrap());
        }
    }

    let url = server.ws_url();
    let mut clients = Vec::with_capacity(N);
    let mut logins = tokio::task::JoinSet::new();
    for (i, (accid, token)) in accounts.into_iter().enumerate() {
        let mut config = Config::new(APP_KEY, format!("herd-{i}"));
        config.backoff = BackoffConfig {
            initial_ms: 1_000.0,
            max_ms: 4_000.0,
        };
        config.retry_count = 10;
        let c = Arc::new(NativeClient::spawn(config, &url, i as u64));
        clients.push(c.clone());
        logins.spawn(async move { c.login(&accid, &token, false).await });
    }
    while let Some(r) = logins.join_next().await {
        r.unwrap().expect("every first login succeeds");
    }
    assert_eq!(sessions(&server.get("/_test/sessions").await), N);

    server.terminate().await;
    let server = Proc::start(&db, &addr, &limits).await;
    let mut clients: Vec<NativeClient> = clients
        .into_iter()
        .map(|c| Arc::try_unwrap(c).ok().expect("sole owner"))
        .collect();
    for (i, c) in clients.iter_mut().enumerate() {
        assert!(
            c.wait_for(Status::LoggedIn, DEADLINE * 3).await,
            "client {i} came back"
        );
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let mut waited = false;
        for e in c.drain_events() {
            match e {
                Event::LoginFailed(_) | Event::Kicked { .. } => panic!("client {i}: {e:?}"),
                Event::Status(Status::LoggedOut) => panic!("client {i} logged out"),
                Event::Status(Status::Waiting) => waited = true,
                _ => {}
            }
        }
        assert!(waited, "client {i} saw the restart");
        assert!(c.persisted().is_some(), "client {i} still has its session");
    }
    let v = server.get("/_test/sessions").await;
    assert_eq!(sessions(&v), N);
    assert!(
        v["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["mode"] == "auto"),
        "all came back by auto login"
    );
    println!("{N} login machines survived a graceful restart, none logged out");
}
