//! Crash safety: the server killed (SIGKILL) in the middle of a burst of
//! logins. Every client that got `loginOk` has its login recorded — its
//! account counted for the day (DAU) and its device as the last one, so
//! that an auto login from it passes the device rule after the restart —
//! because `loginOk` is sent only once the record has committed. On SQLite
//! the file passes `PRAGMA integrity_check`.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::process::Proc;
use common::{login_frame, Got, Link, DEADLINE};
use serde_json::Value;
use sqlx::Connection;

/// Accounts in the burst, one login each.
const ACCOUNTS: usize = 300;
/// Logins in flight.
const IN_FLIGHT: usize = 48;
/// The kill comes once this many clients got `loginOk`.
const KILL_AFTER: usize = 60;

/// Whether the database recorded `accid`'s login from `device`: `(counted
/// for a day, the last web device)`.
async fn recorded(db: &str, accid: &str, device: &str) -> (bool, bool) {
    let day = "SELECT 1 FROM daily_logins WHERE accid = $1";
    let last = "SELECT 1 FROM last_devices \
                WHERE accid = $1 AND client_type = 'web' AND device_id = $2";
    macro_rules! ask {
        ($conn:ty) => {{
            let mut c = <$conn>::connect(db).await.unwrap();
            let d = sqlx::query(day).bind(accid).fetch_optional(&mut c);
            let d = d.await.unwrap().is_some();
            let l = sqlx::query(last).bind(accid).bind(device);
            (d, l.fetch_optional(&mut c).await.unwrap().is_some())
        }};
    }
    if db.starts_with("postgres") {
        ask!(sqlx::PgConnection)
    } else {
        ask!(sqlx::SqliteConnection)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_login_ok_survives_a_sigkill_in_the_middle_of_a_burst() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::fresh_database_url(dir.path()).await;
    let limits = [
        "--max-sessions-per-ip",
        "10000",
        "--login-rate-per-ip",
        "1000000",
    ];
    let server = Proc::start(&db, "127.0.0.1:0", &limits).await;
    let addr = server.addr.clone();
    let mut accounts = Vec::with_capacity(ACCOUNTS);
    for _ in 0..ACCOUNTS {
        let v = server.post("/_test/accounts").await;
        accounts.push((
            v["accid"].as_str().unwrap().to_owned(),
            v["token"].as_str().unwrap().to_owned(),
        ));
    }

    // The burst: every account logs in once from its own device; the
    // server is killed once KILL_AFTER clients got their loginOk, with the
    // rest still in flight.
    let ok_count = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let url = server.ws_url();
    let mut burst = tokio::task::JoinSet::new();
    for (i, (accid, token)) in accounts.iter().cloned().enumerate() {
        let (gate, ok_count, url) = (gate.clone(), ok_count.clone(), url.clone());
        burst.spawn(async move {
            let _permit = gate.acquire_owned().await.unwrap();
            let device = format!("crash-{i}");
            let got = tokio::time::timeout(DEADLINE, async {
                let Ok((ws, _)) = tokio_tungstenite::connect_async(url.as_str()).await else {
                    return None;
                };
                let mut link = Link { ws };
                link.send_json(login_frame(&accid, &token, &device, "manual", false))
                    .await;
                match link.next().await {
                    Got::Text(v) => Some(v),
                    Got::Closed(_) => None,
                }
            })
            .await
            .ok()
            .flatten();
            let ok = got.as_ref().is_some_and(|v: &Value| v["t"] == "loginOk");
            if ok {
                ok_count.fetch_add(1, Ordering::SeqCst);
            }
            (accid, token, device, ok)
        });
    }
    let deadline = tokio::time::Instant::now() + DEADLINE * 3;
    while ok_count.load(Ordering::SeqCst) < KILL_AFTER {
        assert!(tokio::time::Instant::now() < deadline, "the burst stalled");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let status = std::process::Command::new("kill")
        .args(["-KILL", &server.pid()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut results = Vec::with_capacity(ACCOUNTS);
    while let Some(r) = burst.join_next().await {
        results.push(r.unwrap());
    }
    drop(server);
    let got_ok: Vec<_> = results.iter().filter(|r| r.3).collect();
    assert!(
        got_ok.len() >= KILL_AFTER && got_ok.len() < ACCOUNTS,
        "the kill came in the middle of the burst: {} of {ACCOUNTS} got loginOk",
        got_ok.len()
    );

    if !db.starts_with("postgres") {
        let mut c = sqlx::SqliteConnection::connect(&db).await.unwrap();
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(check, "ok", "the file survived the kill intact");
        c.close().await.unwrap();
    }
    for (accid, _, device, _) in &got_ok {
        assert_eq!(
            recorded(&db, accid, device).await,
            (true, true),
            "{accid} got loginOk: its day and last device are recorded"
        );
    }

    // After the restart every such device passes the device rule.
    let server = Proc::start(&db, &addr, &limits).await;
    for (accid, token, device, _) in got_ok.iter().take(20) {
        let mut link = Link::connect(&server.ws_url()).await;
        link.send_json(login_frame(accid, token, device, "auto", false))
            .await;
        let v = link.recv().await;
        assert_eq!(v["t"], "loginOk", "{accid} resumes on its device: {v}");
    }
    println!(
        "killed with {} of {ACCOUNTS} logged in; every loginOk was recorded",
        got_ok.len()
    );
}
